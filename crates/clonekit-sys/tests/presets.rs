//! The presets against the running kernel: fork, spawn (vfork-style + execve) and raw
//! threads.

use clonekit_sys::thread::{spawn_raw, RawThread, PTHREAD_FLAGS};
use clonekit_sys::{fork, pidfd_spawn, spawn, spawnp, CloneFlags, Errno, ExitStatus, Signal, SpawnError};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn fork_issues_glibcs_flags_and_returns_the_status() {
    // SAFETY: the child returns at once.
    let mut child = unsafe { fork(|| 17) }.unwrap();
    let k = child.call().kernel_args();
    assert_eq!(k.flags, CloneFlags::CLONE_CHILD_SETTID | CloneFlags::CLONE_CHILD_CLEARTID);
    assert!(k.exit_signal.is_sigchld());
    assert_eq!(k.stack, 0);
    assert_ne!(k.child_tid, 0);
    assert_eq!(child.wait().unwrap(), ExitStatus::from_code(17));
}

#[test]
fn spawn_true_exits_zero() {
    let mut child = spawn(c"/bin/true", &[c"true"], &[]).unwrap();
    let k = child.call().kernel_args();
    assert!(k.flags.contains(CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK));
    assert!(child.wait().unwrap().success());
}

#[test]
fn spawn_passes_argv_and_envp() {
    let mut child =
        spawn(c"/bin/sh", &[c"sh", c"-c", c"test \"$X\" = yes && exit 7; exit 1"], &[c"X=yes"]).unwrap();
    assert_eq!(child.wait().unwrap(), ExitStatus::from_code(7));
}

#[test]
fn spawn_of_a_missing_program_is_enoent() {
    let err = spawn(c"/nonexistent/clonekit-no-such-program", &[c"x"], &[]).unwrap_err();
    assert_eq!(err.errno(), Errno::ENOENT);
    assert!(
        matches!(&err, SpawnError::Exec { program, .. } if program.ends_with("clonekit-no-such-program"))
    );
    assert!(err.to_string().contains("ENOENT (No such file or directory)"), "{err}");
}

#[test]
fn spawn_of_a_non_executable_is_eacces() {
    let err = spawn(c"/etc/passwd", &[c"passwd"], &[]).unwrap_err();
    if rustix::process::geteuid().is_root() && err.errno() != Errno::EACCES {
        // root may execute files with any x bit; /etc/passwd has none, so EACCES still holds.
        panic!("{err}");
    }
    assert_eq!(err.errno(), Errno::EACCES);
}

#[test]
fn spawnp_searches_path() {
    let mut child = spawnp(c"true", &[c"true"], &[]).unwrap();
    assert!(child.wait().unwrap().success());
    let err = spawnp(c"clonekit-no-such-program", &[c"x"], &[]).unwrap_err();
    // As execvp: ENOENT, unless a PATH directory could not be searched (an ordinary user's
    // PATH may name a directory of root's), which makes it EACCES.
    let unsearchable = std::env::var("PATH").unwrap_or_default().split(':').any(|d| {
        !d.is_empty() && rustix::fs::access(d, rustix::fs::Access::EXEC_OK) == Err(rustix::io::Errno::ACCESS)
    });
    let expected = if unsearchable { Errno::EACCES } else { Errno::ENOENT };
    assert_eq!(err.errno(), expected);
}

#[test]
fn pidfd_spawn_waits_and_kills_through_the_pidfd() {
    let mut child = pidfd_spawn(c"/bin/sleep", &[c"sleep", c"100"], &[]).unwrap();
    if child.pidfd().is_none() {
        println!("skipped pidfd_spawn_waits_and_kills_through_the_pidfd: no pidfd (kernel before 5.2)");
        child.kill(Signal::SIGKILL).unwrap();
        child.wait().unwrap();
        return;
    }
    assert_eq!(child.try_wait().unwrap(), None);
    child.kill(Signal::SIGTERM).unwrap();
    assert_eq!(child.wait().unwrap(), ExitStatus::from_signal(Signal::SIGTERM, false));
}

#[test]
fn thread_spawn_raw_join_returns_the_result() {
    static RAN: AtomicI32 = AtomicI32::new(0);
    // SAFETY: the closure stores to a static atomic and returns.
    let t = unsafe {
        spawn_raw(|| {
            RAN.fetch_add(1, Ordering::SeqCst);
            42
        })
    }
    .unwrap();
    assert!(t.tid() > 0);
    assert_ne!(t.tid(), rustix::thread::gettid().as_raw_nonzero().get());
    assert_eq!(t.join(), 42);
    assert_eq!(RAN.load(Ordering::SeqCst), 1);
}

fn wait_finished(t: &RawThread) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !t.is_finished() {
        assert!(Instant::now() < deadline, "the thread did not exit");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn thread_is_in_our_thread_group_and_its_tid_word_is_cleared() {
    let go = Arc::new(AtomicU32::new(0));
    let go2 = Arc::clone(&go);
    // SAFETY: the closure only waits on a futex and reads an atomic; the Arc is dropped by
    // the joiner, not by the thread.
    let t = unsafe {
        spawn_raw(move || {
            while go2.load(Ordering::Acquire) == 0 {
                let _ = rustix::thread::futex::wait(&go2, rustix::thread::futex::Flags::PRIVATE, 0, None);
            }
            rustix::thread::gettid().as_raw_nonzero().get()
        })
    }
    .unwrap();
    let task = format!("/proc/self/task/{}", t.tid());
    assert!(std::path::Path::new(&task).exists(), "a CLONE_THREAD child is one of our tasks");
    assert!(!t.is_finished());
    go.store(1, Ordering::Release);
    let _ = rustix::thread::futex::wake(&go, rustix::thread::futex::Flags::PRIVATE, 1);
    wait_finished(&t);
    let tid = t.tid();
    assert_eq!(t.join(), tid, "the thread saw its own tid");
    assert_eq!(Arc::strong_count(&go), 1, "the joiner dropped the closure and its Arc");
}

#[test]
fn thread_flags_are_pthread_creates() {
    assert_eq!(
        PTHREAD_FLAGS,
        CloneFlags::CLONE_VM
            | CloneFlags::CLONE_FS
            | CloneFlags::CLONE_FILES
            | CloneFlags::CLONE_SIGHAND
            | CloneFlags::CLONE_THREAD
            | CloneFlags::CLONE_SYSVSEM
            | CloneFlags::CLONE_SETTLS
            | CloneFlags::CLONE_PARENT_SETTID
            | CloneFlags::CLONE_CHILD_CLEARTID
    );
}

#[test]
fn many_raw_threads() {
    static SUM: AtomicI32 = AtomicI32::new(0);
    let threads: Vec<RawThread> = (0..32)
        .map(|i| {
            // SAFETY: atomics only.
            unsafe {
                spawn_raw(move || {
                    SUM.fetch_add(i, Ordering::SeqCst);
                    i
                })
            }
            .unwrap()
        })
        .collect();
    let results: Vec<i32> = threads.into_iter().map(RawThread::join).collect();
    assert_eq!(results, (0..32).collect::<Vec<_>>());
    assert_eq!(SUM.load(Ordering::SeqCst), (0..32).sum::<i32>());
}
