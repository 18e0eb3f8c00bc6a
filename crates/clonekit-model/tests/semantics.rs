//! One test per rule and per semantic of the model, named after it. Sharing is checked by
//! identity (`Kernel::shares`), never by re-reading the flags.

use clonekit_model::{
    CloneFlags as F, Disposition, Errno, IdType, Kernel, Resource, Resumed, SigSet, SigprocmaskHow, Syscall,
    TaskId, TaskState, WaitStatus, PAGE_SIZE, WALL, WCLONE, WEXITED, WNOHANG,
};

const SIGCHLD: u64 = clonekit_flags::ExitSignal::SIGCHLD.raw();

fn boot() -> (Kernel, TaskId) {
    let mut k = Kernel::new();
    let main = k.spawn_first().unwrap();
    k.set_recording(true);
    (k, main)
}

fn clone(k: &mut Kernel, cur: TaskId, flags: F, sig: u64) -> Result<TaskId, Errno> {
    let sp = if flags.contains(F::CLONE_VM) { 0x7d00_0010_0000 } else { 0 };
    match k.sys_clone(cur, flags.bits() | sig, sp, 0, 0, 0)? {
        Syscall::Done(f) => Ok(f.child),
        Syscall::Blocked => Ok(k.vfork_child(cur).unwrap()),
    }
}

fn errno_of(flags: F, sig: u64) -> Option<Errno> {
    let (mut k, main) = boot();
    clone(&mut k, main, flags, sig).err()
}

fn rule_of(k: &Kernel) -> Option<&'static str> {
    k.last_copy_process().and_then(|r| r.rule)
}

fn clone3(k: &mut Kernel, cur: TaskId, args: clonekit_flags::CloneArgs, size: u64) -> Result<TaskId, Errno> {
    let bytes = args.to_bytes((size as usize).clamp(88, 4096));
    match k.sys_clone3(cur, &bytes, size)? {
        Syscall::Done(f) => Ok(f.child),
        Syscall::Blocked => Ok(k.vfork_child(cur).unwrap()),
    }
}

fn wait(k: &mut Kernel, cur: TaskId, pid: i32, opts: u32) -> Result<Option<WaitStatus>, Errno> {
    match k.sys_wait4(cur, pid, opts)? {
        Syscall::Done(w) => Ok(w.map(|w| w.status)),
        Syscall::Blocked => panic!("wait blocked"),
    }
}

fn nr(k: &Kernel, observer: TaskId, t: TaskId) -> i32 {
    k.pid_nr_seen_by(observer, &k.task_pid(t).unwrap())
}

#[test]
fn copy_mm_shares_with_clone_vm_and_copies_without() {
    let (mut k, main) = boot();
    let vm = clone(&mut k, main, F::CLONE_VM, SIGCHLD).unwrap();
    let fork = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    assert!(k.shares(main, vm, Resource::AddressSpace));
    assert!(!k.shares(main, fork, Resource::AddressSpace));
    assert_eq!(k.last_copy_process().unwrap().outcome("copy_mm"), Some(clonekit_flags::Sharing::Copied));
}

#[test]
fn dup_mm_is_copy_on_write() {
    let (mut k, main) = boot();
    k.store(main, 0x40_1000, 1).unwrap();
    let c = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    assert!(k.mm(main).unwrap().shares_page_with(&k.mm(c).unwrap(), 0x40_1000));
    k.store(c, 0x40_1000, 2).unwrap();
    assert!(!k.mm(main).unwrap().shares_page_with(&k.mm(c).unwrap(), 0x40_1000));
    assert_eq!((k.load(main, 0x40_1000).unwrap(), k.load(c, 0x40_1000).unwrap()), (1, 2));
}

#[test]
fn fork_of_a_large_mm_copies_no_page() {
    let (mut k, main) = boot();
    for i in 0..4096 {
        k.store(main, 0x40_1000_0000 + i * PAGE_SIZE, 1).unwrap();
    }
    let c = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    assert_eq!(k.mm(c).unwrap().cow_copies(), 0);
    assert_eq!(k.mm(c).unwrap().resident_pages(), 4096);
}

