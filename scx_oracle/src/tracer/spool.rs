//! `--convert after` (the default): while tracing, the ring's records are
//! copied to a spool file as they are, and decoded into the trace file only
//! once tracing stops — what `perf record` then `perf script` do. Decoding,
//! column building and compression (~85% of the tracer's per-event cost
//! when done live) then never compete with the traced load for a CPU.
//!
//! The spool is a run of frames, one per ring record (an event, or a batch
//! of them: `decode::records`): `u32 ring` (the CPU whose ring held it)
//! `u32 len` `len bytes` padded to 8. The ring matters: each CPU's ring has
//! its own comm cache (see `Decoder`), so records are decoded per ring, in
//! ring order. A frame of ring `PAD_RING` is padding (`spool_file.rs`
//! writes whole 4 KiB blocks) and is skipped.
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use trace::{Event, TraceWriter};

use super::background::{Batch, BackgroundWriter};
use super::decode::{records, Decoder};
pub use super::spool_file::SpoolFile;

const FRAME_HEADER: usize = 8;
/// The ring number of a padding frame.
const PAD_RING: u32 = u32::MAX;
/// Chunks are written in whole blocks of this (O_DIRECT wants them aligned).
pub const BLOCK: usize = 4096;

/// The drain hands its frames to the writer once they make this much (or
/// every `record::SPOOL_INTERVAL`).
pub const CHUNK_BYTES: usize = 2 << 20;
/// Chunks the writer's queue holds (32 MiB, ~400 k events).
pub const QUEUE_CHUNKS: usize = 16;
/// A chunk's buffer: a hand-over plus a few drains' worth (so it seldom
/// grows) plus a block of padding.
const CHUNK_CAPACITY: usize = 2 * CHUNK_BYTES + BLOCK;
/// Larger hand-overs (a final drain of full rings) are cut into chunks of at most this.
const MAX_CHUNK_BYTES: usize = 4 * CHUNK_BYTES;

/// Bytes a record takes in the spool.
fn frame_len(record_len: usize) -> usize {
    FRAME_HEADER + record_len.next_multiple_of(8)
}

/// A frame header's (ring, record length).
fn parse_header(header: &[u8]) -> (u32, usize) {
    let ring = u32::from_ne_bytes(header[..4].try_into().unwrap());
    (ring, u32::from_ne_bytes(header[4..8].try_into().unwrap()) as usize)
}

/// The frames of `bytes` as (ring, record), padding skipped; stops at the
/// first frame that does not fit (in memory, frames are whole: `push_frame`).
struct Frames<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Frames<'a> {
    type Item = (u32, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (ring, len) = parse_header(self.rest.get(..FRAME_HEADER)?);
            let frame = self.rest.get(..frame_len(len))?;
            self.rest = &self.rest[frame.len()..];
            if ring != PAD_RING {
                return Some((ring, &frame[FRAME_HEADER..FRAME_HEADER + len]));
            }
        }
    }
}

fn frames(bytes: &[u8]) -> Frames<'_> {
    Frames { rest: bytes }
}

/// The record's own (cpu, ts) for the loss report, from struct ot_event's
/// first fields (ts: u64 at 0, cpu: u32 at 8).
fn cpu_and_ts(record: &[u8]) -> (u32, u64) {
    match (record.get(..8), record.get(8..12)) {
        (Some(ts), Some(cpu)) => (u32::from_ne_bytes(cpu.try_into().unwrap()), u64::from_ne_bytes(ts.try_into().unwrap())),
        _ => (0, 0),
    }
}

/// Frames on their way to the spool file, and how many events they hold,
/// in a buffer that starts on a BLOCK boundary (for O_DIRECT).
#[derive(Default)]
pub struct SpoolChunk {
    /// The allocation; the frames are `buf[off..off + len]`.
    buf: Vec<u8>,
    off: usize,
    len: usize,
    events: usize,
}

