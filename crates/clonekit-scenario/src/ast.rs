//! A parsed scenario: its title, its first task, and its steps, each one operation of the
//! language (docs/scenario-language.md).

use clonekit_model::NsKind;

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The file name, as given (for messages).
    pub file: String,
    /// The `# title:` line, if any.
    pub title: Option<String>,
    /// The `# linux: >= X.Y`, `# linux: < X.Y` or `# linux: >= X.Y, < A.B` line: the kernel
    /// versions the scenario's
    /// expectations hold for (a behaviour that changed, clonekit_flags::CHANGES); `None`: all.
    pub linux: Option<LinuxRange>,
    /// The first task's name (`main` unless the file starts with `task NAME`).
    pub first_task: String,
    /// The steps, in file order.
    pub steps: Vec<Step>,
}

/// The kernel versions a scenario is written for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinuxRange {
    /// `>= X.Y`: this version and newer.
    AtLeast(clonekit_flags::Version),
    /// `< X.Y`: older than this version.
    Before(clonekit_flags::Version),
    /// `>= X.Y, < A.B`: from the first version, older than the second.
    Between(clonekit_flags::Version, clonekit_flags::Version),
    /// `RANGE or RANGE …`: any of them (a change backported to some older series only).
    Any(Vec<LinuxRange>),
}

impl LinuxRange {
    /// Whether `linux` is in the range.
    pub fn contains(&self, linux: clonekit_flags::Version) -> bool {
        match self {
            LinuxRange::AtLeast(v) => linux >= *v,
            LinuxRange::Before(v) => linux < *v,
            LinuxRange::Between(from, to) => linux >= *from && linux < *to,
            LinuxRange::Any(parts) => parts.iter().any(|p| p.contains(linux)),
        }
    }
}

impl std::fmt::Display for LinuxRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinuxRange::AtLeast((a, b)) => write!(f, "Linux {a}.{b} and newer"),
            LinuxRange::Before((a, b)) => write!(f, "Linux before {a}.{b}"),
            LinuxRange::Between((a, b), (c, d)) => write!(f, "Linux {a}.{b} and newer, before {c}.{d}"),
            LinuxRange::Any(parts) => {
                let text: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
                f.write_str(&text.join(", or "))
            }
        }
    }
}

impl Scenario {
    /// Whether the scenario's expectations hold for Linux `linux` (its `# linux:` line).
    pub fn written_for(&self, linux: clonekit_flags::Version) -> bool {
        self.linux.as_ref().is_none_or(|r| r.contains(linux))
    }

    /// Why the scenario is not run with the model following Linux `linux`: it is written for
    /// other releases (its `# linux:` line). `None` if it is written for `linux`.
    pub fn not_written_for(&self, linux: clonekit_flags::Version) -> Option<String> {
        let range = self.linux.as_ref().filter(|r| !r.contains(linux))?;
        Some(format!("written for {range}; the model follows Linux {}.{}", linux.0, linux.1))
    }

    /// Every flag the scenario's creating steps pass (fork and vfork count with their libc
    /// presets) or unshare.
    pub fn flags_used(&self) -> clonekit_flags::CloneFlags {
        use clonekit_flags::{CloneFlags, Preset};
        self.steps.iter().fold(CloneFlags::empty(), |acc, step| match &step.kind {
            StepKind::Run(Op::Fork { .. }) => acc | Preset::GlibcFork.flags(),
            StepKind::Run(Op::Vfork { .. }) => acc | Preset::KernelVfork.flags(),
            StepKind::Run(Op::Clone { flags, .. }) => acc | CloneFlags::from_bits_truncate(*flags),
            StepKind::Run(Op::Clone3 { args, .. }) => acc | CloneFlags::from_bits_truncate(args.flags),
            StepKind::Run(Op::Unshare(bits)) => acc | CloneFlags::from_bits_truncate(*bits),
            _ => acc,
        })
    }

