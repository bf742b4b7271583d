//! `scx_oracle trace` on the host, as a child process (tests the CLI too).
//! Needs root and BPF: these tests FAIL, not skip, without them (CI runs as root).
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use trace::{read_trace, Event, EventKind};

const BIN: &str = env!("CARGO_BIN_EXE_scx_oracle");
/// Round trips of the ping-pong workload.
const N: usize = 2000;

/// Traced tests pin their workload to one CPU; running two at once would interleave them.
static SERIAL: Mutex<()> = Mutex::new(());

fn require_root() {
    // SAFETY: no arguments.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(euid, 0, "tracer tests need root (BPF); run them as root, they do not skip");
}

fn scratch(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_file(&p);
    let _ = std::fs::remove_file(p.with_extension(format!(
        "{}.partial",
        p.extension().unwrap().to_str().unwrap()
    )));
    p
}

/// Starts the tracer and waits until its probes are attached.
fn start_tracer(out: &Path, extra: &[&str]) -> Child {
    let mut child = Command::new(BIN)
        .arg("trace")
        .arg("--output")
        .arg(out)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning scx_oracle trace");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("trace: recording") => break,
            Some(Ok(l)) => seen.push(l),
            _ => panic!("tracer exited before attaching: {}", seen.join("\n")),
        }
    }
    // Keep draining stderr so progress lines never block the tracer.
    std::thread::spawn(move || lines.for_each(drop));
    child
}

/// SIGINT, then the tracer's stdout (which must report a clean exit).
fn stop_tracer(child: Child) -> String {
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("waiting for the tracer");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "tracer failed: {:?}\n{stdout}", out.status);
    stdout
}

/// Pins the calling thread to `cpu` at SCHED_FIFO 10 and names it: with a
/// real-time class, nothing but RT kernel threads can run between the two.
fn pin_rt(cpu: usize, name: &str) {
    // SAFETY: plain syscalls on the calling thread with initialised arguments.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        assert_eq!(libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set), 0);
        let p = libc::sched_param { sched_priority: 10 };
        assert_eq!(libc::sched_setscheduler(0, libc::SCHED_FIFO, &p), 0, "SCHED_FIFO");
        let c = std::ffi::CString::new(name).unwrap();
        libc::prctl(libc::PR_SET_NAME, c.as_ptr());
    }
}

fn gettid() -> i32 {
    // SAFETY: no arguments.
    unsafe { libc::gettid() }
}

/// Two threads bounce one byte over a pair of pipes `n` times, both on `cpu`:
/// every handoff is one context switch. Returns (pinger tid, ponger tid).
fn ping_pong(cpu: usize, n: usize, names: (&str, &str)) -> (i32, i32) {
    ping_pong_renaming(cpu, n, names, None).0
}

