//! clone3 first, legacy clone as the fallback (pitfall 15), after glibc's
//! `__clone_internal` (sysdeps/unix/sysv/linux/clone-internal.c).
//!
//! - [`Syscall::Auto`] tries `clone3`. If it fails with `ENOSYS` (pre-5.3 kernel, or a
//!   container seccomp profile that answers `ENOSYS` on purpose), the process-wide cache
//!   records "no clone3" and the same request is re-issued through legacy `clone`. An
//!   `EPERM` is ambiguous (older seccomp profiles, but also the kernel's own `EPERM` for a
//!   namespace without privilege), so a harmless probe decides: a `clone3` that the kernel
//!   itself must reject with `EINVAL` (size 0, rule C2). If the probe is refused too, the
//!   `EPERM` came from a filter and we fall back; otherwise it is the kernel's answer.
//! - Once the cache says "no clone3", `Auto` goes straight to legacy `clone`.
//! - A request that legacy `clone` cannot express (`CLONE_INTO_CGROUP`,
//!   `CLONE_CLEAR_SIGHAND`, `CLONE_NEWTIME`, `set_tid`, flag bits above 31, an exit signal
//!   above 255) is never degraded silently: it fails with [`Clone3Only`].
//! - [`Syscall::Clone`] and [`Syscall::Clone3`] issue exactly that call, with no fallback
//!   (probes need legacy `clone` for exit signal 255 or `CLONE_DETACHED`).

use clonekit_flags::{CloneArgs, CloneCall, CloneFlags, ExitSignal, CSIGNAL};
use clonekit_raw as sys;
use clonekit_raw::{self as arch, Entry};
use rustix::io::Errno;
use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};

/// Which system call creates the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Syscall {
    /// `clone3`, falling back to legacy `clone` when `clone3` is unavailable (`ENOSYS`, or
    /// `EPERM` from a seccomp filter); the answer is cached for the process.
    #[default]
    Auto,
    /// Legacy `clone(flags, newsp, parent_tid, child_tid, tls)` only.
    Clone,
    /// `clone3(&clone_args, size)` only.
    Clone3,
}

/// Why `clone3` cannot be used, as learnt by the cached probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clone3Unavailable {
    /// The kernel (or a filter posing as an old kernel) answered `ENOSYS`.
    NotImplemented,
    /// A seccomp filter answered `EPERM`.
    Filtered,
    /// The caller asked for legacy `clone` ([`Syscall::Clone`]).
    NotRequested,
}

impl fmt::Display for Clone3Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Clone3Unavailable::NotImplemented => "clone3 is not implemented here (ENOSYS)",
            Clone3Unavailable::Filtered => "clone3 is refused by a seccomp filter (EPERM)",
            Clone3Unavailable::NotRequested => "legacy clone was requested",
        })
    }
}

/// A request that only `clone3` can carry, and why it could not be issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clone3Only {
    /// What legacy `clone` cannot express (`"CLONE_INTO_CGROUP"`, `"set_tid"`, ...).
    pub feature: &'static str,
    /// Why `clone3` was not used.
    pub reason: Clone3Unavailable,
}

impl fmt::Display for Clone3Only {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} needs clone3, but {} (ENOTSUP)", self.feature, self.reason)
    }
}

/// What the process has learnt about `clone3` so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Clone3State {
    /// Not tried yet.
    Unknown,
    /// A `clone3` reached the kernel.
    Available,
    /// `clone3` is unavailable, for this reason.
    Unavailable(Clone3Unavailable),
}

impl Clone3State {
    fn encode(self) -> u8 {
        match self {
            Clone3State::Unknown => 0,
            Clone3State::Available => 1,
            Clone3State::Unavailable(Clone3Unavailable::NotImplemented) => 2,
            Clone3State::Unavailable(_) => 3,
        }
    }

    fn decode(v: u8) -> Clone3State {
        match v {
            1 => Clone3State::Available,
            2 => Clone3State::Unavailable(Clone3Unavailable::NotImplemented),
            3 => Clone3State::Unavailable(Clone3Unavailable::Filtered),
            _ => Clone3State::Unknown,
        }
    }
}

/// The process-wide cache (glibc's `clone3_supported`); relaxed ordering is enough, since a
/// stale read only costs one extra failed `clone3`.
static CLONE3_STATE: AtomicU8 = AtomicU8::new(0);

pub(crate) fn cached_state() -> Clone3State {
    Clone3State::decode(CLONE3_STATE.load(Ordering::Relaxed))
}

