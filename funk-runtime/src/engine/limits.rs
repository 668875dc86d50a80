//! Per-process resource limits the engines enforce.

/// Wasm pages are 64 KiB.
pub(crate) const PAGE: u64 = 64 * 1024;

/// Most table elements a process may have (as Lunatic allows).
pub(crate) const MAX_TABLE_ELEMENTS: usize = 100_000;

/// A process's memory limit, in bytes of linear memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryLimit {
    max_bytes: u64,
}

impl MemoryLimit {
    /// At most `max_bytes` of linear memory.
    pub fn new(max_bytes: u64) -> Self {
        MemoryLimit { max_bytes }
    }

    /// The limit in bytes.
    pub fn bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The limit in whole wasm pages.
    pub fn pages(&self) -> u64 {
        self.max_bytes / PAGE
    }

    /// Whether a memory may grow to `desired` bytes.
    pub fn allows(&self, desired: u64) -> bool {
        desired <= self.max_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_round_down_to_pages() {
        let limit = MemoryLimit::new(PAGE * 3 + 1);
        assert_eq!(limit.pages(), 3);
        assert!(limit.allows(PAGE * 3));
        assert!(!limit.allows(PAGE * 4));
    }
}
