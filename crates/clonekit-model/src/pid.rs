//! `struct pid` and pid namespaces (kernel/pid.c, kernel/pid_namespace.c): one number per
//! namespace level, allocated cyclically, with the namespace's child reaper.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use clonekit_flags::{MAX_PID_NS_LEVEL, PIDNS_FIRST_FORK_RETRYABLE};

use crate::cred::{Cred, UserNamespace};
use crate::fork::Refused;
use crate::sched::{Kernel, TaskId};

/// The initial pid namespace's `pid_max` (kernel/pid.c: `PID_MAX_DEFAULT`, the
/// `kernel.pid_max` sysctl's default on this machine).
pub(crate) const PID_MAX_DEFAULT: i32 = 32768;
/// `PID_MAX_LIMIT` (include/linux/threads.h on 64-bit): the `pid_max` every new pid namespace
/// starts with (create_pid_namespace, per namespace since Linux 6.14; not its parent's).
pub(crate) const PID_MAX_LIMIT: i32 = 4 * 1024 * 1024;
/// `RESERVED_PIDS`: where cyclic allocation restarts after wrapping.
const RESERVED_PIDS: i32 = 300;

/// `struct pid_namespace`.
#[derive(Debug)]
pub struct PidNamespace {
    /// Nesting level: 0 for the initial namespace.
    pub level: u32,
    /// The namespace it was created in.
    pub parent: Option<Rc<PidNamespace>>,
    /// The inode number `/proc/PID/ns/pid` shows.
    pub inum: u64,
    /// The user namespace that owns it.
    pub user_ns: Rc<UserNamespace>,
    /// The `idr`: number → the task holding that `struct pid` as its `thread_pid`.
    pub(crate) idr: RefCell<BTreeMap<i32, TaskId>>,
    /// The cursor of `idr_alloc_cyclic`: the last number handed out.
    last: Cell<i32>,
    /// `pid_max`: numbers are below it.
    pub(crate) pid_max: i32,
    /// `child_reaper`: the namespace's init, once it exists.
    pub(crate) child_reaper: Cell<Option<TaskId>>,
    /// `PIDNS_ADDING`: cleared when the init exits (`disable_pid_allocation`).
    pub(crate) adding: Cell<bool>,
    /// An init in `zap_pid_ns_processes`, waiting for the namespace's last pids (held by
    /// zombies whose parents are outside) to be freed.
    pub(crate) zap_waiter: Cell<Option<TaskId>>,
}

impl PidNamespace {
    /// The initial pid namespace (`init_pid_ns`).
    pub(crate) fn initial(inum: u64, user_ns: Rc<UserNamespace>) -> PidNamespace {
        PidNamespace::empty(0, None, inum, user_ns, PID_MAX_DEFAULT)
    }

    /// A namespace with no pid allocated yet, open for the first one.
    fn empty(
        level: u32,
        parent: Option<Rc<PidNamespace>>,
        inum: u64,
        user_ns: Rc<UserNamespace>,
        pid_max: i32,
    ) -> PidNamespace {
        PidNamespace {
            level,
            pid_max,
            parent,
            inum,
            user_ns,
            idr: RefCell::new(BTreeMap::new()),
            last: Cell::new(0),
            child_reaper: Cell::new(None),
            adding: Cell::new(true),
            zap_waiter: Cell::new(None),
        }
    }

    /// `create_pid_namespace` (kernel/pid_namespace.c): a namespace one level deeper, with a
    /// `pid_max` of its own (`PID_MAX_LIMIT`) where the kernel gives it one (`per_ns_pid_max`,
    /// Linux 6.14: clonekit_flags::PID_MAX_PER_NS), else the parent's, the one global value.
    pub(crate) fn create(
        parent: &Rc<PidNamespace>,
        user_ns: Rc<UserNamespace>,
        inum: u64,
        per_ns_pid_max: bool,
    ) -> Result<PidNamespace, Refused> {
        let level = parent.level + 1;
        // create_pid_namespace: more than MAX_PID_NS_LEVEL levels (rule N6).
        if u64::from(level) > MAX_PID_NS_LEVEL {
            return Err(Refused::by("N6"));
        }
        let pid_max = if per_ns_pid_max { PID_MAX_LIMIT } else { parent.pid_max };
        Ok(PidNamespace::empty(level, Some(parent.clone()), inum, user_ns, pid_max))
    }

