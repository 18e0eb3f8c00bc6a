//! The raw layer under clonekit: the x86_64 `clone`/`clone3` trampolines (after glibc's
//! `clone.S` and `clone3.S`), the raw `syscall` instruction and the system call numbers, the
//! signal, wait, credential and mount calls that rustix leaves out of its stable modules,
//! `ptrace`, `seccomp` (installing a BPF filter), and the few `bpf` commands the tracer's
//! loader makes.
//!
//! A program that creates processes and threads uses `clonekit-sys` (or `clonekit`), whose
//! safe API is built on this crate; this crate is for the layers that need the raw calls
//! themselves: `clonekit-sys`, clonekit's probes, trials and scenario agents
//! (`clonekit-probe`), and its tracer (`clonekit-trace`). Each syscall family has one set of
//! wrappers here.
//!
//! Nothing here touches libc state (no `errno`, no allocation outside [`caller_state`]), so
//! every call may be made from any child clonekit creates, `CLONE_VM` and vfork children
//! included. Failures are [`Errno`](rustix::io::Errno) values; [`check`] maps a raw kernel
//! result to one.
//!
//! ```
//! // getpid through the raw instruction agrees with rustix.
//! // SAFETY: getpid takes no arguments and touches no memory.
//! let pid = clonekit_raw::check(unsafe { clonekit_raw::syscall4(clonekit_raw::nr::GETPID, 0, 0, 0, 0) });
//! assert_eq!(pid, Ok(rustix::process::getpid().as_raw_nonzero().get() as usize));
//! ```
//!
//! x86_64 Linux only.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod arch;
pub mod bpf;
mod caller;
pub mod ptrace;
pub mod seccomp;
mod sys;

pub use arch::{clone, clone3, create_exit_at_once, nr, syscall4, syscall6, tcb_guards, Entry};
pub use caller::{caller_state, measured_pid_ns_level, pid_ns_level, probe_clone3};
pub use sys::*;
