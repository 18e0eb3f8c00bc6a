//! Credentials and user namespaces (kernel/cred.c, kernel/user_namespace.c).

use std::cell::Cell;
use std::rc::Rc;

use clonekit_flags::Errno;

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
}

/// `struct cred`, reduced to what clone's rules look at: the user namespace, whether the
/// task holds `CAP_SYS_ADMIN` there, and its effective uid (the scenario's tasks run with the
/// caller's [`Privilege`](clonekit_flags::Privilege)).
#[derive(Debug, Clone)]
pub struct Cred {
    /// `cred->user_ns`.
    pub user_ns: Rc<UserNamespace>,
    /// `CAP_SYS_ADMIN` in `user_ns` (and so in every namespace it owns).
    pub cap_sys_admin: bool,
    /// `euid` as a global (kernel) uid.
    pub euid: u32,
}

impl Cred {
    /// `ns_capable(ns, CAP_SYS_ADMIN)` (kernel/capability.c): the capability in the task's
    /// own user namespace covers every namespace below it.
    pub fn ns_capable(&self, ns: &UserNamespace) -> bool {
        self.cap_sys_admin && ns.is_descendant_of(&self.user_ns)
    }

    /// `cap_capable` (security/commoncap.c) for a capability the task holds exactly when it
    /// holds `CAP_SYS_ADMIN` (the model's tasks have all of them or none): its own user
    /// namespace's capabilities cover every namespace below it, and the owner of a namespace
    /// created in the task's own has all of them there, capabilities or not.
    pub fn cap_capable(&self, ns: &UserNamespace) -> bool {
        let mut ns = ns;
        loop {
            if std::ptr::eq(ns, &*self.user_ns) {
                return self.cap_sys_admin;
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

    /// `capable(CAP_SYS_ADMIN)` (kernel/capability.c): the capability in the initial user
    /// namespace, which only root of the machine holds.
    pub fn capable(&self) -> bool {
        self.cap_sys_admin && self.user_ns.parent.is_none()
    }
}

/// `create_user_ns` (kernel/user_namespace.c): the new namespace becomes the cred's, with
/// every capability in it.
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
    if !parent.mapped() {
        return Err(Refused::by("U2"));
    }
    // security_create_user_ns: a policy that forbids user namespaces.
    if let Some(e) = refused.filter(|&e| e != Errno::ENOSPC) {
        return Err(Refused::without_rule("security_create_user_ns", e));
    }
    // enforced_nproc_rlimit: the creator's RLIMIT_NPROC, unless it is global root.
    let nproc_max =
        if new.euid == 0 && parent.level == 0 { clonekit_flags::RLIM_INFINITY } else { nproc_rlimit };
    new.user_ns = Rc::new(UserNamespace {
        nproc_max,
        owner: new.euid,
        level: parent.level + 1,
        parent: Some(parent),
        inum,
        root_kuid: Cell::new(None),
    });
    new.cap_sys_admin = true;
    Ok(())
}
