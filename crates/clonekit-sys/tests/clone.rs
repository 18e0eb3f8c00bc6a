//! The `Clone` builder against the running kernel: what is shared, what is copied, which
//! system call is issued, and how refusals come back.
//!
//! `cargo test` runs these in parallel threads of one process, so every child here is the
//! child of a multithreaded process: children only store to atomics and make raw syscalls.

use clonekit_sys::{
    clone3_supported, fork, Clone, CloneError, CloneFlags, Errno, ExitSignal, ExitStatus, Signal, Syscall,
};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

#[test]
fn fork_child_writes_are_private() {
    static WORD: AtomicI32 = AtomicI32::new(0);
    // SAFETY: the child stores to an atomic and returns.
    let mut child = unsafe {
        fork(|| {
            WORD.store(1, Ordering::SeqCst);
            5
        })
    }
    .unwrap();
    assert_eq!(child.wait().unwrap(), ExitStatus::from_code(5));
    assert_eq!(WORD.load(Ordering::SeqCst), 0, "without CLONE_VM the child wrote its own copy");
    assert_eq!(child.call().syscall_name(), "clone");
}

#[test]
fn clone_vm_child_writes_are_shared() {
    static WORD: AtomicI32 = AtomicI32::new(0);
    // SAFETY: 'static atomic only; waited for before the check.
    let mut child = unsafe {
        Clone::new().flags(CloneFlags::CLONE_VM).spawn(|| {
            WORD.store(42, Ordering::SeqCst);
            3
        })
    }
    .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(3));
    assert_eq!(WORD.load(Ordering::SeqCst), 42);
}

#[test]
fn clone_vm_vfork_may_borrow_and_run_stackless() {
    let local = AtomicI32::new(0);
    let r = &local;
    // SAFETY: CLONE_VFORK: this thread sleeps until the child exits, so the borrow holds.
    let mut child = unsafe {
        Clone::new().flags(CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK).no_stack().spawn(move || {
            r.store(7, Ordering::SeqCst);
            0
        })
    }
    .unwrap();
    assert_eq!(local.load(Ordering::SeqCst), 7, "the parent resumes only after the child exited");
    assert!(child.wait().unwrap().success());
}

#[test]
fn clone_vm_without_vfork_needs_a_stack() {
    // SAFETY: no child is created.
    let err = unsafe { Clone::new().flags(CloneFlags::CLONE_VM).no_stack().spawn(|| 0) }.unwrap_err();
    assert!(matches!(err, CloneError::Invalid(_)), "{err}");
    assert_eq!(err.errno(), Errno::EINVAL);
}

#[test]
fn explicit_stack_size_for_a_non_vm_child() {
    // SAFETY: returns at once.
    let mut child = unsafe { Clone::new().stack_size(16 * 1024).spawn(|| 9) }.unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(9));
}

#[test]
fn forced_legacy_clone_is_issued() {
    // SAFETY: returns at once.
    let mut child = unsafe { Clone::new().syscall(Syscall::Clone).spawn(|| 0) }.unwrap();
    assert_eq!(child.call().syscall_name(), "clone");
    assert!(child.wait().unwrap().success());
}

#[test]
fn forced_clone3_is_issued() {
    if !clone3_supported() {
        println!("skipped forced_clone3_is_issued: clone3 is unavailable here");
        return;
    }
    // SAFETY: returns at once.
    let mut child = unsafe { Clone::new().syscall(Syscall::Clone3).spawn(|| 0) }.unwrap();
    assert_eq!(child.call().syscall_name(), "clone3");
    assert!(child.wait().unwrap().success());
}

#[test]
fn exit_signal_255_needs_legacy_clone_and_wall() {
    // Legacy clone stores any low byte; the child is then a "clone child".
    // SAFETY: returns at once.
    let mut child =
        unsafe { Clone::new().exit_signal(ExitSignal(255)).syscall(Syscall::Clone).spawn(|| 4) }.unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(4));
    // clone3 validates it (rule C7).
    if clone3_supported() {
        // SAFETY: refused, no child.
        let err = unsafe { Clone::new().exit_signal(ExitSignal(255)).syscall(Syscall::Clone3).spawn(|| 0) }
            .unwrap_err();
        assert_eq!(err.errno(), Errno::EINVAL);
        assert_eq!(err.rule().map(|r| r.id), Some("C7"), "{err}");
    }
}

