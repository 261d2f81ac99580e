//! Runs, baselines, golden digests and policies on disk: one loader for every record
//! ([`load`], with the seal requirement explicit), atomic writes, and the layout of the
//! stores.
//!
//! A record is read the same way everywhere: broken JSON or another schema is bad input
//! (exit 2) naming the file and the field; with [`Seal::Required`], a record without a
//! seal is bad input too (it was never finished), and a seal that does not match the
//! content is broken reproducibility (exit 3).

pub mod baselines;
pub mod golden;
pub mod profiles;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::analysis::compare::{Policy, Resolved, SideSource};
use crate::analysis::history::LabelledRecord;
use crate::analysis::slo::SloFile;
use crate::model::outcome::{Irreproducible, bad_input};
use crate::model::record::RunRecord;

/// Default directory of run records, relative to the working directory.
pub const RUNS_DIR: &str = "reports/runs";
/// Default directory of baselines, relative to the working directory.
pub const BASELINES_DIR: &str = "baselines";

/// Where runs and baselines are stored.
#[derive(Clone, Debug)]
pub struct Stores {
    /// Directory of run records.
    pub runs_dir: PathBuf,
    /// Directory of baselines.
    pub baselines_dir: PathBuf,
}

impl Default for Stores {
    fn default() -> Self {
        Stores {
            runs_dir: PathBuf::from(RUNS_DIR),
            baselines_dir: PathBuf::from(BASELINES_DIR),
        }
    }
}

/// What [`load`] asks of a record's seal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seal {
    /// Sealed, and the seal matches the content.
    Required,
    /// Not checked (listings, which report the seal state themselves).
    Unchecked,
}

/// Reads a run record (or baseline); see the module docs for what each problem is.
pub fn load(path: &Path, seal: Seal) -> Result<RunRecord> {
    let text = crate::sys::fs::read_to_string(path).map_err(|e| bad_input(format!("{e:#}")))?;
    let record = parse_record(&text).map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    if seal == Seal::Required {
        check_seal(&record, path)?;
    }
    Ok(record)
}

/// A record without a seal is bad input (it was never finished); a seal that does not
/// match the content is broken reproducibility.
fn check_seal(record: &RunRecord, path: &Path) -> Result<()> {
    if record.seal.is_none() {
        return Err(bad_input(format!(
            "{}: field `seal` is null: the run was not finished and sealed",
            path.display()
        )));
    }
    record
        .verify_seal()
        .map(|_| ())
        .map_err(|problem| Irreproducible(format!("{}: {problem}", path.display())).into())
}

/// Writes a record atomically as pretty JSON.
pub fn save(record: &RunRecord, path: &Path) -> Result<()> {
    crate::sys::fs::write_json_atomic(path, record)
}

/// Parses a run record; when the JSON is broken or a field is wrong, names the field by
/// its path in the document (e.g. `workloads[0].paths[1].wall.metrics.median_ns`), also
/// for a file truncated in the middle of a value.
pub fn parse_record(text: &str) -> std::result::Result<RunRecord, String> {
    RunRecord::from_json(text).map_err(|message| {
        // Schema errors already name their field; the others get the path of the error.
        let positional =
            message.starts_with("not valid JSON") || message.starts_with("invalid run record");
        match serde_json::from_str::<RunRecord>(text) {
            Err(e) if positional && e.line() > 0 => {
                let field = json_path_at(text, e.line(), e.column());
                if field.is_empty() {
                    message
                } else {
                    format!("field `{field}`: {message}")
                }
            }
            _ => message,
        }
    })
}

