//! The seccomp-bpf filter that makes only the traced system calls stop the tracee
//! (`SECCOMP_RET_TRACE`), everything else running at full speed (`SECCOMP_RET_ALLOW`), as
//! strace's `--seccomp-bpf` does (src/filter_seccomp.c, linear form).
//!
//! `exit` and `exit_group` are left out on purpose: `PTRACE_EVENT_EXIT` reports them anyway,
//! and a child created with `CLONE_UNTRACED` (which no tracer follows, but which inherits the
//! filter) can then still end normally; with `SECCOMP_RET_TRACE` and no tracer the kernel
//! fails the call with `ENOSYS`.

use clonekit_flags::ProcessSyscall;
use clonekit_raw::seccomp::{self, SockFilter, AUDIT_ARCH_X86_64, DATA_ARCH, DATA_NR, RET_ALLOW, RET_TRACE};

/// Whether this process already runs under a seccomp filter (`Seccomp: 2` in
/// `/proc/self/status`), which a child inherits. Filters are all evaluated and the answer of
/// highest precedence wins: an older filter's `ERRNO` (a container profile refusing `clone3`)
/// outranks our `TRACE`, and the refused call would never stop.
pub fn already_filtered() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.strip_prefix("Seccomp:").is_some_and(|v| v.trim() == "2")))
}

/// The system calls the filter sends to the tracer.
pub fn traced_by_filter() -> impl Iterator<Item = ProcessSyscall> {
    ProcessSyscall::ALL.iter().copied().filter(|s| !s.never_returns())
}

/// A BPF program, built before `fork` so that the child only has to install it.
pub struct Filter {
    insns: Vec<SockFilter>,
}

impl Filter {
    /// `arch == x86_64 ? (nr ∈ traced ? TRACE : ALLOW) : TRACE`.
    pub fn process_calls() -> Filter {
        Filter::calls(traced_by_filter())
    }

    /// The same for the calls of `calls` that return (`-e trace=SET` narrows the filter, as
    /// strace's `--seccomp-bpf` does: the other calls never stop the tracee).
    pub fn calls(calls: impl Iterator<Item = ProcessSyscall>) -> Filter {
        let nrs: Vec<u32> = calls.filter(|s| !s.never_returns()).map(|s| s.number() as u32).collect();
        let m = nrs.len();
        let mut insns = vec![
            SockFilter::load(DATA_ARCH),
            SockFilter::jump_eq(AUDIT_ARCH_X86_64, 1, 0),
            SockFilter::ret(RET_TRACE),
            SockFilter::load(DATA_NR),
        ];
        for (i, nr) in nrs.iter().enumerate() {
            insns.push(SockFilter::jump_eq(*nr, (m - i) as u8, 0));
        }
        insns.push(SockFilter::ret(RET_ALLOW));
        if m > 0 {
            // The jumps' target (with no call to trace, no jump: nothing may be unreachable).
            insns.push(SockFilter::ret(RET_TRACE));
        }
        Filter { insns }
    }

    /// Installs the filter on the calling thread (and what it will exec). Without
    /// `CAP_SYS_ADMIN` the kernel wants `PR_SET_NO_NEW_PRIVS` first, which is set then and
    /// only then. Async-signal-safe: no allocation, raw system calls only. Returns the errno
    /// on failure.
    pub fn install(&self) -> Result<(), i32> {
        seccomp::install_filter(&self.insns).map_err(|e| e.raw_os_error())
    }
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
        let clone_only = Filter::calls([ProcessSyscall::Clone, ProcessSyscall::ExitGroup].into_iter());
        assert_eq!(clone_only.insns.len(), 4 + 1 + 2);
        assert_eq!(Filter::calls(std::iter::empty()).insns.len(), 4 + 1);
        // Every jump lands on the final TRACE.
        for (i, insn) in f.insns.iter().enumerate().skip(4) {
            if insn.code == seccomp::BPF_JMP_JEQ_K {
                let target = i + 1 + insn.jt as usize;
                assert_eq!(target, f.insns.len() - 1);
            }
        }
    }
}
