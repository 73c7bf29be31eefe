//! `pulse`: replay market history through the engine locally, the local stack, and on-call
//! tools (dlq, silence). One module per subcommand; `main.rs` only parses and dispatches.
//!
//! - [`replay`] (with [`report`], the HTML backtest report, and [`sharded`], the replay on
//!   every core, and [`single`], on one thread): record files through the engine;
//! - [`local`]: the local stack: load records, a detection tick, tail events, a local
//!   receiver and the alert consumer on the local queue;
//! - [`dlq`]: the alerts dead-letter queue; [`silence`]: silences the consumer applies.

pub mod dlq;
pub mod local;
pub mod replay;
pub mod report;
pub mod sharded;
pub mod silence;
pub mod single;
