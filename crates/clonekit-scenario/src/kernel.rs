//! The kernel backend: every task of the scenario is a real task on the running kernel, an
//! agent of clonekit-probe that performs each step with real system calls (see
//! `clonekit_probe::agent`). The coordinator here translates the language into agent
//! operations (task names into the pids the acting task sees, memory words into indices)
//! and the agents' raw results back into [`Value`]s, which name tasks, never pid numbers.
//!
//! A step blocks when its task sleeps inside the step's system call (read from `/proc`);
//! blocked steps finish when a later step releases them, and are reported by
//! [`Backend::resumed`] in the order they blocked.
//!
//! The program running a kernel scenario must call `clonekit_probe::agent::enter_if_agent()`
//! first thing in `main`, because the `execve` operation re-executes that very program.

use std::collections::HashMap;
use std::time::Duration;

use clonekit_flags::Errno;
use clonekit_model::{Disposition, FdState, SigprocmaskHow, WaitStatus};
use clonekit_probe::agent::{
    self, proc_state, AgentOp, Fleet, Outcome as AgentOutcome, RawClone3, Reply, MAX_SET_TID, MAX_TASKS,
    PTR_NULL, PTR_UNMAPPED,
};

use crate::ast::{ArgsAt, Capset, FdArg, Op, PidArg, Ptr, Target, WaitidId, Word};
use crate::backend::{Backend, BackendError, Env, Outcome, PidView, TaskKey, TaskStatus, Value, WaitInfo};
use clonekit_flags::{CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED};

/// `CLONE_PIDFD`.
const CLONE_PIDFD: u64 = clonekit_flags::CloneFlags::CLONE_PIDFD.bits();

/// How long a step may run before the backend gives up on it (a task running away).
const STEP_LIMIT: Duration = Duration::from_secs(5);

/// What a task is, as far as the coordinator knows.
#[derive(Debug, Clone)]
struct TaskInfo {
    /// Its pid in every pid namespace, outermost first (`NSpid:`), read when it started: a
    /// pid is named after the task created with it, even after another thread's exec took it.
    nspids: Vec<i32>,
    /// The pid namespace of each of those pids (inode numbers, the same order), when they
    /// could be read: two tasks of sibling namespaces may have the same pid at one level.
    pidns: Vec<u64>,
    /// It has ended (exit, exit_group, killed, or replaced by a sibling's exec).
    gone: bool,
    /// Known from its parent's `/proc` entry, before it served its mailbox: a task traced
    /// from its creation (`CLONE_PTRACE`, or a tracer's `PTRACE_O_TRACE*` option, its parent
    /// then stopped in the creating call's event stop), which stops before its first step.
    early: bool,
}

/// A step that has not finished.
#[derive(Debug)]
struct BlockedStep {
    /// Its task.
    key: TaskKey,
    /// The operation the agent runs (which system call it sleeps in).
    aop: AgentOp,
    /// The step's operation, for the value it returns.
    op: Op,
    /// For a creating call stopped before it created anything: the key its child gets.
    child_later: Option<TaskKey>,
}

/// The real kernel as a scenario backend.
pub struct KernelBackend {
    fleet: Option<Fleet>,
    tasks: HashMap<TaskKey, TaskInfo>,
    /// Blocked steps, in the order they blocked.
    blocked: Vec<BlockedStep>,
    /// The pid of this process (the scenario's `init`), in the first task's namespace.
    init_pid: i32,
    /// The pid namespace depth of the first task.
    first_level: usize,
    /// The machine's host name, printed as `(host)`.
    host: String,
}

impl std::fmt::Debug for KernelBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelBackend").field("tasks", &self.tasks.len()).finish()
    }
}

impl Default for KernelBackend {
    fn default() -> Self {
        KernelBackend::new()
    }
}

fn err(what: impl std::fmt::Display) -> BackendError {
    BackendError(what.to_string())
}

impl KernelBackend {
    /// The start of a backend error that says what this kernel does not let the backend
    /// observe (not a failure of the kernel or of the scenario): `check` skips such a scenario
    /// by name, with the error as its reason.
    pub const UNOBSERVABLE: &'static str = "not observable on this kernel";

    /// The start of a backend error that says what this machine does not let the backend
    /// run soundly (a scenario that could leave a core file on the machine where the backend
    /// cannot say where it goes, a caller that cannot get the user namespace a scenario needs):
    /// `check` skips such a scenario by name, with the error as its reason.
    pub const NOT_HERE: &'static str = "cannot be run soundly here";

    /// The reason a backend error gives for skipping the scenario, if it is one
    /// ([`KernelBackend::UNOBSERVABLE`], [`KernelBackend::NOT_HERE`]).
    pub fn skip_reason(error: &str) -> Option<&str> {
        [Self::UNOBSERVABLE, Self::NOT_HERE].iter().find_map(|m| error.find(m).map(|at| &error[at..]))
    }

    /// Why a scenario that sets resource limits cannot run here, if it cannot: the machine's
    /// `core_pattern` sends cores where the backend does not decide (a pipe, an absolute
    /// path, another directory), or the caller cannot have a user namespace of its own.
    pub fn limits_unsupported() -> Option<String> {
        let pattern = std::fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default();
        let pattern = pattern.trim();
        if pattern.starts_with('|') || pattern.contains('/') || pattern.is_empty() {
            return Some(format!(
                "{}: kernel.core_pattern is {pattern:?}, so a core would not be written in the dying task's working directory, which the backend confines to a private /tmp",
                Self::NOT_HERE
            ));
        }
        let privilege = Self::caller().for_limits();
        if !privilege.has_caps() {
            return Some(format!(
                "{}: the scenario sets resource limits, which runs its tasks in a user and a mount namespace of their own, and this caller ({}) may not create them",
                Self::NOT_HERE,
                privilege.describe()
            ));
        }
        None
    }

