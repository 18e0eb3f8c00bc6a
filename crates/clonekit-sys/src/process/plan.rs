//! The child's half of a [`crate::Command`]: a plan the parent builds completely beforehand
//! (C strings, pointer arrays, fd numbers, ids), which the child carries out step by step
//! with raw system calls only, then `execve`. The child allocates nothing, takes no lock and
//! touches no libc state (pitfalls 10, 12): it may share the parent's memory and TLS.
//!
//! A failing step stores its index and errno in a [`Report`] that the parent reads once the
//! child has exec'd or exited, and the child exits with 127 (glibc's status for a failed
//! `posix_spawn` child).

use super::error::Step;
use crate::spawn::{ExecPlan, EXEC_FAILED_STATUS};
use clonekit_raw::{self as sys, SigSet};
use rustix::io::Errno as RawErrno;
use std::ffi::CStr;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// A pre-exec hook, as stored by `pre_exec` and [`super::Command::pre_exec_vfork`].
pub(crate) type Hook = Box<dyn FnMut() -> io::Result<()> + Send + Sync>;

/// The words the child and the parent share. With `CLONE_VM` it lives in the parent's frame;
/// for a fork-style child, in a `MAP_SHARED` page.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct Report {
    /// The failing step's index ([`Step::index`]).
    pub(crate) step: AtomicU32,
    /// Its errno; 0 while nothing failed.
    pub(crate) errno: AtomicI32,
    /// Which exec candidate was tried last.
    pub(crate) last: AtomicI32,
    /// The handshake gate: 0 wait, 1 go on, 2 give up (the parent could not write the maps).
    pub(crate) gate: AtomicU32,
    /// Non-zero until the child has exec'd or exited (`CLONE_CHILD_CLEARTID` clears it).
    pub(crate) alive: AtomicU32,
    /// A forked child's panic did not reach clonekit's dispatcher hook (see
    /// [`ForkedHooks`]).
    pub(crate) hook_lost: AtomicBool,
}

impl Report {
    pub(crate) const fn new() -> Report {
        Report {
            step: AtomicU32::new(0),
            errno: AtomicI32::new(0),
            last: AtomicI32::new(0),
            gate: AtomicU32::new(0),
            alive: AtomicU32::new(1),
            hook_lost: AtomicBool::new(false),
        }
    }

    /// The failed step and its errno, if one failed.
    pub(crate) fn failure(&self) -> Option<(Step, i32)> {
        let e = self.errno.load(Ordering::Acquire);
        (e != 0).then(|| (Step::from_index(self.step.load(Ordering::Relaxed)), e))
    }
}

/// `MS_*` flags for the mount steps.
const MS_NOSUID: u64 = 2;
const MS_NODEV: u64 = 4;
const MS_NOEXEC: u64 = 8;
const MS_REC: u64 = 16384;
const MS_PRIVATE: u64 = 1 << 18;

/// Everything the child does, prepared by the parent.
pub(crate) struct ChildPlan<'a> {
    pub(crate) report: &'a Report,
    /// Wait at the gate first (a user-namespace handshake).
    pub(crate) wait_gate: bool,
    /// Signals to set to `SIG_DFL` (bit `n - 1` for signal `n`).
    pub(crate) sigdefault: SigSet,
    /// The signal mask `execve` starts the program with.
    pub(crate) mask: SigSet,
    pub(crate) setsid: bool,
    pub(crate) pgid: Option<i32>,
    /// Fds to `dup2` onto 0, 1, 2 (`None`: inherited as is).
    pub(crate) stdio: [Option<i32>; 3],
    /// Fd mappings, `(source, target)`, made after the standard streams. Every source is
    /// above every target (the parent moved them), so no `dup2` overwrites a later source.
    pub(crate) fds: &'a [(i32, i32)],
    pub(crate) make_private: bool,
    pub(crate) chroot: Option<&'a CStr>,
    pub(crate) mount_proc: Option<&'a CStr>,
    pub(crate) groups: Option<&'a [u32]>,
    pub(crate) gid: Option<u32>,
    pub(crate) uid: Option<u32>,
    pub(crate) cwd: Option<&'a CStr>,
    /// The signal, and the parent's pid to check `getppid()` against (0: do not check).
    pub(crate) pdeathsig: Option<(u32, i32)>,
    /// Fds (≥ 3, sorted) kept open and inheritable.
    pub(crate) preserve: &'a [i32],
    /// Fds (≥ 3, sorted) that `close_fds` keeps: the preserved ones and the mapping targets.
    pub(crate) keep: &'a [i32],
    pub(crate) close_fds: bool,
    pub(crate) hooks: *mut [super::PreExec],
    /// The child is a forked copy running std-contract hooks: a panic there aborts it.
    pub(crate) abort_on_panic: bool,
    pub(crate) exec: ExecPlan<'a>,
}

