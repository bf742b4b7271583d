//! Stack lines that follow an event line: `perf script` prints a recording's callchains
//! (`perf record -g`, `--call-graph`) one frame a line, indented, address first; tracefs and
//! `trace-cmd report` print the `stacktrace` / `userstacktrace` options' frames as ` => sym`.
//! They belong to the event above them and carry nothing the schema keeps, so an importer
//! ignores them (counted) instead of reporting every frame as a bad line.

use super::fields::trim;

/// `Some(reason)` when `line` (untrimmed) is a stack frame line.
pub fn frame(line: &[u8]) -> Option<&'static str> {
    let t = trim(line);
    if t.starts_with(b"=>") {
        return Some("stack_trace");
    }
    // perf: `\tffffffff81a0b1c1 __schedule+0x2f1 ([kernel.kallsyms])`, always indented.
    let addr = t.iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let indented = matches!(line.first(), Some(b' ' | b'\t'));
    let after = t.get(addr);
    (indented && (1..=16).contains(&addr) && matches!(after, None | Some(b' ' | b'\t')))
        .then_some("callchain")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(
            frame(b"\tffffffff81a0b1c1 __schedule+0x2f1 ([kernel.kallsyms])"),
            Some("callchain")
        );
        assert_eq!(
            frame(b"\t    7f1234567890 __libc_write+0x10 (/usr/lib/libc.so.6)"),
            Some("callchain")
        );
        assert_eq!(
            frame(b"\t               0 [unknown] ([unknown])"),
            Some("callchain")
        );
        assert_eq!(frame(b" => __schedule"), Some("stack_trace"));
        assert_eq!(frame(b" =>  <00007f0d6c3e1a2b>"), Some("stack_trace"));
        assert_eq!(
            frame(b" => __schedule (ffffffff8a0b1c1)"),
            Some("stack_trace")
        );
        // Not frames: unindented text, a hex-looking comm followed by more than an address.
        assert_eq!(frame(b"ffffffff81a0b1c1 __schedule"), None);
        assert_eq!(frame(b"  cafe:12 [001] x"), None);
        assert_eq!(frame(b"  sched_switch: prev_comm=x"), None);
    }
}
