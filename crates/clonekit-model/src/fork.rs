//! Process creation (kernel/fork.c): the entry points `fork`, `vfork`, `clone`, `clone3`, the
//! seed's `do_fork`, `kernel_clone`, and `copy_process` with its `copy_*` helpers in the
//! kernel's order. Each step is recorded in a [`CopyProcessRecord`].

use std::cell::RefCell;
use std::rc::Rc;

use clonekit_flags::{
    rule, violations, CallerState, CloneArgs, CloneCall, CloneFlags, Errno, ExitSignal, KernelCloneArgs,
    Rule, Sharing, CLONE_ARGS_SIZE_VER2, CSIGNAL, PAGE_SIZE as CLONE3_MAX_SIZE, PTRACE_EVENT_CLONE,
    PTRACE_EVENT_FORK, PTRACE_EVENT_VFORK, RULES, TASK_SIZE_MAX_4LEVEL, TIMENS_SHARED_MM,
};
use serde::Serialize;

use crate::blk_ioc::IoContext;
use crate::cred::{create_user_ns, Cred};
use crate::file::{File, FileKind, FilesStruct};
use crate::fs::FsStruct;
use crate::mm::MmStruct;
use crate::nsproxy::NsProxy;
use crate::pid::Pid;
use crate::sched::{Block, Kernel, Linkage, Shared, Syscall, Task, TaskId, TaskParts, TaskState};
use crate::sem::SemUndoList;
use crate::signal::{SigAltStack, SighandStruct, SignalStruct};

use CloneFlags as F;

/// One step of `copy_process` (or of `kernel_clone` around it).
#[derive(Debug, Clone, Serialize)]
pub struct CopyStep {
    /// The kernel function (`copy_mm`).
    pub function: &'static str,
    /// What the child got of the step's resource (clonekit-flags' vocabulary, as `explain`'s
    /// table says it); `None` for the step that refused the call.
    pub outcome: Option<Sharing>,
    /// How, in a few words.
    pub detail: &'static str,
}

/// What one call to `copy_process` decided, step by step, and the rule that failed it.
#[derive(Debug, Clone, Serialize)]
pub struct CopyProcessRecord {
    /// The flags `kernel_clone` received.
    pub flags: CloneFlags,
    /// The exit signal it received.
    pub exit_signal: u64,
    /// The steps, in the order the kernel takes them.
    pub steps: Vec<CopyStep>,
    /// The rule that failed the call (its id, from clonekit-flags' table).
    pub rule: Option<&'static str>,
    /// The errno the call returned.
    pub errno: Option<Errno>,
    /// The child's pid numbers, from the initial namespace down.
    pub pid_numbers: Vec<i32>,
}

impl CopyProcessRecord {
    fn new(k: &KernelCloneArgs) -> CopyProcessRecord {
        CopyProcessRecord {
            flags: k.flags,
            exit_signal: k.exit_signal.raw(),
            steps: Vec::with_capacity(20),
            rule: None,
            errno: None,
            pid_numbers: Vec::new(),
        }
    }

    fn step(&mut self, function: &'static str, outcome: Sharing, detail: &'static str) {
        self.steps.push(CopyStep { function, outcome: Some(outcome), detail });
    }

    fn refused_at(&mut self, function: &'static str, detail: &'static str) {
        self.steps.push(CopyStep { function, outcome: None, detail });
    }

    /// Records a refusal by the step that made it.
    fn refuse(&mut self, why: Refused) -> Errno {
        match why.rule {
            Some(rule) => self.fail_rule(rule),
            None => {
                self.refused_at(why.function, "refused without a rule of the table");
                self.errno = Some(why.errno);
                why.errno
            }
        }
    }

    fn fail_rule(&mut self, rule: &'static Rule) -> Errno {
        self.refused_at(rule.function, rule.reason);
        self.rule = Some(rule.id);
        self.errno = Some(rule.errno);
        rule.errno
    }

    /// What the step recorded for `function` gave the child, if the call got that far and the
    /// step did not refuse it.
    pub fn outcome(&self, function: &str) -> Option<Sharing> {
        self.steps.iter().find(|s| s.function == function).and_then(|s| s.outcome)
    }
}

/// What a successful clone returns: the child, and its pid as the caller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forked {
    /// The new task.
    pub child: TaskId,
    /// Its pid in the caller's pid namespace (what the syscall returns).
    pub nr: i32,
}

/// Why a step of process creation refused the call: the rule of clonekit-flags' table it
/// checks (whose errno the call returns), or, for a refusal the table has no rule for (a
/// security policy's), the step and the errno alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refused {
    /// The rule broken.
    pub(crate) rule: Option<&'static Rule>,
    /// The kernel function that refused, when there is no rule.
    pub(crate) function: &'static str,
    /// The errno the call returns.
    pub(crate) errno: Errno,
}

impl Refused {
    /// Rule `id` of clonekit-flags' table.
    pub(crate) fn by(id: &str) -> Refused {
        let rule = rule(id).unwrap_or_else(|| panic!("clonekit-flags has rule {id}"));
        rule.into()
    }

    /// A refusal `function` makes with `errno`, for which the table has no rule.
    pub(crate) fn without_rule(function: &'static str, errno: Errno) -> Refused {
        Refused { rule: None, function, errno }
    }
}

impl From<&'static Rule> for Refused {
    fn from(rule: &'static Rule) -> Refused {
        Refused { rule: Some(rule), function: rule.function, errno: rule.errno }
    }
}

/// The rules clonekit-flags finds a call breaks (decidable from the call and the caller), in
/// the table's order.
struct Broken(Vec<&'static Rule>);

impl Broken {
    /// The first broken rule that a step checking in these kernel functions raises.
    fn first_in(&self, functions: &[&str]) -> Option<&'static Rule> {
        self.0.iter().copied().find(|r| functions.contains(&r.function))
    }

    /// The first broken rule among these ids.
    fn first_of(&self, ids: &[&str]) -> Option<&'static Rule> {
        self.0.iter().copied().find(|r| ids.contains(&r.id))
    }
}

/// Whether the kernel checks `rule` before `copy_process` looks for pending signals (rule
/// S1): the clone3 argument checks, kernel_clone's and copy_process's flag checks.
fn checked_before_signals(rule: &Rule) -> bool {
    let pos = |id: &str| RULES.iter().position(|r| r.id == id);
    pos(rule.id) < pos("S1")
}

