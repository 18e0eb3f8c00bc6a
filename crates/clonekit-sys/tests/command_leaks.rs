//! 1,000 `Command` spawns over every path (vfork, user-namespace handshake, fork-style, std's
//! forked `pre_exec` hook, panicking hooks, fd mappings, pidfds, failures in the child and in
//! the parent) leave no zombie and no fd behind, and the parent intact. One test in
//! its own binary, so that no other test's children or fds are around.

use clonekit_sys::os::linux::process::{ChildExt, CommandExt as _};
use clonekit_sys::os::unix::process::{CommandExt, ExitStatusExt};
use clonekit_sys::process::{Command, IdMap, Stdio, Step};
use clonekit_sys::CloneFlags;

fn open_fds() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn children() -> Vec<String> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        if let Ok(s) = std::fs::read_to_string(task.unwrap().path().join("children")) {
            out.extend(s.split_whitespace().map(str::to_owned));
        }
    }
    out
}

#[test]
fn a_thousand_command_spawns_leave_no_zombie_and_no_fd() {
    // Warm the stack pool and the clone3 probe, then count.
    assert!(Command::new("/bin/true").status().unwrap().success());
    let fds = open_fds();
    let mut true_cmd = Command::new("/bin/true");
    let mut piped = Command::new("/bin/echo");
    piped.arg("x").stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut userns = Command::new("/bin/true");
    userns.map_root_user();
    let mut fork_style = Command::new("/bin/true");
    fork_style.clone_flags(CloneFlags::empty());
    let mut bad_exec = Command::new("/nonexistent/clonekit");
    let mut bad_cwd = Command::new("/bin/true");
    bad_cwd.current_dir("/nonexistent");
    let mut bad_map = Command::new("/bin/true");
    bad_map.namespaces(CloneFlags::CLONE_NEWUSER).uid_map(&[IdMap::new(0, 0, 1), IdMap::new(0, 1, 1)]);
    let mut hooked = Command::new("/bin/true");
    // SAFETY: the hook returns.
    unsafe { hooked.pre_exec(|| Ok(())) };
    let mut panicking = Command::new("/bin/true");
    panicking.stderr(Stdio::null());
    // SAFETY: the hook panics, which std's contract allows: the forked child aborts.
    unsafe { panicking.pre_exec(|| panic!("in the hook")) };
    let mut failing_hook = Command::new("/bin/true");
    // SAFETY: the hook returns an errno.
    unsafe { failing_hook.pre_exec_vfork(|| Err(std::io::Error::from_raw_os_error(libc::EPERM))) };
    for i in 0..1000 {
        match i % 15 {
            10 => assert!(hooked.status().unwrap().success()),
            11 => assert_eq!(panicking.status().unwrap().signal(), Some(libc::SIGABRT)),
            12 => assert_eq!(failing_hook.status().unwrap_err().raw_os_error(), Some(libc::EPERM)),
            13 => {
                let (r, w) = std::io::pipe().unwrap();
                let mut c = Command::new("/bin/true");
                c.fd(9, r).fd(10, w);
                assert!(c.status().unwrap().success());
            }
            14 => {
                let child = Command::new("/bin/true").create_pidfd(true).spawn().unwrap();
                let pidfd = child.into_pidfd().unwrap();
                assert!(pidfd.wait().unwrap().success());
            }
            _ => {}
        }
        match i % 10 {
            0..=3 => assert!(true_cmd.status().unwrap().success()),
            4 | 5 => assert_eq!(piped.output().unwrap().stdout, b"x\n"),
            6 => assert!(userns.status().unwrap().success()),
            7 => assert!(fork_style.status().unwrap().success()),
            8 => {
                let e = if i % 20 == 8 { bad_exec.status() } else { bad_cwd.status() };
                assert!(e.is_err());
            }
            _ => {
                let e = bad_map.spawn_explained().map(drop).unwrap_err();
                assert_eq!(e.step(), Step::WriteUidMap);
            }
        }
    }
    assert_eq!(open_fds(), fds, "no pidfd, pipe, /dev/null or cgroup fd leaked");
    assert_eq!(children(), Vec::<String>::new(), "every waited or failed spawn was reaped");
    // The parent is intact: its own panics are still caught as usual.
    assert!(std::panic::catch_unwind(|| panic!("in the parent")).is_err());
}
