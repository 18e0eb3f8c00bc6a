//! `struct nsproxy` and namespace creation (kernel/nsproxy.c): `copy_namespaces`,
//! `create_new_namespaces`, `unshare_nsproxy_namespaces`, `exec_task_namespaces`; the
//! `/proc/PID/ns` files (fs/proc/namespaces.c) and `setns` with one of them or a pidfd.

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

/// The namespace a `/proc/PID/ns/KIND` file keeps (`struct ns_common`).
#[derive(Debug, Clone)]
pub enum NsCommon {
    /// A mount namespace.
    Mnt(Rc<Namespace>),
    /// A UTS namespace.
    Uts(Rc<UtsNamespace>),
    /// An IPC namespace.
    Ipc(Rc<Namespace>),
    /// A pid namespace.
    Pid(Rc<PidNamespace>),
    /// A network namespace.
    Net(Rc<Namespace>),
    /// A cgroup namespace.
    Cgroup(Rc<Namespace>),
    /// A user namespace.
    User(Rc<UserNamespace>),
    /// A time namespace.
    Time(Rc<Namespace>),
}

impl NsCommon {
    /// `ns->ops->type`: the `CLONE_NEW*` flag of its kind.
    pub fn ns_type(&self) -> CloneFlags {
        match self {
            NsCommon::Mnt(_) => CloneFlags::CLONE_NEWNS,
            NsCommon::Uts(_) => CloneFlags::CLONE_NEWUTS,
            NsCommon::Ipc(_) => CloneFlags::CLONE_NEWIPC,
            NsCommon::Pid(_) => CloneFlags::CLONE_NEWPID,
            NsCommon::Net(_) => CloneFlags::CLONE_NEWNET,
            NsCommon::Cgroup(_) => CloneFlags::CLONE_NEWCGROUP,
            NsCommon::User(_) => CloneFlags::CLONE_NEWUSER,
            NsCommon::Time(_) => CloneFlags::CLONE_NEWTIME,
        }
    }

    /// The user namespace that owns it (a user namespace is checked against itself).
    fn owner(&self) -> &UserNamespace {
        match self {
            NsCommon::Mnt(n)
            | NsCommon::Ipc(n)
            | NsCommon::Net(n)
            | NsCommon::Cgroup(n)
            | NsCommon::Time(n) => &n.user_ns,
            NsCommon::Uts(n) => &n.user_ns,
            NsCommon::Pid(n) => &n.user_ns,
            NsCommon::User(n) => n,
        }
    }
}

/// Every namespace flag `setns` takes with a pidfd (`check_setns_flags`).
const SETNS_FLAGS: CloneFlags = NSPROXY_FLAGS.union(CloneFlags::CLONE_NEWUSER);

