//! `struct nsproxy` and namespace creation (kernel/nsproxy.c): `copy_namespaces`,
//! `create_new_namespaces`, `unshare_nsproxy_namespaces`, `exec_task_namespaces`.

use std::cell::RefCell;
use std::rc::Rc;

use clonekit_flags::{CloneFlags, Errno};

use crate::cred::{Cred, UserNamespace};
use crate::fork::Refused;
use crate::pid::PidNamespace;
use crate::sched::{Kernel, TaskId};

/// The eight namespace kinds, plus the two "for children" views `/proc/PID/ns` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NsKind {
    /// Mount (`mnt`).
    Mnt,
    /// UTS (`uts`).
    Uts,
    /// IPC (`ipc`).
    Ipc,
    /// The pid namespace the task lives in (`pid`).
    Pid,
    /// The pid namespace its children will live in (`pid_for_children`).
    PidForChildren,
    /// Network (`net`).
    Net,
    /// cgroup (`cgroup`).
    Cgroup,
    /// User (`user`).
    User,
    /// Time (`time`).
    Time,
    /// The time namespace its children will live in (`time_for_children`).
    TimeForChildren,
}

impl NsKind {
    /// Every kind, in `/proc/PID/ns` spelling order.
    pub const ALL: [NsKind; 10] = [
        NsKind::Mnt,
        NsKind::Uts,
        NsKind::Ipc,
        NsKind::Pid,
        NsKind::PidForChildren,
        NsKind::Net,
        NsKind::Cgroup,
        NsKind::User,
        NsKind::Time,
        NsKind::TimeForChildren,
    ];

    /// The name of its `/proc/PID/ns` link.
    pub fn name(self) -> &'static str {
        match self {
            NsKind::Mnt => "mnt",
            NsKind::Uts => "uts",
            NsKind::Ipc => "ipc",
            NsKind::Pid => "pid",
            NsKind::PidForChildren => "pid_for_children",
            NsKind::Net => "net",
            NsKind::Cgroup => "cgroup",
            NsKind::User => "user",
            NsKind::Time => "time",
            NsKind::TimeForChildren => "time_for_children",
        }
    }

    /// The kind named `s` (`/proc/PID/ns` spelling).
    pub fn from_name(s: &str) -> Option<NsKind> {
        NsKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The kind whose namespaces this view shows (`pid_for_children` shows pid namespaces).
    pub fn base(self) -> NsKind {
        match self {
            NsKind::PidForChildren => NsKind::Pid,
            NsKind::TimeForChildren => NsKind::Time,
            k => k,
        }
    }
}

/// A namespace without state the model observes (mount, ipc, net, cgroup, time): its identity.
#[derive(Debug)]
pub struct Namespace {
    /// The inode number `/proc/PID/ns/KIND` shows.
    pub inum: u64,
    /// The owning user namespace.
    pub user_ns: Rc<UserNamespace>,
}

/// A UTS namespace: its identity and the host name.
#[derive(Debug)]
pub struct UtsNamespace {
    /// The inode number.
    pub inum: u64,
    /// The owning user namespace.
    pub user_ns: Rc<UserNamespace>,
    /// `utsname()->nodename`.
    pub nodename: RefCell<String>,
}

/// `struct nsproxy`: the namespaces a task uses, except the user namespace (in its creds)
/// and the pid namespace it lives in (its pid's).
#[derive(Debug, Clone)]
pub struct NsProxy {
    /// `uts_ns`.
    pub uts: Rc<UtsNamespace>,
    /// `ipc_ns`.
    pub ipc: Rc<Namespace>,
    /// `mnt_ns`.
    pub mnt: Rc<Namespace>,
    /// `pid_ns_for_children`.
    pub pid_ns_for_children: Rc<PidNamespace>,
    /// `net_ns`.
    pub net: Rc<Namespace>,
    /// `time_ns`.
    pub time: Rc<Namespace>,
    /// `time_ns_for_children`.
    pub time_for_children: Rc<Namespace>,
    /// `cgroup_ns`.
    pub cgroup: Rc<Namespace>,
}

