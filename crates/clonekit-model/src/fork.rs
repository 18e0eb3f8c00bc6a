//! Process creation (kernel/fork.c): the entry points `fork`, `vfork`, `clone`, `clone3`, the
//! seed's `do_fork`, `kernel_clone`, and `copy_process` with its `copy_*` helpers in the
//! kernel's order. Each step is recorded in a [`CopyProcessRecord`].

use std::cell::RefCell;
use std::rc::Rc;

use clonekit_flags::{
    rule, violations, CallerState, CloneArgs, CloneCall, CloneFlags, Errno, ExitSignal, KernelCloneArgs,
    Rule, CLONE_ARGS_SIZE_VER2, CSIGNAL, PAGE_SIZE as CLONE3_MAX_SIZE, RULES, TASK_SIZE_MAX_4LEVEL,
};
use serde::Serialize;

use crate::cred::create_user_ns;
use crate::file::{File, FileKind};
use crate::mm::access_ok;
use crate::pid::Pid;
use crate::sched::{Block, Kernel, Syscall, Task, TaskId, TaskState};
use crate::signal::{SigAltStack, SignalStruct};

use CloneFlags as F;

/// What one step of `copy_process` did with its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The child uses the caller's object (a reference taken).
    Shared,
    /// The child got a copy.
    Copied,
    /// The child got a new, empty or fresh object.
    New,
    /// The child starts without one, or with it reset.
    Reset,
    /// The child got it from the call's arguments.
    Set,
    /// The step had nothing to do.
    Skipped,
    /// The step failed: the call returns its errno.
    Failed,
}

/// One step of `copy_process` (or of `kernel_clone` around it).
#[derive(Debug, Clone, Serialize)]
pub struct CopyStep {
    /// The kernel function (`copy_mm`).
    pub function: &'static str,
    /// What it did.
    pub outcome: Outcome,
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

    fn step(&mut self, function: &'static str, outcome: Outcome, detail: &'static str) {
        self.steps.push(CopyStep { function, outcome, detail });
    }

    /// Records a failure: the rule by id (from clonekit-flags' table) and its errno.
    fn fail(&mut self, function: &'static str, rule: &'static str, errno: Errno) -> Errno {
        self.step(function, Outcome::Failed, rule_reason(rule));
        self.rule = Some(rule);
        self.errno = Some(errno);
        errno
    }

    fn fail_rule(&mut self, rule: &'static Rule) -> Errno {
        self.step(rule.function, Outcome::Failed, rule.reason);
        self.rule = Some(rule.id);
        self.errno = Some(rule.errno);
        rule.errno
    }

    /// The step recorded for `function`, if the call got that far.
    pub fn outcome(&self, function: &str) -> Option<Outcome> {
        self.steps.iter().find(|s| s.function == function).map(|s| s.outcome)
    }
}

fn rule_reason(id: &str) -> &'static str {
    clonekit_flags::rule(id).map_or("", |r| r.reason)
}

