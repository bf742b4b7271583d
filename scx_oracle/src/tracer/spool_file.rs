//! [`SpoolFile`]: the spool's sink on the writer thread. Chunks are written
//! with O_DIRECT, straight from their buffers to the disk: a buffered write
//! would copy each chunk into the page cache, reading back buffer memory that
//! has long left the CPU's caches (on the switch storm that copy was 3/4 of
//! the tracer process's time) and leaving the kernel's writeback to do later.
//! Each chunk is padded to whole 4 KiB blocks and starts on one (see
//! `SpoolChunk`). Where O_DIRECT is refused (tmpfs on older kernels, some
//! filesystems) the file is written through the page cache instead.
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::libc;

use super::background::Sink;
use super::spool::SpoolChunk;

pub struct SpoolFile {
    path: PathBuf,
    file: File,
    direct: bool,
}

impl SpoolFile {
    /// Where the spool of trace file `output` goes: next to it (same disk).
    pub fn path_for(output: &Path) -> PathBuf {
        let mut p = output.as_os_str().to_owned();
        p.push(".spool");
        PathBuf::from(p)
    }

    pub fn create(path: PathBuf) -> Result<Self> {
        let open = |flags| OpenOptions::new().write(true).create(true).truncate(true).custom_flags(flags).open(&path);
        let (file, direct) = match open(libc::O_DIRECT) {
            Ok(f) => (f, true),
            Err(_) => (open(0).with_context(|| format!("creating the spool file {}", path.display()))?, false),
        };
        log::debug!("trace: spool {} ({})", path.display(), if direct { "O_DIRECT" } else { "buffered" });
        Ok(SpoolFile { path, file, direct })
    }

    /// Closes the file; returns its path.
    pub fn finish(mut self) -> Result<PathBuf> {
        self.file.flush().with_context(|| format!("writing {}", self.path.display()))?;
        Ok(self.path)
    }

    /// From now on through the page cache (O_DIRECT refused a write).
    fn go_buffered(&mut self) -> Result<()> {
        let fd = self.file.as_raw_fd();
        // SAFETY: fcntl on a descriptor we own.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_DIRECT) } < 0 {
            return Err(std::io::Error::last_os_error()).with_context(|| format!("leaving O_DIRECT on {}", self.path.display()));
        }
        log::debug!("trace: spool {}: O_DIRECT refused, writing through the page cache", self.path.display());
        self.direct = false;
        Ok(())
    }
}

impl Sink for SpoolFile {
    type Batch = SpoolChunk;
    fn write(&mut self, batch: &mut SpoolChunk) -> Result<()> {
        // Padded in both modes, so the file is whole blocks either way.
        batch.pad_to_block();
        let res = self.file.write_all(batch.bytes());
        let res = match res {
            // EINVAL: this file or device wants another alignment. Nothing was written.
            Err(e) if self.direct && e.raw_os_error() == Some(libc::EINVAL) => {
                self.go_buffered()?;
                self.file.write_all(batch.bytes())
            }
            r => r,
        };
        res.with_context(|| format!("writing the spool file {}", self.path.display()))
    }
}
