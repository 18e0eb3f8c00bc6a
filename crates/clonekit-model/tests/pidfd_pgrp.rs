//! One test per rule of the pidfd calls, process groups and sessions, and the siginfo a
//! `waitid` fills, named after it (the corpus scenarios 120–138 check them against the
//! kernel).

use clonekit_flags::{
    CLD_EXITED, CLD_KILLED, PIDFD_NONBLOCK, PIDFD_SIGNAL_PROCESS_GROUP, PIDFD_THREAD, POLLHUP, POLLIN,
    SI_QUEUE, SI_USER,
};
mod common;
use clonekit_model::{
    CloneFlags as F, Disposition, Errno, IdType, Syscall, UserSiginfo, WaitStatus, WEXITED, WNOHANG,
};
use common::{boot, clone, nr, THREAD};

#[test]
fn pidfd_open_refuses_unknown_flags_and_pids_below_one() {
    let (mut k, main) = boot();
    let child = clone(&mut k, main, F::empty());
    let n = nr(&k, main, child);
    assert_eq!(k.sys_pidfd_open(main, n, 1), Err(Errno::EINVAL));
    assert_eq!(k.sys_pidfd_open(main, 0, 0), Err(Errno::EINVAL));
    assert_eq!(k.sys_pidfd_open(main, -1, 0), Err(Errno::EINVAL));
    assert_eq!(k.sys_pidfd_open(main, n, PIDFD_NONBLOCK | PIDFD_THREAD), Ok(3));
}

#[test]
fn pidfd_open_of_a_thread_needs_pidfd_thread() {
    let (mut k, main) = boot();
    let th = clone(&mut k, main, THREAD);
    let n = nr(&k, main, th);
    assert_eq!(k.sys_pidfd_open(main, n, 0), Err(Errno::ENOENT));
    assert_eq!(k.sys_pidfd_open(main, n, PIDFD_THREAD), Ok(3));
}

#[test]
fn pidfd_poll_is_readable_for_a_zombie_and_hung_up_once_reaped() {
    let (mut k, main) = boot();
    let child = clone(&mut k, main, F::empty());
    let n = nr(&k, main, child);
    let fd = k.sys_pidfd_open(main, n, 0).unwrap();
    assert_eq!(k.sys_poll(main, fd, POLLIN), Ok(0));
    k.sys_exit(child, 0).unwrap();
    assert_eq!(k.sys_poll(main, fd, POLLIN), Ok(POLLIN));
    k.sys_wait4(main, n, 0).unwrap();
    assert_eq!(k.sys_poll(main, fd, POLLIN), Ok(POLLIN | POLLHUP));
    assert_eq!(k.sys_pidfd_open(main, n, 0), Err(Errno::ESRCH));
}

#[test]
fn waitid_on_a_nonblocking_pidfd_is_eagain_while_the_child_lives() {
    let (mut k, main) = boot();
    let child = clone(&mut k, main, F::empty());
    let fd = k.sys_pidfd_open(main, nr(&k, main, child), PIDFD_NONBLOCK).unwrap();
    assert_eq!(k.sys_waitid(main, IdType::Pidfd(fd), WEXITED), Err(Errno::EAGAIN));
    assert_eq!(k.sys_waitid(main, IdType::Pidfd(fd), WEXITED | WNOHANG), Ok(Syscall::Done(None)));
}

#[test]
fn pidfd_send_signal_lets_only_the_caller_claim_kill_in_its_siginfo() {
    let (mut k, main) = boot();
    let child = clone(&mut k, main, F::empty());
    let fd = k.sys_pidfd_open(main, nr(&k, main, child), 0).unwrap();
    let own = k.sys_pidfd_open(main, nr(&k, main, main), 0).unwrap();
    k.sys_rt_sigaction(main, 10, Some(Disposition::Ignore)).unwrap();
    k.sys_rt_sigaction(child, 10, Some(Disposition::Ignore)).unwrap();
    assert_eq!(
        k.sys_pidfd_send_signal(main, fd, 10, Some(UserSiginfo { signo: 10, code: SI_USER }), 0),
        Err(Errno::EPERM)
    );
    assert_eq!(
        k.sys_pidfd_send_signal(main, fd, 10, Some(UserSiginfo { signo: 10, code: SI_QUEUE }), 0),
        Ok(())
    );
    assert_eq!(
        k.sys_pidfd_send_signal(main, own, 10, Some(UserSiginfo { signo: 10, code: SI_USER }), 0),
        Ok(())
    );
    assert_eq!(
        k.sys_pidfd_send_signal(
            main,
            own,
            10,
            Some(UserSiginfo { signo: 10, code: SI_USER }),
            PIDFD_SIGNAL_PROCESS_GROUP
        ),
        Err(Errno::EPERM)
    );
}