    /// Whether a step sets a resource limit. The kernel backend runs such a scenario as root
    /// of a user namespace of its own mapped to an ordinary user (for root too), so that
    /// `RLIMIT_NPROC` binds and counts only the scenario's tasks, and in a mount namespace
    /// where only a private `/tmp` is writable, so that no core file reaches the machine.
    pub fn sets_limits(&self) -> bool {
        self.steps.iter().any(|st| matches!(st.kind, StepKind::Run(Op::Setrlimit { .. })))
    }

    /// Whether a step calls `clone3` (which a seccomp filter may refuse).
    pub fn uses_clone3(&self) -> bool {
        self.steps.iter().any(|st| matches!(st.kind, StepKind::Run(Op::Clone3 { .. })))
    }

    /// Whether the scenario needs `CAP_SYS_ADMIN` in its tasks' user namespace: it creates
    /// namespaces, chooses pids (`set_tid`, which `alloc_pid` allows only with it over each
    /// namespace, rule A4), sets a host name, or signals every task or a raw pid (`kill -1`,
    /// `kill -5`, which the kernel backend sends only inside a pid namespace of its own), or
    /// capabilities to drop and read (`capset`, `capget`). Root
    /// has it; an ordinary user gets it in a user namespace of its own
    /// ([`Privilege::has_caps`](clonekit_flags::Privilege::has_caps)).
    pub fn needs_caps(&self) -> bool {
        self.flags_used().intersects(clonekit_flags::CLONE_NEW_MASK)
            || self.steps.iter().any(|st| match &st.kind {
                StepKind::Run(Op::Sethostname(_))
                | StepKind::Run(Op::Kill(Target::All | Target::Num(_), _))
                // Capabilities dropped and read: written for a caller that holds them.
                | StepKind::Run(Op::Capset(_) | Op::Capget(_)) => true,
                StepKind::Run(Op::Clone3 { args, .. }) => {
                    args.set_tid.as_ref().is_some_and(|l| !l.is_empty())
                        || args.set_tid_size.is_some_and(|n| n > 0)
                }
                _ => false,
            })
    }
}

impl Scenario {
    /// The first uid other than 0 the scenario's steps set (`setuid`, `seteuid`), if any: a
    /// uid only root of the machine has a mapping for. A user namespace an ordinary user
    /// creates maps only its own uid, as uid 0 ([`Privilege::NamespaceRoot`]), where such a
    /// step is `EINVAL`, and an ordinary user may not take another uid (`EPERM`).
    ///
    /// [`Privilege::NamespaceRoot`]: clonekit_flags::Privilege::NamespaceRoot
    pub fn other_uid(&self) -> Option<u32> {
        self.steps.iter().find_map(|st| match &st.kind {
            StepKind::Run(Op::Setuid(u) | Op::Seteuid(u)) if *u != 0 => Some(*u),
            _ => None,
        })
    }

    /// Whether a task may exec after a `capset` step (any task, any order in the file: the
    /// exec may give back capabilities the capset took, which `no_new_privs` forbids).
    pub fn execs_after_capset(&self) -> bool {
        let first_capset = self.steps.iter().position(|st| matches!(st.kind, StepKind::Run(Op::Capset(_))));
        first_capset
            .is_some_and(|at| self.steps[at..].iter().any(|st| matches!(st.kind, StepKind::Run(Op::Execve))))
    }

    /// Why this scenario cannot run in a process with `no_new_privs` set (what a seccomp
    /// filter's set-up leaves), if it cannot: an exec there gives no capability back
    /// (`cap_bprm_creds_from_file` keeps the permitted set within the old one): the model
    /// follows it, but the scenario's expectations are those of a process without it.
    pub fn lacks_new_privs(&self, no_new_privs: bool) -> Option<String> {
        (no_new_privs && self.execs_after_capset()).then(|| {
            "execs after a capset, and this process runs with no_new_privs (a seccomp filter's set-up), \
             under which an exec gives no capability back: model and kernel agree, but the \
             scenario's expectations are those of a process without it"
                .to_string()
        })
    }

