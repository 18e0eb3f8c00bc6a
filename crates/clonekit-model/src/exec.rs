//! `execve` (fs/exec.c `begin_new_exec`): `de_thread`, `unshare_files`, `exec_mmap` with
//! `exec_mm_release` (clear-tid and vfork release), `unshare_sighand`, close-on-exec,
//! `flush_signal_handlers`. The program is the same one again (the scenario runner's
//! `execve`), so what changes is exactly what the kernel resets.

use std::cell::RefCell;
use std::rc::Rc;

use clonekit_flags::Errno;

use crate::mm::MmStruct;
use crate::sched::{Kernel, TaskId};

impl Kernel {
    /// `execve` past the point of no return. A traced caller then reports the exec
    /// (`exec_binprm`'s `ptrace_event(PTRACE_EVENT_EXEC, old_vpid)`): with
    /// `PTRACE_O_TRACEEXEC` it stops in a `PTRACE_EVENT_EXEC` stop before the call returns;
    /// traced without it and not seized, it sends itself `SIGTRAP`.
    pub fn sys_execve(&mut self, cur: TaskId) -> Result<(), Errno> {
        self.current(cur)?;
        // exec_binprm: the pid before a de_thread changes it, as the tracer numbers it.
        let parent = self.parent_of(cur);
        let old_vpid = self.pid_vnr(parent, &self.t(cur).pid.clone());
        self.de_thread(cur)?;
        // unshare_files: the fd table becomes private before close-on-exec applies.
        let files = self.t(cur).files.clone().expect("a live task has a files_struct");
        if Rc::strong_count(&files) > 2 {
            let copy = files.borrow().dup_fd();
            self.tm(cur).files = Some(Rc::new(RefCell::new(copy)));
        }
        drop(files);
        // prepare_exec_creds (SECBIT_KEEP_CAPS does not survive an exec) and
        // cap_bprm_creds_from_file (security/commoncap.c), computed before the point of no
        // return: with no file capabilities, the new program has capabilities only if a uid is
        // root in its user namespace (uid 0 there, make_kuid(user_ns, 0)). In a user namespace
        // with no uid_map, uid 0 maps to no kernel uid, so nobody is root there and the
        // capabilities the namespace's creator was given are gone after execve.
        let old = self.t(cur).cred.clone();
        let mut new = (*old).clone();
        new.keep_caps = false;
        let nnp = self.t(cur).no_new_privs;
        let secureexec = crate::commoncap::cap_bprm_creds_from_file(&mut new, old.cap_permitted, nnp);
        let vfork_parent = self.exec_mmap(cur);
        self.exec_task_namespaces(cur);
        if secureexec {
            // begin_new_exec: a parent may not signal a privileged program.
            self.tm(cur).pdeath_signal = 0;
        }
        // begin_new_exec: dumpable unless the effective uid is not the real one
        // (fs.suid_dumpable then); commit_creds may make it not dumpable again.
        let dumpable = if old.euid == old.uid {
            clonekit_flags::SUID_DUMP_USER
        } else {
            clonekit_flags::SUID_DUMPABLE_DEFAULT
        };
        if let Some(mm) = &self.t(cur).mm {
            mm.borrow_mut().dumpable = dumpable;
        }
        self.commit_creds(cur, new);
        // unshare_sighand: a shared handler table is copied.
        let sighand = self.t(cur).sighand.clone();
        if Rc::strong_count(&sighand) > 2 {
            let copy = sighand.borrow().clone();
            self.tm(cur).sighand = Rc::new(RefCell::new(copy));
        }
        drop(sighand);
        let t = self.tm(cur);
        let closed = t.files.as_ref().map(|files| files.borrow_mut().do_close_on_exec()).unwrap_or_default();
        // The exec changes the domain: a child's non-SIGCHLD exit signal turns into SIGCHLD
        // when reported to us (do_notify_parent compares exec ids).
        t.self_exec_id += 1;
        t.sighand.borrow_mut().flush_signal_handlers();
        // The alternate signal stack is not kept, and the new program's counters start at 0.
        t.sas.on = false;
        t.handled = 0;
        t.handled_race = 0;
        t.handled_maybe = 0;
        t.set_child_tid = 0;
        t.forknoexec = false;
        // The closed files' last references go as the exec returns (task work), which
        // ptrace_notify runs before an event stop.
        self.fput_all(closed);
        self.ptrace_event(cur, clonekit_flags::PTRACE_EVENT_EXEC, old_vpid as u64);
        // No wake-up for the parent: an exec notifies nobody. A parent asleep in a wait that
        // the exit signal's change to SIGCHLD makes ineligible (a __WCLONE wait) sleeps on
        // until one of its children wakes it.
        self.deliver_pending(cur);
        if let Some((parent, pid)) = vfork_parent {
            self.complete_vfork_done(parent, cur, &pid);
        }
        Ok(())
    }