fn monotonic_ns() -> u64 {
    let mut t = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: fills our timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// [`ping_pong`], the pinger renaming itself to `rename` halfway through;
/// also returns CLOCK_MONOTONIC once both threads are named (past the
/// barrier), just before and just after the rename.
fn ping_pong_renaming(cpu: usize, n: usize, names: (&str, &str), rename: Option<&str>) -> ((i32, i32), [u64; 3]) {
    let mut a = [0i32; 2];
    let mut b = [0i32; 2];
    // SAFETY: pipe(2) fills the arrays.
    unsafe {
        assert_eq!(libc::pipe(a.as_mut_ptr()), 0);
        assert_eq!(libc::pipe(b.as_mut_ptr()), 0);
    }
    let io = |fd: i32, write: bool| {
        let mut byte = 0u8;
        // SAFETY: one byte to/from a valid buffer.
        let r = unsafe {
            if write {
                libc::write(fd, (&raw const byte).cast(), 1)
            } else {
                libc::read(fd, (&raw mut byte).cast(), 1)
            }
        };
        assert_eq!(r, 1, "pipe io");
    };
    // Both threads are pinned and real-time before the first byte moves.
    let ready = std::sync::Arc::new(std::sync::Barrier::new(2));
    let pong_name = names.1.to_string();
    let pong_ready = ready.clone();
    let ponger = std::thread::spawn(move || {
        pin_rt(cpu, &pong_name);
        let tid = gettid();
        pong_ready.wait();
        for _ in 0..n {
            io(a[0], false);
            io(b[1], true);
        }
        tid
    });
    let ping_name = names.0.to_string();
    let rename = rename.map(|r| std::ffi::CString::new(r).unwrap());
    let pinger = std::thread::spawn(move || {
        pin_rt(cpu, &ping_name);
        let tid = gettid();
        ready.wait();
        let mut times = [monotonic_ns(), 0, 0];
        for i in 0..n {
            if let Some(r) = rename.as_ref().filter(|_| i == n / 2) {
                times[1] = monotonic_ns();
                // SAFETY: a NUL-terminated name.
                unsafe { libc::prctl(libc::PR_SET_NAME, r.as_ptr()) };
                times[2] = monotonic_ns();
            }
            io(a[1], true);
            io(b[0], false);
        }
        (tid, times)
    });
    let (ping, times) = pinger.join().unwrap();
    let ids = (ping, ponger.join().unwrap());
    // SAFETY: closing our own fds.
    unsafe {
        for fd in a.into_iter().chain(b) {
            libc::close(fd);
        }
    }
    (ids, times)
}

/// Switches between the two threads, in either direction.
fn handoffs(events: &[Event], (ping, pong): (i32, i32)) -> Vec<&Event> {
    events
        .iter()
        .filter(|e| e.kind == EventKind::Switch)
        .filter(|e| {
            (e.prev_pid, e.next_pid) == (Some(ping), Some(pong))
                || (e.prev_pid, e.next_pid) == (Some(pong), Some(ping))
        })
        .collect()
}

fn last_cpu() -> usize {
    // SAFETY: sysconf has no pointer arguments.
    (unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) } as usize).max(1) - 1
}

#[test]
fn ping_pong_switches_are_all_recorded() {
    ping_pong_recorded("after");
}

#[test]
fn ping_pong_switches_are_all_recorded_when_converted_live() {
    ping_pong_recorded("live");
}

