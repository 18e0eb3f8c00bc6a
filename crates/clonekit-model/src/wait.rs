//! Waiting for children (kernel/exit.c): `wait4`, `waitid`, `do_wait` with
//! `eligible_child` (`__WCLONE`/`__WALL`), `wait_task_zombie`, `wait_task_stopped`,
//! `wait_task_continued`; and for tracees (`ptrace_do_wait`), whose ptrace stops a tracer sees
//! without `WUNTRACED` and whose exits it sees before their real parent does.

use std::rc::Rc;

use clonekit_flags::{
    Errno, CLD_CONTINUED, CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, CLD_TRAPPED, PIDFD_NONBLOCK,
    WCOREFLAG,
};

use crate::pid::Pid;
use crate::sched::{Block, Kernel, Syscall, TaskId, TaskState};

pub use clonekit_flags::{WALL, WCLONE, WCONTINUED, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT, WUNTRACED};

/// What a wait reports about a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStatus {
    /// `exit(N)` / `exit_group(N)`.
    Exited(i32),
    /// Killed by a signal.
    Killed(u32),
    /// Killed by a signal, and dumped core (`WCOREDUMP`).
    Dumped(u32),
    /// Stopped by a signal (`WUNTRACED`), or in a ptrace stop reported to the tracer
    /// ([`Waited::ptrace_event`] is `Some`): `WSTOPSIG`.
    Stopped(u32),
    /// Continued by SIGCONT (`WCONTINUED`).
    Continued,
}

impl WaitStatus {
    /// Decodes an `exit_code` as `wait4` encodes it.
    pub fn from_exit_code(code: i32) -> WaitStatus {
        if code & 0x7f == 0 {
            WaitStatus::Exited((code >> 8) & 0xff)
        } else if code & WCOREFLAG != 0 {
            WaitStatus::Dumped((code & 0x7f) as u32)
        } else {
            WaitStatus::Killed((code & 0x7f) as u32)
        }
    }

    /// The `si_code` `waitid` reports (`wait_task_zombie`, `wait_task_stopped`,
    /// `wait_task_continued`: `CLD_EXITED`, `CLD_KILLED`, `CLD_DUMPED`, `CLD_STOPPED`,
    /// `CLD_CONTINUED`).
    pub fn si_code(self) -> i32 {
        match self {
            WaitStatus::Exited(_) => CLD_EXITED,
            WaitStatus::Killed(_) => CLD_KILLED,
            WaitStatus::Dumped(_) => CLD_DUMPED,
            WaitStatus::Stopped(_) => CLD_STOPPED,
            WaitStatus::Continued => CLD_CONTINUED,
        }
    }

    /// The `si_status` `waitid` reports: the exit code, or the signal (`SIGCONT` for a
    /// continue).
    pub fn si_status(self) -> i32 {
        match self {
            WaitStatus::Exited(n) => n,
            WaitStatus::Killed(s) | WaitStatus::Dumped(s) | WaitStatus::Stopped(s) => s as i32,
            WaitStatus::Continued => clonekit_flags::Signal::SIGCONT.number() as i32,
        }
    }
}

/// A child (or tracee) a wait found.
#[derive(Debug, Clone)]
pub struct Waited {
    /// Its `struct pid`.
    pub pid: Rc<Pid>,
    /// Its pid as the waiter sees it (what the call returns).
    pub nr: i32,
    /// What happened to it.
    pub status: WaitStatus,
    /// Its real uid as the waiter's user namespace sees it (`si_uid`).
    pub uid: u32,
    /// `Some` for a ptrace stop reported to the tracer (`wait_task_stopped` with `ptrace`,
    /// `waitid`'s `CLD_TRAPPED`): the `PTRACE_EVENT_*` of an event stop, which `wait4`'s
    /// status carries in `status >> 16` (`PTRACE_EVENT_STOP` for a seized tracee's
    /// group-stop or first stop), 0 for a signal-delivery-stop or a legacy group-stop.
    /// `None` for every other report.
    pub ptrace_event: Option<u32>,
}

impl PartialEq for Waited {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.pid, &other.pid)
            && self.nr == other.nr
            && self.status == other.status
            && self.uid == other.uid
            && self.ptrace_event == other.ptrace_event
    }
}

impl Waited {
    /// The `int` `wait4` stores: `(event << 16) | (sig << 8) | 0x7f` for a ptrace stop,
    /// `(sig << 8) | 0x7f` for a stop, `0xffff` for a continue, `code << 8` for an exit, the
    /// signal (with `WCOREFLAG`) for a death.
    pub fn wstatus(&self) -> i32 {
        match self.status {
            WaitStatus::Exited(n) => (n & 0xff) << 8,
            WaitStatus::Killed(s) => s as i32,
            WaitStatus::Dumped(s) => s as i32 | WCOREFLAG,
            WaitStatus::Stopped(s) => {
                ((self.ptrace_event.unwrap_or(0) as i32) << 16) | ((s as i32) << 8) | 0x7f
            }
            WaitStatus::Continued => 0xffff,
        }
    }

