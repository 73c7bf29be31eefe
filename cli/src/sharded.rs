//! `pulse replay` on every core: the input is cut into blocks at line ends; parse workers
//! parse blocks in parallel and split their records by state key ([`shard_of_record`]);
//! one detect worker per shard runs its keys' records in input order and writes their events
//! as JSON; the writer puts the records' events back in input order and writes them while
//! the next blocks are parsed and detected. The output is byte for byte the one thread's.
//!
//! Blocks go to the parse workers in turn, and each detect worker takes its part of every
//! block in block order, so no reordering buffer is needed; channels are bounded, so memory
//! stays a few blocks per thread whatever the input's size.

use crate::replay::Parsed;
use anyhow::Context as _;
use indicatif::ProgressBar;
use pulse_core::Config;
use pulse_core::config::ValidationConfig;
use pulse_core::event::Event;
use pulse_core::parse::Format;
use pulse_core::record::UnixSecs;
use pulse_core::replay::{FileDecoder, Replay};
use pulse_core::shard::{merge_marks, shard_of_record};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};

/// Bytes per block: enough that a block is a few milliseconds of work, small enough that
/// the pipeline fills and drains quickly on a small file.
const BLOCK: usize = 128 << 10;

/// One file's lines, cut at a line end.
struct Block {
    /// Position of the block in the whole input; a record's sequence number is
    /// `index << 32 | its place in the block`.
    index: u64,
    /// Lines the reader parsed itself while the file's format was still unknown (they come
    /// before `text`).
    parsed: Vec<Parsed>,
    /// The file's format, once known (with `--format`, from the start).
    format: Option<Format>,
    text: Vec<u8>,
}

/// One shard's records of one block, numbered.
type Part = Vec<(u64, Parsed)>;

/// One shard's events of one block as JSON lines, and after each record that made events,
/// its sequence number and where its lines end.
#[derive(Default)]
struct Written {
    bytes: Vec<u8>,
    marks: Vec<(u64, usize)>,
}

/// What the replay runs with.
pub struct Plan {
    pub files: Vec<PathBuf>,
    pub format: Option<Format>,
    pub config: Config,
    pub now: UnixSecs,
    pub threads: usize,
    pub bar: ProgressBar,
}

/// Runs the replay; events go to `out` (none when `None`). Returns the merged replay (its
/// summary is the one thread's) and whether the reader of `out` went away.
pub fn run(plan: Plan, out: Option<(Box<dyn Write + Send>, String)>) -> anyhow::Result<Replay> {
    let threads = plan.threads.max(1);
    let limits = plan.config.validation;
    let writing = out.is_some();
    std::thread::scope(|scope| {
        let (recycle_tx, recycle) = channel::<Vec<u8>>();
        // reader -> parse workers, in turn
        let mut to_parse = Vec::with_capacity(threads);
        // parse worker p -> detect worker s: parts[s][p]
        let mut parts_rx: Vec<Vec<Receiver<Part>>> = (0..threads).map(|_| Vec::new()).collect();
        let mut parsers = Vec::with_capacity(threads);
        // detect workers -> parse worker p: spent parts, freed where they were allocated
        let mut spent_tx = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (stx, spent) = channel::<Part>();
            spent_tx.push(stx);
            let (tx, rx) = sync_channel::<Block>(2);
            to_parse.push(tx);
            let mut outs = Vec::with_capacity(threads);
            for shard_rx in parts_rx.iter_mut() {
                let (ptx, prx) = sync_channel::<Part>(2);
                outs.push(ptx);
                shard_rx.push(prx);
            }
            let recycle = recycle_tx.clone();
            parsers.push(scope.spawn(move || parse_worker(rx, outs, limits, recycle, spent)));
        }
        drop(recycle_tx);
        let (files, format, bar) = (plan.files, plan.format, plan.bar);
        let reader =
            scope.spawn(move || read_blocks(files, format, limits, bar, to_parse, recycle));

        let mut written_rx = Vec::with_capacity(threads);
        let mut back_tx = Vec::with_capacity(threads);
        let mut detectors = Vec::with_capacity(threads);
        for inputs in parts_rx {
            let mut replay = Replay::new(plan.config.clone());
            replay.set_clock(plan.now);
            let (to_writer, from_detect) = if writing {
                let (tx, rx) = sync_channel::<Written>(4);
                (Some(tx), Some(rx))
            } else {
                (None, None)
            };
            let (btx, back) = channel::<Written>();
            written_rx.extend(from_detect);
            back_tx.push(btx);
            let spent = spent_tx.clone();
            detectors
                .push(scope.spawn(move || detect_worker(replay, inputs, spent, to_writer, back)));
        }
        drop(spent_tx);
        let writer =
            out.map(|(w, name)| scope.spawn(move || write_in_order(w, &name, written_rx, back_tx)));

        let mut replays = Vec::with_capacity(threads);
        for d in detectors {
            replays.push(
                d.join()
                    .map_err(|_| anyhow::anyhow!("a detect thread panicked"))?,
            );
        }
        if let Some(w) = writer {
            w.join()
                .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
        }
        for p in parsers {
            p.join()
                .map_err(|_| anyhow::anyhow!("a parse thread panicked"))?;
        }
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
        let mut all = replays.remove(0);
        for r in replays {
            all.merge(r);
        }
        Ok(all)
    })
}