#[test]
fn exit_signal_zero_child_is_reaped_with_wall() {
    // SAFETY: returns at once.
    let mut child = unsafe { Clone::new().exit_signal(ExitSignal::NONE).spawn(|| 6) }.unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(6));
}

#[test]
fn clone_detached_is_ignored_by_clone_and_rejected_by_clone3() {
    // SAFETY: returns at once.
    let mut child =
        unsafe { Clone::new().flags(CloneFlags::CLONE_DETACHED).syscall(Syscall::Clone).spawn(|| 0) }
            .unwrap();
    assert!(child.wait().unwrap().success());
    if clone3_supported() {
        // SAFETY: refused, no child.
        let err = unsafe { Clone::new().flags(CloneFlags::CLONE_DETACHED).spawn(|| 0) }.unwrap_err();
        assert_eq!(err.errno(), Errno::EINVAL);
        assert_eq!(err.rule().map(|r| r.id), Some("C11"), "{err}");
    }
}

#[test]
fn clone_thread_requires_sighand() {
    for syscall in [Syscall::Auto, Syscall::Clone] {
        // SAFETY: refused by the kernel, no child.
        let err = unsafe {
            Clone::new()
                .flags(CloneFlags::CLONE_THREAD | CloneFlags::CLONE_VM)
                .exit_signal(ExitSignal::NONE)
                .syscall(syscall)
                .spawn(|| 0)
        }
        .unwrap_err();
        assert_eq!(err.errno(), Errno::EINVAL, "{err}");
        let rule = err.rule().expect("the rules predict P3");
        assert_eq!(rule.id, "P3");
        let line = err.to_string();
        let name = err.call().unwrap().syscall_name();
        assert!(line.starts_with(&format!("{name}: EINVAL (Invalid argument): rule P3 ")), "{line}");
        assert!(line.contains("(copy_process, kernel/fork.c)"), "{line}");
    }
}

#[test]
fn clone_sighand_requires_vm() {
    // SAFETY: refused by the kernel, no child.
    let err = unsafe { Clone::new().flags(CloneFlags::CLONE_SIGHAND).spawn(|| 0) }.unwrap_err();
    assert_eq!(err.errno(), Errno::EINVAL);
    assert_eq!(err.rule().map(|r| r.id), Some("P4"), "{err}");
}

#[test]
fn clone3_only_requests_are_refused_by_legacy_clone_not_dropped() {
    // SAFETY: refused before any syscall.
    let err = unsafe { Clone::new().set_tid(&[12345]).syscall(Syscall::Clone).spawn(|| 0) }.unwrap_err();
    assert!(matches!(err, CloneError::Clone3Only(c) if c.feature == "set_tid"), "{err}");
    assert_eq!(err.errno(), Errno::EOPNOTSUPP);
    // SAFETY: refused before any syscall.
    let err = unsafe {
        Clone::new()
            .flags(CloneFlags::CLONE_VM | CloneFlags::CLONE_CLEAR_SIGHAND)
            .syscall(Syscall::Clone)
            .spawn(|| 0)
    }
    .unwrap_err();
    assert!(matches!(err, CloneError::Clone3Only(c) if c.feature == "CLONE_CLEAR_SIGHAND"), "{err}");
    assert!(err.to_string().contains("needs clone3"), "{err}");
}

#[test]
fn pidfd_wait_and_kill() {
    // SAFETY: the child only sleeps through raw syscalls.
    let mut child = unsafe {
        Clone::new().pidfd(true).spawn(|| loop {
            let _ = rustix::thread::nanosleep(&rustix::time::Timespec { tv_sec: 10, tv_nsec: 0 });
        })
    }
    .unwrap();
    if child.pidfd().is_none() {
        println!("skipped pidfd_wait_and_kill: the kernel returned no pidfd (before 5.2)");
        child.kill(Signal::SIGKILL).unwrap();
        child.wait().unwrap();
        return;
    }
    assert!(child.flags().contains(CloneFlags::CLONE_PIDFD));
    assert_eq!(child.try_wait().unwrap(), None);
    child.kill(Signal::SIGTERM).unwrap();
    assert_eq!(child.wait().unwrap(), ExitStatus::from_signal(Signal::SIGTERM, false));
    // Reaped: no signal may go to a possibly reused pid.
    assert!(child.kill(Signal::SIGKILL).is_err());
    assert_eq!(child.wait().unwrap(), ExitStatus::from_signal(Signal::SIGTERM, false));
}

