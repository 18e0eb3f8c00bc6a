//! Process file descriptors (fs/pidfs.c, and the pidfd system calls of kernel/pid.c):
//! `pidfd_open`, `pidfd_getfd`, what a pidfd names (`pidfd_pid`) and what `poll` on it
//! reports (`pidfd_poll`). `pidfd_send_signal` is in signal.rs, `waitid(P_PIDFD)` in wait.rs,
//! `CLONE_PIDFD` in fork.rs.

use std::cell::Cell;
use std::rc::Rc;

use clonekit_flags::{
    Errno, DEFAULT_POLLMASK, PIDFD_NONBLOCK, PIDFD_THREAD, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLRDNORM,
};

use crate::file::{File, FileKind};
use crate::pid::{Pid, PidType};
use crate::sched::{Kernel, TaskId, TaskState};

impl Kernel {
    /// The pid that descriptor `fd` of `id` refers to, if it is a pidfd (to inspect).
    pub fn pidfd_target(&self, id: TaskId, fd: i32) -> Option<Rc<Pid>> {
        let files = self.task(id)?.files.clone()?;
        let file = files.borrow().file(fd)?;
        match &file.kind {
            FileKind::Pidfd { pid, .. } => Some(pid.clone()),
            FileKind::Path { .. } => None,
        }
    }

    /// `pidfd_pid` (fs/pidfs.c) of the caller's descriptor `fd`: `EBADF` for a descriptor
    /// that is not open, and for one that is not a pidfd.
    pub(crate) fn pidfd_pid(&self, cur: TaskId, fd: i32) -> Result<(Rc<Pid>, u32), Errno> {
        let files = self.t(cur).files.clone().ok_or(Errno::EBADF)?;
        let file = files.borrow().file(fd).ok_or(Errno::EBADF)?;
        match &file.kind {
            FileKind::Pidfd { pid, flags } => Ok((pid.clone(), *flags)),
            FileKind::Path { .. } => Err(Errno::EBADF),
        }
    }

    /// `pidfd_get_pid` (kernel/pid.c): the pid a pidfd refers to, with its file's flags.
    pub(crate) fn pidfd_get_pid(&self, cur: TaskId, fd: i32) -> Result<(Rc<Pid>, u32), Errno> {
        self.pidfd_pid(cur, fd)
    }

    /// `pidfd_open(pid, flags)` (kernel/pid.c): a close-on-exec descriptor for the process
    /// (with `PIDFD_THREAD`, the thread) `pid` names in the caller's pid namespace.
    pub fn sys_pidfd_open(&mut self, cur: TaskId, pid: i32, flags: u32) -> Result<i32, Errno> {
        self.current(cur)?;
        if flags & !(PIDFD_NONBLOCK | PIDFD_THREAD) != 0 {
            return Err(Errno::EINVAL);
        }
        if pid <= 0 {
            return Err(Errno::EINVAL);
        }
        let p = self.find_vpid(cur, pid).ok_or(Errno::ESRCH)?;
        self.pidfd_create(cur, &p, flags)
    }

    /// `pidfd_create` (kernel/pid.c): `pidfd_prepare`, then the descriptor installed.
    fn pidfd_create(&mut self, cur: TaskId, pid: &Rc<Pid>, flags: u32) -> Result<i32, Errno> {
        self.pidfd_prepare_checks(pid, flags)?;
        let file = Rc::new(File { kind: FileKind::Pidfd { pid: pid.clone(), flags }, pos: Cell::new(0) });
        let files = self.t(cur).files.clone().ok_or(Errno::EBADF)?;
        let fd = files.borrow_mut().install(file, true)?;
        Ok(fd)
    }

    /// The checks of `pidfd_prepare` (kernel/fork.c) for a pid that may be gone (no
    /// `PIDFD_STALE`): `ESRCH` once no task holds it (reaped), `ENOENT` for a thread's pid
    /// without `PIDFD_THREAD` (it leads no thread group).
    fn pidfd_prepare_checks(&self, pid: &Rc<Pid>, flags: u32) -> Result<(), Errno> {
        if self.pid_task(pid, PidType::Pid).is_none() {
            return Err(Errno::ESRCH);
        }
        if flags & PIDFD_THREAD == 0 && self.pid_task(pid, PidType::Tgid).is_none() {
            return Err(Errno::ENOENT);
        }
        Ok(())
    }