/// Builds the call the rules of clonekit-flags read, from what `kernel_clone` received.
fn rules_call(k: &KernelCloneArgs, set_tid_len: usize) -> CloneCall {
    let args = CloneArgs {
        flags: k.flags.bits(),
        pidfd: k.pidfd,
        child_tid: k.child_tid,
        parent_tid: k.parent_tid,
        exit_signal: k.exit_signal.raw(),
        stack: k.stack,
        stack_size: k.stack_size,
        tls: k.tls,
        set_tid: u64::from(set_tid_len > 0),
        set_tid_size: k.set_tid_size,
        cgroup: k.cgroup,
    };
    CloneCall::Clone3 { args, size: CLONE_ARGS_SIZE_VER2 as u64, nonzero_tail: false }
}

impl Kernel {
    /// The rule-relevant state of `cur` (clonekit-flags' `CallerState`), read off the model.
    pub fn caller_state(&self, cur: TaskId) -> CallerState {
        let t = self.t(cur);
        let active = t.pid.ns();
        let differs = t.nsproxy.as_ref().is_some_and(|ns| !Rc::ptr_eq(&ns.pid_ns_for_children, active));
        let chrooted = t.fs.as_ref().is_some_and(|fs| fs.borrow().root != "/");
        let signal = t.signal.borrow();
        CallerState {
            pid_ns_init: signal.unkillable,
            multithreaded: signal.threads.len() > 1,
            chrooted,
            cap_sys_admin: t.cred.ns_capable(&t.cred.user_ns, clonekit_flags::CAP_SYS_ADMIN),
            pid_ns_for_children_differs: differs,
            pid_ns_level: active.level,
            kernel: self.linux,
            task_size_max: TASK_SIZE_MAX_4LEVEL,
        }
    }

    /// `copy_process` (kernel/fork.c): the new task `p`, its resources shared or copied as the
    /// flags say, linked into the task tree. The steps run in fork.c's order, each a function
    /// named as the kernel's that checks the rules the kernel checks there; a failing call's
    /// record shows the steps taken before it, and the pid, once allocated, is freed again
    /// (fork.c's `bad_fork_*` labels; everything else the model let go of with `p`).
    fn copy_process(
        &mut self,
        cur: TaskId,
        k: &KernelCloneArgs,
        set_tid: &[i32],
        rec: &mut CopyProcessRecord,
    ) -> Result<(TaskId, Option<i32>), Errno> {
        let flags = k.flags;
        let caller = self.caller_state(cur);
        // The rules clonekit-flags decides from the call and the caller alone; each step
        // raises those the kernel checks in it.
        let broken = Broken(
            violations(&rules_call(k, set_tid.len()), &caller)
                .into_iter()
                .filter(|r| !r.clone3_only())
                .collect(),
        );
        self.copy_process_checks(cur, k.flags, &broken, rec).map_err(|r| rec.refuse(r))?;
        let mut p = self.dup_task_struct(cur, rec);
        let refused = |rec: &mut CopyProcessRecord, r: Refused| rec.refuse(r);
        p.cred = Some(self.copy_creds(cur, flags, &caller, &broken, rec).map_err(|r| refused(rec, r))?);
        // fork.c: the RLIMIT_NPROC and threads-max checks come with the new creds.
        if let Some(r) = broken.first_of(&["L1", "L2"]) {
            return Err(rec.refuse(r.into()));
        }
        let cred = p.cred.clone().expect("copy_creds ran");
        if self.nproc_exceeded(cur, &cred) {
            return Err(rec.refuse(Refused::by("L1")));
        }
        p.sysvsem = self.copy_semundo(cur, flags, rec);
        p.files = Some(self.copy_files(cur, flags, rec));
        p.fs = Some(self.copy_fs(cur, flags, &broken, rec).map_err(|r| refused(rec, r))?);
        p.sighand = Some(self.copy_sighand(cur, flags, rec));
        p.signal = Some(self.copy_signal(cur, flags, rec));
        p.mm = self.copy_mm(cur, flags, rec);
        p.nsproxy =
            Some(self.copy_namespaces_of(cur, flags, &cred, &broken, rec).map_err(|r| refused(rec, r))?);
        p.io_context = self.copy_io(cur, flags, rec);
        p.tls = self.copy_thread(k, p.tls, &broken, rec).map_err(|r| refused(rec, r))?;
        let pid = self.alloc_pid_of(cur, &p, k, set_tid, &broken, rec).map_err(|r| refused(rec, r))?;
        // bad_fork_free_pid: from here on a failure lets the pid go.
        let pidfd = match self.pidfd_prepare(cur, k, &broken, rec) {
            Ok(fd) => fd,
            Err(r) => return Err(self.bad_fork_free_pid(&pid, rec, r)),
        };
        if let Err(r) = self.cgroup_can_fork(flags, &broken, rec) {
            return Err(self.bad_fork_free_pid(&pid, rec, r));
        }
        if let Some(r) = broken.0.first() {
            // A rule no step above raised: a step of the table the model does not run.
            return Err(self.bad_fork_free_pid(&pid, rec, (*r).into()));
        }
        // fork.c: a CLONE_VM child that is not a vfork child gets no sigaltstack.
        if flags & (F::CLONE_VM | F::CLONE_VFORK) == F::CLONE_VM {
            rec.step("sas_ss_reset", Sharing::Reset, "CLONE_VM without CLONE_VFORK: sigaltstack disabled");
            p.sas = SigAltStack::default();
        } else {
            rec.step("sas_ss_reset", Sharing::Copied, "sigaltstack inherited");
        }
        Ok(self.link_new_task(cur, k, p, pid, pidfd, rec))
    }

