//! Writer -> reader round trips for both formats, and crash-safety of unfinished files.

mod common;

use common::{random_events, scratch_dir};
use trace::{
    source, Event, ReadOptions, Task, TraceMeta, TraceReader, TraceWriter, WriterOptions,
};

fn write(path: &std::path::Path, evs: &[Event], opts: WriterOptions) -> TraceMeta {
    let mut w = TraceWriter::with_options(path, opts).unwrap();
    w.write_all(evs).unwrap();
    let meta = TraceMeta::new(source::BPF_TRACER)
        .with_events_lost(7)
        .with("workload", "hackbench, \"quoted\"\nx")
        .unwrap();
    w.finish(meta).unwrap()
}

#[test]
fn parquet_and_csv_round_trip_random_events() {
    let dir = scratch_dir("rt");
    let evs = random_events(1, 5000);
    for name in ["t.parquet", "t.csv"] {
        let p = dir.join(name);
        // Small row groups so the reader crosses row-group boundaries.
        let stored = write(
            &p,
            &evs,
            WriterOptions {
                row_group_rows: 777,
            },
        );
        assert!(!dir.join(format!("{name}.partial")).exists());
        let r = TraceReader::open(&p).unwrap();
        assert_eq!(r.meta(), &stored, "{name}");
        assert_eq!(r.meta().events, 5000);
        assert_eq!(r.meta().events_lost, 7);
        assert!(r.meta().complete);
        assert_eq!(r.meta().get("workload"), Some("hackbench, \"quoted\"\nx"));
        let back = r.read_all().unwrap();
        assert_eq!(back.len(), evs.len());
        for (i, (a, b)) in evs.iter().zip(&back).enumerate() {
            assert_eq!(a, b, "{name} row {i}");
        }
    }
}

#[test]
fn parquet_to_csv_to_parquet_is_identical() {
    let dir = scratch_dir("chain");
    let evs = random_events(2, 2000);
    write(&dir.join("a.parquet"), &evs, WriterOptions::default());
    let (m, a) = trace::read_trace(dir.join("a.parquet")).unwrap();
    let mut w = TraceWriter::create(dir.join("b.csv")).unwrap();
    w.write_all(&a).unwrap();
    w.finish(m.clone()).unwrap();
    let (m2, b) = trace::read_trace(dir.join("b.csv")).unwrap();
    let mut w = TraceWriter::create(dir.join("c.parquet")).unwrap();
    w.write_all(&b).unwrap();
    w.finish(m2.clone()).unwrap();
    let (m3, c) = trace::read_trace(dir.join("c.parquet")).unwrap();
    assert_eq!(evs, c);
    assert_eq!(m, m3);
}

#[test]
fn empty_trace_round_trips() {
    let dir = scratch_dir("empty");
    for name in ["e.parquet", "e.csv"] {
        write(&dir.join(name), &[], WriterOptions::default());
        let (m, evs) = trace::read_trace(dir.join(name)).unwrap();
        assert!(evs.is_empty());
        assert_eq!(m.events, 0);
        assert!(m.complete);
    }
}

#[test]
fn unfinished_writer_leaves_only_partial_and_readers_refuse_it() {
    let dir = scratch_dir("crash");
    for name in ["x.parquet", "x.csv"] {
        let p = dir.join(name);
        let mut w = TraceWriter::create(&p).unwrap();
        let t = Task::new(1, 1, b"a", 120);
        for i in 0..10 {
            w.write(&Event::switch(i, 0, t, None, t)).unwrap();
        }
        drop(w); // simulated crash: finish never called
        assert!(!p.exists(), "{name}: final file must not appear");
        let partial = dir.join(format!("{name}.partial"));
        assert!(partial.exists());
        let err = TraceReader::open(&p).err().unwrap().to_string();
        assert!(err.contains(".partial"), "{err}");
        let err = format!("{:#}", TraceReader::open(&partial).err().unwrap());
        assert!(err.contains(&format!("{name}.partial")), "{err}");
    }
    // A cut CSV can still be salvaged on request.
    let r = TraceReader::open_with(
        dir.join("x.csv.partial"),
        ReadOptions {
            accept_partial: true,
        },
    )
    .unwrap();
    assert!(!r.meta().complete);
    assert_eq!(r.read_all().unwrap().len(), 10);
}

#[test]
fn csv_without_complete_flag_is_refused() {
    let dir = scratch_dir("nocomplete");
    let p = dir.join("t.csv");
    write(&p, &random_events(3, 10), WriterOptions::default());
    let text = std::fs::read_to_string(&p)
        .unwrap()
        .replace("# complete=true\n", "");
    std::fs::write(&p, text).unwrap();
    let err = TraceReader::open(&p).err().unwrap().to_string();
    assert!(
        err.contains("complete=true") && err.contains("t.csv"),
        "{err}"
    );
    assert!(TraceReader::open_with(
        &p,
        ReadOptions {
            accept_partial: true
        }
    )
    .is_ok());
}

#[test]
fn csv_bad_row_names_file_and_line() {
    let dir = scratch_dir("badrow");
    let p = dir.join("t.csv");
    write(&p, &random_events(4, 3), WriterOptions::default());
    let mut lines: Vec<String> = std::fs::read_to_string(&p)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines[2] = "12,0,sleep,,,,,,,,,,,,".into();
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let err = format!(
        "{:#}",
        TraceReader::open(&p).unwrap().read_all().unwrap_err()
    );
    assert!(err.contains("t.csv:3") && err.contains("sleep"), "{err}");
}

#[test]
fn wrong_extension_is_a_clear_error() {
    let err = TraceWriter::create("/tmp/trace.json")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains(".parquet or .csv"), "{err}");
}

/// A file from before `prev_runtime_ns` (14 columns) still reads, the column null: CSV here;
/// the Parquet case is every trace in data/host/ (model/tests, scx_oracle eval).
#[test]
fn csv_without_the_runtime_column_reads_it_as_null() {
    let dir = scratch_dir("old-csv");
    let p = dir.join("old.csv");
    let evs = random_events(3, 50);
    write(&p, &evs, WriterOptions::default());
    // drop the last column from the header and every row
    let text = std::fs::read_to_string(&p).unwrap();
    let old: String = text
        .lines()
        .map(|l| if l.starts_with('#') { l.to_string() } else { l[..l.rfind(',').unwrap()].to_string() })
        .map(|l| l + "\n")
        .collect();
    assert!(old.starts_with("ts_ns,") && old.lines().next().unwrap().ends_with(",target_cpu"));
    std::fs::write(&p, old).unwrap();
    let back = TraceReader::open(&p).unwrap().read_all().unwrap();
    assert_eq!(back.len(), evs.len());
    for (a, b) in evs.iter().zip(&back) {
        assert_eq!(b.prev_runtime_ns, None);
        assert_eq!(Event { prev_runtime_ns: None, ..*a }, *b);
    }
}

/// The Parquet case: data/host/ was recorded before the column existed.
#[test]
fn parquet_without_the_runtime_column_reads_it_as_null() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/host/traces/python_tests.parquet");
    let evs = TraceReader::open(&p).unwrap().read_all().unwrap();
    assert!(evs.len() > 1000);
    assert!(evs.iter().all(|e| e.prev_runtime_ns.is_none()));
    assert!(evs.iter().any(|e| e.prev_pid.is_some() && e.nr_running.is_some()));
}
