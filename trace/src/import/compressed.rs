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
    let zstd = head.starts_with(&ZSTD);
    let mut text: Box<dyn BufRead> = if zstd {
        let d = zstd::stream::read::Decoder::with_buffer(r)
            .with_context(|| format!("{}: zstd stream", path.display()))?;
        Box::new(BufReader::with_capacity(BUF, d))
    } else {
        for (magic, name, undo) in NAMED {
            if head.starts_with(magic) {
                bail!(
                    "{0} is {name}-compressed: decompress it first (`{undo} {0}`), or recompress \
                     it with zstd, which import reads as it is",
                    path.display()
                );
            }
        }
        Box::new(r)
    };
    // What the text would start with, decompressed: a binary recording is named (recording.rs).
    let head = text
        .fill_buf()
        .with_context(|| format!("reading {}", path.display()))?;
    if !zstd {
        return super::recording::refuse_binary(path, head).map(|()| text);
    }
    // The commands a refusal names read the decompressed file: `zstd -dk` names it without .zst.
    let plain = match path.extension() {
        Some(e) if e == "zst" => path.with_extension(""),
        _ => path.to_path_buf(),
    };
    super::recording::refuse_binary(&plain, head).map_err(|e| {
        e.context(format!(
            "{0} is zstd-compressed (`zstd -dk {0}` undoes it)",
            path.display()
        ))
    })?;
    Ok(text)
}
