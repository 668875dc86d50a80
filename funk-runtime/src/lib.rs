//! funk-runtime: a Lunatic-compatible actor runtime built on funk.

#![warn(missing_docs)]

pub mod preempt;
