//! `ImportReport`: what an import read, wrote and could not parse.

use std::collections::BTreeMap;
use std::fmt;

use super::ImportFormat;
use crate::event::EventKind;

/// How many bad lines are kept verbatim in the report.
pub const MAX_BAD_SAMPLES: usize = 10;
/// Bad-line text is cut to this many bytes in the report.
const MAX_SAMPLE_LEN: usize = 200;
/// Ignored tracepoints are counted by name up to this many names (function-tracer text
/// has one per kernel function); the rest share `other_event`.
const MAX_EVENT_NAMES: usize = 64;
/// Warning key for a trace with context switches and not one wakeup.
pub const NO_WAKEUPS: &str = "switches_without_wakeups";
/// Warning key whose count is the events a tracefs ring overwrote before it was read.
pub const RING_OVERWROTE: &str = "ring_overwrote_oldest_events";
/// Bad-line reason for an ftrace line stamped with a raw count instead of seconds.
pub const RAW_COUNTER_STAMP: &str = "raw_counter_timestamp";
/// What to do about it (the report and the CLI's error both say it).
pub const RAW_COUNTER_HINT: &str = "its timestamps are raw counts (trace_clock x86-tsc or \
    counter), not seconds, so events cannot be placed in time: record with trace_clock local \
    (the default), global, mono or boot";
/// Bad-line reason for an ftrace line that is just `event: payload` (no task, CPU or time).
pub const NO_CONTEXT: &str = "no_task_cpu_time_context";
/// What to do about it.
pub const NO_CONTEXT_HINT: &str = "its lines have no task, CPU or timestamp (tracefs option \
    context-info is off): record with `echo 1 > /sys/kernel/tracing/options/context-info`";
/// Bad-line reason for a line whose event column is missing (its payload comes first).
pub const NO_EVENT_NAME: &str = "no_event_name";
/// Bad-line reason for a sched tracepoint line missing its `[CPU]` or time column.
pub const NO_CPU_OR_TIME: &str = "no_cpu_or_time_column";
/// What to do about either (perf script's default columns for tracepoints have them all).
pub const PERF_COLUMNS_HINT: &str = "its lines lack the [CPU], time or event column: print \
    them with perf's default columns, or `perf script -F comm,tid,cpu,time,event,trace`";
/// Bad-line reasons whose cause the user can fix, each with what to do about it: the report
/// prints every one that applies, `scx_oracle import` ends with the first.
const BAD_LINE_HINTS: [(&[&str], &str); 3] = [
    (&[RAW_COUNTER_STAMP], RAW_COUNTER_HINT),
    (&[NO_EVENT_NAME, NO_CPU_OR_TIME], PERF_COLUMNS_HINT),
    (&[NO_CONTEXT], NO_CONTEXT_HINT),
];
const LATE_CPU_SUFFIX: &str = "_buffer_started_late";

