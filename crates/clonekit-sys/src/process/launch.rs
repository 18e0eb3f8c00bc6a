//! The parent's half of a [`Command`] spawn: prepare everything, make one `clone`, and
//! learn how the child's setup and `execve` went.
//!
//! Three ways to learn it, by the flags:
//!
//! - `CLONE_VM|CLONE_VFORK` (the default): this thread sleeps until the child has exec'd or
//!   exited; the report lives in this frame.
//! - `CLONE_VM` without `CLONE_VFORK` (uid/gid maps, see `userns.rs`): `CLONE_CHILD_CLEARTID`
//!   on the report's `alive` word, which the kernel clears and wakes at exec or exit.
//! - no `CLONE_VM` (a fork-style copy, [`Command::clone_flags`]): the report lives in a
//!   `MAP_SHARED` page, and the end of a `CLOEXEC` pipe tells that the child has exec'd.

use super::child::Child;
use super::error::{CommandError, Step};
use super::plan::{ChildPlan, Report};
use super::stdio::{self, Stdio};
use super::{cstring, Command};
use crate::builder::Clone;
use crate::dispatch::clone3_supported;
use crate::error::CloneError;
use crate::spawn::{null_terminated, path_candidates, ExecPlan, SPAWN_STACKS, SPAWN_STACK_SIZE};
use clonekit_flags::{CloneFlags, Errno};
use clonekit_raw as sys;
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::ptr;
use std::sync::atomic::Ordering;

extern "C" {
    /// The C library's environment (`environ(7)`).
    static environ: *const *const u8;
}

/// The default standard streams of a spawn.
#[derive(Clone, Copy)]
pub(crate) struct Defaults {
    stdin: fn() -> Stdio,
    stdout: fn() -> Stdio,
    stderr: fn() -> Stdio,
}

impl Defaults {
    pub(crate) const INHERIT: Defaults =
        Defaults { stdin: Stdio::inherit, stdout: Stdio::inherit, stderr: Stdio::inherit };
    pub(crate) const OUTPUT: Defaults =
        Defaults { stdin: Stdio::null, stdout: Stdio::piped, stderr: Stdio::piped };
}

/// The flags for `cmd`, before `CLONE_CLEAR_SIGHAND`, `CLONE_PIDFD` and `CLONE_INTO_CGROUP`.
pub(crate) fn flags_for(cmd: &Command) -> Result<CloneFlags, CommandError> {
    let invalid = |why: &str| CommandError::new(Step::Invalid, Errno::EINVAL).detail(why);
    let maps = !cmd.maps.is_empty();
    // std's pre_exec contract is a forked child: no CLONE_VM.
    let default =
        if cmd.forks() { CloneFlags::empty() } else { CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK };
    let mut flags = cmd.exact.unwrap_or(default) | cmd.namespaces;
    if cmd.forks() && flags.contains(CloneFlags::CLONE_VM) {
        return Err(invalid("a pre_exec hook runs in a forked child: no CLONE_VM (see pre_exec_vfork)"));
    }
    if (cmd.make_private || cmd.mount_proc.is_some()) && !flags.contains(CloneFlags::CLONE_NEWNS) {
        return Err(invalid(
            "make_mounts_private and mount_proc need a new mount namespace (CLONE_NEWNS): they would change ours",
        ));
    }
    if cmd.exact.is_none() && maps {
        // The parent must stay awake to write the maps (userns.rs).
        flags -= CloneFlags::CLONE_VFORK;
    }
    if maps && flags.contains(CloneFlags::CLONE_VFORK) {
        return Err(invalid("uid/gid maps need the parent awake, so no CLONE_VFORK"));
    }
    if maps && !flags.contains(CloneFlags::CLONE_NEWUSER) {
        return Err(invalid("uid/gid maps need a new user namespace (CLONE_NEWUSER)"));
    }
    let vm = flags.contains(CloneFlags::CLONE_VM);
    if !vm && flags.contains(CloneFlags::CLONE_FILES) {
        return Err(invalid("CLONE_FILES without CLONE_VM would share the exec-status pipe"));
    }
    if vm && !flags.contains(CloneFlags::CLONE_VFORK) {
        flags |= CloneFlags::CLONE_CHILD_CLEARTID;
    }
    Ok(flags)
}

/// A `MAP_SHARED` page holding the report of a fork-style child.
struct SharedPage(*mut Report);

