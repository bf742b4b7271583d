//! Log-linear latency histogram: 4 buckets per power of two (<= 25% error),
//! the same bucketing the BPF side uses for enqueue->dispatch latency, so
//! the agent can read the kernel's counts and compute percentiles.
use oracle::timing::Percentiles;

use crate::bpf_intf;

pub const SUB_BITS: u32 = bpf_intf::oracle_consts_ORACLE_LAT_SUB_BITS as u32;
pub const BUCKETS: usize = bpf_intf::oracle_consts_ORACLE_LAT_BUCKETS as usize;

/// Bucket index of `v`; must match record_latency() in oracle.bpf.c.
pub fn bucket_of(v: u64) -> usize {
    if v < (1 << SUB_BITS) {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let sub = (v >> (msb - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    let idx = (((msb - SUB_BITS + 1) as u64) << SUB_BITS | sub) as usize;
    idx.min(BUCKETS - 1)
}

/// Smallest value that falls in bucket `idx`.
pub fn bucket_lower(idx: usize) -> u64 {
    if idx < (1 << SUB_BITS) {
        return idx as u64;
    }
    let msb = (idx >> SUB_BITS) as u32 + SUB_BITS - 1;
    let sub = (idx & ((1 << SUB_BITS) - 1)) as u64;
    ((1u64 << SUB_BITS) | sub) << (msb - SUB_BITS)
}

#[derive(Clone, Debug)]
pub struct Histogram {
    counts: Vec<u64>,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: vec![0; BUCKETS], max: 0 }
    }
}

impl Histogram {
    pub fn from_counts(counts: &[u64]) -> Self {
        let mut h = Histogram::default();
        for (dst, src) in h.counts.iter_mut().zip(counts) {
            *dst = *src;
        }
        h.max = h.counts.iter().rposition(|&c| c > 0).map_or(0, Self::upper);
        h
    }

    pub fn record(&mut self, v: u64) {
        self.counts[bucket_of(v)] += 1;
        self.max = self.max.max(v);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Counts recorded since `earlier` (a snapshot of the same histogram).
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let counts: Vec<u64> =
            self.counts.iter().zip(&earlier.counts).map(|(a, b)| a.saturating_sub(*b)).collect();
        Histogram::from_counts(&counts)
    }

    fn upper(idx: usize) -> u64 {
        if idx + 1 >= BUCKETS { u64::MAX } else { bucket_lower(idx + 1) - 1 }
    }

    /// Upper bound of the bucket holding the q-quantile (0 < q <= 1).
    pub fn quantile(&self, q: f64) -> u64 {
        let total = self.count();
        if total == 0 {
            return 0;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (idx, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::upper(idx).min(self.max.max(bucket_lower(idx)));
            }
        }
        self.max
    }

    /// Bucket midpoints weighted by their counts: the mean within the buckets' 25 %.
    fn mean(&self) -> f64 {
        let total = self.count();
        if total == 0 {
            return 0.0;
        }
        let sum: f64 = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(idx, &c)| c as f64 * (bucket_lower(idx) as f64 + Self::upper(idx).min(self.max) as f64) / 2.0)
            .sum();
        sum / total as f64
    }

    /// Percentiles in µs (the histogram records ns).
    pub fn percentiles(&self) -> Percentiles {
        let us = |ns: u64| ns as f64 / 1000.0;
        Percentiles {
            p50: us(self.quantile(0.50)),
            p90: us(self.quantile(0.90)),
            p99: us(self.quantile(0.99)),
            p999: us(self.quantile(0.999)),
            max: us(self.max),
            mean: self.mean() / 1000.0,
            count: self.count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_monotonic() {
        for idx in 0..BUCKETS - 1 {
            let lo = bucket_lower(idx);
            assert_eq!(bucket_of(lo), idx, "lower bound of {idx}");
            assert_eq!(bucket_of(bucket_lower(idx + 1) - 1), idx, "upper bound of {idx}");
        }
    }

    #[test]
    fn bucket_error_is_at_most_a_quarter() {
        for v in [5u64, 100, 1_000, 12_345, 999_999, 1 << 40] {
            let lo = bucket_lower(bucket_of(v));
            assert!(lo <= v && (v - lo) as f64 <= 0.25 * v as f64, "v={v} lo={lo}");
        }
    }

    #[test]
    fn quantiles_of_known_distribution() {
        let mut h = Histogram::default();
        for _ in 0..90 {
            h.record(1_000);
        }
        for _ in 0..10 {
            h.record(100_000);
        }
        let p = h.percentiles();
        assert_eq!(p.count, 100);
        assert!((1.0..=1.25).contains(&p.p50), "{p:?}");
        assert!((1.0..=1.25).contains(&p.p90), "{p:?}");
        assert!((100.0..=125.0).contains(&p.p99), "{p:?}");
        assert_eq!(p.max, 100.0);
        // True mean 10.9 µs; bucket midpoints are within a quarter of it.
        assert!((10.9 * 0.75..=10.9 * 1.25).contains(&p.mean), "{p:?}");
    }

    #[test]
    fn since_subtracts_snapshots() {
        let mut a = Histogram::default();
        a.record(10);
        let snap = a.clone();
        a.record(10_000);
        assert_eq!(a.since(&snap).count(), 1);
        assert!(a.since(&snap).quantile(0.5) >= 10_000);
    }

    #[test]
    fn empty_histogram_reports_zeros() {
        assert_eq!(Histogram::default().percentiles(), Percentiles::default());
    }
}
