//! The `scx_oracle trace` loop: poll the event source, hand batches to the
//! background writer, until the duration is up or a signal arrives; then
//! detach and hand over the rest.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use trace::Event;

use super::background::BackgroundWriter;
use super::progress::Progress;
use super::source::EventSource;
use super::spool::{SpoolChunk, SpoolFile, CHUNK_BYTES};

/// How often the rings are drained. BPF never wakes us (BPF_RB_NO_WAKEUP, so
/// the tracer adds no context switches per event or per batch), so this
/// bounds the ring fill: at 1 M events/s, 50 ms is ~4 MiB of a 64 MiB ring.
/// Each drain is a wake-up on a CPU the load wants (~40 us in a VM): 20 ms
/// cost a hackbench run ~6 ns an event more.
pub const DRAIN_INTERVAL: Duration = Duration::from_millis(50);

/// `--convert after`: records wait in the drain's buffer until they make
/// `spool::CHUNK_BYTES` or this much time has passed, so the spool's writer
/// thread wakes a few times a second, not at every drain (each wake-up costs
/// two context switches on a CPU the load wants).
pub const SPOOL_INTERVAL: Duration = Duration::from_millis(200);

pub struct Outcome {
    pub elapsed: Duration,
}

/// Where drained records go: decoded events to the trace writer
/// (`--convert live`), or raw frames to the spool (`--convert after`).
pub enum Drain {
    Live(BackgroundWriter, Vec<Event>),
    /// The writer, the empty chunk the next hand-over goes into, when the last one was.
    Spool(BackgroundWriter<SpoolFile>, SpoolChunk, Instant),
}

impl Drain {
    /// Moves what the source has now to the writer; at `last`, detaches first.
    fn pump(&mut self, source: &mut EventSource, last: bool) -> Result<()> {
        match self {
            Drain::Live(w, batch) => {
                if last {
                    source.stop(batch)?;
                } else {
                    source.poll(batch)?;
                }
                w.send(batch)?;
            }
            Drain::Spool(w, spare, sent_at) => {
                if last {
                    source.stop_raw(spare)?;
                } else {
                    let min = if sent_at.elapsed() >= SPOOL_INTERVAL { 0 } else { CHUNK_BYTES };
                    if !source.poll_raw_from(spare, min)? {
                        return Ok(());
                    }
                }
                *sent_at = Instant::now();
                let full = std::mem::replace(spare, w.empty_batch());
                w.send_chunk(full)?;
            }
        }
        Ok(())
    }

    /// (events written, events dropped by the writer's queue) so far.
    fn counts(&self) -> (u64, u64) {
        match self {
            Drain::Live(w, _) => (w.events_written(), w.dropped()),
            Drain::Spool(w, ..) => (w.events_written(), w.dropped()),
        }
    }
}

pub fn record(
    source: &mut EventSource,
    drain: &mut Drain,
    stop: &AtomicBool,
    duration: Option<Duration>,
    drain_interval: Duration,
    mut progress: Option<Progress>,
) -> Result<Outcome> {
    if let Some(p) = progress.as_mut() {
        p.started();
    }
    loop {
        drain.pump(source, false)?;
        let elapsed = source.elapsed();
        if stop.load(Ordering::Relaxed) || duration.is_some_and(|d| elapsed >= d) {
            break;
        }
        if let Some(p) = progress.as_mut() {
            let (written, dropped) = drain.counts();
            p.tick(written, source.lost() + dropped);
        }
        let nap = duration.map_or(drain_interval, |d| (d - elapsed).min(drain_interval));
        std::thread::sleep(nap);
    }
    let elapsed = source.elapsed();
    // Detaching waits for running programs, so the final drain sees every record.
    drain.pump(source, true)?;
    Ok(Outcome { elapsed })
}
