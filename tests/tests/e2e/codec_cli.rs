//! `benchseal codec generate` and `benchseal codec decode` as a user meets them.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::support::benchseal;

fn layout() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/codec/customer.json")
}

/// Record length of the customer layout.
const RECORD: usize = 80;

fn generate(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    benchseal()
        .args(["codec", "generate", "--layout"])
        .arg(layout())
        .args(extra)
        .arg(&out)
        .assert()
        .success();
    out
}

fn decode(data: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    benchseal()
        .args(["codec", "decode", "--layout"])
        .arg(layout())
        .args(extra)
        .arg(data)
        .assert()
}

#[test]
fn generate_writes_the_records_asked_for_and_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.bin");
    benchseal()
        .args(["codec", "generate", "--layout"])
        .arg(layout())
        .args(["--records", "250"])
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "wrote 250 records (20000 bytes, fixed)",
        ));
    assert_eq!(std::fs::metadata(&out).unwrap().len(), 250 * RECORD as u64);
    let again = generate(dir.path(), "b.bin", &["--records", "250"]);
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
    let other = generate(
        dir.path(),
        "c.bin",
        &["--records", "250", "--seed", "other"],
    );
    assert_ne!(std::fs::read(&out).unwrap(), std::fs::read(&other).unwrap());
}

#[test]
fn generate_by_size_stays_within_the_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = generate(dir.path(), "s.rdw", &["--bytes", "64KiB", "--rdw"]);
    let len = std::fs::metadata(&out).unwrap().len();
    assert!(len <= 64 * 1024 && len > 60 * 1024, "{len}");
}

#[test]
fn decode_prints_exact_counts_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "d.bin", &["--records", "1000"]);
    decode(&data, &[])
        .success()
        .stdout(predicate::str::contains(
            "records     1000 decoded, 0 skipped\n",
        ))
        .stdout(predicate::str::contains("bytes       80000\n"))
        .stdout(predicate::str::contains("errors      none\n"))
        .stdout(predicate::str::contains("path        simd ("))
        .stdout(predicate::str::is_match(r"throughput  [0-9.]+ (MiB|GiB)/s").unwrap());
    decode(&data, &["--path", "scalar"])
        .success()
        .stdout(predicate::str::contains("path        scalar\n"));
}

#[test]
fn rdw_files_decode() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "d.rdw", &["--records", "300", "--rdw"]);
    decode(&data, &["--rdw"])
        .success()
        .stdout(predicate::str::contains(
            "records     300 decoded, 0 skipped\n",
        ))
        .stdout(predicate::str::contains("record length 80, rdw)"));
}

#[test]
fn jsonl_is_the_same_on_both_paths_and_holds_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "d.bin", &["--records", "500"]);
    let scalar = dir.path().join("scalar.jsonl");
    let simd = dir.path().join("simd.jsonl");
    decode(
        &data,
        &["--path", "scalar", "--jsonl", scalar.to_str().unwrap()],
    )
    .success();
    let size = |path: &Path| std::fs::metadata(path).unwrap().len();
    // The summary splits the time: decoding, formatting, writing (with the bytes written).
    decode(&data, &["--jsonl", simd.to_str().unwrap()])
        .success()
        .stdout(predicate::str::is_match(r"\ndecode      [0-9.]+ s \(").unwrap())
        .stdout(predicate::str::is_match(r"\nformat      [0-9.]+ s \(").unwrap())
        .stdout(predicate::str::contains(format!(
            " for {} bytes of JSON Lines\n",
            size(&simd)
        )));
    let text = std::fs::read_to_string(&simd).unwrap();
    assert_eq!(text, std::fs::read_to_string(&scalar).unwrap());
    assert_eq!(text.lines().count(), 500);
    for line in text.lines() {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let balance = value["balance"].as_str().unwrap();
        assert!(balance.contains('.') && balance.split('.').nth(1).unwrap().len() == 2);
        assert_eq!(value.as_object().unwrap().len(), 8);
    }
}

/// Corrupts the zoned `quantity` field (offset 57) of record 3 with a digit nibble of 0xA.
fn corrupted(dir: &Path) -> PathBuf {
    let data = generate(dir, "bad.bin", &["--records", "10"]);
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[3 * RECORD + 58] = 0xFA;
    std::fs::write(&data, bytes).unwrap();
    data
}

