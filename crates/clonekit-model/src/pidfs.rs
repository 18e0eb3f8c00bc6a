//! Process file descriptors (fs/pidfs.c, and the pidfd system calls of kernel/pid.c):
//! `pidfd_open`, `pidfd_getfd`, what a pidfd names (`pidfd_pid`) and what `poll` on it
//! reports (`pidfd_poll`). `pidfd_send_signal` is in signal.rs, `waitid(P_PIDFD)` in wait.rs,
//! `CLONE_PIDFD` in fork.rs.

use std::cell::Cell;
use std::rc::Rc;

use clonekit_flags::{
    Errno, DEFAULT_POLLMASK, PIDFD_GETFD_SYSCALL, PIDFD_GET_INFO_IOCTL, PIDFD_INFO_EXIT, PIDFD_NONBLOCK,
    PIDFD_OPEN_ENOENT, PIDFD_OPEN_NONBLOCK, PIDFD_OPEN_SYSCALL, PIDFD_OPEN_THREAD, PIDFD_POLLHUP,
    PIDFD_THREAD, PIDFD_THREAD_LEADER_POLL, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLRDNORM,
};

use crate::file::{File, FileKind};
use crate::pid::{Pid, PidType};
use crate::sched::{Block, Kernel, Resumed, Syscall, TaskId, TaskState};

impl Kernel {
    /// The pid that descriptor `fd` of `id` refers to, if it is a pidfd (to inspect).
    pub fn pidfd_target(&self, id: TaskId, fd: i32) -> Option<Rc<Pid>> {
        let files = self.task(id)?.files.clone()?;
        let file = files.borrow().file(fd)?;
        match &file.kind {
            FileKind::Pidfd { pid, .. } => Some(pid.clone()),
            FileKind::Path { .. } | FileKind::Ns(_) => None,
        }
    }

    /// `pidfd_pid` (fs/pidfs.c) of the caller's descriptor `fd`: `EBADF` for a descriptor
    /// that is not open, and for one that is not a pidfd.
    pub(crate) fn pidfd_pid(&self, cur: TaskId, fd: i32) -> Result<(Rc<Pid>, u32), Errno> {
        let files = self.t(cur).files.clone().ok_or(Errno::EBADF)?;
        let file = files.borrow().file(fd).ok_or(Errno::EBADF)?;
        match &file.kind {
            FileKind::Pidfd { pid, flags } => Ok((pid.clone(), *flags)),
            FileKind::Path { .. } | FileKind::Ns(_) => Err(Errno::EBADF),
        }
    }

    /// `pidfd_get_pid` (kernel/pid.c): the pid a pidfd refers to, with its file's flags.
    pub(crate) fn pidfd_get_pid(&self, cur: TaskId, fd: i32) -> Result<(Rc<Pid>, u32), Errno> {
        self.pidfd_pid(cur, fd)
    }