#[test]
fn kill_without_pidfd_uses_the_pid() {
    // SAFETY: the child only sleeps through raw syscalls.
    let mut child = unsafe {
        Clone::new().spawn(|| loop {
            let _ = rustix::thread::nanosleep(&rustix::time::Timespec { tv_sec: 10, tv_nsec: 0 });
        })
    }
    .unwrap();
    assert!(child.pidfd().is_none());
    child.kill(Signal::new(40).unwrap()).unwrap(); // a real-time signal, default action: terminate
    assert_eq!(child.wait().unwrap(), ExitStatus::from_signal(Signal::new(40).unwrap(), false));
}

#[test]
fn dropping_a_running_clone_vm_child_kills_and_reaps_it() {
    static STARTED: AtomicI32 = AtomicI32::new(0);
    // SAFETY: 'static atomic and raw syscalls only.
    let child = unsafe {
        Clone::new().flags(CloneFlags::CLONE_VM).pidfd(true).spawn(|| {
            STARTED.store(1, Ordering::SeqCst);
            loop {
                let _ = rustix::thread::nanosleep(&rustix::time::Timespec { tv_sec: 10, tv_nsec: 0 });
            }
        })
    }
    .unwrap();
    let pid = child.pid();
    while STARTED.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    drop(child);
    // Reaped: the pid is no longer our child.
    let r = rustix::process::waitid(
        rustix::process::WaitId::Pid(rustix::process::Pid::from_raw(pid).unwrap()),
        rustix::process::WaitIdOptions::EXITED | rustix::process::WaitIdOptions::NOHANG,
    );
    assert_eq!(r.unwrap_err(), rustix::io::Errno::CHILD);
}

#[test]
fn signal_mask_is_restored_in_the_parent() {
    let before = current_mask();
    // SAFETY: returns at once.
    let mut child = unsafe { Clone::new().flags(CloneFlags::CLONE_VM).spawn(|| 0) }.unwrap();
    assert_eq!(current_mask(), before);
    child.wait().unwrap();
}

fn current_mask() -> Vec<i32> {
    // SAFETY: reading the calling thread's mask into a zeroed sigset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut set);
        (1..=64).filter(|&s| libc::sigismember(&set, s) == 1).collect()
    }
}

static USR2_HANDLED: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_usr2(_: libc::c_int) {
    USR2_HANDLED.fetch_add(1, Ordering::SeqCst);
}

fn install_usr2_handler() {
    // SAFETY: installs an async-signal-safe handler (one atomic add).
    unsafe {
        let mut act: libc::sigaction = std::mem::zeroed();
        act.sa_sigaction = on_usr2 as *const () as usize;
        libc::sigemptyset(&mut act.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR2, &act, std::ptr::null_mut()), 0);
    }
}

fn raise_usr2_in_child() -> i32 {
    let me = rustix::process::getpid();
    let _ = rustix::process::kill_process(me, rustix::process::Signal::USR2);
    0
}

