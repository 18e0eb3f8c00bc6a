//! The rest of strace's `%process` class: the x86_64 system calls that create, run, wait for,
//! signal and end processes ([`ProcessSyscall`]), and the values their arguments carry as
//! strace 6.1 prints them: `wait4`/`waitid` options (`WNOHANG|__WALL`), `waitid`'s id type
//! (`P_PIDFD`), wait statuses (`[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`), `execveat` flags
//! and the `PTRACE_EVENT_*` codes (src/xlat/wait4_options.in, waitid_types.in,
//! ptrace_events.in, execveat_flags.in; src/wait.c `print_wait_status`).

use std::fmt::Write as _;

use crate::Signal;

/// A system call of strace's `%process` class on x86_64 (src/linux/x86_64/syscallent.h, the
/// `TP` entries of strace 6.1), by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessSyscall {
    /// `clone` (56).
    Clone,
    /// `fork` (57).
    Fork,
    /// `vfork` (58).
    Vfork,
    /// `execve` (59).
    Execve,
    /// `exit` (60).
    Exit,
    /// `wait4` (61).
    Wait4,
    /// `kill` (62).
    Kill,
    /// `rt_sigqueueinfo` (129).
    RtSigqueueinfo,
    /// `tkill` (200).
    Tkill,
    /// `exit_group` (231).
    ExitGroup,
    /// `tgkill` (234).
    Tgkill,
    /// `waitid` (247).
    Waitid,
    /// `rt_tgsigqueueinfo` (297).
    RtTgsigqueueinfo,
    /// `execveat` (322).
    Execveat,
    /// `pidfd_send_signal` (424).
    PidfdSendSignal,
    /// `clone3` (435).
    Clone3,
}

impl ProcessSyscall {
    /// Every member of the class, by ascending number.
    pub const ALL: &'static [ProcessSyscall] = &[
        ProcessSyscall::Clone,
        ProcessSyscall::Fork,
        ProcessSyscall::Vfork,
        ProcessSyscall::Execve,
        ProcessSyscall::Exit,
        ProcessSyscall::Wait4,
        ProcessSyscall::Kill,
        ProcessSyscall::RtSigqueueinfo,
        ProcessSyscall::Tkill,
        ProcessSyscall::ExitGroup,
        ProcessSyscall::Tgkill,
        ProcessSyscall::Waitid,
        ProcessSyscall::RtTgsigqueueinfo,
        ProcessSyscall::Execveat,
        ProcessSyscall::PidfdSendSignal,
        ProcessSyscall::Clone3,
    ];

    /// The x86_64 system call number.
    pub const fn number(self) -> u64 {
        match self {
            ProcessSyscall::Clone => 56,
            ProcessSyscall::Fork => 57,
            ProcessSyscall::Vfork => 58,
            ProcessSyscall::Execve => 59,
            ProcessSyscall::Exit => 60,
            ProcessSyscall::Wait4 => 61,
            ProcessSyscall::Kill => 62,
            ProcessSyscall::RtSigqueueinfo => 129,
            ProcessSyscall::Tkill => 200,
            ProcessSyscall::ExitGroup => 231,
            ProcessSyscall::Tgkill => 234,
            ProcessSyscall::Waitid => 247,
            ProcessSyscall::RtTgsigqueueinfo => 297,
            ProcessSyscall::Execveat => 322,
            ProcessSyscall::PidfdSendSignal => 424,
            ProcessSyscall::Clone3 => 435,
        }
    }

    /// The member with this x86_64 number, if it is one.
    pub fn from_number(nr: u64) -> Option<ProcessSyscall> {
        ProcessSyscall::ALL.iter().copied().find(|s| s.number() == nr)
    }

    /// The member with this name (`"clone3"`), if it is one.
    pub fn from_name(name: &str) -> Option<ProcessSyscall> {
        ProcessSyscall::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// The name strace prints.
    pub const fn name(self) -> &'static str {
        match self {
            ProcessSyscall::Clone => "clone",
            ProcessSyscall::Fork => "fork",
            ProcessSyscall::Vfork => "vfork",
            ProcessSyscall::Execve => "execve",
            ProcessSyscall::Exit => "exit",
            ProcessSyscall::Wait4 => "wait4",
            ProcessSyscall::Kill => "kill",
            ProcessSyscall::RtSigqueueinfo => "rt_sigqueueinfo",
            ProcessSyscall::Tkill => "tkill",
            ProcessSyscall::ExitGroup => "exit_group",
            ProcessSyscall::Tgkill => "tgkill",
            ProcessSyscall::Waitid => "waitid",
            ProcessSyscall::RtTgsigqueueinfo => "rt_tgsigqueueinfo",
            ProcessSyscall::Execveat => "execveat",
            ProcessSyscall::PidfdSendSignal => "pidfd_send_signal",
            ProcessSyscall::Clone3 => "clone3",
        }
    }

    /// Whether the call creates a task (`clone`, `clone3`, `fork`, `vfork`).
    pub const fn creates(self) -> bool {
        matches!(
            self,
            ProcessSyscall::Clone | ProcessSyscall::Clone3 | ProcessSyscall::Fork | ProcessSyscall::Vfork
        )
    }

    /// Whether a successful call never returns to its caller (`exit`, `exit_group`).
    pub const fn never_returns(self) -> bool {
        matches!(self, ProcessSyscall::Exit | ProcessSyscall::ExitGroup)
    }
}