fn store_state(s: Clone3State) {
    CLONE3_STATE.store(s.encode(), Ordering::Relaxed);
}

/// Which call to issue first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    Clone3,
    Clone,
}

/// The first call for this choice, given what is known about `clone3`.
pub(crate) fn first_attempt(choice: Syscall, state: Clone3State) -> Attempt {
    match (choice, state) {
        (Syscall::Clone, _) => Attempt::Clone,
        (Syscall::Clone3, _) => Attempt::Clone3,
        (Syscall::Auto, Clone3State::Unavailable(_)) => Attempt::Clone,
        (Syscall::Auto, _) => Attempt::Clone3,
    }
}

/// What to do after `clone3` failed with `errno`: fall back to legacy `clone` (and with
/// which new cache state), or report the error. `probe` is run only for `EPERM`, and must
/// say whether a `clone3` the kernel has to reject is refused before reaching the kernel.
pub(crate) fn after_clone3_error(
    choice: Syscall,
    errno: Errno,
    probe: impl FnOnce() -> Result<(), Errno>,
) -> (Clone3State, bool) {
    if errno == Errno::NOSYS {
        return (Clone3State::Unavailable(Clone3Unavailable::NotImplemented), choice == Syscall::Auto);
    }
    if errno == Errno::PERM {
        return match probe() {
            Ok(()) => (Clone3State::Available, false),
            Err(e) if e == Errno::NOSYS => {
                (Clone3State::Unavailable(Clone3Unavailable::NotImplemented), choice == Syscall::Auto)
            }
            Err(_) => (Clone3State::Unavailable(Clone3Unavailable::Filtered), choice == Syscall::Auto),
        };
    }
    (Clone3State::Available, false)
}

/// Why legacy `clone` cannot carry this request, if it cannot.
pub(crate) fn legacy_blocker(req: &Request<'_>) -> Option<&'static str> {
    if req.flags.contains(CloneFlags::CLONE_INTO_CGROUP) || req.cgroup.is_some() {
        Some("CLONE_INTO_CGROUP")
    } else if req.flags.contains(CloneFlags::CLONE_CLEAR_SIGHAND) {
        Some("CLONE_CLEAR_SIGHAND")
    } else if req.flags.contains(CloneFlags::CLONE_NEWTIME) {
        Some("CLONE_NEWTIME")
    } else if !req.set_tid.is_empty() {
        Some("set_tid")
    } else if req.flags.bits() > 0xffff_ffff {
        Some("flag bits above 31")
    } else if req.exit_signal.raw() > CSIGNAL {
        Some("an exit signal above 255")
    } else {
        None
    }
}

/// Everything one child creation needs, independent of the system call.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    pub(crate) flags: CloneFlags,
    pub(crate) exit_signal: ExitSignal,
    /// `(lowest usable address, size)`; the top is 16-byte aligned. `None`: stack-less.
    pub(crate) stack: Option<(usize, usize)>,
    pub(crate) tls: usize,
    pub(crate) parent_tid: usize,
    pub(crate) child_tid: usize,
    /// Where the kernel stores the pidfd (with `CLONE_PIDFD`).
    pub(crate) pidfd: usize,
    pub(crate) set_tid: &'a [i32],
    pub(crate) cgroup: Option<i32>,
}

impl Request<'_> {
    /// The `clone3` form of this request, sized to the fields it uses (64/80/88 bytes).
    pub(crate) fn clone_args(&self) -> CloneArgs {
        let (stack, stack_size) = self.stack.map_or((0, 0), |(low, size)| (low as u64, size as u64));
        CloneArgs {
            flags: self.flags.bits(),
            pidfd: self.pidfd as u64,
            child_tid: self.child_tid as u64,
            parent_tid: self.parent_tid as u64,
            exit_signal: self.exit_signal.raw(),
            stack,
            stack_size,
            tls: self.tls as u64,
            set_tid: if self.set_tid.is_empty() { 0 } else { self.set_tid.as_ptr() as u64 },
            set_tid_size: self.set_tid.len() as u64,
            cgroup: self.cgroup.map_or(0, |fd| fd as u64),
        }
    }

    /// The legacy `clone` form: flags with the exit signal in the low byte, the stack top,
    /// and the pidfd slot in `parent_tid` when `CLONE_PIDFD` is set (the kernel then rejects
    /// `CLONE_PARENT_SETTID`, rule K1).
    pub(crate) fn legacy_call(&self) -> CloneCall {
        let parent_tid =
            if self.flags.contains(CloneFlags::CLONE_PIDFD) { self.pidfd } else { self.parent_tid };
        CloneCall::Clone {
            flags: (self.flags.bits() & 0xffff_ffff) | (self.exit_signal.raw() & CSIGNAL),
            stack: self.stack.map_or(0, |(low, size)| (low + size) as u64),
            parent_tid: parent_tid as u64,
            child_tid: self.child_tid as u64,
            tls: self.tls as u64,
        }
    }
}