impl SharedPage {
    fn new() -> Result<SharedPage, CommandError> {
        // SAFETY: a fresh anonymous shared mapping aliases nothing.
        let p = unsafe {
            rustix::mm::mmap_anonymous(
                ptr::null_mut(),
                crate::stack::PAGE,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
            )
        }
        .map_err(|e| CommandError::from_io(Step::Pipe, &e.into()))?
        .cast::<Report>();
        // SAFETY: the page is mapped, writable and aligned for Report.
        unsafe { ptr::write(p, Report::new()) };
        Ok(SharedPage(p))
    }

    fn report(&self) -> &Report {
        // SAFETY: initialised in `new`, mapped until drop.
        unsafe { &*self.0 }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: our mapping; the child has exec'd or exited before we drop it.
        let _ = unsafe { rustix::mm::munmap(self.0.cast(), crate::stack::PAGE) };
    }
}

/// What a spawn or an exec prepares before any child exists: every string as a C string,
/// the fds moved where the child's `dup2`s cannot overwrite them.
struct Prepared {
    program: Vec<u8>,
    candidates: Vec<CString>,
    argv: Vec<CString>,
    /// `None`: the environment is inherited unchanged (the C library's `environ`).
    env: Option<Vec<CString>>,
    cwd: Option<CString>,
    chroot: Option<CString>,
    mount_proc: Option<CString>,
    groups: Option<Vec<u32>>,
    /// Fd mappings `(source, target)`; the sources are owned here until the child has exec'd.
    fds: Vec<(OwnedFd, i32)>,
    /// What `close_inherited_fds` keeps (≥ 3, sorted).
    keep: Vec<i32>,
    /// The lowest fd number above every mapping target: where this spawn's own fds go.
    floor: i32,
}

fn prepare(cmd: &mut Command) -> Result<Prepared, CommandError> {
    let program = cmd.program.as_bytes().to_vec();
    let candidates: Vec<CString> = if program.contains(&b'/') || program.is_empty() {
        vec![cstring(program.clone())?]
    } else {
        path_candidates(&program, cmd.search_path().as_deref())
    };
    let mut argv = Vec::with_capacity(cmd.args.len() + 1);
    argv.push(cstring(cmd.arg0.as_ref().map_or(program.clone(), |a| a.as_bytes().to_vec()))?);
    for a in &cmd.args {
        argv.push(cstring(a.as_bytes())?);
    }
    // An inherited, unchanged environment is passed as the C library's `environ`, as std and
    // posix_spawn do: no copy. (Changing the environment while another thread spawns is
    // already undefined: `std::env::set_var` is unsafe for that reason.)
    let env = if !cmd.env_clear && cmd.env.is_empty() { None } else { Some(cmd.env_block()?) };
    let path_c =
        |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| cstring(p.as_os_str().as_bytes())).transpose();
    let groups = match (&cmd.groups, cmd.uid) {
        (Some(g), _) => Some(g.clone()),
        // std: root dropping to another uid also drops its supplementary groups.
        (None, Some(_)) if rustix::process::getuid().is_root() => Some(Vec::new()),
        (None, _) => None,
    };
    // The mappings are taken: their fds are closed in the parent once the child has them.
    let floor = cmd.fds.iter().map(|(t, _)| *t).max().unwrap_or(2).max(2) + 1;
    let mut fds = Vec::with_capacity(cmd.fds.len());
    for (target, src) in std::mem::take(&mut cmd.fds) {
        if target < 0 {
            return Err(CommandError::new(Step::MapFd, Errno::EBADF).detail(format!("child fd {target}")));
        }
        let moved = rustix::io::fcntl_dupfd_cloexec(&src, floor)
            .map_err(|e| CommandError::from_io(Step::DupFd, &e.into()))?;
        fds.push((moved, target));
    }
    let mut keep: Vec<i32> =
        cmd.preserve.iter().copied().chain(fds.iter().map(|(_, t)| *t)).filter(|&t| t > 2).collect();
    keep.sort_unstable();
    keep.dedup();
    Ok(Prepared {
        cwd: path_c(&cmd.cwd)?,
        chroot: path_c(&cmd.chroot)?,
        mount_proc: path_c(&cmd.mount_proc)?,
        program,
        candidates,
        argv,
        env,
        groups,
        fds,
        keep,
        floor,
    })
}

