//! The scheduler events an in-process consumer reads live (the oracle policies, shadow mode):
//! the tracer's BPF programs ([`EventSource`]), each poll put in time order, handed to the
//! consumer one by one, and optionally recorded (`--record T.parquet`) exactly as the
//! consumer left them, so `scx_oracle eval`/`encode` on the recording replays what it saw.
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use libbpf_rs::OpenObject;
use trace::{source, Event, TraceMeta, TraceWriter};

use crate::tracer::{BackgroundWriter, EventSource, QueueOptions, SourceOptions};

struct Recording {
    writer: BackgroundWriter,
    path: PathBuf,
    meta: TraceMeta,
    batch: Vec<Event>,
}

pub struct LiveEvents<'obj> {
    source: EventSource<'obj>,
    buf: Vec<Event>,
    record: Option<Recording>,
}

impl<'obj> LiveEvents<'obj> {
    /// Loads and attaches the tracer. With `record`, events also go to that trace file
    /// (`meta` is its metadata; the loss report is added at the end).
    pub fn open(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        record: Option<&Path>,
        meta: TraceMeta,
    ) -> Result<Self> {
        // Fail on a bad output path before loading anything.
        let writer = record.map(TraceWriter::create).transpose()?;
        let source = EventSource::open(open_object, &SourceOptions::default())
            .context("loading the scheduler-event tracer (raw tracepoints)")?;
        let record = match (writer, record) {
            (Some(w), Some(path)) => Some(Recording {
                writer: BackgroundWriter::spawn(w, source.start_ns(), QueueOptions::default())?,
                path: path.to_path_buf(),
                meta,
                batch: Vec::new(),
            }),
            _ => None,
        };
        Ok(LiveEvents { source, buf: Vec::with_capacity(1 << 16), record })
    }

    /// Metadata for a recording made by `what` (e.g. "run --policy oracle").
    pub fn meta(what: &str) -> Result<TraceMeta> {
        TraceMeta::new(source::BPF_TRACER).with("recorded_by", format!("scx_oracle {what}"))
    }

    /// Hands every event available now to `consume`, oldest first (each poll sorted by time,
    /// stable), then records them as `consume` left them. Returns how many.
    pub fn pump(&mut self, mut consume: impl FnMut(&mut Event) -> Result<()>) -> Result<usize> {
        self.source.poll(&mut self.buf)?;
        self.hand_over(&mut consume)
    }

    fn hand_over(&mut self, consume: &mut impl FnMut(&mut Event) -> Result<()>) -> Result<usize> {
        let n = self.buf.len();
        if n == 0 {
            return Ok(0);
        }
        self.buf.sort_by_key(|e| e.ts_ns);
        let mut first_err = None;
        for ev in &mut self.buf {
            if let Err(e) = consume(ev) {
                first_err.get_or_insert(e);
            }
        }
        match &mut self.record {
            Some(r) => {
                r.batch.append(&mut self.buf);
                r.writer.send(&mut r.batch)?;
            }
            None => self.buf.clear(),
        }
        first_err.map_or(Ok(n), Err)
    }

    /// Events the BPF rings dropped so far (and the recorder, when it fell behind).
    pub fn lost(&self) -> u64 {
        self.source.lost() + self.record.as_ref().map_or(0, |r| r.writer.dropped())
    }

    pub fn elapsed_s(&self) -> f64 {
        self.source.elapsed().as_secs_f64()
    }

    /// Detaches, hands over the last events, and completes the recording (its path and
    /// metadata, None when not recording).
    pub fn finish(
        mut self,
        mut consume: impl FnMut(&mut Event) -> Result<()>,
    ) -> Result<Option<(PathBuf, TraceMeta)>> {
        self.source.stop(&mut self.buf)?;
        let handed = self.hand_over(&mut consume);
        let Some(mut r) = self.record.take() else { return handed.map(|_| None) };
        r.meta.insert("duration_s", format!("{:.3}", self.source.elapsed().as_secs_f64()))?;
        let meta = r.writer.finish(r.meta, self.source.losses())?;
        handed?;
        Ok(Some((r.path, meta)))
    }
}
