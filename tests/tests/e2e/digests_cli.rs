//! `benchseal digests`: what a golden digest file must hold before anything is judged
//! against it.

use predicates::prelude::*;

use crate::support::benchseal;

const WORKLOAD: &str = "codec/binary/mixed-10/tiny";

fn digests_file(body: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("digests.json");
    std::fs::write(
        &path,
        format!(
            "{{\n  \"schema\": \"benchseal.digests/1\",\n  \"workloads\": {{\n{body}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    (dir, path)
}

fn entry(id: &str, input: &str, output: &str) -> String {
    format!("    \"{id}\": {{ \"input_sha256\": \"{input}\", \"output_sha256\": \"{output}\" }}")
}

#[test]
fn golden_digests_with_bad_hashes_unknown_ids_or_duplicate_keys_are_refused() {
    let good = "ab".repeat(32);
    let cases = [
        (
            entry(WORKLOAD, "zz", &good),
            format!("workload `{WORKLOAD}`: field `input_sha256` is \"zz\", not a SHA-256"),
        ),
        (
            entry(WORKLOAD, &good, &good.to_uppercase()),
            "field `output_sha256`".to_string(),
        ),
        (
            entry("codec/binary/mixed-10/tiyn", &good, &good),
            format!("workload not registered: `codec/binary/mixed-10/tiyn` (closest: {WORKLOAD}"),
        ),
        (
            format!(
                "{},\n{}",
                entry(WORKLOAD, &good, &good),
                entry(WORKLOAD, &good, &good)
            ),
            format!("workload `{WORKLOAD}` is listed twice at line 5"),
        ),
    ];
    for (body, expected) in cases {
        let (_dir, path) = digests_file(&body);
        for check in [false, true] {
            let mut cmd = benchseal();
            cmd.args(["digests", "--workload", WORKLOAD])
                .arg("--golden")
                .arg(&path);
            if check {
                cmd.arg("--check");
            }
            cmd.assert()
                .code(2)
                .stdout("")
                .stderr(predicate::str::contains(path.display().to_string()))
                .stderr(predicate::str::contains(expected.as_str()));
        }
    }
}
