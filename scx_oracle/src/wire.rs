//! Conversion between the ring-buffer wire structs and the policy types.
use crate::bpf_intf::{oracle_decision, oracle_queued_task};
use crate::task::{Decision, QueuedTask, Target};

pub const CPU_ANY: i32 = crate::bpf_intf::oracle_consts_ORACLE_CPU_ANY;

/// Decode one "queued" ring-buffer record; None if it is too short.
pub fn decode_queued(bytes: &[u8]) -> Option<QueuedTask> {
    if bytes.len() < std::mem::size_of::<oracle_queued_task>() {
        return None;
    }
    // SAFETY: length checked; the struct is plain old data, and
    // read_unaligned copes with any alignment of the ring's bytes.
    let m: oracle_queued_task = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    Some(QueuedTask {
        pid: m.pid,
        tgid: m.tgid,
        cpu: m.cpu,
        nr_cpus_allowed: m.nr_cpus_allowed,
        enq_flags: m.enq_flags,
        wake_flags: m.wake_flags,
        enq_ts: m.enq_ts,
        last_ran_ts: m.last_ran_ts,
        exec_runtime: m.exec_runtime,
        sum_runtime: m.sum_runtime,
        weight: m.weight,
        nice: m.nice,
        flags: m.flags,
        gen: m.enq_gen,
        comm: m.comm.map(|c| c as u8),
    })
}

pub fn encode_decision(d: &Decision) -> oracle_decision {
    oracle_decision {
        pid: d.pid,
        cpu: match d.target {
            Target::AnyCpu => CPU_ANY,
            Target::Cpu(c) => c as i32,
        },
        slice_ns: d.slice_ns,
        key: d.key,
        enq_gen: d.gen,
        enq_ts: d.enq_ts,
    }
}

/// Raw bytes of a decision, as the user ring buffer wants them.
pub fn decision_bytes(d: &oracle_decision) -> &[u8] {
    // SAFETY: oracle_decision is repr(C) plain data without padding.
    unsafe {
        std::slice::from_raw_parts((d as *const oracle_decision).cast(), std::mem::size_of::<oracle_decision>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    // The BPF side compiles the same header; these pin the layout so a
    // field added on one side only cannot silently shift the others.
    #[test]
    fn queued_task_layout_matches_intf_h() {
        assert_eq!(size_of::<oracle_queued_task>(), 104);
        assert_eq!(offset_of!(oracle_queued_task, pid), 0);
        assert_eq!(offset_of!(oracle_queued_task, cpu), 8);
        assert_eq!(offset_of!(oracle_queued_task, enq_flags), 16);
        assert_eq!(offset_of!(oracle_queued_task, enq_ts), 32);
        assert_eq!(offset_of!(oracle_queued_task, weight), 64);
        assert_eq!(offset_of!(oracle_queued_task, nice), 72);
        assert_eq!(offset_of!(oracle_queued_task, flags), 76);
        assert_eq!(offset_of!(oracle_queued_task, enq_gen), 80);
        assert_eq!(offset_of!(oracle_queued_task, comm), 88);
    }

    #[test]
    fn decision_layout_matches_intf_h() {
        assert_eq!(size_of::<oracle_decision>(), 40);
        assert_eq!(offset_of!(oracle_decision, cpu), 4);
        assert_eq!(offset_of!(oracle_decision, slice_ns), 8);
        assert_eq!(offset_of!(oracle_decision, key), 16);
        assert_eq!(offset_of!(oracle_decision, enq_gen), 24);
        assert_eq!(offset_of!(oracle_decision, enq_ts), 32);
    }

    #[test]
    fn queued_record_round_trips() {
        let mut raw: oracle_queued_task = unsafe { std::mem::zeroed() };
        raw.pid = 42;
        raw.tgid = 40;
        raw.cpu = 3;
        raw.nr_cpus_allowed = 1;
        raw.enq_gen = 7;
        raw.enq_ts = 123;
        raw.weight = 100;
        raw.nice = -5;
        for (i, b) in b"stress-ng".iter().enumerate() {
            raw.comm[i] = *b as _;
        }
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw as *const oracle_queued_task).cast::<u8>(), size_of::<oracle_queued_task>())
        };
        // An odd offset proves unaligned input is fine.
        let mut shifted = vec![0u8; bytes.len() + 1];
        shifted[1..].copy_from_slice(bytes);
        let t = decode_queued(&shifted[1..]).unwrap();
        assert_eq!((t.pid, t.tgid, t.cpu, t.gen, t.enq_ts, t.nice), (42, 40, 3, 7, 123, -5));
        assert_eq!(t.comm_str(), "stress-ng");
        assert_eq!(t.pinned_cpu(), Some(3));
        assert!(decode_queued(&bytes[..bytes.len() - 1]).is_none());
    }

    #[test]
    fn decision_encodes_any_cpu() {
        let d = Decision { pid: 9, target: Target::AnyCpu, slice_ns: 1, key: 2, gen: 3, enq_ts: 4 };
        let w = encode_decision(&d);
        assert_eq!((w.pid, w.cpu, w.slice_ns, w.key, w.enq_gen, w.enq_ts), (9, -1, 1, 2, 3, 4));
        assert_eq!(decision_bytes(&w).len(), 40);
        let w = encode_decision(&Decision { target: Target::Cpu(5), ..d });
        assert_eq!(w.cpu, 5);
    }
}
