//! Importers: `perf sched script`, ftrace / trace-cmd text and `perf sched map` output into
//! the trace schema. Each importer is a line parser; this module drives it, counts what it
//! could not parse (by reason, with the first few bad lines) and never stops at a bad line.

mod clock;
mod compressed;
mod fields;
mod ftrace;
mod header;
mod lines;
mod payload;
mod perf_script;
mod recording;
mod report;
mod sched_map;
mod stack;
mod waking;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use anyhow::{Context, Result};

use crate::event::Event;
use crate::meta::{source, TraceMeta};
use crate::writer::TraceWriter;

pub use clock::SWITCH_TIME_BACKWARD;
pub use report::{
    BadLine, ImportReport, NO_CONTEXT, NO_CONTEXT_HINT, NO_CPU_OR_TIME, NO_EVENT_NAME, NO_WAKEUPS,
    PERF_COLUMNS_HINT, RAW_COUNTER_HINT, RAW_COUNTER_STAMP, RING_OVERWROTE,
};

/// Text formats we can import.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportFormat {
    /// `perf sched script` (or `perf script` on sched tracepoints).
    PerfSchedScript,
    /// tracefs `trace` / `trace_pipe` text or `trace-cmd report` output.
    Ftrace,
    /// `perf sched map` output (switches only, two-letter task ids).
    PerfSchedMap,
}

impl ImportFormat {
    /// Value of the `source` metadata key for files imported from this format.
    pub fn source(self) -> &'static str {
        match self {
            Self::PerfSchedScript => source::PERF_SCHED_SCRIPT,
            Self::Ftrace => source::FTRACE,
            Self::PerfSchedMap => source::PERF_SCHED_MAP,
        }
    }
}

impl std::fmt::Display for ImportFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.source())
    }
}

/// What one line turned out to be.
pub(crate) enum Outcome {
    /// Zero or more events were pushed.
    Events,
    /// Not an event and not an error (comment, header, duplicate wakeup...).
    Ignored(&'static str),
    /// A tracepoint we do not import, already counted by name in `Ctx::ignored_events`.
    IgnoredEvent,
    /// A lost-events marker with its count.
    Lost(u64),
    /// Looked like data but could not be parsed.
    Bad(&'static str),
}

impl Outcome {
    /// Blank lines and `#` comment lines, for formats with nothing special in comments.
    pub(crate) fn blank_or_comment(trimmed: &[u8]) -> Option<Outcome> {
        match trimmed.first() {
            None => Some(Outcome::Ignored("blank")),
            Some(b'#') => Some(Outcome::Ignored("comment")),
            Some(_) => None,
        }
    }
}

/// Per-import state shared with the parsers: soft warnings (counted, not errors), the
/// tracepoints we skip (by name) and the `sched_waking` / `sched_wakeup` pairing.
#[derive(Default)]
pub(crate) struct Ctx {
    pub warnings: BTreeMap<String, u64>,
    pub ignored_events: BTreeMap<Vec<u8>, u64>,
    pub wakings: waking::Wakings,
}

impl Ctx {
    pub fn warn(&mut self, what: &str) {
        self.warn_n(what, 1);
    }

    /// A warning that counts `n` (e.g. events) rather than occurrences.
    pub fn warn_n(&mut self, what: &str, n: u64) {
        *self.warnings.entry(what.to_string()).or_default() += n;
    }

    /// Counts a line of a tracepoint we do not import (no allocation once a name is known).
    pub fn ignore_event(&mut self, name: &[u8]) -> Outcome {
        match self.ignored_events.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                self.ignored_events.insert(name.to_vec(), 1);
            }
        }
        Outcome::IgnoredEvent
    }
}

pub(crate) trait LineParser {
    fn parse_line(&mut self, line: &[u8], ctx: &mut Ctx, out: &mut Vec<Event>) -> Outcome;
}

fn parser_for(format: ImportFormat) -> Box<dyn LineParser> {
    match format {
        ImportFormat::PerfSchedScript => Box::new(perf_script::PerfScript),
        ImportFormat::Ftrace => Box::new(ftrace::Ftrace),
        ImportFormat::PerfSchedMap => Box::new(sched_map::SchedMap::default()),
    }
}

