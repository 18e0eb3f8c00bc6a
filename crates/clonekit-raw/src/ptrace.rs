//! `ptrace(2)`: the requests clonekit's tracer and probes make, as raw system calls.
//!
//! rustix has no ptrace. Each function here is one `ptrace` call through the raw `syscall`
//! instruction: no allocation and no libc state (no `errno`), so [`interrupt`] may be called
//! from a signal handler and any of them from any child clonekit creates. None keeps state.
//!
//! These requests read or change the tracee only, never the tracer's memory except the
//! out-parameters that the wrappers own, so they are safe to call.
//!
//! # References
//!
//! - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)

use rustix::io::Errno;

use crate::check;
use crate::{nr, syscall4};

// The numbers are clonekit-flags' (include/uapi/linux/ptrace.h), in the types these
// wrappers take.
use clonekit_flags as f;

/// `PTRACE_O_TRACESYSGOOD`: syscall stops report `SIGTRAP | 0x80`.
pub const O_TRACESYSGOOD: usize = f::PTRACE_O_TRACESYSGOOD as usize;
/// `PTRACE_O_TRACEFORK`: stop at `PTRACE_EVENT_FORK` and trace the new child.
pub const O_TRACEFORK: usize = f::PTRACE_O_TRACEFORK as usize;
/// `PTRACE_O_TRACEVFORK`: stop at `PTRACE_EVENT_VFORK` and trace the new child.
pub const O_TRACEVFORK: usize = f::PTRACE_O_TRACEVFORK as usize;
/// `PTRACE_O_TRACECLONE`: stop at `PTRACE_EVENT_CLONE` and trace the new task.
pub const O_TRACECLONE: usize = f::PTRACE_O_TRACECLONE as usize;
/// `PTRACE_O_TRACEEXEC`: stop at `PTRACE_EVENT_EXEC`.
pub const O_TRACEEXEC: usize = f::PTRACE_O_TRACEEXEC as usize;
/// `PTRACE_O_TRACEEXIT`: stop at `PTRACE_EVENT_EXIT`.
pub const O_TRACEEXIT: usize = f::PTRACE_O_TRACEEXIT as usize;
/// `PTRACE_O_TRACESECCOMP`: stop at `PTRACE_EVENT_SECCOMP` (`SECCOMP_RET_TRACE`).
pub const O_TRACESECCOMP: usize = f::PTRACE_O_TRACESECCOMP as usize;
/// `PTRACE_O_EXITKILL`: tracees get `SIGKILL` when the tracer exits.
pub const O_EXITKILL: usize = f::PTRACE_O_EXITKILL as usize;

/// `PTRACE_EVENT_FORK`.
pub const EVENT_FORK: u32 = f::PTRACE_EVENT_FORK;
/// `PTRACE_EVENT_VFORK`.
pub const EVENT_VFORK: u32 = f::PTRACE_EVENT_VFORK;
/// `PTRACE_EVENT_CLONE`.
pub const EVENT_CLONE: u32 = f::PTRACE_EVENT_CLONE;
/// `PTRACE_EVENT_EXEC`.
pub const EVENT_EXEC: u32 = f::PTRACE_EVENT_EXEC;
/// `PTRACE_EVENT_EXIT`.
pub const EVENT_EXIT: u32 = f::PTRACE_EVENT_EXIT;
/// `PTRACE_EVENT_SECCOMP`.
pub const EVENT_SECCOMP: u32 = f::PTRACE_EVENT_SECCOMP;
/// `PTRACE_EVENT_STOP` (SEIZE only): group-stops, interrupts, new children's first stop.
pub const EVENT_STOP: u32 = f::PTRACE_EVENT_STOP;

const PTRACE_CONT: usize = f::PTRACE_CONT as usize;
const PTRACE_GETREGS: usize = f::PTRACE_GETREGS as usize;
const PTRACE_DETACH: usize = f::PTRACE_DETACH as usize;
const PTRACE_SYSCALL: usize = f::PTRACE_SYSCALL as usize;
const PTRACE_GETEVENTMSG: usize = f::PTRACE_GETEVENTMSG as usize;
const PTRACE_GETSIGINFO: usize = f::PTRACE_GETSIGINFO as usize;
const PTRACE_SEIZE: usize = f::PTRACE_SEIZE as usize;
const PTRACE_INTERRUPT: usize = f::PTRACE_INTERRUPT as usize;
const PTRACE_LISTEN: usize = f::PTRACE_LISTEN as usize;
const PTRACE_POKEDATA: usize = f::PTRACE_POKEDATA as usize;
const PTRACE_POKEUSER: usize = f::PTRACE_POKEUSER as usize;
const PTRACE_SETOPTIONS: usize = f::PTRACE_SETOPTIONS as usize;
const PTRACE_GET_SYSCALL_INFO: usize = f::PTRACE_GET_SYSCALL_INFO as usize;

