//! The user-space half of Linux process creation, without libc's wrappers: our own
//! `clone`/`clone3` trampolines, and on top of them fork, vfork-style spawn, raw threads and
//! pidfd-first child handles.
//!
//! - [`Clone`](struct@Clone): the general builder. Any flags, exit signal, owned or no stack, tid
//!   pointers, TLS, pidfd, `set_tid`, cgroup; the child is a closure run on the far side of
//!   an asm trampoline that never returns into the caller's frames (no API "returns twice").
//! - [`fork`]: exactly glibc's `fork` system call,
//!   `clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, ...)`.
//! - [`spawn`], [`spawnp`], [`pidfd_spawn`]: glibc's `posix_spawn` shape,
//!   `clone3({CLONE_VM|CLONE_VFORK|CLONE_CLEAR_SIGHAND, exit_signal=SIGCHLD})` on a small
//!   stack of its own, then `execve`; an exec failure is an error value.
//! - [`thread::spawn_raw`]: `pthread_create`'s nine flags with our own stack and TCB.
//! - [`Child`]: `wait`/`try_wait`/`kill` through the pidfd when there is one.
//! - [`process`]: `std::process` itself ([`Command`], `Child`, `Stdio`, [`ExitStatus`]...),
//!   with std's behaviour, on the vfork path; [`os`] holds its unix and linux extensions at
//!   std's paths. Beyond std: namespaces, cgroups, fd mappings, pidfds.
//! - [`Syscall`], [`clone3_supported`]: clone3 first, legacy clone as a cached fallback.
//!
//! Every creation blocks all signals in the calling thread around the system call and
//! restores the mask on both sides; children that share the parent's memory reset the
//! parent's handlers before unblocking anything.
//!
//! ```
//! let mut child = clonekit_sys::spawn(c"/bin/true", &[c"true"], &[])?;
//! assert!(child.wait()?.success());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! x86_64 Linux only.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod builder;
mod child;
mod dispatch;
mod error;
mod fork;
pub mod os;
pub mod process;
mod signals;
mod spawn;
mod stack;
mod status;
pub mod thread;

pub use builder::{Clone, CHILD_PANIC_STATUS, DEFAULT_STACK_SIZE};
pub use child::{block_signals, Child, SignalsBlocked};
pub use clonekit_flags::{CloneCall, CloneFlags, Errno, ExitSignal, Rule, Signal};
pub use dispatch::{clone3_supported, Clone3Only, Clone3Unavailable, Syscall};
pub use error::CloneError;
pub use fork::fork;
pub use process::Command;
pub use spawn::{pidfd_spawn, spawn, spawnp, SpawnError};
pub use status::{ExitStatus, ExitStatusError};
