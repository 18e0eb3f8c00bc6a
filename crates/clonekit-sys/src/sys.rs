//! The few system calls that rustix does not offer in its public, stable modules: the
//! signal-mask and signal-action calls, `execve`, `exit`/`exit_group`, and signals by number.
//!
//! rustix has most of them in its libc-internals module, but that module's name is mangled
//! and rotates between patch releases on purpose, so depending on it would break on any
//! `cargo update`. These are one instruction each; like rustix's `linux_raw` backend they
//! touch no libc state (no `errno`), so they are usable in any child this crate creates.

use crate::arch::{exit_syscall, nr, syscall4};
use rustix::io::Errno;

/// Maps a raw kernel return value to `Ok(value)` or `Err(errno)`.
pub(crate) fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// A kernel signal set: bit `n - 1` is signal `n` (x86_64 `_NSIG` = 64, so one word).
pub(crate) type SigSet = u64;

/// `SIG_BLOCK`, `SIG_UNBLOCK`, `SIG_SETMASK`.
pub(crate) const SIG_SETMASK: usize = 2;

/// `rt_sigprocmask(how, set, oldset, 8)`.
pub(crate) fn rt_sigprocmask(how: usize, set: Option<&SigSet>) -> Result<SigSet, Errno> {
    let mut old: SigSet = 0;
    let set_ptr = set.map_or(0, |s| s as *const SigSet as usize);
    // SAFETY: both pointers are valid for 8 bytes (or null); the call only changes the
    // calling thread's mask.
    check(unsafe { syscall4(nr::RT_SIGPROCMASK, how, set_ptr, &mut old as *mut SigSet as usize, 8) })?;
    Ok(old)
}

/// `struct kernel_sigaction` on x86_64 (arch/x86/include/uapi/asm/signal.h order).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub(crate) struct KernelSigaction {
    pub(crate) handler: usize,
    pub(crate) flags: u64,
    pub(crate) restorer: usize,
    pub(crate) mask: SigSet,
}

/// `SIG_DFL`.
pub(crate) const SIG_DFL: usize = 0;
/// `SIG_IGN`.
pub(crate) const SIG_IGN: usize = 1;

/// Reads the action of `sig` (`rt_sigaction(sig, NULL, &old, 8)`).
pub(crate) fn sigaction_get(sig: usize) -> Result<KernelSigaction, Errno> {
    let mut old = KernelSigaction::default();
    // SAFETY: `old` is a valid out-pointer of the kernel's struct size; no action changes.
    check(unsafe { syscall4(nr::RT_SIGACTION, sig, 0, &mut old as *mut _ as usize, 8) })?;
    Ok(old)
}

/// Installs `new` as the action of `sig` (or only reads it, with `None`) and returns the
/// previous action (`rt_sigaction(sig, new, &old, 8)`).
pub(crate) fn sigaction_swap(sig: usize, new: Option<&KernelSigaction>) -> Result<KernelSigaction, Errno> {
    let mut old = KernelSigaction::default();
    let new_ptr = new.map_or(0, |n| n as *const KernelSigaction as usize);
    // SAFETY: both pointers refer to live structs of the kernel's layout (or null); the mask
    // size is the kernel's. Installing a handler address is the caller's responsibility.
    check(unsafe { syscall4(nr::RT_SIGACTION, sig, new_ptr, &mut old as *mut _ as usize, 8) })?;
    Ok(old)
}

/// Sets `sig` to `SIG_DFL` or `SIG_IGN` (`handler`), with no flags and an empty mask.
///
/// Only the two constant dispositions are accepted, which is what keeps this safe: no code
/// address is installed.
pub(crate) fn sigaction_set_disposition(sig: usize, handler: usize) -> Result<(), Errno> {
    debug_assert!(handler == SIG_DFL || handler == SIG_IGN);
    let act = KernelSigaction { handler, ..KernelSigaction::default() };
    // SAFETY: `act` is a valid struct; SIG_DFL/SIG_IGN run no user code.
    check(unsafe { syscall4(nr::RT_SIGACTION, sig, &act as *const _ as usize, 0, 8) })?;
    Ok(())
}

