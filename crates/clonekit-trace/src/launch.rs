//! Getting tracees: starting a program under the tracer, or attaching to a running process.
//!
//! Starting: the child is created by clonekit-sys's `fork` (glibc's own clone call) and
//! waits on a pipe until we have `PTRACE_SEIZE`d it, so no event can be missed; then it
//! puts SIGPIPE back to default (Rust ignores it), installs the seccomp filter and execs.
//! Its first traced call is that execve. Under a seccomp filter that was there before ours
//! (a container's profile), ours is not installed: the older filter's `ERRNO` answers
//! outrank our `TRACE`, so a call it refuses (`clone3` in a container) would never stop and
//! never be printed. The child is then stopped once after seizing and runs under
//! `PTRACE_SYSCALL`, as strace without `--seccomp-bpf` does: every call is seen, more slowly. `PTRACE_O_EXITKILL` makes sure a tracer that dies
//! takes its tracees along instead of leaving them failing every traced call with ENOSYS.
//!
//! Attaching (`-p`): every thread in `/proc/PID/task` is seized and interrupted, as strace
//! does; no filter can be added to a running process, so tracees run under `PTRACE_SYSCALL`.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use clonekit_flags::ProcessSyscall;
use clonekit_raw::{self as raw, ptrace};

use crate::output::Printer;
use crate::seccomp::{already_filtered, quiet_threads, traced_by_filter, Filter};
use crate::sys;
use crate::tracer::{Mode, Tracer, INTERRUPTED, WAKE};
use crate::{Options, Report, TraceError};

/// The options of every tracee. `PTRACE_O_TRACEEXIT` is added per task: threads may be made
/// without it (see `crate::seccomp::quiet_threads`).
const OPTIONS: usize = ptrace::O_TRACESYSGOOD
    | ptrace::O_TRACEFORK
    | ptrace::O_TRACEVFORK
    | ptrace::O_TRACECLONE
    | ptrace::O_TRACEEXEC;

extern "C" fn on_termination(sig: libc::c_int) {
    INTERRUPTED.store(sig, Ordering::SeqCst);
    let wake = WAKE.load(Ordering::SeqCst);
    if wake > 0 {
        let _ = ptrace::interrupt(wake);
    }
}

/// SIGINT, SIGTERM, SIGHUP and SIGQUIT caught (without `SA_RESTART`, so a blocked `wait4`
/// returns) while tracing; the previous actions come back on drop.
pub struct TerminationSignals {
    saved: Vec<(libc::c_int, libc::sigaction)>,
}

impl TerminationSignals {
    /// Installs the handler.
    pub fn catch() -> TerminationSignals {
        INTERRUPTED.store(0, Ordering::SeqCst);
        let mut saved = Vec::new();
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
            // SAFETY: sigaction is plain data; zeroed is an empty mask and no flags.
            let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
            act.sa_sigaction = on_termination as extern "C" fn(libc::c_int) as usize;
            // SAFETY: as above.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: both structs are valid; the handler only stores atomics and makes a raw
            // ptrace call, which is async-signal-safe.
            if unsafe { libc::sigaction(sig, &act, &mut old) } == 0 {
                saved.push((sig, old));
            }
        }
        TerminationSignals { saved }
    }
}

impl Drop for TerminationSignals {
    fn drop(&mut self) {
        for (sig, old) in &self.saved {
            // SAFETY: restores the action saved by `catch`.
            unsafe { libc::sigaction(*sig, old, std::ptr::null_mut()) };
        }
    }
}

