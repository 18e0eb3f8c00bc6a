//! The `clonekit` library: the process-creation API a `std::process::Command` user
//! recognises, on the vfork fast path ([`Command`], from clonekit-sys), for programs that
//! depend on `clonekit` rather than on its parts.
//!
//! ```
//! let out = clonekit::Command::new("/bin/echo").arg("hello").output()?;
//! assert_eq!(out.stdout, b"hello\n");
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use clonekit_sys::command::{
    Child, ChildStderr, ChildStdin, ChildStdout, Command, CommandError, IdMap, Output, Stdio, Step,
};
pub use clonekit_sys::{CloneFlags, ExitStatus, Signal};

/// The `clonekit::command` module: everything about [`Command`].
pub mod command {
    pub use clonekit_sys::command::*;
}