/// Moves `fd` to `floor` or above (`F_DUPFD_CLOEXEC`) if it is below.
fn above(fd: OwnedFd, floor: i32) -> Result<OwnedFd, CommandError> {
    if fd.as_raw_fd() >= floor {
        return Ok(fd);
    }
    rustix::io::fcntl_dupfd_cloexec(&fd, floor).map_err(|e| CommandError::from_io(Step::DupFd, &e.into()))
}

/// The calling thread's signal mask, which the program starts with (as with std).
fn caller_mask() -> sys::SigSet {
    const SIG_BLOCK: usize = 0;
    sys::rt_sigprocmask(SIG_BLOCK, Some(&0)).unwrap_or(0)
}

/// The error of the failed step `step`, naming what it worked on.
fn failure(cmd: &Command, prep: &Prepared, step: Step, errno: i32) -> CommandError {
    let err = CommandError::new(step, Errno::from_raw(errno).unwrap_or(Errno::EIO));
    let shown =
        |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    match step {
        Step::Exec => {
            let shown = if prep.candidates.len() == 1 {
                prep.candidates[0].to_string_lossy().into_owned()
            } else {
                String::from_utf8_lossy(&prep.program).into_owned()
            };
            err.about(shown)
        }
        Step::Chdir => err.about(shown(&cmd.cwd)),
        Step::Chroot => err.about(shown(&cmd.chroot)),
        Step::MountProc => err.about(shown(&cmd.mount_proc)),
        _ => err,
    }
}