impl SpoolChunk {
    /// An empty chunk with room for `capacity` bytes, its pages touched
    /// (written once now: a buffer first written while tracing would
    /// page-fault once per 4 KiB, on the CPU the load wants).
    fn with_capacity(capacity: usize) -> Self {
        let buf = vec![1u8; capacity + BLOCK];
        let off = buf.as_ptr().align_offset(BLOCK);
        SpoolChunk { buf, off, len: 0, events: 0 }
    }

    /// The frames.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.off..self.off + self.len]
    }

    /// Room for `n` more bytes, moving to a larger buffer if need be.
    fn reserve(&mut self, n: usize) {
        if self.off + self.len + n > self.buf.len() {
            let mut bigger = SpoolChunk::with_capacity((2 * (self.len + n)).max(CHUNK_CAPACITY));
            bigger.buf[bigger.off..bigger.off + self.len].copy_from_slice(self.bytes());
            bigger.len = self.len;
            bigger.events = self.events;
            *self = bigger;
        }
    }

    /// Appends a frame: `ring`, then `len` bytes that `fill` writes (zero-padded to 8).
    fn push_frame(&mut self, ring: u32, len: usize, fill: impl FnOnce(&mut [u8])) {
        let n = frame_len(len);
        self.reserve(n);
        let at = self.off + self.len;
        let frame = &mut self.buf[at..at + n];
        frame[..4].copy_from_slice(&ring.to_ne_bytes());
        frame[4..8].copy_from_slice(&(len as u32).to_ne_bytes());
        fill(&mut frame[FRAME_HEADER..FRAME_HEADER + len]);
        frame[FRAME_HEADER + len..].fill(0);
        self.len += n;
    }

    /// Appends ring `ring`'s record (one event, or a batch of them).
    pub fn push(&mut self, ring: u32, record: &[u8]) {
        self.push_frame(ring, record.len(), |to| to.copy_from_slice(record));
        // Counted now, while the record is in cache: a later walk would miss.
        self.events += records(record).count();
    }

    /// Pads the frames to a whole number of BLOCKs with a padding frame.
    pub fn pad_to_block(&mut self) {
        let gap = self.len.next_multiple_of(BLOCK) - self.len;
        if gap > 0 {
            // Frames are multiples of 8, so a gap has room for a frame header.
            self.push_frame(PAD_RING, gap - FRAME_HEADER, |to| to.fill(0));
        }
    }

    pub fn len_bytes(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Moves `other`'s frames to the end of this chunk.
    pub fn append(&mut self, other: &mut SpoolChunk) {
        self.reserve(other.len);
        let at = self.off + self.len;
        self.buf[at..at + other.len].copy_from_slice(other.bytes());
        self.len += other.len;
        self.events += other.events;
        other.clear();
    }
}

impl Batch for SpoolChunk {
    /// A chunk with room for a hand-over, its pages already touched: a buffer
    /// first written while tracing would page-fault once per 4 KiB.
    fn with_room(_events: usize) -> Self {
        SpoolChunk::with_capacity(CHUNK_CAPACITY)
    }
    fn events(&self) -> usize {
        self.events
    }
    fn each_event(&self, f: &mut dyn FnMut(u32, u64)) {
        for (_, frame) in frames(self.bytes()) {
            for record in records(frame) {
                let (cpu, ts) = cpu_and_ts(record);
                f(cpu, ts);
            }
        }
    }
    fn clear(&mut self) {
        self.len = 0;
        self.events = 0;
    }
}

impl BackgroundWriter<SpoolFile> {
    /// Queues `chunk` without ever blocking (cut between frames if it is over
    /// MAX_CHUNK_BYTES); what does not fit the queue is dropped and counted.
    /// Returns how many events were dropped.
    pub fn send_chunk(&mut self, chunk: SpoolChunk) -> Result<u64> {
        if chunk.len_bytes() <= MAX_CHUNK_BYTES {
            return self.send_batch(chunk);
        }
        let mut dropped = 0;
        let mut piece = self.empty_batch();
        for (ring, frame) in frames(chunk.bytes()) {
            if piece.len_bytes() + frame_len(frame.len()) > MAX_CHUNK_BYTES && !piece.is_empty() {
                dropped += self.send_batch(std::mem::replace(&mut piece, self.empty_batch()))?;
            }
            piece.push(ring, frame);
        }
        if !piece.is_empty() {
            dropped += self.send_batch(piece)?;
        }
        Ok(dropped)
    }
}

