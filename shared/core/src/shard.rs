//! Detection sharded by state key across threads. A key's state is read and written only by
//! records of that key, so records split by a stable hash of their state key can be detected
//! on separate threads, each shard in input order, and their events put back in input order:
//! the output is the one thread's, byte for byte. [`Engine::detect_batch_sharded`] does this
//! for one batch (the detector's large batches); `pulse replay` streams with the same
//! [`shard_of`] and per-shard [`crate::replay::Replay`]s, merged with
//! [`crate::replay::Replay::merge`].

use crate::engine::{BatchOutput, Context, Engine};
use crate::record::Record;
use crate::state::StateMap;

/// Batches smaller than this run on one thread: below it, starting threads and splitting the
/// state map cost more than they save.
pub const MIN_SHARDED_BATCH: usize = 2_048;

/// The shard of a state key among `shards` (stable across runs and machines: XXH3 of the key).
pub fn shard_of(key: &str, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    (xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % shards as u64) as usize
}

/// The shard of a record's state key; `key` is a scratch buffer.
pub fn shard_of_record(record: &Record, key: &mut String, shards: usize) -> usize {
    if shards <= 1 {
        return 0;
    }
    record.write_state_key(key);
    shard_of(key, shards)
}

/// What one shard of a batch made: events, and after each record, where its events end.
struct ShardOutput {
    states: StateMap,
    out: BatchOutput,
    /// (position of the record in the batch's time order, end of its events in `out.events`).
    marks: Vec<(usize, usize)>,
}

impl Engine {
    /// [`Engine::detect_batch`] on up to `threads` threads, sharded by state key: the events,
    /// counts and states are exactly the one-thread ones (a test holds it to that on the real
    /// data). Small batches (under [`MIN_SHARDED_BATCH`]) and `threads <= 1` run on this
    /// thread.
    pub fn detect_batch_sharded(
        &self,
        records: &[Record],
        states: &mut StateMap,
        ctx: &Context,
        threads: usize,
    ) -> BatchOutput {
        let shards = threads.min(records.len() / (MIN_SHARDED_BATCH / 2)).max(1);
        if shards == 1 || records.len() < MIN_SHARDED_BATCH {
            return self.detect_one_thread(records, states, ctx);
        }
        let mut order: Vec<&Record> = records.iter().collect();
        order.sort_by_key(|r| r.time);
        let mut parts: Vec<Vec<(usize, &Record)>> = vec![Vec::new(); shards];
        let mut key = String::new();
        for (pos, record) in order.into_iter().enumerate() {
            parts[shard_of_record(record, &mut key, shards)].push((pos, record));
        }
        let mut maps: Vec<StateMap> = (0..shards).map(|_| StateMap::default()).collect();
        for (k, state) in states.drain() {
            maps[shard_of(&k, shards)].insert(k, state);
        }
        let outputs: Vec<ShardOutput> = std::thread::scope(|scope| {
            let running: Vec<_> = parts
                .iter()
                .zip(maps)
                .map(|(part, mut states)| {
                    scope.spawn(move || {
                        let mut out = BatchOutput::default();
                        let mut marks = Vec::with_capacity(part.len());
                        let mut key = String::new();
                        for &(pos, record) in part {
                            let seen = self.observe_keyed(
                                record,
                                &mut states,
                                &mut key,
                                ctx,
                                &mut out.events,
                            );
                            out.count(seen);
                            marks.push((pos, out.events.len()));
                        }
                        ShardOutput { states, out, marks }
                    })
                })
                .collect();
            running
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        let mut total = BatchOutput::default();
        let mut merging = Vec::with_capacity(outputs.len());
        for shard in outputs {
            states.extend(shard.states);
            total.applied += shard.out.applied;
            total.stale += shard.out.stale;
            total.future += shard.out.future;
            total.window_gaps += shard.out.window_gaps;
            total.healed += shard.out.healed;
            merging.push((
                shard.marks.into_iter().peekable(),
                0,
                shard.out.events.into_iter(),
            ));
        }
        total.events = Vec::with_capacity(merging.iter().map(|(_, _, e)| e.len()).sum());
        // Events back in the order of the records that made them: the smallest position first.
        loop {
            let next = merging
                .iter_mut()
                .enumerate()
                .filter_map(|(i, (marks, _, _))| marks.peek().map(|&(pos, _)| (pos, i)))
                .min();
            let Some((_, i)) = next else { break };
            let (marks, start, events) = &mut merging[i];
            if let Some((_, end)) = marks.next() {
                total.events.extend(events.by_ref().take(end - *start));
                *start = end;
            }
        }
        total
    }
}

/// Events in record order from per-shard outputs, for streaming users that keep events as
/// JSON bytes: `(sequence number, end of the record's bytes)` marks of each shard, merged.
/// Calls `emit(shard, start, end)` for each record's bytes, smallest sequence number first.
pub fn merge_marks(marks: &[&[(u64, usize)]], mut emit: impl FnMut(usize, usize, usize)) {
    let mut at = vec![0usize; marks.len()];
    let mut start = vec![0usize; marks.len()];
    loop {
        let next = marks
            .iter()
            .enumerate()
            .filter_map(|(s, m)| m.get(at[s]).map(|&(seq, _)| (seq, s)))
            .min();
        let Some((_, s)) = next else { break };
        let end = marks[s][at[s]].1;
        if end > start[s] {
            emit(s, start[s], end);
        }
        start[s] = end;
        at[s] += 1;
    }
}