#[test]
fn copy_fs_files_sighand_follow_their_flags() {
    let (mut k, main) = boot();
    let shared =
        clone(&mut k, main, F::CLONE_VM | F::CLONE_FS | F::CLONE_FILES | F::CLONE_SIGHAND, SIGCHLD).unwrap();
    let copied = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    for r in [Resource::FsInfo, Resource::FdTable, Resource::SignalHandlers] {
        assert!(k.shares(main, shared, r), "{r:?}");
        assert!(!k.shares(main, copied, r), "{r:?}");
    }
}

#[test]
fn copy_signal_and_creds_are_shared_by_threads_only() {
    let (mut k, main) = boot();
    let t = clone(&mut k, main, F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD, 0).unwrap();
    let p = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    assert!(k.shares(main, t, Resource::ThreadGroup) && k.shares(main, t, Resource::Credentials));
    assert!(!k.shares(main, p, Resource::ThreadGroup) && !k.shares(main, p, Resource::Credentials));
}

#[test]
fn copy_semundo_shares_with_clone_sysvsem() {
    let (mut k, main) = boot();
    let a = clone(&mut k, main, F::CLONE_SYSVSEM, SIGCHLD).unwrap();
    let b = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    assert!(k.shares(main, a, Resource::SysvSemUndo));
    assert!(!k.shares(main, b, Resource::SysvSemUndo));
}

#[test]
fn copy_io_shares_with_clone_io() {
    let (mut k, main) = boot();
    k.sys_ioprio_set(main, (2 << 13) | 3).unwrap();
    let a = clone(&mut k, main, F::CLONE_IO, SIGCHLD).unwrap();
    let b = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    assert!(k.shares(main, a, Resource::IoContext));
    assert!(!k.shares(main, b, Resource::IoContext));
    assert_eq!(k.sys_ioprio_get(b).unwrap(), (2 << 13) | 3);
}

#[test]
fn copy_namespaces_shares_unless_a_new_namespace_is_asked() {
    let (mut k, main) = boot();
    let a = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    let b = clone(&mut k, main, F::CLONE_NEWUTS, SIGCHLD).unwrap();
    assert!(k.shares(main, a, Resource::UtsNamespace));
    assert!(!k.shares(main, b, Resource::UtsNamespace));
}

#[test]
fn clone_newns_with_fs_is_rule_p1() {
    assert_eq!(errno_of(F::CLONE_NEWNS | F::CLONE_FS, SIGCHLD), Some(Errno::EINVAL));
}

#[test]
fn clone_newuser_with_fs_is_rule_p2() {
    assert_eq!(errno_of(F::CLONE_NEWUSER | F::CLONE_FS, SIGCHLD), Some(Errno::EINVAL));
}

#[test]
fn clone_thread_requires_sighand_rule_p3() {
    let (mut k, main) = boot();
    assert_eq!(clone(&mut k, main, F::CLONE_VM | F::CLONE_THREAD, 0), Err(Errno::EINVAL));
    assert_eq!(rule_of(&k), Some("P3"));
}

#[test]
fn clone_sighand_requires_vm_rule_p4() {
    let (mut k, main) = boot();
    assert_eq!(clone(&mut k, main, F::CLONE_SIGHAND, SIGCHLD), Err(Errno::EINVAL));
    assert_eq!(rule_of(&k), Some("P4"));
}

#[test]
fn clone_parent_from_pid_ns_init_is_rule_p5() {
    let (mut k, main) = boot();
    let init = clone(&mut k, main, F::CLONE_NEWPID, SIGCHLD).unwrap();
    assert_eq!(clone(&mut k, init, F::CLONE_PARENT, SIGCHLD), Err(Errno::EINVAL));
    assert_eq!(rule_of(&k), Some("P5"));
}

