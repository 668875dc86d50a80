//! `lunatic::error`: errors reported to the guest by id.

use funk::{Borrow, Take, Wide};

use super::{WrittenAt, view};
use crate::state::ErrorResource;

view! {
    /// The `lunatic::error` block.
    ErrorApi
}

#[funk::host_functions(namespace = "lunatic::error")]
impl ErrorApi {
    /// The length in bytes of the error's message.
    fn string_size(&mut self, error_id: Wide<Borrow<ErrorResource>>) -> u32 {
        self.0.resources[error_id.0].0.len() as u32
    }

    /// Writes the error's message (`string_size` bytes) at the pointer.
    #[funk(name = "to_string")]
    fn write_message(&mut self, error_id: Wide<Borrow<ErrorResource>>) -> WrittenAt {
        WrittenAt(self.0.resources[error_id.0].0.clone().into_bytes())
    }

    /// Drops the error.
    #[funk(name = "drop")]
    fn drop_error(&mut self, error_id: Wide<Take<ErrorResource>>) {
        drop(error_id);
    }
}
