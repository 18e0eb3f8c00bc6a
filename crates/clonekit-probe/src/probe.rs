//! Live probes of what each `CLONE_*` flag does on the running kernel.
//!
//! Every probe creates children with and without one flag through this crate's own clone
//! path and observes the difference the way a program can: a store to private memory seen or
//! not, a `umask`/`chdir`, an fd opened in the child, a signal disposition, a namespace inode,
//! a SysV semaphore's undo, the tid words, the parent pid, the tracer, the cgroup. The child
//! side of every probe makes raw system calls only (no allocation, no libc state), and reports
//! through a [`SharedPage`], so it is valid in every kind of child, including `CLONE_VM`,
//! `CLONE_SETTLS` and `CLONE_THREAD` children.
//!
//! Probes change process-wide state of the caller only transiently (umask, cwd, one signal's
//! disposition, the I/O priority) and put it back; a caller should run them from a
//! single-threaded process, as `clonekit check` does.

use core::sync::atomic::{AtomicI32, AtomicU64, Ordering::SeqCst};
use std::time::{Duration, Instant};

use clonekit_flags::{CloneFlags, ExitSignal, Signal};
use rustix::io;

use clonekit_raw::{self as raw, ptrace};
use clonekit_sys::{Child, Clone, CloneError, ExitStatus, Syscall};

use crate::observe::{self, Disposition, SharedPage, SysvSemaphore};

/// What one probe saw, with and without its flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Both variants ran.
    Observed {
        /// What the child (or parent) saw with the flag.
        with: String,
        /// What it saw without.
        without: String,
        /// Whether both match the expectation.
        pass: bool,
    },
    /// The probe cannot run here; the reason names what is missing.
    Skipped(String),
}

/// One flag's probe.
#[derive(Debug, Clone, Copy)]
pub struct FlagProbe {
    /// The flag under test.
    pub flag: CloneFlags,
    /// What is expected with the flag, in words.
    pub expect_with: &'static str,
    /// What is expected without it.
    pub expect_without: &'static str,
    /// Runs the probe.
    pub run: fn() -> io::Result<ProbeOutcome>,
}

macro_rules! probe {
    ($flag:ident, $with:expr, $without:expr, $run:path) => {
        FlagProbe { flag: CloneFlags::$flag, expect_with: $with, expect_without: $without, run: $run }
    };
}

/// Every flag's probe, in bit order.
pub const FLAG_PROBES: &[FlagProbe] = &[
    probe!(CLONE_NEWTIME, "new time ns", "same time ns", newtime),
    probe!(CLONE_VM, "child's store seen", "not seen", vm),
    probe!(CLONE_FS, "umask 077, cwd / seen", "not seen", fs),
    probe!(CLONE_FILES, "child's open fd in parent", "not in parent", files),
    probe!(CLONE_SIGHAND, "child's SIG_IGN seen", "not seen", sighand),
    probe!(CLONE_PIDFD, "pidfd for the child", "no pidfd", pidfd),
    probe!(CLONE_PTRACE, "child traced by our tracer", "not traced", ptrace),
    probe!(CLONE_VFORK, "parent resumed after exit", "resumed before", vfork),
    probe!(CLONE_PARENT, "child's ppid = caller's ppid", "ppid = caller", parent),
    probe!(CLONE_THREAD, "tgid = parent's pid", "own tgid", thread),
    probe!(CLONE_NEWNS, "new mnt ns", "same mnt ns", newns),
    probe!(CLONE_SYSVSEM, "semadj kept (shared undo)", "semadj undone at exit", sysvsem),
    probe!(CLONE_SETTLS, "fs base = tls", "fs base inherited", settls),
    probe!(CLONE_PARENT_SETTID, "parent's word = tid", "word untouched", parent_settid),
    probe!(CLONE_CHILD_CLEARTID, "word zeroed at exit", "word untouched", child_cleartid),
    probe!(CLONE_DETACHED, "clone: ignored, reaped", "reaped", detached),
    probe!(CLONE_UNTRACED, "not auto-attached", "auto-attached", untraced),
    probe!(CLONE_CHILD_SETTID, "child's word = tid", "word untouched", child_settid),
    probe!(CLONE_NEWCGROUP, "new cgroup ns", "same cgroup ns", newcgroup),
    probe!(CLONE_NEWUTS, "new uts ns, own hostname", "same uts ns", newuts),
    probe!(CLONE_NEWIPC, "new ipc ns", "same ipc ns", newipc),
    probe!(CLONE_NEWUSER, "new user ns", "same user ns", newuser),
    probe!(CLONE_NEWPID, "child is pid 1", "child is not pid 1", newpid),
    probe!(CLONE_NEWNET, "new net ns", "same net ns", newnet),
    probe!(CLONE_IO, "child's ioprio seen", "not seen", clone_io),
    probe!(CLONE_CLEAR_SIGHAND, "handler reset, SIG_IGN kept", "handler inherited", clear_sighand),
    probe!(CLONE_INTO_CGROUP, "child in target cgroup", "in caller's cgroup", into_cgroup),
];

