//! The detection engine: a record and its key's state in, update events and alerts out,
//! state updated in place. No I/O and no clock: "now" comes from the [`Context`], so the
//! same input always gives the same output. Every decision is a rule in [`crate::rules`];
//! the engine runs them in order and writes what they found:
//! - this module: the batch, the time guards and the per-key order;
//! - `emit`: the event envelope (ids, tags, confidence) and alert findings with their
//!   messages;
//! - `price`, `tvl`, `removal`: one record kind each.

mod emit;
mod ids;
mod price;
mod removal;
mod tvl;

use crate::config::Config;
use crate::event::{Event, Source};
use crate::record::{PriceRecord, Record, RecordBody, RejectReason, Sections, UnixSecs};
use crate::state::{EntityState, StateMap};
use crate::tally::Tally;
use emit::Emit;
use ids::IdSet;

/// Where and when a batch is detected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Context {
    pub source: Source,
    /// The detection clock. Records stamped more than `validation.max_future_skew` after it
    /// are rejected (`future_time`), and a state stamped after it is healed. Live sources
    /// (`dynamodb`, `scheduled`) also measure `processingTime` and freshness from it; a replay
    /// (`manual`) re-detects history, so its events have `processingTime` 0. `None`: no clock
    /// (no time guard), as in tests of the engine alone.
    pub now: Option<UnixSecs>,
}

impl Context {
    /// A replay without a clock: no time guard.
    pub fn replay() -> Self {
        Context {
            source: Source::Manual,
            now: None,
        }
    }

    /// A replay whose time guard measures against `now` (`pulse replay` gives the wall clock,
    /// or `--now`).
    pub fn replay_at(now: UnixSecs) -> Self {
        Context {
            source: Source::Manual,
            now: Some(now),
        }
    }

    /// Seconds from a record's time to its detection, as events state it.
    fn age(&self, time: UnixSecs) -> i64 {
        match (self.source, self.now) {
            (Source::Manual, _) | (_, None) => 0,
            (_, Some(now)) => now.saturating_sub(time).max(0),
        }
    }
}

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Not newer than the newest record already applied for its key (a re-read or a late write).
    Stale,
    /// Stamped more than the allowed skew after the detection clock: rejected (`future_time`),
    /// state untouched.
    Future,
}

/// What one record did, with what is counted beside events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observed {
    pub outcome: Outcome,
    /// Windows that held values but none whose age fits the window: no comparison was made
    /// for them (daily data in a 1h window, a gap longer than the window).
    pub window_gaps: u32,
    /// The key's state was stamped after the detection clock and was healed first.
    pub healed: bool,
}

/// The result of a batch.
#[derive(Debug, Default)]
pub struct BatchOutput {
    pub events: Vec<Event>,
    pub applied: usize,
    pub stale: usize,
    /// Records rejected as `future_time`.
    pub future: usize,
    pub window_gaps: u64,
    /// States healed of future times.
    pub healed: u64,
}

impl BatchOutput {
    pub(crate) fn count(&mut self, seen: Observed) {
        match seen.outcome {
            Outcome::Applied => self.applied += 1,
            Outcome::Stale => self.stale += 1,
            Outcome::Future => self.future += 1,
        }
        self.window_gaps += u64::from(seen.window_gaps);
        self.healed += u64::from(seen.healed);
    }

    /// Adds what the batch did (records, rejections, gaps, heals, events) to `tally`.
    pub fn add_to(&self, tally: &mut Tally) {
        tally.applied += self.applied as u64;
        tally.stale += self.stale as u64;
        if self.future > 0 {
            *tally.rejected.entry(RejectReason::FutureTime).or_default() += self.future as u64;
        }
        tally.window_gaps += self.window_gaps;
        tally.healed += self.healed;
        for event in &self.events {
            tally.count_event(event);
        }
    }
}

#[derive(Debug, Clone)]
pub struct Engine {
    config: Config,
    /// Looked up for every price record.
    pegged: IdSet,
    /// Whether any pegged entry is a token id (`chain:address`) rather than a coingecko id.
    pegged_token_ids: bool,
    sections: Sections,
    /// Threads a large batch may be detected on ([`Engine::with_threads`]).
    threads: usize,
}

impl Engine {
    /// An engine with a validated config.
    pub fn new(config: Config) -> Self {
        let pegged = IdSet::new(&config.peg.assets);
        let pegged_token_ids = config.peg.assets.iter().any(|a| a.contains(':'));
        let sections = Sections::new(&config.tvl.sections);
        Engine {
            config,
            pegged,
            pegged_token_ids,
            sections,
            threads: 1,
        }
    }