    /// `find_pid_ns` (kernel/pid.c): the task whose `struct pid` has number `nr` here.
    pub fn find_task(&self, nr: i32) -> Option<TaskId> {
        self.idr.borrow().get(&nr).copied()
    }

    /// The namespace's init, if it has one.
    pub fn child_reaper(&self) -> Option<TaskId> {
        self.child_reaper.get()
    }

    /// Whether `self` is `ns` or one of its descendants.
    pub fn is_descendant_of(&self, ns: &PidNamespace) -> bool {
        crate::nsproxy::descends_from(self, ns, |c| c.parent.as_deref())
    }
}

/// `enum pid_type`: how a task is attached to a `struct pid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PidType {
    /// `PIDTYPE_PID`: the task's own (a thread's) id.
    Pid,
    /// `PIDTYPE_TGID`: the thread group's id (the leader's pid).
    Tgid,
    /// `PIDTYPE_PGID`: the process group's id.
    Pgid,
    /// `PIDTYPE_SID`: the session's id.
    Sid,
}

/// One level of a `struct pid`: its number in one namespace (`struct upid`).
#[derive(Debug, Clone)]
pub struct UPid {
    /// The number.
    pub nr: i32,
    /// The namespace.
    pub ns: Rc<PidNamespace>,
}

/// `struct pid`: the numbers of one task id in its namespace and every ancestor namespace.
#[derive(Debug)]
pub struct Pid {
    /// `numbers[0]` is in the initial namespace, the last in the deepest (`pid->level`).
    pub numbers: Vec<UPid>,
    /// `pid->attr->exit_info`: the exit code `pidfs_exit` recorded when the task was
    /// released (`PIDFD_INFO_EXIT`, Linux 6.15).
    pub exit_info: std::cell::Cell<Option<i32>>,
}

impl Pid {
    /// `pid->level`.
    pub fn level(&self) -> u32 {
        (self.numbers.len() - 1) as u32
    }

    /// `ns_of_pid`: the deepest namespace, where the task lives.
    pub fn ns(&self) -> &Rc<PidNamespace> {
        &self.numbers[self.numbers.len() - 1].ns
    }

    /// `pid_nr_ns` (kernel/pid.c): the number seen from `ns`, 0 if the pid is not visible there.
    pub fn nr_ns(&self, ns: &PidNamespace) -> i32 {
        let level = ns.level as usize;
        match self.numbers.get(level) {
            Some(u) if std::ptr::eq(&*u.ns, ns) => u.nr,
            _ => 0,
        }
    }

    /// `pid_nr`: the number in the initial namespace.
    pub fn nr(&self) -> i32 {
        self.numbers[0].nr
    }
}

