//! scx_oracle: a sched_ext scheduler whose pick-next decisions are made in
//! userspace by a pluggable policy.
mod bpf_intf;
mod bpf_scheduler;
mod bpf_skel;
mod latency;
mod live_events;
mod logger;
mod memlock;
mod model_reload;
mod policy;
mod run;
mod scheduler;
mod shadow;
mod stats;
mod summary;
mod task;
mod tracer;
mod wire;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "scx_oracle", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load the BPF scheduler and make every pick-next decision in userspace.
    Run(run::RunArgs),
    /// Convert perf/ftrace text traces into the trace schema (Parquet or CSV).
    Import(trace::cli::ImportArgs),
    /// Summarise traces: events, tasks, switch rates, next-task repeat rates.
    Stats(trace::cli::StatsArgs),
    /// Record scheduler events (BPF raw tracepoints) into a trace file.
    Trace(tracer::TraceArgs),
    /// Encode a trace into model steps as JSON lines (same format as `python -m model encode`).
    Encode(oracle::cli_encode::EncodeArgs),
    /// Replay traces through an ONNX model: top-1/top-3 accuracy and inference latency as JSON.
    Eval(oracle::cli_eval::EvalArgs),
    /// Watch the kernel's own schedule (any BPF kernel, no sched_ext): the model ranks every
    /// switch's candidates live; online top-1/top-3 per CPU, misses, cost, events lost.
    Shadow(shadow::ShadowArgs),
}

fn main() {
    logger::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Import(args) => args.run().map(|()| 0),
        Command::Stats(args) => args.run().map(|()| 0),
        Command::Trace(args) => tracer::run(args),
        Command::Encode(args) => args.run(),
        Command::Eval(args) => args.run(),
        Command::Shadow(args) => shadow::run(args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            log::error!("{e:#}");
            std::process::exit(1);
        }
    }
}
