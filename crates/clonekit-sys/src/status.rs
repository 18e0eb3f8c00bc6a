//! [`ExitStatus`] and [`ExitStatusError`]: how a child ended, as `std::process` says it.
//!
//! An `ExitStatus` holds the raw wait status that `wait4(2)` would return (`WEXITSTATUS`,
//! `WTERMSIG`, `WCOREDUMP`, `WSTOPSIG` and `WIFCONTINUED` encodings), so it converts to and
//! from std's `ExitStatus` losslessly (`ExitStatusExt::from_raw` / `into_raw`), prints as std
//! prints it, and compares equal where std's would.

use clonekit_flags::Signal;
use std::fmt;
use std::num::NonZeroI32;

/// How a child ended (or stopped, or continued), as `std::process::ExitStatus`.
///
/// ```
/// use clonekit_sys::process::ExitStatus;
/// use clonekit_sys::os::unix::process::ExitStatusExt;
/// assert_eq!(ExitStatus::from_raw(0x0100).code(), Some(1));
/// assert_eq!(ExitStatus::from_raw(0x000f).to_string(), "signal: 15 (SIGTERM)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitStatus(i32);

impl ExitStatus {
    /// The status of a child that exited with `code` (its low 8 bits, as the kernel keeps).
    pub fn from_code(code: i32) -> ExitStatus {
        ExitStatus((code & 0xff) << 8)
    }

    /// The status of a child killed by `signal`, with or without a core dump.
    pub fn from_signal(signal: Signal, core_dumped: bool) -> ExitStatus {
        ExitStatus(signal.number() as i32 | if core_dumped { 0x80 } else { 0 })
    }

    pub(crate) const fn from_wait_status(raw: i32) -> ExitStatus {
        ExitStatus(raw)
    }

    pub(crate) const fn raw(self) -> i32 {
        self.0
    }

    /// Whether the child exited with status 0.
    pub fn success(&self) -> bool {
        self.0 == 0
    }

    /// `Ok(())` if the child exited with status 0, else the status as an error (std's
    /// `exit_ok`, stable here).
    pub fn exit_ok(&self) -> Result<(), ExitStatusError> {
        match NonZeroI32::new(self.0) {
            None => Ok(()),
            Some(_) => Err(ExitStatusError(*self)),
        }
    }

    /// The exit code (`WEXITSTATUS`) if the child exited; `None` if a signal ended it.
    pub fn code(&self) -> Option<i32> {
        self.exited().then_some((self.0 >> 8) & 0xff)
    }

    /// The signal that killed the child (`WTERMSIG`), as a [`Signal`]; `None` if it exited.
    /// (`ExitStatusExt::signal` gives the number, as std.)
    pub fn terminating_signal(&self) -> Option<Signal> {
        self.signal_number().and_then(|n| Signal::new(n as u32))
    }

    pub(crate) fn exited(self) -> bool {
        self.0 & 0x7f == 0
    }

    pub(crate) fn signal_number(self) -> Option<i32> {
        let sig = self.0 & 0x7f;
        // WIFSIGNALED: neither exited (0) nor stopped (0x7f).
        (sig != 0 && sig != 0x7f).then_some(sig)
    }

    pub(crate) fn core_dumped(self) -> bool {
        self.signal_number().is_some() && self.0 & 0x80 != 0
    }

    pub(crate) fn stopped_signal(self) -> Option<i32> {
        (self.0 & 0xff == 0x7f).then_some((self.0 >> 8) & 0xff)
    }

    pub(crate) fn continued(self) -> bool {
        self.0 == 0xffff
    }
}

/// `"signal: 15 (SIGTERM)"`, or the bare number for a signal without a name.
fn signal_text(n: i32) -> String {
    match Signal::new(n as u32) {
        Some(s) if n < clonekit_flags::SIGRTMIN_KERNEL as i32 => format!("{n} ({s})"),
        _ => n.to_string(),
    }
}

