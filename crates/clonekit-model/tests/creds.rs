//! One test per rule of the credentials: capset, setuid and seteuid with their capability
//! effects, commit_creds, and the checks that read them (namespaces, set_tid, kill,
//! ptrace_may_access for pidfd_getfd, the parent-death signal), named after it (the corpus
//! scenarios 150–155 check them against the kernel).

use clonekit_flags::{
    CapSet, KernelCloneArgs, CAP_CHECKPOINT_RESTORE, CAP_KILL, CAP_SETUID, CAP_SYS_ADMIN, CAP_SYS_PTRACE,
};
use clonekit_model::{CapSets, CloneFlags as F, Disposition, Errno, ExitSignal, Kernel, Syscall, TaskId};

fn boot() -> (Kernel, TaskId) {
    let mut k = Kernel::new();
    let main = k.spawn_first().unwrap();
    (k, main)
}

fn fork(k: &mut Kernel, cur: TaskId) -> TaskId {
    match k.sys_fork(cur).unwrap() {
        Syscall::Done(f) => f.child,
        Syscall::Blocked => panic!("fork does not block"),
    }
}

fn clone_with(k: &mut Kernel, cur: TaskId, flags: F, set_tid: &[i32]) -> Result<TaskId, Errno> {
    let args = KernelCloneArgs {
        flags,
        exit_signal: ExitSignal::SIGCHLD,
        set_tid_size: set_tid.len() as u64,
        ..KernelCloneArgs::default()
    };
    match k.kernel_clone(cur, &args, set_tid)? {
        Syscall::Done(f) => Ok(f.child),
        Syscall::Blocked => panic!("a plain clone does not block"),
    }
}

fn nr(k: &Kernel, observer: TaskId, t: TaskId) -> i32 {
    k.pid_nr_seen_by(observer, &k.task_pid(t).unwrap())
}

fn has(k: &mut Kernel, t: TaskId, cap: u32) -> (bool, bool) {
    let s = k.sys_capget(t).unwrap();
    (s.effective & (1 << cap) != 0, s.permitted & (1 << cap) != 0)
}

fn drop_caps(k: &mut Kernel, t: TaskId, caps: CapSet) -> Result<(), Errno> {
    let s = k.sys_capget(t).unwrap();
    k.sys_capset(
        t,
        CapSets {
            effective: s.effective & !caps,
            permitted: s.permitted & !caps,
            inheritable: s.inheritable & !caps,
        },
    )
}

#[test]
fn without_cap_sys_admin_new_namespaces_are_eperm() {
    let (mut k, main) = boot();
    drop_caps(&mut k, main, 1 << CAP_SYS_ADMIN).unwrap();
    assert_eq!(has(&mut k, main, CAP_SYS_ADMIN), (false, false));
    for flag in [F::CLONE_NEWPID, F::CLONE_NEWUTS, F::CLONE_NEWNS, F::CLONE_NEWNET, F::CLONE_NEWIPC] {
        assert_eq!(clone_with(&mut k, main, flag, &[]), Err(Errno::EPERM), "{flag:?}");
    }
    assert_eq!(k.sys_unshare(main, F::CLONE_NEWUTS), Err(Errno::EPERM));
    assert_eq!(k.sys_sethostname(main, "x"), Err(Errno::EPERM));
    // A new user namespace gives every capability back, there.
    assert!(clone_with(&mut k, main, F::CLONE_NEWUSER | F::CLONE_NEWUTS, &[]).is_ok());
}

#[test]
fn capset_cannot_raise_a_dropped_capability() {
    let (mut k, main) = boot();
    drop_caps(&mut k, main, 1 << CAP_KILL).unwrap();
    let only = |caps: CapSet| CapSets { effective: caps, permitted: caps, inheritable: 0 };
    assert_eq!(k.sys_capset(main, only(1 << CAP_KILL)), Err(Errno::EPERM));
    assert_eq!(k.sys_capset(main, only(1 << CAP_SETUID)), Ok(()));
    assert_eq!(has(&mut k, main, CAP_SYS_ADMIN), (false, false));
}

#[test]
fn set_tid_needs_cap_sys_admin_or_cap_checkpoint_restore() {
    let (mut k, main) = boot();
    let p = fork(&mut k, main);
    let free = nr(&k, main, p);
    k.sys_exit(p, 0).unwrap();
    k.sys_wait4(main, free, 0).unwrap();
    drop_caps(&mut k, main, 1 << CAP_SYS_ADMIN).unwrap();
    let c = clone_with(&mut k, main, F::empty(), &[free]).unwrap();
    assert_eq!(nr(&k, main, c), free);
    drop_caps(&mut k, main, 1 << CAP_CHECKPOINT_RESTORE).unwrap();
    // Rule A4 comes before the lookup: EPERM for a free pid and for one in use alike.
    assert_eq!(clone_with(&mut k, main, F::empty(), &[free + 100]), Err(Errno::EPERM));
    assert_eq!(clone_with(&mut k, main, F::empty(), &[1]), Err(Errno::EPERM));
}

