//! The platform extensions of [`crate::process`], at the paths std gives them: replace
//! `std::os::unix::process` by `clonekit_sys::os::unix::process` and
//! `std::os::linux::process` by `clonekit_sys::os::linux::process`.
//!
//! What std keeps unstable (`CommandExt::fd`, `create_pidfd`, `ChildExt`, `PidFd`) is stable
//! here, with the signatures std gives it.

/// Unix extensions.
pub mod unix {
    /// std's `std::os::unix::process`, for clonekit's [`Command`](crate::process::Command)
    /// and [`ExitStatus`](crate::process::ExitStatus).
    pub mod process {
        use crate::process::{Command, ExitStatus};
        use std::ffi::OsStr;
        use std::io;
        use std::os::fd::{OwnedFd, RawFd};

        /// std's `CommandExt` (unix): ids, a pre-exec hook, `exec`, `argv[0]`, the process
        /// group, and fd mappings.
        pub trait CommandExt: Sealed {
            /// `setresuid(id, id, id)` in the child. As in std, a child started by root with
            /// a uid and no [`CommandExt::groups`] also drops its supplementary groups.
            fn uid(&mut self, id: u32) -> &mut Command;

            /// `setresgid(id, id, id)` in the child.
            fn gid(&mut self, id: u32) -> &mut Command;

            /// `setgroups(groups)` in the child.
            fn groups(&mut self, groups: &[u32]) -> &mut Command;

            /// Runs `f` in the child after every other step, just before `execve`; an `Err`
            /// fails the spawn with its errno (`raw_os_error()` of the spawn's error).
            ///
            /// As in std, the hook runs in a **forked** child: a copy of this process's memory,
            /// so what it writes stays in the child, and a panic in it kills only the child,
            /// with `SIGABRT`. Like std, clonekit copies the page tables for it (fork's cost,
            /// which grows with the parent's memory); `Command::pre_exec_vfork` keeps the
            /// vfork path for a hook that can live with its stricter contract.
            ///
            /// # Safety
            ///
            /// std's contract: the child is a copy of a possibly multi-threaded process in
            /// which only the calling thread exists. Locks held by other threads stay held, so
            /// allocating, `println!`, `std::env` and taking any lock may deadlock; use
            /// async-signal-safe operations (raw system calls).
            unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
            where
                F: FnMut() -> io::Result<()> + Send + Sync + 'static;

            /// Runs the program in place of this process (`execve` after the same setup steps
            /// in this process). Returns only on failure; the setup steps already taken stay
            /// taken, as in std.
            fn exec(&mut self) -> io::Error;

            /// `argv[0]` (default: the program as given).
            fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command;

            /// `setpgid(0, pgroup)` in the child; 0 makes it the leader of a new group.
            fn process_group(&mut self, pgroup: i32) -> &mut Command;

            /// Gives the child `fd` at number `child_fd` (std's unstable `CommandExt::fd`).
            /// The parent's `fd` is closed once the next spawn has made the child. Mappings may
            /// swap or overlap each other, the standard streams and the fds the spawn makes
            /// for itself: each target gets exactly the fd given for it (the last one given,
            /// for a repeated target).
            fn fd(&mut self, child_fd: RawFd, fd: impl Into<OwnedFd>) -> &mut Command;
        }

        impl CommandExt for Command {
            fn uid(&mut self, id: u32) -> &mut Command {
                self.set_uid(id)
            }

            fn gid(&mut self, id: u32) -> &mut Command {
                self.set_gid(id)
            }

            fn groups(&mut self, groups: &[u32]) -> &mut Command {
                self.set_groups(groups)
            }

            unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
            where
                F: FnMut() -> io::Result<()> + Send + Sync + 'static,
            {
                self.add_fork_hook(Box::new(f))
            }

            fn exec(&mut self) -> io::Error {
                self.exec_in_place()
            }

            fn arg0<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
                self.set_arg0(arg.as_ref())
            }

            fn process_group(&mut self, pgroup: i32) -> &mut Command {
                self.set_process_group(pgroup)
            }

            fn fd(&mut self, child_fd: RawFd, fd: impl Into<OwnedFd>) -> &mut Command {
                self.map_fd(child_fd, fd.into())
            }
        }

        /// std's `ExitStatusExt` (unix): the raw wait status and what it encodes.
        pub trait ExitStatusExt: Sealed {
            /// The status whose raw `wait` status is `raw`.
            fn from_raw(raw: i32) -> Self;

            /// The signal that killed the process (`WTERMSIG`), if one did.
            fn signal(&self) -> Option<i32>;

            /// Whether the process dumped core (`WCOREDUMP`).
            fn core_dumped(&self) -> bool;

            /// The signal that stopped the process (`WSTOPSIG`), if this status is a stop.
            fn stopped_signal(&self) -> Option<i32>;

            /// Whether this status says the process was continued (`WIFCONTINUED`).
            fn continued(&self) -> bool;

            /// The raw `wait` status.
            fn into_raw(self) -> i32;
        }

        impl ExitStatusExt for ExitStatus {
            fn from_raw(raw: i32) -> ExitStatus {
                ExitStatus::from_wait_status(raw)
            }

            fn signal(&self) -> Option<i32> {
                self.signal_number()
            }

            fn core_dumped(&self) -> bool {
                ExitStatus::core_dumped(*self)
            }

            fn stopped_signal(&self) -> Option<i32> {
                ExitStatus::stopped_signal(*self)
            }

