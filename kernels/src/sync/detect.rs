//! Binary detection: should a sync tool treat this file as text (line diffs, newline
//! handling) or as opaque bytes?
//!
//! The decision is made in two steps, cheapest first:
//!
//! 1. **Extension lists** ([`by_extension`]): a known text extension (`rs`, `md`, …) means
//!    text and a known binary extension (`png`, `zip`, …) means binary, without reading
//!    a byte. Matching is ASCII case-insensitive; unknown or missing extensions fall
//!    through.
//! 2. **Content** ([`detect_content`]) over the *sample*, the first [`SAMPLE_LEN`] bytes:
//!    an empty file is text; any NUL byte makes it binary; otherwise it is binary when the
//!    *suspicious* bytes — below 32 other than TAB, LF and CR, or above 127 — are more than
//!    30% of the sample. The share is decided in integers, `suspicious * 10 > sampled * 3`,
//!    so no rounding can flip a file that sits exactly on the line (exactly 30% is text).
//!
//! Bytes above 127 count as suspicious even though UTF-8 text uses them: a page of mostly
//! non-Latin text can therefore be called binary. That is the documented rule of the
//! tools this mirrors, and the 30% allowance keeps accented Latin-script text on the
//! text side.
//!
//! The content scan has a scalar oracle ([`sample_stats_scalar`]) and SIMD paths that
//! return the identical [`SampleStats`], not merely the same verdict, so a property test
//! can pin every counted byte.

use std::path::Path;

use crate::simd::SimdLevel;

/// How many leading bytes of a file the content rules look at.
pub const SAMPLE_LEN: usize = 8192;

/// The two answers binary detection can give.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    Text,
    Binary,
}

impl FileKind {
    /// Lower-case name, as printed and serialised.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Text => "text",
            FileKind::Binary => "binary",
        }
    }
}

/// Which rule decided a [`Detection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The extension is on the text list.
    TextExtension,
    /// The extension is on the binary list.
    BinaryExtension,
    /// The file is empty.
    Empty,
    /// The sample contains a NUL byte.
    Nul,
    /// Suspicious bytes are more than 30% of the sample.
    SuspiciousShare,
    /// Suspicious bytes are at most 30% of the sample.
    MostlyPrintable,
}

/// A verdict together with the rule that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Detection {
    pub kind: FileKind,
    pub reason: Reason,
    /// The counts the content rules decided on; `None` when the extension decided.
    pub stats: Option<SampleStats>,
}

/// What the content scan counted in a sample; every path must produce exactly this.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SampleStats {
    /// Bytes examined: `min(len, SAMPLE_LEN)`.
    pub sampled: usize,
    /// Whether any examined byte is 0.
    pub has_nul: bool,
    /// Examined bytes below 32 other than TAB, LF, CR, or above 127 (a NUL counts too).
    pub suspicious: usize,
}

impl SampleStats {
    /// The verdict of the content rules on these counts.
    pub fn detection(&self) -> Detection {
        let (kind, reason) = if self.sampled == 0 {
            (FileKind::Text, Reason::Empty)
        } else if self.has_nul {
            (FileKind::Binary, Reason::Nul)
        } else if self.suspicious * 10 > self.sampled * 3 {
            // Integer form of `suspicious / sampled > 0.3`; sampled ≤ 8192 cannot overflow.
            (FileKind::Binary, Reason::SuspiciousShare)
        } else {
            (FileKind::Text, Reason::MostlyPrintable)
        };
        Detection {
            kind,
            reason,
            stats: Some(*self),
        }
    }
}

