//! The live verification machinery of clonekit: everything that exists to check, observe or
//! run on the real kernel what [`clonekit_sys`] and the model claim, and nothing a program
//! needs to create processes and threads.
//!
//! - [`probe`]: one live probe per `CLONE_*` flag, creating children with and without it
//!   and observing the difference (`clonekit check`).
//! - [`trial`]: one creation call issued exactly as given, from a caller in a chosen state,
//!   to learn the kernel's errno for each validation rule (`clonekit check`).
//! - [`observe`]: the system calls that observe what a child shares with its parent, and the
//!   shared page children report through.
//! - [`agent`]: real tasks that perform scenario steps one at a time on a coordinator's
//!   request (the scenario language's kernel backend).
//! - [`privilege`]: what this process may do, and a user namespace of its own for an
//!   ordinary user.
//! - [`seccomp`]: `clone3` refused by a seccomp filter as container profiles refuse it, to
//!   run programs under (the `refuse-clone3` tool, the tests, CI), and the detection of one.
//! - [`elf`]: a minimal static executable made from bytes (a child to `execve` without
//!   `ld.so`).
//! - [`caller_state`], [`pid_ns_level`]: the calling process as the validation rules see it;
//!   [`probe_clone3`]: whether `clone3` reaches the kernel here.
//!
//! Built on [`clonekit_sys`]'s safe API and on its raw layer, [`clonekit_raw`].
//!
//! x86_64 Linux only.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod agent;
pub mod elf;
pub mod observe;
pub mod privilege;
pub mod probe;
pub mod seccomp;
pub mod trial;

pub use clonekit_raw::{caller_state, pid_ns_level, probe_clone3};