/// `struct nsset`: what `setns` builds before it commits anything.
struct NsSet {
    /// The namespaces asked for.
    flags: CloneFlags,
    /// The task's nsproxy, with the namespaces installed so far.
    nsproxy: NsProxy,
    /// The task's creds, with the user namespace installed (with `CLONE_NEWUSER`).
    cred: Cred,
    /// The root and working directory a mount namespace gives (with `CLONE_NEWNS`).
    fs_root: Option<String>,
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
                if ns.pid_ns_for_children.child_reaper.get().is_none()
                    && !clonekit_flags::PID_FOR_CHILDREN_BEFORE_INIT.present_in(self.linux)
                {
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

    /// `open("/proc/PID/ns/KIND", O_RDONLY | O_CLOEXEC)` by `cur` for the namespace of the
    /// task holding `pid` (`proc_pid_lookup`, then `proc_ns_get_link`, fs/proc/namespaces.c):
    /// `ENOENT` when no task holds it (reaped); `EACCES` unless `cur` may read the task
    /// (`ptrace_may_access(PTRACE_MODE_READ_FSCREDS)`); `ENOENT` for a task whose namespaces are gone (it exited: a
    /// zombie keeps only its creds' user namespace and its pid's pid namespace), and for
    /// `pid_for_children` of a namespace without an init yet.
    pub fn sys_open_ns(
        &mut self,
        cur: TaskId,
        pid: &Rc<crate::pid::Pid>,
        kind: NsKind,
    ) -> Result<i32, Errno> {
        self.current(cur)?;
        let task = self.pid_task(pid, crate::pid::PidType::Pid).ok_or(Errno::ENOENT)?;
        let t = self.t(task);
        if !self.ptrace_may_access_fscreds(cur, task) {
            return Err(Errno::EACCES);
        }
        let ns = match kind {
            NsKind::User => NsCommon::User(t.cred.user_ns.clone()),
            NsKind::Pid => NsCommon::Pid(self.task_active_pid_ns(task)),
            _ => {
                let p = t.nsproxy.clone().ok_or(Errno::ENOENT)?;
                match kind {
                    NsKind::Mnt => NsCommon::Mnt(p.mnt.clone()),
                    NsKind::Uts => NsCommon::Uts(p.uts.clone()),
                    NsKind::Ipc => NsCommon::Ipc(p.ipc.clone()),
                    NsKind::PidForChildren => {
                        if p.pid_ns_for_children.child_reaper.get().is_none()
                            && !clonekit_flags::PID_FOR_CHILDREN_BEFORE_INIT.present_in(self.linux)
                        {
                            return Err(Errno::ENOENT);
                        }
                        NsCommon::Pid(p.pid_ns_for_children.clone())
                    }
                    NsKind::Net => NsCommon::Net(p.net.clone()),
                    NsKind::Cgroup => NsCommon::Cgroup(p.cgroup.clone()),
                    NsKind::Time => NsCommon::Time(p.time.clone()),
                    NsKind::TimeForChildren => NsCommon::Time(p.time_for_children.clone()),
                    NsKind::User | NsKind::Pid => unreachable!("handled above"),
                }
            }
        };
        let file =
            Rc::new(crate::file::File { kind: crate::file::FileKind::Ns(ns), pos: std::cell::Cell::new(0) });
        let files = self.t(cur).files.clone().ok_or(Errno::EBADF)?;
        let fd = files.borrow_mut().install(file, true)?;
        Ok(fd)
    }

    /// `setns(fd, nstype)` (kernel/nsproxy.c). With a `/proc/PID/ns` file: that namespace,
    /// `nstype` 0 or its kind (`EINVAL` otherwise). With a pidfd: every namespace `nstype`
    /// names (`check_setns_flags`: at least one, none but `CLONE_NEW*`), of the task the
    /// pidfd refers to (`ESRCH` once it has exited, `EPERM` unless the caller may read it),
    /// the user namespace first, all or none. Any other file is `EINVAL`. Each namespace's
    /// `install` checks `CAP_SYS_ADMIN` over it and over the caller's (new) user namespace
    /// (`EPERM`); entering a user namespace is `EINVAL` for the caller's own, for a
    /// multi-threaded process or a shared `fs_struct`; a mount namespace `EINVAL` for a
    /// shared `fs_struct`; a pid namespace `EINVAL` unless it is the caller's active one or
    /// below it, and changes only the namespace for children; a time namespace `EUSERS`
    /// unless the caller is single-threaded.
    pub fn sys_setns(&mut self, cur: TaskId, fd: i32, nstype: i32) -> Result<(), Errno> {
        self.current(cur)?;
        let files = self.t(cur).files.clone().ok_or(Errno::EBADF)?;
        let file = files.borrow().file(fd).ok_or(Errno::EBADF)?;
        let flags = match &file.kind {
            crate::file::FileKind::Ns(ns) => {
                let ty = ns.ns_type();
                if nstype != 0 && i64::from(nstype) != ty.bits() as i64 {
                    return Err(Errno::EINVAL);
                }
                ty
            }
            crate::file::FileKind::Pidfd { .. } => {
                // check_setns_flags takes an unsigned long: -1 has every bit.
                let bits = i64::from(nstype) as u64;
                let flags = CloneFlags::from_bits_retain(bits);
                if bits == 0 || !SETNS_FLAGS.contains(flags) {
                    return Err(Errno::EINVAL);
                }
                flags
            }
            crate::file::FileKind::Path { .. } => return Err(Errno::EINVAL),
        };
        // prepare_nsset.
        let t = self.t(cur);
        let mut nsset = NsSet {
            flags,
            nsproxy: (**t.nsproxy.as_ref().expect("a live task has an nsproxy")).clone(),
            cred: (*t.cred).clone(),
            fs_root: None,
        };
        match &file.kind {
            crate::file::FileKind::Ns(ns) => self.validate_ns(cur, &mut nsset, ns)?,
            crate::file::FileKind::Pidfd { pid, .. } => {
                let pid = pid.clone();
                self.validate_nsset(cur, &mut nsset, &pid)?
            }
            crate::file::FileKind::Path { .. } => unreachable!("refused above"),
        }
        self.commit_nsset(cur, nsset);
        Ok(())
    }

    /// `validate_nsset`: the namespaces of the task `pid` refers to, installed in the
    /// kernel's order, the user namespace first (the others are checked against it).
    fn validate_nsset(&self, cur: TaskId, nsset: &mut NsSet, pid: &Rc<crate::pid::Pid>) -> Result<(), Errno> {
        let tsk = self.pid_task(pid, crate::pid::PidType::Pid).ok_or(Errno::ESRCH)?;
        if !self.ptrace_may_access(cur, tsk) {
            return Err(Errno::EPERM);
        }
        let t = self.t(tsk);
        let nsp = t.nsproxy.clone().ok_or(Errno::ESRCH)?;
        let f = nsset.flags;
        let order = [
            (CloneFlags::CLONE_NEWUSER, NsCommon::User(t.cred.user_ns.clone())),
            (CloneFlags::CLONE_NEWNS, NsCommon::Mnt(nsp.mnt.clone())),
            (CloneFlags::CLONE_NEWUTS, NsCommon::Uts(nsp.uts.clone())),
            (CloneFlags::CLONE_NEWIPC, NsCommon::Ipc(nsp.ipc.clone())),
            (CloneFlags::CLONE_NEWPID, NsCommon::Pid(self.task_active_pid_ns(tsk))),
            (CloneFlags::CLONE_NEWCGROUP, NsCommon::Cgroup(nsp.cgroup.clone())),
            (CloneFlags::CLONE_NEWNET, NsCommon::Net(nsp.net.clone())),
            (CloneFlags::CLONE_NEWTIME, NsCommon::Time(nsp.time.clone())),
        ];
        for (flag, ns) in order {
            if f.contains(flag) {
                self.validate_ns(cur, nsset, &ns)?;
            }
        }
        Ok(())
    }

    /// `validate_ns` → `ns->ops->install` (userns_install, mntns_install, utsns_install,
    /// ipcns_install, pidns_install, cgroupns_install, netns_install, timens_install).
    /// `ns_capable` is the caller's own creds; the second check of each is over the user
    /// namespace the set will leave it in.
    fn validate_ns(&self, cur: TaskId, nsset: &mut NsSet, ns: &NsCommon) -> Result<(), Errno> {
        let t = self.t(cur);
        let cred = &t.cred;
        let fs_shared = t.fs.as_ref().is_some_and(|fs| Rc::strong_count(fs) > 1);
        let sys_admin = clonekit_flags::CAP_SYS_ADMIN;
        let over_owner = cred.cap_capable(ns.owner(), sys_admin);
        let over_new_user_ns = cred.cap_capable(&nsset.cred.user_ns, sys_admin);
        match ns {
            NsCommon::User(user_ns) => {
                // userns_install (kernel/user_namespace.c).
                if Rc::ptr_eq(user_ns, &cred.user_ns) {
                    return Err(Errno::EINVAL);
                }
                if t.signal.borrow().threads.len() > 1 || fs_shared {
                    return Err(Errno::EINVAL);
                }
                if !over_owner {
                    return Err(Errno::EPERM);
                }
                crate::cred::set_cred_user_ns(&mut nsset.cred, user_ns.clone());
            }
            NsCommon::Mnt(mnt) => {
                // mntns_install (fs/namespace.c): CAP_SYS_ADMIN over it, CAP_SYS_CHROOT and
                // CAP_SYS_ADMIN over the caller's user namespace.
                let chroot = cred.cap_capable(&nsset.cred.user_ns, clonekit_flags::CAP_SYS_CHROOT);
                if !over_owner || !over_new_user_ns || !chroot {
                    return Err(Errno::EPERM);
                }
                if fs_shared {
                    return Err(Errno::EINVAL);
                }
                nsset.nsproxy.mnt = mnt.clone();
                nsset.fs_root = Some("/".to_string());
            }
            NsCommon::Uts(uts) => {
                if !over_owner || !over_new_user_ns {
                    return Err(Errno::EPERM);
                }
                nsset.nsproxy.uts = uts.clone();
            }
            NsCommon::Ipc(ipc) => {
                if !over_owner || !over_new_user_ns {
                    return Err(Errno::EPERM);
                }
                nsset.nsproxy.ipc = ipc.clone();
            }
            NsCommon::Pid(new) => {
                // pidns_install (kernel/pid_namespace.c): the active namespace or one below it.
                if !over_owner || !over_new_user_ns {
                    return Err(Errno::EPERM);
                }
                if !new.is_descendant_of(&self.task_active_pid_ns(cur)) {
                    return Err(Errno::EINVAL);
                }
                nsset.nsproxy.pid_ns_for_children = new.clone();
            }
            NsCommon::Cgroup(cg) => {
                if !over_owner || !over_new_user_ns {
                    return Err(Errno::EPERM);
                }
                nsset.nsproxy.cgroup = cg.clone();
            }
            NsCommon::Net(net) => {
                if !over_owner || !over_new_user_ns {
                    return Err(Errno::EPERM);
                }
                nsset.nsproxy.net = net.clone();
            }
            NsCommon::Time(time) => {
                // timens_install (kernel/time/namespace.c): current_is_single_threaded.
                let shared_mm = t.mm.as_ref().is_some_and(|mm| Rc::strong_count(mm) > 1);
                if t.signal.borrow().threads.len() > 1 || shared_mm {
                    return Err(Errno::EUSERS);
                }
                if !over_owner || !over_new_user_ns {
                    return Err(Errno::EPERM);
                }
                nsset.nsproxy.time = time.clone();
                nsset.nsproxy.time_for_children = time.clone();
            }
        }
        Ok(())
    }

    /// `commit_nsset`: the new creds, the mount namespace's root as root and working
    /// directory, and the new nsproxy.
    fn commit_nsset(&mut self, cur: TaskId, nsset: NsSet) {
        if nsset.flags.contains(CloneFlags::CLONE_NEWUSER) {
            self.commit_creds(cur, nsset.cred);
        }
        if let Some(root) = nsset.fs_root {
            if let Some(fs) = self.t(cur).fs.clone() {
                let mut fs = fs.borrow_mut();
                fs.root = root.clone();
                fs.pwd = root;
            }
        }
        // exit_sem with CLONE_NEWIPC: the undo list is the old namespace's.
        if nsset.flags.contains(CloneFlags::CLONE_NEWIPC) {
            self.tm(cur).sysvsem = None;
        }
        self.tm(cur).nsproxy = Some(Rc::new(nsset.nsproxy));
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