impl Kernel {
    /// `alloc_pid` (kernel/pid.c): one number per level, deepest first, honouring `set_tid`
    /// (deepest level first). `cred` is the caller's (`current`'s), whose capability over each
    /// level's owning user namespace a `set_tid` entry needs. Errors: rules A1 (checked by
    /// clonekit-flags before), A2, A3, A4, A5, A6, A7.
    pub(crate) fn alloc_pid(
        &mut self,
        ns: &Rc<PidNamespace>,
        set_tid: &[i32],
        cred: &Cred,
    ) -> Result<Vec<UPid>, Refused> {
        // A set_tid array longer than the levels (rule A1).
        if set_tid.len() > ns.level as usize + 1 {
            return Err(Refused::by("A1"));
        }
        let mut numbers: Vec<UPid> = Vec::with_capacity(ns.level as usize + 1);
        let mut remaining = set_tid.len();
        let mut tmp = Some(ns.clone());
        let mut i = 0usize;
        while let Some(cur) = tmp {
            let mut tid = 0;
            if remaining > 0 {
                tid = set_tid[i];
                // alloc_pid: a number out of range (rule A2).
                if !(1..cur.pid_max).contains(&tid) {
                    self.undo_pids(&numbers);
                    return Err(Refused::by("A2"));
                }
                // alloc_pid: a pid other than 1 where there is no init yet (rule A3).
                if tid != 1 && cur.child_reaper.get().is_none() {
                    self.undo_pids(&numbers);
                    return Err(Refused::by("A3"));
                }
                // alloc_pid: checkpoint_restore_ns_capable(tmp->user_ns), before the
                // number is looked up (rule A4): a caller in a user namespace of its own is
                // not capable over a pid namespace its parent's namespace owns.
                if !cred.checkpoint_restore_ns_capable(&cur.user_ns) {
                    self.undo_pids(&numbers);
                    return Err(Refused::by("A4"));
                }
                remaining -= 1;
            }
            let nr = if tid != 0 {
                // idr_alloc(tid, tid + 1): ENOSPC for a used number, turned into EEXIST (A5).
                if cur.idr.borrow().contains_key(&tid) {
                    self.undo_pids(&numbers);
                    return Err(Refused::by("A5"));
                }
                tid
            } else {
                match alloc_cyclic(&cur) {
                    Some(nr) => nr,
                    None => {
                        self.undo_pids(&numbers);
                        // ENOSPC from the idr becomes EAGAIN (rule A6).
                        return Err(Refused::by("A6"));
                    }
                }
            };
            // Reserve the number (idr_alloc stores NULL first).
            cur.idr.borrow_mut().insert(nr, self.init_task);
            if tid != 0 {
                cur.last.set(cur.last.get().max(nr));
            }
            numbers.push(UPid { nr, ns: cur.clone() });
            tmp = cur.parent.clone();
            i += 1;
        }
        // alloc_pid: the namespace's init has exited (rule A7).
        if !ns.adding.get() {
            self.undo_pids(&numbers);
            return Err(Refused::by("A7"));
        }
        numbers.reverse();
        Ok(numbers)
    }

    fn undo_pids(&mut self, numbers: &[UPid]) {
        for u in numbers {
            u.ns.idr.borrow_mut().remove(&u.nr);
        }
    }

    /// `attach_pid`: makes every level of `pid` find `task`.
    pub(crate) fn attach_pid(&mut self, pid: &Pid, task: TaskId) {
        for u in &pid.numbers {
            u.ns.idr.borrow_mut().insert(u.nr, task);
        }
    }

    /// `free_pid` (kernel/pid.c): the numbers become free; an init-less namespace whose last
    /// pid goes is finished.
    pub(crate) fn free_pid(&mut self, pid: &Pid, task: TaskId) {
        for u in &pid.numbers {
            let mut idr = u.ns.idr.borrow_mut();
            if idr.get(&u.nr) == Some(&task) {
                idr.remove(&u.nr);
            }
            let emptied = idr.is_empty();
            drop(idr);
            if emptied {
                self.pid_ns_emptied(&u.ns);
            }
        }
    }

    /// `free_pid`'s `case PIDNS_ADDING`: a namespace that still takes pids and is left with
    /// none lost the fork of its first process. Before Linux 7.1 it takes no more (`ENOMEM`);
    /// since, it stays open and `alloc_pid` starts again at pid 1
    /// (clonekit_flags::PIDNS_FIRST_FORK_RETRYABLE).
    fn pid_ns_emptied(&self, ns: &PidNamespace) {
        if !ns.adding.get() {
            return;
        }
        if PIDNS_FIRST_FORK_RETRYABLE.present_in(self.linux) {
            ns.last.set(0);
        } else {
            ns.adding.set(false);
        }
    }

