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
use crate::sys;
use clonekit_flags::{CloneFlags, Errno};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, OwnedFd};
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
    let mut flags = cmd.exact.unwrap_or(CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK) | cmd.namespaces;
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

/// Starts `cmd`'s program.
pub(crate) fn spawn(cmd: &mut Command, defaults: Defaults) -> Result<Child, CommandError> {
    let flags = flags_for(cmd)?;
    let vm = flags.contains(CloneFlags::CLONE_VM);
    let vfork = vm && flags.contains(CloneFlags::CLONE_VFORK);

    // Strings, built before the child exists.
    let program = cmd.program.as_bytes().to_vec();
    let candidates: Vec<CString> = if program.contains(&b'/') || program.is_empty() {
        vec![cstring(program.clone())?]
    } else {
        path_candidates(&program, cmd.search_path().as_deref())
    };
    let mut argv_c = Vec::with_capacity(cmd.args.len() + 1);
    argv_c.push(cstring(cmd.arg0.as_ref().map_or(program.clone(), |a| a.as_bytes().to_vec()))?);
    for a in &cmd.args {
        argv_c.push(cstring(a.as_bytes())?);
    }
    // An inherited, unchanged environment is passed as the C library's `environ`, as std and
    // posix_spawn do: no copy. (Changing the environment while another thread spawns is
    // already undefined: `std::env::set_var` is unsafe for that reason.)
    let inherit_env = !cmd.env_clear && cmd.env.is_empty();
    let env_c = if inherit_env { Vec::new() } else { cmd.env_block()?.unwrap_or_default() };
    let path_c =
        |p: &Option<std::path::PathBuf>| p.as_ref().map(|p| cstring(p.as_os_str().as_bytes())).transpose();
    let cwd = path_c(&cmd.cwd)?;
    let chroot = path_c(&cmd.chroot)?;
    let mount_proc = path_c(&cmd.mount_proc)?;
    let groups = match (&cmd.groups, cmd.uid) {
        (Some(g), _) => Some(g.clone()),
        // std: root dropping to another uid also drops its supplementary groups.
        (None, Some(_)) if rustix::process::getuid().is_root() => Some(Vec::new()),
        (None, _) => None,
    };

    let path_ptrs: Vec<*const u8> = candidates.iter().map(|c| c.as_ptr().cast::<u8>()).collect();
    let argv = null_terminated(&argv_c.iter().map(CString::as_c_str).collect::<Vec<&CStr>>());
    let envp_own = null_terminated(&env_c.iter().map(CString::as_c_str).collect::<Vec<&CStr>>());
    // SAFETY: reading the C library's `environ` pointer itself (not what it points to).
    let envp: *const *const u8 = if inherit_env { unsafe { environ } } else { envp_own.as_ptr() };

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
        Some(
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                .map_err(|e| CommandError::from_io(Step::Pipe, &e.into()))?,
        )
    };

    let parent_pid = if flags.intersects(CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_PARENT) {
        0
    } else {
        rustix::process::getpid().as_raw_nonzero().get()
    };
    let plan = ChildPlan {
        report,
        wait_gate: !cmd.maps.is_empty(),
        sigdefault: cmd.sigdefault,
        mask: 0,
        setsid: cmd.setsid,
        pgid: cmd.pgid,
        stdio: [sin.child_fd, sout.child_fd, serr.child_fd],
        make_private: cmd.make_private,
        chroot: chroot.as_deref(),
        mount_proc: mount_proc.as_deref(),
        groups: groups.as_deref(),
        gid: cmd.gid,
        uid: cmd.uid,
        cwd: cwd.as_deref(),
        pdeathsig: cmd.pdeathsig.map(|s| (s.number(), parent_pid)),
        preserve: &cmd.preserve,
        close_fds: cmd.close_fds,
        hooks: cmd.hooks.as_mut_slice() as *mut [super::plan::Hook],
        exec: ExecPlan { paths: &path_ptrs, argv: &argv, envp, err: &report.errno, last: &report.last },
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
        // nothing (pre-exec hooks are bound by `Command::pre_exec`'s contract); everything
        // it borrows lives in this frame (or its own copy of it) until it has exec'd or
        // exited, which we wait for below before leaving; signal handlers are cleared by
        // the kernel (CLONE_CLEAR_SIGHAND) or by the builder's child entry, or the child
        // has its own copy of them (no CLONE_VM).
        unsafe { b.spawn_inner(move || plan.run()) }
    };
    let first = if clear_sighand { flags | CloneFlags::CLONE_CLEAR_SIGHAND } else { flags };
    let created = match issue(first) {
        // Linux 5.3/5.4 have clone3 without CLONE_CLEAR_SIGHAND (glibc falls back alike).
        Err(CloneError::Kernel { errno, call, .. })
            if clear_sighand && errno == Errno::EINVAL && call.syscall_name() == "clone3" =>
        {
            issue(flags)
        }
        other => other,
    };
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
    handle.mark_exec();
    drop(stack);
    drop((sin.hold, sout.hold, serr.hold));

    let failure = parent_error.or_else(|| {
        report.failure().map(|(step, e)| {
            let err = CommandError::new(step, Errno::from_raw(e).unwrap_or(Errno::EIO));
            match step {
                Step::Exec => {
                    let shown = if candidates.len() == 1 {
                        candidates[0].to_string_lossy().into_owned()
                    } else {
                        String::from_utf8_lossy(&program).into_owned()
                    };
                    err.about(shown)
                }
                Step::Chdir => {
                    err.about(cmd.cwd.as_ref().map(|p| p.display().to_string()).unwrap_or_default())
                }
                Step::Chroot => {
                    err.about(cmd.chroot.as_ref().map(|p| p.display().to_string()).unwrap_or_default())
                }
                Step::MountProc => {
                    err.about(cmd.mount_proc.as_ref().map(|p| p.display().to_string()).unwrap_or_default())
                }
                _ => err,
            }
        })
    });
    if let Some(e) = failure {
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
