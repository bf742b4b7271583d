// Compiles bpf/oracle.bpf.c into a libbpf-rs skeleton and turns bpf/intf.h
// into Rust bindings, with clang from $BPF_CLANG (.cargo/config.toml: clang-19).
fn main() {
    let bpf_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../bpf");
    scx_cargo::BpfBuilder::new()
        .expect("BPF build setup failed (is clang-19 installed? run scripts/setup-host)")
        .enable_intf(&format!("{bpf_dir}/intf.h"), "bpf_intf.rs")
        .enable_skel(&format!("{bpf_dir}/oracle.bpf.c"), "bpf")
        .build()
        .expect("BPF build failed");
    println!("cargo:rerun-if-changed={bpf_dir}/intf.h");
    println!("cargo:rerun-if-changed={bpf_dir}/oracle.bpf.c");
}
