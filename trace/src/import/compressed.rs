//! Text traces are often kept compressed. A zstd file (the `.zst` users and perf's own data
//! use) is decompressed as it streams; gzip, xz and bzip2 are named, with the command that
//! undoes them, where they would otherwise be parsed as binary noise ("no events imported").

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{bail, Context, Result};

const BUF: usize = 1 << 20;

/// The other compressors users reach for: magic bytes, name, the command that undoes them.
const NAMED: [(&[u8], &str, &str); 3] = [
    (&[0x1f, 0x8b], "gzip", "gunzip -k"),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], "xz", "xz -dk"),
    (b"BZh", "bzip2", "bunzip2 -k"),
];
const ZSTD: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// `path` as text lines: plain, or decompressed when it is zstd; an error naming the
/// compressor when it is another one, or the recording when it is binary (recording.rs).
pub(crate) fn open_text(path: &Path) -> Result<Box<dyn BufRead>> {
    let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut r = BufReader::with_capacity(BUF, f);
    let head = r
        .fill_buf()
        .with_context(|| format!("reading {}", path.display()))?;
    if head.starts_with(&ZSTD) {
        let d = zstd::stream::read::Decoder::with_buffer(r)
            .with_context(|| format!("{}: zstd stream", path.display()))?;
        let mut d = BufReader::with_capacity(BUF, d);
        let head = d
            .fill_buf()
            .with_context(|| format!("{}: zstd stream", path.display()))?;
        super::recording::refuse_binary(path, head)?;
        return Ok(Box::new(d));
    }
    for (magic, name, undo) in NAMED {
        if head.starts_with(magic) {
            bail!(
                "{0} is {name}-compressed: decompress it first (`{undo} {0}`), or recompress it \
                 with zstd, which import reads as it is",
                path.display()
            );
        }
    }
    super::recording::refuse_binary(path, head)?;
    Ok(Box::new(r))
}
