//! Reading a tracee's memory: C strings, pointer arrays, `int`s and structs, with
//! `process_vm_readv` in page-bounded pieces (a read may not cross into an unmapped page).

use crate::sys;

const PAGE: u64 = 4096;

/// Reads exactly `len` bytes at `addr`, or `None` if any of them is unreadable.
pub fn read_exact(pid: i32, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        let at = addr.checked_add(done as u64)?;
        let in_page = (PAGE - at % PAGE) as usize;
        let want = (len - done).min(in_page);
        match sys::read_mem(pid, at, &mut buf[done..done + want]) {
            Ok(0) | Err(_) => return None,
            Ok(n) => done += n,
        }
    }
    Some(buf)
}

/// Reads an `int` at `addr`.
pub fn read_i32(pid: i32, addr: u64) -> Option<i32> {
    let b = read_exact(pid, addr, 4)?;
    Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a NUL-terminated string at `addr`, at most `max` bytes of it; `(bytes, cut)` where
/// `cut` says the string goes on past `max`.
pub fn read_cstr(pid: i32, addr: u64, max: usize) -> Option<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        let in_page = (PAGE - at % PAGE) as usize;
        let want = in_page.min(max + 1 - out.len()).min(256);
        let mut chunk = vec![0u8; want];
        let n = match sys::read_mem(pid, at, &mut chunk) {
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
pub fn read_ptr_array(pid: i32, addr: u64, max: usize) -> Option<(Vec<u64>, bool)> {
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        let in_page = ((PAGE - at % PAGE) / 8).max(1) as usize;
        let words = in_page.min(64);
        let Some(bytes) = read_exact(pid, at, words * 8) else {
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
pub fn count_ptr_array(pid: i32, addr: u64) -> Option<usize> {
    read_ptr_array(pid, addr, 1 << 20).map(|(v, _)| v.len())
}