    /// The privilege this backend's tasks will have when run by this process (see
    /// [`clonekit_probe::privilege::privilege`]): root, root of a user namespace of their own,
    /// or an ordinary user. Give it to [`ModelBackend::for_caller`](crate::ModelBackend::for_caller).
    pub fn caller() -> clonekit_flags::Privilege {
        clonekit_probe::privilege::privilege()
    }

    /// The version of the running kernel, as the model can follow it
    /// ([`clonekit_flags::running_version`]): what a model compared with this backend is told
    /// ([`ModelBackend::for_caller_on`](crate::ModelBackend::for_caller_on)).
    pub fn linux() -> clonekit_flags::Version {
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .and_then(|r| clonekit_flags::running_version(r.trim()))
            .unwrap_or(clonekit_flags::LATEST)
    }

    /// The privilege the tasks have: [`KernelBackend::caller`] until the tasks exist, then
    /// what their set-up obtained.
    pub fn privilege(&self) -> clonekit_flags::Privilege {
        self.fleet.as_ref().map_or_else(Self::caller, Fleet::privilege)
    }

    /// A backend; the first task is created by [`Backend::start`].
    pub fn new() -> KernelBackend {
        KernelBackend {
            fleet: None,
            tasks: HashMap::new(),
            blocked: Vec::new(),
            init_pid: std::process::id() as i32,
            first_level: 0,
            host: rustix::system::uname().nodename().to_string_lossy().into_owned(),
        }
    }

    fn fleet(&self) -> Result<&Fleet, BackendError> {
        self.fleet.as_ref().ok_or_else(|| err("the kernel backend has not started"))
    }

    fn slot(key: TaskKey) -> Result<u32, BackendError> {
        if key.0 < MAX_TASKS {
            Ok(key.0 as u32)
        } else {
            Err(err(format!("a kernel scenario has at most {MAX_TASKS} tasks")))
        }
    }

    fn level(&self, key: TaskKey) -> usize {
        self.tasks.get(&key).map_or(0, |t| t.nspids.len().saturating_sub(1))
    }

    /// The pid of `info`'s task as `observer` sees it: its pid at the observer's level, if
    /// it has one there in the observer's own namespace (not in a sibling's).
    fn pid_seen_by(&self, observer: TaskKey, info: &TaskInfo) -> Option<i32> {
        let level = self.level(observer);
        let ns = self.tasks.get(&observer).and_then(|t| t.pidns.get(level));
        if ns.zip(info.pidns.get(level)).is_some_and(|(mine, theirs)| mine != theirs) {
            return None;
        }
        info.nspids.get(level).copied()
    }

    /// A pid number `observer` saw, named after the task created with it: the one that holds
    /// it now, or (a number no live task holds) the latest one, should the number have been
    /// handed out again, as the model names it.
    fn view(&self, observer: TaskKey, nr: i32) -> PidView {
        let task = self
            .tasks
            .iter()
            .filter(|(_, t)| self.pid_seen_by(observer, t) == Some(nr))
            .max_by_key(|(k, t)| (!t.gone, k.0))
            .map(|(k, _)| *k);
        PidView { task, nr, first_ns: self.level(observer) == self.first_level }
    }

    /// The pid of a named task as `observer` sees it (a number no pid has if it cannot).
    fn nr_of(&self, observer: TaskKey, env: &Env, name: &str) -> Result<i32, BackendError> {
        let key = env.task(name).ok_or_else(|| err(format!("no task {name:?}")))?;
        let info = self.tasks.get(&key).ok_or_else(|| err(format!("no pid for {name:?}")))?;
        Ok(self.pid_seen_by(observer, info).unwrap_or(i32::MAX))
    }

    fn target(&self, observer: TaskKey, env: &Env, t: &Target) -> Result<i32, BackendError> {
        Ok(match t {
            Target::All => -1,
            Target::Group => 0,
            Target::Task(name) => self.nr_of(observer, env, name)?,
            Target::Pgrp(name) => self.nr_of(observer, env, name)?.saturating_neg(),
            Target::Num(n) => *n,
        })
    }

    fn var(env: &Env, name: &str) -> Result<u32, BackendError> {
        env.var(name).map(|v| v.0 as u32).ok_or_else(|| err(format!("unknown memory word {name:?}")))
    }

    /// A pointer argument as the agent takes it: a memory word's index, or
    /// [`PTR_NULL`]/[`PTR_UNMAPPED`].
    fn opt_ptr(env: &Env, ptr: &Option<Ptr>) -> Result<Option<u32>, BackendError> {
        ptr.as_ref()
            .map(|p| match p {
                Ptr::Word(n) => Self::var(env, n),
                Ptr::Null => Ok(PTR_NULL),
                Ptr::Unmapped => Ok(PTR_UNMAPPED),
            })
            .transpose()
    }

    /// A pid argument as `observer` passes it.
    fn pid_arg(&self, observer: TaskKey, env: &Env, pid: &PidArg) -> Result<i32, BackendError> {
        match pid {
            PidArg::Task(name) => self.nr_of(observer, env, name),
            PidArg::Num(n) => Ok(*n),
        }
    }

    /// A descriptor argument: a number, or the index of the word that holds it.
    fn fd_arg(env: &Env, fd: &FdArg) -> Result<(i32, Option<u32>), BackendError> {
        Ok(match fd {
            FdArg::Num(n) => (*n, None),
            FdArg::Var(v) => (0, Some(Self::var(env, v)?)),
        })
    }

