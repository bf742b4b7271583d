//! File formats, column names and the `.partial` naming convention.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Suffix of a file still being written; renamed away by `TraceWriter::finish`.
pub const PARTIAL_SUFFIX: &str = ".partial";

/// Column names, in file order (both formats).
/// `prev_runtime_ns` came last, later than the others: readers accept files without it
/// (see [`COLUMNS_V1_0`]).
pub const COLUMNS: [&str; 15] = [
    "ts_ns",
    "cpu",
    "event",
    "prev_pid",
    "prev_tgid",
    "prev_comm",
    "prev_prio",
    "prev_state",
    "next_pid",
    "next_tgid",
    "next_comm",
    "next_prio",
    "nr_running",
    "target_cpu",
    "prev_runtime_ns",
];

/// The columns of files written before `prev_runtime_ns` existed (read as null there).
pub const COLUMNS_V1_0: usize = 14;

/// On-disk format, chosen from the file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Parquet,
    Csv,
}

impl Format {
    /// `.parquet` / `.csv` (case-insensitive); a trailing `.partial` is looked through.
    pub fn from_path(path: &Path) -> Result<Format> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let name = name.strip_suffix(PARTIAL_SUFFIX).unwrap_or(&name);
        if name.ends_with(".parquet") {
            Ok(Format::Parquet)
        } else if name.ends_with(".csv") {
            Ok(Format::Csv)
        } else {
            bail!(
                "{}: not a trace file name (.parquet or .csv); perf and ftrace text is \
                 converted into one with `scx_oracle import`",
                path.display()
            )
        }
    }
}

/// `FILE` -> `FILE.partial`.
pub fn partial_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(PARTIAL_SUFFIX);
    PathBuf::from(s)
}

/// True for `FILE.partial`.
pub fn is_partial_path(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.to_string_lossy().ends_with(PARTIAL_SUFFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_extension() {
        assert_eq!(
            Format::from_path(Path::new("a/b.parquet")).unwrap(),
            Format::Parquet
        );
        assert_eq!(Format::from_path(Path::new("b.CSV")).unwrap(), Format::Csv);
        assert_eq!(
            Format::from_path(Path::new("b.csv.partial")).unwrap(),
            Format::Csv
        );
        assert!(Format::from_path(Path::new("b.txt"))
            .unwrap_err()
            .to_string()
            .contains("b.txt"));
        assert_eq!(
            partial_path(Path::new("x.csv")),
            PathBuf::from("x.csv.partial")
        );
    }
}