    /// Why this scenario cannot run with `privilege`, if it cannot: it sets a uid other than
    /// 0 ([`Scenario::other_uid`]) and the caller is not root of the machine.
    pub fn lacks_uids(&self, privilege: clonekit_flags::Privilege) -> Option<String> {
        let uid = self.other_uid()?;
        (!matches!(privilege, clonekit_flags::Privilege::Root { .. })).then(|| {
            format!(
                "sets uid {uid}, which only root of the machine can: this caller ({}) has no mapping for it",
                privilege.describe()
            )
        })
    }
}

/// One step line: `TASK: OPERATION [=> EXPECTED]`, or `TASK: resumed OPERATION [=> EXPECTED]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The line, from 1.
    pub line: usize,
    /// The column the task name starts at, from 1.
    pub col: usize,
    /// The task the step is addressed to.
    pub task: String,
    /// The operation, normalized (single spaces), as the transcript prints it.
    pub text: String,
    /// What the line is.
    pub kind: StepKind,
    /// The expected result, if the line has `=>`.
    pub expect: Option<String>,
}

/// A step that runs an operation, or one that checks a resumption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// Run the operation.
    Run(Op),
    /// Check that the task's blocked step resumed here.
    Resumed,
}

/// A memory word's name.
pub type Var = String;

/// A 32-bit value given in a step: a number, or a task's tid as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// A number.
    Num(u32),
    /// The tid of the named task.
    Tid(String),
}

/// A `kill`/`wait4` target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A task by name (its pid, as the caller sees it).
    Task(String),
    /// `-1`.
    All,
    /// `0`: the caller's process group.
    Group,
    /// `-NAME`: the process group a task's pid names (its pid, negated).
    Pgrp(String),
    /// Any other number, passed as it is (`-5`, `99999`).
    Num(i32),
}

/// A pid passed to a call: a task's (its pid as the caller sees it), or a number as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PidArg {
    /// A task by name.
    Task(String),
    /// A number, passed as it is (`0`, `-1`, one that names nothing).
    Num(i32),
}

/// A descriptor passed to a call: a number, or the memory word that holds one (where
/// `clone3 … pidfd=VAR` stored it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdArg {
    /// A number, passed as it is.
    Num(i32),
    /// The number a memory word holds.
    Var(Var),
}

impl std::fmt::Display for PidArg {
    /// The language's spelling.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PidArg::Task(n) => f.write_str(n),
            PidArg::Num(n) => write!(f, "{n}"),
        }
    }
}

impl std::fmt::Display for FdArg {
    /// The language's spelling.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FdArg::Num(n) => write!(f, "{n}"),
            FdArg::Var(v) => f.write_str(v),
        }
    }
}

/// A pointer passed to a call: the address of a memory word, or one that faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ptr {
    /// The address of a memory word.
    Word(Var),
    /// `null`: address 0 (the NULL page is never mapped).
    Null,
    /// `unmapped`: an address in a page the task cannot access (a guard page, as LTP's
    /// `tst_get_bad_addr()` makes).
    Unmapped,
}

impl Ptr {
    /// The memory word, if the pointer names one.
    pub fn word(&self) -> Option<&Var> {
        match self {
            Ptr::Word(v) => Some(v),
            Ptr::Null | Ptr::Unmapped => None,
        }
    }

    /// Whether the pointer faults (`null` or `unmapped`).
    pub fn faults(&self) -> bool {
        !matches!(self, Ptr::Word(_))
    }
}

impl std::fmt::Display for Ptr {
    /// The language's spelling.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ptr::Word(v) => f.write_str(v),
            Ptr::Null => f.write_str("null"),
            Ptr::Unmapped => f.write_str("unmapped"),
        }
    }
}

/// Where `clone3`'s `struct clone_args` lies (`args=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ArgsAt {
    /// In the caller's memory, with room for `size` bytes (the default).
    #[default]
    Memory,
    /// `args=null`: the pointer is NULL.
    Null,
    /// `args=unmapped`: the pointer is in a page the task cannot access.
    Unmapped,
    /// `args=guarded`: the struct's 88 bytes end where a page without access begins (LTP's
    /// guarded buffers), so a `size` above 88 makes the kernel read into that page.
    Guarded,
}

