//! The examples under `strace -f`: the lines strace prints are the ones libc's calls produce.
//! Skipped, by name, where strace is missing or cannot trace (no ptrace permission).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The example binary next to this test's binary (`target/<profile>/examples/<name>`),
/// built with cargo if it is not there yet.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let path = profile_dir.join("examples").join(name);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "clonekit-sys", "--example", name])
            .status()
            .unwrap();
        assert!(status.success(), "cargo build --example {name}");
    }
    assert!(path.exists(), "{} not found", path.display());
    path
}

/// Runs `example` under `strace -f -e trace=clone,clone3 -o FILE` and returns the trace, or
/// `None` (with the reason printed) if strace cannot run here.
fn strace(test: &str, example_name: &str) -> Option<String> {
    if Command::new("strace").arg("-V").output().is_err() {
        println!("skipped {test}: strace is not installed");
        return None;
    }
    let bin = example(example_name);
    let out = std::env::temp_dir().join(format!("clonekit-strace-{}-{example_name}", std::process::id()));
    let run = Command::new("strace")
        .args(["-f", "-e", "trace=clone,clone3", "-o"])
        .arg(&out)
        .arg(&bin)
        .output()
        .unwrap();
    let trace = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    if !run.status.success() && trace.is_empty() {
        println!("skipped {test}: strace could not trace ({})", String::from_utf8_lossy(&run.stderr).trim());
        return None;
    }
    assert!(run.status.success(), "{example_name} failed under strace: {run:?}");
    Some(trace)
}

/// The trace's lines with strace's `<unfinished ...>` / `<... clone resumed>` pairs (printed
/// when another task's event interleaves) joined back into one line per call.
fn calls(trace: &str) -> Vec<String> {
    let mut pending: std::collections::HashMap<String, String> = Default::default();
    let mut out = Vec::new();
    for line in trace.lines() {
        let (pid, text) = line.split_once(char::is_whitespace).unwrap_or(("", line));
        let text = text.trim_start();
        if let Some(head) = text.strip_suffix("<unfinished ...>") {
            pending.insert(pid.to_owned(), head.trim_end().to_owned());
        } else if let Some(pos) = text.find(" resumed>") {
            let head = pending.remove(pid).unwrap_or_default();
            out.push(format!("{pid} {head}{}", &text[pos + " resumed>".len()..]));
        } else {
            out.push(line.to_owned());
        }
    }
    out
}

#[test]
fn fork_example_prints_glibcs_fork_line() {
    let Some(trace) = strace("fork_example_prints_glibcs_fork_line", "fork") else { return };
    let calls = calls(&trace);
    let line =
        calls.iter().find(|l| l.contains("clone(")).unwrap_or_else(|| panic!("no clone line in:\n{trace}"));
    let call = &line[line.find("clone(").unwrap()..];
    let prefix =
        "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x";
    assert!(call.starts_with(prefix), "{line}");
    let rest = &call[prefix.len()..];
    let (hex, ret) = rest.split_once(") = ").unwrap_or_else(|| panic!("{line}"));
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{line}");
    assert!(ret.trim().parse::<u32>().is_ok_and(|pid| pid > 0), "{line}");
    assert!(!trace.contains("clone3("), "fork issues legacy clone only:\n{trace}");
}

#[test]
fn thread_example_prints_pthread_creates_flags() {
    let Some(trace) = strace("thread_example_prints_pthread_creates_flags", "thread") else { return };
    let calls = calls(&trace);
    let flags = "flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID";
    // The first call that created the thread: where clone3 is refused (a container's seccomp
    // profile), a failed clone3 comes first and legacy clone creates it.
    let line = calls
        .iter()
        .find(|l| (l.contains("clone3(") || l.contains("clone(")) && !l.contains(" = -1 "))
        .unwrap_or_else(|| panic!("no clone line in:\n{trace}"));
    if line.contains("clone3(") {
        assert!(line.contains(&format!("{{{flags}, ")), "{line}");
        assert!(line.contains("exit_signal=0,"), "{line}");
    } else {
        // Legacy clone prints the exit signal inside the flags: none means 0.
        assert!(line.contains(&format!("{flags}, ")), "{line}");
    }
    let ret = line.rsplit_once(" = ").map(|(_, r)| r.trim()).unwrap_or_default();
    assert!(ret.parse::<u32>().is_ok_and(|tid| tid > 0), "{line}");
}
