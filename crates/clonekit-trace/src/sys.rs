//! The raw system calls a tracer needs and rustix leaves out: `ptrace` (SEIZE, INTERRUPT,
//! CONT, SYSCALL, LISTEN, DETACH, GETEVENTMSG, GETSIGINFO, GETREGS, GET_SYSCALL_INFO),
//! `wait4` on raw statuses (real-time signals included), and `process_vm_readv` to read a
//! tracee's memory. Each wrapper documents its man page; none keeps state.

use std::io;

/// `PTRACE_O_TRACESYSGOOD`: syscall stops report `SIGTRAP | 0x80`.
pub const O_TRACESYSGOOD: usize = 1;
/// `PTRACE_O_TRACEFORK`.
pub const O_TRACEFORK: usize = 1 << 1;
/// `PTRACE_O_TRACEVFORK`.
pub const O_TRACEVFORK: usize = 1 << 2;
/// `PTRACE_O_TRACECLONE`.
pub const O_TRACECLONE: usize = 1 << 3;
/// `PTRACE_O_TRACEEXEC`.
pub const O_TRACEEXEC: usize = 1 << 4;
/// `PTRACE_O_TRACEEXIT`.
pub const O_TRACEEXIT: usize = 1 << 6;
/// `PTRACE_O_TRACESECCOMP`.
pub const O_TRACESECCOMP: usize = 1 << 7;
/// `PTRACE_O_EXITKILL`: tracees get SIGKILL when the tracer exits.
pub const O_EXITKILL: usize = 1 << 20;

/// `PTRACE_EVENT_FORK`.
pub const EVENT_FORK: u32 = 1;
/// `PTRACE_EVENT_VFORK`.
pub const EVENT_VFORK: u32 = 2;
/// `PTRACE_EVENT_CLONE`.
pub const EVENT_CLONE: u32 = 3;
/// `PTRACE_EVENT_EXEC`.
pub const EVENT_EXEC: u32 = 4;
/// `PTRACE_EVENT_EXIT`.
pub const EVENT_EXIT: u32 = 6;
/// `PTRACE_EVENT_SECCOMP`.
pub const EVENT_SECCOMP: u32 = 7;
/// `PTRACE_EVENT_STOP` (SEIZE only): group-stops, interrupts, new children's first stop.
pub const EVENT_STOP: u32 = 0x80;

const PTRACE_CONT: libc::c_uint = 7;
const PTRACE_DETACH: libc::c_uint = 17;
const PTRACE_SYSCALL: libc::c_uint = 24;
const PTRACE_GETREGS: libc::c_uint = 12;
const PTRACE_GETEVENTMSG: libc::c_uint = 0x4201;
const PTRACE_GETSIGINFO: libc::c_uint = 0x4202;
const PTRACE_SEIZE: libc::c_uint = 0x4206;
const PTRACE_INTERRUPT: libc::c_uint = 0x4207;
const PTRACE_LISTEN: libc::c_uint = 0x4208;
const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;

fn check(r: libc::c_long) -> io::Result<libc::c_long> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `ptrace(req, pid, addr, data)` with integer-only arguments.
fn ptrace_int(req: libc::c_uint, pid: i32, addr: usize, data: usize) -> io::Result<libc::c_long> {
    // SAFETY: every request routed here takes integers (or nothing) in addr/data; the kernel
    // writes no memory of ours.
    check(unsafe { libc::ptrace(req, pid, addr, data) })
}

/// `PTRACE_SEIZE` with these options (ptrace(2)).
pub fn seize(pid: i32, options: usize) -> io::Result<()> {
    ptrace_int(PTRACE_SEIZE, pid, 0, options).map(drop)
}

/// `PTRACE_INTERRUPT`: make a running tracee stop with `PTRACE_EVENT_STOP`.
pub fn interrupt(pid: i32) -> io::Result<()> {
    ptrace_int(PTRACE_INTERRUPT, pid, 0, 0).map(drop)
}