    /// `pidfd_getfd(pidfd, fd, flags)` (kernel/pid.c): a close-on-exec duplicate, in the
    /// caller's table, of descriptor `fd` of the process the pidfd names, if the caller may
    /// ptrace it (`EPERM` otherwise).
    pub fn sys_pidfd_getfd(&mut self, cur: TaskId, pidfd: i32, fd: i32, flags: u32) -> Result<i32, Errno> {
        self.current(cur)?;
        if flags != 0 {
            return Err(Errno::EINVAL);
        }
        let (pid, _) = self.pidfd_pid(cur, pidfd)?;
        let task = self.pid_task(&pid, PidType::Pid).ok_or(Errno::ESRCH)?;
        let file = self.pidfd_fget(cur, task, fd)?;
        let files = self.t(cur).files.clone().ok_or(Errno::EBADF)?;
        let new = files.borrow_mut().install(file, true)?;
        Ok(new)
    }

    /// `__pidfd_fget` (kernel/pid.c): the target's file if `ptrace_may_access` lets the
    /// caller in (`EPERM`); `EBADF` for a descriptor it does not have, `ESRCH` when it is
    /// exiting and its table is gone.
    fn pidfd_fget(&self, cur: TaskId, task: TaskId, fd: i32) -> Result<Rc<File>, Errno> {
        if !self.ptrace_may_access(cur, task) {
            return Err(Errno::EPERM);
        }
        let t = self.t(task);
        match &t.files {
            Some(files) if !t.exiting && t.state != TaskState::Zombie => {
                files.borrow().file(fd).ok_or(Errno::EBADF)
            }
            _ => Err(Errno::ESRCH),
        }
    }

    /// `__ptrace_may_access` (kernel/ptrace.c) with `PTRACE_MODE_ATTACH_REALCREDS`: a thread of
    /// the caller's own group, always. The scenario's tasks share their uids and are dumpable,
    /// so what decides is `cap_ptrace_access_check` (security/commoncap.c): a task of the same
    /// user namespace whose capabilities the caller holds too, or one whose user namespace
    /// the caller is capable in (`CAP_SYS_PTRACE`).
    pub(crate) fn ptrace_may_access(&self, cur: TaskId, task: TaskId) -> bool {
        let (me, them) = (self.t(cur), self.t(task));
        if Rc::ptr_eq(&me.signal, &them.signal) {
            return true;
        }
        let (cred, tcred) = (&me.cred, &them.cred);
        let subset = !tcred.cap_sys_admin || cred.cap_sys_admin;
        (Rc::ptr_eq(&cred.user_ns, &tcred.user_ns) && subset) || cred.cap_capable(&tcred.user_ns)
    }

    /// `poll` of the caller's descriptor `fd` for `events`, without waiting (`do_pollfd`):
    /// `POLLNVAL` for a descriptor that is not open; a pidfd reports [`Kernel::pidfd_poll`],
    /// any other file of the fixed tree `DEFAULT_POLLMASK`; the result is what was asked for,
    /// plus `POLLERR` and `POLLHUP`.
    pub fn sys_poll(&mut self, cur: TaskId, fd: i32, events: u16) -> Result<u16, Errno> {
        self.current(cur)?;
        let files = self.t(cur).files.clone().ok_or(Errno::EBADF)?;
        let Some(file) = files.borrow().file(fd) else { return Ok(POLLNVAL) };
        let mask = match &file.kind {
            FileKind::Pidfd { pid, .. } => self.pidfd_poll(pid),
            FileKind::Path { .. } => DEFAULT_POLLMASK,
        };
        Ok(mask & (events | POLLERR | POLLHUP))
    }

    /// `pidfd_poll` (fs/pidfs.c): readable and hung up once no task holds the pid (reaped,
    /// or a thread that exited), readable once it is a zombie whose thread group is empty
    /// (a leader whose threads still run is not, `delay_group_leader`), whatever
    /// `PIDFD_THREAD` says.
    pub(crate) fn pidfd_poll(&self, pid: &Rc<Pid>) -> u16 {
        let Some(task) = self.pid_task(pid, PidType::Pid) else {
            return POLLIN | POLLRDNORM | POLLHUP;
        };
        let t = self.t(task);
        let exit_state = t.state == TaskState::Zombie;
        let delay_group_leader = t.group_leader == task && t.signal.borrow().threads.len() > 1;
        if exit_state && !delay_group_leader {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }
}
