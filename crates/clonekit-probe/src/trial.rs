//! Trials: one creation call issued on the kernel exactly as given (flags, exit signal, sizes,
//! pointers, `set_tid` contents, bytes past the struct), from a caller in a chosen state, to
//! learn the errno the kernel answers with. This is how `clonekit check` tries every
//! validation rule of clonekit-flags on the running kernel.
//!
//! Each trial runs in a throw-away child of the calling process (a fork), which first puts
//! itself in the state the rule needs ([`Setup`]: a pid-namespace init, chrooted, without
//! privileges, with a resource limit at zero…), then makes the call. Should the call succeed,
//! its child exits at once through a trampoline that touches no memory at all (not even a
//! stack), so that whatever the flags say (`CLONE_VM` without a stack, a bogus TLS, a thread)
//! nothing can go wrong in it; the throw-away child reaps it, and a `CLONE_PARENT` child
//! becomes ours and is reaped here. Nothing outlives the trial.
//!
//! Pointers in the call are used as given, except the placeholder [`VALID`], which stands for
//! real memory prepared by the trial: a zeroed scratch word for tid and pidfd pointers, a
//! mapped region of `stack_size` bytes for `stack`, the trial's `set_tid` array for
//! `set_tid`, and the setup's cgroup directory fd for `cgroup`.

use core::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use clonekit_flags::{CloneArgs, CloneCall, CloneFlags, Errno, ExitSignal, CLONE_ARGS_SIZE_VER2};
use rustix::fd::AsRawFd;
use rustix::io;

use clonekit_raw::{self as raw, check, nr, syscall4};
use clonekit_sys::Clone;

use crate::observe::{ProbeCgroup, SharedPage};

/// The placeholder for "a valid pointer (or fd) prepared by the trial".
pub const VALID: u64 = 1;

/// The state the calling task is put in before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// An ordinary process: this one's credentials and namespaces.
    Plain,
    /// The init (pid 1) of a new pid namespace (`SIGNAL_UNKILLABLE`).
    PidNsInit,
    /// After `unshare(CLONE_NEWPID)`: its children go to a pid namespace it is not in.
    AfterUnshareNewpid,
    /// After `unshare(CLONE_NEWPID)` and the exit of the new namespace's init: the namespace
    /// is dying.
    DyingPidNs,
    /// `chroot("/tmp")`ed.
    Chrooted,
    /// uid 65534 (nobody): no capabilities in the initial user namespace.
    Unprivileged,
    /// In a new user namespace in which its own uid and gid are not mapped.
    UnmappedUserNs,
    /// uid 65534 with `RLIMIT_NPROC` at 0.
    NprocLimitZero,
    /// `RLIMIT_NOFILE` at 0: no fd can be allocated.
    NofileLimitZero,
    /// In a new user namespace whose `user.max_mnt_namespaces` is 0.
    MntNamespacesLimitZero,
    /// In a new user namespace whose `user.max_pid_namespaces` is 0.
    PidNamespacesLimitZero,
    /// The pid namespace nesting at its maximum (32 levels below the initial one).
    DeepestPidNs,
    /// `cgroup` is the fd of an ordinary directory (`/`), not a cgroup2 one.
    NotACgroupDir,
    /// `cgroup` is the fd of a cgroup2 directory that has been removed.
    DeadCgroup,
    /// uid 65534, and `cgroup` is the fd of a root-owned cgroup2 directory.
    UnwritableCgroup,
}

impl Setup {
    /// What the setup needs that a machine may lack: a cgroup2 hierarchy.
    fn needs_cgroup(self) -> bool {
        matches!(self, Setup::DeadCgroup | Setup::UnwritableCgroup)
    }
}

/// One call to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    /// The call, with [`VALID`] placeholders where real memory is wanted.
    pub call: CloneCall,
    /// What the `set_tid` array holds when `set_tid` is [`VALID`].
    pub set_tid: Vec<i32>,
    /// For `clone3`: place the struct so that every byte past the first 64 is unreadable
    /// (the kernel faults copying the rest).
    pub unreadable_tail: bool,
    /// The caller's state.
    pub setup: Setup,
}

