//! Exiting (kernel/exit.c): `do_exit`, `do_group_exit`, `exit_mm` with `mm_release`
//! (clear-tid and vfork completion, kernel/fork.c), `exit_notify` with reparenting
//! (`forget_original_parent`, `find_child_reaper`, `find_new_reaper`, `reparent_leader`),
//! `do_notify_parent` (kernel/signal.c), `release_task`, and the end of a pid namespace
//! (`zap_pid_ns_processes`, kernel/pid_namespace.c).

use std::rc::Rc;

use clonekit_flags::Errno;

use crate::pid::{Pid, PidNamespace, PidType};
use crate::sched::{Block, Kernel, PtraceStop, Resumed, TaskId, TaskState};
use crate::signal::Disposition;

/// `SIGCHLD`.
const SIGCHLD: i32 = clonekit_flags::Signal::SIGCHLD.number() as i32;
const SIGHUP: u32 = clonekit_flags::Signal::SIGHUP.number();
const SIGCONT: u32 = clonekit_flags::Signal::SIGCONT.number();

impl Kernel {
    /// `exit(code)`: ends the calling thread only.
    pub fn sys_exit(&mut self, cur: TaskId, code: i32) -> Result<(), Errno> {
        self.current(cur)?;
        self.do_exit(cur, (code & 0xff) << 8);
        self.wake_waiters();
        Ok(())
    }

    /// `exit_group(code)`: ends every thread of the caller's group.
    pub fn sys_exit_group(&mut self, cur: TaskId, code: i32) -> Result<(), Errno> {
        self.current(cur)?;
        self.do_group_exit(cur, (code & 0xff) << 8);
        self.wake_waiters();
        Ok(())
    }

    /// `do_group_exit` (kernel/exit.c): the first group exit sets the group's status and kills
    /// the other threads (`zap_other_threads`); they exit with that status.
    pub(crate) fn do_group_exit(&mut self, cur: TaskId, exit_code: i32) {
        let signal = self.t(cur).signal.clone();
        let code = {
            let mut s = signal.borrow_mut();
            if s.group_exit {
                s.group_exit_code
            } else {
                s.group_exit = true;
                s.group_exit_code = exit_code;
                s.clear_stop_flags();
                exit_code
            }
        };
        let others: Vec<TaskId> = signal.borrow().threads.iter().copied().filter(|&t| t != cur).collect();
        for t in others {
            if self.task(t).is_some_and(|x| !x.exiting) {
                // zap_other_threads has sent every thread SIGKILL before any of them exits: a
                // sleep that an earlier thread's exit ended (its clear-tid futex wake) never
                // returns to user space.
                self.resumed.retain(|(_, id, _)| *id != t);
                self.do_exit(t, code);
            }
        }
        self.do_exit(cur, code);
    }

    /// A fatal signal (`complete_signal`'s group-exit path, or `get_signal` →
    /// `do_group_exit(sig)`): every thread of `p`'s group dies with status `sig`.
    pub(crate) fn group_kill(&mut self, p: TaskId, sig: i32) {
        let signal = self.t(p).signal.clone();
        {
            let mut s = signal.borrow_mut();
            if !s.group_exit {
                s.group_exit = true;
                s.group_exit_code = sig;
                s.clear_stop_flags();
            }
            // zap_other_threads: no group stop goes on.
            s.group_stop_count = 0;
        }
        let code = signal.borrow().group_exit_code;
        let threads = signal.borrow().threads.clone();
        for &t in &threads {
            if let Some(x) = self.task_mut(t) {
                // task_clear_jobctl_pending(t, JOBCTL_PENDING_MASK).
                x.stop_pending = false;
                x.jobctl.stop_consume = false;
                x.jobctl.stop_dequeued = false;
                x.jobctl.trap_stop = false;
                x.jobctl.trap_notify = false;
            }
        }
        for t in threads {
            if self.task(t).is_some_and(|x| !x.exiting) {
                // A call that finished but has not returned to user space yet (a vfork
                // parent released by the child's mm_release just before the child's exit
                // signal kills it) never returns: get_signal acts on the SIGKILL first.
                self.resumed.retain(|(_, id, _)| *id != t);
                self.do_exit(t, code);
            }
        }
        // do_notify_parent's __wake_up_parent: the parent's sleeping waits look again, whoever
        // sent the signal (a sibling's kill, a parent-death signal, an exit signal).
        self.wake_waiters();
    }

