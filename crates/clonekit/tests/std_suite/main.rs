//! Runner of the `std_suite` test target: the Rust standard library's own process tests,
//! ported to `clonekit::process`, as the specification clonekit's `Command` must pass.
//!
//! Upstream files: see the first lines of each module, and README.md next to this file.
//!
//! Modes of this binary:
//! - `CLONEKIT_STD_SUITE_CASE=<name>` in the environment: run that one case in this
//!   process and exit (0 = ok, 77 = skipped, anything else = failed). The ui ports re-execute
//!   this binary for their "child" halves; those children inherit the variable and land in
//!   the same case function, which branches on its arguments exactly as upstream's `main` did.
//! - otherwise: the runner. It runs every case (or those matching the filter arguments) in a
//!   fresh process of its own, at most two at a time, each in its own process group with a
//!   timeout, prints `case NAME ... ok|FAILED|skipped (reason)`, then the closing line
//!   `N passed, N failed, N skipped`, and exits non-zero iff a case failed.
//!
//! The runner itself uses `std::process`, so that a defect of the code under test cannot
//! take the harness down with it.

// `clonekit_std_ref` / `clonekit_std_stable` are only set when this suite is checked against
// std itself (a scratch crate whose `clonekit` is a re-export of std); clonekit never sets them.
#![allow(unexpected_cfgs)]
#![allow(clippy::all)]

mod doc;
mod pidfd;
mod tests_rs;
mod ui_command;
mod ui_process;
mod unix_common_tests_rs;
mod unix_tests_rs;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The environment variable naming the case a process must run.
pub const CASE_ENV: &str = "CLONEKIT_STD_SUITE_CASE";
/// Exit status of a case process that skipped itself.
const SKIP_CODE: i32 = 77;
/// The line a skipping case writes last on stderr, followed by the reason.
const SKIP_MARK: &str = "CLONEKIT_STD_SUITE_SKIPPED: ";

pub type Case = (&'static str, fn());

/// Declares a module's list of cases: `cases![prefix; a, b, c]`.
#[macro_export]
macro_rules! cases {
    ($prefix:literal; $($f:ident),* $(,)?) => {
        pub const CASES: &[$crate::Case] = &[$((concat!($prefix, "::", stringify!($f)), $f as fn())),*];
    };
}

/// Ends the current case as skipped, with a reason.
pub fn skip(reason: &str) -> ! {
    let _ = std::io::stdout().flush();
    eprintln!("\n{SKIP_MARK}{reason}");
    std::process::exit(SKIP_CODE);
}

/// Runs `f`, which upstream marks `should_panic`: the case passes iff it panics.
pub fn expect_panic(f: impl FnOnce() + std::panic::UnwindSafe) {
    let r = std::panic::catch_unwind(f);
    assert!(r.is_err(), "should_panic: the example did not panic");
}

/// True when running as root (uid 0).
pub fn is_root() -> bool {
    unsafe { libc::getuid() == 0 }
}

fn all_cases() -> Vec<Case> {
    let mut v: Vec<Case> = Vec::new();
    for list in [
        tests_rs::CASES,
        unix_tests_rs::CASES,
        unix_common_tests_rs::CASES,
        pidfd::CASES,
        ui_process::CASES,
        ui_command::CASES,
        doc::CASES,
    ] {
        v.extend_from_slice(list);
    }
    v
}

fn main() {
    if let Some(name) = std::env::var_os(CASE_ENV) {
        let name = name.to_string_lossy().into_owned();
        match all_cases().into_iter().find(|(n, _)| *n == name) {
            Some((_, f)) => {
                f();
                let _ = std::io::stdout().flush();
                std::process::exit(0);
            }
            None => {
                eprintln!("std_suite: no case named {name:?}");
                std::process::exit(2);
            }
        }
    }
    std::process::exit(runner());
}

#[derive(Clone)]
enum Outcome {
    Ok,
    Failed(String),
    Skipped(String),
}

struct Options {
    filters: Vec<String>,
    skips: Vec<String>,
    exact: bool,
    list: bool,
    ignored_only: bool,
    timeout: Duration,
    jobs: usize,
}

fn parse_args() -> Options {
    let mut o = Options {
        filters: Vec::new(),
        skips: Vec::new(),
        exact: false,
        list: false,
        ignored_only: false,
        timeout: Duration::from_secs(
            std::env::var("CLONEKIT_STD_SUITE_TIMEOUT").ok().and_then(|s| s.parse().ok()).unwrap_or(60),
        ),
        jobs: 2,
    };
    // libtest flags that take a value as the next argument.
    const WITH_VALUE: &[&str] = &[
        "--test-threads",
        "--format",
        "--color",
        "--logfile",
        "--skip",
        "-Z",
        "--report-time",
        "--shuffle-seed",
    ];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--exact" {
            o.exact = true;
        } else if a == "--list" {
            o.list = true;
        } else if a == "--ignored" {
            o.ignored_only = true;
        } else if a == "--skip" {
            if let Some(v) = args.next() {
                o.skips.push(v);
            }
        } else if let Some(v) = a.strip_prefix("--skip=") {
            o.skips.push(v.to_string());
        } else if a == "--test-threads" {
            if let Some(n) = args.next().and_then(|v| v.parse::<usize>().ok()) {
                o.jobs = n.clamp(1, 2);
            }
        } else if let Some(v) = a.strip_prefix("--test-threads=") {
            if let Ok(n) = v.parse::<usize>() {
                o.jobs = n.clamp(1, 2);
            }
        } else if WITH_VALUE.contains(&a.as_str()) {
            let _ = args.next();
        } else if a.starts_with('-') {
            // --nocapture, --quiet, -q, --show-output, --include-ignored, --bench, ...: ignored.
        } else {
            o.filters.push(a);
        }
    }
    o
}

