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
pub const RESERVED_KEYS: [&str; 6] = [
    "schema_version",
    "source",
    "events",
    "events_lost",
    LOSSES_KEY,
    "complete",
];

/// The fair class's base slice (ns) on the traced kernel, when the producer could read it
/// (`scx_oracle trace`: debugfs). The encoders' EEVDF estimate uses it (see SCHEMA.md).
pub const BASE_SLICE_KEY: &str = "sched_base_slice_ns";

/// Which scheduler ran while the trace was recorded (`--meta scheduler=...`; `scx_oracle
/// run` writes its policy's name). [`FAIR`], or no key, is the kernel's fair class: only
/// then does the encoders' EEVDF estimate read the switch records' nr_running (SCHEMA.md).
pub const SCHEDULER_KEY: &str = "scheduler";
pub const FAIR: &str = "fair";

/// Key of the loss report: a JSON array of [`LossSpan`]s (absent when nothing was lost
/// or the producer cannot tell when).
pub const LOSSES_KEY: &str = "events_lost_detail";

/// Why events were lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossCause {
    /// The BPF ring buffer was full: the kernel side dropped the event.
    Ring,
    /// The file writer fell behind: its queue was full and the batch was dropped.
    Writer,
}

impl std::fmt::Display for LossCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LossCause::Ring => "ring",
            LossCause::Writer => "writer",
        })
    }
}

/// Events lost on one CPU, for one cause, in `[from_ms, to_ms)` milliseconds into the trace.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LossSpan {
    pub cause: LossCause,
    pub cpu: u32,
    pub from_ms: u64,
    pub to_ms: u64,
    pub events: u64,
}

/// Counts lost events in [`LossTally::BUCKET_MS`] buckets per cause and CPU; adjacent
/// buckets become one [`LossSpan`].
#[derive(Clone, Debug, Default)]
pub struct LossTally {
    buckets: BTreeMap<(LossCause, u32, u64), u64>,
}

impl LossTally {
    /// Time resolution of the report.
    pub const BUCKET_MS: u64 = 100;

    /// `n` events of `cpu` lost `at_ns` nanoseconds into the trace.
    pub fn add(&mut self, cause: LossCause, cpu: u32, at_ns: u64, n: u64) {
        if n > 0 {
            let b = at_ns / 1_000_000 / Self::BUCKET_MS;
            *self.buckets.entry((cause, cpu, b)).or_default() += n;
        }
    }

    pub fn merge(&mut self, other: &LossTally) {
        for (k, n) in &other.buckets {
            *self.buckets.entry(*k).or_default() += n;
        }
    }

    pub fn total(&self) -> u64 {
        self.buckets.values().sum()
    }

    /// Spans ordered by cause, CPU and time.
    pub fn spans(&self) -> Vec<LossSpan> {
        let mut out: Vec<LossSpan> = Vec::new();
        for (&(cause, cpu, b), &n) in &self.buckets {
            let from_ms = b * Self::BUCKET_MS;
            match out.last_mut() {
                Some(s) if s.cause == cause && s.cpu == cpu && s.to_ms == from_ms => {
                    s.to_ms += Self::BUCKET_MS;
                    s.events += n;
                }
                _ => out.push(LossSpan { cause, cpu, from_ms, to_ms: from_ms + Self::BUCKET_MS, events: n }),
            }
        }
        out
    }
}

/// Splits a `--meta KEY=VALUE` argument (the value may contain `=`); the key must be
/// non-empty (what else makes a valid key is [`TraceMeta::insert`]'s business).
pub fn parse_meta_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        Some(_) => Err(format!("{s:?} has an empty key (expected KEY=VALUE)")),
        None => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

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
    /// When and where events were lost (empty: none, or the producer cannot tell).
    pub losses: Vec<LossSpan>,
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
            losses: Vec::new(),
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
        if !self.losses.is_empty() {
            let json = serde_json::to_string(&self.losses).expect("loss spans serialize");
            v.push((LOSSES_KEY.to_string(), json));
        }
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
                LOSSES_KEY => {
                    m.losses = serde_json::from_str(&v)
                        .with_context(|| format!("bad {LOSSES_KEY} {v:?}"))?
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
    fn loss_report_round_trips_and_merges_adjacent_buckets() {
        let mut t = LossTally::default();
        t.add(LossCause::Ring, 1, 3_250_000_000, 10); // 3.2-3.3 s
        t.add(LossCause::Ring, 1, 3_399_000_000, 5); // 3.3-3.4 s: adjacent
        t.add(LossCause::Ring, 1, 5_000_000_000, 1); // a gap: a new span
        t.add(LossCause::Writer, 0, 0, 7);
        t.add(LossCause::Writer, 0, 0, 0); // nothing lost: no span
        let spans = t.spans();
        let brief: Vec<_> = spans.iter().map(|s| (s.cause, s.cpu, s.from_ms, s.to_ms, s.events)).collect();
        assert_eq!(
            brief,
            vec![
                (LossCause::Ring, 1, 3200, 3400, 15),
                (LossCause::Ring, 1, 5000, 5100, 1),
                (LossCause::Writer, 0, 0, 100, 7),
            ]
        );
        let mut m = TraceMeta::new(source::BPF_TRACER).with_events_lost(t.total());
        m.losses = spans;
        let pairs = m.to_pairs();
        assert_eq!(pairs.last().unwrap().0, "complete");
        let back = TraceMeta::from_pairs(pairs).unwrap();
        assert_eq!(back, m);
        assert!(TraceMeta::new("x").to_pairs().iter().all(|(k, _)| k != LOSSES_KEY));
        let bad = vec![("schema_version".into(), "1".into()), (LOSSES_KEY.into(), "[{".into())];
        assert!(TraceMeta::from_pairs(bad).unwrap_err().to_string().contains(LOSSES_KEY));
        assert!(m.insert(LOSSES_KEY, "[]").is_err());
    }

    #[test]
    fn meta_pairs_need_a_key() {
        assert_eq!(parse_meta_pair("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert_eq!(parse_meta_pair("a=").unwrap(), ("a".into(), "".into()));
        assert!(parse_meta_pair("=x").unwrap_err().contains("empty key"));
        assert!(parse_meta_pair("x").unwrap_err().contains("KEY=VALUE"));
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