/// How long a probe waits for a child before killing it.
const CHILD_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits for `child` at most [`CHILD_TIMEOUT`]; kills and reaps it past that.
fn wait_bounded(child: &mut Child) -> io::Result<ExitStatus> {
    let start = Instant::now();
    let mut nap = Duration::from_micros(50);
    loop {
        if let Some(st) = child.try_wait().map_err(io_of)? {
            return Ok(st);
        }
        if start.elapsed() > CHILD_TIMEOUT {
            let _ = child.kill(Signal::SIGKILL);
            let _ = child.wait();
            return Err(io::Errno::TIMEDOUT);
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(10));
    }
}

fn io_of(e: std::io::Error) -> io::Errno {
    io::Errno::from_io_error(&e).unwrap_or(io::Errno::IO)
}

fn errno_of(e: CloneError) -> io::Errno {
    io::Errno::from_raw_os_error(e.errno().raw())
}

/// Creates a child running `f` with these settings and waits for it. A child that reports
/// failure (a non-zero status: its system call failed) fails the probe with `EPROTO`.
fn run_child<F: FnOnce() -> i32 + Send>(b: Clone<'_>, f: F) -> io::Result<ExitStatus> {
    // SAFETY: every closure passed here makes raw system calls and atomic stores only; it
    // allocates nothing and touches no thread-local or libc state, which is what a child of
    // any flag combination may do. Memory it writes stays alive until the child is waited.
    let mut child = unsafe { b.spawn(f) }.map_err(errno_of)?;
    let status = wait_bounded(&mut child)?;
    if status.success() {
        Ok(status)
    } else {
        Err(io::Errno::PROTO)
    }
}

fn seen(b: bool) -> &'static str {
    if b {
        "seen"
    } else {
        "not seen"
    }
}

fn outcome(with: impl Into<String>, without: impl Into<String>, pass: bool) -> ProbeOutcome {
    ProbeOutcome::Observed { with: with.into(), without: without.into(), pass }
}

fn vm() -> io::Result<ProbeOutcome> {
    let word = Box::new(AtomicU64::new(0));
    let mut saw = [false; 2];
    for (i, flags) in [CloneFlags::CLONE_VM, CloneFlags::empty()].into_iter().enumerate() {
        word.store(0, SeqCst);
        let w = &*word;
        run_child(Clone::new().flags(flags), move || {
            w.store(1, SeqCst);
            0
        })?;
        saw[i] = word.load(SeqCst) == 1;
    }
    Ok(outcome(seen(saw[0]), seen(saw[1]), saw[0] && !saw[1]))
}

fn fs() -> io::Result<ProbeOutcome> {
    use rustix::fs::Mode;
    let here =
        rustix::fs::open(c".", rustix::fs::OFlags::PATH | rustix::fs::OFlags::DIRECTORY, Mode::empty())?;
    let target: &core::ffi::CStr =
        if rustix::process::getcwd(Vec::new())?.as_bytes() == b"/" { c"/tmp" } else { c"/" };
    let old_mask = rustix::process::umask(Mode::from_raw_mode(0o022));
    let mut saw = [(0u32, false); 2];
    for (i, flags) in [CloneFlags::CLONE_FS, CloneFlags::empty()].into_iter().enumerate() {
        rustix::process::umask(Mode::from_raw_mode(0o022));
        rustix::process::fchdir(&here)?;
        let r = run_child(Clone::new().flags(flags), move || {
            rustix::process::umask(Mode::from_raw_mode(0o077));
            match rustix::process::chdir(target) {
                Ok(()) => 0,
                Err(_) => 1,
            }
        });
        let mask = rustix::process::umask(Mode::from_raw_mode(0o022)).as_raw_mode();
        let moved = rustix::process::getcwd(Vec::new())?.as_c_str() == target;
        rustix::process::fchdir(&here)?;
        r?;
        saw[i] = (mask, moved);
    }
    rustix::process::umask(old_mask);
    let show = |(m, c): (u32, bool)| format!("umask {m:03o}, cwd {}", if c { "moved" } else { "kept" });
    let pass = saw[0] == (0o077, true) && saw[1] == (0o022, false);
    Ok(outcome(show(saw[0]), show(saw[1]), pass))
}

