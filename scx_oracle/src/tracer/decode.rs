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

/// Decodes one record; None for a short buffer or an unknown type (never
/// produced by our BPF object, so the caller counts it as malformed).
pub fn decode(bytes: &[u8]) -> Option<Event> {
    if bytes.len() < std::mem::size_of::<ot_event>() {
        return None;
    }
    // SAFETY: size checked; ot_event is plain old data; the ring only
    // guarantees 8-byte alignment, which read_unaligned does not need.
    let r: ot_event = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    let prev = || Task::new(r.prev_pid, r.prev_tgid, &comm(&r.prev_comm), r.prev_prio);
    let next = || Task::new(r.next_pid, r.next_tgid, &comm(&r.next_comm), r.next_prio);
    let mut ev = match r.type_ {
        intf::SWITCH => {
            let bits = report_bits(r.flags & intf::F_PREEMPT != 0, r.prev_state, r.prev_exit_state as u32);
            let state: ShortStr = state_from_report_bits(bits);
            Event::switch(r.ts, r.cpu, prev(), Some(state), next())
        }
        intf::WAKEUP => Event::wakeup(r.ts, r.cpu, next(), Some(r.target_cpu)),
        intf::WAKEUP_NEW => Event::wakeup_new(r.ts, r.cpu, next(), Some(r.target_cpu)),
        intf::MIGRATE => Event::migrate(r.ts, r.cpu, next(), r.target_cpu),
        intf::EXIT => Event::exit(r.ts, r.cpu, prev()),
        _ => return None,
    };
    if r.flags & intf::F_NR_RUNNING != 0 {
        ev = ev.with_nr_running(r.nr_running);
    }
    Some(ev)
}

/// bindgen makes `char[16]` an i8 array; Task::new wants the bytes.
fn comm(c: &[std::os::raw::c_char; 16]) -> [u8; 16] {
    c.map(|b| b as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trace::EventKind;

    #[test]
    fn record_layout_matches_bpf() {
        // 8 + 14 * 4 + 2 * 16: no hidden padding; BPF reserves exactly this.
        assert_eq!(std::mem::size_of::<ot_event>(), 96);
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
        for (d, s) in r.prev_comm.iter_mut().zip(b"pinger\0") {
            *d = *s as _;
        }
        for (d, s) in r.next_comm.iter_mut().zip(b"ponger\0") {
            *d = *s as _;
        }
        r
    }

    fn bytes(r: &ot_event) -> Vec<u8> {
        let p = (r as *const ot_event).cast::<u8>();
        unsafe { std::slice::from_raw_parts(p, std::mem::size_of::<ot_event>()) }.to_vec()
    }

    #[test]
    fn decodes_each_type() {
        let mut r = raw(intf::SWITCH);
        r.flags = intf::F_NR_RUNNING;
        r.nr_running = 2;
        let e = decode(&bytes(&r)).unwrap();
        assert_eq!((e.kind, e.ts_ns, e.cpu), (EventKind::Switch, 42, 1));
        assert_eq!((e.prev_pid, e.prev_tgid, e.prev_prio), (Some(10), Some(9), Some(120)));
        assert_eq!(e.prev_comm.unwrap(), "pinger");
        assert_eq!(e.prev_state.unwrap(), "S");
        assert_eq!((e.next_pid, e.next_comm.unwrap().to_string()), (Some(20), "ponger".into()));
        assert_eq!((e.nr_running, e.target_cpu), (Some(2), None));

        let e = decode(&bytes(&raw(intf::WAKEUP))).unwrap();
        assert_eq!((e.kind, e.prev_pid, e.next_pid), (EventKind::Wakeup, None, Some(20)));
        assert_eq!((e.target_cpu, e.nr_running), (Some(3), None));
        assert_eq!(decode(&bytes(&raw(intf::WAKEUP_NEW))).unwrap().kind, EventKind::WakeupNew);
        let e = decode(&bytes(&raw(intf::MIGRATE))).unwrap();
        assert_eq!((e.kind, e.cpu, e.target_cpu), (EventKind::Migrate, 1, Some(3)));
        let e = decode(&bytes(&raw(intf::EXIT))).unwrap();
        assert_eq!((e.kind, e.prev_pid, e.next_pid, e.prev_state), (EventKind::Exit, Some(10), None, None));
    }

    #[test]
    fn rejects_garbage() {
        assert!(decode(&[0u8; 10]).is_none());
        assert!(decode(&bytes(&raw(99))).is_none());
    }
}
