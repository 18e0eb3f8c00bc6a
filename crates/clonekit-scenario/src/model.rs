//! The model backend: each step is a call into `clonekit-model`'s kernel, made by the task the
//! step names, with arguments laid out the way a real program would lay them out (memory
//! words at fixed addresses of private memory, a stack of its own for a `CLONE_VM` child, the
//! `set_tid` array in the caller's memory).

use std::collections::HashMap;
use std::rc::Rc;

use clonekit_flags::{CloneArgs, CloneFlags, Errno, Privilege, CLONE_ARGS_SIZE_VER2, PAGE_SIZE};
use clonekit_model::{
    CapSets, Forked, IdType, Kernel, Pid, PidNamespace, Resource, Resumed, Syscall, TaskId, TaskState,
    Waited, Whence,
};

use crate::ast::{ArgsAt, Capset, FdArg, Op, PidArg, Ptr, Target, WaitidId, Word};
use crate::backend::{
    Backend, BackendError, Env, Outcome, PidView, TaskKey, TaskStatus, Value, VarId, WaitInfo,
};

/// Where the scenario's memory words live: one 32-bit word each, in order.
const VAR_BASE: u64 = 0x7f00_0000_0000;
/// Scratch memory for the `set_tid` array.
const SCRATCH: u64 = 0x7f00_1000_0000;
/// A page the tasks cannot access (`mprotect(PROT_NONE)`, a guard page): where `unmapped`
/// points, and where a guarded `struct clone_args` ends.
const GUARD: u64 = 0x7f00_2000_0000;
/// Each task's thread control block: the word glibc's fork passes as `child_tid`.
const TCB_BASE: u64 = 0x7e00_0000_0000;
/// Stacks for `CLONE_VM` children.
const STACK_BASE: u64 = 0x7d00_0000_0000;
const STACK_SIZE: u64 = 0x1_0000;

/// What a blocked step is waiting for, to turn its result into a [`Value`].
#[derive(Debug, Clone, Copy)]
enum Waiting {
    Vfork,
    Wait,
    /// A `waitid … siginfo`.
    WaitInfo,
    Poll,
    Futex,
    /// A clone stopped before it could create anything, made again at SIGCONT: the key its
    /// child gets.
    Restart(TaskKey),
}

/// The model as a scenario backend.
#[derive(Debug, Default)]
pub struct ModelBackend {
    k: Kernel,
    tasks: Vec<Option<TaskId>>,
    /// The pid each task was created with, and its name key (pids print as the name of the
    /// task created with them).
    pid_keys: HashMap<*const Pid, TaskKey>,
    pids: Vec<Rc<Pid>>,
    first_ns: Option<Rc<PidNamespace>>,
    waiting: HashMap<TaskKey, Waiting>,
    /// Steps whose call finished but whose task stopped on its way back to user space (a
    /// stop signal taken in get_signal): the result, reported once the task continues.
    held: Vec<(TaskKey, Value)>,
    /// When each blocked step blocked (resumed steps are reported in that order).
    blocked_at: HashMap<TaskKey, u64>,
    steps: u64,
    /// Who the first task is.
    caller: Privilege,
    /// Its `no_new_privs` ([`ModelBackend::like_this_process`]).
    no_new_privs: bool,
}

impl ModelBackend {
    /// The same model, its first task with this process's `no_new_privs`, as the kernel
    /// backend's first task has: for comparing the two.
    pub fn like_this_process(mut self) -> ModelBackend {
        self.no_new_privs = clonekit_probe::privilege::no_new_privs();
        self
    }

    /// Whether task `key` is traced (it has a tracer).
    pub fn traced(&self, key: TaskKey) -> bool {
        self.id(key).is_ok_and(|id| self.k.tracer(id).is_some())
    }

    /// Whether task `key` is traced by a task that sleeps (in a wait, most often).
    pub fn tracer_asleep(&self, key: TaskKey) -> bool {
        self.id(key).is_ok_and(|id| self.k.tracer(id).is_some_and(|t| self.k.state(t) == TaskState::Blocked))
    }

    /// Whether task `key` sleeps in a vfork.
    pub fn in_vfork(&self, key: TaskKey) -> bool {
        self.id(key).is_ok_and(|id| self.k.vfork_child(id).is_some())
    }

    /// Whether another thread of task `key`'s group is traced.
    pub fn group_has_other_tracee(&self, key: TaskKey) -> bool {
        self.id(key).is_ok_and(|id| self.k.group_has_other_tracee(id))
    }

    /// A freshly booted model whose first task is root.
    pub fn new() -> ModelBackend {
        ModelBackend::for_caller(Privilege::ROOT)
    }

    /// A freshly booted model whose first task has `caller`'s privilege: what
    /// [`KernelBackend::caller`](crate::KernelBackend::caller) says the kernel backend's tasks
    /// have, to predict them.
    pub fn for_caller(caller: Privilege) -> ModelBackend {
        ModelBackend::for_caller_on(caller, clonekit_flags::LATEST)
    }

    /// The same, following Linux `linux` where the kernel changed
    /// ([`clonekit_flags::CHANGES`]).
    pub fn for_caller_on(caller: Privilege, linux: clonekit_flags::Version) -> ModelBackend {
        let mut k = Kernel::new_on(linux);
        k.set_recording(true);
        ModelBackend { k, caller, ..ModelBackend::default() }
    }

