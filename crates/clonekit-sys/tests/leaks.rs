//! Many spawns leave no zombie and no file descriptor behind. One test in its own binary, so
//! that no other test's children are around when the process is inspected.

use clonekit_sys::{pidfd_spawn, spawn, Errno};
use rustix::process::{WaitId, WaitIdOptions};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Children of every thread of this process, living or zombie.
fn children() -> Vec<String> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path().join("children");
        if let Ok(s) = std::fs::read_to_string(path) {
            out.extend(s.split_whitespace().map(str::to_owned));
        }
    }
    out
}

#[test]
fn a_thousand_spawns_leave_no_zombie_and_no_fd() {
    let fds = open_fds();
    for i in 0..1000 {
        let mut child = if i % 2 == 0 {
            spawn(c"/bin/true", &[c"true"], &[]).unwrap()
        } else {
            pidfd_spawn(c"/bin/true", &[c"true"], &[]).unwrap()
        };
        assert!(child.wait().unwrap().success());
    }
    for _ in 0..100 {
        let err = spawn(c"/nonexistent/clonekit", &[c"x"], &[]).unwrap_err();
        assert_eq!(err.errno(), Errno::ENOENT);
    }
    assert_eq!(open_fds(), fds, "no pidfd or stack leaked");
    assert_eq!(children(), Vec::<String>::new(), "every waited or failed spawn was reaped");
    let any = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::from_bits_retain(0x4000_0000);
    assert_eq!(rustix::process::waitid(WaitId::All, any).unwrap_err(), rustix::io::Errno::CHILD);

    // Handles dropped unwaited are reaped if the child has exited, and detached otherwise
    // (documented on `Child`): a detached child is a zombie of ours until reaped here.
    for _ in 0..10 {
        drop(spawn(c"/bin/true", &[c"true"], &[]).unwrap());
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !children().is_empty() && std::time::Instant::now() < deadline {
        let _ = rustix::process::waitid(WaitId::All, WaitIdOptions::EXITED | WaitIdOptions::NOHANG);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(children(), Vec::<String>::new());
    assert_eq!(open_fds(), fds);
}
