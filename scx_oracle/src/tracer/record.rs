//! The `scx_oracle trace` loop: poll the event source, hand batches to the
//! background writer, until the duration is up or a signal arrives; then
//! detach and hand over the rest.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Result;
use trace::Event;

use super::background::BackgroundWriter;
use super::progress::Progress;
use super::source::EventSource;
use super::spool::SpoolFile;

/// How often the rings are drained. BPF never wakes us (BPF_RB_NO_WAKEUP, so
/// the tracer adds no context switches per event or per batch), so this
/// bounds the ring fill: at 1 M events/s, 20 ms is ~2 MiB of a 64 MiB ring.
pub const DRAIN_INTERVAL: Duration = Duration::from_millis(20);

pub struct Outcome {
    pub elapsed: Duration,
}

/// Where drained records go: decoded events to the trace writer
/// (`--convert live`), or raw frames to the spool (`--convert after`).
pub enum Drain {
    Live(BackgroundWriter, Vec<Event>),
    Spool(BackgroundWriter<SpoolFile>, Vec<u8>),
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
            Drain::Spool(w, frames) => {
                if last {
                    source.stop_raw(frames)?;
                } else {
                    source.poll_raw(frames)?;
                }
                w.send_frames(frames)?;
            }
        }
        Ok(())
    }

    /// (events written, events dropped by the writer's queue) so far.
    fn counts(&self) -> (u64, u64) {
        match self {
            Drain::Live(w, _) => (w.events_written(), w.dropped()),
            Drain::Spool(w, _) => (w.events_written(), w.dropped()),
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