impl Trial {
    /// A trial of `call` from a plain caller.
    pub fn new(call: CloneCall) -> Trial {
        Trial { call, set_tid: Vec::new(), unreadable_tail: false, setup: Setup::Plain }
    }

    /// The same trial from a caller in `setup`.
    pub fn with_setup(mut self, setup: Setup) -> Trial {
        self.setup = setup;
        self
    }

    /// The same trial with this `set_tid` array.
    pub fn with_set_tid(mut self, tids: &[i32]) -> Trial {
        self.set_tid = tids.to_vec();
        self
    }
}

/// What the kernel answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The call succeeded (its child exited at once and was reaped).
    Created,
    /// The call failed with this errno.
    Refused(Errno),
}

/// Why a trial could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TrialError {
    /// The machine lacks what the setup needs (the reason names it).
    #[error("{0}")]
    Unavailable(String),
    /// The setup or the call's machinery failed.
    #[error("trial machinery failed: {0}")]
    Machinery(#[from] io::Errno),
    /// The throw-away child did not finish in time and was killed.
    #[error("trial timed out")]
    TimedOut,
}

const SLOT_ANSWER: usize = 0;
const SLOT_SETUP_ERR: usize = 1;
const SLOT_PARENT_CHILD: usize = 2;

/// Tries `trial` on the kernel.
pub fn run(trial: &Trial) -> Result<Answer, TrialError> {
    let cgroup = if trial.setup.needs_cgroup() {
        Some(
            ProbeCgroup::create()
                .map_err(|e| TrialError::Unavailable(format!("no cgroup v2 hierarchy ({e})")))?,
        )
    } else {
        None
    };
    let not_cgroup = if trial.setup == Setup::NotACgroupDir {
        Some(rustix::fs::open(
            c"/",
            rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )?)
    } else {
        None
    };
    let cgroup_fd = match (&cgroup, &not_cgroup) {
        (Some(cg), _) => Some(cg.dir_fd().as_raw_fd()),
        (None, Some(fd)) => Some(fd.as_raw_fd()),
        _ => None,
    };
    if trial.setup == Setup::DeadCgroup {
        if let Some(cg) = &cgroup {
            cg.remove_dir()?;
        }
    }
    let prepared = Prepared::new(trial, cgroup_fd)?;
    let page = SharedPage::new()?;
    let (p, prep, setup) = (&page, &prepared, trial.setup);
    let flags = if setup == Setup::PidNsInit { CloneFlags::CLONE_NEWPID } else { CloneFlags::empty() };
    let body = move || {
        if let Err(e) = enter(setup) {
            p.slot(SLOT_SETUP_ERR).store(e.raw_os_error() as u64, SeqCst);
            return 1;
        }
        let ret = prep.issue();
        p.slot(SLOT_ANSWER).store(ret as u64, SeqCst);
        if ret > 0 {
            if prep.is_parent() {
                p.slot(SLOT_PARENT_CHILD).store(ret as u64, SeqCst);
            } else if !prep.is_thread() {
                let _ = raw::wait4(ret as i32, raw::WALL);
            }
        }
        0
    };
    let depth = if setup == Setup::DeepestPidNs {
        MAX_PID_NS_LEVEL.saturating_sub(deepest_setup_level()?)
    } else {
        0
    };
    // SAFETY: the throw-away child (and, for the deepest setup, its chain of descendants)
    // makes raw system calls only, on memory prepared above, which stays alive until it is
    // reaped below; it allocates nothing.
    let mut child =
        unsafe {
            Clone::new().flags(flags).spawn(move || {
                if depth > 0 {
                    nest_pid_namespaces(depth, &body)
                } else {
                    body()
                }
            })
        }
        .map_err(|e| io::Errno::from_raw_os_error(e.errno().raw()))?;
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > Duration::from_secs(10) => {
                let _ = child.kill(clonekit_flags::Signal::SIGKILL);
                let _ = child.wait();
                return Err(TrialError::TimedOut);
            }
            Ok(None) => std::thread::sleep(Duration::from_micros(100)),
            Err(e) => {
                return Err(TrialError::Machinery(io::Errno::from_io_error(&e).unwrap_or(io::Errno::IO)))
            }
        }
    }
    let grandchild = page.slot(SLOT_PARENT_CHILD).load(SeqCst) as i32;
    if grandchild > 0 {
        let _ = raw::wait4(grandchild, raw::WALL);
    }
    let setup_err = page.slot(SLOT_SETUP_ERR).load(SeqCst) as i32;
    if setup_err != 0 {
        return Err(TrialError::Machinery(io::Errno::from_raw_os_error(setup_err)));
    }
    let ret = page.slot(SLOT_ANSWER).load(SeqCst) as i64;
    drop(prepared);
    drop(cgroup);
    Ok(if ret > 0 {
        Answer::Created
    } else {
        Answer::Refused(Errno::from_raw(-ret as i32).unwrap_or(Errno::EINVAL))
    })
}

