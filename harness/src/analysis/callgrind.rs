//! Where the instructions went: callgrind's profile of one case, per function, and the
//! functions that account for a change between two profiles.
//!
//! The reader follows valgrind's "Callgrind Format Specification" (valgrind manual, chapter
//! "Callgrind Format Specification"): a header (`positions:`, `events:`), then cost lines
//! under `fn=` specifications, names compressed as `(id) name` on first use and `(id)`
//! after. A cost line directly after a `calls=` line is the inclusive cost of that call: it
//! counts towards the caller's inclusive cost, not its self cost. Only the `Ir` event (the
//! instructions executed) is read. Names are demangled (`rustc-demangle`, without the hash
//! suffix) when valgrind left them mangled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A function's instructions in one profile.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FunctionCost {
    /// Instructions executed in the function's own code.
    pub self_ir: u64,
    /// Its own plus those of every call it made.
    pub inclusive_ir: u64,
}

/// One profile: instructions per (demangled) function name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub functions: BTreeMap<String, FunctionCost>,
}

/// Why a file could not be read as a callgrind profile: what and on which line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("line {line}: {problem}")]
pub struct ParseError {
    pub line: usize,
    pub problem: String,
}

/// A function whose instructions changed between two profiles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionDelta {
    pub function: String,
    pub self_old: u64,
    pub self_new: u64,
    pub inclusive_old: u64,
    pub inclusive_new: u64,
}

impl FunctionDelta {
    /// The change of the function's self instructions.
    pub fn self_delta(&self) -> i128 {
        i128::from(self.self_new) - i128::from(self.self_old)
    }
}

/// Why an instruction count changed: the functions that account for it, or why that cannot
/// be said.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    /// `workload-id@path`.
    pub benchmark: String,
    /// The two profiles, as paths a reader can open (relative to where the command ran).
    pub old_profile: Option<String>,
    pub new_profile: Option<String>,
    /// The functions whose self instructions changed most, largest first.
    pub functions: Vec<FunctionDelta>,
    /// Why there are no functions (a record without profiles, a file that cannot be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// How many functions an explanation lists.
pub const TOP_FUNCTIONS: usize = 10;

/// A function name as a reader wants it: demangled, without the hash suffix.
pub fn demangle(name: &str) -> String {
    if name.starts_with("_ZN") || name.starts_with("_R") || name.starts_with("__ZN") {
        format!("{:#}", rustc_demangle::demangle(name))
    } else {
        name.to_string()
    }
}

/// Resolves a compressed name specification `(id) name` or `(id)` in `table`.
fn resolve(
    spec: &str,
    table: &mut BTreeMap<String, String>,
    line: usize,
) -> Result<String, ParseError> {
    let spec = spec.trim();
    // `(id)` is compression only with a number inside: `(below main)` is a name.
    let compressed = spec
        .strip_prefix('(')
        .and_then(|rest| rest.split_once(')'))
        .filter(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    let Some((id, name)) = compressed else {
        return Ok(spec.to_string());
    };
    let name = name.trim();
    if name.is_empty() {
        table.get(id).cloned().ok_or_else(|| ParseError {
            line,
            problem: format!("name ({id}) is used before it is defined"),
        })
    } else {
        table.insert(id.to_string(), name.to_string());
        Ok(name.to_string())
    }
}

/// Reads a callgrind profile.
pub fn parse(text: &str) -> Result<Profile, ParseError> {
    let mut positions = 1usize;
    let mut ir_column: Option<usize> = None;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut call_follows = false;
    let mut saw_events = false;
    let mut profile = Profile::default();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let text = raw.trim_end();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if let Some(rest) = text.strip_prefix("positions:") {
            positions = rest.split_whitespace().count().max(1);
            continue;
        }
        if let Some(rest) = text.strip_prefix("events:") {
            saw_events = true;
            ir_column = rest.split_whitespace().position(|e| e == "Ir");
            if ir_column.is_none() {
                return Err(ParseError {
                    line,
                    problem: format!("the events `{}` do not include Ir", rest.trim()),
                });
            }
            continue;
        }
        if let Some(rest) = text.strip_prefix("fn=") {
            let name = demangle(&resolve(rest, &mut names, line)?);
            profile.functions.entry(name.clone()).or_default();
            current = Some(name);
            call_follows = false;
            continue;
        }
        if let Some(rest) = text
            .strip_prefix("cfn=")
            .or_else(|| text.strip_prefix("cfnc="))
        {
            // Defines a name in the same table as fn=; the callee itself is not costed here.
            resolve(rest, &mut names, line)?;
            continue;
        }
        if text.starts_with("calls=") {
            call_follows = true;
            continue;
        }
        let first = text.as_bytes()[0];
        let is_cost = first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'*');
        if !is_cost {
            // Any other specification (ob=, fl=, fi=, fe=, cob=, cfi=, jump=, header lines).
            continue;
        }
        let Some(column) = ir_column else {
            return Err(ParseError {
                line,
                problem: "a cost line comes before the `events:` header".into(),
            });
        };
        let Some(function) = &current else {
            return Err(ParseError {
                line,
                problem: "a cost line comes before any `fn=`".into(),
            });
        };
        let value = text.split_whitespace().nth(positions + column);
        let ir = match value {
            None => 0,
            Some(v) => v.parse::<u64>().map_err(|_| ParseError {
                line,
                problem: format!("`{v}` is not an instruction count"),
            })?,
        };
        let cost = profile.functions.get_mut(function).expect("entered at fn=");
        cost.inclusive_ir += ir;
        if !call_follows {
            cost.self_ir += ir;
        }
        call_follows = false;
    }
    if !saw_events {
        return Err(ParseError {
            line: text.lines().count(),
            problem: "no `events:` header: not a callgrind profile".into(),
        });
    }
    Ok(profile)
}

