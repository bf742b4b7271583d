//! Per-workload trace summaries: the numbers to check before training a next-task model.
//!
//! Files are grouped by their `workload` metadata (else the file name). Task identity is
//! the pid when known, else the comm; pid 0 is the idle task (shared by all CPUs).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::event::{Event, EventKind, ShortStr};
use crate::meta::LossSpan;
use crate::reader::{ReadOptions, TraceReader};

/// History lengths for the "next task was one of the last k on this CPU" rates.
pub const REPEAT_KS: [usize; 4] = [1, 2, 4, 8];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum TaskKey {
    Pid(i32),
    Comm(ShortStr),
}

fn key(pid: Option<i32>, comm: Option<ShortStr>) -> Option<TaskKey> {
    pid.map(TaskKey::Pid).or(comm.map(TaskKey::Comm))
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct CpuStats {
    pub cpu: u32,
    pub switches: u64,
    pub switches_per_s: f64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct TopTask {
    /// `comm:pid` (or what is known of it).
    pub task: String,
    pub switches: u64,
    /// Fraction of all switches that switched this task in.
    pub share: f64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct RepeatRate {
    pub k: usize,
    /// Switches whose incoming task was among the last `k` tasks switched in on that CPU.
    pub hits: u64,
    /// Switches with a known incoming task and at least one earlier switch on that CPU.
    pub total: u64,
    pub rate: f64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct WorkloadStats {
    pub workload: String,
    pub files: Vec<String>,
    pub events: u64,
    pub events_by_type: BTreeMap<String, u64>,
    pub events_lost: u64,
    /// The files' loss reports: when, on which CPU and why events were lost.
    pub losses: Vec<FileLoss>,
    /// Distinct task identities seen as prev or next (union over the workload's files).
    pub distinct_tasks: u64,
    /// Sum over files of (last ts - first ts).
    pub duration_s: f64,
    pub switches: u64,
    pub cpus: Vec<CpuStats>,
    /// Most frequently switched-in task other than idle (pid 0; see `idle_share`).
    pub top_task: Option<TopTask>,
    /// Share of switches that switched to the idle task (pid 0).
    pub idle_share: f64,
    pub repeat_last_k: Vec<RepeatRate>,
}

/// One span of a file's loss report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FileLoss {
    pub file: String,
    #[serde(flatten)]
    pub span: LossSpan,
}

/// Streaming accumulator for one workload.
#[derive(Default)]
struct Acc {
    files: Vec<String>,
    events: u64,
    by_type: BTreeMap<EventKind, u64>,
    lost: u64,
    losses: Vec<FileLoss>,
    tasks: HashSet<TaskKey>,
    duration_ns: u128,
    per_cpu: BTreeMap<u32, u64>,
    next_counts: HashMap<TaskKey, (u64, Option<ShortStr>, Option<i32>)>,
    idle_switches: u64,
    hits: [u64; REPEAT_KS.len()],
    total: u64,
    // Per file:
    history: HashMap<u32, VecDeque<TaskKey>>,
    first_ts: Option<u64>,
    last_ts: Option<u64>,
}

impl Acc {
    fn start_file(&mut self, name: String, lost: u64, losses: &[LossSpan]) {
        self.losses.extend(losses.iter().map(|span| FileLoss { file: name.clone(), span: span.clone() }));
        self.files.push(name);
        self.lost += lost;
        self.history.clear();
        self.first_ts = None;
        self.last_ts = None;
    }

    fn end_file(&mut self) {
        if let (Some(a), Some(b)) = (self.first_ts, self.last_ts) {
            self.duration_ns += u128::from(b.saturating_sub(a));
        }
    }

    fn push(&mut self, e: &Event) {
        self.events += 1;
        *self.by_type.entry(e.kind).or_default() += 1;
        self.first_ts = Some(self.first_ts.map_or(e.ts_ns, |t| t.min(e.ts_ns)));
        self.last_ts = Some(self.last_ts.map_or(e.ts_ns, |t| t.max(e.ts_ns)));
        // A wakeup's prev_pid is the target CPU's running task, already counted where it ran.
        let prev = if matches!(e.kind, EventKind::Wakeup | EventKind::WakeupNew) { None } else { key(e.prev_pid, e.prev_comm) };
        for k in [prev, key(e.next_pid, e.next_comm)]
            .into_iter()
            .flatten()
        {
            self.tasks.insert(k);
        }
        if e.kind != EventKind::Switch {
            return;
        }
        *self.per_cpu.entry(e.cpu).or_default() += 1;
        let Some(next) = key(e.next_pid, e.next_comm) else {
            return;
        };
        let c = self
            .next_counts
            .entry(next)
            .or_insert((0, e.next_comm, e.next_pid));
        c.0 += 1;
        if e.next_pid == Some(0) {
            self.idle_switches += 1;
        }
        let h = self.history.entry(e.cpu).or_default();
        if !h.is_empty() {
            self.total += 1;
            for (i, k) in REPEAT_KS.iter().enumerate() {
                if h.iter().take(*k).any(|t| *t == next) {
                    self.hits[i] += 1;
                }
            }
        }
        h.push_front(next);
        h.truncate(REPEAT_KS[REPEAT_KS.len() - 1]);
    }

    fn finish(self, workload: String) -> WorkloadStats {
        let dur = self.duration_ns as f64 / 1e9;
        let switches: u64 = self.per_cpu.values().sum();
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let cpus = self
            .per_cpu
            .iter()
            .map(|(&cpu, &n)| CpuStats {
                cpu,
                switches: n,
                switches_per_s: if dur > 0.0 { n as f64 / dur } else { 0.0 },
            })
            .collect();
        let top_task = self
            .next_counts
            .iter()
            .filter(|(k, _)| **k != TaskKey::Pid(0))
            .map(|(_, v)| v)
            .max_by_key(|(n, c, p)| (*n, *p, *c))
            .map(|&(n, comm, pid)| TopTask {
                task: format!(
                    "{}:{}",
                    comm.map(|c| c.escaped()).unwrap_or_else(|| "?".into()),
                    pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
                ),
                switches: n,
                share: ratio(n, switches),
            });
        WorkloadStats {
            workload,
            files: self.files,
            events: self.events,
            events_by_type: EventKind::ALL
                .iter()
                .map(|k| {
                    (
                        k.as_str().to_string(),
                        self.by_type.get(k).copied().unwrap_or(0),
                    )
                })
                .collect(),
            events_lost: self.lost,
            losses: self.losses,
            distinct_tasks: self.tasks.len() as u64,
            duration_s: dur,
            switches,
            cpus,
            top_task,
            idle_share: ratio(self.idle_switches, switches),
            repeat_last_k: REPEAT_KS
                .iter()
                .zip(self.hits)
                .map(|(&k, hits)| RepeatRate {
                    k,
                    hits,
                    total: self.total,
                    rate: ratio(hits, self.total),
                })
                .collect(),
        }
    }
}

fn workload_name(path: &Path, meta: &crate::TraceMeta) -> String {
    meta.get("workload").map(str::to_string).unwrap_or_else(|| {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    })
}

/// Summaries of `paths`, one per workload, in order of first appearance.
pub fn compute(paths: &[PathBuf], opts: ReadOptions) -> Result<Vec<WorkloadStats>> {
    let mut order: Vec<String> = Vec::new();
    let mut accs: HashMap<String, Acc> = HashMap::new();
    for p in paths {
        let r = TraceReader::open_with(p, opts)?;
        let name = workload_name(p, r.meta());
        if !accs.contains_key(&name) {
            order.push(name.clone());
        }
        let acc = accs.entry(name).or_default();
        acc.start_file(p.display().to_string(), r.meta().events_lost, &r.meta().losses);
        for e in r.events() {
            acc.push(&e.with_context(|| format!("reading {}", p.display()))?);
        }
        acc.end_file();
    }
    Ok(order
        .into_iter()
        .map(|n| accs.remove(&n).expect("accumulated").finish(n))
        .collect())
}

/// Summary of events already in memory (one file's worth).
pub fn summarize(workload: &str, events: &[Event]) -> WorkloadStats {
    let mut acc = Acc::default();
    acc.start_file(workload.to_string(), 0, &[]);
    events.iter().for_each(|e| acc.push(e));
    acc.end_file();
    acc.finish(workload.to_string())
}

/// Human-readable table (one row per workload) plus per-CPU switch rates.
pub fn render_table(stats: &[WorkloadStats]) -> String {
    let mut rows: Vec<Vec<String>> = vec![[
        "workload",
        "files",
        "events",
        "switch",
        "wakeup",
        "wakeup_new",
        "migrate",
        "exit",
        "lost",
        "tasks",
        "dur_s",
        "sw/s/cpu",
        "top non-idle task (share)",
        "idle",
        "last1",
        "last2",
        "last4",
        "last8",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()];
    for s in stats {
        let t = |k: &str| s.events_by_type.get(k).copied().unwrap_or(0).to_string();
        let mean = if s.cpus.is_empty() {
            0.0
        } else {
            s.cpus.iter().map(|c| c.switches_per_s).sum::<f64>() / s.cpus.len() as f64
        };
        let mut row = vec![
            s.workload.clone(),
            s.files.len().to_string(),
            s.events.to_string(),
            t("switch"),
            t("wakeup"),
            t("wakeup_new"),
            t("migrate"),
            t("exit"),
            s.events_lost.to_string(),
            s.distinct_tasks.to_string(),
            format!("{:.3}", s.duration_s),
            format!("{mean:.1}"),
            s.top_task.as_ref().map_or("-".into(), |t| {
                format!("{} ({:.1}%)", t.task, 100.0 * t.share)
            }),
            format!("{:.1}%", 100.0 * s.idle_share),
        ];
        row.extend(
            s.repeat_last_k
                .iter()
                .map(|r| format!("{:.1}%", 100.0 * r.rate)),
        );
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
    }
    for s in stats {
        let per: Vec<String> = s
            .cpus
            .iter()
            .map(|c| format!("cpu{}={:.1}", c.cpu, c.switches_per_s))
            .collect();
        let _ = writeln!(
            out,
            "{}: switches/s per CPU: {}",
            s.workload,
            if per.is_empty() {
                "-".into()
            } else {
                per.join(" ")
            }
        );
    }
    for s in stats {
        out.push_str(&render_losses(s));
    }
    out.push_str("lastK = share of switches whose next task was one of the last K tasks switched in on that CPU\n");
    out
}

/// Most loss spans listed per workload in the table (all of them are in `--json`).
const LOSS_LINES: usize = 10;

/// `W: events lost: 12 (ring: cpu1 3.200-3.400 s 12)` lines, one per span, or nothing.
fn render_losses(s: &WorkloadStats) -> String {
    let mut out = String::new();
    if s.events_lost == 0 && s.losses.is_empty() {
        return out;
    }
    let _ = writeln!(out, "{}: events lost: {}", s.workload, s.events_lost);
    for l in s.losses.iter().take(LOSS_LINES) {
        let sp = &l.span;
        let _ = writeln!(
            out,
            "  {} cpu{} {:.3}-{:.3} s: {} events ({})",
            sp.cause,
            sp.cpu,
            sp.from_ms as f64 / 1e3,
            sp.to_ms as f64 / 1e3,
            sp.events,
            l.file
        );
    }
    if s.losses.len() > LOSS_LINES {
        let _ = writeln!(out, "  ... {} more spans (--json lists all)", s.losses.len() - LOSS_LINES);
    }
    let timed: u64 = s.losses.iter().map(|l| l.span.events).sum();
    if timed < s.events_lost {
        let _ = writeln!(out, "  {} events lost at unknown times", s.events_lost - timed);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Task;

    fn sw(ts: u64, cpu: u32, prev: i32, next: i32) -> Event {
        let t = |p: i32| Task {
            pid: Some(p),
            tgid: None,
            comm: Some(ShortStr::from(if p == 0 { "swapper" } else { "t" })),
            prio: None,
        };
        Event::switch(ts, cpu, t(prev), None, t(next))
    }

    #[test]
    fn repeat_rates_and_top_task() {
        // cpu0: 1,2,1,2,3 ; cpu1: 0,5,0
        let evs = vec![
            sw(0, 0, 0, 1),
            sw(1_000_000_000, 1, 9, 0),
            sw(1_100_000_000, 0, 1, 2),
            sw(1_200_000_000, 0, 2, 1),
            sw(1_300_000_000, 1, 0, 5),
            sw(1_400_000_000, 0, 1, 2),
            sw(1_500_000_000, 0, 2, 3),
            sw(2_000_000_000, 1, 5, 0),
            Event::wakeup(2_000_000_000, 1, Task::default(), Some(0)),
        ];
        let s = summarize("w", &evs);
        assert_eq!(s.switches, 8);
        assert_eq!(s.events_by_type["wakeup"], 1);
        assert_eq!(s.duration_s, 2.0);
        assert_eq!(s.cpus[0].switches_per_s, 2.5);
        // Eligible: cpu0 switches 2..5 (4) + cpu1 switches 2..3 (2) = 6.
        let r: Vec<(u64, u64)> = s.repeat_last_k.iter().map(|r| (r.hits, r.total)).collect();
        // k=1: never the same task twice in a row. k=2: cpu0 1,2,(1 hit),(2 hit),3 miss; cpu1 0,5,(0 hit) -> 3.
        assert_eq!(r, vec![(0, 6), (3, 6), (3, 6), (3, 6)]);
        assert_eq!(s.distinct_tasks, 6); // 0,1,2,3,5,9
        let top = s.top_task.unwrap();
        assert_eq!((top.switches, top.share), (2, 0.25)); // ties broken by pid: 2 (twice)
        assert_eq!(s.idle_share, 0.25);
        let table = render_table(&[summarize("w", &evs)]);
        assert!(table.contains("last8") && !table.contains("events lost"));
    }

    #[test]
    fn loss_report_in_the_table() {
        use crate::meta::{LossCause, LossTally};
        let mut t = LossTally::default();
        t.add(LossCause::Writer, 1, 2_050_000_000, 40);
        let mut acc = Acc::default();
        acc.start_file("f.parquet".into(), 50, &t.spans());
        acc.end_file();
        let s = acc.finish("w".into());
        assert_eq!((s.events_lost, s.losses.len()), (50, 1));
        let text = render_table(&[s.clone()]);
        assert!(text.contains("w: events lost: 50"), "{text}");
        assert!(text.contains("writer cpu1 2.000-2.100 s: 40 events (f.parquet)"), "{text}");
        assert!(text.contains("10 events lost at unknown times"), "{text}");
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["losses"][0]["cause"], "writer");
        assert_eq!(json["losses"][0]["from_ms"], 2000);
    }
}
