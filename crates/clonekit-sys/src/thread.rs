//! Raw threads: `pthread_create`'s system call with our own stack and TCB, and a join on the
//! kernel's `CLONE_CHILD_CLEARTID` wake.
//!
//! [`spawn_raw`] issues exactly the flags glibc's `pthread_create` uses
//! (nptl/pthread_create.c), `exit_signal=0`, through `clone3` with the legacy fallback:
//!
//! ```text
//! CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID
//! ```
//!
//! Memory: one anonymous mapping,
//! `[guard page | stack | TLS trap page | control block]`. The guard page (`PROT_NONE`) turns
//! a stack overflow into a fault. The control block starts with a glibc-shaped `tcbhead_t`
//! (`%fs:0` and `%fs:0x10` point at itself, the stack-protector canary at `%fs:0x28` and the
//! pointer guard at `%fs:0x30` are copied from the creating thread); `CLONE_SETTLS` makes it
//! the thread's `%fs`. After it come the tid word (`CLONE_PARENT_SETTID` writes the tid there
//! before the thread can run, `CLONE_CHILD_CLEARTID` zeroes it and futex-wakes when the
//! thread is gone), the result word and the closure. The page just below the control block is
//! `PROT_NONE`, so that the small negative `%fs` offsets where static TLS would live fault
//! at once instead of silently reading or scribbling.
//!
//! # What may run on a raw thread
//!
//! The thread is invisible to the C library and to Rust's runtime: there is **no static TLS
//! block, no `pthread` structure, no `errno`, no malloc arena, no Rust thread info**. So the
//! closure may only:
//!
//! - read and write memory it was given (`'static` data, atomics, raw pointers into shared
//!   buffers), with the synchronisation any thread needs;
//! - make system calls through rustix (its `linux_raw` backend touches no libc state), e.g.
//!   `rustix::thread::futex`, `rustix::io::write`, `rustix::thread::gettid`;
//! - return an `i32`, which [`RawThread::join`] returns.
//!
//! It must not: allocate or free (`Box`, `Vec`, `String`, `format!`), use `thread_local!`
//! or `std::thread` APIs, print with `println!` (stdout's lock and buffer), call libc
//! functions (they read `%fs`-relative state such as `errno`), or panic (the panic machinery
//! uses thread-local state; the result is a crash, never an unwind). The closure is called
//! through `&mut`, and dropped by whoever joins, on a normal thread, so dropping its
//! captures may free memory.
//!
//! The thread runs with **every signal blocked** for its whole life: a process-directed
//! signal is therefore never delivered to it, so no handler (which would expect libc's TLS)
//! runs there. Synchronous faults are still delivered and kill the process. Process-wide
//! credential changes made through libc (`setuid`, ...) do not reach it (libc signals only
//! the threads it knows).

use crate::dispatch::{self, Request, Syscall};
use crate::error::CloneError;
use crate::signals::BlockedSignals;
use crate::stack::{map_guarded, round_up, PAGE};
use clonekit_flags::{CloneFlags, ExitSignal};
use rustix::thread::futex;
use std::cell::UnsafeCell;
use std::io;
use std::mem::{self, ManuallyDrop};
use std::ptr;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

/// The stack size [`spawn_raw`] uses: 128 KiB (musl's default thread stack).
pub const DEFAULT_RAW_STACK_SIZE: usize = 128 * 1024;

/// `pthread_create`'s flags (glibc nptl/pthread_create.c `create_thread`), from
/// clonekit-flags' preset.
pub const PTHREAD_FLAGS: CloneFlags = clonekit_flags::Preset::GlibcPthreadCreate.flags();

/// The prefix of glibc's x86_64 `tcbhead_t` (sysdeps/x86_64/nptl/tls.h).
#[repr(C)]
struct Tcb {
    /// `%fs:0x00`: the TCB's own address (what `%fs:0` loads must yield).
    tcb: *mut Tcb,
    /// `%fs:0x08`: the DTV; none.
    dtv: usize,
    /// `%fs:0x10`: `self`.
    self_: *mut Tcb,
    multiple_threads: i32,
    gscope_flag: i32,
    sysinfo: usize,
    /// `%fs:0x28`: the stack-protector canary.
    stack_guard: usize,
    /// `%fs:0x30`: the pointer-mangling guard.
    pointer_guard: usize,
}

