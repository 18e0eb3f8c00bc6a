//! The system calls a tracer needs beyond `ptrace` (which is [`clonekit_raw::ptrace`]):
//! `wait4` on raw statuses (real-time signals included) with the tracer's options, and
//! `process_vm_readv` to read a tracee's memory; and the CPU latency request of
//! `--low-latency`. None keeps state.

use std::io;

use clonekit_raw as raw;

/// `wait4(-1, &status, __WALL | extra, NULL)`: `Ok(None)` when `WNOHANG` found nothing.
pub fn wait_any(nohang: bool) -> io::Result<Option<(i32, i32)>> {
    let opts = raw::WALL | if nohang { raw::WNOHANG } else { 0 };
    Ok(raw::wait4(-1, opts)?)
}

/// `wait4(pid, &status, __WALL, NULL)` for one tracee, again after `EINTR`.
pub fn wait_pid(pid: i32) -> io::Result<i32> {
    loop {
        match raw::wait4(pid, raw::WALL) {
            Ok(Some((_, status))) => return Ok(status),
            // Without WNOHANG wait4 returns a pid; 0 cannot happen.
            Ok(None) => return Ok(0),
            Err(e) if e.raw_os_error() == libc::EINTR => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Whether thread `tid` of `tgid` has begun to exit (`PF_EXITING` in `/proc/TGID/task/TID/stat`,
/// or a zombie, or gone).
pub fn exiting(tgid: i32, tid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{tgid}/task/{tid}/stat")) else { return true };
    // After the command's closing parenthesis: state (field 3), then fields 4 to 9.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { return true };
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next().unwrap_or("X");
    let flags: u32 = fields.nth(5).and_then(|f| f.parse().ok()).unwrap_or(0);
    matches!(state, "Z" | "X" | "x") || flags & clonekit_flags::PF_EXITING != 0
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
