//! Parquet sink: buffers one row group column-wise, then writes it with the low-level
//! (non-arrow) parquet API. Strings are appended into one byte buffer per column and
//! handed to parquet as zero-copy slices, so a row costs no allocation.

use std::fs::File;
use std::io::BufWriter;
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::data_type::{ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnPath;

use super::intern::InternCache;
use crate::event::{Event, ShortStr};
use crate::meta::TraceMeta;

/// Parquet schema of SCHEMA.md. Unsigned columns use the INTEGER(bits,false) logical type
/// so pyarrow reads them as uint64/uint32.
pub const PARQUET_SCHEMA: &str = "
message oracle_trace_event {
  required int64 ts_ns (INTEGER(64,false));
  required int32 cpu (INTEGER(32,false));
  required binary event (STRING);
  optional int32 prev_pid;
  optional int32 prev_tgid;
  optional binary prev_comm (STRING);
  optional int32 prev_prio;
  optional binary prev_state (STRING);
  optional int32 next_pid;
  optional int32 next_tgid;
  optional binary next_comm (STRING);
  optional int32 next_prio;
  optional int32 nr_running (INTEGER(32,false));
  optional int32 target_cpu (INTEGER(32,false));
  optional int64 prev_runtime_ns (INTEGER(64,false));
}";

/// An optional column's values and definition levels (1: present, 0: null).
struct Opt<T> {
    vals: Vec<T>,
    defs: Vec<i16>,
}

impl<T> Default for Opt<T> {
    fn default() -> Self {
        Opt { vals: Vec::new(), defs: Vec::new() }
    }
}

impl<T> Opt<T> {
    #[inline]
    fn push(&mut self, v: Option<T>) {
        match v {
            Some(v) => {
                self.vals.push(v);
                self.defs.push(1);
            }
            None => self.defs.push(0),
        }
    }
    fn clear(&mut self) {
        self.vals.clear();
        self.defs.clear();
    }
}

type OptI32 = Opt<i32>;

/// Where a row's string is: interned (see [`InternCache`]) or in `OptStr::data`, ending at.
#[derive(Clone, Copy)]
enum StrAt {
    Interned(&'static [u8]),
    DataEnd(usize),
}

#[derive(Default)]
struct OptStr {
    data: Vec<u8>,
    rows: Vec<StrAt>,
    defs: Vec<i16>,
    scratch: String,
    interned: InternCache,
}

impl OptStr {
    #[inline]
    fn push(&mut self, v: Option<&ShortStr>) {
        match v {
            Some(s) => {
                let at = match self.interned.get(s) {
                    Some(b) => StrAt::Interned(b),
                    None => self.copy(s.as_bytes()),
                };
                self.rows.push(at);
                self.defs.push(1);
            }
            None => self.defs.push(0),
        }
    }
    /// The fallback once the process has interned its fill: the escaped bytes into `data`.
    fn copy(&mut self, b: &[u8]) -> StrAt {
        if b.iter().all(|&c| (0x20..0x7f).contains(&c) && c != b'\\') {
            self.data.extend_from_slice(b);
        } else {
            self.scratch.clear();
            crate::text::escape_into(b, &mut self.scratch);
            self.data.extend_from_slice(self.scratch.as_bytes());
        }
        StrAt::DataEnd(self.data.len())
    }
    /// Moves the buffered strings out: interned ones as static `Bytes` (no refcount),
    /// the others as zero-copy slices of one `Bytes`.
    fn take_values(&mut self) -> Vec<ByteArray> {
        let all = Bytes::from(std::mem::take(&mut self.data));
        let mut start = 0;
        let vals = self
            .rows
            .iter()
            .map(|&at| match at {
                StrAt::Interned(b) => ByteArray::from(Bytes::from_static(b)),
                StrAt::DataEnd(end) => {
                    let v = ByteArray::from(all.slice(start..end));
                    start = end;
                    v
                }
            })
            .collect();
        self.rows.clear();
        vals
    }
    fn clear(&mut self) {
        self.data.clear();
        self.rows.clear();
        self.defs.clear();
    }
}

#[derive(Default)]
struct Columns {
    ts: Vec<i64>,
    cpu: Vec<i32>,
    kind: Vec<ByteArray>,
    prev_pid: OptI32,
    prev_tgid: OptI32,
    prev_comm: OptStr,
    prev_prio: OptI32,
    prev_state: OptStr,
    next_pid: OptI32,
    next_tgid: OptI32,
    next_comm: OptStr,
    next_prio: OptI32,
    nr_running: OptI32,
    target_cpu: OptI32,
    prev_runtime: Opt<i64>,
}

pub struct ParquetSink {
    writer: SerializedFileWriter<BufWriter<File>>,
    cols: Columns,
    row_group_rows: usize,
}

impl ParquetSink {
    pub fn new(out: BufWriter<File>, row_group_rows: usize) -> Result<Self> {
        let schema = Arc::new(parse_message_type(PARQUET_SCHEMA).context("parquet schema")?);
        let props = WriterProperties::builder()
            // zstd: about half snappy's size on scheduler traces, and pyarrow reads it.
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).context("zstd level")?))
            .set_created_by(format!("oracle_trace {}", env!("CARGO_PKG_VERSION")))
            // Timestamps are unique and rising: a dictionary only costs a hash per row
            // before it overflows; deltas are small and cheap to encode.
            .set_column_dictionary_enabled(ColumnPath::from("ts_ns"), false)
            .set_column_encoding(ColumnPath::from("ts_ns"), Encoding::DELTA_BINARY_PACKED)
            .set_statistics_enabled(EnabledStatistics::None)
            .build();
        let writer = SerializedFileWriter::new(out, schema, Arc::new(props))?;
        Ok(ParquetSink {
            writer,
            cols: Columns::default(),
            row_group_rows,
        })
    }

    #[inline]
    pub fn push(&mut self, e: &Event) -> Result<()> {
        let c = &mut self.cols;
        c.ts.push(e.ts_ns as i64); // bit-cast: the column is annotated unsigned
        c.cpu.push(e.cpu as i32);
        c.kind.push(ByteArray::from(Bytes::from_static(
            e.kind.as_str().as_bytes(),
        )));
        c.prev_pid.push(e.prev_pid);
        c.prev_tgid.push(e.prev_tgid);
        c.prev_comm.push(e.prev_comm.as_ref());
        c.prev_prio.push(e.prev_prio);
        c.prev_state.push(e.prev_state.as_ref());
        c.next_pid.push(e.next_pid);
        c.next_tgid.push(e.next_tgid);
        c.next_comm.push(e.next_comm.as_ref());
        c.next_prio.push(e.next_prio);
        c.nr_running.push(e.nr_running.map(|v| v as i32));
        c.target_cpu.push(e.target_cpu.map(|v| v as i32));
        c.prev_runtime.push(e.prev_runtime_ns.map(|v| v as i64)); // bit-cast, as ts_ns
        if c.ts.len() >= self.row_group_rows {
            self.flush_row_group()?;
        }
        Ok(())
    }

    fn flush_row_group(&mut self) -> Result<()> {
        if self.cols.ts.is_empty() {
            return Ok(());
        }
        let c = &mut self.cols;
        let mut rg = self.writer.next_row_group()?;
        let mut idx = 0;
        while let Some(mut col) = rg.next_column()? {
            match idx {
                0 => {
                    col.typed::<Int64Type>().write_batch(&c.ts, None, None)?;
                }
                1 => {
                    col.typed::<Int32Type>().write_batch(&c.cpu, None, None)?;
                }
                2 => {
                    col.typed::<ByteArrayType>()
                        .write_batch(&c.kind, None, None)?;
                }
                14 => {
                    let o = &c.prev_runtime;
                    col.typed::<Int64Type>()
                        .write_batch(&o.vals, Some(&o.defs), None)?;
                }
                _ => {
                    let ints = match idx {
                        3 => Some(&c.prev_pid),
                        4 => Some(&c.prev_tgid),
                        6 => Some(&c.prev_prio),
                        8 => Some(&c.next_pid),
                        9 => Some(&c.next_tgid),
                        11 => Some(&c.next_prio),
                        12 => Some(&c.nr_running),
                        13 => Some(&c.target_cpu),
                        _ => None,
                    };
                    if let Some(o) = ints {
                        col.typed::<Int32Type>()
                            .write_batch(&o.vals, Some(&o.defs), None)?;
                    } else {
                        let s = match idx {
                            5 => &mut c.prev_comm,
                            7 => &mut c.prev_state,
                            10 => &mut c.next_comm,
                            _ => &mut c.next_comm, // unreachable: the other columns are above
                        };
                        let vals = s.take_values();
                        col.typed::<ByteArrayType>()
                            .write_batch(&vals, Some(&s.defs), None)?;
                    }
                }
            }
            col.close()?;
            idx += 1;
        }
        rg.close()?;
        c.ts.clear();
        c.cpu.clear();
        c.kind.clear();
        c.prev_runtime.clear();
        for o in [
            &mut c.prev_pid,
            &mut c.prev_tgid,
            &mut c.prev_prio,
            &mut c.next_pid,
            &mut c.next_tgid,
            &mut c.next_prio,
            &mut c.nr_running,
            &mut c.target_cpu,
        ] {
            o.clear();
        }
        for s in [&mut c.prev_comm, &mut c.prev_state, &mut c.next_comm] {
            s.clear();
        }
        Ok(())
    }

    /// Flushes the last row group, appends `meta` as key-value metadata, writes the footer.
    pub fn finish(mut self, meta: &TraceMeta) -> Result<File> {
        self.flush_row_group()?;
        for (k, v) in meta.to_pairs() {
            self.writer.append_key_value_metadata(KeyValue::new(k, v));
        }
        let out = self.writer.into_inner()?;
        out.into_inner()
            .map_err(|e| e.into_error())
            .context("flushing parquet buffer")
    }
}
