//! Credentials and user namespaces (kernel/cred.c, kernel/user_namespace.c).

use std::rc::Rc;

use clonekit_flags::Errno;

/// `struct user_namespace`.
#[derive(Debug)]
pub struct UserNamespace {
    /// Nesting level: 0 for the initial namespace.
    pub level: u32,
    /// The namespace it was created in.
    pub parent: Option<Rc<UserNamespace>>,
    /// The inode number `/proc/PID/ns/user` shows.
    pub inum: u64,
    /// Whether uid/gid maps were written. The model has no operation that writes them, so
    /// only the initial namespace is mapped.
    pub mapped: bool,
}

impl UserNamespace {
    /// Whether `self` is `ns` or one of its descendants.
    pub fn is_descendant_of(&self, ns: &UserNamespace) -> bool {
        crate::nsproxy::descends_from(self, ns, |c| c.parent.as_deref())
    }
}

/// `struct cred`, reduced to what clone's rules look at: the user namespace and whether the
/// task holds `CAP_SYS_ADMIN` there (the scenario's tasks run as root).
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
}

/// `create_user_ns` (kernel/user_namespace.c): the new namespace becomes the cred's, with
/// every capability in it.
pub(crate) fn create_user_ns(new: &mut Cred, chrooted: bool, inum: u64) -> Result<(), Errno> {
    let parent = new.user_ns.clone();
    // kernel/user_namespace.c:93: deeper than 32 levels (rule U3).
    if parent.level > 32 {
        return Err(Errno::ENOSPC);
    }
    // kernel/user_namespace.c:107: chrooted (rule U1).
    if chrooted {
        return Err(Errno::EPERM);
    }
    // kernel/user_namespace.c:115: the creator's euid has no mapping in the parent (rule U2):
    // a namespace nobody wrote a uid_map for.
    if !parent.mapped {
        return Err(Errno::EPERM);
    }
    new.user_ns =
        Rc::new(UserNamespace { level: parent.level + 1, parent: Some(parent), inum, mapped: false });
    new.cap_sys_admin = true;
    Ok(())
}
