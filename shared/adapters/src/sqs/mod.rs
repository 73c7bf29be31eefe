//! SQS: the alerts queue the detector sends to ([`alerts`]), the dead-letter queue the
//! redrive operations work on ([`queue`]), and the alert consumer's own sends ([`forward`]:
//! a deferred message back to the alerts queue, a dead letter with its reason).

pub mod alerts;
pub mod forward;
pub mod queue;

pub use alerts::SqsAlerts;
pub use forward::SqsForward;
pub use queue::SqsQueue;
