//! Host-side bookkeeping: from what the guest reports to reductions consumed.
//!
//! The guest's budget global starts at the first grant and only goes down. At a yield
//! the guest passes what is left (zero or less): the slice consumed `grant - left`. When
//! the guest returns without yielding, the exported global holds what is left of the
//! current slice. A [`Meter`] adds these up, sizes the next grant, and says when a
//! compute limit is reached.

/// One instance's reduction account.
///
/// ```
/// use funk_runtime::preempt::Meter;
///
/// // Slices of 1000 reductions, at most 2500 in all.
/// let mut meter = Meter::new(1000, 1000, Some(2500));
/// assert_eq!(meter.on_yield(-3), Some(1000)); // 1003 consumed
/// assert_eq!(meter.on_yield(0), Some(497)); // 2003 consumed: the last slice is short
/// assert_eq!(meter.on_yield(-2), None); // 2502 consumed: the limit is reached, trap
/// assert_eq!(meter.consumed(-2), 2502);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meter {
    slice: i64,
    limit: Option<u64>,
    /// What the current slice started with.
    grant: i64,
    /// What the finished slices consumed.
    spent: u64,
}

impl Meter {
    /// An account whose first slice is `first` (the module's
    /// [`Options::initial_budget`](super::Options::initial_budget), or what the host wrote
    /// to the budget global before the first call), whose later slices are `slice`
    /// reductions (at least one), and that stops granting once `limit` reductions are
    /// consumed.
    pub fn new(first: i64, slice: i64, limit: Option<u64>) -> Self {
        Meter {
            slice: slice.max(1),
            limit,
            grant: first,
            spent: 0,
        }
    }

    /// Accounts for a yield that reported `left`, and returns the next slice's budget
    /// for the yield import to return, or `None` when the limit is reached (the host
    /// should trap to stop the guest).
    pub fn on_yield(&mut self, left: i64) -> Option<i64> {
        self.spent = self.consumed(left);
        self.grant = left;
        let next = match self.limit {
            None => self.slice,
            Some(limit) => {
                let remaining = limit.checked_sub(self.spent).filter(|&r| r > 0)?;
                self.slice.min(i64::try_from(remaining).unwrap_or(i64::MAX))
            }
        };
        self.grant = next;
        Some(next)
    }

    /// The total consumed when the budget global holds `left`: read it from the
    /// export when the guest returns, or pass the yield argument.
    pub fn consumed(&self, left: i64) -> u64 {
        let this_slice = i128::from(self.grant) - i128::from(left);
        let this_slice = u64::try_from(this_slice.max(0)).unwrap_or(u64::MAX);
        self.spent.saturating_add(this_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_limit_every_grant_is_a_full_slice() {
        let mut meter = Meter::new(10, 7, None);
        assert_eq!(meter.on_yield(-1), Some(7));
        assert_eq!(meter.on_yield(0), Some(7));
        assert_eq!(meter.consumed(3), 11 + 7 + 4);
    }

    #[test]
    fn the_last_slice_is_cut_to_what_the_limit_leaves() {
        let mut meter = Meter::new(100, 100, Some(250));
        assert_eq!(meter.on_yield(0), Some(100));
        assert_eq!(meter.on_yield(0), Some(50));
        assert_eq!(meter.on_yield(0), None);
        assert_eq!(meter.consumed(0), 250);
    }

    #[test]
    fn a_limit_spent_by_the_first_slice_stops_at_the_first_yield() {
        let mut meter = Meter::new(100, 100, Some(100));
        assert_eq!(meter.on_yield(-5), None);
        assert_eq!(meter.consumed(-5), 105);
    }

    #[test]
    fn consumption_between_yields_counts_from_the_grant() {
        let meter = Meter::new(1000, 1000, None);
        assert_eq!(meter.consumed(1000), 0);
        assert_eq!(meter.consumed(400), 600);
    }
}
