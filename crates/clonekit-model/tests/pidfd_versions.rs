//! The pidfd calls on the releases before each change the model follows
//! (clonekit_flags::CHANGES): one test per change, on the model told the release before it
//! and the release that made it (scenarios 120–123 and 144–147 show the same on the kernel).

use clonekit_flags::{PIDFD_NONBLOCK, PIDFD_SIGNAL_THREAD, PIDFD_THREAD, POLLHUP, POLLIN};
mod common;
use clonekit_model::{CloneFlags as F, Errno, IdType, WEXITED};
use common::{boot_on, clone, nr, THREAD};

#[test]
fn the_pidfd_calls_do_not_exist_before_their_releases() {
    let (mut k, main) = boot_on((5, 0));
    let me = nr(&k, main, main);
    assert_eq!(k.sys_pidfd_open(main, me, 0), Err(Errno::ENOSYS));
    assert_eq!(k.sys_pidfd_send_signal(main, 3, 0, None, 0), Err(Errno::ENOSYS));
    assert_eq!(k.sys_pidfd_getfd(main, 3, 0, 0), Err(Errno::ENOSYS));
    let (mut k, main) = boot_on((5, 3));
    let me = nr(&k, main, main);
    let fd = k.sys_pidfd_open(main, me, 0).unwrap();
    assert_eq!(k.sys_pidfd_getfd(main, fd, 0, 0), Err(Errno::ENOSYS));
    assert_eq!(k.sys_waitid(main, IdType::Pidfd(fd), WEXITED).err(), Some(Errno::EINVAL));
    assert_eq!(k.sys_pidfd_open(main, me, PIDFD_NONBLOCK), Err(Errno::EINVAL));
    let (mut k, main) = boot_on((5, 10));
    let me = nr(&k, main, main);
    assert!(k.sys_pidfd_open(main, me, PIDFD_NONBLOCK).is_ok());
}

#[test]
fn before_6_9_pidfds_name_processes_only() {
    let (mut k, main) = boot_on((6, 8));
    let child = clone(&mut k, main, F::empty());
    let n = nr(&k, main, child);
    assert_eq!(k.sys_pidfd_open(main, n, PIDFD_THREAD), Err(Errno::EINVAL));
    let fd = k.sys_pidfd_open(main, n, 0).unwrap();
    assert_eq!(k.sys_pidfd_send_signal(main, fd, 0, None, PIDFD_SIGNAL_THREAD), Err(Errno::EINVAL));
    k.sys_exit(child, 0).unwrap();
    k.sys_wait4(main, n, 0).unwrap();
    assert_eq!(k.sys_poll(main, fd, POLLIN), Ok(POLLIN), "no POLLHUP before 6.9");
    let (mut k, main) = boot_on((6, 9));
    let child = clone(&mut k, main, F::empty());
    let n = nr(&k, main, child);
    let fd = k.sys_pidfd_open(main, n, PIDFD_THREAD).unwrap();
    assert_eq!(k.sys_pidfd_send_signal(main, fd, 0, None, PIDFD_SIGNAL_THREAD), Ok(()));
    k.sys_exit(child, 0).unwrap();
    k.sys_wait4(main, n, 0).unwrap();
    assert_eq!(k.sys_poll(main, fd, POLLIN), Ok(POLLIN | POLLHUP));
}

/// A `PIDFD_THREAD` pidfd of a leader that exits before its thread: readable at once from 6.9
/// to 6.14, except in the 6.12 and 6.14 series, which took the 6.15 change.
#[test]
fn a_thread_pidfd_of_an_exited_leader_is_readable_at_once_from_6_9_to_6_14() {
    for (linux, at_once) in
        [((6, 9), true), ((6, 12), false), ((6, 13), true), ((6, 14), false), ((6, 18), false)]
    {
        let (mut k, main) = boot_on(linux);
        let leader = clone(&mut k, main, F::empty());
        let th = clone(&mut k, leader, THREAD);
        let n = nr(&k, main, leader);
        let thread_fd = k.sys_pidfd_open(main, n, PIDFD_THREAD).unwrap();
        let process_fd = k.sys_pidfd_open(main, n, 0).unwrap();
        k.sys_exit(leader, 0).unwrap();
        let want = if at_once { POLLIN } else { 0 };
        assert_eq!(k.sys_poll(main, thread_fd, POLLIN), Ok(want), "Linux {linux:?}");
        assert_eq!(k.sys_poll(main, process_fd, POLLIN), Ok(0), "Linux {linux:?}");
        k.sys_exit(th, 0).unwrap();
        assert_eq!(k.sys_poll(main, thread_fd, POLLIN), Ok(POLLIN), "Linux {linux:?}");
    }
}

#[test]
fn pidfd_self_enoent_and_the_new_thread_group_number_arrive_in_6_15_6_16_and_6_17() {
    let (mut k, main) = boot_on((6, 14));
    assert_eq!(
        k.sys_pidfd_send_signal(main, clonekit_flags::PIDFD_SELF_THREAD, 0, None, 0),
        Err(Errno::EBADF)
    );
    let (mut k, main) = boot_on((6, 15));
    assert_eq!(k.sys_pidfd_send_signal(main, clonekit_flags::PIDFD_SELF_THREAD, 0, None, 0), Ok(()));
    let th = clone(&mut k, main, THREAD);
    let n = nr(&k, main, th);
    assert_eq!(k.sys_pidfd_open(main, n, 0), Err(Errno::EINVAL));
    let (mut k, main) = boot_on((6, 16));
    let (old, new) = (clonekit_flags::PIDFD_SELF_THREAD_GROUP_6_15, clonekit_flags::PIDFD_SELF_THREAD_GROUP);
    assert_eq!(k.sys_pidfd_send_signal(main, old, 0, None, 0), Ok(()));
    assert_eq!(k.sys_pidfd_send_signal(main, new, 0, None, 0), Err(Errno::EBADF));
    let (mut k17, main17) = boot_on((6, 17));
    assert_eq!(k17.sys_pidfd_send_signal(main17, old, 0, None, 0), Err(Errno::EBADF));
    assert_eq!(k17.sys_pidfd_send_signal(main17, new, 0, None, 0), Ok(()));
    let th = clone(&mut k, main, THREAD);
    let n = nr(&k, main, th);
    assert_eq!(k.sys_pidfd_open(main, n, 0), Err(Errno::ENOENT));
}
