//! A raw thread with `pthread_create`'s flags, joined through the kernel's
//! `CLONE_CHILD_CLEARTID` futex wake.
//!
//! `strace -f -e trace=clone,clone3 target/debug/examples/thread` shows a `clone3` (or
//! `clone`) line with exactly `flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|
//! CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID` and `exit_signal=0`.

use std::sync::atomic::{AtomicI32, Ordering};

static COUNTER: AtomicI32 = AtomicI32::new(0);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // SAFETY: the closure only touches a static atomic and returns (no allocation, no
    // thread-locals, no libc, no panics).
    let thread = unsafe {
        clonekit_sys::thread::spawn_raw(|| {
            COUNTER.fetch_add(1, Ordering::SeqCst);
            42
        })
    }?;
    let tid = thread.tid();
    let result = thread.join();
    println!("raw thread {tid} returned {result}; counter = {}", COUNTER.load(Ordering::SeqCst));
    Ok(())
}
