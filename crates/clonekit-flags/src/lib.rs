//! The vocabulary of Linux process and thread creation.
//!
//! Every fact about `clone`/`clone3` lives here once: the `CLONE_*` bits ([`CloneFlags`]),
//! the exit signal ([`ExitSignal`]), `struct clone_args` ([`CloneArgs`]), strace's notation
//! (printing and parsing), the kernel's validation rules with their errno, what each flag
//! shares or copies, and the flag sets that libc calls produce. The model, the tracer, the
//! command-line tool and the tests all read them from here.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod args;
mod cred;
mod cstring;
mod errno;
mod flags;
mod notation;
mod pidfd;
mod presets;
mod privilege;
mod process;
mod ptrace;
mod resources;
mod rlimit;
mod rules;
mod siginfo;
mod signal;
mod versions;

pub use args::*;
pub use cred::*;
pub use cstring::*;
pub use errno::*;
pub use flags::*;
pub use notation::*;
pub use pidfd::*;
pub use presets::*;
pub use privilege::*;
pub use process::*;
pub use ptrace::*;
pub use resources::*;
pub use rlimit::*;
pub use rules::*;
pub use siginfo::*;
pub use signal::*;
pub use versions::*;