#[test]
fn pidfd_send_signal_to_a_reaped_process_is_esrch() {
    let (mut k, main) = boot();
    let child = clone(&mut k, main, F::empty());
    let n = nr(&k, main, child);
    let fd = k.sys_pidfd_open(main, n, 0).unwrap();
    k.sys_exit(child, 0).unwrap();
    assert_eq!(k.sys_pidfd_send_signal(main, fd, 0, None, 0), Ok(()));
    k.sys_wait4(main, n, 0).unwrap();
    assert_eq!(k.sys_pidfd_send_signal(main, fd, 0, None, 0), Err(Errno::ESRCH));
    assert_eq!(k.sys_pidfd_send_signal(main, fd, 0, None, 3), Err(Errno::EINVAL));
}

#[test]
fn setsid_is_refused_to_a_process_group_leader() {
    let (mut k, main) = boot();
    assert_eq!(k.sys_setsid(main), Err(Errno::EPERM));
    let child = clone(&mut k, main, F::empty());
    let n = nr(&k, child, child);
    assert_eq!(k.sys_setsid(child), Ok(n));
    assert_eq!(k.sys_getsid(child, 0), Ok(n));
    assert_eq!(k.sys_getpgid(child, 0), Ok(n));
    assert_eq!(k.sys_setsid(child), Err(Errno::EPERM));
}

#[test]
fn setpgid_moves_a_child_only_before_it_execs() {
    let (mut k, main) = boot();
    let a = clone(&mut k, main, F::empty());
    let b = clone(&mut k, main, F::empty());
    let (na, nb) = (nr(&k, main, a), nr(&k, main, b));
    assert_eq!(k.sys_setpgid(main, na, 0), Ok(()));
    assert_eq!(k.sys_getpgid(main, na), Ok(na));
    k.sys_execve(b).unwrap();
    assert_eq!(k.sys_setpgid(main, nb, 0), Err(Errno::EACCES));
    assert_eq!(k.sys_setpgid(b, 0, na), Ok(()));
    assert_eq!(k.sys_setpgid(main, nb, -1), Err(Errno::EINVAL));
}

#[test]
fn a_process_group_keeps_its_id_after_its_leader_is_reaped() {
    let (mut k, main) = boot();
    let lead = clone(&mut k, main, F::empty());
    let member = clone(&mut k, main, F::empty());
    let n = nr(&k, main, lead);
    k.sys_setpgid(main, n, 0).unwrap();
    k.sys_setpgid(main, nr(&k, main, member), n).unwrap();
    k.sys_exit(lead, 0).unwrap();
    k.sys_wait4(main, n, 0).unwrap();
    assert_eq!(k.sys_getpgid(member, 0), Ok(n));
    assert_eq!(k.sys_kill(main, -n, 0), Ok(()));
}

#[test]
fn waitid_reports_how_the_child_ended_in_its_siginfo() {
    let (mut k, main) = boot();
    let a = clone(&mut k, main, F::empty());
    k.sys_exit_group(a, 3).unwrap();
    let w = k.sys_waitid(main, IdType::All, WEXITED).unwrap().done().flatten().unwrap();
    assert_eq!((w.status.si_code(), w.status.si_status(), w.uid), (CLD_EXITED, 3, 0));
    let b = clone(&mut k, main, F::empty());
    k.sys_kill(main, nr(&k, main, b), 15).unwrap();
    let w = k.sys_waitid(main, IdType::All, WEXITED).unwrap().done().flatten().unwrap();
    assert_eq!(w.status, WaitStatus::Killed(15));
    assert_eq!((w.status.si_code(), w.status.si_status()), (CLD_KILLED, 15));
}

#[test]
fn wait4_refuses_unknown_option_bits_and_int_min() {
    let (mut k, main) = boot();
    assert_eq!(k.sys_wait4(main, -1, WEXITED), Err(Errno::EINVAL));
    assert_eq!(k.sys_wait4(main, -1, 0x10), Err(Errno::EINVAL));
    assert_eq!(k.sys_wait4(main, i32::MIN, 0), Err(Errno::ESRCH));
}
