//! The few system calls that rustix does not offer in its public, stable modules: the
//! signal-mask and signal-action calls, `execve`, `exit`/`exit_group`, and signals by number.
//!
//! rustix has most of them in its libc-internals module, but that module's name is mangled
//! and rotates between patch releases on purpose, so depending on it would break on any
//! `cargo update`. These are one instruction each; like rustix's `linux_raw` backend they
//! touch no libc state (no `errno`), so they are usable in any child this crate creates.

use crate::arch::exit_syscall;
use crate::{nr, syscall4};
use rustix::io::Errno;

/// Maps a raw kernel return value (what [`syscall4`](crate::syscall4) returns) to
/// `Ok(value)` or `Err(errno)`: values in `-4095..0` are `-errno`.
pub fn check(ret: isize) -> Result<usize, Errno> {
    if (-4095..0).contains(&ret) {
        Err(Errno::from_raw_os_error(-ret as i32))
    } else {
        Ok(ret as usize)
    }
}

/// A kernel signal set: bit `n - 1` is signal `n` (x86_64 `_NSIG` = 64, so one word).
pub type SigSet = u64;

/// `SIG_SETMASK`: [`rt_sigprocmask`]'s `how` that replaces the mask (`SIG_BLOCK` is 0,
/// `SIG_UNBLOCK` 1).
pub const SIG_SETMASK: usize = 2;

/// `rt_sigprocmask(how, set, oldset, 8)`: changes the calling thread's signal mask (or, with
/// `None`, only reads it) and returns the previous mask.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/rt_sigprocmask.2.html)
pub fn rt_sigprocmask(how: usize, set: Option<&SigSet>) -> Result<SigSet, Errno> {
    let mut old: SigSet = 0;
    let set_ptr = set.map_or(0, |s| s as *const SigSet as usize);
    // SAFETY: both pointers are valid for 8 bytes (or null); the call only changes the
    // calling thread's mask.
    check(unsafe { syscall4(nr::RT_SIGPROCMASK, how, set_ptr, &mut old as *mut SigSet as usize, 8) })?;
    Ok(old)
}

/// `struct kernel_sigaction` on x86_64 (arch/x86/include/uapi/asm/signal.h order), what
/// `rt_sigaction` reads and writes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct KernelSigaction {
    /// `sa_handler`: [`SIG_DFL`], [`SIG_IGN`] or the address of a handler function.
    pub handler: usize,
    /// `sa_flags` (`SA_RESTORER`, `SA_RESTART`, `SA_SIGINFO`, …).
    pub flags: u64,
    /// `sa_restorer`: the `rt_sigreturn` trampoline a handler returns to (`SA_RESTORER`).
    pub restorer: usize,
    /// `sa_mask`: signals blocked while the handler runs.
    pub mask: SigSet,
}

/// `SIG_DFL`: the signal's default action.
pub const SIG_DFL: usize = 0;
/// `SIG_IGN`: the signal is ignored.
pub const SIG_IGN: usize = 1;

/// Reads the action of `sig` (`rt_sigaction(sig, NULL, &old, 8)`).
pub fn sigaction_get(sig: usize) -> Result<KernelSigaction, Errno> {
    let mut old = KernelSigaction::default();
    // SAFETY: `old` is a valid out-pointer of the kernel's struct size; no action changes.
    check(unsafe { syscall4(nr::RT_SIGACTION, sig, 0, &mut old as *mut _ as usize, 8) })?;
    Ok(old)
}

/// Installs `new` as the action of `sig` (or only reads it, with `None`) and returns the
/// previous action (`rt_sigaction(sig, new, &old, 8)`).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/rt_sigaction.2.html)
///
/// # Safety
///
/// If `new` installs a handler (a `handler` other than [`SIG_DFL`] and [`SIG_IGN`]), it must
/// be the address of an `extern "C"` function of the form its `flags` announce, safe to run
/// at any instruction of any thread that shares this signal handler table, on whatever
/// stack that thread runs; and if the signal can be delivered while it is installed,
/// `flags` must contain `SA_RESTORER` with `restorer` the address of an `rt_sigreturn`
/// trampoline.
pub unsafe fn sigaction_swap(sig: usize, new: Option<&KernelSigaction>) -> Result<KernelSigaction, Errno> {
    let mut old = KernelSigaction::default();
    let new_ptr = new.map_or(0, |n| n as *const KernelSigaction as usize);
    // SAFETY: both pointers refer to live structs of the kernel's layout (or null); the mask
    // size is the kernel's. The handler installed is the caller's contract.
    check(unsafe { syscall4(nr::RT_SIGACTION, sig, new_ptr, &mut old as *mut _ as usize, 8) })?;
    Ok(old)
}

