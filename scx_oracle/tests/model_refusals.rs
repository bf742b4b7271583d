//! A model the agent cannot use is refused with one line naming the file and the reason,
//! before anything is loaded into the kernel: the model is checked before the scheduler (and
//! before the sched_ext check, so on this host the message is about the model, not the kernel).
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_scx_oracle");

fn bundled() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/artifacts/oracle.onnx")
}

fn scratch(name: &str, bytes: &[u8]) -> PathBuf {
    let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The bundled model with its encoding version metadata changed to another number of the same
/// length (its last digit changed, so the protobuf framing stays valid), and that number.
fn wrong_spec_model() -> (PathBuf, String) {
    let mut bytes = std::fs::read(bundled()).unwrap();
    let key = b"scx_oracle.encoding_version";
    let at = bytes.windows(key.len()).position(|w| w == key).expect("version key in the model");
    // key bytes, then field 2 (tag 0x12), a one-byte length, the value's digits.
    let v = at + key.len();
    assert_eq!(bytes[v], 0x12, "the version value follows its key");
    let n = usize::from(bytes[v + 1]);
    assert!((1..128).contains(&n), "a short version value");
    let digits = v + 2..v + 2 + n;
    assert!(bytes[digits.clone()].iter().all(u8::is_ascii_digit));
    let last = v + 1 + n;
    bytes[last] = if bytes[last] == b'9' { b'8' } else { bytes[last] + 1 };
    let wrong = String::from_utf8(bytes[digits].to_vec()).unwrap();
    (scratch("wrong_spec.onnx", &bytes), wrong)
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn a_model_with_another_encoding_is_refused_before_attach() {
    let (m, wrong) = wrong_spec_model();
    let (code, text) = run(&["run", "--policy", "oracle", "--model", m.to_str().unwrap(), "--duration", "1"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("wrong_spec.onnx") && text.contains(&format!("encoding version {wrong}")), "{text}");
    assert!(!text.contains("sched_ext"), "refused for the kernel, not the model: {text}");
    assert_eq!(text.trim().lines().count(), 1, "one line: {text}");
}

#[test]
fn corrupt_truncated_and_missing_models_are_refused_with_the_reason() {
    let good = std::fs::read(bundled()).unwrap();
    let truncated = scratch("truncated.onnx", &good[..good.len() / 3]);
    let garbage = scratch("garbage.onnx", b"this is not an ONNX model\n");
    for (path, why) in [
        (truncated, "cannot load as an ONNX model"),
        (garbage, "cannot load as an ONNX model"),
        (PathBuf::from("/nonexistent/m.onnx"), "no such model file"),
    ] {
        for cmd in [&["run", "--policy", "oracle", "--model"][..], &["shadow", "--duration", "1", "--model"][..]] {
            let mut args = cmd.to_vec();
            args.push(path.to_str().unwrap());
            let (code, text) = run(&args);
            assert_eq!(code, 1, "{args:?}: {text}");
            assert!(text.contains(why) && text.contains(path.file_name().unwrap().to_str().unwrap()), "{args:?}: {text}");
        }
    }
}

#[test]
fn record_needs_a_policy_that_reads_events() {
    let (code, text) = run(&["run", "--policy", "fifo", "--record", "/tmp/x.parquet"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("--record"), "{text}");
}
