//! [`Clone`]: the general builder over `clone`/`clone3`, with the child as a closure.
//!
//! The closure's ownership moves into the child (pitfall 18). Where it lives:
//!
//! - with an owned stack, its bytes are written into a start block at the top of the child's
//!   stack mapping, and the child moves them out onto its own frame;
//! - stack-less (fork-style), it stays in this function's frame, and the child moves it out
//!   of its copy of that frame (or, with `CLONE_VM|CLONE_VFORK`, out of the very frame while
//!   the parent sleeps).
//!
//! After a successful creation the parent never drops a closure the child can see
//! (`CLONE_VM`). Without `CLONE_VM` the parent holds a ghost copy: it drops it, so that its
//! own copies of captured heap memory and fds are released, unless `CLONE_FILES` is set, in
//! which case the fd table is shared and dropping the copy would close the child's fds: the
//! copy is then leaked. If creation fails, no child exists and the closure is dropped here.

use crate::child::{Child, StackHold};
use crate::dispatch::{self, Request, Syscall};
use crate::error::CloneError;
use crate::signals::{self, BlockedSignals};
use crate::stack::Stack;
use clonekit_flags::{CloneFlags, ExitSignal};
use clonekit_raw::{self as sys, SigSet};
use std::mem::{self, ManuallyDrop};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::panic::{self, AssertUnwindSafe};
use std::ptr;

/// The default stack size of a `CLONE_VM` child: 64 KiB (plus a guard page).
pub const DEFAULT_STACK_SIZE: usize = 64 * 1024;

/// The exit status of a child whose closure panicked: the panic is caught at the child's
/// entry (it never unwinds into the trampoline) and the child exits with 101, the status of
/// a Rust program whose `main` panicked.
pub const CHILD_PANIC_STATUS: i32 = 101;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StackChoice {
    /// An owned stack for `CLONE_VM` children, none otherwise.
    Default,
    /// An owned stack of this size.
    Size(usize),
    /// No stack: the child continues on (a copy of) the caller's.
    None,
}

/// A `clone`/`clone3` call with a closure as the child.
///
/// ```
/// use clonekit_sys::{Clone, CloneFlags};
/// use std::sync::atomic::{AtomicI32, Ordering};
///
/// static SEEN: AtomicI32 = AtomicI32::new(0);
/// // SAFETY: the child only stores to a static atomic and returns (no allocation, no locks),
/// // and the handle is waited for before SEEN is read.
/// let mut child = unsafe {
///     Clone::new().flags(CloneFlags::CLONE_VM).spawn(|| {
///         SEEN.store(42, Ordering::SeqCst);
///         7
///     })
/// }?;
/// assert_eq!(child.wait()?.code(), Some(7));
/// assert_eq!(SEEN.load(Ordering::SeqCst), 42); // CLONE_VM: the child's write is ours
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Clone<'fd> {
    flags: CloneFlags,
    exit_signal: ExitSignal,
    stack: StackChoice,
    tls: usize,
    parent_tid: usize,
    child_tid: usize,
    pidfd: bool,
    /// `set_tid` entries, inline (creating a child never allocates): the first
    /// `set_tid_len` of them.
    set_tid: [i32; MAX_SET_TID],
    set_tid_len: usize,
    /// On a kernel error, look up the rule that predicts it (reads `/proc`, allocates).
    rule_lookup: bool,
    /// Where the kernel stores the pidfd (0: a word of the builder's own).
    pidfd_at: usize,
    cgroup: Option<BorrowedFd<'fd>>,
    syscall: Syscall,
    /// Leave the child's signal handlers exactly as the kernel copied them.
    keep_handlers: bool,
    /// A stack lent by the caller (a pooled one): `(low, size, reserved block, its length)`.
    lent: Option<(usize, usize, usize, usize)>,
}

impl Default for Clone<'_> {
    fn default() -> Self {
        Clone::new()
    }
}

/// `MAX_PID_NS_LEVEL`: the most `set_tid` entries a call can carry.
const MAX_SET_TID: usize = clonekit_flags::MAX_PID_NS_LEVEL as usize;

