//! A binary recording handed to import in place of its text: `perf.data`, a trace-cmd `.dat`,
//! or a trace file import already wrote. Parsed as text, each gave thousands of "unrecognized"
//! lines of noise and "is --format right?"; named, the error says the command that prints the
//! text import reads.

use std::path::Path;

use anyhow::{bail, Result};

/// Magic bytes at the start of each recording (any of them), what it is, and what to do with
/// it (`{0}` is the file).
const KNOWN: [(&[&[u8]], &str, &str); 3] = [
    (
        &[b"PERFILE2", b"2ELIFREP"], // the second: written by a big-endian machine
        "a perf.data recording (binary)",
        "print it as text first (`perf sched script -i {0} > {0}.txt`) and import that with \
         --format perf-sched-script",
    ),
    (
        &[b"\x17\x08\x44tracing"],
        "a trace-cmd recording (binary)",
        "print it as text first (`trace-cmd report -i {0} > {0}.txt`) and import that with \
         --format ftrace",
    ),
    (
        &[b"PAR1"],
        "a Parquet file (what import writes)",
        "a trace file is used as it is (`scx_oracle stats {0}`, `scx_oracle eval --model M \
         --trace {0}`)",
    ),
];

/// How far into the file a NUL byte marks it as binary: text traces have none.
const SNIFF: usize = 64 * 1024;

/// Refuses `head` (the first bytes of `path`, after decompression) when it is not text.
pub(crate) fn refuse_binary(path: &Path, head: &[u8]) -> Result<()> {
    let name = path.display().to_string();
    for (magics, what, todo) in KNOWN {
        if magics.iter().any(|m| head.starts_with(m)) {
            bail!("{name} is {what}, not text: {}", todo.replace("{0}", &name));
        }
    }
    if let Some(at) = head.iter().take(SNIFF).position(|&b| b == 0) {
        bail!(
            "{name} is binary, not text (a NUL byte at offset {at}): import reads the text that \
             `perf sched script`, tracefs or `trace-cmd report` print (UTF-8 or ASCII)"
        );
    }
    Ok(())
}
