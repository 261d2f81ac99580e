//! SHA-256 helpers, canonical JSON and seals.
//!
//! A seal is the SHA-256 of the canonical JSON of a document with its `seal` field removed.
//! Canonical JSON is RFC 8785's (JCS), so the seal depends only on content and any JCS
//! implementation recomputes it; the seal names its scheme ([`SealScheme`]), and seals of
//! the earlier scheme (before 0.1.2) still verify.

use serde::Serialize;
use serde_json::Value;
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

/// How a seal was computed: named by the seal's prefix, so a reader knows which
/// canonical form to recompute and records sealed before RFC 8785 still verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealScheme {
    /// `jcs-sha256:<hex>`: SHA-256 of the RFC 8785 (JSON Canonicalization Scheme) bytes,
    /// produced by the `serde_json_canonicalizer` crate: keys sorted by UTF-16 code units,
    /// numbers written as ECMAScript writes a double, minimal string escapes. Any JCS
    /// implementation in any language recomputes it from the file.
    Jcs,
    /// A bare 64-digit hex digest: SHA-256 of serde_json's compact form with keys sorted by
    /// bytes (records and reports written before version 0.1.2). Verified, never written.
    Legacy,
}

impl SealScheme {
    /// The prefix a seal of this scheme carries.
    pub const JCS_PREFIX: &'static str = "jcs-sha256:";

    /// The scheme of a stored seal, or why it is not one.
    pub fn of(seal: &str) -> Result<SealScheme, String> {
        let is_hex = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
        match seal.strip_prefix(Self::JCS_PREFIX) {
            Some(hex) if is_hex(hex) => Ok(SealScheme::Jcs),
            None if is_hex(seal) => Ok(SealScheme::Legacy),
            _ => Err(format!(
                "`{seal}` is not a seal: expected `{}` and 64 hex digits (or, before 0.1.2, \
                 64 hex digits alone)",
                Self::JCS_PREFIX
            )),
        }
    }

    /// The name a report shows.
    pub fn describe(self) -> &'static str {
        match self {
            SealScheme::Jcs => "SHA-256 of RFC 8785 canonical JSON",
            SealScheme::Legacy => "SHA-256 of sorted compact JSON, the scheme before 0.1.2",
        }
    }

    /// The digest of `value` in this scheme.
    pub fn digest(self, value: &Value) -> Result<String, String> {
        match self {
            SealScheme::Jcs => {
                check_i_json(value, &mut String::new())?;
                let bytes = serde_json_canonicalizer::to_vec(value).map_err(|e| e.to_string())?;
                Ok(format!("{}{}", Self::JCS_PREFIX, sha256_hex(&bytes)))
            }
            SealScheme::Legacy => Ok(sha256_hex(
                serde_json::to_string(value)
                    .map_err(|e| e.to_string())?
                    .as_bytes(),
            )),
        }
    }
}

/// The largest integer a double holds exactly (2^53 − 1): RFC 8785 writes every number as a
/// double, so a larger integer would be sealed rounded and an edit to its low digits would
/// not change the seal. A sealed document must be I-JSON (RFC 7493, section 2.2).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Refuses an integer outside ±[`MAX_SAFE_INTEGER`], naming where it is.
fn check_i_json(value: &Value, path: &mut String) -> Result<(), String> {
    match value {
        Value::Number(n) => {
            let unsafe_integer = n.as_u64().is_some_and(|v| v > MAX_SAFE_INTEGER)
                || n.as_i64()
                    .is_some_and(|v| v.unsigned_abs() > MAX_SAFE_INTEGER);
            if unsafe_integer {
                return Err(format!(
                    "`{}` = {n} cannot be sealed: integers beyond 2^53 − 1 lose digits in RFC \
                     8785 canonical JSON",
                    if path.is_empty() { "." } else { path }
                ));
            }
            Ok(())
        }
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let checked = check_i_json(item, path);
            path.truncate(len);
            checked
        }),
        Value::Object(map) => map.iter().try_for_each(|(key, item)| {
            let len = path.len();
            path.push('.');
            path.push_str(key);
            let checked = check_i_json(item, path);
            path.truncate(len);
            checked
        }),
        _ => Ok(()),
    }
}

