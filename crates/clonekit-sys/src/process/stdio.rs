//! [`Stdio`] and the parent's ends of piped standard streams ([`ChildStdin`],
//! [`ChildStdout`], [`ChildStderr`]), as in `std::process`.
//!
//! Every fd the parent makes for a child is `O_CLOEXEC`; the child's `dup2` onto 0, 1 or 2
//! makes the copy inheritable. Sources below 3 are first moved to a higher number in the
//! parent, so that no `dup2` overwrites the source of a later one.

use super::error::{CommandError, Step};
use rustix::fs::{Mode, OFlags};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

/// What a child's standard stream is connected to (std's `Stdio`).
pub struct Stdio(Repr);

enum Repr {
    Inherit,
    Null,
    Piped,
    Fd(OwnedFd),
    /// One of our own standard streams, by number (`From<io::Stdout>`, `From<io::Stderr>`).
    Ours(RawFd),
}

impl std::fmt::Debug for Stdio {
    /// std's: `Stdio { .. }`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stdio").finish_non_exhaustive()
    }
}

impl Stdio {
    /// The parent's own stream, as is.
    pub fn inherit() -> Stdio {
        Stdio(Repr::Inherit)
    }

    /// `/dev/null`.
    pub fn null() -> Stdio {
        Stdio(Repr::Null)
    }

    /// A new pipe; the parent's end is in the returned child's `stdin`/`stdout`/`stderr`.
    pub fn piped() -> Stdio {
        Stdio(Repr::Piped)
    }

    /// Whether this makes a new pipe ([`Stdio::piped`]); std's unstable `makes_pipe`.
    pub fn makes_pipe(&self) -> bool {
        matches!(self.0, Repr::Piped)
    }
}

impl From<io::Stdout> for Stdio {
    /// The child's stream is a copy of our standard output (fd 1).
    fn from(_: io::Stdout) -> Stdio {
        Stdio(Repr::Ours(1))
    }
}

impl From<io::Stderr> for Stdio {
    /// The child's stream is a copy of our standard error (fd 2).
    fn from(_: io::Stderr) -> Stdio {
        Stdio(Repr::Ours(2))
    }
}

impl FromRawFd for Stdio {
    /// # Safety
    ///
    /// `fd` is open and owned by nothing else; the `Stdio` closes it.
    unsafe fn from_raw_fd(fd: RawFd) -> Stdio {
        // SAFETY: the caller hands over an fd it owns.
        Stdio(Repr::Fd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }
}

impl From<io::PipeReader> for Stdio {
    fn from(p: io::PipeReader) -> Stdio {
        Stdio(Repr::Fd(p.into()))
    }
}

impl From<io::PipeWriter> for Stdio {
    fn from(p: io::PipeWriter) -> Stdio {
        Stdio(Repr::Fd(p.into()))
    }
}

impl From<OwnedFd> for Stdio {
    fn from(fd: OwnedFd) -> Stdio {
        Stdio(Repr::Fd(fd))
    }
}

impl From<File> for Stdio {
    fn from(f: File) -> Stdio {
        Stdio(Repr::Fd(f.into()))
    }
}

macro_rules! pipe_end {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        pub struct $name(OwnedFd);

        impl std::fmt::Debug for $name {
            /// std's: `ChildStdin { .. }`.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }

        impl From<OwnedFd> for $name {
            fn from(fd: OwnedFd) -> $name {
                $name(fd)
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.0.as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_raw_fd()
            }
        }

        impl IntoRawFd for $name {
            fn into_raw_fd(self) -> RawFd {
                self.0.into_raw_fd()
            }
        }

        impl From<$name> for OwnedFd {
            fn from(end: $name) -> OwnedFd {
                end.0
            }
        }

        impl From<$name> for Stdio {
            fn from(end: $name) -> Stdio {
                Stdio(Repr::Fd(end.0))
            }
        }
    };
}

pipe_end!(ChildStdin, "The parent's (write) end of a child's piped standard input.");
pipe_end!(ChildStdout, "The parent's (read) end of a child's piped standard output.");
pipe_end!(ChildStderr, "The parent's (read) end of a child's piped standard error.");

/// Retries a call interrupted by a signal (`EINTR`), as std's streams do.
fn retry<T>(mut f: impl FnMut() -> rustix::io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(e) if e == rustix::io::Errno::INTR => continue,
            other => return other.map_err(io::Error::from),
        }
    }
}

impl Write for &ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        retry(|| rustix::io::write(&self.0, buf))
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        retry(|| rustix::io::writev(&self.0, bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn read_fd(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    retry(|| rustix::io::read(fd, &mut *buf))
}

fn read_vectored_fd(fd: &OwnedFd, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
    retry(|| rustix::io::readv(fd, bufs))
}

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_fd(&self.0, buf)
    }

    fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        read_vectored_fd(&self.0, bufs)
    }
}

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_fd(&self.0, buf)
    }

    fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        read_vectored_fd(&self.0, bufs)
    }
}