    /// The agent operation for a language operation.
    fn translate(&self, task: TaskKey, op: &Op, env: &Env, new: TaskKey) -> Result<AgentOp, BackendError> {
        let child = new.0 as u32;
        Ok(match op {
            Op::Fork { .. } => AgentOp::Fork { child },
            Op::Vfork { .. } => AgentOp::Vfork { child },
            Op::Clone { flags, ptid, ctid, tls, .. } => AgentOp::Clone {
                flags: *flags,
                tls: *tls,
                ptid: Self::opt_ptr(env, ptid)?,
                ctid: Self::opt_ptr(env, ctid)?,
                child,
            },
            Op::Clone3 { args, .. } => {
                let mut set_tid = [0i32; MAX_SET_TID];
                let list = args.set_tid.clone().unwrap_or_default();
                for (i, v) in list.iter().take(MAX_SET_TID).enumerate() {
                    set_tid[i] = *v as i32;
                }
                let pidfd_nowhere =
                    args.flags & CLONE_PIDFD != 0 && args.pidfd.as_ref().is_none_or(Ptr::faults);
                let unusual = pidfd_nowhere
                    || args.at != ArgsAt::Memory
                    || args.size.is_some_and(|s| s != 88)
                    || args.tail
                    || args.stack.is_some()
                    || args.stack_size.is_some()
                    || args.set_tid_size.is_some()
                    || args.cgroup != 0
                    || list.len() > MAX_SET_TID;
                let raw = unusual.then(|| RawClone3 {
                    size: args.size.unwrap_or(88).min(u64::from(u32::MAX)) as u32,
                    tail: args.tail,
                    stack: args.stack.unwrap_or(0),
                    stack_size: args.stack_size.unwrap_or(0),
                    set_tid_size: args.set_tid_size.unwrap_or(list.len() as u64),
                    cgroup: args.cgroup,
                    at: match args.at {
                        ArgsAt::Memory => agent::ArgsAt::Buffer,
                        ArgsAt::Null => agent::ArgsAt::Null,
                        ArgsAt::Unmapped => agent::ArgsAt::Unmapped,
                        ArgsAt::Guarded => agent::ArgsAt::Guarded,
                    },
                });
                AgentOp::Clone3 {
                    flags: args.flags,
                    exit_signal: args.exit,
                    ptid: Self::opt_ptr(env, &args.ptid)?,
                    ctid: Self::opt_ptr(env, &args.ctid)?,
                    pidfd: Self::opt_ptr(env, &args.pidfd)?,
                    set_tid,
                    set_tid_len: list.len().min(MAX_SET_TID) as u32,
                    size: 0,
                    tls: args.tls,
                    raw,
                    child,
                }
            }
            Op::Exit(n) => AgentOp::Exit(*n),
            Op::ExitGroup(n) => AgentOp::ExitGroup(*n),
            Op::Wait4 { target, options } => {
                AgentOp::Wait4 { pid: self.target(task, env, target)?, options: *options }
            }
            Op::Waitid { id, options, .. } => match id {
                WaitidId::All => AgentOp::Waitid { idtype: 0, id: 0, id_var: None, options: *options },
                WaitidId::Pid(p) => AgentOp::Waitid {
                    idtype: 1,
                    id: self.pid_arg(task, env, p)?,
                    id_var: None,
                    options: *options,
                },
                WaitidId::Pidfd(FdArg::Var(v)) => {
                    AgentOp::Waitid { idtype: 3, id: 0, id_var: Some(Self::var(env, v)?), options: *options }
                }
                WaitidId::Pgid(p) => AgentOp::Waitid {
                    idtype: 2,
                    id: self.pid_arg(task, env, p)?,
                    id_var: None,
                    options: *options,
                },
                WaitidId::Pidfd(FdArg::Num(n)) => {
                    AgentOp::Waitid { idtype: 3, id: *n, id_var: None, options: *options }
                }
            },
            Op::Execve => AgentOp::Execve,
            Op::Getpid => AgentOp::Getpid,
            Op::Gettid => AgentOp::Gettid,
            Op::Getppid => AgentOp::Getppid,
            Op::Ns(kind) => AgentOp::NsInode { kind: agent::text::<24>(kind.name()).0 },
            Op::Unshare(bits) => AgentOp::Unshare(*bits),
            Op::Sethostname(name) => {
                let (buf, len) = agent::text::<64>(name);
                AgentOp::Sethostname(buf, len)
            }
            Op::Gethostname => AgentOp::Gethostname,
            Op::PrctlSubreaper => AgentOp::Subreaper,
            Op::PrctlPdeathsig(sig) => AgentOp::Pdeathsig(*sig as i32),
            Op::PrctlGetPdeathsig => AgentOp::GetPdeathsig,
            Op::PrctlGetSubreaper => AgentOp::GetChildSubreaper,
            Op::PrctlDumpable(v) => AgentOp::Prctl { option: clonekit_flags::PR_SET_DUMPABLE, arg: *v },
            Op::PrctlGetDumpable => AgentOp::Prctl { option: clonekit_flags::PR_GET_DUMPABLE, arg: 0 },
            Op::PrctlKeepcaps(v) => AgentOp::Prctl { option: clonekit_flags::PR_SET_KEEPCAPS, arg: *v },
            Op::PrctlGetKeepcaps => AgentOp::Prctl { option: clonekit_flags::PR_GET_KEEPCAPS, arg: 0 },
            Op::PrctlNoNewPrivs(v) => AgentOp::Prctl { option: clonekit_flags::PR_SET_NO_NEW_PRIVS, arg: *v },
            Op::PrctlGetNoNewPrivs => AgentOp::Prctl { option: clonekit_flags::PR_GET_NO_NEW_PRIVS, arg: 0 },
            Op::Capset(Capset::Drop(caps)) => AgentOp::Capset { drop: true, caps: *caps },
            Op::Capset(Capset::Only(caps)) => AgentOp::Capset { drop: false, caps: *caps },
            Op::Capget(_) => AgentOp::Capget,
            Op::Setuid(uid) => AgentOp::Setuid(*uid),
            Op::Seteuid(uid) => AgentOp::Setresuid { ruid: u32::MAX, euid: *uid, suid: u32::MAX },
            Op::Getuid => AgentOp::Getuid,
            Op::Geteuid => AgentOp::Geteuid,
            Op::Store(v, n) => AgentOp::Store { var: Self::var(env, v)?, value: u64::from(*n) },
            Op::Load(v) => AgentOp::Load(Self::var(env, v)?),
            Op::SetTidAddress(v) => AgentOp::SetTidAddress(Self::var(env, v)?),
            Op::FutexWait(v, w) => AgentOp::FutexWait {
                var: Self::var(env, v)?,
                val: match w {
                    Word::Num(n) => *n,
                    Word::Tid(name) => self.nr_of(task, env, name)? as u32,
                },
            },
            Op::FutexWake(v, n) => AgentOp::FutexWake { var: Self::var(env, v)?, n: *n },
            Op::Chdir(p) => {
                let (buf, len) = agent::text(p);
                AgentOp::Chdir(buf, len)
            }
            Op::Getcwd => AgentOp::Getcwd,
            Op::Umask(m) => AgentOp::Umask(*m),
            Op::Open { path, cloexec } => {
                let (buf, len) = agent::text(path);
                AgentOp::Open { path: buf, len, cloexec: *cloexec }
            }
            Op::Close(fd) => AgentOp::Close(*fd),
            Op::Dup(fd) => AgentOp::Dup(*fd),
            Op::Cloexec(fd, on) => AgentOp::Cloexec { fd: *fd, on: *on },
            Op::Fdstate(fd) => AgentOp::Fdstate(*fd),
            Op::Seek(fd, off) => AgentOp::Seek { fd: *fd, offset: *off },
            Op::Tell(fd) => AgentOp::Tell(*fd),
            Op::Sigaction(sig, new) => AgentOp::Sigaction {
                sig: *sig as i32,
                new: new.map(|d| match d {
                    Disposition::Default => 0,
                    Disposition::Ignore => 1,
                    Disposition::Handler => 2,
                }),
            },
            Op::Sigprocmask(how, set) => AgentOp::Sigprocmask {
                how: match how {
                    SigprocmaskHow::Block => 0,
                    SigprocmaskHow::Unblock => 1,
                    SigprocmaskHow::SetMask => 2,
                },
                set: *set,
            },
            Op::Kill(target, sig) => {
                if matches!(target, Target::All | Target::Num(_)) && !self.fleet()?.isolated() {
                    return Err(err(
                        "kill -1 (or of a raw pid) needs the tasks in a pid namespace of their own (root or a \
                         user namespace): outside one it would signal the machine's processes",
                    ));
                }
                AgentOp::Kill { pid: self.target(task, env, target)?, sig: *sig as i32 }
            }
            Op::Tgkill(tg, t, sig) => AgentOp::Tgkill {
                tgid: self.nr_of(task, env, tg)?,
                tid: self.nr_of(task, env, t)?,
                sig: *sig as i32,
            },
            Op::Handled => AgentOp::Handled,
            Op::Sigaltstack(set) => AgentOp::Sigaltstack(*set),
            Op::IoprioSet(p) => AgentOp::IoprioSet(*p),
            Op::IoprioGet => AgentOp::IoprioGet,
            Op::PidfdOpen { pid, flags } => {
                AgentOp::PidfdOpen { pid: self.pid_arg(task, env, pid)?, flags: *flags }
            }
            Op::Setpgid(pid, pgid) => {
                AgentOp::Setpgid { pid: self.pid_arg(task, env, pid)?, pgid: self.pid_arg(task, env, pgid)? }
            }
            Op::Getpgid(pid) => AgentOp::Getpgid(self.pid_arg(task, env, pid)?),
            Op::Setsid => AgentOp::Setsid,
            Op::Getsid(pid) => AgentOp::Getsid(self.pid_arg(task, env, pid)?),
            Op::NsOpen { task: name, kind } => {
                let key = env.task(name).ok_or_else(|| err(format!("no task {name:?}")))?;
                let pid = self.tasks.get(&key).and_then(|t| t.nspids.first().copied()).unwrap_or(i32::MAX);
                AgentOp::NsOpen { pid, kind: agent::text::<24>(kind.name()).0 }
            }
            Op::Setns { fd, nstype } => {
                let (fd, fd_var) = Self::fd_arg(env, fd)?;
                AgentOp::Setns { fd, fd_var, nstype: *nstype }
            }
            Op::Setrlimit { resource, soft, hard } => {
                AgentOp::Prlimit { resource: *resource, new: Some((*soft, *hard)) }
            }
            Op::Getrlimit(resource) => AgentOp::Prlimit { resource: *resource, new: None },
            Op::PidfdSendSignal { pidfd, sig, flags, info, signo } => {
                let (fd, fd_var) = Self::fd_arg(env, pidfd)?;
                AgentOp::PidfdSendSignal {
                    fd,
                    fd_var,
                    sig: *sig as i32,
                    flags: *flags,
                    info: *info,
                    signo: signo.unwrap_or(*sig) as i32,
                }
            }
            Op::PidfdGetfd { pidfd, fd, flags } => {
                let (pidfd, pidfd_var) = Self::fd_arg(env, pidfd)?;
                AgentOp::PidfdGetfd { pidfd, pidfd_var, fd: *fd, flags: *flags }
            }
            Op::PidfdInfo(fd) => {
                let (fd, fd_var) = Self::fd_arg(env, fd)?;
                AgentOp::PidfdInfo { fd, fd_var }
            }
            Op::Ptrace(p) => {
                use crate::ast::PtraceOp as P;
                use clonekit_flags as f;
                let (request, pid, data) = match p {
                    P::Traceme => (f::PTRACE_TRACEME, 0, 0),
                    P::Attach(t) => (f::PTRACE_ATTACH, self.pid_arg(task, env, t)?, 0),
                    P::Seize(t, o) => (f::PTRACE_SEIZE, self.pid_arg(task, env, t)?, u64::from(*o)),
                    P::Setoptions(t, o) => (f::PTRACE_SETOPTIONS, self.pid_arg(task, env, t)?, u64::from(*o)),
                    P::Cont(t, s) => (f::PTRACE_CONT, self.pid_arg(task, env, t)?, u64::from(*s)),
                    P::Detach(t, s) => (f::PTRACE_DETACH, self.pid_arg(task, env, t)?, u64::from(*s)),
                    P::Geteventmsg(t) => (f::PTRACE_GETEVENTMSG, self.pid_arg(task, env, t)?, 0),
                };
                AgentOp::Ptrace { request, pid, data }
            }
            Op::Poll { fd, wait } => {
                let (fd, fd_var) = Self::fd_arg(env, fd)?;
                AgentOp::Poll {
                    fd,
                    fd_var,
                    events: clonekit_flags::POLLIN,
                    timeout: if *wait { -1 } else { 0 },
                }
            }
        })
    }

