//! Ring-buffer record (struct ot_event) -> trace::Event.
use trace::{state_from_report_bits, Event, ShortStr, Task};

use super::intf::{self, ot_event};

/// Kernel task-state bits (include/linux/sched.h), stable since 4.14.
const TASK_REPORT: u32 = 0x7f; // S D T t X Z P
const TASK_IDLE: u32 = 0x402; // TASK_UNINTERRUPTIBLE | TASK_NOLOAD
const TASK_RTLOCK_WAIT: u32 = 0x1000;
const TASK_REPORT_IDLE: u32 = 0x80;
const TASK_REPORT_MAX: u32 = 0x100; // "+": preempted

/// What the kernel's sched_switch TP_fast_assign stores as prev_state
/// (__trace_sched_switch_state): one report bit, or TASK_REPORT_MAX if preempted.
pub fn report_bits(preempt: bool, prev_state: u32, exit_state: u32) -> u32 {
    if preempt {
        return TASK_REPORT_MAX;
    }
    let mut state = (prev_state | exit_state) & TASK_REPORT;
    if prev_state == TASK_IDLE {
        state = TASK_REPORT_IDLE;
    }
    if prev_state == TASK_RTLOCK_WAIT {
        state = 0x2; // shown as D, like the kernel does
    }
    // __task_state_index() keeps the highest bit (fls).
    match state {
        0 => 0,
        s => 1 << (31 - s.leading_zeros()),
    }
}

/// Decodes the records of one CPU's ring, in ring order. A record carries a
/// task's comm only when that CPU's comm cache did not hold it (bpf/trace_intf.h);
/// the decoder keeps a mirror of the cache, updated exactly as BPF updates it
/// (after the record, prev before next, never for OT_F_NESTED records), and
/// fills every comm left out from it. Exec or prctl renames and pid reuse need
/// nothing special: BPF compares the task's current comm with the cached one
/// and sends it again when they differ.
pub struct Decoder {
    /// pid % COMM_SLOTS -> (pid, comm), as the CPU's BPF cache holds it.
    mirror: Vec<Option<(i32, ShortStr)>>,
    /// Comms left out that the mirror did not hold (never expected: the row gets a null comm).
    unknown_comms: u64,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { mirror: vec![None; intf::COMM_SLOTS], unknown_comms: 0 }
    }
}

const HEADER: usize = std::mem::size_of::<ot_event>();

/// Splits a ring record into the event records it holds: one, or a batch of
/// them (struct ot_stage's data). Each record's length follows from its
/// comm flags. A tail too short for its header or comms ends the walk and
/// is returned as a record of its own, which `decode` rejects.
pub fn records(mut bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let len = record_len(bytes).filter(|&n| n <= bytes.len()).unwrap_or(bytes.len());
        let (r, rest) = bytes.split_at(len);
        bytes = rest;
        Some(r)
    })
}

/// Header plus the comms its flags say follow; None if the header is cut short.
fn record_len(bytes: &[u8]) -> Option<usize> {
    const FLAGS: usize = std::mem::offset_of!(ot_event, flags);
    let flags = u32::from_ne_bytes(bytes.get(FLAGS..FLAGS + 4)?.try_into().unwrap());
    let comms = (flags & intf::F_PREV_COMM != 0) as usize + (flags & intf::F_NEXT_COMM != 0) as usize;
    (bytes.len() >= HEADER).then_some(HEADER + comms * intf::COMM_LEN)
}

impl Decoder {
    /// Decodes every record of a ring record (see [`records`]) into `out`;
    /// returns how many were malformed.
    pub fn decode_all(&mut self, bytes: &[u8], out: &mut Vec<Event>) -> u64 {
        let mut bad = 0;
        for r in records(bytes) {
            match self.decode(r) {
                Some(e) => out.push(e),
                None => bad += 1,
            }
        }
        bad
    }

