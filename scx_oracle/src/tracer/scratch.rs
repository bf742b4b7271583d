//! Test-only: a scratch directory per test under the system temp dir,
//! removed when the test passes and kept (for a look) when it fails.
use std::path::PathBuf;

pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// `test` names the directory: unique per test, so parallel tests never share one.
    pub fn new(test: &str) -> Self {
        let d = std::env::temp_dir().join(format!("scx_oracle-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        ScratchDir(d)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
