//! pulse core. Placeholder while the engine lands.
pub mod env;