#[test]
fn clone_vm_child_without_sighand_resets_handlers_before_unblocking() {
    install_usr2_handler();
    let before = USR2_HANDLED.load(Ordering::SeqCst);
    // SAFETY: raw syscalls only.
    let mut child = unsafe { Clone::new().flags(CloneFlags::CLONE_VM).spawn(raise_usr2_in_child) }.unwrap();
    // SIG_DFL for SIGUSR2 terminates: the parent's handler never ran on the child's stack.
    assert_eq!(child.wait().unwrap(), ExitStatus::from_signal(Signal::SIGUSR2, false));
    assert_eq!(USR2_HANDLED.load(Ordering::SeqCst), before);

    if clone3_supported() {
        // The same with CLONE_CLEAR_SIGHAND done by the kernel.
        // SAFETY: raw syscalls only.
        let mut child = unsafe {
            Clone::new()
                .flags(CloneFlags::CLONE_VM | CloneFlags::CLONE_CLEAR_SIGHAND)
                .spawn(raise_usr2_in_child)
        }
        .unwrap();
        assert_eq!(child.wait().unwrap(), ExitStatus::from_signal(Signal::SIGUSR2, false));
    }

    // With CLONE_SIGHAND the table is shared: the handler runs in the child.
    // SAFETY: the handler is one atomic add, safe on the child's stack.
    let mut child = unsafe {
        Clone::new().flags(CloneFlags::CLONE_VM | CloneFlags::CLONE_SIGHAND).spawn(raise_usr2_in_child)
    }
    .unwrap();
    assert_eq!(child.wait().unwrap(), ExitStatus::from_code(0));
    assert_eq!(USR2_HANDLED.load(Ordering::SeqCst), before + 1);
}

#[test]
fn set_tid_picks_the_pid() {
    if !clone3_supported() {
        println!("skipped set_tid_picks_the_pid: clone3 is unavailable here");
        return;
    }
    let pid_max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768);
    for want in (pid_max - 200..pid_max - 1).rev() {
        // SAFETY: returns at once.
        match unsafe { Clone::new().set_tid(&[want]).spawn(|| 0) } {
            Ok(mut child) => {
                assert_eq!(child.pid(), want);
                assert_eq!(child.call().syscall_name(), "clone3");
                child.wait().unwrap();
                return;
            }
            Err(e) if e.errno() == Errno::EEXIST => continue,
            Err(e) if e.errno() == Errno::EPERM => {
                println!("skipped set_tid_picks_the_pid: needs CAP_CHECKPOINT_RESTORE ({e})");
                return;
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("no free pid near pid_max");
}

#[test]
fn closure_is_dropped_once_per_address_space() {
    static DROPS: AtomicUsize = AtomicUsize::new(0);
    struct CountDrop;
    impl Drop for CountDrop {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
        }
    }
    // Without CLONE_VM: the child drops its copy, the parent its own.
    let token = CountDrop;
    // SAFETY: the child only drops a value whose Drop is one atomic add.
    let mut child = unsafe {
        Clone::new().spawn(move || {
            let _t = &token;
            0
        })
    }
    .unwrap();
    child.wait().unwrap();
    assert_eq!(DROPS.load(Ordering::SeqCst), 1, "the parent dropped its copy exactly once");
    // With CLONE_VM: only the child drops it, in our memory.
    let token = CountDrop;
    // SAFETY: as above.
    let mut child = unsafe {
        Clone::new().flags(CloneFlags::CLONE_VM).spawn(move || {
            let _t = &token;
            0
        })
    }
    .unwrap();
    child.wait().unwrap();
    assert_eq!(DROPS.load(Ordering::SeqCst), 2, "the CLONE_VM child dropped it, the parent did not");
    // A failed creation gives the closure back to the parent, which drops it.
    let token = CountDrop;
    // SAFETY: refused, no child.
    let err = unsafe {
        Clone::new().flags(CloneFlags::CLONE_SIGHAND).spawn(move || {
            let _t = &token;
            0
        })
    };
    assert!(err.is_err());
    assert_eq!(DROPS.load(Ordering::SeqCst), 3);
}

#[test]
fn error_line_names_syscall_errno_and_rule() {
    // SAFETY: refused by the kernel, no child.
    let err = unsafe {
        Clone::new()
            .flags(CloneFlags::CLONE_THREAD | CloneFlags::CLONE_VM)
            .exit_signal(ExitSignal::NONE)
            .syscall(Syscall::Clone)
            .spawn(|| 0)
    }
    .unwrap_err();
    println!("{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "clone: EINVAL (Invalid argument): rule P3 {} (copy_process, kernel/fork.c)",
            err.rule().unwrap().reason
        )
    );
    let io: std::io::Error = err.into();
    assert_eq!(io.raw_os_error(), None);
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
}