/// The call with its placeholders resolved to real memory.
struct Prepared {
    region: Region,
    legacy: Option<[u64; 5]>,
    clone3_at: usize,
    clone3_size: usize,
    flags: CloneFlags,
}

// SAFETY: `Prepared` only holds addresses of its own mappings, read by the throw-away child.
unsafe impl Sync for Prepared {}

/// An anonymous private mapping: [scratch page][stack area][struct area][guard page].
struct Region {
    base: *mut u8,
    len: usize,
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours; the throw-away child that used it has been reaped.
        let _ = unsafe { rustix::mm::munmap(self.base.cast(), self.len) };
    }
}

const PAGE: usize = 4096;

impl Prepared {
    fn new(trial: &Trial, cgroup_fd: Option<i32>) -> io::Result<Prepared> {
        let k = trial.call.kernel_args();
        let stack_len = match &trial.call {
            CloneCall::Clone3 { args, .. } if args.stack == VALID => {
                (args.stack_size as usize).div_ceil(PAGE) * PAGE
            }
            _ => 0,
        };
        let size = match &trial.call {
            CloneCall::Clone3 { size, .. } => *size as usize,
            _ => 0,
        };
        let struct_len = size.max(CLONE_ARGS_SIZE_VER2).div_ceil(PAGE) * PAGE;
        let len = PAGE + stack_len.min(1 << 30) + struct_len + PAGE;
        use rustix::mm::{mmap_anonymous, mprotect, MapFlags, MprotectFlags, ProtFlags};
        // SAFETY: a fresh private anonymous mapping aliases nothing.
        let base = unsafe {
            mmap_anonymous(core::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE)?
        }
        .cast::<u8>();
        let region = Region { base, len };
        let guard = len - PAGE;
        // SAFETY: the last page is inside our mapping.
        unsafe { mprotect(base.add(guard).cast(), PAGE, MprotectFlags::empty())? };
        let scratch = base as u64;
        let resolve = |v: u64, real: u64| if v == VALID { real } else { v };

        // The set_tid array lives in the scratch page, after two words used by tid pointers.
        let set_tid_at = scratch + 64;
        for (i, t) in trial.set_tid.iter().take(200).enumerate() {
            // SAFETY: offset 64 + 4*i < 4096 is inside the scratch page.
            unsafe { base.add(64 + 4 * i).cast::<i32>().write(*t) };
        }
        let legacy = match trial.call {
            CloneCall::Clone { flags, stack, parent_tid, child_tid, tls } => Some([
                flags,
                resolve(stack, scratch + PAGE as u64),
                resolve(parent_tid, scratch),
                resolve(child_tid, scratch + 8),
                tls,
            ]),
            CloneCall::Fork => Some([ExitSignal::SIGCHLD.raw(), 0, 0, 0, 0]),
            CloneCall::Vfork => Some([
                (CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK).bits() | ExitSignal::SIGCHLD.raw(),
                0,
                0,
                0,
                0,
            ]),
            CloneCall::Clone3 { .. } => None,
        };
        let mut clone3_at = 0;
        if let CloneCall::Clone3 { args, size, nonzero_tail } = &trial.call {
            let real = CloneArgs {
                pidfd: resolve(args.pidfd, scratch + 16),
                parent_tid: resolve(args.parent_tid, scratch),
                child_tid: resolve(args.child_tid, scratch + 8),
                stack: resolve(args.stack, scratch + PAGE as u64),
                set_tid: resolve(args.set_tid, set_tid_at),
                cgroup: if args.cgroup == VALID {
                    cgroup_fd.map_or(u64::MAX, |fd| fd as u64)
                } else {
                    args.cgroup
                },
                ..*args
            };
            let bytes = real.to_bytes((*size as usize).max(CLONE_ARGS_SIZE_VER2));
            // Normally the struct sits at the start of its area; with an unreadable tail it
            // ends 64 bytes after its start, right at the guard page.
            let start = if trial.unreadable_tail { guard - 64 } else { PAGE + stack_len };
            let avail = guard - start;
            let n = bytes.len().min(avail);
            // SAFETY: [start, start + n) is inside the writable part of the mapping.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(start), n) };
            if *nonzero_tail && !trial.unreadable_tail && (*size as usize) > CLONE_ARGS_SIZE_VER2 {
                // SAFETY: byte `size - 1` of the struct is inside its area.
                unsafe { base.add(start + *size as usize - 1).write(0x5a) };
            }
            clone3_at = base as usize + start;
        }
        Ok(Prepared { region, legacy, clone3_at, clone3_size: size, flags: k.flags })
    }

