//! Metrics through CloudWatch PutMetricData, where no log pipeline reads EMF lines (the
//! local stack). Pinned to aws-sdk-cloudwatch 1.99.0: the emulator speaks only the older
//! (query) wire protocol, which later releases dropped.

use crate::aws::sdk_error;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use pulse_core::metrics::Datum;
use pulse_core::ports::{MetricsSink, PortError};

/// PutMetricData takes at most 1000 values per call.
const PER_CALL: usize = 1000;

#[derive(Debug, Clone)]
pub struct CloudWatchMetrics {
    pub client: aws_sdk_cloudwatch::Client,
    pub namespace: String,
}

impl CloudWatchMetrics {
    pub fn new(aws: &aws_config::SdkConfig, namespace: &str) -> Self {
        CloudWatchMetrics {
            client: aws_sdk_cloudwatch::Client::new(aws),
            namespace: namespace.to_string(),
        }
    }
}

impl MetricsSink for CloudWatchMetrics {
    async fn emit(&self, data: &[Datum], timestamp_ms: i64) -> Result<(), PortError> {
        let time = DateTime::from_millis(timestamp_ms);
        let datums: Vec<MetricDatum> = data
            .iter()
            .map(|d| {
                MetricDatum::builder()
                    .metric_name(d.name)
                    .unit(StandardUnit::from(d.unit.as_str()))
                    .value(d.value)
                    .timestamp(time)
                    .set_dimensions(Some(
                        d.dimensions
                            .iter()
                            .map(|(k, v)| Dimension::builder().name(*k).value(v).build())
                            .collect(),
                    ))
                    .build()
            })
            .collect();
        for chunk in datums.chunks(PER_CALL) {
            self.client
                .put_metric_data()
                .namespace(&self.namespace)
                .set_metric_data(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| sdk_error("cloudwatch PutMetricData", e))?;
        }
        Ok(())
    }
}