    /// The kernel, to inspect.
    pub fn kernel(&self) -> &Kernel {
        &self.k
    }

    /// The task created with the pid that descriptor `fd` of `task` refers to, if it is a
    /// pidfd (what a generator needs to know whom a `pidfd_send_signal` reaches).
    pub fn pidfd_task(&self, task: TaskKey, fd: i32) -> Option<TaskKey> {
        let id = self.tasks.get(task.0).copied().flatten()?;
        let pid = self.k.pidfd_target(id, fd)?;
        self.pid_keys.get(&Rc::as_ptr(&pid)).copied()
    }

    /// Whether two tasks are threads of one thread group (both still there).
    pub fn same_thread_group(&self, a: TaskKey, b: TaskKey) -> bool {
        let id = |k: TaskKey| self.tasks.get(k.0).copied().flatten();
        match (id(a), id(b)) {
            (Some(a), Some(b)) => self.k.shares(a, b, Resource::ThreadGroup),
            _ => false,
        }
    }

    /// What memory word `var` of `task` holds, if the task can run.
    pub fn word(&mut self, task: TaskKey, env: &Env, var: &str) -> Option<u32> {
        let id = self.tasks.get(task.0).copied().flatten()?;
        let a = Self::addr(env, var).ok()?;
        self.k.load(id, a).ok()
    }

    fn id(&self, key: TaskKey) -> Result<TaskId, BackendError> {
        self.tasks
            .get(key.0)
            .copied()
            .flatten()
            .ok_or_else(|| BackendError(format!("no task with key {}", key.0)))
    }

    fn register(&mut self, key: TaskKey, id: TaskId) {
        if self.tasks.len() <= key.0 {
            self.tasks.resize(key.0 + 1, None);
        }
        self.tasks[key.0] = Some(id);
        if let Some(pid) = self.k.task_pid(id) {
            self.pid_keys.insert(Rc::as_ptr(&pid), key);
            self.pids.push(pid);
        }
    }

    fn addr(env: &Env, name: &str) -> Result<u64, BackendError> {
        let VarId(i) = env.var(name).ok_or_else(|| BackendError(format!("unknown memory word {name:?}")))?;
        Ok(VAR_BASE + 4 * i as u64)
    }

    /// The address a pointer argument passes (0 without one).
    fn opt_addr(env: &Env, ptr: &Option<Ptr>) -> Result<u64, BackendError> {
        match ptr {
            None | Some(Ptr::Null) => Ok(0),
            Some(Ptr::Unmapped) => Ok(GUARD),
            Some(Ptr::Word(n)) => Self::addr(env, n),
        }
    }

    /// Makes the guard page inaccessible in `cur`'s address space before a call that points
    /// into it (the kernel backend's tasks have it in every address space from the start).
    fn guard(&mut self, cur: TaskId, needed: bool) {
        if needed {
            let _ = self.k.sys_mprotect_none(cur, GUARD, PAGE_SIZE);
        }
    }

    /// A pid number seen by `observer`, named.
    fn view(&self, observer: TaskId, nr: i32) -> PidView {
        let first_ns = self.in_first_ns(observer);
        let task = self
            .k
            .active_pid_ns(observer)
            .and_then(|ns| self.k.find_pid(&ns, nr))
            .and_then(|pid| self.pid_keys.get(&Rc::as_ptr(&pid)).copied())
            // A pid no longer in use still prints as the task created with it (the latest
            // one, should the number have been handed out again).
            .or_else(|| {
                self.pids
                    .iter()
                    .rev()
                    .find(|p| nr != 0 && self.k.pid_nr_seen_by(observer, p) == nr)
                    .and_then(|p| self.pid_keys.get(&Rc::as_ptr(p)).copied())
            });
        PidView { task, nr, first_ns }
    }

    fn view_of(&self, observer: TaskId, pid: &Rc<Pid>, nr: i32) -> PidView {
        PidView {
            task: self.pid_keys.get(&Rc::as_ptr(pid)).copied(),
            nr,
            first_ns: self.in_first_ns(observer),
        }
    }

    fn in_first_ns(&self, observer: TaskId) -> bool {
        match (self.k.active_pid_ns(observer), &self.first_ns) {
            (Some(a), Some(b)) => Rc::ptr_eq(&a, b),
            _ => true,
        }
    }

    /// The number a named task's creation pid has for `observer` (a number no pid has, when
    /// it is not visible there).
    /// Whether `op` signals a thread group other than the caller's. What the target's death
    /// then does to the caller (a parent-death signal, the exit signal it sends its parent)
    /// happens after the call has returned, as on a real machine, where the target dies on
    /// its own CPU: the step prints its own result, not the caller's death.
    fn signals_another_group(&mut self, cur: TaskId, env: &Env, op: &Op) -> bool {
        let pid = match op {
            // A process group the caller is not in.
            Op::Kill(Target::Pgrp(n), _) => {
                let Ok(nr) = self.nr_of(cur, env, n) else { return false };
                let Some(ns) = self.k.active_pid_ns(cur) else { return false };
                let Some(pgrp) = self.k.find_pid(&ns, nr) else { return false };
                return !self.k.process_group(cur).is_some_and(|g| Rc::ptr_eq(&g, &pgrp));
            }
            Op::Kill(Target::Task(n), _) | Op::Tgkill(_, n, _) => {
                let Some(key) = env.task(n) else { return false };
                let Some(pid) = self.pids.iter().find(|p| self.pid_keys.get(&Rc::as_ptr(p)) == Some(&key))
                else {
                    return false;
                };
                pid.clone()
            }
            Op::PidfdSendSignal { pidfd, flags, .. } => {
                let Ok(fd) = self.fd_of(cur, env, pidfd) else { return false };
                let Some(pid) = self.k.pidfd_target(cur, fd) else { return false };
                // A process group the caller belongs to signals the caller too.
                if flags & clonekit_flags::PIDFD_SIGNAL_PROCESS_GROUP != 0
                    && self.k.process_group(cur).is_some_and(|g| Rc::ptr_eq(&g, &pid))
                {
                    return false;
                }
                pid
            }
            _ => return false,
        };
        !self.k.tasks().any(|t| {
            self.k.shares(cur, t, Resource::ThreadGroup)
                && self.k.task_pid(t).is_some_and(|p| Rc::ptr_eq(&p, &pid))
        })
    }