fn files() -> io::Result<ProbeOutcome> {
    let page = SharedPage::new()?;
    let mut saw = [false; 2];
    for (i, flags) in [CloneFlags::CLONE_FILES, CloneFlags::empty()].into_iter().enumerate() {
        page.clear();
        let p = &page;
        run_child(Clone::new().flags(flags), move || {
            // The descriptor is deliberately left open: the child's exit closes it in an
            // unshared table, and the parent closes it below in a shared one.
            match rustix::fs::open(c"/dev/null", rustix::fs::OFlags::RDONLY, rustix::fs::Mode::empty()) {
                Ok(fd) => {
                    p.slot(0).store(rustix::fd::IntoRawFd::into_raw_fd(fd) as u64 + 1, SeqCst);
                    0
                }
                Err(_) => 1,
            }
        })?;
        let fd = page.slot(0).load(SeqCst).checked_sub(1).ok_or(io::Errno::NOENT)? as i32;
        saw[i] = observe::take_fd_if_dev_null(fd);
    }
    Ok(outcome(
        if saw[0] { "open in parent" } else { "not in parent" },
        if saw[1] { "open in parent" } else { "not in parent" },
        saw[0] && !saw[1],
    ))
}

const PROBE_SIG: i32 = 12; // SIGUSR2

fn sighand() -> io::Result<ProbeOutcome> {
    let saved = observe::set_disposition(PROBE_SIG, Disposition::Default)?;
    let mut saw = [Disposition::Default; 2];
    for (i, flags) in
        [CloneFlags::CLONE_VM | CloneFlags::CLONE_SIGHAND, CloneFlags::CLONE_VM].into_iter().enumerate()
    {
        observe::set_disposition(PROBE_SIG, Disposition::Default)?;
        let r = run_child(Clone::new().flags(flags), || {
            match observe::set_disposition(PROBE_SIG, Disposition::Ignore) {
                Ok(_) => 0,
                Err(_) => 1,
            }
        });
        saw[i] = observe::disposition(PROBE_SIG)?;
        r?;
    }
    observe::restore_disposition(saved)?;
    let show = |d: Disposition| if d == Disposition::Ignore { "SIG_IGN seen" } else { "SIG_DFL kept" };
    Ok(outcome(show(saw[0]), show(saw[1]), saw[0] == Disposition::Ignore && saw[1] == Disposition::Default))
}

fn pidfd() -> io::Result<ProbeOutcome> {
    let mut shown = [String::new(), String::new()];
    let mut ok = [false; 2];
    for (i, want) in [true, false].into_iter().enumerate() {
        let b = Clone::new().pidfd(want);
        // SAFETY: the child only returns.
        let mut child = unsafe { b.spawn(|| 0) }.map_err(errno_of)?;
        let pid = child.pid();
        let fdinfo_pid = match child.pidfd() {
            Some(fd) => {
                let raw = std::os::fd::AsRawFd::as_raw_fd(&fd);
                let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{raw}")).unwrap_or_default();
                text.lines().find_map(|l| l.strip_prefix("Pid:")).and_then(|v| v.trim().parse::<i32>().ok())
            }
            None => None,
        };
        wait_bounded(&mut child)?;
        shown[i] = match fdinfo_pid {
            Some(p) if p == pid => "pidfd names the child".to_string(),
            Some(p) => format!("pidfd names pid {p}"),
            None => "no pidfd".to_string(),
        };
        ok[i] = (fdinfo_pid == Some(pid)) == want;
    }
    Ok(outcome(shown[0].clone(), shown[1].clone(), ok[0] && ok[1]))
}

