//! File metadata of a BPF trace: what was traced, where, and for how long.
use anyhow::Result;
use trace::{source, TraceMeta};

use super::args::TraceArgs;
use super::record::Outcome;

/// Metadata with the user's --meta pairs only; built before tracing so a bad
/// key fails before anything is recorded.
pub fn user_meta(args: &TraceArgs) -> Result<TraceMeta> {
    let mut m = TraceMeta::new(source::BPF_TRACER);
    for (k, v) in &args.meta {
        m.insert(k, v.as_str())?;
    }
    Ok(m)
}

/// Adds what the tracer knows (the writer adds the loss report); a --meta
/// pair with the same key wins.
pub fn complete(mut m: TraceMeta, args: &TraceArgs, out: &Outcome) -> Result<TraceMeta> {
    let (kernel, host) = uname();
    let ours = [
        ("duration_s", format!("{:.3}", out.elapsed.as_secs_f64())),
        ("cpus", args.cpus.as_ref().map_or("all".into(), |c| c.text.clone())),
        ("comm_filter", args.comm_filter.clone().unwrap_or_default()),
        ("ring_mb", args.ring_mb.to_string()),
        ("priority", args.priority.to_string()),
        ("convert", args.convert.to_string()),
        ("kernel", kernel),
        ("hostname", host),
        ("tracer", "raw_tp".into()),
    ];
    for (k, v) in ours {
        if m.get(k).is_none() {
            m.insert(k, v)?;
        }
    }
    with_fair_class(m)
}

/// Adds the fair class's settings that the encoders' EEVDF estimate reads (the base slice)
/// where this kernel shows them and `m` has no value of its own. Every trace and every live
/// encoder takes them from here, so a live session encodes as `eval` of its recording does.
pub fn with_fair_class(mut m: TraceMeta) -> Result<TraceMeta> {
    if let (Some(ns), None) = (base_slice_ns(), m.get(trace::meta::BASE_SLICE_KEY)) {
        m.insert(trace::meta::BASE_SLICE_KEY, ns.to_string())?;
    }
    Ok(m)
}

/// The fair class's base slice (ns) on this kernel, from debugfs (root, debugfs mounted).
/// EEVDF's deadlines are a slice apart, so the encoders' estimate of them uses it when a
/// trace has it: it depends on the kernel (0.7 ms x (1 + log2 CPUs) on 7.x) and a sysctl.
fn base_slice_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/sys/kernel/debug/sched/base_slice_ns").ok()?;
    s.trim().parse().ok().filter(|&ns| ns > 0)
}

/// (kernel release, hostname) from uname(2).
fn uname() -> (String, String) {
    match nix::sys::utsname::uname() {
        Ok(u) => (u.release().to_string_lossy().into_owned(), u.nodename().to_string_lossy().into_owned()),
        Err(_) => (String::new(), String::new()),
    }
}