/// Every `CLONE_NEW*` flag `create_new_namespaces` handles (all but `CLONE_NEWUSER`).
const NSPROXY_FLAGS: CloneFlags = CloneFlags::CLONE_NEWNS
    .union(CloneFlags::CLONE_NEWUTS)
    .union(CloneFlags::CLONE_NEWIPC)
    .union(CloneFlags::CLONE_NEWPID)
    .union(CloneFlags::CLONE_NEWNET)
    .union(CloneFlags::CLONE_NEWCGROUP)
    .union(CloneFlags::CLONE_NEWTIME);

impl Kernel {
    fn new_ns(&mut self, user_ns: &Rc<UserNamespace>) -> Rc<Namespace> {
        Rc::new(Namespace { inum: self.alloc_inum(), user_ns: user_ns.clone() })
    }

    /// `create_new_namespaces` (kernel/nsproxy.c): a new nsproxy with a new namespace for
    /// each flag and the old ones otherwise, owned by `user_ns`.
    pub(crate) fn create_new_namespaces(
        &mut self,
        flags: CloneFlags,
        tsk: TaskId,
        user_ns: &Rc<UserNamespace>,
    ) -> Result<NsProxy, Refused> {
        let old = self.t(tsk).nsproxy.clone().expect("a live task has an nsproxy");
        let mut new = (*old).clone();
        // copy_mnt_ns (fs/namespace.c).
        if flags.contains(CloneFlags::CLONE_NEWNS) {
            new.mnt = self.new_ns(user_ns);
        }
        // copy_utsname (kernel/utsname.c): the new namespace starts with the old names.
        if flags.contains(CloneFlags::CLONE_NEWUTS) {
            let name = old.uts.nodename.borrow().clone();
            new.uts = Rc::new(UtsNamespace {
                inum: self.alloc_inum(),
                user_ns: user_ns.clone(),
                nodename: RefCell::new(name),
            });
        }
        // copy_ipcs (ipc/namespace.c).
        if flags.contains(CloneFlags::CLONE_NEWIPC) {
            new.ipc = self.new_ns(user_ns);
        }
        // copy_pid_ns (kernel/pid_namespace.c).
        if flags.contains(CloneFlags::CLONE_NEWPID) {
            // copy_pid_ns (kernel/pid_namespace.c): pid_ns_for_children already differs (rule N4).
            let active = self.task_active_pid_ns(tsk);
            if !Rc::ptr_eq(&active, &old.pid_ns_for_children) {
                return Err(Refused::by("N4"));
            }
            let inum = self.alloc_inum();
            let per_ns = clonekit_flags::PID_MAX_PER_NS.present_in(self.linux);
            new.pid_ns_for_children = Rc::new(PidNamespace::create(&active, user_ns.clone(), inum, per_ns)?);
        }
        // copy_cgroup_ns (kernel/cgroup/namespace.c).
        if flags.contains(CloneFlags::CLONE_NEWCGROUP) {
            new.cgroup = self.new_ns(user_ns);
        }
        // copy_net_ns (net/core/net_namespace.c).
        if flags.contains(CloneFlags::CLONE_NEWNET) {
            new.net = self.new_ns(user_ns);
        }
        // copy_time_ns (kernel/time/namespace.c): only the children's time namespace changes.
        if flags.contains(CloneFlags::CLONE_NEWTIME) {
            new.time_for_children = self.new_ns(user_ns);
        }
        Ok(new)
    }