    /// The value of a finished operation.
    fn value(&self, task: TaskKey, op: &Op, env: &Env, r: &Reply) -> Value {
        if let (Op::Fdstate(_), Some(Errno::EBADF)) = (op, r.errno()) {
            // `fcntl(F_GETFD)` on a closed descriptor: the language prints `closed`.
            return Value::Fd(FdState::Closed);
        }
        if let Some(e) = r.errno() {
            return Value::Errno(e);
        }
        if r.ret < 0 {
            return Value::Errno(Errno::EINVAL);
        }
        let pid = |nr: i64| Value::Pid(self.view(task, nr as i32));
        match op {
            Op::Fork { .. } | Op::Vfork { .. } | Op::Clone { .. } | Op::Clone3 { .. } => pid(r.ret),
            Op::Exit(_) | Op::ExitGroup(_) => Value::Ok,
            Op::Wait4 { .. } => {
                let status = r.value as i32;
                if r.ret == 0 {
                    Value::Wait(None)
                } else if status & 0xff == 0x7f && status >> 16 != 0 {
                    // A ptrace event stop: the event in status >> 16.
                    let sig = ((status >> 8) & 0xff) as u32;
                    Value::Trap(self.view(task, r.ret as i32), sig, (status >> 16) as u32)
                } else {
                    Value::Wait(Some((self.view(task, r.ret as i32), wait_status(status))))
                }
            }
            Op::Waitid { siginfo, .. } => {
                let si_pid = r.value as i32;
                let (code, status) = ((r.extra >> 32) as i32, r.extra as u32 as i32);
                if *siginfo {
                    return Value::SigInfo((si_pid != 0).then(|| WaitInfo {
                        signo: r.aux[0] as i32,
                        code,
                        pid: self.view(task, si_pid),
                        uid: r.aux[1] as u32,
                        status,
                        own_uid: r.aux[2] as u32,
                    }));
                }
                if si_pid == 0 {
                    return Value::Wait(None);
                }
                if code == clonekit_flags::CLD_TRAPPED && status >> 8 != 0 {
                    // A ptrace event stop: si_status is (event << 8) | signal.
                    return Value::Trap(
                        self.view(task, si_pid),
                        (status & 0xff) as u32,
                        (status >> 8) as u32,
                    );
                }
                let st = match code {
                    CLD_EXITED => WaitStatus::Exited(status),
                    CLD_KILLED => WaitStatus::Killed(status as u32),
                    CLD_DUMPED => WaitStatus::Dumped(status as u32),
                    // A ptrace stop reads as the stop it is, as wait4's status word says.
                    CLD_STOPPED | clonekit_flags::CLD_TRAPPED => WaitStatus::Stopped((status & 0xff) as u32),
                    _ => WaitStatus::Continued,
                };
                Value::Wait(Some((self.view(task, si_pid), st)))
            }
            Op::Execve
            | Op::Unshare(_)
            | Op::Sethostname(_)
            | Op::PrctlSubreaper
            | Op::PrctlPdeathsig(_)
            | Op::PrctlDumpable(_)
            | Op::PrctlKeepcaps(_)
            | Op::PrctlNoNewPrivs(_)
            | Op::Capset(_)
            | Op::Setuid(_)
            | Op::Seteuid(_)
            | Op::Store(..)
            | Op::FutexWait(..)
            | Op::Chdir(_)
            | Op::Close(_)
            | Op::Cloexec(..)
            | Op::Kill(..)
            | Op::Tgkill(..)
            | Op::IoprioSet(_)
            | Op::PidfdSendSignal { .. }
            | Op::Setns { .. }
            | Op::Setrlimit { .. }
            | Op::Setpgid(..) => Value::Ok,
            Op::Getrlimit(_) => Value::Rlimit(r.value as u64, r.extra as u64),
            Op::PidfdOpen { .. } | Op::PidfdGetfd { .. } | Op::NsOpen { .. } => Value::Num(r.ret),
            Op::Poll { .. } => Value::Poll(r.value as u16),
            Op::Ptrace(crate::ast::PtraceOp::Geteventmsg(_)) => Value::Pid(self.view(task, r.value as i32)),
            Op::Ptrace(_) => Value::Ok,
            Op::PidfdInfo(_) => {
                Value::Exit((r.extra != 0).then(|| WaitStatus::from_exit_code(r.value as i32)))
            }
            Op::Getpid
            | Op::Gettid
            | Op::Getppid
            | Op::SetTidAddress(_)
            | Op::Getpgid(_)
            | Op::Setsid
            | Op::Getsid(_) => {
                let v = self.view(task, r.ret as i32);
                if v.task.is_none() && r.ret as i32 == self.init_pid && v.first_ns {
                    Value::Pid(PidView { task: None, nr: v.nr, first_ns: true })
                } else {
                    Value::Pid(v)
                }
            }
            Op::Ns(kind) => Value::Ns(kind.base(), r.value as u64),
            Op::Gethostname => {
                let name = r.text();
                Value::Text(if name == self.host { "(host)".to_string() } else { name })
            }
            Op::PrctlGetPdeathsig => Value::Signal(r.value as u32),
            Op::PrctlGetSubreaper => Value::Num(r.value),
            Op::PrctlGetDumpable
            | Op::PrctlGetKeepcaps
            | Op::PrctlGetNoNewPrivs
            | Op::Getuid
            | Op::Geteuid => Value::Num(r.ret),
            Op::Capget(cap) => Value::caps_of(*cap, r.value as u64, r.extra as u64, r.aux[0] as u64),
            Op::Load(v) => {
                let word = r.value as u32;
                let tid_word = env.var(v).is_some_and(|v| env.is_tid_word(v));
                if tid_word && word != 0 {
                    let view = self.view(task, word as i32);
                    if view.task.is_some() {
                        return Value::Pid(view);
                    }
                }
                Value::Num(i64::from(word))
            }
            Op::FutexWake(..) | Op::Dup(_) | Op::Open { .. } | Op::Seek(..) | Op::Tell(_) => {
                Value::Num(r.ret)
            }
            Op::Getcwd => Value::Text(r.text()),
            Op::Umask(_) => Value::Mode(r.value as u32),
            Op::Fdstate(_) => Value::Fd(match r.value {
                v if v < 0 => FdState::Closed,
                v if v & 1 != 0 => FdState::OpenCloexec,
                _ => FdState::Open,
            }),
            Op::Sigaction(..) => Value::Disposition(match r.value {
                0 => Disposition::Default,
                1 => Disposition::Ignore,
                _ => Disposition::Handler,
            }),
            Op::Sigprocmask(..) => Value::Mask(r.value as u64),
            Op::Handled => Value::Num(r.value),
            Op::Sigaltstack(_) => Value::OnOff(r.value != 0),
            Op::IoprioGet => Value::Ioprio(r.ret as u16),
        }
    }