    /// `task_active_pid_ns`: the namespace the task's pid lives in.
    pub(crate) fn task_active_pid_ns(&self, id: TaskId) -> Rc<PidNamespace> {
        self.t(id).pid.ns().clone()
    }

    /// `task_pid_vnr`-style: the number of `target`'s pid as `observer` sees it (0: not
    /// visible from there).
    pub(crate) fn pid_vnr(&self, observer: TaskId, pid: &Pid) -> i32 {
        pid.nr_ns(self.t(observer).pid.ns())
    }

    /// `task_tgid_vnr`: the thread group id of `id` as `observer` sees it.
    pub(crate) fn tgid_vnr(&self, observer: TaskId, id: TaskId) -> i32 {
        let leader = self.t(id).group_leader;
        self.pid_vnr(observer, &self.t(leader).pid.clone())
    }

    /// `find_task_by_vpid`: the task holding number `nr` in `observer`'s pid namespace.
    /// [`Kernel::find_task_by_vpid`] for callers outside the model: the task pid `nr` names in
    /// `observer`'s pid namespace.
    pub fn find_task_by_vpid_of(&self, observer: TaskId, nr: i32) -> Option<TaskId> {
        self.find_task_by_vpid(observer, nr)
    }

    pub(crate) fn find_task_by_vpid(&self, observer: TaskId, nr: i32) -> Option<TaskId> {
        let ns = self.task_active_pid_ns(observer);
        let id = ns.find_task(nr)?;
        // A number reserved by an unfinished alloc_pid points at init: not a task yet.
        let t = self.task(id)?;
        (t.pid.nr_ns(&ns) == nr).then_some(id)
    }

    /// Looks up the `struct pid` that number `nr` names in `ns` (`find_pid_ns`): a task's
    /// own, or one that only a process group or a session still uses (its leader is gone).
    pub fn find_pid(&self, ns: &PidNamespace, nr: i32) -> Option<Rc<Pid>> {
        let id = ns.find_task(nr)?;
        if let Some(t) = self.task(id).filter(|t| t.pid.nr_ns(ns) == nr) {
            return Some(t.pid.clone());
        }
        for t in self.slots.iter().filter_map(|s| s.task.as_ref()) {
            let (pgrp, session) = {
                let s = t.signal.borrow();
                (s.pgrp.clone(), s.session.clone())
            };
            if let Some(p) = [pgrp, session].into_iter().find(|p| p.nr_ns(ns) == nr) {
                return Some(p);
            }
        }
        None
    }

    /// `find_vpid`: the `struct pid` number `nr` names in `observer`'s pid namespace.
    pub(crate) fn find_vpid(&self, observer: TaskId, nr: i32) -> Option<Rc<Pid>> {
        let ns = self.task_active_pid_ns(observer);
        self.find_pid(&ns, nr)
    }

    /// `pid_task(pid, type)` (kernel/pid.c): the first task attached to `pid` as `type`, in
    /// creation order (for `PIDTYPE_PGID` and `PIDTYPE_SID`, the groups using it).
    pub(crate) fn pid_task(&self, pid: &Rc<Pid>, ty: PidType) -> Option<TaskId> {
        let mut tasks: Vec<&crate::sched::Task> = self
            .slots
            .iter()
            .filter_map(|s| s.task.as_ref())
            .filter(|t| t.state != crate::sched::TaskState::Dead)
            .filter(|t| match ty {
                PidType::Pid => Rc::ptr_eq(&t.pid, pid),
                PidType::Tgid => t.group_leader == t.id && Rc::ptr_eq(&t.pid, pid),
                PidType::Pgid => t.group_leader == t.id && Rc::ptr_eq(&t.signal.borrow().pgrp, pid),
                PidType::Sid => t.group_leader == t.id && Rc::ptr_eq(&t.signal.borrow().session, pid),
            })
            .collect();
        tasks.sort_by_key(|t| t.serial);
        tasks.first().map(|t| t.id)
    }

