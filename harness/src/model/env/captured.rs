//! [`Captured`]: a value that was read, or the reason it could not be.
//!
//! Every probe of the machine may fail (a VM without cpufreq, a container without
//! `/sys`, a tool that is not installed). A failure is a fact about the environment worth
//! recording, so it is stored next to the values instead of aborting the capture. In JSON
//! a present value is written as itself and an absent one as `{"absent": "<reason>"}`,
//! which keeps snapshots readable by people and by `jq`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A captured value, or why it is absent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Captured<T> {
    /// Listed first so that `{"absent": …}` is never mistaken for a value when reading.
    Absent(Absent),
    Present(T),
}

/// The reason a value could not be captured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Absent {
    pub absent: String,
}

impl<T> Captured<T> {
    /// An absent value with its reason.
    pub fn absent(reason: impl Into<String>) -> Self {
        Captured::Absent(Absent {
            absent: reason.into(),
        })
    }

    pub fn value(&self) -> Option<&T> {
        match self {
            Captured::Present(v) => Some(v),
            Captured::Absent(_) => None,
        }
    }

    /// Why the value is absent, if it is.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Captured::Present(_) => None,
            Captured::Absent(a) => Some(&a.absent),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Captured<U> {
        match self {
            Captured::Present(v) => Captured::Present(f(v)),
            Captured::Absent(a) => Captured::Absent(a),
        }
    }

    /// Chains a fallible step; its error becomes the absence reason.
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Result<U, String>) -> Captured<U> {
        match self {
            Captured::Present(v) => match f(v) {
                Ok(u) => Captured::Present(u),
                Err(reason) => Captured::absent(reason),
            },
            Captured::Absent(a) => Captured::Absent(a),
        }
    }

    pub fn as_ref(&self) -> Captured<&T> {
        match self {
            Captured::Present(v) => Captured::Present(v),
            Captured::Absent(a) => Captured::Absent(a.clone()),
        }
    }
}

/// What a field missing from a stored snapshot reads as.
impl<T> Default for Captured<T> {
    fn default() -> Self {
        Captured::absent("not recorded")
    }
}

impl<T> From<Result<T, String>> for Captured<T> {
    fn from(result: Result<T, String>) -> Self {
        match result {
            Ok(v) => Captured::Present(v),
            Err(reason) => Captured::absent(reason),
        }
    }
}

impl<T: fmt::Display> fmt::Display for Captured<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Captured::Present(v) => v.fmt(f),
            Captured::Absent(a) => write!(f, "absent ({})", a.absent),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_form_is_the_value_or_an_absent_object() {
        let present: Captured<String> = Captured::Present("performance".into());
        let absent: Captured<String> = Captured::absent("no cpufreq on this machine");
        assert_eq!(serde_json::to_string(&present).unwrap(), "\"performance\"");
        assert_eq!(
            serde_json::to_string(&absent).unwrap(),
            r#"{"absent":"no cpufreq on this machine"}"#
        );
        for c in [present, absent] {
            let back: Captured<String> =
                serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
            assert_eq!(back, c);
        }
    }

    #[test]
    fn absent_displays_its_reason() {
        let c: Captured<u64> = Captured::absent("missing");
        assert_eq!(c.to_string(), "absent (missing)");
        assert_eq!(Captured::Present(3u64).to_string(), "3");
    }
}
