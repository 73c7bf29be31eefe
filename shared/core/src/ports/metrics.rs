//! Where a run's metrics go: EMF log lines in Lambda, PutMetricData elsewhere.

use super::PortError;
use crate::metrics::Datum;
use std::future::Future;

pub trait MetricsSink {
    fn emit(
        &self,
        data: &[Datum],
        timestamp_ms: i64,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}