    /// Every thread group attached to `pid` as `ty` (`do_each_pid_task`), their leaders in
    /// creation order.
    pub(crate) fn pid_tasks(&self, pid: &Rc<Pid>, ty: PidType) -> Vec<TaskId> {
        let mut tasks: Vec<(u64, TaskId)> = self
            .slots
            .iter()
            .filter_map(|s| s.task.as_ref())
            .filter(|t| t.state != crate::sched::TaskState::Dead && t.group_leader == t.id)
            .filter(|t| {
                let s = t.signal.borrow();
                match ty {
                    PidType::Pid | PidType::Tgid => Rc::ptr_eq(&t.pid, pid),
                    PidType::Pgid => Rc::ptr_eq(&s.pgrp, pid),
                    PidType::Sid => Rc::ptr_eq(&s.session, pid),
                }
            })
            .map(|t| (t.serial, t.id))
            .collect();
        tasks.sort();
        tasks.into_iter().map(|(_, id)| id).collect()
    }

    /// Whether a task other than `except` still uses `pid` as its own, its process group or
    /// its session (`pid_has_task` for any type): its numbers stay allocated until none does.
    pub(crate) fn pid_in_use(&self, pid: &Rc<Pid>, except: Option<TaskId>) -> bool {
        self.slots.iter().filter_map(|s| s.task.as_ref()).filter(|t| Some(t.id) != except).any(|t| {
            let s = t.signal.borrow();
            Rc::ptr_eq(&t.pid, pid) || Rc::ptr_eq(&s.pgrp, pid) || Rc::ptr_eq(&s.session, pid)
        })
    }

    /// `put_pid` of a process group or session no longer used: its numbers are freed
    /// (`free_pid`), unless a task still holds it.
    pub(crate) fn put_pid(&mut self, pid: &Rc<Pid>) {
        if self.pid_in_use(pid, None) {
            return;
        }
        for u in &pid.numbers {
            let stale = u.ns.idr.borrow().get(&u.nr).is_some_and(|&id| self.task(id).is_none());
            if stale {
                let mut idr = u.ns.idr.borrow_mut();
                idr.remove(&u.nr);
                let emptied = idr.is_empty();
                drop(idr);
                if emptied {
                    self.pid_ns_emptied(&u.ns);
                }
            }
        }
    }

    /// The number `pid` has in the pid namespace of `observer` (0: not visible).
    pub fn pid_nr_seen_by(&self, observer: TaskId, pid: &Pid) -> i32 {
        match self.task(observer) {
            Some(t) => pid.nr_ns(t.pid.ns()),
            None => 0,
        }
    }

    /// The pid namespace `id` lives in.
    pub fn active_pid_ns(&self, id: TaskId) -> Option<Rc<PidNamespace>> {
        self.task(id).map(|t| t.pid.ns().clone())
    }
}

impl PidNamespace {
    /// Moves the allocation cursor to `nr`, as a machine that has been running has moved its
    /// own: the next pid is the next free one after it.
    pub(crate) fn advance_cursor(&self, nr: i32) {
        self.last.set(nr.clamp(1, self.pid_max - 1));
    }
}

/// `idr_alloc_cyclic(pid_min, pid_max)`: the next free number after the cursor, wrapping to
/// `RESERVED_PIDS` (or 1 before the first wrap).
fn alloc_cyclic(ns: &PidNamespace) -> Option<i32> {
    let idr = ns.idr.borrow();
    let pid_min = if ns.last.get() > RESERVED_PIDS { RESERVED_PIDS } else { 1 };
    let start = (ns.last.get() + 1).max(pid_min);
    let found = (start..ns.pid_max).chain(pid_min..start).find(|n| !idr.contains_key(n));
    drop(idr);
    if let Some(nr) = found {
        ns.last.set(nr);
    }
    found
}
