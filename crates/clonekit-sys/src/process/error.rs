//! [`CommandError`]: a spawn that failed, naming the step that failed and what it worked on,
//! as `setgid: EPERM`, `chdir /nope: ENOENT` or `exec /bin/nope: ENOENT`.

use clonekit_flags::Errno;
use std::fmt;
use std::io;

/// One step of starting a program, in the order the parent and the child take them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Parent: `pipe2` for `Stdio::piped()` (or the exec-status pipe of a fork-style child).
    Pipe,
    /// Parent: opening `/dev/null` for `Stdio::null()`.
    OpenNull,
    /// Parent: duplicating an fd given as `Stdio` (`F_DUPFD_CLOEXEC`).
    DupFd,
    /// Parent: opening the cgroup2 directory for `CLONE_INTO_CGROUP`.
    OpenCgroup,
    /// Parent: the request itself is inconsistent (no system call was made).
    Invalid,
    /// Parent: the `clone3`/`clone` call.
    Clone,
    /// Parent: writing `/proc/PID/setgroups` (`deny`) for a new user namespace.
    WriteSetgroups,
    /// Parent: writing `/proc/PID/uid_map`.
    WriteUidMap,
    /// Parent: writing `/proc/PID/gid_map`.
    WriteGidMap,
    /// Child: resetting a signal's disposition to `SIG_DFL`.
    Sigaction,
    /// Child: `setsid()`.
    Setsid,
    /// Child: `setpgid(0, pgid)`.
    Setpgid,
    /// Child: `dup2` onto fd 0.
    Stdin,
    /// Child: `dup2` onto fd 1.
    Stdout,
    /// Child: `dup2` onto fd 2.
    Stderr,
    /// Child: `dup2` of a mapped fd onto its number (`CommandExt::fd`).
    MapFd,
    /// Child: making every mount private (`mount --make-rprivate /`).
    MountPrivate,
    /// Child: `chroot`.
    Chroot,
    /// Child: mounting a new `proc`.
    MountProc,
    /// Child: `setgroups`.
    Setgroups,
    /// Child: `setresgid`.
    Setgid,
    /// Child: `setresuid`.
    Setuid,
    /// Child: `chdir`.
    Chdir,
    /// Child: `prctl(PR_SET_PDEATHSIG)`, or the parent was already gone (`ESRCH`).
    Pdeathsig,
    /// Child: clearing `FD_CLOEXEC` on a preserved fd.
    PreserveFd,
    /// Child: `close_range` of the inherited fds.
    CloseRange,
    /// Child: a pre-exec hook returned an error.
    PreExec,
    /// Child: `execve`.
    Exec,
}