/// Sets `sig` to [`SIG_DFL`] or [`SIG_IGN`] (`handler`), with no flags and an empty mask.
///
/// Only the two constant dispositions are accepted (any other `handler` is `EINVAL`), which
/// is what keeps this safe: no code address is installed.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/rt_sigaction.2.html)
pub fn sigaction_set_disposition(sig: usize, handler: usize) -> Result<(), Errno> {
    if handler != SIG_DFL && handler != SIG_IGN {
        return Err(Errno::INVAL);
    }
    let act = KernelSigaction { handler, ..KernelSigaction::default() };
    // SAFETY: `act` is a valid struct; SIG_DFL/SIG_IGN run no user code.
    check(unsafe { syscall4(nr::RT_SIGACTION, sig, &act as *const _ as usize, 0, 8) })?;
    Ok(())
}

/// `execve(path, argv, envp)`; returns only on failure.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/execve.2.html)
///
/// # Safety
///
/// `path` must be a NUL-terminated string, `argv` and `envp` NULL-terminated arrays of
/// NUL-terminated strings, all readable until the call returns.
pub unsafe fn execve(path: *const u8, argv: *const *const u8, envp: *const *const u8) -> Errno {
    // SAFETY: per the contract above.
    let ret = unsafe { syscall4(nr::EXECVE, path as usize, argv as usize, envp as usize, 0) };
    match check(ret) {
        Err(e) => e,
        // execve does not return on success; a non-error return cannot happen.
        Ok(_) => Errno::INVAL,
    }
}

/// `exit_group(status)`: ends the whole thread group, like `_exit`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/exit_group.2.html)
pub fn exit_group(status: i32) -> ! {
    exit_syscall(nr::EXIT_GROUP, status)
}

/// `exit(status)`: ends the calling thread only (a thread's end, not `exit(3)`). The last
/// thread to end ends the process with this status.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/exit.2.html)
pub fn exit_thread(status: i32) -> ! {
    exit_syscall(nr::EXIT, status)
}