/// Runs `inner` in a forked helper process that this process traces with `options`, and
/// returns what the helper's child reported in slot 1 (its `TracerPid`) and whether it ran.
fn traced_helper(options: usize, inner_flags: CloneFlags) -> io::Result<(i64, i32)> {
    let page = SharedPage::new()?;
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let p = &page;
    let b = Clone::new();
    // SAFETY: the helper waits for a go word, clones once, reaps its child and exits: raw
    // system calls and atomics only.
    let helper = unsafe {
        b.spawn(move || {
            let go = p.slot(0);
            while go.load(SeqCst) == 0 {
                let _ = rustix::thread::nanosleep(&rustix::thread::Timespec { tv_sec: 0, tv_nsec: 200_000 });
            }
            // The grandchild reads its own status file into a stack buffer.
            let r = Clone::new().flags(inner_flags).spawn(move || {
                let tracer = observe::proc_status_field(b"TracerPid:").unwrap_or(-1);
                p.slot(1).store(tracer as u64 + 1, SeqCst);
                0
            });
            match r {
                Ok(mut c) => {
                    let _ = c.wait();
                    0
                }
                Err(_) => 2,
            }
        })
    }
    .map_err(errno_of)?;
    let hpid = helper.pid();
    let mut helper = helper;
    let traced = ptrace::seize(hpid, options);
    page.slot(0).store(1, SeqCst);
    if let Err(e) = traced {
        let _ = wait_bounded(&mut helper);
        return Err(e);
    }
    // Act as the tracer until the helper is gone: every stop is continued; every traced
    // child's end is consumed here, the helper's too.
    let start = Instant::now();
    let mut helper_status = None;
    while helper_status.is_none() {
        if start.elapsed() > CHILD_TIMEOUT {
            let _ = helper.kill(Signal::SIGKILL);
            let _ = raw::wait4(hpid, raw::WALL);
            return Err(io::Errno::TIMEDOUT);
        }
        match raw::wait4(-1, raw::WALL | raw::WNOHANG) {
            Ok(Some((pid, status))) => {
                let stopped = status & 0xff == 0x7f;
                if stopped {
                    let sig = (status >> 8) & 0xff;
                    let event = status >> 16;
                    // Group-stops and event stops are continued without a signal; a real
                    // signal-delivery stop passes its signal on.
                    let deliver = if event != 0 || sig == 19 || sig == 5 { 0 } else { sig };
                    let _ = ptrace::cont(pid, deliver);
                } else if pid == hpid {
                    helper_status = Some(status);
                }
            }
            Ok(None) => std::thread::sleep(Duration::from_micros(200)),
            Err(e) if e == io::Errno::CHILD => break,
            Err(e) => return Err(e),
        }
    }
    // The helper was reaped by the wait above (we are its parent and its tracer); dropping
    // its handle finds nothing left to reap.
    drop(helper);
    let reported = page.slot(1).load(SeqCst) as i64 - 1;
    Ok((reported, if reported == i64::from(me) { 1 } else { 0 }))
}

fn ptrace() -> io::Result<ProbeOutcome> {
    let (with, w) = traced_helper(0, CloneFlags::CLONE_PTRACE)?;
    let (without, wo) = traced_helper(0, CloneFlags::empty())?;
    let show =
        |t: i64, ours: i32| if ours == 1 { "traced by us".to_string() } else { format!("TracerPid {t}") };
    Ok(outcome(show(with, w), show(without, wo), w == 1 && wo == 0 && without == 0))
}

fn untraced() -> io::Result<ProbeOutcome> {
    // PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE: auto-attach.
    const AUTO_ATTACH: usize = 0x02 | 0x04 | 0x08;
    let (with, w) = traced_helper(AUTO_ATTACH, CloneFlags::CLONE_UNTRACED)?;
    let (without, wo) = traced_helper(AUTO_ATTACH, CloneFlags::empty())?;
    let show =
        |t: i64, ours: i32| if ours == 1 { "traced by us".to_string() } else { format!("TracerPid {t}") };
    Ok(outcome(show(with, w), show(without, wo), w == 0 && with == 0 && wo == 1))
}

fn vfork() -> io::Result<ProbeOutcome> {
    let page = SharedPage::new()?;
    let mut done_at_return = [false; 2];
    for (i, flags) in [CloneFlags::CLONE_VFORK, CloneFlags::empty()].into_iter().enumerate() {
        page.clear();
        let p = &page;
        // SAFETY: the child sleeps and stores one word.
        let mut child = unsafe {
            Clone::new().flags(flags).spawn(move || {
                let _ =
                    rustix::thread::nanosleep(&rustix::thread::Timespec { tv_sec: 0, tv_nsec: 100_000_000 });
                p.slot(0).store(1, SeqCst);
                0
            })
        }
        .map_err(errno_of)?;
        done_at_return[i] = page.slot(0).load(SeqCst) == 1;
        wait_bounded(&mut child)?;
    }
    let show = |d: bool| if d { "resumed after child exit" } else { "resumed while child ran" };
    Ok(outcome(show(done_at_return[0]), show(done_at_return[1]), done_at_return[0] && !done_at_return[1]))
}

