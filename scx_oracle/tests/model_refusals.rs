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

/// The bundled model with its one-digit encoding version metadata changed to another digit
/// (same length, so the protobuf framing stays valid), and that digit.
fn wrong_spec_model() -> (PathBuf, char) {
    let mut bytes = std::fs::read(bundled()).unwrap();
    let key = b"scx_oracle.encoding_version";
    let at = bytes.windows(key.len()).position(|w| w == key).expect("version key in the model");
    // key bytes, then field 2 (tag 0x12), length 1, the value.
    let v = at + key.len();
    assert_eq!(&bytes[v..v + 2], b"\x12\x01", "a one-digit version value follows its key");
    assert!(bytes[v + 2].is_ascii_digit());
    let wrong = if bytes[v + 2] == b'9' { b'8' } else { b'9' };
    bytes[v + 2] = wrong;
    (scratch("wrong_spec.onnx", &bytes), wrong as char)
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