/// `execve(path, argv, envp)`; returns only on failure.
///
/// # Safety
///
/// `path` must be a NUL-terminated string, `argv` and `envp` NULL-terminated arrays of
/// NUL-terminated strings, all readable until the call returns.
pub(crate) unsafe fn execve(path: *const u8, argv: *const *const u8, envp: *const *const u8) -> Errno {
    // SAFETY: per the contract above.
    let ret = unsafe { syscall4(nr::EXECVE, path as usize, argv as usize, envp as usize, 0) };
    match check(ret) {
        Err(e) => e,
        // execve does not return on success; a non-error return cannot happen.
        Ok(_) => Errno::INVAL,
    }
}

/// `exit_group(status)`: ends the whole thread group, like `_exit`.
pub(crate) fn exit_group(status: i32) -> ! {
    exit_syscall(nr::EXIT_GROUP, status)
}

/// `kill(pid, sig)` for any signal number (rustix's safe `Signal` covers named ones only).
pub(crate) fn kill(pid: i32, sig: u32) -> Result<(), Errno> {
    // SAFETY: sending a signal is memory-safe for the sender.
    check(unsafe { syscall4(nr::KILL, pid as isize as usize, sig as usize, 0, 0) }).map(drop)
}

/// `write(2, bytes)`, once, ignoring the result (a last word before dying).
pub(crate) fn write_stderr(bytes: &[u8]) {
    let _ = plain(nr::WRITE, [2, bytes.as_ptr() as usize, bytes.len(), 0, 0, 0]);
}