/// Starts `cmd`'s program.
pub(crate) fn spawn(cmd: &mut Command, defaults: Defaults) -> Result<Child, CommandError> {
    let flags = flags_for(cmd)?;
    let vm = flags.contains(CloneFlags::CLONE_VM);
    let vfork = vm && flags.contains(CloneFlags::CLONE_VFORK);
    let prep = prepare(cmd)?;

    let path_ptrs: Vec<*const u8> = prep.candidates.iter().map(|c| c.as_ptr().cast::<u8>()).collect();
    let argv = null_terminated(&prep.argv.iter().map(CString::as_c_str).collect::<Vec<&CStr>>());
    let env_c = prep.env.as_deref().unwrap_or_default();
    let envp_own = null_terminated(&env_c.iter().map(CString::as_c_str).collect::<Vec<&CStr>>());
    // SAFETY: reading the C library's `environ` pointer itself (not what it points to).
    let envp: *const *const u8 = if prep.env.is_none() { unsafe { environ } } else { envp_own.as_ptr() };

    // Standard streams.
    let sin = stdio::prepare(cmd.stdin.as_ref(), defaults.stdin, 0)?;
    let sout = stdio::prepare(cmd.stdout.as_ref(), defaults.stdout, 1)?;
    let serr = stdio::prepare(cmd.stderr.as_ref(), defaults.stderr, 2)?;

    // The cgroup, opened once per command.
    if let (Some(dir), None) = (&cmd.cgroup, &cmd.cgroup_fd) {
        let fd = rustix::fs::open(
            dir,
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| CommandError::from_io(Step::OpenCgroup, &e.into()).about(dir.display().to_string()))?;
        cmd.cgroup_fd = Some(fd);
    }

    // Where the report lives, and how the exec is observed.
    let frame_report = Report::new();
    let page = if vm { None } else { Some(SharedPage::new()?) };
    let report: &Report = page.as_ref().map_or(&frame_report, SharedPage::report);
    let exec_pipe: Option<(OwnedFd, OwnedFd)> = if vm {
        None
    } else {
        let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
            .map_err(|e| CommandError::from_io(Step::Pipe, &e.into()))?;
        // Above every mapping target, so no mapping closes it in the child before the exec.
        Some((r, above(w, prep.floor)?))
    };

    let parent_pid = if flags.intersects(CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_PARENT) {
        0
    } else {
        rustix::process::getpid().as_raw_nonzero().get()
    };
    let fd_pairs: Vec<(i32, i32)> = prep.fds.iter().map(|(src, t)| (src.as_raw_fd(), *t)).collect();
    let hooks = cmd.hooks.as_mut_slice() as *mut [super::PreExec];
    let streams = [sin.child_fd, sout.child_fd, serr.child_fd];
    let exec = ExecPlan { paths: &path_ptrs, argv: &argv, envp, err: &report.errno, last: &report.last };
    let plan = ChildPlan {
        wait_gate: !cmd.maps.is_empty(),
        make_private: private_mounts(cmd, flags),
        pdeathsig: cmd.pdeathsig.map(|s| (s.number(), parent_pid)),
        abort_on_panic: !vm && cmd.forks(),
        ..plan_for(cmd, &prep, report, streams, &fd_pairs, hooks, exec)
    };

    let stack = if vm {
        Some(SPAWN_STACKS.take().map_err(|e| {
            CommandError::from_io(Step::Clone, &e).detail(format!("a {SPAWN_STACK_SIZE}-byte stack"))
        })?)
    } else {
        None
    };
    let clear_sighand =
        cmd.exact.is_none() && cmd.syscall != crate::dispatch::Syscall::Clone && clone3_supported();
    let issue = |flags: CloneFlags| {
        let plan = &plan;
        let mut b = Clone::new().flags(flags).pidfd(cmd.pidfd).syscall(cmd.syscall);
        if let Some(fd) = &cmd.cgroup_fd {
            b = b.cgroup(fd.as_fd());
        }
        if flags.contains(CloneFlags::CLONE_CHILD_CLEARTID) {
            b = b.child_tid(report.alive.as_ptr().cast::<i32>());
        }
        if let Some(s) = &stack {
            // SAFETY: the pooled stack is dropped (returned) only after the child has
            // exec'd or exited: CLONE_VFORK, or the `alive` wait below.
            b = unsafe { b.lend_stack(s.get()) };
        }
        // SAFETY: the child runs `plan.run()`, which makes raw syscalls only and allocates
        // nothing (pre-exec hooks are bound by their own contracts: `pre_exec_vfork`'s on the
        // vfork path, std's `pre_exec` only in a forked copy); everything it borrows lives in
        // this frame (or its own copy of it) until it has exec'd or exited, which we wait for
        // below before leaving; signal handlers are cleared by the kernel
        // (CLONE_CLEAR_SIGHAND) or by the builder's child entry, or the child has its own
        // copy of them (no CLONE_VM).
        unsafe { b.spawn_inner(move || plan.run()) }
    };
    let first = if clear_sighand { flags | CloneFlags::CLONE_CLEAR_SIGHAND } else { flags };
    // A forked child running std-contract hooks panics into the dispatcher hook installed
    // here, and no hook change of clonekit's may be under way while it is forked.
    let forked_hooks = cmd.forks().then(super::plan::ForkedHooks::prepare);
    let created = match issue(first) {
        // Linux 5.3/5.4 have clone3 without CLONE_CLEAR_SIGHAND (glibc falls back alike).
        Err(CloneError::Kernel { errno, call, .. })
            if clear_sighand && errno == Errno::EINVAL && call.syscall_name() == "clone3" =>
        {
            issue(flags)
        }
        other => other,
    };
    drop(forked_hooks);
    let mut handle = match created {
        Ok(h) => h,
        Err(e) => return Err(CommandError::new(Step::Clone, e.errno()).detail(e.to_string())),
    };

    // The handshake, for a child waiting at the gate.
    let mut parent_error = None;
    if plan.wait_gate {
        let result = cmd.maps.write(handle.pid());
        report.gate.store(if result.is_ok() { 1 } else { 2 }, Ordering::Release);
        sys::futex_wake(&report.gate);
        parent_error = result.err();
    }
    // Until the child has exec'd or exited.
    if !vfork {
        if vm {
            loop {
                let v = report.alive.load(Ordering::Acquire);
                if v == 0 {
                    break;
                }
                sys::futex_wait(&report.alive, v);
            }
        } else if let Some((r, w)) = exec_pipe {
            drop(w);
            let mut b = [0u8; 1];
            while let Err(e) = rustix::io::read(&r, &mut b) {
                if e != rustix::io::Errno::INTR {
                    break;
                }
            }
        }
    }
    if report.hook_lost.load(Ordering::Acquire) {
        super::plan::HOOK_LOST.store(true, Ordering::Relaxed);
    }
    handle.mark_exec();
    drop(stack);
    drop((sin.hold, sout.hold, serr.hold));

    let failed = parent_error.or_else(|| report.failure().map(|(step, e)| failure(cmd, &prep, step, e)));
    drop(prep);
    if let Some(e) = failed {
        // Reap the failed child before reporting: no zombie is left behind.
        let _ = handle.wait();
        return Err(e);
    }
    Ok(Child::new(
        handle,
        stdio::stdin_end(sin.parent_end),
        stdio::stdout_end(sout.parent_end),
        stdio::stderr_end(serr.parent_end),
    ))
}