    /// Decodes one record; None for a short buffer or an unknown type (never
    /// produced by our BPF object, so the caller counts it as malformed).
    pub fn decode(&mut self, bytes: &[u8]) -> Option<Event> {
        if bytes.len() < HEADER {
            return None;
        }
        // SAFETY: size checked; ot_event is plain old data; the ring only
        // guarantees 8-byte alignment, which read_unaligned does not need.
        let r: ot_event = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
        let (has_prev, has_next) = match r.type_ {
            intf::SWITCH => (true, true),
            intf::WAKEUP | intf::WAKEUP_NEW | intf::MIGRATE => (false, true),
            intf::EXIT => (true, false),
            _ => return None,
        };
        // The comms sent with the record, in order: prev's, then next's.
        let mut sent = bytes[HEADER..].chunks_exact(intf::COMM_LEN).map(ShortStr::from_c_bytes);
        let prev_sent = if r.flags & intf::F_PREV_COMM != 0 { Some(sent.next()?) } else { None };
        let next_sent = if r.flags & intf::F_NEXT_COMM != 0 { Some(sent.next()?) } else { None };
        // Comms left out are looked up before this record's own cache updates.
        let prev_comm = has_prev.then(|| prev_sent.or_else(|| self.cached(r.prev_pid))).flatten();
        let next_comm = has_next.then(|| next_sent.or_else(|| self.cached(r.next_pid))).flatten();
        if r.flags & intf::F_NESTED == 0 {
            if let Some(c) = prev_sent {
                self.mirror[slot(r.prev_pid)] = Some((r.prev_pid, c));
            }
            if let Some(c) = next_sent {
                self.mirror[slot(r.next_pid)] = Some((r.next_pid, c));
            }
        }
        let task = |pid, tgid, comm, prio| Task { pid: Some(pid), tgid: Some(tgid), comm, prio: Some(prio) };
        let prev = || task(r.prev_pid, r.prev_tgid, prev_comm, r.prev_prio);
        let next = || task(r.next_pid, r.next_tgid, next_comm, r.next_prio);
        let mut ev = match r.type_ {
            intf::SWITCH => {
                let bits = report_bits(r.flags & intf::F_PREEMPT != 0, r.prev_state, r.prev_exit_state as u32);
                let state: ShortStr = state_from_report_bits(bits);
                let mut ev = Event::switch(r.ts, r.cpu, prev(), Some(state), next());
                ev.prev_runtime_ns = Some(r.prev_runtime);
                ev
            }
            intf::WAKEUP => Event::wakeup(r.ts, r.cpu, next(), Some(r.target_cpu)),
            intf::WAKEUP_NEW => Event::wakeup_new(r.ts, r.cpu, next(), Some(r.target_cpu)),
            intf::MIGRATE => Event::migrate(r.ts, r.cpu, next(), r.target_cpu),
            _ => Event::exit(r.ts, r.cpu, prev()),
        };
        if r.flags & intf::F_NR_RUNNING != 0 {
            ev = ev.with_nr_running(r.nr_running);
        }
        if r.flags & intf::F_CURR != 0 {
            // wakeup: the task running on target_cpu, and its CPU time (SCHEMA.md).
            ev.prev_pid = Some(r.prev_pid);
            ev.prev_runtime_ns = Some(r.prev_runtime);
        }
        Some(ev)
    }

    /// Comms left out that this decoder could not fill (their rows have a null comm).
    pub fn unknown_comms(&self) -> u64 {
        self.unknown_comms
    }

    fn cached(&mut self, pid: i32) -> Option<ShortStr> {
        match self.mirror[slot(pid)] {
            Some((p, c)) if p == pid => Some(c),
            _ => {
                self.unknown_comms += 1;
                None
            }
        }
    }
}

