//! Where every decision is made. Each rule is a pure function of a value, its state and the
//! config, so each can be tested alone:
//! - [`publish`]: is this change worth an update event (threshold, floor, heartbeat, seeding)?
//! - [`window`]: the level a move reaches within the price or TVL windows (price moves, TVL drops);
//! - [`peg`]: how far a pegged asset is off its peg;
//! - [`cooldown`]: whether an alert at a level fires, is suppressed, or recovers.

pub mod cooldown;
pub mod peg;
pub mod publish;
pub mod window;