const _: () = assert!(mem::offset_of!(Tcb, stack_guard) == 0x28);
const _: () = assert!(mem::offset_of!(Tcb, pointer_guard) == 0x30);

/// The part of the control block that does not depend on the closure's type.
#[repr(C, align(64))]
struct Header {
    tcb: Tcb,
    /// The tid, set by `CLONE_PARENT_SETTID`, cleared by `CLONE_CHILD_CLEARTID`.
    tid: AtomicU32,
    /// The closure's result, stored before the thread exits.
    result: AtomicI32,
}

#[repr(C)]
struct Control<F> {
    header: Header,
    f: UnsafeCell<ManuallyDrop<F>>,
}

/// The thread's entry: runs the closure by `&mut`, stores the result; the trampoline then
/// makes `SYS_exit` (this thread only).
unsafe extern "C" fn thread_entry<F: FnMut() -> i32>(arg: *mut u8) -> i32 {
    let ctl = arg.cast::<Control<F>>();
    // SAFETY: the control block is initialised before the thread exists, and only this
    // thread touches the closure until the joiner has seen the tid word cleared.
    let status = unsafe { (*(*ctl).f.get())() };
    // SAFETY: as above; the header lives as long as the mapping.
    unsafe { (*ctl).header.result.store(status, Ordering::Release) };
    status
}

/// The mapping of one raw thread.
struct Mapping {
    base: *mut u8,
    len: usize,
    /// The stack's size (the shape, with `len`).
    stack: usize,
}

// SAFETY: plain memory owned by this value; only its owner uses or unmaps it.
unsafe impl Send for Mapping {}

impl Mapping {
    /// Gives the mapping of a thread that is gone back to the pool (or unmaps it).
    fn recycle(self) {
        let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOL_KEEP {
            pool.push(self);
        }
    }
}

/// Mappings of joined threads, kept for reuse as glibc keeps thread stacks: a new thread of
/// the same shape then maps and protects nothing. At most this many are kept.
const POOL_KEEP: usize = 8;

static POOL: std::sync::Mutex<Vec<Mapping>> = std::sync::Mutex::new(Vec::new());

impl Mapping {
    /// `[guard | stack | trap | control]`, with `control` bytes of control block: a pooled
    /// mapping of that shape if there is one, else a new one.
    fn new(stack: usize, control: usize) -> io::Result<Mapping> {
        let stack = round_up(stack.max(PAGE), PAGE);
        let len = PAGE + stack + PAGE + round_up(control, PAGE);
        {
            let mut pool = POOL.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = pool.iter().position(|m| m.len == len && m.stack == stack) {
                return Ok(pool.swap_remove(i));
            }
        }
        let base = map_guarded(len, &[0, PAGE + stack])?;
        Ok(Mapping { base, len, stack })
    }

    fn stack_low(&self) -> usize {
        self.base as usize + PAGE
    }

    fn control(&self, stack: usize) -> *mut u8 {
        // SAFETY: the offset is inside the mapping (see `new`).
        unsafe { self.base.add(PAGE + round_up(stack.max(PAGE), PAGE) + PAGE) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ours, and dropped only once no thread runs on it.
        let _ = unsafe { rustix::mm::munmap(self.base.cast(), self.len) };
    }
}

/// A thread created by [`spawn_raw`]. Dropping it joins it (blocking): its stack cannot be
/// freed while it runs, and it cannot be killed alone.
pub struct RawThread {
    tid: i32,
    header: *const Header,
    closure: *mut u8,
    drop_closure: unsafe fn(*mut u8),
    mapping: Option<Mapping>,
    result: Option<i32>,
}

// SAFETY: the handle owns the mapping and the closure (which is `Send`); joining from another
// thread only waits on the kernel's futex word and then frees both.
unsafe impl Send for RawThread {}

impl std::fmt::Debug for RawThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawThread").field("tid", &self.tid).field("result", &self.result).finish()
    }
}

