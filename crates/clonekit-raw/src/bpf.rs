//! `bpf(2)`: the commands that load eBPF programs into the kernel and attach them, for the
//! tracer's eBPF backend. The maps it creates and reads go through aya's map types; these
//! are the rest: filling a global-data map and freezing it, loading a program's BTF and the
//! program, and attaching it to a raw tracepoint.
//!
//! Each command takes a `union bpf_attr` (linux/bpf.h), passed here as a zeroed block of
//! [`ATTR_SIZE`] bytes with the command's fields written at their offsets: the kernel reads
//! as many bytes as it is told and wants every byte past the fields it knows to be zero.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::{check, nr, syscall4};
use rustix::io::Errno;

/// `BPF_MAP_UPDATE_ELEM`.
const BPF_MAP_UPDATE_ELEM: usize = 2;
/// `BPF_PROG_LOAD`.
const BPF_PROG_LOAD: usize = 5;
/// `BPF_RAW_TRACEPOINT_OPEN`.
const BPF_RAW_TRACEPOINT_OPEN: usize = 17;
/// `BPF_BTF_LOAD`.
const BPF_BTF_LOAD: usize = 18;
/// `BPF_MAP_FREEZE`.
const BPF_MAP_FREEZE: usize = 22;

/// `BPF_PROG_TYPE_RAW_TRACEPOINT`: a program run at a tracepoint with its raw arguments.
pub const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;

/// The size of the `union bpf_attr` block passed: larger than every command used here
/// (`BPF_PROG_LOAD`'s fields up to `func_info_cnt` end at byte 92).
pub const ATTR_SIZE: usize = 128;

/// One eBPF instruction (`struct bpf_insn`, linux/bpf.h): 8 bytes.
pub const INSN_SIZE: usize = 8;

/// A zeroed `union bpf_attr`, written field by field.
struct Attr([u8; ATTR_SIZE]);