/// The reader: cuts each file into blocks at line ends and hands them to the parse workers
/// in turn. Until a line of the file yields a record, it parses lines itself, so the format
/// is found as on one thread (see [`FileDecoder`]).
fn read_blocks(
    files: Vec<PathBuf>,
    format: Option<Format>,
    limits: ValidationConfig,
    bar: ProgressBar,
    to_parse: Vec<SyncSender<Block>>,
    recycle: Receiver<Vec<u8>>,
) -> anyhow::Result<()> {
    let mut index = 0u64;
    for path in &files {
        let mut input = open_input(path)?;
        let mut decoder = FileDecoder::new(format);
        let mut pending = recycle.try_recv().unwrap_or_else(|_| block_buffer());
        pending.clear();
        let read = read_in_blocks(&mut *input, path, BLOCK, &mut pending, |pending, cut| {
            let mut rest = recycle.try_recv().unwrap_or_else(|_| block_buffer());
            rest.clear();
            rest.extend_from_slice(&pending[cut..]);
            pending.truncate(cut);
            let text = std::mem::replace(pending, rest);
            bar.inc(text.len() as u64);
            let block = cut_block(index, text, &mut decoder, &limits);
            let worker = (index % to_parse.len() as u64) as usize;
            index += 1;
            to_parse[worker].send(block).is_ok() // else the workers stopped; they report why
        })?;
        match read {
            None => return Ok(()),
            Some(0) => eprintln!("warning: {} is empty", path.display()),
            Some(_) => {}
        }
    }
    Ok(())
}

/// A buffer for one block and the line begun before it, so that reading into it does not
/// grow it by doubling from nothing (each step a copy into fresh, kernel-zeroed pages).
fn block_buffer() -> Vec<u8> {
    Vec::with_capacity(BLOCK + (BLOCK >> 3))
}

/// A spent vector cleared for reuse (its elements freed here, on the thread that allocated
/// them; a free from another thread costs the allocator more), or a new one.
pub(crate) fn reuse<T>(spent: Option<Vec<T>>, capacity: usize) -> Vec<T> {
    match spent {
        Some(mut v) => {
            v.clear();
            v
        }
        None => Vec::with_capacity(capacity),
    }
}

/// A record file, or standard input for "-".
pub(crate) fn open_input(path: &Path) -> anyhow::Result<Box<dyn Read>> {
    Ok(if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            File::open(path)
                .with_context(|| format!("cannot open {} (is the path right?)", path.display()))?,
        )
    })
}

/// Reads `input` into `pending` a block of `block` bytes at a time (more when a line is
/// longer) and hands each block's lines to `take` as `pending[..cut]`, cut after the last
/// line end. `take` must leave the bytes after `cut` in `pending`, for the next block, and
/// returns false to stop. The bytes read, or `None` when `take` stopped.
pub(crate) fn read_in_blocks(
    input: &mut dyn Read,
    path: &Path,
    block: usize,
    pending: &mut Vec<u8>,
    mut take: impl FnMut(&mut Vec<u8>, usize) -> bool,
) -> anyhow::Result<Option<u64>> {
    let mut total = 0u64;
    loop {
        let n = (&mut *input)
            .take(block as u64)
            .read_to_end(pending)
            .with_context(|| format!("reading {} at byte {total}", path.display()))?;
        total += n as u64;
        let at_end = n < block;
        let cut = if at_end {
            pending.len()
        } else {
            match memchr::memrchr(b'\n', pending) {
                Some(i) => i + 1,
                None => continue, // a line longer than a block: read on
            }
        };
        if cut > 0 && !take(pending, cut) {
            return Ok(None);
        }
        if at_end {
            return Ok(Some(total));
        }
    }
}

/// The lines of `text`, split at `\n` as `split` would (the piece after the last `\n`
/// included), with the line ends found by `memchr`.
pub(crate) fn lines(text: &[u8]) -> Lines<'_> {
    Lines { rest: Some(text) }
}

pub(crate) struct Lines<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                self.rest = Some(&rest[i + 1..]);
                Some(&rest[..i])
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// A block of `text`; while the file's format is unknown, its first lines are parsed here
/// until one yields a record.
fn cut_block(
    index: u64,
    mut text: Vec<u8>,
    decoder: &mut FileDecoder,
    limits: &ValidationConfig,
) -> Block {
    let mut parsed = Vec::new();
    let mut start = 0;
    while decoder.format().is_none() && start < text.len() {
        let end = memchr::memchr(b'\n', &text[start..]).map_or(text.len(), |i| start + i + 1);
        decoder.decode(&text[start..end], limits, |p| parsed.push(p));
        start = end;
    }
    if start > 0 {
        text.drain(..start);
    }
    Block {
        index,
        parsed,
        format: decoder.format(),
        text,
    }
}

