//! Port of rust-lang/rust `library/std/src/sys/process/unix/pidfd/tests.rs`
//! (formerly `library/std/src/sys/pal/unix/linux/pidfd/tests.rs`).
//!
//! Adaptations, each marked at its place: `assert_matches!` (unstable) is written as
//! `assert!(matches!(..))`; std's internal `cvt` is spelled out; the internal
//! `pidfd.as_inner().pid()` is replaced by the kernel's public view of the same fact, the
//! `Pid:` line of `/proc/self/fdinfo/<pidfd>`; `probe_pidfd_support` calls `pidfd_open` on
//! the current process directly (as the older upstream version did). When pidfds are not
//! supported at all, upstream's test_pidfd returns early: here it reports itself skipped.

crate::cases!["pidfd"; test_command_pidfd, test_pidfd];

#[cfg(not(clonekit_std_stable))]
mod imp {
    use std::os::fd::{AsRawFd, RawFd};

    use clonekit::os::linux::process::{ChildExt, CommandExt as _};
    use clonekit::os::unix::process::{CommandExt as _, ExitStatusExt};
    use clonekit::process::Command;

    fn cvt(t: libc::c_int) -> std::io::Result<libc::c_int> {
        if t == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(t)
        }
    }

    /// The pid a pidfd refers to, from `/proc/self/fdinfo` (stands in for std's internal
    /// `PidFd::pid`, which uses the PIDFD_GET_INFO ioctl or this same file).
    fn pidfd_pid(fd: RawFd) -> std::io::Result<u32> {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))?;
        info.lines()
            .find_map(|l| l.strip_prefix("Pid:"))
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|&p| p > 0)
            .map(|p| p as u32)
            .ok_or_else(|| std::io::Error::from_raw_os_error(libc::EINVAL))
    }

    pub fn test_command_pidfd() {
        let pidfd_open_available = probe_pidfd_support();

        // always exercise creation attempts
        let mut child = Command::new("false").create_pidfd(true).spawn().unwrap();

        // but only check if we know that the kernel supports pidfds.
        // We don't assert the precise value, since the standard library
        // might have opened other file descriptors before our code runs.
        if pidfd_open_available {
            assert!(child.pidfd().is_ok());
        }
        if let Ok(pidfd) = child.pidfd() {
            let flags = cvt(unsafe { libc::fcntl(pidfd.as_raw_fd(), libc::F_GETFD) }).unwrap();
            assert!(flags & libc::FD_CLOEXEC != 0);
        }
        assert!(child.id() > 0 && child.id() < -1i32 as u32);
        let status = child.wait().expect("error waiting on pidfd");
        assert_eq!(status.code(), Some(1));

        let mut child = Command::new("sleep").arg("1000").create_pidfd(true).spawn().unwrap();
        // adapted: assert_matches!(child.try_wait(), Ok(None));
        assert!(matches!(child.try_wait(), Ok(None)));
        child.kill().expect("failed to kill child");
        let status = child.wait().expect("error waiting on pidfd");
        assert_eq!(status.signal(), Some(libc::SIGKILL));

        let _ = Command::new("echo")
            .create_pidfd(false)
            .spawn()
            .unwrap()
            .pidfd()
            .expect_err("pidfd should not have been created when create_pid(false) is set");

        let _ =
            Command::new("echo").spawn().unwrap().pidfd().expect_err("pidfd should not have been created");

        // exercise the fork/exec path since the earlier attempts may have used pidfd_spawnp()
        let mut cmd = Command::new("false");
        let mut child = unsafe { cmd.pre_exec(|| Ok(())) }.create_pidfd(true).spawn().unwrap();

        let id = child.id();

        assert!(id > 0 && id < -1i32 as u32, "spawning with pidfd still returns a sane pid");

        if pidfd_open_available {
            assert!(child.pidfd().is_ok())
        }

        if let Ok(pidfd) = child.pidfd() {
            // adapted: upstream reads the pid through `pidfd.as_inner().pid()`.
            match pidfd_pid(pidfd.as_raw_fd()) {
                Ok(pid) => assert_eq!(pid, id),
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOTTY)) => {
                    /* older kernel */
                }
                Err(e) => panic!("unexpected error getting pid from pidfd: {}", e),
            }
        }

        child.wait().expect("error waiting on child");
    }

    pub fn test_pidfd() {
        if !probe_pidfd_support() {
            crate::skip("kernel without pidfd support"); // upstream: return
        }

        let child =
            Command::new("sleep").arg("1000").create_pidfd(true).spawn().expect("executing 'sleep' failed");

        let fd = child.into_pidfd().unwrap();

        // adapted: assert_matches!(fd.try_wait(), Ok(None));
        assert!(matches!(fd.try_wait(), Ok(None)));
        fd.kill().expect("kill failed");
        fd.kill().expect("sending kill twice failed");
        let status = fd.wait().expect("1st wait failed");
        assert_eq!(status.signal(), Some(libc::SIGKILL));

        // Trying to wait again for a reaped child is safe since there's no pid-recycling race.
        // But doing so may return an error.
        let res = fd.wait();
        match res {
            // older kernels
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => {}
            // 6.15+
            Ok(exit) if exit.signal() == Some(libc::SIGKILL) => {}
            other => panic!("expected ECHILD error, got {:?}", other),
        }

        // Ditto for additional attempts to kill an already-dead child.
        let res = fd.kill();
        // adapted: assert_matches!(res, Err(e) if e.raw_os_error() == Some(libc::ESRCH));
        assert!(matches!(res, Err(e) if e.raw_os_error() == Some(libc::ESRCH)));
    }

    pub fn probe_pidfd_support() -> bool {
        // pidfds require the pidfd_open syscall
        let our_pid = clonekit::process::id();
        let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, our_pid, 0) };
        if pidfd >= 0 {
            unsafe { libc::close(pidfd as RawFd) };
            true
        } else {
            false
        }
    }
}

pub fn test_command_pidfd() {
    #[cfg(clonekit_std_stable)]
    crate::skip("std::os::linux::process is unstable in std");
    #[cfg(not(clonekit_std_stable))]
    imp::test_command_pidfd();
}

pub fn test_pidfd() {
    #[cfg(clonekit_std_stable)]
    crate::skip("std::os::linux::process is unstable in std");
    #[cfg(not(clonekit_std_stable))]
    imp::test_pidfd();
}
