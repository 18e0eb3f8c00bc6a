//! Parent memory for the scaling sweep: an anonymous mapping with 4 KiB pages
//! (`MADV_NOHUGEPAGE`, as the reference measurements), every page touched, so that `fork`
//! has that many page-table entries to copy.

use std::io;

/// Touched anonymous memory, unmapped on drop.
#[derive(Debug)]
pub struct Ballast {
    base: *mut libc::c_void,
    len: usize,
}

impl Ballast {
    /// Maps and touches `mib` MiB (none for 0).
    pub fn new(mib: usize) -> io::Result<Ballast> {
        let len = mib << 20;
        if len == 0 {
            return Ok(Ballast { base: std::ptr::null_mut(), len: 0 });
        }
        // SAFETY: a fresh private anonymous mapping aliases nothing.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let b = Ballast { base, len };
        // SAFETY: advice on our own mapping; failure only means THP may be used.
        unsafe { libc::madvise(base, len, libc::MADV_NOHUGEPAGE) };
        for off in (0..len).step_by(4096) {
            // SAFETY: inside the writable mapping.
            unsafe { std::ptr::write_volatile(base.cast::<u8>().add(off), 1) };
        }
        Ok(b)
    }

    /// Its size in MiB.
    pub fn mib(&self) -> usize {
        self.len >> 20
    }
}

impl Drop for Ballast {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: our mapping, no longer used.
            unsafe { libc::munmap(self.base, self.len) };
        }
    }
}