/// A parse worker: parses its blocks' lines and splits the records by shard. The detect
/// workers hand the parts back on `spent`, and their records are freed here ([`reuse`]).
fn parse_worker(
    blocks: Receiver<Block>,
    to_shards: Vec<SyncSender<Part>>,
    limits: ValidationConfig,
    recycle: Sender<Vec<u8>>,
    spent: Receiver<Part>,
) {
    let shards = to_shards.len();
    let mut key = String::new();
    let fresh = || reuse(spent.try_recv().ok(), 1024);
    for block in blocks {
        let mut parts: Vec<Part> = (0..shards).map(|_| fresh()).collect();
        let mut n = 0u64;
        let base = block.index << 32;
        let mut place = |parsed: Parsed| {
            let shard = match &parsed {
                Ok(record) => shard_of_record(record, &mut key, shards),
                Err(_) => 0,
            };
            parts[shard].push((base | n, parsed));
            n += 1;
        };
        for p in block.parsed {
            place(p);
        }
        if !block.text.is_empty() {
            let mut decoder = FileDecoder::new(block.format);
            for line in lines(&block.text) {
                decoder.decode(line, &limits, &mut place);
            }
        }
        let _ = recycle.send(block.text);
        for (tx, part) in to_shards.iter().zip(parts) {
            if tx.send(part).is_err() {
                return; // the detect workers stopped
            }
        }
    }
}

/// A detect worker: one shard's records of every block, in block order (block `b` comes
/// from parse worker `b % workers`), through this shard's replay; events written as JSON.
fn detect_worker(
    mut replay: Replay,
    inputs: Vec<Receiver<Part>>,
    spent: Vec<Sender<Part>>,
    to_writer: Option<SyncSender<Written>>,
    back: Receiver<Written>,
) -> Replay {
    let mut events: Vec<Event> = Vec::with_capacity(64);
    for b in 0.. {
        let from = b % inputs.len();
        let Ok(part) = inputs[from].recv() else {
            break;
        };
        let Some(tx) = &to_writer else {
            for (seq, parsed) in &part {
                replay.feed_at(*seq, parsed, &mut events);
                events.clear();
            }
            let _ = spent[from].send(part);
            continue;
        };
        // Sized for a block's events (JSON is about four times the input on TVL data), so
        // a fresh buffer does not grow by copying.
        let mut out = back.try_recv().unwrap_or_else(|_| Written {
            bytes: Vec::with_capacity(4 * BLOCK),
            marks: Vec::with_capacity(1024),
        });
        out.bytes.clear();
        out.marks.clear();
        for (seq, parsed) in &part {
            replay.feed_at(*seq, parsed, &mut events);
            if events.is_empty() {
                continue;
            }
            for event in events.drain(..) {
                event.write_json(&mut out.bytes);
                out.bytes.push(b'\n');
            }
            out.marks.push((*seq, out.bytes.len()));
        }
        let _ = spent[from].send(part);
        if tx.send(out).is_err() {
            break; // the writer stopped (a closed pipe, or a write error it reports)
        }
    }
    replay
}

/// The writer: each block's events from every shard, merged back into input order.
fn write_in_order(
    mut w: Box<dyn Write + Send>,
    name: &str,
    from_shards: Vec<Receiver<Written>>,
    back: Vec<Sender<Written>>,
) -> anyhow::Result<()> {
    let broken = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
    'blocks: loop {
        let mut block = Vec::with_capacity(from_shards.len());
        for rx in &from_shards {
            match rx.recv() {
                Ok(written) => block.push(written),
                Err(_) => break 'blocks,
            }
        }
        let marks: Vec<&[(u64, usize)]> = block.iter().map(|w| w.marks.as_slice()).collect();
        let mut result = Ok(());
        let with_bytes = block.iter().filter(|w| !w.bytes.is_empty()).count();
        if with_bytes == 1 {
            if let Some(only) = block.iter().find(|w| !w.bytes.is_empty()) {
                result = w.write_all(&only.bytes);
            }
        } else if with_bytes > 1 {
            merge_marks(&marks, |s, start, end| {
                if result.is_ok() {
                    result = w.write_all(&block[s].bytes[start..end]);
                }
            });
        }
        match result {
            // The reader went away (`pulse replay ... | head`): stop, as Unix tools do.
            Err(e) if broken(&e) => return Ok(()),
            r => r.with_context(|| format!("cannot write events to {name}"))?,
        }
        for (written, tx) in block.into_iter().zip(&back) {
            let _ = tx.send(written);
        }
    }
    match w.flush() {
        Err(e) if broken(&e) => Ok(()),
        r => r.with_context(|| format!("cannot write events to {name}")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_split_as_split_splits_them() {
        for text in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\nbc",
            b"a\n\nbc\n",
            b"\n\n{\"PK\":1}\r\n",
        ] {
            let ours: Vec<&[u8]> = super::lines(text).collect();
            let std: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
            assert_eq!(ours, std, "{:?}", String::from_utf8_lossy(text));
        }
    }
}
