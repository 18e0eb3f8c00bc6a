//! The `clonekit` library: `std::process` on the vfork fast path, for programs that depend on
//! `clonekit` rather than on its parts. Replace `std::process` by [`clonekit::process`](process)
//! and `std::os::{unix, linux}::process` by [`clonekit::os`](os)`::{unix, linux}::process`: the
//! API, the defaults, the errors and the formats are std's; what std does on `fork`, clonekit
//! does without copying a page table, plus namespaces, cgroups, pidfds and fd mappings.
//!
//! ```
//! use clonekit::process::{Command, Stdio};
//! let out = Command::new("/bin/echo").arg("hello").stdout(Stdio::piped()).output()?;
//! assert_eq!(out.stdout, b"hello\n");
//! assert_eq!(out.status.to_string(), "exit status: 0");
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use clonekit_sys::{os, process};
pub use clonekit_sys::{CloneFlags, Signal};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
