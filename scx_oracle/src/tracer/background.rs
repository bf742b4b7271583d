//! [`BackgroundWriter`]: a sink (a `trace::TraceWriter`, or the raw spool of
//! `--convert after`) on its own thread, fed batches over a bounded channel,
//! so whoever drains the BPF ring never waits for encoding or the disk.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use crossbeam::channel::{bounded, Receiver, Sender, TrySendError};
use trace::meta::{LossCause, LossTally};
use trace::{Event, TraceMeta, TraceWriter};

use super::priority::Priority;

/// What the writer thread is fed: some events, in whatever form the sink takes.
pub trait Batch: Send + 'static {
    /// An empty batch with room for about `events` events.
    fn with_room(events: usize) -> Self;
    /// Events in the batch.
    fn events(&self) -> usize;
    /// Calls `f(cpu, ts_ns)` for each event, in order: the loss report of a dropped batch.
    fn each_event(&self, f: &mut dyn FnMut(u32, u64));
    fn clear(&mut self);
}

/// Where batches end up; runs on the writer thread.
pub trait Sink: Send + 'static {
    type Batch: Batch;
    fn write(&mut self, batch: &mut Self::Batch) -> Result<()>;
}

impl Batch for Vec<Event> {
    fn with_room(events: usize) -> Self {
        Vec::with_capacity(events)
    }
    fn events(&self) -> usize {
        self.len()
    }
    fn each_event(&self, f: &mut dyn FnMut(u32, u64)) {
        self.iter().for_each(|e| f(e.cpu, e.ts_ns));
    }
    fn clear(&mut self) {
        Vec::clear(self)
    }
}

impl Sink for TraceWriter {
    type Batch = Vec<Event>;
    fn write(&mut self, batch: &mut Vec<Event>) -> Result<()> {
        self.write_all(batch.iter())
    }
}

/// Queue sizing. The bound is in events: `batches * batch_events` events
/// may wait for the writer; past that, batches are dropped and counted,
/// never queued without limit.
#[derive(Clone, Debug)]
pub struct QueueOptions {
    /// Batches the channel holds.
    pub batches: usize,
    /// Largest batch sent; bigger hand-overs are split.
    pub batch_events: usize,
    /// Testing aid: the writer sleeps this long per batch (a slow disk).
    pub throttle: Option<Duration>,
    /// How the writer thread is scheduled.
    pub priority: Priority,
}

impl Default for QueueOptions {
    /// 8 x 32 Ki decoded events: 256 Ki events (~50 MB), ~0.2 s of a switch
    /// storm on top of what the BPF rings hold; ~30 ms of a storm fits one
    /// batch. (The spool counts its queue in chunks: `spool::QUEUE_CHUNKS`.)
    fn default() -> Self {
        QueueOptions { batches: 8, batch_events: 32 << 10, throttle: None, priority: Priority::Normal }
    }
}

/// Writes batches on a background thread; see the module comment.
pub struct BackgroundWriter<S: Sink = TraceWriter> {
    tx: Option<Sender<S::Batch>>,
    /// Emptied batches coming back, so steady state allocates nothing.
    empties: Receiver<S::Batch>,
    thread: Option<JoinHandle<Result<S>>>,
    written: Arc<AtomicU64>,
    batch_events: usize,
    origin_ns: u64,
    dropped: LossTally,
}

impl<S: Sink> BackgroundWriter<S> {
    /// Starts the writer thread. `origin_ns` (CLOCK_MONOTONIC, e.g.
    /// `EventSource::start_ns`) is time zero of the loss report.
    pub fn spawn(writer: S, origin_ns: u64, opts: QueueOptions) -> Result<Self> {
        let (tx, rx) = bounded::<S::Batch>(opts.batches.max(1));
        let (empty_tx, empties) = bounded::<S::Batch>(opts.batches.max(1) + 2);
        // A few empty batches made now, before tracing, so the first hand-overs
        // do not allocate (and fault in) theirs while the load runs.
        for _ in 0..opts.batches.clamp(1, 3) {
            let _ = empty_tx.try_send(S::Batch::with_room(opts.batch_events.max(1)));
        }
        let written = Arc::new(AtomicU64::new(0));
        let counter = written.clone();
        let (throttle, priority) = (opts.throttle, opts.priority);
        let thread = std::thread::Builder::new()
            .name("trace-writer".into())
            .spawn(move || {
                priority.apply_to_this_thread();
                let mut writer = writer;
                for mut batch in rx {
                    if let Some(d) = throttle {
                        std::thread::sleep(d);
                    }
                    writer.write(&mut batch)?;
                    counter.fetch_add(batch.events() as u64, Ordering::Relaxed);
                    batch.clear();
                    let _ = empty_tx.try_send(batch);
                }
                Ok(writer)
            })
            .context("starting the trace writer thread")?;
        Ok(BackgroundWriter {
            tx: Some(tx),
            empties,
            thread: Some(thread),
            written,
            batch_events: opts.batch_events.max(1),
            origin_ns,
            dropped: LossTally::default(),
        })
    }

