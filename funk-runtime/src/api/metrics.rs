//! `lunatic::metrics`: guest metrics, emitted as `tracing` events.
//!
//! Each call becomes an `INFO` event with target `funk_runtime::metrics`
//! carrying the process id, the metric's name and kind and the value, so
//! any `tracing` subscriber (or a bridge to the `metrics` ecosystem) can
//! collect them; `RUST_LOG=funk_runtime::metrics=info` prints them.

use super::view;

view! {
    /// The `lunatic::metrics` block.
    MetricsApi
}

macro_rules! metric {
    ($self:ident, $kind:literal, $name:ident, $value:expr) => {
        tracing::info!(
            target: "funk_runtime::metrics",
            process = $self.0.process.id(),
            metric = $name,
            kind = $kind,
            value = $value,
        )
    };
}

#[funk::host_functions(namespace = "lunatic::metrics")]
impl MetricsApi {
    /// Sets a counter.
    fn counter(&mut self, name: &str, value: u64) {
        metric!(self, "counter", name, value);
    }

    /// Adds one to a counter.
    fn increment_counter(&mut self, name: &str) {
        metric!(self, "increment_counter", name, 1u64);
    }

    /// Sets a gauge.
    fn gauge(&mut self, name: &str, value: f64) {
        metric!(self, "gauge", name, value);
    }

    /// Raises a gauge.
    fn increment_gauge(&mut self, name: &str, value: f64) {
        metric!(self, "increment_gauge", name, value);
    }

    /// Lowers a gauge.
    fn decrement_gauge(&mut self, name: &str, value: f64) {
        metric!(self, "decrement_gauge", name, value);
    }

    /// Records a histogram sample.
    fn histogram(&mut self, name: &str, value: f64) {
        metric!(self, "histogram", name, value);
    }
}
