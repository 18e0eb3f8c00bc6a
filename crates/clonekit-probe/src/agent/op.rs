//! The operations an agent performs, as plain data that fits in a mailbox of the control
//! region (no pointers into the coordinator's memory: the agent may be another address space,
//! or a freshly exec'd image).

use clonekit_raw::nr;

/// Most `set_tid` entries a `clone3` operation carries (`MAX_PID_NS_LEVEL`).
pub const MAX_SET_TID: usize = clonekit_flags::MAX_PID_NS_LEVEL as usize;
/// Longest path or host name an operation carries (without the NUL).
pub const MAX_TEXT: usize = 200;

/// In a pointer argument's place of a memory word index: NULL.
pub const PTR_NULL: u32 = u32::MAX;
/// In a pointer argument's place of a memory word index: an address in the page without
/// access that every agent address space has right after its memory words and scratch page
/// (a guard page, mapped `PROT_NONE`).
pub const PTR_UNMAPPED: u32 = u32::MAX - 1;

/// Where a raw `clone3`'s struct lies ([`RawClone3::at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArgsAt {
    /// A buffer on the agent's stack with room for `size` bytes.
    #[default]
    Buffer,
    /// NULL.
    Null,
    /// The guard page.
    Unmapped,
    /// The scratch page, its 88 bytes ending where the guard page begins.
    Guarded,
}

