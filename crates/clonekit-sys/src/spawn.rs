//! [`spawn`], [`spawnp`], [`pidfd_spawn`]: a new program the way glibc's `posix_spawn`
//! starts it (sysdeps/unix/sysv/linux/spawni.c), without `fork`'s cost.
//!
//! - `clone3({CLONE_VM|CLONE_VFORK|CLONE_CLEAR_SIGHAND, exit_signal=SIGCHLD})` on a 64 KiB
//!   stack of its own (with a guard page) taken from a process-wide pool, so that a spawn
//!   maps nothing (glibc maps and unmaps a fresh one each time), all signals blocked; legacy `clone` without
//!   `CLONE_CLEAR_SIGHAND` where `clone3` is unavailable, or refuses that flag with `EINVAL`
//!   (Linux 5.3/5.4), in which case the child resets handled signals itself.
//! - The child restores the caller's signal mask and calls `execve`. Everything it needs
//!   (paths, `argv`, `envp`) was built by the parent beforehand, so the child allocates
//!   nothing and makes raw system calls only.
//! - If `execve` fails, the child stores the errno in a word of the parent's frame and exits
//!   with 127. `CLONE_VFORK` keeps the parent asleep until the child has exec'd or exited, so
//!   the parent reads that word only afterwards; on an error it reaps the child and returns
//!   [`SpawnError::Exec`]. A child killed before `execve` leaves the word at 0 and is
//!   reported as spawned (as in glibc).

use crate::builder::Clone;
use crate::child::Child;
use crate::dispatch::clone3_supported;
use crate::error::CloneError;
use crate::stack::StackPool;
use clonekit_flags::{CloneFlags, Errno, Preset};
use clonekit_raw as sys;
use rustix::io::Errno as RawErrno;
use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};

/// The spawn child's stack: glibc reserves 32 KiB for stack-clash probing; our child needs
/// far less, since `argv`/`envp` live in the parent's heap, but a [`crate::Command`]'s
/// pre-exec hooks run there too.
pub(crate) const SPAWN_STACK_SIZE: usize = 64 * 1024;

/// Pooled spawn stacks (taken for one vfork-style child, put back once it has exec'd or
/// exited), shared by [`spawn`] and [`crate::Command`].
pub(crate) static SPAWN_STACKS: StackPool = StackPool::new(SPAWN_STACK_SIZE, 256, 16);

/// The status of a spawn child whose `execve` failed (glibc's).
pub(crate) const EXEC_FAILED_STATUS: i32 = 127;

/// Why a program could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The child was created but `execve` failed; the child has been reaped.
    #[error("cannot execute {program}: {errno:#}")]
    Exec {
        /// The program (the last path tried, for [`spawnp`]).
        program: String,
        /// `execve`'s errno.
        errno: Errno,
    },
    /// The child could not be created.
    #[error(transparent)]
    Clone(#[from] CloneError),
}

impl SpawnError {
    /// The errno: `execve`'s, or the creation's.
    pub fn errno(&self) -> Errno {
        match self {
            SpawnError::Exec { errno, .. } => *errno,
            SpawnError::Clone(e) => e.errno(),
        }
    }
}

/// Starts `program` (a path; no `PATH` search) with `args` (`argv`, including `argv[0]`)
/// and the environment `env` (`"NAME=value"` strings), and returns the running child.
///
/// An `execve` failure (`ENOENT`, `EACCES`, `ENOEXEC`, ...) comes back as
/// [`SpawnError::Exec`], after the failed child has been reaped.
pub fn spawn(program: &CStr, args: &[&CStr], env: &[&CStr]) -> Result<Child, SpawnError> {
    spawn_candidates(&[program], args, env, false)
}

/// [`spawn`] with a pidfd (`CLONE_PIDFD`, as glibc 2.39's `pidfd_spawn`): the [`Child`]
/// waits and signals through it.
pub fn pidfd_spawn(program: &CStr, args: &[&CStr], env: &[&CStr]) -> Result<Child, SpawnError> {
    spawn_candidates(&[program], args, env, true)
}

/// [`spawn`] with `execvp`'s search: a `file` without a `/` is looked up in this process's
/// `PATH` (default `/bin:/usr/bin`; an empty entry means the current directory). As in
/// glibc, directories where the file is missing (`ENOENT`, `ENOTDIR`, ...) are skipped, an
/// `EACCES` is remembered and reported if nothing else works, and any other error stops the
/// search. Unlike glibc, a file that is not a valid executable (`ENOEXEC`) is not retried
/// through `/bin/sh`.
pub fn spawnp(file: &CStr, args: &[&CStr], env: &[&CStr]) -> Result<Child, SpawnError> {
    let bytes = file.to_bytes();
    if bytes.contains(&b'/') || bytes.is_empty() {
        return spawn_candidates(&[file], args, env, false);
    }
    let candidates = path_candidates(bytes, std::env::var_os("PATH").as_deref());
    let refs: Vec<&CStr> = candidates.iter().map(CString::as_c_str).collect();
    spawn_candidates(&refs, args, env, false)
}