    fn is_parent(&self) -> bool {
        self.flags.contains(CloneFlags::CLONE_PARENT)
    }

    fn is_thread(&self) -> bool {
        self.flags.contains(CloneFlags::CLONE_THREAD)
    }

    /// Makes the call; returns the kernel's raw result.
    fn issue(&self) -> isize {
        let _ = &self.region;
        match self.legacy {
            Some([flags, stack, ptid, ctid, tls]) => {
                // SAFETY: the child side of `exit_at_once` touches no memory.
                unsafe {
                    raw::create_exit_at_once(
                        nr::CLONE,
                        flags as usize,
                        stack as usize,
                        ptid as usize,
                        ctid as usize,
                        tls as usize,
                    )
                }
            }
            // SAFETY: as above; the struct pointer and size are what the trial asks for.
            None => unsafe {
                raw::create_exit_at_once(nr::CLONE3, self.clone3_at, self.clone3_size, 0, 0, 0)
            },
        }
    }
}

const NOBODY: u32 = 65534;

/// Puts the calling (throw-away) process in `setup`'s state. Raw system calls only.
fn enter(setup: Setup) -> io::Result<()> {
    use rustix::process::{setrlimit, Resource, Rlimit};
    match setup {
        Setup::Plain | Setup::PidNsInit | Setup::NotACgroupDir | Setup::DeadCgroup => Ok(()),
        Setup::AfterUnshareNewpid => unshare(CloneFlags::CLONE_NEWPID),
        Setup::DyingPidNs => {
            unshare(CloneFlags::CLONE_NEWPID)?;
            // The namespace's first process is its init; once it has exited, the namespace
            // accepts no new process.
            // SAFETY: the child side of `exit_at_once` touches no memory.
            let init = unsafe {
                raw::create_exit_at_once(nr::CLONE, ExitSignal::SIGCHLD.raw() as usize, 0, 0, 0, 0)
            };
            let init = check(init)? as i32;
            raw::wait4(init, raw::WALL).map(drop)
        }
        Setup::Chrooted => rustix::process::chroot(c"/tmp"),
        Setup::Unprivileged | Setup::UnwritableCgroup => drop_to_nobody(),
        Setup::UnmappedUserNs => unshare(CloneFlags::CLONE_NEWUSER),
        Setup::NprocLimitZero => {
            setrlimit(Resource::Nproc, Rlimit { current: Some(0), maximum: Some(0) })?;
            drop_to_nobody()
        }
        Setup::NofileLimitZero => setrlimit(Resource::Nofile, Rlimit { current: Some(0), maximum: Some(0) }),
        Setup::MntNamespacesLimitZero => limit_in_own_userns(c"/proc/sys/user/max_mnt_namespaces"),
        Setup::PidNamespacesLimitZero => limit_in_own_userns(c"/proc/sys/user/max_pid_namespaces"),
        Setup::DeepestPidNs => Ok(()),
    }
}

/// The caller's pid-namespace level, from which [`Setup::DeepestPidNs`] nests down to the
/// deepest level; unavailable where it cannot be measured.
fn deepest_setup_level() -> Result<u32, TrialError> {
    raw::measured_pid_ns_level().ok_or_else(|| {
        TrialError::Unavailable(
            "the pid-namespace level is unknown here: /proc belongs to a pid namespace below the initial one (NSpid may list too few levels) and clone3, which would measure it, is refused".into(),
        )
    })
}