/// Warning key for a CPU whose events start late (its ring overwrote them): `cpu3_…`.
pub(crate) fn late_cpu_warning(cpu: Option<u32>) -> String {
    cpu.map_or_else(
        || format!("cpu{LATE_CPU_SUFFIX}"),
        |c| format!("cpu{c}{LATE_CPU_SUFFIX}"),
    )
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct BadLine {
    /// 1-based line number in the input.
    pub line: u64,
    pub reason: String,
    /// The line (lossy UTF-8, cut to 200 bytes, trimmed).
    pub text: String,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct ImportReport {
    pub format: ImportFormat,
    pub input: String,
    pub output: Option<String>,
    pub lines_read: u64,
    pub events_written: u64,
    /// Written events by schema kind (`switch`, `wakeup`, ...).
    pub events_by_kind: BTreeMap<String, u64>,
    /// Sum of lost-event markers (`[LOST n EVENTS]`).
    pub events_lost: u64,
    /// Lines that are not events and not errors: tracepoints we do not import by event name
    /// (`sched_stat_runtime`, `sched_process_fork`), other lines by reason (`comment`, ...).
    pub ignored: BTreeMap<String, u64>,
    /// Lines that looked like data but could not be parsed, by reason.
    pub bad: BTreeMap<String, u64>,
    /// The first few bad lines.
    pub first_bad: Vec<BadLine>,
    /// The cut final line, if any (not an error; see `ignored.truncated_last_line`).
    pub truncated_last_line: Option<BadLine>,
    /// Soft issues inside parsed events (truncated comms, unresolved map ids...).
    pub warnings: BTreeMap<String, u64>,
    /// Why the whole input is refused (its events cannot be placed in time), if it is:
    /// nothing is written then.
    pub refused: Option<String>,
}

fn sample(line: u64, reason: &str, text: &[u8]) -> BadLine {
    let cut = &text[..text.len().min(MAX_SAMPLE_LEN)];
    BadLine {
        line,
        reason: reason.to_string(),
        text: String::from_utf8_lossy(cut).trim().to_string(),
    }
}

impl ImportReport {
    pub fn new(format: ImportFormat, input: &str) -> Self {
        ImportReport {
            format,
            input: input.to_string(),
            output: None,
            lines_read: 0,
            events_written: 0,
            events_by_kind: BTreeMap::new(),
            events_lost: 0,
            ignored: BTreeMap::new(),
            bad: BTreeMap::new(),
            first_bad: Vec::new(),
            truncated_last_line: None,
            warnings: BTreeMap::new(),
            refused: None,
        }
    }

    /// Total bad lines (what `--strict` refuses).
    pub fn bad_lines(&self) -> u64 {
        self.bad.values().sum()
    }

    pub fn ignored_lines(&self) -> u64 {
        self.ignored.values().sum()
    }

    pub(crate) fn ignore(&mut self, why: &str) {
        *self.ignored.entry(why.to_string()).or_default() += 1;
    }

    pub(crate) fn count_event(&mut self, kind: EventKind) {
        self.events_written += 1;
        *self
            .events_by_kind
            .entry(kind.as_str().to_string())
            .or_default() += 1;
    }

    fn written(&self, kind: EventKind) -> u64 {
        self.events_by_kind.get(kind.as_str()).copied().unwrap_or(0)
    }

    /// `n` ignored lines of the tracepoint `name`, counted under its name.
    pub(crate) fn ignore_event(&mut self, name: &[u8], n: u64) {
        let name = String::from_utf8_lossy(&name[..name.len().min(64)]).into_owned();
        let known = self.ignored.contains_key(&name);
        let key = if name.is_empty() || (!known && self.ignored.len() >= MAX_EVENT_NAMES) {
            "other_event".to_string()
        } else {
            name
        };
        *self.ignored.entry(key).or_default() += n;
    }

    /// Switches with no wakeup at all leave a model's runnable/woken features blank: the
    /// usual cause is a tracer that recorded an event we do not read, or no wakeup event.
    pub(crate) fn warn_if_no_wakeups(&mut self) {
        let wakeups = self.written(EventKind::Wakeup) + self.written(EventKind::WakeupNew);
        if self.written(EventKind::Switch) > 0 && wakeups == 0 {
            self.warnings.insert(NO_WAKEUPS.to_string(), 1);
        }
    }

    /// What to do about this input's bad lines, where their reason says (`BAD_LINE_HINTS`).
    pub fn bad_line_hints(&self) -> impl Iterator<Item = &'static str> + '_ {
        BAD_LINE_HINTS
            .iter()
            .filter(|(reasons, _)| reasons.iter().any(|r| self.bad.contains_key(*r)))
            .map(|(_, hint)| *hint)
    }

    pub(crate) fn bad(&mut self, line: u64, why: &str, text: &[u8]) {
        *self.bad.entry(why.to_string()).or_default() += 1;
        if self.first_bad.len() < MAX_BAD_SAMPLES {
            self.first_bad.push(sample(line, why, text));
        }
    }

    pub(crate) fn note_truncated(&mut self, line: u64, text: &[u8]) {
        self.truncated_last_line = Some(sample(line, "truncated_last_line", text));
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "import {} ({}):", self.input, self.format)?;
        if let Some(o) = &self.output {
            writeln!(f, "  output:         {o}")?;
        }
        writeln!(f, "  lines read:     {}", self.lines_read)?;
        writeln!(f, "  events written: {}", self.events_written)?;
        for (k, v) in &self.events_by_kind {
            writeln!(f, "    {k:<30} {v}")?;
        }
        writeln!(f, "  events lost:    {}", self.events_lost)?;
        writeln!(f, "  ignored lines:  {}", self.ignored_lines())?;
        for (k, v) in &self.ignored {
            writeln!(f, "    {k:<30} {v}")?;
        }
        writeln!(f, "  bad lines:      {}", self.bad_lines())?;
        for (k, v) in &self.bad {
            writeln!(f, "    {k:<30} {v}")?;
        }
        for (k, v) in &self.warnings {
            if k == NO_WAKEUPS {
                let hint = match self.format {
                    ImportFormat::PerfSchedMap => {
                        "perf sched map has none: import the same \
                                                   recording with `perf sched script`"
                    }
                    _ => "record sched:sched_waking or sched:sched_wakeup too",
                };
                writeln!(
                    f,
                    "  warning: {} switches and no wakeups: runnable/woken state is unknown \
                     to a model ({hint})",
                    self.written(EventKind::Switch)
                )?;
            } else if k == RING_OVERWROTE {
                writeln!(
                    f,
                    "  warning: the tracefs ring overwrote its {v} oldest events before it was \
                     read (header entries-in-buffer/entries-written): the trace misses its start. \
                     A larger buffer_size_kb, or trace_pipe / trace-cmd record read as it runs, \
                     keeps them"
                )?;
            } else if let Some(cpu) = k.strip_suffix(LATE_CPU_SUFFIX) {
                let who = match cpu.strip_prefix("cpu") {
                    Some(n) if !n.is_empty() => format!("CPU {n}"),
                    _ => "a CPU".to_string(),
                };
                writeln!(
                    f,
                    "  warning: {who} starts late (\"buffer started\"): its earlier events \
                     were overwritten, so its queue state is unknown before its first event"
                )?;
            } else if k == super::SWITCH_TIME_BACKWARD {
                if self.refused.is_some() {
                    continue; // the error below says it
                }
                writeln!(
                    f,
                    "  warning: {v} switches are earlier than the switch before them on their \
                     CPU (recordings joined end to end?): evals order events by time"
                )?;
            } else {
                writeln!(f, "  warning: {k} x{v}")?;
            }
        }
        if let Some(why) = &self.refused {
            writeln!(f, "  error: {why}")?;
        }
        for hint in self.bad_line_hints() {
            writeln!(f, "  error: {hint}")?;
        }
        for b in &self.first_bad {
            writeln!(f, "  {}:{}: {}: {}", self.input, b.line, b.reason, b.text)?;
        }
        if let Some(t) = &self.truncated_last_line {
            writeln!(
                f,
                "  {}:{}: truncated last line dropped: {}",
                self.input, t.line, t.text
            )?;
        }
        Ok(())
    }
}
