//! Port of rust-lang/rust `library/std/src/sys/process/unix/common/tests.rs`
//! (formerly `library/std/src/sys/pal/unix/process/process_common/tests.rs`).
//!
//! Adaptation: upstream drives std's internal `sys::process::Command` (`Stdio::MakePipe`,
//! `cmd.spawn(Stdio::Null, true)` returning the pipes, `pgroup`); the ports below express the
//! same steps with the public API (`Stdio::piped()` for stdin/stdout, `Stdio::null()` for
//! stderr, `CommandExt::process_group`). test_setsid_* (no `setsid` in clonekit's API) and
//! test_program_kind (std-internal `ProgramKind`) are not ported.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::{mem, ptr};

use clonekit::os::unix::process::CommandExt;
use clonekit::process::{Command, Stdio};

crate::cases![
    "unix_common_tests_rs";
    test_process_mask,
    test_process_group_posix_spawn,
    test_process_group_no_posix_spawn,
    unix_exit_statuses,
];

macro_rules! t {
    ($e:expr) => {
        match $e {
            Ok(t) => t,
            Err(e) => panic!("received error for `{}`: {}", stringify!($e), e),
        }
    };
}

fn cvt(t: libc::c_int) -> std::io::Result<libc::c_int> {
    if t == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(t)
    }
}

fn cvt_nz(error: libc::c_int) -> std::io::Result<()> {
    if error == 0 {
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(error))
    }
}

pub fn test_process_mask() {
    // Test to make sure that a signal mask *does* get inherited.
    fn test_inner(mut cmd: Command) {
        unsafe {
            let mut set = mem::MaybeUninit::<libc::sigset_t>::uninit();
            let mut old_set = mem::MaybeUninit::<libc::sigset_t>::uninit();
            t!(cvt(libc::sigemptyset(set.as_mut_ptr())));
            t!(cvt(libc::sigaddset(set.as_mut_ptr(), libc::SIGINT)));
            t!(cvt_nz(libc::pthread_sigmask(libc::SIG_SETMASK, set.as_ptr(), old_set.as_mut_ptr())));

            cmd.stdin(Stdio::piped());
            cmd.stdout(Stdio::piped());
            cmd.stderr(Stdio::null());

            let mut cat = t!(cmd.spawn());
            let mut stdin_write = cat.stdin.take().unwrap();
            let mut stdout_read = cat.stdout.take().unwrap();

            t!(cvt_nz(libc::pthread_sigmask(libc::SIG_SETMASK, old_set.as_ptr(), ptr::null_mut())));

            t!(cvt(libc::kill(cat.id() as libc::pid_t, libc::SIGINT)));
            // We need to wait until SIGINT is definitely delivered. The
            // easiest way is to write something to cat, and try to read it
            // back: if SIGINT is unmasked, it'll get delivered when cat is
            // next scheduled.
            let _ = stdin_write.write(b"Hello");
            drop(stdin_write);

            // Exactly 5 bytes should be read.
            let mut buf = [0; 5];
            let ret = t!(stdout_read.read(&mut buf));
            assert_eq!(ret, 5);
            assert_eq!(&buf, b"Hello");

            t!(cat.wait());
        }
    }

    // A plain `Command::new` uses the posix_spawn path on many platforms.
    let cmd = Command::new(OsStr::new("cat"));
    test_inner(cmd);

    // Specifying `pre_exec` forces the fork/exec path.
    let mut cmd = Command::new(OsStr::new("cat"));
    unsafe { cmd.pre_exec(Box::new(|| Ok(()))) };
    test_inner(cmd);
}

pub fn test_process_group_posix_spawn() {
    unsafe {
        // Spawn a cat subprocess that's just going to hang since there is no I/O.
        let mut cmd = Command::new(OsStr::new("cat"));
        cmd.process_group(0);
        cmd.stdin(Stdio::piped());
        cmd.stdout(Stdio::piped());
        cmd.stderr(Stdio::null());
        let mut cat = t!(cmd.spawn());

        // Check that we can kill its process group, which means there *is* one.
        t!(cvt(libc::kill(-(cat.id() as libc::pid_t), libc::SIGINT)));

        t!(cat.wait());
    }
}

pub fn test_process_group_no_posix_spawn() {
    unsafe {
        // Same as above, create hang-y cat. This time, force using the non-posix_spawnp path.
        let mut cmd = Command::new(OsStr::new("cat"));
        cmd.process_group(0);
        cmd.pre_exec(Box::new(|| Ok(()))); // pre_exec forces fork + exec
        cmd.stdin(Stdio::piped());
        cmd.stdout(Stdio::piped());
        cmd.stderr(Stdio::null());
        let mut cat = t!(cmd.spawn());

        // Check that we can kill its process group, which means there *is* one.
        t!(cvt(libc::kill(-(cat.id() as libc::pid_t), libc::SIGINT)));

        t!(cat.wait());
    }
}

// Test that Rust std handles wait status values (`ExitStatus`) the way that Unix does,
// at least for the values which represent a Unix exit status (`ExitCode`).
pub fn unix_exit_statuses() {
    #[cfg(clonekit_std_stable)]
    crate::skip("ExitStatus::exit_ok is unstable in std");
    #[cfg(not(clonekit_std_stable))]
    {
        use std::num::NonZero;

        use clonekit::os::unix::process::ExitStatusExt;
        use clonekit::process::*;

        for exit_code in 0..=0xff {
            // FIXME impl From<ExitCode> for ExitStatus and then test that here too;
            // the two ExitStatus values should be the same
            let raw_wait_status = exit_code << 8;
            let exit_status = ExitStatus::from_raw(raw_wait_status);

            assert_eq!(exit_status.code(), Some(exit_code));

            if let Ok(nz) = NonZero::try_from(exit_code) {
                assert!(!exit_status.success());
                let es_error = exit_status.exit_ok().unwrap_err();
                assert_eq!(es_error.code().unwrap(), i32::from(nz));
            } else {
                assert!(exit_status.success());
                assert_eq!(exit_status.exit_ok(), Ok(()));
            }
        }
    }
}
