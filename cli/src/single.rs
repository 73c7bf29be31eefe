//! `pulse replay` on one detect thread: a second thread reads and parses the input in chunks
//! of records while this one runs them through the engine and writes their events. On small
//! inputs this beats [`crate::sharded`], whose shards and hand-offs cost more than they save
//! there.

use crate::replay::Parsed;
use crate::sharded::{Plan, lines, open_input, read_in_blocks, reuse};
use anyhow::Context as _;
use indicatif::ProgressBar;
use pulse_core::config::ValidationConfig;
use pulse_core::event::Event;
use pulse_core::parse::Format;
use pulse_core::replay::{FileDecoder, Replay};
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, channel, sync_channel};

/// Bytes read at a time.
const BLOCK: usize = 256 << 10;
/// Records per chunk handed to the engine.
const CHUNK: usize = 1024;
/// Event bytes gathered before a write.
const FLUSH: usize = 1 << 20;

/// Runs the replay; events go to `out` (none when `None`).
pub fn run(plan: Plan, out: Option<(Box<dyn Write + Send>, String)>) -> anyhow::Result<Replay> {
    let mut replay = Replay::new(plan.config);
    replay.set_clock(plan.now);
    let limits = *replay.validation();
    let (mut out, name) = match out {
        Some((w, name)) => (Some(w), name),
        None => (None, String::new()),
    };
    let writing = out.is_some();
    std::thread::scope(|scope| {
        let (to_engine, chunks) = sync_channel::<Vec<Parsed>>(4);
        let (recycle, recycled) = channel::<Vec<Parsed>>();
        let (files, format, bar) = (plan.files, plan.format, plan.bar);
        let reader =
            scope.spawn(move || read_and_parse(files, format, limits, bar, to_engine, recycled));
        let mut bytes: Vec<u8> = Vec::with_capacity(if writing { FLUSH + (64 << 10) } else { 0 });
        let mut events: Vec<Event> = Vec::with_capacity(64);
        let mut stopped = false;
        for chunk in chunks {
            for parsed in &chunk {
                replay.feed(parsed, &mut events);
                if writing {
                    for event in &events {
                        event.write_json(&mut bytes);
                        bytes.push(b'\n');
                    }
                }
                events.clear();
            }
            let _ = recycle.send(chunk);
            if bytes.len() >= FLUSH {
                if !write(&mut out, &bytes, &name)? {
                    stopped = true;
                    break;
                }
                bytes.clear();
            }
        }
        drop(recycle);
        if !stopped
            && write(&mut out, &bytes, &name)?
            && let Some(w) = out.as_mut()
        {
            match w.flush() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r.with_context(|| format!("cannot write events to {name}"))?,
            }
        }
        if stopped {
            return Ok(replay); // the reader stops at its next send
        }
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
        Ok(replay)
    })
}

/// The reader: reads the files in order, in blocks cut at line ends, and parses their
/// lines into chunks of records (sent on `to_engine`; spent chunks come back on `recycled`).
pub(crate) fn read_and_parse(
    files: Vec<PathBuf>,
    format: Option<Format>,
    limits: ValidationConfig,
    bar: ProgressBar,
    to_engine: SyncSender<Vec<Parsed>>,
    recycled: Receiver<Vec<Parsed>>,
) -> anyhow::Result<()> {
    // A spent chunk still holds its records: they are freed here.
    let fresh = |recycled: &Receiver<Vec<Parsed>>| reuse(recycled.try_recv().ok(), CHUNK + 64);
    let mut pending: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut chunk = fresh(&recycled);
    for path in &files {
        let mut input = open_input(path)?;
        let mut decoder = FileDecoder::new(format);
        pending.clear();
        let read = read_in_blocks(&mut *input, path, BLOCK, &mut pending, |pending, cut| {
            bar.inc(cut as u64);
            for line in lines(&pending[..cut]) {
                decoder.decode(line, &limits, |parsed| chunk.push(parsed));
                if chunk.len() >= CHUNK {
                    let full = std::mem::replace(&mut chunk, fresh(&recycled));
                    if to_engine.send(full).is_err() {
                        return false; // the engine stopped; it reports why
                    }
                }
            }
            pending.drain(..cut);
            true
        })?;
        match read {
            None => return Ok(()),
            Some(0) => eprintln!("warning: {} is empty", path.display()),
            Some(_) => {}
        }
    }
    if !chunk.is_empty() {
        let _ = to_engine.send(chunk);
    }
    Ok(())
}

/// Writes `bytes` to `out`; false when the reader went away (`pulse replay ... | head`:
/// stop, as Unix tools do).
fn write(
    out: &mut Option<Box<dyn Write + Send>>,
    bytes: &[u8],
    name: &str,
) -> anyhow::Result<bool> {
    let Some(w) = out.as_mut() else {
        return Ok(true);
    };
    match w.write_all(bytes) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        r => r
            .map(|()| true)
            .with_context(|| format!("cannot write events to {name}")),
    }
}