/// `value` as a JSON value without its top-level `seal` field.
fn unsealed<T: Serialize>(value: &T) -> Result<Value, String> {
    let mut value = serde_json::to_value(value).map_err(|e| e.to_string())?;
    if let Some(map) = value.as_object_mut() {
        map.remove("seal");
    }
    Ok(value)
}

/// The seal of `value` as written today: [`SealScheme::Jcs`] over the document without its
/// top-level `seal` field.
pub fn seal_of<T: Serialize>(value: &T) -> Result<String, String> {
    seal_with(value, SealScheme::Jcs)
}

/// The seal of `value` in `scheme` (re-deriving a document sealed before 0.1.2).
pub fn seal_with<T: Serialize>(value: &T, scheme: SealScheme) -> Result<String, String> {
    scheme.digest(&unsealed(value)?)
}

/// Checks a stored seal against the content, in the scheme the seal names. `Ok` gives the
/// scheme; `Err` says what does not match.
pub fn check_seal<T: Serialize>(value: &T, stored: &str) -> Result<SealScheme, String> {
    let scheme = SealScheme::of(stored)?;
    let actual = seal_with(value, scheme)?;
    if actual == stored {
        Ok(scheme)
    } else {
        Err(format!(
            "seal mismatch: stored {stored}, content hashes to {actual}"
        ))
    }
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

    /// The example of RFC 8785, section 3.2.2: its canonical bytes are the input of the
    /// seal, so any JCS implementation recomputes a benchseal seal.
    #[test]
    fn seal_is_the_sha256_of_rfc_8785_bytes() {
        let input = r#"{
            "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
            "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
            "literals": [null, true, false]
        }"#;
        let expected = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
        let value: Value = serde_json::from_str(input).unwrap();
        assert_eq!(
            serde_json_canonicalizer::to_string(&value).unwrap(),
            expected
        );
        assert_eq!(
            seal_of(&value).unwrap(),
            format!("jcs-sha256:{}", sha256_hex(expected.as_bytes()))
        );
        assert_eq!(
            check_seal(&value, &seal_of(&value).unwrap()),
            Ok(SealScheme::Jcs)
        );
    }

    #[test]
    fn earlier_seals_still_verify_and_name_their_scheme() {
        let doc = serde_json::json!({"b": 1.0, "a": "x"});
        let legacy = sha256_hex(br#"{"a":"x","b":1.0}"#);
        assert_eq!(check_seal(&doc, &legacy), Ok(SealScheme::Legacy));
        let edited = serde_json::json!({"b": 2.0, "a": "x"});
        let err = check_seal(&edited, &legacy).unwrap_err();
        assert!(err.starts_with("seal mismatch: stored"), "{err}");
        // Both schemes see every edit; neither verifies the other's seal.
        let jcs = seal_of(&doc).unwrap();
        assert_ne!(
            jcs.strip_prefix(SealScheme::JCS_PREFIX),
            Some(legacy.as_str())
        );
        assert!(check_seal(&edited, &jcs).is_err());
    }

    #[test]
    fn malformed_seals_and_unsafe_integers_are_named() {
        for bad in ["", "abc", "jcs-sha256:", "sha256:00", &"g".repeat(64)] {
            let err = SealScheme::of(bad).unwrap_err();
            assert!(err.contains("is not a seal"), "{bad}: {err}");
        }
        let doc = serde_json::json!({"session": {"order_seed": MAX_SAFE_INTEGER + 1}});
        let err = seal_of(&doc).unwrap_err();
        assert!(err.contains("`.session.order_seed`"), "{err}");
        let negative = serde_json::json!({"list": [0, -(MAX_SAFE_INTEGER as i64) - 1]});
        assert!(seal_of(&negative).unwrap_err().contains("`.list[1]`"));
        let edge = serde_json::json!({"n": MAX_SAFE_INTEGER, "f": 1e300});
        assert!(seal_of(&edge).is_ok());
    }
}
