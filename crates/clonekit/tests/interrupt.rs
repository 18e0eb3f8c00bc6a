//! Ctrl-C during `clonekit check`: it answers within half a second, whatever it is running,
//! says it was interrupted, exits 130, and leaves no process behind.
//!
//! A test binary of its own: the test process becomes a child subreaper, so that every
//! process the check leaves behind is handed to it when the check exits, and another test
//! running beside it would have its children mixed with the check's.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitOptions};

/// How soon after Ctrl-C the check must have exited.
const BOUND: Duration = Duration::from_millis(500);
/// How long a check that ignores Ctrl-C is waited for before it is killed.
const GIVE_UP: Duration = Duration::from_secs(20);

/// What an interrupted check did.
struct Interrupted {
    /// From the signal to its exit.
    latency: Duration,
    /// Its exit code.
    code: Option<i32>,
    /// Its stderr.
    stderr: String,
}

fn spawn_check(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_clonekit"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // A process group of its own, which Ctrl-C signals as a terminal does.
        .process_group(0)
        .spawn()
        .expect("run clonekit")
}

/// Runs `clonekit args`, and `delay` later sends SIGINT to its process group, as Ctrl-C on a
/// terminal does. `None` if it had finished by then.
fn interrupt_after(args: &[&str], delay: Duration) -> Option<Interrupted> {
    let mut child = spawn_check(args);
    std::thread::sleep(delay);
    if child.try_wait().expect("try_wait").is_some() {
        return None;
    }
    let group = Pid::from_raw(child.id() as i32).expect("a pid");
    rustix::process::kill_process_group(group, Signal::INT).expect("SIGINT");
    let sent = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if sent.elapsed() > GIVE_UP {
            let _ = child.kill();
            let _ = child.wait();
            panic!("clonekit {args:?} still ran {GIVE_UP:?} after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let latency = sent.elapsed();
    let mut stderr = String::new();
    let _ = child.stderr.take().expect("stderr").read_to_string(&mut stderr);
    Some(Interrupted { latency, code: status.code(), stderr })
}

/// The processes handed to this process (a child subreaper) and not reaped: whatever the
/// check left behind when it exited, alive or a zombie. Each is described, then killed and
/// reaped, so that one failing run leaves nothing to the next.
fn left_behind() -> Vec<String> {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // After the command name: state, then ppid.
        let Some((head, rest)) = stat.rsplit_once(") ") else { continue };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("?");
        if fields.next().and_then(|p| p.parse::<i32>().ok()) == Some(me) {
            let comm = head.split_once(" (").map_or("?", |(_, c)| c);
            found.push(format!("pid {pid} ({comm}) state {state}"));
            if let Some(p) = Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(p, Signal::KILL);
            }
        }
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        match rustix::process::waitpid(None, WaitOptions::NOHANG) {
            Ok(Some(_)) => {}
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(_) => break,
        }
    }
    found
}

/// Interrupts `clonekit args` `delay` in (earlier, down to 50 ms, while it finishes before
/// that on a fast machine), and checks how it ended.
fn answers_ctrl_c(args: &[&str], delay: Duration) {
    let mut delay = delay;
    let run = loop {
        if let Some(run) = interrupt_after(args, delay) {
            break run;
        }
        assert!(left_behind().is_empty(), "clonekit {args:?} left processes behind");
        assert!(
            delay > Duration::from_millis(50),
            "clonekit {args:?} finished within 50 ms, before any SIGINT"
        );
        delay /= 2;
    };
    let left = left_behind();
    eprintln!("clonekit {args:?}: SIGINT {delay:?} in, exited {:?} later", run.latency);
    assert!(
        run.latency < BOUND,
        "clonekit {args:?} took {:?} to answer SIGINT {delay:?} in (bound {BOUND:?}): {}",
        run.latency,
        run.stderr
    );
    assert_eq!(run.code, Some(130), "clonekit {args:?}: 128 + SIGINT; stderr: {}", run.stderr);
    assert!(
        run.stderr.lines().any(|l| l.starts_with("clonekit: check interrupted by SIGINT after ")),
        "clonekit {args:?}: no interrupted line in {:?}",
        run.stderr
    );
    assert!(left.is_empty(), "clonekit {args:?} left processes behind: {left:?}");
}

#[test]
fn check_answers_ctrl_c_within_half_a_second_and_leaves_no_process_behind() {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid())).expect("PR_SET_CHILD_SUBREAPER");
    // The flag probes, the longest of which (CLONE_VFORK's) runs two children of 100 ms
    // each, and is let finish: no probe is abandoned with a child.
    answers_ctrl_c(&["check", "--only", "flag", "--quiet"], Duration::from_millis(100));
    // The whole suite, about a second in: the flag and rule probes are done, the scenario
    // corpus runs (on a debug build).
    answers_ctrl_c(&["check", "--quiet"], Duration::from_secs(1));
    // The scenario corpus alone: every moment is inside a scenario, on the model or the kernel.
    answers_ctrl_c(&["check", "--only", "scenario", "--quiet"], Duration::from_millis(400));
    // Random scenarios on both backends, three seconds in: one of them is running, its kernel
    // steps waiting on their tasks.
    answers_ctrl_c(&["check", "--random", "1000000"], Duration::from_secs(3));
}