/// `ptrace(req, pid, addr, data)` for a request that reads and writes no memory of ours.
fn ptrace_int(req: usize, pid: i32, addr: usize, data: usize) -> Result<usize, Errno> {
    // SAFETY: every request routed here takes integers (or nothing) in addr/data; the kernel
    // writes no memory of ours.
    check(unsafe { syscall4(nr::PTRACE, req, pid as isize as usize, addr, data) })
}

/// `PTRACE_SEIZE` with these `O_*` options: attach to `pid` without stopping it.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn seize(pid: i32, options: usize) -> Result<(), Errno> {
    ptrace_int(PTRACE_SEIZE, pid, 0, options).map(drop)
}

/// `PTRACE_SETOPTIONS`: replace a stopped tracee's `O_*` options.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn set_options(pid: i32, options: usize) -> Result<(), Errno> {
    ptrace_int(PTRACE_SETOPTIONS, pid, 0, options).map(drop)
}

/// `PTRACE_POKEDATA`: write the word `value` at `addr` in a stopped tracee's memory.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn poke_data(pid: i32, addr: u64, value: u64) -> Result<(), Errno> {
    ptrace_int(PTRACE_POKEDATA, pid, addr as usize, value as usize).map(drop)
}

/// The offset of `rdi` (a system call's first argument) in `struct user`, for [`poke_user`].
pub const USER_RDI: usize = std::mem::offset_of!(UserRegs, rdi);

/// `PTRACE_POKEUSER`: write the word `value` at `offset` in a stopped tracee's `struct user`
/// (its registers come first, laid out as [`UserRegs`]).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn poke_user(pid: i32, offset: usize, value: u64) -> Result<(), Errno> {
    ptrace_int(PTRACE_POKEUSER, pid, offset, value as usize).map(drop)
}

/// `PTRACE_INTERRUPT`: make a running (seized) tracee stop with [`EVENT_STOP`].
///
/// One raw system call, so it may be called from a signal handler.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn interrupt(pid: i32) -> Result<(), Errno> {
    ptrace_int(PTRACE_INTERRUPT, pid, 0, 0).map(drop)
}

/// `PTRACE_CONT`: resume a stopped tracee, delivering `sig` (0 for none).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn cont(pid: i32, sig: i32) -> Result<(), Errno> {
    ptrace_int(PTRACE_CONT, pid, 0, sig as usize).map(drop)
}

/// `PTRACE_SYSCALL`: resume until the next syscall entry or exit, delivering `sig` (0 for
/// none).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn syscall(pid: i32, sig: i32) -> Result<(), Errno> {
    ptrace_int(PTRACE_SYSCALL, pid, 0, sig as usize).map(drop)
}

/// `PTRACE_LISTEN`: leave a group-stopped tracee stopped, but let it report `SIGCONT`.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn listen(pid: i32) -> Result<(), Errno> {
    ptrace_int(PTRACE_LISTEN, pid, 0, 0).map(drop)
}

/// `PTRACE_DETACH`: stop tracing a stopped tracee and resume it, delivering `sig` (0 for
/// none).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn detach(pid: i32, sig: i32) -> Result<(), Errno> {
    ptrace_int(PTRACE_DETACH, pid, 0, sig as usize).map(drop)
}

/// `PTRACE_GETEVENTMSG`: the message of the last ptrace event (the new tid at a fork, vfork
/// or clone event, the former tid at an exec event, the exit status at an exit event).
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn event_msg(pid: i32) -> Result<u64, Errno> {
    let mut msg: u64 = 0;
    // SAFETY: the kernel writes one unsigned long to `msg`, which outlives the call.
    check(unsafe {
        syscall4(nr::PTRACE, PTRACE_GETEVENTMSG, pid as isize as usize, 0, &mut msg as *mut u64 as usize)
    })?;
    Ok(msg)
}