const TEXT_EXTENSIONS: &[&[u8]] = &[
    b"adoc",
    b"bat",
    b"c",
    b"cc",
    b"cfg",
    b"cmake",
    b"conf",
    b"cpp",
    b"cs",
    b"css",
    b"csv",
    b"cxx",
    b"diff",
    b"go",
    b"h",
    b"hpp",
    b"htm",
    b"html",
    b"ini",
    b"java",
    b"js",
    b"json",
    b"jsx",
    b"kt",
    b"lock",
    b"lua",
    b"m",
    b"md",
    b"mk",
    b"nix",
    b"patch",
    b"php",
    b"pl",
    b"properties",
    b"proto",
    b"ps1",
    b"py",
    b"rb",
    b"rs",
    b"rst",
    b"scala",
    b"sh",
    b"sql",
    b"svg",
    b"swift",
    b"tex",
    b"toml",
    b"ts",
    b"tsv",
    b"tsx",
    b"txt",
    b"xml",
    b"yaml",
    b"yml",
];

const BINARY_EXTENSIONS: &[&[u8]] = &[
    b"7z", b"a", b"avi", b"bmp", b"bz2", b"class", b"db", b"dll", b"dylib", b"exe", b"flac",
    b"gif", b"gz", b"ico", b"jar", b"jpeg", b"jpg", b"mkv", b"mov", b"mp3", b"mp4", b"o", b"obj",
    b"ogg", b"otf", b"pdf", b"png", b"pyc", b"rlib", b"so", b"sqlite", b"tar", b"tgz", b"ttf",
    b"wasm", b"wav", b"webp", b"woff", b"woff2", b"xz", b"zip", b"zst",
];

/// The longest extension on either list; longer extensions are unknown by construction.
const MAX_EXTENSION_LEN: usize = 10;

/// The verdict of the extension lists alone, or `None` when the extension is unknown.
pub fn by_extension(path: &Path) -> Option<FileKind> {
    let ext = path.extension()?.as_encoded_bytes();
    if ext.len() > MAX_EXTENSION_LEN {
        return None;
    }
    // Lower-case into a stack buffer: no allocation per file.
    let mut lower = [0u8; MAX_EXTENSION_LEN];
    let lower = &mut lower[..ext.len()];
    for (dst, src) in lower.iter_mut().zip(ext) {
        *dst = src.to_ascii_lowercase();
    }
    let lower: &[u8] = lower;
    if TEXT_EXTENSIONS.contains(&lower) {
        Some(FileKind::Text)
    } else if BINARY_EXTENSIONS.contains(&lower) {
        Some(FileKind::Binary)
    } else {
        None
    }
}

/// Full detection: the extension lists for `path`, then the content rules on `bytes`
/// (the file's contents or at least its first [`SAMPLE_LEN`] bytes).
pub fn detect(path: &Path, bytes: &[u8]) -> Detection {
    detect_with(path, || detect_content(bytes))
}

/// As [`detect`], with the content scan at `level` (narrowed to what this CPU supports;
/// `SimdLevel::None` is the scalar oracle).
pub fn detect_at(path: &Path, bytes: &[u8], level: SimdLevel) -> Detection {
    detect_with(path, || sample_stats_at(bytes, level).detection())
}

fn detect_with(path: &Path, by_content: impl FnOnce() -> Detection) -> Detection {
    match by_extension(path) {
        Some(FileKind::Text) => Detection {
            kind: FileKind::Text,
            reason: Reason::TextExtension,
            stats: None,
        },
        Some(FileKind::Binary) => Detection {
            kind: FileKind::Binary,
            reason: Reason::BinaryExtension,
            stats: None,
        },
        None => by_content(),
    }
}

/// The content rules alone, on the fastest path of this process.
pub fn detect_content(bytes: &[u8]) -> Detection {
    sample_stats(bytes).detection()
}

/// Whether `b` is suspicious: a control byte other than TAB, LF, CR, or a byte above 127.
#[inline]
pub fn is_suspicious(b: u8) -> bool {
    (b < 32 && !matches!(b, b'\t' | b'\n' | b'\r')) || b > 127
}

/// The scalar oracle of the content scan.
pub fn sample_stats_scalar(bytes: &[u8]) -> SampleStats {
    let sample = &bytes[..bytes.len().min(SAMPLE_LEN)];
    let mut stats = SampleStats {
        sampled: sample.len(),
        ..SampleStats::default()
    };
    for &b in sample {
        stats.has_nul |= b == 0;
        stats.suspicious += usize::from(is_suspicious(b));
    }
    stats
}