    /// Queues `batch` without ever blocking; if the queue is full it is
    /// dropped and counted by CPU and time. Returns how many events were
    /// dropped. Fails only if the writer thread failed.
    pub fn send_batch(&mut self, batch: S::Batch) -> Result<u64> {
        let tx = self.tx.as_ref().expect("send after finish");
        match tx.try_send(batch) {
            Ok(()) => Ok(0),
            Err(TrySendError::Full(batch)) => {
                self.count_drops(&batch);
                log::debug!("trace: writer behind, {} events dropped", batch.events());
                Ok(batch.events() as u64)
            }
            Err(TrySendError::Disconnected(_)) => Err(self.thread_error()),
        }
    }

    /// A recycled empty batch (or a new one with room for `batch_events`).
    pub fn empty_batch(&self) -> S::Batch {
        self.empties.try_recv().unwrap_or_else(|_| S::Batch::with_room(self.batch_events))
    }

    /// Tallies `batch` by CPU and 100 ms bucket, one map update per run of alike events.
    fn count_drops(&mut self, batch: &S::Batch) {
        let bucket_ns = LossTally::BUCKET_MS * 1_000_000;
        let (origin, dropped) = (self.origin_ns, &mut self.dropped);
        let mut run: Option<(u32, u64, u64)> = None; // (cpu, bucket start, count)
        batch.each_event(&mut |cpu, ts_ns| {
            let at = ts_ns.saturating_sub(origin) / bucket_ns * bucket_ns;
            run = match run {
                Some((c, b, n)) if c == cpu && b == at => Some((c, b, n + 1)),
                Some((c, b, n)) => {
                    dropped.add(LossCause::Writer, c, b, n);
                    Some((cpu, at, 1))
                }
                None => Some((cpu, at, 1)),
            };
        });
        if let Some((cpu, b, n)) = run {
            dropped.add(LossCause::Writer, cpu, b, n);
        }
    }

    /// Events the writer has written so far.
    pub fn events_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Events dropped because the writer fell behind.
    pub fn dropped(&self) -> u64 {
        self.dropped.total()
    }

    /// Waits for the queue to drain and the thread to end; returns the sink and
    /// the drops the queue counted.
    pub fn close(mut self) -> Result<(S, LossTally)> {
        drop(self.tx.take());
        let sink = self.join()?;
        Ok((sink, std::mem::take(&mut self.dropped)))
    }

    fn join(&mut self) -> Result<S> {
        let thread = self.thread.take().expect("writer joined twice");
        thread.join().map_err(|_| anyhow!("the trace writer thread panicked"))?
    }

    /// The writer thread stopped early: its error.
    fn thread_error(&mut self) -> anyhow::Error {
        match self.join() {
            Err(e) => e,
            Ok(_) => anyhow!("the trace writer thread stopped early"),
        }
    }
}

impl BackgroundWriter<TraceWriter> {
    /// Queues `events` (leaving the vector empty, its capacity kept) without
    /// ever blocking, in batches of at most `batch_events`; what does not fit
    /// is dropped and counted. Returns how many were dropped.
    pub fn send(&mut self, events: &mut Vec<Event>) -> Result<u64> {
        if events.is_empty() {
            return Ok(0);
        }
        // The common case (a poll's worth fits one batch) moves the vector
        // itself and keeps a recycled one: no copy of the events.
        if events.len() <= self.batch_events {
            let batch = std::mem::replace(events, self.empty_batch());
            return self.send_batch(batch);
        }
        let mut dropped = 0;
        for chunk in events.chunks(self.batch_events) {
            let mut b = self.empty_batch();
            b.extend_from_slice(chunk);
            dropped += self.send_batch(b)?;
        }
        events.clear();
        Ok(dropped)
    }

