//! Signal discipline around process creation (pitfall 9): every signal is blocked in the
//! calling thread across the syscall, so no handler can run in a child that shares the
//! parent's memory before that child has made the handlers harmless; both sides restore the
//! caller's mask afterwards.

use clonekit_raw::{self as sys, SigSet, SIG_DFL, SIG_IGN, SIG_SETMASK};

/// The highest signal number (`_NSIG` on x86_64).
const NSIG: usize = 64;
/// `SIGKILL` and `SIGSTOP`, whose actions cannot be changed.
const SIGKILL: usize = clonekit_flags::Signal::SIGKILL.number() as usize;
const SIGSTOP: usize = clonekit_flags::Signal::SIGSTOP.number() as usize;

/// The C library's internal signals, set to `SIG_IGN` rather than `SIG_DFL` in a child that
/// had handlers for them (glibc: `SIGCANCEL` 32 and `SIGSETXID` 33; musl also uses 34).
fn is_libc_internal(sig: usize) -> bool {
    if cfg!(target_env = "musl") {
        (32..=34).contains(&sig)
    } else {
        (32..=33).contains(&sig)
    }
}

/// The calling thread's signal mask while every signal is blocked; dropping it (or calling
/// [`BlockedSignals::restore`]) puts the previous mask back.
pub(crate) struct BlockedSignals {
    old: SigSet,
    restored: bool,
}

impl BlockedSignals {
    /// Blocks every signal in the calling thread (`rt_sigprocmask(SIG_SETMASK, ~0)`, as
    /// glibc's `__abort_lock_rdlock` and musl's `__block_all_sigs` do).
    pub(crate) fn block_all() -> BlockedSignals {
        let all: SigSet = !0;
        // rt_sigprocmask with a valid `how` and sigsetsize 8 cannot fail.
        let old = sys::rt_sigprocmask(SIG_SETMASK, Some(&all)).unwrap_or(0);
        BlockedSignals { old, restored: false }
    }

    /// Blocks nothing: only records the calling thread's mask (for callers that must leave
    /// the signal state exactly as it is, see `Clone::keep_signal_handlers`).
    pub(crate) fn unchanged() -> BlockedSignals {
        const SIG_BLOCK: usize = 0;
        let none: SigSet = 0;
        let old = sys::rt_sigprocmask(SIG_BLOCK, Some(&none)).unwrap_or(0);
        BlockedSignals { old, restored: true }
    }

    /// The mask that was in force before [`BlockedSignals::block_all`].
    pub(crate) fn saved(&self) -> SigSet {
        self.old
    }

    /// Restores the saved mask now.
    pub(crate) fn restore(mut self) {
        self.restore_now();
    }

    fn restore_now(&mut self) {
        if !self.restored {
            self.restored = true;
            let _ = sys::rt_sigprocmask(SIG_SETMASK, Some(&self.old));
        }
    }
}

impl Drop for BlockedSignals {
    fn drop(&mut self) {
        self.restore_now();
    }
}

/// Sets the calling thread's mask (the child's half of the discipline). Allocation-free.
pub(crate) fn set_mask(mask: SigSet) {
    let _ = sys::rt_sigprocmask(SIG_SETMASK, Some(&mask));
}

/// In a child with its own copy of the signal-handler table (no `CLONE_SIGHAND`) that shares
/// the parent's memory: sets every signal that has a handler to `SIG_DFL` (the C library's
/// internal signals to `SIG_IGN`), as glibc's `__spawni_child` does. `SIG_IGN` stays
/// ignored. Allocation-free; makes raw syscalls only.
pub(crate) fn reset_handled_signals() {
    for sig in 1..=NSIG {
        if sig == SIGKILL || sig == SIGSTOP {
            continue;
        }
        let Ok(act) = sys::sigaction_get(sig) else { continue };
        if act.handler == SIG_DFL || act.handler == SIG_IGN {
            continue;
        }
        let new = if is_libc_internal(sig) { SIG_IGN } else { SIG_DFL };
        let _ = sys::sigaction_set_disposition(sig, new);
    }
}