fn runner() -> i32 {
    let opts = parse_args();
    let selected: Vec<&'static str> = all_cases()
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| {
            opts.filters.is_empty()
                || opts.filters.iter().any(|f| if opts.exact { n == f } else { n.contains(f.as_str()) })
        })
        .filter(|n| !opts.skips.iter().any(|s| if opts.exact { n == s } else { n.contains(s.as_str()) }))
        .filter(|_| !opts.ignored_only)
        .collect();
    if opts.list {
        for n in &selected {
            println!("{n}: test");
        }
        println!("\n{} tests, 0 benchmarks", selected.len());
        return 0;
    }

    // Processes a case leaves behind outside its process group (say, a child it put in a
    // group of its own) are re-parented to this runner when the case process ends, and
    // `sweep` kills and reaps them.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let outdir = std::env::temp_dir().join(format!("clonekit-std-suite-{}", std::process::id()));
    std::fs::create_dir_all(&outdir).expect("create output directory");
    // The cases run from a copy of this binary in the run's own directory: some of them
    // (ui/command/command-current-dir, ui/process/process-spawn-with-unicode-params), as
    // upstream, write next to their executable, which must therefore be somewhere the user
    // may write and that is removed afterwards, not the build directory.
    let exe = outdir.join("std_suite");
    std::fs::copy(std::env::current_exe().expect("current_exe"), &exe).expect("copy the suite binary");
    println!("\nrunning {} cases", selected.len());

    let queue = Arc::new(Mutex::new(selected.iter().copied().enumerate().collect::<Vec<_>>().into_iter()));
    let results: Arc<Mutex<Vec<(&'static str, Outcome, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..opts.jobs.max(1))
        .map(|_| {
            let queue = Arc::clone(&queue);
            let results = Arc::clone(&results);
            let exe = exe.clone();
            let outdir = outdir.clone();
            let timeout = opts.timeout;
            std::thread::spawn(move || loop {
                let next = queue.lock().unwrap().next();
                let Some((idx, name)) = next else { break };
                let (outcome, output) = run_one(&exe, &outdir, idx, name, timeout);
                sweep();
                let line = match &outcome {
                    Outcome::Ok => "ok".to_string(),
                    Outcome::Failed(why) => format!("FAILED ({why})"),
                    Outcome::Skipped(why) => format!("skipped ({why})"),
                };
                let mut r = results.lock().unwrap();
                println!("case {name} ... {line}");
                r.push((name, outcome, output));
            })
        })
        .collect();
    for w in workers {
        w.join().expect("runner thread");
    }
    let _ = std::fs::remove_dir_all(&outdir);

    let results = results.lock().unwrap();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut failures = Vec::new();
    for (name, outcome, output) in results.iter() {
        match outcome {
            Outcome::Ok => passed += 1,
            Outcome::Skipped(_) => skipped += 1,
            Outcome::Failed(_) => {
                failed += 1;
                failures.push((name, output));
            }
        }
    }
    if !failures.is_empty() {
        println!("\nfailures:");
        for (name, output) in &failures {
            println!("\n---- {name} output ----\n{output}");
        }
        println!("\nfailed cases:");
        for (name, _) in &failures {
            println!("    {name}");
        }
        println!();
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        1
    } else {
        0
    }
}

