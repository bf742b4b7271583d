//! Payloads of the sched tracepoints we import, in both printings:
//! the kernel's `key=value` TP_printk form and libtraceevent's compact plugin form
//! (`bash:1234 [120] S ==> swapper/1:0 [120]`, `foo:1 [120] success=1 CPU:001`),
//! which `perf sched script` and `trace-cmd report` use by default.

use super::fields::{comm, find_from, kv, parse_i32, parse_int, parse_u32, trim};
use super::header::Header;
use super::report::NO_EVENT_NAME;
use super::{Ctx, Outcome};
use crate::event::{Event, ShortStr, Task};

pub enum Parsed {
    Switch {
        prev: Task,
        state: Option<ShortStr>,
        next: Task,
    },
    Wakeup {
        new: bool,
        task: Task,
        target: Option<u32>,
    },
    Migrate {
        task: Task,
        orig: u32,
        dest: u32,
    },
    Exit {
        task: Task,
    },
}

/// `Ok(None)`: a tracepoint we do not import. `Err(reason)`: one we do, but malformed.
pub fn parse(event: &[u8], p: &[u8], ctx: &mut Ctx) -> Result<Option<Parsed>, &'static str> {
    let r = match event {
        b"sched_switch" => switch(p, ctx).ok_or("malformed_sched_switch"),
        b"sched_wakeup" => wakeup(p, ctx, false).ok_or("malformed_sched_wakeup"),
        // Same payload as sched_wakeup; `push` keeps one of a waking/wakeup pair (waking.rs).
        b"sched_waking" => wakeup(p, ctx, false).ok_or("malformed_sched_waking"),
        b"sched_wakeup_new" => wakeup(p, ctx, true).ok_or("malformed_sched_wakeup_new"),
        b"sched_migrate_task" => migrate(p, ctx).ok_or("malformed_sched_migrate_task"),
        b"sched_process_exit" => exit(p, ctx).ok_or("malformed_sched_process_exit"),
        _ => return Ok(None),
    };
    r.map(Some)
}

fn task(c: &[u8], pid: &[u8], prio: Option<&[u8]>, ctx: &mut Ctx) -> Option<Task> {
    Some(Task {
        pid: Some(parse_i32(pid)?),
        tgid: None,
        comm: Some(comm(c, ctx)),
        prio: match prio {
            Some(p) => Some(parse_i32(p)?),
            None => None,
        },
    })
}

fn state(s: &[u8]) -> Option<ShortStr> {
    let s = trim(s);
    let s = trim(s.strip_suffix(b"==>").unwrap_or(s));
    if !s.is_empty() && s.iter().all(u8::is_ascii_digit) {
        return numeric_state(u64::try_from(parse_int(s)?).ok()?);
    }
    if s.is_empty() || s.len() > ShortStr::CAP {
        return None;
    }
    Some(ShortStr::from_bytes(s))
}

/// prev_state as the kernel's number (`trace-cmd report -R`, tracefs `options/raw`: 0, 1, 256)
/// -> the letters sched_switch's own format prints: the TASK_REPORT bits S D T t X Z P I joined
/// by `|`, `R` when none is set, `+` when TASK_REPORT_MAX (0x100, preempted) is.
fn numeric_state(n: u64) -> Option<ShortStr> {
    const BITS: [u8; 8] = *b"SDTtXZPI";
    let mut out = Vec::new();
    for (i, &c) in BITS.iter().enumerate() {
        if n & (1 << i) != 0 {
            if !out.is_empty() {
                out.push(b'|');
            }
            out.push(c);
        }
    }
    if out.is_empty() {
        out.push(b'R');
    }
    if n & 0x100 != 0 {
        out.push(b'+');
    }
    (n < 0x200 && out.len() <= ShortStr::CAP).then(|| ShortStr::from_bytes(&out))
}

fn switch(p: &[u8], ctx: &mut Ctx) -> Option<Parsed> {
    if find_from(p, b"prev_comm=", 0).is_some() {
        let [pc, pp, ppr, ps, nc, np, npr] = kv(
            p,
            [
                ("prev_comm", false),
                ("prev_pid", false),
                ("prev_prio", false),
                ("prev_state", false),
                ("next_comm", false),
                ("next_pid", false),
                ("next_prio", false),
            ],
        )?;
        let prev = task(pc?, pp?, ppr, ctx)?;
        let next = task(nc?, np?, npr, ctx)?;
        return Some(Parsed::Switch {
            prev,
            state: state(ps?),
            next,
        });
    }
    // Compact form; try each ` ==> ` in case a comm contains one.
    let mut from = 0;
    while let Some(arrow) = find_from(p, b" ==> ", from) {
        from = arrow + 1;
        let (left, right) = (&p[..arrow], &p[arrow + 5..]);
        let Some((prev, st)) = compact_task(left, ctx, true) else {
            continue;
        };
        let Some((next, rest)) = compact_task(right, ctx, false) else {
            continue;
        };
        if !trim(rest).is_empty() {
            continue;
        }
        return Some(Parsed::Switch {
            prev,
            state: state(st),
            next,
        });
    }
    None
}

