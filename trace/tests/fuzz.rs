//! Seeded fuzzing of the importers (runs in `cargo test`, no nightly): arbitrary bytes and
//! mutated real lines must never panic, and the report must account for every line.

mod common;

use common::Rng;
use trace::import::{import_bytes, ImportFormat};

const FORMATS: [ImportFormat; 3] = [
    ImportFormat::PerfSchedScript,
    ImportFormat::Ftrace,
    ImportFormat::PerfSchedMap,
];

fn sample_lines() -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for f in [
        "perf_sched_script.txt",
        "ftrace.txt",
        "perf_sched_map.txt",
        "perf_sched_map_taskname.txt",
    ] {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(f);
        lines.extend(
            std::fs::read(p)
                .unwrap()
                .split(|&b| b == b'\n')
                .map(<[u8]>::to_vec),
        );
    }
    lines
}

fn check(format: ImportFormat, input: &[u8]) {
    let (r, evs) = import_bytes(format, input);
    assert_eq!(r.events_written, evs.len() as u64);
    // Each line is exactly one of: produced events, ignored, bad (a line may yield 1 event).
    let lines_with_events = r.lines_read - r.ignored_lines() - r.bad_lines();
    assert!(lines_with_events <= r.lines_read);
    assert_eq!(r.events_written, lines_with_events, "{format:?}: {input:?}");
    assert!(r.first_bad.len() <= 10);
}

fn mutate(r: &mut Rng, line: &[u8], pool: &[Vec<u8>]) -> Vec<u8> {
    let mut l = line.to_vec();
    for _ in 0..=r.below(4) {
        let pos = r.below(l.len() as u64 + 1) as usize;
        match r.below(7) {
            0 if !l.is_empty() => {
                let i = r.below(l.len() as u64) as usize;
                l[i] = r.next_u64() as u8;
            }
            1 => l.truncate(pos),
            2 => {
                let junk = [
                    &b"["[..],
                    b"]",
                    b" ==> ",
                    b"=",
                    b":",
                    b" ",
                    b"secs",
                    b"*",
                    b"-",
                    b"(",
                    b")",
                    b"\xff",
                    b"[ns]",
                    b"99999999999999999999",
                ];
                let j = junk[r.below(junk.len() as u64) as usize];
                l.splice(pos..pos, j.iter().copied());
            }
            3 if !l.is_empty() => {
                let end = (pos + r.below(8) as usize).min(l.len());
                l.drain(pos..end);
            }
            4 => {
                // Splice in a piece of another real line.
                let o = &pool[r.below(pool.len() as u64) as usize];
                let a = r.below(o.len() as u64 + 1) as usize;
                l.splice(pos..pos, o[a..].iter().copied());
            }
            5 => {
                let n = r.below(5) as usize;
                l.splice(pos..pos, std::iter::repeat_n(b' ', n));
            }
            _ => {
                let b = r.bytes(6);
                l.splice(pos..pos, b);
            }
        }
    }
    l
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut r = Rng::new(0xF00D);
    for _ in 0..5000 {
        let input = r.bytes(300);
        for f in FORMATS {
            check(f, &input);
        }
    }
}

#[test]
fn mutated_real_lines_never_panic() {
    let pool = sample_lines();
    let mut r = Rng::new(0xBEEF);
    for _ in 0..10_000 {
        let mut input = Vec::new();
        for _ in 0..=r.below(6) {
            let base = &pool[r.below(pool.len() as u64) as usize];
            input.extend(mutate(&mut r, base, &pool));
            input.push(b'\n');
        }
        if r.chance(30) {
            input.pop(); // unterminated last line
        }
        for f in FORMATS {
            check(f, &input);
        }
    }
}

#[test]
fn unmutated_sample_lines_parse_in_any_order() {
    // Lines are independent except perf-sched-map's legend state: shuffling must not panic
    // and the per-line accounting must still hold.
    let pool = sample_lines();
    let mut r = Rng::new(7);
    for _ in 0..200 {
        let mut input = Vec::new();
        for _ in 0..20 {
            input.extend(&pool[r.below(pool.len() as u64) as usize]);
            input.push(b'\n');
        }
        for f in FORMATS {
            check(f, &input);
        }
    }
}
