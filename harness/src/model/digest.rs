//! SHA-256 helpers, canonical JSON and seals.
//!
//! A seal is the SHA-256 of the canonical JSON of a document with its `seal` field removed.
//! Canonical JSON here is serde_json's compact form of a `Value`, whose maps are sorted by
//! key (the crate is built without `preserve_order`), so the bytes depend only on content.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A streaming SHA-256 that renders as lower-case hex.
#[derive(Default, Clone)]
pub struct Hasher(Sha256);

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    pub fn finish_hex(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// The canonical JSON bytes of `value` (sorted keys, compact).
pub fn canonical_json<T: Serialize>(value: &T) -> serde_json::Result<String> {
    let value = serde_json::to_value(value)?;
    serde_json::to_string(&value)
}

/// The seal of `value`: SHA-256 of its canonical JSON without the top-level `seal` field.
pub fn seal_of<T: Serialize>(value: &T) -> serde_json::Result<String> {
    let mut value = serde_json::to_value(value)?;
    if let Some(map) = value.as_object_mut() {
        map.remove("seal");
    }
    Ok(sha256_hex(serde_json::to_string(&value)?.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn seal_ignores_key_order_and_the_seal_field() {
        let a = serde_json::json!({"b": 1, "a": [1, 2], "seal": "x"});
        let b = serde_json::json!({"a": [1, 2], "b": 1});
        assert_eq!(seal_of(&a).unwrap(), seal_of(&b).unwrap());
        let c = serde_json::json!({"a": [1, 2], "b": 2});
        assert_ne!(seal_of(&a).unwrap(), seal_of(&c).unwrap());
    }
}
