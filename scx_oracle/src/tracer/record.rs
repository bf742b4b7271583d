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

/// How often the rings are drained. BPF never wakes us (BPF_RB_NO_WAKEUP, so
/// the tracer adds no context switches per event or per batch), so this
/// bounds the ring fill: at 1 M events/s, 20 ms is ~2 MiB of a 64 MiB ring.
pub const DRAIN_INTERVAL: Duration = Duration::from_millis(20);

pub struct Outcome {
    pub elapsed: Duration,
}

pub fn record(
    source: &mut EventSource,
    writer: &mut BackgroundWriter,
    stop: &AtomicBool,
    duration: Option<Duration>,
    drain_interval: Duration,
    mut progress: Option<Progress>,
) -> Result<Outcome> {
    let mut batch = Vec::<Event>::with_capacity(1 << 16);
    if let Some(p) = progress.as_mut() {
        p.started();
    }
    loop {
        source.poll(&mut batch)?;
        writer.send(&mut batch)?;
        let elapsed = source.elapsed();
        if stop.load(Ordering::Relaxed) || duration.is_some_and(|d| elapsed >= d) {
            break;
        }
        if let Some(p) = progress.as_mut() {
            p.tick(writer.events_written(), source.lost() + writer.dropped());
        }
        let nap = duration.map_or(drain_interval, |d| (d - elapsed).min(drain_interval));
        std::thread::sleep(nap);
    }
    let elapsed = source.elapsed();
    // Detaching waits for running programs, so the final drain sees every record.
    source.stop(&mut batch)?;
    writer.send(&mut batch)?;
    Ok(Outcome { elapsed })
}