    /// `do_exit` (kernel/exit.c): the task lets go of its resources and becomes a zombie (or
    /// is released at once).
    pub(crate) fn do_exit(&mut self, tsk: TaskId, code: i32) {
        if self.task(tsk).is_none_or(|t| t.exiting) {
            return;
        }
        // The pidfd pollers this exit wakes look when it is over (see notify_pidfd).
        let outermost = self.pidfd_wakes.is_none();
        if outermost {
            self.pidfd_wakes = Some(Vec::new());
        }
        let t = self.tm(tsk);
        // exit_signals: PF_EXITING; a sleep in progress ends without a result; a part owed in
        // a group stop is given (which may complete it).
        let owes_stop = t.stop_pending;
        t.exiting = true;
        t.stopped = false;
        t.stopped_resume = None;
        // Out of a ptrace stop (SIGKILL woke it): nothing is left to resume.
        t.ptrace_stop = None;
        t.ptrace_code = 0;
        t.ptrace_message = 0;
        t.jobctl.trap_stop = false;
        t.jobctl.trap_notify = false;
        let block = t.block.take();
        t.state = TaskState::Running;
        match block {
            Some((_, Block::Vfork { child, .. })) => {
                // wait_for_vfork_done killed: the child no longer completes anything.
                if let Some(c) = self.task_mut(child) {
                    c.vfork_done = None;
                }
            }
            Some((_, Block::Futex)) => self.futex_forget(tsk),
            _ => {}
        }
        let signal = self.t(tsk).signal.clone();
        if owes_stop {
            let (group_exit, alone) = {
                let s = signal.borrow();
                (s.group_exit, s.threads.len() <= 1)
            };
            if group_exit || alone {
                self.tm(tsk).stop_pending = false;
            } else {
                self.participate_group_stop(tsk, false);
            }
        }
        // synchronize_group_exit: the last thread out sets the group's status.
        {
            let mut s = signal.borrow_mut();
            s.quick_threads = s.quick_threads.saturating_sub(1);
            if s.quick_threads == 0 && !s.group_exit {
                s.group_exit = true;
                s.group_exit_code = code;
            }
        }
        self.tm(tsk).exit_code = code;
        if self.recording {
            self.exit_log.push((tsk, code));
        }
        let group_dead = {
            let mut s = signal.borrow_mut();
            s.live = s.live.saturating_sub(1);
            s.live == 0
        };
        self.exit_mm(tsk);
        // exit_sem (ipc/sem.c): the last user of the undo list would apply its adjustments.
        // exit_files, exit_fs, exit_task_namespaces.
        let t = self.tm(tsk);
        t.sysvsem = None;
        let files = t.files.take();
        t.fs = None;
        t.nsproxy = None;
        t.io_context = None;
        // put_files_struct of the table's last user closes its files; their last references
        // go in exit_task_work, before exit_notify.
        if let Some(files) = files.and_then(|f| Rc::try_unwrap(f).ok()) {
            let closed = files.into_inner().take_all();
            self.fput_all(closed);
        }
        self.exit_notify(tsk, group_dead);
        if self.racing_wake.as_ref().is_some_and(|r| r.waker == tsk) {
            self.racing_wake = None;
        }
        if outermost {
            let woken = self.pidfd_wakes.take().unwrap_or_default();
            self.end_pidfd_wakes(woken);
        }
    }

    /// `exit_mm` (kernel/exit.c) → `exit_mm_release` → `mm_release`, then the mm is dropped.
    fn exit_mm(&mut self, tsk: TaskId) {
        self.mm_release(tsk);
        // The dumpability the memory had, for ptrace_may_access once it is gone.
        let dumpable =
            self.t(tsk).mm.as_ref().is_some_and(|mm| mm.borrow().dumpable == clonekit_flags::SUID_DUMP_USER);
        let t = self.tm(tsk);
        t.user_dumpable = dumpable;
        t.mm = None;
    }