impl fmt::Display for ExitStatus {
    /// std's wording: `exit status: 1`, `signal: 9 (SIGKILL)`, `signal: 11 (SIGSEGV) (core
    /// dumped)`, `stopped (not terminated) by signal: 19 (SIGSTOP)`, `continued
    /// (WIFCONTINUED)`, else `unrecognised wait status: N 0xN`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(code) = self.code() {
            write!(f, "exit status: {code}")
        } else if let Some(sig) = self.signal_number() {
            let dumped = if self.core_dumped() { " (core dumped)" } else { "" };
            write!(f, "signal: {}{dumped}", signal_text(sig))
        } else if let Some(sig) = self.stopped_signal() {
            write!(f, "stopped (not terminated) by signal: {}", signal_text(sig))
        } else if self.continued() {
            write!(f, "continued (WIFCONTINUED)")
        } else {
            write!(f, "unrecognised wait status: {} {:#x}", self.0, self.0)
        }
    }
}

impl fmt::Debug for ExitStatus {
    /// std's: `ExitStatus(unix_wait_status(256))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExitStatus(unix_wait_status({}))", self.0)
    }
}

impl From<std::process::ExitStatus> for ExitStatus {
    fn from(st: std::process::ExitStatus) -> ExitStatus {
        use std::os::unix::process::ExitStatusExt as _;
        ExitStatus(st.into_raw())
    }
}

impl From<ExitStatus> for std::process::ExitStatus {
    fn from(st: ExitStatus) -> std::process::ExitStatus {
        use std::os::unix::process::ExitStatusExt as _;
        std::process::ExitStatus::from_raw(st.0)
    }
}

/// An [`ExitStatus`] that is not success, from [`ExitStatus::exit_ok`] (std's
/// `ExitStatusError`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ExitStatusError(ExitStatus);

impl ExitStatusError {
    /// The exit code, if the child exited (never `Some(0)`).
    pub fn code(&self) -> Option<i32> {
        self.0.code()
    }

    /// The exit code as a `NonZeroI32`, if the child exited.
    pub fn code_nonzero(&self) -> Option<NonZeroI32> {
        self.code().and_then(NonZeroI32::new)
    }

    /// The status this error came from.
    pub fn into_status(&self) -> ExitStatus {
        self.0
    }
}

impl fmt::Display for ExitStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "process exited unsuccessfully: {}", self.0)
    }
}

impl fmt::Debug for ExitStatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExitStatusError({:?})", self.0)
    }
}

impl std::error::Error for ExitStatusError {}

impl From<ExitStatusError> for ExitStatus {
    fn from(e: ExitStatusError) -> ExitStatus {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_debug_match_std_for_every_kind_of_status() {
        use std::os::unix::process::ExitStatusExt as _;
        let mut raws = vec![0, 0x0100, 0xff00, 0x008b, 0x137f, 0xffff, 0x00ff];
        for sig in 1..=64 {
            raws.extend([sig, sig | 0x80, sig << 8 | 0x7f]);
        }
        for raw in raws {
            let std = std::process::ExitStatus::from_raw(raw);
            let ours = ExitStatus(raw);
            assert_eq!(ours.to_string(), std.to_string(), "raw {raw:#x}");
            assert_eq!(format!("{ours:?}"), format!("{std:?}"), "raw {raw:#x}");
            assert_eq!(ours.code(), std.code(), "raw {raw:#x}");
            assert_eq!(ours.success(), std.success(), "raw {raw:#x}");
            assert_eq!(ours.signal_number(), std.signal(), "raw {raw:#x}");
            assert_eq!(ours.core_dumped(), std.core_dumped(), "raw {raw:#x}");
            assert_eq!(ours.stopped_signal(), std.stopped_signal(), "raw {raw:#x}");
            assert_eq!(ours.continued(), std.continued(), "raw {raw:#x}");
        }
    }

    #[test]
    fn exit_ok_is_an_error_for_anything_but_status_0() {
        assert!(ExitStatus(0).exit_ok().is_ok());
        let e = ExitStatus(0x0100).exit_ok().unwrap_err();
        assert_eq!(e.code(), Some(1));
        assert_eq!(e.to_string(), "process exited unsuccessfully: exit status: 1");
        assert_eq!(ExitStatus(0x0009).exit_ok().unwrap_err().code(), None);
    }
}
