//! Where every decision is made. Each rule is a pure function of a value, its state and the
//! config, so each can be tested alone:
//! - [`publish`]: is this change worth an update event (threshold, floor, heartbeat, seeding)?
//! - [`window`]: the level a move reaches within the price or TVL windows (price moves, TVL
//!   drops), and its severity;
//! - [`peg`]: how far a pegged asset is off its peg, a level's threshold and severity;
//! - [`cooldown`]: whether an alert at a level fires, is suppressed, or recovers;
//! - [`tvl`]: which series of a TVL row run and what each may say (total, chains, sections),
//!   and the chain-list comparison.

pub mod cooldown;
pub mod peg;
pub mod publish;
pub mod tvl;
pub mod window;
