//! The capability rules of security/commoncap.c: what `capset` may set (`cap_capset`), how a
//! change of uids moves the capabilities (`cap_task_fix_setuid`), what an exec keeps
//! (`cap_bprm_creds_from_file`), and the `prctl` options it handles (`cap_task_prctl`).

use clonekit_flags::{CapSet, Errno, CAP_SETPCAP};

use crate::cred::Cred;

/// `cap_capset`: the new sets, checked against the old credentials `old`: the inheritable set
/// may only take capabilities the task holds (without `CAP_SETPCAP`) and the bounding set
/// allows; the permitted set may only shrink; the effective set must lie within the new
/// permitted one. `EPERM` otherwise.
pub(crate) fn cap_capset(
    new: &mut Cred,
    old: &Cred,
    effective: CapSet,
    inheritable: CapSet,
    permitted: CapSet,
) -> Result<(), Errno> {
    let subset = |a: CapSet, b: CapSet| a & !b == 0;
    // cap_inh_is_capped: limited unless the task has CAP_SETPCAP in its own namespace.
    let capped = !old.cap_capable(&old.user_ns, CAP_SETPCAP);
    if capped && !subset(inheritable, old.cap_inheritable | old.cap_permitted) {
        return Err(Errno::EPERM);
    }
    if !subset(inheritable, old.cap_inheritable | old.cap_bset) {
        return Err(Errno::EPERM);
    }
    if !subset(permitted, old.cap_permitted) {
        return Err(Errno::EPERM);
    }
    if !subset(effective, permitted) {
        return Err(Errno::EPERM);
    }
    new.cap_effective = effective;
    new.cap_inheritable = inheritable;
    new.cap_permitted = permitted;
    Ok(())
}

/// `cap_emulate_setxuid`, which `cap_task_fix_setuid` runs for `setuid` and `setresuid`
/// (`LSM_SETID_ID`, `LSM_SETID_RES`): root here is uid 0 of the old credentials' user
/// namespace. When no uid is root any more, the permitted and effective sets are cleared
/// (unless `SECBIT_KEEP_CAPS`); when the effective uid leaves root, the effective set is
/// cleared; when it comes back, the effective set becomes the permitted one.
pub(crate) fn cap_emulate_setxuid(new: &mut Cred, old: &Cred) {
    let root = old.root_uid();
    let is_root = |uid: u32| root == Some(uid);
    if (is_root(old.uid) || is_root(old.euid) || is_root(old.suid))
        && !is_root(new.uid)
        && !is_root(new.euid)
        && !is_root(new.suid)
        && !new.keep_caps
    {
        new.cap_permitted = 0;
        new.cap_effective = 0;
    }
    if is_root(old.euid) && !is_root(new.euid) {
        new.cap_effective = 0;
    }
    if !is_root(old.euid) && is_root(new.euid) {
        new.cap_effective = new.cap_permitted;
    }
}

/// `cap_bprm_creds_from_file` for a program without file capabilities and without set-id
/// bits (the scenario's own binary): `get_file_caps` clears the permitted set; root (a real or
/// effective uid that is uid 0 of the user namespace, `handle_privileged_root`) gets back the
/// bounding set and its inheritable capabilities, effective only if the effective uid is
/// root; the saved and file-system uids become the effective one. Returns whether the exec is
/// a secure one (`bprm->secureexec`: effective capabilities for a task whose real uid is not
/// root). With `no_new_privs` (`LSM_UNSAFE_NO_NEW_PRIVS`), a program that would gain
/// permitted capabilities gets no more than the caller had (`old_permitted`).
pub(crate) fn cap_bprm_creds_from_file(new: &mut Cred, old_permitted: u64, no_new_privs: bool) -> bool {
    let root = new.root_uid();
    let is_eff = root == Some(new.euid);
    let is_real = root == Some(new.uid);
    new.cap_permitted = 0;
    if is_eff || is_real {
        new.cap_permitted = new.cap_bset | new.cap_inheritable;
    }
    // __cap_gained with bprm->unsafe: downgrade to what the caller had.
    if no_new_privs && new.cap_permitted & !old_permitted != 0 {
        new.cap_permitted &= old_permitted;
    }
    new.suid = new.euid;
    new.fsuid = new.euid;
    new.cap_effective = if is_eff { new.cap_permitted } else { 0 };
    !is_real && is_eff
}

/// `cap_ptrace_traceme`: a task may make its parent its tracer if they share a user
/// namespace and the parent's permitted set covers the task's, or if the parent has
/// `CAP_SYS_PTRACE` over the task's user namespace (`has_ns_capability`).
pub(crate) fn cap_ptrace_traceme(parent: &Cred, child: &Cred) -> bool {
    (std::rc::Rc::ptr_eq(&parent.user_ns, &child.user_ns) && child.cap_permitted & !parent.cap_permitted == 0)
        || parent.ns_capable(&child.user_ns, clonekit_flags::CAP_SYS_PTRACE)
}