    /// `mm_release` (kernel/fork.c): clears and wakes the clear-tid word if another task still
    /// uses the mm (`mm_users > 1`), then completes a vfork.
    pub(crate) fn mm_release(&mut self, tsk: TaskId) {
        let t = self.t(tsk);
        let clear = t.clear_child_tid;
        if clear != 0 {
            if let Some(mm) = t.mm.as_ref() {
                if Rc::strong_count(mm) > 1 {
                    let mm = mm.clone();
                    // put_user and the futex wake fail silently on a word that faults.
                    let ok = mm.borrow().accessible(clear, 4);
                    if ok && clear.is_multiple_of(4) {
                        mm.borrow_mut().store(clear, 0);
                        self.futex_wake(&mm, clear, 1);
                    }
                }
            }
            self.tm(tsk).clear_child_tid = 0;
        }
        if let Some(parent) = self.tm(tsk).vfork_done.take() {
            // The parent runs from here while this task goes on exiting on its own CPU.
            let exiting = self.t(tsk).exiting;
            if exiting {
                self.racing_wake = Some(crate::sched::RacingWake {
                    waker: tsk,
                    woken: parent,
                    taken: Vec::new(),
                    merged: None,
                });
            }
            let pid = self.t(tsk).pid.clone();
            self.complete_vfork_done(parent, tsk, &pid);
        }
    }

    /// `complete_vfork_done` (kernel/fork.c): the parent's `vfork` returns. A parent traced
    /// with `PTRACE_O_TRACEVFORKDONE` first stops in a `PTRACE_EVENT_VFORK_DONE` stop
    /// (kernel_clone's `ptrace_event_pid`), or, still in its `PTRACE_EVENT_VFORK` stop, will
    /// when resumed; the call's result waits for the tracer to resume it.
    pub(crate) fn complete_vfork_done(&mut self, parent: TaskId, child: TaskId, pid: &Rc<Pid>) {
        let nr = match self.task(parent).and_then(|p| p.block.as_ref()) {
            Some((_, Block::Vfork { child: c, nr })) if *c == child => *nr,
            _ => return,
        };
        if self.ptrace_event_enabled(parent, clonekit_flags::PTRACE_EVENT_VFORK_DONE) {
            let pid = pid.clone();
            let t = self.tm(parent);
            let Some((seq, _)) = t.block.take() else { return };
            t.state = TaskState::Running;
            t.stopped_resume = Some((seq, parent, Resumed::Vfork(nr)));
            if let Some(PtraceStop::Event { vfork_done }) = t.ptrace_stop.as_mut() {
                *vfork_done = Some(pid);
            } else if !self.ptrace_event_pid(parent, clonekit_flags::PTRACE_EVENT_VFORK_DONE, &pid) {
                self.continue_stopped(parent);
            }
            return;
        }
        self.wake(parent, Resumed::Vfork(nr));
    }

    /// `exit_notify` (kernel/exit.c): children go to a new parent, the task becomes a
    /// zombie, and a leader of an empty group tells its parent; non-leaders reap themselves.
    fn exit_notify(&mut self, tsk: TaskId, group_dead: bool) {
        let outermost = self.deferred_resumes.is_none();
        if outermost {
            self.deferred_resumes = Some(Vec::new());
        }
        self.exit_notify_locked(tsk, group_dead);
        if outermost {
            for p in self.deferred_resumes.take().unwrap_or_default() {
                self.ptrace_stop_return(p);
            }
        }
    }

