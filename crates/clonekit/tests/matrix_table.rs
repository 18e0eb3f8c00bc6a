//! The kernel matrix's pure part (`matrix/table.sh`, see docs/kernel-matrix.md): the table
//! and the merged JSON built from per-kernel `check --json` documents, without qemu. Needs
//! `bash` and `jq`; without `jq` each test says so and passes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn matrix() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../matrix").canonicalize().expect("matrix/")
}

fn have_jq() -> bool {
    let found = Command::new("jq").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: jq is not installed (apt-get install jq)");
    }
    found
}

/// `table.sh ARGS...` run in `matrix/testdata`.
fn table(args: &[&str]) -> Output {
    let dir = matrix();
    Command::new("bash")
        .arg(dir.join("table.sh"))
        .args(args)
        .current_dir(dir.join("testdata"))
        .output()
        .expect("bash matrix/table.sh")
}

const KERNELS: [&str; 3] = ["linux-6.1.json", "timed-out.json", "host-6.18.json"];

#[test]
fn table_of_three_kernels_is_the_expected_text() {
    if !have_jq() {
        return;
    }
    let out = table(&[&["--total", "57.2"][..], &KERNELS[..]].concat());
    let expected = std::fs::read_to_string(matrix().join("testdata/expected.txt")).expect("expected.txt");
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    // A kernel timed out and 6.1 differs: not a clean matrix.
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn merged_json_has_one_cell_per_kernel_for_every_case() {
    if !have_jq() {
        return;
    }
    let merged = std::env::temp_dir().join(format!("clonekit-matrix-test-{}.json", std::process::id()));
    let path = merged.to_str().expect("utf-8 temp path");
    let out = table(&[&["--json", path][..], &KERNELS[..]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&merged).expect("merged JSON")).expect("JSON");
    let _ = std::fs::remove_file(&merged);
    let labels: Vec<&str> =
        doc["kernels"].as_array().unwrap().iter().map(|k| k["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["6.1.0-57-amd64", "6.12.118+deb12-amd64", "host 6.18.44-fc-v1147"]);
    assert_eq!(doc["kernels"][1]["status"], "timeout");
    assert!(doc["total_wall_s"].is_null());
    let cases = doc["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    let cell = |case: &str, k: usize| -> String {
        let c = cases.iter().find(|c| c["case"].as_str().unwrap().starts_with(case)).expect(case);
        assert_eq!(c["cells"].as_array().unwrap().len(), 3);
        c["cells"][k]["cell"].as_str().unwrap().to_string()
    };
    assert_eq!([cell("CLONE_VM", 0), cell("CLONE_VM", 1), cell("CLONE_VM", 2)], ["=", "timeout", "="]);
    assert_eq!(cell("62_pidfd_thread_allowed", 0), "≠");
    assert_eq!(cell("94_killed", 0), "skip");
    assert_eq!(cell("C0 ", 2), "-");
}

#[test]
fn only_differences_and_a_clean_matrix() {
    if !have_jq() {
        return;
    }
    let out = table(&["--differences", "linux-6.1.json", "host-6.18.json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("flag CLONE_VM"), "{text}");
    assert!(text.contains("scenario 62_pidfd_thread_allowed"), "{text}");
    // The host alone: every cell `=` or `skip`, exit 0.
    let out = table(&["host-6.18.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    // Bad input: exit 2.
    assert_eq!(table(&["no-such-file.json"]).status.code(), Some(2));
}
