//! The clock, read in one place.
//!
//! Two readings: [`now_rfc3339`], the time of an event (a run starting, a snapshot being
//! taken), and [`document_time_rfc3339`], the time a document is stamped with, which
//! `SOURCE_DATE_EPOCH` (the reproducible-builds convention) overrides so that documents
//! made twice from the same inputs are byte-identical.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `time` as RFC 3339, or `unknown` if it cannot be written.
pub fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_else(|_| "unknown".into())
}

/// Now, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    rfc3339(now())
}

/// The time to stamp a document with: now to the second, or `SOURCE_DATE_EPOCH`.
pub fn document_time_rfc3339() -> String {
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
        .unwrap_or_else(now);
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}