/// `convert`: the --convert mode; both must give the same kind of file.
fn ping_pong_recorded(convert: &str) {
    require_root();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch(&format!("tracer-pingpong-{convert}.parquet"));
    let tracer = start_tracer(&out, &["--meta", "workload=pingpong", "--convert", convert]);
    let cpu = last_cpu();
    let (ids, [start, _, _]) = ping_pong_renaming(cpu, N, ("otping", "otpong"), None);
    let stdout = stop_tracer(tracer);
    assert!(stdout.contains("events lost: 0"), "{stdout}");
    let spool = PathBuf::from(format!("{}.spool", out.display()));
    assert!(!spool.exists(), "the spool {} was left behind", spool.display());

    let (meta, events) = read_trace(&out).unwrap();
    assert!(meta.complete);
    assert_eq!(meta.get("convert"), Some(convert));
    assert_eq!(meta.events_lost, 0);
    assert_eq!(meta.source, "bpf-tracer");
    assert_eq!(meta.get("workload"), Some("pingpong"));
    assert!(meta.get("kernel").is_some() && meta.get("duration_s").is_some());
    assert_eq!(meta.events as usize, events.len());

    let sw = handoffs(&events, ids);
    eprintln!("{} ping-pong switches for N = {N}, {} events in all", sw.len(), events.len());
    assert!(
        sw.len() >= 2 * N - 5 && sw.len() <= 2 * N + 50,
        "{} ping-pong switches recorded, expected ~{}",
        sw.len(),
        2 * N
    );
    let pid = std::process::id() as i32;
    for e in &sw {
        // Both threads are pinned from `start` on; before it a handoff can happen elsewhere.
        assert!(e.cpu as usize == cpu || e.ts_ns < start, "a handoff on CPU {}: {e:?}", e.cpu);
        assert_eq!((e.prev_tgid, e.next_tgid), (Some(pid), Some(pid)));
        assert!(e.prev_state.is_some() && e.nr_running.is_some());
    }
    // Comm and prio as the threads set them; the first switch or two can
    // catch a thread still inside pin_rt() (before its prctl/setscheduler).
    let named = |e: &&&Event| {
        let c = (e.prev_comm.unwrap().to_string(), e.next_comm.unwrap().to_string());
        (c == ("otping".into(), "otpong".into()) || c == ("otpong".into(), "otping".into()))
            && (e.prev_prio, e.next_prio) == (Some(89), Some(89)) // SCHED_FIFO 10
    };
    assert!(sw.iter().filter(named).count() >= sw.len() - 3, "{:?}", &sw[..3]);
    // Blocking reads: the outgoing thread sleeps (S) in most handoffs.
    assert!(sw.iter().filter(|e| e.prev_state.unwrap() == "S").count() >= N);
    // Each handoff is preceded by a wakeup of the incoming thread.
    let wakeups = events
        .iter()
        .filter(|e| e.kind == EventKind::Wakeup && [Some(ids.0), Some(ids.1)].contains(&e.next_pid))
        .count();
    assert!(wakeups >= 2 * N - 5, "{wakeups} wakeups");
    // A wakeup names the task running where the wakee goes, and that task's CPU time then:
    // here the partner (it writes the pipe), its time between its switch-outs around it.
    // In time order (the file is in ring order, a CPU's batches at a time), and only wakeups
    // made on the pinned CPU itself, which its own switches are ordered against.
    let mut in_time: Vec<&Event> = events.iter().collect();
    in_time.sort_by_key(|e| e.ts_ns);
    let mut out_runtime = std::collections::HashMap::new(); // pid -> CPU time at last switch-out
    let mut checked = 0;
    for e in in_time {
        match e.kind {
            EventKind::Switch => {
                if let (Some(p), Some(r)) = (e.prev_pid, e.prev_runtime_ns) {
                    out_runtime.insert(p, r);
                }
            }
            EventKind::Wakeup
                if [Some(ids.0), Some(ids.1)].contains(&e.next_pid)
                    && e.target_cpu == Some(cpu as u32)
                    && e.cpu as usize == cpu =>
            {
                let partner = if e.next_pid == Some(ids.0) { ids.1 } else { ids.0 };
                if e.prev_pid != Some(partner) {
                    continue; // the first wakeups, before the partner runs its loop
                }
                let r = e.prev_runtime_ns.expect("a wakeup with prev_pid has its runtime");
                assert!(out_runtime.get(&partner).is_none_or(|&before| r >= before), "runtime went back: {e:?}");
                checked += 1;
            }
            _ => {}
        }
    }
    assert!(checked >= 2 * N - 10, "{checked} wakeups named the running partner");
    // Per-CPU time order holds on the pinned CPU, for the events its own ring carries: a
    // migrate event names its origin CPU but is produced (and queued) where the move ran.
    let ts: Vec<u64> = events
        .iter()
        .filter(|e| e.cpu as usize == cpu && e.kind != EventKind::Migrate)
        .map(|e| e.ts_ns)
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "events of CPU {cpu} out of order");
}

/// The comm of `pid` in each event naming it, in time order.
fn comms_of(events: &[Event], pid: i32) -> Vec<(u64, EventKind, String)> {
    let mut v: Vec<_> = events
        .iter()
        .flat_map(|e| {
            let side = |p: Option<i32>, c: Option<trace::ShortStr>| (p == Some(pid)).then(|| c.map_or("<null>".into(), |c| c.to_string()));
            // A wakeup's prev_pid is the task running on the target CPU, sent without its comm.
            let waking = matches!(e.kind, EventKind::Wakeup | EventKind::WakeupNew);
            let prev = if waking { None } else { side(e.prev_pid, e.prev_comm) };
            [prev, side(e.next_pid, e.next_comm)].into_iter().flatten().map(|c| (e.ts_ns, e.kind, c))
        })
        .collect();
    v.sort_by_key(|x| x.0);
    v
}