    /// The `struct pid` the task was created with.
    fn pid_of_task(&self, env: &Env, name: &str) -> Result<Rc<clonekit_model::Pid>, BackendError> {
        let key = env.task(name).ok_or_else(|| BackendError(format!("no task {name:?}")))?;
        self.pids
            .iter()
            .find(|p| self.pid_keys.get(&Rc::as_ptr(p)) == Some(&key))
            .cloned()
            .ok_or_else(|| BackendError(format!("no pid for {name:?}")))
    }

    /// Whether `kill TASK SIG` by `cur` makes the target's group exit at once, in the
    /// sender's call ([`clonekit_model::Kernel::kills_group_at_once`]): a traced sender then
    /// dies in its own step, before any stop of its own.
    fn kills_at_once(&self, cur: TaskId, env: &Env, op: &Op, sig: u32) -> bool {
        let Op::Kill(Target::Task(name), _) = op else { return false };
        let Some(target) =
            self.nr_of(cur, env, name).ok().and_then(|nr| self.k.find_task_by_vpid_of(cur, nr))
        else {
            return false;
        };
        self.k.kills_group_at_once(target, sig)
    }

    fn nr_of(&self, observer: TaskId, env: &Env, name: &str) -> Result<i32, BackendError> {
        let pid = self.pid_of_task(env, name)?;
        let nr = self.k.pid_nr_seen_by(observer, &pid);
        Ok(if nr == 0 { i32::MAX } else { nr })
    }

    /// A pid argument as `observer` passes it.
    fn pid_of(&self, observer: TaskId, env: &Env, pid: &PidArg) -> Result<i32, BackendError> {
        match pid {
            PidArg::Task(name) => self.nr_of(observer, env, name),
            PidArg::Num(n) => Ok(*n),
        }
    }

    /// A descriptor argument: the number, or what the memory word holds.
    fn fd_of(&mut self, cur: TaskId, env: &Env, fd: &FdArg) -> Result<i32, BackendError> {
        match fd {
            FdArg::Num(n) => Ok(*n),
            FdArg::Var(var) => {
                let a = Self::addr(env, var)?;
                Ok(self.k.load(cur, a).unwrap_or(u32::MAX) as i32)
            }
        }
    }

    /// The `siginfo_t` a `waitid` filled for `observer`.
    fn siginfo_value(&self, observer: TaskId, w: Option<Waited>) -> Value {
        let own_uid = self.k.task_uid(observer).unwrap_or(u32::MAX);
        Value::SigInfo(w.map(|w| WaitInfo {
            signo: clonekit_flags::Signal::SIGCHLD.number() as i32,
            code: w.si_code(),
            pid: self.view_of(observer, &w.pid, w.nr),
            uid: w.uid,
            status: w.si_status(),
            own_uid,
        }))
    }

    fn wait_value(&self, observer: TaskId, w: Option<Waited>) -> Value {
        match w {
            // A ptrace event stop: its event in the status word (status >> 16).
            Some(w) if w.ptrace_event.is_some_and(|e| e != 0) => {
                let sig = ((w.wstatus() >> 8) & 0xff) as u32;
                Value::Trap(self.view_of(observer, &w.pid, w.nr), sig, w.ptrace_event.unwrap_or(0))
            }
            w => Value::Wait(w.map(|w| (self.view_of(observer, &w.pid, w.nr), w.status))),
        }
    }

    fn forked(
        &mut self,
        cur: TaskId,
        r: Result<Syscall<Forked>, Errno>,
        new: TaskKey,
        key: TaskKey,
    ) -> Outcome {
        match r {
            Err(e) => Outcome::Done(Value::Errno(e)),
            Ok(Syscall::Done(f)) => {
                self.register(new, f.child);
                Outcome::Done(Value::Pid(self.view(cur, f.nr)))
            }
            Ok(Syscall::Blocked) => {
                if let Some(child) = self.k.vfork_child(cur) {
                    self.register(new, child);
                    self.waiting.insert(key, Waiting::Vfork);
                } else {
                    self.waiting.insert(key, Waiting::Restart(new));
                }
                Outcome::Blocked
            }
        }
    }

    fn blocking<T>(
        &mut self,
        key: TaskKey,
        r: Result<Syscall<T>, Errno>,
        w: Waiting,
        f: impl FnOnce(&Self, T) -> Value,
    ) -> Outcome {
        match r {
            Err(e) => Outcome::Done(Value::Errno(e)),
            Ok(Syscall::Done(v)) => Outcome::Done(f(self, v)),
            Ok(Syscall::Blocked) => {
                self.waiting.insert(key, w);
                Outcome::Blocked
            }
        }
    }

