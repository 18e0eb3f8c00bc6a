//! [`fork`]: the system call glibc's `fork()` makes, with a closure as the child.
//!
//! glibc's `_Fork` (sysdeps/nptl/_Fork.c, arch-fork.h) issues legacy
//! `clone(CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD, 0, NULL, &THREAD_SELF->tid, 0)`
//! with all signals blocked. [`fork`] issues the same call, so strace prints the same line:
//!
//! ```text
//! clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f...) = 4242
//! ```
//!
//! Differences from glibc, on purpose:
//!
//! - `child_tidptr` points at a word of our own (one per calling thread), not at glibc's
//!   TCB. The kernel writes the child's tid into the child's copy of that word
//!   (`CLONE_CHILD_SETTID`, in `schedule_tail`); the parent's copy is untouched. glibc's
//!   cached tid in the child's TCB therefore still holds the parent's tid (as after glibc's
//!   own `clone()`, runc#4193): only code that does not rely on it may run (raw syscalls,
//!   `getpid`, `gettid` are fine).
//! - No atfork handlers run, and no libc locks are taken around the call; the robust-mutex
//!   list is not re-registered.
//! - The child leaves with `exit_group(f())`, i.e. `_exit`: for a single-threaded child it is
//!   the same as the `exit` that glibc's `__clone` trampoline uses, and if `f` started
//!   threads, `exit_group` ends them too and reports `f`'s status (with `exit` the process
//!   would live on until its last thread ends, and report that thread's status).

use crate::builder::Clone;
use crate::child::Child;
use crate::dispatch::Syscall;
use crate::error::CloneError;
use clonekit_flags::Preset;
use std::sync::atomic::AtomicI32;

thread_local! {
    /// The word `CLONE_CHILD_SETTID`/`CLONE_CHILD_CLEARTID` point at.
    static TID_WORD: AtomicI32 = const { AtomicI32::new(0) };
}

/// The address of the calling thread's tid word.
pub(crate) fn tid_word() -> *mut i32 {
    TID_WORD.with(|w| w.as_ptr())
}

/// Forks: the child, a copy of this process, runs `f` and exits with its result (the
/// low 8 bits); the parent gets a [`Child`].
///
/// Issues exactly glibc's `fork` system call: legacy `clone` with
/// `CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD`, `child_stack=NULL`. All signals are
/// blocked across the call and the mask is restored in both processes. A panic in `f` is
/// caught in the child, which exits with [`crate::CHILD_PANIC_STATUS`]. The parent drops its
/// own copy of `f` after the call (the child dropped, or will drop, its copy).
///
/// # Safety
///
/// - If the calling process has other threads (as under `cargo test`), `f` must be
///   async-signal-safe: no allocation or deallocation (including dropping captured
///   `Box`/`Vec`/`String`), no `println!`, no locks, no panics; raw syscalls and plain
///   memory writes only. Locks held by the other threads are held forever in the child.
/// - In any case libc was not told about this fork (see the module notes): the child must
///   not rely on libc's cached tid or atfork handlers, and should leave by returning from
///   `f`, not through `std::process::exit` (stdio buffers would be flushed twice).
pub unsafe fn fork<F: FnOnce() -> i32>(f: F) -> Result<Child, CloneError> {
    let builder = Clone::new()
        .flags(Preset::GlibcFork.flags())
        .exit_signal(Preset::GlibcFork.exit_signal())
        .no_stack()
        .child_tid(tid_word())
        .syscall(Syscall::Clone);
    // SAFETY: a non-VM, stack-less child runs on its own copy of this stack; the tid word
    // is valid in the child's copy; the caller vouches for `f` per the contract above.
    unsafe { builder.spawn_inner(f) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    #[test]
    fn child_settid_fills_our_word_in_the_child_only() {
        // A shared page the child can report through.
        // SAFETY: a fresh shared anonymous mapping, unmapped below.
        let page = unsafe {
            rustix::mm::mmap_anonymous(
                std::ptr::null_mut(),
                4096,
                rustix::mm::ProtFlags::READ | rustix::mm::ProtFlags::WRITE,
                rustix::mm::MapFlags::SHARED,
            )
        }
        .unwrap()
        .cast::<AtomicI32>();
        // SAFETY: the page is mapped, zeroed, and 4-aligned.
        let report: &AtomicI32 = unsafe { &*page };
        let before = TID_WORD.with(|w| w.load(Ordering::SeqCst));
        // SAFETY: the child reads its tid word and its tid with raw syscalls, stores, returns.
        let mut child = unsafe {
            fork(|| {
                let word = TID_WORD.with(|w| w.load(Ordering::SeqCst));
                let tid = rustix::thread::gettid().as_raw_nonzero().get();
                report.store(if word == tid { 1 } else { -1 }, Ordering::SeqCst);
                0
            })
        }
        .unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(report.load(Ordering::SeqCst), 1, "the kernel wrote the child's tid in the child");
        assert_eq!(TID_WORD.with(|w| w.load(Ordering::SeqCst)), before, "and not in the parent");
        // SAFETY: the mapping made above; the child is gone.
        unsafe { rustix::mm::munmap(page.cast(), 4096) }.unwrap();
    }
}