/// What the child needs, placed where it can read it.
#[repr(C)]
struct ChildStart<F> {
    f: ManuallyDrop<F>,
    /// The mask to restore once the handlers are safe.
    mask: SigSet,
    /// Reset every handled signal to `SIG_DFL` before unblocking anything.
    reset_handlers: bool,
    /// Leave with `exit_group` (a process) rather than `exit` (a thread).
    exit_group: bool,
}

/// The child's Rust entry, called by the trampoline on the child's stack.
unsafe extern "C" fn child_entry<F: FnOnce() -> i32>(arg: *mut u8) -> i32 {
    let start = arg.cast::<ChildStart<F>>();
    // SAFETY: `arg` points at the start block written by `spawn_inner` (our copy of it, or
    // the shared one that the parent no longer touches); the fields are read once.
    let (mask, reset, group) = unsafe { ((*start).mask, (*start).reset_handlers, (*start).exit_group) };
    if reset {
        signals::reset_handled_signals();
    }
    signals::set_mask(mask);
    // SAFETY: the closure is moved out exactly once, here; the parent never drops a closure
    // a CLONE_VM child can see, and a non-VM child owns its own copy.
    let f = unsafe { ManuallyDrop::take(&mut (*start).f) };
    let status = match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(status) => status,
        Err(payload) => {
            // Freeing the payload could re-enter an allocator in a bad state.
            mem::forget(payload);
            CHILD_PANIC_STATUS
        }
    };
    if group {
        sys::exit_group(status);
    }
    status
}

