//! Owned child stacks (pitfalls 2, 3): one anonymous mapping with a `PROT_NONE` guard page
//! at its low end, so that an overflowing child faults instead of writing into whatever
//! lies below. The top of the mapping can hold a small start block (the child's closure and
//! its instructions); the stack proper ends 16-byte aligned just below it.

use std::io;
use std::ptr;

/// The page size assumed for guard pages and rounding (x86_64).
pub(crate) const PAGE: usize = 4096;

/// Rounds `n` up to a multiple of `align` (a power of two).
pub(crate) const fn round_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

/// An anonymous `MAP_STACK` mapping: `[guard page][stack ...][reserved top]`.
#[derive(Debug)]
pub(crate) struct Stack {
    base: *mut u8,
    len: usize,
    reserved_top: usize,
}

// SAFETY: the mapping is plain memory owned by this value; moving the owner to another
// thread does not change who may unmap it.
unsafe impl Send for Stack {}

impl Stack {
    /// Maps a stack of at least `size` usable bytes, plus `reserved_top` bytes (rounded to
    /// 64) at the very top for a start block, plus one guard page.
    pub(crate) fn new(size: usize, reserved_top: usize) -> io::Result<Stack> {
        let reserved_top = round_up(reserved_top, 64);
        let len = size
            .checked_add(reserved_top)
            .and_then(|n| n.checked_add(PAGE))
            .map(|n| round_up(n, PAGE))
            .filter(|&n| n < isize::MAX as usize)
            .ok_or_else(|| io::Error::from_raw_os_error(libc_enomem()))?;
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing aliases
        // nothing.
        let base = unsafe {
            rustix::mm::mmap_anonymous(
                ptr::null_mut(),
                len,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::PRIVATE | rustix::mm::MapFlags::STACK,
            )
        }?
        .cast::<u8>();
        // SAFETY: the first page belongs to the mapping just created.
        if let Err(e) = unsafe { rustix::mm::mprotect(base.cast(), PAGE, rustix::mm::MprotectFlags::empty()) }
        {
            // SAFETY: unmapping the mapping we own and never handed out.
            let _ = unsafe { rustix::mm::munmap(base.cast(), len) };
            return Err(e.into());
        }
        Ok(Stack { base, len, reserved_top })
    }

    /// The lowest usable address (just above the guard page): `clone_args.stack`.
    pub(crate) fn low(&self) -> usize {
        self.base as usize + PAGE
    }

    /// The 16-byte-aligned top of the stack proper: legacy `clone`'s `newsp`.
    pub(crate) fn top(&self) -> usize {
        (self.base as usize + self.len - self.reserved_top) & !15
    }

    /// `clone_args.stack_size`: from [`Stack::low`] up to [`Stack::top`].
    pub(crate) fn size(&self) -> usize {
        self.top() - self.low()
    }

    /// The reserved block at the top of the mapping (64-byte aligned).
    pub(crate) fn reserved(&self) -> *mut u8 {
        // SAFETY: `len - reserved_top` stays within the mapping.
        unsafe { self.base.add(self.len - self.reserved_top) }
    }

    /// Gives up ownership without unmapping (for a stack a child may still use forever).
    pub(crate) fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours, and whoever drops a Stack has established that no
        // child runs on it any more.
        let _ = unsafe { rustix::mm::munmap(self.base.cast(), self.len) };
    }
}

fn libc_enomem() -> i32 {
    rustix::io::Errno::NOMEM.raw_os_error()
}