/// `waitid`'s id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitidId {
    /// `all`.
    All,
    /// `pid TASK|N`.
    Pid(PidArg),
    /// `pgid TASK|N`: the process group a task's pid names, or a number (`0`: the caller's).
    Pgid(PidArg),
    /// `pidfd FD`: a pidfd, by number or by the memory word that holds it.
    Pidfd(FdArg),
}

/// The arguments of `clone3` beyond its flags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clone3Args {
    /// Flags (`clone_args.flags`, flag bits only).
    pub flags: u64,
    /// `exit=`: the exit signal (any number: `clone3` validates it).
    pub exit: u64,
    /// `ptid=`.
    pub ptid: Option<Ptr>,
    /// `ctid=`.
    pub ctid: Option<Ptr>,
    /// `pidfd=`.
    pub pidfd: Option<Ptr>,
    /// `args=`: where the struct lies.
    pub at: ArgsAt,
    /// `set_tid=`: the array, deepest namespace first.
    pub set_tid: Option<Vec<i64>>,
    /// `set_tid_size=`: overrides the array's length (to break rules C5/C6).
    pub set_tid_size: Option<u64>,
    /// `size=`: the `size` argument (default 88).
    pub size: Option<u64>,
    /// `tail`: non-zero bytes past the known struct (rule C3).
    pub tail: bool,
    /// `stack=`, `stack_size=`: given explicitly (to break rule C14).
    pub stack: Option<u64>,
    /// See `stack`.
    pub stack_size: Option<u64>,
    /// `tls=`.
    pub tls: u64,
    /// `cgroup=`.
    pub cgroup: u64,
}

/// A `ptrace` request (`ptrace(2)`), on a task as the caller names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PtraceOp {
    /// `ptrace traceme`: `PTRACE_TRACEME`, the parent becomes the tracer.
    Traceme,
    /// `ptrace attach TASK`: `PTRACE_ATTACH` (the tracee is sent SIGSTOP).
    Attach(PidArg),
    /// `ptrace seize TASK [OPTIONS]`: `PTRACE_SEIZE` with `PTRACE_O_*` options.
    Seize(PidArg, u32),
    /// `ptrace setoptions TASK OPTIONS`: `PTRACE_SETOPTIONS`.
    Setoptions(PidArg, u32),
    /// `ptrace cont TASK [SIG]`: `PTRACE_CONT`, delivering SIG (0: none).
    Cont(PidArg, u32),
    /// `ptrace detach TASK [SIG]`: `PTRACE_DETACH`.
    Detach(PidArg, u32),
    /// `ptrace geteventmsg TASK`: `PTRACE_GETEVENTMSG` (the new task of a fork/clone event,
    /// the former tid of an exec event).
    Geteventmsg(PidArg),
}