/// Kills the calling process with `SIGABRT`, as `abort(3)` does but with raw system calls
/// only (no libc state, which a child of a raw `clone` may not own): `SIGABRT` is reset to
/// `SIG_DFL` and unblocked, then sent to this thread; `exit_group(127)` if it still returns.
pub(crate) fn abort_now() -> ! {
    const SIGABRT: usize = 6;
    const SIG_UNBLOCK: usize = 1;
    let _ = sigaction_set_disposition(SIGABRT, SIG_DFL);
    let _ = rt_sigprocmask(SIG_UNBLOCK, Some(&(1 << (SIGABRT - 1))));
    if let (Ok(pid), Ok(tid)) = (plain(nr::GETPID, [0; 6]), plain(nr::GETTID, [0; 6])) {
        let _ = plain(nr::TGKILL, [pid, tid, SIGABRT, 0, 0, 0]);
    }
    exit_group(127)
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)` for any signal number.
pub(crate) fn pidfd_send_signal(pidfd: i32, sig: u32) -> Result<(), Errno> {
    // SAFETY: sending a signal is memory-safe for the sender; no siginfo is passed.
    check(unsafe { syscall4(nr::PIDFD_SEND_SIGNAL, pidfd as usize, sig as usize, 0, 0) }).map(drop)
}

/// `syscall(nr, a...)` with pointer-free integer arguments, mapped to `Result`.
fn plain(nr: usize, a: [usize; 6]) -> Result<usize, Errno> {
    // SAFETY: callers below pass only integers or pointers they document as valid.
    check(unsafe { crate::arch::syscall6(nr, a) })
}

/// `dup2(old, new)`; with `old == new` it clears `FD_CLOEXEC` instead (as `posix_spawn`'s
/// `adddup2` does), so that the descriptor survives `execve`.
pub(crate) fn dup2_inheritable(old: i32, new: i32) -> Result<(), Errno> {
    if old == new {
        const F_SETFD: usize = 2;
        return plain(nr::FCNTL, [old as usize, F_SETFD, 0, 0, 0, 0]).map(drop);
    }
    plain(nr::DUP2, [old as usize, new as usize, 0, 0, 0, 0]).map(drop)
}

/// `close_range(first, last, 0)`.
pub(crate) fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    plain(nr::CLOSE_RANGE, [first as usize, last as usize, 0, 0, 0, 0]).map(drop)
}

/// `setsid()`.
pub(crate) fn setsid() -> Result<(), Errno> {
    plain(nr::SETSID, [0; 6]).map(drop)
}

/// `setpgid(0, pgid)`: the calling process joins (or, with 0, leads) a process group.
pub(crate) fn setpgid_self(pgid: i32) -> Result<(), Errno> {
    plain(nr::SETPGID, [0, pgid as usize, 0, 0, 0, 0]).map(drop)
}

/// `setgroups(n, list)` for the calling thread only (raw: no libc setxid broadcast, pitfall 12).
pub(crate) fn setgroups(groups: &[u32]) -> Result<(), Errno> {
    // SAFETY: the list is valid for `len` gids.
    check(unsafe { crate::arch::syscall4(nr::SETGROUPS, groups.len(), groups.as_ptr() as usize, 0, 0) })
        .map(drop)
}

/// `setresgid(gid, gid, gid)` for the calling thread only.
pub(crate) fn setresgid(gid: u32) -> Result<(), Errno> {
    plain(nr::SETRESGID, [gid as usize, gid as usize, gid as usize, 0, 0, 0]).map(drop)
}

/// `setresuid(uid, uid, uid)` for the calling thread only.
pub(crate) fn setresuid(uid: u32) -> Result<(), Errno> {
    plain(nr::SETRESUID, [uid as usize, uid as usize, uid as usize, 0, 0, 0]).map(drop)
}

/// `chdir(path)`.
///
/// # Safety
///
/// `path` must be a NUL-terminated string.
pub(crate) unsafe fn chdir(path: *const u8) -> Result<(), Errno> {
    // SAFETY: per the contract.
    check(unsafe { crate::arch::syscall4(nr::CHDIR, path as usize, 0, 0, 0) }).map(drop)
}

/// `chroot(path)`.
///
/// # Safety
///
/// `path` must be a NUL-terminated string.
pub(crate) unsafe fn chroot(path: *const u8) -> Result<(), Errno> {
    // SAFETY: per the contract.
    check(unsafe { crate::arch::syscall4(nr::CHROOT, path as usize, 0, 0, 0) }).map(drop)
}

/// `mount(source, target, fstype, flags, NULL)`; null pointers are passed as NULL.
///
/// # Safety
///
/// Each non-null pointer must be a NUL-terminated string.
pub(crate) unsafe fn mount(
    source: *const u8,
    target: *const u8,
    fstype: *const u8,
    flags: u64,
) -> Result<(), Errno> {
    let a = [source as usize, target as usize, fstype as usize, flags as usize, 0, 0];
    // SAFETY: per the contract; no data argument.
    check(unsafe { crate::arch::syscall6(nr::MOUNT, a) }).map(drop)
}

/// `prctl(PR_SET_PDEATHSIG, sig)`.
pub(crate) fn set_pdeathsig(sig: u32) -> Result<(), Errno> {
    const PR_SET_PDEATHSIG: usize = 1;
    plain(nr::PRCTL, [PR_SET_PDEATHSIG, sig as usize, 0, 0, 0, 0]).map(drop)
}

/// `getppid()`.
pub(crate) fn getppid() -> i32 {
    plain(nr::GETPPID, [0; 6]).map_or(0, |p| p as i32)
}

/// `FUTEX_WAIT` (shared, not private: the words live in memory that another process maps)
/// while `*word == expected`; returns on a wake, a changed word or a signal.
pub(crate) fn futex_wait(word: &core::sync::atomic::AtomicU32, expected: u32) {
    const FUTEX_WAIT: usize = 0;
    // SAFETY: `word` is a valid, aligned futex word for the duration of the call.
    let _ = check(unsafe {
        crate::arch::syscall4(nr::FUTEX, word.as_ptr() as usize, FUTEX_WAIT, expected as usize, 0)
    });
}

/// `FUTEX_WAKE` of every waiter on `word` (shared).
pub(crate) fn futex_wake(word: &core::sync::atomic::AtomicU32) {
    const FUTEX_WAKE: usize = 1;
    // SAFETY: `word` is a valid futex word; waking has no other effect.
    let _ = check(unsafe {
        crate::arch::syscall4(nr::FUTEX, word.as_ptr() as usize, FUTEX_WAKE, i32::MAX as usize, 0)
    });
}

/// `signalfd4(-1, mask, 8, SFD_CLOEXEC)`: a new descriptor that reads the signals in `mask`
/// (which the caller keeps blocked).
pub(crate) fn signalfd(mask: SigSet) -> Result<std::os::fd::OwnedFd, Errno> {
    const SFD_CLOEXEC: usize = 0o2000000;
    let m = mask;
    // SAFETY: `m` is a valid 8-byte signal set.
    let fd = check(unsafe {
        crate::arch::syscall4(nr::SIGNALFD4, usize::MAX, &m as *const SigSet as usize, 8, SFD_CLOEXEC)
    })?;
    // SAFETY: the kernel just installed this descriptor for us.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) })
}
