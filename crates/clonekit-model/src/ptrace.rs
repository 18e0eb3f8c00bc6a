//! ptrace (kernel/ptrace.c): `ptrace_may_access`, the permission `PTRACE_ATTACH`,
//! `pidfd_getfd` and `setns` ask for with the real credentials (`PTRACE_MODE_*_REALCREDS`) and
//! `/proc/PID/ns` with the file-system ones (`PTRACE_MODE_READ_FSCREDS`), with the capability
//! rule of security/commoncap.c (`cap_ptrace_access_check`); the requests `PTRACE_TRACEME`,
//! `PTRACE_ATTACH`, `PTRACE_SEIZE`, `PTRACE_CONT`, `PTRACE_DETACH`, `PTRACE_SETOPTIONS`,
//! `PTRACE_GETEVENTMSG` and `PTRACE_KILL`; the link between tracer and tracee
//! (`__ptrace_link`, `__ptrace_unlink`, include/linux/ptrace.h's `ptrace_init_task`); the
//! stops (kernel/signal.c's `ptrace_stop`, `ptrace_signal`, `do_jobctl_trap`,
//! `ptrace_event`); and the tracer's exit (`exit_ptrace`, `__ptrace_detach`).
//!
//! A traced task's `parent` is its tracer ([`Kernel::tracer`]), while `real_parent` stays
//! who made it: the tracer is told of every stop and exit (and waits for them as for a
//! child, [`Kernel::do_wait`]), the real parent of group stops and, once the tracer has seen
//! it, of the exit. A task in a ptrace stop (`TASK_TRACED`) runs nothing until its tracer
//! resumes or detaches it, or `SIGKILL` ends it; the model shows it as
//! [`TaskState::Stopped`](crate::TaskState::Stopped), like a group stop. Not modelled:
//! syscall stops (`PTRACE_SYSCALL`), single-stepping, `PTRACE_INTERRUPT` and `PTRACE_LISTEN`,
//! the register and memory requests, Yama, and the `PTRACE_EVENT_EXIT` stop (its option,
//! `PTRACE_O_TRACEEXIT`, is refused with `EINVAL`).

use std::rc::Rc;

use clonekit_flags::{
    Errno, CAP_SYS_ADMIN, CAP_SYS_PTRACE, CLD_STOPPED, CLD_TRAPPED, PTRACE_EVENT_EXEC, PTRACE_EVENT_STOP,
    PTRACE_EVENT_VFORK_DONE, PTRACE_O_EXITKILL, PTRACE_O_MASK, PTRACE_O_SUSPEND_SECCOMP, PTRACE_O_TRACEEXIT,
    SUID_DUMP_USER,
};

use crate::pid::Pid;
use crate::sched::{Kernel, PtraceStop, TaskId, TaskState};
use crate::signal::Disposition;

/// `PT_PTRACED`: the task is traced.
pub(crate) const PT_PTRACED: u32 = 0x1;
/// `PT_SEIZED`: traced by `PTRACE_SEIZE` (or by a child's inheritance of it).
pub(crate) const PT_SEIZED: u32 = 0x1_0000;
/// `PT_OPT_FLAG_SHIFT`: the `PTRACE_O_*` options sit in `ptrace` this far up.
const PT_OPT_FLAG_SHIFT: u32 = 3;
/// `PT_EXITKILL`.
const PT_EXITKILL: u32 = PTRACE_O_EXITKILL << PT_OPT_FLAG_SHIFT;
/// `PT_SUSPEND_SECCOMP`.
const PT_SUSPEND_SECCOMP: u32 = PTRACE_O_SUSPEND_SECCOMP << PT_OPT_FLAG_SHIFT;

/// `valid_signal`: 0 to `_NSIG` (64).
fn valid_signal(sig: u32) -> bool {
    sig <= clonekit_flags::NSIG
}

/// `PT_EVENT_FLAG(event)`: the `ptrace` bit of the option that asks for `event`'s stop.
fn pt_event_flag(event: u32) -> u32 {
    1 << (PT_OPT_FLAG_SHIFT + event)
}

/// `SIGTRAP`: what every event stop reports, and the legacy exec report.
const SIGTRAP: u32 = clonekit_flags::Signal::SIGTRAP.number();
use crate::signal::SIGKILL;
const SIGSTOP: u32 = clonekit_flags::Signal::SIGSTOP.number();
const SIGCHLD: u32 = clonekit_flags::Signal::SIGCHLD.number();