/// The content scan on the fastest path of this process ([`SimdLevel::detect`]).
pub fn sample_stats(bytes: &[u8]) -> SampleStats {
    sample_stats_checked_level(bytes, SimdLevel::detect())
}

/// The content scan at `level`, narrowed to what this CPU supports (for tests and for
/// benchmarks that pin a path).
pub fn sample_stats_at(bytes: &[u8], level: SimdLevel) -> SampleStats {
    sample_stats_checked_level(bytes, level.min(SimdLevel::hardware()))
}

/// Both callers narrow `level` to the CPU's; the arms still check the features they
/// enable (a cached load), so a wider level falls back to scalar instead of reaching an
/// instruction the CPU lacks.
fn sample_stats_checked_level(bytes: &[u8], level: SimdLevel) -> SampleStats {
    let sample = &bytes[..bytes.len().min(SAMPLE_LEN)];
    match level {
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx512
            if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512bw") =>
        {
            // SAFETY: the guard just checked AVX-512F and AVX-512BW, the features
            // `stats_avx512` enables.
            unsafe { x86::stats_avx512(sample) }
        }
        #[cfg(target_arch = "x86_64")]
        SimdLevel::Avx2 if is_x86_feature_detected!("avx2") => {
            // SAFETY: the guard just checked AVX2, the feature `stats_avx2` enables.
            unsafe { x86::stats_avx2(sample) }
        }
        _ => sample_stats_scalar(sample),
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{SampleStats, sample_stats_scalar};

    /// Low-nibble table for `pshufb`: lanes 9, 10 and 13 hold their own index, every
    /// other lane 0xFF. Looking a byte up by its low nibble and comparing the result with
    /// the byte itself is therefore true exactly for TAB, LF and CR (a byte with bit 7 set
    /// looks up 0, which never equals it).
    const ALLOWED_CONTROLS: [i8; 16] = [
        -1, -1, -1, -1, -1, -1, -1, -1, -1, 9, 10, -1, -1, 13, -1, -1,
    ];

    /// How many 64-byte pieces after a failed LF-only test take the full rule at once.
    const FULL_RULE_RUN: u32 = 4;

    /// AVX-512BW content scan. `sample.len() <= SAMPLE_LEN`.
    ///
    /// Per 64 bytes: a signed `< 32` compare selects controls *and* bytes above 127 in
    /// one go, a masked compare against the `pshufb` lookup removes TAB/LF/CR, and the
    /// mask's population count is the number of suspicious bytes. NUL is tracked through
    /// a running unsigned minimum, which costs one vector op instead of a compare. A full
    /// 64 bytes whose only bytes below 32 or above 127 are LF skip both (no suspicious byte,
    /// no NUL is possible there).
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) unsafe fn stats_avx512(sample: &[u8]) -> SampleStats {
        let limit = _mm512_set1_epi8(32);
        // SAFETY: reading 16 bytes from a 16-byte array.
        let table =
            _mm512_broadcast_i32x4(unsafe { _mm_loadu_si128(ALLOWED_CONTROLS.as_ptr().cast()) });
        let mut minimum = _mm512_set1_epi8(-1);
        let mut suspicious = 0u64;
        // A partial (< 64 bytes) piece: masked load, dead lanes read as 0xFF (which leaves
        // the minimum alone) and are masked out of the compare.
        let mut partial = |piece: &[u8]| {
            let live: u64 = (1u64 << piece.len()) - 1;
            // SAFETY: only lanes below `piece.len()` (< 64) are enabled, and they are
            // `piece`, which is readable; masked-off lanes are not read and cannot fault.
            let v = unsafe {
                _mm512_mask_loadu_epi8(_mm512_set1_epi8(-1), live, piece.as_ptr().cast())
            };
            let control_or_high = _mm512_mask_cmplt_epi8_mask(live, v, limit);
            let lookup = _mm512_shuffle_epi8(table, v);
            let flagged = _mm512_mask_cmpneq_epi8_mask(control_or_high, v, lookup);
            minimum = _mm512_min_epu8(minimum, v);
            u64::from(flagged.count_ones())
        };
        // Up to the first 64-byte boundary as one partial piece, so that every full-width
        // load below is aligned: a misaligned 64-byte load splits across two cache lines.
        // (`align_offset` may decline to answer with usize::MAX: then no head, and the
        // loads below are merely unaligned, never wrong.)
        let head_len = match sample.as_ptr().align_offset(64) {
            offset if offset < 64 => offset.min(sample.len()),
            _ => 0,
        };
        let (head, body) = sample.split_at(head_len);
        let mut chunks = body.chunks_exact(64);
        if !head.is_empty() {
            suspicious += partial(head);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            suspicious += partial(rest);
        }
        let newline = _mm512_set1_epi8(b'\n' as i8);
        // Pieces left before the LF-only test is tried again after it failed.
        let mut full_rule_for = 0u32;
        for chunk in &mut chunks {
            // SAFETY: `chunk` is 64 readable bytes (normally 64-byte aligned; the unaligned
            // form costs nothing when it is, and stays correct when it is not).
            let v = unsafe { _mm512_loadu_si512(chunk.as_ptr().cast()) };
            let control_or_high = _mm512_cmplt_epi8_mask(v, limit);
            // Fast path, the common case of text with Unix line ends: every control or
            // high byte is LF, so nothing is suspicious and there is no NUL. Two mask
            // compares, where the full rule needs a shuffle and a third (all three compete
            // for one execution port on recent Intel cores). Where the test fails (binary
            // data, CRLF text) it costs a compare, so after a failure the next
            // `FULL_RULE_RUN` pieces go straight to the full rule.
            if full_rule_for == 0 {
                let lf = _mm512_cmpeq_epi8_mask(v, newline);
                if control_or_high & !lf == 0 {
                    continue;
                }
                full_rule_for = FULL_RULE_RUN;
            } else {
                full_rule_for -= 1;
            }
            let lookup = _mm512_shuffle_epi8(table, v);
            let flagged = _mm512_mask_cmpneq_epi8_mask(control_or_high, v, lookup);
            suspicious += u64::from(flagged.count_ones());
            minimum = _mm512_min_epu8(minimum, v);
        }
        let has_nul = _mm512_cmpeq_epi8_mask(minimum, _mm512_setzero_si512()) != 0;
        SampleStats {
            sampled: sample.len(),
            has_nul,
            suspicious: suspicious as usize,
        }
    }

    /// AVX2 content scan: the same rule with 32-byte vectors and byte masks; the tail
    /// shorter than a vector goes to the scalar oracle.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn stats_avx2(sample: &[u8]) -> SampleStats {
        let limit = _mm256_set1_epi8(32);
        // SAFETY: reading 16 bytes from a 16-byte array.
        let table = _mm256_broadcastsi128_si256(unsafe {
            _mm_loadu_si128(ALLOWED_CONTROLS.as_ptr().cast())
        });
        let mut minimum = _mm256_set1_epi8(-1);
        let mut suspicious = 0u64;
        let mut chunks = sample.chunks_exact(32);
        for chunk in &mut chunks {
            // SAFETY: `chunk` is 32 readable bytes; the load is unaligned.
            let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
            let control_or_high = _mm256_cmpgt_epi8(limit, v);
            let allowed = _mm256_cmpeq_epi8(v, _mm256_shuffle_epi8(table, v));
            let flagged = _mm256_andnot_si256(allowed, control_or_high);
            suspicious += u64::from((_mm256_movemask_epi8(flagged) as u32).count_ones());
            minimum = _mm256_min_epu8(minimum, v);
        }
        let zero_lanes = _mm256_cmpeq_epi8(minimum, _mm256_setzero_si256());
        let tail = sample_stats_scalar(chunks.remainder());
        SampleStats {
            sampled: sample.len(),
            has_nul: _mm256_movemask_epi8(zero_lanes) != 0 || tail.has_nul,
            suspicious: suspicious as usize + tail.suspicious,
        }
    }
}
