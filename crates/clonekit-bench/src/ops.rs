//! The operations measured, each one complete create + exit + reap: ours (clonekit-sys) and
//! the references (glibc through the `libc` crate, Rust std), all with the same child.

use clonekit_sys::os::unix::process::CommandExt as _;
use clonekit_sys::process::Command;
use clonekit_sys::CloneFlags;
use std::ffi::{CStr, CString};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

extern "C" {
    /// The C library's environment, what a C caller passes to `posix_spawn`.
    static environ: *const *mut libc::c_char;
}

/// A program to spawn: its path, and the C strings glibc wants.
#[derive(Debug)]
pub struct Program {
    path: PathBuf,
    c_path: CString,
}

impl Program {
    /// `path` as a program to start with no arguments.
    pub fn new(path: &Path) -> Program {
        let c_path = CString::new(path.as_os_str().as_bytes()).expect("no NUL in a path");
        Program { path: path.to_owned(), c_path }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn c_path(&self) -> &CStr {
        &self.c_path
    }
}

/// One measured operation; `run` does it once and fails loudly if the child did not exit 0.
pub trait Op {
    /// Does the operation once.
    fn run(&mut self) -> io::Result<()>;
}

fn check_status(ok: bool, what: &str) -> io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(io::Error::other(format!("{what}: the child did not exit with 0")))
    }
}

fn waitpid_ok(pid: libc::pid_t) -> io::Result<bool> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child, with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// clonekit-sys `fork`: glibc's system call with our trampoline; the child exits at once.
pub struct OurFork;

impl Op for OurFork {
    fn run(&mut self) -> io::Result<()> {
        // SAFETY: the child only returns 0 (no allocation, no locks).
        let mut child = unsafe { clonekit_sys::fork(|| 0) }?;
        check_status(child.wait()?.success(), "our fork")
    }
}

/// glibc `fork()`; the child calls `_exit(0)`.
pub struct GlibcFork;

impl Op for GlibcFork {
    fn run(&mut self) -> io::Result<()> {
        // SAFETY: the child calls only the async-signal-safe `_exit`.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: ends the child at once.
            unsafe { libc::_exit(0) };
        }
        if pid < 0 {
            return Err(io::Error::last_os_error());
        }
        check_status(waitpid_ok(pid)?, "glibc fork")
    }
}

/// clonekit-sys raw thread (`pthread_create`'s flags, own stack and TCB) + join.
pub struct OurThread;

impl Op for OurThread {
    fn run(&mut self) -> io::Result<()> {
        // SAFETY: the thread only returns a constant.
        let t = unsafe { clonekit_sys::thread::spawn_raw(|| 0) }?;
        check_status(t.join() == 0, "our thread")
    }
}

extern "C" fn pthread_body(_: *mut libc::c_void) -> *mut libc::c_void {
    std::ptr::null_mut()
}

/// glibc `pthread_create` (default attributes) + `pthread_join`.
pub struct Pthread;

impl Op for Pthread {
    fn run(&mut self) -> io::Result<()> {
        let mut t: libc::pthread_t = 0;
        // SAFETY: valid out-pointer, default attributes, a function that returns at once.
        let r = unsafe { libc::pthread_create(&mut t, std::ptr::null(), pthread_body, std::ptr::null_mut()) };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        // SAFETY: joining the thread just created, once.
        let r = unsafe { libc::pthread_join(t, std::ptr::null_mut()) };
        check_status(r == 0, "pthread_join")
    }
}

/// `std::thread::spawn(..).join()`.
pub struct StdThread;

impl Op for StdThread {
    fn run(&mut self) -> io::Result<()> {
        std::thread::spawn(|| std::hint::black_box(0))
            .join()
            .map_err(|_| io::Error::other("thread panicked"))?;
        Ok(())
    }
}

/// `clonekit::Command::status()`, reused across runs (as a caller would).
pub struct OurSpawn {
    cmd: Command,
}