    /// The `si_code` `waitid` reports: `CLD_TRAPPED` for a ptrace stop, else
    /// [`WaitStatus::si_code`].
    pub fn si_code(&self) -> i32 {
        match (self.status, self.ptrace_event) {
            (WaitStatus::Stopped(_), Some(_)) => CLD_TRAPPED,
            (status, _) => status.si_code(),
        }
    }

    /// The `si_status` `waitid` reports: for a ptrace stop the whole stop code, `(event << 8)
    /// | sig` (`wait_task_stopped`'s `exit_code`), else [`WaitStatus::si_status`].
    pub fn si_status(&self) -> i32 {
        match (self.status, self.ptrace_event) {
            (WaitStatus::Stopped(s), Some(e)) => ((e as i32) << 8) | s as i32,
            (status, _) => status.si_status(),
        }
    }
}

impl Eq for Waited {}

/// `waitid`'s `idtype` and `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdType {
    /// `P_ALL`.
    All,
    /// `P_PID` with a pid.
    Pid(i32),
    /// `P_PGID` with a process group id (0: the caller's).
    Pgid(i32),
    /// `P_PIDFD` with a descriptor.
    Pidfd(i32),
}

/// Which children a wait looks at (`wo_type`/`wo_pid`).
#[derive(Debug, Clone)]
pub(crate) enum Who {
    All,
    /// A pid; `None` when the number named no pid (nothing can match).
    Pid(Option<Rc<Pid>>),
    /// A process group (`PIDTYPE_PGID`).
    Pgrp(Rc<Pid>),
}

/// `eligible_pid` (kernel/exit.c): the wait's pid filter takes a child with this pid and
/// process group.
pub(crate) fn eligible_pid(wo: &WaitOptions, pid: &Rc<Pid>, pgrp: &Rc<Pid>) -> bool {
    match &wo.who {
        Who::All => true,
        Who::Pid(None) => false,
        Who::Pid(Some(p)) => Rc::ptr_eq(pid, p),
        Who::Pgrp(g) => Rc::ptr_eq(pgrp, g),
    }
}

/// `struct wait_opts`: whom to wait for and how.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    pub(crate) who: Who,
    /// The `W*` flags, `WEXITED` included for `wait4`.
    pub(crate) flags: u32,
}