    /// The flag checks at the top of `copy_process` (and `kernel_clone`'s), then the signals
    /// that arrived before the fork (rule S1): after a handler or an ignored signal the call
    /// is made again at once, after a stop at SIGCONT, after a fatal one never.
    fn copy_process_checks(
        &mut self,
        cur: TaskId,
        flags: CloneFlags,
        broken: &Broken,
        rec: &mut CopyProcessRecord,
    ) -> Result<(), Refused> {
        let first = broken.0.iter().copied().find(|r| checked_before_signals(r));
        // Rule P9 (Linux 7.1): CLONE_PARENT from a process made with CLONE_AUTOREAP, whose
        // child would become a zombie nobody is told of (it inherits exit signal 0).
        let pos = |id: &str| RULES.iter().position(|r| r.id == id);
        if flags.contains(F::CLONE_PARENT)
            && self.t(cur).signal.borrow().autoreap
            && first.is_none_or(|r| pos(r.id) > pos("P9"))
        {
            return Err(Refused::by("P9"));
        }
        if let Some(r) = first {
            return Err(r.into());
        }
        // Before Linux 6.2 (clonekit_flags::TIMENS_SHARED_MM): a child sharing the mm or the
        // thread group may not be in another time namespace than its creator.
        if !TIMENS_SHARED_MM.present_in(self.linux)
            && flags.intersects(CloneFlags::CLONE_VM | CloneFlags::CLONE_THREAD)
        {
            let ns = self.t(cur).nsproxy.clone().expect("a live task has an nsproxy");
            if !Rc::ptr_eq(&ns.time, &ns.time_for_children) {
                return Err(Refused::without_rule("copy_process", Errno::EINVAL));
            }
        }
        // fork.c: recalc_sigpending(); a pending signal (or group stop) is taken first and the
        // call made again (-ERESTARTNOINTR, never seen by user space).
        if self.signal_pending(cur) {
            self.deliver_pending(cur);
            let gone_or_stopped =
                self.task(cur).is_none_or(|t| t.exiting || t.frozen() || t.state != TaskState::Running);
            if gone_or_stopped {
                return Err(Refused::by("S1"));
            }
            rec.step(
                "copy_process",
                Sharing::Set,
                "a pending signal was taken first, then the call made again",
            );
        }
        rec.step("copy_process", Sharing::Set, "flag checks passed (clonekit-flags rules)");
        Ok(())
    }

    /// `dup_task_struct` (kernel/fork.c): `p` starts as a copy of the caller's task_struct.
    fn dup_task_struct(&self, cur: TaskId, rec: &mut CopyProcessRecord) -> TaskParts {
        let t = self.t(cur);
        rec.step("dup_task_struct", Sharing::Copied, "task_struct copied: blocked mask, sigaltstack, TLS");
        TaskParts {
            blocked: t.blocked,
            sas: t.sas,
            tls: t.tls,
            self_exec_id: t.self_exec_id,
            cred: None,
            sysvsem: None,
            files: None,
            fs: None,
            sighand: None,
            signal: None,
            mm: None,
            nsproxy: None,
            io_context: None,
        }
    }

    /// `copy_creds` (kernel/cred.c): a thread shares the creds; anything else gets a copy,
    /// in a new user namespace for `CLONE_NEWUSER` (`create_user_ns`, rules U1–U3).
    fn copy_creds(
        &mut self,
        cur: TaskId,
        flags: CloneFlags,
        caller: &CallerState,
        broken: &Broken,
        rec: &mut CopyProcessRecord,
    ) -> Result<Rc<Cred>, Refused> {
        let parent = self.t(cur).cred.clone();
        if flags.contains(F::CLONE_THREAD) {
            rec.step("copy_creds", Sharing::Shared, "CLONE_THREAD: same struct cred");
            return Ok(parent);
        }
        let mut c = (*parent).clone();
        if flags.contains(F::CLONE_NEWUSER) {
            if let Some(r) = broken.first_in(&["create_user_ns"]) {
                return Err(r.into());
            }
            let inum = self.alloc_inum();
            let nproc = self.rlimit(cur, clonekit_flags::RLIMIT_NPROC).0;
            create_user_ns(&mut c, caller.chrooted, inum, self.user_ns_refused, nproc)?;
            rec.step("copy_creds", Sharing::New, "prepare_creds copy in a new user namespace");
        } else {
            rec.step("copy_creds", Sharing::Copied, "prepare_creds copy");
        }
        Ok(Rc::new(c))
    }

    /// `copy_semundo` (ipc/sem.c): `CLONE_SYSVSEM` shares the caller's undo list (allocated
    /// for it if it has none yet); otherwise the child starts without one.
    fn copy_semundo(
        &mut self,
        cur: TaskId,
        flags: CloneFlags,
        rec: &mut CopyProcessRecord,
    ) -> Option<Shared<SemUndoList>> {
        if !flags.contains(F::CLONE_SYSVSEM) {
            rec.step("copy_semundo", Sharing::Reset, "no undo list");
            return None;
        }
        let list = self.t(cur).sysvsem.clone().unwrap_or_default();
        self.tm(cur).sysvsem = Some(list.clone());
        rec.step("copy_semundo", Sharing::Shared, "CLONE_SYSVSEM: same undo list");
        Some(list)
    }

    /// `copy_files` (kernel/fork.c): the same fd table, or `dup_fd`'s copy.
    fn copy_files(&self, cur: TaskId, flags: CloneFlags, rec: &mut CopyProcessRecord) -> Shared<FilesStruct> {
        let files = self.t(cur).files.clone().expect("a live task has a files_struct");
        if flags.contains(F::CLONE_FILES) {
            rec.step("copy_files", Sharing::Shared, "CLONE_FILES: same fd table");
            return files;
        }
        rec.step("copy_files", Sharing::Copied, "dup_fd: new table, same open file descriptions");
        let copy = files.borrow().dup_fd();
        Rc::new(RefCell::new(copy))
    }

    /// `copy_fs` (kernel/fork.c): the same fs_struct (not while one of its users execs, rule
    /// F1), or `copy_fs_struct`'s copy.
    fn copy_fs(
        &self,
        cur: TaskId,
        flags: CloneFlags,
        broken: &Broken,
        rec: &mut CopyProcessRecord,
    ) -> Result<Shared<FsStruct>, Refused> {
        let fs = self.t(cur).fs.clone().expect("a live task has an fs_struct");
        if !flags.contains(F::CLONE_FS) {
            rec.step("copy_fs", Sharing::Copied, "copy_fs_struct: own root, cwd, umask");
            let copy = fs.borrow().copy_fs_struct();
            return Ok(Rc::new(RefCell::new(copy)));
        }
        if let Some(r) = broken.first_in(&["copy_fs"]) {
            return Err(r.into());
        }
        if fs.borrow().in_exec {
            return Err(Refused::by("F1"));
        }
        rec.step("copy_fs", Sharing::Shared, "CLONE_FS: same root, cwd, umask");
        Ok(fs)
    }

    /// `copy_sighand` (kernel/fork.c): the same handler table, or a copy (with the handlers
    /// reset by `CLONE_CLEAR_SIGHAND`).
    fn copy_sighand(
        &self,
        cur: TaskId,
        flags: CloneFlags,
        rec: &mut CopyProcessRecord,
    ) -> Shared<SighandStruct> {
        let sighand = self.t(cur).sighand.clone();
        if flags.contains(F::CLONE_SIGHAND) {
            rec.step("copy_sighand", Sharing::Shared, "CLONE_SIGHAND: same handler table");
            return sighand;
        }
        let mut table = sighand.borrow().clone();
        if flags.contains(F::CLONE_CLEAR_SIGHAND) {
            table.flush_signal_handlers();
            rec.step("copy_sighand", Sharing::Reset, "copy with handlers reset to SIG_DFL (SIG_IGN kept)");
        } else {
            rec.step("copy_sighand", Sharing::Copied, "memcpy of the handler table");
        }
        Rc::new(RefCell::new(table))
    }