#[test]
fn strict_mode_stops_with_exit_2_naming_file_record_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let data = corrupted(dir.path());
    let jsonl = dir.path().join("out.jsonl");
    decode(&data, &["--jsonl", jsonl.to_str().unwrap()])
        .code(2)
        .stderr(predicate::str::contains(
            "bad.bin: record 3, field `quantity`, byte offset 298: digit nibble above 9",
        ))
        .stderr(predicate::str::contains("byte 0xFA"));
    assert!(!jsonl.exists(), "a failed decode leaves no partial output");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".benchseal-"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

#[test]
fn skip_mode_counts_errors_by_kind() {
    let dir = tempfile::tempdir().unwrap();
    let data = corrupted(dir.path());
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[5 * RECORD + 2] = 0x00; // NUL in `name`: unmappable in CP037
    bytes.extend_from_slice(&[0x40; 17]); // a truncated trailing record
    std::fs::write(&data, bytes).unwrap();
    decode(&data, &["--errors", "skip"])
        .success()
        .stdout(predicate::str::contains(
            "records     8 decoded, 3 skipped\n",
        ))
        .stdout(predicate::str::contains(
            "errors      bad-digit 1, unmappable 1, truncated-record 1\n",
        ))
        .stderr(predicate::str::contains(
            "record 5, field `name`, byte offset 402",
        ));
    decode(&data, &["--errors", "skip", "--unmappable", "replace"])
        .success()
        .stdout(predicate::str::contains(
            "records     9 decoded, 2 skipped\n",
        ));
}

#[test]
fn rdw_length_beyond_the_file_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "d.rdw", &["--records", "5", "--rdw"]);
    let mut bytes = std::fs::read(&data).unwrap();
    let len = bytes.len();
    bytes.truncate(len - 10);
    std::fs::write(&data, &bytes).unwrap();
    decode(&data, &["--rdw"])
        .code(2)
        .stderr(predicate::str::contains("record 4 at byte offset"))
        .stderr(predicate::str::contains("runs beyond the end of the input"));
}

#[test]
fn bad_layouts_and_missing_files_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("layout.json");
    std::fs::write(
        &bad,
        "{\"fields\": [\n {\"name\": \"x\", \"kind\": \"comp3\", \"offset\": 0, \"digits\": 30}]}",
    )
    .unwrap();
    let data = dir.path().join("none.bin");
    benchseal()
        .args(["codec", "decode", "--layout"])
        .arg(&bad)
        .arg(&data)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "layout.json: layout field `x`: digits must be 1 to 18",
        ));
    decode(&data, &[])
        .code(2)
        .stderr(predicate::str::contains("none.bin: cannot open"));
    decode(&data, &["--codepage", "cp999"])
        .code(2)
        .stderr(predicate::str::contains("unknown code page `cp999`"));
}

#[test]
fn batch_records_beyond_the_bound_are_bad_input_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "a.bin", &["--records", "10"]);
    for huge in ["18446744073709551615", "10000000000", "0"] {
        decode(&data, &["--batch-records", huge])
            .code(2)
            .stderr(predicate::str::contains("--batch-records"))
            .stderr(predicate::str::contains("panicked").not());
    }
    decode(&data, &["--batch-records", "1"]).success();
}

#[test]
fn a_record_length_beyond_the_bound_is_refused_and_generate_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(layout()).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    doc["record_length"] = serde_json::json!(1_000_000_000_000u64);
    let huge = dir.path().join("huge.json");
    std::fs::write(&huge, doc.to_string()).unwrap();
    let out = dir.path().join("out.bin");
    benchseal()
        .args(["codec", "generate", "--records", "1", "--layout"])
        .arg(&huge)
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "record_length 1000000000000 exceeds the longest supported record",
        ));
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the layout: nothing half-written");
}

#[test]
fn jsonl_through_a_symlink_writes_its_target_and_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let data = generate(dir.path(), "a.bin", &["--records", "20"]);
    let target = dir.path().join("target.jsonl");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    decode(&data, &["--jsonl", link.to_str().unwrap()]).success();
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is still a link"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap().lines().count(),
        20
    );
    // A special file is written to, never replaced.
    decode(&data, &["--jsonl", "/dev/null"]).success();
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}