unsafe fn drop_closure<F>(p: *mut u8) {
    // SAFETY: `p` is the closure cell of a `Control<F>` whose thread has exited.
    unsafe { ManuallyDrop::drop(&mut *p.cast::<ManuallyDrop<F>>()) }
}

impl RawThread {
    /// The thread's tid.
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// The tid word: the tid while the thread lives, 0 once the kernel has released it.
    fn tid_word(&self) -> &AtomicU32 {
        // SAFETY: the header lives in the mapping, which lives as long as `self`.
        unsafe { &(*self.header).tid }
    }

    /// Whether the thread has exited (the kernel cleared its tid word).
    pub fn is_finished(&self) -> bool {
        self.mapping.is_none() || self.tid_word().load(Ordering::Acquire) == 0
    }

    /// Waits until the kernel has cleared the tid word (`CLONE_CHILD_CLEARTID`): only then
    /// is the thread done with its stack.
    fn wait_cleared(&self) {
        let word = self.tid_word();
        loop {
            let v = word.load(Ordering::Acquire);
            if v == 0 {
                return;
            }
            // Not FUTEX_PRIVATE: the kernel's CLEARTID wake uses a shared futex key.
            let _ = futex::wait(word, futex::Flags::empty(), v, None);
        }
    }

    fn finish(&mut self) -> i32 {
        if let Some(r) = self.result {
            return r;
        }
        self.wait_cleared();
        // SAFETY: the thread is gone; the header is still mapped.
        let r = unsafe { (*self.header).result.load(Ordering::Acquire) };
        // SAFETY: the closure was initialised and the thread that used it is gone.
        unsafe { (self.drop_closure)(self.closure) };
        if let Some(m) = self.mapping.take() {
            m.recycle();
        }
        self.result = Some(r);
        r
    }

    /// Waits for the thread to exit (a futex wait on its tid word, which the kernel zeroes
    /// and wakes), drops its closure, unmaps its stack and TCB, and returns its result.
    pub fn join(mut self) -> i32 {
        self.finish()
    }
}

impl Drop for RawThread {
    fn drop(&mut self) {
        self.finish();
    }
}

/// [`spawn_raw_with_stack_size`] with [`DEFAULT_RAW_STACK_SIZE`].
///
/// # Safety
///
/// As for [`spawn_raw_with_stack_size`].
pub unsafe fn spawn_raw<F: FnMut() -> i32 + Send + 'static>(f: F) -> Result<RawThread, CloneError> {
    // SAFETY: forwarded contract.
    unsafe { spawn_raw_with_stack_size(DEFAULT_RAW_STACK_SIZE, f) }
}

