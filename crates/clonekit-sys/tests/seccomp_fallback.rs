//! Under a seccomp filter that refuses `clone3`, as container runtimes' profiles do (`ENOSYS`,
//! or `EPERM` in older Docker profiles, which glibc takes as fatal), `Command` falls back to
//! legacy `clone` and behaves the same: statuses, pidfds, pipes, errors, hooks, fd mappings.
//!
//! The filter (`clonekit_probe::seccomp`, the one the `refuse-clone3` tool and CI use) is
//! installed in a throw-away process (this binary run again), never in the test process: a
//! filter cannot be removed, and the fallback is cached for the whole process.

use clonekit_sys::os::linux::process::{ChildExt, CommandExt as _};
use clonekit_sys::os::unix::process::CommandExt;
use clonekit_sys::process::{Command, Stdio};
use std::io::Write;
use std::os::fd::AsRawFd;

const CHILD_ENV: &str = "CLONEKIT_SECCOMP_CHILD";
const SYS_CLONE3: i64 = 435;

/// The checks, run under the filter. Panics on a difference.
fn checks(errno: i32) {
    // SAFETY: a clone3 with a NULL argument: only the filter's answer is wanted.
    let raw = unsafe { libc::syscall(SYS_CLONE3, 0usize, 64usize) };
    assert_eq!(
        (raw, std::io::Error::last_os_error().raw_os_error()),
        (-1, Some(errno)),
        "the filter is in place"
    );

    let st = Command::new("/bin/sh").args(["-c", "exit 3"]).status().unwrap();
    assert_eq!(st.code(), Some(3));
    assert!(!clonekit_sys::clone3_supported(), "the fallback is cached");

    let mut child = Command::new("/bin/sh").args(["-c", "exit 4"]).create_pidfd(true).spawn().unwrap();
    assert!(child.pidfd().is_ok(), "CLONE_PIDFD through legacy clone");
    assert_eq!(child.handle().call().syscall_name(), "clone");
    assert_eq!(child.wait().unwrap().code(), Some(4));

    let out = Command::new("/bin/echo").arg("hi").stdout(Stdio::piped()).output().unwrap();
    assert_eq!(out.stdout, b"hi\n");

    let e = Command::new("/nonexistent/clonekit").spawn().map(drop).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));

    let mut cmd = Command::new("/bin/true");
    // SAFETY: the hook returns an errno and does nothing else.
    unsafe { cmd.pre_exec(|| Err(std::io::Error::from_raw_os_error(libc::EXDEV))) };
    assert_eq!(cmd.status().unwrap_err().raw_os_error(), Some(libc::EXDEV));

    let (r, mut w) = std::io::pipe().unwrap();
    w.write_all(b"mapped").unwrap();
    drop(w);
    let n = r.as_raw_fd() + 10;
    let out = Command::new("/bin/cat").arg(format!("/dev/fd/{n}")).fd(n, r).output().unwrap();
    assert_eq!(out.stdout, b"mapped");
}

fn main() {
    if let Some(errno) = std::env::var(CHILD_ENV).ok().and_then(|v| v.parse::<i32>().ok()) {
        if let Err(e) = clonekit_probe::seccomp::refuse_clone3(rustix::io::Errno::from_raw_os_error(errno)) {
            println!("skip: cannot install a seccomp filter: {e}");
            std::process::exit(77);
        }
        checks(errno);
        std::process::exit(0);
    }
    let me = std::env::current_exe().expect("this test binary");
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, errno) in
        [("clone3_refused_with_enosys", libc::ENOSYS), ("clone3_refused_with_eperm", libc::EPERM)]
    {
        let out =
            std::process::Command::new(&me).env(CHILD_ENV, errno.to_string()).output().expect("run self");
        match out.status.code() {
            Some(0) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Some(77) => {
                println!("test {name} ... skipped ({})", String::from_utf8_lossy(&out.stdout).trim());
                skipped += 1;
            }
            _ => {
                println!(
                    "test {name} ... FAILED ({}):\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