impl Kernel {
    /// `__ptrace_may_access(task, PTRACE_MODE_ATTACH_REALCREDS)`: a thread of the caller's own
    /// group, always. Otherwise the caller's real uid must be the target's real, effective and
    /// saved uid (the gids never differ here), or the caller must have `CAP_SYS_PTRACE` over
    /// the target's user namespace; a target whose memory is not dumpable needs
    /// `CAP_SYS_PTRACE` over the memory's user namespace; and `cap_ptrace_access_check` wants
    /// the same user namespace and a permitted set that covers the target's, or
    /// `CAP_SYS_PTRACE` over the target's user namespace.
    pub(crate) fn ptrace_may_access(&self, cur: TaskId, task: TaskId) -> bool {
        self.ptrace_may_access_mode(cur, task, false)
    }

    /// `__ptrace_may_access(task, PTRACE_MODE_READ_FSCREDS)`: as with the real credentials,
    /// but the caller's uid is its file-system uid, and `cap_ptrace_access_check` covers the
    /// target's permitted set with the caller's effective one.
    pub(crate) fn ptrace_may_access_fscreds(&self, cur: TaskId, task: TaskId) -> bool {
        self.ptrace_may_access_mode(cur, task, true)
    }

    /// `init_user_ns`: the user namespace of the machine's init.
    fn init_user_ns(&self) -> Rc<crate::cred::UserNamespace> {
        self.t(self.init_task).cred.user_ns.clone()
    }

    fn ptrace_may_access_mode(&self, cur: TaskId, task: TaskId, fscreds: bool) -> bool {
        let (me, them) = (self.t(cur), self.t(task));
        if Rc::ptr_eq(&me.signal, &them.signal) {
            return true;
        }
        let (cred, tcred) = (&me.cred, &them.cred);
        let ptrace_has_cap = |ns: &crate::cred::UserNamespace| cred.ns_capable(ns, CAP_SYS_PTRACE);
        let caller_uid = if fscreds { cred.fsuid } else { cred.uid };
        let same_user = caller_uid == tcred.euid && caller_uid == tcred.suid && caller_uid == tcred.uid;
        if !same_user && !ptrace_has_cap(&tcred.user_ns) {
            return false;
        }
        if let Some(mm) = &them.mm {
            let mm = mm.borrow();
            let mm_ns = mm.user_ns.clone().unwrap_or_else(|| tcred.user_ns.clone());
            if mm.dumpable != SUID_DUMP_USER && !ptrace_has_cap(&mm_ns) {
                return false;
            }
        } else if clonekit_flags::PTRACE_EXITED_DUMPABLE.present_in(self.linux)
            && !them.user_dumpable
            && !ptrace_has_cap(&self.init_user_ns())
        {
            // An exited task (no mm): the dumpability its memory last had, or CAP_SYS_PTRACE
            // in the initial user namespace. Before, nothing was checked.
            return false;
        }
        // cap_ptrace_access_check: the caller's permitted set (effective, with FSCREDS).
        let caller_caps = if fscreds { cred.cap_effective } else { cred.cap_permitted };
        (Rc::ptr_eq(&cred.user_ns, &tcred.user_ns) && tcred.cap_permitted & !caller_caps == 0)
            || ptrace_has_cap(&tcred.user_ns)
    }
}

impl Kernel {
    /// The tracer of `id` (`/proc/PID/status`'s `TracerPid`), if it is traced.
    pub fn tracer(&self, id: TaskId) -> Option<TaskId> {
        self.task(id).and_then(|t| t.ptracer)
    }

    /// Whether `id` is in a ptrace stop (`TASK_TRACED`, `/proc/PID/stat` state `t`): it
    /// waits for its tracer, unlike a group stop (`T`), which `SIGCONT` ends.
    pub fn in_ptrace_stop(&self, id: TaskId) -> bool {
        self.task(id).is_some_and(|t| t.ptrace_stop.is_some())
    }

