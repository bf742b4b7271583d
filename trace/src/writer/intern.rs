//! Short strings that repeat row after row (comms, task states) as leaked `'static`
//! bytes, so the Parquet writer hands each row's value over without copying it or
//! taking a refcounted slice of a buffer (an atomic increment and decrement per row).
//! Bounded: at most [`MAX_INTERNED`] distinct strings per process are ever leaked;
//! past that, callers copy as before.
use std::collections::HashMap;
use std::sync::Mutex;

use crate::event::ShortStr;

/// ~64 bytes each with the table entry: at most ~4 MiB for the life of the process.
const MAX_INTERNED: usize = 1 << 16;

static TABLE: Mutex<Option<HashMap<ShortStr, &'static [u8]>>> = Mutex::new(None);

/// The escaped text of `s` (see [`crate::text`]) as `'static` bytes; None once the
/// process has interned `MAX_INTERNED` strings.
fn intern(s: &ShortStr) -> Option<&'static [u8]> {
    let mut table = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    let table = table.get_or_insert_with(HashMap::new);
    if let Some(b) = table.get(s) {
        return Some(b);
    }
    if table.len() >= MAX_INTERNED {
        return None;
    }
    let b: &'static [u8] = Box::leak(s.escaped().into_bytes().into_boxed_slice());
    table.insert(*s, b);
    Some(b)
}

const SLOTS: usize = 512;

/// A writer's own direct-mapped cache in front of the process-wide table: a hit costs
/// a short hash and one comparison, no lock.
pub struct InternCache {
    slots: Vec<Option<(ShortStr, &'static [u8])>>,
}

impl Default for InternCache {
    fn default() -> Self {
        InternCache { slots: vec![None; SLOTS] }
    }
}

impl InternCache {
    #[inline]
    pub fn get(&mut self, s: &ShortStr) -> Option<&'static [u8]> {
        let slot = &mut self.slots[quick_hash(s.as_bytes()) % SLOTS];
        match slot {
            Some((k, v)) if k == s => Some(v),
            _ => {
                let v = intern(s)?;
                *slot = Some((*s, v));
                Some(v)
            }
        }
    }
}

/// Mixes the first 16 bytes and the length: enough to spread comms over the slots.
#[inline]
fn quick_hash(b: &[u8]) -> usize {
    let mut w = [0u8; 16];
    let n = b.len().min(16);
    w[..n].copy_from_slice(&b[..n]);
    let lo = u64::from_le_bytes(w[..8].try_into().unwrap());
    let hi = u64::from_le_bytes(w[8..].try_into().unwrap());
    let h = (lo ^ hi.rotate_left(29) ^ b.len() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (h >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_same_bytes_escaped() {
        let mut c = InternCache::default();
        let a = c.get(&ShortStr::from("kworker/0:1")).unwrap();
        assert_eq!(a, b"kworker/0:1");
        assert!(std::ptr::eq(a, c.get(&ShortStr::from("kworker/0:1")).unwrap()));
        let odd = ShortStr::from_bytes(b"a\\b\xff");
        assert_eq!(c.get(&odd).unwrap(), odd.escaped().as_bytes());
        // Another cache finds the process-wide copy.
        assert!(std::ptr::eq(a, InternCache::default().get(&ShortStr::from("kworker/0:1")).unwrap()));
    }
}