    fn clone3_bytes(
        &mut self,
        cur: TaskId,
        key: TaskKey,
        args: &crate::ast::Clone3Args,
        env: &Env,
    ) -> Result<(Vec<u8>, u64), BackendError> {
        let mut ca = CloneArgs {
            flags: args.flags,
            pidfd: Self::opt_addr(env, &args.pidfd)?,
            child_tid: Self::opt_addr(env, &args.ctid)?,
            parent_tid: Self::opt_addr(env, &args.ptid)?,
            exit_signal: args.exit,
            tls: args.tls,
            cgroup: args.cgroup,
            ..CloneArgs::default()
        };
        match (args.stack, args.stack_size) {
            (None, None) if args.flags & CloneFlags::CLONE_VM.bits() != 0 => {
                ca.stack = STACK_BASE + key.0 as u64 * STACK_SIZE * 2;
                ca.stack_size = STACK_SIZE;
            }
            (stack, size) => {
                ca.stack = stack.unwrap_or(0);
                ca.stack_size = size.unwrap_or(0);
            }
        }
        if let Some(list) = &args.set_tid {
            for (i, v) in list.iter().enumerate() {
                let _ = self.k.store(cur, SCRATCH + 4 * i as u64, *v as i32 as u32);
            }
            ca.set_tid = SCRATCH;
            ca.set_tid_size = list.len() as u64;
        }
        if let Some(n) = args.set_tid_size {
            ca.set_tid_size = n;
        }
        let size = args.size.unwrap_or(CLONE_ARGS_SIZE_VER2 as u64);
        let len =
            if size > PAGE_SIZE { CLONE_ARGS_SIZE_VER2 } else { (size as usize).max(CLONE_ARGS_SIZE_VER2) };
        let mut bytes = ca.to_bytes(len);
        if args.tail && len > CLONE_ARGS_SIZE_VER2 {
            bytes[CLONE_ARGS_SIZE_VER2] = 1;
        }
        Ok((bytes, size))
    }