/// BPF sends a task's comm once per CPU and pid, userspace fills the rest from
/// its mirror of that cache: a rename (prctl, as exec does) shows from the
/// next event on, and a pid reused by another program gets that program's comm.
#[test]
fn comms_follow_renames_exec_and_pid_reuse() {
    require_root();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch("tracer-comms.parquet");
    let tracer = start_tracer(&out, &[]);
    let cpu = last_cpu();
    let ((ping, _), [named, t0, t1]) = ping_pong_renaming(cpu, N, ("otcommA", "otcommpong"), Some("otcommB"));
    // exec: sh (after fork) -> sleep; then the same pid, reused, runs `true`.
    let first = Command::new("sh").args(["-c", "exec sleep 0.05"]).spawn().unwrap();
    let pid = first.id() as i32;
    first.wait_with_output().unwrap();
    let reused_at = monotonic_ns();
    let mut reused = false;
    for _ in 0..20 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string()).unwrap();
        let c = Command::new("true").spawn().unwrap();
        let again = c.id() as i32 == pid;
        c.wait_with_output().unwrap();
        if again {
            reused = true;
            break;
        }
    }
    assert!(reused, "could not get pid {pid} again through ns_last_pid");
    let stdout = stop_tracer(tracer);
    assert!(stdout.contains("events lost: 0"), "{stdout}");
    let (_, events) = read_trace(&out).unwrap();
    assert!(events.iter().all(|e| e.kind == EventKind::Exit || e.next_comm.is_some()), "a null next_comm");
    assert!(events.iter().all(|e| e.kind != EventKind::Switch || e.prev_comm.is_some()), "a null prev_comm");

    let ping_comms = comms_of(&events, ping);
    let before = ping_comms.iter().filter(|c| c.0 > named && c.0 < t0).count();
    assert!(before > 100, "{before} events of the pinger before its rename");
    for (ts, kind, comm) in ping_comms.iter().filter(|c| c.0 > named) {
        let want = if *ts < t0 { "otcommA" } else if *ts > t1 { "otcommB" } else { continue };
        assert_eq!(comm, want, "pinger {kind} at {ts} (renamed {t0}..{t1})");
    }
    assert!(ping_comms.iter().filter(|c| c.0 > t1 && c.2 == "otcommB").count() > 100);

    let of_pid = comms_of(&events, pid);
    let (first_life, second_life): (Vec<_>, Vec<_>) = of_pid.iter().partition(|c| c.0 < reused_at);
    let exit_comm = |life: &[&(u64, EventKind, String)]| {
        life.iter().find(|c| c.1 == EventKind::Exit).map(|c| c.2.clone())
    };
    assert_eq!(exit_comm(&first_life).as_deref(), Some("sleep"), "{first_life:?}");
    // After exec, the old names never come back.
    let slept = first_life.iter().position(|c| c.2 == "sleep").unwrap();
    assert!(first_life[slept..].iter().all(|c| c.2 == "sleep"), "{first_life:?}");
    assert!(first_life[..slept].iter().all(|c| c.2 != "sleep"), "{first_life:?}");
    assert_eq!(exit_comm(&second_life).as_deref(), Some("true"), "{second_life:?}");
    assert!(second_life.iter().all(|c| c.2 != "sleep"), "the reused pid kept the old comm: {second_life:?}");
}

