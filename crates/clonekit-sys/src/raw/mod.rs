//! The raw layer under the safe API: the `clone3` trampoline, the raw `syscall` instruction
//! and the system call numbers, the signal and process calls that rustix leaves out, and
//! `ptrace`.
//!
//! A program that creates processes and threads needs none of this; it is here for the
//! crates that verify and observe what the safe API does (clonekit's probes, trials and
//! scenario agents, and its tracer), so that every syscall family has one set of wrappers.
//! Like the rest of this crate, these functions touch no libc state (no `errno`, no
//! allocation), so they may be called from any child clonekit creates, `CLONE_VM` and
//! vfork children included.

pub mod ptrace;

pub use crate::arch::{clone3, create_exit_at_once, syscall4, tcb_guards, Entry};
pub use crate::caller::{caller_state, pid_ns_level};
pub use crate::sys::{
    check, exit_group, exit_thread, kill, rt_sigprocmask, sigaction_set_disposition, sigaction_swap, wait4,
    KernelSigaction, SigSet, SIG_DFL, SIG_IGN, SIG_SETMASK, WALL, WNOHANG,
};

/// x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl), for
/// [`syscall4`] and the trampolines.
pub mod nr {
    /// `close`.
    pub const CLOSE: usize = crate::arch::nr::CLOSE;
    /// `stat`.
    pub const STAT: usize = crate::arch::nr::STAT;
    /// `lseek`.
    pub const LSEEK: usize = crate::arch::nr::LSEEK;
    /// `rt_sigprocmask`.
    pub const RT_SIGPROCMASK: usize = crate::arch::nr::RT_SIGPROCMASK;
    /// `ioctl`.
    pub const IOCTL: usize = crate::arch::nr::IOCTL;
    /// `dup`.
    pub const DUP: usize = crate::arch::nr::DUP;
    /// `getpid`.
    pub const GETPID: usize = crate::arch::nr::GETPID;
    /// `clone`.
    pub const CLONE: usize = crate::arch::nr::CLONE;
    /// `execve`.
    pub const EXECVE: usize = crate::arch::nr::EXECVE;
    /// `exit`.
    pub const EXIT: usize = crate::arch::nr::EXIT;
    /// `wait4`.
    pub const WAIT4: usize = crate::arch::nr::WAIT4;
    /// `kill`.
    pub const KILL: usize = crate::arch::nr::KILL;
    /// `uname`.
    pub const UNAME: usize = crate::arch::nr::UNAME;
    /// `semget`.
    pub const SEMGET: usize = crate::arch::nr::SEMGET;
    /// `semop`.
    pub const SEMOP: usize = crate::arch::nr::SEMOP;
    /// `semctl`.
    pub const SEMCTL: usize = crate::arch::nr::SEMCTL;
    /// `fcntl`.
    pub const FCNTL: usize = crate::arch::nr::FCNTL;
    /// `getcwd`.
    pub const GETCWD: usize = crate::arch::nr::GETCWD;
    /// `chdir`.
    pub const CHDIR: usize = crate::arch::nr::CHDIR;
    /// `umask`.
    pub const UMASK: usize = crate::arch::nr::UMASK;
    /// `setpgid`.
    pub const SETPGID: usize = crate::arch::nr::SETPGID;
    /// `getppid`.
    pub const GETPPID: usize = crate::arch::nr::GETPPID;
    /// `rt_sigpending`.
    pub const RT_SIGPENDING: usize = crate::arch::nr::RT_SIGPENDING;
    /// `sigaltstack`.
    pub const SIGALTSTACK: usize = crate::arch::nr::SIGALTSTACK;
    /// `prctl`.
    pub const PRCTL: usize = crate::arch::nr::PRCTL;
    /// `arch_prctl`.
    pub const ARCH_PRCTL: usize = crate::arch::nr::ARCH_PRCTL;
    /// `sethostname`.
    pub const SETHOSTNAME: usize = crate::arch::nr::SETHOSTNAME;
    /// `gettid`.
    pub const GETTID: usize = crate::arch::nr::GETTID;
    /// `futex`.
    pub const FUTEX: usize = crate::arch::nr::FUTEX;
    /// `set_tid_address`.
    pub const SET_TID_ADDRESS: usize = crate::arch::nr::SET_TID_ADDRESS;
    /// `exit_group`.
    pub const EXIT_GROUP: usize = crate::arch::nr::EXIT_GROUP;
    /// `tgkill`.
    pub const TGKILL: usize = crate::arch::nr::TGKILL;
    /// `waitid`.
    pub const WAITID: usize = crate::arch::nr::WAITID;
    /// `ioprio_set`.
    pub const IOPRIO_SET: usize = crate::arch::nr::IOPRIO_SET;
    /// `ioprio_get`.
    pub const IOPRIO_GET: usize = crate::arch::nr::IOPRIO_GET;
    /// `openat`.
    pub const OPENAT: usize = crate::arch::nr::OPENAT;
    /// `unshare`.
    pub const UNSHARE: usize = crate::arch::nr::UNSHARE;
    /// `dup3`.
    pub const DUP3: usize = crate::arch::nr::DUP3;
    /// `kcmp`.
    pub const KCMP: usize = crate::arch::nr::KCMP;
    /// `clone3`.
    pub const CLONE3: usize = crate::arch::nr::CLONE3;
    /// `close_range`.
    pub const CLOSE_RANGE: usize = crate::arch::nr::CLOSE_RANGE;
}
