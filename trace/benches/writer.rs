//! Writer throughput in events/s (what a BPF tracer streaming into `TraceWriter` gets).
//! `cargo bench -p trace --bench writer`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use trace::{source, Event, ShortStr, Task, TraceMeta, TraceWriter};

const N: u64 = 200_000;

/// Realistic mix: mostly switches and wakeups among a few hundred tasks on 8 CPUs.
fn event(i: u64) -> Event {
    let comms: [&[u8; 16]; 4] = [
        b"bash\0\0\0\0\0\0\0\0\0\0\0\0",
        b"Web Content\0\0\0\0\0",
        b"kworker/3:1\0\0\0\0\0",
        b"swapper/3\0\0\0\0\0\0\0",
    ];
    let pid = (i * 7919 % 300) as i32;
    let prev = Task::new(pid, pid, comms[(i % 4) as usize], 120);
    let next = Task::new(pid + 1, pid + 1, comms[((i + 1) % 4) as usize], 120);
    let cpu = (i % 8) as u32;
    match i % 4 {
        0 | 1 => {
            Event::switch(i * 1000, cpu, prev, Some(ShortStr::from("S")), next).with_nr_running(2)
        }
        2 => Event::wakeup(i * 1000, cpu, next, Some(cpu)),
        _ => Event::migrate(i * 1000, cpu, next, (cpu + 1) % 8),
    }
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("oracle_trace_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut g = c.benchmark_group("writer");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    for ext in ["parquet", "csv"] {
        let path = dir.join(format!("bench.{ext}"));
        g.bench_function(ext, |b| {
            b.iter(|| {
                let mut w = TraceWriter::create(&path).unwrap();
                for i in 0..N {
                    w.write(black_box(&event(i))).unwrap();
                }
                w.finish(TraceMeta::new(source::BPF_TRACER)).unwrap()
            })
        });
    }
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
