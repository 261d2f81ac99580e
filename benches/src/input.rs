//! Seeded input streams: identical bytes on every machine and every version.
//!
//! Every workload draws its input from ChaCha20 keyed by SHA-256 of
//! `"benchseal/input/v1/" + stream name`. The stream name is normally the workload id
//! without its size tier, so tiers of one workload share a prefix of the same stream.

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

/// Domain-separation prefix of every seed; changing it changes every input digest.
pub const SEED_DOMAIN: &str = "benchseal/input/v1/";

/// A deterministic byte and number stream for one named input.
pub struct InputStream(ChaCha20Rng);

impl InputStream {
    /// The stream for `name`.
    pub fn new(name: &str) -> Self {
        let seed: [u8; 32] = Sha256::new()
            .chain_update(SEED_DOMAIN.as_bytes())
            .chain_update(name.as_bytes())
            .finalize()
            .into();
        InputStream(ChaCha20Rng::from_seed(seed))
    }

    /// Fills `buf` with stream bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        self.0.fill_bytes(buf);
    }

    /// `n` stream bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0; n];
        self.fill(&mut v);
        v
    }

    /// Next 32-bit value.
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// Next 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A value uniform in `0..bound` (bound > 0), by rejection so every machine agrees.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "below(0)");
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % bound;
            }
        }
    }

    /// A float uniform in `[0, 1)` built from 53 stream bits.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_same_bytes_and_names_differ() {
        assert_eq!(
            InputStream::new("a").bytes(64),
            InputStream::new("a").bytes(64)
        );
        assert_ne!(
            InputStream::new("a").bytes(64),
            InputStream::new("b").bytes(64)
        );
    }

    #[test]
    fn stream_is_pinned() {
        // Pins the seed derivation and the cipher: if this changes, every golden digest does.
        let first = InputStream::new("pin").bytes(8);
        assert_eq!(format!("{first:02x?}"), "[2a, 9f, 36, 55, a7, bc, 0e, 42]");
    }
}

/// The boundary every [`AlignedBytes`] starts on: a cache line, and more than any vector
/// load the kernels make.
pub const INPUT_ALIGN: usize = 64;

/// Input bytes that start on an [`INPUT_ALIGN`]-byte boundary wherever the allocator put
/// them. A kernel with an alignment prologue (and the C library's `memcmp`) runs a
/// different number of instructions for another start address, and a heap address depends
/// on what the process allocated before (its arguments, its environment, other cases): the
/// same build would count differently in another bench process. Aligned, it does not.
#[derive(Debug, PartialEq, Eq)]
pub struct AlignedBytes {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl AlignedBytes {
    pub fn new(bytes: &[u8]) -> Self {
        let mut storage = vec![0u8; bytes.len() + INPUT_ALIGN];
        // The storage never grows, so its address (and this offset) stays valid.
        let start = storage.as_ptr().align_offset(INPUT_ALIGN);
        storage[start..start + bytes.len()].copy_from_slice(bytes);
        AlignedBytes {
            storage,
            start,
            len: bytes.len(),
        }
    }
}

/// A clone is a new allocation: aligned again, not at the original's offset.
impl Clone for AlignedBytes {
    fn clone(&self) -> Self {
        AlignedBytes::new(self)
    }
}

impl std::ops::Deref for AlignedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }
}

impl std::ops::DerefMut for AlignedBytes {
    fn deref_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod aligned_tests {
    use super::*;

    #[test]
    fn aligned_bytes_start_on_the_boundary_and_keep_their_content() {
        for len in [0, 1, 13, 4096] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut aligned = AlignedBytes::new(&data);
            assert_eq!(&aligned[..], &data[..]);
            assert_eq!(aligned.as_ptr() as usize % INPUT_ALIGN, 0);
            let copy = aligned.clone();
            assert_eq!(
                copy.as_ptr() as usize % INPUT_ALIGN,
                0,
                "a clone is aligned too"
            );
            if len > 0 {
                aligned[0] = 0xFF;
                assert_eq!(aligned[0], 0xFF);
            }
        }
    }
}