    /// The newest task `parent` made (global tid: a child, from
    /// `/proc/TID/task/TID/children`, or a thread of its group, from `/proc/TID/task`) that no
    /// task of the scenario is yet.
    fn unknown_child_of(&self, parent: TaskKey) -> Option<i32> {
        let fleet = self.fleet().ok()?;
        let ptid = fleet.tid(Self::slot(parent).ok()?)?;
        let children =
            std::fs::read_to_string(format!("/proc/{ptid}/task/{ptid}/children")).unwrap_or_default();
        let threads: Vec<i32> = std::fs::read_dir(format!("/proc/{ptid}/task"))
            .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
            .unwrap_or_default();
        let known: Vec<i32> = self.tasks.values().filter_map(|t| t.nspids.first().copied()).collect();
        children
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
            .chain(threads)
            .filter(|p| !known.contains(p))
            .max()
    }

    /// Records task `key`, the process `pid` (global), before it serves its mailbox: a child
    /// that starts stopped by ptrace (`CLONE_PTRACE`, or a `PTRACE_O_TRACE*` option) and
    /// takes its first step once its tracer lets it go on.
    fn register_early(&mut self, key: TaskKey, pid: i32) -> bool {
        let nspids = clonekit_probe::agent::nspids_of(pid);
        if nspids.is_empty() {
            return false;
        }
        let pidns = clonekit_probe::observe::pid_ns_chain(pid).ok().filter(|c| c.len() == nspids.len());
        self.tasks
            .insert(key, TaskInfo { nspids, pidns: pidns.unwrap_or_default(), gone: false, early: true });
        true
    }

