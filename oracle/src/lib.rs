//! oracle: the model side of scx_oracle — the PID-agnostic step encoding (a port of
//! model/encoding.py), the ONNX Runtime runner for the exported next-task LSTM, and the
//! `encode` / `eval` subcommands built on them. A library so benches and the agent share it.

pub mod baselines;
pub mod cli_encode;
pub mod cli_eval;
pub mod eevdf;
pub mod encoding;
pub mod events;
mod int_map;
pub mod live;
pub mod model;
pub mod native;
pub mod onnx_file;
pub mod ortlib;
pub mod out_file;
pub mod rank;
pub mod scorer;
pub mod spec;
pub mod timing;
pub mod trace_gaps;

#[cfg(test)]
mod encoding_tests;
#[cfg(test)]
mod eevdf_tests;

pub use encoding::{Encoder, Step};
pub use model::{LstmState, OracleModel};
pub use scorer::{Backend, Scorer};
pub use spec::{Spec, ENCODING_VERSION};