/// One stream, made ready for a spawn.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    /// The fd the child `dup2`s onto the stream (`None`: inherited).
    pub(crate) child_fd: Option<RawFd>,
    /// Fds the parent made for this spawn and closes once the child has exec'd.
    pub(crate) hold: Option<OwnedFd>,
    /// The parent's end of a pipe.
    pub(crate) parent_end: Option<OwnedFd>,
}

/// Moves `fd` above 2 if it is a standard stream's number (`F_DUPFD_CLOEXEC`).
fn above_stdio(fd: OwnedFd) -> Result<OwnedFd, CommandError> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    rustix::io::fcntl_dupfd_cloexec(&fd, 3).map_err(|e| CommandError::from_io(Step::DupFd, &e.into()))
}

/// Prepares stream `target` (0, 1, 2) from `cfg`, or from `default` when unset.
pub(crate) fn prepare(
    cfg: Option<&Stdio>,
    default: fn() -> Stdio,
    target: RawFd,
) -> Result<Prepared, CommandError> {
    let owned_default;
    let cfg = match cfg {
        Some(c) => c,
        None => {
            owned_default = default();
            &owned_default
        }
    };
    match &cfg.0 {
        Repr::Inherit => Ok(Prepared::default()),
        Repr::Null => {
            let flags = if target == 0 { OFlags::RDONLY } else { OFlags::WRONLY } | OFlags::CLOEXEC;
            let fd = rustix::fs::open("/dev/null", flags, Mode::empty())
                .map_err(|e| CommandError::from_io(Step::OpenNull, &e.into()))?;
            let fd = above_stdio(fd)?;
            Ok(Prepared { child_fd: Some(fd.as_raw_fd()), hold: Some(fd), parent_end: None })
        }
        Repr::Piped => {
            let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                .map_err(|e| CommandError::from_io(Step::Pipe, &e.into()))?;
            let (child, parent) = if target == 0 { (r, w) } else { (w, r) };
            let child = above_stdio(child)?;
            Ok(Prepared { child_fd: Some(child.as_raw_fd()), hold: Some(child), parent_end: Some(parent) })
        }
        Repr::Fd(fd) if fd.as_raw_fd() == target => {
            Ok(Prepared { child_fd: Some(target), ..Prepared::default() })
        }
        Repr::Fd(fd) if fd.as_raw_fd() <= 2 => {
            let copy = rustix::io::fcntl_dupfd_cloexec(fd, 3)
                .map_err(|e| CommandError::from_io(Step::DupFd, &e.into()))?;
            Ok(Prepared { child_fd: Some(copy.as_raw_fd()), hold: Some(copy), parent_end: None })
        }
        Repr::Fd(fd) => Ok(Prepared { child_fd: Some(fd.as_raw_fd()), ..Prepared::default() }),
        Repr::Ours(fd) if *fd == target => Ok(Prepared::default()),
        Repr::Ours(fd) => {
            // SAFETY: fd 1 or 2 is borrowed only for the duplication.
            let ours = unsafe { BorrowedFd::borrow_raw(*fd) };
            let copy = rustix::io::fcntl_dupfd_cloexec(ours, 3)
                .map_err(|e| CommandError::from_io(Step::DupFd, &e.into()))?;
            Ok(Prepared { child_fd: Some(copy.as_raw_fd()), hold: Some(copy), parent_end: None })
        }
    }
}

pub(crate) fn stdin_end(fd: Option<OwnedFd>) -> Option<ChildStdin> {
    fd.map(ChildStdin)
}

pub(crate) fn stdout_end(fd: Option<OwnedFd>) -> Option<ChildStdout> {
    fd.map(ChildStdout)
}

pub(crate) fn stderr_end(fd: Option<OwnedFd>) -> Option<ChildStderr> {
    fd.map(ChildStderr)
}

/// Reads `out` and `err` to their ends at once (`poll`), so that a child filling one pipe
/// while we block on the other cannot deadlock.
pub(crate) fn read2(out: Option<ChildStdout>, err: Option<ChildStderr>) -> io::Result<(Vec<u8>, Vec<u8>)> {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut bufs = (Vec::new(), Vec::new());
    let mut ends: [Option<OwnedFd>; 2] = [out.map(|o| o.0), err.map(|e| e.0)];
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let open: Vec<usize> = (0..2).filter(|&i| ends[i].is_some()).collect();
        if open.is_empty() {
            return Ok(bufs);
        }
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd<'_>> =
                open.iter().map(|&i| PollFd::new(ends[i].as_ref().expect("open"), PollFlags::IN)).collect();
            match poll(&mut fds, None) {
                Err(e) if e == rustix::io::Errno::INTR => continue,
                Err(e) => return Err(e.into()),
                Ok(_) => fds.iter().map(|f| !f.revents().is_empty()).collect(),
            }
        };
        for (k, &i) in open.iter().enumerate() {
            if !ready[k] {
                continue;
            }
            let n = read_fd(ends[i].as_ref().expect("open"), &mut chunk)?;
            if n == 0 {
                ends[i] = None;
            } else if i == 0 {
                bufs.0.extend_from_slice(&chunk[..n]);
            } else {
                bufs.1.extend_from_slice(&chunk[..n]);
            }
        }
    }
}
