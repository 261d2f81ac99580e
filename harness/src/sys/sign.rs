//! Signatures on what benchseal writes: SSHSIG (the format of `ssh-keygen -Y sign` and of
//! git's SSH-signed commits), detached as `<file>.sig`, in the `benchseal` namespace, so
//!
//! ```text
//! ssh-keygen -Y verify -f allowed_signers -I <identity> -n benchseal -s FILE.sig < FILE
//! ```
//!
//! checks a record or report with no benchseal installed. Whose signatures count is an
//! `allowed_signers` file (ssh-keygen's format: principals, options such as
//! `namespaces="benchseal"`, `valid-after="20260101Z"`, `valid-before=…`, then the key).
//! The format and the cryptography are the `ssh-key` crate's; this module only finds
//! keys, reads the signers file and says what a signature proves.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ssh_key::{HashAlg, LineEnding, PrivateKey, PublicKey, SshSig, public::KeyData};

use crate::model::outcome::bad_input;

/// The SSHSIG namespace of every benchseal signature.
pub const NAMESPACE: &str = "benchseal";
/// The environment variable naming the signing key when `--sign-key` is not given.
pub const KEY_ENV: &str = "BENCHSEAL_SIGN_KEY";
/// The signers file, relative to the working directory (the repository root).
pub const ALLOWED_SIGNERS: &str = "allowed_signers";

/// The detached signature of `file`: `<file>.sig`.
pub fn sig_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// An unencrypted OpenSSH private key that signs what benchseal writes.
pub struct SigningKey {
    key: PrivateKey,
    path: PathBuf,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.path.display())
    }
}

impl SigningKey {
    /// The key named by `flag`, else by `$BENCHSEAL_SIGN_KEY`, else none (nothing is
    /// signed). A key that cannot be read is bad input naming the file.
    pub fn from_flag_or_env(flag: Option<&Path>) -> Result<Option<SigningKey>> {
        let path = match flag {
            Some(p) => p.to_path_buf(),
            None => match std::env::var_os(KEY_ENV) {
                Some(p) if !p.is_empty() => PathBuf::from(p),
                _ => return Ok(None),
            },
        };
        Self::load(&path).map(Some)
    }

    pub fn load(path: &Path) -> Result<SigningKey> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad_input(format!("signing key {}: {e}", path.display())))?;
        let key = PrivateKey::from_openssh(text.trim_start()).map_err(|e| {
            bad_input(format!(
                "signing key {}: not an OpenSSH private key ({e}); make one with \
                 `ssh-keygen -t ed25519 -f {}`",
                path.display(),
                path.display()
            ))
        })?;
        if key.is_encrypted() {
            return Err(bad_input(format!(
                "signing key {}: the key is passphrase-protected, which benchseal cannot \
                 unlock; use a key kept without a passphrase in a protected location",
                path.display()
            )));
        }
        Ok(SigningKey {
            key,
            path: path.to_path_buf(),
        })
    }

    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }

    /// The detached signature of `bytes`, PEM-armoured.
    pub fn sign_bytes(&self, bytes: &[u8]) -> Result<String> {
        let sig = self
            .key
            .sign(NAMESPACE, HashAlg::Sha512, bytes)
            .with_context(|| format!("signing with {}", self.path.display()))?;
        Ok(sig.to_pem(LineEnding::LF)?)
    }

    /// Signs the bytes of `file` as they are on disk and writes `<file>.sig` atomically.
    pub fn sign_file(&self, file: &Path) -> Result<PathBuf> {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let sig = sig_path(file);
        crate::sys::fs::write_atomic(&sig, self.sign_bytes(&bytes)?.as_bytes())?;
        Ok(sig)
    }
}

/// One line of an `allowed_signers` file.
#[derive(Clone, Debug)]
pub struct Signer {
    /// The principals (identities), as written (comma-separated patterns).
    pub principals: String,
    pub key: KeyData,
    namespaces: Option<Vec<String>>,
    valid_after: Option<time::OffsetDateTime>,
    valid_before: Option<time::OffsetDateTime>,
    line: usize,
}

