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

/// One profile: instructions per (demangled) function name, and per call edge the
/// inclusive instructions of the calls from caller to callee.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub functions: BTreeMap<String, FunctionCost>,
    pub calls: BTreeMap<(String, String), u64>,
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
    /// The digests the two records sealed for those files, so that whoever reads them again
    /// (the flame graphs, an auditor) reads the same bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_sha256: Option<String>,
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
    let mut callee: Option<String> = None;
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
            // Defines a name in the same table as fn=; the callee's own cost is under its
            // own fn=, the call's under the caller.
            callee = Some(demangle(&resolve(rest, &mut names, line)?));
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
        if call_follows {
            // The call's target is the `cfn=` written for it; a `calls=` without one (seen
            // where collection is toggled on mid-stack) has no known target.
            if let Some(callee) = callee.take() {
                *profile.calls.entry((function.clone(), callee)).or_default() += ir;
            }
        } else {
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

    /// The profile as folded stacks (`root;caller;callee` → instructions), the input of a
    /// flame graph. callgrind keeps call edges, not stacks: a callee's own instructions
    /// are shared among the paths that reach it in proportion to the instructions of each
    /// call (exact when each function has one caller, as a kernel's call tree mostly has).
    /// Recursion is cut where a function would appear twice on one stack.
    pub fn folded(&self) -> BTreeMap<String, u64> {
        let mut incoming: BTreeMap<&str, u64> = BTreeMap::new();
        let mut outgoing: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
        for ((caller, callee), ir) in &self.calls {
            *incoming.entry(callee).or_default() += ir;
            outgoing.entry(caller).or_default().push((callee, *ir));
        }
        let mut stacks = BTreeMap::new();
        let mut path: Vec<&str> = Vec::new();
        // gungraun collects only inside the benchmark function (its wrapper module); what
        // callgrind writes above it is the stack at the moment collection began, with
        // calls that repeat and loop. Stacks start at the benchmark when there is one.
        let benchmark: Vec<&String> = self
            .functions
            .keys()
            .filter(|name| name.contains(BENCHMARK_FRAME))
            .filter(|name| {
                !self
                    .calls
                    .keys()
                    .any(|(caller, callee)| callee == *name && caller.contains(BENCHMARK_FRAME))
            })
            .collect();
        let roots: Vec<&String> = if benchmark.is_empty() {
            self.functions
                .iter()
                .filter(|(name, cost)| {
                    cost.inclusive_ir > 0 && !incoming.contains_key(name.as_str())
                })
                .map(|(name, _)| name)
                .collect()
        } else {
            benchmark
        };
        for root in roots {
            self.fold(root, 1.0, &incoming, &outgoing, &mut path, &mut stacks);
        }
        stacks.retain(|_, ir| *ir > 0);
        stacks
    }

    fn fold<'a>(
        &'a self,
        name: &'a str,
        share: f64,
        incoming: &BTreeMap<&str, u64>,
        outgoing: &BTreeMap<&'a str, Vec<(&'a str, u64)>>,
        path: &mut Vec<&'a str>,
        stacks: &mut BTreeMap<String, u64>,
    ) {
        const DEPTH: usize = 128;
        if path.contains(&name) || path.len() >= DEPTH {
            return;
        }
        path.push(name);
        let own = self.functions.get(name).map_or(0, |c| c.self_ir);
        let ir = (own as f64 * share).round() as u64;
        if ir > 0 {
            *stacks.entry(path.join(";")).or_default() += ir;
        }
        for (callee, call_ir) in outgoing.get(name).into_iter().flatten() {
            let total = incoming.get(callee).copied().unwrap_or(0);
            if total > 0 {
                let callee_share = share * *call_ir as f64 / total as f64;
                self.fold(callee, callee_share, incoming, outgoing, path, stacks);
            }
        }
        path.pop();
    }

    /// The sum of self instructions: the profile's total.
    pub fn total(&self) -> u64 {
        self.functions.values().map(|c| c.self_ir).sum()
    }
}

/// The frame gungraun wraps each benchmark function in (`<bench>::__gungraun_wrapper_mod::<name>`).
pub const BENCHMARK_FRAME: &str = "::__gungraun_wrapper_mod::";

/// The folded stacks of two profiles side by side (`stack old new`, a differential flame
/// graph's input), every stack of either.
pub fn differential(old: &Profile, new: &Profile) -> Vec<String> {
    let (a, b) = (old.folded(), new.folded());
    let mut stacks: Vec<&String> = a.keys().chain(b.keys()).collect();
    stacks.sort();
    stacks.dedup();
    stacks
        .into_iter()
        .map(|s| {
            let count = |m: &BTreeMap<String, u64>| m.get(s).copied().unwrap_or(0);
            format!("{s} {} {}", count(&a), count(&b))
        })
        .collect()
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
    fn folded_stacks_follow_the_calls() {
        let profile = parse(OLD).unwrap();
        let folded = profile.folded();
        assert_eq!(
            folded.get("main;benchseal_kernels::codec::numeric::binary_ordered"),
            Some(&150)
        );
        assert_eq!(
            folded.get("main;benchseal_kernels::codec::numeric::binary_ordered;core::fmt::write"),
            Some(&300)
        );
        assert_eq!(folded.get("main"), Some(&5));
        // Every instruction is on exactly one stack.
        assert_eq!(folded.values().sum::<u64>(), profile.total());
        let new = parse(&OLD.replace("+2 50", "+2 250").replace("1 450", "1 650")).unwrap();
        let lines = differential(&profile, &new);
        assert!(
            lines.contains(
                &"main;benchseal_kernels::codec::numeric::binary_ordered 150 350".to_string()
            ),
            "{lines:?}"
        );
        assert!(lines.contains(&"main 5 5".to_string()), "{lines:?}");
    }

    /// What callgrind writes above a toggled benchmark: the frames below collection's start
    /// call each other in a loop, and a `calls=` comes without its `cfn=`. Stacks start
    /// at the benchmark's wrapper and each instruction is on one stack.
    #[test]
    fn stacks_start_at_the_benchmark_frame() {
        let text = "events: Ir
fn=(below main)
cfn=start
calls=1 0
0 100
fn=start
cfn=(below main)
calls=1 0
0 100
cfn=bench::__gungraun_wrapper_mod::kernel
calls=1 0
0 100
fn=bench::__gungraun_wrapper_mod::kernel
1 10
cfn=decode
calls=1 0
1 90
fn=decode
2 60
cfn=leaf
calls=1 0
2 30
calls=1 0
2 90
fn=leaf
3 30
";
        let profile = parse(text).unwrap();
        let folded = profile.folded();
        assert_eq!(
            folded,
            BTreeMap::from([
                ("bench::__gungraun_wrapper_mod::kernel".to_string(), 10),
                (
                    "bench::__gungraun_wrapper_mod::kernel;decode".to_string(),
                    60
                ),
                (
                    "bench::__gungraun_wrapper_mod::kernel;decode;leaf".to_string(),
                    30
                ),
            ])
        );
        // The call without its cfn= is not given to the previous callee.
        assert_eq!(
            profile.calls[&("decode".to_string(), "leaf".to_string())],
            30
        );
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
