//! [`Child`]: a pidfd-first handle on a created child, and [`ExitStatus`].
//!
//! Waiting uses `waitid(P_PIDFD)` when the child came with a pidfd (race-free: the pid
//! cannot have been reused), else `waitid(P_PID)`. A child whose exit signal is not
//! `SIGCHLD` is a "clone child" that plain waits do not see (kernel/exit.c
//! `eligible_child`), so those waits add `__WALL`, not `__WCLONE`, because `execve` resets
//! the exit signal to `SIGCHLD` (fs/exec.c `de_thread`) and `__WCLONE` would then miss it.

use crate::stack::Stack;
use clonekit_flags::{CloneCall, CloneFlags, ExitSignal, Signal};
use clonekit_raw as sys;
use rustix::process::{Pid, WaitId, WaitIdOptions, WaitIdStatus};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

pub(crate) use clonekit_flags::WALL;

pub use crate::status::ExitStatus;

/// The wait status (`wait4`'s encoding) of what `waitid` reported.
pub(crate) fn status_of(st: &WaitIdStatus) -> ExitStatus {
    if let Some(code) = st.exit_status() {
        return ExitStatus::from_code(code);
    }
    let sig = st.terminating_signal().and_then(|s| Signal::new(s as u32)).unwrap_or(Signal::SIGKILL);
    ExitStatus::from_signal(sig, st.dumped())
}

/// What happens to the child's stack once the handle is done with it.
#[derive(Debug)]
pub(crate) enum StackHold {
    /// Nothing to keep (no owned stack, or the child no longer uses it).
    None,
    /// A `CLONE_VM` child without `CLONE_VFORK` may be running on it: keep it mapped until
    /// the child is reaped.
    UntilReaped(Stack),
    /// The child cannot be reaped by us (`CLONE_THREAD`, `CLONE_PARENT`), so we can never
    /// know when the stack is free: it is leaked when the handle goes.
    Forever(Stack),
}

/// A child created by this crate.
///
/// # Dropping a `Child` that was not waited for
///
/// - A child that shares our memory (`CLONE_VM` without `CLONE_VFORK`) and that we can reap
///   is killed with `SIGKILL` and reaped, then its stack is unmapped: it must not outlive
///   the stack it runs on, nor keep running in our address space unsupervised.
/// - A child we cannot reap (`CLONE_THREAD`, `CLONE_PARENT`) is left alone; an owned stack
///   it might still run on is leaked rather than unmapped.
/// - Any other child is reaped if it has already exited, and otherwise detached: it keeps
///   running, and becomes a zombie of this process when it exits (until this process exits
///   or reaps it with `waitid(P_ALL)`), exactly like a dropped `std::process::Child`.
///
/// The pidfd, if any, is closed.
#[derive(Debug)]
pub struct Child {
    pid: Pid,
    pidfd: Option<OwnedFd>,
    call: CloneCall,
    flags: CloneFlags,
    exit_signal: ExitSignal,
    stack: StackHold,
    status: Option<ExitStatus>,
    forgotten: bool,
}

impl Child {
    pub(crate) fn new(
        pid: i32,
        pidfd: Option<OwnedFd>,
        call: CloneCall,
        exit_signal: ExitSignal,
        stack: StackHold,
    ) -> Child {
        let pid = Pid::from_raw(pid).expect("the kernel returned a positive pid");
        let flags = call.kernel_args().flags;
        Child { pid, pidfd, call, flags, exit_signal, stack, status: None, forgotten: false }
    }