/// `comm:pid [prio]` followed by the rest of the text. With `with_state`, the rest is the
/// prev_state; either way the caller decides what the rest may be.
fn compact_task<'a>(s: &'a [u8], ctx: &mut Ctx, with_state: bool) -> Option<(Task, &'a [u8])> {
    // The prio bracket is the last ` [` (comm may contain brackets).
    let open = s.windows(2).rposition(|w| w == b" [")?;
    let close = open + 2 + s[open + 2..].iter().position(|&c| c == b']')?;
    let prio = parse_i32(&s[open + 2..close])?;
    let rest = &s[close + 1..];
    if with_state && !rest.is_empty() && rest[0] != b' ' {
        return None;
    }
    let who = &s[..open];
    let colon = who.iter().rposition(|&c| c == b':')?;
    let mut t = task(&who[..colon], &who[colon + 1..], None, ctx)?;
    t.prio = Some(prio);
    Some((t, rest))
}

fn wakeup(p: &[u8], ctx: &mut Ctx, new: bool) -> Option<Parsed> {
    if p.starts_with(b"comm=") {
        let [c, pid, prio, _succ, target] = kv(
            p,
            [
                ("comm", false),
                ("pid", false),
                ("prio", true),
                ("success", true),
                ("target_cpu", true),
            ],
        )?;
        let t = task(c?, pid?, prio, ctx)?;
        let target = match target {
            Some(x) => Some(parse_u32(x)?),
            None => None,
        };
        return Some(Parsed::Wakeup {
            new,
            task: t,
            target,
        });
    }
    // Compact: `comm:pid [prio]( success=N)?( CPU:NNN)?`
    let mut s = trim(p);
    let mut target = None;
    if let Some(pos) = s.windows(5).rposition(|w| w == b" CPU:") {
        target = Some(parse_u32(&s[pos + 5..])?);
        s = &s[..pos];
    }
    if let Some(pos) = s.windows(9).rposition(|w| w == b" success=") {
        parse_i32(&s[pos + 9..])?;
        s = &s[..pos];
    }
    let (t, rest) = compact_task(s, ctx, false)?;
    if !trim(rest).is_empty() {
        return None;
    }
    Some(Parsed::Wakeup {
        new,
        task: t,
        target,
    })
}

fn migrate(p: &[u8], ctx: &mut Ctx) -> Option<Parsed> {
    let [c, pid, prio, orig, dest] = kv(
        p,
        [
            ("comm", false),
            ("pid", false),
            ("prio", true),
            ("orig_cpu", false),
            ("dest_cpu", false),
        ],
    )?;
    let t = task(c?, pid?, prio, ctx)?;
    Some(Parsed::Migrate {
        task: t,
        orig: parse_u32(orig?)?,
        dest: parse_u32(dest?)?,
    })
}

fn exit(p: &[u8], ctx: &mut Ctx) -> Option<Parsed> {
    // Kernels >= 6.10 append `group_dead=`.
    let [c, pid, prio, _gd] = kv(
        p,
        [
            ("comm", false),
            ("pid", false),
            ("prio", true),
            ("group_dead", true),
        ],
    )?;
    Some(Parsed::Exit {
        task: task(c?, pid?, prio, ctx)?,
    })
}

