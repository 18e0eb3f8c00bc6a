//! The `refuse-clone3` tool: the command runs under the filter, with `clone3` answered by the
//! errno given and `no_new_privs` set, same pid, its exit status passed through; bad input is
//! one line and exit 125, a missing command 127.
//!
//! A test binary with its own `main` (no libtest threads), because it runs itself under the
//! tool to look from inside: under `EPERM`, glibc cannot create a thread.

use std::process::{Command, Output};

const TOOL: &str = env!("CARGO_BIN_EXE_refuse-clone3");
const INSIDE: &str = "CLONEKIT_REFUSE_CLONE3_INSIDE";

fn tool(args: &[&str]) -> Output {
    Command::new(TOOL).args(args).output().expect("run refuse-clone3")
}

/// What this binary reports when run under the tool: the refusal and the status fields.
fn inside() {
    let refusal = clonekit_probe::seccomp::clone3_refusal().map_or("none".to_string(), |e| {
        clonekit_flags::Errno::from_raw(e.raw_os_error()).unwrap().name().into()
    });
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |k: &str| status.lines().find_map(|l| l.strip_prefix(k)).unwrap_or("").trim().to_string();
    println!(
        "refusal={refusal} nnp={} seccomp={} pid={}",
        field("NoNewPrivs:"),
        field("Seccomp:"),
        std::process::id()
    );
    // A child through clonekit's fallback still works.
    let st = clonekit_sys::process::Command::new("/bin/sh").args(["-c", "exit 6"]).status().unwrap();
    std::process::exit(st.code().unwrap_or(1));
}

fn the_command_runs_under_the_filter() {
    let me = std::env::current_exe().unwrap();
    for errno in ["ENOSYS", "EPERM", "enosys"] {
        let out = Command::new(TOOL).arg(errno).arg(&me).env(INSIDE, "1").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(6), "{errno}: {text}{}", String::from_utf8_lossy(&out.stderr));
        let want = format!("refusal={} nnp=1 seccomp=2 ", errno.to_ascii_uppercase());
        assert!(text.starts_with(&want), "{errno}: {text}");
    }
}

fn the_exit_status_is_the_commands() {
    assert_eq!(tool(&["EPERM", "sh", "-c", "exit 42"]).status.code(), Some(42));
    // Exec'd in place: the command has the tool's pid.
    let child = Command::new(TOOL)
        .args(["ENOSYS", "sh", "-c", "echo $$"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), pid.to_string());
}

fn bad_input_is_one_line() {
    for (args, code, needle) in [
        (&[][..], 125, "usage"),
        (&["EACCES", "true"][..], 125, "ENOSYS or EPERM"),
        (&["ENOSYS"][..], 125, "no command"),
        (&["ENOSYS", "/nonexistent/clonekit"][..], 127, "/nonexistent/clonekit"),
        (&["EPERM", "/etc/passwd"][..], 126, "/etc/passwd"),
    ] {
        let out = tool(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("refuse-clone3: ") && err.contains(needle), "{args:?}: {err}");
    }
}

fn main() {
    if std::env::var_os(INSIDE).is_some() {
        inside();
    }
    let tests: [(&str, fn()); 3] = [
        ("the_command_runs_under_the_filter", the_command_runs_under_the_filter),
        ("the_exit_status_is_the_commands", the_exit_status_is_the_commands),
        ("bad_input_is_one_line", bad_input_is_one_line),
    ];
    for (name, test) in tests {
        test();
        println!("test {name} ... ok");
    }
    println!("{} passed, 0 failed", tests.len());
}
