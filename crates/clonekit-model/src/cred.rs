//! Credentials and user namespaces (kernel/cred.c, kernel/user_namespace.c).

use std::cell::Cell;
use std::rc::Rc;

use clonekit_flags::{CapSet, Errno, CAP_CHECKPOINT_RESTORE, CAP_FULL_SET, CAP_SYS_ADMIN};

use crate::fork::Refused;

/// `struct user_namespace`.
#[derive(Debug)]
pub struct UserNamespace {
    /// Nesting level: 0 for the initial namespace.
    pub level: u32,
    /// The namespace it was created in.
    pub parent: Option<Rc<UserNamespace>>,
    /// The inode number `/proc/PID/ns/user` shows.
    pub inum: u64,
    /// The kernel uid this namespace's uid 0 maps to, once a `uid_map` is written (`None`
    /// before). The initial namespace maps 0 to 0. Scenarios have no operation that writes a
    /// map; the set-up of a caller that is root of a user namespace of its own writes one.
    pub root_kuid: Cell<Option<u32>>,
    /// `owner`: the effective uid (a kernel uid) of the task that created it.
    pub owner: u32,
    /// `rlimit_max[UCOUNT_RLIMIT_NPROC]`: the creator's soft `RLIMIT_NPROC` when it was created
    /// (`enforced_nproc_rlimit`: unlimited for global root), the most tasks its creator's user
    /// may have counting this namespace's (see [`Kernel::is_rlimit_overlimit`](crate::Kernel)).
    pub nproc_max: u64,
}

impl UserNamespace {
    /// Whether `self` is `ns` or one of its descendants.
    pub fn is_descendant_of(&self, ns: &UserNamespace) -> bool {
        crate::nsproxy::descends_from(self, ns, |c| c.parent.as_deref())
    }

    /// `from_kuid_munged`: the uid kernel uid `kuid` reads as here (the initial namespace maps
    /// every uid to itself, another one only its uid 0, to `root_kuid`); `overflowuid` for one
    /// without a mapping.
    pub fn from_kuid_munged(&self, kuid: u32) -> u32 {
        match (self.level, self.root_kuid.get()) {
            (0, _) => kuid,
            (_, Some(root)) if root == kuid => 0,
            _ => clonekit_flags::OVERFLOW_UID,
        }
    }

    /// Whether a `uid_map` was written.
    pub fn mapped(&self) -> bool {
        self.root_kuid.get().is_some()
    }

    /// `make_kuid(ns, uid)`: the kernel uid `uid` of this namespace is, if it is mapped (the
    /// initial namespace maps every uid to itself, another one only its uid 0).
    pub fn make_kuid(&self, uid: u32) -> Option<u32> {
        match (self.level, self.root_kuid.get()) {
            // The identity map covers 0..=4294967294: (uid_t) -1 is never a uid.
            (0, _) => (uid != u32::MAX).then_some(uid),
            (_, Some(root)) if uid == 0 => Some(root),
            _ => None,
        }
    }

    /// `kuid_has_mapping(ns, kuid)`: whether kernel uid `kuid` has a uid here.
    pub fn kuid_has_mapping(&self, kuid: u32) -> bool {
        self.level == 0 || self.root_kuid.get() == Some(kuid)
    }
}

/// `struct cred`, reduced to what the model's calls look at: the user namespace, the uids
/// (kernel uids: the real, effective, saved and file-system uid), the capability sets, and
/// `SECBIT_KEEP_CAPS`. The gids are the scenario's tasks' own throughout (no operation
/// changes them), so the checks that compare them always find them equal.
#[derive(Debug, Clone)]
pub struct Cred {
    /// `cred->user_ns`.
    pub user_ns: Rc<UserNamespace>,
    /// `uid`: the real uid, as a global (kernel) uid.
    pub uid: u32,
    /// `euid`.
    pub euid: u32,
    /// `suid`.
    pub suid: u32,
    /// `fsuid`.
    pub fsuid: u32,
    /// `cap_inheritable`.
    pub cap_inheritable: CapSet,
    /// `cap_permitted`.
    pub cap_permitted: CapSet,
    /// `cap_effective`: what `cap_capable` looks at.
    pub cap_effective: CapSet,
    /// `cap_bset`: the bounding set, what an exec by root may get back.
    pub cap_bset: CapSet,
    /// `securebits & SECBIT_KEEP_CAPS` (`PR_SET_KEEPCAPS`).
    pub keep_caps: bool,
}

impl Cred {
    /// Root's credentials in `user_ns`: uid 0 there (`root_kuid`), `caps` permitted,
    /// effective and in the bounding set.
    pub fn root(user_ns: Rc<UserNamespace>, kuid: u32, caps: CapSet) -> Cred {
        Cred {
            user_ns,
            uid: kuid,
            euid: kuid,
            suid: kuid,
            fsuid: kuid,
            cap_inheritable: 0,
            cap_permitted: caps,
            cap_effective: caps,
            cap_bset: caps,
            keep_caps: false,
        }
    }

    /// `cap_capable` (security/commoncap.c): `cap` in `ns`. The task's own user namespace
    /// asks its effective set, and covers every namespace below it; the owner of a namespace
    /// created in the task's own has every capability there, whatever its sets.
    pub fn cap_capable(&self, ns: &UserNamespace, cap: u32) -> bool {
        let mut ns = ns;
        loop {
            if std::ptr::eq(ns, &*self.user_ns) {
                return self.cap_effective & (1 << cap) != 0;
            }
            if ns.level <= self.user_ns.level {
                return false;
            }
            let Some(parent) = ns.parent.as_deref() else { return false };
            if std::ptr::eq(parent, &*self.user_ns) && ns.owner == self.euid {
                return true;
            }
            ns = parent;
        }
    }

