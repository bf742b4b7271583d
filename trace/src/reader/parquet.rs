//! Parquet reader over the low-level API: one row group at a time is decoded column-wise
//! and turned into events, so memory stays bounded by the row group size.

use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use parquet::basic::Type as PhysicalType;
use parquet::column::reader::get_typed_column_reader;
use parquet::data_type::{ByteArrayType, DataType, Int32Type, Int64Type};
use parquet::file::reader::{FileReader, RowGroupReader};
use parquet::file::serialized_reader::SerializedFileReader;

use super::ReadOptions;
use crate::event::{Event, EventKind, ShortStr};
use crate::format::{COLUMNS, COLUMNS_V1_0};
use crate::meta::TraceMeta;

pub struct ParquetRows {
    path: PathBuf,
    reader: SerializedFileReader<File>,
    /// File column index of each of the first `COLUMNS_V1_0` of `COLUMNS`.
    col_idx: [usize; COLUMNS_V1_0],
    /// Whether each 32-bit column is stored as INT64 (files written by other tools: pyarrow,
    /// polars and pandas make integers 64-bit); its values must still fit the schema's type.
    wide: [bool; COLUMNS_V1_0],
    /// File column index of `prev_runtime_ns` (None: a file from before it).
    runtime_col: Option<usize>,
    next_group: usize,
    buffered: VecDeque<Event>,
    failed: bool,
}