/// What converting a spool found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Converted {
    pub events: u64,
    /// Records that did not decode (never expected).
    pub malformed: u64,
    /// Comms left out that the comm-cache mirror did not hold (never expected).
    pub unknown_comms: u64,
    /// Recovering: the byte where the spool ended inside a frame (its writer was killed).
    pub torn_at: Option<u64>,
}

/// Decodes every record of the spool at `path`, ring by ring in the order
/// they were drained, and writes the events to `writer`. A spool that ends
/// inside a frame is an error, unless `recover` (the spool of a tracer that
/// was killed): then what came before is kept and `torn_at` says where.
pub fn convert(path: &Path, writer: &mut TraceWriter, recover: bool) -> Result<Converted> {
    let file = File::open(path).with_context(|| format!("opening the spool file {}", path.display()))?;
    let mut input = BufReader::with_capacity(1 << 20, file);
    let mut decoders: Vec<Decoder> = Vec::new();
    let mut out = Converted::default();
    let mut events: Vec<Event> = Vec::with_capacity(1 << 16);
    let mut record = Vec::new();
    let mut offset = 0u64;
    loop {
        let (ring, len) = match next_frame(&mut input, &mut record) {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && recover => {
                out.torn_at = Some(offset);
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(e).with_context(|| torn(path, offset)),
            Err(e) => return Err(e).with_context(|| format!("the spool file {}, frame at byte {offset}", path.display())),
        };
        offset += frame_len(len) as u64;
        if ring == PAD_RING {
            continue;
        }
        let ring = ring as usize;
        if decoders.len() <= ring {
            decoders.resize_with(ring + 1, Decoder::default);
        }
        out.malformed += decoders[ring].decode_all(&record[..len], &mut events);
        if events.len() >= 1 << 16 {
            out.events += events.len() as u64;
            writer.write_all(events.iter())?;
            events.clear();
        }
    }
    out.events += events.len() as u64;
    writer.write_all(events.iter())?;
    out.unknown_comms = decoders.iter().map(|d| d.unknown_comms()).sum();
    Ok(out)
}

/// Reads the next frame into `record` (its length padded to 8); None at a
/// clean end of file. A frame cut short is UnexpectedEof; one this tracer
/// would not write (an unknown ring, a huge length) is InvalidData.
fn next_frame(input: &mut impl Read, record: &mut Vec<u8>) -> std::io::Result<Option<(u32, usize)>> {
    let mut header = [0u8; FRAME_HEADER];
    if !read_exact_or_eof(input, &mut header)? {
        return Ok(None);
    }
    let (ring, len) = parse_header(&header);
    let padding = ring == PAD_RING && len < BLOCK;
    if (!padding && ring >= super::intf::TRACE_MAX_CPUS) || len > 1 << 20 {
        let why = format!("a bad frame (ring {ring}, {len} bytes): not a spool written by this tracer");
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, why));
    }
    record.resize(len.next_multiple_of(8), 0);
    input.read_exact(record)?;
    Ok(Some((ring, len)))
}

fn torn(path: &Path, offset: u64) -> String {
    format!("the spool file {} ends inside the frame at byte {offset}", path.display())
}