/// `MAX_PID_NS_LEVEL`: the deepest pid namespace level.
const MAX_PID_NS_LEVEL: u32 = clonekit_flags::MAX_PID_NS_LEVEL as u32;

/// Runs `body` `levels` pid namespaces below the caller: each level unshares a new pid
/// namespace and creates its init, which goes on one level further. Returns `body`'s status,
/// passed up through every level.
fn nest_pid_namespaces(levels: u32, body: &(dyn Fn() -> i32 + Sync)) -> i32 {
    if levels == 0 {
        return body();
    }
    if unshare(CloneFlags::CLONE_NEWPID).is_err() {
        return 3;
    }
    // SAFETY: the child only recurses into this function: raw system calls, no allocation.
    let child = unsafe { Clone::new().spawn(move || nest_pid_namespaces(levels - 1, body)) };
    match child {
        Ok(mut c) => match c.wait() {
            Ok(st) => st.code().unwrap_or(4),
            Err(_) => 4,
        },
        Err(_) => 3,
    }
}

fn unshare(flags: CloneFlags) -> io::Result<()> {
    // SAFETY: unshare of namespaces changes no memory; the caller is single-threaded.
    check(unsafe { syscall4(nr::UNSHARE, flags.bits() as usize, 0, 0, 0) }).map(drop)
}

fn drop_to_nobody() -> io::Result<()> {
    // An ordinary user's process is unprivileged already (and may not change its uid).
    let caps = rustix::thread::capabilities(None)?;
    if !rustix::process::geteuid().is_root() && caps.effective.is_empty() {
        return Ok(());
    }
    let gid = rustix::process::Gid::from_raw(NOBODY);
    let uid = rustix::process::Uid::from_raw(NOBODY);
    rustix::thread::set_thread_res_gid(gid, gid, gid)?;
    rustix::thread::set_thread_res_uid(uid, uid, uid)
}

/// Enters a new user namespace mapping root to this process's uid and gid (so that it may
/// create namespaces below, whoever runs it), then sets one of its `user.max_*_namespaces`
/// to 0.
fn limit_in_own_userns(sysctl: &core::ffi::CStr) -> io::Result<()> {
    let (uid, gid) = (rustix::process::geteuid().as_raw(), rustix::process::getegid().as_raw());
    unshare(CloneFlags::CLONE_NEWUSER)?;
    write_file(c"/proc/self/setgroups", b"deny")?;
    let mut line = [0u8; 24];
    write_file(c"/proc/self/uid_map", map_root_to(&mut line, uid))?;
    write_file(c"/proc/self/gid_map", map_root_to(&mut line, gid))?;
    write_file(sysctl, b"0")
}

/// `0 ID 1`, an id map line giving uid (or gid) 0 to `id`, written into `buf` without
/// allocating (this runs in a throw-away child).
fn map_root_to(buf: &mut [u8; 24], id: u32) -> &[u8] {
    let mut digits = [0u8; 10];
    let (mut n, mut len) = (id, 0);
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf[..2].copy_from_slice(b"0 ");
    for i in 0..len {
        buf[2 + i] = digits[len - 1 - i];
    }
    buf[2 + len..4 + len].copy_from_slice(b" 1");
    &buf[..4 + len]
}

fn write_file(path: &core::ffi::CStr, data: &[u8]) -> io::Result<()> {
    use rustix::fs::{open, Mode, OFlags};
    let fd = open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    let n = rustix::io::write(&fd, data)?;
    if n == data.len() {
        Ok(())
    } else {
        Err(io::Errno::IO)
    }
}

#[cfg(test)]
mod tests {
    use super::map_root_to;

    #[test]
    fn id_map_lines_are_written_without_allocating() {
        let mut buf = [0u8; 24];
        assert_eq!(map_root_to(&mut buf, 0), b"0 0 1");
        assert_eq!(map_root_to(&mut buf, 1001), b"0 1001 1");
        assert_eq!(map_root_to(&mut buf, u32::MAX), b"0 4294967295 1");
    }
}