impl ParquetRows {
    pub fn open(path: &Path, opts: ReadOptions) -> Result<(TraceMeta, ParquetRows)> {
        let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let reader = SerializedFileReader::new(f).map_err(|e| {
            anyhow!(
                "{}: not a readable Parquet file ({e}); a file without a footer comes from a writer that never finished",
                path.display()
            )
        })?;
        let md = reader.metadata().file_metadata();
        let pairs: Vec<(String, String)> = md
            .key_value_metadata()
            .map(|kv| {
                kv.iter()
                    .map(|p| (p.key.clone(), p.value.clone().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        let has_version = pairs.iter().any(|(k, _)| k == "schema_version");
        let meta = if !has_version && opts.accept_partial {
            TraceMeta::new("unknown")
        } else {
            TraceMeta::from_pairs(pairs)
                .with_context(|| format!("{}: bad metadata", path.display()))?
        };
        let schema = md.schema_descr();
        let mut col_idx = [0; COLUMNS_V1_0];
        let mut wide = [false; COLUMNS_V1_0];
        let mut runtime_col = None;
        for (i, name) in COLUMNS.iter().enumerate() {
            let found = (0..schema.num_columns()).find(|&j| schema.column(j).name() == *name);
            let Some(j) = found else {
                if i >= COLUMNS_V1_0 {
                    continue; // a file from before this column: all null
                }
                bail!("{}: missing column {name}", path.display());
            };
            let want = match i {
                0 | 14 => PhysicalType::INT64,
                2 | 5 | 7 | 10 => PhysicalType::BYTE_ARRAY,
                _ => PhysicalType::INT32,
            };
            let got = schema.column(j).physical_type();
            let widened = want == PhysicalType::INT32 && got == PhysicalType::INT64;
            if let Some(w) = wide.get_mut(i) {
                *w = widened;
            }
            if got != want && !widened {
                let or_wide = if want == PhysicalType::INT32 { " (or INT64)" } else { "" };
                bail!(
                    "{}: column {name} has type {got}, expected {want}{or_wide}",
                    path.display()
                );
            }
            match col_idx.get_mut(i) {
                Some(c) => *c = j,
                None => runtime_col = Some(j),
            }
        }
        let rows = ParquetRows {
            path: path.to_path_buf(),
            reader,
            col_idx,
            wide,
            runtime_col,
            next_group: 0,
            buffered: VecDeque::new(),
            failed: false,
        };
        Ok((meta, rows))
    }

    pub fn next(&mut self) -> Option<Result<Event>> {
        loop {
            if let Some(e) = self.buffered.pop_front() {
                return Some(Ok(e));
            }
            if self.failed || self.next_group >= self.reader.num_row_groups() {
                return None;
            }
            let g = self.next_group;
            self.next_group += 1;
            if let Err(e) = self.load_group(g) {
                self.failed = true;
                return Some(Err(
                    e.context(format!("{}: row group {g}", self.path.display()))
                ));
            }
        }
    }

    fn load_group(&mut self, g: usize) -> Result<()> {
        let rg = self.reader.get_row_group(g)?;
        let n = rg.metadata().num_rows() as usize;
        let c = &self.col_idx;
        let ts = read_required::<Int64Type>(&*rg, c[0], n)?;
        let cpu = if self.wide[1] {
            read_required::<Int64Type>(&*rg, c[1], n)?
                .into_iter()
                .map(|v| narrow(v, 1))
                .collect::<Result<Vec<_>>>()?
        } else {
            read_required::<Int32Type>(&*rg, c[1], n)?
        };
        let kind = read_required::<ByteArrayType>(&*rg, c[2], n)?;
        let mut evs: Vec<Event> = Vec::with_capacity(n);
        for i in 0..n {
            let k = std::str::from_utf8(kind[i].data())
                .map_err(|_| anyhow!("event column is not UTF-8"))?;
            let k: EventKind = k.parse().map_err(|e: String| anyhow!("row {i}: {e}"))?;
            evs.push(Event::new(ts[i] as u64, cpu[i] as u32, k));
        }
        let wide = self.wide;
        let int32s = |col: usize| -> Result<Vec<Option<i32>>> {
            if !wide[col] {
                return read_optional::<Int32Type>(&*rg, c[col], n);
            }
            read_optional::<Int64Type>(&*rg, c[col], n)?
                .into_iter()
                .map(|v| v.map(|v| narrow(v, col)).transpose())
                .collect()
        };
        macro_rules! ints {
            ($col:expr, $field:ident, $conv:expr) => {
                for (e, v) in evs.iter_mut().zip(int32s($col)?) {
                    e.$field = v.map($conv);
                }
            };
        }
        macro_rules! strs {
            ($col:expr, $field:ident) => {
                for (e, v) in evs
                    .iter_mut()
                    .zip(read_optional::<ByteArrayType>(&*rg, c[$col], n)?)
                {
                    e.$field = v.map(|b| to_short(b.data(), COLUMNS[$col])).transpose()?;
                }
            };
        }
        ints!(3, prev_pid, |v| v);
        ints!(4, prev_tgid, |v| v);
        strs!(5, prev_comm);
        ints!(6, prev_prio, |v| v);
        strs!(7, prev_state);
        ints!(8, next_pid, |v| v);
        ints!(9, next_tgid, |v| v);
        strs!(10, next_comm);
        ints!(11, next_prio, |v| v);
        ints!(12, nr_running, |v| v as u32);
        ints!(13, target_cpu, |v| v as u32);
        if let Some(j) = self.runtime_col {
            for (e, v) in evs.iter_mut().zip(read_optional::<Int64Type>(&*rg, j, n)?) {
                e.prev_runtime_ns = v.map(|v| v as u64);
            }
        }
        self.buffered.extend(evs);
        Ok(())
    }
}

/// An INT64 value of a 32-bit schema column, as that column stores it (unsigned columns as
/// their bits), refused by name when it does not fit.
fn narrow(v: i64, col: usize) -> Result<i32> {
    let unsigned = matches!(col, 1 | 12 | 13); // cpu, nr_running, target_cpu
    let fits = if unsigned {
        u32::try_from(v).map(|u| u as i32).ok()
    } else {
        i32::try_from(v).ok()
    };
    fits.ok_or_else(|| {
        anyhow!(
            "column {}: value {v} does not fit its {} type",
            COLUMNS[col],
            if unsigned { "uint32" } else { "int32" }
        )
    })
}

fn to_short(b: &[u8], col: &str) -> Result<ShortStr> {
    let s = std::str::from_utf8(b).map_err(|_| anyhow!("column {col}: value is not UTF-8"))?;
    ShortStr::from_escaped(s).map_err(|e| anyhow!("column {col}: {e}"))
}

fn read_column<T: DataType>(
    rg: &dyn RowGroupReader,
    col: usize,
    n: usize,
) -> Result<(Vec<i16>, Vec<T::T>)>
where
    T::T: Default + Clone,
{
    let mut r = get_typed_column_reader::<T>(rg.get_column_reader(col)?);
    let mut defs = Vec::with_capacity(n);
    let mut vals = Vec::with_capacity(n);
    let mut total = 0;
    while total < n {
        let (recs, _, _) = r.read_records(n - total, Some(&mut defs), None, &mut vals)?;
        if recs == 0 {
            bail!("column {col}: expected {n} rows, got {total}");
        }
        total += recs;
    }
    Ok((defs, vals))
}

fn read_required<T: DataType>(rg: &dyn RowGroupReader, col: usize, n: usize) -> Result<Vec<T::T>>
where
    T::T: Default + Clone,
{
    let (_, vals) = read_column::<T>(rg, col, n)?;
    if vals.len() != n {
        bail!(
            "column {}: {} values for {n} rows",
            COLUMNS.get(col).unwrap_or(&"?"),
            vals.len()
        );
    }
    Ok(vals)
}

fn read_optional<T: DataType>(
    rg: &dyn RowGroupReader,
    col: usize,
    n: usize,
) -> Result<Vec<Option<T::T>>>
where
    T::T: Default + Clone,
{
    let (defs, vals) = read_column::<T>(rg, col, n)?;
    if defs.len() != n {
        bail!(
            "column {col}: {} definition levels for {n} rows",
            defs.len()
        );
    }
    let mut it = vals.into_iter();
    defs.iter()
        .map(|&d| {
            if d > 0 {
                it.next()
                    .map(Some)
                    .ok_or_else(|| anyhow!("column {col}: too few values"))
            } else {
                Ok(None)
            }
        })
        .collect()
}
