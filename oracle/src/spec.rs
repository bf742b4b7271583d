//! The encoding spec (model/encoding_spec.json): constants and feature names shared by the
//! Python trainer and this encoder. A model carries the spec it was trained with in its ONNX
//! metadata; we only accept models whose encoding matches what this binary implements.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// The encoding algorithm this binary implements (`version` in encoding_spec.json).
pub const ENCODING_VERSION: u32 = 10;

/// The spec compiled in, used when no model supplies one.
pub const COMPILED_SPEC_JSON: &str = include_str!("../../model/encoding_spec.json");

/// ONNX metadata keys written by model/export.py.
pub const META_ENCODING: &str = "scx_oracle.encoding";
pub const META_VERSION: &str = "scx_oracle.encoding_version";
pub const META_MODEL: &str = "scx_oracle.model";

/// Name of the step feature that expands to `candidates` one-hot columns (always last).
pub const ONEHOT: &str = "last_pick_slot_onehot";

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Spec {
    pub version: u32,
    pub candidates: usize,
    pub recent_per_cpu: usize,
    pub pick_history: usize,
    pub log_time_norm_us: f64,
    pub nr_running_cap: u32,
    pub prio_base: f64,
    pub prio_scale: f64,
    /// The EEVDF estimate's base slice (oracle/src/eevdf.rs).
    pub eevdf_slice_ns: i64,
    /// The most lag (virtual ns at nice 0) a sleeper keeps.
    pub eevdf_lag_limit_ns: i64,
    /// eevdf_lag and eevdf_deadline are clipped to this many virtual slices.
    pub eevdf_clip_slices: f64,
    /// A pick corrects the estimate where at most this many other tasks were eligible with an
    /// earlier deadline (0: never).
    pub eevdf_passed_over_max: usize,
    /// A switch's nr_running drops the delayed sleepers the kernel no longer counts (1), or
    /// not (0: set by `for_trace` where another scheduler than the fair class ran).
    pub eevdf_kernel_count: u32,
    /// A wakeup preemption keeps the preempted task's deadline while the kernel's charges say
    /// its slice is not used up (1), or every preempted task gets a new one (0: version 9).
    pub eevdf_keep_preempted_deadline: u32,
    /// The estimate is trusted on a CPU while at most `eevdf_trust_max_misses` of the last
    /// `eevdf_trust_window` (<= 32) tasks picked there were not eligible in it.
    pub eevdf_trust_window: u32,
    pub eevdf_trust_max_misses: u32,
    /// A task waiting in a CPU's run queue longer than this, with that CPU having picked idle
    /// since it came, is taken out of the queue (encoding.rs: `expire_stale`).
    pub stale_after_idle_ns: i64,
    /// ... and one waiting longer than this, whatever the CPU did.
    pub stale_after_ns: i64,
    pub kthread_comm_prefixes: Vec<String>,
    pub step_features: Vec<String>,
    pub candidate_features: Vec<String>,
}

impl Spec {
    pub fn from_json(text: &str) -> Result<Spec> {
        let spec: Spec = serde_json::from_str(text).context("parsing the encoding spec JSON")?;
        if spec.step_features.last().map(String::as_str) != Some(ONEHOT) {
            bail!("encoding spec: the last step feature must be {ONEHOT:?}");
        }
        if spec.candidates < 2 || spec.recent_per_cpu < 2 || spec.nr_running_cap == 0 {
            bail!("encoding spec: candidates, recent_per_cpu must be >= 2 and nr_running_cap > 0");
        }
        // the estimate divides by the slice and the clip
        if spec.eevdf_slice_ns <= 0
            || spec.eevdf_lag_limit_ns < 0
            || !(spec.eevdf_clip_slices > 0.0 && spec.eevdf_clip_slices.is_finite())
        {
            bail!(
                "encoding spec: eevdf_slice_ns and eevdf_clip_slices must be > 0 and \
                 eevdf_lag_limit_ns >= 0"
            );
        }
        if !(1..=32).contains(&spec.eevdf_trust_window) {
            bail!("encoding spec: eevdf_trust_window must be 1..=32");
        }
        if spec.stale_after_idle_ns <= 0 || spec.stale_after_ns <= 0 {
            bail!("encoding spec: stale_after_idle_ns and stale_after_ns must be > 0");
        }
        Ok(spec)
    }