/// What the agent does in its task. Pids are real pids, as the acting task's pid namespace
/// sees them (the coordinator translates task names); `var` is the index of a memory word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentOp {
    /// glibc `fork()`: `clone(CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD)`; the child
    /// serves mailbox `child`.
    Fork {
        /// The new task's mailbox.
        child: u32,
    },
    /// `vfork()`-equivalent: `clone(CLONE_VM|CLONE_VFORK|SIGCHLD)` on a stack of its own.
    Vfork {
        /// The new task's mailbox.
        child: u32,
    },
    /// Legacy `clone(flags, stack, ptid, ctid, tls)`: the exit signal in the low byte.
    Clone {
        /// The whole flags register.
        flags: u64,
        /// `tls`: with `CLONE_SETTLS`, a value below the end of user space gets a thread
        /// control block of the agent's own (the value itself is not a TCB); one at or above
        /// it is passed as given (rule T1).
        tls: u64,
        /// Memory word for `parent_tid`, if any.
        ptid: Option<u32>,
        /// Memory word for `child_tid`, if any.
        ctid: Option<u32>,
        /// The new task's mailbox.
        child: u32,
    },
    /// `clone3`.
    Clone3 {
        /// `clone_args.flags`.
        flags: u64,
        /// `clone_args.exit_signal`.
        exit_signal: u64,
        /// Memory word for `parent_tid`, if any.
        ptid: Option<u32>,
        /// Memory word for `child_tid`, if any.
        ctid: Option<u32>,
        /// Memory word that receives the pidfd number, if any.
        pidfd: Option<u32>,
        /// `set_tid` entries (the first `set_tid_len`).
        set_tid: [i32; MAX_SET_TID],
        /// How many `set_tid` entries.
        set_tid_len: u32,
        /// `size`, when not the natural one (0: natural).
        size: u32,
        /// The `tls` value (see [`AgentOp::Clone`]).
        tls: u64,
        /// Arguments meant to break a rule, passed as given: the call is made with a struct
        /// built byte for byte, and a child it creates against expectation exits at once.
        raw: Option<RawClone3>,
        /// The new task's mailbox.
        child: u32,
    },
    /// `exit(code)`.
    Exit(i32),
    /// `exit_group(code)`.
    ExitGroup(i32),
    /// `wait4(pid, &status, options, NULL)`.
    Wait4 {
        /// The pid argument.
        pid: i32,
        /// Options (`WNOHANG`, `__WCLONE`, …).
        options: u32,
    },
    /// `waitid(idtype, id, &info, options, NULL)`; with `P_PIDFD`, `id_var` names the word
    /// holding the pidfd.
    Waitid {
        /// `P_ALL` (0), `P_PID` (1), `P_PIDFD` (3).
        idtype: u32,
        /// The id (a pid) for `P_PID`.
        id: i32,
        /// For `P_PIDFD`: the memory word holding the fd.
        id_var: Option<u32>,
        /// Options.
        options: u32,
    },
    /// `execve` of the agent program, continuing as the same mailbox.
    Execve,
    /// `getpid()`.
    Getpid,
    /// `gettid()`.
    Gettid,
    /// `getppid()`.
    Getppid,
    /// `stat("/proc/thread-self/ns/<kind>")`: the inode.
    NsInode {
        /// Namespace kind, e.g. `uts`, `pid_for_children`.
        kind: [u8; 24],
    },
    /// `unshare(flags)`.
    Unshare(u64),
    /// `open("/proc/PID/ns/KIND", O_RDONLY | O_CLOEXEC)`: a namespace file of task `pid`
    /// (its pid in the initial namespace, where /proc is mounted).
    NsOpen {
        /// The task.
        pid: i32,
        /// Namespace kind, e.g. `net`, `pid_for_children`.
        kind: [u8; 24],
    },
    /// `setns(fd, nstype)`.
    Setns {
        /// The descriptor, when given as a number.
        fd: i32,
        /// The memory word holding the descriptor, if any.
        fd_var: Option<u32>,
        /// `CLONE_NEW*` flags, or 0.
        nstype: i32,
    },
    /// `sethostname(name)`.
    Sethostname([u8; 64], u32),
    /// `uname()`: the node name.
    Gethostname,
    /// `prctl(PR_SET_CHILD_SUBREAPER, 1)`.
    Subreaper,
    /// `prctl(PR_SET_PDEATHSIG, sig)`.
    Pdeathsig(i32),
    /// Store to a memory word.
    Store {
        /// The word.
        var: u32,
        /// The value.
        value: u64,
    },
    /// Load a memory word.
    Load(u32),
    /// `set_tid_address(&word)`.
    SetTidAddress(u32),
    /// `futex(&word, FUTEX_WAIT, val)`.
    FutexWait {
        /// The word.
        var: u32,
        /// The expected value.
        val: u32,
    },
    /// `futex(&word, FUTEX_WAKE, n)`.
    FutexWake {
        /// The word.
        var: u32,
        /// How many to wake.
        n: u32,
    },
    /// `chdir(path)`.
    Chdir([u8; MAX_TEXT], u32),
    /// `getcwd()`.
    Getcwd,
    /// `umask(mode)`.
    Umask(u32),
    /// `open(path, O_RDONLY[|O_CLOEXEC])`.
    Open {
        /// The path.
        path: [u8; MAX_TEXT],
        /// Its length.
        len: u32,
        /// `O_CLOEXEC`.
        cloexec: bool,
    },
    /// `close(fd)`.
    Close(i32),
    /// `dup(fd)`.
    Dup(i32),
    /// `fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0)`.
    Cloexec {
        /// The fd.
        fd: i32,
        /// Whether to set it.
        on: bool,
    },
    /// `fcntl(fd, F_GETFD)`.
    Fdstate(i32),
    /// `rt_sigaction(sig, new?, &old)`: `new` 0 = `SIG_DFL`, 1 = `SIG_IGN`, 2 = the counting
    /// handler; `None` reads only.
    Sigaction {
        /// The signal.
        sig: i32,
        /// The new disposition, if any.
        new: Option<u8>,
    },
    /// `rt_sigprocmask(how, &set, &old)`.
    Sigprocmask {
        /// `SIG_BLOCK` (0), `SIG_UNBLOCK` (1), `SIG_SETMASK` (2).
        how: u32,
        /// The set (bit n-1 is signal n).
        set: u64,
    },
    /// `kill(pid, sig)`.
    Kill {
        /// The pid.
        pid: i32,
        /// The signal.
        sig: i32,
    },
    /// `tgkill(tgid, tid, sig)`.
    Tgkill {
        /// The thread group.
        tgid: i32,
        /// The thread.
        tid: i32,
        /// The signal.
        sig: i32,
    },
    /// The count of signals the counting handler has run for in this task.
    Handled,
    /// `sigaltstack`: `Some(true)` installs one, `Some(false)` disables, `None` reads.
    Sigaltstack(Option<bool>),
    /// `prctl(PR_GET_PDEATHSIG, &sig)`.
    GetPdeathsig,
    /// `prctl(PR_GET_CHILD_SUBREAPER, &v)`: `v` in `value`.
    GetChildSubreaper,
    /// `prctl(option, arg, 0, 0, 0)`, an option whose result is the return value
    /// (`PR_SET_DUMPABLE`, `PR_GET_DUMPABLE`, `PR_SET_KEEPCAPS`, `PR_GET_KEEPCAPS`).
    Prctl {
        /// `PR_*`.
        option: u32,
        /// The argument.
        arg: u64,
    },
    /// `capget` of the calling thread: the effective set in `value`, the permitted one in
    /// `extra`, the inheritable one in `aux[0]`.
    Capget,
    /// `capset` of the calling thread: with `drop`, the sets `capget` reads without `caps`;
    /// without, effective and permitted `caps`, inheritable none.
    Capset {
        /// Drop `caps` from the current sets, rather than set them.
        drop: bool,
        /// The capabilities.
        caps: u64,
    },
    /// `setuid(uid)`.
    Setuid(u32),
    /// `setresuid(ruid, euid, suid)`, `u32::MAX` for -1 (unchanged).
    Setresuid {
        /// The real uid.
        ruid: u32,
        /// The effective uid.
        euid: u32,
        /// The saved uid.
        suid: u32,
    },
    /// `getuid()`.
    Getuid,
    /// `geteuid()`.
    Geteuid,
    /// `lseek(fd, offset, SEEK_SET)`.
    Seek {
        /// The fd.
        fd: i32,
        /// The offset.
        offset: i64,
    },
    /// `lseek(fd, 0, SEEK_CUR)`.
    Tell(i32),
    /// `ioprio_set(IOPRIO_WHO_PROCESS, 0, prio)`.
    IoprioSet(u16),
    /// `ioprio_get(IOPRIO_WHO_PROCESS, 0)`.
    IoprioGet,
    /// `pidfd_open(pid, flags)`.
    PidfdOpen {
        /// The pid.
        pid: i32,
        /// The flags.
        flags: u32,
    },
    /// `pidfd_send_signal(fd, sig, info, flags)`; `fd_var` names the word holding the fd.
    PidfdSendSignal {
        /// The pidfd, when given as a number.
        fd: i32,
        /// The memory word holding the pidfd, if any.
        fd_var: Option<u32>,
        /// The signal.
        sig: i32,
        /// `PIDFD_SIGNAL_*` flags.
        flags: u32,
        /// A `siginfo_t` with this `si_code`; `None`: NULL.
        info: Option<i32>,
        /// The siginfo's `si_signo` (the signal sent, unless a test says otherwise).
        signo: i32,
    },
    /// `pidfd_getfd(pidfd, fd, flags)`.
    PidfdGetfd {
        /// The pidfd, when given as a number.
        pidfd: i32,
        /// The memory word holding the pidfd, if any.
        pidfd_var: Option<u32>,
        /// The target's descriptor.
        fd: i32,
        /// The flags.
        flags: u32,
    },
    /// `ptrace(request, pid, 0, data)`; `PTRACE_GETEVENTMSG` puts the message in `value`.
    Ptrace {
        /// `PTRACE_*`.
        request: u32,
        /// The tracee (0 for `PTRACE_TRACEME`).
        pid: i32,
        /// The signal or the options.
        data: u64,
    },
    /// `ioctl(fd, PIDFD_GET_INFO)` asking for `PIDFD_INFO_EXIT`: the exit code in `value`,
    /// `extra` 1 when the kernel gave one.
    PidfdInfo {
        /// The pidfd, when given as a number.
        fd: i32,
        /// The memory word holding it, if any.
        fd_var: Option<u32>,
    },
    /// `poll(&{fd, events}, 1, 0)`: the `revents` in `value`.
    Poll {
        /// The descriptor, when given as a number.
        fd: i32,
        /// The memory word holding it, if any.
        fd_var: Option<u32>,
        /// The events asked for.
        events: u16,
        /// The timeout in milliseconds (-1: none).
        timeout: i32,
    },
    /// `setpgid(pid, pgid)`.
    Setpgid {
        /// The process.
        pid: i32,
        /// The process group.
        pgid: i32,
    },
    /// `getpgid(pid)`.
    Getpgid(i32),
    /// `setsid()`.
    Setsid,
    /// `getsid(pid)`.
    Getsid(i32),
    /// For the namespace init only: reap every child that has ended (`wait4(-1, WNOHANG)`).
    ReapAll,
    /// `prlimit64(0, resource, new, &old)`: the old limits in `value` (soft) and `extra`
    /// (hard).
    Prlimit {
        /// The `RLIMIT_*` number.
        resource: u32,
        /// The new (soft, hard) limits, if any.
        new: Option<(u64, u64)>,
    },
    /// For the namespace init only, before the first task: a mount namespace of its own where
    /// the whole file tree is read-only and `/tmp` a fresh, private tmpfs (see
    /// [`Fleet::for_limits`](super::Fleet::for_limits)).
    SealFiles,
}