/// How a creation failed.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// The kernel returned this errno for this call.
    Kernel(Errno, CloneCall),
    /// The request needs clone3, which is unavailable or was not chosen.
    Clone3Only(Clone3Only),
}

/// Issues the request through the chosen system call(s); the child runs `entry(arg)`.
/// Returns the child's pid and the call that created it.
///
/// # Safety
///
/// As for [`arch::clone`]/[`arch::clone3`]: the request's stack and pointers must be valid
/// for the child, and `entry(arg)` must be safe to run in it. A failed attempt creates no
/// child, so `arg` may be reused by the fallback.
pub(crate) unsafe fn create(
    req: &Request<'_>,
    choice: Syscall,
    entry: Entry,
    arg: *mut u8,
) -> Result<(i32, CloneCall), Failure> {
    if first_attempt(choice, cached_state()) == Attempt::Clone3 {
        let mut args = req.clone_args();
        let size = args.min_size();
        // SAFETY: per this function's contract; `args` outlives the call.
        let ret = unsafe { arch::clone3((&mut args as *mut CloneArgs).cast(), size, entry, arg) };
        let call = CloneCall::Clone3 { args, size: size as u64, nonzero_tail: false };
        match sys::check(ret) {
            Ok(pid) => {
                store_state(Clone3State::Available);
                return Ok((pid as i32, call));
            }
            Err(errno) => {
                let (state, fall_back) = after_clone3_error(choice, errno, probe_clone3);
                store_state(state);
                if !fall_back {
                    return Err(Failure::Kernel(errno, call));
                }
            }
        }
    }
    if let Some(feature) = legacy_blocker(req) {
        let reason = match (choice, cached_state()) {
            (Syscall::Clone, _) => Clone3Unavailable::NotRequested,
            (_, Clone3State::Unavailable(r)) => r,
            _ => Clone3Unavailable::NotImplemented,
        };
        return Err(Failure::Clone3Only(Clone3Only { feature, reason }));
    }
    let call = req.legacy_call();
    let CloneCall::Clone { flags, stack, parent_tid, child_tid, tls } = call else { unreachable!() };
    // SAFETY: per this function's contract.
    let ret = unsafe {
        arch::clone(flags, stack as usize, parent_tid as usize, child_tid as usize, tls as usize, entry, arg)
    };
    match sys::check(ret) {
        Ok(pid) => Ok((pid as i32, call)),
        Err(errno) => Err(Failure::Kernel(errno, call)),
    }
}

/// `clone3(&zeroed, 0)`, which the kernel rejects with `EINVAL` (rule C2): `Ok(())` means
/// "clone3 reaches the kernel"; a filter or an old kernel answers otherwise.
pub(crate) fn probe_clone3() -> Result<(), Errno> {
    sys::probe_clone3()
}

