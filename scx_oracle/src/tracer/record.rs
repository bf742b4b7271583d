//! The drain loop: ring buffer -> decoded events -> TraceWriter, until the
//! duration is up or a signal arrives, then detach and drain the rest.
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use trace::{Event, TraceWriter};

use super::bpf::Tracer;
use super::decode::decode;
use super::progress::Progress;

/// How often the ring is drained. BPF never wakes us (BPF_RB_NO_WAKEUP), so
/// this bounds the ring fill: at 1 M events/s, 20 ms is ~2 MiB of a 64 MiB ring.
const DRAIN_INTERVAL: Duration = Duration::from_millis(20);

pub struct Outcome {
    pub elapsed: Duration,
    pub lost: u64,
    /// Records that did not decode (never expected; reported, not written).
    pub malformed: u64,
}

pub fn record(
    tracer: &Tracer,
    writer: &mut TraceWriter,
    stop: &AtomicBool,
    duration: Option<Duration>,
    mut progress: Option<Progress>,
) -> Result<Outcome> {
    let batch = Rc::new(RefCell::new(Vec::<Event>::with_capacity(1 << 16)));
    let malformed = Rc::new(Cell::new(0u64));
    let ring = {
        let (batch, malformed) = (batch.clone(), malformed.clone());
        tracer.ring(move |bytes| {
            match decode(bytes) {
                Some(e) => batch.borrow_mut().push(e),
                None => malformed.set(malformed.get() + 1),
            }
            0
        })?
    };
    let drain = |writer: &mut TraceWriter| -> Result<()> {
        ring.consume().context("reading the BPF ring buffer")?;
        let mut b = batch.borrow_mut();
        writer.write_all(b.iter())?;
        b.clear();
        Ok(())
    };

    let links = tracer.attach()?;
    let start = Instant::now();
    if let Some(p) = progress.as_mut() {
        *p = Progress::new(start);
        p.started();
    }
    let deadline = duration.map(|d| start + d);
    loop {
        drain(writer)?;
        let now = Instant::now();
        if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| now >= d) {
            break;
        }
        if let Some(p) = progress.as_mut() {
            p.tick(writer.events_written(), tracer.lost()?);
        }
        let nap = deadline.map_or(DRAIN_INTERVAL, |d| (d - now).min(DRAIN_INTERVAL));
        std::thread::sleep(nap);
    }
    let elapsed = start.elapsed();
    // Detaching waits for running programs, so the final drain sees every record.
    drop(links);
    drain(writer)?;
    Ok(Outcome { elapsed, lost: tracer.lost()?, malformed: malformed.get() })
}
