//! Output files of `encode` / `eval`: written to `FILE.partial` and renamed into place when
//! complete, so a run that fails part-way leaves an earlier `FILE` as it was.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use trace::format::partial_path;

pub struct OutFile {
    path: PathBuf,
    w: BufWriter<File>,
}

impl OutFile {
    pub fn create(path: &Path) -> Result<OutFile> {
        let tmp = partial_path(path);
        let f = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        Ok(OutFile {
            path: path.to_path_buf(),
            w: BufWriter::new(f),
        })
    }

    pub fn writer(&mut self) -> &mut BufWriter<File> {
        &mut self.w
    }

    pub fn finish(mut self) -> Result<()> {
        self.w
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))?;
        std::fs::rename(partial_path(&self.path), &self.path)
            .with_context(|| format!("renaming {} into place", self.path.display()))
    }
}