    /// `copy_signal` (kernel/fork.c): a thread joins the caller's thread group; anything else
    /// gets a new signal_struct with the caller's rlimits.
    fn copy_signal(
        &self,
        cur: TaskId,
        flags: CloneFlags,
        rec: &mut CopyProcessRecord,
    ) -> Shared<SignalStruct> {
        let signal = self.t(cur).signal.clone();
        if flags.contains(F::CLONE_THREAD) {
            rec.step("copy_signal", Sharing::Shared, "CLONE_THREAD: joins the thread group");
            return signal;
        }
        let parent = signal.borrow();
        let mut s = SignalStruct::new(parent.pgrp.clone(), parent.session.clone());
        s.rlimits = parent.rlimits;
        rec.step("copy_signal", Sharing::New, "new signal_struct: rlimits copied, no pending signals");
        Rc::new(RefCell::new(s))
    }

    /// `copy_mm` (kernel/fork.c): `CLONE_VM` shares the caller's mm (`mmget`); anything else
    /// gets [`Kernel::dup_mm`]'s copy.
    fn copy_mm(
        &self,
        cur: TaskId,
        flags: CloneFlags,
        rec: &mut CopyProcessRecord,
    ) -> Option<Shared<MmStruct>> {
        let Some(mm) = self.t(cur).mm.clone() else {
            rec.step("copy_mm", Sharing::Unchanged, "no mm");
            return None;
        };
        if flags.contains(F::CLONE_VM) {
            rec.step("copy_mm", Sharing::Shared, "CLONE_VM: mmget, same mm");
            return Some(mm);
        }
        rec.step("copy_mm", Sharing::Copied, "dup_mm: copy-on-write copy");
        Some(self.dup_mm(&mm))
    }

    /// `dup_mm` (kernel/fork.c): a new mm whose every page is shared copy-on-write
    /// (`dup_mmap`).
    fn dup_mm(&self, oldmm: &Shared<MmStruct>) -> Shared<MmStruct> {
        Rc::new(RefCell::new(oldmm.borrow().dup_mmap()))
    }

    /// `copy_namespaces` (kernel/nsproxy.c) for `p`: the same nsproxy, or a new one
    /// (rules N1–N7).
    fn copy_namespaces_of(
        &mut self,
        cur: TaskId,
        flags: CloneFlags,
        cred: &Cred,
        broken: &Broken,
        rec: &mut CopyProcessRecord,
    ) -> Result<Rc<NsProxy>, Refused> {
        let checked_there =
            ["copy_namespaces", "create_new_namespaces", "copy_pid_ns", "create_pid_namespace"];
        if let Some(r) = broken.first_in(&checked_there) {
            return Err(r.into());
        }
        let (nsproxy, new) = self.copy_namespaces(flags, cur, cred)?;
        if new {
            rec.step("copy_namespaces", Sharing::New, "create_new_namespaces: new nsproxy");
        } else {
            rec.step("copy_namespaces", Sharing::Shared, "same nsproxy");
        }
        Ok(nsproxy)
    }

    /// `copy_io` (block/blk-ioc.c): `CLONE_IO` shares the caller's io_context; otherwise a
    /// new one carries its I/O priority, if it set one.
    fn copy_io(
        &self,
        cur: TaskId,
        flags: CloneFlags,
        rec: &mut CopyProcessRecord,
    ) -> Option<Shared<IoContext>> {
        let Some(ioc) = self.t(cur).io_context.clone() else {
            rec.step("copy_io", Sharing::Unchanged, "the caller has no io_context");
            return None;
        };
        if flags.contains(F::CLONE_IO) {
            rec.step("copy_io", Sharing::Shared, "CLONE_IO: same io_context");
            return Some(ioc);
        }
        if !ioc.borrow().ioprio_valid() {
            rec.step("copy_io", Sharing::Reset, "no ioprio set: no io_context");
            return None;
        }
        let ioprio = ioc.borrow().ioprio;
        rec.step("copy_io", Sharing::Copied, "new io_context with the caller's ioprio");
        Some(Rc::new(RefCell::new(IoContext { ioprio })))
    }

    /// `copy_thread` (arch/x86/kernel/process.c): the FS base (TLS) from the call with
    /// `CLONE_SETTLS` (`do_arch_prctl_64`, rule T1) or the caller's, and the stack pointer.
    fn copy_thread(
        &self,
        k: &KernelCloneArgs,
        parent_tls: u64,
        broken: &Broken,
        rec: &mut CopyProcessRecord,
    ) -> Result<u64, Refused> {
        let tls = if k.flags.contains(F::CLONE_SETTLS) {
            if let Some(r) = broken.first_in(&["do_arch_prctl_64"]) {
                return Err(r.into());
            }
            rec.step("copy_thread", Sharing::Set, "CLONE_SETTLS: FS base from tls");
            k.tls
        } else {
            rec.step("copy_thread", Sharing::Copied, "registers and FS base copied");
            parent_tls
        };
        if k.stack != 0 {
            rec.step("copy_thread", Sharing::Set, "stack pointer from the call");
        } else {
            rec.step("copy_thread", Sharing::Shared, "the caller's stack pointer (no stack given)");
        }
        Ok(tls)
    }

    /// `alloc_pid` (kernel/pid.c) for `p`, in its pid namespace for children (rules A1–A7).
    fn alloc_pid_of(
        &mut self,
        cur: TaskId,
        p: &TaskParts,
        k: &KernelCloneArgs,
        set_tid: &[i32],
        broken: &Broken,
        rec: &mut CopyProcessRecord,
    ) -> Result<Rc<Pid>, Refused> {
        if let Some(r) = broken.first_in(&["alloc_pid"]) {
            return Err(r.into());
        }
        let pid_ns = p.nsproxy.as_ref().expect("copy_namespaces ran").pid_ns_for_children.clone();
        let set_tid = &set_tid[..set_tid.len().min(k.set_tid_size as usize)];
        let caller_cred = self.t(cur).cred.clone();
        let numbers = self.alloc_pid(&pid_ns, set_tid, &caller_cred)?;
        rec.pid_numbers = numbers.iter().map(|u| u.nr).collect();
        let pid = Rc::new(Pid { numbers, exit_info: std::cell::Cell::new(None) });
        let deeper = pid.level() > self.t(cur).pid.level();
        rec.step(
            "alloc_pid",
            Sharing::New,
            if deeper {
                "a pid in each level, 1 in the new pid namespace"
            } else {
                "a pid in each pid namespace level"
            },
        );
        Ok(pid)
    }