#[test]
fn csv_output_with_filters() {
    require_root();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch("tracer-filtered.csv");
    let cpu = last_cpu();
    let cpus = cpu.to_string();
    let tracer = start_tracer(&out, &["--comm-filter", "otcsv", "--cpus", &cpus]);
    let ids = ping_pong(cpu, 200, ("otcsvping", "otcsvpong"));
    let stdout = stop_tracer(tracer);
    assert!(stdout.contains("events lost: 0"), "{stdout}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("ts_ns,cpu,event,"), "CSV header");
    assert!(text.contains("# complete=true") && text.contains("# comm_filter=otcsv"));

    let (meta, events) = read_trace(&out).unwrap();
    assert!(meta.complete && meta.events > 0);
    let sw = handoffs(&events, ids);
    assert!(sw.len() >= 2 * 200 - 5, "{} switches", sw.len());
    for e in &events {
        let starts = |c: Option<trace::ShortStr>| c.is_some_and(|c| c.as_bytes().starts_with(b"otcsv"));
        assert!(starts(e.prev_comm) || starts(e.next_comm), "comm filter let through {e:?}");
        assert!(e.cpu as usize == cpu || e.target_cpu == Some(cpu as u32), "cpu filter let through {e:?}");
    }
}

/// A writer slowed down on purpose (250 ms a batch, or 1 s a spool hand-over; a 2-batch queue) falls
/// behind: the tracer keeps draining the ring (no ring drops, no stall), drops
/// whole batches, and the file and `scx_oracle stats` say how many, when and
/// on which CPU.
#[test]
fn a_slow_writer_leads_to_counted_drops_in_the_file() {
    slow_writer_drops("live");
}

/// The same with the spool's writer slowed down (`--convert after`).
#[test]
fn a_slow_spool_writer_leads_to_counted_drops_in_the_file() {
    slow_writer_drops("after");
}

fn slow_writer_drops(convert: &str) {
    require_root();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch(&format!("tracer-slow-writer-{convert}.parquet"));
    // The spool's writer gets a hand-over at least every 200 ms (2 MiB at
    // most), the live one a batch per 50 ms drain: 1 s and 250 ms a write put
    // each five times behind its pace. A 50 ms write only matched the drains,
    // and on a fast host the queue absorbed the whole storm (0 lost in CI).
    let delay_ms = if convert == "after" { "1000" } else { "250" };
    // Only the ping-pong's CPU is traced: on a busy host the other CPUs' events would otherwise
    // fill the queue too, and the drops would land wherever the host's own load is.
    let cpu = last_cpu();
    let only = cpu.to_string();
    let slow = ["--debug-writer-delay-ms", delay_ms, "--debug-writer-queue", "2", "--convert", convert,
                "--cpus", &only];
    let tracer = start_tracer(&out, &slow);
    let t0 = Instant::now();
    // The queue (2 batches plus the one being written) fills within about a
    // second of steady events; a fast host finishes a fixed ping-pong sooner,
    // so the storm goes on until STORM has passed, however fast it runs.
    const STORM: Duration = Duration::from_millis(2500);
    while t0.elapsed() < STORM {
        ping_pong(cpu, 2 * N, ("otslowping", "otslowpong"));
    }
    std::thread::sleep(Duration::from_millis(300));
    let traced_ms = t0.elapsed().as_millis() as u64 + 100;
    let stdout = stop_tracer(tracer);
    let lost: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("events lost: "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no loss count in {stdout}"));
    assert!(lost > 0, "a writer this slow should have dropped batches: {stdout}");

    let (meta, events) = read_trace(&out).unwrap();
    assert!(meta.complete);
    assert_eq!(meta.events as usize, events.len());
    assert_eq!(meta.events_lost, lost);
    let ncpus = libbpf_rs::num_possible_cpus().unwrap() as u32;
    assert_eq!(meta.losses.iter().map(|s| s.events).sum::<u64>(), lost, "{:?}", meta.losses);
    for s in &meta.losses {
        assert_eq!(s.cause, trace::meta::LossCause::Writer, "the ring never overflowed: {s:?}");
        assert!(s.cpu < ncpus && s.from_ms < s.to_ms && s.from_ms <= traced_ms, "{s:?}");
    }
    // The storm was on the traced CPU, so that is where (nearly) all drops are.
    let on_cpu: u64 = meta.losses.iter().filter(|s| s.cpu as usize == cpu).map(|s| s.events).sum();
    assert!(on_cpu * 2 > lost, "{on_cpu} of {lost} dropped events on CPU {cpu}");

    let o = Command::new(BIN).arg("stats").arg(&out).output().unwrap();
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(table.contains(&format!("events lost: {lost}")), "{table}");
    assert!(table.contains(&format!("writer cpu{cpu} ")), "{table}");
    let o = Command::new(BIN).args(["stats", "--json"]).arg(&out).output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json[0]["losses"].as_array().unwrap().len(), meta.losses.len());
}

/// A ring too small for the drain interval (1 MiB split between the CPUs,
/// drained every 400 ms) overflows under the ping-pong: the BPF side counts
/// the drops per CPU, and the file says how many, when and where.
#[test]
fn a_full_ring_is_reported_with_time_and_cpu() {
    require_root();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch("tracer-small-ring.parquet");
    let tracer = start_tracer(&out, &["--ring-mb", "1", "--debug-drain-ms", "400"]);
    let t0 = Instant::now();
    let cpu = last_cpu();
    ping_pong(cpu, 20 * N, ("otringping", "otringpong"));
    let traced_ms = t0.elapsed().as_millis() as u64 + 500;
    let stdout = stop_tracer(tracer);
    let (meta, _) = read_trace(&out).unwrap();
    assert!(meta.events_lost > 0, "a 1 MiB ring drained every 400 ms should overflow: {stdout}");
    assert!(stdout.contains(&format!("events lost: {}", meta.events_lost)), "{stdout}");
    assert_eq!(meta.losses.iter().map(|s| s.events).sum::<u64>(), meta.events_lost, "{:?}", meta.losses);
    for s in &meta.losses {
        assert_eq!(s.cause, trace::meta::LossCause::Ring, "{s:?}");
        assert!(s.from_ms < s.to_ms && s.from_ms <= traced_ms, "{s:?} (traced ~{traced_ms} ms)");
    }
    // The ping-pong ran on `cpu`: that ring overflowed.
    assert!(meta.losses.iter().any(|s| s.cpu as usize == cpu), "{:?}", meta.losses);
}

#[test]
fn bad_cpus_are_rejected_clearly() {
    let out = scratch("tracer-bad.parquet");
    for (arg, want) in [("3-1", "bad CPU list"), ("x", "bad CPU list"), ("4000", "does not exist")] {
        let o = Command::new(BIN)
            .args(["trace", "--output"])
            .arg(&out)
            .args(["--cpus", arg])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "--cpus {arg} accepted");
        assert!(err.contains("--cpus") && err.contains(want), "--cpus {arg}: {err}");
    }
    assert!(!out.exists());
}