/// `cap_task_prctl` for `PR_SET_KEEPCAPS`: 0 or 1 (`EINVAL` otherwise).
pub(crate) fn set_keepcaps(new: &mut Cred, arg: u64) -> Result<(), Errno> {
    if arg > 1 {
        return Err(Errno::EINVAL);
    }
    new.keep_caps = arg == 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cred::UserNamespace;
    use clonekit_flags::{CAP_CHECKPOINT_RESTORE, CAP_FULL_SET, CAP_KILL, CAP_SETUID, CAP_SYS_ADMIN};
    use std::cell::Cell;
    use std::rc::Rc;

    fn init_ns() -> Rc<UserNamespace> {
        Rc::new(UserNamespace {
            level: 0,
            parent: None,
            inum: 1,
            root_kuid: Cell::new(Some(0)),
            owner: 0,
            nproc_max: clonekit_flags::RLIM_INFINITY,
        })
    }

    fn bit(c: u32) -> CapSet {
        1 << c
    }

    #[test]
    fn capset_may_drop_but_not_raise_the_permitted_set() {
        let old = Cred::root(init_ns(), 0, CAP_FULL_SET & !bit(CAP_KILL));
        let mut new = old.clone();
        let fewer = old.cap_permitted & !bit(CAP_SYS_ADMIN);
        assert_eq!(cap_capset(&mut new, &old, fewer, 0, fewer), Ok(()));
        assert_eq!(new.cap_effective & bit(CAP_SYS_ADMIN), 0);
        let mut new = old.clone();
        assert_eq!(cap_capset(&mut new, &old, 0, 0, old.cap_permitted | bit(CAP_KILL)), Err(Errno::EPERM));
        // The effective set must lie within the new permitted one.
        assert_eq!(cap_capset(&mut new, &old, bit(CAP_SYS_ADMIN), 0, 0), Err(Errno::EPERM));
    }

    #[test]
    fn setuid_away_from_root_clears_the_sets_unless_keep_caps() {
        let old = Cred::root(init_ns(), 0, CAP_FULL_SET);
        let mut new = old.clone();
        (new.uid, new.euid, new.suid, new.fsuid) = (65534, 65534, 65534, 65534);
        cap_emulate_setxuid(&mut new, &old);
        assert_eq!((new.cap_permitted, new.cap_effective), (0, 0));

        let mut kept = old.clone();
        kept.keep_caps = true;
        let mut new = kept.clone();
        (new.uid, new.euid, new.suid, new.fsuid) = (65534, 65534, 65534, 65534);
        cap_emulate_setxuid(&mut new, &kept);
        assert_eq!((new.cap_permitted, new.cap_effective), (CAP_FULL_SET, 0));
    }

    #[test]
    fn seteuid_moves_only_the_effective_set() {
        let old = Cred::root(init_ns(), 0, CAP_FULL_SET);
        let mut away = old.clone();
        (away.euid, away.fsuid) = (65535, 65535);
        cap_emulate_setxuid(&mut away, &old);
        assert_eq!((away.cap_permitted, away.cap_effective), (CAP_FULL_SET, 0));
        let mut back = away.clone();
        (back.euid, back.fsuid) = (0, 0);
        cap_emulate_setxuid(&mut back, &away);
        assert_eq!(back.cap_effective, CAP_FULL_SET);
    }

    #[test]
    fn exec_gives_root_the_bounding_set_and_others_nothing() {
        let mut root = Cred::root(init_ns(), 0, CAP_FULL_SET);
        root.cap_permitted = bit(CAP_SETUID);
        root.cap_effective = 0;
        assert!(!cap_bprm_creds_from_file(&mut root, 0, false));
        assert_eq!((root.cap_permitted, root.cap_effective), (CAP_FULL_SET, CAP_FULL_SET));

        let mut nobody = Cred::root(init_ns(), 0, CAP_FULL_SET);
        (nobody.uid, nobody.euid, nobody.suid, nobody.fsuid) = (65534, 65534, 65534, 65534);
        nobody.cap_effective = bit(CAP_CHECKPOINT_RESTORE);
        nobody.cap_permitted = bit(CAP_CHECKPOINT_RESTORE);
        assert!(!cap_bprm_creds_from_file(&mut nobody, 0, false));
        assert_eq!((nobody.cap_permitted, nobody.cap_effective), (0, 0));

        // A real uid of root with another effective uid: permitted back, not effective.
        let mut half = Cred::root(init_ns(), 0, CAP_FULL_SET);
        half.euid = 65534;
        assert!(!cap_bprm_creds_from_file(&mut half, 0, false));
        assert_eq!((half.cap_permitted, half.cap_effective, half.suid), (CAP_FULL_SET, 0, 65534));
    }

    #[test]
    fn keepcaps_takes_zero_or_one() {
        let mut c = Cred::root(init_ns(), 0, CAP_FULL_SET);
        assert_eq!(set_keepcaps(&mut c, 2), Err(Errno::EINVAL));
        assert_eq!(set_keepcaps(&mut c, 1), Ok(()));
        assert!(c.keep_caps);
    }
}
