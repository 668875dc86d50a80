//! Why a module cannot be instrumented.

/// The reasons [`instrument`](super::instrument) refuses a module.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InstrumentError {
    /// The input does not validate, or uses a proposal the pass does not support
    /// (stack switching, components): the message is the validator's.
    #[error("cannot instrument: invalid or unsupported module at byte {offset:#x}: {message}")]
    Invalid {
        /// What the validator reported.
        message: String,
        /// Where in the input it found the problem.
        offset: u64,
    },
    /// The module already imports something under the yield function's name: it is
    /// instrumented already, or [`Options::import_module`](super::Options) /
    /// [`Options::import_name`](super::Options) must name another import.
    #[error(
        "cannot instrument: the module already imports `{module}::{name}`; \
         it is instrumented already, or the yield import needs another name"
    )]
    ImportTaken {
        /// The import module name.
        module: String,
        /// The import field name.
        name: String,
    },
    /// The module already exports something under the budget global's name: set
    /// [`Options::budget_export`](super::Options) to another name (or `None`).
    #[error(
        "cannot instrument: the module already exports `{0}`; \
         choose another budget export name"
    )]
    ExportTaken(String),
    /// The module validates, but the re-encoder cannot write it back (a construct
    /// `wasm-encoder` does not express).
    #[error("cannot instrument: the module cannot be re-encoded: {0}")]
    Unsupported(String),
}

impl From<wasmparser::BinaryReaderError> for InstrumentError {
    fn from(err: wasmparser::BinaryReaderError) -> Self {
        InstrumentError::Invalid {
            message: err.message().to_owned(),
            offset: err.offset(),
        }
    }
}

impl From<wasm_encoder::reencode::Error<InstrumentError>> for InstrumentError {
    fn from(err: wasm_encoder::reencode::Error<InstrumentError>) -> Self {
        match err {
            wasm_encoder::reencode::Error::ParseError(err) => err.into(),
            wasm_encoder::reencode::Error::UserError(err) => err,
            other => InstrumentError::Unsupported(other.to_string()),
        }
    }
}