/// Parses `input` and hands every event to `sink` in input order. Only I/O errors and
/// errors from `sink` stop the import; bad lines are counted in the report.
pub fn import_reader<R: BufRead>(
    format: ImportFormat,
    input: R,
    input_name: &str,
    sink: &mut dyn FnMut(&Event) -> Result<()>,
) -> Result<ImportReport> {
    let mut report = ImportReport::new(format, input_name);
    let mut parser = parser_for(format);
    let mut ctx = Ctx::default();
    let mut clock = clock::ClockCheck::default();
    let mut lines = lines::Lines::new(input);
    let mut out = Vec::with_capacity(4);
    while let Some(line) = lines
        .next_line()
        .with_context(|| format!("reading {input_name}"))?
    {
        report.lines_read += 1;
        let n = report.lines_read;
        if line.too_long {
            report.bad(n, "line_too_long", line.text);
            continue;
        }
        if !line.terminated {
            // A writer always ends lines; an unterminated last line was cut mid-write and
            // any of its fields may be cut too (next_prio=12 from 120), so it is not trusted.
            if line.text.iter().all(u8::is_ascii_whitespace) {
                report.ignore("blank");
            } else {
                report.ignore("truncated_last_line");
                report.note_truncated(n, line.text);
            }
            continue;
        }
        out.clear();
        match parser.parse_line(line.text, &mut ctx, &mut out) {
            Outcome::Events => {
                for e in &out {
                    clock.see(e, n);
                    sink(e)?;
                    report.count_event(e.kind);
                }
            }
            Outcome::Ignored(why) => report.ignore(why),
            Outcome::IgnoredEvent => {}
            Outcome::Lost(k) => {
                report.events_lost += k;
                report.ignore("lost_events_marker");
            }
            Outcome::Bad(why) => report.bad(n, why, line.text),
        }
    }
    report.warnings = ctx.warnings;
    for (name, n) in &ctx.ignored_events {
        report.ignore_event(name, *n);
    }
    report.warn_if_no_wakeups();
    if clock.backward > 0 {
        report
            .warnings
            .insert(SWITCH_TIME_BACKWARD.to_string(), clock.backward);
    }
    report.refused = clock.refusal();
    Ok(report)
}

/// Imports `input` into the trace file `output` (`.parquet`/`.csv`), adding `extra`
/// free-form metadata (e.g. `workload`). The report's counts are stored as `import_*` keys.
/// On an I/O error the rows written so far stay in `output.partial`. With no event at all, or
/// an input the report refuses (`report.refused`), nothing is written (`report.output` stays
/// `None`) and an earlier `output` stays as it was.
pub fn import_file(
    format: ImportFormat,
    input: &Path,
    output: &Path,
    extra: &[(String, String)],
) -> Result<ImportReport> {
    let text = compressed::open_text(input)?;
    let mut w = TraceWriter::create(output)?;
    let name = input.display().to_string();
    let mut report = import_reader(format, text, &name, &mut |e| w.write(e))?;
    if report.events_written == 0 || report.refused.is_some() {
        // Nothing imported (wrong --format, an empty file): no empty trace that a later
        // directory-wide eval or stats would pick up, and an earlier `output` stays as it was.
        w.discard()?;
        return Ok(report);
    }
    let mut meta = TraceMeta::new(format.source()).with_events_lost(report.events_lost);
    for (k, v) in extra {
        meta.insert(k, v.clone())?;
    }
    let file_name = input
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    meta.insert("import_input", file_name)?;
    meta.insert("import_lines", report.lines_read.to_string())?;
    meta.insert("import_bad_lines", report.bad_lines().to_string())?;
    w.finish(meta)?;
    report.output = Some(output.display().to_string());
    Ok(report)
}

/// Parses text held in memory (tests, fuzzing).
pub fn import_bytes(format: ImportFormat, input: &[u8]) -> (ImportReport, Vec<Event>) {
    let mut evs = Vec::new();
    let report = import_reader(format, input, "<memory>", &mut |e| {
        evs.push(*e);
        Ok(())
    })
    .expect("in-memory import cannot fail");
    (report, evs)
}
