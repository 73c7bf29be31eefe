//! SQS: the alerts queue the detector sends to ([`alerts`]), and the dead-letter queue the
//! redrive operations work on ([`queue`]).

pub mod alerts;
pub mod queue;

pub use alerts::SqsAlerts;
pub use queue::SqsQueue;
