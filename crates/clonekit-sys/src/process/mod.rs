//! `std::process`, on the vfork fast path: [`Command`], [`Child`], [`Stdio`],
//! [`ExitStatus`]... with std's behaviour, defaults, errors and formats, so that replacing
//! `std::process` by `clonekit_sys::process` (and `std::os::unix::process` by
//! [`crate::os::unix::process`]) is all a program needs. Beyond std: namespaces, cgroups,
//! pidfds, fd mappings, ids and a chroot, all kept on the vfork path.
//!
//! A spawn is one `clone3({CLONE_VM|CLONE_VFORK|CLONE_CLEAR_SIGHAND, exit_signal=SIGCHLD})`
//! on a pooled stack (legacy `clone` where `clone3` is unavailable or refused), so its cost
//! does not grow with the parent's memory: no page table is copied. The child runs a plan the
//! parent prepared completely (see `plan.rs`): signal dispositions, session and process
//! group, standard streams and fd mappings, mount propagation, `chroot`, `/proc`, groups,
//! gid, uid, working directory, parent-death signal, closing inherited fds, then `execve`
//! with the caller's signal mask. The one exception is std's `pre_exec` hook, whose contract
//! is a forked child: a command with one is made with a fork-style `clone` (no `CLONE_VM`),
//! as std does.
//!
//! A failed spawn is an [`io::Error`] exactly as std gives it (`raw_os_error()` is the errno,
//! `kind()` follows it); [`Command::spawn_explained`] gives the same failure as a
//! [`CommandError`] that also names the step (`setgid: EPERM`, `chdir /nope: ENOENT`,
//! `exec /bin/nope: ENOENT`). The failed child has been reaped either way.
//!
//! Signals: all are blocked in the calling thread across the `clone`; handled signals are
//! reset to `SIG_DFL` in the child (`CLONE_CLEAR_SIGHAND`, or by the child itself), `SIG_IGN`
//! stays, except `SIGPIPE` (ignored by the Rust runtime), which is reset as std does; the
//! program starts with the caller's signal mask, as with std and `posix_spawn`.
//!
//! ```
//! use clonekit_sys::process::{Command, Stdio};
//! let out = Command::new("/bin/sh").args(["-c", "echo $GREETING; pwd"]).env("GREETING", "hi")
//!     .current_dir("/tmp").stdout(Stdio::piped()).output()?;
//! assert_eq!(out.stdout, b"hi\n/tmp\n");
//! let err = Command::new("/bin/true").current_dir("/nope").status().unwrap_err();
//! assert_eq!(err.raw_os_error(), Some(2));
//! let why = Command::new("/bin/true").current_dir("/nope").spawn_explained().unwrap_err();
//! assert_eq!(why.to_string(), "chdir /nope: ENOENT");
//! # Ok::<(), std::io::Error>(())
//! ```

mod child;
mod error;
mod launch;
mod plan;
mod stdio;
mod userns;

pub use crate::status::{ExitStatus, ExitStatusError};
pub use child::{Child, Output};
pub use error::{CommandError, Step};
pub use std::process::{abort, exit, id, ExitCode, Termination};
pub use stdio::{ChildStderr, ChildStdin, ChildStdout, Stdio};
pub use userns::IdMap;

use crate::dispatch::Syscall;
use clonekit_flags::{CloneFlags, Signal};
use plan::Hook;
use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::io;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use userns::Maps;

/// `SIGPIPE`, which the Rust runtime ignores and std resets in its children.
const SIGPIPE: u32 = Signal::SIGPIPE.number();

/// A pre-exec hook, and whether its contract is std's (a forked child) or the vfork path's.
pub(crate) struct PreExec {
    pub(crate) hook: Hook,
    pub(crate) forked: bool,
}