impl Attr {
    fn new() -> Attr {
        Attr([0; ATTR_SIZE])
    }
    fn u32(&mut self, at: usize, v: u32) -> &mut Attr {
        self.0[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(&mut self, at: usize, v: u64) -> &mut Attr {
        self.0[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    /// `bpf(cmd, &attr, ATTR_SIZE)`.
    ///
    /// # Safety
    ///
    /// Every address written into the block must point to memory of the size the command
    /// reads (or writes) there, alive for the call.
    unsafe fn call(&self, cmd: usize) -> Result<usize, Errno> {
        // SAFETY: the block is ATTR_SIZE bytes, as the length says; the caller vouches for
        // the addresses inside it.
        check(unsafe { syscall4(nr::BPF, cmd, self.0.as_ptr() as usize, ATTR_SIZE, 0) })
    }
}

/// `BPF_MAP_UPDATE_ELEM`: sets the element at `key` of the map `map` to `value` (`flags`:
/// `BPF_ANY` 0). The sizes must be the map's key and value sizes.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/bpf.2.html)
pub fn map_update_elem(map: BorrowedFd<'_>, key: &[u8], value: &[u8], flags: u64) -> Result<(), Errno> {
    let mut a = Attr::new();
    // map_fd, key, value, flags.
    a.u32(0, map.as_raw_fd() as u32)
        .u64(8, key.as_ptr() as u64)
        .u64(16, value.as_ptr() as u64)
        .u64(24, flags);
    // SAFETY: key and value are live slices; the kernel reads the map's key and value sizes
    // from them, which the caller matched.
    unsafe { a.call(BPF_MAP_UPDATE_ELEM) }.map(drop)
}

/// `BPF_MAP_FREEZE`: the map can no longer be written from user space, and a program that
/// reads a `BPF_F_RDONLY_PROG` map frozen so sees its contents as constants.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/bpf.2.html)
pub fn map_freeze(map: BorrowedFd<'_>) -> Result<(), Errno> {
    let mut a = Attr::new();
    a.u32(0, map.as_raw_fd() as u32);
    // SAFETY: the block holds no address.
    unsafe { a.call(BPF_MAP_FREEZE) }.map(drop)
}

/// `BPF_BTF_LOAD`: loads a program's own BTF (its types and functions), which
/// [`prog_load`] then names with the functions' records.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/bpf.2.html)
pub fn btf_load(btf: &[u8]) -> Result<OwnedFd, Errno> {
    let mut a = Attr::new();
    // btf, then btf_size (btf_log_buf at 8 stays NULL).
    a.u64(0, btf.as_ptr() as u64).u32(16, btf.len().try_into().map_err(|_| Errno::TOOBIG)?);
    // SAFETY: btf is a live slice of the length given.
    let fd = unsafe { a.call(BPF_BTF_LOAD) }?;
    // SAFETY: the kernel just installed this descriptor for us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// A program to load with [`prog_load`].
pub struct Program<'a> {
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// Its instructions (`struct bpf_insn`s, [`INSN_SIZE`] bytes each).
    pub insns: &'a [u8],
    /// Its license (the GPL-only helpers want "GPL").
    pub license: &'a CStr,
    /// Its name (at most 15 bytes of letters, digits, `_` and `.` are kept).
    pub name: &'a str,
    /// Its BTF ([`btf_load`]) and the records of its functions (`struct bpf_func_info`, each
    /// `func_info_rec_size` bytes): the verifier wants them for a program that passes one of
    /// its functions to a helper (`bpf_loop`).
    pub btf: Option<(BorrowedFd<'a>, &'a [u8], u32)>,
}

/// `BPF_PROG_LOAD`: verifies and loads a program. With `log`, the verifier's messages are
/// written there (`log_level` 1) when it refuses the program.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/bpf.2.html)
pub fn prog_load(p: &Program<'_>, log: Option<&mut [u8]>) -> Result<OwnedFd, Errno> {
    if p.insns.is_empty() || !p.insns.len().is_multiple_of(INSN_SIZE) {
        return Err(Errno::INVAL);
    }
    let mut a = Attr::new();
    // prog_type, insn_cnt, insns, license.
    a.u32(0, p.prog_type)
        .u32(4, (p.insns.len() / INSN_SIZE) as u32)
        .u64(8, p.insns.as_ptr() as u64)
        .u64(16, p.license.as_ptr() as u64);
    let (buf, len) = match log {
        Some(l) if !l.is_empty() => (l.as_mut_ptr(), l.len().min(u32::MAX as usize)),
        _ => (std::ptr::null_mut(), 0),
    };
    if len > 0 {
        // log_level, log_size, log_buf.
        a.u32(24, 1).u32(28, len as u32).u64(32, buf as u64);
    }
    // prog_name (bytes 48 to 63): NUL-terminated.
    let name = p.name.bytes().filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.');
    for (i, b) in name.take(15).enumerate() {
        a.0[48 + i] = b;
    }
    if let Some((btf, func_info, rec_size)) = p.btf {
        if rec_size == 0 || !func_info.len().is_multiple_of(rec_size as usize) {
            return Err(Errno::INVAL);
        }
        // prog_btf_fd, func_info_rec_size, func_info, func_info_cnt.
        a.u32(72, btf.as_raw_fd() as u32)
            .u32(76, rec_size)
            .u64(80, func_info.as_ptr() as u64)
            .u32(88, (func_info.len() / rec_size as usize) as u32);
    }
    // SAFETY: the instructions, license and function records are live for the call, of the
    // lengths given (the license NUL-terminated); the log buffer is writable for `len` bytes.
    let fd = unsafe { a.call(BPF_PROG_LOAD) }?;
    // SAFETY: the kernel just installed this descriptor for us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// `BPF_RAW_TRACEPOINT_OPEN`: attaches the raw-tracepoint program `prog` to the tracepoint
/// `name` (`sys_enter`, `sched_process_fork`…); it stays attached until the returned link is
/// closed.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/bpf.2.html)
pub fn raw_tracepoint_open(name: &CStr, prog: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let mut a = Attr::new();
    // raw_tracepoint.name, raw_tracepoint.prog_fd.
    a.u64(0, name.as_ptr() as u64).u32(8, prog.as_raw_fd() as u32);
    // SAFETY: name is a live NUL-terminated string.
    let fd = unsafe { a.call(BPF_RAW_TRACEPOINT_OPEN) }?;
    // SAFETY: the kernel just installed this descriptor for us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// `r0 = 0; exit`: the smallest program.
    const RETURN_0: [u8; 16] = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];

    fn program(insns: &[u8]) -> Program<'_> {
        Program {
            prog_type: BPF_PROG_TYPE_RAW_TRACEPOINT,
            insns,
            license: c"GPL",
            name: "clonekit_test",
            btf: None,
        }
    }

    #[test]
    fn a_program_loads_attaches_and_detaches() {
        let fd = match prog_load(&program(&RETURN_0), None) {
            Ok(fd) => fd,
            Err(e @ (Errno::PERM | Errno::ACCESS | Errno::NOSYS)) => {
                eprintln!("skipped a_program_loads_attaches_and_detaches: BPF_PROG_LOAD: {e} (needs root or CAP_BPF)");
                return;
            }
            Err(e) => panic!("BPF_PROG_LOAD: {e}"),
        };
        let link = raw_tracepoint_open(c"sched_process_fork", fd.as_fd()).expect("attached");
        drop(link);
        assert_eq!(raw_tracepoint_open(c"no_such_tracepoint_here", fd.as_fd()).err(), Some(Errno::NOENT));
    }

    #[test]
    fn bad_programs_are_refused_with_the_verifiers_reason() {
        // Not a whole number of instructions: refused before the call.
        assert_eq!(prog_load(&program(&RETURN_0[..12]), None).err(), Some(Errno::INVAL));
        // `exit` without setting r0: the verifier refuses it and says so in the log.
        if let Err(e) = prog_load(&program(&RETURN_0), None) {
            eprintln!("skipped the verifier's part: BPF_PROG_LOAD: {e} (needs root or CAP_BPF)");
            return;
        }
        let mut log = vec![0u8; 4096];
        assert_eq!(prog_load(&program(&RETURN_0[8..]), Some(&mut log)).err(), Some(Errno::ACCESS));
        let text = String::from_utf8_lossy(&log);
        assert!(text.contains("R0 !read_ok"), "the verifier's reason: {text}");
        assert!(btf_load(b"not btf").is_err());
    }
}