/// What a successful clone returns: the child, and its pid as the caller sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forked {
    /// The new task.
    pub child: TaskId,
    /// Its pid in the caller's pid namespace (what the syscall returns).
    pub nr: i32,
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
            cap_sys_admin: t.cred.ns_capable(&t.cred.user_ns),
            pid_ns_for_children_differs: differs,
            pid_ns_level: active.level,
            kernel: (6, 18),
            task_size_max: TASK_SIZE_MAX_4LEVEL,
        }
    }

    /// `copy_process` (kernel/fork.c): the new task, its resources shared or copied as the
    /// flags say, linked into the task tree. Rules that only need the call and the caller come
    /// from clonekit-flags, in the kernel's order; the ones that need state are decided here.
    fn copy_process(
        &mut self,
        cur: TaskId,
        k: &KernelCloneArgs,
        set_tid: &[i32],
        rec: &mut CopyProcessRecord,
    ) -> Result<(TaskId, Option<i32>), Errno> {
        let flags = k.flags;
        // The flag-combination checks (fork.c:2179‑2227) and every later rule decidable from
        // the call and the caller: the first broken one is what Linux returns.
        let caller = self.caller_state(cur);
        let broken =
            violations(&rules_call(k, set_tid.len()), &caller).into_iter().find(|r| !r.clone3_only());
        if let Some(rule) = broken.filter(|r| checked_before_signals(r)) {
            return Err(rec.fail_rule(rule));
        }
        // fork.c:2238: recalc_sigpending(); a pending signal (or group stop) is taken first
        // and the call made again (-ERESTARTNOINTR, never seen by user space): after a
        // handler or an ignored signal at once, after a stop at SIGCONT, after a fatal one
        // never.
        if self.signal_pending(cur) {
            self.deliver_pending(cur);
            // Killed (and perhaps released at once), stopped, or free to go on.
            let gone_or_stopped =
                self.task(cur).is_none_or(|t| t.exiting || t.stopped || t.state != TaskState::Running);
            if gone_or_stopped {
                return Err(rec.fail_rule(rule("S1").expect("clonekit-flags has rule S1")));
            }
            rec.step(
                "copy_process",
                Outcome::Set,
                "a pending signal was taken first, then the call made again",
            );
        }
        if let Some(rule) = broken {
            return Err(rec.fail_rule(rule));
        }
        rec.step("copy_process", Outcome::Set, "flag checks passed (clonekit-flags rules)");

        let (parent_blocked, parent_sas, parent_tls, self_exec_id) = {
            let p = self.t(cur);
            (p.blocked, p.sas, p.tls, p.self_exec_id)
        };
        rec.step("dup_task_struct", Outcome::Copied, "task_struct copied: blocked mask, sigaltstack, TLS");

        // copy_creds (kernel/cred.c): a thread shares the creds; anything else gets a copy.
        let parent_cred = self.t(cur).cred.clone();
        let cred = if flags.contains(F::CLONE_THREAD) {
            rec.step("copy_creds", Outcome::Shared, "CLONE_THREAD: same struct cred");
            parent_cred
        } else {
            let mut c = (*parent_cred).clone();
            if flags.contains(F::CLONE_NEWUSER) {
                let inum = self.alloc_inum();
                if let Err(e) = create_user_ns(&mut c, caller.chrooted, inum, self.user_ns_refused) {
                    let rule = match e {
                        Errno::ENOSPC => "U3",
                        _ if caller.chrooted => "U1",
                        _ => "U2",
                    };
                    return Err(rec.fail("copy_creds", rule, e));
                }
                rec.step("copy_creds", Outcome::New, "prepare_creds copy in a new user namespace");
            } else {
                rec.step("copy_creds", Outcome::Copied, "prepare_creds copy");
            }
            Rc::new(c)
        };

        // copy_semundo (ipc/sem.c).
        let sysvsem = if flags.contains(F::CLONE_SYSVSEM) {
            // get_undo_list allocates the list if the caller has none yet.
            let list = self.t(cur).sysvsem.clone().unwrap_or_default();
            self.tm(cur).sysvsem = Some(list.clone());
            rec.step("copy_semundo", Outcome::Shared, "CLONE_SYSVSEM: same undo list");
            Some(list)
        } else {
            rec.step("copy_semundo", Outcome::Reset, "no undo list");
            None
        };

        // copy_files.
        let parent_files = self.t(cur).files.clone().expect("a live task has a files_struct");
        let files = if flags.contains(F::CLONE_FILES) {
            rec.step("copy_files", Outcome::Shared, "CLONE_FILES: same fd table");
            parent_files
        } else {
            rec.step("copy_files", Outcome::Copied, "dup_fd: new table, same open file descriptions");
            Rc::new(RefCell::new(parent_files.borrow().dup_fd()))
        };

        // copy_fs.
        let parent_fs = self.t(cur).fs.clone().expect("a live task has an fs_struct");
        let fs = if flags.contains(F::CLONE_FS) {
            // fork.c:1785: a user of the fs_struct is in execve (rule F1).
            if parent_fs.borrow().in_exec {
                return Err(rec.fail("copy_fs", "F1", Errno::EAGAIN));
            }
            rec.step("copy_fs", Outcome::Shared, "CLONE_FS: same root, cwd, umask");
            parent_fs
        } else {
            rec.step("copy_fs", Outcome::Copied, "copy_fs_struct: own root, cwd, umask");
            Rc::new(RefCell::new(parent_fs.borrow().copy_fs_struct()))
        };

        // copy_sighand.
        let parent_sighand = self.t(cur).sighand.clone();
        let sighand = if flags.contains(F::CLONE_SIGHAND) {
            rec.step("copy_sighand", Outcome::Shared, "CLONE_SIGHAND: same handler table");
            parent_sighand
        } else {
            let mut table = parent_sighand.borrow().clone();
            if flags.contains(F::CLONE_CLEAR_SIGHAND) {
                table.flush_signal_handlers();
                rec.step(
                    "copy_sighand",
                    Outcome::Reset,
                    "copy with handlers reset to SIG_DFL (SIG_IGN kept)",
                );
            } else {
                rec.step("copy_sighand", Outcome::Copied, "memcpy of the handler table");
            }
            Rc::new(RefCell::new(table))
        };

        // copy_signal.
        let parent_signal = self.t(cur).signal.clone();
        let signal = if flags.contains(F::CLONE_THREAD) {
            rec.step("copy_signal", Outcome::Shared, "CLONE_THREAD: joins the thread group");
            parent_signal.clone()
        } else {
            let ps = parent_signal.borrow();
            let mut s = SignalStruct::new(ps.pgid);
            s.rlimits = ps.rlimits;
            rec.step("copy_signal", Outcome::New, "new signal_struct: rlimits copied, no pending signals");
            Rc::new(RefCell::new(s))
        };

        // copy_mm.
        let parent_mm = self.t(cur).mm.clone();
        let mm = match parent_mm {
            None => {
                rec.step("copy_mm", Outcome::Skipped, "no mm");
                None
            }
            Some(mm) if flags.contains(F::CLONE_VM) => {
                rec.step("copy_mm", Outcome::Shared, "CLONE_VM: mmget, same mm");
                Some(mm)
            }
            Some(mm) => {
                // dup_mm (kernel/fork.c) → dup_mmap: every page shared copy-on-write.
                let copy = mm.borrow().dup_mmap();
                rec.step("copy_mm", Outcome::Copied, "dup_mm: copy-on-write copy");
                Some(Rc::new(RefCell::new(copy)))
            }
        };

        // copy_namespaces (kernel/nsproxy.c).
        let (nsproxy, new_ns) = match self.copy_namespaces(flags, cur, &cred) {
            Ok(r) => r,
            Err(e) => {
                let rule = match e {
                    Errno::EPERM => "N1",
                    Errno::ENOSPC => "N6",
                    _ if flags.contains(F::CLONE_NEWIPC | F::CLONE_SYSVSEM) => "N2",
                    _ => "N4",
                };
                return Err(rec.fail("copy_namespaces", rule, e));
            }
        };
        if new_ns {
            rec.step("copy_namespaces", Outcome::New, "create_new_namespaces: new nsproxy");
        } else {
            rec.step("copy_namespaces", Outcome::Shared, "same nsproxy");
        }

        // copy_io (block/blk-ioc.c).
        let io_context = match self.t(cur).io_context.clone() {
            None => {
                rec.step("copy_io", Outcome::Skipped, "the caller has no io_context");
                None
            }
            Some(ioc) if flags.contains(F::CLONE_IO) => {
                rec.step("copy_io", Outcome::Shared, "CLONE_IO: same io_context");
                Some(ioc)
            }
            Some(ioc) if ioc.borrow().ioprio_valid() => {
                let prio = ioc.borrow().ioprio;
                rec.step("copy_io", Outcome::Copied, "new io_context with the caller's ioprio");
                Some(Rc::new(RefCell::new(crate::blk_ioc::IoContext { ioprio: prio })))
            }
            Some(_) => {
                rec.step("copy_io", Outcome::Reset, "no ioprio set: no io_context");
                None
            }
        };

        // copy_thread (arch/x86/kernel/process.c): TLS and stack.
        let tls = if flags.contains(F::CLONE_SETTLS) {
            rec.step("copy_thread", Outcome::Set, "CLONE_SETTLS: FS base from tls");
            k.tls
        } else {
            rec.step("copy_thread", Outcome::Copied, "registers and FS base copied");
            parent_tls
        };
        rec.step(
            "copy_thread",
            if k.stack != 0 { Outcome::Set } else { Outcome::Shared },
            if k.stack != 0 {
                "stack pointer from the call"
            } else {
                "the caller's stack pointer (no stack given)"
            },
        );

        // alloc_pid (kernel/pid.c), in the child's pid namespace for children.
        let pid_ns = nsproxy.pid_ns_for_children.clone();
        let set_tid = &set_tid[..set_tid.len().min(k.set_tid_size as usize)];
        let caller_cred = self.t(cur).cred.clone();
        let numbers = match self.alloc_pid(&pid_ns, set_tid, &caller_cred) {
            Ok(n) => n,
            Err(e) => {
                let rule = match e {
                    Errno::EEXIST => "A5",
                    Errno::EPERM => "A4",
                    Errno::EAGAIN => "A6",
                    Errno::ENOMEM => "A7",
                    _ if set_tid.len() > pid_ns.level as usize + 1 => "A1",
                    _ if set_tid.iter().any(|t| !(1..crate::pid::PID_MAX).contains(t)) => "A2",
                    _ => "A3",
                };
                return Err(rec.fail("alloc_pid", rule, e));
            }
        };
        rec.pid_numbers = numbers.iter().map(|u| u.nr).collect();
        let pid = Rc::new(Pid { numbers });
        rec.step(
            "alloc_pid",
            Outcome::New,
            if pid.level() > self.t(cur).pid.level() {
                "a pid in each level, 1 in the new pid namespace"
            } else {
                "a pid in each pid namespace level"
            },
        );

        // pidfd (fork.c:2446): reserved in the caller's table, stored at args->pidfd, installed
        // after the child is linked in (so a non-CLONE_FILES child never sees it).
        let pidfd = if flags.contains(F::CLONE_PIDFD) {
            let files = self.t(cur).files.clone().expect("a live task has a files_struct");
            let free =
                files.borrow().fds.iter().position(Option::is_none).unwrap_or(files.borrow().fds.len());
            if free >= crate::file::NR_OPEN_DEFAULT {
                self.free_pid(&pid, self.init_task);
                return Err(rec.fail("__pidfd_prepare", "D1", Errno::EMFILE));
            }
            // fork.c:2455: put_user(pidfd, args->pidfd) (rule D2).
            if !access_ok(k.pidfd, 4) {
                self.free_pid(&pid, self.init_task);
                return Err(rec.fail("copy_process", "D2", Errno::EFAULT));
            }
            // The number is in the caller's memory from here on, even if a later step fails
            // and the reserved descriptor is let go (put_unused_fd).
            self.store_user(cur, k.pidfd, free as u32);
            rec.step("pidfd", Outcome::New, "O_CLOEXEC pidfd reserved in the caller's table");
            Some(free as i32)
        } else {
            None
        };

        // CLONE_INTO_CGROUP (cgroup_can_fork): the model has no cgroup2 directory to open, so
        // any descriptor is not one (rule G1).
        if flags.contains(F::CLONE_INTO_CGROUP) {
            self.free_pid(&pid, self.init_task);
            return Err(rec.fail("cgroup_css_set_fork", "G1", Errno::EBADF));
        }

        // fork.c:2469: a CLONE_VM child that is not a vfork child gets no sigaltstack.
        let sas = if flags & (F::CLONE_VM | F::CLONE_VFORK) == F::CLONE_VM {
            rec.step("sas_ss_reset", Outcome::Reset, "CLONE_VM without CLONE_VFORK: sigaltstack disabled");
            SigAltStack::default()
        } else {
            rec.step("sas_ss_reset", Outcome::Copied, "sigaltstack inherited");
            parent_sas
        };

        // No failure past this point: the task gets its slot.
        let id = self.alloc_task_id();
        // Parent linkage and exit signal (fork.c:2548‑2560).
        let (real_parent, exit_signal, parent_exec_id, leader) = {
            let p = self.t(cur);
            if flags.intersects(F::CLONE_PARENT | F::CLONE_THREAD) {
                let exit_signal = if flags.contains(F::CLONE_THREAD) {
                    rec.step("parent", Outcome::Shared, "CLONE_THREAD: caller's parent, exit_signal -1");
                    -1
                } else {
                    rec.step(
                        "parent",
                        Outcome::Shared,
                        "CLONE_PARENT: caller's parent, its leader's exit_signal",
                    );
                    self.t(p.group_leader).exit_signal
                };
                let leader = if flags.contains(F::CLONE_THREAD) { p.group_leader } else { id };
                (p.real_parent, exit_signal, p.parent_exec_id, leader)
            } else {
                rec.step("parent", Outcome::Set, "the caller is the parent, exit_signal from the call");
                // A legacy exit signal is any byte; only valid ones are ever sent.
                (cur, (k.exit_signal.raw() & CSIGNAL) as i32, self_exec_id, id)
            }
        };

        self.next_serial += 1;
        let task = Task {
            id,
            state: TaskState::Running,
            exiting: false,
            exit_code: 0,
            pid: pid.clone(),
            group_leader: leader,
            real_parent,
            children: Vec::new(),
            exit_signal,
            pdeath_signal: 0,
            mm,
            fs: Some(fs),
            files: Some(files),
            sighand,
            signal: signal.clone(),
            cred,
            nsproxy: Some(nsproxy),
            blocked: parent_blocked,
            pending: Vec::new(),
            sysvsem,
            io_context,
            sas,
            set_child_tid: if flags.contains(F::CLONE_CHILD_SETTID) { k.child_tid } else { 0 },
            clear_child_tid: if flags.contains(F::CLONE_CHILD_CLEARTID) { k.child_tid } else { 0 },
            vfork_done: None,
            self_exec_id,
            parent_exec_id,
            block: None,
            handled: 0,
            tls,
            serial: self.next_serial,
            stopped: false,
            stop_pending: false,
            sigpending: false,
            stopped_resume: None,
        };
        self.install_task(task);
        self.attach_pid(&pid, id);
        if leader == id {
            // is_child_reaper: pid 1 of a new namespace becomes its init (fork.c:2602).
            if pid.numbers.last().is_some_and(|u| u.nr == 1) {
                pid.ns().child_reaper.set(Some(id));
                signal.borrow_mut().unkillable = true;
            }
            let rp = self.t(real_parent).signal.clone();
            let inherit = {
                let r = rp.borrow();
                r.has_child_subreaper || r.is_child_subreaper
            };
            {
                let mut s = signal.borrow_mut();
                s.has_child_subreaper = inherit;
                s.threads.push(id);
                s.live += 1;
                s.quick_threads += 1;
            }
            self.tm(real_parent).children.push(id);
        } else {
            let mut s = signal.borrow_mut();
            s.threads.push(id);
            s.live += 1;
            s.quick_threads += 1;
        }
        if let Some(fd) = pidfd {
            let files = self.t(cur).files.clone().expect("a live task has a files_struct");
            let file = Rc::new(File {
                kind: FileKind::Pidfd { pid: pid.clone(), thread: flags.contains(F::CLONE_THREAD) },
                pos: std::cell::Cell::new(0),
            });
            let installed = files.borrow_mut().install(file, true).unwrap_or(fd);
            self.store_user(cur, k.pidfd, installed as u32);
        }
        Ok((id, pidfd))
    }

    /// Stores a 32-bit word in `id`'s memory, ignoring faults (`put_user` whose error the
    /// caller drops).
    pub(crate) fn store_user(&mut self, id: TaskId, addr: u64, value: u32) {
        if !access_ok(addr, 4) || !addr.is_multiple_of(4) {
            return;
        }
        if let Some(mm) = self.task(id).and_then(|t| t.mm.clone()) {
            mm.borrow_mut().store(addr, value);
        }
    }

    /// `kernel_clone` (kernel/fork.c): `copy_process`, then the parent-side tid write, the
    /// vfork setup and the child's first run (`schedule_tail`'s child-tid write). A
    /// `CLONE_VFORK` caller sleeps until the child releases its mm. `set_tid` is the array
    /// `clone3` copied in (`kernel_clone_args.set_tid`), deepest namespace first.
    pub fn kernel_clone(
        &mut self,
        cur: TaskId,
        args: &KernelCloneArgs,
        set_tid: &[i32],
    ) -> Result<Syscall<Forked>, Errno> {
        self.current(cur)?;
        let mut rec = CopyProcessRecord::new(args);
        let result = self.copy_process(cur, args, set_tid, &mut rec);
        let (child, _) = match result {
            Ok(r) => r,
            Err(e) => {
                self.keep_record(rec);
                if e == Errno::ERESTARTNOINTR && self.task(cur).is_some_and(|t| t.stopped && !t.exiting) {
                    // Stopped by the pending signal: the call is made again at SIGCONT.
                    self.sleep(cur, Block::Restart { args: *args, set_tid: set_tid.to_vec() });
                    return Ok(Syscall::Blocked);
                }
                return Err(e);
            }
        };
        let pid = self.t(child).pid.clone();
        let nr = self.pid_vnr(cur, &pid);
        if args.flags.contains(F::CLONE_PARENT_SETTID) {
            // fork.c:2849: put_user(nr, args->parent_tid), in the caller's memory.
            self.store_user(cur, args.parent_tid, nr as u32);
            rec.step("kernel_clone", Outcome::Set, "CLONE_PARENT_SETTID: tid stored in the caller's memory");
        }
        // schedule_tail (kernel/sched/core.c): the child stores its own tid, in its memory.
        let set_child_tid = self.t(child).set_child_tid;
        if set_child_tid != 0 {
            let own = self.pid_vnr(child, &pid);
            self.store_user(child, set_child_tid, own as u32);
            rec.step("schedule_tail", Outcome::Set, "CLONE_CHILD_SETTID: tid stored in the child's memory");
        }
        let vfork = args.flags.contains(F::CLONE_VFORK);
        if vfork {
            self.tm(child).vfork_done = Some(cur);
            rec.step(
                "kernel_clone",
                Outcome::Set,
                "CLONE_VFORK: the caller sleeps until the child execs or exits",
            );
        }
        self.keep_record(rec);
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
        // copy_clone_args_from_user: C1 and C2 come before reading anything.
        if size > CLONE3_MAX_SIZE {
            return self.clone3_fail("C1", Errno::E2BIG);
        }
        if size < 64 {
            return self.clone3_fail("C2", Errno::EINVAL);
        }
        // copy_struct_from_user: the bytes must be readable (rule C4).
        if (uargs.len() as u64) < size {
            return self.clone3_fail("C4", Errno::EFAULT);
        }
        let known = (size as usize).min(CLONE_ARGS_SIZE_VER2);
        let (args, _) = CloneArgs::from_bytes(&uargs[..known]);
        let nonzero_tail = uargs[known..size as usize].iter().any(|&b| b != 0);
        let call = CloneCall::Clone3 { args, size, nonzero_tail };
        let caller = self.caller_state(cur);
        if let Some(rule) = violations(&call, &caller).into_iter().find(|r| r.clone3_only()) {
            return self.clone3_fail(rule.id, rule.errno);
        }
        // Copy the set_tid array (rule C9: it must be readable).
        let mut set_tid = Vec::with_capacity(args.set_tid_size as usize);
        if args.set_tid_size > 0 {
            let mm = self.t(cur).mm.clone();
            let Some(mm) = mm else { return self.clone3_fail("C9", Errno::EFAULT) };
            if !access_ok(args.set_tid, 4 * args.set_tid_size) || args.set_tid % 4 != 0 {
                return self.clone3_fail("C9", Errno::EFAULT);
            }
            let mm = mm.borrow();
            for i in 0..args.set_tid_size {
                set_tid.push(mm.load(args.set_tid + 4 * i) as i32);
            }
        }
        let mut k = call.kernel_args();
        // clone3_stack_valid: the kernel is given the stack's top on grows-down arches.
        if k.stack != 0 {
            k.stack = k.stack.wrapping_add(k.stack_size);
        }
        self.kernel_clone(cur, &k, &set_tid)
    }

    fn clone3_fail(&mut self, rule: &'static str, errno: Errno) -> Result<Syscall<Forked>, Errno> {
        if self.recording {
            let mut rec = CopyProcessRecord::new(&KernelCloneArgs::default());
            rec.fail("clone3", rule, errno);
            self.last_copy = Some(rec);
        }
        Err(errno)
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
            create_user_ns(&mut c, chrooted, inum, self.user_ns_refused)?;
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
            if !cred.ns_capable(&cred.user_ns) {
                return Err(Errno::EPERM);
            }
            Some(Rc::new(self.create_new_namespaces(ns_flags, cur, &cred.user_ns)?))
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
            t.cred = c;
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
