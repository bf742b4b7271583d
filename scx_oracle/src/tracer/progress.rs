//! The ~1/s progress line on stderr while tracing.
use std::time::{Duration, Instant};

pub struct Progress {
    start: Instant,
    last: Instant,
    last_events: u64,
}

impl Progress {
    pub fn new(start: Instant) -> Self {
        Progress { start, last: start, last_events: 0 }
    }

    /// Says the probes are attached (tests and scripts wait for this line).
    pub fn started(&self) {
        eprintln!("trace: recording (SIGINT or SIGTERM stops)");
    }

    /// Prints a line if a second has passed since the last one.
    pub fn tick(&mut self, events: u64, lost: u64) {
        let now = Instant::now();
        let dt = now - self.last;
        if dt < Duration::from_secs(1) {
            return;
        }
        let rate = (events - self.last_events) as f64 / dt.as_secs_f64();
        eprintln!(
            "trace: {:7.1} s  {events:>11} events  {rate:>10.0} ev/s  {lost} lost",
            (now - self.start).as_secs_f64()
        );
        self.last = now;
        self.last_events = events;
    }
}
