//! libbpf-rs skeleton of bpf/oracle.bpf.c, generated in build.rs.
#![allow(clippy::all, non_upper_case_globals, non_camel_case_types, dead_code)]
include!(concat!(env!("OUT_DIR"), "/bpf_skel.rs"));
