//! An executable model of the kernel half of Linux process creation.
//!
//! `fork`, `vfork`, `clone` and `clone3` all reach [`Kernel::kernel_clone`] (and the seed's
//! [`Kernel::do_fork`]), which runs `copy_process`: each `copy_*` helper shares, copies or
//! creates one resource, in the kernel's order, and records what it did
//! ([`CopyProcessRecord`]). Resources are reference-counted objects, so whether two tasks
//! share an address space is answered by identity ([`Kernel::shares`]), never by re-reading
//! the flags. Around it sit the paths that clone's semantics interact with: exit and
//! exit_group, wait4/waitid, execve (de_thread, vfork release, clear-tid), unshare, signals
//! (dispositions, masks, delivery), ptrace (attach, stops, events, the tracer's wait and
//! exit), futexes, fs info, fd tables, pid namespaces.
//!
//! The files are named after the kernel files they follow (`fork.rs` is `kernel/fork.c`,
//! `exit.rs` is `kernel/exit.c`, `exec.rs` is `fs/exec.c`…), and each function names the
//! kernel function it models. Behaviour is Linux 6.18's; where older kernels differ, the
//! comment says so. Argument rules come from `clonekit-flags` (one source of truth); the model
//! adds only the rules that need its state.
//!
//! Blocking system calls (a vfork parent, `wait4` without `WNOHANG`, `FUTEX_WAIT`) return
//! [`Syscall::Blocked`]; the task stays blocked until a later call releases it, and
//! [`Kernel::take_resumed`] hands out the results of the calls that finished.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod blk_ioc;
mod capability;
mod commoncap;
mod coredump;
mod cred;
mod exec;
mod exit;
mod file;
mod fork;
mod fs;
mod futex;
mod init_task;
mod mm;
mod namei;
mod nsproxy;
mod pid;
mod pidfs;
mod ptrace;
mod sched;
mod sem;
mod signal;
mod sys;
mod ucount;
mod wait;

pub use blk_ioc::IoContext;
pub use capability::CapSets;
pub use clonekit_flags::Resource;
pub use cred::{Cred, UserNamespace};
pub use file::{FdState, File, FileKind, FilesStruct, Whence};
pub use fork::{CopyProcessRecord, CopyStep, Forked};
pub use fs::FsStruct;
pub use init_task::INIT_HOSTNAME;
pub use mm::{MmStruct, PAGE_SIZE};
pub use nsproxy::{Namespace, NsCommon, NsKind, NsProxy, UtsNamespace};
pub use pid::{Pid, PidNamespace};
pub use sched::{Kernel, Resumed, Syscall, TaskId, TaskState};
pub use sem::SemUndoList;
pub use signal::{Disposition, SigSet, SighandStruct, SignalStruct, SigprocmaskHow, UserSiginfo};
pub use sys::IOPRIO_DEFAULT;
pub use wait::{
    IdType, WaitOptions, WaitStatus, Waited, WALL, WCLONE, WCONTINUED, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT,
    WUNTRACED,
};

pub use clonekit_flags::{CloneCall, CloneFlags, Errno, ExitSignal, KernelCloneArgs, Signal};