/// Finds `name` as the shell would: a path if it has a slash, else the first executable
/// regular file of that name in `PATH`.
pub fn resolve(name: &OsString) -> Result<PathBuf, TraceError> {
    let shown = name.to_string_lossy().into_owned();
    let bad = |reason: &str| TraceError::Program { program: shown.clone(), reason: reason.to_string() };
    if name.is_empty() {
        return Err(bad("empty program name"));
    }
    let runnable = |p: &Path| {
        std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
    };
    if name.as_bytes().contains(&b'/') {
        let p = PathBuf::from(name);
        return match std::fs::metadata(&p) {
            Err(e) => Err(bad(&io_reason(&e))),
            Ok(m) if m.is_dir() => Err(bad("is a directory")),
            Ok(_) if !runnable(&p) => Err(bad("permission denied (not executable)")),
            Ok(_) => Ok(p),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if runnable(&p) {
            return Ok(p);
        }
    }
    Err(bad("not found in PATH"))
}

fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    s.split(" (os error").next().unwrap_or(&s).to_string()
}

fn cstring(s: &[u8]) -> Result<CString, TraceError> {
    CString::new(s).map_err(|_| TraceError::Program {
        program: String::from_utf8_lossy(s).into_owned(),
        reason: "contains a NUL byte".into(),
    })
}

fn pipe() -> Result<[i32; 2], TraceError> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(TraceError::Sys { what: "pipe2", source: std::io::Error::last_os_error() });
    }
    Ok(fds)
}

fn close(fd: i32) {
    // SAFETY: closes a descriptor this module opened and owns.
    unsafe { libc::close(fd) };
}

/// A program forked and waiting on a pipe for the word to exec, so that the tracer can take
/// hold of it before it runs anything.
pub(crate) struct Started {
    /// Its pid.
    pub pid: i32,
    /// The program, as found in `PATH`.
    pub path: PathBuf,
    first: OsString,
    go: i32,
    err: i32,
    child: Option<clonekit_sys::Child>,
}

