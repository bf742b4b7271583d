//! Output files of `encode` / `eval`: the workspace's one write-then-rename helper.

pub use trace::atomic::AtomicFile as OutFile;