impl Kernel {
    /// `wait4(pid, &status, options, NULL)` (kernel/exit.c `kernel_wait4`).
    pub fn sys_wait4(
        &mut self,
        cur: TaskId,
        upid: i32,
        options: u32,
    ) -> Result<Syscall<Option<Waited>>, Errno> {
        self.current(cur)?;
        if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL) != 0 {
            return Err(Errno::EINVAL);
        }
        // The negation of INT_MIN is undefined.
        if upid == i32::MIN {
            return Err(Errno::ESRCH);
        }
        let who = match upid {
            -1 => Who::All,
            0 => Who::Pgrp(self.t(cur).signal.borrow().pgrp.clone()),
            // A process group by number (a number that names none matches no child).
            n if n < 0 => self.find_vpid(cur, -n).map_or(Who::Pid(None), Who::Pgrp),
            n => {
                let ns = self.task_active_pid_ns(cur);
                Who::Pid(self.find_pid(&ns, n))
            }
        };
        self.wait_common(cur, WaitOptions { who, flags: options | WEXITED })
    }

    /// `waitid(idtype, id, &info, options, NULL)` (kernel/exit.c `kernel_waitid_prepare`).
    pub fn sys_waitid(
        &mut self,
        cur: TaskId,
        id: IdType,
        options: u32,
    ) -> Result<Syscall<Option<Waited>>, Errno> {
        self.current(cur)?;
        if options & !(WNOHANG | WNOWAIT | WEXITED | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL) != 0
        {
            return Err(Errno::EINVAL);
        }
        if options & (WEXITED | WUNTRACED | WCONTINUED) == 0 {
            return Err(Errno::EINVAL);
        }
        let mut flags = options;
        let who = match id {
            IdType::All => Who::All,
            IdType::Pid(n) => {
                if n <= 0 {
                    return Err(Errno::EINVAL);
                }
                let ns = self.task_active_pid_ns(cur);
                Who::Pid(self.find_pid(&ns, n))
            }
            IdType::Pgid(n) => {
                if n < 0 {
                    return Err(Errno::EINVAL);
                }
                if n == 0 {
                    Who::Pgrp(self.t(cur).signal.borrow().pgrp.clone())
                } else {
                    self.find_vpid(cur, n).map_or(Who::Pid(None), Who::Pgrp)
                }
            }
            IdType::Pidfd(fd) => {
                // P_PIDFD is an unknown id type before Linux 5.4 (clonekit_flags::WAITID_P_PIDFD).
                if fd < 0 || !clonekit_flags::WAITID_P_PIDFD.present_in(self.linux) {
                    return Err(Errno::EINVAL);
                }
                // pidfd_get_pid → pidfd_pid (fs/pidfs.c): EBADF for no descriptor, and EBADF
                // too for one that is not a pidfd (Linux 6.18; measured by the kernel backend).
                let (pid, f_flags) = self.pidfd_get_pid(cur, fd)?;
                // A non-blocking pidfd makes the wait WNOHANG.
                if f_flags & PIDFD_NONBLOCK != 0 {
                    flags |= WNOHANG;
                }
                Who::Pid(Some(pid))
            }
        };
        match self.wait_common(cur, WaitOptions { who, flags })? {
            // kernel_waitid: nothing to report on a non-blocking pidfd the caller did not ask
            // WNOHANG of.
            Syscall::Done(None) if options & WNOHANG == 0 && flags & WNOHANG != 0 => Err(Errno::EAGAIN),
            r => Ok(r),
        }
    }

    fn wait_common(&mut self, cur: TaskId, wo: WaitOptions) -> Result<Syscall<Option<Waited>>, Errno> {
        match self.do_wait(cur, &wo)? {
            Some(w) => {
                self.wake_waiters();
                Ok(Syscall::Done(Some(w)))
            }
            None if wo.flags & WNOHANG != 0 => Ok(Syscall::Done(None)),
            None => {
                self.sleep(cur, Block::Wait(wo));
                Ok(Syscall::Blocked)
            }
        }
    }

    /// `do_wait` (kernel/exit.c): looks at the children, then the tracees (`ptrace_do_wait`),
    /// of every thread of the caller's group (only the caller's with `__WNOTHREAD`).
    /// `Ok(None)`: a child may still change state; `ECHILD`: no child qualifies.
    pub(crate) fn do_wait(&mut self, cur: TaskId, wo: &WaitOptions) -> Result<Option<Waited>, Errno> {
        let mut notask_error = true;
        let threads: Vec<TaskId> = if wo.flags & WNOTHREAD != 0 {
            vec![cur]
        } else {
            // for_each_thread, starting at the caller.
            let all = self.t(cur).signal.borrow().threads.clone();
            let pos = all.iter().position(|&t| t == cur).unwrap_or(0);
            all[pos..].iter().chain(all[..pos].iter()).copied().collect()
        };
        for tsk in threads {
            let (children, ptraced) = match self.task(tsk) {
                Some(t) => (t.children.clone(), t.ptraced.clone()),
                None => continue,
            };
            for p in children {
                if let Some(w) = self.wait_consider_task(cur, wo, p, false, &mut notask_error) {
                    return Ok(Some(w));
                }
            }
            for p in ptraced {
                if let Some(w) = self.wait_consider_task(cur, wo, p, true, &mut notask_error) {
                    return Ok(Some(w));
                }
            }
        }
        if notask_error {
            Err(Errno::ECHILD)
        } else {
            Ok(None)
        }
    }

    /// `eligible_child` (kernel/exit.c): the pid matches, and `__WALL` takes every child,
    /// `__WCLONE` only those whose exit signal is not SIGCHLD, neither only SIGCHLD ones. A
    /// tracee is taken whatever the flags (`__WALL` is implied for it since Linux 4.7).
    fn eligible_child(&self, wo: &WaitOptions, ptrace: bool, p: TaskId) -> bool {
        let t = self.t(p);
        if !eligible_pid(wo, &t.pid, &t.signal.borrow().pgrp) {
            return false;
        }
        if ptrace || wo.flags & WALL != 0 {
            return true;
        }
        (t.exit_signal != 17) == (wo.flags & WCLONE != 0)
    }

    /// `wait_consider_task` (kernel/exit.c), for a child (`ptrace` false) or a tracee. A
    /// child traced by another group shows its real parent its group stops, and its exit only
    /// once the tracer has seen it; one traced by the real parent's own group is seen as a
    /// tracee.
    fn wait_consider_task(
        &mut self,
        cur: TaskId,
        wo: &WaitOptions,
        p: TaskId,
        ptrace: bool,
        notask_error: &mut bool,
    ) -> Option<Waited> {
        let state = self.task(p)?.state;
        if state == TaskState::Dead || !self.eligible_child(wo, ptrace, p) {
            return None;
        }
        let traced = self.t(p).ptrace != 0;
        let ptrace = ptrace || (traced && !self.ptrace_reparented(p));
        if state == TaskState::Zombie {
            // delay_group_leader: a zombie leader whose threads still run cannot be reaped.
            let delayed = {
                let s = self.t(p).signal.borrow();
                self.t(p).group_leader == p && !(s.threads.len() == 1 && s.threads[0] == p)
            };
            // A zombie tracee is seen by its tracer only; the real parent is told later.
            if !delayed && (ptrace || !traced) {
                return self.wait_task_zombie(cur, wo, p);
            }
            if !ptrace || wo.flags & (WCONTINUED | WEXITED) != 0 {
                *notask_error = false;
            }
        } else {
            *notask_error = false;
        }
        if let Some(w) = self.wait_task_stopped(cur, wo, ptrace, p) {
            return Some(w);
        }
        self.wait_task_continued(cur, wo, p)
    }

    /// `wait_task_zombie` (kernel/exit.c): reports the exit status and, without `WNOWAIT`,
    /// releases the child. A group exit reports the group's status. A traced leader whose
    /// real parent is another group (`EXIT_TRACE`) is untraced instead and reported to its
    /// real parent (`do_notify_parent`), which reaps it then, or at once if it ignores
    /// `SIGCHLD`.
    fn wait_task_zombie(&mut self, cur: TaskId, wo: &WaitOptions, p: TaskId) -> Option<Waited> {
        if wo.flags & WEXITED == 0 {
            return None;
        }
        let t = self.t(p);
        let code = {
            let s = t.signal.borrow();
            if s.group_exit {
                s.group_exit_code
            } else {
                t.exit_code
            }
        };
        let pid = t.pid.clone();
        let nr = self.pid_vnr(cur, &pid);
        let uid = self.task_uid_seen_by(cur, p);
        if wo.flags & WNOWAIT == 0 {
            if self.ptrace_reparented(p) && self.t(p).group_leader == p {
                self.ptrace_unlink(p);
                let sig = self.t(p).exit_signal;
                if self.do_notify_parent(p, sig) {
                    self.release_task(p);
                }
            } else {
                self.release_task(p);
            }
        }
        Some(Waited { pid, nr, status: WaitStatus::from_exit_code(code), uid, ptrace_event: None })
    }

    /// `wait_task_stopped` (kernel/exit.c): a stop not yet reported, with `WUNTRACED`. What
    /// counts is the group's (`task_stopped_code`: `SIGNAL_STOP_STOPPED` and the code to
    /// report), not the leader's own state: a zombie leader whose thread stopped reports it.
    /// For a tracee (`ptrace`) it is the task's own ptrace stop, reported with or without
    /// `WUNTRACED` (`exit_code`, 0 once reported).
    fn wait_task_stopped(
        &mut self,
        cur: TaskId,
        wo: &WaitOptions,
        ptrace: bool,
        p: TaskId,
    ) -> Option<Waited> {
        if ptrace {
            let t = self.t(p);
            let code = t.ptrace_code;
            if t.ptrace_stop.is_none() || code == 0 {
                return None;
            }
            if wo.flags & WNOWAIT == 0 {
                self.tm(p).ptrace_code = 0;
            }
            let pid = self.t(p).pid.clone();
            let nr = self.pid_vnr(cur, &pid);
            let uid = self.task_uid_seen_by(cur, p);
            let status = WaitStatus::Stopped((code & 0xff) as u32);
            return Some(Waited { pid, nr, status, uid, ptrace_event: Some((code >> 8) as u32) });
        }
        if wo.flags & WUNTRACED == 0 {
            return None;
        }
        let t = self.t(p);
        let signal = t.signal.clone();
        let sig = signal.borrow().stopped?;
        if wo.flags & WNOWAIT == 0 {
            signal.borrow_mut().stopped = None;
        }
        let pid = t.pid.clone();
        let nr = self.pid_vnr(cur, &pid);
        let uid = self.task_uid_seen_by(cur, p);
        Some(Waited { pid, nr, status: WaitStatus::Stopped(sig), uid, ptrace_event: None })
    }

    /// `wait_task_continued` (kernel/exit.c): a continue not yet reported, with `WCONTINUED`.
    fn wait_task_continued(&mut self, cur: TaskId, wo: &WaitOptions, p: TaskId) -> Option<Waited> {
        if wo.flags & WCONTINUED == 0 {
            return None;
        }
        let t = self.t(p);
        let signal = t.signal.clone();
        if !signal.borrow().continued {
            return None;
        }
        if wo.flags & WNOWAIT == 0 {
            signal.borrow_mut().continued = false;
        }
        let pid = t.pid.clone();
        let nr = self.pid_vnr(cur, &pid);
        let uid = self.task_uid_seen_by(cur, p);
        Some(Waited { pid, nr, status: WaitStatus::Continued, uid, ptrace_event: None })
    }
}