    /// The pidfd step of `copy_process` (`__pidfd_prepare`, rule D1): a descriptor reserved in
    /// the caller's table and its number stored at `args->pidfd` (rule D2); installed once the
    /// child is linked in, so a child without `CLONE_FILES` never sees it.
    fn pidfd_prepare(
        &mut self,
        cur: TaskId,
        k: &KernelCloneArgs,
        broken: &Broken,
        rec: &mut CopyProcessRecord,
    ) -> Result<Option<i32>, Refused> {
        if !k.flags.contains(F::CLONE_PIDFD) {
            return Ok(None);
        }
        if let Some(r) = broken.first_in(&["__pidfd_prepare"]).or(broken.first_of(&["D2"])) {
            return Err(r.into());
        }
        let files = self.t(cur).files.clone().expect("a live task has a files_struct");
        let free = files.borrow().fds.iter().position(Option::is_none).unwrap_or(files.borrow().fds.len());
        if free >= crate::file::NR_OPEN_DEFAULT {
            return Err(Refused::by("D1"));
        }
        // put_user(pidfd, args->pidfd): a pointer that faults fails the call (rule D2).
        if !self.user_accessible(cur, k.pidfd, 4) {
            return Err(Refused::by("D2"));
        }
        // The number is in the caller's memory from here on, even if a later step fails and the
        // reserved descriptor is let go (put_unused_fd).
        self.store_user(cur, k.pidfd, free as u32);
        rec.step("pidfd", Sharing::New, "O_CLOEXEC pidfd reserved in the caller's table");
        Ok(Some(free as i32))
    }

    /// `cgroup_can_fork` (kernel/cgroup/cgroup.c) for `CLONE_INTO_CGROUP`: the model has no
    /// cgroup2 directory to open, so any descriptor is not one (rule G1).
    fn cgroup_can_fork(
        &self,
        flags: CloneFlags,
        broken: &Broken,
        _rec: &mut CopyProcessRecord,
    ) -> Result<(), Refused> {
        let checked_there = [
            "cgroup_css_set_fork",
            "cgroup_get_from_file",
            "cgroup_may_write",
            "cgroup_attach_permissions",
            "cgroup_migrate_vet_dst",
            "pids_can_fork",
        ];
        if let Some(r) = broken.first_in(&checked_there) {
            return Err(r.into());
        }
        if flags.contains(F::CLONE_INTO_CGROUP) {
            return Err(Refused::by("G1"));
        }
        Ok(())
    }

    /// `bad_fork_free_pid` (kernel/fork.c): a step after `alloc_pid` failed; the pid goes
    /// back, the failure is recorded.
    fn bad_fork_free_pid(&mut self, pid: &Pid, rec: &mut CopyProcessRecord, why: Refused) -> Errno {
        self.free_pid(pid, self.init_task);
        rec.refuse(why)
    }

    /// The end of `copy_process`, past which nothing fails: `p` gets its slot, its parent
    /// (fork.c: `CLONE_PARENT`/`CLONE_THREAD` take the caller's, with their exit signals), its
    /// pid attached, its place in the thread group and the parent's children, and the pidfd
    /// installed.
    fn link_new_task(
        &mut self,
        cur: TaskId,
        k: &KernelCloneArgs,
        p: TaskParts,
        pid: Rc<Pid>,
        pidfd: Option<i32>,
        rec: &mut CopyProcessRecord,
    ) -> (TaskId, Option<i32>) {
        let flags = k.flags;
        let id = self.alloc_task_id();
        let (real_parent, exit_signal, parent_exec_id, leader) = {
            let c = self.t(cur);
            if flags.contains(F::CLONE_THREAD) {
                rec.step("parent", Sharing::Shared, "CLONE_THREAD: caller's parent, exit_signal -1");
                (c.real_parent, -1, c.parent_exec_id, c.group_leader)
            } else if flags.contains(F::CLONE_PARENT) {
                rec.step(
                    "parent",
                    Sharing::Shared,
                    "CLONE_PARENT: caller's parent, its leader's exit_signal",
                );
                (c.real_parent, self.t(c.group_leader).exit_signal, c.parent_exec_id, id)
            } else {
                rec.step("parent", Sharing::Set, "the caller is the parent, exit_signal from the call");
                // A legacy exit signal is any byte; only valid ones are ever sent.
                (cur, (k.exit_signal.raw() & CSIGNAL) as i32, p.self_exec_id, id)
            }
        };
        let signal = p.signal.clone().expect("copy_signal ran");
        self.next_serial += 1;
        let link = Linkage {
            group_leader: leader,
            real_parent,
            exit_signal,
            parent_exec_id,
            set_child_tid: if flags.contains(F::CLONE_CHILD_SETTID) { k.child_tid } else { 0 },
            clear_child_tid: if flags.contains(F::CLONE_CHILD_CLEARTID) { k.child_tid } else { 0 },
        };
        let mut task = Task::new(id, pid.clone(), link, p, self.next_serial);
        // copy_seccomp: no_new_privs is inherited; CLONE_NNP sets it (Linux 7.1).
        task.no_new_privs = self.t(cur).no_new_privs || flags.contains(F::CLONE_NNP);
        self.install_task(task);
        self.attach_pid(&pid, id);
        if leader == id {
            // is_child_reaper: pid 1 of a new namespace becomes its init.
            if pid.numbers.last().is_some_and(|u| u.nr == 1) {
                pid.ns().child_reaper.set(Some(id));
                signal.borrow_mut().unkillable = true;
            }
            let rp = self.t(real_parent).signal.clone();
            let inherit = {
                let r = rp.borrow();
                r.has_child_subreaper || r.is_child_subreaper
            };
            signal.borrow_mut().has_child_subreaper = inherit;
            signal.borrow_mut().autoreap = flags.contains(F::CLONE_AUTOREAP);
            // attach_pid(p, PIDTYPE_PGID): the new process joins its group's list.
            signal.borrow_mut().pgrp_seq = self.next_serial;
            self.tm(real_parent).children.push(id);
        }
        {
            let mut s = signal.borrow_mut();
            s.threads.push(id);
            s.live += 1;
            s.quick_threads += 1;
        }
        if let Some(fd) = pidfd {
            let files = self.t(cur).files.clone().expect("a live task has a files_struct");
            let file = Rc::new(File {
                kind: FileKind::Pidfd {
                    pid: pid.clone(),
                    flags: if flags.contains(F::CLONE_THREAD) { clonekit_flags::PIDFD_THREAD } else { 0 }
                        | if flags.contains(F::CLONE_PIDFD_AUTOKILL) {
                            clonekit_flags::PIDFD_AUTOKILL
                        } else {
                            0
                        },
                },
                pos: std::cell::Cell::new(0),
            });
            let installed = files.borrow_mut().install(file, true).unwrap_or(fd);
            self.store_user(cur, k.pidfd, installed as u32);
        }
        (id, pidfd)
    }