fn parent() -> io::Result<ProbeOutcome> {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let mut shown = [String::new(), String::new()];
    let mut ok = [false; 2];
    for (i, flags) in [CloneFlags::CLONE_PARENT, CloneFlags::empty()].into_iter().enumerate() {
        let page = SharedPage::new()?;
        let p = &page;
        // The helper (our child) creates the probed child, so that CLONE_PARENT makes it our
        // child, which we then reap: nothing is left to our own parent.
        run_child(Clone::new(), move || {
            // clone3 wants exit signal 0 with CLONE_PARENT (the child inherits ours).
            let sig =
                if flags.contains(CloneFlags::CLONE_PARENT) { ExitSignal::NONE } else { ExitSignal::SIGCHLD };
            let b = Clone::new().flags(flags).exit_signal(sig);
            // SAFETY (nested): the grandchild stores its ppid.
            match unsafe {
                b.spawn(move || {
                    p.slot(1).store(
                        rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get()) as u64,
                        SeqCst,
                    );
                    0
                })
            } {
                Ok(c) => {
                    p.slot(0).store(rustix::process::getpid().as_raw_nonzero().get() as u64, SeqCst);
                    p.slot(2).store(c.pid() as u64, SeqCst);
                    // With CLONE_PARENT the grandchild is our caller's to reap; dropping the
                    // handle leaves it alone.
                    if !flags.contains(CloneFlags::CLONE_PARENT) {
                        let mut c = c;
                        let _ = c.wait();
                    }
                    0
                }
                Err(_) => 1,
            }
        })?;
        let helper = page.slot(0).load(SeqCst) as i32;
        let grandchild = page.slot(2).load(SeqCst) as i32;
        if flags.contains(CloneFlags::CLONE_PARENT) && grandchild > 0 {
            raw::wait4(grandchild, raw::WALL)?;
        }
        let ppid = page.slot(1).load(SeqCst) as i32;
        shown[i] = if ppid == me {
            "ppid = caller's parent".into()
        } else if ppid == helper {
            "ppid = caller".into()
        } else {
            format!("ppid = {ppid}")
        };
        ok[i] = if i == 0 { ppid == me } else { ppid == helper };
    }
    Ok(outcome(shown[0].clone(), shown[1].clone(), ok[0] && ok[1]))
}

fn thread() -> io::Result<ProbeOutcome> {
    let page = SharedPage::new()?;
    let me = rustix::process::getpid().as_raw_nonzero().get() as u64;
    let mut tg = [(0u64, 0u64); 2];
    let base = CloneFlags::CLONE_VM | CloneFlags::CLONE_SIGHAND | CloneFlags::CLONE_CHILD_CLEARTID;
    for (i, flags) in [base | CloneFlags::CLONE_THREAD, base].into_iter().enumerate() {
        page.clear();
        let p = &page;
        let ctid = AtomicI32::new(-1);
        let b = Clone::new()
            .flags(flags)
            .exit_signal(if i == 0 { ExitSignal::NONE } else { ExitSignal::SIGCHLD })
            .child_tid(ctid.as_ptr());
        // SAFETY: the child stores two words; `ctid` outlives it because we wait for the
        // kernel's CHILD_CLEARTID wake before it goes out of scope.
        let child = unsafe {
            b.spawn(move || {
                p.slot(0).store(rustix::process::getpid().as_raw_nonzero().get() as u64, SeqCst);
                p.slot(1).store(rustix::thread::gettid().as_raw_nonzero().get() as u64, SeqCst);
                0
            })
        }
        .map_err(errno_of)?;
        if flags.contains(CloneFlags::CLONE_THREAD) {
            // A thread is not a child to wait for: the kernel's CLONE_CHILD_CLEARTID wake
            // says it is gone.
            observe::wait_cleartid(&ctid, CHILD_TIMEOUT)?;
            drop(child);
        } else {
            let mut child = child;
            wait_bounded(&mut child)?;
        }
        tg[i] = (page.slot(0).load(SeqCst), page.slot(1).load(SeqCst));
    }
    let show = |(tgid, tid): (u64, u64)| {
        if tgid == me {
            "tgid = parent's pid".to_string()
        } else if tgid == tid {
            "own thread group".to_string()
        } else {
            format!("tgid {tgid}")
        }
    };
    Ok(outcome(show(tg[0]), show(tg[1]), tg[0].0 == me && tg[1].0 == tg[1].1 && tg[1].0 != me))
}

/// A namespace kind under `/proc/self/ns`.
fn ns_inode(path: &core::ffi::CStr) -> io::Result<u64> {
    Ok(rustix::fs::stat(path)?.st_ino)
}

