//! Who a caller is, as far as the kernel's permission checks go.

/// The privilege a caller (a `check`, a scenario's first task) runs with. The model starts
/// its tasks with it and the kernel backend obtains it, so that both answer the same calls the
/// same way.
///
/// The kernel asks two different questions: `capable(CAP)`, a capability in the *initial*
/// user namespace (raising a real-time I/O priority, the host's resources), and
/// `ns_capable(ns, CAP)`, a capability in the user namespace that owns a given namespace
/// (creating namespaces, `sethostname`, `set_tid`). Root answers yes to both; root of a user
/// namespace of its own only to the second, for the namespaces its user namespace owns; an
/// ordinary user to neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Privilege {
    /// Root in the initial user namespace: every capability the machine lets root have,
    /// everywhere.
    Root {
        /// The capabilities root holds (permitted and effective): every one, unless the
        /// machine's bounding set leaves some out (a container, a hardened host).
        caps: crate::CapSet,
    },
    /// uid 0 with every capability in a user namespace of its own, created by an ordinary
    /// user whose uid and gid it maps to 0 (`unshare --user --map-root-user`). The pid, UTS
    /// and IPC namespaces the tasks live in are created with it and owned by it; the mount,
    /// network, cgroup and time namespaces are the machine's.
    NamespaceRoot {
        /// The ordinary user's uid (the kernel's global uid of the tasks).
        uid: u32,
    },
    /// An ordinary user in the initial user namespace: no capability.
    Unprivileged {
        /// The user's uid.
        uid: u32,
        /// The errno with which the kernel refuses it a user namespace (and so every other
        /// namespace), if it does: `ENOSPC` where `user.max_user_namespaces` is reached,
        /// `EPERM` or `EACCES` where a security policy forbids them.
        user_ns_refused: Option<crate::Errno>,
    },
}

/// The uid of `nobody`, an ordinary user every system has: what root's tasks become, inside a
/// user namespace of their own, for a scenario that sets resource limits
/// ([`Privilege::for_limits`]).
pub const NOBODY_UID: u32 = 65534;

impl Privilege {
    /// Root with every capability ([`crate::CAP_FULL_SET`]).
    pub const ROOT: Privilege = Privilege::Root { caps: crate::CAP_FULL_SET };
    /// The privilege a scenario that sets resource limits runs with: an ordinary user's
    /// limits, whoever runs it. Root's tasks run as root of a user namespace of their own
    /// mapped to [`NOBODY_UID`], as an ordinary user's do: `RLIMIT_NPROC` binds them (it never
    /// binds global root) and counts only the tasks of that namespace, and raising a hard
    /// limit needs `CAP_SYS_RESOURCE` in the initial user namespace, which they lack.
    pub fn for_limits(self) -> Privilege {
        match self {
            Privilege::Root { .. } => Privilege::NamespaceRoot { uid: NOBODY_UID },
            other => other,
        }
    }

    /// The global (kernel) uid of the caller's tasks.
    pub fn uid(self) -> u32 {
        match self {
            Privilege::Root { .. } => 0,
            Privilege::NamespaceRoot { uid } | Privilege::Unprivileged { uid, .. } => uid,
        }
    }

    /// Whether the caller holds `CAP_SYS_ADMIN` in its own user namespace.
    pub fn has_caps(self) -> bool {
        !matches!(self, Privilege::Unprivileged { .. })
    }

    /// A short description for reports: `root`, `root of a user namespace of its own (uid
    /// 1001)`, `uid 1001, no capabilities`.
    pub fn describe(self) -> String {
        match self {
            Privilege::Root { .. } => "root".to_string(),
            Privilege::NamespaceRoot { uid } => format!("root of a user namespace of its own (uid {uid})"),
            Privilege::Unprivileged { uid, .. } => format!("uid {uid}, no capabilities"),
        }
    }

    /// Why a case that needs `CAP_SYS_ADMIN` cannot run for this caller, or `None` if it can
    /// (root, or root of a user namespace of its own).
    pub fn lacks_caps(self) -> Option<String> {
        match self {
            Privilege::Unprivileged { user_ns_refused, .. } => Some(format!(
                "needs CAP_SYS_ADMIN (root, or root of a user namespace of its own), and this caller ({}) {}",
                self.describe(),
                if user_ns_refused.is_none() {
                    "may not create the namespaces it needs inside one"
                } else {
                    "may not create a user namespace here"
                }
            )),
            _ => None,
        }
    }
}

impl Default for Privilege {
    /// [`Privilege::ROOT`], what scenarios are written for.
    fn default() -> Self {
        Privilege::ROOT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_each_kind() {
        assert_eq!(Privilege::ROOT.describe(), "root");
        assert_eq!(Privilege::NamespaceRoot { uid: 1001 }.uid(), 1001);
        assert!(Privilege::NamespaceRoot { uid: 1001 }.has_caps());
        let user = Privilege::Unprivileged { uid: 1001, user_ns_refused: Some(crate::Errno::ENOSPC) };
        assert!(!user.has_caps());
        assert_eq!(user.describe(), "uid 1001, no capabilities");
        assert!(user.lacks_caps().unwrap().ends_with("may not create a user namespace here"));
        assert_eq!(Privilege::ROOT.lacks_caps(), None);
    }
}