/// Creates a raw thread (`pthread_create`'s flags, `exit_signal=0`) on a stack of `stack_size`
/// bytes (rounded up to pages) that runs `f` once and exits with its result.
///
/// # Safety
///
/// `f` must stay within what the module documentation allows on a raw thread: no
/// allocation, no thread-locals, no libc calls, no panics; rustix syscalls, atomics and
/// memory it was given only. Anything else is undefined behaviour.
pub unsafe fn spawn_raw_with_stack_size<F: FnMut() -> i32 + Send + 'static>(
    stack_size: usize,
    f: F,
) -> Result<RawThread, CloneError> {
    let stack_size = round_up(stack_size.max(PAGE), PAGE);
    let mapping = Mapping::new(stack_size, mem::size_of::<Control<F>>())
        .map_err(|e| CloneError::Stack { size: stack_size, source: e })?;
    let ctl = mapping.control(stack_size).cast::<Control<F>>();
    let (stack_guard, pointer_guard) = clonekit_raw::tcb_guards();
    let tcb = ctl.cast::<Tcb>();
    // SAFETY: `ctl` is page-aligned, inside the mapping, and large enough for Control<F>.
    unsafe {
        ptr::write(
            ctl,
            Control {
                header: Header {
                    tcb: Tcb {
                        tcb,
                        dtv: 0,
                        self_: tcb,
                        multiple_threads: 1,
                        gscope_flag: 0,
                        sysinfo: 0,
                        stack_guard,
                        pointer_guard,
                    },
                    tid: AtomicU32::new(0),
                    result: AtomicI32::new(0),
                },
                f: UnsafeCell::new(ManuallyDrop::new(f)),
            },
        )
    };
    // SAFETY: initialised just above.
    let tid_ptr = unsafe { (*ctl).header.tid.as_ptr() } as usize;
    let req = Request {
        flags: PTHREAD_FLAGS,
        exit_signal: ExitSignal::NONE,
        stack: Some((mapping.stack_low(), stack_size)),
        tls: tcb as usize,
        parent_tid: tid_ptr,
        child_tid: tid_ptr,
        pidfd: 0,
        set_tid: &[],
        cgroup: None,
    };
    // All signals stay blocked in the new thread for its whole life (see the module docs).
    let blocked = BlockedSignals::block_all();
    // SAFETY: the stack and the control block are mapped and outlive the thread (the handle
    // joins before unmapping); the TCB is valid for %fs; the caller vouches for `f`.
    let result = unsafe { dispatch::create(&req, Syscall::Auto, thread_entry::<F>, ctl.cast()) };
    blocked.restore();
    match result {
        Ok((tid, _)) => Ok(RawThread {
            tid,
            header: ctl.cast::<Header>(),
            // SAFETY: a field of the initialised control block.
            closure: unsafe { (*ctl).f.get() }.cast(),
            drop_closure: drop_closure::<F>,
            mapping: Some(mapping),
            result: None,
        }),
        Err(failure) => {
            // No thread exists: drop the closure here, then unmap.
            // SAFETY: initialised, and nobody else can see it.
            unsafe { ManuallyDrop::drop(&mut *(*ctl).f.get()) };
            drop(mapping);
            Err(CloneError::from_failure(failure, true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::arch::asm;
    use std::sync::atomic::AtomicUsize;

    /// `%fs:0`, `%fs:0x10`, `%fs:0x28` of the calling thread.
    fn tcb_words() -> (usize, usize, usize) {
        let (fs0, fs10, canary): (usize, usize, usize);
        // SAFETY: the first 0x38 bytes of any TCB (glibc's or ours) are mapped.
        unsafe {
            asm!(
                "mov {a}, qword ptr fs:[0]",
                "mov {b}, qword ptr fs:[0x10]",
                "mov {c}, qword ptr fs:[0x28]",
                a = out(reg) fs0,
                b = out(reg) fs10,
                c = out(reg) canary,
                options(nostack, readonly),
            )
        };
        (fs0, fs10, canary)
    }

    #[test]
    fn the_thread_runs_on_its_own_tcb_with_our_canary() {
        static SEEN: [AtomicUsize; 3] = [AtomicUsize::new(0), AtomicUsize::new(0), AtomicUsize::new(0)];
        // SAFETY: reads %fs-relative words of the TCB we built and stores to atomics.
        let t = unsafe {
            spawn_raw(|| {
                let (fs0, fs10, canary) = tcb_words();
                SEEN[0].store(fs0, Ordering::SeqCst);
                SEEN[1].store(fs10, Ordering::SeqCst);
                SEEN[2].store(canary, Ordering::SeqCst);
                0
            })
        }
        .unwrap();
        let tcb = t.header as usize;
        assert_eq!(t.join(), 0);
        assert_eq!(SEEN[0].load(Ordering::SeqCst), tcb, "%fs:0 is the TCB's self pointer");
        assert_eq!(SEEN[1].load(Ordering::SeqCst), tcb, "%fs:0x10 too");
        assert_eq!(SEEN[2].load(Ordering::SeqCst), clonekit_raw::tcb_guards().0, "the canary is copied");
    }
}
