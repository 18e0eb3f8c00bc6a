//! Ports of rust-lang/rust `tests/ui/process/*.rs` (the run-pass programs about
//! Command/Child/Stdio/ExitStatus on Linux). Each upstream program's `main` is one case
//! here; its "child" halves run when the case re-executes this binary, exactly as upstream
//! re-executes itself (the runner's CLONEKIT_STD_SUITE_CASE variable is inherited, so the
//! child lands back in the same function and branches on its arguments).
//!
//! core-run-destroy.rs has three `#[test]`s, so three cases. Not ported (see README.md):
//! env-funky-keys.rs, env-vars.rs, exec-env.rs, nofile-limit.rs, and the win-* / windows-*
//! programs.

#![allow(deprecated)]
#![allow(unused_must_use)]

use std::env;
use std::io;
use std::io::prelude::*;

use clonekit::process::{Command, Stdio};

crate::cases![
    "ui_process";
    core_run_destroy_test_destroy_once,
    core_run_destroy_test_destroy_twice,
    core_run_destroy_test_destroy_actually_kills,
    env_args_reverse_iterator,
    fds_are_cloexec,
    inherit_env,
    issue_13304,
    issue_14456,
    issue_14940,
    issue_16272,
    issue_20091,
    issue_30490,
    multi_panic,
    no_stdio,
    println_with_broken_pipe,
    process_envs,
    process_exit,
    process_panic_after_fork,
    process_remove_from_env,
    process_sigpipe,
    process_spawn_failure,
    process_spawn_nonexistent,
    process_spawn_with_unicode_params,
    process_status_inherits_stdin,
    signal_exit_status,
    sigpipe_should_be_ignored,
    tls_exit_status,
    try_wait,
];

// ---------------------------------------------------------------------------------------
// tests/ui/process/core-run-destroy.rs
// ---------------------------------------------------------------------------------------

macro_rules! t {
    ($e:expr) => {
        match $e {
            Ok(e) => e,
            Err(e) => panic!("error: {}", e),
        }
    };
}

pub fn core_run_destroy_test_destroy_once() {
    let mut p = sleeper();
    t!(p.kill());
}

pub fn sleeper() -> clonekit::process::Child {
    t!(Command::new("sleep").arg("1000").spawn())
}

pub fn core_run_destroy_test_destroy_twice() {
    let mut p = sleeper();
    t!(p.kill()); // this shouldn't crash...
    let _ = p.kill(); // ...and nor should this (and nor should the destructor)
}