/// The signers whose signatures count.
#[derive(Clone, Debug)]
pub struct AllowedSigners {
    pub path: PathBuf,
    signers: Vec<Signer>,
}

/// What a file's detached signature proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureCheck {
    /// No `<file>.sig`.
    Unsigned,
    /// A valid signature of these bytes by a key the signers file lists, valid now.
    Signed {
        principals: String,
        fingerprint: String,
    },
    /// A valid signature by a key the signers file does not list (or lists for another
    /// namespace, or outside its validity).
    UnknownSigner { fingerprint: String, why: String },
    /// Not a signature of these bytes in the benchseal namespace.
    Invalid(String),
}

impl SignatureCheck {
    pub fn is_signed(&self) -> bool {
        matches!(self, SignatureCheck::Signed { .. })
    }
}

impl std::fmt::Display for SignatureCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureCheck::Unsigned => write!(f, "unsigned (no .sig beside it)"),
            SignatureCheck::Signed {
                principals,
                fingerprint,
            } => write!(f, "signed by {principals} ({fingerprint})"),
            SignatureCheck::UnknownSigner { fingerprint, why } => {
                write!(f, "signed by an unknown key {fingerprint}: {why}")
            }
            SignatureCheck::Invalid(why) => write!(f, "bad signature: {why}"),
        }
    }
}

impl AllowedSigners {
    /// Reads a signers file; a line that cannot be read is bad input naming file and line.
    pub fn load(path: &Path) -> Result<AllowedSigners> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            bad_input(format!(
                "allowed signers {}: {e} (the file lists whose signatures count, one \
                 `principal namespaces=\"benchseal\" ssh-ed25519 AAAA…` per line)",
                path.display()
            ))
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<AllowedSigners> {
        let mut signers = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let signer = parse_signer(line, i + 1)
                .map_err(|why| bad_input(format!("{}:{}: {why}", path.display(), i + 1)))?;
            signers.push(signer);
        }
        Ok(AllowedSigners {
            path: path.to_path_buf(),
            signers,
        })
    }

    /// What the signature beside `file` proves about `file`'s bytes now.
    pub fn check_file(&self, file: &Path) -> Result<SignatureCheck> {
        let sig = sig_path(file);
        let pem = match std::fs::read_to_string(&sig) {
            Ok(pem) => pem,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SignatureCheck::Unsigned);
            }
            Err(e) => return Err(bad_input(format!("{}: {e}", sig.display()))),
        };
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        Ok(self.check(&bytes, &pem, time::OffsetDateTime::now_utc()))
    }

    /// What the PEM signature `pem` proves about `bytes` at time `now`.
    pub fn check(&self, bytes: &[u8], pem: &str, now: time::OffsetDateTime) -> SignatureCheck {
        let sig = match SshSig::from_pem(pem) {
            Ok(sig) => sig,
            Err(e) => return SignatureCheck::Invalid(format!("not an SSH signature ({e})")),
        };
        if sig.namespace() != NAMESPACE {
            return SignatureCheck::Invalid(format!(
                "namespace `{}`, not `{NAMESPACE}`",
                sig.namespace()
            ));
        }
        let public = PublicKey::from(sig.public_key().clone());
        let fingerprint = public.fingerprint(HashAlg::Sha256).to_string();
        if let Err(e) = public.verify(NAMESPACE, bytes, &sig) {
            return SignatureCheck::Invalid(format!(
                "the signature by {fingerprint} does not match the file's bytes ({e}): \
                 the file was changed after it was signed"
            ));
        }
        let mut why = format!("not in {}", self.path.display());
        for signer in self.signers.iter().filter(|s| &s.key == sig.public_key()) {
            match signer.refusal(now) {
                None => {
                    return SignatureCheck::Signed {
                        principals: signer.principals.clone(),
                        fingerprint,
                    };
                }
                Some(reason) => {
                    why = format!("{}:{}: {reason}", self.path.display(), signer.line);
                }
            }
        }
        SignatureCheck::UnknownSigner { fingerprint, why }
    }
}