/// Fills `buf`; false at a clean end of file (no byte read).
fn read_exact_or_eof(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracer::background::QueueOptions;
    use crate::tracer::intf::{self, ot_event};
    use crate::tracer::priority::Priority;
    use crate::tracer::scratch::ScratchDir;
    use std::time::Duration;
    use trace::meta::{LossCause, LossTally};
    use trace::{read_trace, source, TraceMeta};

    /// A wakeup record of `pid` at `ts` on `cpu`, with its comm when `comm` is given.
    fn record(ts: u64, cpu: u32, pid: i32, comm: Option<&[u8]>) -> Vec<u8> {
        let mut e: ot_event = unsafe { std::mem::zeroed() };
        e.ts = ts;
        e.cpu = cpu;
        e.type_ = intf::WAKEUP;
        e.target_cpu = cpu;
        e.next_pid = pid;
        e.next_tgid = pid;
        e.next_prio = 120;
        e.flags = if comm.is_some() { intf::F_NEXT_COMM } else { 0 };
        let mut b = unsafe { std::slice::from_raw_parts((&e as *const ot_event).cast::<u8>(), std::mem::size_of::<ot_event>()) }.to_vec();
        if let Some(c) = comm {
            let mut field = [0u8; 16];
            field[..c.len()].copy_from_slice(c);
            b.extend_from_slice(&field);
        }
        b
    }

    /// Frames of two rings, interleaved as a drain would leave them.
    fn two_rings(n: usize) -> (SpoolChunk, Vec<Vec<u8>>) {
        let (mut chunk, mut records) = (SpoolChunk::default(), Vec::new());
        for i in 0..n {
            let ring = (i / 7 % 2) as u32; // runs of 7 records per ring
            let comm: Option<&[u8]> = if i < 14 { Some(b"worker") } else { None };
            let r = record(1_000 + i as u64, ring, 40 + ring as i32, comm);
            chunk.push(ring, &r);
            records.push(r);
        }
        (chunk, records)
    }

    fn queue(batches: usize, batch_events: usize, throttle: Option<Duration>) -> QueueOptions {
        QueueOptions { batches, batch_events, throttle, priority: Priority::Normal }
    }

    /// Spooled then converted gives the rows that decoding each ring live gives.
    #[test]
    fn converting_a_spool_gives_what_live_decoding_gives() {
        let dir = ScratchDir::new("spool-same");
        let (chunk, records) = two_rings(100);
        assert_eq!(chunk.events(), 100);
        let spool_path = dir.file("same.spool");
        let mut w = BackgroundWriter::spawn(SpoolFile::create(spool_path.clone()).unwrap(), 0, queue(64, 16, None)).unwrap();
        assert_eq!(w.send_chunk(chunk).unwrap(), 0);
        let (spool, lost) = w.close().unwrap();
        assert_eq!(lost.total(), 0);
        let path = spool.finish().unwrap();

        let out = dir.file("same.parquet");
        let mut tw = TraceWriter::create(&out).unwrap();
        let got = convert(&path, &mut tw, false).unwrap();
        assert_eq!(got, Converted { events: 100, malformed: 0, unknown_comms: 0, torn_at: None });
        tw.finish(TraceMeta::new(source::BPF_TRACER)).unwrap();
        let (_, rows) = read_trace(&out).unwrap();

        let mut live = [Decoder::default(), Decoder::default()];
        let want: Vec<Event> = records.iter().enumerate().map(|(i, r)| live[i / 7 % 2].decode(r).unwrap()).collect();
        assert_eq!(rows, want);
        assert!(rows.iter().all(|e| e.next_comm.is_some()), "a comm not filled from its ring's cache");
    }

    #[test]
    fn a_slow_spool_writer_leads_to_counted_drops_not_a_stall() {
        let dir = ScratchDir::new("spool-slow");
        let origin = 5_000_000_000;
        let path = dir.file("slow.spool");
        let mut w = BackgroundWriter::spawn(SpoolFile::create(path).unwrap(), origin, queue(2, 10, Some(Duration::from_millis(50)))).unwrap();
        let t0 = std::time::Instant::now();
        let mut sent = 0;
        for i in 0..20u64 {
            let mut chunk = SpoolChunk::default();
            for j in 0..10u64 {
                chunk.push(1, &record(origin + 700_000_000 + i * 1_000_000 + j, 3, 9, Some(b"x")));
            }
            sent += 10;
            w.send_chunk(chunk).unwrap();
        }
        // Waiting for the writer would take 18 x 50 ms; 400 ms leaves room for a loaded host.
        assert!(t0.elapsed() < Duration::from_millis(400), "send waited for the writer: {:?}", t0.elapsed());
        let dropped = w.dropped();
        assert!(dropped >= 150, "only {dropped} of {sent} dropped");
        let (_, lost) = w.close().unwrap();
        assert_eq!(lost.total(), dropped);
        let spans = lost.spans();
        assert_eq!(spans.len(), 1, "{spans:?}");
        assert_eq!((spans[0].cause, spans[0].cpu, spans[0].from_ms, spans[0].events), (LossCause::Writer, 3, 700, dropped));
        let _ = LossTally::default();
    }

    /// A hand-over over MAX_CHUNK_BYTES goes as several chunks, cut between
    /// frames: the file holds the same bytes, and each event is counted once.
    #[test]
    fn big_hand_overs_are_cut_at_frame_boundaries() {
        let dir = ScratchDir::new("spool-cut");
        let mut chunk = SpoolChunk::default();
        let mut i = 0u64;
        while chunk.len_bytes() <= 2 * MAX_CHUNK_BYTES {
            chunk.push((i % 3) as u32, &record(i, 0, 7, (i % 5 == 0).then_some(b"w".as_slice())));
            i += 1;
        }
        let whole = chunk.bytes().to_vec();
        let path = dir.file("cut.spool");
        let mut w = BackgroundWriter::spawn(SpoolFile::create(path).unwrap(), 0, queue(64, 10, None)).unwrap();
        assert_eq!(w.send_chunk(chunk).unwrap(), 0);
        assert_eq!(w.dropped(), 0);
        let (spool, _) = w.close().unwrap();
        let path = spool.finish().unwrap();
        let file = std::fs::read(&path).unwrap();
        let kept = |b: &[u8]| frames(b).flat_map(|(r, f)| [r.to_ne_bytes().to_vec(), f.to_vec()]).collect::<Vec<_>>();
        assert_eq!(kept(&file), kept(&whole), "the file's frames, padding aside");
        let mut tw = TraceWriter::create(&dir.file("cut.parquet")).unwrap();
        assert_eq!(convert(&path, &mut tw, false).unwrap().events, i);
    }

    #[test]
    fn a_torn_spool_is_named_in_the_error() {
        let dir = ScratchDir::new("spool-torn");
        let (chunk, _) = two_rings(3);
        let path = dir.file("torn.spool");
        std::fs::write(&path, &chunk.bytes()[..chunk.len_bytes() - 5]).unwrap();
        let mut tw = TraceWriter::create(&dir.file("torn.parquet")).unwrap();
        let e = format!("{:#}", convert(&path, &mut tw, false).unwrap_err());
        assert!(e.contains("torn.spool") && e.contains("ends inside the frame"), "{e}");
        // Recovering keeps the whole frames before the tear and says where it is.
        let mut tw = TraceWriter::create(&dir.file("torn-recovered.parquet")).unwrap();
        let got = convert(&path, &mut tw, true).unwrap();
        assert_eq!((got.events, got.torn_at), (2, Some(2 * frame_len(chunk.bytes().len() / 3 - FRAME_HEADER) as u64)));
    }

    /// Chunks start on a block and are padded to whole blocks (what O_DIRECT
    /// needs); readers see the frames only.
    #[test]
    fn chunks_are_whole_aligned_blocks_and_padding_is_skipped() {
        let (mut chunk, records) = two_rings(9);
        let mut big = SpoolChunk::with_room(0);
        big.append(&mut chunk);
        assert!(chunk.is_empty());
        let before = big.bytes().to_vec();
        big.pad_to_block();
        assert_eq!(big.bytes().as_ptr() as usize % BLOCK, 0);
        assert_eq!(big.len_bytes() % BLOCK, 0);
        assert_eq!(big.events(), 9);
        let got: Vec<&[u8]> = frames(big.bytes()).map(|(_, f)| f).collect();
        assert_eq!(got, records.iter().map(|r| r.as_slice()).collect::<Vec<_>>());
        assert_eq!(frames(big.bytes()).count(), frames(&before).count());
        // A chunk that outgrows its buffer moves to a bigger one, still aligned.
        let mut grown = SpoolChunk::default();
        for r in records.iter().cycle().take(40_000) {
            grown.push(0, r);
        }
        assert_eq!(grown.bytes().as_ptr() as usize % BLOCK, 0);
        assert_eq!(frames(grown.bytes()).count(), 40_000);
    }
}