    /// Whether `parent`'s new child `key` starts in a ptrace stop (traced from its creation,
    /// `CLONE_PTRACE`) rather than serving its mailbox: then it is recorded early. Waits
    /// until it does one or the other.
    fn started_traced(&mut self, parent: TaskKey, key: TaskKey) -> bool {
        let Ok(slot) = Self::slot(key) else { return false };
        let start = std::time::Instant::now();
        while start.elapsed() < STEP_LIMIT {
            if self.fleet().ok().and_then(|f| f.tid(slot)).is_some() {
                return false;
            }
            if let Some(pid) = self.unknown_child_of(parent) {
                if clonekit_probe::agent::proc_state(pid) == Some('t') {
                    return self.register_early(key, pid);
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        false
    }

    /// The children that creating calls stopped inside (a ptrace event stop, before the call
    /// returns) have already made, so that the tracer can name them before they serve their
    /// mailboxes.
    fn discover_early_children(&mut self) {
        let found: Vec<(usize, TaskKey, i32)> = self
            .blocked
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let child = b.child_later.filter(|c| !self.tasks.contains_key(c))?;
                Some((i, child, self.unknown_child_of(b.key)?))
            })
            .collect();
        for (i, child, pid) in found {
            if self.register_early(child, pid) {
                self.blocked[i].child_later = None;
            }
        }
    }

    /// Records a task that now serves its mailbox.
    fn adopt(&mut self, key: TaskKey) -> Result<(), BackendError> {
        let slot = Self::slot(key)?;
        let fleet = self.fleet()?;
        fleet.wait_serving(slot).map_err(|e| err(format!("task {} did not start: {e}", key.0)))?;
        let nspids = fleet.nspids(slot);
        let pidns = self.pidns_of(slot, nspids.len());
        self.tasks.insert(key, TaskInfo { nspids, pidns, gone: false, early: false });
        Ok(())
    }

    /// The pid namespaces of mailbox `slot`'s task, outermost first, if there are as many
    /// as it has pids (else none: the pids are then matched by number alone).
    fn pidns_of(&self, slot: u32, levels: usize) -> Vec<u64> {
        let Ok(fleet) = self.fleet() else { return Vec::new() };
        fleet
            .tid(slot)
            .and_then(|tid| clonekit_probe::observe::pid_ns_chain(tid).ok())
            .filter(|chain| chain.len() == levels)
            .unwrap_or_default()
    }

    /// After an exec in `key`: its pid may have changed (a non-leader takes the leader's),
    /// and the tasks its exec killed are gone.
    fn after_exec(&mut self, key: TaskKey) -> Result<(), BackendError> {
        let slot = Self::slot(key)?;
        let (nspids, tid) = {
            let fleet = self.fleet()?;
            (fleet.nspids(slot), fleet.tid(slot))
        };
        for (k, info) in self.tasks.iter_mut() {
            if *k != key && !info.gone && !nspids.is_empty() && info.nspids == nspids {
                info.gone = true;
            }
        }
        let fleet = self.fleet()?;
        if let Some(t) = tid {
            for other in 0..MAX_TASKS as u32 {
                if other != slot && fleet.tid(other) == Some(t) {
                    fleet.release(other);
                }
            }
        }
        // Its pids are still named after the tasks created with them (a non-leader that
        // exec'd holds the leader's, and its own are gone), so `nspids` stays as it was; the
        // fleet watches the task under its tid of now.
        if tid.is_some() {
            fleet.wait_serving(slot).map_err(|e| err(format!("task {} after its exec: {e}", key.0)))?;
        }
        Ok(())
    }

    fn alive(&self, key: TaskKey) -> bool {
        if self.tasks.get(&key).is_none_or(|info| info.gone) {
            return false;
        }
        self.tid_of(key).and_then(proc_state).is_some_and(|s| !matches!(s, 'Z' | 'X' | 'x'))
    }

    /// Task `key`'s tid (global): its mailbox's, or, for a task recorded before it serves its
    /// mailbox (traced from its creation, and perhaps let go by its tracer a moment ago), the
    /// pid it was recorded with.
    fn tid_of(&self, key: TaskKey) -> Option<i32> {
        let served = self.fleet.as_ref().and_then(|f| f.tid(key.0 as u32));
        served.or_else(|| self.tasks.get(&key).filter(|t| t.early).and_then(|t| t.nspids.first().copied()))
    }
}

/// A `wait4` status word: exited, killed, stopped (`0x7f` in the low byte) or continued
/// (`0xffff`).
fn wait_status(status: i32) -> WaitStatus {
    if status == 0xffff {
        WaitStatus::Continued
    } else if status & 0xff == 0x7f {
        WaitStatus::Stopped(((status >> 8) & 0xff) as u32)
    } else {
        WaitStatus::from_exit_code(status)
    }
}

impl Backend for KernelBackend {
    fn name(&self) -> &'static str {
        "kernel"
    }