/// Runs one case in a fresh process group; returns its outcome and (the tail of) its output.
fn run_one(exe: &PathBuf, outdir: &PathBuf, idx: usize, name: &str, timeout: Duration) -> (Outcome, String) {
    let path = outdir.join(format!("{idx}.out"));
    let out = match File::options().create(true).append(true).read(true).open(&path) {
        Ok(f) => f,
        Err(e) => return (Outcome::Failed(format!("cannot create output file: {e}")), String::new()),
    };
    let err = out.try_clone().expect("dup output file");
    let mut active = ACTIVE.lock().unwrap();
    let child = std::process::Command::new(exe)
        .env(CASE_ENV, name)
        .stdin(std::process::Stdio::null())
        .stdout(out.try_clone().expect("dup output file"))
        .stderr(err)
        .process_group(0)
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return (Outcome::Failed(format!("cannot start case process: {e}")), String::new()),
    };
    let pid = child.id() as libc::pid_t;
    active.push(pid);
    drop(active);
    let start = Instant::now();
    let mut timed_out = false;
    // Wait for the case process to end without reaping it (WNOWAIT), so that its pid, which
    // is also the id of its process group, stays ours while the group is killed.
    loop {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if r == 0 && unsafe { info.si_pid() } != 0 {
            break;
        }
        if r != 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            for d in descendants(pid) {
                unsafe { libc::kill(d, libc::SIGKILL) };
            }
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Whatever the case left behind in its group goes too.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let status = child.wait().expect("wait for case process");
    ACTIVE.lock().unwrap().retain(|&p| p != pid);

    let mut text = String::new();
    let mut f = out;
    let len = f.seek(SeekFrom::End(0)).unwrap_or(0);
    const TAIL: u64 = 16 * 1024;
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(TAIL)));
    let mut bytes = Vec::new();
    let _ = f.read_to_end(&mut bytes);
    if len > TAIL {
        text.push_str(&format!("[... {} bytes of output omitted ...]\n", len - TAIL));
    }
    text.push_str(&String::from_utf8_lossy(&bytes));
    let _ = std::fs::remove_file(&path);

    use std::os::unix::process::ExitStatusExt as _;
    let outcome = if timed_out {
        Outcome::Failed(format!("timed out after {} s", timeout.as_secs()))
    } else if status.success() {
        Outcome::Ok
    } else if status.code() == Some(SKIP_CODE) && text.contains(SKIP_MARK) {
        let reason = text.rsplit(SKIP_MARK).next().unwrap_or("").lines().next().unwrap_or("").to_string();
        Outcome::Skipped(reason)
    } else if let Some(sig) = status.signal() {
        Outcome::Failed(format!("killed by signal {sig}"))
    } else {
        Outcome::Failed(format!("exit status {}", status.code().unwrap_or(-1)))
    };
    (outcome, text)
}

/// Case processes currently running (children of the runner that `sweep` must leave alone).
static ACTIVE: Mutex<Vec<libc::pid_t>> = Mutex::new(Vec::new());

/// (pid, ppid) of every process, from /proc.
fn process_table() -> Vec<(libc::pid_t, libc::pid_t)> {
    let mut v = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else { return v };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<libc::pid_t>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else { continue };
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
            v.push((pid, ppid));
        }
    }
    v
}

/// Every live descendant of `root`.
fn descendants(root: libc::pid_t) -> Vec<libc::pid_t> {
    let table = process_table();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(c, pp) in &table {
            if pp == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

/// Kills and reaps the runner's children that are not case processes: what finished or
/// killed cases left behind (re-parented here, the runner being a child subreaper).
fn sweep() {
    let me = std::process::id() as libc::pid_t;
    for _ in 0..100 {
        let active = ACTIVE.lock().unwrap();
        let strays: Vec<libc::pid_t> = process_table()
            .into_iter()
            .filter(|&(p, pp)| pp == me && !active.contains(&p))
            .map(|(p, _)| p)
            .collect();
        if strays.is_empty() {
            return;
        }
        for &p in &strays {
            for d in descendants(p) {
                unsafe { libc::kill(d, libc::SIGKILL) };
            }
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        drop(active);
        for &p in &strays {
            let mut st = 0;
            unsafe { libc::waitpid(p, &mut st, 0) };
        }
    }
}