/// `execvp`'s candidates for a `file` without a `/`: each directory of `path` (default
/// `/bin:/usr/bin`; an empty entry means the current directory) joined with `file`.
pub(crate) fn path_candidates(file: &[u8], path: Option<&OsStr>) -> Vec<CString> {
    let path = path.map_or(b"/bin:/usr/bin".as_slice(), |p| OsStr::as_bytes(p));
    path.split(|&b| b == b':')
        .filter_map(|dir| {
            let dir = if dir.is_empty() { b".".as_slice() } else { dir };
            let mut full = Vec::with_capacity(dir.len() + 1 + file.len());
            full.extend_from_slice(dir);
            full.push(b'/');
            full.extend_from_slice(file);
            CString::new(full).ok()
        })
        .collect()
}

pub(crate) fn null_terminated(strings: &[&CStr]) -> Vec<*const u8> {
    strings.iter().map(|s| s.as_ptr().cast::<u8>()).chain([ptr::null()]).collect()
}

/// What the child does: try each path in turn, report the errno.
pub(crate) struct ExecPlan<'a> {
    pub(crate) paths: &'a [*const u8],
    pub(crate) argv: &'a [*const u8],
    /// The NULL-terminated environment array (ours, or the C library's `environ`).
    pub(crate) envp: *const *const u8,
    pub(crate) err: &'a AtomicI32,
    pub(crate) last: &'a AtomicI32,
}

impl ExecPlan<'_> {
    /// Runs in the child: raw syscalls and atomics only, no allocation.
    pub(crate) fn run(&self) -> i32 {
        let mut saw_eacces = false;
        let mut last = RawErrno::NOENT;
        let mut stopped = false;
        for (i, &path) in self.paths.iter().enumerate() {
            self.last.store(i as i32, Ordering::Relaxed);
            // SAFETY: `path` and the arrays are NUL-/NULL-terminated, built by the parent,
            // which sleeps (CLONE_VFORK) until we exec or exit.
            let e = unsafe { sys::execve(path, self.argv.as_ptr(), self.envp) };
            last = e;
            match e {
                RawErrno::ACCESS => saw_eacces = true,
                RawErrno::NOENT
                | RawErrno::NOTDIR
                | RawErrno::STALE
                | RawErrno::NODEV
                | RawErrno::TIMEDOUT => {}
                _ => {
                    stopped = true;
                    break;
                }
            }
        }
        let e = if saw_eacces && !stopped { RawErrno::ACCESS } else { last };
        self.err.store(e.raw_os_error(), Ordering::Release);
        EXEC_FAILED_STATUS
    }
}

fn spawn_candidates(
    paths: &[&CStr],
    args: &[&CStr],
    env: &[&CStr],
    pidfd: bool,
) -> Result<Child, SpawnError> {
    let path_ptrs: Vec<*const u8> = paths.iter().map(|p| p.as_ptr().cast::<u8>()).collect();
    let argv = null_terminated(args);
    let envp = null_terminated(env);
    let err = AtomicI32::new(0);
    let last = AtomicI32::new(0);
    let plan = ExecPlan { paths: &path_ptrs, argv: &argv, envp: envp.as_ptr(), err: &err, last: &last };

    // glibc posix_spawn's flags; with CLONE_CLEAR_SIGHAND only where clone3 can carry it.
    let clear_sighand = clone3_supported();
    let flags = if clear_sighand {
        Preset::GlibcPosixSpawn.flags()
    } else {
        Preset::GlibcPosixSpawnNoClearSighand.flags()
    };
    let stack = SPAWN_STACKS.take().map_err(|e| CloneError::Stack { size: SPAWN_STACK_SIZE, source: e })?;
    let issue = |flags: CloneFlags| {
        let plan = &plan;
        let builder = Clone::new().flags(flags).pidfd(pidfd);
        // SAFETY: CLONE_VM|CLONE_VFORK: this thread sleeps until the child execs or exits,
        // so the borrowed plan and the lent stack outlive every use; the child makes raw
        // syscalls only and allocates nothing; handlers are cleared (by the kernel or by
        // the child) before it unblocks signals.
        unsafe { builder.lend_stack(stack.get()).spawn_inner(move || plan.run()) }
    };
    let child = match issue(flags) {
        // Linux 5.3/5.4 have clone3 but not CLONE_CLEAR_SIGHAND (glibc falls back the same way).
        Err(CloneError::Kernel { errno, call, .. })
            if clear_sighand && errno == Errno::EINVAL && call.syscall_name() == "clone3" =>
        {
            issue(flags - CloneFlags::CLONE_CLEAR_SIGHAND)
        }
        other => other,
    };
    // CLONE_VFORK: the child has exec'd or exited, the stack is free again.
    drop(stack);
    let mut child = child?;
    let e = err.load(Ordering::Acquire);
    if e != 0 {
        // Reap the failed child before reporting: no zombie is left behind.
        let _ = child.wait();
        let idx = (last.load(Ordering::Relaxed).max(0) as usize).min(paths.len().saturating_sub(1));
        let program = paths.get(idx).map_or_else(String::new, |p| p.to_string_lossy().into_owned());
        return Err(SpawnError::Exec { program, errno: Errno::from_raw(e).unwrap_or(Errno::EIO) });
    }
    Ok(child)
}
