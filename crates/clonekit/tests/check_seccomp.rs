//! `clonekit check` inside a container's seccomp profile, which refuses `clone3` with `ENOSYS`
//! (current Docker, containerd, podman) or `EPERM` (older Docker): it says so once, skips by
//! name with the reason every case that only `clone3` can make, and passes the rest through
//! legacy `clone`, exiting 0.
//!
//! The filter (`clonekit_probe::seccomp`, the `refuse-clone3` tool's) is installed in the
//! child that runs `clonekit`, never here. The cases are the flag probes and the rules with
//! the scenarios named after rules (`--only flag`, `--only rule`), and the conformance corpus
//! (`--only conformance`): every kind of clone3-only case and its legacy neighbours, in about
//! a second; CI runs the whole check under both filters.

use clonekit::process::{Command, Output};
use clonekit_flags::{Reach, FLAG_TABLE, RULES};
use clonekit_probe::seccomp::run_refusing_clone3;
use rustix::io::Errno;
use serde_json::Value;

/// The rules outside `C*` whose every trial is a `clone3`: `set_tid` (A1-A5), the pidfd
/// written through `clone_args.pidfd` (D1, D2), `CLONE_INTO_CGROUP` (G1-G3).
const CLONE3_TRIALS: &[&str] = &["A1", "A2", "A3", "A4", "A5", "D1", "D2", "G1", "G2", "G3"];

fn check_under(errno: Errno, only: &str) -> (Output, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clonekit"));
    cmd.args(["check", "--json", "--quiet", "--only", only]);
    let o = run_refusing_clone3(&mut cmd, errno).output().expect("run clonekit check");
    let v = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    (o, v)
}

fn name(errno: Errno) -> &'static str {
    clonekit_flags::Errno::from_raw(errno.raw_os_error()).unwrap().name()
}

/// Whether the scenario `case` of the corpus in `dir` (`scenarios`, `conformance`) has a
/// `clone3` step.
fn scenario_has_clone3(dir: &str, case: &str) -> bool {
    let path = format!("{}/../../{dir}/{case}.scn", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let s = clonekit_scenario::parse(case, &text).unwrap();
    s.steps
        .iter()
        .any(|st| matches!(st.kind, clonekit_scenario::StepKind::Run(clonekit_scenario::Op::Clone3 { .. })))
}

/// Whether `case` can only be made with `clone3`.
fn needs_clone3(c: &Value) -> bool {
    let case = c["case"].as_str().unwrap();
    match c["group"].as_str().unwrap() {
        "flag" => FLAG_TABLE.iter().any(|i| i.name() == case && i.reach == Reach::Clone3Only),
        "rule" => {
            let id = case.split(' ').next().unwrap();
            RULES.iter().any(|r| r.id == id && r.clone3_only()) || CLONE3_TRIALS.contains(&id)
        }
        "scenario" => scenario_has_clone3("scenarios", case),
        "conformance" => scenario_has_clone3("conformance", case),
        other => panic!("unknown group {other}"),
    }
}

/// Runs `--only only` under the filter; returns how many cases of `group` were skipped for
/// clone3.
fn assert_clone3_cases_skipped(errno: Errno, only: &str, group: &str) -> usize {
    let (o, v) = check_under(errno, only);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{only} under {errno:?}: {err}");
    assert_eq!(v["summary"]["failed"], 0, "{v}");
    // Said once: one stderr line, and in the report.
    let notice = format!("refused here by a seccomp filter ({}", name(errno));
    assert_eq!(err.lines().filter(|l| l.contains(&notice)).count(), 1, "{err}");
    assert_eq!(v["clone3_refused"]["errno"], name(errno), "{v}");
    let reason = format!("needs clone3, which a seccomp filter refuses here ({})", name(errno));
    let mut skipped = 0;
    for c in v["cases"].as_array().unwrap() {
        let why = c["skip_reason"].as_str().unwrap_or_default();
        if needs_clone3(c) {
            assert_eq!(c["status"], "skipped", "{c}");
            assert!(
                why == reason
                    || (c["case"].as_str().unwrap().starts_with("C0 ") && why.contains("seccomp filter")),
                "{c}"
            );
            skipped += usize::from(c["group"] == group);
        } else {
            assert!(!why.contains("clone3"), "skipped for clone3 but makes no clone3 call: {c}");
        }
    }
    let all = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["skip_reason"].as_str().is_some_and(|r| r.contains("seccomp filter")))
        .count();
    assert_eq!(v["clone3_refused"]["skipped_cases"], all, "{v}");
    skipped
}