#[test]
fn clone_thread_after_unshare_newpid_is_rule_p6() {
    let (mut k, main) = boot();
    k.sys_unshare(main, F::CLONE_NEWPID).unwrap();
    assert_eq!(clone(&mut k, main, F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD, 0), Err(Errno::EINVAL));
    assert_eq!(rule_of(&k), Some("P6"));
}

#[test]
fn clone_pidfd_with_detached_is_rule_p7() {
    let (mut k, main) = boot();
    let r =
        k.sys_clone(main, (F::CLONE_PIDFD | F::CLONE_DETACHED).bits() | SIGCHLD, 0, 0x7f00_0000_0000, 0, 0);
    assert_eq!(r, Err(Errno::EINVAL));
    assert_eq!(rule_of(&k), Some("P7"));
}

#[test]
fn legacy_pidfd_with_parent_settid_is_rule_k1() {
    let (mut k, main) = boot();
    let r = k.sys_clone(
        main,
        (F::CLONE_PIDFD | F::CLONE_PARENT_SETTID).bits() | SIGCHLD,
        0,
        0x7f00_0000_0000,
        0,
        0,
    );
    assert_eq!(r, Err(Errno::EINVAL));
    assert_eq!(rule_of(&k), Some("K1"));
}

#[test]
fn newipc_with_sysvsem_is_rule_n2() {
    assert_eq!(errno_of(F::CLONE_NEWIPC | F::CLONE_SYSVSEM, SIGCHLD), Some(Errno::EINVAL));
}

#[test]
fn newpid_after_unshare_newpid_is_rule_n4() {
    let (mut k, main) = boot();
    k.sys_unshare(main, F::CLONE_NEWPID).unwrap();
    assert_eq!(clone(&mut k, main, F::CLONE_NEWPID, SIGCHLD), Err(Errno::EINVAL));
    assert_eq!(k.sys_unshare(main, F::CLONE_NEWPID), Err(Errno::EINVAL));
}

#[test]
fn newpid_deeper_than_32_levels_is_rule_n6() {
    let (mut k, mut cur) = boot();
    for _ in 0..32 {
        cur = clone(&mut k, cur, F::CLONE_NEWPID, SIGCHLD).unwrap();
    }
    assert_eq!(clone(&mut k, cur, F::CLONE_NEWPID, SIGCHLD), Err(Errno::ENOSPC));
}

#[test]
fn settls_outside_user_space_is_rule_t1() {
    let (mut k, main) = boot();
    let flags = (F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD | F::CLONE_SETTLS).bits();
    assert_eq!(k.sys_clone(main, flags, 0x7d00_0000_0000, 0, 0, 0x7fff_ffff_f000), Err(Errno::EPERM));
}

#[test]
fn nested_user_namespace_without_mapping_is_rule_u2() {
    let (mut k, main) = boot();
    let u = clone(&mut k, main, F::CLONE_NEWUSER, SIGCHLD).unwrap();
    assert_eq!(clone(&mut k, u, F::CLONE_NEWUSER, SIGCHLD), Err(Errno::EPERM));
    assert_eq!(rule_of(&k), Some("U2"));
}

#[test]
fn clone3_size_rules_c1_c2_c3() {
    let (mut k, main) = boot();
    let args = clonekit_flags::CloneArgs { exit_signal: SIGCHLD, ..Default::default() };
    assert_eq!(clone3(&mut k, main, args, 4104), Err(Errno::E2BIG));
    assert_eq!(clone3(&mut k, main, args, 56), Err(Errno::EINVAL));
    let mut bytes = args.to_bytes(96);
    bytes[90] = 1;
    assert_eq!(k.sys_clone3(main, &bytes, 96), Err(Errno::E2BIG));
    assert!(clone3(&mut k, main, args, 96).is_ok());
}

#[test]
fn clone3_unreadable_struct_is_rule_c4() {
    let (mut k, main) = boot();
    assert_eq!(k.sys_clone3(main, &[0u8; 64], 88), Err(Errno::EFAULT));
}