    fn start(&mut self, env: &Env) -> Result<(), BackendError> {
        let mut fleet = if env.sets_limits() {
            if let Some(why) = Self::limits_unsupported() {
                return Err(err(why));
            }
            Fleet::for_limits().map_err(|e| {
                err(format!(
                    "{}: the user and mount namespaces for a scenario that sets resource limits: {e}",
                    Self::NOT_HERE
                ))
            })?
        } else {
            Fleet::new().map_err(|e| err(format!("cannot set up the agents: {e}")))?
        };
        fleet.start(0).map_err(|e| err(format!("cannot create the first task: {e}")))?;
        self.fleet = Some(fleet);
        self.adopt(TaskKey(0))?;
        self.first_level = self.level(TaskKey(0));
        Ok(())
    }

    fn step(
        &mut self,
        task: TaskKey,
        op: &Op,
        env: &Env,
        new_task: TaskKey,
    ) -> Result<Outcome, BackendError> {
        self.discover_early_children();
        let slot = Self::slot(task)?;
        if self.tasks.get(&task).is_some_and(|t| t.early) {
            // Its first step: it serves its mailbox once its tracer has let it go on.
            let fleet = self.fleet()?;
            fleet.wait_serving(slot).map_err(|e| {
                err(format!("task {} (attached by its tracer at its creation) has not started: {e}", task.0))
            })?;
            if let Some(t) = self.tasks.get_mut(&task) {
                t.early = false;
            }
        }
        if op.creates().is_some() {
            Self::slot(new_task)?;
        }
        let aop = self.translate(task, op, env, new_task)?;
        let fleet = self.fleet()?;
        let outcome = fleet.run(slot, &aop, STEP_LIMIT).map_err(|e| {
            if e == rustix::io::Errno::INTR {
                err(format!("step of task {} cut short: a termination signal is pending", task.0))
            } else {
                err(format!(
                    "step of task {} did not finish, block or end within {STEP_LIMIT:?}: {e}",
                    task.0
                ))
            }
        })?;
        let result = match outcome {
            AgentOutcome::Done(r) => {
                if op.creates().is_some() && r.ret > 0 && self.started_traced(task, new_task) {
                    // Made stopped by ptrace (CLONE_PTRACE): it serves its mailbox once its
                    // tracer lets it go on.
                } else if op.creates().is_some() && r.ret > 0 {
                    // A task the kernel made but that never serves its mailbox died or hangs
                    // before its first step (a thread pointer or stack the kernel accepted
                    // but the task cannot use, as at the user address limit under LA57).
                    self.adopt(new_task).map_err(|e| {
                        err(format!(
                            "{} (the call returned {}: the task was made, but never reached its first step)",
                            e.0, r.ret
                        ))
                    })?;
                }
                if matches!(op, Op::Execve) && r.ret == 0 {
                    self.after_exec(task)?;
                }
                Outcome::Done(self.value(task, op, env, &r))
            }
            AgentOutcome::Blocked => {
                if op.creates().is_some() {
                    // A vfork parent sleeps while its child runs.
                    self.adopt(new_task)?;
                }
                self.blocked.push(BlockedStep { key: task, aop, op: op.clone(), child_later: None });
                Outcome::Blocked
            }
            AgentOutcome::Stopped => {
                // Stopped inside the call: a clone that found a stop signal pending made
                // nothing yet, and is made again at SIGCONT.
                let child_later = op.creates().is_some().then_some(new_task);
                self.blocked.push(BlockedStep { key: task, aop, op: op.clone(), child_later });
                Outcome::Blocked
            }
            AgentOutcome::Gone => {
                // Killed during its own step (its zombie still shows how), or ended by it.
                let killed = if op.ends_task() {
                    None
                } else {
                    let status = self.fleet()?.exit_status(slot);
                    if status.is_none() && !clonekit_probe::observe::pidfd_keeps_exit_status() {
                        return Err(err(format!(
                            "{}: how task {} ended in its step (no zombie left to read, and this kernel's pidfds do not keep the exit status: PIDFD_INFO_EXIT, Linux 6.15)",
                            Self::UNOBSERVABLE,
                            task.0
                        )));
                    }
                    status.filter(|st| st & 0x7f != 0).map(|st| (st & 0x7f) as u32)
                };
                if let Some(info) = self.tasks.get_mut(&task) {
                    info.gone = true;
                }
                // A task whose step has ended may still be on its way out (a pid namespace's
                // init tearing its namespace down, a thread dead but not yet released, whose
                // pid is still allocated): its mailbox keeps the tid, so that settling waits
                // for it, until it is gone or a zombie.
                let fleet = self.fleet()?;
                if fleet.tid(slot).is_some_and(|t| proc_state(t).is_none_or(|c| c == 'Z')) {
                    fleet.release(slot);
                }
                killed.map_or(Outcome::Ended, Outcome::Killed)
            }
        };
        if let Some(fleet) = self.fleet.as_ref() {
            fleet.reap();
        }
        Ok(result)
    }

