//! Reading a tracee's memory: C strings, pointer arrays, `int`s and structs, in
//! page-bounded pieces (a read may not cross into an unmapped page), from either of two
//! sources: a stopped tracee's live memory (`process_vm_readv`, the ptrace backend), or the
//! pieces of it the eBPF backend's programs copied at the call's entry or exit (a
//! [`Snapshot`]). The decoder reads both the same way, so both backends print the same lines;
//! what a snapshot does not hold reads as unreadable, and is printed as strace prints memory
//! it cannot read (the address).

use std::io;

use crate::sys;

const PAGE: u64 = 4096;

/// Where a tracee's memory is read from.
pub trait Memory {
    /// Reads up to `buf.len()` bytes at `addr` (never across a page end); how many were read.
    fn read(&self, addr: u64, buf: &mut [u8]) -> io::Result<usize>;
}

/// The live memory of the (stopped) task `pid`.
pub struct Live(pub i32);

impl Memory for Live {
    fn read(&self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        sys::read_mem(self.0, addr, buf)
    }
}

/// Pieces of a task's memory copied at one moment: `(address, bytes)`.
#[derive(Debug, Default)]
pub struct Snapshot(pub Vec<(u64, Vec<u8>)>);

impl Memory for Snapshot {
    fn read(&self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        for (at, bytes) in &self.0 {
            if addr >= *at && addr < at + bytes.len() as u64 {
                let from = &bytes[(addr - at) as usize..];
                let n = from.len().min(buf.len());
                buf[..n].copy_from_slice(&from[..n]);
                return Ok(n);
            }
        }
        Err(io::Error::from_raw_os_error(libc::EFAULT))
    }
}

/// Reads exactly `len` bytes at `addr`, or `None` if any of them is unreadable.
pub fn read_exact(mem: &dyn Memory, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let at = addr.checked_add(done as u64)?;
        let in_page = (PAGE - at % PAGE) as usize;
        let want = (len - done).min(in_page);
        match mem.read(at, &mut buf[done..done + want]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => done += n,
        }
    }
    Some(buf)
}

/// Reads an `int` at `addr`.
pub fn read_i32(mem: &dyn Memory, addr: u64) -> Option<i32> {
    let b = read_exact(mem, addr, 4)?;
    Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a NUL-terminated string at `addr`, at most `max` bytes of it; `(bytes, cut)` where
/// `cut` says the string goes on past `max`.
pub fn read_cstr(mem: &dyn Memory, addr: u64, max: usize) -> Option<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        let in_page = (PAGE - at % PAGE) as usize;
        let want = in_page.min(max + 1 - out.len()).min(256);
        let mut chunk = vec![0u8; want];
        let n = match mem.read(at, &mut chunk) {
            Ok(n) if n > 0 => n,
            _ => return if out.is_empty() { None } else { Some((out, false)) },
        };
        if let Some(nul) = chunk[..n].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..nul]);
            let cut = out.len() > max;
            out.truncate(max);
            return Some((out, cut));
        }
        out.extend_from_slice(&chunk[..n]);
        if out.len() > max {
            out.truncate(max);
            return Some((out, true));
        }
        at += n as u64;
    }
}

/// Reads the NULL-terminated pointer array at `addr`: at most `max` pointers, and whether
/// more follow; `None` if the first word is unreadable.
pub fn read_ptr_array(mem: &dyn Memory, addr: u64, max: usize) -> Option<(Vec<u64>, bool)> {
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        let in_page = ((PAGE - at % PAGE) / 8).max(1) as usize;
        let words = in_page.min(64);
        let Some(bytes) = read_exact(mem, at, words * 8) else {
            return if out.is_empty() { None } else { Some((out, false)) };
        };
        for w in bytes.chunks_exact(8) {
            let p = u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
            if p == 0 {
                return Some((out, false));
            }
            if out.len() == max {
                return Some((out, true));
            }
            out.push(p);
        }
        at += (words * 8) as u64;
    }
}

/// Counts the pointers of a NULL-terminated array (envp's `/* 35 vars */`).
pub fn count_ptr_array(mem: &dyn Memory, addr: u64) -> Option<usize> {
    read_ptr_array(mem, addr, 1 << 20).map(|(v, _)| v.len())
}