impl ChildPlan<'_> {
    /// Carries out the plan in the child; returns only on failure, with the exit status.
    pub(crate) fn run(&self) -> i32 {
        if let Err((step, e)) = self.setup() {
            return self.failed(step, e);
        }
        if self.abort_on_panic {
            return self.finish_inside_a_panic_hook();
        }
        self.finish()
    }

    fn failed(&self, step: Step, e: RawErrno) -> i32 {
        self.report.step.store(step.index(), Ordering::Relaxed);
        self.report.errno.store(e.raw_os_error(), Ordering::Release);
        EXEC_FAILED_STATUS
    }

    /// The pre-exec hooks, then `execve`.
    fn finish(&self) -> i32 {
        // SAFETY: the parent keeps the hooks alive and untouched until we exec or exit, and
        // nothing else calls them meanwhile; what they may do is their author's contract.
        for pre in unsafe { &mut *self.hooks }.iter_mut() {
            if let Err(e) = (pre.hook)() {
                let raw = e.raw_os_error().unwrap_or(RawErrno::IO.raw_os_error());
                // Freeing a custom error's box here could re-enter the allocator.
                std::mem::forget(e);
                return self.failed(Step::PreExec, RawErrno::from_raw_os_error(raw));
            }
        }
        sys_set_mask(self.mask);
        self.report.step.store(Step::Exec.index(), Ordering::Relaxed);
        self.exec.run()
    }

    /// [`ChildPlan::finish`] in a forked child running std-contract hooks, so that a panic in a
    /// hook kills the child with `SIGABRT` without allocating, as std's child
    /// (`panic::always_abort`): the hooks run inside a panic hook, where the panic machinery
    /// treats a second panic as fatal at once ("thread panicked while processing panic",
    /// `abort()`), before it formats a message or unwinds. The hook is the dispatcher the
    /// parent installed ([`ForkedHooks`]), which runs this plan in a child and the program's
    /// hook anywhere else: the child only reads the panic hook (a write, `set_hook`, would
    /// wait for ever for a lock another of the parent's threads held at the fork). Nothing is
    /// allocated on the way in (the panic's message is a literal). If the program replaced
    /// the dispatcher meanwhile, its hook returns, and the plan runs here without that guard
    /// (and the next spawn puts the dispatcher back). Never returns but on failure.
    fn finish_inside_a_panic_hook(&self) -> i32 {
        FORKED_PLAN.store((self as *const ChildPlan<'_>).cast_mut().cast(), Ordering::Release);
        let _ = std::panic::catch_unwind(|| panic!("clonekit: running the pre_exec hooks of a forked child"));
        self.report.hook_lost.store(true, Ordering::Release);
        self.finish()
    }

    fn setup(&self) -> Result<(), (Step, RawErrno)> {
        if self.wait_gate {
            loop {
                match self.report.gate.load(Ordering::Acquire) {
                    0 => sys::futex_wait(&self.report.gate, 0),
                    1 => break,
                    // The parent gave up and reports its own error; leave quietly.
                    _ => clonekit_raw::exit_group(EXEC_FAILED_STATUS),
                }
            }
        }
        let at = |step: Step| move |e: RawErrno| (step, e);
        let mut pending = self.sigdefault;
        while pending != 0 {
            let sig = pending.trailing_zeros() as usize + 1;
            pending &= pending - 1;
            sys::sigaction_set_disposition(sig, sys::SIG_DFL).map_err(at(Step::Sigaction))?;
        }
        if self.setsid {
            sys::setsid().map_err(at(Step::Setsid))?;
        }
        if let Some(pgid) = self.pgid {
            sys::setpgid_self(pgid).map_err(at(Step::Setpgid))?;
        }
        for (target, (src, step)) in
            self.stdio.iter().zip([Step::Stdin, Step::Stdout, Step::Stderr]).enumerate()
        {
            if let Some(src) = *src {
                sys::dup2_inheritable(src, target as i32).map_err(at(step))?;
            }
        }
        for &(src, target) in self.fds {
            let step = match target {
                0 => Step::Stdin,
                1 => Step::Stdout,
                2 => Step::Stderr,
                _ => Step::MapFd,
            };
            sys::dup2_inheritable(src, target).map_err(at(step))?;
        }
        if self.make_private {
            // SAFETY: "/" is a NUL-terminated string; no source or type.
            unsafe {
                sys::mount(std::ptr::null(), c"/".as_ptr().cast(), std::ptr::null(), MS_REC | MS_PRIVATE)
            }
            .map_err(at(Step::MountPrivate))?;
        }
        if let Some(root) = self.chroot {
            // SAFETY: a C string built by the parent.
            unsafe { sys::chroot(root.as_ptr().cast()) }.map_err(at(Step::Chroot))?;
            if self.cwd.is_none() {
                // SAFETY: a C string literal.
                unsafe { sys::chdir(c"/".as_ptr().cast()) }.map_err(at(Step::Chroot))?;
            }
        }
        if let Some(target) = self.mount_proc {
            let flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
            // SAFETY: C strings built by the parent or literals.
            unsafe {
                sys::mount(c"proc".as_ptr().cast(), target.as_ptr().cast(), c"proc".as_ptr().cast(), flags)
            }
            .map_err(at(Step::MountProc))?;
        }
        if let Some(groups) = self.groups {
            sys::setgroups(groups).map_err(at(Step::Setgroups))?;
        }
        if let Some(gid) = self.gid {
            sys::setresgid(gid).map_err(at(Step::Setgid))?;
        }
        if let Some(uid) = self.uid {
            sys::setresuid(uid).map_err(at(Step::Setuid))?;
        }
        if let Some(cwd) = self.cwd {
            // SAFETY: a C string built by the parent.
            unsafe { sys::chdir(cwd.as_ptr().cast()) }.map_err(at(Step::Chdir))?;
        }
        // After the credential change, which clears the parent-death signal (commit_creds).
        if let Some((sig, parent)) = self.pdeathsig {
            sys::set_pdeathsig(sig).map_err(at(Step::Pdeathsig))?;
            if parent != 0 && sys::getppid() != parent {
                return Err((Step::Pdeathsig, RawErrno::SRCH));
            }
        }
        for &fd in self.preserve {
            sys::dup2_inheritable(fd, fd).map_err(at(Step::PreserveFd))?;
        }
        if self.close_fds {
            let mut first = 3u32;
            for &keep in self.keep {
                if keep as u32 > first {
                    sys::close_range(first, keep as u32 - 1).map_err(at(Step::CloseRange))?;
                }
                first = keep as u32 + 1;
            }
            sys::close_range(first, u32::MAX).map_err(at(Step::CloseRange))?;
        }
        Ok(())
    }
}

fn sys_set_mask(mask: SigSet) {
    crate::signals::set_mask(mask);
}

/// The plan of this forked child, for [`run_forked_plan`]; null in every process but a
/// forked child that runs std-contract hooks.
static FORKED_PLAN: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

/// The rest of a forked child's plan, run from the panic hook.
fn run_forked_plan() -> ! {
    // SAFETY: stored by `finish_inside_a_panic_hook` from a plan that lives in this copy of
    // the parent's frame, which stays until the child execs or exits.
    let plan = unsafe { &*FORKED_PLAN.load(Ordering::Acquire).cast::<ChildPlan<'_>>() };
    sys::exit_group(plan.finish())
}

/// The panic hook clonekit installs in the parent: in a forked child that runs std-contract
/// hooks it runs the child's plan; everywhere else it is the hook it replaced.
type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The data address of the dispatcher clonekit installed last (0 before any).
static DISPATCHER: AtomicUsize = AtomicUsize::new(0);

/// Held by the parent from before it makes sure of the dispatcher until the forked child
/// exists, so that no other thread of clonekit's changes the panic hook (taking its lock
/// for writing) while a child is forked: the child would find the lock held for ever.
static FORK_HOOK: Mutex<()> = Mutex::new(());

/// What a spawn that forks a child for std-contract hooks holds while it does so (see
/// [`ChildPlan::finish_inside_a_panic_hook`]).
pub(crate) struct ForkedHooks(#[allow(dead_code)] MutexGuard<'static, ()>);

impl ForkedHooks {
    /// Makes sure the panic hook is clonekit's dispatcher, wrapping whatever hook is there
    /// (std's default, or the program's own, which it keeps calling), and holds off
    /// clonekit's other hook changes until dropped (after the fork).
    pub(crate) fn prepare() -> ForkedHooks {
        let guard = FORK_HOOK.lock().unwrap_or_else(|e| e.into_inner());
        // Installed once, and again only when a child found it gone (the program set a hook of
        // its own since) or when no other thread can be panicking meanwhile (between
        // `take_hook` and `set_hook`, another thread's panic would get std's default hook).
        let installed = DISPATCHER.load(Ordering::Relaxed) != 0;
        let recheck = !installed || HOOK_LOST.swap(false, Ordering::Relaxed) || single_threaded();
        // A panicking thread may not change the hook; its child keeps the one there is.
        if recheck && !std::thread::panicking() {
            let current = std::panic::take_hook();
            if hook_address(&current) == DISPATCHER.load(Ordering::Relaxed) {
                std::panic::set_hook(current);
            } else {
                let dispatcher: PanicHook = Box::new(move |info| {
                    if FORKED_PLAN.load(Ordering::Acquire).is_null() {
                        current(info)
                    } else {
                        run_forked_plan()
                    }
                });
                DISPATCHER.store(hook_address(&dispatcher), Ordering::Relaxed);
                std::panic::set_hook(dispatcher);
            }
        }
        ForkedHooks(guard)
    }
}

/// Set when a forked child found that its panic did not reach the dispatcher.
pub(crate) static HOOK_LOST: AtomicBool = AtomicBool::new(false);

/// Whether this process has one thread (`Threads:` in `/proc/self/status`).
fn single_threaded() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Threads:").map(|n| n.trim() == "1")))
        .unwrap_or(false)
}

/// Where a boxed hook's data lives (the dispatcher captures the previous hook, so its box
/// is a real, unique allocation).
fn hook_address(hook: &PanicHook) -> usize {
    (&**hook as *const (dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send)).cast::<()>() as usize
}