    /// `de_thread` (fs/exec.c): the other threads die; a non-leader takes the leader's pid
    /// and place, and the old leader is released without a word to the parent. The exit
    /// signal becomes SIGCHLD.
    fn de_thread(&mut self, cur: TaskId) -> Result<(), Errno> {
        let signal = self.t(cur).signal.clone();
        if signal.borrow().group_exit {
            return Err(Errno::EAGAIN);
        }
        let others: Vec<TaskId> = signal.borrow().threads.iter().copied().filter(|&t| t != cur).collect();
        // A traced thread's exit, and the traced leader's release, wake its tracer's waits.
        let traced = others.iter().any(|&t| self.tracer(t).is_some());
        for t in others {
            // zap_other_threads: SIGKILL; do_group_exit sees group_exec_task and exits with 0.
            if self.task(t).is_some_and(|x| !x.exiting) {
                self.do_exit(t, 0);
            }
        }
        let leader = self.t(cur).group_leader;
        if leader != cur {
            // exchange_tids + transfer_pid: the execing thread gets the leader's pid.
            let mine = self.t(cur).pid.clone();
            let theirs = self.t(leader).pid.clone();
            self.tm(cur).pid = theirs.clone();
            self.tm(leader).pid = mine.clone();
            self.attach_pid(&theirs, cur);
            self.attach_pid(&mine, leader);
            // list_replace_init(&leader->sibling, &tsk->sibling).
            let parent = self.t(leader).real_parent;
            if let Some(p) = self.task_mut(parent) {
                for c in p.children.iter_mut() {
                    if *c == leader {
                        *c = cur;
                    }
                }
            }
            // The leader's own children were already handed to us by its exit.
            let t = self.tm(cur);
            t.group_leader = cur;
            let l = self.tm(leader);
            l.group_leader = cur;
            l.exit_signal = -1;
            // release_task unlinks a traced leader silently: its tracer's waits look again.
            if let Some(tracer) = self.tracer(leader) {
                self.wake_up_parent(leader, tracer);
            }
            self.release_task(leader);
        }
        self.tm(cur).exit_signal = 17;
        if traced {
            self.wake_waiters();
        }
        Ok(())
    }

    /// `exec_mmap` (fs/exec.c): `exec_mm_release` on the old mm (clear-tid word and futex
    /// wake if the mm stays in use, vfork parent released), then a fresh address space.
    ///
    /// The vfork parent is released here, but runs on its own CPU while the exec goes on: what
    /// it does once woken (a signal it then takes, its death) comes after the exec has sent
    /// its `SIGTRAP` or stopped in its event. So it is handed back, with the pid it waits
    /// for, to be released as the exec returns.
    fn exec_mmap(&mut self, cur: TaskId) -> Option<(TaskId, Rc<crate::pid::Pid>)> {
        let vfork_parent = self.tm(cur).vfork_done.take().map(|p| (p, self.t(cur).pid.clone()));
        self.mm_release(cur);
        let user_ns = self.t(cur).cred.user_ns.clone();
        self.tm(cur).mm = Some(Rc::new(RefCell::new(MmStruct::for_user_ns(user_ns))));
        vfork_parent
    }
}
