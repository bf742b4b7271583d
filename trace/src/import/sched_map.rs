//! `perf sched map` output (the KernelOracle paper's input). Each line is one context switch:
//!
//! ```text
//!   *A0                                        993552.887633 secs A0 => migration/0:12
//!    A0  *.                                    993552.887642 secs .  => swapper:0
//! ```
//!
//! After a two-space indent (absent in some perf versions) every CPU has a 4-character
//! column: a marker (`*` on the CPU that switched, else space), the 2-character id of its
//! current task (`.` = idle; `-` or `**` = a task hidden by `--task-name`) and a space. A legend `ID => comm:pid` appears when an id is (re)assigned; perf reuses ids
//! after `Z9`, so the legend is tracked as it goes. Each starred column becomes a `switch`
//! on that CPU: `next` is the star's task, `prev` the task that column held before.
//! `perf sched map --compact` gives columns only to CPUs that switched, in the order they
//! first did, and says which on that line (`... secs  (CPU 5)`): columns map to CPUs by it.

use std::collections::HashMap;

use super::fields::{comm, parse_i32, parse_ts, parse_u32, trim};
use super::{Ctx, LineParser, Outcome};
use crate::event::{Event, ShortStr, Task};

#[derive(Default)]
pub struct SchedMap {
    legend: HashMap<Vec<u8>, Task>,
    /// Task currently shown in each CPU's column.
    current: Vec<Option<Task>>,
    /// The CPU of each column, where `--compact` output named it (else the column's index).
    column_cpu: Vec<Option<u32>>,
}

/// `A0 => x:1 (CPU 5)` / `(CPU 5)` -> (the legend without it, Some(5)).
fn split_cpu_note(legend: &[u8]) -> (&[u8], Option<u32>) {
    let l = trim(legend);
    if l.ends_with(b")") {
        if let Some(p) = l.windows(5).rposition(|w| w == b"(CPU ") {
            if let Some(cpu) = parse_u32(&l[p + 5..l.len() - 1]) {
                return (trim(&l[..p]), Some(cpu));
            }
        }
    }
    (l, None)
}

/// perf's idle task.
fn idle(legend: &HashMap<Vec<u8>, Task>) -> Task {
    legend.get(&b"."[..]).copied().unwrap_or(Task {
        pid: Some(0),
        tgid: None,
        comm: Some(ShortStr::from("swapper")),
        prio: None,
    })
}

impl SchedMap {
    /// `ID => comm:pid` (its `(CPU n)` already split off: see split_cpu_note).
    fn learn(&mut self, legend: &[u8], ctx: &mut Ctx) -> bool {
        let legend = trim(legend);
        let Some(arrow) = legend.windows(4).position(|w| w == b" => ") else {
            return false;
        };
        let id = trim(&legend[..arrow]).to_vec();
        let rest = trim(&legend[arrow + 4..]);
        let Some(colon) = rest.iter().rposition(|&c| c == b':') else {
            return false;
        };
        let Some(pid) = parse_i32(&rest[colon + 1..]) else {
            return false;
        };
        if id.is_empty() || id.len() > 2 {
            return false;
        }
        let c = comm(&rest[..colon], ctx);
        self.legend.insert(
            id,
            Task {
                pid: Some(pid),
                tgid: None,
                comm: Some(c),
                prio: None,
            },
        );
        true
    }

    fn resolve(&self, id: &[u8], ctx: &mut Ctx) -> Task {
        if id == b"." {
            return idle(&self.legend);
        }
        if id == b"-" || id == b"**" {
            // `--task-name` output hides tasks that do not match: identity unknown.
            ctx.warn("filtered_task");
            return Task::default();
        }
        match self.legend.get(id) {
            Some(t) => *t,
            None => {
                ctx.warn("unresolved_task_id");
                Task::default()
            }
        }
    }
}

/// Position of the switch marker. Ids can contain `*` too (`**` for tasks hidden by
/// `--task-name`), so pick the column phase (indent 2 as perf prints it, else 0, 1, 3)
/// at which exactly one `*` sits in a marker position.
fn marker_star(cols: &[u8]) -> Option<usize> {
    let stars: Vec<usize> = cols
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == b'*')
        .map(|(i, _)| i)
        .collect();
    if let [one] = stars[..] {
        return Some(one);
    }
    for phase in [2, 0, 1, 3] {
        let markers: Vec<usize> = stars.iter().copied().filter(|p| p % 4 == phase).collect();
        // Every other `*` must be an id character right after a marker position.
        let ids_ok = stars
            .iter()
            .all(|p| p % 4 == phase || matches!((p + 4 - phase) % 4, 1 | 2));
        if let ([one], true) = (&markers[..], ids_ok) {
            return Some(*one);
        }
    }
    None
}