/// `PTRACE_INTERRUPT` as a bare system call, for a signal handler (no errno, no allocation).
pub fn interrupt_raw(pid: i32) {
    // SAFETY: a raw syscall with integer arguments; the result is ignored on purpose.
    unsafe {
        libc::syscall(
            libc::SYS_ptrace,
            PTRACE_INTERRUPT as libc::c_long,
            pid as libc::c_long,
            0 as libc::c_long,
            0 as libc::c_long,
        );
    }
}

/// `PTRACE_CONT`, delivering `sig` (0 for none).
pub fn cont(pid: i32, sig: i32) -> io::Result<()> {
    ptrace_int(PTRACE_CONT, pid, 0, sig as usize).map(drop)
}

/// `PTRACE_SYSCALL`: resume until the next syscall entry or exit, delivering `sig`.
pub fn syscall(pid: i32, sig: i32) -> io::Result<()> {
    ptrace_int(PTRACE_SYSCALL, pid, 0, sig as usize).map(drop)
}

/// `PTRACE_LISTEN`: leave a group-stopped tracee stopped, but let it report `SIGCONT`.
pub fn listen(pid: i32) -> io::Result<()> {
    ptrace_int(PTRACE_LISTEN, pid, 0, 0).map(drop)
}

/// `PTRACE_DETACH`, delivering `sig`.
pub fn detach(pid: i32, sig: i32) -> io::Result<()> {
    ptrace_int(PTRACE_DETACH, pid, 0, sig as usize).map(drop)
}

/// `PTRACE_GETEVENTMSG`: the new tid, the former tid, or the exit status.
pub fn event_msg(pid: i32) -> io::Result<u64> {
    let mut msg: libc::c_ulong = 0;
    // SAFETY: the kernel writes one unsigned long to `msg`, which outlives the call.
    check(unsafe { libc::ptrace(PTRACE_GETEVENTMSG, pid, 0usize, &mut msg as *mut libc::c_ulong) })?;
    Ok(msg)
}

/// `PTRACE_GETSIGINFO`: the raw 128 bytes of the pending signal's `siginfo_t`.
pub fn siginfo(pid: i32) -> io::Result<[u8; 128]> {
    let mut buf = [0u8; 128];
    // SAFETY: the kernel writes a 128-byte siginfo_t into `buf`, which is that large.
    check(unsafe { libc::ptrace(PTRACE_GETSIGINFO, pid, 0usize, buf.as_mut_ptr()) })?;
    Ok(buf)
}

/// The registers a tracer reads at `PTRACE_EVENT_EXIT`: the syscall in progress and its
/// first argument.
#[derive(Debug, Clone, Copy)]
pub struct Regs {
    /// `orig_rax`: the syscall number, or -1 outside a syscall.
    pub orig_rax: u64,
    /// `rdi`: the first argument.
    pub rdi: u64,
}

