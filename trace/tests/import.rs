//! Importers on the sample inputs in tests/data: exact event, skip and bad-line counts
//! and field values for the nasty cases.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use trace::import::{import_bytes, import_file, ImportFormat, ImportReport};
use trace::{Event, EventKind, ShortStr};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn run(format: ImportFormat, name: &str) -> (ImportReport, Vec<Event>) {
    import_bytes(format, &std::fs::read(data(name)).unwrap())
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn s(x: &[u8]) -> Option<ShortStr> {
    Some(ShortStr::from_bytes(x))
}

#[test]
fn perf_sched_script_sample() {
    let (r, ev) = run(ImportFormat::PerfSchedScript, "perf_sched_script.txt");
    assert_eq!(r.lines_read, 22);
    assert_eq!(r.events_written, 12);
    assert_eq!(ev.len(), 12);
    assert_eq!(r.events_lost, 0);
    assert_eq!(
        r.ignored,
        counts(&[
            ("blank", 1),
            ("comment", 4),
            ("sched_stat_runtime", 1),
            ("truncated_last_line", 1)
        ])
    );
    assert_eq!(
        r.bad,
        counts(&[
            ("malformed_sched_switch", 1),
            ("malformed_sched_wakeup", 1),
            ("unrecognized_line", 1)
        ])
    );
    assert_eq!(
        r.first_bad.iter().map(|b| b.line).collect::<Vec<_>>(),
        vec![18, 19, 20]
    );
    assert_eq!(r.truncated_last_line.as_ref().unwrap().line, 22);

    let kinds: Vec<EventKind> = ev.iter().map(|e| e.kind).collect();
    use EventKind::*;
    assert_eq!(
        kinds,
        vec![
            Wakeup, Switch, Switch, Wakeup, Switch, WakeupNew, Migrate, Exit, Switch, Switch,
            Wakeup, Exit
        ]
    );

    let w = ev[0];
    assert_eq!(
        (w.ts_ns, w.cpu, w.next_pid, w.next_prio, w.target_cpu),
        (93_706_593_513_000, 3, Some(16973), Some(120), Some(1))
    );
    assert_eq!(w.next_comm, s(b"perf"));
    assert_eq!((w.prev_pid, w.prev_comm), (None, None));

    let sw = ev[2];
    assert_eq!(
        (sw.prev_pid, sw.prev_state, sw.next_pid),
        (Some(16973), s(b"S"), Some(2201))
    );
    assert_eq!(sw.next_comm, s(b"Web Content"));
    assert_eq!(
        (sw.prev_tgid, sw.next_tgid, sw.nr_running),
        (None, None, None)
    );
    assert_eq!(ev[4].prev_state, s(b"R+"));

    let m = ev[6];
    assert_eq!((m.cpu, m.target_cpu, m.next_pid), (2, Some(3), Some(1300)));

    let c = ev[8]; // compact switch
    assert_eq!(
        (c.prev_comm, c.prev_pid, c.prev_prio, c.prev_state),
        (s(b"kworker/1:1"), Some(40), Some(120), s(b"I"))
    );
    assert_eq!((c.next_comm, c.next_pid), (s(b"swapper/1"), Some(0)));

    let odd = ev[9]; // `comm pid/tid` header gives prev_tgid; comm with , " and non-UTF-8
    assert_eq!(odd.prev_tgid, Some(16972));
    assert_eq!(odd.next_comm, s(b"a,\"q\" \xff\xfe"));
    assert_eq!(odd.next_prio, Some(139));

    let cw = ev[10]; // compact wakeup
    assert_eq!(
        (cw.next_comm, cw.next_pid, cw.target_cpu),
        (s(b"perf"), Some(16973), Some(1))
    );
    assert_eq!(
        (ev[11].kind, ev[11].prev_pid, ev[11].prev_comm),
        (Exit, Some(7), s(b"a,\"q\" \xff\xfe"))
    );
}

#[test]
fn ftrace_sample() {
    let (r, ev) = run(ImportFormat::Ftrace, "ftrace.txt");
    assert_eq!(r.lines_read, 29);
    assert_eq!(r.events_written, 10);
    assert_eq!(r.events_lost, 130);
    assert_eq!(
        r.ignored,
        counts(&[
            ("comment", 12),
            ("cpu_buffer_started", 1),
            ("lost_events_marker", 2),
            // this trace has sched_wakeup too, so its sched_waking is not a second wakeup
            ("sched_waking_with_sched_wakeup", 1),
            ("truncated_last_line", 1)
        ])
    );
    assert_eq!(
        r.bad,
        counts(&[
            ("malformed_sched_migrate_task", 1),
            ("malformed_sched_switch", 1)
        ])
    );
    assert_eq!(
        r.first_bad.iter().map(|b| b.line).collect::<Vec<_>>(),
        vec![27, 28]
    );
    // Its "##### CPU 3 buffer started ####": CPU 3's events begin late.
    assert_eq!(r.warnings, counts(&[("cpu3_buffer_started_late", 1)]));

    assert_eq!(
        (ev[0].ts_ns, ev[0].cpu, ev[0].prev_comm, ev[0].next_pid),
        (12_345_678_901_000, 1, s(b"swapper/1"), Some(40))
    );
    assert_eq!(
        (ev[1].kind, ev[1].next_comm, ev[1].target_cpu),
        (EventKind::Wakeup, s(b"Web Content"), Some(2))
    );
    assert_eq!(
        (ev[3].prev_comm, ev[3].prev_pid, ev[3].prev_state),
        (s(b"kworker/u8:2"), Some(77), s(b"I"))
    );
    assert_eq!(
        (ev[4].kind, ev[4].cpu, ev[4].target_cpu),
        (EventKind::Migrate, 3, Some(1))
    );
    assert_eq!(ev[5].kind, EventKind::WakeupNew); // no irq-flags column
    assert_eq!(
        (ev[6].prev_pid, ev[6].prev_tgid, ev[6].prev_state),
        (Some(2002), Some(2001), s(b"Z"))
    );
    assert_eq!((ev[7].kind, ev[7].prev_tgid), (EventKind::Exit, Some(2001)));
    assert_eq!(
        (ev[8].prev_comm, ev[8].next_comm),
        (s(b"kworker/1:1"), s(b"swapper/1"))
    );
    assert_eq!(
        (ev[9].next_comm, ev[9].next_pid, ev[9].target_cpu),
        (s(b"ksoftirqd/0"), Some(15), Some(0))
    );
}

#[test]
fn perf_sched_map_sample() {
    let (r, ev) = run(ImportFormat::PerfSchedMap, "perf_sched_map.txt");
    assert_eq!(r.lines_read, 15);
    assert_eq!(r.events_written, 12);
    assert_eq!(
        r.bad,
        counts(&[
            ("bad_timestamp", 1),
            ("no_star", 1),
            ("unrecognized_line", 1)
        ])
    );
    assert_eq!(
        r.warnings,
        counts(&[("switches_without_wakeups", 1), ("unresolved_task_id", 1)])
    );
    assert!(ev
        .iter()
        .all(|e| e.kind == EventKind::Switch && e.prev_state.is_none()));
    let cpus: Vec<u32> = ev.iter().map(|e| e.cpu).collect();
    assert_eq!(cpus, vec![0, 0, 1, 1, 2, 2, 3, 3, 0, 0, 1, 0]);
    assert_eq!(
        (ev[0].prev_pid, ev[0].next_pid, ev[0].next_comm),
        (None, Some(12), s(b"migration/0"))
    );
    assert_eq!(
        (ev[1].prev_pid, ev[1].next_pid, ev[1].next_comm),
        (Some(12), Some(0), s(b"swapper"))
    );
    assert_eq!(ev[1].ts_ns, 993_552_887_642_000);
    assert_eq!(
        (ev[4].next_comm, ev[4].next_pid),
        (s(b"Web Content"), Some(2201))
    );
    assert_eq!(ev[6].next_comm, s(b"kworker/3:1-mm_percpu_wq"));
    assert_eq!(
        (ev[8].prev_pid, ev[8].next_comm, ev[8].next_pid),
        (Some(0), s(b"a,\"b\""), Some(99))
    );
    assert_eq!((ev[9].prev_pid, ev[9].next_pid), (Some(99), Some(12)));
    assert_eq!(
        (ev[10].prev_pid, ev[10].next_pid, ev[10].next_comm),
        (Some(0), None, None)
    ); // Q7: no legend
    assert_eq!((ev[11].prev_pid, ev[11].next_pid), (Some(12), Some(0)));
}

#[test]
fn import_file_writes_metadata_and_round_trips() {
    let dir = common::scratch_dir("import_file");
    for out in ["p.parquet", "p.csv"] {
        let o = dir.join(out);
        let extra = vec![("workload".to_string(), "hackbench".to_string())];
        let r = import_file(ImportFormat::Ftrace, &data("ftrace.txt"), &o, &extra).unwrap();
        let (m, ev) = trace::read_trace(&o).unwrap();
        assert_eq!(ev.len() as u64, r.events_written);
        assert_eq!(
            (m.source.as_str(), m.events, m.events_lost, m.complete),
            ("ftrace", 10, 130, true)
        );
        assert_eq!(m.get("workload"), Some("hackbench"));
        assert_eq!(m.get("import_bad_lines"), Some("2"));
        assert_eq!(m.get("import_input"), Some("ftrace.txt"));
        let (_, direct) = run(ImportFormat::Ftrace, "ftrace.txt");
        assert_eq!(ev, direct);
    }
}

#[test]
fn missing_input_names_the_file() {
    let dir = common::scratch_dir("missing");
    let err = import_file(
        ImportFormat::Ftrace,
        &dir.join("nope.txt"),
        &dir.join("o.parquet"),
        &[],
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("nope.txt"));
}

#[test]
fn perf_sched_map_task_name_variant() {
    // perf >= 6.11 `--task-name`: no indent, `-`/`**` for hidden tasks, ids containing `*`.
    let (r, ev) = run(ImportFormat::PerfSchedMap, "perf_sched_map_taskname.txt");
    assert_eq!(r.lines_read, 9);
    assert_eq!(r.events_written, 7);
    assert_eq!(r.ignored, counts(&[("comment", 1)]));
    assert_eq!(r.bad, counts(&[("ambiguous_star", 1)]));
    assert_eq!(
        r.warnings,
        counts(&[("filtered_task", 1), ("switches_without_wakeups", 1)])
    );
    let cpus: Vec<u32> = ev.iter().map(|e| e.cpu).collect();
    assert_eq!(cpus, vec![1, 2, 1, 0, 4, 3, 0]);
    assert_eq!(
        (ev[0].next_comm, ev[0].next_pid),
        (s(b"wdavdaemon"), Some(62509))
    );
    assert_eq!(
        (ev[2].prev_pid, ev[2].next_pid, ev[2].next_comm),
        (Some(62509), None, None)
    );
    assert_eq!(
        (ev[4].next_comm, ev[4].next_pid),
        (s(b":17023"), Some(17023))
    );
    assert_eq!(
        (ev[5].cpu, ev[5].next_comm, ev[5].next_pid),
        (3, s(b"schbench"), Some(104834))
    );
    assert_eq!(
        (ev[6].prev_pid, ev[6].next_pid),
        (Some(62283), Some(104835))
    );
}

fn kinds(ev: &[Event]) -> Vec<EventKind> {
    ev.iter().map(|e| e.kind).collect()
}

#[test]
fn perf_sched_script_from_current_perf_keeps_every_waking() {
    // `perf sched record` on current kernels records sched_waking, not sched_wakeup, plus
    // sched_stat_runtime and sched_process_fork; switches come in both printings.
    let (r, ev) = run(
        ImportFormat::PerfSchedScript,
        "perf_sched_script_waking.txt",
    );
    assert_eq!(r.lines_read, 31);
    assert_eq!(r.events_written, 13);
    assert_eq!(
        r.ignored,
        counts(&[
            ("comment", 14),
            ("sched_process_fork", 1),
            ("sched_stat_runtime", 2)
        ])
    );
    assert_eq!(r.bad, counts(&[("malformed_sched_waking", 1)]));
    assert_eq!(r.first_bad[0].line, 29);
    assert_eq!(
        r.events_by_kind,
        counts(&[
            ("exit", 1),
            ("migrate", 1),
            ("switch", 6),
            ("wakeup", 4),
            ("wakeup_new", 1)
        ])
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    use EventKind::*;
    assert_eq!(
        kinds(&ev),
        vec![
            Wakeup, Switch, WakeupNew, Migrate, Wakeup, Switch, Switch, Wakeup, Switch, Switch,
            Wakeup, Exit, Switch
        ]
    );
    let w = ev[0];
    assert_eq!(
        (w.ts_ns, w.cpu, w.next_pid, w.next_comm, w.target_cpu),
        (1_058_462_105_410_000, 2, Some(284151), s(b"perf"), Some(1))
    );
    assert_eq!(
        (ev[4].next_comm, ev[4].next_pid, ev[4].target_cpu),
        (s(b"kworker/u16:3"), Some(1187), Some(0))
    );
    assert_eq!(
        (ev[5].prev_comm, ev[5].prev_state, ev[5].next_pid),
        (s(b"Isolated Web Co"), s(b"R+"), Some(1187))
    );
    assert_eq!(
        (ev[7].next_comm, ev[7].next_pid),
        (s(b"[pool-2] worker"), Some(284201))
    );
    assert_eq!(
        (ev[9].next_comm, ev[9].next_pid),
        (s(b"[pool-2] worker"), Some(284201))
    );
    assert_eq!(
        (ev[10].next_pid, ev[10].next_prio),
        (Some(284230), Some(-51))
    );
    assert_eq!((ev[12].prev_state, ev[12].next_pid), (s(b"X"), Some(0)));
    let text = r.to_string();
    assert!(text.contains("sched_stat_runtime"), "{text}");
    assert!(!text.contains("other_event"), "{text}");
}

#[test]
fn waking_and_wakeup_of_one_wakeup_count_once() {
    // `perf record -e sched:sched_waking -e sched:sched_wakeup ...`: every wakeup twice.
    let (r, ev) = run(
        ImportFormat::PerfSchedScript,
        "perf_script_waking_and_wakeup.txt",
    );
    assert_eq!(r.events_written, 7);
    assert_eq!(
        r.ignored,
        counts(&[
            ("comment", 1),
            ("sched_waking_with_sched_wakeup", 2),
            ("sched_wakeup_after_sched_waking", 1)
        ])
    );
    use EventKind::*;
    assert_eq!(
        kinds(&ev),
        vec![Wakeup, Switch, Wakeup, Wakeup, Wakeup, WakeupNew, Switch]
    );
    // Before the first sched_wakeup line the waking was written (and its wakeup dropped)...
    assert_eq!(
        (ev[0].ts_ns, ev[0].cpu, ev[0].next_pid),
        (220_000_100_000, 0, Some(5100))
    );
    // ...after it, the wakeups win: their time and CPU, not the wakings'.
    let woken: Vec<(u64, u32, Option<i32>)> = ev[2..5]
        .iter()
        .map(|e| (e.ts_ns, e.cpu, e.next_pid))
        .collect();
    assert_eq!(
        woken,
        vec![
            (220_000_211_000, 0, Some(5101)),
            (220_000_212_000, 1, Some(5100)),
            (220_000_300_000, 0, Some(900))
        ]
    );
}

#[test]
fn switches_without_wakeups_warn() {
    let text = b"   perf 10 [000] 1.000001: sched:sched_switch: a:10 [120] S ==> b:11 [120]\n\
                 b 11 [000] 1.000002: sched:sched_stat_runtime: comm=b pid=11 runtime=5 [ns]\n";
    let (r, ev) = import_bytes(ImportFormat::PerfSchedScript, text);
    assert_eq!(ev.len(), 1);
    assert_eq!(r.warnings, counts(&[(trace::import::NO_WAKEUPS, 1)]));
    let shown = r.to_string();
    assert!(shown.contains("1 switches and no wakeups"), "{shown}");
    let (r, _) = run(ImportFormat::PerfSchedScript, "perf_sched_script.txt");
    assert!(r.warnings.is_empty());
}

/// A tracefs `trace` file read after the ring filled: the header says how many events it
/// overwrote (written - held), the CPU whose events begin late is named; the rest imports.
#[test]
fn ftrace_ring_that_overwrote_its_start_reports_the_loss() {
    let text = b"# tracer: nop\n\
#\n\
# entries-in-buffer/entries-written: 3/85540   #P:2\n\
#\n\
          <idle>-0       [000] d..2. 14577.233917: sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=rcu_preempt next_pid=15 next_prio=120\n\
##### CPU 1 buffer started ####\n\
              ls-1114    [001] d..2. 14577.450981: sched_switch: prev_comm=ls prev_pid=1114 prev_prio=120 prev_state=D ==> next_comm=swapper/1 next_pid=0 next_prio=120\n\
          <idle>-0       [001] dNs5. 14577.451097: sched_wakeup: comm=ls pid=1114 prio=120 target_cpu=001\n";
    let (r, ev) = import_bytes(ImportFormat::Ftrace, text);
    assert_eq!(ev.len(), 3);
    assert_eq!(r.events_lost, 85_537);
    assert_eq!(
        r.warnings,
        counts(&[
            ("cpu1_buffer_started_late", 1),
            (trace::import::RING_OVERWROTE, 85_537)
        ])
    );
    let shown = r.to_string();
    assert!(
        shown.contains("overwrote its 85537 oldest events"),
        "{shown}"
    );
    assert!(shown.contains("CPU 1 starts late"), "{shown}");
}

/// `perf record -g` then `perf script`: each event is followed by its callchain, one indented
/// frame a line, and a blank line. The frames are counted as ignored, not as bad lines.
#[test]
fn perf_script_with_callchains_imports_every_event() {
    let text = b"            bash  1234 [001]  1000.000100: sched:sched_waking: comm=kworker/1:1 pid=55 prio=120 target_cpu=001\n\
\tffffffff81a0b1c1 try_to_wake_up+0x2f1 ([kernel.kallsyms])\n\
\t    7f1234567890 __libc_write+0x10 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n\
\t               0 [unknown] ([unknown])\n\
\n\
            bash  1234 [001]  1000.000200: sched:sched_switch: bash:1234 [120] S ==> kworker/1:1:55 [120]\n\
\tffffffff81a0b1c1 __schedule+0x2f1 ([kernel.kallsyms])\n\
\n";
    let (r, ev) = import_bytes(ImportFormat::PerfSchedScript, text);
    assert_eq!(kinds(&ev), [EventKind::Wakeup, EventKind::Switch]);
    assert_eq!(r.bad_lines(), 0, "{r}");
    assert_eq!(r.ignored.get("callchain"), Some(&4));
}

/// tracefs `options/stacktrace` and `options/userstacktrace` (trace-cmd report prints the
/// same ` => frame` lines): the frames are ignored, the stack events counted by name.
#[test]
fn ftrace_stack_traces_are_not_bad_lines() {
    let text = b"            bash-1234    [001] d..2.  1000.000200: sched_switch: prev_comm=bash prev_pid=1234 prev_prio=120 prev_state=S ==> next_comm=kworker/1:1 next_pid=55 next_prio=120\n\
            bash-1234    [001] d..2.  1000.000201: <stack trace>\n\
 => __schedule\n\
 => schedule\n\
            bash-1234    [001] d..2.  1000.000202: <user stack trace>\n\
 =>  <00007f0d6c3e1a2b>\n\
     kworker/1:1-55      [001] d..2.  1000.000300: sched_switch: prev_comm=kworker/1:1 prev_pid=55 prev_prio=120 prev_state=R+ ==> next_comm=swapper/1 next_pid=0 next_prio=120\n";
    let (r, ev) = import_bytes(ImportFormat::Ftrace, text);
    assert_eq!(kinds(&ev), [EventKind::Switch, EventKind::Switch]);
    assert_eq!(r.bad_lines(), 0, "{r}");
    assert_eq!(r.ignored.get("stack_trace"), Some(&3));
    assert_eq!(r.ignored.get("<stack trace>"), Some(&1));
    assert_eq!(r.ignored.get("<user stack trace>"), Some(&1));
}

/// tracefs with `trace_clock` x86-tsc or counter prints raw counts: no time can be read from
/// them, and the report says so and what to record with instead.
#[test]
fn raw_counter_timestamps_are_named() {
    let text = b"            bash-1234  [001] d..3 4567890133456: sched_switch: prev_comm=bash prev_pid=1234 prev_prio=120 prev_state=S ==> next_comm=kworker/1:1 next_pid=55 next_prio=120\n";
    let (r, ev) = import_bytes(ImportFormat::Ftrace, text);
    assert!(ev.is_empty());
    assert_eq!(r.bad, counts(&[(trace::import::RAW_COUNTER_STAMP, 1)]));
    let shown = r.to_string();
    assert!(shown.contains("trace_clock x86-tsc or counter"), "{shown}");
}

#[test]
fn deltatime_output_is_refused_and_writes_nothing() {
    // One host recording printed twice by `perf script`: absolute times, and --deltatime
    // (time since the previous event), which imported as-is would be a trace in scrambled order.
    let (abs, _) = run(ImportFormat::PerfSchedScript, "perf_script_absolute.txt");
    assert_eq!((abs.events_written, abs.refused.as_deref()), (40, None));
    assert!(!abs
        .warnings
        .contains_key(trace::import::SWITCH_TIME_BACKWARD));
    let (delta, _) = run(ImportFormat::PerfSchedScript, "perf_script_deltatime.txt");
    assert_eq!(
        delta.warnings.get(trace::import::SWITCH_TIME_BACKWARD),
        Some(&7)
    );
    let why = delta.refused.expect("deltas refused");
    assert!(
        why.contains("7 of 21 switches") && why.contains("line 11"),
        "{why}"
    );

    let dir = common::scratch_dir("deltatime");
    let out = dir.join("t.parquet");
    import_file(
        ImportFormat::PerfSchedScript,
        &data("perf_script_absolute.txt"),
        &out,
        &[],
    )
    .unwrap();
    let before = std::fs::read(&out).unwrap();
    let r = import_file(
        ImportFormat::PerfSchedScript,
        &data("perf_script_deltatime.txt"),
        &out,
        &[],
    )
    .unwrap();
    assert_eq!(r.output, None);
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the earlier trace is kept as it was"
    );
}

#[test]
fn a_seam_between_joined_recordings_is_kept_with_a_warning() {
    let text = std::fs::read(data("perf_script_absolute.txt")).unwrap();
    let joined = [&text[..], &text[..]].concat();
    let (r, ev) = import_bytes(ImportFormat::PerfSchedScript, &joined);
    assert_eq!((r.events_written, r.refused.as_deref()), (80, None));
    let cpus: std::collections::BTreeSet<u32> = ev
        .iter()
        .filter(|e| e.kind == EventKind::Switch)
        .map(|e| e.cpu)
        .collect();
    assert_eq!(
        r.warnings.get(trace::import::SWITCH_TIME_BACKWARD),
        Some(&(cpus.len() as u64)),
        "one step back per CPU, at the seam"
    );
}

#[test]
fn ftrace_without_context_info_is_named() {
    // tracefs with `options/context-info` off, as this host printed it.
    let text = b"# tracer: nop\n#\nsched_process_fork: comm=tv.sh pid=21868 child_comm=tv.sh child_pid=21947\nsched_wakeup_new: comm=tv.sh pid=21947 prio=120 target_cpu=000\nsched_switch: prev_comm=tv.sh prev_pid=21868 prev_prio=120 prev_state=S ==> next_comm=tv.sh next_pid=21947 next_prio=120\n";
    let shown = all_bad(ImportFormat::Ftrace, text, trace::import::NO_CONTEXT, 3);
    assert!(shown.contains("context-info"));
}

/// The report of an import where every event line is bad for `why`: nothing imported.
fn all_bad(format: ImportFormat, text: &[u8], why: &str, n: u64) -> String {
    let (r, ev) = import_bytes(format, text);
    assert!(ev.is_empty());
    assert_eq!(r.bad, counts(&[(why, n)]));
    r.to_string()
}

#[test]
fn perf_script_ip_and_sym_columns_give_the_same_events() {
    // The same 40 lines of one host recording, `perf script` and `-F ...,trace,ip,sym,dso`.
    let (plain, a) = run(ImportFormat::PerfSchedScript, "perf_script_absolute.txt");
    let (with_ip, b) = run(ImportFormat::PerfSchedScript, "perf_script_ip_sym.txt");
    assert_eq!((with_ip.bad_lines(), with_ip.events_written), (0, plain.events_written));
    assert_eq!(a, b);
}

#[test]
fn perf_script_missing_columns_are_named() {
    let no_cpu = b"     migration/0    18  9161.266821:       sched:sched_switch: prev_comm=migration/0 prev_pid=18 prev_prio=0 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120\n";
    let no_event = b"     migration/0    18 [000]  9161.266821: prev_comm=migration/0 prev_pid=18 prev_prio=0 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120\n";
    for (text, why) in [
        (&no_cpu[..], trace::import::NO_CPU_OR_TIME),
        (&no_event[..], trace::import::NO_EVENT_NAME),
    ] {
        let shown = all_bad(ImportFormat::PerfSchedScript, text, why, 1);
        assert!(shown.contains("perf script -F comm,tid,cpu,time,event,trace"));
    }
}

#[test]
fn zstd_text_imports_as_it_streams_and_other_compressors_are_named() {
    let dir = common::scratch_dir("compressed");
    let plain = std::fs::read(data("perf_script_absolute.txt")).unwrap();
    let zst = dir.join("t.txt.zst");
    std::fs::write(&zst, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();
    let (want, _) = run(ImportFormat::PerfSchedScript, "perf_script_absolute.txt");
    let r = import_file(ImportFormat::PerfSchedScript, &zst, &dir.join("z.parquet"), &[]).unwrap();
    assert_eq!((r.events_written, r.bad_lines()), (want.events_written, 0));
    let (_, ev) = trace::read_trace(&dir.join("z.parquet")).unwrap();
    assert_eq!(ev, run(ImportFormat::PerfSchedScript, "perf_script_absolute.txt").1);

    let gz = dir.join("t.txt.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]).unwrap();
    let out = dir.join("g.parquet");
    let err = import_file(ImportFormat::PerfSchedScript, &gz, &out, &[]).unwrap_err();
    assert!(format!("{err:#}").contains("t.txt.gz is gzip-compressed"), "{err:#}");
    assert!(!out.exists() && !dir.join("g.parquet.partial").exists());
}

#[test]
fn binary_recordings_are_named_with_the_command_that_prints_their_text() {
    let dir = common::scratch_dir("binary");
    let perf_data = [&b"PERFILE2"[..], &[0x68, 0, 0, 0, 0, 0, 0, 0], &[0xff; 64]].concat();
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("perf.data", perf_data.clone(), "perf sched script -i "),
        ("perf.data.zst", zstd::encode_all(&perf_data[..], 3).unwrap(), "perf.data.zst` undoes it): "),
        ("trace.dat", [&b"\x17\x08\x44tracing6\0"[..], &[0x10; 32]].concat(), "trace-cmd report -i "),
        ("t.parquet", b"PAR1\x15\x04\x15\x80".to_vec(), "scx_oracle stats "),
        ("t.bin", b"sched_switch\0\x01\x02".to_vec(), "a NUL byte at offset 12"),
    ];
    for (name, bytes, says) in cases {
        let input = dir.join(name);
        std::fs::write(&input, bytes).unwrap();
        let out = dir.join("o.parquet");
        std::fs::write(&out, b"kept").unwrap();
        let err = import_file(ImportFormat::PerfSchedScript, &input, &out, &[]).unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains(&format!("{} is ", input.display())) && err.contains(says), "{err}");
        assert_eq!(std::fs::read(&out).unwrap(), b"kept", "{name}: an earlier output was touched");
        assert!(!dir.join("o.parquet.partial").exists());
    }
}