#[test]
fn clone3_set_tid_rules_a1_a2_a3_a5() {
    let (mut k, main) = boot();
    let with = |k: &mut Kernel, cur: TaskId, flags: F, tids: &[u32]| {
        for (i, t) in tids.iter().enumerate() {
            k.store(cur, 0x7f00_1000_0000 + 4 * i as u64, *t).unwrap();
        }
        let args = clonekit_flags::CloneArgs {
            flags: flags.bits(),
            exit_signal: SIGCHLD,
            set_tid: 0x7f00_1000_0000,
            set_tid_size: tids.len() as u64,
            ..Default::default()
        };
        clone3(k, cur, args, 88)
    };
    assert_eq!(with(&mut k, main, F::empty(), &[1, 1]), Err(Errno::EINVAL));
    assert_eq!(with(&mut k, main, F::empty(), &[0]), Err(Errno::EINVAL));
    assert_eq!(with(&mut k, main, F::CLONE_NEWPID, &[5]), Err(Errno::EINVAL));
    let init = with(&mut k, main, F::CLONE_NEWPID, &[1]).unwrap();
    assert_eq!(with(&mut k, init, F::empty(), &[1]), Err(Errno::EEXIST));
    let c = with(&mut k, init, F::empty(), &[7]).unwrap();
    assert_eq!(nr(&k, init, c), 7);
}

#[test]
fn fork_into_a_dead_pid_namespace_is_rule_a7() {
    let (mut k, main) = boot();
    k.sys_unshare(main, F::CLONE_NEWPID).unwrap();
    let c = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    k.sys_exit(c, 0).unwrap();
    assert_eq!(clone(&mut k, main, F::empty(), SIGCHLD), Err(Errno::ENOMEM));
}

#[test]
fn into_cgroup_with_a_non_cgroup_fd_is_rule_g1() {
    let (mut k, main) = boot();
    let args = clonekit_flags::CloneArgs {
        flags: F::CLONE_INTO_CGROUP.bits(),
        exit_signal: SIGCHLD,
        cgroup: 0,
        ..Default::default()
    };
    assert_eq!(clone3(&mut k, main, args, 88), Err(Errno::EBADF));
}

#[test]
fn parent_settid_goes_to_the_parent_child_settid_to_the_child() {
    let (mut k, main) = boot();
    let flags = (F::CLONE_PARENT_SETTID | F::CLONE_CHILD_SETTID).bits() | SIGCHLD;
    let Syscall::Done(f) = k.sys_clone(main, flags, 0, 0x7f00_0000_0000, 0x7f00_0000_0004, 0).unwrap() else {
        panic!()
    };
    assert_eq!(k.load(main, 0x7f00_0000_0000).unwrap(), f.nr as u32);
    assert_eq!(k.load(main, 0x7f00_0000_0004).unwrap(), 0);
    assert_eq!(k.load(f.child, 0x7f00_0000_0000).unwrap(), 0);
    assert_eq!(k.load(f.child, 0x7f00_0000_0004).unwrap(), f.nr as u32);
}

#[test]
fn child_cleartid_clears_and_wakes_only_when_the_mm_is_shared() {
    let (mut k, main) = boot();
    let flags = (F::CLONE_VM | F::CLONE_CHILD_SETTID | F::CLONE_CHILD_CLEARTID).bits() | SIGCHLD;
    let Syscall::Done(f) = k.sys_clone(main, flags, 0x7d00_0010_0000, 0, 0x7f00_0000_0000, 0).unwrap() else {
        panic!()
    };
    let t = clone(&mut k, main, F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD, 0).unwrap();
    assert_eq!(k.sys_futex_wait(t, 0x7f00_0000_0000, f.nr as u32), Ok(Syscall::Blocked));
    k.sys_exit(f.child, 0).unwrap();
    assert_eq!(k.load(main, 0x7f00_0000_0000).unwrap(), 0);
    assert_eq!(k.take_resumed(), vec![(t, Resumed::Futex(Ok(0)))]);
}

