//! [`Command`]: `std::process::Command`'s API on the vfork fast path, with the features that
//! push std onto `fork`+`exec` kept on that path, plus namespaces, cgroups and pidfds.
//!
//! Every spawn is one `clone3({CLONE_VM|CLONE_VFORK|CLONE_CLEAR_SIGHAND|CLONE_PIDFD, exit_signal=SIGCHLD})`
//! on a pooled stack (legacy `clone` where `clone3` is unavailable), so its cost does not
//! grow with the parent's memory: no page table is copied, whatever is configured. The child
//! runs a plan the parent prepared completely (see `plan.rs`): signal dispositions, session
//! and process group, standard streams, mount propagation, `chroot`, `/proc`, groups, gid,
//! uid, working directory, parent-death signal, closing inherited fds, the pre-exec hooks,
//! then `execve`. A failing step comes back as a [`CommandError`] naming it
//! (`setgid: EPERM`, `chdir /nope: ENOENT`, `exec /bin/nope: ENOENT`), after the failed child
//! has been reaped.
//!
//! Signals: all are blocked in the calling thread across the `clone`; the kernel resets every
//! handled signal to `SIG_DFL` in the child (`CLONE_CLEAR_SIGHAND`; without `clone3` the
//! child resets the handled ones itself), `SIG_IGN` stays, except `SIGPIPE` (ignored by the
//! Rust runtime), which is reset as std does; the program starts with an empty signal mask.
//!
//! With uid/gid maps for a new user namespace the parent must write the maps while the child
//! waits, which `CLONE_VFORK` would turn into a deadlock: see `userns.rs` for the
//! `CLONE_VM|CLONE_CHILD_CLEARTID` variant used then. [`Command::clone_flags`] replaces the
//! default flags by exactly the given ones (what `clonekit run` needs); without `CLONE_VM`
//! the child is a fork-style copy, and its exec is observed through a `CLOEXEC` pipe.
//!
//! ```
//! use clonekit_sys::command::{Command, Stdio};
//! let out = Command::new("/bin/sh").args(["-c", "echo $GREETING; pwd"]).env("GREETING", "hi")
//!     .current_dir("/tmp").stdout(Stdio::piped()).output()?;
//! assert_eq!(out.stdout, b"hi\n/tmp\n");
//! let err = Command::new("/bin/true").current_dir("/nope").status().unwrap_err();
//! assert_eq!(err.to_string(), "chdir /nope: ENOENT");
//! # Ok::<(), std::io::Error>(())
//! ```

mod child;
mod error;
mod launch;
mod plan;
mod stdio;
mod userns;

pub use child::{Child, Output};
pub use error::{CommandError, Step};
pub use stdio::{ChildStderr, ChildStdin, ChildStdout, Stdio};
pub use userns::IdMap;

use crate::dispatch::Syscall;
use crate::ExitStatus;
use clonekit_flags::{CloneFlags, Signal};
use plan::Hook;
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use userns::Maps;

/// `SIGPIPE`, which the Rust runtime ignores and std resets in its children.
const SIGPIPE: u32 = 13;

/// A program to start, and how (see the module documentation).
pub struct Command {
    program: OsString,
    arg0: Option<OsString>,
    args: Vec<OsString>,
    env: BTreeMap<OsString, Option<OsString>>,
    env_clear: bool,
    cwd: Option<PathBuf>,
    stdin: Option<Stdio>,
    stdout: Option<Stdio>,
    stderr: Option<Stdio>,
    uid: Option<u32>,
    gid: Option<u32>,
    groups: Option<Vec<u32>>,
    setsid: bool,
    pgid: Option<i32>,
    chroot: Option<PathBuf>,
    close_fds: bool,
    preserve: Vec<RawFd>,
    hooks: Vec<Hook>,
    namespaces: CloneFlags,
    exact: Option<CloneFlags>,
    maps: Maps,
    cgroup: Option<PathBuf>,
    cgroup_fd: Option<OwnedFd>,
    pidfd: bool,
    pdeathsig: Option<Signal>,
    sigdefault: u64,
    make_private: bool,
    mount_proc: Option<PathBuf>,
    syscall: Syscall,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("flags", &self.planned_flags())
            .finish_non_exhaustive()
    }
}