/// Builds the schema row. `cur` is the (tid, tgid) of the task the line's header names
/// (the task running on that CPU): it supplies `prev_tgid` for switches and exits.
pub fn to_event(
    ts: u64,
    cpu: u32,
    parsed: Parsed,
    cur: (Option<i32>, Option<i32>),
) -> crate::Event {
    use crate::Event;
    let with_tgid = |mut t: Task| {
        if t.tgid.is_none() && cur.1.is_some() && t.pid.is_some() && t.pid == cur.0 {
            t.tgid = cur.1;
        }
        t
    };
    match parsed {
        Parsed::Switch { prev, state, next } => {
            Event::switch(ts, cpu, with_tgid(prev), state, next)
        }
        Parsed::Wakeup {
            new: false,
            task,
            target,
        } => Event::wakeup(ts, cpu, task, target),
        Parsed::Wakeup {
            new: true,
            task,
            target,
        } => Event::wakeup_new(ts, cpu, task, target),
        // `cpu` is the origin (SCHEMA.md); the CPU that executed the migration is dropped.
        Parsed::Migrate { task, orig, dest } => Event::migrate(ts, orig, task, dest),
        Parsed::Exit { task } => Event::exit(ts, cpu, with_tgid(task)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sw(p: &[u8]) -> (Task, Option<ShortStr>, Task) {
        match parse(b"sched_switch", p, &mut Ctx::default())
            .unwrap()
            .unwrap()
        {
            Parsed::Switch { prev, state, next } => (prev, state, next),
            _ => unreachable!(),
        }
    }

    #[test]
    fn switch_forms() {
        let (p, s, n) = sw(b"prev_comm=Web Content prev_pid=1234 prev_prio=120 prev_state=R+ ==> next_comm=kworker/1:1 next_pid=40 next_prio=100");
        assert_eq!(
            (p.comm.unwrap(), p.pid, p.prio),
            (ShortStr::from("Web Content"), Some(1234), Some(120))
        );
        assert_eq!(s.unwrap(), "R+");
        // trace-cmd report -R / options/raw: the state as the kernel's number, no `==>`.
        for (raw, want) in [("0", "R"), ("256", "R+"), ("1", "S"), ("2", "D"), ("130", "D|I"), ("16", "X")] {
            let line = format!("prev_comm=bash prev_pid=5681 prev_prio=120 prev_state={raw} next_comm=x next_pid=21 next_prio=0");
            let (p, s, n) = sw(line.as_bytes());
            assert_eq!((p.pid, s.unwrap(), n.pid), (Some(5681), ShortStr::from(want), Some(21)), "{raw}");
        }
        assert_eq!(
            (n.comm.unwrap(), n.pid, n.prio),
            (ShortStr::from("kworker/1:1"), Some(40), Some(100))
        );
        let (p, s, n) = sw(b"kworker/1:1:40 [120] S ==> swapper/1:0 [120]");
        assert_eq!(
            (p.comm.unwrap(), p.pid, s.unwrap()),
            (ShortStr::from("kworker/1:1"), Some(40), ShortStr::from("S"))
        );
        assert_eq!(
            (n.comm.unwrap(), n.pid),
            (ShortStr::from("swapper/1"), Some(0))
        );
        let (_, s, _) = sw(b"a:1 [120] D|K ==> b:2 [-1]");
        assert_eq!(s.unwrap(), "D|K");
    }

    #[test]
    fn wakeup_forms() {
        for p in [
            &b"comm=foo bar pid=1 prio=120 target_cpu=001"[..],
            b"comm=foo bar pid=1 prio=120 success=1 target_cpu=001",
            b"foo bar:1 [120] success=1 CPU:001",
            b"foo bar:1 [120] CPU:001",
        ] {
            match parse(b"sched_wakeup", p, &mut Ctx::default())
                .unwrap()
                .unwrap()
            {
                Parsed::Wakeup { task, target, new } => {
                    assert!(!new);
                    assert_eq!(
                        (task.comm.unwrap(), task.pid, task.prio, target),
                        (ShortStr::from("foo bar"), Some(1), Some(120), Some(1))
                    );
                }
                _ => unreachable!(),
            }
        }
    }

    #[test]
    fn malformed_and_other() {
        let mut c = Ctx::default();
        assert!(parse(
            b"sched_stat_runtime",
            b"comm=x pid=1 runtime=5 [ns]",
            &mut c
        )
        .unwrap()
        .is_none());
        assert_eq!(
            parse(b"sched_switch", b"prev_comm=x prev_pid=zz", &mut c).err(),
            Some("malformed_sched_switch")
        );
        assert!(parse(
            b"sched_migrate_task",
            b"comm=x pid=1 prio=1 orig_cpu=1",
            &mut c
        )
        .is_err());
    }
}

/// The shared tail of the line importers: parse `h`'s payload and append its event.
/// `ids` are the (pid, tgid) of the running task named by the line prefix.
pub(crate) fn push(
    h: &Header,
    ids: (Option<i32>, Option<i32>),
    ctx: &mut Ctx,
    out: &mut Vec<Event>,
) -> Outcome {
    match parse(h.event, h.payload, ctx) {
        Ok(Some(p)) => {
            if let Parsed::Wakeup { task, .. } = &p {
                if let Some(why) = ctx.wakings.drop_reason(h.event, task.pid) {
                    return Outcome::Ignored(why);
                }
            }
            out.push(to_event(h.ts_ns, h.cpu, p, ids));
            Outcome::Events
        }
        // `perf script -F ...,trace` without `event`: the "event" is the payload's first pair.
        Ok(None) if h.event.contains(&b'=') => Outcome::Bad(NO_EVENT_NAME),
        Ok(None) => ctx.ignore_event(h.event),
        Err(why) => Outcome::Bad(why),
    }
}
