//! The clap glue end to end: import exit status rules and stats over imported files.

mod common;

use std::path::PathBuf;

use trace::cli::{ImportArgs, StatsArgs};
use trace::import::ImportFormat;
use trace::stats;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn import(
    format: ImportFormat,
    input: PathBuf,
    output: PathBuf,
    strict: bool,
) -> anyhow::Result<()> {
    ImportArgs {
        format,
        input,
        output,
        strict,
        meta: vec![("workload".into(), "demo".into())],
        json: false,
    }
    .run()
}

#[test]
fn import_ok_strict_fails_on_bad_lines_but_keeps_output() {
    let dir = common::scratch_dir("cli_import");
    import(
        ImportFormat::Ftrace,
        data("ftrace.txt"),
        dir.join("a.parquet"),
        false,
    )
    .unwrap();
    let err = import(
        ImportFormat::Ftrace,
        data("ftrace.txt"),
        dir.join("b.parquet"),
        true,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("2 bad lines") && err.contains("line 27"),
        "{err}"
    );
    assert!(dir.join("b.parquet").exists());
}

#[test]
fn import_with_zero_events_fails() {
    let dir = common::scratch_dir("cli_zero");
    // perf sched map text read as ftrace: nothing matches.
    let err = import(
        ImportFormat::Ftrace,
        data("perf_sched_map.txt"),
        dir.join("z.csv"),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no events imported") && err.contains("--format ftrace"),
        "{err}"
    );
    assert!(!dir.join("z.csv").exists() && !dir.join("z.csv.partial").exists());
    // An earlier trace at the output path is left as it was.
    std::fs::write(dir.join("keep.csv"), "earlier").unwrap();
    let err = import(
        ImportFormat::Ftrace,
        data("perf_sched_map.txt"),
        dir.join("keep.csv"),
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("keep.csv not written"), "{err}");
    assert_eq!(std::fs::read_to_string(dir.join("keep.csv")).unwrap(), "earlier");
    // The right format with raw-count timestamps: the error names the clock, not the format.
    let tsc = dir.join("tsc.txt");
    std::fs::write(&tsc, "  bash-1234  [001] d..3 4567890133456: sched_switch: prev_comm=bash prev_pid=1234 prev_prio=120 prev_state=S ==> next_comm=k next_pid=55 next_prio=120\n").unwrap();
    let err = import(ImportFormat::Ftrace, tsc, dir.join("t.csv"), false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("trace_clock x86-tsc or counter"), "{err}");
}

#[test]
fn stats_group_by_workload_metadata() {
    let dir = common::scratch_dir("cli_stats");
    import(
        ImportFormat::Ftrace,
        data("ftrace.txt"),
        dir.join("a.parquet"),
        false,
    )
    .unwrap();
    import(
        ImportFormat::PerfSchedScript,
        data("perf_sched_script.txt"),
        dir.join("b.csv"),
        false,
    )
    .unwrap();
    let files = vec![dir.join("a.parquet"), dir.join("b.csv")];
    let s = stats::compute(&files, Default::default()).unwrap();
    assert_eq!(s.len(), 1, "same workload=demo");
    assert_eq!(s[0].files.len(), 2);
    assert_eq!(s[0].events, 22); // ftrace.txt: 10 (its sched_waking is dropped: it has sched_wakeup), perf: 12
    assert_eq!(s[0].events_lost, 130);
    StatsArgs {
        traces: files.clone(),
        json: true,
        accept_partial: false,
    }
    .run()
    .unwrap();
    StatsArgs {
        traces: files,
        json: false,
        accept_partial: false,
    }
    .run()
    .unwrap();
    let err = StatsArgs {
        traces: vec![dir.join("missing.parquet")],
        json: false,
        accept_partial: false,
    }
    .run()
    .unwrap_err();
    assert!(err.to_string().contains("missing.parquet"));
}
