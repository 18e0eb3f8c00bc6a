//! `setns` with a namespace file or a pidfd, one test per rule of kernel/nsproxy.c and the
//! namespaces' `install` functions (scenario 149 and the `pidfd_setns_test.c` cases check them
//! against the kernel).

mod common;
use clonekit_model::{CloneFlags as F, Errno, Kernel, NsKind, TaskId};
use common::{boot, clone, THREAD};

const NEW: F = F::CLONE_NEWUSER
    .union(F::CLONE_NEWNS)
    .union(F::CLONE_NEWUTS)
    .union(F::CLONE_NEWIPC)
    .union(F::CLONE_NEWPID)
    .union(F::CLONE_NEWNET)
    .union(F::CLONE_NEWCGROUP);

fn pidfd(k: &mut Kernel, cur: TaskId, t: TaskId) -> i32 {
    let n = k.pid_nr_seen_by(cur, &k.task_pid(t).unwrap());
    k.sys_pidfd_open(cur, n, 0).unwrap()
}

fn nsfd(k: &mut Kernel, cur: TaskId, t: TaskId, kind: NsKind) -> Result<i32, Errno> {
    let pid = k.task_pid(t).unwrap();
    k.sys_open_ns(cur, &pid, kind)
}

#[test]
fn flags_must_name_namespaces_and_a_file_its_kind() {
    let (mut k, main) = boot();
    let me = pidfd(&mut k, main, main);
    for bad in [0, -1, F::CLONE_VM.bits() as i32, (F::CLONE_NEWUSER | F::CLONE_VM).bits() as i32] {
        assert_eq!(k.sys_setns(main, me, bad), Err(Errno::EINVAL), "{bad:#x}");
    }
    let net = nsfd(&mut k, main, main, NsKind::Net).unwrap();
    assert_eq!(k.sys_setns(main, net, F::CLONE_NEWUTS.bits() as i32), Err(Errno::EINVAL));
    assert_eq!(k.sys_setns(main, net, 0), Ok(()));
    let null = k.sys_open(main, "/dev/null", true).unwrap();
    assert_eq!(k.sys_setns(main, null, 0), Err(Errno::EINVAL));
    assert_eq!(k.sys_setns(main, 99, 0), Err(Errno::EBADF));
}

#[test]
fn a_pidfd_enters_every_namespace_at_once_and_pid_only_for_children() {
    let (mut k, main) = boot();
    let child = clone(&mut k, main, NEW);
    let fd = pidfd(&mut k, main, child);
    let pid_before = k.ns_inum(main, NsKind::Pid).unwrap();
    assert_eq!(k.sys_setns(main, fd, NEW.bits() as i32), Ok(()));
    for kind in [NsKind::User, NsKind::Mnt, NsKind::Uts, NsKind::Ipc, NsKind::Net, NsKind::Cgroup] {
        assert_eq!(k.ns_inum(main, kind), k.ns_inum(child, kind), "{kind:?}");
    }
    assert_eq!(k.ns_inum(main, NsKind::Pid).unwrap(), pid_before);
    assert_eq!(k.ns_inum(main, NsKind::PidForChildren), k.ns_inum(child, NsKind::Pid));
}

#[test]
fn an_exited_task_has_no_namespaces_to_enter() {
    let (mut k, main) = boot();
    let child = clone(&mut k, main, F::CLONE_NEWUSER | F::CLONE_NEWNET);
    let fd = pidfd(&mut k, main, child);
    k.sys_exit(child, 0).unwrap();
    let flags = (F::CLONE_NEWUSER | F::CLONE_NEWNET).bits() as i32;
    assert_eq!(k.sys_setns(main, fd, flags), Err(Errno::ESRCH));
    // A zombie keeps its creds' user namespace and its pid's pid namespace only.
    assert_eq!(nsfd(&mut k, main, child, NsKind::Net), Err(Errno::ENOENT));
    assert!(nsfd(&mut k, main, child, NsKind::User).is_ok());
}

#[test]
fn a_sibling_user_namespace_gives_no_capability() {
    let (mut k, main) = boot();
    let c1 = clone(&mut k, main, NEW);
    let c2 = clone(&mut k, main, NEW);
    let (p1, p2) = (pidfd(&mut k, main, c1), pidfd(&mut k, main, c2));
    let c2_net = nsfd(&mut k, main, c2, NsKind::Net).unwrap();
    assert_eq!(k.sys_setns(main, p1, NEW.bits() as i32), Ok(()));
    for flag in [F::CLONE_NEWUSER, F::CLONE_NEWNET, F::CLONE_NEWPID, F::CLONE_NEWNS] {
        assert_eq!(k.sys_setns(main, p2, flag.bits() as i32), Err(Errno::EPERM), "{flag:?}");
    }
    assert_eq!(k.sys_setns(main, c2_net, 0), Err(Errno::EPERM));
    // And /proc/PID/ns of c2 may no longer be opened (ptrace_may_access).
    assert_eq!(nsfd(&mut k, main, c2, NsKind::Uts), Err(Errno::EACCES));
}

#[test]
fn the_callers_sharing_refuses_user_mount_and_time_namespaces() {
    let (mut k, main) = boot();
    let child = clone(&mut k, main, NEW);
    let fd = pidfd(&mut k, main, child);
    let th = clone(&mut k, main, THREAD);
    assert_eq!(k.sys_setns(main, fd, F::CLONE_NEWUSER.bits() as i32), Err(Errno::EINVAL));
    let time = nsfd(&mut k, main, main, NsKind::Time).unwrap();
    assert_eq!(k.sys_setns(main, time, 0), Err(Errno::EUSERS));
    k.sys_exit(th, 0).unwrap();
    let shares_fs = clone(&mut k, main, F::CLONE_FS);
    assert_eq!(k.sys_setns(main, fd, F::CLONE_NEWNS.bits() as i32), Err(Errno::EINVAL));
    k.sys_exit(shares_fs, 0).unwrap();
}

#[test]
fn a_pid_namespace_must_be_the_active_one_or_below() {
    let (mut k, main) = boot();
    let init2 = clone(&mut k, main, F::CLONE_NEWPID);
    let parents = nsfd(&mut k, init2, main, NsKind::Pid).unwrap();
    assert_eq!(k.sys_setns(init2, parents, 0), Err(Errno::EINVAL));
    let own = nsfd(&mut k, init2, init2, NsKind::Pid).unwrap();
    assert_eq!(k.sys_setns(init2, own, 0), Ok(()));
}

/// `/proc/PID/ns` of an exited task whose memory was not dumpable: refused since the
/// backport of 31e62c2ebbfd (6.18, 6.12, 6.1), allowed on 6.16 and 6.17.
#[test]
fn an_exited_task_is_read_as_its_memory_last_was() {
    for (linux, refused) in [((6, 18), true), ((6, 12), true), ((6, 17), false), ((6, 16), false)] {
        let (mut k, main) = common::boot_on(linux);
        k.sys_setuid(main, 65535).unwrap();
        let child = clone(&mut k, main, F::empty());
        k.sys_exit(child, 0).unwrap();
        let want = if refused { Err(Errno::EACCES) } else { Err(Errno::ENOENT) };
        assert_eq!(nsfd(&mut k, main, child, NsKind::Mnt), want, "Linux {linux:?}");
    }
}