/// A program to start, and how: `std::process::Command`'s API and behaviour (see the module
/// documentation), plus what std lacks.
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
    fds: Vec<(RawFd, OwnedFd)>,
    hooks: Vec<PreExec>,
    namespaces: CloneFlags,
    exact: Option<CloneFlags>,
    maps: Maps,
    cgroup: Option<PathBuf>,
    cgroup_fd: Option<OwnedFd>,
    pidfd: bool,
    pdeathsig: Option<Signal>,
    sigdefault: u64,
    sigmask: Option<u64>,
    make_private: bool,
    mount_proc: Option<PathBuf>,
    syscall: Syscall,
}

/// A string as std's `Debug` of a `Command` shows it (a C string's `Debug`).
fn quoted(s: &OsStr) -> String {
    match CString::new(s.as_bytes()) {
        Ok(c) => format!("{c:?}"),
        Err(_) => "\"<string-with-nul>\"".to_owned(),
    }
}

impl fmt::Debug for Command {
    /// std's format: `cd "/tmp" && env -u OLD NEW="1" "prog" "arg"`, with `[program]` before
    /// `argv[0]` when they differ; `{:#?}` lists the configuration.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let argv0 = self.arg0.as_deref().unwrap_or(&self.program);
        if f.alternate() {
            let c =
                |s: &OsStr| CString::new(s.as_bytes()).unwrap_or_else(|_| c"<string-with-nul>".to_owned());
            let mut d = f.debug_struct("Command");
            d.field("program", &c(&self.program));
            let args: Vec<CString> =
                std::iter::once(argv0).chain(self.args.iter().map(OsString::as_os_str)).map(c).collect();
            d.field("args", &args);
            if self.env_clear || !self.env.is_empty() {
                d.field("env", &DebugEnv(self));
            }
            if let Some(cwd) = &self.cwd {
                d.field("cwd", &Some(c(cwd.as_os_str())));
            }
            if let Some(uid) = self.uid {
                d.field("uid", &Some(uid));
            }
            if let Some(gid) = self.gid {
                d.field("gid", &Some(gid));
            }
            if let Some(groups) = &self.groups {
                d.field("groups", &Some(groups));
            }
            for (name, s) in [("stdin", &self.stdin), ("stdout", &self.stdout), ("stderr", &self.stderr)] {
                if let Some(s) = s {
                    d.field(name, &Some(s));
                }
            }
            if let Some(pgid) = self.pgid {
                d.field("pgroup", &Some(pgid));
            }
            d.field("create_pidfd", &self.pidfd);
            return d.finish();
        }
        if let Some(cwd) = &self.cwd {
            write!(f, "cd {} && ", quoted(cwd.as_os_str()))?;
        }
        if self.env_clear {
            write!(f, "env -i ")?;
        } else {
            let mut removed = self.env.iter().filter(|(_, v)| v.is_none()).peekable();
            if removed.peek().is_some() {
                write!(f, "env ")?;
            }
            for (k, _) in removed {
                write!(f, "-u {} ", k.to_string_lossy())?;
            }
        }
        for (k, v) in &self.env {
            if let Some(v) = v {
                write!(f, "{}={v:?} ", k.to_string_lossy())?;
            }
        }
        if argv0 != self.program {
            write!(f, "[{}] ", quoted(&self.program))?;
        }
        write!(f, "{}", quoted(argv0))?;
        for a in &self.args {
            write!(f, " {}", quoted(a))?;
        }
        Ok(())
    }
}

/// std's `CommandEnv` in `{:#?}` of a [`Command`].
struct DebugEnv<'a>(&'a Command);

impl fmt::Debug for DebugEnv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandEnv").field("clear", &self.0.env_clear).field("vars", &self.0.env).finish()
    }
}

/// The arguments of a [`Command`], from [`Command::get_args`] (std's `CommandArgs`).
#[derive(Debug)]
pub struct CommandArgs<'a> {
    inner: std::slice::Iter<'a, OsString>,
}

impl<'a> Iterator for CommandArgs<'a> {
    type Item = &'a OsStr;
    fn next(&mut self) -> Option<&'a OsStr> {
        self.inner.next().map(OsString::as_os_str)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for CommandArgs<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }
}