    /// `ptrace(PTRACE_TRACEME, 0, 0, 0)` (`ptrace(2)`; kernel/ptrace.c `ptrace_traceme`): the
    /// caller's real parent becomes its tracer (`ptrace_link`; the `ptracer_cred` it records
    /// matters only to a set-id exec, which the model has none of). `EPERM` if the caller is
    /// already traced, or if `cap_ptrace_traceme` refuses: the parent must share its user
    /// namespace and hold every permitted capability of the caller's, or have
    /// `CAP_SYS_PTRACE` over it. A parent that is exiting (past `exit_ptrace`) is not linked,
    /// and the call still returns 0.
    pub fn sys_ptrace_traceme(&mut self, cur: TaskId) -> Result<(), Errno> {
        self.current(cur)?;
        let me = self.t(cur);
        if me.ptrace != 0 {
            return Err(Errno::EPERM);
        }
        // security_ptrace_traceme(current->parent): the real parent, as the caller is not
        // traced.
        let parent = me.real_parent;
        let Some(p) = self.task(parent) else { return Ok(()) };
        if !crate::commoncap::cap_ptrace_traceme(&p.cred, &me.cred) {
            return Err(Errno::EPERM);
        }
        if !p.exiting {
            self.tm(cur).ptrace = PT_PTRACED;
            self.ptrace_link(cur, parent);
        }
        Ok(())
    }

    /// `ptrace(PTRACE_ATTACH, pid, 0, 0)` and, with `seize`, `ptrace(PTRACE_SEIZE, pid, 0,
    /// options)` (`ptrace(2)`; kernel/ptrace.c `ptrace_attach`): the caller traces the task
    /// `pid` names in its pid namespace. `PTRACE_ATTACH` sends it `SIGSTOP` (it stops in a
    /// signal-delivery-stop) and ignores `options`, as the kernel ignores `data`;
    /// `PTRACE_SEIZE` does not stop it and sets `options`. A task in a group stop is moved
    /// into a ptrace stop at once (`JOBCTL_TRAP_STOP`), which its tracer's wait reports.
    ///
    /// Errors, in the kernel's order: `ESRCH` for no such task; `EIO` for a seize with an
    /// option outside `PTRACE_O_MASK`; for `PTRACE_O_SUSPEND_SECCOMP`, `EPERM` without
    /// `CAP_SYS_ADMIN` (`check_ptrace_options`); `EPERM` for a thread of the caller's own
    /// group, a task `ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS)` refuses, a task that
    /// has exited (`exit_state`) or one already traced. The model refuses
    /// `PTRACE_O_TRACEEXIT`, whose stop it does not model, with `EINVAL` (the kernel accepts
    /// it).
    pub fn sys_ptrace_attach(
        &mut self,
        cur: TaskId,
        pid: i32,
        seize: bool,
        options: u32,
    ) -> Result<(), Errno> {
        self.current(cur)?;
        let task = self.find_task_by_vpid(cur, pid).ok_or(Errno::ESRCH)?;
        let flags = if seize {
            // ptrace_attach and ptrace_setoptions have always used different errors for an
            // unknown option.
            if options & !PTRACE_O_MASK != 0 {
                return Err(Errno::EIO);
            }
            self.check_ptrace_options(cur, options)?;
            PT_PTRACED | PT_SEIZED | options << PT_OPT_FLAG_SHIFT
        } else {
            PT_PTRACED
        };
        if self.same_thread_group(task, cur) {
            return Err(Errno::EPERM);
        }
        if !self.ptrace_may_access(cur, task) {
            return Err(Errno::EPERM);
        }
        let t = self.t(task);
        if t.exiting || t.state == TaskState::Zombie || t.ptrace != 0 {
            return Err(Errno::EPERM);
        }
        self.tm(task).ptrace = flags;
        self.ptrace_link(task, cur);
        if !seize {
            // send_sig_info(SIGSTOP, SEND_SIG_PRIV, task): to the thread, from the kernel.
            self.send_signal(None, SIGSTOP, task, false);
        }
        // A task already in a group stop goes from TASK_STOPPED to TASK_TRACED: it traps with
        // the stop's signal (JOBCTL_TRAP_STOP), which the attach waits for (JOBCTL_TRAPPING).
        let t = self.tm(task);
        if t.stopped && !t.exiting {
            t.jobctl.trap_stop = true;
            t.stopped = false;
            self.deliver_pending(task);
        }
        self.wake_waiters();
        Ok(())
    }