fn slot(pid: i32) -> usize {
    pid as u32 as usize & (intf::COMM_SLOTS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trace::EventKind;

    #[test]
    fn record_layout_matches_bpf() {
        // 8 + 14 * 4: no hidden padding; the comms sent follow it.
        assert_eq!(std::mem::size_of::<ot_event>(), 72);
        assert_eq!(std::mem::size_of::<intf::ot_comm_slot>(), 8 + intf::COMM_LEN);
    }

    #[test]
    fn states_like_the_tracepoint() {
        let s = |p, st, ex| state_from_report_bits(report_bits(p, st, ex)).to_string();
        assert_eq!(s(false, 0, 0), "R");
        assert_eq!(s(true, 0x1, 0), "R+");
        assert_eq!(s(false, 0x1, 0), "S");
        assert_eq!(s(false, 0x2, 0), "D");
        assert_eq!(s(false, 0x402, 0), "I");
        assert_eq!(s(false, 0x1000, 0), "D");
        assert_eq!(s(false, 0x0, 0x10), "X"); // EXIT_DEAD
        assert_eq!(s(false, 0x0, 0x20), "Z"); // EXIT_ZOMBIE
        assert_eq!(s(false, 0x100 /* TASK_WAKEKILL */ | 0x2, 0), "D");
    }

    fn raw(type_: u32) -> ot_event {
        let mut r: ot_event = unsafe { std::mem::zeroed() };
        r.ts = 42;
        r.cpu = 1;
        r.type_ = type_;
        r.prev_pid = 10;
        r.prev_tgid = 9;
        r.prev_prio = 120;
        r.prev_state = 1;
        r.next_pid = 20;
        r.next_tgid = 20;
        r.next_prio = 100;
        r.target_cpu = 3;
        r
    }

    /// The record as BPF sends it: the header, then `prev` and `next` comms
    /// where given (setting their flags).
    fn bytes(r: &ot_event, prev: Option<&str>, next: Option<&str>) -> Vec<u8> {
        let mut r = *r;
        r.flags |= prev.map_or(0, |_| intf::F_PREV_COMM) | next.map_or(0, |_| intf::F_NEXT_COMM);
        let p = (&r as *const ot_event).cast::<u8>();
        let mut b = unsafe { std::slice::from_raw_parts(p, HEADER) }.to_vec();
        for c in [prev, next].into_iter().flatten() {
            let mut comm = [0u8; intf::COMM_LEN];
            comm[..c.len()].copy_from_slice(c.as_bytes());
            b.extend_from_slice(&comm);
        }
        b
    }

    fn comms(e: &Event) -> (Option<String>, Option<String>) {
        (e.prev_comm.map(|c| c.to_string()), e.next_comm.map(|c| c.to_string()))
    }

    #[test]
    fn decodes_each_type() {
        let mut d = Decoder::default();
        let mut r = raw(intf::SWITCH);
        r.flags = intf::F_NR_RUNNING;
        r.nr_running = 2;
        let e = d.decode(&bytes(&r, Some("pinger"), Some("ponger"))).unwrap();
        assert_eq!((e.kind, e.ts_ns, e.cpu), (EventKind::Switch, 42, 1));
        assert_eq!((e.prev_pid, e.prev_tgid, e.prev_prio), (Some(10), Some(9), Some(120)));
        assert_eq!(e.prev_comm.unwrap(), "pinger");
        assert_eq!(e.prev_state.unwrap(), "S");
        assert_eq!((e.next_pid, e.next_comm.unwrap().to_string()), (Some(20), "ponger".into()));
        assert_eq!((e.nr_running, e.target_cpu), (Some(2), None));

        let e = d.decode(&bytes(&raw(intf::WAKEUP), None, None)).unwrap();
        assert_eq!((e.kind, e.prev_pid, e.next_pid), (EventKind::Wakeup, None, Some(20)));
        assert_eq!((e.target_cpu, e.nr_running), (Some(3), None));
        assert_eq!(comms(&e), (None, Some("ponger".into())));
        assert_eq!(d.decode(&bytes(&raw(intf::WAKEUP_NEW), None, None)).unwrap().kind, EventKind::WakeupNew);
        let e = d.decode(&bytes(&raw(intf::MIGRATE), None, None)).unwrap();
        assert_eq!((e.kind, e.cpu, e.target_cpu), (EventKind::Migrate, 1, Some(3)));
        let e = d.decode(&bytes(&raw(intf::EXIT), None, None)).unwrap();
        assert_eq!((e.kind, e.prev_pid, e.next_pid, e.prev_state), (EventKind::Exit, Some(10), None, None));
        assert_eq!(comms(&e), (Some("pinger".into()), None));
        assert_eq!(d.unknown_comms(), 0);
    }

    #[test]
    fn a_comm_sent_once_fills_later_records() {
        let mut d = Decoder::default();
        let sw = raw(intf::SWITCH);
        d.decode(&bytes(&sw, Some("a"), Some("b"))).unwrap();
        for _ in 0..3 {
            assert_eq!(comms(&d.decode(&bytes(&sw, None, None)).unwrap()), (Some("a".into()), Some("b".into())));
        }
        // Only next's comm sent: it follows the header directly.
        let e = d.decode(&bytes(&sw, None, Some("b2"))).unwrap();
        assert_eq!(comms(&e), (Some("a".into()), Some("b2".into())));
        assert_eq!(d.unknown_comms(), 0);
    }

    #[test]
    fn exec_or_rename_takes_the_new_comm_from_then_on() {
        let mut d = Decoder::default();
        let wake = raw(intf::WAKEUP);
        d.decode(&bytes(&wake, None, Some("sh"))).unwrap();
        // BPF saw pid 20 with another comm (exec): it sent the new one.
        let e = d.decode(&bytes(&wake, None, Some("sleep"))).unwrap();
        assert_eq!(e.next_comm.unwrap(), "sleep");
        assert_eq!(d.decode(&bytes(&wake, None, None)).unwrap().next_comm.unwrap(), "sleep");
    }

    #[test]
    fn a_reused_pid_gets_its_own_comm() {
        let mut d = Decoder::default();
        let mut exit = raw(intf::EXIT);
        exit.prev_pid = 20;
        d.decode(&bytes(&raw(intf::WAKEUP), None, Some("old"))).unwrap();
        d.decode(&bytes(&exit, None, None)).unwrap();
        // pid 20 again, a new task with another comm: BPF's cache missed and sent it.
        let e = d.decode(&bytes(&raw(intf::WAKEUP_NEW), None, Some("new"))).unwrap();
        assert_eq!(e.next_comm.unwrap(), "new");
        assert_eq!(d.decode(&bytes(&raw(intf::WAKEUP), None, None)).unwrap().next_comm.unwrap(), "new");
        // A pid sharing pid 20's slot evicts it; BPF sends pid 20's comm again after that.
        let mut other = raw(intf::WAKEUP);
        other.next_pid = 20 + intf::COMM_SLOTS as i32;
        assert_eq!(d.decode(&bytes(&other, None, Some("other"))).unwrap().next_comm.unwrap(), "other");
        assert_eq!(d.decode(&bytes(&other, None, None)).unwrap().next_comm.unwrap(), "other");
        assert_eq!(d.unknown_comms(), 0);
    }

    #[test]
    fn a_comm_first_seen_after_the_tasks_first_record() {
        let mut d = Decoder::default();
        // A record leaving out a comm the mirror never saw (not produced by our BPF): a null
        // comm, counted, never another task's comm.
        let e = d.decode(&bytes(&raw(intf::WAKEUP), None, None)).unwrap();
        assert_eq!((e.next_pid, e.next_comm), (Some(20), None));
        assert_eq!(d.unknown_comms(), 1);
        d.decode(&bytes(&raw(intf::WAKEUP), None, Some("late"))).unwrap();
        assert_eq!(d.decode(&bytes(&raw(intf::WAKEUP), None, None)).unwrap().next_comm.unwrap(), "late");
        assert_eq!(d.unknown_comms(), 1);
    }

    #[test]
    fn nested_records_do_not_change_the_cache() {
        let mut d = Decoder::default();
        d.decode(&bytes(&raw(intf::WAKEUP), None, Some("kept"))).unwrap();
        let mut nested = raw(intf::WAKEUP);
        nested.flags = intf::F_NESTED;
        assert_eq!(d.decode(&bytes(&nested, None, Some("renamed"))).unwrap().next_comm.unwrap(), "renamed");
        // BPF did not cache "renamed": a record leaving the comm out still means "kept".
        assert_eq!(d.decode(&bytes(&raw(intf::WAKEUP), None, None)).unwrap().next_comm.unwrap(), "kept");
    }

    #[test]
    fn cache_updates_follow_the_lookups_prev_first() {
        let mut d = Decoder::default();
        let mut sw = raw(intf::SWITCH);
        sw.prev_pid = 5;
        sw.next_pid = 5 + intf::COMM_SLOTS as i32; // same slot
        d.decode(&bytes(&raw_with_next(5), None, Some("five"))).unwrap();
        // next misses and is sent; prev is left out and looked up before next replaces the slot.
        let e = d.decode(&bytes(&sw, None, Some("other"))).unwrap();
        assert_eq!(comms(&e), (Some("five".into()), Some("other".into())));
        assert_eq!(d.unknown_comms(), 0);
    }

    fn raw_with_next(pid: i32) -> ot_event {
        let mut r = raw(intf::WAKEUP);
        r.next_pid = pid;
        r
    }

    #[test]
    fn rejects_garbage() {
        let mut d = Decoder::default();
        assert!(d.decode(&[0u8; 10]).is_none());
        assert!(d.decode(&bytes(&raw(99), None, None)).is_none());
        // A comm flag without the comm bytes.
        let mut short = bytes(&raw(intf::WAKEUP), None, Some("x"));
        short.truncate(HEADER + 4);
        assert!(d.decode(&short).is_none());
    }

    /// A batch (BPF's struct ot_stage) is records of 0, 1 or 2 comms back to
    /// back: decoded together they give what decoding each one gives, in order.
    #[test]
    fn a_batch_decodes_like_its_records_one_by_one() {
        let recs = [
            bytes(&raw(intf::SWITCH), Some("a"), Some("b")),
            bytes(&raw(intf::WAKEUP), None, None),
            bytes(&raw(intf::EXIT), Some("a"), None),
            bytes(&raw(intf::MIGRATE), None, Some("c")),
            bytes(&raw(intf::SWITCH), None, None),
        ];
        let (mut one, mut all) = (Decoder::default(), Decoder::default());
        let want: Vec<Event> = recs.iter().map(|r| one.decode(r).unwrap()).collect();
        let mut got = Vec::new();
        assert_eq!(all.decode_all(&recs.concat(), &mut got), 0);
        assert_eq!(got, want);
        assert_eq!(records(&recs.concat()).count(), recs.len());
    }

    /// A batch cut short loses its last record (counted malformed), not the ones before it.
    #[test]
    fn a_torn_batch_keeps_its_whole_records() {
        let mut batch = [bytes(&raw(intf::WAKEUP), None, Some("x")), bytes(&raw(intf::SWITCH), Some("y"), Some("z"))].concat();
        batch.truncate(batch.len() - 3);
        let mut got = Vec::new();
        assert_eq!(Decoder::default().decode_all(&batch, &mut got), 1);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].next_comm.unwrap().to_string(), "x");
    }
}
