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

/// `pidfd_send_signal(pidfd, sig, NULL, 0)` for any signal number.
pub(crate) fn pidfd_send_signal(pidfd: i32, sig: u32) -> Result<(), Errno> {
    // SAFETY: sending a signal is memory-safe for the sender; no siginfo is passed.
    check(unsafe { syscall4(nr::PIDFD_SEND_SIGNAL, pidfd as usize, sig as usize, 0, 0) }).map(drop)
}