/// Whether `clone3` reaches the kernel in this process (probed once, then cached).
///
/// `false` on kernels before 5.3 and under seccomp profiles that refuse `clone3` (Docker's
/// and containerd's answer `ENOSYS` on purpose so that C libraries fall back).
pub fn clone3_supported() -> bool {
    match cached_state() {
        Clone3State::Available => true,
        Clone3State::Unavailable(_) => false,
        Clone3State::Unknown => {
            let state = match probe_clone3() {
                Ok(()) => Clone3State::Available,
                Err(e) if e == Errno::PERM => Clone3State::Unavailable(Clone3Unavailable::Filtered),
                Err(_) => Clone3State::Unavailable(Clone3Unavailable::NotImplemented),
            };
            store_state(state);
            state == Clone3State::Available
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request<'static> {
        Request {
            flags: CloneFlags::empty(),
            exit_signal: ExitSignal::SIGCHLD,
            stack: None,
            tls: 0,
            parent_tid: 0,
            child_tid: 0,
            pidfd: 0,
            set_tid: &[],
            cgroup: None,
        }
    }

    #[test]
    fn auto_tries_clone3_until_it_is_known_unavailable() {
        assert_eq!(first_attempt(Syscall::Auto, Clone3State::Unknown), Attempt::Clone3);
        assert_eq!(first_attempt(Syscall::Auto, Clone3State::Available), Attempt::Clone3);
        let gone = Clone3State::Unavailable(Clone3Unavailable::NotImplemented);
        assert_eq!(first_attempt(Syscall::Auto, gone), Attempt::Clone);
        assert_eq!(first_attempt(Syscall::Clone3, gone), Attempt::Clone3);
        assert_eq!(first_attempt(Syscall::Clone, Clone3State::Available), Attempt::Clone);
    }

    #[test]
    fn enosys_falls_back_and_is_cached() {
        let never = || -> Result<(), Errno> { panic!("no probe for ENOSYS") };
        let (state, fall_back) = after_clone3_error(Syscall::Auto, Errno::NOSYS, never);
        assert_eq!(state, Clone3State::Unavailable(Clone3Unavailable::NotImplemented));
        assert!(fall_back);
        let (_, fall_back) = after_clone3_error(Syscall::Clone3, Errno::NOSYS, never);
        assert!(!fall_back, "a forced clone3 never falls back");
    }

    #[test]
    fn eperm_falls_back_only_when_the_probe_is_refused_too() {
        let (state, fall_back) = after_clone3_error(Syscall::Auto, Errno::PERM, || Err(Errno::PERM));
        assert_eq!(state, Clone3State::Unavailable(Clone3Unavailable::Filtered));
        assert!(fall_back);
        let (state, fall_back) = after_clone3_error(Syscall::Auto, Errno::PERM, || Ok(()));
        assert_eq!(state, Clone3State::Available);
        assert!(!fall_back, "the kernel's own EPERM (e.g. CLONE_NEWUSER in a chroot) is an error");
    }

    #[test]
    fn other_errors_are_reported_not_retried() {
        for e in [Errno::INVAL, Errno::AGAIN, Errno::NOMEM, Errno::BADF, Errno::EXIST] {
            let (state, fall_back) = after_clone3_error(Syscall::Auto, e, || panic!("no probe"));
            assert_eq!(state, Clone3State::Available);
            assert!(!fall_back, "{e:?}");
        }
    }

    #[test]
    fn state_cache_round_trips() {
        for s in [
            Clone3State::Unknown,
            Clone3State::Available,
            Clone3State::Unavailable(Clone3Unavailable::NotImplemented),
            Clone3State::Unavailable(Clone3Unavailable::Filtered),
        ] {
            assert_eq!(Clone3State::decode(s.encode()), s);
        }
    }

    #[test]
    fn clone3_only_requests_are_named() {
        let mut r = req();
        assert_eq!(legacy_blocker(&r), None);
        r.flags = CloneFlags::CLONE_INTO_CGROUP;
        assert_eq!(legacy_blocker(&r), Some("CLONE_INTO_CGROUP"));
        r.flags = CloneFlags::CLONE_CLEAR_SIGHAND | CloneFlags::CLONE_VM;
        assert_eq!(legacy_blocker(&r), Some("CLONE_CLEAR_SIGHAND"));
        r.flags = CloneFlags::CLONE_NEWTIME;
        assert_eq!(legacy_blocker(&r), Some("CLONE_NEWTIME"));
        r.flags = CloneFlags::empty();
        r.set_tid = &[1234];
        assert_eq!(legacy_blocker(&r), Some("set_tid"));
        r.set_tid = &[];
        r.exit_signal = ExitSignal(300);
        assert_eq!(legacy_blocker(&r), Some("an exit signal above 255"));
        r.exit_signal = ExitSignal(255);
        assert_eq!(legacy_blocker(&r), None, "legacy clone carries any low byte");
    }

    #[test]
    fn legacy_form_puts_the_signal_in_the_low_byte_and_the_pidfd_in_parent_tid() {
        let mut r = req();
        r.flags = CloneFlags::CLONE_PIDFD | CloneFlags::CLONE_VM;
        r.pidfd = 0x1000;
        r.parent_tid = 0x2000;
        r.stack = Some((0x10000, 0x8000));
        let CloneCall::Clone { flags, stack, parent_tid, .. } = r.legacy_call() else { panic!() };
        assert_eq!(flags, 0x1000 | 0x100 | 17);
        assert_eq!(stack, 0x18000, "legacy clone takes the stack top");
        assert_eq!(parent_tid, 0x1000);
        let args = r.clone_args();
        assert_eq!((args.stack, args.stack_size), (0x10000, 0x8000), "clone3 takes low + size");
        assert_eq!(args.min_size(), 64);
    }
}