    /// This spec for one trace: the EEVDF estimate's slice is the kernel's own base slice
    /// when the trace's metadata has it (`sched_base_slice_ns`, written by `scx_oracle
    /// trace` where debugfs is readable), else `eevdf_slice_ns`; and the kernel's run-queue
    /// count corrects the estimate unless the metadata's `scheduler` names another scheduler
    /// than the fair class. model/encoding.py's `spec_for_trace` is the same rule.
    pub fn for_trace(&self, meta: &trace::TraceMeta) -> Spec {
        let mut spec = self.clone();
        if !matches!(meta.get(trace::meta::SCHEDULER_KEY), None | Some("" | trace::meta::FAIR)) {
            spec.eevdf_kernel_count = 0;
        }
        if let Some(ns) = meta
            .get(trace::meta::BASE_SLICE_KEY)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|&ns| ns > 0)
        {
            spec.eevdf_slice_ns = ns;
        }
        spec
    }

    /// The spec this binary was built with.
    pub fn compiled() -> Spec {
        Spec::from_json(COMPILED_SPEC_JSON).expect("model/encoding_spec.json compiled in is valid")
    }

    /// Columns of the step vector: every step feature is one column except the one-hot.
    pub fn step_width(&self) -> usize {
        self.step_features.len() - 1 + self.candidates
    }

    pub fn candidate_width(&self) -> usize {
        self.candidate_features.len()
    }

    /// A model's spec (from its metadata) must be one this binary can encode for: same
    /// version and the same feature lists, in order. Constants may differ; they are read from
    /// the model's spec.
    pub fn check_model(model: &Path, version: &str, spec_json: &str) -> Result<Spec> {
        let fix = "re-export the model with the model/ tooling that matches this scx_oracle \
                   (python -m model export), or use an scx_oracle built for that encoding";
        let v: u32 = version.trim().parse().with_context(|| {
            format!(
                "{}: bad {META_VERSION} metadata {version:?}",
                model.display()
            )
        })?;
        if v != ENCODING_VERSION {
            bail!(
                "{}: model uses encoding version {v}, but this scx_oracle implements encoding version \
                 {ENCODING_VERSION}; {fix}",
                model.display()
            );
        }
        let spec = Spec::from_json(spec_json)
            .with_context(|| format!("{}: bad {META_ENCODING} metadata", model.display()))?;
        if spec.version != v {
            bail!(
                "{}: metadata says encoding version {v} but its spec says version {}; {fix}",
                model.display(),
                spec.version
            );
        }
        let ours = Spec::compiled();
        for (what, theirs, mine) in [
            ("step_features", &spec.step_features, &ours.step_features),
            (
                "candidate_features",
                &spec.candidate_features,
                &ours.candidate_features,
            ),
        ] {
            if theirs != mine {
                bail!(
                    "{}: encoding version {v} but its {what} differ from this scx_oracle's: model has \
                     {theirs:?}, this binary computes {mine:?}; {fix}",
                    model.display()
                );
            }
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_spec_matches_the_code() {
        let s = Spec::compiled();
        assert_eq!(s.version, ENCODING_VERSION);
        assert_eq!(s.step_width(), s.step_features.len() - 1 + s.candidates);
    }

    /// The same values as model/tests/test_bad_input.py's slice test: the encoders agree.
    #[test]
    fn a_traces_base_slice_replaces_the_default_when_it_is_a_positive_integer() {
        let spec = Spec::compiled();
        let slice = |v: &str| {
            let m = trace::TraceMeta::new("t").with(trace::meta::BASE_SLICE_KEY, v).unwrap();
            spec.for_trace(&m).eevdf_slice_ns
        };
        assert_eq!(slice("1400000"), 1_400_000);
        assert_eq!(slice(" +2100000\n"), 2_100_000);
        for bad in ["", "0", "-5", "1_400_000", "1.4e6", "99999999999999999999"] {
            assert_eq!(slice(bad), spec.eevdf_slice_ns, "{bad:?}");
        }
        assert_eq!(spec.for_trace(&trace::TraceMeta::new("t")), spec);
    }

    /// The same values as model/tests/test_bad_input.py's count test.
    #[test]
    fn the_kernels_count_is_read_only_under_the_fair_class() {
        let spec = Spec::compiled();
        assert_eq!(spec.eevdf_kernel_count, 1);
        let count = |v: Option<&str>| {
            let m = trace::TraceMeta::new("t");
            let m = match v {
                Some(v) => m.with(trace::meta::SCHEDULER_KEY, v).unwrap(),
                None => m,
            };
            spec.for_trace(&m).eevdf_kernel_count
        };
        for (v, want) in [
            (None, 1),
            (Some(""), 1),
            (Some("fair"), 1),
            (Some("oracle"), 0),
            (Some("scx_oracle-fifo"), 0),
            (Some("Fair"), 0),
            (Some(" fair"), 0),
        ] {
            assert_eq!(count(v), want, "{v:?}");
        }
    }

    #[test]
    fn refuses_other_versions_and_features() {
        let p = Path::new("m.onnx");
        let e = Spec::check_model(p, "999", COMPILED_SPEC_JSON)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("m.onnx") && e.contains("encoding version 999"),
            "{e}"
        );
        let mut v: serde_json::Value = serde_json::from_str(COMPILED_SPEC_JSON).unwrap();
        v["candidate_features"][1] = "something_else".into();
        let ours = ENCODING_VERSION.to_string();
        let e = Spec::check_model(p, &ours, &v.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("candidate_features differ"), "{e}");
        assert!(Spec::check_model(p, &ours, COMPILED_SPEC_JSON).is_ok());
    }
}
