//! `IdMap`: a `HashMap` for the small integer ids the engine looks up on every frame
//! (channels, handles, link and session ids), with a multiplicative hasher instead of
//! SipHash. The maps are bounded by channel-max, handle-max and the application's link
//! limits, so flooding attacks on the hash cannot grow them.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by small integer ids.
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// The hasher of [`IdMap`]: rotate, xor and multiply per integer written (Fx-style).
#[derive(Debug, Default, Clone, Copy)]
pub struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u32) -> u64 {
        let mut h = IdHasher::default();
        h.write_u32(i);
        h.finish()
    }

    /// Lookups work, and consecutive ids spread over what hashbrown uses: the low bits
    /// (bucket index) and the top 7 bits (control tag).
    #[test]
    fn map_works_and_spreads() {
        let mut m: IdMap<u32, u32> = IdMap::default();
        for i in 0..10_000 {
            m.insert(i, i * 2);
        }
        assert!((0..10_000).all(|i| m[&i] == i * 2));
        let low: std::collections::HashSet<u64> = (0..1000).map(|i| hash(i) & 4095).collect();
        assert_eq!(low.len(), 1000, "bucket bits");
        let tags: std::collections::HashSet<u64> = (0..1000).map(|i| hash(i) >> 57).collect();
        assert_eq!(tags.len(), 128, "control tags");
    }
}
