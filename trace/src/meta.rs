//! File-level metadata (Parquet key-value metadata / CSV trailing `# key=value` block).

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};

/// Version of the row schema and metadata keys described in SCHEMA.md.
pub const SCHEMA_VERSION: u32 = 1;

/// Values of the `source` key.
pub mod source {
    pub const BPF_TRACER: &str = "bpf-tracer";
    pub const PERF_SCHED_SCRIPT: &str = "perf-sched-script";
    pub const FTRACE: &str = "ftrace";
    pub const PERF_SCHED_MAP: &str = "perf-sched-map";
}

/// Keys the library owns; free-form keys may not reuse them.
pub const RESERVED_KEYS: [&str; 5] = [
    "schema_version",
    "source",
    "events",
    "events_lost",
    "complete",
];

/// Metadata of one trace file.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TraceMeta {
    pub schema_version: u32,
    /// Who produced the rows: one of [`source`] (other strings are kept as is when read).
    pub source: String,
    /// Rows in the file (set by the writer).
    pub events: u64,
    /// Events the producer knows it lost (ring-buffer overruns, `[LOST n EVENTS]` markers).
    pub events_lost: u64,
    /// True only when the writer finished properly.
    pub complete: bool,
    extra: BTreeMap<String, String>,
}

impl TraceMeta {
    /// Metadata for a new trace from `source`; counts are filled in by the writer.
    pub fn new(source: &str) -> Self {
        TraceMeta {
            schema_version: SCHEMA_VERSION,
            source: source.to_string(),
            events: 0,
            events_lost: 0,
            complete: false,
            extra: BTreeMap::new(),
        }
    }

    pub fn with_events_lost(mut self, n: u64) -> Self {
        self.events_lost = n;
        self
    }

    /// Adds a free-form key (workload, repetition, vcpus, kernel, duration_s, ...).
    /// Keys are `[A-Za-z0-9_.-]+` and may not be one of [`RESERVED_KEYS`].
    pub fn insert(&mut self, key: &str, value: impl Into<String>) -> Result<()> {
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        {
            bail!("metadata key {key:?} must be non-empty and use only letters, digits, '_', '.', '-'");
        }
        if RESERVED_KEYS.contains(&key) {
            bail!("metadata key {key:?} is reserved (set by the library)");
        }
        self.extra.insert(key.to_string(), value.into());
        Ok(())
    }

    /// Builder form of [`TraceMeta::insert`].
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Result<Self> {
        self.insert(key, value)?;
        Ok(self)
    }

    /// Free-form keys.
    pub fn extra(&self) -> &BTreeMap<String, String> {
        &self.extra
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.extra.get(key).map(String::as_str)
    }

    /// All keys as stored in files; `complete` comes last (the CSV writer relies on it).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut v = vec![
            (
                "schema_version".to_string(),
                self.schema_version.to_string(),
            ),
            ("source".to_string(), self.source.clone()),
            ("events".to_string(), self.events.to_string()),
            ("events_lost".to_string(), self.events_lost.to_string()),
        ];
        v.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        v.push(("complete".to_string(), self.complete.to_string()));
        v
    }

    /// Parses stored pairs. Missing `schema_version` means "not one of our files";
    /// a missing `complete` reads as `false`.
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Result<Self> {
        let mut m = TraceMeta::new("");
        let mut version = None;
        for (k, v) in pairs {
            match k.as_str() {
                "schema_version" => {
                    version = Some(
                        v.parse::<u32>()
                            .with_context(|| format!("bad schema_version {v:?}"))?,
                    )
                }
                "source" => m.source = v,
                "events" => {
                    m.events = v
                        .parse()
                        .with_context(|| format!("bad events count {v:?}"))?
                }
                "events_lost" => {
                    m.events_lost = v
                        .parse()
                        .with_context(|| format!("bad events_lost {v:?}"))?
                }
                "complete" => m.complete = v == "true",
                _ => {
                    m.extra.insert(k, v);
                }
            }
        }
        match version {
            None => bail!("no schema_version in file metadata: not an oracle_trace file, or an unfinished one"),
            Some(v) if v > SCHEMA_VERSION => {
                bail!("schema_version {v} is newer than this library supports ({SCHEMA_VERSION})")
            }
            Some(v) => m.schema_version = v,
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip() {
        let mut m = TraceMeta::new(source::FTRACE)
            .with_events_lost(3)
            .with("workload", "hackbench")
            .unwrap();
        m.events = 10;
        m.complete = true;
        let back = TraceMeta::from_pairs(m.to_pairs()).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn rejects_reserved_and_bad_keys() {
        let mut m = TraceMeta::new(source::FTRACE);
        assert!(m.insert("complete", "true").is_err());
        assert!(m.insert("a b", "x").is_err());
        assert!(m.insert("", "x").is_err());
    }

    #[test]
    fn missing_version_or_future_version() {
        assert!(TraceMeta::from_pairs(vec![]).is_err());
        let e = TraceMeta::from_pairs(vec![("schema_version".into(), "9".into())]).unwrap_err();
        assert!(e.to_string().contains("newer"));
        let m = TraceMeta::from_pairs(vec![("schema_version".into(), "1".into())]).unwrap();
        assert!(!m.complete);
    }
}
