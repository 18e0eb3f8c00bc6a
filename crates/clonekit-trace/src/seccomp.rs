//! The seccomp-bpf filter that makes only the traced system calls stop the tracee
//! (`SECCOMP_RET_TRACE`), everything else running at full speed (`SECCOMP_RET_ALLOW`), as
//! strace's `--seccomp-bpf` does (src/filter_seccomp.c, linear form).
//!
//! `exit` is never trapped: a thread's exit is seen at its death instead (see
//! [`quiet_threads`]). `exit_group` is trapped only with the calls that tell the tracer why a
//! thread died (clone, clone3, execve, execveat): with `SECCOMP_RET_TRACE` and no tracer the
//! kernel fails a call with `ENOSYS`, so a child created with `CLONE_UNTRACED`, which
//! inherits the filter, is then traced all the same, silently (`crate::tracer`).

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

/// The system calls the filter sends to the tracer (besides `exit_group`, see
/// [`quiet_threads`]).
pub fn traced_by_filter() -> impl Iterator<Item = ProcessSyscall> {
    ProcessSyscall::ALL.iter().copied().filter(|s| !s.never_returns())
}

/// Whether, with these calls trapped at their entry, new threads can be made without
/// `PTRACE_O_TRACEEXIT` (one stop fewer each): a thread's death then says what it called. It
/// died by its own `exit` unless its group was being ended by an `exit_group` (trapped too,
/// then) or replaced by an `execve` (a thread killed for either leaves with the same status).
/// Every creating call must stop too: the tracer sets, at its entry, which options the child
/// inherits, and tells a new task from its creator's call in flight.
pub fn quiet_threads(trapped: &[ProcessSyscall]) -> bool {
    use ProcessSyscall as S;
    [S::Clone, S::Clone3, S::Fork, S::Vfork, S::Execve, S::Execveat].iter().all(|s| trapped.contains(s))
}

/// A BPF program, built before `fork` so that the child only has to install it.
pub struct Filter {
    insns: Vec<SockFilter>,
}

impl Filter {
    /// `arch == x86_64 ? (nr ∈ calls ? TRACE : ALLOW) : TRACE`, for the calls the tracer
    /// wants to see: those of `-e trace=SET` that return (as strace's `--seccomp-bpf` does,
    /// the other calls never stop the tracee), or all of [`traced_by_filter`] for `--tree`;
    /// and `exit_group` where [`quiet_threads`] holds.
    pub fn trapping(calls: &[ProcessSyscall]) -> Filter {
        let nrs: Vec<u32> = calls.iter().map(|s| s.number() as u32).collect();
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
        let calls: Vec<ProcessSyscall> = traced_by_filter().collect();
        let names: Vec<&str> = calls.iter().map(|s| s.name()).collect();
        assert!(names.contains(&"clone3") && names.contains(&"execve") && names.contains(&"wait4"));
        assert!(!names.contains(&"exit") && !names.contains(&"exit_group"));
        assert!(quiet_threads(&calls));
        let without_fork: Vec<ProcessSyscall> =
            calls.iter().copied().filter(|&s| s != ProcessSyscall::Fork).collect();
        assert!(!quiet_threads(&without_fork));
        let f = Filter::trapping(&calls);
        assert_eq!(f.insns.len(), 4 + names.len() + 2);
        let clone_only = Filter::trapping(&[ProcessSyscall::Clone, ProcessSyscall::ExitGroup]);
        assert_eq!(clone_only.insns.len(), 4 + 2 + 2);
        assert_eq!(Filter::trapping(&[]).insns.len(), 4 + 1);
        // Every jump lands on the final TRACE.
        for (i, insn) in f.insns.iter().enumerate().skip(4) {
            if insn.code == seccomp::BPF_JMP_JEQ_K {
                let target = i + 1 + insn.jt as usize;
                assert_eq!(target, f.insns.len() - 1);
            }
        }
    }
}
