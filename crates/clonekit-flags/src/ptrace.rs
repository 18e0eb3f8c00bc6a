//! `ptrace(2)`'s numbers (include/uapi/linux/ptrace.h): the requests, the `PTRACE_O_*`
//! options and the `PTRACE_EVENT_*` codes a stop reports in `status >> 16`.

/// `PTRACE_TRACEME`: the caller's parent becomes its tracer (`ptrace_traceme`).
pub const PTRACE_TRACEME: u32 = 0;
/// `PTRACE_POKEDATA`: write one word of the tracee's memory (`generic_ptrace_pokedata`).
pub const PTRACE_POKEDATA: u32 = 5;
/// `PTRACE_POKEUSER`: write one word of the tracee's `struct user` (its registers).
pub const PTRACE_POKEUSER: u32 = 6;
/// `PTRACE_CONT`: resume a tracee in a ptrace stop, with a signal or none (`ptrace_resume`).
pub const PTRACE_CONT: u32 = 7;
/// `PTRACE_KILL`: send the tracee `SIGKILL` (any state; deprecated by the man page).
pub const PTRACE_KILL: u32 = 8;
/// `PTRACE_GETREGS`: the tracee's user registers (`struct user_regs_struct`).
pub const PTRACE_GETREGS: u32 = 12;
/// `PTRACE_ATTACH`: trace a task and send it `SIGSTOP` (`ptrace_attach`).
pub const PTRACE_ATTACH: u32 = 16;
/// `PTRACE_DETACH`: stop tracing, resuming the tracee with a signal or none
/// (`ptrace_detach`).
pub const PTRACE_DETACH: u32 = 17;
/// `PTRACE_SYSCALL`: resume a tracee until the next system call entry or exit.
pub const PTRACE_SYSCALL: u32 = 24;
/// `PTRACE_SETOPTIONS`: set the `PTRACE_O_*` options (`ptrace_setoptions`).
pub const PTRACE_SETOPTIONS: u32 = 0x4200;
/// `PTRACE_GETEVENTMSG`: the message of the last event stop (`ptrace_message`).
pub const PTRACE_GETEVENTMSG: u32 = 0x4201;
/// `PTRACE_GETSIGINFO`: the `siginfo_t` of the signal the tracee stopped for.
pub const PTRACE_GETSIGINFO: u32 = 0x4202;
/// `PTRACE_SEIZE`: trace a task without stopping it, with options (`ptrace_attach`).
pub const PTRACE_SEIZE: u32 = 0x4206;
/// `PTRACE_INTERRUPT`: trap a seized tracee (`PTRACE_EVENT_STOP`).
pub const PTRACE_INTERRUPT: u32 = 0x4207;
/// `PTRACE_LISTEN`: let a seized tracee in a group-stop sleep until the next event.
pub const PTRACE_LISTEN: u32 = 0x4208;
/// `PTRACE_GET_SYSCALL_INFO`: what stop a tracee is in and the call's number, arguments or
/// result (`struct ptrace_syscall_info`).
pub const PTRACE_GET_SYSCALL_INFO: u32 = 0x420e;

/// `PTRACE_EVENT_FORK`: a `fork`-like clone (exit signal `SIGCHLD`).
pub const PTRACE_EVENT_FORK: u32 = 1;
/// `PTRACE_EVENT_VFORK`: a `CLONE_VFORK` clone.
pub const PTRACE_EVENT_VFORK: u32 = 2;
/// `PTRACE_EVENT_CLONE`: any other clone (an exit signal other than `SIGCHLD`, threads).
pub const PTRACE_EVENT_CLONE: u32 = 3;
/// `PTRACE_EVENT_EXEC`: a successful `execve`.
pub const PTRACE_EVENT_EXEC: u32 = 4;
/// `PTRACE_EVENT_VFORK_DONE`: a vfork parent released by its child.
pub const PTRACE_EVENT_VFORK_DONE: u32 = 5;
/// `PTRACE_EVENT_EXIT`: the start of `do_exit`.
pub const PTRACE_EVENT_EXIT: u32 = 6;
/// `PTRACE_EVENT_SECCOMP`: a seccomp filter returned `SECCOMP_RET_TRACE`.
pub const PTRACE_EVENT_SECCOMP: u32 = 7;
/// `PTRACE_EVENT_STOP`: a seized tracee's group-stop, interrupt or first stop.
pub const PTRACE_EVENT_STOP: u32 = 0x80;