impl Command {
    /// A command for `program`: a path, or a name looked up in `PATH` (the child's, if
    /// [`Command::env`] sets one, else ours). By default it inherits our environment,
    /// working directory and standard streams, and gets a pidfd.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command {
            program: program.as_ref().to_owned(),
            arg0: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            env_clear: false,
            cwd: None,
            stdin: None,
            stdout: None,
            stderr: None,
            uid: None,
            gid: None,
            groups: None,
            setsid: false,
            pgid: None,
            chroot: None,
            close_fds: false,
            preserve: Vec::new(),
            hooks: Vec::new(),
            namespaces: CloneFlags::empty(),
            exact: None,
            maps: Maps::default(),
            cgroup: None,
            cgroup_fd: None,
            pidfd: true,
            pdeathsig: None,
            sigdefault: 1 << (SIGPIPE - 1),
            make_private: false,
            mount_proc: None,
            syscall: Syscall::Auto,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// `argv[0]` (default: the program as given).
    pub fn arg0(&mut self, arg0: impl AsRef<OsStr>) -> &mut Command {
        self.arg0 = Some(arg0.as_ref().to_owned());
        self
    }

    /// Sets an environment variable for the program.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.env.insert(key.as_ref().to_owned(), Some(value.as_ref().to_owned()));
        self
    }

    /// Sets several environment variables.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        for (k, v) in vars {
            self.env(k, v);
        }
        self
    }

    /// Removes an environment variable from what the program gets.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.env.insert(key.as_ref().to_owned(), None);
        self
    }

    /// Starts the program with an empty environment (plus what [`Command::env`] adds later).
    pub fn env_clear(&mut self) -> &mut Command {
        self.env.clear();
        self.env_clear = true;
        self
    }

    /// The program's working directory (changed after the ids, so checked as the new user).
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Standard input (default: inherited; `/dev/null` for [`Command::output`]).
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stdin = Some(cfg.into());
        self
    }

    /// Standard output (default: inherited; piped for [`Command::output`]).
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stdout = Some(cfg.into());
        self
    }

    /// Standard error (default: inherited; piped for [`Command::output`]).
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.stderr = Some(cfg.into());
        self
    }

    /// `setresuid(uid, uid, uid)` in the child. As in std, a child started by root with a
    /// uid and no [`Command::groups`] also drops its supplementary groups.
    pub fn uid(&mut self, uid: u32) -> &mut Command {
        self.uid = Some(uid);
        self
    }

    /// `setresgid(gid, gid, gid)` in the child.
    pub fn gid(&mut self, gid: u32) -> &mut Command {
        self.gid = Some(gid);
        self
    }

    /// `setgroups(groups)` in the child.
    pub fn groups(&mut self, groups: &[u32]) -> &mut Command {
        self.groups = Some(groups.to_vec());
        self
    }

    /// `setsid()` in the child: a new session and process group, no controlling terminal.
    pub fn setsid(&mut self, yes: bool) -> &mut Command {
        self.setsid = yes;
        self
    }

    /// `setpgid(0, pgid)` in the child; 0 makes it the leader of a new group.
    pub fn process_group(&mut self, pgid: i32) -> &mut Command {
        self.pgid = Some(pgid);
        self
    }

    /// `chroot(dir)` in the child (before the ids change), then `chdir("/")` unless
    /// [`Command::current_dir`] is set.
    pub fn chroot(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.chroot = Some(dir.as_ref().to_owned());
        self
    }

    /// Closes every inherited fd above 2 in the child (`close_range`), except those given to
    /// [`Command::preserve_fd`].
    pub fn close_inherited_fds(&mut self, yes: bool) -> &mut Command {
        self.close_fds = yes;
        self
    }

    /// Keeps `fd` (≥ 3, same number) open in the program, clearing its `FD_CLOEXEC` in the
    /// child. The caller keeps it open until the spawn returns.
    pub fn preserve_fd(&mut self, fd: RawFd) -> &mut Command {
        if fd > 2 && !self.preserve.contains(&fd) {
            self.preserve.push(fd);
            self.preserve.sort_unstable();
        }
        self
    }

    /// Runs `hook` in the child just before `execve`, after every other step; an `Err`
    /// aborts the spawn with [`Step::PreExec`] and the error's errno.
    ///
    /// # Safety
    ///
    /// The hook runs in a **vfork child**: it shares this process's memory and the calling
    /// thread's TLS while that thread is suspended, and the other threads keep running. It
    /// may only make raw system calls (rustix) and touch memory it owns: no allocation or
    /// freeing, no locks, no `println!`, no libc calls (they use the parent's `errno` and
    /// caches), no `thread_local!`, no panics. Return errors made by
    /// `io::Error::from_raw_os_error` (any other is reported as `EIO` and leaked).
    pub unsafe fn pre_exec<F>(&mut self, hook: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        self.hooks.push(Box::new(hook));
        self
    }

    /// Creates the child in new namespaces (any `CLONE_NEW*` flags, added to the call).
    /// Other flags are ignored here: see [`Command::clone_flags`].
    pub fn namespaces(&mut self, flags: CloneFlags) -> &mut Command {
        self.namespaces |= flags & clonekit_flags::CLONE_NEW_MASK;
        self
    }

    /// The uid map of a new user namespace, written by the parent while the child waits.
    pub fn uid_map(&mut self, map: &[IdMap]) -> &mut Command {
        self.maps.uid = map.to_vec();
        self
    }

    /// The gid map of a new user namespace, written by the parent while the child waits.
    pub fn gid_map(&mut self, map: &[IdMap]) -> &mut Command {
        self.maps.gid = map.to_vec();
        self
    }

    /// Writes `deny` to the child's `/proc/PID/setgroups` before its gid map (needed when an
    /// unprivileged parent writes a gid map).
    pub fn deny_setgroups(&mut self, yes: bool) -> &mut Command {
        self.maps.deny_setgroups = yes;
        self
    }

    /// `unshare --map-root-user`: a new user namespace in which our effective uid and gid are
    /// root, with `setgroups` denied.
    pub fn map_root_user(&mut self) -> &mut Command {
        let uid = rustix::process::geteuid().as_raw();
        let gid = rustix::process::getegid().as_raw();
        self.namespaces(CloneFlags::CLONE_NEWUSER)
            .uid_map(&[IdMap::new(0, uid, 1)])
            .gid_map(&[IdMap::new(0, gid, 1)])
            .deny_setgroups(true)
    }

    /// Starts the child in the cgroup2 directory `dir` (`CLONE_INTO_CGROUP`; `clone3` only, so
    /// it fails with `ENOTSUP` where `clone3` is unavailable). The directory is opened at the
    /// first spawn and kept open.
    pub fn cgroup(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.cgroup = Some(dir.as_ref().to_owned());
        self.cgroup_fd = None;
        self
    }

    /// Whether to ask for a pidfd (`CLONE_PIDFD`, default on); the handle waits and signals
    /// through it.
    pub fn pidfd(&mut self, yes: bool) -> &mut Command {
        self.pidfd = yes;
        self
    }

    /// `prctl(PR_SET_PDEATHSIG, signal)` in the child (after the ids change, which would
    /// clear it). Linux sends it when the *thread* that spawned the child exits, not the
    /// process: spawn from a thread that lives as long as the child should.
    pub fn pdeath_signal(&mut self, signal: Signal) -> &mut Command {
        self.pdeathsig = Some(signal);
        self
    }

    /// Resets `signal` to `SIG_DFL` in the child even if we ignore it (handled signals are
    /// reset anyway; `SIGPIPE` always is).
    pub fn signal_default(&mut self, signal: Signal) -> &mut Command {
        self.sigdefault |= 1 << (signal.number() - 1);
        self
    }

    /// Makes every mount in the child's (new) mount namespace private, recursively, before
    /// anything is mounted there (what `unshare --mount` does by default).
    pub fn make_mounts_private(&mut self) -> &mut Command {
        self.make_private = true;
        self
    }

    /// Mounts a new `proc` on `dir` in the child (after `chroot`), as `unshare --mount-proc`;
    /// needs a new mount namespace, and a new pid namespace to show only its processes.
    pub fn mount_proc(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.mount_proc = Some(dir.as_ref().to_owned());
        self
    }

    /// Replaces the default `CLONE_VM|CLONE_VFORK` by exactly `flags` (plus the namespaces,
    /// and `CLONE_PIDFD`/`CLONE_INTO_CGROUP` when asked for). `CLONE_CLEAR_SIGHAND` is not
    /// added. Without `CLONE_VM` the child is a fork-style copy whose exec is observed through
    /// a `CLOEXEC` pipe (`CLONE_FILES` is refused then, since it would share that pipe);
    /// `CLONE_VM` without `CLONE_VFORK` adds `CLONE_CHILD_CLEARTID` to learn when the child has
    /// exec'd. `CLONE_VFORK` cannot be combined with uid/gid maps.
    pub fn clone_flags(&mut self, flags: CloneFlags) -> &mut Command {
        self.exact = Some(flags);
        self
    }

    /// Which system call to use (default: `clone3` with the cached fallback to `clone`).
    pub fn syscall(&mut self, syscall: Syscall) -> &mut Command {
        self.syscall = syscall;
        self
    }

    /// The program as given.
    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    /// The arguments (without `argv[0]`).
    pub fn get_args(&self) -> impl Iterator<Item = &OsStr> {
        self.args.iter().map(OsString::as_os_str)
    }

    /// The `CLONE_*` flags a spawn issues (before the `CLONE_CLEAR_SIGHAND` fallback).
    pub fn planned_flags(&self) -> CloneFlags {
        launch::flags_for(self).unwrap_or_else(|_| self.exact.unwrap_or(CloneFlags::empty()))
    }

    /// Starts the program. Standard streams default to inherited.
    pub fn spawn(&mut self) -> io::Result<Child> {
        launch::spawn(self, launch::Defaults::INHERIT).map_err(io::Error::from)
    }

    /// Starts the program and waits for it; streams default to inherited.
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = launch::spawn(self, launch::Defaults::INHERIT)?;
        child.wait()
    }

    /// Starts the program with standard input from `/dev/null` and standard output and error
    /// piped (unless configured otherwise), reads both to the end and waits.
    pub fn output(&mut self) -> io::Result<Output> {
        launch::spawn(self, launch::Defaults::OUTPUT)?.wait_with_output()
    }

    fn env_block(&self) -> Result<Option<Vec<CString>>, CommandError> {
        let vars: Vec<(OsString, OsString)> =
            if self.env_clear { Vec::new() } else { std::env::vars_os().collect() };
        let mut map: BTreeMap<OsString, OsString> = vars.into_iter().collect();
        for (k, v) in &self.env {
            match v {
                Some(v) => map.insert(k.clone(), v.clone()),
                None => map.remove(k),
            };
        }
        let mut out = Vec::with_capacity(map.len());
        for (k, v) in map {
            let mut kv = Vec::with_capacity(k.len() + 1 + v.len());
            kv.extend_from_slice(k.as_bytes());
            kv.push(b'=');
            kv.extend_from_slice(v.as_bytes());
            out.push(cstring(kv)?);
        }
        Ok(Some(out))
    }

    /// The `PATH` the program is looked up in: the child's if set, else ours.
    fn search_path(&self) -> Option<OsString> {
        match self.env.get(OsStr::new("PATH")) {
            Some(Some(p)) => Some(p.clone()),
            Some(None) => None,
            None if self.env_clear => None,
            None => std::env::var_os("PATH"),
        }
    }
}

