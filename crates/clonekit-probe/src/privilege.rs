//! What this process may do, and how an ordinary user gets the rest: a user namespace of its
//! own, mapped to root (`unshare --user --map-root-user`).

use std::sync::OnceLock;

use clonekit_flags::{CloneFlags, Privilege};

/// The namespaces a user namespace's root gets with it in [`Privilege::NamespaceRoot`]:
/// pids, the host name and SysV IPC.
pub const NAMESPACE_ROOT_FLAGS: CloneFlags =
    CloneFlags::CLONE_NEWPID.union(CloneFlags::CLONE_NEWUTS).union(CloneFlags::CLONE_NEWIPC);

/// The privilege this process has, or can get without help, for the tasks it creates
/// (read once, then cached):
///
/// - [`Privilege::Root`]: `CAP_SYS_ADMIN` in the initial user namespace.
/// - [`Privilege::NamespaceRoot`]: `CAP_SYS_ADMIN` in a user namespace other than the initial
///   one (a container's root), or none but the kernel lets it create a user namespace, and
///   with it pid, UTS and IPC namespaces (tried with a child that exits at once).
/// - [`Privilege::Unprivileged`]: neither of these.
pub fn privilege() -> Privilege {
    static CACHED: OnceLock<Privilege> = OnceLock::new();
    *CACHED.get_or_init(detect)
}

fn detect() -> Privilege {
    let uid = rustix::process::geteuid().as_raw();
    let caps = has_cap_sys_admin();
    if caps && in_initial_user_ns() {
        return Privilege::Root { caps: root_caps() };
    }
    if caps || try_create(CloneFlags::CLONE_NEWUSER | NAMESPACE_ROOT_FLAGS).is_ok() {
        return Privilege::NamespaceRoot { uid };
    }
    Privilege::Unprivileged { uid, user_ns_refused: user_ns_refusal() }
}

/// The errno with which the kernel refuses this process a new user namespace, if it does
/// (`ENOSPC` when `user.max_user_namespaces` is reached, `EPERM` where a policy forbids
/// them): tried once with a child that exits at once, then cached.
pub fn user_ns_refusal() -> Option<clonekit_flags::Errno> {
    static CACHED: OnceLock<Option<clonekit_flags::Errno>> = OnceLock::new();
    *CACHED.get_or_init(|| try_create(CloneFlags::CLONE_NEWUSER).err())
}

/// Whether this process is in the initial user namespace: its `uid_map` maps every uid to
/// itself (`0 0 4294967295`).
pub fn in_initial_user_ns() -> bool {
    std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|m| {
        let f: Vec<&str> = m.split_whitespace().collect();
        f == ["0", "0", "4294967295"]
    })
}

/// Whether this process holds `CAP_SYS_ADMIN` (effective, in its own user namespace).
pub fn has_cap_sys_admin() -> bool {
    rustix::thread::capabilities(None)
        .is_ok_and(|c| c.effective.contains(rustix::thread::CapabilitySet::SYS_ADMIN))
}

/// Whether this process runs with `no_new_privs` (`PR_GET_NO_NEW_PRIVS`), as a seccomp filter
/// installed without `CAP_SYS_ADMIN` requires: its tasks' execs then gain no capability.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/PR_GET_NO_NEW_PRIVS.2const.html)
pub fn no_new_privs() -> bool {
    rustix::thread::no_new_privs().unwrap_or(false)
}

/// The capabilities this process holds (its permitted set), as a [`clonekit_flags::CapSet`]:
/// what root's tasks start with on this machine, whose bounding set may leave some out.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/capget.2.html)
pub fn root_caps() -> clonekit_flags::CapSet {
    rustix::thread::capabilities(None).map_or(0, |c| c.permitted.bits())
}

/// Creates a child with `flags` that exits at once and reaps it: `Err(errno)` if the kernel
/// refuses it.
fn try_create(flags: CloneFlags) -> Result<(), clonekit_flags::Errno> {
    // SAFETY: the child returns at once; it touches nothing of the parent's and allocates
    // nothing.
    let mut child = unsafe { clonekit_sys::Clone::new().flags(flags).without_rule_lookup().spawn(|| 0) }
        .map_err(|e| e.errno())?;
    let _ = child.wait();
    Ok(())
}

/// Makes uid 0 and gid 0 of the user namespace of `pid` (a child just created with
/// `CLONE_NEWUSER`) this process's effective uid and gid, as `unshare --map-root-user`
/// does: `setgroups` is denied first, which an unprivileged writer of `gid_map` must do.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man7/user_namespaces.7.html)
pub fn map_root(pid: i32) -> std::io::Result<()> {
    let uid = rustix::process::geteuid().as_raw();
    let gid = rustix::process::getegid().as_raw();
    map_root_to(pid, uid, gid)
}

/// Writes the maps of the user namespace of `pid` so that its uid 0 and gid 0 are `uid` and
/// `gid` (`setgroups` denied first). An ordinary user may map only its own ids; root may map
/// any.
pub fn map_root_to(pid: i32, uid: u32, gid: u32) -> std::io::Result<()> {
    std::fs::write(format!("/proc/{pid}/setgroups"), "deny")?;
    std::fs::write(format!("/proc/{pid}/uid_map"), format!("0 {uid} 1"))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), format!("0 {gid} 1"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_described_as_the_kernel_sees_it() {
        let p = privilege();
        let root = rustix::process::geteuid().is_root();
        match p {
            Privilege::Root { .. } => assert!(root && in_initial_user_ns()),
            Privilege::NamespaceRoot { uid } | Privilege::Unprivileged { uid, .. } => {
                assert_eq!(uid, rustix::process::geteuid().as_raw())
            }
        }
    }
}