    /// `ptrace(PTRACE_CONT, pid, 0, sig)` (`ptrace(2)`; kernel/ptrace.c `ptrace_resume`): the
    /// tracee leaves its ptrace stop. After a signal-delivery-stop, `sig` is the signal it
    /// then takes (handled, ignored, stopping or fatal as usual; blocked, it is queued
    /// again), 0 none; after any other stop `sig` is dropped. `ESRCH` unless the caller
    /// (this thread) traces `pid` and it is in a ptrace stop (`ptrace_check_attach`); then
    /// `EIO` for a signal above 64 (`valid_signal`).
    pub fn sys_ptrace_cont(&mut self, cur: TaskId, pid: i32, sig: u32) -> Result<(), Errno> {
        self.current(cur)?;
        let child = self.ptrace_check_attach(cur, pid)?;
        if !valid_signal(sig) {
            return Err(Errno::EIO);
        }
        self.tm(child).ptrace_code = sig as i32;
        self.ptrace_stop_return(child);
        self.wake_waiters();
        Ok(())
    }

    /// `ptrace(PTRACE_DETACH, pid, 0, sig)` (`ptrace(2)`; kernel/ptrace.c `ptrace_detach`):
    /// the tracee is untraced (its parent is its real parent again, `__ptrace_unlink`) and
    /// resumed as by `PTRACE_CONT` with `sig`; if its group is stopped (or stopping), it
    /// takes part in the group stop instead of running. Errors as for
    /// [`Kernel::sys_ptrace_cont`].
    pub fn sys_ptrace_detach(&mut self, cur: TaskId, pid: i32, sig: u32) -> Result<(), Errno> {
        self.current(cur)?;
        let child = self.ptrace_check_attach(cur, pid)?;
        if !valid_signal(sig) {
            return Err(Errno::EIO);
        }
        self.tm(child).ptrace_code = sig as i32;
        // __ptrace_detach: the tracee is alive (it is in a ptrace stop), so nothing is
        // released.
        self.ptrace_detach_task(cur, child);
        self.wake_waiters();
        Ok(())
    }

    /// `ptrace(PTRACE_SETOPTIONS, pid, 0, options)` (`ptrace(2)`; kernel/ptrace.c
    /// `ptrace_setoptions`): replaces the tracee's options. `ESRCH` as for
    /// [`Kernel::sys_ptrace_cont`]; `EINVAL` for a bit outside `PTRACE_O_MASK`; `EPERM` for
    /// `PTRACE_O_SUSPEND_SECCOMP` without `CAP_SYS_ADMIN` (`check_ptrace_options`). The model
    /// refuses `PTRACE_O_TRACEEXIT` with `EINVAL`.
    pub fn sys_ptrace_setoptions(&mut self, cur: TaskId, pid: i32, options: u32) -> Result<(), Errno> {
        self.current(cur)?;
        let child = self.ptrace_check_attach(cur, pid)?;
        self.check_ptrace_options(cur, options)?;
        let t = self.tm(child);
        t.ptrace = (t.ptrace & !(PTRACE_O_MASK << PT_OPT_FLAG_SHIFT)) | options << PT_OPT_FLAG_SHIFT;
        Ok(())
    }

    /// `ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg)` (`ptrace(2)`): the message of the tracee's
    /// event stop (`ptrace_message`): the new task's pid as the tracer sees it for a fork,
    /// vfork, clone or vfork-done event, the pid the task had before an exec (as the tracer
    /// saw it) for an exec event, 0 for any other stop. `ESRCH` as for [`Kernel::sys_ptrace_cont`].
    pub fn sys_ptrace_geteventmsg(&mut self, cur: TaskId, pid: i32) -> Result<u64, Errno> {
        self.current(cur)?;
        let child = self.ptrace_check_attach(cur, pid)?;
        Ok(self.t(child).ptrace_message)
    }

    /// `ptrace(PTRACE_KILL, pid, 0, 0)` (`ptrace(2)`): `SIGKILL` to the tracee, in any state
    /// (`ptrace_check_attach` with `ignore_state`); `ESRCH` unless the caller traces it.
    pub fn sys_ptrace_kill(&mut self, cur: TaskId, pid: i32) -> Result<(), Errno> {
        self.current(cur)?;
        let child = self.find_task_by_vpid(cur, pid).ok_or(Errno::ESRCH)?;
        let t = self.t(child);
        if t.ptrace == 0 || t.ptracer != Some(cur) {
            return Err(Errno::ESRCH);
        }
        // send_sig_info(SIGKILL, SEND_SIG_NOINFO, child): to the thread, from the caller.
        self.send_signal(Some(cur), SIGKILL, child, false);
        self.wake_waiters();
        Ok(())
    }

