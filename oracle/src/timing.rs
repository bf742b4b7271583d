//! Latency summaries in µs: the one percentile type of the workspace. `scx_oracle eval` and the
//! inference bench fill it from exact per-step wall times (nearest rank); the agent fills it
//! from its log-linear histograms (bucket upper bounds, `scx_oracle/src/latency.rs`).

use std::time::Duration;

use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    /// Samples summarised.
    pub count: u64,
}

/// Nearest-rank percentile of sorted values, `q` in (0, 1].
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Percentiles {
    /// Exact summary of wall times, in µs.
    pub fn of(samples: &[Duration]) -> Percentiles {
        let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
        us.sort_by(f64::total_cmp);
        let mean = if us.is_empty() {
            0.0
        } else {
            us.iter().sum::<f64>() / us.len() as f64
        };
        Percentiles {
            p50: percentile(&us, 0.50),
            p90: percentile(&us, 0.90),
            p99: percentile(&us, 0.99),
            p999: percentile(&us, 0.999),
            max: us.last().copied().unwrap_or(0.0),
            mean,
            count: us.len() as u64,
        }
    }
}

/// Prints a benchmark's one JSON line and keeps it in `target/bench/NAME.json` (or under
/// `$CARGO_TARGET_DIR`), where scripts and notes read it.
pub fn write_bench_line(name: &str, line: &serde_json::Value) {
    println!("{line}");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from)
        .join("bench");
    std::fs::create_dir_all(&dir).expect("target/bench");
    std::fs::write(dir.join(format!("{name}.json")), format!("{line}\n")).expect("bench JSON");
}

/// This process's resident memory in KiB (VmRSS; 0 if unreadable): the agent reports it, model
/// included, and the replay bench next to the model file's size.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmRSS:")).map(str::to_string))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }

    #[test]
    fn summary_of_durations_in_us() {
        let d: Vec<Duration> = (1..=10).map(Duration::from_micros).collect();
        let p = Percentiles::of(&d);
        assert_eq!((p.p50, p.p90, p.max, p.count), (5.0, 9.0, 10.0, 10));
        assert!((p.mean - 5.5).abs() < 1e-9);
        assert_eq!(Percentiles::of(&[]), Percentiles::default());
    }
}