impl Signer {
    /// Why this signer's line does not cover a benchseal signature at `now`, if it does not.
    fn refusal(&self, now: time::OffsetDateTime) -> Option<String> {
        if let Some(namespaces) = &self.namespaces
            && !namespaces.iter().any(|n| n == NAMESPACE || n == "*")
        {
            return Some(format!(
                "{} may sign only in namespaces {}",
                self.principals,
                namespaces.join(",")
            ));
        }
        if self.valid_after.is_some_and(|t| now < t) {
            return Some(format!("{}'s key is not valid yet", self.principals));
        }
        if self.valid_before.is_some_and(|t| now >= t) {
            return Some(format!("{}'s key expired (valid-before)", self.principals));
        }
        None
    }
}

/// Splits on whitespace outside double quotes.
fn fields(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (None, false);
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if let Some(s) = start.take() {
                    out.push(&line[s..i]);
                }
                continue;
            }
            _ => {}
        }
        start.get_or_insert(i);
    }
    if let Some(s) = start {
        out.push(&line[s..]);
    }
    out
}

fn is_key_type(field: &str) -> bool {
    field.starts_with("ssh-") || field.starts_with("ecdsa-") || field.starts_with("sk-")
}

fn parse_signer(line: &str, number: usize) -> std::result::Result<Signer, String> {
    let fields = fields(line);
    let (principals, rest) = fields
        .split_first()
        .ok_or_else(|| "empty line".to_string())?;
    let (options, key_fields) = match rest.first() {
        Some(f) if !is_key_type(f) => (Some(*f), &rest[1..]),
        _ => (None, rest),
    };
    let [kind, blob, ..] = key_fields else {
        return Err("expected `principals [options] key-type base64-key [comment]`".into());
    };
    let key = PublicKey::from_openssh(&format!("{kind} {blob}"))
        .map_err(|e| format!("the key is not an OpenSSH public key ({e})"))?;
    let mut signer = Signer {
        principals: principals.to_string(),
        key: key.key_data().clone(),
        namespaces: None,
        valid_after: None,
        valid_before: None,
        line: number,
    };
    for option in options.map(split_options).unwrap_or_default() {
        let (name, value) = option.split_once('=').unwrap_or((option, ""));
        let value = value.trim_matches('"');
        match name.to_ascii_lowercase().as_str() {
            "namespaces" => {
                signer.namespaces = Some(value.split(',').map(str::to_string).collect())
            }
            "valid-after" => signer.valid_after = Some(parse_time(value)?),
            "valid-before" => signer.valid_before = Some(parse_time(value)?),
            "cert-authority" => {
                return Err("cert-authority lines are not supported: list the key itself".into());
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(signer)
}

/// Splits options on commas outside double quotes.
fn split_options(options: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in options.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&options[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&options[start..]);
    out
}

/// `YYYYMMDD`, `YYYYMMDDHHMM` or `YYYYMMDDHHMMSS`, with an optional `Z`; read as UTC
/// (write the `Z` so that ssh-keygen, which reads times without it as local, agrees).
fn parse_time(value: &str) -> std::result::Result<time::OffsetDateTime, String> {
    let digits = value.strip_suffix(['Z', 'z']).unwrap_or(value);
    let bad = || format!("time `{value}`: expected YYYYMMDD[HHMM[SS]][Z]");
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return Err(bad());
    }
    let n = |r: std::ops::Range<usize>| digits.get(r).map_or(Ok(0), str::parse::<u32>);
    let (year, month, day) = (
        n(0..4).map_err(|_| bad())?,
        n(4..6).map_err(|_| bad())?,
        n(6..8).map_err(|_| bad())?,
    );
    let (hour, minute, second) = (
        n(8..10).map_err(|_| bad())?,
        n(10..12).map_err(|_| bad())?,
        n(12..14).map_err(|_| bad())?,
    );
    let month = time::Month::try_from(month as u8).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(year as i32, month, day as u8).map_err(|_| bad())?;
    let clock = time::Time::from_hms(hour as u8, minute as u8, second as u8).map_err(|_| bad())?;
    Ok(time::PrimitiveDateTime::new(date, clock).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssh_key::rand_core::OsRng;

    fn key() -> PrivateKey {
        PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).unwrap()
    }

    fn signers(line: &str) -> AllowedSigners {
        AllowedSigners::parse(line, Path::new("allowed_signers")).unwrap()
    }

    /// The signature of `b"x"` by `key`.
    fn sign_x(key: PrivateKey) -> String {
        SigningKey {
            key,
            path: "k".into(),
        }
        .sign_bytes(b"x")
        .unwrap()
    }

    fn public_line(key: &PrivateKey) -> String {
        key.public_key().to_openssh().unwrap()
    }

    #[test]
    fn a_signature_by_a_listed_key_names_its_signer() {
        let k = key();
        let sk = SigningKey {
            key: k.clone(),
            path: "k".into(),
        };
        let pem = sk.sign_bytes(b"record").unwrap();
        let allowed = signers(&format!(
            "# release keys\nrelease@example.org namespaces=\"benchseal\" {}\n",
            public_line(&k)
        ));
        let now = time::OffsetDateTime::now_utc();
        assert_eq!(
            allowed.check(b"record", &pem, now),
            SignatureCheck::Signed {
                principals: "release@example.org".into(),
                fingerprint: sk.fingerprint()
            }
        );
        // One byte changed after signing.
        assert!(matches!(
            allowed.check(b"recorD", &pem, now),
            SignatureCheck::Invalid(why) if why.contains("changed after it was signed")
        ));
    }

    #[test]
    fn an_unlisted_key_or_another_namespace_does_not_count() {
        let (k, other) = (key(), key());
        let allowed = signers(&format!("a@example.org {}", public_line(&k)));
        let now = time::OffsetDateTime::now_utc();
        let pem = sign_x(other);
        assert!(matches!(
            allowed.check(b"x", &pem, now),
            SignatureCheck::UnknownSigner { .. }
        ));
        let git_sig = k.sign("git", HashAlg::Sha512, b"x").unwrap();
        let pem = git_sig.to_pem(LineEnding::LF).unwrap();
        assert!(matches!(
            allowed.check(b"x", &pem, now),
            SignatureCheck::Invalid(why) if why.contains("namespace `git`")
        ));
        let only_git = signers(&format!(
            "a@example.org namespaces=\"git\" {}",
            public_line(&k)
        ));
        let pem = sign_x(k);
        assert!(matches!(
            only_git.check(b"x", &pem, now),
            SignatureCheck::UnknownSigner { why, .. } if why.contains("namespaces git")
        ));
    }

    #[test]
    fn validity_windows_rotate_keys() {
        let k = key();
        let allowed = signers(&format!(
            "old@example.org valid-after=\"20250101Z\",valid-before=\"20260101Z\" {}",
            public_line(&k)
        ));
        let pem = sign_x(k);
        let at = |s: &str| parse_time(s).unwrap();
        assert!(allowed.check(b"x", &pem, at("20250601Z")).is_signed());
        assert!(matches!(
            allowed.check(b"x", &pem, at("20260102Z")),
            SignatureCheck::UnknownSigner { why, .. } if why.contains("expired")
        ));
        assert!(matches!(
            allowed.check(b"x", &pem, at("20241231235959")),
            SignatureCheck::UnknownSigner { why, .. } if why.contains("not valid yet")
        ));
    }

    #[test]
    fn a_bad_signers_line_names_file_and_line() {
        let err = AllowedSigners::parse(
            "# keys\n\na@example.org ssh-ed25519 not-base64\n",
            Path::new("allowed_signers"),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("allowed_signers:3: the key is not"),
            "{err}"
        );
        let line = format!("a valid-after=\"2026\" {}", public_line(&key()));
        let err = AllowedSigners::parse(&line, Path::new("s")).unwrap_err();
        assert!(err.to_string().contains("YYYYMMDD"), "{err}");
    }
}