    /// `check_ptrace_options` (kernel/ptrace.c): only `PTRACE_O_MASK`'s bits (`EINVAL`), and
    /// `PTRACE_O_SUSPEND_SECCOMP` only for a caller with `CAP_SYS_ADMIN` in the initial user
    /// namespace that has no seccomp filter of its own (the model has none) and does not
    /// have its own filters suspended (`EPERM`). Then the option whose stop the model does not
    /// follow, `PTRACE_O_TRACEEXIT`: `EINVAL`.
    fn check_ptrace_options(&self, cur: TaskId, options: u32) -> Result<(), Errno> {
        if options & !PTRACE_O_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        if options & PTRACE_O_SUSPEND_SECCOMP != 0 {
            let me = self.t(cur);
            if !me.cred.capable(CAP_SYS_ADMIN) || me.ptrace & PT_SUSPEND_SECCOMP != 0 {
                return Err(Errno::EPERM);
            }
        }
        if options & PTRACE_O_TRACEEXIT != 0 {
            return Err(Errno::EINVAL);
        }
        Ok(())
    }

    /// `ptrace_check_attach(child, false)` (kernel/ptrace.c) after `find_get_task_by_vpid`:
    /// the task `pid` names, if it is traced by the calling thread (`child->parent ==
    /// current`) and in a ptrace stop (`ptrace_freeze_traced`): not killed, and not a task
    /// whose pid changed under an exec event the tracer has not waited for
    /// (`looks_like_a_spurious_pid`). `ESRCH` otherwise.
    fn ptrace_check_attach(&self, cur: TaskId, pid: i32) -> Result<TaskId, Errno> {
        let child = self.find_task_by_vpid(cur, pid).ok_or(Errno::ESRCH)?;
        let t = self.t(child);
        if t.ptrace == 0 || t.ptracer != Some(cur) || t.ptrace_stop.is_none() {
            return Err(Errno::ESRCH);
        }
        if t.signal.borrow().group_exit {
            return Err(Errno::ESRCH);
        }
        let exec_event = ((PTRACE_EVENT_EXEC << 8) | SIGTRAP) as i32;
        if t.ptrace_code == exec_event && self.pid_vnr(cur, &t.pid) as u64 != t.ptrace_message {
            return Err(Errno::ESRCH);
        }
        Ok(child)
    }

    /// `same_thread_group`.
    /// Whether another thread of `id`'s group is traced: an exec by `id` then waits in
    /// `de_thread` for their tracers to reap them.
    pub fn group_has_other_tracee(&self, id: TaskId) -> bool {
        self.tasks().any(|t| t != id && self.same_thread_group(t, id) && self.tracer(t).is_some())
    }

    fn same_thread_group(&self, a: TaskId, b: TaskId) -> bool {
        match (self.task(a), self.task(b)) {
            (Some(x), Some(y)) => Rc::ptr_eq(&x.signal, &y.signal),
            _ => false,
        }
    }

    /// `ptrace_reparented` (include/linux/ptrace.h): traced by a task outside its real
    /// parent's thread group.
    pub(crate) fn ptrace_reparented(&self, t: TaskId) -> bool {
        let task = self.t(t);
        task.ptracer.is_some_and(|tracer| !self.same_thread_group(task.real_parent, tracer))
    }

    /// `task->parent`: the tracer while traced, else the real parent.
    pub(crate) fn parent_of(&self, t: TaskId) -> TaskId {
        let task = self.t(t);
        task.ptracer.unwrap_or(task.real_parent)
    }

    /// `ptrace_event_enabled`: `t` is traced with the option that asks for `event`'s stop.
    pub(crate) fn ptrace_event_enabled(&self, t: TaskId, event: u32) -> bool {
        self.t(t).ptrace & pt_event_flag(event) != 0
    }

    /// `__ptrace_link` (kernel/ptrace.c): `new_parent` traces `child`, which goes at the head
    /// of its `ptraced` list.
    fn ptrace_link(&mut self, child: TaskId, new_parent: TaskId) {
        self.tm(child).ptracer = Some(new_parent);
        self.tm(new_parent).ptraced.insert(0, child);
    }