/// `clone3` arguments passed exactly as given (see [`AgentOp::Clone3`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawClone3 {
    /// `size`.
    pub size: u32,
    /// Non-zero bytes past the known struct.
    pub tail: bool,
    /// `stack`.
    pub stack: u64,
    /// `stack_size`.
    pub stack_size: u64,
    /// `set_tid_size` (the array pointer is the agent's own array when it has entries).
    pub set_tid_size: u64,
    /// `cgroup`.
    pub cgroup: u64,
    /// Where the struct lies.
    pub at: ArgsAt,
}

impl AgentOp {
    /// The system call number the task sleeps in if this operation blocks (`None`: it never
    /// blocks for long).
    pub fn blocks_in(&self) -> Option<usize> {
        match self {
            // A vfork is made with the legacy clone.
            AgentOp::Clone3 { .. } if self.blocks_in_vfork() => Some(nr::CLONE3),
            _ if self.blocks_in_vfork() => Some(nr::CLONE),
            AgentOp::Wait4 { options, .. } if options & 1 == 0 => Some(nr::WAIT4),
            AgentOp::Waitid { options, .. } if options & 1 == 0 => Some(nr::WAITID),
            AgentOp::FutexWait { .. } => Some(nr::FUTEX),
            AgentOp::Poll { timeout, .. } if *timeout != 0 => Some(nr::POLL),
            _ => None,
        }
    }

    /// Whether blocking in this operation means the vfork wait (`CLONE_VFORK`): the parent
    /// sleeps in `kernel_clone` until the child releases it, while any other sleep in the call
    /// (a new namespace being set up) is on its way.
    pub fn blocks_in_vfork(&self) -> bool {
        match self {
            AgentOp::Vfork { .. } => true,
            AgentOp::Clone { flags, .. } | AgentOp::Clone3 { flags, .. } => {
                flags & clonekit_flags::CloneFlags::CLONE_VFORK.bits() != 0
            }
            _ => false,
        }
    }

    /// Whether the task is gone once this operation has run.
    pub fn ends_task(&self) -> bool {
        matches!(self, AgentOp::Exit(_) | AgentOp::ExitGroup(_))
    }
}

/// Text into a fixed buffer (truncated to fit).
pub fn text<const N: usize>(s: &str) -> ([u8; N], u32) {
    let mut buf = [0u8; N];
    let n = s.len().min(N - 1);
    buf[..n].copy_from_slice(&s.as_bytes()[..n]);
    (buf, n as u32)
}