impl std::fmt::Display for ProcessSyscall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `printflags_ex`: the names of `table` in its order, then the leftover bits as one hex
/// term; with no name at all, `0x… /* PREFIX??? */`; zero is `0`.
pub fn format_flag_set(value: u64, table: &[(u64, &str)], unknown: &str) -> String {
    let mut out = String::new();
    let mut left = value;
    let mut printed = 0;
    for &(bit, name) in table {
        if bit != 0 && left & bit == bit {
            if printed > 0 {
                out.push('|');
            }
            out.push_str(name);
            left &= !bit;
            printed += 1;
        }
    }
    match (printed, left) {
        (0, 0) => out.push('0'),
        (0, _) => {
            let _ = write!(out, "{left:#x} /* {unknown} */");
        }
        (_, 0) => {}
        (_, _) => {
            let _ = write!(out, "|{left:#x}");
        }
    }
    out
}

/// `PF_EXITING` (include/linux/sched.h): a task's `flags` bit set as `do_exit` begins
/// (`exit_signals`), field 9 of `/proc/PID/stat`.
pub const PF_EXITING: u32 = 0x0000_0004;

/// `WNOHANG`: return at once if no child has changed state.
pub const WNOHANG: u32 = 0x1;
/// `WUNTRACED`, also `WSTOPPED`: report children stopped by a signal.
pub const WUNTRACED: u32 = 0x2;
/// `WEXITED` (`waitid`): report children that ended.
pub const WEXITED: u32 = 0x4;
/// `WCONTINUED`: report stopped children continued by `SIGCONT`.
pub const WCONTINUED: u32 = 0x8;
/// `WNOWAIT` (`waitid`): leave the child waitable.
pub const WNOWAIT: u32 = 0x0100_0000;
/// `__WNOTHREAD`: only the calling thread's own children.
pub const WNOTHREAD: u32 = 0x2000_0000;
/// `__WALL`: every kind of child (clone children and ptrace tracees too).
pub const WALL: u32 = 0x4000_0000;
/// `__WCLONE`: only children whose exit signal is not `SIGCHLD`.
pub const WCLONE: u32 = 0x8000_0000;

/// `wait4_options`, in strace's order (`WUNTRACED` is `WSTOPPED` on Linux, and strace names
/// it `WSTOPPED`).
pub const WAIT_OPTIONS: &[(u64, &str)] = &[
    (WNOHANG as u64, "WNOHANG"),
    (WEXITED as u64, "WEXITED"),
    (WUNTRACED as u64, "WSTOPPED"),
    (WCONTINUED as u64, "WCONTINUED"),
    (WNOWAIT as u64, "WNOWAIT"),
    (WCLONE as u64, "__WCLONE"),
    (WALL as u64, "__WALL"),
    (WNOTHREAD as u64, "__WNOTHREAD"),
];

