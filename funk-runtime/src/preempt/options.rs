//! What the pass injects: the yield import's name, the budget export, the first slice.

/// The import module of the yield function unless [`Options::import_module`] says otherwise.
pub const DEFAULT_IMPORT_MODULE: &str = "funk";

/// The import name of the yield function unless [`Options::import_name`] says otherwise.
pub const DEFAULT_IMPORT_NAME: &str = "yield";

/// The export name of the budget global unless [`Options::budget_export`] says otherwise.
pub const DEFAULT_BUDGET_EXPORT: &str = "funk_budget";

/// The budget of the first slice unless [`Options::initial_budget`] says otherwise:
/// 100 000 reductions, one unit of Lunatic's `max_fuel`.
pub const DEFAULT_BUDGET: i64 = 100_000;

/// How [`instrument`](super::instrument) names and initialises what it adds.
///
/// The injected import has the type `(func (param i64) (result i64))`: it receives the
/// budget left (zero or less: the overdraft) and returns the budget of the next slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The module name of the imported yield function.
    pub import_module: String,
    /// The field name of the imported yield function.
    pub import_name: String,
    /// The name under which the budget global (a mutable `i64`) is exported, or `None`
    /// to keep it private. The host reads it to learn what the last slice consumed
    /// when the guest returns without yielding, and may write it to grant a new budget.
    pub budget_export: Option<String>,
    /// The value the budget global starts with in every instance. Code that runs
    /// before the host can write the global (the start function) runs on this budget.
    pub initial_budget: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            import_module: DEFAULT_IMPORT_MODULE.to_owned(),
            import_name: DEFAULT_IMPORT_NAME.to_owned(),
            budget_export: Some(DEFAULT_BUDGET_EXPORT.to_owned()),
            initial_budget: DEFAULT_BUDGET,
        }
    }
}