/// The path (`workloads[0].paths[1].wall`) of the JSON value at 1-based `line`:`column`
/// of `text`, found by a small scanner that tracks the open objects and arrays; empty at
/// the top level. Used to name the field a serde error points at.
pub fn json_path_at(text: &str, line: usize, column: usize) -> String {
    enum Open {
        Object { key: Option<String> },
        Array { index: usize },
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut expecting_key = false;
    let (mut at_line, mut at_column) = (1, 0);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            at_line += 1;
            at_column = 0;
        } else {
            at_column += 1;
        }
        if at_line > line || (at_line == line && at_column >= column) {
            break;
        }
        match c {
            '{' => {
                stack.push(Open::Object { key: None });
                expecting_key = true;
            }
            '[' => {
                stack.push(Open::Array { index: 0 });
                expecting_key = false;
            }
            '}' | ']' => {
                stack.pop();
                expecting_key = false;
            }
            ',' => match stack.last_mut() {
                Some(Open::Array { index }) => *index += 1,
                Some(Open::Object { key }) => {
                    *key = None;
                    expecting_key = true;
                }
                None => {}
            },
            ':' => expecting_key = false,
            '"' => {
                let mut string = String::new();
                while let Some(s) = chars.next() {
                    at_column += 1;
                    match s {
                        '"' => break,
                        '\\' => {
                            at_column += 1;
                            if let Some(escaped) = chars.next() {
                                string.push(escaped);
                            }
                        }
                        other => string.push(other),
                    }
                }
                if expecting_key && let Some(Open::Object { key }) = stack.last_mut() {
                    *key = Some(string);
                }
            }
            _ => {}
        }
    }
    let mut path = String::new();
    for open in &stack {
        match open {
            Open::Object { key: Some(key) } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Open::Object { key: None } => {}
            Open::Array { index } => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// Reads a policy file (TOML, the fields of [`Policy`]).
pub fn load_policy(path: &Path) -> Result<Policy> {
    let text = crate::sys::fs::read_to_string(path).map_err(|e| bad_input(format!("{e:#}")))?;
    let policy: Policy = toml::from_str(&text).map_err(|e| {
        bad_input(format!(
            "{}: invalid regression policy: {e}",
            path.display()
        ))
    })?;
    policy
        .validate()
        .map_err(|e| bad_input(format!("{}: {e}", path.display())))?;
    Ok(policy)
}

/// Resolves a `compare` argument: an existing file, then a run id under `runs_dir`, then
/// a baseline version under `baselines_dir` (its machine class from `machine_class`, else
/// the only class stored, else `class_hint`, the other side's class).
pub fn resolve(
    arg: &str,
    runs_dir: &Path,
    baselines_dir: &Path,
    machine_class: Option<&str>,
    class_hint: Option<&str>,
) -> Result<Resolved> {
    let as_file = Path::new(arg);
    if as_file.is_file() {
        let record = load(as_file, Seal::Required)?;
        return Ok(Resolved {
            record,
            source: SideSource::RunFile { path: arg.into() },
        });
    }
    if baselines::validate_name(arg, "run id").is_ok() {
        let run_path = runs_dir.join(format!("{arg}.json"));
        if run_path.is_file() {
            let record = load(&run_path, Seal::Required)?;
            let path = run_path.display().to_string();
            return Ok(Resolved {
                record,
                source: SideSource::RunId { path },
            });
        }
        let version_dir = baselines_dir.join(arg);
        if version_dir.is_dir() {
            let class = baselines::pick_machine_class(&version_dir, machine_class, class_hint)?;
            let path = baselines::baseline_path(baselines_dir, arg, &class)?;
            let record = load(&path, Seal::Required)?;
            let path = path.display().to_string();
            let source = SideSource::Baseline {
                version: arg.into(),
                machine_class: class,
                path,
            };
            return Ok(Resolved { record, source });
        }
    }
    Err(bad_input(format!(
        "`{arg}` is neither a file, nor a run id in {}, nor a baseline version in {}",
        runs_dir.display(),
        baselines_dir.display()
    )))
}

/// The `*.json` files of a directory, sorted; a missing directory has none.
pub fn json_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(bad_input(format!("reading {}: {e}", dir.display()))),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| bad_input(format!("reading {}: {e}", dir.display())))?
            .path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden && path.extension().is_some_and(|e| e == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Reads every run and baseline; incomplete runs and unreadable baselines are skipped
/// (and named), a broken run file is bad input, a seal mismatch is broken reproducibility.
pub fn history_records(stores: &Stores) -> Result<(Vec<LabelledRecord>, Vec<String>)> {
    let mut by_run: BTreeMap<String, LabelledRecord> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut add = |record: RunRecord, label: String, path: &std::path::Path| -> Result<()> {
        if !record.complete {
            skipped.push(format!(
                "{}: run {} is incomplete",
                path.display(),
                record.run_id
            ));
            return Ok(());
        }
        check_seal(&record, path)?;
        if record
            .session
            .as_ref()
            .is_some_and(|s| s.role == crate::model::record::SessionRole::A)
        {
            // The baseline side of a paired session measured older code: not this
            // checkout's history.
            skipped.push(format!(
                "{}: run {} is the baseline side of a paired session",
                path.display(),
                record.run_id
            ));
            return Ok(());
        }
        by_run
            .entry(record.run_id.clone())
            .or_insert_with(|| LabelledRecord {
                record,
                labels: Vec::new(),
            })
            .labels
            .push(label);
        Ok(())
    };
    for path in json_files(&stores.runs_dir)? {
        add(load(&path, Seal::Unchecked)?, "run".into(), &path)?;
    }
    // One unreadable baseline does not hide the others' history; it is said.
    let found = baselines::versions(&stores.baselines_dir)?;
    let mut unreadable = found.unreadable;
    for version in found.versions {
        let dir = stores.baselines_dir.join(&version);
        for class in baselines::machine_classes(&dir)? {
            let path = dir.join(format!("{class}.json"));
            match load(&path, Seal::Unchecked) {
                Ok(record) => add(record, format!("baseline {version}"), &path)?,
                Err(e) => unreadable.push(format!("{e:#}")),
            }
        }
    }
    skipped.extend(unreadable);
    Ok((by_run.into_values().collect(), skipped))
}

/// Reads and parses an SLO file; every failure is bad input (exit 2).
pub fn load_slo(path: &Path) -> Result<SloFile> {
    let text = crate::sys::fs::read_to_string(path).map_err(|e| bad_input(format!("{e:#}")))?;
    SloFile::parse(&text, &path.display().to_string()).map_err(|e| bad_input(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `text` with a few bytes overwritten (`arbitrary`) or a few digits changed.
    fn mutate(text: &str, edits: &[(prop::sample::Index, u8)], arbitrary: bool) -> String {
        let mut bytes = text.as_bytes().to_vec();
        let digits: Vec<usize> = (0..bytes.len())
            .filter(|&i| bytes[i].is_ascii_digit())
            .collect();
        for (at, byte) in edits {
            if arbitrary || digits.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = *byte;
            } else {
                bytes[digits[at.index(digits.len())]] = b'0' + byte % 10;
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn edits() -> impl Strategy<Value = (Vec<(prop::sample::Index, u8)>, bool)> {
        (
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            any::<bool>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Mutated records are parsed, refused or seal-checked, never a panic.
        #[test]
        fn fuzzed_records_never_panic((edits, arbitrary) in edits()) {
            let text = serde_json::to_string_pretty(&crate::analysis::fixture::run()).unwrap();
            if let Ok(record) = parse_record(&mutate(&text, &edits, arbitrary)) {
                let _ = record.verify_seal();
            }
        }

        /// Mutated SLO files are parsed or refused with a message, never a panic.
        #[test]
        fn fuzzed_slo_files_never_panic((edits, arbitrary) in edits()) {
            let text = mutate(crate::analysis::fixture::FIXTURE_SLO, &edits, arbitrary);
            let _ = SloFile::parse(&text, "slo.toml");
        }
    }

    #[test]
    fn json_path_names_nested_fields() {
        let text =
            "{\n  \"a\": 1,\n  \"list\": [\n    {\"x\": 1},\n    {\"y\": {\"z\": \"bad\"}}\n  ]\n}";
        // Line 5 holds `{"y": {"z": "bad"}}`; column 17 lies inside "bad".
        assert_eq!(json_path_at(text, 5, 17), "list[1].y.z");
        assert_eq!(json_path_at(text, 2, 8), "a");
        assert_eq!(json_path_at(text, 1, 1), "");
    }

    #[test]
    fn json_path_skips_escaped_quotes_and_separators_in_strings() {
        let text = r#"{"k\"ey": "a,b:[c", "next": [1, 2, "x"]}"#;
        let column = text.find("\"x\"").unwrap() + 2;
        assert_eq!(json_path_at(text, 1, column), "next[2]");
    }
}