    /// Lets [`Engine::detect_batch`] shard large batches by state key over `threads` threads
    /// (see [`crate::shard`]); the output is the same as on one thread.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The TVL section names, which are not chains.
    pub fn sections(&self) -> &Sections {
        &self.sections
    }

    /// Whether a token is judged against the peg: by coingecko id, token id or redirect.
    pub fn is_pegged(&self, price: &PriceRecord) -> bool {
        let by_id = |id: &str| self.pegged.contains(id);
        price.token.coingecko_id().is_some_and(by_id)
            || price
                .redirect
                .as_deref()
                .and_then(|r| r.strip_prefix("coingecko#"))
                .is_some_and(by_id)
            || (self.pegged_token_ids && self.pegged.contains(price.token.id_string().as_str()))
    }

    /// The newest record time the detection clock accepts (`None` without a clock).
    pub fn time_limit(&self, ctx: &Context) -> Option<UnixSecs> {
        ctx.now
            .map(|now| now.saturating_add(self.config.validation.max_future_skew.0))
    }

    /// Whether `record` is stamped beyond what the clock accepts (`future_time`).
    pub fn is_future(&self, record: &Record, ctx: &Context) -> bool {
        self.time_limit(ctx)
            .is_some_and(|limit| record.time > limit)
    }

    /// Runs a batch: records are applied per key in time order (the sort is stable), against
    /// `states`, which is updated in place. Keys missing from `states` start fresh. A large
    /// batch is sharded by key over the threads [`Engine::with_threads`] allows.
    pub fn detect_batch(
        &self,
        records: &[Record],
        states: &mut StateMap,
        ctx: &Context,
    ) -> BatchOutput {
        self.detect_batch_sharded(records, states, ctx, self.threads)
    }

    pub(crate) fn detect_one_thread(
        &self,
        records: &[Record],
        states: &mut StateMap,
        ctx: &Context,
    ) -> BatchOutput {
        let mut order: Vec<&Record> = records.iter().collect();
        order.sort_by_key(|r| r.time);
        let mut out = BatchOutput::default();
        let mut key = String::new();
        for record in order {
            let seen = self.observe_keyed(record, states, &mut key, ctx, &mut out.events);
            out.count(seen);
        }
        out
    }

    /// [`Engine::observe`] against the record's state in `states` (fresh when missing);
    /// `key` is a scratch buffer for the state key, so a known key costs no allocation.
    pub fn observe_keyed(
        &self,
        record: &Record,
        states: &mut StateMap,
        key: &mut String,
        ctx: &Context,
        out: &mut Vec<Event>,
    ) -> Observed {
        record.write_state_key(key);
        if self.is_future(record, ctx) && !states.contains_key(key.as_str()) {
            // Rejected before it makes a state.
            return Observed {
                outcome: Outcome::Future,
                window_gaps: 0,
                healed: false,
            };
        }
        let state = match states.get_mut(key.as_str()) {
            Some(s) => s,
            None => states.entry(key.clone()).or_default(),
        };
        self.observe(record, state, ctx, out)
    }

    /// Applies one record to its key's state, appending any events to `out`. With a clock,
    /// a state stamped after it is healed first, and a record stamped after it is rejected.
    pub fn observe(
        &self,
        record: &Record,
        state: &mut EntityState,
        ctx: &Context,
        out: &mut Vec<Event>,
    ) -> Observed {
        let mut seen = Observed {
            outcome: Outcome::Applied,
            window_gaps: 0,
            healed: false,
        };
        if let Some(limit) = self.time_limit(ctx) {
            seen.healed = state.heal_after(limit);
            if record.time > limit {
                seen.outcome = Outcome::Future;
                return seen;
            }
        }
        if state.last_time.is_some_and(|last| record.time <= last) {
            seen.outcome = Outcome::Stale;
            return seen;
        }
        let first_sighting = state.last_time.is_none();
        state.last_time = Some(record.time);
        let mut emit = Emit::new(record, ctx);
        match &record.body {
            RecordBody::Price(p) => self.observe_price(&mut emit, p, state, out),
            RecordBody::Tvl(t) => self.observe_tvl(&mut emit, t, state, first_sighting, out),
            RecordBody::TokenRemoval(r) => self.observe_removal(&mut emit, r, out),
            // Dimensions are parsed and counted; SPEC section 2 defines no event for them yet.
            RecordBody::Dimension(_) => {}
        }
        seen.window_gaps = emit.window_gaps;
        seen
    }
}