#[test]
fn vfork_parent_sleeps_until_exit() {
    let (mut k, main) = boot();
    assert_eq!(k.sys_vfork(main), Ok(Syscall::Blocked));
    let c = k.vfork_child(main).unwrap();
    assert_eq!(k.state(main), TaskState::Blocked);
    k.sys_exit(c, 0).unwrap();
    let nr = nr(&k, main, c);
    assert_eq!(k.take_resumed(), vec![(main, Resumed::Vfork(nr))]);
}

#[test]
fn vfork_parent_is_released_by_exec() {
    let (mut k, main) = boot();
    k.sys_vfork(main).unwrap();
    let c = k.vfork_child(main).unwrap();
    k.sys_execve(c).unwrap();
    assert_eq!(k.state(main), TaskState::Running);
    assert!(!k.shares(main, c, Resource::AddressSpace));
}

#[test]
fn clone_children_need_wclone_or_wall() {
    let (mut k, main) = boot();
    let c = clone(&mut k, main, F::empty(), 0).unwrap();
    let n = nr(&k, main, c);
    k.sys_exit(c, 5).unwrap();
    assert_eq!(wait(&mut k, main, n, 0), Err(Errno::ECHILD));
    assert_eq!(wait(&mut k, main, n, WCLONE), Ok(Some(WaitStatus::Exited(5))));
    let d = clone(&mut k, main, F::empty(), 0).unwrap();
    k.sys_exit(d, 6).unwrap();
    assert_eq!(wait(&mut k, main, -1, WALL), Ok(Some(WaitStatus::Exited(6))));
}

#[test]
fn last_thread_exit_code_is_the_group_status() {
    let (mut k, main) = boot();
    let p = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    let t = clone(&mut k, p, F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD, 0).unwrap();
    let n = nr(&k, main, p);
    k.sys_exit(p, 3).unwrap();
    assert_eq!(wait(&mut k, main, n, WNOHANG), Ok(None));
    k.sys_exit(t, 0).unwrap();
    assert_eq!(wait(&mut k, main, n, 0), Ok(Some(WaitStatus::Exited(0))));
}

#[test]
fn exit_group_from_a_thread_sets_the_group_status() {
    let (mut k, main) = boot();
    let p = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    let t = clone(&mut k, p, F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD, 0).unwrap();
    let n = nr(&k, main, p);
    k.sys_exit_group(t, 9).unwrap();
    assert_eq!(wait(&mut k, main, n, 0), Ok(Some(WaitStatus::Exited(9))));
}

#[test]
fn exec_from_a_non_leader_takes_the_leaders_pid() {
    let (mut k, main) = boot();
    let p = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    let t = clone(&mut k, p, F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD, 0).unwrap();
    let leader_pid = k.task_pid(p).unwrap();
    k.sys_execve(t).unwrap();
    assert!(std::rc::Rc::ptr_eq(&k.task_pid(t).unwrap(), &leader_pid));
    assert_eq!(k.state(p), TaskState::Dead);
    assert_eq!(k.sys_getppid(t).unwrap(), nr(&k, t, main));
}

#[test]
fn exec_resets_exit_signal_handlers_and_closes_cloexec() {
    let (mut k, main) = boot();
    let c = clone(&mut k, main, F::empty(), 28).unwrap();
    k.sys_rt_sigaction(c, 10, Some(Disposition::Handler)).unwrap();
    k.sys_rt_sigaction(c, 12, Some(Disposition::Ignore)).unwrap();
    let fd = k.sys_open(c, "/dev/null", true).unwrap();
    k.sys_execve(c).unwrap();
    assert_eq!(k.disposition(c, 10), Disposition::Default);
    assert_eq!(k.disposition(c, 12), Disposition::Ignore);
    assert_eq!(k.sys_fdstate(c, fd).unwrap(), clonekit_model::FdState::Closed);
    let n = nr(&k, main, c);
    k.sys_exit(c, 1).unwrap();
    assert_eq!(wait(&mut k, main, n, 0), Ok(Some(WaitStatus::Exited(1))));
}

