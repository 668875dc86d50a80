//! `lunatic::version`: the Lunatic version funk-runtime is compatible with.

use super::view;

view! {
    /// The `lunatic::version` block.
    VersionApi
}

/// The Lunatic release whose guest ABI and semantics funk-runtime follows.
pub const LUNATIC_VERSION: (u32, u32, u32) = (0, 13, 2);

#[funk::host_functions(namespace = "lunatic::version")]
impl VersionApi {
    /// Major version.
    fn major(&self) -> u32 {
        LUNATIC_VERSION.0
    }

    /// Minor version.
    fn minor(&self) -> u32 {
        LUNATIC_VERSION.1
    }

    /// Patch version.
    fn patch(&self) -> u32 {
        LUNATIC_VERSION.2
    }
}