    /// `exit_notify` under the tasklist lock: what the tracees it lets go out of a ptrace stop
    /// do comes after.
    fn exit_notify_locked(&mut self, tsk: TaskId, group_dead: bool) {
        let mut orphaned = Vec::new();
        if !self.forget_original_parent(tsk, &mut orphaned) {
            // A pid namespace's init waits in zap_pid_ns_processes; release_task resumes it.
            return;
        }
        if group_dead {
            let leader = self.t(tsk).group_leader;
            orphaned.extend(self.kill_orphaned_pgrp(leader, None));
        }
        self.tm(tsk).state = TaskState::Zombie;
        let leader = self.t(tsk).group_leader == tsk;
        // From Linux 6.9 to 6.14 (clonekit_flags::PIDFD_THREAD_LEADER_POLL): a leader whose
        // threads still run woke its PIDFD_THREAD waiters here (do_notify_pidfd).
        if leader
            && !self.thread_group_empty(tsk)
            && clonekit_flags::PIDFD_OPEN_THREAD.present_in(self.linux)
            && !clonekit_flags::PIDFD_THREAD_LEADER_POLL.present_in(self.linux)
        {
            let pid = self.t(tsk).pid.clone();
            self.notify_pidfd(&pid);
        }
        let autoreap = if self.t(tsk).ptrace != 0 {
            // A tracee tells its tracer, thread or not: with its exit signal only as the
            // leader of an empty group traced by its real parent's group, else SIGCHLD.
            let sig = if leader && self.thread_group_empty(tsk) && !self.ptrace_reparented(tsk) {
                self.t(tsk).exit_signal
            } else {
                SIGCHLD
            };
            self.do_notify_parent(tsk, sig)
        } else if leader {
            self.thread_group_empty(tsk) && {
                let sig = self.t(tsk).exit_signal;
                self.do_notify_parent(tsk, sig)
            }
        } else {
            // An untraced sub-thread: do_notify_pidfd.
            let pid = self.t(tsk).pid.clone();
            self.notify_pidfd(&pid);
            true
        };
        if autoreap {
            self.release_task(tsk);
        }
        // The newly orphaned groups' signals, queued under the tasklist lock, are taken once
        // their tasks run again.
        for pgrp in orphaned {
            let _ = self.kill_pgrp_info(None, SIGHUP, &pgrp);
            let _ = self.kill_pgrp_info(None, SIGCONT, &pgrp);
        }
    }

    /// `will_become_orphaned_pgrp` (kernel/exit.c): no process of the group (but
    /// `ignored_task`, zombies, and the children of init) has a parent in another group of
    /// the same session.
    fn will_become_orphaned_pgrp(&self, pgrp: &Rc<Pid>, ignored_task: Option<TaskId>) -> bool {
        for p in self.pid_tasks(pgrp, PidType::Pgid) {
            let t = self.t(p);
            if Some(p) == ignored_task
                || (t.state == TaskState::Zombie && self.thread_group_empty(p))
                || t.real_parent == self.init_task
            {
                continue;
            }
            let Some(parent) = self.task(t.real_parent) else { continue };
            let (ps, ts) = (parent.signal.borrow(), t.signal.borrow());
            if !Rc::ptr_eq(&ps.pgrp, pgrp) && Rc::ptr_eq(&ps.session, &ts.session) {
                return false;
            }
        }
        true
    }

    /// `is_current_pgrp_orphaned` (kernel/exit.c).
    pub(crate) fn is_current_pgrp_orphaned(&self, t: TaskId) -> bool {
        let pgrp = self.t(t).signal.borrow().pgrp.clone();
        self.will_become_orphaned_pgrp(&pgrp, None)
    }

    /// `has_stopped_jobs` (kernel/exit.c): a process of the group is stopped.
    fn has_stopped_jobs(&self, pgrp: &Rc<Pid>) -> bool {
        self.pid_tasks(pgrp, PidType::Pgid).into_iter().any(|p| self.t(p).signal.borrow().is_stopped)
    }

    /// `kill_orphaned_pgrp` (kernel/exit.c): whether `tsk`'s exit (`parent` `None`: its
    /// parent is its link outside) or the exit of its parent `parent` (which it was just
    /// reparented away from) leaves its process group orphaned with stopped processes in it;
    /// the group is returned, to be sent SIGHUP and SIGCONT (POSIX 3.2.2.2).
    fn kill_orphaned_pgrp(&self, tsk: TaskId, parent: Option<TaskId>) -> Option<Rc<Pid>> {
        let t = self.t(tsk);
        let pgrp = t.signal.borrow().pgrp.clone();
        let (parent, ignored_task) = match parent {
            None => (t.real_parent, Some(tsk)),
            Some(p) => (p, None),
        };
        let parent = self.task(parent)?;
        let same_session = Rc::ptr_eq(&parent.signal.borrow().session, &t.signal.borrow().session);
        let other_pgrp = !Rc::ptr_eq(&parent.signal.borrow().pgrp, &pgrp);
        (other_pgrp
            && same_session
            && self.will_become_orphaned_pgrp(&pgrp, ignored_task)
            && self.has_stopped_jobs(&pgrp))
        .then_some(pgrp)
    }

    /// `thread_group_empty`: the task is the only one left in its group.
    pub(crate) fn thread_group_empty(&self, p: TaskId) -> bool {
        let s = self.t(p).signal.borrow();
        s.threads.len() == 1 && s.threads[0] == p
    }