/// `wait4`/`waitid` options as strace prints them: `WNOHANG|__WALL`, `0`.
pub fn format_wait_options(options: u64) -> String {
    format_flag_set(options & 0xffff_ffff, WAIT_OPTIONS, "W???")
}

/// `execveat_flags`: `AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH`.
pub const EXECVEAT_FLAGS: &[(u64, &str)] = &[(0x100, "AT_SYMLINK_NOFOLLOW"), (0x1000, "AT_EMPTY_PATH")];

/// `execveat`'s flags as strace prints them.
pub fn format_execveat_flags(flags: u64) -> String {
    format_flag_set(flags & 0xffff_ffff, EXECVEAT_FLAGS, "AT_???")
}

/// A directory fd argument (`print_dirfd`): `AT_FDCWD` for -100, else the number.
pub fn format_dirfd(fd: i32) -> String {
    if fd == -100 {
        "AT_FDCWD".to_string()
    } else {
        fd.to_string()
    }
}

/// `waitid`'s id type (`P_ALL`, `P_PID`, `P_PGID`, `P_PIDFD`), or `0x7 /* P_??? */`.
pub fn format_idtype(idtype: u32) -> String {
    match idtype {
        0 => "P_ALL".into(),
        1 => "P_PID".into(),
        2 => "P_PGID".into(),
        3 => "P_PIDFD".into(),
        n => format!("{n:#x} /* P_??? */"),
    }
}

/// The `PTRACE_EVENT_*` name of an event code, as `status >> 16` carries it.
pub fn ptrace_event_name(event: u32) -> Option<&'static str> {
    use crate::ptrace::*;
    Some(match event {
        PTRACE_EVENT_FORK => "PTRACE_EVENT_FORK",
        PTRACE_EVENT_VFORK => "PTRACE_EVENT_VFORK",
        PTRACE_EVENT_CLONE => "PTRACE_EVENT_CLONE",
        PTRACE_EVENT_EXEC => "PTRACE_EVENT_EXEC",
        PTRACE_EVENT_VFORK_DONE => "PTRACE_EVENT_VFORK_DONE",
        PTRACE_EVENT_EXIT => "PTRACE_EVENT_EXIT",
        PTRACE_EVENT_SECCOMP => "PTRACE_EVENT_SECCOMP",
        PTRACE_EVENT_STOP => "PTRACE_EVENT_STOP",
        _ => return None,
    })
}

/// A signal number as strace's `printsignal` shows it: the name, or the number when it is
/// not a signal (`0`).
pub fn format_signal_arg(sig: i64) -> String {
    match u32::try_from(sig).ok().and_then(Signal::new) {
        Some(s) => s.to_string(),
        None => sig.to_string(),
    }
}