    /// `__ptrace_unlink` (kernel/ptrace.c, also `release_task`'s `ptrace_release_task`): the
    /// task is no longer traced; its parent is its real parent again. Pending traps are
    /// cleared; if its group is stopped or stopping and it is not exiting, it owes a part in
    /// the stop again (`JOBCTL_STOP_PENDING`, not counted); then it is woken
    /// (`ptrace_signal_wake_up`): out of its ptrace stop, or to take the group stop.
    pub(crate) fn ptrace_unlink(&mut self, child: TaskId) {
        let Some(c) = self.task_mut(child) else { return };
        if c.ptrace == 0 {
            return;
        }
        c.ptrace = 0;
        let tracer = c.ptracer.take();
        c.jobctl.trap_stop = false;
        c.jobctl.trap_notify = false;
        let (stopped, count) = {
            let s = c.signal.borrow();
            (s.is_stopped, s.group_stop_count)
        };
        let reinstate = !c.exiting && (stopped || count > 0);
        if reinstate {
            c.stop_pending = true;
            if c.jobctl.stop_sig == 0 {
                c.jobctl.stop_sig = SIGSTOP;
            }
        }
        let in_stop = c.ptrace_stop.is_some();
        if let Some(tr) = tracer.and_then(|t| self.task_mut(t)) {
            tr.ptraced.retain(|&x| x != child);
        }
        if in_stop {
            // Woken (ptrace_signal_wake_up); an exiting tracer's tracee runs after the exit
            // (a signal it was stopped for, a group stop it then takes, comes after the
            // tracer's orphaned process groups were looked at).
            match self.deferred_resumes.as_mut() {
                Some(later) => later.push(child),
                None => self.ptrace_stop_return(child),
            }
        } else if reinstate {
            self.deliver_pending(child);
        }
    }

    /// `__ptrace_detach` (kernel/ptrace.c): `tracer` lets go of `p`; true if `p` is a zombie
    /// now to be released. A zombie leader of an empty group is reported to its real parent
    /// now (`do_notify_parent`, which reaps it if the parent ignores `SIGCHLD`), unless the
    /// real parent is the tracer's group, which already knows of it; then it is released if
    /// the tracer ignores `SIGCHLD`. A zombie thread is always released.
    fn ptrace_detach_task(&mut self, tracer: TaskId, p: TaskId) -> bool {
        self.ptrace_unlink(p);
        let Some(t) = self.task(p) else { return false };
        if t.state != TaskState::Zombie {
            return false;
        }
        let leader = t.group_leader == p;
        let mut dead = !leader;
        if leader && self.thread_group_empty(p) {
            let real_parent = t.real_parent;
            if !self.same_thread_group(real_parent, tracer) {
                let sig = t.exit_signal;
                dead = self.do_notify_parent(p, sig);
            } else if self
                .task(tracer)
                .is_some_and(|tr| tr.sighand.borrow().get(SIGCHLD) == Disposition::Ignore)
            {
                // ignoring_children: wake a sub-thread of the tracer asleep in do_wait.
                self.wake_up_parent(p, tracer);
                dead = true;
            }
        }
        dead
    }

    /// `exit_ptrace` (kernel/ptrace.c), from the exiting `tracer`'s `forget_original_parent`:
    /// every tracee is detached (`__ptrace_detach`), after `SIGKILL` for those traced with
    /// `PTRACE_O_EXITKILL`; the zombies that are no one's any more are released. The
    /// `SIGKILL`s decide their groups' exits at once, and the tracees die once every tracee
    /// is detached (as on the kernel, where they die on their own CPUs, untraced).
    pub(crate) fn exit_ptrace(&mut self, tracer: TaskId) {
        let tracees = self.t(tracer).ptraced.clone();
        let outermost = self.deferred_kills.is_none();
        if outermost {
            self.deferred_kills = Some(Vec::new());
        }
        let mut dead = Vec::new();
        for p in tracees {
            let Some(t) = self.task(p) else { continue };
            if t.ptracer != Some(tracer) {
                continue;
            }
            if t.ptrace & PT_EXITKILL != 0 {
                // send_sig_info(SIGKILL, SEND_SIG_PRIV, p).
                self.send_signal(None, SIGKILL, p, false);
            }
            if self.ptrace_detach_task(tracer, p) {
                dead.push(p);
            }
        }
        if outermost {
            for p in self.deferred_kills.take().unwrap_or_default() {
                if self.task(p).is_some() {
                    let code = self.t(p).signal.borrow().group_exit_code;
                    self.group_kill(p, code);
                }
            }
        }
        for p in dead {
            if self.task(p).is_some() {
                self.release_task(p);
            }
        }
    }