    /// `ns_capable(ns, cap)` (kernel/capability.c).
    pub fn ns_capable(&self, ns: &UserNamespace, cap: u32) -> bool {
        self.cap_capable(ns, cap)
    }

    /// `capable(cap)` (kernel/capability.c): the capability in the initial user namespace.
    pub fn capable(&self, cap: u32) -> bool {
        let mut init = &*self.user_ns;
        while let Some(p) = init.parent.as_deref() {
            init = p;
        }
        self.cap_capable(init, cap)
    }

    /// `checkpoint_restore_ns_capable(ns)` (include/linux/capability.h): `CAP_SYS_ADMIN` or
    /// `CAP_CHECKPOINT_RESTORE` in `ns`.
    pub fn checkpoint_restore_ns_capable(&self, ns: &UserNamespace) -> bool {
        self.ns_capable(ns, CAP_SYS_ADMIN) || self.ns_capable(ns, CAP_CHECKPOINT_RESTORE)
    }

    /// `make_kuid(cred->user_ns, 0)`: the kernel uid root of the task's user namespace has,
    /// if the namespace maps uid 0.
    pub fn root_uid(&self) -> Option<u32> {
        self.user_ns.make_kuid(0)
    }
}

/// `cred_cap_issubset(set, subset)` (kernel/cred.c): whether `subset`'s capabilities are
/// no more than `set`'s: the same user namespace and a permitted subset, or a namespace below
/// `set`'s that `set`'s euid created (or one of whose ancestors it created there).
pub(crate) fn cred_cap_issubset(set: &Cred, subset: &Cred) -> bool {
    if Rc::ptr_eq(&set.user_ns, &subset.user_ns) {
        return subset.cap_permitted & !set.cap_permitted == 0;
    }
    let mut ns = &*subset.user_ns;
    while let Some(parent) = ns.parent.as_deref() {
        if std::ptr::eq(parent, &*set.user_ns) && ns.owner == set.euid {
            return true;
        }
        ns = parent;
    }
    false
}

/// `create_user_ns` (kernel/user_namespace.c): the new namespace becomes the cred's, with
/// every capability in it (`set_cred_user_ns`).
///
/// `refused` is how the machine refuses the task user namespaces, if it does: `ENOSPC`, a
/// limit reached (checked where `inc_user_namespaces` is), or a security policy's errno
/// (checked last, where `security_create_user_ns` is).
pub(crate) fn create_user_ns(
    new: &mut Cred,
    chrooted: bool,
    inum: u64,
    refused: Option<Errno>,
    nproc_rlimit: u64,
) -> Result<(), Refused> {
    let parent = new.user_ns.clone();
    // create_user_ns: deeper than 32 levels (rule U3).
    if parent.level > 32 {
        return Err(Refused::by("U3"));
    }
    // inc_user_namespaces: the creator's user.max_user_namespaces reached (rule U3).
    if refused == Some(Errno::ENOSPC) {
        return Err(Refused::by("U3"));
    }
    // create_user_ns: chrooted (rule U1).
    if chrooted {
        return Err(Refused::by("U1"));
    }
    // create_user_ns: the creator's euid has no mapping in the parent (rule U2):
    // a namespace nobody wrote a uid_map for.
    if !parent.kuid_has_mapping(new.euid) {
        return Err(Refused::by("U2"));
    }
    // security_create_user_ns: a policy that forbids user namespaces.
    if let Some(e) = refused.filter(|&e| e != Errno::ENOSPC) {
        return Err(Refused::without_rule("security_create_user_ns", e));
    }
    // enforced_nproc_rlimit: the creator's RLIMIT_NPROC, unless it is global root.
    let nproc_max =
        if new.euid == 0 && parent.level == 0 { clonekit_flags::RLIM_INFINITY } else { nproc_rlimit };
    let ns = Rc::new(UserNamespace {
        nproc_max,
        owner: new.euid,
        level: parent.level + 1,
        parent: Some(parent),
        inum,
        root_kuid: Cell::new(None),
    });
    set_cred_user_ns(new, ns);
    Ok(())
}

/// `set_cred_user_ns` (kernel/user_namespace.c): the cred is in `user_ns`, with every
/// capability there and the default securebits (by `create_user_ns`, and by `setns` into a
/// user namespace).
pub(crate) fn set_cred_user_ns(cred: &mut Cred, user_ns: Rc<UserNamespace>) {
    cred.cap_inheritable = 0;
    cred.cap_permitted = CAP_FULL_SET;
    cred.cap_effective = CAP_FULL_SET;
    cred.cap_bset = CAP_FULL_SET;
    cred.keep_caps = false;
    cred.user_ns = user_ns;
}

impl crate::sched::Kernel {
    /// `commit_creds` (kernel/cred.c): `new` becomes `task`'s credentials. A change of the
    /// effective or file-system uid, or capabilities that are not a subset of the old ones,
    /// makes the task's memory not dumpable (`fs.suid_dumpable`, which the model takes as
    /// the kernel's default, 0) and clears its parent-death signal.
    pub(crate) fn commit_creds(&mut self, task: crate::sched::TaskId, new: Cred) {
        let old = self.t(task).cred.clone();
        if old.euid != new.euid || old.fsuid != new.fsuid || !cred_cap_issubset(&old, &new) {
            if let Some(mm) = &self.t(task).mm {
                mm.borrow_mut().dumpable = clonekit_flags::SUID_DUMPABLE_DEFAULT;
            }
            self.tm(task).pdeath_signal = 0;
        }
        self.tm(task).cred = Rc::new(new);
    }
}