    /// `pidfd_open(pid, flags)` (kernel/pid.c): a close-on-exec descriptor for the process
    /// (with `PIDFD_THREAD`, the thread) `pid` names in the caller's pid namespace.
    /// The flags and errors of the release the model follows ([`PIDFD_OPEN_SYSCALL`],
    /// [`PIDFD_OPEN_NONBLOCK`], [`PIDFD_OPEN_THREAD`], [`PIDFD_OPEN_ENOENT`]).
    pub fn sys_pidfd_open(&mut self, cur: TaskId, pid: i32, flags: u32) -> Result<i32, Errno> {
        self.current(cur)?;
        if !PIDFD_OPEN_SYSCALL.present_in(self.linux) {
            return Err(Errno::ENOSYS);
        }
        let mut known = 0;
        if PIDFD_OPEN_NONBLOCK.present_in(self.linux) {
            known |= PIDFD_NONBLOCK;
        }
        if PIDFD_OPEN_THREAD.present_in(self.linux) {
            known |= PIDFD_THREAD;
        }
        if flags & !known != 0 {
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
    /// without `PIDFD_THREAD` (it leads no thread group). Before Linux 6.16
    /// ([`PIDFD_OPEN_ENOENT`]), `pidfd_create` refused both with `EINVAL`.
    fn pidfd_prepare_checks(&self, pid: &Rc<Pid>, flags: u32) -> Result<(), Errno> {
        if !PIDFD_OPEN_ENOENT.present_in(self.linux) {
            let ty = if flags & PIDFD_THREAD != 0 { PidType::Pid } else { PidType::Tgid };
            return match self.pid_task(pid, ty) {
                Some(_) => Ok(()),
                None => Err(Errno::EINVAL),
            };
        }
        if self.pid_task(pid, PidType::Pid).is_none() {
            return Err(Errno::ESRCH);
        }
        if flags & PIDFD_THREAD == 0 && self.pid_task(pid, PidType::Tgid).is_none() {
            return Err(Errno::ENOENT);
        }
        Ok(())
    }

    /// `ioctl(fd, PIDFD_GET_INFO)` asking for `PIDFD_INFO_EXIT` (fs/pidfs.c `pidfd_info`):
    /// the exit code `pidfs_exit` recorded when the task was released, `None` while it was
    /// not. `EREMOTE` for a pid outside the caller's pid namespace; `ESRCH` for one reaped on a
    /// kernel that keeps no exit code; `ENOTTY` for a file that is not a pidfd, or a kernel without
    /// the ioctl (before 6.13).
    pub fn sys_pidfd_get_info(&mut self, cur: TaskId, fd: i32) -> Result<Option<i32>, Errno> {
        self.current(cur)?;
        let file = self.t(cur).files.as_ref().and_then(|f| f.borrow().file(fd)).ok_or(Errno::EBADF)?;
        let FileKind::Pidfd { pid, .. } = &file.kind else { return Err(Errno::ENOTTY) };
        if !PIDFD_GET_INFO_IOCTL.present_in(self.linux) {
            return Err(Errno::ENOTTY);
        }
        // pid_in_current_pidns: EREMOTE (clonekit_flags::PIDFD_INFO_EREMOTE), before ESRCH.
        let ns = self.task_active_pid_ns(cur);
        if pid.nr_ns(&ns) == 0 {
            let remote = clonekit_flags::PIDFD_INFO_EREMOTE.present_in(self.linux);
            return Err(if remote { Errno::EREMOTE } else { Errno::ESRCH });
        }
        let exit = pid.exit_info.get().filter(|_| PIDFD_INFO_EXIT.present_in(self.linux));
        if exit.is_none() && self.pid_task(pid, PidType::Pid).is_none() {
            return Err(Errno::ESRCH);
        }
        Ok(exit)
    }

    /// `pidfd_getfd(pidfd, fd, flags)` (kernel/pid.c): a close-on-exec duplicate, in the
    /// caller's table, of descriptor `fd` of the process the pidfd names, if the caller may
    /// ptrace it (`EPERM` otherwise).
    pub fn sys_pidfd_getfd(&mut self, cur: TaskId, pidfd: i32, fd: i32, flags: u32) -> Result<i32, Errno> {
        self.current(cur)?;
        if !PIDFD_GETFD_SYSCALL.present_in(self.linux) {
            return Err(Errno::ENOSYS);
        }
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

    /// `poll` of the caller's descriptor `fd` for `events`, without waiting (`do_pollfd`):
    /// `POLLNVAL` for a descriptor that is not open; a pidfd reports `pidfd_poll`,
    /// any other file of the fixed tree `DEFAULT_POLLMASK`; the result is what was asked for,
    /// plus `POLLERR` and `POLLHUP`.
    pub fn sys_poll(&mut self, cur: TaskId, fd: i32, events: u16) -> Result<u16, Errno> {
        self.current(cur)?;
        Ok(self.do_pollfd(cur, fd, events).0)
    }

    /// `poll` of descriptor `fd` for `events` with no timeout (`do_sys_poll`): what
    /// [`Kernel::sys_poll`] reports, once there is something; until then the task sleeps on
    /// the pidfd's wait queue, woken when the pid's task exits or is released
    /// (`do_notify_pidfd`, `__change_pid`), or by a signal: a handler makes the call fail
    /// with `EINTR` (`-ERESTARTNOHAND`), a stop makes it again at `SIGCONT`.
    pub fn sys_poll_wait(&mut self, cur: TaskId, fd: i32, events: u16) -> Result<Syscall<u16>, Errno> {
        self.current(cur)?;
        match self.do_pollfd(cur, fd, events) {
            (0, Some(pid)) => {
                self.sleep(cur, Block::Poll { fd, events, pid });
                Ok(Syscall::Blocked)
            }
            (mask, _) => Ok(Syscall::Done(mask)),
        }
    }

    /// `do_pollfd` (fs/select.c): the descriptor's events that were asked for, plus `POLLERR`
    /// and `POLLHUP`, and the pid whose wait queue a pidfd's `poll` registers on.
    fn do_pollfd(&self, cur: TaskId, fd: i32, events: u16) -> (u16, Option<Rc<Pid>>) {
        let Some(files) = self.t(cur).files.clone() else { return (POLLNVAL, None) };
        let Some(file) = files.borrow().file(fd) else { return (POLLNVAL, None) };
        let (mask, pid) = match &file.kind {
            FileKind::Pidfd { pid, flags } => (self.pidfd_poll(pid, *flags), Some(pid.clone())),
            FileKind::Path { .. } | FileKind::Ns(_) => (DEFAULT_POLLMASK, None),
        };
        (mask & (events | POLLERR | POLLHUP), pid)
    }

    /// `do_notify_pidfd` / `wake_up_all(&pid->wait_pidfd)`: the tasks asleep in `poll` on
    /// `pid`'s pidfds look again (a stopped one does at `SIGCONT`). Woken by an exit in
    /// progress, a poller looks on its own CPU while the exit goes on: if the exit changes
    /// what it would find (a thread or an auto-reaped child released right after its
    /// notification, `POLLHUP`), what it finds is a race ([`Kernel::end_pidfd_wakes`]).
    pub(crate) fn notify_pidfd(&mut self, pid: &Rc<Pid>) {
        let pollers: Vec<TaskId> = self
            .slots
            .iter()
            .filter_map(|s| s.task.as_ref())
            .filter(|t| matches!(&t.block, Some((_, Block::Poll { pid: p, .. })) if Rc::ptr_eq(p, pid)))
            .map(|t| t.id)
            .collect();
        for t in pollers {
            if self.pidfd_wakes.is_some() {
                let Some((_, Block::Poll { fd, events, .. })) = self.t(t).block.clone() else { continue };
                let (mask, _) = self.do_pollfd(t, fd, events);
                if mask != 0 && !self.t(t).frozen() {
                    if let Some(w) = self.pidfd_wakes.as_mut() {
                        if !w.iter().any(|(x, _)| *x == t) {
                            w.push((t, mask));
                        }
                    }
                }
            } else {
                self.poll_again(t);
            }
        }
    }

    /// The end of an exit that woke pidfd pollers: each returns what it found when woken,
    /// or, if the exit has changed that since, either.
    pub(crate) fn end_pidfd_wakes(&mut self, woken: Vec<(TaskId, u16)>) {
        for (t, first) in woken {
            let Some(task) = self.task(t) else { continue };
            if task.state != TaskState::Blocked || task.frozen() {
                continue;
            }
            let Some((_, Block::Poll { fd, events, .. })) = task.block.clone() else { continue };
            let (now, _) = self.do_pollfd(t, fd, events);
            let found = if now != first && now != 0 { vec![first, now] } else { vec![first] };
            self.wake(t, Resumed::Poll(Ok(found)));
        }
    }

    /// A task asleep in `poll` makes a pass again: it returns if its descriptor is ready (or
    /// was closed: `POLLNVAL`).
    pub(crate) fn poll_again(&mut self, t: TaskId) {
        let Some(task) = self.task(t) else { return };
        if task.state != TaskState::Blocked || task.frozen() {
            return;
        }
        let Some((_, Block::Poll { fd, events, .. })) = task.block.clone() else { return };
        let (mask, _) = self.do_pollfd(t, fd, events);
        if mask != 0 {
            self.wake(t, Resumed::Poll(Ok(vec![mask])));
        }
    }

    /// A handler has run in `t`, asleep in `poll`: the call fails with `EINTR` (poll's
    /// `-ERESTARTNOHAND` is not made again once a handler ran, `SA_RESTART` or not).
    pub(crate) fn poll_interrupted(&mut self, t: TaskId) {
        if matches!(self.task(t).and_then(|x| x.block.as_ref()), Some((_, Block::Poll { .. }))) {
            self.wake(t, Resumed::Poll(Err(Errno::EINTR)));
        }
    }

    /// `pidfd_poll` (fs/pidfs.c): readable and hung up once no task holds the pid (reaped,
    /// or a thread that exited), readable once it is a zombie whose thread group is empty
    /// (a leader whose threads still run is not, `delay_group_leader`), whatever
    /// `PIDFD_THREAD` says. Before Linux 6.15 ([`PIDFD_THREAD_LEADER_POLL`]; backported to
    /// 6.12 and 6.14) a `PIDFD_THREAD` pidfd of such a leader was readable at its exit; before
    /// 6.9 ([`PIDFD_POLLHUP`]) a released pid was readable without `POLLHUP`.
    pub(crate) fn pidfd_poll(&self, pid: &Rc<Pid>, flags: u32) -> u16 {
        let Some(task) = self.pid_task(pid, PidType::Pid) else {
            return if PIDFD_POLLHUP.present_in(self.linux) {
                POLLIN | POLLRDNORM | POLLHUP
            } else {
                POLLIN | POLLRDNORM
            };
        };
        let t = self.t(task);
        let exit_state = t.state == TaskState::Zombie;
        let delay_group_leader = t.group_leader == task && t.signal.borrow().threads.len() > 1;
        let thread = flags & PIDFD_THREAD != 0 && !PIDFD_THREAD_LEADER_POLL.present_in(self.linux);
        if exit_state && (thread || !delay_group_leader) {
            POLLIN | POLLRDNORM
        } else {
            0
        }
    }
}
