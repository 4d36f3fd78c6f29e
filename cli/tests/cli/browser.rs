//! The HTML audit report in a real browser: `charter report testdata/mesh --format html`
//! loaded in headless Debian chromium, checking what a person sees (the summary figures and the
//! domain tables in the rendered DOM, no script errors) and producing a screenshot
//! (`target/tmp/report.png`, to look at).
//!
//! Skipped with a note when `/usr/bin/chromium` is missing, except under `CI` (`.ci/run`
//! installs it), where a missing browser fails the test.
#![cfg(test)]

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::charter;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether the browser is there; without it, a note (or, under CI, a failure).
fn chromium_available() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "{CHROMIUM} is missing under CI: .ci/run installs Debian's `chromium`"
    );
    eprintln!(
        "note: {CHROMIUM} is missing, the browser test is skipped (apt-get install chromium)"
    );
    false
}

/// Runs headless chromium on `page` with `args`, in its own profile, killed after a minute.
fn chromium(page: &Path, profile: &Path, args: &[&str]) -> Output {
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("chromium runs").is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("chromium did not finish within a minute");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("chromium output")
}

#[test]
fn the_html_report_renders_in_a_browser() {
    if !chromium_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let out = charter(&[
        "report",
        "testdata/mesh",
        "--no-cache",
        "--format",
        "html",
        "--output",
        page.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "the sample mesh has errors");
    // What the page should show, from the same report as JSON.
    let json = charter(&["report", "testdata/mesh", "--no-cache", "--format", "json"]);
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    let summary = &report["summary"];

    let dom = chromium(&page, &dir.path().join("profile-dom"), &["--dump-dom"]);
    let stderr = String::from_utf8_lossy(&dom.stderr);
    assert!(dom.status.success(), "{stderr}");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(!stderr.contains("Uncaught"), "script errors: {stderr}");
    assert!(
        dom.contains("<title>Charter compliance report</title>"),
        "{dom}"
    );
    assert!(
        dom.contains(&format!(
            "<dt>Score</dt><dd>{:.1}%</dd>",
            summary["score"].as_f64().unwrap()
        )),
        "{dom}"
    );
    for (label, key) in [
        ("Products", "products"),
        ("Compliant", "compliant"),
        ("Errors", "errors"),
        ("Warnings", "warnings"),
    ] {
        let figure = format!("<dt>{label}</dt><dd>{}</dd>", summary[key]);
        assert!(dom.contains(&figure), "{figure} not in {dom}");
    }
    assert!(dom.contains("<caption>Compliance per domain</caption>"));
    for domain in report["domains"].as_array().unwrap() {
        let name = domain["name"].as_str().unwrap();
        let caption = format!(
            "<caption>{name}: {} of {} products compliant",
            domain["compliant"], domain["products"]
        );
        assert!(dom.contains(&caption), "{caption} not in {dom}");
    }
    assert!(dom.contains("<th scope=\"col\">Location</th>"));

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    std::fs::remove_file(&screenshot).ok();
    let shot = chromium(
        &page,
        &dir.path().join("profile-shot"),
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,2000",
        ],
    );
    let stderr = String::from_utf8_lossy(&shot.stderr);
    assert!(shot.status.success(), "{stderr}");
    assert!(!stderr.contains("Uncaught"), "script errors: {stderr}");
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
    // A blank page of that size compresses to about 8 KB; the report is well over 100 KB.
    assert!(
        png.len() > 50_000,
        "screenshot of {} bytes: blank?",
        png.len()
    );
    eprintln!("screenshot: {}", screenshot.display());
}
