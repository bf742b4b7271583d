//! Finding and loading the ONNX Runtime shared library (ort's `load-dynamic`: nothing is
//! downloaded at build time; the library comes from PyPI's onnxruntime wheel, which
//! scripts/setup-python installs into .venv).
//!
//! Order: `$ORT_DYLIB_PATH`; `libonnxruntime.so*` next to the executable;
//! `<dir>/.venv/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so*` for `dir` in the
//! working directory and its ancestors, then the executable's directory and its ancestors.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use ort::environment::Environment;

pub const ENV_VAR: &str = "ORT_DYLIB_PATH";
const LIB_PREFIX: &str = "libonnxruntime.so";

/// `libonnxruntime.so*` in `dir` (not `libonnxruntime_providers_*`); the greatest name wins
/// when several versions sit side by side.
fn lib_in(dir: &Path) -> Option<PathBuf> {
    let mut libs: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(LIB_PREFIX))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    libs.sort();
    libs.pop()
}

/// The library inside `<dir>/.venv`, if any.
fn lib_in_venv(dir: &Path) -> Option<PathBuf> {
    let lib = dir.join(".venv/lib");
    let mut pythons: Vec<PathBuf> = std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .map(|e| e.path())
        .collect();
    pythons.sort();
    pythons
        .iter()
        .rev()
        .find_map(|p| lib_in(&p.join("site-packages/onnxruntime/capi")))
}

/// Pure discovery (no loading), with the environment passed in so it can be tested.
pub fn discover(env: Option<&str>, exe: Option<&Path>, cwd: Option<&Path>) -> Result<PathBuf> {
    let mut tried = String::new();
    match env.filter(|s| !s.is_empty()) {
        Some(p) => {
            // An explicit choice that is wrong is an error, not a reason to look elsewhere.
            if Path::new(p).is_file() {
                return Ok(PathBuf::from(p));
            }
            return Err(anyhow!(
                "{ENV_VAR}={p}: no such file; point it at libonnxruntime.so.1.32.0 or unset it to \
                 search .venv"
            ));
        }
        None => tried.push_str(&format!("\n  ${ENV_VAR} (unset)")),
    }
    let exe_dir = exe.and_then(Path::parent);
    if let Some(d) = exe_dir {
        if let Some(p) = lib_in(d) {
            return Ok(p);
        }
        let _ = write!(tried, "\n  {}", d.join(format!("{LIB_PREFIX}*")).display());
    }
    let mut dirs: Vec<&Path> = cwd.map(|c| c.ancestors().collect()).unwrap_or_default();
    for d in exe_dir.into_iter().flat_map(Path::ancestors) {
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    for d in dirs {
        if let Some(p) = lib_in_venv(d) {
            return Ok(p);
        }
        let venv = d.join(format!(
            ".venv/lib/python3*/site-packages/onnxruntime/capi/{LIB_PREFIX}*"
        ));
        let _ = write!(tried, "\n  {}", venv.display());
    }
    Err(anyhow!(
        "ONNX Runtime library (libonnxruntime.so) not found; tried:{tried}\n\
         Fix: run scripts/setup-python (installs onnxruntime==1.32.0 into .venv), or set \
         {ENV_VAR}=/path/to/libonnxruntime.so.1.32.0"
    ))
}

/// Discovers the library from this process's environment.
pub fn find() -> Result<PathBuf> {
    let env = std::env::var(ENV_VAR).ok();
    let exe = std::env::current_exe().ok();
    let cwd = std::env::current_dir().ok();
    discover(env.as_deref(), exe.as_deref(), cwd.as_deref())
}

/// The process-wide ONNX Runtime environment (ort allows one per process), loading the
/// library on first use. Errors are kept so every caller sees the same message.
pub fn environment() -> Result<&'static Environment> {
    static ENV: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let path = find().map_err(|e| format!("{e:#}"))?;
        let builder = ort::init_from(&path)
            .map_err(|e| format!("loading ONNX Runtime from {}: {e}", path.display()))?;
        builder
            .with_name("scx_oracle")
            .with_telemetry(false)
            .build()
            .map_err(|e| {
                format!(
                    "creating the ONNX Runtime environment ({}): {e}",
                    path.display()
                )
            })
    })
    .as_ref()
    .map_err(|e| anyhow!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("scx_oracle_ortlib_{}_{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn missing_library_error_lists_what_was_tried() {
        let d = scratch("missing");
        let exe = d.join("bin/scx_oracle");
        let e = discover(None, Some(&exe), Some(&d))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not found"), "{e}");
        assert!(e.contains("ORT_DYLIB_PATH (unset)"), "{e}");
        assert!(
            e.contains(&format!("{}/bin/libonnxruntime.so*", d.display())),
            "{e}"
        );
        assert!(
            e.contains(&format!("{}/.venv/lib/python3*", d.display())),
            "{e}"
        );
        assert!(e.contains("scripts/setup-python"), "{e}");
        let e = discover(Some("/nonexistent/libonnxruntime.so"), Some(&exe), Some(&d)).unwrap_err();
        assert!(e.to_string().contains("ORT_DYLIB_PATH=/nonexistent"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn finds_venv_above_cwd_and_next_to_exe() {
        let d = scratch("venv");
        let capi = d.join(".venv/lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        std::fs::write(capi.join("libonnxruntime_providers_shared.so"), b"").unwrap();
        std::fs::write(capi.join("libonnxruntime.so.1.32.0"), b"").unwrap();
        let sub = d.join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        let got = discover(None, None, Some(&sub)).unwrap();
        assert_eq!(got, capi.join("libonnxruntime.so.1.32.0"));
        // ... and from the executable's ancestors when the cwd is elsewhere.
        let other = scratch("elsewhere");
        let got = discover(
            None,
            Some(&d.join("target/release/scx_oracle")),
            Some(&other),
        )
        .unwrap();
        assert_eq!(got, capi.join("libonnxruntime.so.1.32.0"));
        // Next to the executable beats .venv.
        let bin = d.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("libonnxruntime.so"), b"").unwrap();
        let got = discover(None, Some(&bin.join("scx_oracle")), Some(&sub)).unwrap();
        assert_eq!(got, bin.join("libonnxruntime.so"));
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&other).unwrap();
    }
}
