//! The `log` backend: one line per message on stderr, `scx_oracle: ` in front and the level
//! spelled out unless it is plain info. `-v` on a subcommand raises the level to debug.
use log::{Level, LevelFilter, Log, Metadata, Record};

struct StderrLogger;

static LOGGER: StderrLogger = StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            Level::Info => String::new(),
            Level::Warn => "warning: ".into(),
            other => format!("{}: ", other.as_str().to_ascii_lowercase()),
        };
        eprintln!("scx_oracle: {level}{}", record.args());
    }

    fn flush(&self) {}
}

/// Installs the logger at info level; call once, first thing in main.
pub fn init() {
    // Only fails if a logger is already set, and then messages still go somewhere.
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(LevelFilter::Info);
}

/// `-v`: debug messages too.
pub fn set_verbose(verbose: bool) {
    if verbose {
        log::set_max_level(LevelFilter::Debug);
    }
}
