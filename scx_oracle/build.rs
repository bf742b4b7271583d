// Compiles bpf/oracle.bpf.c (the scheduler) and bpf/trace.bpf.c (the event
// tracer) into libbpf-rs skeletons and turns their headers into Rust
// bindings, with clang from $BPF_CLANG (.cargo/config.toml: clang-19).
// Two builders, because one BpfBuilder links all its sources into one object.
fn main() {
    let bpf_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../bpf");
    let builder = || {
        scx_cargo::BpfBuilder::new()
            .expect("BPF build setup failed (is clang-19 installed? run scripts/setup-host)")
    };
    builder()
        .enable_intf(&format!("{bpf_dir}/intf.h"), "bpf_intf.rs")
        .enable_skel(&format!("{bpf_dir}/oracle.bpf.c"), "bpf")
        .build()
        .expect("BPF build failed");
    builder()
        .enable_intf(&format!("{bpf_dir}/trace_intf.h"), "trace_intf.rs")
        .enable_skel(&format!("{bpf_dir}/trace.bpf.c"), "trace")
        .build()
        .expect("BPF tracer build failed");
    for f in ["intf.h", "oracle.bpf.c", "trace_intf.h", "trace.bpf.c"] {
        println!("cargo:rerun-if-changed={bpf_dir}/{f}");
    }
}