pub fn core_run_destroy_test_destroy_actually_kills() {
    use clonekit::process;
    use std::sync::mpsc::channel;
    use std::thread;

    let cmd = "cat";

    // this process will stay alive indefinitely trying to read from stdin
    let mut p = t!(Command::new(cmd).stdin(Stdio::piped()).spawn());

    t!(p.kill());

    // Don't let this test time out, this should be quick
    let (tx, rx) = channel();
    thread::spawn(move || {
        thread::sleep_ms(1000);
        if rx.try_recv().is_err() {
            process::exit(1);
        }
    });
    let code = t!(p.wait()).code();
    assert!(code.is_none());
    tx.send(());
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/env-args-reverse-iterator.rs
// ---------------------------------------------------------------------------------------

pub fn env_args_reverse_iterator() {
    use std::env::args;

    fn assert_reverse_iterator_for_program_arguments(program_name: &str) {
        let args: Vec<_> = args().rev().collect();

        assert!(args.len() == 4);
        assert_eq!(args[0], "c");
        assert_eq!(args[1], "b");
        assert_eq!(args[2], "a");
        assert_eq!(args[3], program_name);

        println!("passed");
    }

    let mut args = args();
    let me = args.next().unwrap();

    if let Some(_) = args.next() {
        assert_reverse_iterator_for_program_arguments(&me);
        return;
    }

    let output = Command::new(&me).arg("a").arg("b").arg("c").output().unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(output.stdout, b"passed\n");
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/fds-are-cloexec.rs
// ---------------------------------------------------------------------------------------

pub fn fds_are_cloexec() {
    use std::fs::File;
    use std::net::{TcpListener, TcpStream, UdpSocket};
    use std::os::unix::prelude::*;
    use std::thread;

    fn parent() {
        let file = File::open(env::current_exe().unwrap()).unwrap();
        let tcp1 = TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp2 = tcp1.try_clone().unwrap();
        let addr = tcp1.local_addr().unwrap();
        let t = thread::spawn(move || TcpStream::connect(addr).unwrap());
        let tcp3 = tcp1.accept().unwrap().0;
        let tcp4 = t.join().unwrap();
        let tcp5 = tcp3.try_clone().unwrap();
        let tcp6 = tcp4.try_clone().unwrap();
        let udp1 = UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp2 = udp1.try_clone().unwrap();

        let mut child = Command::new(env::args().next().unwrap())
            .arg("100")
            .stdout(Stdio::piped())
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pipe1 = child.stdin.take().unwrap();
        let pipe2 = child.stdout.take().unwrap();
        let pipe3 = child.stderr.take().unwrap();

        let status = Command::new(env::args().next().unwrap())
            .arg(file.as_raw_fd().to_string())
            .arg(tcp1.as_raw_fd().to_string())
            .arg(tcp2.as_raw_fd().to_string())
            .arg(tcp3.as_raw_fd().to_string())
            .arg(tcp4.as_raw_fd().to_string())
            .arg(tcp5.as_raw_fd().to_string())
            .arg(tcp6.as_raw_fd().to_string())
            .arg(udp1.as_raw_fd().to_string())
            .arg(udp2.as_raw_fd().to_string())
            .arg(pipe1.as_raw_fd().to_string())
            .arg(pipe2.as_raw_fd().to_string())
            .arg(pipe3.as_raw_fd().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        child.wait().unwrap();
    }

    fn child(args: &[String]) {
        let mut b = [0u8; 2];
        for arg in &args[1..] {
            let fd: libc::c_int = arg.parse().unwrap();
            unsafe {
                assert_eq!(libc::read(fd, b.as_mut_ptr() as *mut _, 2), -1);
                let raw = io::Error::last_os_error().raw_os_error();
                assert_eq!(raw, Some(libc::EBADF));
            }
        }
    }

    let args = env::args().collect::<Vec<_>>();
    if args.len() == 1 {
        parent()
    } else {
        child(&args)
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/inherit-env.rs
// ---------------------------------------------------------------------------------------

pub fn inherit_env() {
    if env::args().nth(1).map(|s| s == "print").unwrap_or(false) {
        for (k, v) in env::vars() {
            println!("{}={}", k, v);
        }
        return;
    }

    let me = env::current_exe().unwrap();
    let result = Command::new(me).arg("print").output().unwrap();
    let output = String::from_utf8(result.stdout).unwrap();

    for (k, v) in env::vars() {
        assert!(output.contains(&format!("{}={}", k, v)), "output doesn't contain `{}={}`\n{}", k, v, output);
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/issue-13304.rs
// ---------------------------------------------------------------------------------------

pub fn issue_13304() {
    use std::str;

    fn parent() {
        let args: Vec<String> = env::args().collect();
        let mut p =
            Command::new(&args[0]).arg("child").stdout(Stdio::piped()).stdin(Stdio::piped()).spawn().unwrap();
        p.stdin.as_mut().unwrap().write_all(b"test1\ntest2\ntest3").unwrap();
        let out = p.wait_with_output().unwrap();
        assert!(out.status.success());
        let s = str::from_utf8(&out.stdout).unwrap();
        assert_eq!(s, "test1\ntest2\ntest3\n");
    }

    fn child() {
        let stdin = io::stdin();
        for line in stdin.lock().lines() {
            println!("{}", line.unwrap());
        }
    }

    let args: Vec<String> = env::args().collect();
    if args.len() > 1 && args[1] == "child" {
        child();
    } else {
        parent();
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/issue-14456.rs
// ---------------------------------------------------------------------------------------

pub fn issue_14456() {
    fn child() {
        writeln!(&mut io::stdout(), "foo").unwrap();
        writeln!(&mut io::stderr(), "bar").unwrap();
        let stdin = io::stdin();
        let mut s = String::new();
        stdin.lock().read_line(&mut s).unwrap();
        assert_eq!(s.len(), 0);
    }

    fn test() {
        let args: Vec<String> = env::args().collect();
        let mut p = Command::new(&args[0])
            .arg("child")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(p.wait().unwrap().success());
    }

    let args: Vec<String> = env::args().collect();
    if args.len() > 1 && args[1] == "child" {
        return child();
    }

    test();
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/issue-14940.rs
// ---------------------------------------------------------------------------------------

pub fn issue_14940() {
    let mut args = env::args();
    if args.len() > 1 {
        let mut out = io::stdout();
        out.write(&['a' as u8; 128 * 1024]).unwrap();
    } else {
        let out = Command::new(&args.next().unwrap()).arg("child").output();
        let out = out.unwrap();
        assert!(out.status.success());
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/issue-16272.rs
// ---------------------------------------------------------------------------------------

pub fn issue_16272() {
    fn test() {
        let status = Command::new(&env::current_exe().unwrap()).arg("foo").arg("").status().unwrap();
        assert!(status.success());
    }

    let len = env::args().len();

    if len == 1 {
        test();
    } else {
        assert_eq!(len, 3);
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/issue-20091.rs
// ---------------------------------------------------------------------------------------

pub fn issue_20091() {
    use std::ffi::OsStr;
    use std::os::unix::prelude::*;

    if env::args().len() == 1 {
        assert!(Command::new(&env::current_exe().unwrap())
            .arg(<OsStr as OsStrExt>::from_bytes(b"\xff"))
            .status()
            .unwrap()
            .success())
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/issue-30490.rs
// ---------------------------------------------------------------------------------------

pub fn issue_30490() {
    // Previously libstd would set stdio descriptors of a child process
    // by `dup`ing the requested descriptors to inherit directly into the
    // stdio descriptors. This, however, would incorrectly handle cases
    // where the descriptors to inherit were already stdio descriptors.
    // This test checks to avoid that regression.
    use std::fs::File;
    use std::io::{stderr, stdout};
    use std::os::unix::io::FromRawFd;

    fn child() {
        stdout().write_all("child stdout\n".as_bytes()).expect("child failed to write to stdout");
        stderr().write_all("child stderr\n".as_bytes()).expect("child failed to write to stderr");
    }

    /// Returns a pipe (reader, writer combo)
    fn pipe() -> (i32, i32) {
        let mut fds = [0; 2];
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        (fds[0], fds[1])
    }

    let mut args = std::env::args();
    let name = args.next().unwrap();
    let args: Vec<String> = args.collect();
    if let Some("--child") = args.get(0).map(|s| &**s) {
        return child();
    } else if !args.is_empty() {
        panic!("unknown options");
    }

    let stdout_backup = unsafe { libc::dup(libc::STDOUT_FILENO) };
    let stderr_backup = unsafe { libc::dup(libc::STDERR_FILENO) };
    assert!(stdout_backup > -1);
    assert!(stderr_backup > -1);

    let (stdout_reader, stdout_writer) = pipe();
    let (stderr_reader, stderr_writer) = pipe();
    assert!(unsafe { libc::dup2(stdout_writer, libc::STDOUT_FILENO) } > -1);
    assert!(unsafe { libc::dup2(stderr_writer, libc::STDERR_FILENO) } > -1);

    // Make sure we close any duplicates of the writer end of the pipe,
    // otherwise we can get stuck reading from the pipe which has open
    // writers but no one supplying any input
    assert_eq!(unsafe { libc::close(stdout_writer) }, 0);
    assert_eq!(unsafe { libc::close(stderr_writer) }, 0);

    stdout().write_all("parent stdout\n".as_bytes()).expect("failed to write to stdout");
    stderr().write_all("parent stderr\n".as_bytes()).expect("failed to write to stderr");

    let child = {
        Command::new(name)
            .arg("--child")
            .stdin(Stdio::inherit())
            .stdout(unsafe { Stdio::from_raw_fd(libc::STDERR_FILENO) })
            .stderr(unsafe { Stdio::from_raw_fd(libc::STDOUT_FILENO) })
            .spawn()
    };

    // The Stdio passed into the Command took over (and closed) std{out, err}
    // so we should restore them as they were.
    assert!(unsafe { libc::dup2(stdout_backup, libc::STDOUT_FILENO) } > -1);
    assert!(unsafe { libc::dup2(stderr_backup, libc::STDERR_FILENO) } > -1);

    // Using File as a shim around the descriptor
    let mut read = String::new();
    let mut f: File = unsafe { FromRawFd::from_raw_fd(stdout_reader) };
    f.read_to_string(&mut read).expect("failed to read from stdout file");
    assert_eq!(read, "parent stdout\nchild stderr\n");

    // Using File as a shim around the descriptor
    read.clear();
    let mut f: File = unsafe { FromRawFd::from_raw_fd(stderr_reader) };
    f.read_to_string(&mut read).expect("failed to read from stderr file");
    assert_eq!(read, "parent stderr\nchild stdout\n");

    assert!(child.expect("failed to execute child process").wait().unwrap().success());
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/multi-panic.rs
// ---------------------------------------------------------------------------------------

pub fn multi_panic() {
    fn check_for_no_backtrace(test: clonekit::process::Output) {
        assert!(!test.status.success());
        let err = String::from_utf8_lossy(&test.stderr);
        let mut it = err.lines().filter(|l| !l.is_empty());

        assert_eq!(
            it.next().map(|l| l.starts_with("thread '<unnamed>' (") && l.contains("panicked")),
            Some(true),
            "out: ```{err}```",
        );
        assert_eq!(it.next().is_some(), true, "out: ```{err}```");
        assert_eq!(
            it.next(),
            Some(
                "note: run with `RUST_BACKTRACE=1` \
                                    environment variable to display a backtrace"
            ),
            "out: ```{err}```",
        );
        assert_eq!(
            it.next().map(|l| l.starts_with("thread 'main' (") && l.contains("panicked at")),
            Some(true),
            "out: ```{err}```",
        );
        assert_eq!(it.next().is_some(), true, "out: ```{err}```");
        assert_eq!(it.next(), None, "out: ```{err}```");
    }

    let args: Vec<String> = std::env::args().collect();
    if args.len() > 1 && args[1] == "run_test" {
        let _ = std::thread::spawn(|| {
            panic!();
        })
        .join();

        panic!();
    } else {
        let test = clonekit::process::Command::new(&args[0])
            .arg("run_test")
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        check_for_no_backtrace(test);
        let test = clonekit::process::Command::new(&args[0])
            .arg("run_test")
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        check_for_no_backtrace(test);
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/no-stdio.rs
// ---------------------------------------------------------------------------------------

pub fn no_stdio() {
    use std::ffi::c_int;

    unsafe fn without_stdio<R, F: FnOnce() -> R>(f: F) -> R {
        let doit = |a| {
            let r = libc::dup(a);
            assert!(r >= 0);
            return r;
        };
        let a = doit(0);
        let b = doit(1);
        let c = doit(2);

        assert!(libc::close(0) >= 0);
        assert!(libc::close(1) >= 0);
        assert!(libc::close(2) >= 0);

        let r = f();

        assert!(libc::dup2(a, 0) >= 0);
        assert!(libc::dup2(b, 1) >= 0);
        assert!(libc::dup2(c, 2) >= 0);

        return r;
    }

    fn assert_fd_is_valid(fd: c_int) {
        if unsafe { libc::fcntl(fd, libc::F_GETFD) == -1 } {
            panic!("file descriptor {} is not valid: {}", fd, io::Error::last_os_error());
        }
    }

    if env::args().len() > 1 {
        // Writing to stdout & stderr should not panic.
        println!("test");
        assert!(io::stdout().write(b"test\n").is_ok());
        assert!(io::stderr().write(b"test\n").is_ok());

        // Stdin should be at EOF.
        assert_eq!(io::stdin().read(&mut [0; 10]).unwrap(), 0);

        // Standard file descriptors should be valid on UNIX:
        assert_fd_is_valid(0);
        assert_fd_is_valid(1);
        assert_fd_is_valid(2);
        return;
    }

    // First, make sure reads/writes without stdio work if stdio itself is
    // missing.
    let (a, b, c) = unsafe {
        without_stdio(|| {
            let a = io::stdout().write(b"test\n");
            let b = io::stderr().write(b"test\n");
            let c = io::stdin().read(&mut [0; 10]);

            (a, b, c)
        })
    };

    assert_eq!(a.unwrap(), 5);
    assert_eq!(b.unwrap(), 5);
    assert_eq!(c.unwrap(), 0);

    // Second, spawn a child and do some work with "null" descriptors to make
    // sure it's ok
    let me = env::current_exe().unwrap();
    let status = Command::new(&me)
        .arg("next")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{} isn't a success", status);

    // Finally, close everything then spawn a child to make sure everything is
    // *still* ok.
    let status = unsafe { without_stdio(|| Command::new(&me).arg("next").status()) }.unwrap();
    assert!(status.success(), "{} isn't a success", status);
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/println-with-broken-pipe.rs (+ .run.stdout, .run.stderr)
// ---------------------------------------------------------------------------------------

/// Adapted: upstream is built with `-Zon-broken-pipe=error` (nightly; on stable the default
/// runtime already ignores SIGPIPE, so `println!` gets EPIPE the same way) and compiletest
/// compares the program's stdout and stderr with `.run.stdout` / `.run.stderr`. Here the
/// consumer's stdout and the producer's stderr are piped instead of inherited, and compared
/// with the contents of those two files (after compiletest's normalizations: thread id ->
/// `$TID`, std's source path and line:column -> `library/std/src/io/stdio.rs:LL:CC`).
pub fn println_with_broken_pipe() {
    const RUN_STDOUT: &str = "this line shall appear exactly once on stdout\n";
    const RUN_STDERR: &str = "\nthread 'main' ($TID) panicked at library/std/src/io/stdio.rs:LL:CC:\n\
failed printing to stdout: Broken pipe (os error 32)\n\
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";

    fn normalize(stderr: &str) -> String {
        stderr
            .lines()
            .map(|l| {
                let mut l = l.to_string();
                if let Some(rest) = l.strip_prefix("thread 'main' (") {
                    if let Some(end) = rest.find(')') {
                        l = format!("thread 'main' ($TID){}", &rest[end + 1..]);
                    }
                }
                if let Some(i) = l.find("library/std/src/io/stdio.rs:") {
                    let head = &l[..l.find(" panicked at ").map(|p| p + " panicked at ".len()).unwrap_or(i)];
                    l = format!("{head}library/std/src/io/stdio.rs:LL:CC:");
                }
                l
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    let mut args = env::args();
    let me = args.next().unwrap();

    if let Some(arg) = args.next() {
        // More than enough iterations to fill any pipe buffer. Normally this
        // loop will end with a panic more or less immediately.
        for _ in 0..65536 * 64 {
            println!("{arg}");
        }
        unreachable!("should have panicked because of BrokenPipe");
    }

    // Set up a pipeline with a short-lived consumer and wait for it to finish.
    // This will produce the `println!()` panic message on stderr.
    let mut producer = Command::new(&me)
        .arg("this line shall appear exactly once on stdout")
        .env("RUST_BACKTRACE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped()) // adapted: upstream inherits (compiletest captures it)
        .spawn()
        .unwrap();
    let consumer = Command::new("head")
        .arg("-n1")
        .stdin(producer.stdout.take().unwrap())
        .stdout(Stdio::piped()) // adapted: upstream inherits (compiletest captures it)
        .spawn()
        .unwrap();
    let consumer = consumer.wait_with_output().unwrap();
    let producer = producer.wait_with_output().unwrap();

    assert_eq!(String::from_utf8_lossy(&consumer.stdout), RUN_STDOUT);
    assert_eq!(normalize(String::from_utf8_lossy(&producer.stderr).trim()), normalize(RUN_STDERR.trim()));
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/process-envs.rs
// ---------------------------------------------------------------------------------------

pub fn process_envs() {
    use std::collections::HashMap;

    pub fn env_cmd() -> Command {
        Command::new("env")
    }

    // save original environment
    let old_env = env::var_os("RUN_TEST_NEW_ENV");

    env::set_var("RUN_TEST_NEW_ENV", "123");

    // create filtered environment vector
    let filtered_env: HashMap<String, String> = env::vars().filter(|&(ref k, _)| k == "PATH").collect();

    let mut cmd = env_cmd();
    cmd.env_clear();
    cmd.envs(&filtered_env);

    // restore original environment
    match old_env {
        None => env::remove_var("RUN_TEST_NEW_ENV"),
        Some(val) => env::set_var("RUN_TEST_NEW_ENV", &val),
    }

    let result = cmd.output().unwrap();
    let output = String::from_utf8_lossy(&result.stdout);

    assert!(!output.contains("RUN_TEST_NEW_ENV"), "found RUN_TEST_NEW_ENV inside of:\n\n{}", output);
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/process-exit.rs
// ---------------------------------------------------------------------------------------

pub fn process_exit() {
    use clonekit::process;

    fn parent() {
        let args: Vec<String> = env::args().collect();
        let status = Command::new(&args[0]).arg("child").status().unwrap();
        assert_eq!(status.code(), Some(2));
    }

    fn child() -> i32 {
        process::exit(2);
    }

    let args: Vec<String> = env::args().collect();
    if args.len() > 1 && args[1] == "child" {
        child();
    } else {
        parent();
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/process-panic-after-fork.rs
// ---------------------------------------------------------------------------------------

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU32, Ordering};

/// This stunt allocator allows us to spot heap allocations in the child.
/// (It is this whole test binary's allocator; it only acts once `engage`d, which only the
/// process_panic_after_fork case does, in its own process.)
struct PidChecking<A> {
    parent: A,
    require_pid: AtomicU32,
}

#[global_allocator]
static ALLOCATOR: PidChecking<std::alloc::System> =
    PidChecking { parent: std::alloc::System, require_pid: AtomicU32::new(0) };

impl<A> PidChecking<A> {
    fn engage(&self) {
        let parent_pid = clonekit::process::id();
        eprintln!("engaging allocator trap, parent pid={}", parent_pid);
        self.require_pid.store(parent_pid, Ordering::Release);
    }
    fn check(&self) {
        let require_pid = self.require_pid.load(Ordering::Acquire);
        if require_pid != 0 {
            let actual_pid = clonekit::process::id();
            if require_pid != actual_pid {
                unsafe {
                    libc::raise(libc::SIGUSR1);
                }
            }
        }
    }
}

unsafe impl<A: GlobalAlloc> GlobalAlloc for PidChecking<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.check();
        self.parent.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.check();
        self.parent.dealloc(ptr, layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.check();
        self.parent.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.check();
        self.parent.realloc(ptr, layout, new_size)
    }
}

/// Adapted: upstream's `one(..)` checks call the unstable `std::panic::always_abort()` in a
/// child made with a raw `libc::fork()` and then panic in std's own code (no Command
/// involved); they cannot be written on stable Rust and test std's panic machinery rather
/// than the process API, so they are left out. Kept, unchanged: the `pre_exec` hook that
/// panics must kill the child by abort, with the allocator trap engaged (the child of
/// `Command` must not allocate between fork and exec, even while panicking), and the final
/// check that the trap is effective (a raw fork that allocates dies of SIGUSR1).
pub fn process_panic_after_fork() {
    use clonekit::os::unix::process::{CommandExt, ExitStatusExt};
    use clonekit::process::{self, ExitStatus};
    use std::ffi::c_int;
    use std::fmt;

    fn expect_aborted(status: ExitStatus) {
        dbg!(status);
        let signal = status.signal().expect("expected child process to die of signal");

        assert!(signal == libc::SIGABRT || signal == libc::SIGILL || signal == libc::SIGTRAP);
    }

    ALLOCATOR.engage();

    fn run(do_panic: &dyn Fn()) -> ExitStatus {
        let child = unsafe { libc::fork() };
        assert!(child >= 0);
        if child == 0 {
            // upstream: panic::always_abort(); (unstable)
            do_panic();
            process::exit(0);
        }
        let mut status: c_int = 0;
        let got = unsafe { libc::waitpid(child, &mut status, 0) };
        assert_eq!(got, child);
        let status = ExitStatus::from_raw(status.into());
        status
    }

    // upstream: one(&|| panic!()); one(&|| panic!("some message")); ... (see above)

    let mut c = Command::new("echo");
    unsafe {
        c.pre_exec(|| panic!("{}", "crash now!"));
    }
    let st = c.status().expect("failed to get command status");
    expect_aborted(st);

    struct DisplayWithHeap;
    impl fmt::Display for DisplayWithHeap {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> Result<(), fmt::Error> {
            let s = vec![0; 100];
            let s = std::hint::black_box(s);
            write!(f, "{:?}", s)
        }
    }

    // Finally, check that our stunt allocator can actually catch an allocation after fork.
    // ie, that our test is effective.

    let status = run(&|| panic!("allocating to display... {}", DisplayWithHeap));
    dbg!(status);
    assert_eq!(status.signal(), Some(libc::SIGUSR1));
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/process-remove-from-env.rs
// ---------------------------------------------------------------------------------------

pub fn process_remove_from_env() {
    pub fn env_cmd() -> Command {
        Command::new("env")
    }

    // save original environment
    let old_env = env::var_os("RUN_TEST_NEW_ENV");

    env::set_var("RUN_TEST_NEW_ENV", "123");

    let mut cmd = env_cmd();
    cmd.env_remove("RUN_TEST_NEW_ENV");

    // restore original environment
    match old_env {
        None => env::remove_var("RUN_TEST_NEW_ENV"),
        Some(val) => env::set_var("RUN_TEST_NEW_ENV", &val),
    }

    let result = cmd.output().unwrap();
    let output = String::from_utf8_lossy(&result.stdout);

    assert!(!output.contains("RUN_TEST_NEW_ENV"), "found RUN_TEST_NEW_ENV inside of:\n\n{}", output);
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/process-sigpipe.rs
// ---------------------------------------------------------------------------------------

// libstd ignores SIGPIPE, and other libraries may set signal masks.
// Make sure that these behaviors don't get inherited to children
// spawned via std::process, since they're needed for traditional UNIX
// filter behavior. This test checks that `yes | head` terminates
// (instead of running forever), and that it does not print an error
// message about a broken pipe.
pub fn process_sigpipe() {
    use clonekit::process;
    use std::thread;

    // Just in case `yes` doesn't check for EPIPE...
    thread::spawn(|| {
        thread::sleep_ms(5000);
        process::exit(1);
    });
    let output = process::Command::new("sh").arg("-c").arg("yes | head").output().unwrap();
    assert!(output.status.success());
    assert!(output.stderr.len() == 0);
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/process-spawn-failure.rs
// ---------------------------------------------------------------------------------------

// Tests that repeatedly spawning a failing command does not create zombie processes.
pub fn process_spawn_failure() {
    fn find_zombies() {
        let my_pid = unsafe { libc::getpid() };

        // https://pubs.opengroup.org/onlinepubs/9699919799/utilities/ps.html
        let ps_cmd_output = Command::new("ps").args(&["-A", "-o", "pid,ppid,args"]).output().unwrap();
        let ps_output = String::from_utf8_lossy(&ps_cmd_output.stdout);
        // On AIX, the PPID is not always present, such as when a process is blocked
        // (marked as <exiting>), or if a process is idle. In these situations,
        // the PPID column contains a "-" for the respective process.
        // Filter out any lines that have a "-" as the PPID as the PPID is
        // expected to be an integer.
        let filtered_ps: Vec<_> =
            ps_output.lines().filter(|line| line.split_whitespace().nth(1) != Some("-")).collect();

        for (line_no, line) in filtered_ps.into_iter().enumerate() {
            if 0 < line_no
                && 0 < line.len()
                && my_pid
                    == line
                        .split(' ')
                        .filter(|w| 0 < w.len())
                        .nth(1)
                        .expect("1st column should be PPID")
                        .parse()
                        .ok()
                        .expect("PPID string into integer")
                && line.contains("defunct")
            {
                panic!("Zombie child {}", line);
            }
        }
    }

    let too_long = format!("/NoSuchCommand{:0300}", 0u8);

    let _failures = (0..100)
        .map(|_| {
            let mut cmd = Command::new(&too_long);
            let failed = cmd.spawn();
            assert!(failed.is_err(), "Make sure the command fails to spawn(): {:?}", cmd);
            failed
        })
        .collect::<Vec<_>>();

    find_zombies();
    // then _failures goes out of scope
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/process-spawn-nonexistent.rs
// ---------------------------------------------------------------------------------------

pub fn process_spawn_nonexistent() {
    use std::io::ErrorKind;

    let result = Command::new("nonexistent").spawn().unwrap_err().kind();

    assert!(matches!(
        result,
        // Under WSL with appendWindowsPath=true, this fails with PermissionDenied
        ErrorKind::NotFound | ErrorKind::PermissionDenied
    ));
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/process-spawn-with-unicode-params.rs
// ---------------------------------------------------------------------------------------

// The test copies itself into a subdirectory with a non-ASCII name and then
// runs it as a child process within the subdirectory.  The parent process
// also adds an environment variable and an argument, both containing
// non-ASCII characters.  The child process ensures all the strings are
// intact.
pub fn process_spawn_with_unicode_params() {
    use std::fs;
    use std::path::Path;

    let my_args = env::args().collect::<Vec<_>>();
    let my_cwd = env::current_dir().unwrap();
    let my_env = env::vars().collect::<Vec<_>>();
    let my_path = env::current_exe().unwrap();
    let my_dir = my_path.parent().unwrap();
    let my_ext = my_path.extension().and_then(|s| s.to_str()).unwrap_or("");

    // some non-ASCII characters
    let blah = "\u{3c0}\u{42f}\u{97f3}\u{e6}\u{221e}";

    let child_name = "child";
    let child_dir = format!("process-spawn-with-unicode-params-{}", blah);

    // parameters sent to child / expected to be received from parent
    let arg = blah;
    let cwd = my_dir.join(&child_dir);
    let env = ("RUST_TEST_PROC_SPAWN_UNICODE".to_string(), blah.to_string());

    // am I the parent or the child?
    if my_args.len() == 1 {
        // parent

        let child_filestem = Path::new(child_name);
        let child_filename = child_filestem.with_extension(my_ext);
        let child_path = cwd.join(&child_filename);

        // make a separate directory for the child
        let _ = fs::create_dir(&cwd);
        fs::copy(&my_path, &child_path).unwrap();

        // run child
        let p = Command::new(&child_path)
            .arg(arg)
            .current_dir(&cwd)
            .env(&env.0, &env.1)
            .spawn()
            .unwrap()
            .wait_with_output()
            .unwrap();

        // display the output
        io::stdout().write_all(&p.stdout).unwrap();
        io::stderr().write_all(&p.stderr).unwrap();

        // make sure the child succeeded
        assert!(p.status.success());
    } else {
        // child

        // check working directory (don't try to compare with `cwd` here!)
        assert!(my_cwd.ends_with(&child_dir));

        // check arguments
        assert_eq!(&*my_args[1], arg);

        // check environment variable
        assert!(my_env.contains(&env));
    };
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/process-status-inherits-stdin.rs
// ---------------------------------------------------------------------------------------

pub fn process_status_inherits_stdin() {
    let mut args = env::args();
    let me = args.next().unwrap();
    let arg = args.next();
    match arg.as_ref().map(|s| &s[..]) {
        None => {
            let mut s = Command::new(&me).arg("a1").stdin(Stdio::piped()).spawn().unwrap();
            s.stdin.take().unwrap().write_all(b"foo\n").unwrap();
            let s = s.wait().unwrap();
            assert!(s.success());
        }
        Some("a1") => {
            let s = Command::new(&me).arg("a2").status().unwrap();
            assert!(s.success());
        }
        Some(..) => {
            let mut s = String::new();
            io::stdin().read_line(&mut s).unwrap();
            assert_eq!(s, "foo\n");
        }
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/signal-exit-status.rs
// ---------------------------------------------------------------------------------------

pub fn signal_exit_status() {
    let args: Vec<String> = env::args().collect();
    if args.len() >= 2 && args[1] == "signal" {
        // Raise an aborting signal without UB
        // adapted: upstream calls the unstable `core::intrinsics::abort()`.
        clonekit::process::abort();
    } else {
        let status = Command::new(&args[0]).arg("signal").status().unwrap();
        assert!(status.code().is_none());
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/sigpipe-should-be-ignored.rs
// ---------------------------------------------------------------------------------------

// Be sure that when a SIGPIPE would have been received that the entire process
// doesn't die in a ball of fire, but rather it's gracefully handled.
pub fn sigpipe_should_be_ignored() {
    fn test() {
        let _ = io::stdin().read_line(&mut String::new());
        io::stdout().write(&[1]);
        assert!(io::stdout().flush().is_err());
    }

    let args: Vec<String> = env::args().collect();
    if args.len() > 1 && args[1] == "test" {
        return test();
    }

    let mut p =
        Command::new(&args[0]).stdout(Stdio::piped()).stdin(Stdio::piped()).arg("test").spawn().unwrap();
    drop(p.stdout.take());
    assert!(p.wait().unwrap().success());
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/tls-exit-status.rs
// ---------------------------------------------------------------------------------------

/// Adapted: upstream is a `run-fail` program (`exec-env:RUST_NEWRT=1`,
/// `error-pattern:nonzero`) whose exit status and stderr compiletest checks. Here the program
/// is the "run" half, and the parent half does compiletest's checks with `Command`.
pub fn tls_exit_status() {
    if env::args().len() > 1 {
        env::args();
        panic!("please have a nonzero exit status");
    }
    let out = Command::new(env::current_exe().unwrap()).arg("run").env("RUST_NEWRT", "1").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nonzero"));
}

// ---------------------------------------------------------------------------------------
// tests/ui/process/try-wait.rs
// ---------------------------------------------------------------------------------------

pub fn try_wait() {
    use std::thread;
    use std::time::Duration;

    let args = env::args().collect::<Vec<_>>();
    if args.len() != 1 {
        match &args[1][..] {
            "sleep" => thread::sleep(Duration::new(1_000, 0)),
            _ => {}
        }
        return;
    }

    let mut me = Command::new(env::current_exe().unwrap()).arg("sleep").spawn().unwrap();
    let maybe_status = me.try_wait().unwrap();
    assert!(maybe_status.is_none());
    let maybe_status = me.try_wait().unwrap();
    assert!(maybe_status.is_none());

    me.kill().unwrap();
    me.wait().unwrap();

    let status = me.try_wait().unwrap().unwrap();
    assert!(!status.success());
    let status = me.try_wait().unwrap().unwrap();
    assert!(!status.success());

    let mut me = Command::new(env::current_exe().unwrap()).arg("return-quickly").spawn().unwrap();
    loop {
        match me.try_wait() {
            Ok(Some(res)) => {
                assert!(res.success());
                break;
            }
            Ok(None) => {
                thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("error in try_wait: {}", e),
        }
    }

    let status = me.try_wait().unwrap().unwrap();
    assert!(status.success());
}