/// `PTRACE_GETREGS` (x86_64 `user_regs_struct`).
pub fn regs(pid: i32) -> io::Result<Regs> {
    // SAFETY: user_regs_struct is plain integers; all-zero is a valid value.
    let mut r: libc::user_regs_struct = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel fills one user_regs_struct, which `r` is.
    check(unsafe { libc::ptrace(PTRACE_GETREGS, pid, 0usize, &mut r as *mut libc::user_regs_struct) })?;
    Ok(Regs { orig_rax: r.orig_rax, rdi: r.rdi })
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

/// `PTRACE_GET_SYSCALL_INFO` (Linux 5.3).
pub fn syscall_info(pid: i32) -> io::Result<SyscallInfo> {
    let mut buf = [0u64; 12];
    let size = std::mem::size_of_val(&buf);
    // SAFETY: the kernel writes at most `size` bytes into `buf`, which is that large.
    check(unsafe { libc::ptrace(PTRACE_GET_SYSCALL_INFO, pid, size, buf.as_mut_ptr()) })?;
    let op = (buf[0] & 0xff) as u8;
    let args = [buf[4], buf[5], buf[6], buf[7], buf[8], buf[9]];
    Ok(match op {
        1 => SyscallInfo::Entry { nr: buf[3], args },
        2 => SyscallInfo::Exit { rval: buf[3] as i64, is_error: buf[4] & 0xff != 0 },
        3 => SyscallInfo::Seccomp { nr: buf[3], args },
        _ => SyscallInfo::None,
    })
}

/// `wait4(-1, &status, __WALL | extra, NULL)`: `Ok(None)` when `WNOHANG` found nothing.
pub fn wait_any(nohang: bool) -> io::Result<Option<(i32, i32)>> {
    let mut status = 0;
    let opts = libc::__WALL | if nohang { libc::WNOHANG } else { 0 };
    // SAFETY: the kernel writes one int to `status`; rusage is NULL.
    let r = unsafe { libc::wait4(-1, &mut status, opts, std::ptr::null_mut()) };
    match r {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some((pid, status))),
    }
}

/// `wait4(pid, &status, __WALL, NULL)` for one tracee.
pub fn wait_pid(pid: i32) -> io::Result<i32> {
    let mut status = 0;
    loop {
        // SAFETY: as in `wait_any`.
        let r = unsafe { libc::wait4(pid, &mut status, libc::__WALL, std::ptr::null_mut()) };
        if r == -1 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        return Ok(status);
    }
}

/// `process_vm_readv`: reads up to `buf.len()` bytes at `addr` in `pid`; returns how many.
pub fn read_mem(pid: i32, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    if buf.is_empty() {
        return Ok(0);
    }
    let local = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let remote = libc::iovec { iov_base: addr as usize as *mut libc::c_void, iov_len: buf.len() };
    // SAFETY: the local iovec covers exactly `buf`; the remote one is only read by the
    // kernel, with the tracee's permissions checked by it.
    let r = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: integers only.
    if unsafe { libc::kill(pid, sig) } == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Where the kernel takes CPU latency requests (PM QoS).
pub const CPU_LATENCY_DEVICE: &str = "/dev/cpu_dma_latency";

/// Asks the kernel that no CPU take longer than `us` microseconds to wake from idle, for as
/// long as the returned file stays open (the request ends when it is closed, also when the
/// process dies). With 0, idle CPUs poll instead of halting.
pub fn hold_cpu_latency(us: i32) -> io::Result<std::fs::File> {
    use std::io::Write;
    // std opens with O_CLOEXEC, so no traced program inherits the request.
    let mut f = std::fs::OpenOptions::new().write(true).open(CPU_LATENCY_DEVICE)?;
    f.write_all(&us.to_ne_bytes())?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CPU latency the kernel honours now (the strictest request), in µs.
    fn cpu_latency() -> io::Result<i32> {
        use std::io::Read;
        let mut b = [0u8; 4];
        std::fs::File::open(CPU_LATENCY_DEVICE)?.read_exact(&mut b)?;
        Ok(i32::from_ne_bytes(b))
    }

    #[test]
    fn a_cpu_latency_request_lasts_while_its_file_is_open() {
        let held = match hold_cpu_latency(0) {
            Ok(f) => f,
            Err(e) => {
                eprintln!(
                    "skipped: a_cpu_latency_request_lasts_while_its_file_is_open ({CPU_LATENCY_DEVICE}: {e})"
                );
                return;
            }
        };
        assert_eq!(cpu_latency().unwrap(), 0);
        drop(held);
        // Another process may hold its own request; ours alone must not be left behind.
        let after = cpu_latency().unwrap();
        if after == 0 {
            eprintln!("note: another process holds a CPU latency request of 0");
        } else {
            assert!(after > 0, "{after}");
        }
    }
}