fn ns_probe(flag: CloneFlags, path: &'static core::ffi::CStr, syscall: Syscall) -> io::Result<ProbeOutcome> {
    let mine = ns_inode(path)?;
    let page = SharedPage::new()?;
    let mut got = [0u64; 2];
    for (i, flags) in [flag, CloneFlags::empty()].into_iter().enumerate() {
        page.clear();
        let p = &page;
        run_child(Clone::new().flags(flags).syscall(syscall), move || match ns_inode(path) {
            Ok(ino) => {
                p.slot(0).store(ino, SeqCst);
                0
            }
            Err(_) => 1,
        })?;
        got[i] = page.slot(0).load(SeqCst);
    }
    let show = |ino: u64| if ino == mine { "same ns".to_string() } else { "new ns".to_string() };
    Ok(outcome(show(got[0]), show(got[1]), got[0] != mine && got[0] != 0 && got[1] == mine))
}

fn newns() -> io::Result<ProbeOutcome> {
    ns_probe(CloneFlags::CLONE_NEWNS, c"/proc/self/ns/mnt", Syscall::Auto)
}
fn newcgroup() -> io::Result<ProbeOutcome> {
    ns_probe(CloneFlags::CLONE_NEWCGROUP, c"/proc/self/ns/cgroup", Syscall::Auto)
}
fn newipc() -> io::Result<ProbeOutcome> {
    ns_probe(CloneFlags::CLONE_NEWIPC, c"/proc/self/ns/ipc", Syscall::Auto)
}
fn newuser() -> io::Result<ProbeOutcome> {
    ns_probe(CloneFlags::CLONE_NEWUSER, c"/proc/self/ns/user", Syscall::Auto)
}
fn newnet() -> io::Result<ProbeOutcome> {
    ns_probe(CloneFlags::CLONE_NEWNET, c"/proc/self/ns/net", Syscall::Auto)
}
fn newtime() -> io::Result<ProbeOutcome> {
    if !clonekit_sys::clone3_supported() {
        return Ok(ProbeOutcome::Skipped("CLONE_NEWTIME needs clone3, which this kernel refuses".into()));
    }
    ns_probe(CloneFlags::CLONE_NEWTIME, c"/proc/self/ns/time", Syscall::Clone3)
}

fn newuts() -> io::Result<ProbeOutcome> {
    // The child renames its host: seen only in its own UTS namespace.
    let mine = rustix::system::uname().nodename().to_bytes().to_vec();
    let ns = ns_probe(CloneFlags::CLONE_NEWUTS, c"/proc/self/ns/uts", Syscall::Auto)?;
    run_child(Clone::new().flags(CloneFlags::CLONE_NEWUTS), || {
        match rustix::system::sethostname(b"clonekit-probe") {
            Ok(()) => 0,
            Err(_) => 1,
        }
    })?;
    let after = rustix::system::uname().nodename().to_bytes().to_vec();
    Ok(match ns {
        ProbeOutcome::Observed { with, without, pass } => ProbeOutcome::Observed {
            with: format!("{with}, hostname {}", if after == mine { "kept" } else { "changed" }),
            without,
            pass: pass && after == mine,
        },
        other => other,
    })
}

fn newpid() -> io::Result<ProbeOutcome> {
    let page = SharedPage::new()?;
    let mut pid = [0u64; 2];
    for (i, flags) in [CloneFlags::CLONE_NEWPID, CloneFlags::empty()].into_iter().enumerate() {
        page.clear();
        let p = &page;
        run_child(Clone::new().flags(flags), move || {
            p.slot(0).store(rustix::process::getpid().as_raw_nonzero().get() as u64, SeqCst);
            0
        })?;
        pid[i] = page.slot(0).load(SeqCst);
    }
    let show = |p: u64| if p == 1 { "child is pid 1".to_string() } else { "child is not pid 1".to_string() };
    Ok(outcome(show(pid[0]), show(pid[1]), pid[0] == 1 && pid[1] > 1))
}

fn sysvsem() -> io::Result<ProbeOutcome> {
    let mut value = [0; 2];
    for (i, flags) in [CloneFlags::CLONE_SYSVSEM, CloneFlags::empty()].into_iter().enumerate() {
        let sem = SysvSemaphore::new()?;
        let s = &sem;
        run_child(Clone::new().flags(flags), move || match s.add(1, true) {
            Ok(()) => 0,
            Err(_) => 1,
        })?;
        value[i] = sem.value()?;
    }
    let show = |v: i32| if v == 1 { "semadj kept" } else { "semadj undone" };
    Ok(outcome(show(value[0]), show(value[1]), value[0] == 1 && value[1] == 0))
}

