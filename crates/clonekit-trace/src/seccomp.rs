//! The seccomp-bpf filter that makes only the traced system calls stop the tracee
//! (`SECCOMP_RET_TRACE`), everything else running at full speed (`SECCOMP_RET_ALLOW`), as
//! strace's `--seccomp-bpf` does (src/filter_seccomp.c, linear form).
//!
//! `exit` and `exit_group` are left out on purpose: `PTRACE_EVENT_EXIT` reports them anyway,
//! and a child created with `CLONE_UNTRACED` (which no tracer follows, but which inherits the
//! filter) can then still end normally; with `SECCOMP_RET_TRACE` and no tracer the kernel
//! fails the call with `ENOSYS`.

use clonekit_flags::ProcessSyscall;

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_MODE_FILTER: libc::c_ulong = 2;

/// The system calls the filter sends to the tracer.
pub fn traced_by_filter() -> impl Iterator<Item = ProcessSyscall> {
    ProcessSyscall::ALL.iter().copied().filter(|s| !s.never_returns())
}

/// A BPF program, built before `fork` so that the child only has to install it.
pub struct Filter {
    insns: Vec<libc::sock_filter>,
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt: 0, jf: 0, k }
}

impl Filter {
    /// `arch == x86_64 ? (nr ∈ traced ? TRACE : ALLOW) : TRACE`.
    pub fn process_calls() -> Filter {
        let nrs: Vec<u32> = traced_by_filter().map(|s| s.number() as u32).collect();
        let m = nrs.len();
        let mut insns = vec![
            stmt(BPF_LD_W_ABS, 4),
            libc::sock_filter { code: BPF_JMP_JEQ_K, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 },
            stmt(BPF_RET_K, SECCOMP_RET_TRACE),
            stmt(BPF_LD_W_ABS, 0),
        ];
        for (i, nr) in nrs.iter().enumerate() {
            insns.push(libc::sock_filter { code: BPF_JMP_JEQ_K, jt: (m - i) as u8, jf: 0, k: *nr });
        }
        insns.push(stmt(BPF_RET_K, SECCOMP_RET_ALLOW));
        insns.push(stmt(BPF_RET_K, SECCOMP_RET_TRACE));
        Filter { insns }
    }

    /// Installs the filter on the calling thread (and what it will exec). Without
    /// `CAP_SYS_ADMIN` the kernel wants `PR_SET_NO_NEW_PRIVS` first, which is set then and
    /// only then. Async-signal-safe: no allocation, raw system calls only. Returns the errno
    /// on failure.
    pub fn install(&self) -> Result<(), i32> {
        let prog = libc::sock_fprog { len: self.insns.len() as u16, filter: self.insns.as_ptr() as *mut _ };
        let set = || {
            // SAFETY: `prog` points at our instructions, alive for the call; the kernel copies them.
            unsafe {
                libc::syscall(
                    libc::SYS_prctl,
                    libc::PR_SET_SECCOMP as libc::c_long,
                    SECCOMP_MODE_FILTER as libc::c_long,
                    &prog as *const libc::sock_fprog,
                )
            }
        };
        if set() == 0 {
            return Ok(());
        }
        // SAFETY: integers only.
        if unsafe {
            libc::syscall(
                libc::SYS_prctl,
                libc::PR_SET_NO_NEW_PRIVS as libc::c_long,
                1 as libc::c_long,
                0 as libc::c_long,
                0 as libc::c_long,
                0 as libc::c_long,
            )
        } != 0
        {
            return Err(errno());
        }
        if set() == 0 {
            Ok(())
        } else {
            Err(errno())
        }
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EINVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_traps_the_process_calls_but_not_exit() {
        let names: Vec<&str> = traced_by_filter().map(|s| s.name()).collect();
        assert!(names.contains(&"clone3") && names.contains(&"execve") && names.contains(&"wait4"));
        assert!(!names.contains(&"exit") && !names.contains(&"exit_group"));
        let f = Filter::process_calls();
        assert_eq!(f.insns.len(), 4 + names.len() + 2);
        // Every jump lands on the final TRACE.
        for (i, insn) in f.insns.iter().enumerate().skip(4) {
            if insn.code == BPF_JMP_JEQ_K {
                let target = i + 1 + insn.jt as usize;
                assert_eq!(target, f.insns.len() - 1);
            }
        }
    }
}
