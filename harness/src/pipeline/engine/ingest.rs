//! Defensive reading of the engines' JSON output.
//!
//! criterion's files are undocumented internals and gungraun's summary has its own schema
//! versions, so neither is deserialised into rigid types: fields are looked up one by one,
//! and an error names the file and the dotted field that was missing or malformed. A
//! changed format then fails loudly with a pointer to what changed, never silently.

use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

/// Why an engine output file could not be read.
#[derive(Debug, Error)]
pub enum IngestError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not valid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: field `{field}` {problem}")]
    Field {
        path: PathBuf,
        field: String,
        problem: String,
    },
}

/// A parsed JSON document that remembers where it came from.
pub struct JsonFile<'a> {
    pub path: &'a Path,
    pub value: Value,
}

impl<'a> JsonFile<'a> {
    pub fn parse(path: &'a Path, text: &str) -> Result<Self, IngestError> {
        let value = serde_json::from_str(text).map_err(|source| IngestError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(JsonFile { path, value })
    }

    pub fn read(path: &'a Path) -> Result<Self, IngestError> {
        let text = std::fs::read_to_string(path).map_err(|source| IngestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// The value at a dotted `field` path, if present; a numeric segment indexes an array.
    pub fn get(&self, field: &str) -> Option<&Value> {
        field
            .split('.')
            .try_fold(&self.value, |value, key| match value {
                Value::Array(items) => items.get(key.parse::<usize>().ok()?),
                _ => value.get(key),
            })
    }

    pub fn error(&self, field: &str, problem: impl Into<String>) -> IngestError {
        IngestError::Field {
            path: self.path.to_path_buf(),
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// The value at `field`, or an error naming it.
    pub fn require(&self, field: &str) -> Result<&Value, IngestError> {
        self.get(field)
            .ok_or_else(|| self.error(field, "is missing"))
    }

    /// A finite number at `field`.
    pub fn f64(&self, field: &str) -> Result<f64, IngestError> {
        self.require(field)?
            .as_f64()
            .filter(|v| v.is_finite())
            .ok_or_else(|| self.error(field, "is not a finite number"))
    }

    /// A whole non-negative number at `field`.
    pub fn u64(&self, field: &str) -> Result<u64, IngestError> {
        self.require(field)?
            .as_u64()
            .ok_or_else(|| self.error(field, "is not a whole non-negative number"))
    }

    /// A string at `field`.
    pub fn str(&self, field: &str) -> Result<&str, IngestError> {
        self.require(field)?
            .as_str()
            .ok_or_else(|| self.error(field, "is not a string"))
    }

    /// An array of finite numbers at `field`.
    pub fn f64_array(&self, field: &str) -> Result<Vec<f64>, IngestError> {
        let items = self
            .require(field)?
            .as_array()
            .ok_or_else(|| self.error(field, "is not an array"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_f64()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| self.error(&format!("{field}[{i}]"), "is not a finite number"))
            })
            .collect()
    }
}

/// Every file called `name` under `dir`, sorted; a missing `dir` has none.
pub fn files_named(dir: &Path, name: &str) -> Result<Vec<PathBuf>, IngestError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(IngestError::Io {
                    path: current,
                    source,
                });
            }
        };
        for entry in entries {
            let entry = entry.map_err(|source| IngestError::Io {
                path: current.clone(),
                source,
            })?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|source| IngestError::Io {
                path: path.clone(),
                source,
            })?;
            if kind.is_dir() {
                pending.push(path);
            } else if entry.file_name() == name {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_field() {
        let path = Path::new("x/estimates.json");
        let doc = JsonFile::parse(
            path,
            r#"{"median": {"point_estimate": "fast"}, "a": [1, null]}"#,
        )
        .unwrap();
        let err = doc.f64("median.point_estimate").unwrap_err().to_string();
        assert_eq!(
            err,
            "x/estimates.json: field `median.point_estimate` is not a finite number"
        );
        let err = doc.f64("mean.point_estimate").unwrap_err().to_string();
        assert!(
            err.ends_with("field `mean.point_estimate` is missing"),
            "{err}"
        );
        let err = doc.f64_array("a").unwrap_err().to_string();
        assert!(err.contains("field `a[1]`"), "{err}");
        let err = JsonFile::parse(path, "{").err().unwrap().to_string();
        assert!(err.starts_with("x/estimates.json: not valid JSON"), "{err}");
    }
}
