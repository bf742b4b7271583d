//! trace: the trace stage of scx_oracle (trace -> dataset -> model -> agent -> report).
//!
//! - [`Event`] / [`EventKind`] / [`Task`]: one scheduler event per row (schema in `SCHEMA.md`).
//! - [`TraceWriter`] / [`TraceReader`]: streaming Parquet and CSV files with crash-safe
//!   `.partial` + rename and `complete=true` metadata.
//! - [`import`]: `perf sched script`, ftrace / trace-cmd text and `perf sched map` importers.
//! - [`stats`]: per-workload summaries; [`cli`]: clap subcommands for the `scx_oracle` binary.

pub mod atomic;
pub mod event;
pub mod format;
pub mod meta;
pub mod reader;
pub mod text;
pub mod writer;

pub use event::{state_from_report_bits, Event, EventKind, ShortStr, Task};
pub use format::Format;
pub use meta::{source, TraceMeta, SCHEMA_VERSION};
pub use reader::{read_trace, ReadOptions, TraceReader};
pub use writer::{TraceWriter, WriterOptions};
pub mod cli;
pub mod import;
pub mod stats;