#[test]
fn setuid_with_keepcaps_keeps_only_the_permitted_set() {
    let (mut k, main) = boot();
    let kept = 1 << CAP_SETUID | 1 << CAP_CHECKPOINT_RESTORE;
    k.sys_capset(main, CapSets { effective: kept, permitted: kept, inheritable: 0 }).unwrap();
    k.sys_prctl_set_keepcaps(main, 1).unwrap();
    assert_eq!(k.sys_setuid(main, 65534), Ok(()));
    assert_eq!((k.sys_getuid(main), k.sys_geteuid(main)), (Ok(65534), Ok(65534)));
    assert_eq!(has(&mut k, main, CAP_CHECKPOINT_RESTORE), (false, true));
    // Without CAP_SETUID, only the real or saved uid.
    assert_eq!(k.sys_setuid(main, 0), Err(Errno::EPERM));
    assert_eq!(k.sys_setresuid(main, None, Some(0), None), Err(Errno::EPERM));
    // An exec clears SECBIT_KEEP_CAPS, and a uid that is not root gets nothing.
    k.sys_execve(main).unwrap();
    assert_eq!(k.sys_prctl_get_keepcaps(main), Ok(false));
    assert_eq!(has(&mut k, main, CAP_CHECKPOINT_RESTORE), (false, false));
}

#[test]
fn seteuid_empties_the_effective_set_and_makes_memory_not_dumpable() {
    let (mut k, main) = boot();
    let child = fork(&mut k, main);
    k.sys_prctl_set_pdeathsig(main, 10).unwrap();
    assert_eq!(k.sys_setresuid(main, None, Some(65535), None), Ok(()));
    assert_eq!((k.sys_getuid(main), k.sys_geteuid(main)), (Ok(0), Ok(65535)));
    assert_eq!(has(&mut k, main, CAP_SYS_PTRACE), (false, true));
    assert_eq!(k.sys_prctl_get_dumpable(main), Ok(0));
    assert_eq!(k.sys_prctl_get_pdeathsig(main), Ok(0));
    // The child's memory is dumpable: the uids (real uid 0 against the child's three) let
    // the caller in; made not dumpable, it needs CAP_SYS_PTRACE, which is not effective.
    let pidfd = k.sys_pidfd_open(main, nr(&k, main, child), 0).unwrap();
    assert_eq!(k.sys_pidfd_getfd(main, pidfd, 0, 0), Ok(pidfd + 1));
    k.sys_prctl_set_dumpable(child, 0).unwrap();
    assert_eq!(k.sys_prctl_set_dumpable(child, 2), Err(Errno::EINVAL));
    assert_eq!(k.sys_pidfd_getfd(main, pidfd, 0, 0), Err(Errno::EPERM));
    assert_eq!(k.sys_setresuid(main, None, Some(0), None), Ok(()));
    assert_eq!(has(&mut k, main, CAP_SYS_PTRACE), (true, true));
    assert!(k.sys_pidfd_getfd(main, pidfd, 0, 0).is_ok());
}

#[test]
fn pidfd_getfd_needs_a_permitted_set_that_covers_the_targets() {
    let (mut k, main) = boot();
    let a = fork(&mut k, main);
    let b = fork(&mut k, main);
    drop_caps(&mut k, b, 1 << CAP_SYS_PTRACE).unwrap();
    let pidfd = k.sys_pidfd_open(b, nr(&k, b, a), 0).unwrap();
    assert_eq!(k.sys_pidfd_getfd(b, pidfd, 0, 0), Err(Errno::EPERM));
    drop_caps(&mut k, a, 1 << CAP_SYS_PTRACE).unwrap();
    assert!(k.sys_pidfd_getfd(b, pidfd, 0, 0).is_ok());
}

#[test]
fn kill_needs_a_matching_uid_or_cap_kill_except_sigcont_in_the_session() {
    let (mut k, main) = boot();
    k.sys_rt_sigaction(main, 10, Some(Disposition::Handler)).unwrap();
    let a = fork(&mut k, main);
    let main_nr = nr(&k, a, main);
    k.sys_setuid(a, 65534).unwrap();
    assert_eq!(k.sys_kill(a, main_nr, 10), Err(Errno::EPERM));
    assert_eq!(k.sys_kill(a, main_nr, 0), Err(Errno::EPERM));
    assert_eq!(k.sys_tgkill(a, main_nr, main_nr, 10), Err(Errno::EPERM));
    assert_eq!(k.sys_kill(a, main_nr, 18), Ok(()));
    // kill(-1) does not report EPERM.
    assert_eq!(k.sys_kill(a, -1, 10), Ok(()));
    assert_eq!(k.handled(main), Ok(0));
    // Root keeps CAP_KILL over nobody's process.
    assert_eq!(k.sys_kill(main, nr(&k, main, a), 0), Ok(()));
}

#[test]
fn a_parent_turned_nobody_sends_no_parent_death_signal_to_a_root_child() {
    let (mut k, main) = boot();
    let b = fork(&mut k, main);
    let c = fork(&mut k, b);
    k.sys_rt_sigaction(c, 10, Some(Disposition::Handler)).unwrap();
    k.sys_prctl_set_pdeathsig(c, 10).unwrap();
    k.sys_setuid(b, 65534).unwrap();
    k.sys_exit(b, 0).unwrap();
    assert_eq!(k.handled(c), Ok(0));
    // A parent of the same uid sends it.
    let d = fork(&mut k, main);
    let e = fork(&mut k, d);
    k.sys_rt_sigaction(e, 10, Some(Disposition::Handler)).unwrap();
    k.sys_prctl_set_pdeathsig(e, 10).unwrap();
    k.sys_exit(d, 0).unwrap();
    assert_eq!(k.handled(e), Ok(1));
}

#[test]
fn prctl_get_child_subreaper_reads_the_process_flag() {
    let (mut k, main) = boot();
    assert_eq!(k.sys_prctl_get_child_subreaper(main), Ok(false));
    k.sys_prctl_set_child_subreaper(main, true).unwrap();
    assert_eq!(k.sys_prctl_get_child_subreaper(main), Ok(true));
    let child = fork(&mut k, main);
    assert_eq!(k.sys_prctl_get_child_subreaper(child), Ok(false));
}