    /// Waits for the queue to drain, then finishes the file with `meta` plus the
    /// loss report: `ring_losses` (from the event source) and the writer's own
    /// drops, in `events_lost` and `events_lost_detail`. Returns the stored metadata.
    pub fn finish(self, meta: TraceMeta, ring_losses: &LossTally) -> Result<TraceMeta> {
        let (writer, dropped) = self.close()?;
        finish_with_losses(writer, meta, ring_losses, &dropped)
    }
}

/// Finishes `writer`'s file with `meta` plus both loss tallies (`events_lost`,
/// `events_lost_detail`); returns the stored metadata.
pub fn finish_with_losses(writer: TraceWriter, mut meta: TraceMeta, ring: &LossTally, queue: &LossTally) -> Result<TraceMeta> {
    let mut losses = ring.clone();
    losses.merge(queue);
    meta.events_lost += losses.total();
    meta.losses = losses.spans();
    writer.finish(meta)
}

impl<S: Sink> Drop for BackgroundWriter<S> {
    /// Not finished (an error path): stop the thread and leave FILE.partial.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trace::{read_trace, source, Task};
    use crate::tracer::scratch::ScratchDir;

    fn events(n: usize, cpu: u32, from_ns: u64) -> Vec<Event> {
        let t = Task::new(7, 7, b"w\0", 120);
        (0..n).map(|i| Event::wakeup(from_ns + i as u64 * 1000, cpu, t, Some(cpu))).collect()
    }

    #[test]
    fn a_fast_writer_loses_nothing() {
        let dir = ScratchDir::new("bg-fast");
        let path = dir.file("fast.parquet");
        let mut w = BackgroundWriter::spawn(TraceWriter::create(&path).unwrap(), 0, QueueOptions::default()).unwrap();
        let mut all = 0;
        for round in 0..50 {
            let mut b = events(1000, round % 2, round as u64 * 1_000_000);
            all += b.len();
            assert_eq!(w.send(&mut b).unwrap(), 0);
            assert!(b.is_empty());
            std::thread::sleep(Duration::from_millis(1));
        }
        let meta = w.finish(TraceMeta::new(source::BPF_TRACER), &LossTally::default()).unwrap();
        assert_eq!((meta.events as usize, meta.events_lost), (all, 0));
        assert!(meta.losses.is_empty());
        assert_eq!(read_trace(&path).unwrap().1.len(), all);
    }

    /// The slow writer makes the sender drop, not wait: each send returns at
    /// once, drops are counted with their CPU and time, and the file says so.
    #[test]
    fn a_slow_writer_leads_to_counted_drops_not_a_stall() {
        let dir = ScratchDir::new("bg-slow");
        let path = dir.file("slow.parquet");
        let opts = QueueOptions { batches: 2, batch_events: 100, throttle: Some(Duration::from_millis(50)), priority: Priority::Normal };
        let origin = 10_000_000_000;
        let mut w = BackgroundWriter::spawn(TraceWriter::create(&path).unwrap(), origin, opts).unwrap();
        let mut sent = 0u64;
        let t0 = std::time::Instant::now();
        for i in 0..20u64 {
            // CPU 3, 1.5 s + i ms into the trace.
            let mut b = events(100, 3, origin + 1_500_000_000 + i * 1_000_000);
            sent += 100;
            w.send(&mut b).unwrap();
        }
        // Waiting for the writer would take 18 x 50 ms; 400 ms leaves room for a loaded host.
        assert!(t0.elapsed() < Duration::from_millis(400), "send waited for the writer: {:?}", t0.elapsed());
        let dropped = w.dropped();
        assert!(dropped >= 1500, "only {dropped} of {sent} dropped");
        let mut ring = LossTally::default();
        ring.add(LossCause::Ring, 0, 2_000_000_000, 5);
        let meta = w.finish(TraceMeta::new(source::BPF_TRACER), &ring).unwrap();
        assert_eq!(meta.events + dropped, sent);
        assert_eq!(meta.events_lost, dropped + 5);
        let (back, rows) = read_trace(&path).unwrap();
        assert_eq!(rows.len() as u64, meta.events);
        assert_eq!(back.losses, meta.losses);
        let writer: Vec<_> = back.losses.iter().filter(|s| s.cause == LossCause::Writer).collect();
        assert_eq!(writer.len(), 1, "{:?}", back.losses);
        assert_eq!((writer[0].cpu, writer[0].from_ms, writer[0].to_ms, writer[0].events), (3, 1500, 1600, dropped));
        assert!(back.losses.iter().any(|s| s.cause == LossCause::Ring && s.cpu == 0 && s.from_ms == 2000));
    }
}
