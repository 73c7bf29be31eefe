//! Parsing and detection loops shared by the engine benchmark and the `detect` example
//! (included by path in both).

use pulse_core::engine::{Context, Engine};
use pulse_core::parse::{self, Format};
use pulse_core::state::StateMap;
use pulse_core::{Config, Record};

/// The valid records of plain NDJSON lines.
pub fn records<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<Record> {
    let limits = Config::default().validation;
    let lines = lines.into_iter();
    let mut out = Vec::with_capacity(lines.size_hint().0);
    for line in lines {
        parse::parse_line(Format::Plain, line, &limits, |r| out.extend(r.ok()));
    }
    out
}

/// Every record against one state map, events into a buffer reused across records (as
/// `pulse replay` does: a record makes a few events at most); returns the number of events.
/// Never inlined, so a profiler can count what it costs by its name.
#[inline(never)]
pub fn detect_all(engine: &Engine, records: &[Record]) -> usize {
    let mut states = StateMap::default();
    let mut events = Vec::with_capacity(64);
    let ctx = Context::replay();
    let mut key = String::new();
    let mut n = 0;
    for r in records {
        engine.observe_keyed(r, &mut states, &mut key, &ctx, &mut events);
        n += events.len();
        events.clear();
    }
    n
}