#[test]
fn orphans_go_to_the_subreaper_then_to_init() {
    let (mut k, main) = boot();
    k.sys_prctl_set_child_subreaper(main, true).unwrap();
    let p = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    let c = clone(&mut k, p, F::empty(), SIGCHLD).unwrap();
    k.sys_exit(p, 0).unwrap();
    assert_eq!(k.sys_getppid(c).unwrap(), k.sys_getpid(main).unwrap());
    let (mut k, main) = boot();
    let p = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    let c = clone(&mut k, p, F::empty(), SIGCHLD).unwrap();
    k.sys_exit(p, 0).unwrap();
    assert_eq!(k.sys_getppid(c).unwrap(), 1);
}

#[test]
fn clone_parent_makes_a_sibling_with_the_leaders_exit_signal() {
    let (mut k, main) = boot();
    let p = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    let c = clone(&mut k, p, F::CLONE_PARENT, 10).unwrap();
    assert_eq!(k.sys_getppid(c).unwrap(), k.sys_getpid(main).unwrap());
    let n = nr(&k, main, c);
    k.sys_exit(c, 6).unwrap();
    assert_eq!(wait(&mut k, main, n, 0), Ok(Some(WaitStatus::Exited(6))));
}

#[test]
fn pid_namespace_child_is_pid_one_and_its_exit_kills_the_namespace() {
    let (mut k, main) = boot();
    let init = clone(&mut k, main, F::CLONE_NEWPID, SIGCHLD).unwrap();
    assert_eq!(k.sys_getpid(init).unwrap(), 1);
    assert_eq!(k.sys_getppid(init).unwrap(), 0);
    let a = clone(&mut k, init, F::empty(), SIGCHLD).unwrap();
    assert_eq!(k.sys_getpid(a).unwrap(), 2);
    k.sys_exit(init, 0).unwrap();
    assert_eq!(k.state(a), TaskState::Dead);
}

#[test]
fn unshare_widens_its_flags() {
    let (mut k, main) = boot();
    let t = clone(&mut k, main, F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD, 0).unwrap();
    assert_eq!(k.sys_unshare(main, F::CLONE_NEWUSER), Err(Errno::EINVAL));
    k.sys_exit(t, 0).unwrap();
    assert_eq!(k.sys_unshare(main, F::CLONE_NEWUSER), Ok(()));
}

#[test]
fn blocked_mask_is_per_task_even_with_clone_sighand() {
    let (mut k, main) = boot();
    let c = clone(&mut k, main, F::CLONE_VM | F::CLONE_SIGHAND, SIGCHLD).unwrap();
    k.sys_rt_sigprocmask(main, SigprocmaskHow::Block, SigSet(1 << 9)).unwrap();
    assert_eq!(k.sys_rt_sigprocmask(c, SigprocmaskHow::Block, SigSet::EMPTY).unwrap(), SigSet::EMPTY);
    k.sys_rt_sigaction(c, 10, Some(Disposition::Ignore)).unwrap();
    assert_eq!(k.disposition(main, 10), Disposition::Ignore);
}

#[test]
fn sigaltstack_is_reset_for_clone_vm_without_vfork() {
    let (mut k, main) = boot();
    k.sys_sigaltstack(main, Some(true)).unwrap();
    let t = clone(&mut k, main, F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD, 0).unwrap();
    let f = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    assert_eq!(k.sys_sigaltstack(t, None), Ok(false));
    assert_eq!(k.sys_sigaltstack(f, None), Ok(true));
}

