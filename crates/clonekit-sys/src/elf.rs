//! A minimal static x86_64 executable, made from bytes: no libc, no dynamic loader, one
//! `exit_group(code)`. Spawning it measures process creation and `execve` without `ld.so`
//! (the benchmark's "static child"), and it runs anywhere, even in an empty `chroot`.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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
pub fn write_tiny_exit(path: &Path, code: u8) -> io::Result<()> {
    std::fs::write(path, tiny_exit(code))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}
