//! `scx_oracle trace` command line, and the parsers clap runs on its values
//! (so a bad value is reported by clap, naming the flag).
use std::path::PathBuf;

use clap::Parser;
use trace::meta::parse_meta_pair;

use super::intf::TRACE_MAX_CPUS;

/// Longest --comm-filter prefix: a kernel comm is at most 15 bytes.
pub const COMM_PREFIX_MAX: usize = 15;

#[derive(Parser, Debug, Clone)]
pub struct TraceArgs {
    /// Trace file to write: .parquet or .csv (FILE.partial until the end).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Stop after this many seconds (default: until SIGINT/SIGTERM).
    #[arg(short, long, value_name = "SECS", value_parser = parse_duration)]
    pub duration: Option<f64>,
    /// Only events about these CPUs (event CPU or target CPU), e.g. 0,2-3.
    #[arg(long, value_name = "LIST", value_parser = parse_cpu_list)]
    pub cpus: Option<CpuList>,
    /// Only events whose prev or next comm starts with STR (filtered in BPF).
    #[arg(long, value_name = "STR", value_parser = parse_comm_prefix)]
    pub comm_filter: Option<String>,
    /// BPF ring buffer size in MiB, a power of two, split between per-CPU rings.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = parse_ring_mb)]
    pub ring_mb: u32,
    /// Extra metadata stored in the file (repeatable), e.g. workload=hackbench.
    #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = parse_meta_pair)]
    pub meta: Vec<(String, String)>,
    /// How the tracer's drain and writer threads are scheduled: fifo[:N]
    /// (SCHED_FIFO, the default: they never wait behind the load, so nothing is
    /// dropped on a busy host), nice:N, or normal.
    #[arg(long, value_name = "P", default_value_t = super::priority::DEFAULT_PRIORITY)]
    pub priority: super::priority::Priority,
    /// When records become the trace file: after (spool them undecoded while
    /// tracing, convert once stopped: the lightest on the traced load, ~75
    /// bytes of disk per event meanwhile) or live (decode and write as it goes:
    /// long traces, RAM-backed disks).
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = Convert::After)]
    pub convert: Convert,
    /// Trace nothing: make FILE.spool, left by a tracer that was killed
    /// (--convert after), into the --output file.
    #[arg(long, value_name = "SPOOL")]
    pub from_spool: Option<PathBuf>,
    /// No progress line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Testing aid: slow the writer thread (the spool's, or with --convert live
    /// the trace file's) down by this much per batch, to see its queue
    /// overflow into counted drops.
    #[arg(long, value_name = "MS", hide = true)]
    pub debug_writer_delay_ms: Option<u64>,
    /// Testing aid: drain the rings every MS milliseconds instead of every 50,
    /// to see a small ring overflow into counted drops.
    #[arg(long, value_name = "MS", hide = true)]
    pub debug_drain_ms: Option<u64>,
    /// Testing aid: batches the writer's queue holds (default 8).
    #[arg(long, value_name = "N", hide = true)]
    pub debug_writer_queue: Option<usize>,
}

/// `--convert`: see [`TraceArgs::convert`].
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Convert {
    After,
    Live,
}

impl std::fmt::Display for Convert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Convert::After => "after",
            Convert::Live => "live",
        })
    }
}

/// A parsed --cpus list: sorted, deduplicated CPU ids, plus the text as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuList {
    pub cpus: Vec<u32>,
    pub text: String,
}

fn parse_duration(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(d) if d.is_finite() && d > 0.0 => Ok(d),
        _ => Err(format!("{s:?} is not a positive number of seconds")),
    }
}

/// `0,2-3` style lists, like /sys/devices/system/cpu/online.
pub fn parse_cpu_list(s: &str) -> Result<CpuList, String> {
    let bad = |why: String| format!("bad CPU list {s:?}: {why} (expected e.g. 0,2-3)");
    let mut cpus = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let num = |t: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| bad(format!("{t:?} is not a CPU number")))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err(bad(format!("range {part:?} is backwards")));
        }
        if hi >= TRACE_MAX_CPUS {
            return Err(bad(format!("CPU {hi} is above the tracer's limit of {}", TRACE_MAX_CPUS - 1)));
        }
        cpus.extend(lo..=hi);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(CpuList { cpus, text: s.to_string() })
}

fn parse_comm_prefix(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > COMM_PREFIX_MAX {
        return Err(format!(
            "{s:?} must be 1 to {COMM_PREFIX_MAX} bytes (a kernel comm is at most 15)"
        ));
    }
    Ok(s.to_string())
}

fn parse_ring_mb(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if n.is_power_of_two() && n <= 2048 => Ok(n),
        _ => Err(format!("{s:?} must be a power of two from 1 to 2048 (MiB)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0,2-3").unwrap().cpus, vec![0, 2, 3]);
        assert_eq!(parse_cpu_list("3,1-3, 1").unwrap().cpus, vec![1, 2, 3]);
        for bad in ["", "a", "1-", "3-1", "1,,2", "-1", "99999"] {
            let e = parse_cpu_list(bad).unwrap_err();
            assert!(e.contains("bad CPU list"), "{bad}: {e}");
        }
    }

    #[test]
    fn other_values() {
        assert!(parse_ring_mb("16").is_ok());
        assert!(parse_ring_mb("24").is_err());
        assert!(parse_ring_mb("0").is_err());
        assert!(parse_comm_prefix("0123456789abcdef").is_err());
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("1.5").is_ok());
    }
}
