//! Snapshot tests of each report format, rendered from the deterministic example run.

use benchseal::analysis::fixture;
use benchseal::analysis::signoff::SignoffReport;
use benchseal::present::report::formats;

fn report() -> SignoffReport {
    SignoffReport::derive(fixture::inputs()).expect("the example derives")
}

fn rendered(name: &str) -> String {
    let report = report();
    let format = formats()
        .into_iter()
        .find(|f| f.file_name() == name)
        .expect("format exists");
    format.render(&report).expect("renders")
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("signoff_md", rendered("signoff.md"));
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!("signoff_html", rendered("signoff.html"));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("signoff_json", rendered("signoff.json"));
}

#[test]
fn the_example_decides_no_go_for_the_failing_high_objective() {
    let report = report();
    assert_eq!(report.decision.verdict, "NO-GO");
    assert_eq!(report.decision.exit_code, 1);
    let statuses: Vec<(&str, &str)> = report
        .objectives
        .iter()
        .map(|o| (o.id.as_str(), o.status.as_str()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("codec-display-throughput", "pass"),
            ("codec-comp3-throughput", "fail"),
            ("quant-gemv-throughput", "pass"),
            ("quant-simd-speedup", "pass"),
            ("sync-detect-per-file", "pass"),
            ("sync-plan-per-1000-files", "skipped"),
            ("harness-startup-p95", "pass"),
            ("harness-startup-rss", "pass"),
            ("digest-reproducibility", "pass"),
        ]
    );
    assert_eq!(
        report.objectives[5].reason.as_deref(),
        Some("workload not in run")
    );
    assert_eq!(
        report.decision.reasons.len(),
        1,
        "{:?}",
        report.decision.reasons
    );
}

#[test]
fn rendering_is_deterministic() {
    for format in formats() {
        assert_eq!(
            format.render(&report()).unwrap(),
            format.render(&report()).unwrap(),
            "{}",
            format.file_name()
        );
    }
}

#[test]
fn html_escapes_text_from_the_run() {
    let mut inputs = fixture::inputs();
    inputs.run.workloads[0].paths[1].status =
        benchseal::model::record::Status::Invalid("<script>alert(1)</script> & \"x\"".into());
    inputs.run.seal().unwrap();
    let report = SignoffReport::derive(inputs).unwrap();
    let html = formats()[2].render(&report).unwrap();
    assert!(!html.contains("<script>"), "unescaped text in HTML");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "the HTML must be self-contained"
    );
}