    /// `ptrace_init_task` (include/linux/ptrace.h), from `copy_process`: with `ptrace`
    /// (`CLONE_PTRACE`, or the option for the clone's event, `trace`) and a traced caller,
    /// the child is traced by the caller's tracer with the caller's `ptrace` flags and
    /// options; a seized child starts with a `PTRACE_EVENT_STOP` trap to take
    /// (`JOBCTL_TRAP_STOP`), any other with `SIGSTOP` pending.
    pub(crate) fn ptrace_init_task(&mut self, child: TaskId, cur: TaskId, ptrace: bool) {
        let me = self.t(cur);
        if !ptrace || me.ptrace == 0 {
            return;
        }
        let (flags, tracer) = (me.ptrace, me.ptracer.expect("a traced task has a tracer"));
        self.tm(child).ptrace = flags;
        self.ptrace_link(child, tracer);
        let c = self.tm(child);
        if flags & PT_SEIZED != 0 {
            c.jobctl.trap_stop = true;
        } else if !c.pending.contains(&SIGSTOP) {
            // sigaddset(&child->pending.signal, SIGSTOP).
            c.pending.push(SIGSTOP);
        }
        c.sigpending = true;
    }

    /// `ptrace_stop` (kernel/signal.c), for `t` with the code its tracer's wait will report
    /// (`exit_code`), `why` it stops (`CLD_TRAPPED`, or `CLD_STOPPED` for a group-stop trap),
    /// the event message, and what to do when resumed. A task no longer traced, or whose
    /// group is dying (`__fatal_signal_pending`), does not stop: false. Else it enters
    /// `TASK_TRACED`; a group-stop trap takes its part in the group stop; the tracer is sent
    /// `SIGCHLD` (unless it ignores it) and its waits are woken; and a group stop this
    /// completes is told to the real parent too, unless that is the tracer's group.
    pub(crate) fn ptrace_stop(
        &mut self,
        t: TaskId,
        exit_code: i32,
        why: i32,
        message: u64,
        kind: PtraceStop,
    ) -> bool {
        let task = self.t(t);
        if task.ptrace == 0 || task.signal.borrow().group_exit {
            return false;
        }
        let task = self.tm(t);
        task.ptrace_stop = Some(kind);
        task.ptrace_code = exit_code;
        task.ptrace_message = message;
        let gstop_done = why == CLD_STOPPED && task.stop_pending && self.task_participate_group_stop(t);
        // A call that finished in this same step (a vfork whose child's exit then sent the
        // signal this stop reports) has not reached user space yet: its result waits for
        // the tracer to resume the task, as a group stop's does (Kernel::wake).
        if self.t(t).stopped_resume.is_none() {
            if let Some(i) = self.resumed.iter().position(|(_, id, _)| *id == t) {
                let entry = self.resumed.remove(i);
                self.tm(t).stopped_resume = Some(entry);
            }
        }
        // Any trap clears a pending STOP trap; a STOP trap clears NOTIFY.
        let task = self.tm(t);
        task.jobctl.trap_stop = false;
        if exit_code >> 8 == PTRACE_EVENT_STOP as i32 {
            task.jobctl.trap_notify = false;
        }
        self.notify_tracer_cldstop(t);
        if gstop_done && self.ptrace_reparented(t) {
            let leader = self.t(t).group_leader;
            self.notify_parent_cldstop(leader);
        }
        self.wake_waiters();
        true
    }

    /// `do_notify_parent_cldstop(tsk, true, why)` (kernel/signal.c): `SIGCHLD` to `t`'s
    /// tracer (unless it ignores it) and a wake-up for its waits.
    pub(crate) fn notify_tracer_cldstop(&mut self, t: TaskId) {
        let Some(tracer) = self.t(t).ptracer else { return };
        let Some(tr) = self.task(tracer) else { return };
        if tr.sighand.borrow().get(SIGCHLD) != Disposition::Ignore {
            self.send_signal(None, SIGCHLD, tracer, true);
        }
        self.wake_up_parent(t, tracer);
    }

    /// `ptrace_signal` (kernel/signal.c): a traced `t` that dequeued `sig` (from its own
    /// queue or, `shared`, its group's) stops in a signal-delivery-stop, which reports `sig`;
    /// what its tracer resumes it with is taken then ([`Kernel::ptrace_stop_return`]).
    pub(crate) fn ptrace_signal(&mut self, t: TaskId, sig: u32, shared: bool) {
        // JOBCTL_STOP_DEQUEUED whatever the signal: the tracer may give back a stop signal.
        self.tm(t).jobctl.stop_dequeued = true;
        self.ptrace_stop(t, sig as i32, CLD_TRAPPED, 0, PtraceStop::Signal { shared });
    }