    /// `find_alive_thread` (kernel/exit.c): a thread of `p`'s group not exiting.
    fn find_alive_thread(&self, p: TaskId) -> Option<TaskId> {
        let threads = self.t(p).signal.borrow().threads.clone();
        threads.into_iter().find(|&t| self.task(t).is_some_and(|x| !x.exiting))
    }

    /// `find_child_reaper` (kernel/exit.c): the namespace's init, or another thread of the
    /// exiting init; if there is none, the namespace ends (`zap_pid_ns_processes`). `None`
    /// while the init still waits for pids of its namespace to be freed.
    fn find_child_reaper(&mut self, father: TaskId) -> Option<TaskId> {
        let ns = self.task_active_pid_ns(father);
        let reaper = ns.child_reaper.get().unwrap_or(self.init_task);
        if reaper != father {
            return Some(reaper);
        }
        if let Some(t) = self.find_alive_thread(father) {
            ns.child_reaper.set(Some(t));
            return Some(t);
        }
        self.zap_pid_ns_processes(father).then_some(father)
    }

    /// `find_new_reaper` (kernel/exit.c): a live thread of the group, else the nearest
    /// subreaper ancestor in the same pid namespace, else the namespace's reaper.
    fn find_new_reaper(&self, father: TaskId, child_reaper: TaskId) -> TaskId {
        if let Some(t) = self.find_alive_thread(father) {
            return t;
        }
        if self.t(father).signal.borrow().has_child_subreaper {
            let level = self.t(father).pid.level();
            let mut reaper = self.t(father).real_parent;
            while let Some(r) = self.task(reaper) {
                if r.pid.level() != level || reaper == self.init_task {
                    break;
                }
                if r.signal.borrow().is_child_subreaper {
                    if let Some(t) = self.find_alive_thread(reaper) {
                        return t;
                    }
                }
                reaper = r.real_parent;
            }
        }
        child_reaper
    }

    /// `forget_original_parent` (kernel/exit.c): every child (and each of its threads) gets
    /// the new parent; `pdeath_signal` goes to each thread whose creator this was.
    fn forget_original_parent(&mut self, father: TaskId, orphaned: &mut Vec<Rc<Pid>>) -> bool {
        // exit_ptrace: the tracees are let go first.
        if !self.t(father).ptraced.is_empty() {
            self.exit_ptrace(father);
        }
        let Some(reaper) = self.find_child_reaper(father) else { return false };
        if self.t(father).children.is_empty() {
            return true;
        }
        let reaper = self.find_new_reaper(father, reaper);
        let children = std::mem::take(&mut self.tm(father).children);
        let same_group = Rc::ptr_eq(&self.t(reaper).signal, &self.t(father).signal);
        let mut dead = Vec::new();
        let mut pdeath = Vec::new();
        for &p in &children {
            let threads = self.t(p).signal.borrow().threads.clone();
            for t in threads {
                let Some(task) = self.task_mut(t) else { continue };
                task.real_parent = reaper;
                if task.pdeath_signal != 0 {
                    pdeath.push((t, task.pdeath_signal));
                }
            }
            if !same_group {
                if self.reparent_leader(p) {
                    dead.push(p);
                }
                if self.task(p).is_some() {
                    orphaned.extend(self.kill_orphaned_pgrp(p, Some(father)));
                }
            }
        }
        if let Some(r) = self.task_mut(reaper) {
            r.children.extend(children.iter().copied().filter(|c| !dead.contains(c)));
        }
        for p in dead {
            self.release_task(p);
        }
        // The parent-death signals are acted on once the children run again, after the
        // tasklist lock is dropped: here, after the splice. They are sent as from the exiting
        // parent (SEND_SIG_NOINFO), so the kill permission applies.
        for (t, sig) in pdeath {
            if self.task(t).is_some() && self.check_kill_permission(father, sig, t).is_ok() {
                self.send_signal(None, sig, t, true);
            }
        }
        true
    }

