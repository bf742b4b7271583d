//! libbpf-rs skeleton of bpf/trace.bpf.c, generated in build.rs.
#![allow(clippy::all, non_upper_case_globals, non_camel_case_types, dead_code)]
include!(concat!(env!("OUT_DIR"), "/trace_skel.rs"));
