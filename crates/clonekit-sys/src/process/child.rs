//! The running program of a [`crate::Command`]: [`Child`] (pidfd-first, as
//! [`crate::Child`], plus the parent's ends of piped streams) and [`Output`].

use super::stdio::{read2, ChildStderr, ChildStdin, ChildStdout};
use crate::os::linux::process::PidFd;
use crate::status::ExitStatus;
use clonekit_flags::Signal;
use std::io;

/// A program started by [`super::Command::spawn`] (std's `Child`). Only this process can
/// reap it, so waiting and signalling by pid cannot hit a reused pid until it is reaped, after
/// which [`Child::kill`] no longer signals; with `create_pidfd(true)` it has a pidfd as well
/// ([`crate::os::linux::process::ChildExt`]).
///
/// Dropping it neither kills nor waits for the program (as with `std::process::Child`): an
/// exited program is reaped, a running one is left to run (see [`crate::Child`]).
#[derive(Debug)]
pub struct Child {
    /// The write end of the program's standard input, with [`super::Stdio::piped`].
    pub stdin: Option<ChildStdin>,
    /// The read end of its standard output, with [`super::Stdio::piped`].
    pub stdout: Option<ChildStdout>,
    /// The read end of its standard error, with [`super::Stdio::piped`].
    pub stderr: Option<ChildStderr>,
    handle: crate::Child,
    pidfd: Option<PidFd>,
}

/// A finished program's status and captured output ([`crate::Command::output`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// How it ended.
    pub status: ExitStatus,
    /// Everything it wrote to standard output.
    pub stdout: Vec<u8>,
    /// Everything it wrote to standard error.
    pub stderr: Vec<u8>,
}

impl Child {
    pub(crate) fn new(
        handle: crate::Child,
        stdin: Option<ChildStdin>,
        stdout: Option<ChildStdout>,
        stderr: Option<ChildStderr>,
    ) -> Child {
        let mut handle = handle;
        let pidfd = handle.take_pidfd().map(PidFd::from_owned);
        Child { stdin, stdout, stderr, handle, pidfd }
    }

    pub(crate) fn pidfd_ref(&self) -> Option<&PidFd> {
        self.pidfd.as_ref()
    }

    #[allow(clippy::result_large_err)] // std's signature: the child comes back whole.
    pub(crate) fn take_pidfd_handle(mut self) -> Result<PidFd, Child> {
        match self.pidfd.take() {
            Some(fd) => {
                // The pidfd now does the waiting: the handle must not reap the child on drop.
                self.handle.forget_child();
                Ok(fd)
            }
            None => Err(self),
        }
    }

    /// The program's pid, in our pid namespace.
    pub fn id(&self) -> u32 {
        self.handle.pid() as u32
    }

    /// The underlying handle (flags, the `clone` call that was made).
    pub fn handle(&self) -> &crate::Child {
        &self.handle
    }

    /// Closes our end of its standard input (so it sees end of file), then waits for it to
    /// exit and reaps it.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.handle.wait()
    }

    /// Reaps it if it has exited; `Ok(None)` while it runs.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.handle.try_wait()
    }

    /// Sends `SIGKILL` (through the pidfd, if there is one). Like `std`, succeeds if the
    /// program has already exited, reaped or not.
    pub fn kill(&mut self) -> io::Result<()> {
        if let (Some(fd), None) = (&self.pidfd, self.handle.status()) {
            return fd.kill();
        }
        match self.handle.kill(Signal::SIGKILL) {
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::SRCH.raw_os_error()) => Ok(()),
            other => other,
        }
    }

    /// Sends `signal`; `ESRCH` once it has been reaped.
    pub fn signal(&self, signal: Signal) -> io::Result<()> {
        self.handle.kill(signal)
    }

    /// Waits while forwarding `signals` to the program ([`crate::Child::wait_forwarding`]).
    pub fn wait_forwarding(&mut self, signals: &[Signal]) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.handle.wait_forwarding(signals)
    }

    /// Waits as a pid-namespace init: forwards `signals` and reaps orphans until the program
    /// exits ([`crate::Child::wait_as_init`]).
    pub fn wait_as_init(&mut self, signals: &[Signal]) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        self.handle.wait_as_init(signals)
    }

    /// Waits without blocking the tokio runtime ([`crate::Child::wait_async`]); needs a pidfd
    /// (`create_pidfd(true)`).
    #[cfg(feature = "tokio")]
    pub async fn wait_async(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        use std::os::fd::AsFd;
        self.handle.wait_async_on(self.pidfd.as_ref().map(|p| p.as_fd())).await
    }

    /// Closes its standard input, reads its piped standard output and error to the end (both
    /// at once, so a full pipe cannot deadlock), then waits for it.
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (stdout, stderr) = read2(self.stdout.take(), self.stderr.take())?;
        let status = self.handle.wait()?;
        Ok(Output { status, stdout, stderr })
    }
}
