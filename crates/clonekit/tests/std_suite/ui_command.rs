//! Ports of rust-lang/rust `tests/ui/command/*.rs` (run-pass programs about Command on
//! Linux). As in ui_process.rs, each upstream `main` is one case and its child halves run
//! when the case re-executes this binary. Not ported (see README.md):
//! command-dup2-file-action.rs (`CommandExt::dup2_file_action` is not in clonekit's API) and
//! need-crate-arg-ignore-tidy$x.rs (a compiler test).
//!
//! command-setgroups.rs and command-uid-gid.rs need no privileges: upstream checks that
//! spawning fails / succeeds the same way for root and non-root (the one root-dependent
//! step of command-uid-gid is already guarded by upstream's own `getuid() != 0` test).

use std::env;

use clonekit::os::unix::process::CommandExt;
use clonekit::process::{Command, Stdio};

crate::cases![
    "ui_command";
    command_argv0,
    command_create_pidfd,
    command_current_dir,
    command_exec,
    command_pre_exec,
    command_setgroups,
    command_uid_gid,
    issue_10626,
];

// ---------------------------------------------------------------------------------------
// tests/ui/command/command-argv0.rs
// ---------------------------------------------------------------------------------------

pub fn command_argv0() {
    let args: Vec<_> = env::args().collect();

    if args.len() > 1 {
        assert_eq!(args[1], "doing-test");
        assert_eq!(args[0], "i have a silly name");

        println!("passed");
        return;
    }

    let output = Command::new(&args[0]).arg("doing-test").arg0("i have a silly name").output().unwrap();
    assert!(output.stderr.is_empty(), "Non-empty stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success());
    assert_eq!(output.stdout, b"passed\n");
}

// ---------------------------------------------------------------------------------------
// tests/ui/command/command-create-pidfd.rs
// ---------------------------------------------------------------------------------------

pub fn command_create_pidfd() {
    #[cfg(clonekit_std_stable)]
    crate::skip("std::os::linux::process is unstable in std");
    #[cfg(not(clonekit_std_stable))]
    {
        use clonekit::os::linux::process::{ChildExt, CommandExt};
        use std::io::Error;

        fn has_clone3() -> bool {
            let res = unsafe { libc::syscall(libc::SYS_clone3, 0, 0) };
            let err = (res == -1).then(|| Error::last_os_error()).expect("probe syscall should not succeed");

            err.raw_os_error() != Some(libc::ENOSYS) && err.raw_os_error() != Some(libc::EPERM)
        }

        // pidfds require the clone3 syscall
        if !has_clone3() {
            crate::skip("no clone3 syscall"); // upstream: return
        }

        // We don't assert the precise value, since the standard library
        // might have opened other file descriptors before our code runs.
        let _ =
            Command::new("echo").create_pidfd(true).spawn().unwrap().pidfd().expect("failed to obtain pidfd");

        let _ = Command::new("echo")
            .create_pidfd(false)
            .spawn()
            .unwrap()
            .pidfd()
            .expect_err("pidfd should not have been created when create_pid(false) is set");

        let _ =
            Command::new("echo").spawn().unwrap().pidfd().expect_err("pidfd should not have been created");
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/command/command-current-dir.rs
// ---------------------------------------------------------------------------------------

pub fn command_current_dir() {
    use std::fs;
    use std::path::Path;

    // Checks the behavior of current_dir when used with a relative exe path.
    let me = env::current_exe().unwrap();
    if matches!(env::args().skip(1).next().as_deref(), Some("current-dir")) {
        let cwd = env::current_dir().unwrap();
        assert_eq!(cwd.file_name().unwrap(), "bar");
        clonekit::process::exit(0);
    }
    let exe = me.file_name().unwrap();
    let cwd = me.parent().unwrap();
    eprintln!("cwd={:?}", cwd);
    // Change directory to where the executable is located, since this test
    // fundamentally needs to use relative paths. In some cases (like
    // remote-test-server), the current_dir can be somewhere else, so make
    // sure it is something we can use. We assume we can write to this
    // directory.
    env::set_current_dir(&cwd).unwrap();
    let foo = cwd.join("foo");
    let bar = cwd.join("bar");
    fs::create_dir_all(&foo).unwrap();
    fs::create_dir_all(&bar).unwrap();
    fs::copy(&me, foo.join(exe)).unwrap();

    // Unfortunately this is inconsistent based on the platform, see
    // https://github.com/rust-lang/rust/issues/37868. On Windows,
    // it is relative *before* changing the directory, and on Unix
    // it is *after* changing the directory.
    let relative_exe = if cfg!(windows) { Path::new("foo").join(exe) } else { Path::new("../foo").join(exe) };

    let status = Command::new(relative_exe).arg("current-dir").current_dir("bar").status().unwrap();
    assert!(status.success());
}

// ---------------------------------------------------------------------------------------
// tests/ui/command/command-exec.rs
// ---------------------------------------------------------------------------------------

pub fn command_exec() {
    let mut args = env::args();
    let me = args.next().unwrap();

    if let Some(arg) = args.next() {
        match &arg[..] {
            "test1" => println!("passed"),

            "exec-test1" => {
                let err = Command::new(&me).arg("test1").exec();
                panic!("failed to spawn: {}", err);
            }

            "exec-test2" => {
                let _ = Command::new("/path/to/nowhere").exec();
                println!("passed");
            }

            "exec-test3" => {
                let _ = Command::new(&me).arg("bad\0").exec();
                println!("passed");
            }

            "exec-test4" => {
                let _ = Command::new(&me).current_dir("/path/to/nowhere").exec();
                println!("passed");
            }

            "exec-test5" => {
                env::set_var("VARIABLE", "ABC");
                let _ = Command::new("definitely-not-a-real-binary").env("VARIABLE", "XYZ").exec();
                assert_eq!(env::var("VARIABLE").unwrap(), "ABC");
                println!("passed");
            }

            "exec-test6" => {
                let err = Command::new("echo").arg("passed").env_clear().exec();
                panic!("failed to spawn: {}", err);
            }

            "exec-test7" => {
                let err = Command::new("echo").arg("passed").env_remove("PATH").exec();
                panic!("failed to spawn: {}", err);
            }

            _ => panic!("unknown argument: {}", arg),
        }
        return;
    }

    let output = Command::new(&me).arg("exec-test1").output().unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(output.stdout, b"passed\n");

    let output = Command::new(&me).arg("exec-test2").output().unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(output.stdout, b"passed\n");

    let output = Command::new(&me).arg("exec-test3").output().unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(output.stdout, b"passed\n");

    let output = Command::new(&me).arg("exec-test4").output().unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(output.stdout, b"passed\n");

    let output = Command::new(&me).arg("exec-test5").output().unwrap();
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(output.stdout, b"passed\n");

    if cfg!(target_os = "linux") {
        let output = Command::new(&me).arg("exec-test6").output().unwrap();
        println!("{:?}", output);
        assert!(output.status.success());
        assert!(output.stderr.is_empty());
        assert_eq!(output.stdout, b"passed\n");

        let output = Command::new(&me).arg("exec-test7").output().unwrap();
        println!("{:?}", output);
        assert!(output.status.success());
        assert!(output.stderr.is_empty());
        assert_eq!(output.stdout, b"passed\n");
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/command/command-pre-exec.rs
// ---------------------------------------------------------------------------------------

pub fn command_pre_exec() {
    use std::io::Error;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    if let Some(arg) = env::args().nth(1) {
        match &arg[..] {
            "test1" => println!("hello2"),
            "test2" => assert_eq!(env::var("FOO").unwrap(), "BAR"),
            "test3" => assert_eq!(env::current_dir().unwrap().to_str().unwrap(), "/"),
            "empty" => {}
            _ => panic!("unknown argument: {}", arg),
        }
        return;
    }

    let me = env::current_exe().unwrap();

    let output = unsafe {
        Command::new(&me)
            .arg("test1")
            .pre_exec(|| {
                println!("hello");
                Ok(())
            })
            .output()
            .unwrap()
    };
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert_eq!(output.stdout, b"hello\nhello2\n");

    let output = unsafe {
        Command::new(&me)
            .arg("test3")
            .pre_exec(|| {
                env::set_current_dir("/").unwrap();
                Ok(())
            })
            .output()
            .unwrap()
    };
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert!(output.stdout.is_empty());

    let output = unsafe {
        Command::new(&me).arg("bad").pre_exec(|| Err(Error::from_raw_os_error(102))).output().unwrap_err()
    };
    assert_eq!(output.raw_os_error(), Some(102));

    let pid = unsafe { libc::getpid() };
    assert!(pid >= 0);
    let output = unsafe {
        Command::new(&me)
            .arg("empty")
            .pre_exec(move || {
                let child = libc::getpid();
                assert!(child >= 0);
                assert!(pid != child);
                Ok(())
            })
            .output()
            .unwrap()
    };
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert!(output.stdout.is_empty());

    let mem = Arc::new(AtomicUsize::new(0));
    let mem2 = mem.clone();
    let output = unsafe {
        Command::new(&me)
            .arg("empty")
            .pre_exec(move || {
                assert_eq!(mem2.fetch_add(1, Ordering::SeqCst), 0);
                Ok(())
            })
            .output()
            .unwrap()
    };
    assert!(output.status.success());
    assert!(output.stderr.is_empty());
    assert!(output.stdout.is_empty());
    assert_eq!(mem.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------
// tests/ui/command/command-setgroups.rs
// ---------------------------------------------------------------------------------------

pub fn command_setgroups() {
    #[cfg(clonekit_std_stable)]
    crate::skip("CommandExt::groups is unstable in std");
    #[cfg(not(clonekit_std_stable))]
    {
        let max_ngroups = unsafe { libc::sysconf(libc::_SC_NGROUPS_MAX) };
        let max_ngroups = max_ngroups as u32 + 1;
        let vec: Vec<u32> = (0..max_ngroups).collect();
        let p = Command::new("/bin/id").groups(&vec[..]).spawn();
        assert!(p.is_err());
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/command/command-uid-gid.rs
// ---------------------------------------------------------------------------------------

pub fn command_uid_gid() {
    let mut p = Command::new("/bin/sh")
        .arg("-c")
        .arg("true")
        .uid(unsafe { libc::getuid() })
        .gid(unsafe { libc::getgid() })
        .spawn()
        .unwrap();
    assert!(p.wait().unwrap().success());

    // if we're already root, this isn't a valid test. Most of the bots run
    // as non-root though (android is an exception).
    if unsafe { libc::getuid() != 0 } {
        assert!(Command::new("/bin/ls").uid(0).gid(0).spawn().is_err());
    }
}

// ---------------------------------------------------------------------------------------
// tests/ui/command/issue-10626.rs
// ---------------------------------------------------------------------------------------

// Make sure that if a process doesn't have its stdio/stderr descriptors set up
// that we don't die in a large ball of fire
pub fn issue_10626() {
    let args: Vec<String> = env::args().collect();
    if args.len() > 1 && args[1] == "child" {
        for _ in 0..1000 {
            println!("hello?");
        }
        for _ in 0..1000 {
            println!("hello?");
        }
        return;
    }

    let mut p = Command::new(&args[0]);
    p.arg("child").stdout(Stdio::null()).stderr(Stdio::null());
    println!("{:?}", p.spawn().unwrap().wait());
}