fn settls() -> io::Result<ProbeOutcome> {
    let page = SharedPage::new()?;
    let block = observe::TlsBlock::new()?;
    let tls = block.thread_pointer();
    let mine = observe::fs_base()?;
    let mut got = [0usize; 2];
    for (i, flags) in [CloneFlags::CLONE_SETTLS, CloneFlags::empty()].into_iter().enumerate() {
        page.clear();
        let p = &page;
        run_child(Clone::new().flags(flags).tls(tls), move || match observe::fs_base() {
            Ok(fs) => {
                p.slot(0).store(fs as u64, SeqCst);
                0
            }
            Err(_) => 1,
        })?;
        got[i] = page.slot(0).load(SeqCst) as usize;
    }
    let show = |fs: usize| {
        if fs == tls {
            "fs base = tls"
        } else if fs == mine {
            "fs base inherited"
        } else {
            "fs base other"
        }
    };
    Ok(outcome(show(got[0]), show(got[1]), got[0] == tls && got[1] == mine))
}

fn parent_settid() -> io::Result<ProbeOutcome> {
    let mut shown = ["", ""];
    let mut ok = [false; 2];
    for (i, flags) in [CloneFlags::CLONE_PARENT_SETTID, CloneFlags::empty()].into_iter().enumerate() {
        let word = AtomicI32::new(0);
        let b = Clone::new().flags(flags).parent_tid(word.as_ptr());
        // SAFETY: the child only returns; `word` outlives the call.
        let mut child = unsafe { b.spawn(|| 0) }.map_err(errno_of)?;
        let pid = child.pid();
        wait_bounded(&mut child)?;
        let v = word.load(SeqCst);
        shown[i] = if v == pid {
            "parent's word = tid"
        } else if v == 0 {
            "word untouched"
        } else {
            "word other"
        };
        ok[i] = if i == 0 { v == pid } else { v == 0 };
    }
    Ok(outcome(shown[0], shown[1], ok[0] && ok[1]))
}

fn child_settid() -> io::Result<ProbeOutcome> {
    let page = SharedPage::new()?;
    let mut shown = [String::new(), String::new()];
    let mut ok = [false; 2];
    for (i, flags) in [CloneFlags::CLONE_CHILD_SETTID, CloneFlags::empty()].into_iter().enumerate() {
        page.clear();
        let word = AtomicI32::new(0);
        let w = &word;
        let p = &page;
        let b = Clone::new().flags(flags).child_tid(word.as_ptr());
        // SAFETY: the child reads its own (copy-on-write) copy of `word` and stores it.
        let mut child = unsafe {
            b.spawn(move || {
                p.slot(0).store(w.load(SeqCst) as u64, SeqCst);
                0
            })
        }
        .map_err(errno_of)?;
        let pid = child.pid();
        wait_bounded(&mut child)?;
        let in_child = page.slot(0).load(SeqCst) as i32;
        let in_parent = word.load(SeqCst);
        shown[i] = format!(
            "{}, parent's {}",
            if in_child == pid { "child's word = tid" } else { "child's word untouched" },
            if in_parent == 0 { "untouched" } else { "written" }
        );
        ok[i] = in_parent == 0 && if i == 0 { in_child == pid } else { in_child == 0 };
    }
    Ok(outcome(shown[0].clone(), shown[1].clone(), ok[0] && ok[1]))
}

fn child_cleartid() -> io::Result<ProbeOutcome> {
    // The kernel clears the word only when someone else still uses the mm (mm_users > 1), so
    // the probe shares it: CLONE_VM.
    let mut shown = ["", ""];
    let mut ok = [false; 2];
    for (i, flags) in [CloneFlags::CLONE_VM | CloneFlags::CLONE_CHILD_CLEARTID, CloneFlags::CLONE_VM]
        .into_iter()
        .enumerate()
    {
        let word = AtomicI32::new(12345);
        let b = Clone::new().flags(flags).child_tid(word.as_ptr());
        // SAFETY: the child only returns; `word` outlives it (we wait below).
        let mut child = unsafe { b.spawn(|| 0) }.map_err(errno_of)?;
        wait_bounded(&mut child)?;
        let v = word.load(SeqCst);
        shown[i] = if v == 0 { "word zeroed at exit" } else { "word untouched" };
        ok[i] = if i == 0 { v == 0 } else { v == 12345 };
    }
    Ok(outcome(shown[0], shown[1], ok[0] && ok[1]))
}

fn detached() -> io::Result<ProbeOutcome> {
    let mut st = [ExitStatus::from_code(-1); 2];
    for (i, flags) in [CloneFlags::CLONE_DETACHED, CloneFlags::empty()].into_iter().enumerate() {
        // SAFETY: the child only returns a status.
        let mut child =
            unsafe { Clone::new().flags(flags).syscall(Syscall::Clone).spawn(|| 7) }.map_err(errno_of)?;
        st[i] = wait_bounded(&mut child)?;
    }
    Ok(outcome(
        format!("clone ignores it, {}", st[0]),
        st[1].to_string(),
        st[0] == st[1] && st[0] == ExitStatus::from_code(7),
    ))
}

