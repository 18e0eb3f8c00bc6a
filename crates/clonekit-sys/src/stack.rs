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

/// Maps `len` bytes (a multiple of [`PAGE`]) of anonymous read-write `MAP_STACK` memory and
/// makes the pages at the offsets in `guards` inaccessible (`PROT_NONE`). On failure nothing
/// stays mapped.
pub(crate) fn map_guarded(len: usize, guards: &[usize]) -> io::Result<*mut u8> {
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
    for &page in guards {
        debug_assert!(page % PAGE == 0 && page + PAGE <= len);
        // SAFETY: the page lies inside the mapping just created, which nothing else uses yet.
        if let Err(e) =
            unsafe { rustix::mm::mprotect(base.add(page).cast(), PAGE, rustix::mm::MprotectFlags::empty()) }
        {
            // SAFETY: unmapping the mapping we own and never handed out.
            let _ = unsafe { rustix::mm::munmap(base.cast(), len) };
            return Err(e.into());
        }
    }
    Ok(base)
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
        let base = map_guarded(len, &[0])?;
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

    /// The size of the reserved block at the top.
    pub(crate) fn reserved_len(&self) -> usize {
        self.reserved_top
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

/// A process-wide pool of spawn stacks, so that a vfork-style spawn maps nothing: a stack is
/// taken for one `CLONE_VM|CLONE_VFORK` child and put back once that child has exec'd or
/// exited (the parent only resumes then), its pages still resident. Every pooled stack has
/// the same shape; each spawning thread takes its own, so concurrent spawns never share one
/// and never wait on each other beyond the pool's short critical section.
pub(crate) struct StackPool {
    size: usize,
    reserved_top: usize,
    keep: usize,
    stacks: std::sync::Mutex<Vec<Stack>>,
}

impl StackPool {
    /// A pool of stacks of `size` usable bytes and `reserved_top` start-block bytes, keeping at
    /// most `keep` idle ones.
    pub(crate) const fn new(size: usize, reserved_top: usize, keep: usize) -> StackPool {
        StackPool { size, reserved_top, keep, stacks: std::sync::Mutex::new(Vec::new()) }
    }

    /// An idle stack, or a newly mapped one.
    pub(crate) fn take(&'static self) -> io::Result<PooledStack> {
        let idle = self.stacks.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let stack = match idle {
            Some(s) => s,
            None => Stack::new(self.size, self.reserved_top)?,
        };
        Ok(PooledStack { stack: Some(stack), pool: self })
    }
}

/// A stack taken from a [`StackPool`]; it goes back when dropped, so whoever drops it must
/// know that no child runs on it any more (as for [`Stack`]).
pub(crate) struct PooledStack {
    stack: Option<Stack>,
    pool: &'static StackPool,
}

impl PooledStack {
    /// The stack.
    pub(crate) fn get(&self) -> &Stack {
        self.stack.as_ref().expect("a pooled stack is present until dropped")
    }
}

impl Drop for PooledStack {
    fn drop(&mut self) {
        if let Some(s) = self.stack.take() {
            let mut idle = self.pool.stacks.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < self.pool.keep {
                idle.push(s);
            }
        }
    }
}

fn libc_enomem() -> i32 {
    rustix::io::Errno::NOMEM.raw_os_error()
}
