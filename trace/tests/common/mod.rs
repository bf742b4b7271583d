//! Helpers shared by the integration tests: a seeded RNG (no proptest dependency) and
//! random event generation.
#![allow(dead_code)]

use trace::{Event, EventKind, ShortStr};

/// xorshift64*: deterministic, seedable, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn bytes(&mut self, max_len: usize) -> Vec<u8> {
        let n = self.below(max_len as u64 + 1) as usize;
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Comm values that break naive CSV/UTF-8 handling.
pub const NASTY_COMMS: &[&[u8]] = &[
    b"bash",
    b"Web Content",
    b"a,b",
    b"say \"hi\"",
    b" lead",
    b"trail ",
    b"",
    b"back\\slash",
    b"\xff\xfe\x80bin",
    b"tab\tnl\n",
    b"kworker/u8:2",
    b"#hash",
    b"\xc3\xb1and\xc3\xba",
    b"=>",
];

pub fn random_short(r: &mut Rng) -> ShortStr {
    if r.chance(50) {
        ShortStr::from_bytes(NASTY_COMMS[r.below(NASTY_COMMS.len() as u64) as usize])
    } else {
        ShortStr::from_bytes(&r.bytes(15))
    }
}

fn opt<T>(r: &mut Rng, v: T) -> Option<T> {
    if r.chance(80) {
        Some(v)
    } else {
        None
    }
}

pub fn random_event(r: &mut Rng) -> Event {
    let kind = EventKind::ALL[r.below(5) as usize];
    let mut e = Event::new(r.next_u64(), r.next_u64() as u32, kind);
    e.prev_pid = {
        let v = r.next_u64() as i32;
        opt(r, v)
    };
    e.prev_tgid = {
        let v = r.next_u64() as i32;
        opt(r, v)
    };
    let c = random_short(r);
    e.prev_comm = opt(r, c);
    e.prev_prio = {
        let v = r.below(140) as i32 - 1;
        opt(r, v)
    };
    let s = random_short(r);
    e.prev_state = opt(r, s);
    e.next_pid = {
        let v = r.next_u64() as i32;
        opt(r, v)
    };
    e.next_tgid = {
        let v = r.next_u64() as i32;
        opt(r, v)
    };
    let c = random_short(r);
    e.next_comm = opt(r, c);
    e.next_prio = {
        let v = r.below(140) as i32;
        opt(r, v)
    };
    e.nr_running = {
        let v = r.next_u64() as u32;
        opt(r, v)
    };
    e.target_cpu = {
        let v = r.next_u64() as u32;
        opt(r, v)
    };
    e.prev_runtime_ns = {
        let v = r.next_u64(); // the full u64 range: the column is stored bit-cast in an i64
        opt(r, v)
    };
    e
}

pub fn random_events(seed: u64, n: usize) -> Vec<Event> {
    let mut r = Rng::new(seed);
    (0..n).map(|_| random_event(&mut r)).collect()
}

/// A fresh scratch directory under cargo's per-target test tmpdir (no tempfile dependency).
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let d = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("oracle_trace_{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