#[test]
fn stops_by_itself_after_duration() {
    require_root();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch("tracer-duration.parquet");
    let t0 = Instant::now();
    let o = Command::new(BIN)
        .args(["trace", "--quiet", "--duration", "0.5", "--output"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(t0.elapsed() < Duration::from_secs(20));
    assert!(o.stderr.is_empty(), "--quiet printed: {}", String::from_utf8_lossy(&o.stderr));
    let (meta, _) = read_trace(&out).unwrap();
    assert!(meta.complete);
}

/// A tracer SIGKILLed while spooling (`--convert after`) leaves its spool;
/// `--from-spool` makes it a trace file with what had reached the disk, and
/// says that the loss report is unknown.
#[test]
fn the_spool_of_a_killed_tracer_can_be_recovered() {
    require_root();
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let out = scratch("tracer-killed.parquet");
    let spool = PathBuf::from(format!("{}.spool", out.display()));
    let mut tracer = start_tracer(&out, &[]);
    let cpu = last_cpu();
    let ids = ping_pong(cpu, N, ("otkillping", "otkillpong"));
    // The drain hands the spool's writer what it has at least every 200 ms.
    std::thread::sleep(Duration::from_millis(700));
    tracer.kill().unwrap();
    tracer.wait().unwrap();
    assert!(spool.exists(), "no spool left at {}", spool.display());
    assert!(read_trace(&out).is_err(), "a killed tracer should leave no finished file");

    let recovered = scratch("tracer-recovered.parquet");
    let o = Command::new(BIN).args(["trace", "--from-spool"]).arg(&spool).arg("--output").arg(&recovered).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (meta, events) = read_trace(&recovered).unwrap();
    assert!(meta.complete);
    assert_eq!(meta.get("recovered_from_spool"), Some(spool.to_str().unwrap()));
    assert!(meta.get("loss_report").is_some_and(|v| v.starts_with("unknown")), "{:?}", meta.get("loss_report"));
    let sw = handoffs(&events, ids);
    assert!(sw.len() >= N, "only {} of ~{} ping-pong switches recovered", sw.len(), 2 * N);
}