/// `print_wait_status`: a wait status inside `[…]`, as `wait4` shows the `int` it stored:
/// `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`, `[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]`,
/// `[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGTRAP | 0x80}]`, `[{WIFCONTINUED(s)}]`.
pub fn format_wait_status(status: i32) -> String {
    let mut s = status as u32;
    let mut out = String::from("[");
    let termsig = s & 0x7f;
    if s & 0xff == 0x7f {
        let sig = (s >> 8) & 0xff;
        let _ = write!(
            out,
            "{{WIFSTOPPED(s) && WSTOPSIG(s) == {}{}}}",
            format_signal_arg(i64::from(sig & 0x7f)),
            if sig & 0x80 != 0 { " | 0x80" } else { "" }
        );
        s &= !((sig << 8) | 0x7f);
    } else if termsig != 0 && termsig != 0x7f {
        let core = s & 0x80 != 0;
        let _ = write!(
            out,
            "{{WIFSIGNALED(s) && WTERMSIG(s) == {}{}}}",
            format_signal_arg(i64::from(termsig)),
            if core { " && WCOREDUMP(s)" } else { "" }
        );
        s &= !(termsig | 0x80);
    } else if termsig == 0 && s != 0xffff {
        let code = (s >> 8) & 0xff;
        let _ = write!(out, "{{WIFEXITED(s) && WEXITSTATUS(s) == {code}}}");
        s &= !(code << 8);
    } else if s == 0xffff {
        out.push_str("{WIFCONTINUED(s)}");
        s = 0;
    } else {
        let _ = write!(out, "{s:#x}]");
        return out;
    }
    if s != 0 {
        let event = s >> 16;
        if event != 0 {
            match ptrace_event_name(event) {
                Some(name) => {
                    let _ = write!(out, " | {name} << 16");
                }
                None => {
                    let _ = write!(out, " | {event:#x} /* PTRACE_EVENT_??? */ << 16");
                }
            }
            s &= 0xffff;
        }
        if s != 0 {
            let _ = write!(out, " | {s:#x}");
        }
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_class_numbers_and_names() {
        assert_eq!(ProcessSyscall::ALL.len(), 16);
        for &s in ProcessSyscall::ALL {
            assert_eq!(ProcessSyscall::from_number(s.number()), Some(s));
            assert_eq!(ProcessSyscall::from_name(s.name()), Some(s));
        }
        assert_eq!(ProcessSyscall::from_number(435), Some(ProcessSyscall::Clone3));
        assert_eq!(ProcessSyscall::from_number(0), None);
        assert!(ProcessSyscall::Vfork.creates() && !ProcessSyscall::Wait4.creates());
        assert!(ProcessSyscall::ExitGroup.never_returns());
    }

    #[test]
    fn wait_options_as_strace_prints_them() {
        assert_eq!(format_wait_options(0), "0");
        assert_eq!(format_wait_options(1), "WNOHANG");
        assert_eq!(format_wait_options(2), "WSTOPPED");
        assert_eq!(format_wait_options(0x4000_0001), "WNOHANG|__WALL");
        assert_eq!(format_wait_options(4), "WEXITED");
        assert_eq!(format_wait_options(0x10), "0x10 /* W??? */");
        assert_eq!(format_wait_options(0x11), "WNOHANG|0x10");
    }

    #[test]
    fn wait_statuses_as_strace_prints_them() {
        assert_eq!(format_wait_status(0), "[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]");
        assert_eq!(format_wait_status(3 << 8), "[{WIFEXITED(s) && WEXITSTATUS(s) == 3}]");
        assert_eq!(format_wait_status(9), "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}]");
        assert_eq!(
            format_wait_status(11 | 0x80),
            "[{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}]"
        );
        assert_eq!(format_wait_status((19 << 8) | 0x7f), "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}]");
        assert_eq!(
            format_wait_status(((5 | 0x80) << 8) | 0x7f),
            "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGTRAP | 0x80}]"
        );
        assert_eq!(
            format_wait_status((1 << 16) | (5 << 8) | 0x7f),
            "[{WIFSTOPPED(s) && WSTOPSIG(s) == SIGTRAP} | PTRACE_EVENT_FORK << 16]"
        );
        assert_eq!(format_wait_status(0xffff), "[{WIFCONTINUED(s)}]");
    }

    #[test]
    fn idtypes_dirfds_and_signal_args() {
        assert_eq!(format_idtype(3), "P_PIDFD");
        assert_eq!(format_idtype(9), "0x9 /* P_??? */");
        assert_eq!(format_dirfd(-100), "AT_FDCWD");
        assert_eq!(format_dirfd(3), "3");
        assert_eq!(format_execveat_flags(0x1000), "AT_EMPTY_PATH");
        assert_eq!(format_signal_arg(9), "SIGKILL");
        assert_eq!(format_signal_arg(0), "0");
        assert_eq!(format_signal_arg(34), "SIGRT_2");
        assert_eq!(format_signal_arg(99), "99");
    }
}