/// The environment changes of a [`Command`], from [`Command::get_envs`] (std's
/// `CommandEnvs`): each variable set (`Some`) or removed (`None`), sorted by name.
#[derive(Debug)]
pub struct CommandEnvs<'a> {
    inner: std::collections::btree_map::Iter<'a, OsString, Option<OsString>>,
}

impl<'a> Iterator for CommandEnvs<'a> {
    type Item = (&'a OsStr, Option<&'a OsStr>);
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(|(k, v)| (k.as_os_str(), v.as_deref()))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl ExactSizeIterator for CommandEnvs<'_> {
    fn len(&self) -> usize {
        self.inner.len()
    }
}

impl Command {
    /// A command for `program`: a path, or a name looked up in `PATH` (the child's, if
    /// [`Command::env`] sets one, else ours). By default it inherits our environment,
    /// working directory, standard streams and signal mask; no pidfd is made unless
    /// asked for ([`crate::os::linux::process::CommandExt::create_pidfd`]).
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
            fds: Vec::new(),
            hooks: Vec::new(),
            namespaces: CloneFlags::empty(),
            exact: None,
            maps: Maps::default(),
            cgroup: None,
            cgroup_fd: None,
            pidfd: false,
            pdeathsig: None,
            sigdefault: 1 << (SIGPIPE - 1),
            sigmask: None,
            make_private: false,
            mount_proc: None,
            syscall: Syscall::Auto,
        }
    }

    /// Adds an argument.
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
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

    /// Sets an environment variable for the program.
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.env.insert(key.as_ref().to_owned(), Some(val.as_ref().to_owned()));
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
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        if self.env_clear {
            self.env.remove(key.as_ref());
        } else {
            self.env.insert(key.as_ref().to_owned(), None);
        }
        self
    }

    /// Starts the program with an empty environment (plus what [`Command::env`] adds later).
    pub fn env_clear(&mut self) -> &mut Command {
        self.env.clear();
        self.env_clear = true;
        self
    }

    /// The program's working directory (changed after the ids, so checked as the new user).
    /// A relative program path is resolved against it only by `execve` itself, as in std.
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.cwd = Some(dir.as_ref().to_owned());
        self
    }

    /// Standard input (default: inherited; `/dev/null` for [`Command::output`]).
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.stdin = Some(cfg.into());
        self
    }

    /// Standard output (default: inherited; piped for [`Command::output`]).
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.stdout = Some(cfg.into());
        self
    }

    /// Standard error (default: inherited; piped for [`Command::output`]).
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.stderr = Some(cfg.into());
        self
    }

    /// Starts the program. Standard streams default to inherited. A failure is std's
    /// `io::Error` (its `raw_os_error()` is the errno of the step that failed).
    pub fn spawn(&mut self) -> io::Result<Child> {
        self.spawn_explained().map_err(io::Error::from)
    }

    /// [`Command::spawn`], with a failure that names the step that failed and what it worked
    /// on ([`CommandError`]: `exec /bin/nope: ENOENT`, `setuid: EPERM`...).
    pub fn spawn_explained(&mut self) -> Result<Child, CommandError> {
        launch::spawn(self, launch::Defaults::INHERIT)
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

    /// The program as given.
    pub fn get_program(&self) -> &OsStr {
        &self.program
    }

    /// The arguments (without `argv[0]`).
    pub fn get_args(&self) -> CommandArgs<'_> {
        CommandArgs { inner: self.args.iter() }
    }

    /// The environment changes: variables set (`Some`) or removed (`None`), sorted by name.
    /// After [`Command::env_clear`], only what was set since.
    pub fn get_envs(&self) -> CommandEnvs<'_> {
        CommandEnvs { inner: self.env.iter() }
    }

    /// The working directory set by [`Command::current_dir`].
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.cwd.as_deref()
    }

    /// Whether [`Command::env_clear`] was called (std's unstable `get_env_clear`).
    pub fn get_env_clear(&self) -> bool {
        self.env_clear
    }

    // ---- What std offers through its unix/linux `CommandExt` traits (`crate::os`). ----

    pub(crate) fn set_uid(&mut self, uid: u32) -> &mut Command {
        self.uid = Some(uid);
        self
    }

    pub(crate) fn set_gid(&mut self, gid: u32) -> &mut Command {
        self.gid = Some(gid);
        self
    }

    pub(crate) fn set_groups(&mut self, groups: &[u32]) -> &mut Command {
        self.groups = Some(groups.to_vec());
        self
    }

    pub(crate) fn add_fork_hook(&mut self, hook: Hook) -> &mut Command {
        self.hooks.push(PreExec { hook, forked: true });
        self
    }

    pub(crate) fn set_arg0(&mut self, arg0: &OsStr) -> &mut Command {
        self.arg0 = Some(arg0.to_owned());
        self
    }

    pub(crate) fn set_process_group(&mut self, pgid: i32) -> &mut Command {
        self.pgid = Some(pgid);
        self
    }

    pub(crate) fn map_fd(&mut self, child_fd: RawFd, fd: OwnedFd) -> &mut Command {
        self.fds.retain(|(target, _)| *target != child_fd);
        self.fds.push((child_fd, fd));
        self
    }

    pub(crate) fn set_create_pidfd(&mut self, yes: bool) -> &mut Command {
        self.pidfd = yes;
        self
    }

    pub(crate) fn exec_in_place(&mut self) -> io::Error {
        launch::exec(self).into()
    }

    // ---- Beyond std. ----

    /// `setsid()` in the child: a new session and process group, no controlling terminal.
    pub fn setsid(&mut self, yes: bool) -> &mut Command {
        self.setsid = yes;
        self
    }

    /// `chroot(dir)` in the child (before the ids change), then `chdir("/")` unless
    /// [`Command::current_dir`] is set.
    pub fn chroot(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.chroot = Some(dir.as_ref().to_owned());
        self
    }

    /// Closes every inherited fd above 2 in the child (`close_range`), except those given to
    /// [`Command::preserve_fd`] and the targets of fd mappings
    /// ([`crate::os::unix::process::CommandExt::fd`]).
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

    /// Runs `hook` in the child just before `execve`, after every other step, **on the vfork
    /// path**: no page table is copied, so unlike
    /// [`pre_exec`](crate::os::unix::process::CommandExt::pre_exec) its cost does not grow
    /// with this process's memory. An `Err` fails the spawn with its errno.
    ///
    /// # Safety
    ///
    /// The hook runs in a **vfork child**: it shares this process's memory and the calling
    /// thread's TLS while that thread is suspended, and the other threads keep running. So
    /// what it writes to memory is written in the parent too. It may only make raw system
    /// calls (rustix) and touch memory it owns: no allocation or freeing, no locks, no
    /// `println!`, no libc calls (they use the parent's `errno` and caches), no
    /// `thread_local!`, and it must not panic (the panic machinery would run on the parent's
    /// state). Return errors made by `io::Error::from_raw_os_error` (any other is reported
    /// as `EIO` and leaked). A command that also has a std-contract `pre_exec` hook forks,
    /// and runs this hook there too.
    pub unsafe fn pre_exec_vfork<F>(&mut self, hook: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        self.hooks.push(PreExec { hook: Box::new(hook), forked: false });
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

    /// The signal mask the program starts with: exactly `blocked` (`posix_spawnattr_setsigmask`).
    /// Default: the calling thread's mask at the spawn, as std.
    pub fn signal_mask(&mut self, blocked: &[Signal]) -> &mut Command {
        self.sigmask = Some(blocked.iter().fold(0u64, |m, s| m | 1 << (s.number() - 1)));
        self
    }

    /// Makes every mount in the child's (new) mount namespace private, recursively, before
    /// anything is mounted there (what `unshare --mount` does by default). A new mount
    /// namespace with [`Command::mount_proc`] always does this, so that the new `proc` cannot
    /// propagate to the parent's namespace.
    pub fn make_mounts_private(&mut self) -> &mut Command {
        self.make_private = true;
        self
    }

    /// Mounts a new `proc` on `dir` in the child (after `chroot`), as `unshare --mount-proc`;
    /// needs a new mount namespace (and a new pid namespace to show only its processes).
    /// Like `unshare --mount-proc`, it first makes every mount of the new namespace private
    /// (`mount --make-rprivate /`), so the new `proc` never shows in the parent's namespace.
    pub fn mount_proc(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.mount_proc = Some(dir.as_ref().to_owned());
        self
    }

    /// Replaces the default `CLONE_VM|CLONE_VFORK` by exactly `flags` (plus the namespaces,
    /// and `CLONE_PIDFD`/`CLONE_INTO_CGROUP` when asked for). `CLONE_CLEAR_SIGHAND` is not
    /// added. Without `CLONE_VM` the child is a fork-style copy whose exec is observed through
    /// a `CLOEXEC` pipe (`CLONE_FILES` is refused then, since it would share that pipe);
    /// `CLONE_VM` without `CLONE_VFORK` adds `CLONE_CHILD_CLEARTID` to learn when the child has
    /// exec'd. `CLONE_VFORK` cannot be combined with uid/gid maps, nor `CLONE_VM` with a
    /// std-contract `pre_exec` hook.
    pub fn clone_flags(&mut self, flags: CloneFlags) -> &mut Command {
        self.exact = Some(flags);
        self
    }

    /// Which system call to use (default: `clone3` with the cached fallback to `clone`).
    pub fn syscall(&mut self, syscall: Syscall) -> &mut Command {
        self.syscall = syscall;
        self
    }

    /// The `CLONE_*` flags a spawn issues (before the `CLONE_CLEAR_SIGHAND` fallback).
    pub fn planned_flags(&self) -> CloneFlags {
        launch::flags_for(self).unwrap_or_else(|_| self.exact.unwrap_or(CloneFlags::empty()))
    }

    /// Whether a hook with std's contract (a forked child) is set.
    pub(crate) fn forks(&self) -> bool {
        self.hooks.iter().any(|h| h.forked)
    }

    fn env_block(&self) -> Result<Vec<CString>, CommandError> {
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
        Ok(out)
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
        CommandError::new(Step::Invalid, clonekit_flags::Errno::EINVAL)
            .detail("nul byte found in provided data")
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
        const SIGUSR2: usize = Signal::SIGUSR2.number() as usize;
        const SIGWINCH: usize = Signal::SIGWINCH.number() as usize;
        clonekit_raw::sigaction_set_disposition(SIGUSR2, clonekit_raw::SIG_IGN).unwrap();
        clonekit_raw::sigaction_set_disposition(SIGWINCH, clonekit_raw::SIG_IGN).unwrap();
        let probe = || {
            let mut c = Command::new("/bin/sh");
            c.args(["-c", "grep SigIgn /proc/self/status"]);
            c
        };
        let kept = ignored_mask(&mut probe());
        let reset = ignored_mask(probe().signal_default(Signal::new(SIGUSR2 as u32).unwrap()));
        clonekit_raw::sigaction_set_disposition(SIGUSR2, clonekit_raw::SIG_DFL).unwrap();
        clonekit_raw::sigaction_set_disposition(SIGWINCH, clonekit_raw::SIG_DFL).unwrap();
        assert_ne!(kept & 1 << (SIGUSR2 - 1), 0, "SIG_IGN is inherited through exec");
        assert_eq!(reset & 1 << (SIGUSR2 - 1), 0, "signal_default resets it");
        assert_ne!(reset & 1 << (SIGWINCH - 1), 0, "and nothing else");
    }
}
