//! clap subcommands for the `scx_oracle` binary:
//! `scx_oracle import --format F IN -o OUT [--strict]` and `scx_oracle stats TRACE... [--json]`.

use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::import::{import_file, ImportFormat};
use crate::meta::parse_meta_pair;
use crate::reader::ReadOptions;
use crate::stats;

/// Convert a text trace (perf sched script / ftrace / perf sched map) into a trace file.
#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// Input text format.
    #[arg(long, value_enum)]
    pub format: ImportFormat,
    /// Input text file (plain, or zstd-compressed: decompressed as it is read).
    pub input: PathBuf,
    /// Output trace file (.parquet or .csv).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Fail (non-zero exit) if any line could not be parsed.
    #[arg(long)]
    pub strict: bool,
    /// Extra file metadata, e.g. --meta workload=hackbench (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE", value_parser = parse_meta_pair)]
    pub meta: Vec<(String, String)>,
    /// Print the import report as JSON.
    #[arg(long)]
    pub json: bool,
}

impl ImportArgs {
    pub fn run(self) -> Result<()> {
        let report = import_file(self.format, &self.input, &self.output, &self.meta)?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{report}");
        }
        if let Some(why) = &report.refused {
            bail!(
                "{}: refused, {} not written: {why}",
                self.input.display(),
                self.output.display(),
            );
        }
        if report.events_written == 0 {
            let why = match report.bad_line_hints().next() {
                Some(hint) => hint.to_string(),
                None => format!("is --format {} right?", self.format),
            };
            bail!(
                "{}: no events imported ({} lines read, {} bad), {} not written: {why}",
                self.input.display(),
                report.lines_read,
                report.bad_lines(),
                self.output.display(),
            );
        }
        if self.strict && report.bad_lines() > 0 {
            let first = report
                .first_bad
                .first()
                .map(|b| format!("; first at line {}: {}", b.line, b.reason))
                .unwrap_or_default();
            bail!(
                "{}: {} bad lines with --strict{first} ({} was written anyway)",
                self.input.display(),
                report.bad_lines(),
                self.output.display()
            );
        }
        Ok(())
    }
}

/// Summarize trace files per workload (events by type, tasks, switch rates, repeat rates).
#[derive(clap::Args, Debug, Clone)]
pub struct StatsArgs {
    /// Trace files (.parquet or .csv); files with the same `workload` metadata are merged.
    #[arg(required = true)]
    pub traces: Vec<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also read files that lack complete=true (unfinished writers).
    #[arg(long)]
    pub accept_partial: bool,
}

impl StatsArgs {
    pub fn run(self) -> Result<()> {
        let s = stats::compute(
            &self.traces,
            ReadOptions {
                accept_partial: self.accept_partial,
            },
        )?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&s)?);
        } else {
            print!("{}", stats::render_table(&s));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser)]
    enum Cmd {
        Import(ImportArgs),
        Stats(StatsArgs),
    }

    #[test]
    fn parses_like_the_binary_will() {
        let c = Cmd::try_parse_from([
            "x",
            "import",
            "--format",
            "perf-sched-map",
            "in.txt",
            "-o",
            "out.parquet",
            "--strict",
            "--meta",
            "workload=a=b",
        ])
        .unwrap();
        let Cmd::Import(a) = c else { panic!() };
        assert_eq!(a.format, ImportFormat::PerfSchedMap);
        assert!(a.strict);
        assert_eq!(a.meta, vec![("workload".into(), "a=b".into())]);
        let Cmd::Stats(s) =
            Cmd::try_parse_from(["x", "stats", "a.parquet", "b.csv", "--json"]).unwrap()
        else {
            panic!()
        };
        assert_eq!(s.traces.len(), 2);
        assert!(Cmd::try_parse_from(["x", "stats"]).is_err());
        let e = Cmd::try_parse_from(["x", "import", "--format", "ftrace", "i", "-o", "o.csv", "--meta", "=v"]);
        assert!(e.err().unwrap().to_string().contains("empty key"));
        assert!(
            Cmd::try_parse_from(["x", "import", "--format", "bogus", "i", "-o", "o.csv"]).is_err()
        );
    }
}