    /// `do_jobctl_trap` (kernel/signal.c): a legacy tracee's group-stop reports the stop
    /// signal; a seized one's reports `PTRACE_EVENT_STOP` with the stop signal, or with
    /// `SIGTRAP` when no group stop is in effect (its first stop, a notification).
    pub(crate) fn do_jobctl_trap(&mut self, t: TaskId) -> bool {
        let task = self.t(t);
        let signr = task.jobctl.stop_sig;
        if task.ptrace & PT_SEIZED != 0 {
            let stopping = {
                let s = task.signal.borrow();
                s.group_stop_count > 0 || s.is_stopped
            };
            let signr = if stopping { signr } else { SIGTRAP };
            let code = (signr | PTRACE_EVENT_STOP << 8) as i32;
            self.ptrace_stop(t, code, CLD_STOPPED, 0, PtraceStop::Trap)
        } else {
            self.ptrace_stop(t, signr as i32, CLD_STOPPED, 0, PtraceStop::Trap)
        }
    }

    /// `ptrace_event` (include/linux/ptrace.h), in `t`'s system call: with the option for
    /// `event`, an event stop reporting `SIGTRAP | event << 8` with `message`
    /// (`ptrace_notify`); without it, an exec by a tracee not seized gets `SIGTRAP` (the
    /// legacy exec report). Returns whether `t` stopped.
    pub(crate) fn ptrace_event(&mut self, t: TaskId, event: u32, message: u64) -> bool {
        let ptrace = self.t(t).ptrace;
        if ptrace & pt_event_flag(event) != 0 {
            let code = ((event << 8) | SIGTRAP) as i32;
            return self.ptrace_stop(t, code, CLD_TRAPPED, message, PtraceStop::Event { vfork_done: None });
        }
        if event == PTRACE_EVENT_EXEC && ptrace & (PT_PTRACED | PT_SEIZED) == PT_PTRACED {
            // send_sig(SIGTRAP, current, 0).
            self.send_signal(Some(t), SIGTRAP, t, false);
        }
        false
    }

    /// `ptrace_event_pid` (include/linux/ptrace.h): [`Kernel::ptrace_event`] with `pid` as
    /// the tracer's pid namespace numbers it.
    pub(crate) fn ptrace_event_pid(&mut self, t: TaskId, event: u32, pid: &Pid) -> bool {
        let parent = self.parent_of(t);
        let message = self.task(parent).map_or(0, |_| self.pid_vnr(parent, pid));
        self.ptrace_event(t, event, message as u64)
    }

    /// `t` leaves its ptrace stop (`ptrace_resume`'s `wake_up_state(__TASK_TRACED)`, or
    /// `__ptrace_unlink`'s wake-up) and goes on from where it stopped, with the signal its
    /// tracer gave (`exit_code`): after a signal-delivery-stop (`ptrace_signal`) a signal
    /// other than 0 is taken, or queued again if it is blocked; after any other stop it is
    /// dropped. Then the rest of `get_signal` runs (the other pending signals, a group stop
    /// to take part in), and only then, as after any stop, an interrupted call is made again
    /// ([`Kernel::continue_stopped`]). A task whose group is dying does nothing more: it
    /// dies.
    pub(crate) fn ptrace_stop_return(&mut self, t: TaskId) {
        let Some(task) = self.task_mut(t) else { return };
        let Some(kind) = task.ptrace_stop.take() else { return };
        let code = std::mem::take(&mut task.ptrace_code);
        task.ptrace_message = 0;
        if task.signal.borrow().group_exit || task.exiting {
            return;
        }
        if let PtraceStop::Event { vfork_done: Some(pid) } = &kind {
            // kernel_clone: wait_for_vfork_done returns at once, then PTRACE_EVENT_VFORK_DONE.
            if self.ptrace_event_pid(t, PTRACE_EVENT_VFORK_DONE, pid) {
                return;
            }
        }
        if let PtraceStop::Signal { shared } = kind {
            let sig = code as u32;
            if sig != 0 {
                if self.t(t).blocked.has(sig) {
                    // A blocked signal is queued again (send_signal_locked to current).
                    self.send_signal(Some(t), sig, t, shared);
                } else if self.handle_signal(t, sig, false) {
                    // Stopped by it (a group stop, or its trap) or killed: the call is made
                    // again when the task continues, if ever.
                    return;
                }
            }
        }
        self.deliver_pending(t);
        if self.task(t).is_some_and(|x| !x.frozen() && !x.exiting) {
            self.continue_stopped(t);
        }
    }
}