/// `PTRACE_GETSIGINFO`: the raw 128 bytes of the `siginfo_t` of the signal that stopped the
/// tracee.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn siginfo(pid: i32) -> Result<[u8; 128], Errno> {
    let mut buf = [0u8; 128];
    // SAFETY: the kernel writes a 128-byte siginfo_t into `buf`, which is that large.
    check(unsafe {
        syscall4(nr::PTRACE, PTRACE_GETSIGINFO, pid as isize as usize, 0, buf.as_mut_ptr() as usize)
    })?;
    Ok(buf)
}

/// x86_64 `struct user_regs_struct` (arch/x86/include/asm/user_64.h), what
/// `PTRACE_GETREGS` fills: the tracee's general-purpose registers at its stop.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserRegs {
    /// `r15`.
    pub r15: u64,
    /// `r14`.
    pub r14: u64,
    /// `r13`.
    pub r13: u64,
    /// `r12`.
    pub r12: u64,
    /// `rbp`.
    pub rbp: u64,
    /// `rbx`.
    pub rbx: u64,
    /// `r11`.
    pub r11: u64,
    /// `r10`.
    pub r10: u64,
    /// `r9`.
    pub r9: u64,
    /// `r8`.
    pub r8: u64,
    /// `rax`.
    pub rax: u64,
    /// `rcx`.
    pub rcx: u64,
    /// `rdx`.
    pub rdx: u64,
    /// `rsi`.
    pub rsi: u64,
    /// `rdi`.
    pub rdi: u64,
    /// The system call number at a syscall stop (`-1` outside a system call).
    pub orig_rax: u64,
    /// `rip`.
    pub rip: u64,
    /// `cs`.
    pub cs: u64,
    /// `eflags`.
    pub eflags: u64,
    /// `rsp`.
    pub rsp: u64,
    /// `ss`.
    pub ss: u64,
    /// `fs_base`.
    pub fs_base: u64,
    /// `gs_base`.
    pub gs_base: u64,
    /// `ds`.
    pub ds: u64,
    /// `es`.
    pub es: u64,
    /// `fs`.
    pub fs: u64,
    /// `gs`.
    pub gs: u64,
}

/// `PTRACE_GETREGS`: the tracee's general-purpose registers.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn regs(pid: i32) -> Result<UserRegs, Errno> {
    let mut r = UserRegs::default();
    // SAFETY: the kernel writes one user_regs_struct, whose layout `UserRegs` has, to `r`.
    check(unsafe {
        syscall4(nr::PTRACE, PTRACE_GETREGS, pid as isize as usize, 0, &mut r as *mut UserRegs as usize)
    })?;
    Ok(r)
}

/// What `PTRACE_GET_SYSCALL_INFO` reports at a stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallInfo {
    /// Not a syscall stop.
    None,
    /// Syscall entry: number and arguments.
    Entry {
        /// Syscall number.
        nr: u64,
        /// Arguments.
        args: [u64; 6],
    },
    /// Syscall exit: the return value (negative errno on error).
    Exit {
        /// Return value.
        rval: i64,
        /// Whether `rval` is an error.
        is_error: bool,
    },
    /// A `SECCOMP_RET_TRACE` stop: number and arguments.
    Seccomp {
        /// Syscall number.
        nr: u64,
        /// Arguments.
        args: [u64; 6],
    },
}

/// `PTRACE_GET_SYSCALL_INFO` (Linux 5.3): the system call the tracee is stopped in.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/ptrace.2.html)
pub fn syscall_info(pid: i32) -> Result<SyscallInfo, Errno> {
    let mut buf = [0u64; 12];
    let size = core::mem::size_of_val(&buf);
    // SAFETY: the kernel writes at most `size` bytes into `buf`, which is that large.
    check(unsafe {
        syscall4(nr::PTRACE, PTRACE_GET_SYSCALL_INFO, pid as isize as usize, size, buf.as_mut_ptr() as usize)
    })?;
    let op = (buf[0] & 0xff) as u8;
    let args = [buf[4], buf[5], buf[6], buf[7], buf[8], buf[9]];
    Ok(match op {
        1 => SyscallInfo::Entry { nr: buf[3], args },
        2 => SyscallInfo::Exit { rval: buf[3] as i64, is_error: buf[4] & 0xff != 0 },
        3 => SyscallInfo::Seccomp { nr: buf[3], args },
        _ => SyscallInfo::None,
    })
}