    /// Stores a 32-bit word in `id`'s memory, ignoring faults (`put_user` whose error the
    /// caller drops).
    pub(crate) fn store_user(&mut self, id: TaskId, addr: u64, value: u32) {
        if !self.user_accessible(id, addr, 4) || !addr.is_multiple_of(4) {
            return;
        }
        if let Some(mm) = self.task(id).and_then(|t| t.mm.clone()) {
            mm.borrow_mut().store(addr, value);
        }
    }

    /// Whether `[addr, addr + len)` of `id`'s memory can be accessed (no fault).
    pub(crate) fn user_accessible(&self, id: TaskId, addr: u64, len: u64) -> bool {
        self.task(id).and_then(|t| t.mm.clone()).is_some_and(|mm| mm.borrow().accessible(addr, len))
    }

    /// `kernel_clone` (kernel/fork.c): `copy_process`, then the parent-side tid write, the
    /// vfork setup and the child's first run (`schedule_tail`'s child-tid write). A
    /// `CLONE_VFORK` caller sleeps until the child releases its mm. `set_tid` is the array
    /// `clone3` copied in (`kernel_clone_args.set_tid`), deepest namespace first.
    ///
    /// A traced caller's tracer also traces the child with `CLONE_PTRACE`, or when the caller
    /// has the option for this clone's event (`PTRACE_O_TRACEVFORK` for `CLONE_VFORK`,
    /// `PTRACE_O_TRACECLONE` for an exit signal other than `SIGCHLD`, else
    /// `PTRACE_O_TRACEFORK`) and `CLONE_UNTRACED` is not given (`ptrace_init_task`). With the
    /// option, the caller stops in the event stop before the call returns (the result is
    /// returned, the caller is [`TaskState::Stopped`]); a traced child stops at once, before
    /// it runs anything (the model has the caller stop first; on a real machine the order of
    /// the two stops is a race).
    pub fn kernel_clone(
        &mut self,
        cur: TaskId,
        args: &KernelCloneArgs,
        set_tid: &[i32],
    ) -> Result<Syscall<Forked>, Errno> {
        self.current(cur)?;
        // Which event to report to the tracer: none with CLONE_UNTRACED, else the one the
        // clone is, if the caller's options ask for it.
        let trace = if args.flags.contains(F::CLONE_UNTRACED) {
            0
        } else {
            let event = if args.flags.contains(F::CLONE_VFORK) {
                PTRACE_EVENT_VFORK
            } else if args.exit_signal.raw() != ExitSignal::SIGCHLD.raw() {
                PTRACE_EVENT_CLONE
            } else {
                PTRACE_EVENT_FORK
            };
            if self.ptrace_event_enabled(cur, event) {
                event
            } else {
                0
            }
        };
        let mut rec = CopyProcessRecord::new(args);
        let result = self.copy_process(cur, args, set_tid, &mut rec);
        let (child, _) = match result {
            Ok(r) => r,
            Err(e) => {
                self.keep_record(rec);
                if e == Errno::ERESTARTNOINTR && self.task(cur).is_some_and(|t| t.frozen() && !t.exiting) {
                    // Stopped by the pending signal (or in a ptrace stop for it): the call is made
                    // again when the task continues.
                    self.sleep(cur, Block::Restart { args: *args, set_tid: set_tid.to_vec() });
                    return Ok(Syscall::Blocked);
                }
                return Err(e);
            }
        };
        // copy_process: ptrace_init_task.
        self.ptrace_init_task(child, cur, args.flags.contains(F::CLONE_PTRACE) || trace != 0);
        let pid = self.t(child).pid.clone();
        let nr = self.pid_vnr(cur, &pid);
        if args.flags.contains(F::CLONE_PARENT_SETTID) {
            // kernel_clone: put_user(nr, args->parent_tid), in the caller's memory.
            self.store_user(cur, args.parent_tid, nr as u32);
            rec.step("kernel_clone", Sharing::Set, "CLONE_PARENT_SETTID: tid stored in the caller's memory");
        }
        // schedule_tail (kernel/sched/core.c): the child stores its own tid, in its memory.
        let set_child_tid = self.t(child).set_child_tid;
        if set_child_tid != 0 {
            let own = self.pid_vnr(child, &pid);
            self.store_user(child, set_child_tid, own as u32);
            rec.step("schedule_tail", Sharing::Set, "CLONE_CHILD_SETTID: tid stored in the child's memory");
        }
        let vfork = args.flags.contains(F::CLONE_VFORK);
        if vfork {
            self.tm(child).vfork_done = Some(cur);
            rec.step(
                "kernel_clone",
                Sharing::Set,
                "CLONE_VFORK: the caller sleeps until the child execs or exits",
            );
        }
        self.keep_record(rec);
        // wake_up_new_task, then the tracer is told of the clone (ptrace_event_pid); a traced
        // child takes its first stop (SIGSTOP, or a seized child's PTRACE_EVENT_STOP trap).
        if trace != 0 {
            self.ptrace_event_pid(cur, trace, &pid);
        }
        if self.t(child).ptrace != 0 {
            self.deliver_pending(child);
        }
        if vfork {
            // wait_for_vfork_done (kernel/fork.c), TASK_KILLABLE.
            self.sleep(cur, Block::Vfork { child, nr });
            return Ok(Syscall::Blocked);
        }
        Ok(Syscall::Done(Forked { child, nr }))
    }

    /// The child a vfork parent sleeps for.
    pub fn vfork_child(&self, parent: TaskId) -> Option<TaskId> {
        match self.task(parent)?.block.as_ref()? {
            (_, Block::Vfork { child, .. }) => Some(*child),
            _ => None,
        }
    }

    fn keep_record(&mut self, rec: CopyProcessRecord) {
        if self.recording {
            self.last_copy = Some(rec);
        }
    }