    fn run(
        &mut self,
        key: TaskKey,
        cur: TaskId,
        op: &Op,
        env: &Env,
        new: TaskKey,
    ) -> Result<Outcome, BackendError> {
        let k = &mut self.k;
        let done = |r: Result<Value, Errno>| Outcome::Done(r.unwrap_or_else(Value::Errno));
        Ok(match op {
            Op::Fork { .. } => {
                let flags = clonekit_flags::Preset::GlibcFork.flags().bits()
                    | clonekit_flags::ExitSignal::SIGCHLD.raw();
                let tcb = TCB_BASE + 64 * key.0 as u64;
                let r = k.sys_clone(cur, flags, 0, 0, tcb, 0);
                self.forked(cur, r, new, key)
            }
            Op::Vfork { .. } => {
                let r = k.sys_vfork(cur);
                self.forked(cur, r, new, key)
            }
            Op::Clone { flags, ptid, ctid, tls, .. } => {
                let sp = if flags & CloneFlags::CLONE_VM.bits() != 0 {
                    STACK_BASE + new.0 as u64 * STACK_SIZE * 2 + STACK_SIZE
                } else {
                    0
                };
                let (p, c) = (Self::opt_addr(env, ptid)?, Self::opt_addr(env, ctid)?);
                self.guard(cur, [ptid, ctid].iter().any(|p| p.as_ref().is_some_and(Ptr::faults)));
                let r = self.k.sys_clone(cur, *flags, sp, p, c, *tls);
                self.forked(cur, r, new, key)
            }
            Op::Clone3 { args, .. } => {
                let (bytes, size) = self.clone3_bytes(cur, new, args, env)?;
                let faults =
                    [&args.ptid, &args.ctid, &args.pidfd].iter().any(|p| p.as_ref().is_some_and(Ptr::faults));
                self.guard(cur, faults || matches!(args.at, ArgsAt::Unmapped | ArgsAt::Guarded));
                let r = match args.at {
                    ArgsAt::Memory => self.k.sys_clone3(cur, &bytes, size),
                    ArgsAt::Null => self.k.sys_clone3_at(cur, 0, size),
                    ArgsAt::Unmapped => self.k.sys_clone3_at(cur, GUARD, size),
                    ArgsAt::Guarded => {
                        // The struct's 88 bytes, written where they end at the guard page.
                        let at = GUARD - CLONE_ARGS_SIZE_VER2 as u64;
                        self.k.write_user(cur, at, &bytes[..CLONE_ARGS_SIZE_VER2]);
                        self.k.sys_clone3_at(cur, at, size)
                    }
                };
                self.forked(cur, r, new, key)
            }
            Op::Exit(n) => {
                let _ = k.sys_exit(cur, *n);
                Outcome::Ended
            }
            Op::ExitGroup(n) => {
                let _ = k.sys_exit_group(cur, *n);
                Outcome::Ended
            }
            Op::Wait4 { target, options } => {
                let upid = match target {
                    Target::All => -1,
                    Target::Group => 0,
                    Target::Task(name) => self.nr_of(cur, env, name)?,
                    Target::Pgrp(name) => self.nr_of(cur, env, name)?.saturating_neg(),
                    Target::Num(n) => *n,
                };
                let r = self.k.sys_wait4(cur, upid, *options);
                self.blocking(key, r, Waiting::Wait, |s, w| s.wait_value(cur, w))
            }
            Op::Waitid { id, options, siginfo } => {
                let id = match id {
                    WaitidId::All => IdType::All,
                    WaitidId::Pid(p) => IdType::Pid(self.pid_of(cur, env, p)?),
                    WaitidId::Pgid(p) => IdType::Pgid(self.pid_of(cur, env, p)?),
                    WaitidId::Pidfd(fd) => IdType::Pidfd(self.fd_of(cur, env, fd)?),
                };
                let r = self.k.sys_waitid(cur, id, *options);
                if *siginfo {
                    self.blocking(key, r, Waiting::WaitInfo, |s, w| s.siginfo_value(cur, w))
                } else {
                    self.blocking(key, r, Waiting::Wait, |s, w| s.wait_value(cur, w))
                }
            }
            Op::Execve => done(k.sys_execve(cur).map(|_| Value::Ok)),
            Op::Getpid => {
                let r = k.sys_getpid(cur);
                done(r.map(|nr| Value::Pid(self.view(cur, nr))))
            }
            Op::Gettid => {
                let r = k.sys_gettid(cur);
                done(r.map(|nr| Value::Pid(self.view(cur, nr))))
            }
            Op::Getppid => {
                let r = k.sys_getppid(cur);
                done(r.map(|nr| Value::Pid(self.view(cur, nr))))
            }
            Op::Ns(kind) => done(k.ns_inum(cur, *kind).map(|i| Value::Ns(kind.base(), i))),
            Op::Unshare(bits) => {
                done(k.sys_unshare(cur, CloneFlags::from_bits_retain(*bits)).map(|_| Value::Ok))
            }
            Op::Sethostname(name) => done(k.sys_sethostname(cur, name).map(|_| Value::Ok)),
            Op::Gethostname => done(k.sys_gethostname(cur).map(Value::Text)),
            Op::PrctlSubreaper => done(k.sys_prctl_set_child_subreaper(cur, true).map(|_| Value::Ok)),
            Op::PrctlPdeathsig(sig) => done(k.sys_prctl_set_pdeathsig(cur, *sig).map(|_| Value::Ok)),
            Op::PrctlGetPdeathsig => done(k.sys_prctl_get_pdeathsig(cur).map(Value::Signal)),
            Op::PrctlGetSubreaper => {
                done(k.sys_prctl_get_child_subreaper(cur).map(|on| Value::Num(i64::from(on))))
            }
            Op::PrctlDumpable(v) => done(k.sys_prctl_set_dumpable(cur, *v).map(|_| Value::Ok)),
            Op::PrctlGetDumpable => done(k.sys_prctl_get_dumpable(cur).map(|v| Value::Num(i64::from(v)))),
            Op::PrctlKeepcaps(v) => done(k.sys_prctl_set_keepcaps(cur, *v).map(|_| Value::Ok)),
            Op::PrctlGetKeepcaps => done(k.sys_prctl_get_keepcaps(cur).map(|on| Value::Num(i64::from(on)))),
            Op::PrctlNoNewPrivs(v) => done(k.sys_prctl_set_no_new_privs(cur, *v).map(|_| Value::Ok)),
            Op::PrctlGetNoNewPrivs => {
                done(k.sys_prctl_get_no_new_privs(cur).map(|on| Value::Num(i64::from(on))))
            }
            Op::Capset(how) => {
                let sets = match *how {
                    Capset::Drop(caps) => k.sys_capget(cur).map(|s| CapSets {
                        effective: s.effective & !caps,
                        permitted: s.permitted & !caps,
                        inheritable: s.inheritable & !caps,
                    }),
                    Capset::Only(caps) => Ok(CapSets { effective: caps, permitted: caps, inheritable: 0 }),
                };
                done(sets.and_then(|s| k.sys_capset(cur, s)).map(|_| Value::Ok))
            }
            Op::Capget(cap) => {
                done(k.sys_capget(cur).map(|s| Value::caps_of(*cap, s.effective, s.permitted, s.inheritable)))
            }
            Op::Setuid(uid) => done(k.sys_setuid(cur, *uid).map(|_| Value::Ok)),
            Op::Seteuid(uid) => done(k.sys_setresuid(cur, None, Some(*uid), None).map(|_| Value::Ok)),
            Op::Getuid => done(k.sys_getuid(cur).map(|u| Value::Num(i64::from(u)))),
            Op::Geteuid => done(k.sys_geteuid(cur).map(|u| Value::Num(i64::from(u)))),
            Op::Store(var, v) => {
                let a = Self::addr(env, var)?;
                done(self.k.store(cur, a, *v).map(|_| Value::Ok))
            }
            Op::Load(var) => {
                let a = Self::addr(env, var)?;
                let tid_word = env.var(var).is_some_and(|v| env.is_tid_word(v));
                match self.k.load(cur, a) {
                    Err(e) => Outcome::Done(Value::Errno(e)),
                    Ok(v) if tid_word && v != 0 => {
                        let view = self.view(cur, v as i32);
                        Outcome::Done(if view.task.is_some() {
                            Value::Pid(view)
                        } else {
                            Value::Num(i64::from(v))
                        })
                    }
                    Ok(v) => Outcome::Done(Value::Num(i64::from(v))),
                }
            }
            Op::SetTidAddress(var) => {
                let a = Self::addr(env, var)?;
                let r = self.k.sys_set_tid_address(cur, a);
                done(r.map(|nr| Value::Pid(self.view(cur, nr))))
            }
            Op::FutexWait(var, v) => {
                let a = Self::addr(env, var)?;
                let v = match v {
                    Word::Num(n) => *n,
                    Word::Tid(name) => self.nr_of(cur, env, name)? as u32,
                };
                let r = self.k.sys_futex_wait(cur, a, v);
                self.blocking(key, r, Waiting::Futex, |_, _| Value::Ok)
            }
            Op::FutexWake(var, n) => {
                let a = Self::addr(env, var)?;
                done(self.k.sys_futex_wake(cur, a, *n).map(|n| Value::Num(i64::from(n))))
            }
            Op::Chdir(p) => done(k.sys_chdir(cur, p).map(|_| Value::Ok)),
            Op::Getcwd => done(k.sys_getcwd(cur).map(Value::Text)),
            Op::Umask(m) => done(k.sys_umask(cur, *m).map(Value::Mode)),
            Op::Open { path, cloexec } => {
                done(k.sys_open(cur, path, *cloexec).map(|fd| Value::Num(i64::from(fd))))
            }
            Op::Close(fd) => done(k.sys_close(cur, *fd).map(|_| Value::Ok)),
            Op::Dup(fd) => done(k.sys_dup(cur, *fd).map(|fd| Value::Num(i64::from(fd)))),
            Op::Cloexec(fd, on) => done(k.sys_set_cloexec(cur, *fd, *on).map(|_| Value::Ok)),
            Op::Fdstate(fd) => done(k.sys_fdstate(cur, *fd).map(Value::Fd)),
            Op::Seek(fd, off) => done(k.sys_lseek(cur, *fd, *off, Whence::Set).map(Value::Num)),
            Op::Tell(fd) => done(k.sys_lseek(cur, *fd, 0, Whence::Cur).map(Value::Num)),
            Op::Sigaction(sig, act) => done(k.sys_rt_sigaction(cur, *sig, *act).map(Value::Disposition)),
            Op::Sigprocmask(how, set) => {
                done(k.sys_rt_sigprocmask(cur, *how, clonekit_model::SigSet(*set)).map(|s| Value::Mask(s.0)))
            }
            Op::Kill(target, sig) => {
                let pid = match target {
                    Target::All => -1,
                    Target::Group => 0,
                    Target::Task(name) => self.nr_of(cur, env, name)?,
                    Target::Pgrp(name) => self.nr_of(cur, env, name)?.saturating_neg(),
                    Target::Num(n) => *n,
                };
                done(self.k.sys_kill(cur, pid, *sig).map(|_| Value::Ok))
            }
            Op::Tgkill(tg, t, sig) => {
                let (tgid, tid) = (self.nr_of(cur, env, tg)?, self.nr_of(cur, env, t)?);
                done(self.k.sys_tgkill(cur, tgid, tid, *sig).map(|_| Value::Ok))
            }
            Op::Handled => {
                let race = k.handled_race(cur).unwrap_or(0);
                let maybe = k.handled_maybe(cur).unwrap_or(0);
                done(k.handled(cur).map(|n| {
                    if race == 0 && maybe == 0 {
                        Value::Num(n as i64)
                    } else {
                        Value::Race((n - race..=n + maybe).map(|m| Value::Num(m as i64)).collect())
                    }
                }))
            }
            Op::Sigaltstack(set) => done(k.sys_sigaltstack(cur, *set).map(Value::OnOff)),
            Op::IoprioSet(p) => done(k.sys_ioprio_set(cur, *p).map(|_| Value::Ok)),
            Op::IoprioGet => done(k.sys_ioprio_get(cur).map(Value::Ioprio)),
            Op::NsOpen { task, kind } => {
                // /proc/PID of the pid the task was created with: whoever holds it now.
                let pid = self.pid_of_task(env, task)?;
                done(self.k.sys_open_ns(cur, &pid, *kind).map(|fd| Value::Num(i64::from(fd))))
            }
            Op::Setns { fd, nstype } => {
                let fd = self.fd_of(cur, env, fd)?;
                done(self.k.sys_setns(cur, fd, *nstype).map(|_| Value::Ok))
            }
            Op::PidfdOpen { pid, flags } => {
                let nr = self.pid_of(cur, env, pid)?;
                done(self.k.sys_pidfd_open(cur, nr, *flags).map(|fd| Value::Num(i64::from(fd))))
            }
            Op::PidfdSendSignal { pidfd, sig, flags, info, signo } => {
                let info =
                    info.map(|code| clonekit_model::UserSiginfo { signo: signo.unwrap_or(*sig), code });
                let fd = self.fd_of(cur, env, pidfd)?;
                done(self.k.sys_pidfd_send_signal(cur, fd, *sig, info, *flags).map(|_| Value::Ok))
            }
            Op::PidfdGetfd { pidfd, fd, flags } => {
                let pidfd = self.fd_of(cur, env, pidfd)?;
                done(self.k.sys_pidfd_getfd(cur, pidfd, *fd, *flags).map(|fd| Value::Num(i64::from(fd))))
            }
            Op::Ptrace(p) => {
                use crate::ast::PtraceOp as P;
                let ok = |r: Result<(), Errno>| done(r.map(|_| Value::Ok));
                match p {
                    P::Traceme => ok(self.k.sys_ptrace_traceme(cur)),
                    P::Attach(pid) => {
                        let nr = self.pid_of(cur, env, pid)?;
                        ok(self.k.sys_ptrace_attach(cur, nr, false, 0))
                    }
                    P::Seize(pid, options) => {
                        let nr = self.pid_of(cur, env, pid)?;
                        ok(self.k.sys_ptrace_attach(cur, nr, true, *options))
                    }
                    P::Setoptions(pid, options) => {
                        let nr = self.pid_of(cur, env, pid)?;
                        ok(self.k.sys_ptrace_setoptions(cur, nr, *options))
                    }
                    P::Cont(pid, sig) => {
                        let nr = self.pid_of(cur, env, pid)?;
                        ok(self.k.sys_ptrace_cont(cur, nr, *sig))
                    }
                    P::Detach(pid, sig) => {
                        let nr = self.pid_of(cur, env, pid)?;
                        ok(self.k.sys_ptrace_detach(cur, nr, *sig))
                    }
                    P::Geteventmsg(pid) => {
                        let nr = self.pid_of(cur, env, pid)?;
                        let r = self.k.sys_ptrace_geteventmsg(cur, nr);
                        done(r.map(|msg| Value::Pid(self.view(cur, msg as i32))))
                    }
                }
            }
            Op::PidfdInfo(fd) => {
                let fd = self.fd_of(cur, env, fd)?;
                done(
                    self.k
                        .sys_pidfd_get_info(cur, fd)
                        .map(|st| Value::Exit(st.map(clonekit_model::WaitStatus::from_exit_code))),
                )
            }
            Op::Poll { fd, wait: false } => {
                let fd = self.fd_of(cur, env, fd)?;
                done(self.k.sys_poll(cur, fd, clonekit_flags::POLLIN).map(Value::Poll))
            }
            Op::Poll { fd, wait: true } => {
                let fd = self.fd_of(cur, env, fd)?;
                let r = self.k.sys_poll_wait(cur, fd, clonekit_flags::POLLIN);
                self.blocking(key, r, Waiting::Poll, |_, m| Value::Poll(m))
            }
            Op::Setpgid(pid, pgid) => {
                let (pid, pgid) = (self.pid_of(cur, env, pid)?, self.pid_of(cur, env, pgid)?);
                done(self.k.sys_setpgid(cur, pid, pgid).map(|_| Value::Ok))
            }
            Op::Getpgid(pid) => {
                let pid = self.pid_of(cur, env, pid)?;
                let r = self.k.sys_getpgid(cur, pid);
                done(r.map(|nr| Value::Pid(self.view(cur, nr))))
            }
            Op::Setsid => {
                let r = self.k.sys_setsid(cur);
                done(r.map(|nr| Value::Pid(self.view(cur, nr))))
            }
            Op::Getsid(pid) => {
                let pid = self.pid_of(cur, env, pid)?;
                let r = self.k.sys_getsid(cur, pid);
                done(r.map(|nr| Value::Pid(self.view(cur, nr))))
            }
            Op::Setrlimit { resource, soft, hard } => {
                done(self.k.sys_setrlimit(cur, *resource, *soft, *hard).map(|_| Value::Ok))
            }
            Op::Getrlimit(resource) => {
                done(self.k.sys_getrlimit(cur, *resource).map(|(s, h)| Value::Rlimit(s, h)))
            }
        })
    }
}