#[test]
fn check_under_a_filter_refusing_clone3_with_enosys_skips_only_what_needs_clone3() {
    // CLONE_NEWTIME, CLONE_CLEAR_SIGHAND, CLONE_INTO_CGROUP.
    assert_eq!(assert_clone3_cases_skipped(Errno::NOSYS, "flag", "flag"), 3);
    // C0-C14, A1-A5, D1, D2, G1-G3 (and the scenarios of those rules).
    assert_eq!(assert_clone3_cases_skipped(Errno::NOSYS, "rule", "rule"), 25);
}

#[test]
fn check_under_a_filter_refusing_clone3_with_eperm_skips_only_what_needs_clone3() {
    // Under EPERM, glibc's own clone3 users (std's threads and Command) fail: check must not
    // need them. Rule A4's EPERM would be the filter's, not alloc_pid's: skipped, never passed.
    assert_eq!(assert_clone3_cases_skipped(Errno::PERM, "flag", "flag"), 3);
    assert_eq!(assert_clone3_cases_skipped(Errno::PERM, "rule", "rule"), 25);
    let (_, v) = check_under(Errno::PERM, "rule A4 ");
    assert_eq!(v["cases"][0]["status"], "skipped", "{v}");
}

#[test]
fn the_conformance_cases_with_a_clone3_step_are_skipped_under_either_filter() {
    let dir = format!("{}/../../conformance", env!("CARGO_MANIFEST_DIR"));
    let with_clone3 = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .filter(|p| scenario_has_clone3("conformance", p.file_stem().unwrap().to_str().unwrap()))
        .count();
    // The clone3 selftests, LTP clone301/clone302, the pidfd_wait case: not a vacuous check.
    assert!(with_clone3 >= 50, "{with_clone3}");
    for errno in [Errno::NOSYS, Errno::PERM] {
        assert_eq!(assert_clone3_cases_skipped(errno, "conformance", "conformance"), with_clone3);
    }
}

#[test]
fn legacy_clone_cases_still_pass_under_the_filter() {
    for errno in [Errno::NOSYS, Errno::PERM] {
        for only in [
            "flag CLONE_PIDFD",
            "rule P3 ",
            "rule K1 ",
            "09_rule_p3_thread_requires_sighand",
            "ltp_clone08_clone_thread",
        ] {
            let (_, v) = check_under(errno, only);
            let cases = v["cases"].as_array().unwrap();
            assert_eq!(cases.len(), 1, "{only}: {v}");
            assert_eq!(cases[0]["status"], "pass", "{only} under {errno:?}: {v}");
        }
    }
}

#[test]
fn without_a_filter_nothing_is_skipped_for_clone3() {
    let o = Command::new(env!("CARGO_BIN_EXE_clonekit"))
        .args(["check", "--json", "--quiet", "--only", "flag"])
        .output()
        .expect("run clonekit check");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    match clonekit_probe::seccomp::clone3_refusal() {
        // This test itself runs under a refusing filter (CI runs the suite under one too).
        Some(errno) => assert_eq!(v["clone3_refused"]["errno"], name(errno), "{v}"),
        None => {
            assert!(v["clone3_refused"].is_null(), "{v}");
            assert!(String::from_utf8_lossy(&o.stderr).is_empty());
        }
    }
}