#[test]
fn pdeath_signal_is_reset_in_the_child_and_sent_when_the_parent_dies() {
    let (mut k, main) = boot();
    let p = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    let c = clone(&mut k, p, F::empty(), SIGCHLD).unwrap();
    k.sys_rt_sigaction(c, 10, Some(Disposition::Handler)).unwrap();
    k.sys_prctl_set_pdeathsig(c, 10).unwrap();
    let g = clone(&mut k, c, F::empty(), SIGCHLD).unwrap();
    assert_eq!(k.sys_prctl_get_pdeathsig(g), Ok(0));
    k.sys_exit(p, 0).unwrap();
    assert_eq!(k.handled(c), Ok(1));
}

#[test]
fn parent_ignoring_sigchld_autoreaps() {
    let (mut k, main) = boot();
    k.sys_rt_sigaction(main, 17, Some(Disposition::Ignore)).unwrap();
    let c = clone(&mut k, main, F::empty(), SIGCHLD).unwrap();
    k.sys_exit(c, 0).unwrap();
    assert_eq!(wait(&mut k, main, -1, 0), Err(Errno::ECHILD));
}

#[test]
fn waitid_needs_a_state_to_wait_for() {
    let (mut k, main) = boot();
    assert_eq!(k.sys_waitid(main, IdType::All, WNOHANG), Err(Errno::EINVAL));
    assert_eq!(k.sys_waitid(main, IdType::All, WEXITED), Err(Errno::ECHILD));
}

#[test]
fn do_fork_takes_the_seeds_five_parameters() {
    let (mut k, main) = boot();
    let r = k.do_fork(main, (F::CLONE_VM | F::CLONE_VFORK).bits() | SIGCHLD, 0x7d00_0010_0000, 0, 0, 0);
    assert_eq!(r, Ok(Syscall::Blocked));
}

/// A call refused in `copy_namespaces` leaves the record of every step `copy_process` ran
/// before it, in fork.c's order, and the rule that refused it.
#[test]
fn copy_process_record_of_a_refused_call_shows_the_steps_before_it() {
    let (mut k, main) = boot();
    assert_eq!(clone(&mut k, main, F::CLONE_NEWIPC | F::CLONE_SYSVSEM, SIGCHLD), Err(Errno::EINVAL));
    let rec = k.last_copy_process().unwrap();
    assert_eq!(rec.rule, Some("N2"));
    let order: Vec<&str> = rec.steps.iter().map(|s| s.function).collect();
    let expected = [
        "copy_process",
        "dup_task_struct",
        "copy_creds",
        "copy_semundo",
        "copy_files",
        "copy_fs",
        "copy_sighand",
        "copy_signal",
        "copy_mm",
        "copy_namespaces",
    ];
    assert_eq!(order, expected);
    assert_eq!(rec.steps.last().unwrap().outcome, None, "the last step refused the call");
}

/// A call refused after `alloc_pid` gives its pid back (`bad_fork_free_pid`): the number is
/// no longer in the namespace (and, allocation being cyclic, the next child gets the next).
#[test]
fn copy_process_frees_the_pid_of_a_call_refused_after_alloc_pid() {
    let (mut k, main) = boot();
    // CLONE_INTO_CGROUP is refused in cgroup_can_fork, after alloc_pid.
    let refused = k.sys_clone3(main, &clone3_args(F::CLONE_INTO_CGROUP), 88);
    assert_eq!(refused.err(), Some(Errno::EBADF));
    let rec = k.last_copy_process().unwrap();
    let refused_nr = rec.pid_numbers.last().copied().unwrap();
    let ns = k.active_pid_ns(main).unwrap();
    assert_eq!(ns.find_task(refused_nr), None, "the refused call's pid was freed");
    let Ok(Syscall::Done(f)) = k.sys_fork(main) else { panic!("fork") };
    assert_eq!(f.nr, refused_nr + 1);
}

/// `struct clone_args` bytes for `clone3` with `flags`, SIGCHLD, and cgroup fd 3.
fn clone3_args(flags: F) -> Vec<u8> {
    let words: [u64; 11] = [flags.bits(), 0, 0, 0, SIGCHLD, 0, 0, 0, 0, 0, 3];
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}