fn cstring(bytes: impl Into<Vec<u8>>) -> Result<CString, CommandError> {
    CString::new(bytes).map_err(|_| {
        CommandError::new(Step::Invalid, clonekit_flags::Errno::EINVAL).detail("a string contains a NUL byte")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored_mask(cmd: &mut Command) -> u64 {
        let out = cmd.output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        u64::from_str_radix(text.split_whitespace().nth(1).unwrap(), 16).unwrap()
    }

    #[test]
    fn signal_default_resets_an_ignored_signal_and_only_that_one() {
        const SIGUSR2: usize = 12;
        const SIGWINCH: usize = 28;
        crate::sys::sigaction_set_disposition(SIGUSR2, crate::sys::SIG_IGN).unwrap();
        crate::sys::sigaction_set_disposition(SIGWINCH, crate::sys::SIG_IGN).unwrap();
        let probe = || {
            let mut c = Command::new("/bin/sh");
            c.args(["-c", "grep SigIgn /proc/self/status"]);
            c
        };
        let kept = ignored_mask(&mut probe());
        let reset = ignored_mask(probe().signal_default(Signal::new(SIGUSR2 as u32).unwrap()));
        crate::sys::sigaction_set_disposition(SIGUSR2, crate::sys::SIG_DFL).unwrap();
        crate::sys::sigaction_set_disposition(SIGWINCH, crate::sys::SIG_DFL).unwrap();
        assert_ne!(kept & 1 << (SIGUSR2 - 1), 0, "SIG_IGN is inherited through exec");
        assert_eq!(reset & 1 << (SIGUSR2 - 1), 0, "signal_default resets it");
        assert_ne!(reset & 1 << (SIGWINCH - 1), 0, "and nothing else");
    }
}