            fn continued(&self) -> bool {
                ExitStatus::continued(*self)
            }

            fn into_raw(self) -> i32 {
                self.raw()
            }
        }

        /// The parent's pid (`getppid(2)`), as std's `parent_id`.
        pub fn parent_id() -> u32 {
            rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get() as u32)
        }

        mod private {
            pub trait Sealed {}
            impl Sealed for crate::process::Command {}
            impl Sealed for crate::process::ExitStatus {}
        }
        use private::Sealed;
    }
}

/// Linux extensions.
pub mod linux {
    /// std's `std::os::linux::process` (unstable there): pidfds for [`Command`] children.
    ///
    /// [`Command`]: crate::process::Command
    pub mod process {
        use crate::process::{Child, Command, ExitStatus};
        use std::io;
        use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};

        /// A pidfd: a file descriptor that refers to one process, whatever later reuses its pid.
        #[derive(Debug)]
        pub struct PidFd(OwnedFd);

        impl PidFd {
            /// Sends `SIGKILL` (`pidfd_send_signal(2)`); `ESRCH` once the process has been
            /// reaped, as std.
            ///
            /// # References
            /// - [Linux](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
            pub fn kill(&self) -> io::Result<()> {
                rustix::process::pidfd_send_signal(&self.0, rustix::process::Signal::KILL)
                    .map_err(io::Error::from)
            }

            /// Waits for the process to exit and reaps it (`waitid(P_PIDFD, WEXITED)`); it must
            /// be a child of this process.
            ///
            /// # References
            /// - [Linux](https://man7.org/linux/man-pages/man2/waitid.2.html)
            pub fn wait(&self) -> io::Result<ExitStatus> {
                loop {
                    if let Some(st) = self.waitid(rustix::process::WaitIdOptions::empty())? {
                        return Ok(st);
                    }
                }
            }

            /// Reaps the process if it has exited (`WNOHANG`); `Ok(None)` while it runs.
            ///
            /// # References
            /// - [Linux](https://man7.org/linux/man-pages/man2/waitid.2.html)
            pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
                self.waitid(rustix::process::WaitIdOptions::NOHANG)
            }

            fn waitid(&self, extra: rustix::process::WaitIdOptions) -> io::Result<Option<ExitStatus>> {
                use rustix::process::{WaitId, WaitIdOptions};
                let opts = WaitIdOptions::EXITED | extra;
                loop {
                    match rustix::process::waitid(WaitId::PidFd(self.0.as_fd()), opts) {
                        Err(e) if e == rustix::io::Errno::INTR => continue,
                        Err(e) => return Err(e.into()),
                        Ok(Some(st)) if st.exited() || st.killed() || st.dumped() => {
                            return Ok(Some(crate::child::status_of(&st)))
                        }
                        Ok(_) => return Ok(None),
                    }
                }
            }
        }

        impl AsFd for PidFd {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.0.as_fd()
            }
        }

        impl AsRawFd for PidFd {
            fn as_raw_fd(&self) -> RawFd {
                self.0.as_raw_fd()
            }
        }

        impl IntoRawFd for PidFd {
            fn into_raw_fd(self) -> RawFd {
                self.0.into_raw_fd()
            }
        }

        impl FromRawFd for PidFd {
            /// # Safety
            ///
            /// `fd` is an open pidfd that nothing else owns.
            unsafe fn from_raw_fd(fd: RawFd) -> PidFd {
                // SAFETY: the caller hands over an fd it owns.
                PidFd(unsafe { OwnedFd::from_raw_fd(fd) })
            }
        }

        impl From<OwnedFd> for PidFd {
            fn from(fd: OwnedFd) -> PidFd {
                PidFd(fd)
            }
        }

        impl From<PidFd> for OwnedFd {
            fn from(p: PidFd) -> OwnedFd {
                p.0
            }
        }

        /// std's `ChildExt` (linux): the child's pidfd.
        pub trait ChildExt: Sealed + Sized {
            /// The pidfd, if the command asked for one ([`CommandExt::create_pidfd`]); an
            /// error otherwise.
            fn pidfd(&self) -> io::Result<&PidFd>;

            /// The pidfd, taking the child's place: the pidfd now waits for it. `Err(self)` if
            /// there is none.
            fn into_pidfd(self) -> Result<PidFd, Self>;
        }

        impl ChildExt for Child {
            fn pidfd(&self) -> io::Result<&PidFd> {
                self.pidfd_ref().ok_or_else(|| io::Error::other("no pidfd was created."))
            }

            fn into_pidfd(self) -> Result<PidFd, Child> {
                self.take_pidfd_handle()
            }
        }

        /// std's `CommandExt` (linux): whether the child comes with a pidfd.
        pub trait CommandExt: Sealed {
            /// Asks for a pidfd with the child (`CLONE_PIDFD`, made atomically with it on
            /// every path: `clone3`, or legacy `clone` where `clone3` is refused). Default:
            /// none, as in std.
            fn create_pidfd(&mut self, val: bool) -> &mut Command;
        }

        impl CommandExt for Command {
            fn create_pidfd(&mut self, val: bool) -> &mut Command {
                self.set_create_pidfd(val)
            }
        }

        impl PidFd {
            pub(crate) fn from_owned(fd: OwnedFd) -> PidFd {
                PidFd(fd)
            }
        }

        mod private {
            pub trait Sealed {}
            impl Sealed for crate::process::Command {}
            impl Sealed for crate::process::Child {}
        }
        use private::Sealed;
    }
}
