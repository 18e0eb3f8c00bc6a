//! The machine-specific part: the `clone`/`clone3` trampolines and the raw `syscall`
//! instruction. Everything above this module is written against these few functions.

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
compile_error!("clonekit-raw implements the x86_64 Linux system call ABI only");

mod x86_64;

pub(crate) use self::x86_64::exit_syscall;
pub use self::x86_64::{clone, clone3, create_exit_at_once, nr, syscall4, syscall6, tcb_guards, Entry};