impl Step {
    /// The step's name as errors print it (`setgid`, `chdir`, `exec`...).
    pub fn name(self) -> &'static str {
        match self {
            Step::Pipe => "pipe2",
            Step::OpenNull => "open /dev/null",
            Step::DupFd => "fcntl F_DUPFD_CLOEXEC",
            Step::OpenCgroup => "open cgroup",
            Step::Invalid => "invalid command",
            Step::Clone => "clone",
            Step::WriteSetgroups => "write setgroups",
            Step::WriteUidMap => "write uid_map",
            Step::WriteGidMap => "write gid_map",
            Step::Sigaction => "sigaction",
            Step::Setsid => "setsid",
            Step::Setpgid => "setpgid",
            Step::Stdin => "dup2 stdin",
            Step::Stdout => "dup2 stdout",
            Step::Stderr => "dup2 stderr",
            Step::MapFd => "dup2 mapped fd",
            Step::MountPrivate => "mount --make-rprivate /",
            Step::Chroot => "chroot",
            Step::MountProc => "mount proc on",
            Step::Setgroups => "setgroups",
            Step::Setgid => "setgid",
            Step::Setuid => "setuid",
            Step::Chdir => "chdir",
            Step::Pdeathsig => "prctl PR_SET_PDEATHSIG",
            Step::PreserveFd => "preserve fd",
            Step::CloseRange => "close_range",
            Step::PreExec => "pre_exec hook",
            Step::Exec => "exec",
        }
    }

    /// All steps, in order; the child reports a step by its index here.
    pub(crate) const ALL: [Step; 28] = [
        Step::Pipe,
        Step::OpenNull,
        Step::DupFd,
        Step::OpenCgroup,
        Step::Invalid,
        Step::Clone,
        Step::WriteSetgroups,
        Step::WriteUidMap,
        Step::WriteGidMap,
        Step::Sigaction,
        Step::Setsid,
        Step::Setpgid,
        Step::Stdin,
        Step::Stdout,
        Step::Stderr,
        Step::MapFd,
        Step::MountPrivate,
        Step::Chroot,
        Step::MountProc,
        Step::Setgroups,
        Step::Setgid,
        Step::Setuid,
        Step::Chdir,
        Step::Pdeathsig,
        Step::PreserveFd,
        Step::CloseRange,
        Step::PreExec,
        Step::Exec,
    ];

    pub(crate) fn index(self) -> u32 {
        Step::ALL.iter().position(|&s| s == self).unwrap_or(0) as u32
    }

    pub(crate) fn from_index(i: u32) -> Step {
        Step::ALL.get(i as usize).copied().unwrap_or(Step::Exec)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a [`crate::Command`] did not start its program. Converts into an [`io::Error`] whose
/// kind follows the errno and whose message is this error's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    step: Step,
    subject: Option<String>,
    errno: Errno,
    detail: Option<String>,
}

impl CommandError {
    pub(crate) fn new(step: Step, errno: Errno) -> CommandError {
        CommandError { step, subject: None, errno, detail: None }
    }

    pub(crate) fn about(mut self, subject: impl Into<String>) -> CommandError {
        self.subject = Some(subject.into());
        self
    }

    pub(crate) fn detail(mut self, detail: impl Into<String>) -> CommandError {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn from_io(step: Step, e: &io::Error) -> CommandError {
        CommandError::new(step, e.raw_os_error().and_then(Errno::from_raw).unwrap_or(Errno::EIO))
    }

    /// The step that failed.
    pub fn step(&self) -> Step {
        self.step
    }

    /// What the step worked on, if it names something (a path, a pid's map file...).
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The errno the step failed with.
    pub fn errno(&self) -> Errno {
        self.errno
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.step.name())?;
        if let Some(s) = &self.subject {
            write!(f, " {s}")?;
        }
        write!(f, ": {}", self.errno)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for CommandError {}

impl From<CommandError> for io::Error {
    /// std's error for the same failure: the errno alone (`raw_os_error()`), or, for a request
    /// that made no system call ([`Step::Invalid`]), `InvalidInput` with the reason.
    fn from(e: CommandError) -> io::Error {
        match e.step {
            Step::Invalid => {
                io::Error::new(io::ErrorKind::InvalidInput, e.detail.clone().unwrap_or_else(|| e.to_string()))
            }
            _ => io::Error::from_raw_os_error(e.errno.raw()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_step_and_its_subject() {
        assert_eq!(CommandError::new(Step::Setgid, Errno::EPERM).to_string(), "setgid: EPERM");
        assert_eq!(
            CommandError::new(Step::Chdir, Errno::ENOENT).about("/nope").to_string(),
            "chdir /nope: ENOENT"
        );
        let io: io::Error = CommandError::new(Step::Exec, Errno::ENOENT).about("/bin/nope").into();
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
        assert_eq!(io.raw_os_error(), Some(2));
        assert_eq!(io.to_string(), io::Error::from_raw_os_error(2).to_string());
    }

    #[test]
    fn steps_round_trip_through_their_index() {
        for s in Step::ALL {
            assert_eq!(Step::from_index(s.index()), s);
        }
    }
}