    /// `reparent_leader` (kernel/exit.c): the exit signal becomes SIGCHLD, and a zombie is
    /// reported to its new parent at once (a traced one, later, by its tracer's wait).
    /// Returns whether it is to be released.
    fn reparent_leader(&mut self, p: TaskId) -> bool {
        let Some(t) = self.task_mut(p) else { return false };
        if t.state == TaskState::Dead {
            return false;
        }
        t.exit_signal = SIGCHLD;
        let traced = t.ptrace != 0;
        if !traced && t.state == TaskState::Zombie && self.thread_group_empty(p) {
            return self.do_notify_parent(p, SIGCHLD);
        }
        false
    }

    /// `do_notify_parent` (kernel/signal.c): sends `sig` to the parent, which is the tracer
    /// of a traced task (SIGCHLD if the parent exec'd since), wakes its waiters, and says
    /// whether the child reaps itself: the parent ignores SIGCHLD, and the child is not
    /// traced. The model's init (and a namespace init of the set-up), like a real one, always
    /// waits; it reaps at once (a tracee it traces for another parent goes on to that parent,
    /// as its wait would send it).
    pub(crate) fn do_notify_parent(&mut self, tsk: TaskId, sig: i32) -> bool {
        let t = self.t(tsk);
        let traced = t.ptrace != 0;
        let parent = self.parent_of(tsk);
        let mut sig = sig;
        let parent_exec_id = self.task(parent).map_or(0, |p| p.self_exec_id);
        if sig != SIGCHLD && t.parent_exec_id != parent_exec_id {
            sig = SIGCHLD;
        }
        // do_notify_pidfd: the leader of an empty group (or a zombie reported again).
        let own = t.pid.clone();
        let self_reaping = t.signal.borrow().autoreap;
        self.notify_pidfd(&own);
        let Some(p) = self.task(parent) else { return true };
        let action = p.sighand.borrow().get(SIGCHLD as u32);
        let mut autoreap = false;
        if !traced && sig == SIGCHLD && action == Disposition::Ignore {
            autoreap = true;
            sig = 0;
        }
        // CLONE_AUTOREAP (Linux 7.1): the process reaps itself, whoever its parent now is
        // (unless it is traced).
        if !traced && self_reaping {
            autoreap = true;
            sig = 0;
        }
        if (1..=64).contains(&sig) {
            // A parent this exit woke from its vfork sleep may not have taken the copy of
            // `sig` it had pending yet: this one may merge with it (see RacingWake).
            let group = p.signal.clone();
            if let Some(r) = self.racing_wake.as_mut() {
                let same_group = self
                    .slots
                    .iter()
                    .filter_map(|s| s.task.as_ref())
                    .any(|t| t.id == r.woken && Rc::ptr_eq(&t.signal, &group));
                if r.waker == tsk && same_group && r.taken.contains(&(sig as u32)) {
                    r.merged = Some((sig as u32, group));
                }
            }
            self.send_signal(None, sig as u32, parent, true);
        }
        self.wake_up_parent(tsk, parent);
        if autoreap || !self.always_waits.contains(&parent) {
            return autoreap;
        }
        // As the init's wait would: not a leader whose threads live on (a tracee's exit is
        // told before its group is empty), which is reaped when the last one is released.
        let leader = self.t(tsk).group_leader == tsk;
        if leader && !self.thread_group_empty(tsk) {
            return false;
        }
        if traced && self.ptrace_reparented(tsk) && leader {
            self.ptrace_unlink(tsk);
            let sig = self.t(tsk).exit_signal;
            return self.do_notify_parent(tsk, sig);
        }
        true
    }

