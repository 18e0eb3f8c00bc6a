//! seccomp-bpf: the classic BPF instruction, the few opcodes and return values a filter on
//! the system call number needs, and the calls that install one (`seccomp(2)`, with
//! `PR_SET_NO_NEW_PRIVS` first when the caller lacks `CAP_SYS_ADMIN`).
//!
//! The programs themselves are built by their users: the tracer's (`SECCOMP_RET_TRACE` for
//! the process calls) and the verification machinery's (`clone3` refused with an errno, as
//! container runtimes' profiles do). Like the rest of this crate, installing touches no libc
//! state and allocates nothing, so it may be done in a forked child before `execve`.

use crate::{check, nr, syscall4};
use rustix::io::Errno;

/// One classic BPF instruction (`struct sock_filter`, linux/filter.h).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockFilter {
    /// The opcode (`BPF_LD | BPF_W | BPF_ABS`, `BPF_JMP | BPF_JEQ | BPF_K`, `BPF_RET | BPF_K`…).
    pub code: u16,
    /// For a conditional jump: how many instructions to skip when the test holds.
    pub jt: u8,
    /// For a conditional jump: how many instructions to skip when it does not.
    pub jf: u8,
    /// The operand: an offset into `struct seccomp_data`, a constant to compare, a return value.
    pub k: u32,
}

impl SockFilter {
    /// `BPF_STMT(code, k)`.
    pub const fn stmt(code: u16, k: u32) -> SockFilter {
        SockFilter { code, jt: 0, jf: 0, k }
    }

    /// `BPF_JUMP(code, k, jt, jf)`.
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> SockFilter {
        SockFilter { code, jt, jf, k }
    }

    /// `BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offset)`: loads a word of `struct seccomp_data`.
    pub const fn load(offset: u32) -> SockFilter {
        SockFilter::stmt(BPF_LD_W_ABS, offset)
    }

    /// `BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, jt, jf)`: jumps on equality with `k`.
    pub const fn jump_eq(k: u32, jt: u8, jf: u8) -> SockFilter {
        SockFilter::jump(BPF_JMP_JEQ_K, k, jt, jf)
    }

    /// `BPF_STMT(BPF_RET | BPF_K, action)`: ends the program with this action.
    pub const fn ret(action: u32) -> SockFilter {
        SockFilter::stmt(BPF_RET_K, action)
    }
}

/// `BPF_LD | BPF_W | BPF_ABS`.
pub const BPF_LD_W_ABS: u16 = 0x20;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
pub const BPF_JMP_JEQ_K: u16 = 0x15;
/// `BPF_RET | BPF_K`.
pub const BPF_RET_K: u16 = 0x06;

/// `offsetof(struct seccomp_data, nr)`.
pub const DATA_NR: u32 = 0;
/// `offsetof(struct seccomp_data, arch)`.
pub const DATA_ARCH: u32 = 4;
/// `AUDIT_ARCH_X86_64` (linux/audit.h), the value of `seccomp_data.arch` for the 64-bit ABI.
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// `SECCOMP_RET_ALLOW`: the call runs.
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// `SECCOMP_RET_TRACE`: a ptrace tracer is notified (`ENOSYS` without one).
pub const RET_TRACE: u32 = 0x7ff0_0000;

/// `SECCOMP_RET_ERRNO | errno`: the call is not made and fails with `errno`.
pub const fn ret_errno(errno: Errno) -> u32 {
    0x0005_0000 | (errno.raw_os_error() as u32 & 0xffff)
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)`: from now on, neither this thread nor what it
/// execs gains privileges through set-user-ID bits or file capabilities; lets a caller
/// without `CAP_SYS_ADMIN` install a seccomp filter. It cannot be unset.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/PR_SET_NO_NEW_PRIVS.2const.html)
pub fn set_no_new_privs() -> Result<(), Errno> {
    const PR_SET_NO_NEW_PRIVS: usize = 38;
    // SAFETY: integers only.
    check(unsafe { crate::syscall6(nr::PRCTL, [PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0]) }).map(drop)
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)`: adds `program` to the calling thread's
/// filters (and so to every child and exec after it). Filters cannot be removed. Without
/// `CAP_SYS_ADMIN` the kernel refuses with `EACCES` unless [`set_no_new_privs`] was called.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/seccomp.2.html)
pub fn set_mode_filter(program: &[SockFilter]) -> Result<(), Errno> {
    /// `struct sock_fprog`.
    #[repr(C)]
    struct SockFprog {
        len: u16,
        filter: *const SockFilter,
    }
    const SECCOMP_SET_MODE_FILTER: usize = 1;
    let len = u16::try_from(program.len()).map_err(|_| Errno::INVAL)?;
    let prog = SockFprog { len, filter: program.as_ptr() };
    // SAFETY: `prog` points at `len` valid instructions, alive for the call; the kernel copies
    // them.
    check(unsafe { syscall4(nr::SECCOMP, SECCOMP_SET_MODE_FILTER, 0, &prog as *const SockFprog as usize, 0) })
        .map(drop)
}

/// Installs `program` as an unprivileged caller may: [`set_mode_filter`] as is, and if the
/// kernel wants it (`EACCES`: no `CAP_SYS_ADMIN`), [`set_no_new_privs`] and again. So
/// `no_new_privs` is set only when it has to be.
pub fn install_filter(program: &[SockFilter]) -> Result<(), Errno> {
    match set_mode_filter(program) {
        Err(e) if e == Errno::ACCESS => {
            set_no_new_privs()?;
            set_mode_filter(program)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_have_the_kernel_layout() {
        assert_eq!(std::mem::size_of::<SockFilter>(), 8);
        assert_eq!(SockFilter::load(DATA_ARCH), SockFilter { code: 0x20, jt: 0, jf: 0, k: 4 });
        assert_eq!(SockFilter::jump_eq(435, 0, 1), SockFilter { code: 0x15, jt: 0, jf: 1, k: 435 });
        assert_eq!(ret_errno(Errno::NOSYS), 0x0005_0000 | 38);
        assert_eq!(ret_errno(Errno::PERM), 0x0005_0001);
    }

    #[test]
    fn an_empty_program_is_refused() {
        assert_eq!(set_mode_filter(&[]), Err(Errno::INVAL));
    }
}