/// `kill(pid, sig)` for any signal number (rustix's safe `Signal` covers named ones only).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/kill.2.html)
pub fn kill(pid: i32, sig: u32) -> Result<(), Errno> {
    // SAFETY: sending a signal is memory-safe for the sender.
    check(unsafe { syscall4(nr::KILL, pid as isize as usize, sig as usize, 0, 0) }).map(drop)
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)` for any signal number.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
pub fn pidfd_send_signal(pidfd: i32, sig: u32) -> Result<(), Errno> {
    // SAFETY: sending a signal is memory-safe for the sender; no siginfo is passed.
    check(unsafe { syscall4(nr::PIDFD_SEND_SIGNAL, pidfd as usize, sig as usize, 0, 0) }).map(drop)
}

pub use clonekit_flags::{WALL, WNOHANG};

/// `wait4(pid, &status, options, NULL)` with any options ([`WALL`], [`WNOHANG`], `__WCLONE`
/// and the others, which rustix's `waitpid` does not all take): `Ok(None)` when `WNOHANG`
/// found nothing, else the pid and the raw wait status (stops and real-time signals
/// included).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/wait4.2.html)
pub fn wait4(pid: i32, options: u32) -> Result<Option<(i32, i32)>, Errno> {
    let mut status: i32 = 0;
    // SAFETY: the kernel writes one int to `status`, which outlives the call; rusage is NULL.
    let r = check(unsafe {
        syscall4(nr::WAIT4, pid as usize, &mut status as *mut i32 as usize, options as usize, 0)
    })?;
    Ok(if r == 0 { None } else { Some((r as i32, status)) })
}

/// `syscall(nr, a...)` with pointer-free integer arguments, mapped to `Result`.
fn plain(nr: usize, a: [usize; 6]) -> Result<usize, Errno> {
    // SAFETY: callers below pass only integers or pointers they document as valid.
    check(unsafe { crate::syscall6(nr, a) })
}

/// `dup2(old, new)`; with `old == new` it clears `FD_CLOEXEC` instead (as `posix_spawn`'s
/// `adddup2` does), so that the descriptor survives `execve`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/dup.2.html)
pub fn dup2_inheritable(old: i32, new: i32) -> Result<(), Errno> {
    if old == new {
        const F_SETFD: usize = 2;
        return plain(nr::FCNTL, [old as usize, F_SETFD, 0, 0, 0, 0]).map(drop);
    }
    plain(nr::DUP2, [old as usize, new as usize, 0, 0, 0, 0]).map(drop)
}

/// `close_range(first, last, 0)`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/close_range.2.html)
pub fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    plain(nr::CLOSE_RANGE, [first as usize, last as usize, 0, 0, 0, 0]).map(drop)
}

/// `setsid()`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/setsid.2.html)
pub fn setsid() -> Result<(), Errno> {
    plain(nr::SETSID, [0; 6]).map(drop)
}

/// `setpgid(0, pgid)`: the calling process joins (or, with 0, leads) a process group.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/setpgid.2.html)
pub fn setpgid_self(pgid: i32) -> Result<(), Errno> {
    plain(nr::SETPGID, [0, pgid as usize, 0, 0, 0, 0]).map(drop)
}

/// `setgroups(n, list)` for the calling thread only (raw: no libc setxid broadcast, pitfall 12).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/setgroups.2.html)
pub fn setgroups(groups: &[u32]) -> Result<(), Errno> {
    // SAFETY: the list is valid for `len` gids.
    check(unsafe { crate::syscall4(nr::SETGROUPS, groups.len(), groups.as_ptr() as usize, 0, 0) }).map(drop)
}

/// `setresgid(gid, gid, gid)` for the calling thread only.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/setresuid.2.html)
pub fn setresgid(gid: u32) -> Result<(), Errno> {
    plain(nr::SETRESGID, [gid as usize, gid as usize, gid as usize, 0, 0, 0]).map(drop)
}

/// `setresuid(uid, uid, uid)` for the calling thread only.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/setresuid.2.html)
pub fn setresuid(uid: u32) -> Result<(), Errno> {
    plain(nr::SETRESUID, [uid as usize, uid as usize, uid as usize, 0, 0, 0]).map(drop)
}

/// `chdir(path)`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/chdir.2.html)
///
/// # Safety
///
/// `path` must be a NUL-terminated string.
pub unsafe fn chdir(path: *const u8) -> Result<(), Errno> {
    // SAFETY: per the contract.
    check(unsafe { crate::syscall4(nr::CHDIR, path as usize, 0, 0, 0) }).map(drop)
}

/// `chroot(path)`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/chroot.2.html)
///
/// # Safety
///
/// `path` must be a NUL-terminated string.
pub unsafe fn chroot(path: *const u8) -> Result<(), Errno> {
    // SAFETY: per the contract.
    check(unsafe { crate::syscall4(nr::CHROOT, path as usize, 0, 0, 0) }).map(drop)
}

/// `mount(source, target, fstype, flags, NULL)`; null pointers are passed as NULL.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/mount.2.html)
///
/// # Safety
///
/// Each non-null pointer must be a NUL-terminated string.
pub unsafe fn mount(
    source: *const u8,
    target: *const u8,
    fstype: *const u8,
    flags: u64,
) -> Result<(), Errno> {
    let a = [source as usize, target as usize, fstype as usize, flags as usize, 0, 0];
    // SAFETY: per the contract; no data argument.
    check(unsafe { crate::syscall6(nr::MOUNT, a) }).map(drop)
}

/// `prctl(PR_SET_PDEATHSIG, sig)`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/PR_SET_PDEATHSIG.2const.html)
pub fn set_pdeathsig(sig: u32) -> Result<(), Errno> {
    const PR_SET_PDEATHSIG: usize = 1;
    plain(nr::PRCTL, [PR_SET_PDEATHSIG, sig as usize, 0, 0, 0, 0]).map(drop)
}

/// `getppid()`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/getppid.2.html)
pub fn getppid() -> i32 {
    plain(nr::GETPPID, [0; 6]).map_or(0, |p| p as i32)
}

/// `FUTEX_WAIT` (shared, not private: the words live in memory that another process maps)
/// while `*word == expected`; returns on a wake, a changed word or a signal.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/futex.2.html)
pub fn futex_wait(word: &core::sync::atomic::AtomicU32, expected: u32) {
    const FUTEX_WAIT: usize = 0;
    // SAFETY: `word` is a valid, aligned futex word for the duration of the call.
    let _ = check(unsafe {
        crate::syscall4(nr::FUTEX, word.as_ptr() as usize, FUTEX_WAIT, expected as usize, 0)
    });
}

/// `FUTEX_WAKE` of every waiter on `word` (shared).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/futex.2.html)
pub fn futex_wake(word: &core::sync::atomic::AtomicU32) {
    const FUTEX_WAKE: usize = 1;
    // SAFETY: `word` is a valid futex word; waking has no other effect.
    let _ = check(unsafe {
        crate::syscall4(nr::FUTEX, word.as_ptr() as usize, FUTEX_WAKE, i32::MAX as usize, 0)
    });
}

/// `signalfd4(-1, mask, 8, SFD_CLOEXEC)`: a new descriptor that reads the signals in `mask`
/// (which the caller keeps blocked).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/signalfd.2.html)
pub fn signalfd(mask: SigSet) -> Result<std::os::fd::OwnedFd, Errno> {
    const SFD_CLOEXEC: usize = 0o2000000;
    let m = mask;
    // SAFETY: `m` is a valid 8-byte signal set.
    let fd = check(unsafe {
        crate::syscall4(nr::SIGNALFD4, usize::MAX, &m as *const SigSet as usize, 8, SFD_CLOEXEC)
    })?;
    // SAFETY: the kernel just installed this descriptor for us.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as i32) })
}