impl OurSpawn {
    /// Plain: `CLONE_VM|CLONE_VFORK|CLONE_CLEAR_SIGHAND|CLONE_PIDFD` on a pooled stack.
    pub fn new(p: &Program) -> OurSpawn {
        OurSpawn { cmd: Command::new(p.path()) }
    }

    /// With a pre-exec hook, a uid and gid (nobody, when we are root) and new UTS and IPC
    /// namespaces: everything that sends std onto fork+exec, and more.
    pub fn loaded(p: &Program) -> OurSpawn {
        let mut cmd = Command::new(p.path());
        if rustix::process::geteuid().is_root() {
            cmd.uid(65534).gid(65534).current_dir("/");
        }
        cmd.namespaces(CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC);
        // SAFETY: the hook does nothing, so it stays within a vfork child's rules.
        unsafe { cmd.pre_exec_vfork(|| Ok(())) };
        OurSpawn { cmd }
    }

    /// What [`OurSpawn::loaded`] does, as an ordinary user can: a pre-exec hook and new UTS
    /// and IPC namespaces, with a user namespace of its own mapped to root.
    pub fn loaded_in_user_namespace(p: &Program) -> OurSpawn {
        let mut cmd = Command::new(p.path());
        cmd.namespaces(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC)
            .map_root_user();
        // SAFETY: the hook does nothing, so it stays within a vfork child's rules.
        unsafe { cmd.pre_exec_vfork(|| Ok(())) };
        OurSpawn { cmd }
    }

    /// With std's `pre_exec` (a hook whose contract is a forked child): the fork path, as std.
    pub fn with_pre_exec(p: &Program) -> OurSpawn {
        let mut cmd = Command::new(p.path());
        // SAFETY: the hook does nothing.
        unsafe { cmd.pre_exec(|| Ok(())) };
        OurSpawn { cmd }
    }
}

impl Op for OurSpawn {
    fn run(&mut self) -> io::Result<()> {
        check_status(self.cmd.status()?.success(), "our spawn")
    }
}

/// glibc `posix_spawn(path, NULL file actions, NULL attributes, [path], environ)` + `waitpid`.
pub struct PosixSpawn {
    path: CString,
}

impl PosixSpawn {
    /// Spawns `p`.
    pub fn new(p: &Program) -> PosixSpawn {
        PosixSpawn { path: p.c_path().to_owned() }
    }
}

impl Op for PosixSpawn {
    fn run(&mut self) -> io::Result<()> {
        let argv = [self.path.as_ptr() as *mut libc::c_char, std::ptr::null_mut()];
        let mut pid: libc::pid_t = 0;
        // SAFETY: NUL-terminated path and argv; `environ` is the C library's own.
        let r = unsafe {
            libc::posix_spawn(
                &mut pid,
                self.path.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                argv.as_ptr(),
                environ,
            )
        };
        if r != 0 {
            return Err(io::Error::from_raw_os_error(r));
        }
        check_status(waitpid_ok(pid)?, "posix_spawn")
    }
}

/// `std::process::Command::status()`, plain (std's posix_spawn path) or with an empty
/// `pre_exec` (std's fork+exec path).
pub struct StdCommand {
    cmd: std::process::Command,
}

impl StdCommand {
    /// Plain.
    pub fn new(p: &Program) -> StdCommand {
        StdCommand { cmd: std::process::Command::new(p.path()) }
    }

    /// With `pre_exec(|| Ok(()))`, which makes std fork.
    pub fn with_pre_exec(p: &Program) -> StdCommand {
        let mut cmd = std::process::Command::new(p.path());
        // SAFETY: the hook does nothing.
        unsafe { cmd.pre_exec(|| Ok(())) };
        StdCommand { cmd }
    }
}

impl Op for StdCommand {
    fn run(&mut self) -> io::Result<()> {
        check_status(self.cmd.status()?.success(), "std Command")
    }
}