impl LineParser for SchedMap {
    fn parse_line(&mut self, line: &[u8], ctx: &mut Ctx, out: &mut Vec<Event>) -> Outcome {
        let t = trim(line);
        if let Some(o) = Outcome::blank_or_comment(t) {
            return o;
        }
        // `<secs.frac> secs` separates the CPU columns from the legend.
        let Some(secs) = line
            .windows(6)
            .position(|w| w == b" secs ")
            .or_else(|| line.strip_suffix(b" secs").map(|s| s.len()))
        else {
            return Outcome::Bad("unrecognized_line");
        };
        let cols_and_ts = &line[..secs];
        let ts_start = cols_and_ts
            .iter()
            .rposition(|&c| c == b' ')
            .map_or(0, |p| p + 1);
        let Some(ts) = parse_ts(&cols_and_ts[ts_start..]) else {
            return Outcome::Bad("bad_timestamp");
        };
        let cols = &cols_and_ts[..ts_start];
        let (legend, cpu_note) = split_cpu_note(line.get(secs + 6..).unwrap_or(b""));
        if !legend.is_empty() && !self.learn(legend, ctx) {
            return Outcome::Bad("bad_legend");
        }
        let Some(star) = marker_star(cols) else {
            return Outcome::Bad(if cols.contains(&b'*') {
                "ambiguous_star"
            } else {
                "no_star"
            });
        };
        // Columns are 4 wide after an indent of 0-3 spaces, so the column index is star / 4.
        let column = star / 4;
        if column > 8192 {
            return Outcome::Bad("too_many_columns");
        }
        if let Some(n) = cpu_note {
            if self.column_cpu.len() <= column {
                self.column_cpu.resize(column + 1, None);
            }
            self.column_cpu[column] = Some(n);
        }
        let cpu = self.column_cpu.get(column).copied().flatten().unwrap_or(column as u32) as usize;
        if cpu > 8192 {
            return Outcome::Bad("too_many_columns");
        }
        let id = trim(
            cols.get(star + 1..(star + 3).min(cols.len()))
                .unwrap_or(b""),
        );
        if id.is_empty() {
            return Outcome::Bad("empty_star_column");
        }
        let next = self.resolve(id, ctx);
        if self.current.len() <= cpu {
            self.current.resize(cpu + 1, None);
        }
        let prev = self.current[cpu].replace(next).unwrap_or_default();
        out.push(Event::switch(ts, cpu as u32, prev, None, next));
        Outcome::Events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line through one parser, each a switch line; the events they made.
    fn switches(lines: &[&[u8]]) -> Vec<Event> {
        let mut m = SchedMap::default();
        let mut ctx = Ctx::default();
        let mut out = Vec::new();
        for l in lines {
            assert!(
                matches!(m.parse_line(l, &mut ctx, &mut out), Outcome::Events),
                "{}",
                String::from_utf8_lossy(l)
            );
        }
        out
    }

    #[test]
    fn switches_follow_columns() {
        let out = switches(&[
            b"  *A0                993552.887633 secs A0 => migration/0:12",
            b"   A0 *.             993552.887642 secs .  => swapper:0",
            b"  *B0   .            993552.887700 secs B0 => Web Content:77",
        ]);
        assert_eq!(out.len(), 3);
        assert_eq!(
            (out[0].cpu, out[0].prev_pid, out[0].next_pid),
            (0, None, Some(12))
        );
        assert_eq!(
            (out[1].cpu, out[1].next_pid, out[1].next_comm.unwrap()),
            (1, Some(0), ShortStr::from("swapper"))
        );
        assert_eq!(
            (out[2].cpu, out[2].prev_pid, out[2].next_pid),
            (0, Some(12), Some(77))
        );
        assert_eq!(out[2].next_comm.unwrap(), "Web Content");
        assert_eq!(out[2].ts_ns, 993_552_887_700_000);
    }

    #[test]
    fn compact_columns_follow_their_cpu_notes() {
        // perf sched map --compact: CPU 3 switched first, then CPU 1, each named on the line
        // that gave it a column (with or without a new legend).
        let out = switches(&[
            b"  *A0   60699.445771 secs A0 => migration/3:18 (CPU 3)",
            b"   A0 *.    60699.446039 secs  (CPU 1)",
            b"  *B0  .    60699.446100 secs B0 => perf-exec:32281",
            b"   B0 *A0   60699.446200 secs ",
        ]);
        let got: Vec<(u32, Option<i32>, Option<i32>)> = out.iter().map(|e| (e.cpu, e.prev_pid, e.next_pid)).collect();
        assert_eq!(got, [(3, None, Some(18)), (1, None, Some(0)), (3, Some(18), Some(32281)), (1, Some(0), Some(18))]);
        assert_eq!(split_cpu_note(b" (CPU 12)"), (&b""[..], Some(12)));
        assert_eq!(split_cpu_note(b"A0 => x (CPU y):1"), (&b"A0 => x (CPU y):1"[..], None));
    }
}