impl Backend for ModelBackend {
    fn name(&self) -> &'static str {
        "model"
    }

    fn start(&mut self, env: &Env) -> Result<(), BackendError> {
        let first = if env.sets_limits() {
            // As the kernel backend runs it: an ordinary user's limits, in a mount namespace of
            // its own (Fleet::for_limits).
            self.caller = self.caller.for_limits();
            self.k.spawn_first_sealed(self.caller)
        } else {
            self.k.spawn_first_as(self.caller)
        }
        .map_err(|e| BackendError(format!("cannot create the first task: {e}")))?;
        // Compared with the kernel backend, whose tasks inherit this process's no_new_privs
        // (set by a seccomp filter's installer, a container's runtime): so does the first task.
        if self.no_new_privs {
            let _ = self.k.sys_prctl_set_no_new_privs(first, 1);
        }
        self.first_ns = self.k.active_pid_ns(first);
        self.register(TaskKey(0), first);
        Ok(())
    }

    fn step(
        &mut self,
        task: TaskKey,
        op: &Op,
        env: &Env,
        new_task: TaskKey,
    ) -> Result<Outcome, BackendError> {
        let cur = self.id(task)?;
        // A ptrace request returns before its effects on the tracee come back, except an
        // attach to a task in a group stop, which waits for it to trap (JOBCTL_TRAPPING).
        let attach_waits = match op {
            Op::Ptrace(crate::ast::PtraceOp::Attach(t) | crate::ast::PtraceOp::Seize(t, _)) => self
                .pid_of(cur, env, t)
                .ok()
                .and_then(|nr| self.k.find_task_by_vpid_of(cur, nr))
                .is_some_and(|t| self.k.state(t) == TaskState::Stopped),
            _ => false,
        };
        let ptrace_after_return =
            matches!(op, Op::Ptrace(p) if !matches!(p, crate::ast::PtraceOp::Traceme)) && !attach_waits;
        let after_return = self.signals_another_group(cur, env, op) || ptrace_after_return;
        // A traced task stops at a signal it sent itself (a signal-delivery-stop) before
        // acting on it: its call's result is known then, whatever happens to it after (its
        // tracer's exit letting the signal kill it).
        let stops_first = self.k.tracer(cur).is_some()
            && match op {
                Op::Kill(_, sig) | Op::Tgkill(_, _, sig) | Op::PidfdSendSignal { sig, .. } => {
                    *sig != clonekit_flags::Signal::SIGKILL.number()
                        && *sig != 0
                        && !self.kills_at_once(cur, env, op, *sig)
                }
                _ => false,
            };
        let outcome = self.run(task, cur, op, env, new_task)?;
        if matches!(outcome, Outcome::Done(_))
            && !after_return
            && !stops_first
            && matches!(self.k.state(cur), TaskState::Zombie | TaskState::Dead)
        {
            // The task died during its own step (a signal it sent itself, a sibling's exit).
            return Ok(match self.k.exit_code_of(cur) {
                Some(code) if code & 0x7f != 0 => Outcome::Killed((code & 0x7f) as u32),
                _ => Outcome::Ended,
            });
        }
        self.steps += 1;
        let outcome = match outcome {
            // The call returned, and a stop signal it made the task take (a group signal
            // retargeted to it by an exec's de_thread, a recalc in sigprocmask) stopped it
            // before user space saw the result. A kill's `ok` is known before the stop.
            // A ptrace request's effects on its tracee (a stop that tells the tracer, which
            // may stop for that signal if traced itself) come after the call returned.
            Outcome::Done(v)
                if self.k.state(cur) == TaskState::Stopped
                    && !matches!(op, Op::Kill(..) | Op::Tgkill(..) | Op::PidfdSendSignal { .. })
                    && !ptrace_after_return =>
            {
                self.held.push((task, v));
                Outcome::Blocked
            }
            other => other,
        };
        if outcome == Outcome::Blocked {
            self.blocked_at.insert(task, self.steps);
        }
        Ok(outcome)
    }

    fn resumed(&mut self, _env: &Env) -> Vec<(TaskKey, Value)> {
        let done = self.k.take_resumed();
        let mut out = Vec::new();
        for (id, r) in done {
            let Some(key) = self.tasks.iter().position(|t| *t == Some(id)).map(TaskKey) else { continue };
            let waiting = self.waiting.remove(&key);
            let v = match r {
                Resumed::Vfork(nr) => Value::Pid(self.view(id, nr)),
                Resumed::Clone(r) => {
                    let Some(Waiting::Restart(new)) = waiting else { continue };
                    match r {
                        Ok(Syscall::Done(f)) => {
                            self.register(new, f.child);
                            Value::Pid(self.view(id, f.nr))
                        }
                        Ok(Syscall::Blocked) => {
                            // A vfork made again: it sleeps now, for the child it has made.
                            if let Some(child) = self.k.vfork_child(id) {
                                self.register(new, child);
                            }
                            self.waiting.insert(key, Waiting::Vfork);
                            continue;
                        }
                        Err(e) => Value::Errno(e),
                    }
                }
                Resumed::Wait(Ok(w)) if matches!(waiting, Some(Waiting::WaitInfo)) => {
                    self.siginfo_value(id, Some(w))
                }
                Resumed::Wait(Ok(w)) => self.wait_value(id, Some(w)),
                Resumed::Wait(Err(e)) | Resumed::Futex(Err(e)) => Value::Errno(e),
                Resumed::Futex(Ok(_)) => Value::Ok,
                Resumed::Poll(Ok(found)) if found.len() == 1 => Value::Poll(found[0]),
                Resumed::Poll(Ok(found)) => Value::Race(found.into_iter().map(Value::Poll).collect()),
                Resumed::Poll(Err(e)) => Value::Errno(e),
            };
            out.push((key, v));
        }
        let held = std::mem::take(&mut self.held);
        for (key, v) in held {
            match self.tasks.get(key.0).copied().flatten().map(|id| self.k.state(id)) {
                Some(TaskState::Stopped) => self.held.push((key, v)),
                Some(TaskState::Running | TaskState::Blocked) => out.push((key, v)),
                _ => {}
            }
        }
        out.sort_by_key(|(k, _)| self.blocked_at.get(k).copied().unwrap_or(0));
        for (k, _) in &out {
            self.blocked_at.remove(k);
        }
        out
    }

    fn status(&self, task: TaskKey) -> TaskStatus {
        let Some(Some(id)) = self.tasks.get(task.0) else { return TaskStatus::Gone };
        match self.k.state(*id) {
            TaskState::Running => TaskStatus::Running,
            TaskState::Blocked => TaskStatus::Blocked,
            TaskState::Stopped => TaskStatus::Stopped,
            TaskState::Zombie | TaskState::Dead => TaskStatus::Gone,
        }
    }

    fn finish(&mut self) {
        let init = self.k.init_task();
        let ns = self.k.active_pid_ns(init);
        let live: Vec<TaskId> = self.k.tasks().filter(|&t| t != init).collect();
        for t in live {
            if let (Some(pid), Some(ns)) = (self.k.task_pid(t), ns.as_ref()) {
                let nr = pid.nr_ns(ns);
                let _ = self.k.sys_kill(init, nr, 9);
            }
        }
        let _ = self.k.take_resumed();
    }
}
