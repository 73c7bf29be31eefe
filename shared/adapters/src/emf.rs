//! Metrics as CloudWatch Embedded Metric Format log lines on stdout: in Lambda, the log
//! pipeline turns them into metrics with no API call.

use pulse_core::metrics::{Datum, emf_lines};
use pulse_core::ports::{MetricsSink, PortError};
use std::io::Write;

#[derive(Debug, Clone)]
pub struct EmfStdout {
    pub namespace: String,
}

impl MetricsSink for EmfStdout {
    async fn emit(&self, data: &[Datum], timestamp_ms: i64) -> Result<(), PortError> {
        let mut out = std::io::stdout().lock();
        for line in emf_lines(&self.namespace, data, timestamp_ms) {
            writeln!(out, "{line}")
                .map_err(|e| PortError::retryable("write EMF line").with_source(e))?;
        }
        Ok(())
    }
}