/// Whether the child makes its mounts private first: asked for, or implied by a new `proc`
/// (which would otherwise propagate through a shared mount to the parent's namespace).
fn private_mounts(cmd: &Command, flags: CloneFlags) -> bool {
    (cmd.make_private || cmd.mount_proc.is_some()) && flags.contains(CloneFlags::CLONE_NEWNS)
}

/// Runs `cmd`'s program in place of this process (`CommandExt::exec`): the same steps as a
/// child's, taken by the calling thread, then `execve`. Returns only on failure.
pub(crate) fn exec(cmd: &mut Command) -> CommandError {
    let invalid = |why: &str| CommandError::new(Step::Invalid, Errno::EINVAL).detail(why);
    if !cmd.namespaces.is_empty() || cmd.exact.is_some() || !cmd.maps.is_empty() || cmd.cgroup.is_some() {
        return invalid(
            "exec replaces this process: namespaces, clone flags, id maps and cgroups need a new one",
        );
    }
    if cmd.make_private || cmd.mount_proc.is_some() {
        return invalid("exec would change this process's own mount namespace");
    }
    let prep = match prepare(cmd) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let path_ptrs: Vec<*const u8> = prep.candidates.iter().map(|c| c.as_ptr().cast::<u8>()).collect();
    let argv = null_terminated(&prep.argv.iter().map(CString::as_c_str).collect::<Vec<&CStr>>());
    let env_c = prep.env.as_deref().unwrap_or_default();
    let envp_own = null_terminated(&env_c.iter().map(CString::as_c_str).collect::<Vec<&CStr>>());
    // SAFETY: reading the C library's `environ` pointer itself (not what it points to).
    let envp: *const *const u8 = if prep.env.is_none() { unsafe { environ } } else { envp_own.as_ptr() };
    let streams = (
        stdio::prepare(cmd.stdin.as_ref(), Stdio::inherit, 0),
        stdio::prepare(cmd.stdout.as_ref(), Stdio::inherit, 1),
        stdio::prepare(cmd.stderr.as_ref(), Stdio::inherit, 2),
    );
    let (sin, sout, serr) = match streams {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
    };
    let report = Report::new();
    let fd_pairs: Vec<(i32, i32)> = prep.fds.iter().map(|(src, t)| (src.as_raw_fd(), *t)).collect();
    let hooks = cmd.hooks.as_mut_slice() as *mut [super::PreExec];
    let streams = [sin.child_fd, sout.child_fd, serr.child_fd];
    let exec = ExecPlan { paths: &path_ptrs, argv: &argv, envp, err: &report.errno, last: &report.last };
    let plan =
        ChildPlan { mount_proc: None, ..plan_for(cmd, &prep, &report, streams, &fd_pairs, hooks, exec) };
    plan.run();
    drop((sin, sout, serr));
    let (step, errno) = report.failure().unwrap_or((Step::Exec, Errno::EIO.raw()));
    failure(cmd, &prep, step, errno)
}

/// The plan of `cmd`'s child as `exec` takes it in place (no handshake, mounts, parent-death
/// check or forked hooks); a spawn adds those.
fn plan_for<'a>(
    cmd: &'a Command,
    prep: &'a Prepared,
    report: &'a Report,
    stdio: [Option<i32>; 3],
    fds: &'a [(i32, i32)],
    hooks: *mut [super::PreExec],
    exec: ExecPlan<'a>,
) -> ChildPlan<'a> {
    ChildPlan {
        report,
        wait_gate: false,
        sigdefault: cmd.sigdefault,
        mask: cmd.sigmask.unwrap_or_else(caller_mask),
        setsid: cmd.setsid,
        pgid: cmd.pgid,
        stdio,
        fds,
        make_private: false,
        chroot: prep.chroot.as_deref(),
        mount_proc: prep.mount_proc.as_deref(),
        groups: prep.groups.as_deref(),
        gid: cmd.gid,
        uid: cmd.uid,
        cwd: prep.cwd.as_deref(),
        pdeathsig: cmd.pdeathsig.map(|s| (s.number(), 0)),
        preserve: &cmd.preserve,
        keep: &prep.keep,
        close_fds: cmd.close_fds,
        hooks,
        abort_on_panic: false,
        exec,
    }
}