/// `PTRACE_O_TRACESYSGOOD`: syscall stops report `SIGTRAP | 0x80`.
pub const PTRACE_O_TRACESYSGOOD: u32 = 1;
/// `PTRACE_O_TRACEFORK`: stop at `PTRACE_EVENT_FORK` and trace the child.
pub const PTRACE_O_TRACEFORK: u32 = 1 << PTRACE_EVENT_FORK;
/// `PTRACE_O_TRACEVFORK`: stop at `PTRACE_EVENT_VFORK` and trace the child.
pub const PTRACE_O_TRACEVFORK: u32 = 1 << PTRACE_EVENT_VFORK;
/// `PTRACE_O_TRACECLONE`: stop at `PTRACE_EVENT_CLONE` and trace the new task.
pub const PTRACE_O_TRACECLONE: u32 = 1 << PTRACE_EVENT_CLONE;
/// `PTRACE_O_TRACEEXEC`: stop at `PTRACE_EVENT_EXEC` (instead of the legacy `SIGTRAP`).
pub const PTRACE_O_TRACEEXEC: u32 = 1 << PTRACE_EVENT_EXEC;
/// `PTRACE_O_TRACEVFORKDONE`: stop at `PTRACE_EVENT_VFORK_DONE`.
pub const PTRACE_O_TRACEVFORKDONE: u32 = 1 << PTRACE_EVENT_VFORK_DONE;
/// `PTRACE_O_TRACEEXIT`: stop at `PTRACE_EVENT_EXIT`.
pub const PTRACE_O_TRACEEXIT: u32 = 1 << PTRACE_EVENT_EXIT;
/// `PTRACE_O_TRACESECCOMP`: stop at `PTRACE_EVENT_SECCOMP`.
pub const PTRACE_O_TRACESECCOMP: u32 = 1 << PTRACE_EVENT_SECCOMP;
/// `PTRACE_O_EXITKILL`: the tracees get `SIGKILL` when the tracer exits (`exit_ptrace`).
pub const PTRACE_O_EXITKILL: u32 = 1 << 20;
/// `PTRACE_O_SUSPEND_SECCOMP`: the tracee's seccomp filters are not run (needs
/// `CAP_SYS_ADMIN`, and a tracer without seccomp of its own).
pub const PTRACE_O_SUSPEND_SECCOMP: u32 = 1 << 21;
/// `PTRACE_O_MASK`: every option the kernel knows. `PTRACE_SEIZE` refuses other bits with
/// `EIO`, `PTRACE_SETOPTIONS` with `EINVAL` (`check_ptrace_options`).
pub const PTRACE_O_MASK: u32 = 0x0000_00ff | PTRACE_O_EXITKILL | PTRACE_O_SUSPEND_SECCOMP;

/// The `PTRACE_O_*` options a scenario names: (bit, kernel name, language name), in the
/// spelling of [`crate::parse_pidfd_flags`] (`tracefork,exitkill`). `PTRACE_O_TRACEEXIT`
/// is left out: the model does not follow its exit stop yet.
pub const PTRACE_OPTIONS: &[(u32, &str, &str)] = &[
    (PTRACE_O_TRACESYSGOOD, "PTRACE_O_TRACESYSGOOD", "tracesysgood"),
    (PTRACE_O_TRACEFORK, "PTRACE_O_TRACEFORK", "tracefork"),
    (PTRACE_O_TRACEVFORK, "PTRACE_O_TRACEVFORK", "tracevfork"),
    (PTRACE_O_TRACECLONE, "PTRACE_O_TRACECLONE", "traceclone"),
    (PTRACE_O_TRACEEXEC, "PTRACE_O_TRACEEXEC", "traceexec"),
    (PTRACE_O_TRACEVFORKDONE, "PTRACE_O_TRACEVFORKDONE", "tracevforkdone"),
    (PTRACE_O_EXITKILL, "PTRACE_O_EXITKILL", "exitkill"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_event_option_is_one_shifted_by_its_event() {
        assert_eq!(PTRACE_O_TRACEFORK, 0x02);
        assert_eq!(PTRACE_O_TRACEVFORK, 0x04);
        assert_eq!(PTRACE_O_TRACECLONE, 0x08);
        assert_eq!(PTRACE_O_TRACEEXEC, 0x10);
        assert_eq!(PTRACE_O_TRACEVFORKDONE, 0x20);
        assert_eq!(PTRACE_O_TRACEEXIT, 0x40);
        assert_eq!(PTRACE_O_TRACESECCOMP, 0x80);
        assert_eq!(PTRACE_O_MASK, 0x0030_00ff);
    }
}