    fn resumed(&mut self, env: &Env) -> Vec<(TaskKey, Value)> {
        if let Some(fleet) = self.fleet.as_ref() {
            let _ = fleet.settle(STEP_LIMIT);
        }
        let mut out = Vec::new();
        let mut still = Vec::new();
        let blocked = std::mem::take(&mut self.blocked);
        for mut b in blocked {
            let Some(fleet) = self.fleet.as_ref() else { break };
            let key = b.key;
            match fleet.outcome(key.0 as u32, b.aop.blocks_in(), STEP_LIMIT) {
                Ok(AgentOutcome::Done(r)) => {
                    if let Some(child) = b.child_later.filter(|_| r.ret > 0) {
                        if let Err(e) = self.adopt(child) {
                            eprintln!("kernel backend: {}", e.0);
                        }
                    }
                    // An exec that stopped before its new image answered is followed now.
                    if matches!(b.op, Op::Execve) && r.ret == 0 {
                        if let Err(e) = self.after_exec(key) {
                            eprintln!("kernel backend: {}", e.0);
                        }
                    }
                    out.push((key, self.value(key, &b.op, env, &r)));
                }
                Ok(AgentOutcome::Blocked) => {
                    // A vfork made again after SIGCONT: it sleeps now, its child runs.
                    if b.child_later.is_some_and(|child| self.adopt(child).is_ok()) {
                        b.child_later = None;
                    }
                    still.push(b);
                }
                // Cut short by a termination signal: nothing is known of it.
                Ok(AgentOutcome::Stopped) | Err(rustix::io::Errno::INTR) => still.push(b),
                Ok(AgentOutcome::Gone) | Err(_) => {
                    if let Some(info) = self.tasks.get_mut(&key) {
                        info.gone = true;
                    }
                }
            }
        }
        self.blocked = still;
        if let Some(fleet) = self.fleet.as_ref() {
            fleet.reap();
        }
        out
    }

    fn status(&self, task: TaskKey) -> TaskStatus {
        if !self.alive(task) {
            return TaskStatus::Gone;
        }
        let tid = self.tid_of(task).unwrap_or(0);
        if matches!(proc_state(tid), Some('T' | 't')) {
            return TaskStatus::Stopped;
        }
        if self.blocked.iter().any(|b| b.key == task) {
            return TaskStatus::Blocked;
        }
        TaskStatus::Running
    }

    fn finish(&mut self) {
        if std::env::var_os("CLONEKIT_KERNEL_DEBUG").is_some() && !self.blocked.is_empty() {
            if let Some(fleet) = self.fleet.as_ref() {
                for slot in 0..MAX_TASKS as u32 {
                    if let Some(tid) = fleet.tid(slot) {
                        let read =
                            |f: &str| std::fs::read_to_string(format!("/proc/{tid}/{f}")).unwrap_or_default();
                        let state =
                            read("stat").rsplit_once(") ").map(|(_, r)| r.chars().next().unwrap_or('?'));
                        eprintln!(
                            "debug: slot {slot} tid {tid} state {state:?} wchan {} syscall {}",
                            read("wchan").trim(),
                            read("syscall").split_whitespace().next().unwrap_or("")
                        );
                    }
                }
            }
        }
        if std::env::var_os("CLONEKIT_KERNEL_DEBUG").is_some() && !self.blocked.is_empty() {
            for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
                let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap_or("");
                if nspid.split_whitespace().count() >= 4 {
                    let st = status.lines().find(|l| l.starts_with("State:")).unwrap_or("");
                    let wchan = std::fs::read_to_string(e.path().join("wchan")).unwrap_or_default();
                    let stack = std::fs::read_to_string(e.path().join("stack")).unwrap_or_default();
                    let sc = std::fs::read_to_string(e.path().join("syscall")).unwrap_or_default();
                    eprintln!(
                        "debug: {nspid} {st} wchan {wchan} syscall {sc} stack {}",
                        stack.replace('\n', " / ")
                    );
                }
            }
        }
        if let Some(mut fleet) = self.fleet.take() {
            fleet.shutdown();
        }
        self.blocked.clear();
    }
}
