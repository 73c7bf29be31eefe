//! Alert delivery decisions, with no I/O. The alert consumer (and anything else that tells
//! people about events) reads them in this order:
//!
//! - [`view`]: any event (alert or not) flattened into the fields routing and templates use;
//! - [`routing`]: the Alertmanager-like routing tree: matchers, receivers, `continue`, default;
//! - [`silence`]: silences (matchers plus an expiry) that drop matching alerts;
//! - [`group`]: which alerts of a batch share one notification (`group_by`);
//! - [`noise`]: the repeat interval per (receiver, key, rule), unless severity rises;
//! - [`template`]: the text of a notification (title, body, link) from small templates;
//!
//! Durations and timestamps in the routes file use `pulse_core::time`.

#[cfg(test)]
pub(crate) mod fixtures;
pub mod group;
pub mod noise;
pub mod routing;
pub mod silence;
pub mod template;
pub mod view;

pub use noise::{LastSent, Repeat};
pub use routing::{Matchers, Route, Target};
pub use silence::Silence;
pub use template::{Links, Templates, Text};
pub use view::AlertView;