    /// The child's pid (its tid, for a `CLONE_THREAD` child) as the caller's pid namespace
    /// sees it.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw_nonzero().get()
    }

    /// The status, once reaped.
    pub(crate) fn status(&self) -> Option<ExitStatus> {
        self.status
    }

    /// The pidfd (`CLONE_PIDFD`), if one was requested and returned.
    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(|fd| fd.as_fd())
    }

    /// Takes the pidfd out of the handle.
    pub fn take_pidfd(&mut self) -> Option<OwnedFd> {
        self.pidfd.take()
    }

    /// The flags the child was created with (as `kernel_clone` received them).
    pub fn flags(&self) -> CloneFlags {
        self.flags
    }

    /// The system call that created the child, with its arguments.
    pub fn call(&self) -> &CloneCall {
        &self.call
    }

    /// Gives up the child: nothing is reaped or killed on drop (its pidfd waits for it now).
    pub(crate) fn forget_child(&mut self) {
        self.forgotten = true;
    }

    /// Records that the child has called `execve` (or exited): it no longer runs on our
    /// stack nor in our memory, whatever `CLONE_VM` said, so dropping the handle must not
    /// kill it.
    pub(crate) fn mark_exec(&mut self) {
        self.flags -= CloneFlags::CLONE_VM;
    }

    /// Waits for the child without blocking the async runtime: the pidfd becomes readable
    /// when the child exits (tokio's `AsyncFd`), then it is reaped with `waitid(P_PIDFD)`.
    /// A child without a pidfd gets one from `pidfd_open` (its pid cannot have been reused:
    /// it is not reaped yet).
    #[cfg(feature = "tokio")]
    pub async fn wait_async(&mut self) -> io::Result<ExitStatus> {
        let fd = self.pidfd.as_ref().map(|fd| fd.try_clone()).transpose()?;
        self.wait_async_on(fd.as_ref().map(|fd| fd.as_fd())).await
    }

    /// [`Child::wait_async`] on a pidfd of the child held elsewhere.
    #[cfg(feature = "tokio")]
    pub(crate) async fn wait_async_on(&mut self, pidfd: Option<BorrowedFd<'_>>) -> io::Result<ExitStatus> {
        if let Some(st) = self.status {
            return Ok(st);
        }
        // Without a pidfd, one is opened now: the pid is still ours (only we reap the child).
        let copy = match pidfd {
            Some(fd) => fd.try_clone_to_owned()?,
            None => rustix::process::pidfd_open(self.pid, rustix::process::PidfdFlags::empty())?,
        };
        // SAFETY: the AsyncFd owns `copy`, an open OwnedFd whose number cannot change or be
        // closed behind its back while it is registered.
        let fd =
            unsafe { tokio::io::unix::AsyncFd::register_with_interest(copy, tokio::io::Interest::READABLE) }
                .map_err(io::Error::from)?;
        loop {
            let mut ready = fd.readable().await?;
            if let Some(st) = self.try_wait()? {
                return Ok(st);
            }
            ready.clear_ready();
        }
    }

    /// Waits for the child while forwarding `signals` to it: they are blocked in the calling
    /// thread (so they do not act on this process) together with `SIGCHLD`, read from a
    /// `signalfd`, and sent on with [`Child::kill`] (through the pidfd when there is one);
    /// a `SIGCHLD` makes it look whether the child has exited. The caller's mask is restored
    /// before returning; forwarded signals are consumed, not delivered to us.
    ///
    /// Block the same signals before creating the child (e.g. with [`block_signals`]) so that
    /// none arrives between the creation and this call.
    pub fn wait_forwarding(&mut self, signals: &[Signal]) -> io::Result<ExitStatus> {
        self.forwarding(signals, false)
    }

    /// [`Child::wait_forwarding`] for a pid-namespace init (or a subreaper): besides
    /// forwarding `signals` to the child, it reaps every other process that exits and is ours
    /// to reap (orphans reparented to us), until the child itself exits.
    pub fn wait_as_init(&mut self, signals: &[Signal]) -> io::Result<ExitStatus> {
        self.forwarding(signals, true)
    }

    fn forwarding(&mut self, signals: &[Signal], reap_all: bool) -> io::Result<ExitStatus> {
        let sigchld = Signal::SIGCHLD;
        let mask = signals.iter().chain([&sigchld]).fold(0u64, |m, s| m | 1u64 << (s.number() - 1));
        let old = sys::rt_sigprocmask(0, Some(&mask))?;
        let result =
            sys::signalfd(mask).map_err(io::Error::from).and_then(|sfd| self.forward_loop(&sfd, reap_all));
        let _ = sys::rt_sigprocmask(2, Some(&old));
        result
    }

    /// Reaps every exited child of ours (`wait(WNOHANG)` until none); returns the status of
    /// this handle's child if it was among them.
    fn reap_all(&mut self) -> io::Result<Option<ExitStatus>> {
        use rustix::process::{wait, WaitOptions};
        loop {
            match wait(WaitOptions::NOHANG) {
                Ok(Some((pid, st))) => {
                    if pid == self.pid {
                        if st.stopped() || st.continued() {
                            continue;
                        }
                        let status = ExitStatus::from_wait_status(st.as_raw());
                        self.reaped(status);
                        return Ok(Some(status));
                    }
                }
                Ok(None) => return Ok(None),
                Err(e) if e == rustix::io::Errno::INTR => {}
                Err(e) if e == rustix::io::Errno::CHILD => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn forward_loop(&mut self, sfd: &OwnedFd, reap_all: bool) -> io::Result<ExitStatus> {
        loop {
            if reap_all {
                if let Some(st) = self.reap_all()? {
                    return Ok(st);
                }
            } else if let Some(st) = self.try_wait()? {
                return Ok(st);
            }
            // struct signalfd_siginfo is 128 bytes; ssi_signo is its first u32. A blocking read:
            // SIGCHLD wakes it when a child exits.
            let mut info = [0u8; 128];
            match rustix::io::read(sfd, &mut info) {
                Ok(128) => {
                    let signo = u32::from_ne_bytes([info[0], info[1], info[2], info[3]]);
                    match Signal::new(signo) {
                        Some(sig) if sig != Signal::SIGCHLD => {
                            // The child may be gone already: nothing to forward to then.
                            let _ = self.kill(sig);
                        }
                        _ => {}
                    }
                }
                Ok(_) => {}
                Err(e) if e == rustix::io::Errno::INTR => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn wait_options(&self) -> WaitIdOptions {
        let mut opts = WaitIdOptions::EXITED;
        if !self.exit_signal.is_sigchld() {
            opts |= WaitIdOptions::from_bits_retain(WALL);
        }
        opts
    }

    fn waitid(&mut self, extra: WaitIdOptions) -> io::Result<Option<ExitStatus>> {
        if let Some(st) = self.status {
            return Ok(Some(st));
        }
        let opts = self.wait_options() | extra;
        let mut by_pidfd = self.pidfd.is_some();
        let res = loop {
            let id = match (&self.pidfd, by_pidfd) {
                (Some(fd), true) => WaitId::PidFd(fd.as_fd()),
                _ => WaitId::Pid(self.pid),
            };
            match rustix::process::waitid(id, opts) {
                Err(e) if e == rustix::io::Errno::INTR => continue,
                // waitid(P_PIDFD) arrived in 5.4, CLONE_PIDFD in 5.2: in between, wait by
                // pid (still race-free, since only we can reap our child).
                Err(e) if e == rustix::io::Errno::INVAL && by_pidfd => by_pidfd = false,
                other => break other,
            }
        };
        match res? {
            Some(st) if st.exited() || st.killed() || st.dumped() => {
                let status = status_of(&st);
                self.reaped(status);
                Ok(Some(status))
            }
            // WNOHANG with nothing to report (rustix reports an empty siginfo as Some).
            _ => Ok(None),
        }
    }

    fn reaped(&mut self, status: ExitStatus) {
        self.status = Some(status);
        // The child is gone: its stack is free.
        self.stack = StackHold::None;
    }

    /// Waits for the child to exit and reaps it (`waitid(P_PIDFD or P_PID, WEXITED)`).
    ///
    /// Once reaped, later calls return the same status. A `CLONE_THREAD` child or a
    /// `CLONE_PARENT` child is not ours to wait for: the kernel answers `ECHILD`.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            if let Some(st) = self.waitid(WaitIdOptions::empty())? {
                return Ok(st);
            }
        }
    }

    /// Reaps the child if it has exited (`WNOHANG`); `Ok(None)` if it is still running.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.waitid(WaitIdOptions::NOHANG)
    }

    /// Sends `signal` (`pidfd_send_signal` when there is a pidfd, else `kill`). After the
    /// child has been reaped its pid may belong to someone else, so this fails with `ESRCH`
    /// instead of signalling by pid.
    pub fn kill(&self, signal: Signal) -> io::Result<()> {
        if self.status.is_some() {
            return Err(io::Error::from_raw_os_error(rustix::io::Errno::SRCH.raw_os_error()));
        }
        let n = signal.number();
        let named = rustix::process::Signal::from_named_raw(n as i32);
        let res = match (&self.pidfd, named) {
            (Some(fd), Some(sig)) => rustix::process::pidfd_send_signal(fd, sig),
            (Some(fd), None) => sys::pidfd_send_signal(fd.as_raw_fd(), n),
            (None, Some(sig)) => rustix::process::kill_process(self.pid, sig),
            (None, None) => sys::kill(self.pid(), n),
        };
        res.map_err(io::Error::from)
    }

    fn shares_memory_unsupervised(&self) -> bool {
        self.flags.contains(CloneFlags::CLONE_VM) && !self.flags.contains(CloneFlags::CLONE_VFORK)
    }

    fn reapable(&self) -> bool {
        !self.flags.intersects(CloneFlags::CLONE_THREAD | CloneFlags::CLONE_PARENT)
    }
}

/// Blocks `signals` in the calling thread (added to its mask) and returns the previous mask's
/// guard: dropping it restores the mask. Use before creating a child whose
/// [`Child::wait_forwarding`] will forward them, so that none is lost in between.
pub fn block_signals(signals: &[Signal]) -> io::Result<SignalsBlocked> {
    let mask = signals.iter().fold(0u64, |m, s| m | 1u64 << (s.number() - 1));
    let old = sys::rt_sigprocmask(0, Some(&mask))?;
    Ok(SignalsBlocked { old })
}

/// The guard of [`block_signals`].
#[derive(Debug)]
pub struct SignalsBlocked {
    old: u64,
}

impl Drop for SignalsBlocked {
    fn drop(&mut self) {
        let _ = sys::rt_sigprocmask(2, Some(&self.old));
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() || self.forgotten {
            return;
        }
        if !self.reapable() {
            if let StackHold::UntilReaped(s) | StackHold::Forever(s) =
                std::mem::replace(&mut self.stack, StackHold::None)
            {
                s.leak();
            }
            return;
        }
        if self.shares_memory_unsupervised() {
            let _ = self.kill(Signal::SIGKILL);
            match self.wait() {
                Ok(_) => return,
                // ECHILD after a blocking wait: it was reaped elsewhere (or auto-reaped with
                // SIGCHLD ignored), so it is dead and its stack is free.
                Err(e) if e.raw_os_error() == Some(rustix::io::Errno::CHILD.raw_os_error()) => {
                    self.stack = StackHold::None;
                    return;
                }
                _ => {}
            }
            // We cannot prove the stack is free, so leak it.
            if let StackHold::UntilReaped(s) | StackHold::Forever(s) =
                std::mem::replace(&mut self.stack, StackHold::None)
            {
                s.leak();
            }
            return;
        }
        let _ = self.try_wait();
    }
}