    /// `release_task` (kernel/exit.c): the task leaves its group and the pid tables; the last
    /// thread of a zombie leader's group reports the leader to its parent.
    pub(crate) fn release_task(&mut self, p: TaskId) {
        let mut p = p;
        loop {
            // ptrace_release_task: a tracee is unlinked.
            self.ptrace_unlink(p);
            let Some(t) = self.task_mut(p) else { return };
            t.state = TaskState::Dead;
            let leader = t.group_leader;
            let pid = t.pid.clone();
            // pidfs_exit: what PIDFD_GET_INFO reports from now on.
            pid.exit_info.set(Some(t.exit_code));
            let parent = t.real_parent;
            let signal = t.signal.clone();
            signal.borrow_mut().threads.retain(|&x| x != p);
            // A pid that still names a process group or a session stays allocated.
            if !self.pid_in_use(&pid, Some(p)) {
                self.free_pid(&pid, p);
            }
            // The last pid of a dying namespace freed: its init finishes exiting.
            for u in &pid.numbers {
                if let Some(w) = u.ns.zap_waiter.get() {
                    if self.task(w).is_some() && self.zap_done(w, &u.ns) {
                        u.ns.zap_waiter.set(None);
                        self.exit_notify(w, true);
                    }
                }
            }
            if leader == p {
                if let Some(par) = self.task_mut(parent) {
                    par.children.retain(|&c| c != p);
                }
            }
            self.free_task(p);
            // __change_pid(PIDTYPE_PID): the pid has no task; its pidfd waiters wake.
            self.notify_pidfd(&pid);
            let (pgrp, session) = {
                let s = signal.borrow();
                (s.pgrp.clone(), s.session.clone())
            };
            self.put_pid(&pgrp);
            self.put_pid(&session);
            let zap_leader = leader != p
                && self.task(leader).is_some_and(|l| l.state == TaskState::Zombie)
                && self.thread_group_empty(leader)
                && {
                    let sig = self.t(leader).exit_signal;
                    self.do_notify_parent(leader, sig)
                };
            if !zap_leader {
                return;
            }
            p = leader;
        }
    }

    /// `zap_pid_ns_processes` (kernel/pid_namespace.c): the init of a pid namespace is gone,
    /// so no new pid may be allocated there, every other task in it is killed, and the init
    /// reaps them (it ignores SIGCHLD from here on). It then waits until the namespace holds
    /// no pid but its own (zombies whose parents are outside must be reaped there first):
    /// false while it waits.
    fn zap_pid_ns_processes(&mut self, init: TaskId) -> bool {
        let ns = self.task_active_pid_ns(init);
        ns.adding.set(false);
        self.t(init).sighand.borrow_mut().action[SIGCHLD as usize - 1] = Disposition::Ignore;
        let victims: Vec<TaskId> =
            ns.idr.borrow().iter().filter(|(&nr, _)| nr > 1).map(|(_, &t)| t).collect();
        for v in victims {
            if self.task(v).is_some_and(|t| !t.exiting) {
                self.group_kill(v, 9);
            }
        }
        self.zap_reap(init);
        if !self.zap_done(init, &ns) {
            ns.zap_waiter.set(Some(init));
            return false;
        }
        ns.zap_waiter.set(None);
        true
    }

    /// `zap_pid_ns_processes`' `kernel_wait4(-1, __WALL)` loop: the init reaps its zombie
    /// children, but not one traced from outside its thread group (`wait_consider_task`: a
    /// zombie ptracee is only its tracer's to see; the tracer's wait hands it back, and the
    /// init, woken, reaps it then, or it reaps itself as the init ignores SIGCHLD).
    pub(crate) fn zap_reap(&mut self, init: TaskId) {
        loop {
            let zombie = self.t(init).children.iter().copied().find(|&c| {
                self.task(c).is_some_and(|t| t.state == TaskState::Zombie)
                    && !(self.t(c).ptrace != 0 && self.ptrace_reparented(c))
            });
            match zombie {
                Some(z) => self.release_task(z),
                None => break,
            }
            // The last pid of the namespace freed: the init finished exiting meanwhile.
            if self.task(init).is_none_or(|t| matches!(t.state, TaskState::Zombie | TaskState::Dead)) {
                break;
            }
        }
    }

    /// Whether `t` is a pid namespace's init waiting in `zap_pid_ns_processes`.
    pub(crate) fn zap_waiting(&self, t: TaskId) -> bool {
        self.task(t).is_some() && self.task_active_pid_ns(t).zap_waiter.get() == Some(t)
    }

    /// The end of `zap_pid_ns_processes`' wait, `pid_allocated == init_pids`: the namespace
    /// holds no pid but the init's own and, when the init is a thread other than its group's
    /// leader (the leader exited first and is a zombie), the leader's (`init_pids` is 2).
    fn zap_done(&self, init: TaskId, ns: &PidNamespace) -> bool {
        let me = self.t(init);
        let own = me.pid.nr_ns(ns);
        let leader =
            (me.group_leader != init).then(|| self.task(me.group_leader).map(|l| l.pid.nr_ns(ns))).flatten();
        !ns.idr.borrow().keys().any(|&nr| nr != own && Some(nr) != leader)
    }
}