/// What a `capset` step asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capset {
    /// `capset drop CAPS`: the caller's sets (`capget`) without these capabilities, in all
    /// three (what LTP's `TST_CAP_DROP` does).
    Drop(clonekit_flags::CapSet),
    /// `capset CAPS`: effective and permitted exactly these, inheritable none (libcap's
    /// `cap_clear`, `cap_set_flag` on both sets, `cap_set_proc`).
    Only(clonekit_flags::CapSet),
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `fork as NAME`.
    Fork {
        /// The child's name.
        name: String,
    },
    /// `vfork as NAME`.
    Vfork {
        /// The child's name.
        name: String,
    },
    /// `clone FLAGS [ptid=VAR] [ctid=VAR] [tls=N] as NAME`.
    Clone {
        /// The whole legacy flags word (exit signal in the low byte).
        flags: u64,
        /// `ptid=`.
        ptid: Option<Ptr>,
        /// `ctid=`.
        ctid: Option<Ptr>,
        /// `tls=`.
        tls: u64,
        /// The child's name.
        name: String,
    },
    /// `clone3 FLAGS [...] as NAME`.
    Clone3 {
        /// The arguments.
        args: Box<Clone3Args>,
        /// The child's name.
        name: String,
    },
    /// `exit N`.
    Exit(i32),
    /// `exit_group N`.
    ExitGroup(i32),
    /// `wait4 TARGET [OPTS]`.
    Wait4 {
        /// Whom.
        target: Target,
        /// `W*` option bits.
        options: u32,
    },
    /// `waitid all|pid TASK|pgid TASK|pidfd FD OPTS [siginfo]`.
    Waitid {
        /// Whom.
        id: WaitidId,
        /// `W*` option bits.
        options: u32,
        /// `siginfo`: the result is the `siginfo_t` the call filled, not a wait status.
        siginfo: bool,
    },
    /// `execve`.
    Execve,
    /// `getpid`.
    Getpid,
    /// `gettid`.
    Gettid,
    /// `getppid`.
    Getppid,
    /// `ns KIND`.
    Ns(NsKind),
    /// `unshare FLAGS`.
    Unshare(u64),
    /// `sethostname NAME`.
    Sethostname(String),
    /// `gethostname`.
    Gethostname,
    /// `prctl subreaper`.
    PrctlSubreaper,
    /// `prctl pdeathsig SIG`.
    PrctlPdeathsig(u32),
    /// `prctl get_pdeathsig`.
    PrctlGetPdeathsig,
    /// `prctl get_subreaper`: `PR_GET_CHILD_SUBREAPER`.
    PrctlGetSubreaper,
    /// `prctl dumpable N`: `PR_SET_DUMPABLE`.
    PrctlDumpable(u64),
    /// `prctl get_dumpable`: `PR_GET_DUMPABLE`.
    PrctlGetDumpable,
    /// `prctl keepcaps N`: `PR_SET_KEEPCAPS`.
    PrctlKeepcaps(u64),
    /// `prctl get_keepcaps`: `PR_GET_KEEPCAPS`.
    PrctlGetKeepcaps,
    /// `prctl no_new_privs N`: `PR_SET_NO_NEW_PRIVS`.
    PrctlNoNewPrivs(u64),
    /// `prctl get_no_new_privs`: `PR_GET_NO_NEW_PRIVS`.
    PrctlGetNoNewPrivs,
    /// `capset drop CAPS` or `capset CAPS`.
    Capset(Capset),
    /// `capget CAP`: which of the caller's sets hold capability CAP.
    Capget(u32),
    /// `setuid N`.
    Setuid(u32),
    /// `seteuid N`: glibc's `setresuid(-1, N, -1)`.
    Seteuid(u32),
    /// `getuid`.
    Getuid,
    /// `geteuid`.
    Geteuid,
    /// `store VAR N`.
    Store(Var, u32),
    /// `load VAR`.
    Load(Var),
    /// `set_tid_address VAR`.
    SetTidAddress(Var),
    /// `futex_wait VAR N|TASK`: a task name stands for its tid as the caller sees it (what a
    /// thread's clear-tid word holds, as `pthread_join` waits on it).
    FutexWait(Var, Word),
    /// `futex_wake VAR N`.
    FutexWake(Var, u32),
    /// `chdir PATH`.
    Chdir(String),
    /// `getcwd`.
    Getcwd,
    /// `umask MODE`.
    Umask(u32),
    /// `open PATH [cloexec]`.
    Open {
        /// The path.
        path: String,
        /// `O_CLOEXEC`.
        cloexec: bool,
    },
    /// `close FD`.
    Close(i32),
    /// `dup FD`.
    Dup(i32),
    /// `cloexec FD on|off`.
    Cloexec(i32, bool),
    /// `fdstate FD`.
    Fdstate(i32),
    /// `seek FD N`: `lseek(fd, N, SEEK_SET)`.
    Seek(i32, i64),
    /// `tell FD`: `lseek(fd, 0, SEEK_CUR)`.
    Tell(i32),
    /// `sigaction SIG [dfl|ign|handler]`.
    Sigaction(u32, Option<clonekit_model::Disposition>),
    /// `sigprocmask block|unblock|setmask SIGS`.
    Sigprocmask(clonekit_model::SigprocmaskHow, u64),
    /// `kill TARGET SIG`.
    Kill(Target, u32),
    /// `tgkill TGID TID SIG`.
    Tgkill(String, String, u32),
    /// `handled`.
    Handled,
    /// `sigaltstack [on|off]`.
    Sigaltstack(Option<bool>),
    /// `ioprio_set CLASS,LEVEL`, as the raw value.
    IoprioSet(u16),
    /// `ioprio_get`.
    IoprioGet,
    /// `nsfd TASK KIND`: `open("/proc/PID/ns/KIND")` of the task's namespace (close-on-exec).
    NsOpen {
        /// Whose namespace.
        task: String,
        /// Which (`/proc/PID/ns` spelling).
        kind: NsKind,
    },
    /// `setns FD NSTYPE`: `NSTYPE` as `CLONE_NEW*` names (`newnet|newuser`), or a number.
    Setns {
        /// A namespace file or a pidfd.
        fd: FdArg,
        /// `setns`'s `int nstype`.
        nstype: i32,
    },
    /// `pidfd_open TASK|N [FLAGS]`.
    PidfdOpen {
        /// Whom.
        pid: PidArg,
        /// `PIDFD_NONBLOCK`, `PIDFD_THREAD` (and any other bits, to break the rules).
        flags: u32,
    },
    /// `pidfd_send_signal FD SIG [FLAGS] [info=CODE [signo=SIG]]`.
    PidfdSendSignal {
        /// The pidfd.
        pidfd: FdArg,
        /// The signal (any number: the call validates it).
        sig: u32,
        /// `PIDFD_SIGNAL_*` bits.
        flags: u32,
        /// `info=CODE`: a `siginfo_t` with this `si_code` (and `si_signo` the signal);
        /// `None` passes NULL.
        info: Option<i32>,
        /// `signo=SIG`: the siginfo's `si_signo`, when it is not the signal sent.
        signo: Option<u32>,
    },
    /// `pidfd_getfd FD TARGETFD [FLAGS]`.
    PidfdGetfd {
        /// The pidfd.
        pidfd: FdArg,
        /// The descriptor of the target to duplicate.
        fd: i32,
        /// Flags (none are defined).
        flags: u32,
    },
    /// `ptrace REQUEST …`.
    Ptrace(PtraceOp),
    /// `pidfd_info FD`: `ioctl(FD, PIDFD_GET_INFO)` asking for `PIDFD_INFO_EXIT` (Linux
    /// 6.15): how the process ended once it is reaped, or that it has not.
    PidfdInfo(FdArg),
    /// `poll FD [wait]`: `poll` for `POLLIN` on one descriptor, without waiting (timeout 0),
    /// or with `wait` until it is ready (timeout -1).
    Poll {
        /// The descriptor.
        fd: FdArg,
        /// Wait (no timeout).
        wait: bool,
    },
    /// `setpgid TASK|N TASK|N`.
    Setpgid(PidArg, PidArg),
    /// `getpgid [TASK|N]` (default 0: the caller).
    Getpgid(PidArg),
    /// `setsid`.
    Setsid,
    /// `getsid [TASK|N]` (default 0: the caller).
    Getsid(PidArg),
    /// `setrlimit RESOURCE SOFT HARD`: `prlimit64(0, resource, {soft, hard}, NULL)`.
    Setrlimit {
        /// The `RLIMIT_*` number.
        resource: u32,
        /// The soft limit (`RLIM_INFINITY`: `unlimited`).
        soft: u64,
        /// The hard limit.
        hard: u64,
    },
    /// `getrlimit RESOURCE`: `prlimit64(0, resource, NULL, &old)`.
    Getrlimit(u32),
}

impl Op {
    /// The name of the task this operation creates, if it creates one.
    pub fn creates(&self) -> Option<&str> {
        match self {
            Op::Fork { name } | Op::Vfork { name } | Op::Clone { name, .. } | Op::Clone3 { name, .. } => {
                Some(name)
            }
            _ => None,
        }
    }

    /// Whether the operation ends the task (no result is printed).
    pub fn ends_task(&self) -> bool {
        matches!(self, Op::Exit(_) | Op::ExitGroup(_))
    }
}
