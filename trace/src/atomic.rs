//! Files that appear whole or not at all: written to `FILE.partial`, renamed into place by
//! [`AtomicFile::finish`]. A run that fails part-way leaves an earlier `FILE` as it was (and
//! the `.partial` beside it, to look at).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::format::partial_path;

pub struct AtomicFile {
    path: PathBuf,
    partial: PathBuf,
    w: BufWriter<File>,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let partial = partial_path(path);
        let f = File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
        Ok(AtomicFile { path: path.to_path_buf(), partial, w: BufWriter::new(f) })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.w
    }

    /// Flushes and renames `FILE.partial` to `FILE`.
    pub fn finish(mut self) -> Result<()> {
        self.w.flush().with_context(|| format!("writing {}", self.partial.display()))?;
        std::fs::rename(&self.partial, &self.path)
            .with_context(|| format!("renaming {} into place", self.path.display()))
    }
}

/// Writes `bytes` to `path` through an [`AtomicFile`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.writer().write_all(bytes).with_context(|| format!("writing {}", f.partial.display()))?;
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_when_finished() {
        let dir = std::env::temp_dir().join(format!("atomic-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.json");
        write_atomic(&path, b"old").unwrap();
        let mut f = AtomicFile::create(&path).unwrap();
        f.writer().write_all(b"new, half written").unwrap();
        f.writer().flush().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"old", "unfinished write replaced the file");
        f.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new, half written");
        assert!(!partial_path(&path).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