    /// `do_fork` (kernel/fork.c before 5.10), the seed's entry point: the legacy flags word
    /// (exit signal in its low byte) and the four pointers, handed to `kernel_clone`.
    pub fn do_fork(
        &mut self,
        cur: TaskId,
        clone_flags: u64,
        stack_start: u64,
        stack_size: u64,
        parent_tidptr: u64,
        child_tidptr: u64,
    ) -> Result<Syscall<Forked>, Errno> {
        let args = KernelCloneArgs {
            flags: CloneFlags::from_bits_retain(clone_flags & 0xffff_ffff & !CSIGNAL),
            exit_signal: ExitSignal(clone_flags & CSIGNAL),
            pidfd: parent_tidptr,
            parent_tid: parent_tidptr,
            child_tid: child_tidptr,
            stack: stack_start,
            stack_size,
            ..KernelCloneArgs::default()
        };
        self.kernel_clone(cur, &args, &[])
    }

    /// `fork()` (kernel/fork.c): `{.exit_signal = SIGCHLD}`.
    pub fn sys_fork(&mut self, cur: TaskId) -> Result<Syscall<Forked>, Errno> {
        self.kernel_clone(cur, &CloneCall::Fork.kernel_args(), &[])
    }

    /// `vfork()` (kernel/fork.c): `CLONE_VFORK|CLONE_VM`, SIGCHLD; the caller sleeps.
    pub fn sys_vfork(&mut self, cur: TaskId) -> Result<Syscall<Forked>, Errno> {
        self.kernel_clone(cur, &CloneCall::Vfork.kernel_args(), &[])
    }

    /// `clone(flags, newsp, parent_tid, child_tid, tls)`, x86_64 argument order
    /// (kernel/fork.c): the upper 32 bits of `flags` dropped, the low byte the exit signal,
    /// `parent_tid` also the pidfd slot.
    pub fn sys_clone(
        &mut self,
        cur: TaskId,
        flags: u64,
        newsp: u64,
        parent_tid: u64,
        child_tid: u64,
        tls: u64,
    ) -> Result<Syscall<Forked>, Errno> {
        let call = CloneCall::Clone { flags, stack: newsp, parent_tid, child_tid, tls };
        self.kernel_clone(cur, &call.kernel_args(), &[])
    }

    /// `clone3(uargs, size)` (kernel/fork.c): `uargs` is the struct's bytes as they lie in
    /// user memory (fewer than `size` bytes: the rest cannot be read, `EFAULT`). The
    /// `set_tid` array is read from the caller's memory.
    pub fn sys_clone3(&mut self, cur: TaskId, uargs: &[u8], size: u64) -> Result<Syscall<Forked>, Errno> {
        self.current(cur)?;
        match self.copy_clone_args_from_user(cur, uargs, size) {
            Ok((k, set_tid)) => self.kernel_clone(cur, &k, &set_tid),
            Err(why) => {
                let mut rec = CopyProcessRecord::new(&KernelCloneArgs::default());
                let errno = rec.refuse(why);
                self.keep_record(rec);
                Err(errno)
            }
        }
    }

    /// `clone3(uargs, size)` with the struct read from the caller's memory at `uargs`
    /// (`copy_struct_from_user`): what can be read before the first fault, so a NULL or
    /// inaccessible pointer, or a struct whose `size` bytes run into a page without access,
    /// is `EFAULT` (rule C4).
    pub fn sys_clone3_at(&mut self, cur: TaskId, uargs: u64, size: u64) -> Result<Syscall<Forked>, Errno> {
        self.current(cur)?;
        let mm = self.t(cur).mm.clone().ok_or(Errno::EFAULT)?;
        let bytes = mm.borrow().copy_from_user(uargs, size.min(CLONE3_MAX_SIZE));
        self.sys_clone3(cur, &bytes, size)
    }

    /// `copy_clone_args_from_user` (kernel/fork.c): the size (rules C1, C2), the struct read
    /// from user memory (`copy_struct_from_user`, C3, C4), its fields (C5–C8), the `set_tid`
    /// array copied in (C9), then [`Kernel::clone3_args_valid`]. Returns what `kernel_clone`
    /// gets, and the `set_tid` array.
    fn copy_clone_args_from_user(
        &self,
        cur: TaskId,
        uargs: &[u8],
        size: u64,
    ) -> Result<(KernelCloneArgs, Vec<i32>), Refused> {
        if size > CLONE3_MAX_SIZE {
            return Err(Refused::by("C1"));
        }
        if size < 64 {
            return Err(Refused::by("C2"));
        }
        if (uargs.len() as u64) < size {
            return Err(Refused::by("C4"));
        }
        let known = (size as usize).min(CLONE_ARGS_SIZE_VER2);
        let (args, _) = CloneArgs::from_bytes(&uargs[..known]);
        let nonzero_tail = uargs[known..size as usize].iter().any(|&b| b != 0);
        let call = CloneCall::Clone3 { args, size, nonzero_tail };
        let broken = Broken(
            violations(&call, &self.caller_state(cur)).into_iter().filter(|r| r.clone3_only()).collect(),
        );
        if let Some(r) = broken.first_in(&["copy_struct_from_user", "copy_clone_args_from_user"]) {
            return Err(r.into());
        }
        // The set_tid array must be readable (rule C9).
        let mut set_tid = Vec::with_capacity(args.set_tid_size as usize);
        if args.set_tid_size > 0 {
            let mm = self.t(cur).mm.clone().ok_or(Refused::by("C9"))?;
            if !mm.borrow().accessible(args.set_tid, 4 * args.set_tid_size) || !args.set_tid.is_multiple_of(4)
            {
                return Err(Refused::by("C9"));
            }
            let mm = mm.borrow();
            set_tid.extend((0..args.set_tid_size).map(|i| mm.load(args.set_tid + 4 * i) as i32));
        }
        let mut k = call.kernel_args();
        Self::clone3_args_valid(&broken, &mut k)?;
        Ok((k, set_tid))
    }

    /// `clone3_args_valid` (kernel/fork.c): the flags and exit signal clone3 refuses (C10–C13)
    /// and `clone3_stack_valid` (C14), which also hands `kernel_clone` the stack's top, as on
    /// every arch whose stack grows down.
    fn clone3_args_valid(broken: &Broken, k: &mut KernelCloneArgs) -> Result<(), Refused> {
        if let Some(r) = broken.first_in(&["clone3_args_valid", "clone3_stack_valid"]) {
            return Err(r.into());
        }
        if let Some(r) = broken.0.first() {
            // A clone3 rule of a step the model does not run (sys_ni_syscall before 5.3).
            return Err((*r).into());
        }
        if k.stack != 0 {
            k.stack = k.stack.wrapping_add(k.stack_size);
        }
        Ok(())
    }
}