impl<'fd> Clone<'fd> {
    /// No flags, exit signal `SIGCHLD`, the default stack, [`Syscall::Auto`]: a fork.
    pub fn new() -> Clone<'fd> {
        Clone {
            flags: CloneFlags::empty(),
            exit_signal: ExitSignal::SIGCHLD,
            stack: StackChoice::Default,
            tls: 0,
            parent_tid: 0,
            child_tid: 0,
            pidfd: false,
            set_tid: [0; MAX_SET_TID],
            set_tid_len: 0,
            rule_lookup: true,
            pidfd_at: 0,
            cgroup: None,
            syscall: Syscall::Auto,
            keep_handlers: false,
            lent: None,
        }
    }

    /// The `CLONE_*` flags, exactly as given. `CLONE_PIDFD` and `CLONE_INTO_CGROUP` are
    /// added by [`Clone::pidfd`] and [`Clone::cgroup`]; pointers set by [`Clone::tls`],
    /// [`Clone::parent_tid`] and [`Clone::child_tid`] are used only if the matching flag
    /// is here (`CLONE_SETTLS`, `CLONE_PARENT_SETTID`, `CLONE_CHILD_SETTID`/`_CLEARTID`).
    pub fn flags(mut self, flags: CloneFlags) -> Self {
        self.flags = flags;
        self
    }

    /// The signal the parent gets when the child dies (default `SIGCHLD`).
    pub fn exit_signal(mut self, exit_signal: ExitSignal) -> Self {
        self.exit_signal = exit_signal;
        self
    }

    /// An owned stack of `size` bytes (an anonymous mapping with a `PROT_NONE` guard page at
    /// its low end). Without this, `CLONE_VM` children get [`DEFAULT_STACK_SIZE`] and other
    /// children run stack-less on a copy of the caller's stack.
    pub fn stack_size(mut self, size: usize) -> Self {
        self.stack = StackChoice::Size(size);
        self
    }

    /// No stack (`stack = NULL`): the child continues on its copy-on-write copy of the
    /// caller's stack, as after `fork`. With `CLONE_VM` this is allowed only together with
    /// `CLONE_VFORK` (the parent sleeps while the child borrows its stack); otherwise
    /// [`Clone::spawn`] returns [`CloneError::Invalid`].
    pub fn no_stack(mut self) -> Self {
        self.stack = StackChoice::None;
        self
    }

    /// The thread pointer for `CLONE_SETTLS`.
    pub fn tls(mut self, tls: usize) -> Self {
        self.tls = tls;
        self
    }

    /// Where `CLONE_PARENT_SETTID` stores the child's tid (in the parent's memory).
    pub fn parent_tid(mut self, ptr: *mut i32) -> Self {
        self.parent_tid = ptr as usize;
        self
    }

    /// Where `CLONE_CHILD_SETTID` stores, and `CLONE_CHILD_CLEARTID` clears, the child's tid
    /// (in the child's memory).
    pub fn child_tid(mut self, ptr: *mut i32) -> Self {
        self.child_tid = ptr as usize;
        self
    }

    /// Asks for a pidfd (`CLONE_PIDFD`); it is returned in the [`Child`]. With legacy
    /// `clone` the pidfd comes back through the `parent_tid` slot, so it cannot be combined
    /// with `CLONE_PARENT_SETTID` there (the kernel says `EINVAL`).
    pub fn pidfd(mut self, yes: bool) -> Self {
        self.pidfd = yes;
        self
    }

    /// The pids the child gets, one per pid-namespace level, deepest first (`clone3` only).
    pub fn set_tid(mut self, tids: &[i32]) -> Self {
        // MAX_PID_NS_LEVEL entries at most; a longer list is cut there (the kernel would
        // refuse it anyway, rule C5).
        let n = tids.len().min(MAX_SET_TID);
        self.set_tid[..n].copy_from_slice(&tids[..n]);
        self.set_tid_len = n;
        self
    }

    /// Starts the child in the cgroup2 directory `fd` (`CLONE_INTO_CGROUP`, `clone3` only).
    pub fn cgroup(mut self, fd: BorrowedFd<'fd>) -> Self {
        self.cgroup = Some(fd);
        self
    }

    /// Runs the child on `stack`, which the caller keeps (e.g. in a [`crate::stack::StackPool`])
    /// instead of a stack mapped for this call. The start block goes into its reserved top.
    ///
    /// # Safety
    ///
    /// The stack must stay mapped, and be used by nobody else, until the child no longer
    /// runs on it: it has exec'd or exited (which `CLONE_VFORK` guarantees when the call
    /// returns; without it the caller must wait for that itself).
    pub(crate) unsafe fn lend_stack(mut self, stack: &Stack) -> Self {
        self.lent = Some((stack.low(), stack.size(), stack.reserved() as usize, stack.reserved_len()));
        self
    }

    /// Which system call to use (default [`Syscall::Auto`]: `clone3` with a cached fallback).
    pub fn syscall(mut self, syscall: Syscall) -> Self {
        self.syscall = syscall;
        self
    }

    /// Leaves the signal state exactly as the kernel sets it up: no signal is blocked around
    /// the call, and even a `CLONE_VM` child keeps its handlers (otherwise every handled
    /// signal is reset to `SIG_DFL` in it before anything is unblocked, so that no parent
    /// handler runs on the child's stack). For callers that must observe the kernel's own
    /// behaviour (a vfork parent killed by a signal while it waits), and whose handlers are
    /// safe on any stack.
    pub fn keep_signal_handlers(mut self) -> Self {
        self.keep_handlers = true;
        self
    }

    /// Has the kernel store the pidfd (`CLONE_PIDFD`, asked for with [`Clone::pidfd`]) at
    /// `ptr`, as a caller's own `clone_args.pidfd` (or, for legacy `clone`, `parent_tid`)
    /// would: it is written there before the child runs, so a child sharing the caller's
    /// memory can read it. The [`Child`] still owns the descriptor.
    pub fn pidfd_into(mut self, ptr: *mut i32) -> Self {
        self.pidfd_at = ptr as usize;
        self
    }

    /// For callers that must not allocate (e.g. code running on a thread pointer of its
    /// own): a kernel error carries its errno and call, without looking up the broken rule
    /// ([`CloneError::rule`] is then `None`).
    pub fn without_rule_lookup(mut self) -> Self {
        self.rule_lookup = false;
        self
    }

    /// The flags that will be issued: [`Clone::flags`] plus `CLONE_PIDFD` and
    /// `CLONE_INTO_CGROUP` when [`Clone::pidfd`] and [`Clone::cgroup`] ask for them.
    pub fn effective_flags(&self) -> CloneFlags {
        let mut flags = self.flags;
        if self.pidfd {
            flags |= CloneFlags::CLONE_PIDFD;
        }
        if self.cgroup.is_some() {
            flags |= CloneFlags::CLONE_INTO_CGROUP;
        }
        flags
    }

    /// Creates the child, which runs `f` and exits with its result (`exit_group` for a
    /// process, `exit` for a `CLONE_THREAD` child; [`CHILD_PANIC_STATUS`] if `f` panics).
    ///
    /// Every signal is blocked in the calling thread across the system call and the
    /// caller's mask is restored on both sides; a `CLONE_VM` child without `CLONE_SIGHAND`
    /// (and without `CLONE_CLEAR_SIGHAND`) first resets every handled signal to `SIG_DFL`,
    /// so that no parent handler can run on the child's stack.
    ///
    /// # Safety
    ///
    /// What `f` may do depends on the flags; the caller must make sure it stays within:
    ///
    /// - **No `CLONE_VM`, single-threaded caller** (a fork): `f` runs in a copy of this
    ///   process. Anything is memory-safe, but libc was not told about the fork (no atfork
    ///   handlers; its cached tid is the parent's), so leave by returning, not through
    ///   `std::process::exit` (which would flush stdio buffers the parent flushes too).
    /// - **No `CLONE_VM`, multithreaded caller** (e.g. under `cargo test`): locks held by
    ///   other threads stay held forever in the child, so `f` must be async-signal-safe: no
    ///   allocation, no `println!`, no mutexes; raw syscalls and memory writes only.
    /// - **`CLONE_VM` without `CLONE_VFORK`**: `f` runs concurrently with the caller in the
    ///   same memory, on the parent thread's TLS (unless `CLONE_SETTLS`): everything it
    ///   touches must be `'static` (or outlive the returned [`Child`]) and synchronised;
    ///   it must not allocate or free, use `thread_local!`, panic, or call into libc
    ///   (errno and the malloc cache are the parent thread's).
    /// - **`CLONE_VM|CLONE_VFORK`**: the calling thread sleeps until the child execs or
    ///   exits, so `f` may borrow from the caller's frame; other threads still run, so the
    ///   rules for the multithreaded case apply (raw syscalls, no allocation).
    /// - **`CLONE_THREAD`/`CLONE_SETTLS`**: the child is a thread this crate cannot join
    ///   and whose stack is leaked; `tls` must point at a valid TCB for any code that reads
    ///   `%fs`. Prefer [`crate::thread::spawn_raw`].
    /// - **`CLONE_SIGHAND`**: handlers are shared, and run in the child once it unblocks
    ///   signals with the caller's mask; they must be safe on the child's stack.
    /// - The pointers given to [`Clone::parent_tid`], [`Clone::child_tid`],
    ///   [`Clone::pidfd_into`] and [`Clone::tls`] must be valid for what the flags make the
    ///   kernel write there.
    /// - If `f` or what it captures owns fds and `CLONE_FILES` is set without `CLONE_VM`,
    ///   the parent's copy of the closure is leaked rather than dropped.
    pub unsafe fn spawn<F: FnOnce() -> i32 + Send>(self, f: F) -> Result<Child, CloneError> {
        // SAFETY: forwarded contract.
        unsafe { self.spawn_inner(f) }
    }

    /// [`Clone::spawn`] without the `Send` bound, for fork-style presets (the child gets a
    /// copy, so nothing crosses threads).
    pub(crate) unsafe fn spawn_inner<F: FnOnce() -> i32>(self, f: F) -> Result<Child, CloneError> {
        let flags = self.effective_flags();
        let vm = flags.contains(CloneFlags::CLONE_VM);
        let vfork = flags.contains(CloneFlags::CLONE_VFORK);
        let stack_size = match self.stack {
            StackChoice::Size(n) => Some(n),
            StackChoice::Default if vm => Some(DEFAULT_STACK_SIZE),
            StackChoice::Default => None,
            StackChoice::None if vm && !vfork => {
                return Err(CloneError::Invalid(
                    "a CLONE_VM child without CLONE_VFORK needs its own stack (no_stack would share ours)",
                ));
            }
            StackChoice::None => None,
        };

        let start_size = mem::size_of::<ChildStart<F>>() + mem::align_of::<ChildStart<F>>();
        let stack = match (self.lent, stack_size) {
            (Some(_), _) => None,
            (None, Some(n)) => {
                Some(Stack::new(n, start_size).map_err(|e| CloneError::Stack { size: n, source: e })?)
            }
            (None, None) => None,
        };
        // (low, size, reserved block) of the stack the child runs on, owned or lent.
        let place = match (self.lent, &stack) {
            (Some((low, size, reserved, reserved_len)), _) => {
                if reserved_len < start_size {
                    return Err(CloneError::Invalid("the lent stack's start block is too small"));
                }
                Some((low, size, reserved as *mut u8))
            }
            (None, Some(s)) => Some((s.low(), s.size(), s.reserved())),
            (None, None) => None,
        };

        // The start block: at the top of the owned stack, or in this frame. Its closure is a
        // ManuallyDrop: it is moved into the child or dropped explicitly below, never twice.
        let mut local: Option<ChildStart<F>> = None;
        let start_ptr: *mut ChildStart<F> = {
            let block = ChildStart {
                f: ManuallyDrop::new(f),
                mask: 0,
                reset_handlers: !self.keep_handlers
                    && vm
                    && !flags.intersects(CloneFlags::CLONE_SIGHAND | CloneFlags::CLONE_CLEAR_SIGHAND),
                exit_group: !flags.contains(CloneFlags::CLONE_THREAD),
            };
            match place {
                Some((_, _, reserved)) => {
                    let align = mem::align_of::<ChildStart<F>>();
                    let p = ((reserved as usize + align - 1) & !(align - 1)) as *mut ChildStart<F>;
                    // SAFETY: `p` is aligned and the reserved block holds size + align bytes.
                    unsafe { ptr::write(p, block) };
                    p
                }
                None => local.insert(block) as *mut ChildStart<F>,
            }
        };

        let mut pidfd: i32 = -1;
        let req = Request {
            flags,
            exit_signal: self.exit_signal,
            stack: place.map(|(low, size, _)| (low, size)),
            tls: self.tls,
            parent_tid: self.parent_tid,
            child_tid: self.child_tid,
            pidfd: match (flags.contains(CloneFlags::CLONE_PIDFD), self.pidfd_at) {
                (false, _) => 0,
                (true, 0) => &mut pidfd as *mut i32 as usize,
                (true, at) => at,
            },
            set_tid: &self.set_tid[..self.set_tid_len],
            cgroup: self.cgroup.map(|fd| fd.as_raw_fd()),
        };

        let blocked =
            if self.keep_handlers { BlockedSignals::unchanged() } else { BlockedSignals::block_all() };
        // SAFETY: the start block is initialised and stays valid and untouched by us until
        // the call returns (and, for CLONE_VM children, afterwards: we never touch it again);
        // the stack is mapped; the caller vouches for `f` and the pointers.
        unsafe { (*start_ptr).mask = blocked.saved() };
        let result = unsafe { dispatch::create(&req, self.syscall, child_entry::<F>, start_ptr.cast()) };
        blocked.restore();

        match result {
            Err(failure) => {
                // No child exists: the closure is still ours.
                // SAFETY: the block is initialised and nobody else can see it.
                unsafe { ManuallyDrop::drop(&mut (*start_ptr).f) };
                drop(stack);
                Err(CloneError::from_failure(failure, self.rule_lookup))
            }
            Ok((pid, call)) => {
                if !vm && !flags.contains(CloneFlags::CLONE_FILES) {
                    // The child has its own copy; release ours.
                    // SAFETY: the block is initialised, and without CLONE_VM the child
                    // cannot see our copy.
                    unsafe { ManuallyDrop::drop(&mut (*start_ptr).f) };
                }
                let hold = match stack {
                    Some(s) if vm && !vfork => {
                        if flags.intersects(CloneFlags::CLONE_THREAD | CloneFlags::CLONE_PARENT) {
                            StackHold::Forever(s)
                        } else {
                            StackHold::UntilReaped(s)
                        }
                    }
                    // Our copy (no CLONE_VM), or the child has exec'd or exited (CLONE_VFORK).
                    Some(s) => {
                        drop(s);
                        StackHold::None
                    }
                    None => StackHold::None,
                };
                if self.pidfd_at != 0 {
                    // SAFETY: the caller's word, where the kernel stored the pidfd.
                    pidfd = unsafe { (self.pidfd_at as *const i32).read_volatile() };
                }
                let pidfd = (flags.contains(CloneFlags::CLONE_PIDFD) && pidfd >= 0).then(|| {
                    // SAFETY: the kernel installed this fd for us with CLONE_PIDFD.
                    unsafe { OwnedFd::from_raw_fd(pidfd) }
                });
                Ok(Child::new(pid, pidfd, call, self.exit_signal, hold))
            }
        }
    }
}
