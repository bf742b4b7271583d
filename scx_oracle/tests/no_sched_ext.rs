//! On a kernel without sched_ext (this host's: sched_ext code runs only in the VM) `scx_oracle
//! run` must refuse in one line that names the missing piece, exit non-zero, and load nothing.
//! The fault suite (vm/vmlib/faults.py) runs the same check as its `no_sched_ext` case.
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_scx_oracle");

#[test]
fn run_on_a_kernel_without_sched_ext_says_so_in_one_line() {
    // Never skipped: on a sched_ext kernel this would attach for real, so it fails instead.
    assert!(
        !Path::new("/sys/kernel/sched_ext").exists(),
        "this host kernel has sched_ext: the test needs one without (the VM covers sched_ext)"
    );
    for policy in ["fifo", "vruntime", "recent_wakeup"] {
        let out = Command::new(BIN).args(["run", "--policy", policy, "--duration", "1"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{policy}: {text}");
        assert_eq!(text.trim().lines().count(), 1, "{policy}: one line: {text}");
        assert!(text.starts_with("scx_oracle: error: "), "{policy}: {text}");
        assert!(text.contains("no sched_ext") && text.contains("CONFIG_SCHED_CLASS_EXT"), "{policy}: {text}");
    }
}
