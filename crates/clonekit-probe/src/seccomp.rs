//! `clone3` refused by a seccomp filter, as container runtimes' profiles refuse it: current
//! Docker, containerd and podman answer `ENOSYS` (so that C libraries fall back to legacy
//! `clone`), older Docker profiles `EPERM` (which glibc takes as a real failure).
//!
//! - [`refuse_clone3_program`] and [`refuse_clone3`]: the one filter clonekit's tests, its
//!   CI and the `refuse-clone3` tool run programs under; [`run_refusing_clone3`] puts a
//!   [`Command`]'s child under it.
//! - [`clone3_refusal`]: whether such a filter is in place here, and which errno it answers;
//!   `clonekit check` asks once, before its cases.

use clonekit_raw::nr;
use clonekit_raw::seccomp::{self, SockFilter, AUDIT_ARCH_X86_64, DATA_ARCH, DATA_NR, RET_ALLOW};
use clonekit_sys::os::unix::process::CommandExt as _;
use clonekit_sys::process::Command;
use rustix::io::Errno;

/// The errnos a container profile answers `clone3` with: `ENOSYS` (current profiles) and
/// `EPERM` (older Docker profiles).
pub const CONTAINER_REFUSALS: [Errno; 2] = [Errno::NOSYS, Errno::PERM];

/// `arch == x86_64 && nr == clone3 ? ERRNO(errno) : ALLOW`. Calls of another ABI (the
/// 32-bit ones) are allowed: their numbers mean other calls.
pub const fn refuse_clone3_program(errno: Errno) -> [SockFilter; 6] {
    [
        SockFilter::load(DATA_ARCH),
        SockFilter::jump_eq(AUDIT_ARCH_X86_64, 0, 3),
        SockFilter::load(DATA_NR),
        SockFilter::jump_eq(nr::CLONE3 as u32, 0, 1),
        SockFilter::ret(seccomp::ret_errno(errno)),
        SockFilter::ret(RET_ALLOW),
    ]
}

/// Sets `no_new_privs` (as a container runtime does) and installs
/// [`refuse_clone3_program`]`(errno)` on the calling thread, so that it and everything it
/// creates or execs afterwards sees `clone3` fail with `errno`. The filter cannot be removed:
/// call this in a process made for it (a child before `execve`, or a tool that then execs).
///
/// Async-signal-safe: raw system calls only, no allocation, so it may run in a `pre_exec` hook.
pub fn refuse_clone3(errno: Errno) -> Result<(), Errno> {
    seccomp::set_no_new_privs()?;
    seccomp::set_mode_filter(&refuse_clone3_program(errno))
}

/// Makes `cmd`'s child run under [`refuse_clone3`]`(errno)`: the filter is installed in the
/// child, after it is created and before it execs, so the caller is unaffected.
pub fn run_refusing_clone3(cmd: &mut Command, errno: Errno) -> &mut Command {
    // SAFETY: the hook only makes the raw system calls of `refuse_clone3`, which is
    // async-signal-safe (no allocation, no locks); the error is built from an errno.
    unsafe { cmd.pre_exec(move || refuse_clone3(errno).map_err(std::io::Error::from)) }
}

/// What `clone3` answers here when the kernel has it: `None` if the call reaches the kernel,
/// `Some(errno)` if something before the kernel refuses it (a seccomp filter). `None` on a
/// kernel before 5.3, which has no `clone3` to refuse (see [`clone3_refusal_on`]).
///
/// The probe is [`clonekit_raw::probe_clone3`]: a `clone3` that the kernel itself rejects
/// with `EINVAL`; no child can be created.
pub fn clone3_refusal() -> Option<Errno> {
    clone3_refusal_on(crate::caller_state().kernel, clonekit_raw::probe_clone3())
}

/// The decision of [`clone3_refusal`], given the kernel version (`(major, minor)`) and the
/// probe's answer: a refusal counts only on a kernel that implements `clone3` (5.3 and
/// later), where the kernel itself answers this call with `EINVAL`, never `ENOSYS` or `EPERM`.
pub fn clone3_refusal_on(kernel: (u32, u32), probe: Result<(), Errno>) -> Option<Errno> {
    match probe {
        Err(e) if kernel >= (5, 3) => Some(e),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_refuses_only_clone3_of_the_64_bit_abi() {
        let p = refuse_clone3_program(Errno::PERM);
        assert_eq!(p[1].k, AUDIT_ARCH_X86_64);
        assert_eq!(2 + p[1].jf as usize, p.len() - 1, "another ABI jumps to ALLOW");
        assert_eq!(p[3].k, 435);
        assert_eq!(4 + p[3].jf as usize, p.len() - 1, "another call jumps to ALLOW");
        assert_eq!(p[4].k, 0x0005_0001, "ERRNO(EPERM)");
        assert_eq!(refuse_clone3_program(Errno::NOSYS)[4].k, 0x0005_0000 | 38);
    }

    #[test]
    fn a_refusal_counts_only_where_the_kernel_has_clone3() {
        assert_eq!(clone3_refusal_on((6, 18), Err(Errno::NOSYS)), Some(Errno::NOSYS));
        assert_eq!(clone3_refusal_on((5, 3), Err(Errno::PERM)), Some(Errno::PERM));
        assert_eq!(clone3_refusal_on((5, 2), Err(Errno::NOSYS)), None, "an old kernel");
        assert_eq!(clone3_refusal_on((4, 19), Err(Errno::PERM)), None);
        assert_eq!(clone3_refusal_on((6, 18), Ok(())), None);
    }

    #[test]
    fn the_probe_agrees_with_the_library_fallback() {
        // With or without a refusing filter around the test (CI runs the suite under one too).
        if crate::caller_state().kernel_at_least(5, 3) {
            assert_eq!(clone3_refusal().is_none(), clonekit_sys::clone3_supported());
        }
    }

    #[test]
    fn under_the_filter_clone3_fails_with_its_errno() {
        // A filter cannot be removed: install it in a forked child, which reports by its status.
        for errno in CONTAINER_REFUSALS {
            // SAFETY: the child makes raw system calls only (no allocation, no locks).
            let child = unsafe {
                clonekit_sys::fork(|| match refuse_clone3(errno) {
                    Err(_) => 2,
                    Ok(()) if clonekit_raw::probe_clone3() != Err(errno) => 3,
                    Ok(()) => 0,
                })
            };
            let status = child.expect("fork").wait().expect("wait");
            assert_eq!(status.code(), Some(0), "{errno:?}");
        }
    }
}