impl Kernel {
    /// `unshare(flags)` (kernel/fork.c `ksys_unshare`): widens the request as the kernel does
    /// (NEWUSER ⇒ THREAD|FS, VM ⇒ SIGHAND, SIGHAND ⇒ THREAD, NEWNS ⇒ FS), checks it
    /// (`check_unshare_flags`), then gives the caller private copies and new namespaces.
    pub fn sys_unshare(&mut self, cur: TaskId, flags: CloneFlags) -> Result<(), Errno> {
        self.current(cur)?;
        let mut flags = flags;
        if flags.contains(F::CLONE_NEWUSER) {
            flags |= F::CLONE_THREAD | F::CLONE_FS;
        }
        if flags.contains(F::CLONE_VM) {
            flags |= F::CLONE_SIGHAND;
        }
        if flags.contains(F::CLONE_SIGHAND) {
            flags |= F::CLONE_THREAD;
        }
        if flags.contains(F::CLONE_NEWNS) {
            flags |= F::CLONE_FS;
        }
        self.check_unshare_flags(cur, flags)?;
        let do_sysvsem = flags.intersects(F::CLONE_NEWIPC | F::CLONE_SYSVSEM);
        // unshare_fs: only a shared fs_struct is copied.
        let fs = self.t(cur).fs.clone().expect("a live task has an fs_struct");
        let new_fs = (flags.contains(F::CLONE_FS) && Rc::strong_count(&fs) > 2)
            .then(|| Rc::new(RefCell::new(fs.borrow().copy_fs_struct())));
        // unshare_fd: only a shared table is copied.
        let files = self.t(cur).files.clone().expect("a live task has a files_struct");
        let new_fd = (flags.contains(F::CLONE_FILES) && Rc::strong_count(&files) > 2)
            .then(|| Rc::new(RefCell::new(files.borrow().dup_fd())));
        drop((fs, files));
        // unshare_userns.
        let new_cred = if flags.contains(F::CLONE_NEWUSER) {
            let mut c = (*self.t(cur).cred).clone();
            let chrooted = self.caller_state(cur).chrooted;
            let inum = self.alloc_inum();
            let nproc = self.rlimit(cur, clonekit_flags::RLIMIT_NPROC).0;
            create_user_ns(&mut c, chrooted, inum, self.user_ns_refused, nproc).map_err(|r| r.errno)?;
            Some(Rc::new(c))
        } else {
            None
        };
        // unshare_nsproxy_namespaces.
        let ns_flags = flags
            & (F::CLONE_NEWNS
                | F::CLONE_NEWUTS
                | F::CLONE_NEWIPC
                | F::CLONE_NEWNET
                | F::CLONE_NEWPID
                | F::CLONE_NEWCGROUP
                | F::CLONE_NEWTIME);
        let new_nsproxy = if ns_flags.is_empty() {
            None
        } else {
            let cred = new_cred.clone().unwrap_or_else(|| self.t(cur).cred.clone());
            if !cred.ns_capable(&cred.user_ns, clonekit_flags::CAP_SYS_ADMIN) {
                return Err(Errno::EPERM);
            }
            Some(Rc::new(self.create_new_namespaces(ns_flags, cur, &cred.user_ns).map_err(|r| r.errno)?))
        };
        let t = self.tm(cur);
        if do_sysvsem {
            // CLONE_SYSVSEM is equivalent to exit_sem: the undo list is let go.
            t.sysvsem = None;
        }
        if let Some(ns) = new_nsproxy {
            t.nsproxy = Some(ns);
        }
        if let Some(fs) = new_fs {
            t.fs = Some(fs);
        }
        if let Some(fd) = new_fd {
            t.files = Some(fd);
        }
        if let Some(c) = new_cred {
            // unshare commits the new credentials (the creator owns the new namespace, so
            // they are no more than the old ones).
            self.commit_creds(cur, (*c).clone());
        }
        Ok(())
    }

    /// `check_unshare_flags` (kernel/fork.c).
    fn check_unshare_flags(&self, cur: TaskId, flags: CloneFlags) -> Result<(), Errno> {
        let allowed = F::CLONE_THREAD
            | F::CLONE_FS
            | F::CLONE_NEWNS
            | F::CLONE_SIGHAND
            | F::CLONE_VM
            | F::CLONE_FILES
            | F::CLONE_SYSVSEM
            | F::CLONE_NEWUTS
            | F::CLONE_NEWIPC
            | F::CLONE_NEWNET
            | F::CLONE_NEWUSER
            | F::CLONE_NEWPID
            | F::CLONE_NEWCGROUP
            | F::CLONE_NEWTIME;
        if !allowed.contains(flags) {
            return Err(Errno::EINVAL);
        }
        let t = self.t(cur);
        if flags.intersects(F::CLONE_THREAD | F::CLONE_SIGHAND | F::CLONE_VM)
            && t.signal.borrow().threads.len() > 1
        {
            return Err(Errno::EINVAL);
        }
        if flags.intersects(F::CLONE_SIGHAND | F::CLONE_VM) && Rc::strong_count(&t.sighand) > 1 {
            return Err(Errno::EINVAL);
        }
        if flags.contains(F::CLONE_VM) {
            // current_is_single_threaded: no other task uses the mm.
            if t.mm.as_ref().is_some_and(|mm| Rc::strong_count(mm) > 1) {
                return Err(Errno::EINVAL);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel functions whose rules `copy_process`'s steps raise (besides the flag checks
    /// before the pending-signal check).
    const STEP_FUNCTIONS: [&str; 13] = [
        "create_user_ns",
        "copy_fs",
        "copy_namespaces",
        "create_new_namespaces",
        "copy_pid_ns",
        "create_pid_namespace",
        "do_arch_prctl_64",
        "alloc_pid",
        "__pidfd_prepare",
        "cgroup_css_set_fork",
        "cgroup_get_from_file",
        "cgroup_may_write",
        "pids_can_fork",
    ];

    #[test]
    fn every_decidable_rule_is_raised_by_the_step_that_checks_it() {
        for r in RULES.iter().filter(|r| r.decidable() && !r.clone3_only()) {
            let placed = checked_before_signals(r)
                || STEP_FUNCTIONS.contains(&r.function)
                || ["L1", "L2", "D2"].contains(&r.id)
                || ["cgroup_attach_permissions", "cgroup_migrate_vet_dst"].contains(&r.function);
            assert!(placed, "rule {} ({}) is raised by no step of copy_process", r.id, r.function);
        }
    }
}
