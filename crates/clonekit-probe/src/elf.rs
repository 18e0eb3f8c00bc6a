//! A minimal static x86_64 executable, made from bytes: no libc, no dynamic loader, one
//! `exit_group(code)`. Spawning it measures process creation and `execve` without `ld.so`
//! (the benchmark's "static child"), and it runs anywhere, even in an empty `chroot`.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use clonekit_sys::ExitStatus;

const EINVAL: i32 = 22;
const EIO: i32 = 5;

/// Where the single `PT_LOAD` segment is mapped.
const BASE: u64 = 0x40_0000;
/// ELF header (64) + one program header (56).
const CODE_OFFSET: u64 = 64 + 56;

/// The bytes of an executable whose entry point is
/// `mov edi, code; mov eax, 231 (exit_group); syscall`.
pub fn tiny_exit(code: u8) -> Vec<u8> {
    let text: [u8; 12] = [0xbf, code, 0, 0, 0, 0xb8, 231, 0, 0, 0, 0x0f, 0x05];
    let total = CODE_OFFSET + text.len() as u64;
    let mut b = Vec::with_capacity(total as usize);
    // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, System V ABI, padding.
    b.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    b.extend_from_slice(&2u16.to_le_bytes()); // e_type: ET_EXEC
    b.extend_from_slice(&0x3eu16.to_le_bytes()); // e_machine: EM_X86_64
    b.extend_from_slice(&1u32.to_le_bytes()); // e_version
    b.extend_from_slice(&(BASE + CODE_OFFSET).to_le_bytes()); // e_entry
    b.extend_from_slice(&64u64.to_le_bytes()); // e_phoff
    b.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    b.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    b.extend_from_slice(&64u16.to_le_bytes()); // e_ehsize
    b.extend_from_slice(&56u16.to_le_bytes()); // e_phentsize
    b.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    b.extend_from_slice(&[0; 6]); // e_shentsize, e_shnum, e_shstrndx
    b.extend_from_slice(&1u32.to_le_bytes()); // p_type: PT_LOAD
    b.extend_from_slice(&5u32.to_le_bytes()); // p_flags: PF_R | PF_X
    b.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    b.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    b.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    b.extend_from_slice(&total.to_le_bytes()); // p_filesz
    b.extend_from_slice(&total.to_le_bytes()); // p_memsz
    b.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    b.extend_from_slice(&text);
    b
}

/// Writes [`tiny_exit`]`(code)` to `path`, mode 0755.
///
/// The file is written by a forked child, never opened for writing in this process: a copy
/// of a writable descriptor that another thread's `fork` took before its `exec` would make
/// running the file fail with `ETXTBSY` for as long as that child held it.
pub fn write_tiny_exit(path: &Path, code: u8) -> io::Result<()> {
    let bytes = tiny_exit(code);
    let c_path =
        CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(EINVAL))?;
    let writer = || -> i32 {
        // Raw calls on memory prepared before the fork: the parent may have other threads.
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::CLOEXEC;
        let fd = match rustix::fs::open(c_path.as_c_str(), flags, Mode::from_raw_mode(0o755)) {
            Ok(fd) => fd,
            Err(e) => return e.raw_os_error(),
        };
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            match rustix::io::write(&fd, rest) {
                Ok(0) => return EIO,
                Ok(n) => rest = &rest[n..],
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return e.raw_os_error(),
            }
        }
        0
    };
    // SAFETY: `writer` makes raw system calls only, on data prepared above; it allocates,
    // frees and locks nothing (dropping the descriptor is one `close`).
    let mut child = unsafe { clonekit_sys::fork(writer) }?;
    let st: ExitStatus = child.wait()?;
    match st.code() {
        Some(0) => {}
        Some(errno) => return Err(io::Error::from_raw_os_error(errno)),
        None => return Err(io::Error::other(format!("the writer of {} ended: {st}", path.display()))),
    }
    // The mode given to open was narrowed by the umask.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}