/// Forks `argv`'s program, to exec once [`Started::release`] says so; `before_exec` runs in the
/// child just before the exec (async-signal-safe code only; an `Err(errno)` is reported as
/// the exec's failure).
pub(crate) fn start(
    argv: &[OsString],
    before_exec: &dyn Fn() -> Result<(), i32>,
) -> Result<Started, TraceError> {
    let first = argv.first().ok_or(TraceError::NoProgram)?;
    let path = resolve(first)?;
    let c_path = cstring(path.as_os_str().as_bytes())?;
    let c_argv: Vec<CString> = argv.iter().map(|a| cstring(a.as_bytes())).collect::<Result<_, _>>()?;
    let c_env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.as_bytes().to_vec();
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            kv
        })
        .filter_map(|kv| CString::new(kv).ok())
        .collect();
    let mut argv_ptrs: Vec<*const libc::c_char> = c_argv.iter().map(|c| c.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = c_env.iter().map(|c| c.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    let go = pipe()?;
    let err = match pipe() {
        Ok(p) => p,
        Err(e) => {
            close(go[0]);
            close(go[1]);
            return Err(e);
        }
    };

    let child_main = || -> i32 {
        // Async-signal-safe from here on: raw calls on memory prepared before the fork.
        let report = |e: i32| {
            let b = e.to_ne_bytes();
            // SAFETY: writes 4 bytes from a local array to our pipe.
            unsafe { libc::write(err[1], b.as_ptr().cast(), 4) };
        };
        // SAFETY: closing the pipe ends that belong to the tracer, in the child's copy.
        unsafe {
            libc::close(go[1]);
            libc::close(err[0]);
        }
        let mut b = 0u8;
        // SAFETY: reads one byte into a local.
        if unsafe { libc::read(go[0], (&mut b as *mut u8).cast(), 1) } != 1 {
            return 127; // the tracer went away before attaching
        }
        // SAFETY: resetting a disposition is async-signal-safe.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        if let Err(e) = before_exec() {
            report(e);
            return 126;
        }
        // SAFETY: every pointer array is NULL-terminated and points at live CStrings.
        unsafe { libc::execve(c_path.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
        report(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOEXEC));
        127
    };
    // SAFETY: the child only makes raw system calls on data prepared above (no allocation,
    // no locks), as `fork` requires of a possibly multi-threaded caller.
    let forked = unsafe { clonekit_sys::fork(child_main) };
    close(go[0]);
    close(err[1]);
    match forked {
        Ok(child) => Ok(Started {
            pid: child.pid(),
            path,
            first: first.clone(),
            go: go[1],
            err: err[0],
            child: Some(child),
        }),
        Err(e) => {
            close(go[1]);
            close(err[0]);
            Err(TraceError::Sys { what: "fork", source: std::io::Error::other(e.to_string()) })
        }
    }
}

impl Started {
    /// Lets it exec.
    pub fn release(&mut self) {
        // SAFETY: one byte from a local to our pipe.
        unsafe { libc::write(self.go, [1u8].as_ptr().cast(), 1) };
        close(self.go);
        self.go = -1;
    }

    /// Kills and reaps it (the tracer could not take hold of it).
    pub fn abort(mut self) {
        if self.go >= 0 {
            close(self.go);
            self.go = -1;
        }
        let _ = raw::kill(self.pid, libc::SIGKILL as u32);
        let _ = sys::wait_pid(self.pid);
    }

    /// After the trace (it has been reaped): why its exec failed, if it did.
    pub fn exec_error(mut self) -> Option<TraceError> {
        drop(self.child.take());
        let mut buf = [0u8; 4];
        // SAFETY: reads up to 4 bytes into a local; the write end is closed everywhere now.
        let n = unsafe { libc::read(self.err, buf.as_mut_ptr().cast(), 4) };
        (n == 4).then(|| {
            let e = i32::from_ne_bytes(buf);
            TraceError::Program {
                program: self.first.to_string_lossy().into_owned(),
                reason: io_reason(&std::io::Error::from_raw_os_error(e)).to_lowercase(),
            }
        })
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if self.go >= 0 {
            close(self.go);
        }
        close(self.err);
    }
}

/// Starts `argv` under the tracer and traces it to the end.
pub fn run_program(
    opts: &Options,
    argv: &[OsString],
    mut printer: Printer,
) -> Result<(Printer, Report, Option<TraceError>), TraceError> {
    // Only the calls to print stop the tracee; `--tree` wants every creation and exec.
    let mut trapped: Vec<ProcessSyscall> = if opts.tree || opts.keep_tree {
        traced_by_filter().collect()
    } else {
        opts.trace.iter().filter(|s| !s.never_returns()).collect()
    };
    let mode = if already_filtered() { Mode::Started } else { Mode::Seccomp };
    let quiet = mode == Mode::Seccomp && quiet_threads(&trapped);
    if quiet {
        trapped.push(ProcessSyscall::ExitGroup);
    }
    let filter = Filter::trapping(&trapped);
    let install = || if mode == Mode::Seccomp { filter.install() } else { Ok(()) };
    let mut started = start(argv, &install)?;
    let pid = started.pid;
    if let Err(e) =
        ptrace::seize(pid, OPTIONS | ptrace::O_TRACEEXIT | ptrace::O_TRACESECCOMP | ptrace::O_EXITKILL)
    {
        started.abort();
        return Err(TraceError::NotTraceable { pid, source: e.into() });
    }
    if mode == Mode::Started {
        // Stopped once (it waits on the pipe), then resumed to stop at every call.
        let stopped = ptrace::interrupt(pid).map_err(std::io::Error::from).and_then(|()| sys::wait_pid(pid));
        let resumed = match stopped {
            Ok(st) if st & 0xff == 0x7f => ptrace::syscall(pid, 0).map_err(std::io::Error::from),
            Ok(_) => Err(std::io::Error::from_raw_os_error(libc::ESRCH)),
            Err(e) => Err(e),
        };
        if let Err(e) = resumed {
            started.abort();
            return Err(TraceError::NotTraceable { pid, source: e });
        }
    }
    // `-ff`: the program's own file is made before it runs, so that a FILE.PID that cannot
    // be created stops the trace before anything happens (as in strace).
    printer.attach(pid);
    if let Some((path, source)) = printer.take_error() {
        started.abort();
        return Err(TraceError::Output { path: path.display().to_string(), source });
    }
    started.release();

    let program = started.path.display().to_string();
    let base = OPTIONS | ptrace::O_TRACESECCOMP | ptrace::O_EXITKILL;
    let tracer = Tracer::new(opts, mode, printer, pid, &[], program).with_quiet_threads(quiet, base);
    let result = tracer.run();
    // Whatever happened, nothing we started may outlive us stopped or orphaned.
    let (ending, tree, _summary, printer) = match result {
        Ok(r) => r,
        Err(source) => {
            started.abort();
            return Err(TraceError::Sys { what: "wait4", source });
        }
    };
    let exec_error = started.exec_error();
    Ok((printer, Report { ending, tree, lost: 0 }, exec_error))
}

/// The thread group `pid` (any of its threads' ids) belongs to, and its threads, sorted;
/// our own process is refused (EPERM), as ptrace refuses it.
pub(crate) fn threads_of(pid: i32) -> Result<(i32, Vec<i32>), TraceError> {
    if pid <= 0 {
        return Err(TraceError::NoSuchPid(pid));
    }
    // /proc/TID is there for every thread (unlisted unless it leads), and its task/ lists
    // the whole thread group.
    let tgid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Tgid:").map(|v| v.trim().parse::<i32>().ok())))
        .flatten()
        .ok_or(TraceError::NoSuchPid(pid))?;
    let mut tids: Vec<i32> = match std::fs::read_dir(format!("/proc/{pid}/task")) {
        Ok(d) => d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
        Err(_) => return Err(TraceError::NoSuchPid(pid)),
    };
    tids.sort_unstable();
    // SAFETY: getpid has no preconditions.
    if tgid == unsafe { libc::getpid() } {
        return Err(TraceError::NotTraceable { pid, source: std::io::Error::from_raw_os_error(libc::EPERM) });
    }
    Ok((tgid, tids))
}

/// Attaches to every thread of the process `pid` belongs to (`pid` may be any of its
/// threads' ids, as with strace `-f -p TID`) and traces until they are all gone or Ctrl-C.
pub fn attach(
    opts: &Options,
    pid: i32,
    mut printer: Printer,
) -> Result<(Printer, Report, Option<TraceError>), TraceError> {
    let (tgid, mut tids) = threads_of(pid)?;
    let mut seized = Vec::new();
    // The id asked for first, as strace does (its refusal is the error to report).
    tids.sort_by_key(|&t| t != pid);
    for &tid in &tids {
        match ptrace::seize(tid, OPTIONS | ptrace::O_TRACEEXIT) {
            Ok(()) => seized.push(tid),
            Err(e) if e.raw_os_error() == libc::ESRCH && tid != pid => {}
            Err(e) => {
                for &t in &seized {
                    let _ = ptrace::interrupt(t);
                    let _ = sys::wait_pid(t);
                    let _ = ptrace::detach(t, 0);
                }
                return Err(TraceError::NotTraceable { pid, source: e.into() });
            }
        }
    }
    for &tid in &seized {
        let _ = ptrace::interrupt(tid);
    }
    for &tid in &seized {
        printer.attach(tid);
    }
    if let Some((path, source)) = printer.take_error() {
        for &t in &seized {
            let _ = ptrace::detach(t, 0);
        }
        return Err(TraceError::Output { path: path.display().to_string(), source });
    }
    if !opts.quiet.contains(crate::QuietSet::ATTACH) && !opts.json {
        // strace's attach_tcb message, naming the id asked for.
        let msg = match seized.len() {
            1 => format!("Process {pid} attached"),
            n => format!("Process {pid} attached with {n} threads"),
        };
        printer.diagnostic(&msg);
    }
    let program =
        std::fs::read_link(format!("/proc/{tgid}/exe")).map(|p| p.display().to_string()).unwrap_or_default();
    let tracer = Tracer::new(opts, Mode::Attached, printer, tgid, &seized, program);
    let (ending, tree, _summary, printer) =
        tracer.run().map_err(|source| TraceError::Sys { what: "wait4", source })?;
    Ok((printer, Report { ending, tree, lost: 0 }, None))
}