    /// `copy_namespaces` (kernel/nsproxy.c): share the nsproxy, or build a new one.
    /// Returns the nsproxy and whether it is new.
    pub(crate) fn copy_namespaces(
        &mut self,
        flags: CloneFlags,
        tsk: TaskId,
        cred: &Cred,
    ) -> Result<(Rc<NsProxy>, bool), Refused> {
        let old = self.t(tsk).nsproxy.clone().expect("a live task has an nsproxy");
        if !flags.intersects(NSPROXY_FLAGS) {
            if flags.contains(CloneFlags::CLONE_VM) || Rc::ptr_eq(&old.time_for_children, &old.time) {
                return Ok((old, false));
            }
        } else if !cred.ns_capable(&cred.user_ns, clonekit_flags::CAP_SYS_ADMIN) {
            // No CAP_SYS_ADMIN over the creds' user namespace (rule N1).
            return Err(Refused::by("N1"));
        }
        // CLONE_NEWIPC with CLONE_SYSVSEM: the undo list would cross namespaces (rule N2).
        if flags.contains(CloneFlags::CLONE_NEWIPC | CloneFlags::CLONE_SYSVSEM) {
            return Err(Refused::by("N2"));
        }
        let mut new = self.create_new_namespaces(flags, tsk, &cred.user_ns)?;
        // timens_on_fork (kernel/time/namespace.c): a child without CLONE_VM enters the time
        // namespace for children at once. (Before 6.2, copy_process refused CLONE_VM children
        // after unshare(CLONE_NEWTIME); since, they keep the parent's: TIMENS_SHARED_MM.)
        if !flags.contains(CloneFlags::CLONE_VM) {
            new.time = new.time_for_children.clone();
        }
        Ok((Rc::new(new), true))
    }

    /// `exec_task_namespaces` (kernel/nsproxy.c): at exec the task enters its time namespace
    /// for children.
    pub(crate) fn exec_task_namespaces(&mut self, tsk: TaskId) {
        // Since Linux 6.2 (clonekit_flags::TIMENS_SHARED_MM); before, exec kept the task's.
        if !clonekit_flags::TIMENS_SHARED_MM.present_in(self.linux) {
            return;
        }
        let t = self.tm(tsk);
        let Some(ns) = t.nsproxy.clone() else { return };
        if !Rc::ptr_eq(&ns.time, &ns.time_for_children) {
            let mut new = (*ns).clone();
            new.time = new.time_for_children.clone();
            t.nsproxy = Some(Rc::new(new));
        }
    }

    /// The identity (inode number) of one of `id`'s namespaces, as `stat(/proc/self/ns/KIND)`
    /// reports it. `pid_for_children` of a namespace that has no init yet is `ENOENT`
    /// (`pidns_for_children_get`, kernel/pid_namespace.c).
    pub fn ns_inum(&self, id: TaskId, kind: NsKind) -> Result<u64, Errno> {
        self.current(id)?;
        let t = self.t(id);
        let ns = t.nsproxy.as_ref().ok_or(Errno::ENOENT)?;
        Ok(match kind {
            NsKind::Mnt => ns.mnt.inum,
            NsKind::Uts => ns.uts.inum,
            NsKind::Ipc => ns.ipc.inum,
            NsKind::Pid => t.pid.ns().inum,
            NsKind::PidForChildren => {
                if ns.pid_ns_for_children.child_reaper.get().is_none() {
                    return Err(Errno::ENOENT);
                }
                ns.pid_ns_for_children.inum
            }
            NsKind::Net => ns.net.inum,
            NsKind::Cgroup => ns.cgroup.inum,
            NsKind::User => t.cred.user_ns.inum,
            NsKind::Time => ns.time.inum,
            NsKind::TimeForChildren => ns.time_for_children.inum,
        })
    }
}

/// Whether `node` is `ancestor` or below it, following `parent` links: the one walk behind
/// `UserNamespace::is_descendant_of` and `PidNamespace::is_descendant_of`.
pub(crate) fn descends_from<T>(node: &T, ancestor: &T, parent: impl Fn(&T) -> Option<&T>) -> bool {
    let mut cur = Some(node);
    while let Some(c) = cur {
        if std::ptr::eq(c, ancestor) {
            return true;
        }
        cur = parent(c);
    }
    false
}