impl Profile {
    /// Adds another profile's costs (the parts or threads of one run).
    pub fn add(&mut self, other: &Profile) {
        for (name, cost) in &other.functions {
            let mine = self.functions.entry(name.clone()).or_default();
            mine.self_ir += cost.self_ir;
            mine.inclusive_ir += cost.inclusive_ir;
        }
    }

    /// The sum of self instructions: the profile's total.
    pub fn total(&self) -> u64 {
        self.functions.values().map(|c| c.self_ir).sum()
    }
}

/// The `limit` functions whose self instructions changed most from `old` to `new`, largest
/// change first (ties by name); functions whose self instructions did not change are left
/// out.
pub fn diff(old: &Profile, new: &Profile, limit: usize) -> Vec<FunctionDelta> {
    let mut names: Vec<&String> = old.functions.keys().chain(new.functions.keys()).collect();
    names.sort();
    names.dedup();
    let mut deltas: Vec<FunctionDelta> = names
        .into_iter()
        .map(|name| {
            let a = old.functions.get(name).copied().unwrap_or_default();
            let b = new.functions.get(name).copied().unwrap_or_default();
            FunctionDelta {
                function: name.clone(),
                self_old: a.self_ir,
                self_new: b.self_ir,
                inclusive_old: a.inclusive_ir,
                inclusive_new: b.inclusive_ir,
            }
        })
        // A function whose own instructions did not change does not account for the
        // change, however much its callees moved its inclusive count.
        .filter(|d| d.self_delta() != 0)
        .collect();
    deltas.sort_by(|a, b| {
        b.self_delta()
            .abs()
            .cmp(&a.self_delta().abs())
            .then(
                (b.inclusive_new.abs_diff(b.inclusive_old))
                    .cmp(&a.inclusive_new.abs_diff(a.inclusive_old)),
            )
            .then(a.function.cmp(&b.function))
    });
    deltas.truncate(limit);
    deltas
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = "# callgrind format
version: 1
creator: callgrind-3.19.0
positions: line
events: Ir Dr
fl=(1) kernels/src/codec/numeric.rs
fn=(1) benchseal_kernels::codec::numeric::binary_ordered
10 100 4
+2 50
cfn=(2) _ZN4core3fmt5write17h0123456789abcdefE
calls=3 40
12 300 9
fn=(2)
40 300
fn=(below main)
0 0
fn=(3) main
1 5
cfn=(1)
calls=1 10
1 450
totals: 455
";

    #[test]
    fn self_and_inclusive_costs_follow_the_call_lines() {
        let profile = parse(OLD).unwrap();
        let binary = profile.functions["benchseal_kernels::codec::numeric::binary_ordered"];
        assert_eq!(binary.self_ir, 150);
        assert_eq!(binary.inclusive_ir, 450);
        // Mangled by the producer, demangled here without the hash.
        let write = profile.functions["core::fmt::write"];
        assert_eq!((write.self_ir, write.inclusive_ir), (300, 300));
        let main = profile.functions["main"];
        assert_eq!((main.self_ir, main.inclusive_ir), (5, 455));
        assert_eq!(profile.total(), 455);
        assert!(profile.functions.contains_key("(below main)"));
    }

    #[test]
    fn the_function_that_got_slower_comes_first() {
        let old = parse(OLD).unwrap();
        let new = parse(&OLD.replace("+2 50", "+2 250").replace("1 450", "1 650")).unwrap();
        let deltas = diff(&old, &new, 10);
        assert_eq!(
            deltas[0].function,
            "benchseal_kernels::codec::numeric::binary_ordered"
        );
        assert_eq!((deltas[0].self_old, deltas[0].self_new), (150, 350));
        assert_eq!(
            (deltas[0].inclusive_old, deltas[0].inclusive_new),
            (450, 650)
        );
        // main's own code did not change, only what it called: it is not listed.
        assert_eq!(deltas.len(), 1);
        assert!(diff(&old, &old, 10).is_empty());
    }

    #[test]
    fn a_broken_profile_is_named_by_line() {
        let err = parse("events: Ir\n10 5\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.problem.contains("before any `fn=`"), "{err}");
        let err = parse("events: Ir\nfn=(1) f\n10 x\n").unwrap_err();
        assert_eq!(
            err,
            ParseError {
                line: 3,
                problem: "`x` is not an instruction count".into()
            }
        );
        let err = parse("events: Ir\nfn=(7)\n").unwrap_err();
        assert!(
            err.problem.contains("(7) is used before it is defined"),
            "{err}"
        );
        assert!(
            parse("just text\n")
                .unwrap_err()
                .problem
                .contains("not a callgrind profile")
        );
        assert!(
            parse("events: Dr\n")
                .unwrap_err()
                .problem
                .contains("do not include Ir")
        );
    }
}