fn clone_io() -> io::Result<ProbeOutcome> {
    // An I/O context exists only once something needs it; setting our priority makes one, so
    // that there is something to share.
    let saved = observe::ioprio_get(0)?;
    const BE: u32 = 2 << 13;
    let mut prio = [0u32; 2];
    for (i, flags) in [CloneFlags::CLONE_IO, CloneFlags::empty()].into_iter().enumerate() {
        observe::ioprio_set(0, BE | 4)?;
        let r = run_child(Clone::new().flags(flags), || match observe::ioprio_set(0, BE | 7) {
            Ok(()) => 0,
            Err(_) => 1,
        });
        prio[i] = observe::ioprio_get(0)?;
        r?;
    }
    observe::ioprio_set(0, saved)?;
    let show = |p: u32| if p == BE | 7 { "child's ioprio seen" } else { "not seen" };
    Ok(outcome(show(prio[0]), show(prio[1]), prio[0] == BE | 7 && prio[1] == BE | 4))
}

fn clear_sighand() -> io::Result<ProbeOutcome> {
    if !clonekit_sys::clone3_supported() {
        return Ok(ProbeOutcome::Skipped(
            "CLONE_CLEAR_SIGHAND needs clone3, which this kernel refuses".into(),
        ));
    }
    const IGNORED: i32 = 10; // SIGUSR1
    let saved_h = observe::set_disposition(PROBE_SIG, Disposition::Handler)?;
    let saved_i = observe::set_disposition(IGNORED, Disposition::Ignore)?;
    let page = SharedPage::new()?;
    let mut got = [(0u64, 0u64); 2];
    let code = |d: Disposition| match d {
        Disposition::Default => 1,
        Disposition::Ignore => 2,
        Disposition::Handler => 3,
    };
    for (i, flags) in [CloneFlags::CLONE_CLEAR_SIGHAND, CloneFlags::empty()].into_iter().enumerate() {
        page.clear();
        let p = &page;
        let r = run_child(Clone::new().flags(flags).syscall(Syscall::Clone3), move || {
            let h = observe::disposition(PROBE_SIG).map_or(0, code);
            let ig = observe::disposition(IGNORED).map_or(0, code);
            p.slot(0).store(h, SeqCst);
            p.slot(1).store(ig, SeqCst);
            0
        });
        got[i] = (page.slot(0).load(SeqCst), page.slot(1).load(SeqCst));
        if let Err(e) = r {
            observe::restore_disposition(saved_h)?;
            observe::restore_disposition(saved_i)?;
            return Err(e);
        }
    }
    observe::restore_disposition(saved_h)?;
    observe::restore_disposition(saved_i)?;
    let show = |(h, ig): (u64, u64)| {
        format!(
            "handler {}, SIG_IGN {}",
            if h == 1 {
                "reset"
            } else if h == 3 {
                "inherited"
            } else {
                "?"
            },
            if ig == 2 { "kept" } else { "lost" }
        )
    };
    Ok(outcome(show(got[0]), show(got[1]), got[0] == (1, 2) && got[1] == (3, 2)))
}

fn into_cgroup() -> io::Result<ProbeOutcome> {
    if !clonekit_sys::clone3_supported() {
        return Ok(ProbeOutcome::Skipped("CLONE_INTO_CGROUP needs clone3, which this kernel refuses".into()));
    }
    let cg = match observe::ProbeCgroup::create() {
        Ok(cg) => cg,
        Err(e) => return Ok(ProbeOutcome::Skipped(format!("no cgroup v2 hierarchy available ({e})"))),
    };
    let page = SharedPage::new()?;
    let mut inside = [false; 2];
    for (i, into) in [true, false].into_iter().enumerate() {
        page.clear();
        let p = &page;
        let mut b = Clone::new().syscall(Syscall::Clone3);
        if into {
            b = b.cgroup(cg.dir_fd());
        }
        let name = cg.name();
        run_child(b, move || {
            // The child reads its own cgroup2 path from /proc/self/cgroup.
            p.slot(0).store(u64::from(observe::cgroup2_path_is(name)), SeqCst);
            0
        })?;
        inside[i] = page.slot(0).load(SeqCst) == 1;
    }
    let show = |b: bool| if b { "child in target cgroup" } else { "in caller's cgroup" };
    Ok(outcome(show(inside[0]), show(inside[1]), inside[0] && !inside[1]))
}
