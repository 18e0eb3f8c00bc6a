//! Agents: real tasks that perform scenario steps with real system calls, one at a time,
//! on a coordinator's request.
//!
//! Every task of a scenario run on the kernel is an agent: a small loop that waits in its
//! mailbox (shared memory, a futex) for an operation, performs it with raw system calls
//! (no allocation, no libc state, nothing a `CLONE_VM` or vfork child must not do), writes
//! the result back and waits again. Operations that create tasks make the new task an agent
//! too, serving the mailbox the coordinator named; `execve` re-executes the same program,
//! which finds its mailbox again (see [`enter_if_agent`]). So the scenario's own fd tables,
//! memory and signal state are touched by nothing but the scenario's steps: the control
//! region is a memfd mapped by every agent, passed across `execve` at a high fd number.
//!
//! The coordinator ([`Fleet`]) posts one operation at a time and learns its [`Outcome`]:
//! done (with the reply), blocked (the task sleeps in the operation's system call, read from
//! `/proc/TID/stat` and `/proc/TID/syscall`, so no timeout decides it), or gone.
//!
//! Its waits end at once with `EINTR` when a termination signal is pending for the
//! coordinator (held by [`crate::observe::HeldSignals`]: the caller was asked to stop, Ctrl-C):
//! cutting a step short is safe here, since dropping the fleet ends every task it made.
//!
//! The tasks live in pid, UTS and IPC namespaces of their own (so neither `sethostname`
//! nor SysV objects reach the machine), whose init (pid 1 there) is a small agent
//! that creates the first task (pid 2) and then only reaps, as an init does: so `kill -1`
//! and `kill 0` reach the scenario's tasks and nothing else on the machine, pid numbers are
//! the same on every run, and killing that init ends every task at once
//! (`zap_pid_ns_processes`), which is how dropping the fleet cleans up. A caller that may
//! not create a pid namespace gets the same tasks as children of a child subreaper instead
//! ([`Fleet::isolated`] is then false, and `kill -1` must not be sent).

mod op;
mod task;

pub use op::{text, AgentOp, ArgsAt, RawClone3, MAX_SET_TID, MAX_TEXT, PTR_NULL, PTR_UNMAPPED};

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::ffi::CStr;
use std::time::{Duration, Instant};

use rustix::fd::{AsRawFd, OwnedFd};
use rustix::io;

use clonekit_flags::{Privilege, PIDFD_THREAD};
use clonekit_raw::nr;

/// The fd number at which agents keep the control region (kept across `execve`).
pub const CONTROL_FD: i32 = 1000;
/// Mailboxes in a control region.
const MAILBOXES: usize = 128;
/// The most tasks a scenario may have (one mailbox is the namespace init's).
pub const MAX_TASKS: usize = MAILBOXES - 1;
/// The namespace init's mailbox.
const INIT_SLOT: u32 = (MAILBOXES - 1) as u32;
/// Memory words per address space.
pub const MAX_VARS: usize = 256;
/// The first argument that makes a program an agent (see [`enter_if_agent`]).
pub const AGENT_ARG: &str = "__clonekit_agent";

const MAGIC: u64 = 0x636c_6f6e_656b_6974; // "clonekit"

/// What an operation answered.
#[derive(Clone, Copy)]
#[repr(C)]
pub struct Reply {
    /// The system call's return value, or `-errno`.
    pub ret: i64,
    /// A second value: a wait status, a pid read from `siginfo`, a disposition, a mask, a
    /// memory word, a count.
    pub value: i64,
    /// A third value: the `si_code` of a `waitid`, the flags of an fd.
    pub extra: i64,
    /// Text: a cwd, a host name.
    pub text: [u8; 256],
    /// Its length.
    pub text_len: u32,
    /// More values: a `waitid`'s `si_signo`, its `si_uid`, and the caller's `getuid()`.
    pub aux: [i64; 3],
}

impl Default for Reply {
    fn default() -> Self {
        Reply { ret: 0, value: 0, extra: 0, text: [0; 256], text_len: 0, aux: [0; 3] }
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("ret", &self.ret)
            .field("value", &self.value)
            .field("extra", &self.extra)
            .field("text", &self.text())
            .field("aux", &self.aux)
            .finish()
    }
}

impl Reply {
    /// The text part.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.text[..(self.text_len as usize).min(256)]).into_owned()
    }

    /// The errno, if the call failed.
    pub fn errno(&self) -> Option<clonekit_flags::Errno> {
        (self.ret < 0).then(|| clonekit_flags::Errno::from_raw(-self.ret as i32)).flatten()
    }
}

/// One task's mailbox in the control region.
#[repr(C)]
pub(crate) struct Mailbox {
    /// Sequence number of the last operation posted (coordinator).
    posted: AtomicU32,
    /// Sequence number of the last operation finished (agent).
    done: AtomicU32,
    /// The agent's tid in its own pid namespace, once it serves this mailbox; 0 before.
    tid: AtomicI32,
    /// The same task's tid as the coordinator sees it (for `/proc` and signals).
    host_tid: AtomicI32,
    /// Its thread group's id as the coordinator sees it: the pid a non-leader's exec takes.
    host_tgid: AtomicI32,
    /// The inode of the agent's pid namespace (with `tid`, names the task inside).
    pidns: AtomicU64,
    /// Deliveries counted by the counting handler in this task.
    handled: AtomicU64,
    op: UnsafeCell<AgentOp>,
    reply: UnsafeCell<Reply>,
}

/// The control region's layout.
#[repr(C)]
pub(crate) struct Region {
    magic: u64,
    boxes: [Mailbox; MAILBOXES],
}

/// A mapping of the control region.
pub(crate) struct Control {
    region: *mut Region,
}

// SAFETY: the region is shared memory whose fields are atomics, or cells whose accesses are
// ordered by the atomics (the coordinator writes `op` before bumping `posted`; the agent
// writes `reply` before bumping `done`).
unsafe impl Sync for Control {}
// SAFETY: as above.
unsafe impl Send for Control {}

fn region_len() -> usize {
    core::mem::size_of::<Region>().div_ceil(4096) * 4096
}

impl Control {
    /// Maps the region behind `fd`.
    fn map(fd: i32) -> io::Result<Control> {
        use rustix::mm::{mmap, MapFlags, ProtFlags};
        // SAFETY: `fd` is a memfd of at least `region_len()` bytes; a shared mapping of it at
        // an address of the kernel's choosing aliases none of our memory.
        let p = unsafe {
            mmap(
                core::ptr::null_mut(),
                region_len(),
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::SHARED,
                rustix::fd::BorrowedFd::borrow_raw(fd),
                0,
            )?
        };
        Ok(Control { region: p.cast() })
    }

    pub(crate) fn mailbox(&self, slot: u32) -> &Mailbox {
        // SAFETY: the region is mapped for the life of `self`; the index is bounded.
        unsafe { &(*self.region).boxes[slot as usize % MAILBOXES] }
    }

    /// The mailbox whose agent is the task with this tid in the pid namespace with this
    /// inode.
    pub(crate) fn mailbox_of(&self, tid: i32, pidns: u64) -> Option<&Mailbox> {
        (0..MAILBOXES as u32)
            .map(|i| self.mailbox(i))
            .find(|m| m.tid.load(Ordering::SeqCst) == tid && m.pidns.load(Ordering::SeqCst) == pidns)
    }

    /// Clears every mailbox but `keep` that names the task with tid `host_tid` (as the
    /// coordinator sees it): the task now serving `keep` holds that tid, so the task those
    /// mailboxes were served by is gone (see `task::identify`).
    pub(crate) fn disown(&self, host_tid: i32, keep: &Mailbox) {
        for m in (0..MAILBOXES as u32).map(|i| self.mailbox(i)) {
            if core::ptr::eq(m, keep) {
                continue;
            }
            if m.host_tid.compare_exchange(host_tid, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                m.host_tgid.store(0, Ordering::SeqCst);
                m.tid.store(0, Ordering::SeqCst);
                m.pidns.store(0, Ordering::SeqCst);
            }
        }
    }
}

/// What became of a posted operation.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// It finished.
    Done(Box<Reply>),
    /// The task sleeps inside the operation's system call.
    Blocked,
    /// The task is gone (it exited or was killed) without finishing it.
    Gone,
    /// The task stopped (a group stop) before the operation's system call returned to it: it
    /// returns, or is made again, after `SIGCONT`.
    Stopped,
}

/// A coordinator of agents: the control region, and the tasks serving its mailboxes.
pub struct Fleet {
    fd: OwnedFd,
    ctl: Control,
    /// The namespace init (our child), when the tasks have a pid namespace of their own.
    init: Option<i32>,
    /// Without a namespace: the first task (our child).
    first: Option<i32>,
    /// Per mailbox: a pidfd of its task and the tid it was opened for, so that how the task
    /// ended can still be read after another task reaped it ([`Fleet::exit_status`]).
    pidfds: std::sync::Mutex<Vec<Option<(i32, OwnedFd)>>>,
    /// What the tasks may do.
    privilege: Privilege,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("fd", &self.fd)
            .field("init", &self.init)
            .field("first", &self.first)
            .finish()
    }
}

/// The namespaces the tasks get of their own: pids (so `kill -1` and pid numbers stay
/// inside), the host name and the SysV IPC objects (so `sethostname` and semaphores never
/// touch the machine's).
const ISOLATION: clonekit_flags::CloneFlags = crate::privilege::NAMESPACE_ROOT_FLAGS;

impl Fleet {
    /// A new control region, and the pid namespace the tasks will live in (with its init).
    /// An ordinary user who may create a user namespace gets one with it, mapped to root
    /// ([`Privilege::NamespaceRoot`](clonekit_flags::Privilege::NamespaceRoot)); without
    /// either, this process becomes a child subreaper instead. [`Fleet::privilege`] says which.
    pub fn new() -> io::Result<Fleet> {
        Fleet::with(crate::privilege::privilege())
    }

    /// The tasks of a scenario that sets resource limits: an ordinary user's limits, whoever
    /// runs it ([`Privilege::for_limits`]: root's tasks are root of a user namespace of
    /// their own mapped to `nobody`), and a file tree no core file can leave a trace in. Before
    /// the first task exists, the namespace init takes a mount namespace of its own where the
    /// machine's whole tree is read-only and `/tmp` is a fresh tmpfs, private to the
    /// namespace and gone with it ([`AgentOp::SealFiles`]): a core dump lands nowhere else
    /// (none is written in a read-only directory), and nowhere on the machine's disks.
    /// `Err` when that cannot be had: an ordinary user without a user namespace of its own
    /// (`EPERM`), or a kernel that refuses a step (its errno).
    pub fn for_limits() -> io::Result<Fleet> {
        let privilege = crate::privilege::privilege().for_limits();
        if !privilege.has_caps() {
            return Err(io::Errno::PERM);
        }
        let fleet = Fleet::with(privilege)?;
        if fleet.init.is_none() || fleet.privilege != privilege {
            return Err(io::Errno::PERM);
        }
        fleet.post(INIT_SLOT, &AgentOp::SealFiles);
        match fleet.outcome(INIT_SLOT, None, Duration::from_secs(5))? {
            Outcome::Done(r) if r.ret == 0 => Ok(fleet),
            Outcome::Done(r) => Err(io::Errno::from_raw_os_error((-r.ret) as i32)),
            _ => Err(io::Errno::CHILD),
        }
    }

    fn with(privilege: Privilege) -> io::Result<Fleet> {
        let fd = rustix::fs::memfd_create(c"clonekit-agents", rustix::fs::MemfdFlags::CLOEXEC)?;
        rustix::fs::ftruncate(&fd, region_len() as u64)?;
        let ctl = Control::map(fd.as_raw_fd())?;
        // SAFETY: the mapping is fresh and zeroed; the magic word is written once.
        unsafe { (*ctl.region).magic = MAGIC };
        let pidfds = std::sync::Mutex::new((0..MAILBOXES).map(|_| None).collect());
        let mut fleet = Fleet { fd, ctl, init: None, first: None, pidfds, privilege };
        let raw_fd = fleet.fd.as_raw_fd();
        let ctl = &fleet.ctl;
        let spawn_init = |flags: clonekit_flags::CloneFlags| {
            // SAFETY: the namespace init prepares its control fd and serves its mailbox with
            // raw system calls only, no allocation.
            unsafe {
                clonekit_sys::Clone::new().flags(flags).keep_signal_handlers().without_rule_lookup().spawn(
                    move || {
                        let _ = task::dup_control(raw_fd);
                        task::clean_start();
                        task::serve_as_init(ctl, INIT_SLOT)
                    },
                )
            }
        };
        // The init in a user namespace of its own too, whose ids `map` maps; one that cannot be
        // mapped is killed and reaped, and its error returned.
        let in_user_ns = |map: &dyn Fn(i32) -> std::io::Result<()>| {
            let Ok(mut child) = spawn_init(ISOLATION | clonekit_flags::CloneFlags::CLONE_NEWUSER) else {
                return Ok(None);
            };
            match map(child.pid()) {
                Ok(()) => Ok(Some(child)),
                Err(e) => {
                    let _ = child.kill(clonekit_flags::Signal::SIGKILL);
                    let _ = child.wait();
                    Err(io::Errno::from_io_error(&e).unwrap_or(io::Errno::PERM))
                }
            }
        };
        let root = rustix::process::geteuid().is_root() && crate::privilege::in_initial_user_ns();
        let init = match privilege {
            Privilege::Unprivileged { .. } => None,
            Privilege::Root { .. } => spawn_init(ISOLATION).ok(),
            // Root, for an ordinary user's tasks: a user namespace of their own, mapped to
            // that user.
            Privilege::NamespaceRoot { uid } if root => {
                in_user_ns(&|pid| crate::privilege::map_root_to(pid, uid, uid))?
            }
            // A container's root has the capabilities already; an ordinary user creates the
            // user namespace with the others, and maps its uid 0 before the init is asked to
            // create anything.
            Privilege::NamespaceRoot { .. } => match spawn_init(ISOLATION) {
                Ok(child) => Some(child),
                Err(_) => in_user_ns(&crate::privilege::map_root)?,
            },
        };
        match init {
            Some(child) => {
                fleet.init = Some(child.pid());
                // Reaped by `shutdown`; the handle must not wait for it.
                core::mem::forget(child);
                fleet.wait_serving(INIT_SLOT)?;
            }
            None => {
                // The tasks are this process's children, with its credentials: an ordinary
                // user whose user namespace could not be made stays one.
                if !crate::privilege::has_cap_sys_admin() {
                    fleet.privilege = Privilege::Unprivileged {
                        uid: privilege.uid(),
                        user_ns_refused: crate::privilege::user_ns_refusal(),
                    };
                }
                // SAFETY: prctl with integer arguments.
                clonekit_raw::check(unsafe {
                    clonekit_raw::syscall4(
                        clonekit_raw::nr::PRCTL,
                        clonekit_flags::PR_SET_CHILD_SUBREAPER as usize,
                        1,
                        0,
                        0,
                    )
                })?;
            }
        }
        Ok(fleet)
    }

    /// The privilege the tasks have: what the model must be told to predict them.
    pub fn privilege(&self) -> Privilege {
        self.privilege
    }

    /// Whether the tasks have a pid namespace of their own (see the module notes).
    pub fn isolated(&self) -> bool {
        self.init.is_some()
    }

    /// Creates the first task serving mailbox `slot` (pid 2 of the tasks' namespace, in a
    /// process group of its own); returns its pid as this process sees it.
    pub fn start(&mut self, slot: u32) -> io::Result<i32> {
        if self.isolated() {
            self.post(INIT_SLOT, &AgentOp::Fork { child: slot });
            match self.outcome(INIT_SLOT, None, Duration::from_secs(5))? {
                Outcome::Done(r) if r.ret > 0 => {}
                Outcome::Done(r) => return Err(io::Errno::from_raw_os_error((-r.ret) as i32)),
                _ => return Err(io::Errno::CHILD),
            }
            return self.wait_serving(slot);
        }
        let fd = self.fd.as_raw_fd();
        let ctl = &self.ctl;
        // SAFETY: the child prepares its control fd and serves its mailbox: raw system calls
        // only, no allocation.
        let child = unsafe {
            clonekit_sys::Clone::new().keep_signal_handlers().without_rule_lookup().spawn(move || {
                let _ = task::dup_control(fd);
                task::clean_start();
                task::own_process_group();
                task::serve(ctl, slot, task::fresh_vars())
            })
        }
        .map_err(|e| io::Errno::from_raw_os_error(e.errno().raw()))?;
        let pid = child.pid();
        // The first task is reaped by `reap` like an orphan: the handle must not wait for it.
        core::mem::forget(child);
        self.first = Some(pid);
        self.wait_serving(slot)
    }

    /// Waits until an agent serves mailbox `slot` (after a creating operation); its tid as
    /// this process sees it. `Err(INTR)` once a termination signal is pending (see the module
    /// notes).
    pub fn wait_serving(&self, slot: u32) -> io::Result<i32> {
        let mb = self.ctl.mailbox(slot);
        let start = Instant::now();
        loop {
            let tid = mb.host_tid.load(Ordering::SeqCst);
            if tid != 0 {
                self.watch(slot, tid);
                return Ok(tid);
            }
            interrupted()?;
            if start.elapsed() > Duration::from_secs(5) {
                return Err(io::Errno::TIMEDOUT);
            }
            std::thread::yield_now();
        }
    }

    fn pidfds(&self) -> std::sync::MutexGuard<'_, Vec<Option<(i32, OwnedFd)>>> {
        self.pidfds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a pidfd of `tid`, mailbox `slot`'s task (none if it is already reaped).
    fn watch(&self, slot: u32, tid: i32) {
        let fd = rustix::process::Pid::from_raw(tid).and_then(|pid| {
            rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::from_bits_retain(PIDFD_THREAD)).ok()
        });
        if let Some(p) = self.pidfds().get_mut(slot as usize) {
            *p = fd.map(|fd| (tid, fd));
        }
    }

    /// The tid serving mailbox `slot`, as this process sees it, if any.
    pub fn tid(&self, slot: u32) -> Option<i32> {
        Some(self.ctl.mailbox(slot).host_tid.load(Ordering::SeqCst)).filter(|&t| t != 0)
    }

    /// Forgets mailbox `slot`'s agent (its task is gone), so the mailbox can be reused.
    pub fn release(&self, slot: u32) {
        if let Some(p) = self.pidfds().get_mut(slot as usize) {
            *p = None;
        }
        let mb = self.ctl.mailbox(slot);
        mb.host_tid.store(0, Ordering::SeqCst);
        mb.host_tgid.store(0, Ordering::SeqCst);
        mb.tid.store(0, Ordering::SeqCst);
        mb.pidns.store(0, Ordering::SeqCst);
    }

    /// Posts `op` to mailbox `slot` and returns at once.
    pub fn post(&self, slot: u32, op: &AgentOp) {
        let mb = self.ctl.mailbox(slot);
        // SAFETY: the agent reads `op` only after seeing `posted` change, and it is idle
        // (its previous operation is done, or it is blocked inside one that reads nothing
        // more), so nobody reads the cell while we write it.
        unsafe { *mb.op.get() = *op };
        let seq = mb.posted.load(Ordering::SeqCst).wrapping_add(1);
        mb.posted.store(seq, Ordering::SeqCst);
        let _ = rustix::thread::futex::wake(&mb.posted, rustix::thread::futex::Flags::empty(), 1);
    }

    /// Whether mailbox `slot`'s last posted operation is finished, and its reply.
    pub fn poll(&self, slot: u32) -> Option<Reply> {
        let mb = self.ctl.mailbox(slot);
        let posted = mb.posted.load(Ordering::SeqCst);
        (mb.done.load(Ordering::SeqCst) == posted).then(|| {
            // SAFETY: the agent wrote the reply before publishing `done`, and writes it again
            // only after a new post.
            unsafe { *mb.reply.get() }
        })
    }

    /// Waits for the outcome of the operation last posted to `slot`: done, blocked in
    /// `blocks_in` (a system call number), or gone. `Err(TIMEDOUT)` if none of these happens
    /// within `limit` (a task running away); `Err(INTR)` once a termination signal is pending
    /// (see the module notes).
    pub fn outcome(&self, slot: u32, blocks_in: Option<usize>, limit: Duration) -> io::Result<Outcome> {
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            if let Some(r) = self.poll(slot) {
                return Ok(Outcome::Done(Box::new(r)));
            }
            let mb = self.ctl.mailbox(slot);
            let tid = mb.host_tid.load(Ordering::SeqCst);
            // SAFETY: a read of the operation we posted; nobody writes it meanwhile.
            let posted_op = unsafe { *mb.op.get() };
            let execing = matches!(posted_op, AgentOp::Execve);
            let ending = posted_op.ends_task();
            let state = match task_state(tid) {
                // An exec from a non-leader thread that stopped on its way out (a group stop
                // signal the exec's de_thread retargeted to it) is stopped under the
                // leader's pid.
                TaskState::Gone if execing && exec_stopped(mb) => TaskState::Stopped,
                s => s,
            };
            match state {
                // An exec from a non-leader thread takes the leader's pid: the old tid
                // vanishes before the new image answers.
                TaskState::Gone if execing && start.elapsed() < limit => {}
                TaskState::Gone => {
                    // It may have finished just before going (an exec'd image that replied).
                    return Ok(self.poll(slot).map_or(Outcome::Gone, |r| Outcome::Done(Box::new(r))));
                }
                // Ending: a pid namespace's init sleeps inside exit until every other task of
                // its namespace has been reaped (zap_pid_ns_processes); other sleeps inside
                // exit (a namespace's teardown waiting for RCU) are still in flight. The
                // function alone says so when `/proc/TID/syscall` cannot be read (an ordinary
                // user may not read it once the exiting task has let go of its memory).
                TaskState::Sleeping(Some(nr::EXIT | nr::EXIT_GROUP) | None)
                    if ending && waits_for_its_namespace(tid) =>
                {
                    return Ok(Outcome::Gone);
                }
                // A task that stopped itself (`kill 0 SIGSTOP`, a pidfd of its own group): the
                // call returned, and the stop came on the way back to user space, before the
                // agent could answer.
                TaskState::Stopped
                    if matches!(
                        posted_op,
                        AgentOp::Kill { .. } | AgentOp::Tgkill { .. } | AgentOp::PidfdSendSignal { .. }
                    ) =>
                {
                    return Ok(Outcome::Done(Box::default()));
                }
                // Stopped inside the call (a clone that found a stop signal pending, a wait
                // or a vfork parent that joined a group stop): it goes on after SIGCONT.
                TaskState::Stopped => {
                    if let Some(r) = self.poll(slot) {
                        return Ok(Outcome::Done(Box::new(r)));
                    }
                    return Ok(Outcome::Stopped);
                }
                // A vfork parent sleeps in kernel_clone (wait_for_vfork_done is inlined there);
                // a sleep elsewhere in the call is part of creating the child.
                // A poll stopped and continued is made again through its restart block
                // (-ERESTART_RESTARTBLOCK): it sleeps in restart_syscall.
                TaskState::Sleeping(nr)
                    if blocks_in.is_some()
                        && (nr == blocks_in
                            || (nr == Some(nr::RESTART_SYSCALL) && blocks_in == Some(nr::POLL)))
                        && (!posted_op.blocks_in_vfork() || sleeps_in(tid, "kernel_clone")) =>
                {
                    // Re-check the reply: a wake-up between the two reads shows as running.
                    if let Some(r) = self.poll(slot) {
                        return Ok(Outcome::Done(Box::new(r)));
                    }
                    return Ok(Outcome::Blocked);
                }
                _ => {}
            }
            interrupted()?;
            if start.elapsed() > limit {
                return Err(io::Errno::TIMEDOUT);
            }
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::sleep(Duration::from_micros(20));
            }
        }
    }

    /// Waits until nothing is in flight: every task serving a mailbox (and the namespace
    /// init) is asleep, stopped or dead, so that the effects of the last operation (a
    /// signal on its way, a parent being woken by a child's exit) have all landed.
    /// `Err(TIMEDOUT)` if some task keeps running past `limit`; `Err(INTR)` once a termination
    /// signal is pending (see the module notes).
    pub fn settle(&self, limit: Duration) -> io::Result<()> {
        let start = Instant::now();
        // Since when a namespace init has been seen waiting for the rest of its namespace.
        let mut zap_since: Option<Instant> = None;
        // The tasks' states as last seen, and since when they have not changed.
        let mut seen: Vec<Option<char>> = Vec::new();
        let mut quiet_since = Instant::now();
        loop {
            let now: Vec<Option<char>> =
                (0..MAILBOXES as u32).map(|s| self.tid(s).and_then(proc_state)).collect();
            if now != seen {
                seen = now;
                quiet_since = Instant::now();
            }
            let mut zapping = false;
            let busy = (0..MAILBOXES as u32).filter_map(|s| self.tid(s)).any(|tid| match task_state(tid) {
                TaskState::Running => true,
                // Dead but not yet released: its pid is still allocated.
                TaskState::Gone => proc_state(tid).is_some_and(|c| matches!(c, 'X' | 'x')),
                // Inside exit (its own exit call, or a fatal signal taken on the way back from
                // another call, which /proc/TID/syscall still shows): done only when it waits
                // for the rest of its pid namespace.
                TaskState::Sleeping(call)
                    if matches!(call, Some(nr::EXIT | nr::EXIT_GROUP)) || exiting(tid) =>
                {
                    let waits = waits_for_its_namespace(tid);
                    zapping |= waits;
                    !waits
                }
                _ => false,
            });
            // An init in zap_pid_ns_processes may wait for good (a zombie of its namespace
            // whose parent is outside has to be reaped first) or for a moment: a task that
            // has left /proc still holds its pid until release_task frees it, and then wakes
            // the init. Only a wait that lasts is taken as settled.
            // A task that leaves /proc (release_task unhashes it) wakes its group leader's
            // parent a few microseconds later, in the same locked section: settled also means
            // that no state has changed for a while.
            let settled = !busy
                && quiet_since.elapsed() >= QUIET
                && (!zapping || zap_since.get_or_insert_with(Instant::now).elapsed() >= ZAP_WAIT_SETTLED);
            if !zapping {
                zap_since = None;
            }
            if settled {
                return Ok(());
            }
            interrupted()?;
            if start.elapsed() > limit {
                return Err(io::Errno::TIMEDOUT);
            }
            std::thread::sleep(Duration::from_micros(20));
        }
    }

    /// Posts `op` to `slot` and returns its outcome once everything has settled: a step
    /// that slept only because an effect had not landed yet (a `wait4` racing a `SIGKILL`)
    /// is then found done.
    pub fn run(&self, slot: u32, op: &AgentOp, limit: Duration) -> io::Result<Outcome> {
        self.post(slot, op);
        let first = self.outcome(slot, op.blocks_in(), limit)?;
        self.settle(limit)?;
        Ok(match first {
            Outcome::Blocked | Outcome::Stopped => self.outcome(slot, op.blocks_in(), limit)?,
            other => other,
        })
    }

    /// The pids of mailbox `slot`'s task in each pid namespace, outermost first (`NSpid:`).
    pub fn nspids(&self, slot: u32) -> Vec<i32> {
        let Some(tid) = self.tid(slot) else { return Vec::new() };
        nspids_of(tid)
    }

    /// The count of signals handled in `slot`'s task (the counting handler).
    pub fn handled(&self, slot: u32) -> u64 {
        self.ctl.mailbox(slot).handled.load(Ordering::SeqCst)
    }

    /// Without a namespace of their own: reaps every task that has ended and come back to
    /// us (the first task and orphans handed to us as subreaper), as an init does. (In a
    /// namespace, its init does that.)
    pub fn reap(&self) {
        if self.isolated() {
            self.post(INIT_SLOT, &AgentOp::ReapAll);
            let _ = self.outcome(INIT_SLOT, None, Duration::from_secs(5));
            return;
        }
        while let Ok(Some(_)) = clonekit_raw::wait4(-1, clonekit_raw::WALL | clonekit_raw::WNOHANG) {}
    }

    /// How mailbox `slot`'s task ended, as a wait status: while it is a zombie, from
    /// `/proc/TID/stat`'s exit_code; once something reaped it (its parent may have been
    /// waiting), from its pidfd (`PIDFD_INFO_EXIT`, Linux 6.15). `None` while it lives, or if
    /// neither tells.
    pub fn exit_status(&self, slot: u32) -> Option<i32> {
        let tid = self.tid(slot)?;
        let start = Instant::now();
        while let Some(stat) = proc_stat(tid) {
            let fields: Vec<&str> = stat.split_whitespace().collect();
            // After the comm: field 3 (state) is index 0, field 52 (exit_code) index 49.
            match fields.first().copied() {
                Some("Z") => return fields.get(49)?.parse().ok(),
                // Being reaped: the pidfd has the status once it is released.
                Some("X" | "x") if start.elapsed() < Duration::from_millis(100) => {
                    std::thread::sleep(Duration::from_micros(20));
                }
                _ => return None,
            }
        }
        let pidfds = self.pidfds();
        match pidfds.get(slot as usize)? {
            Some((watched, fd)) if *watched == tid => {
                crate::observe::pidfd_exit_status(rustix::fd::AsFd::as_fd(fd)).ok().flatten()
            }
            _ => None,
        }
    }

    /// Ends every task: in a namespace, by killing its init (the kernel then kills every
    /// task in it, and the init is reapable only once they are all gone); otherwise by
    /// killing every task still serving a mailbox and reaping what comes back to us.
    pub fn shutdown(&mut self) {
        if let Some(init) = self.init.take() {
            let _ = clonekit_raw::kill(init, 9);
            let _ = clonekit_raw::wait4(init, clonekit_raw::WALL);
            for slot in 0..MAILBOXES as u32 {
                self.release(slot);
            }
            return;
        }
        for slot in 0..MAX_TASKS as u32 {
            if let Some(tid) = self.tid(slot) {
                if !matches!(task_state(tid), TaskState::Gone) {
                    let _ = clonekit_raw::kill(tid, 9);
                }
                self.release(slot);
            }
        }
        if let Some(pid) = self.first.take() {
            // The whole process group of the first task: every task it created that is still
            // in it.
            let _ = clonekit_raw::kill(-pid, 9);
            let _ = clonekit_raw::kill(pid, 9);
        }
        // Everything killed either was our child or is re-parented to us (subreaper): reap
        // until nothing is left, waiting for the killed ones to die.
        let start = Instant::now();
        loop {
            match clonekit_raw::wait4(-1, clonekit_raw::WALL | clonekit_raw::WNOHANG) {
                Ok(Some(_)) => continue,
                Ok(None) if start.elapsed() < Duration::from_secs(5) => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                _ => break,
            }
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let subreaper = !self.isolated();
        self.shutdown();
        if subreaper {
            // SAFETY: prctl with integer arguments.
            let _ = unsafe {
                clonekit_raw::syscall4(
                    clonekit_raw::nr::PRCTL,
                    clonekit_flags::PR_SET_CHILD_SUBREAPER as usize,
                    0,
                    0,
                    0,
                )
            };
        }
        // SAFETY: the mapping is ours; the agents map their own.
        let _ = unsafe { rustix::mm::munmap(self.ctl.region.cast(), region_len()) };
    }
}

/// `Err(INTR)` once a termination signal is pending for the coordinator: its waits end there
/// (see the module notes).
fn interrupted() -> io::Result<()> {
    match crate::observe::termination_pending() {
        Some(_) => Err(io::Errno::INTR),
        None => Ok(()),
    }
}

/// A task's scheduling state, from `/proc/TID/stat` and `/proc/TID/syscall`.
#[derive(Debug, PartialEq, Eq)]
enum TaskState {
    Gone,
    /// Asleep, inside this system call (if it could be read).
    Sleeping(Option<usize>),
    /// Stopped by a signal or a tracer.
    Stopped,
    Running,
}

/// Whether the task of `mb`, which execs from a non-leader thread, is stopped under its thread
/// group's id (the pid it takes) before its new image has answered.
fn exec_stopped(mb: &Mailbox) -> bool {
    let tgid = mb.host_tgid.load(Ordering::SeqCst);
    tgid > 0 && tgid != mb.host_tid.load(Ordering::SeqCst) && task_state(tgid) == TaskState::Stopped
}

fn task_state(tid: i32) -> TaskState {
    if tid <= 0 {
        return TaskState::Gone;
    }
    let Some(state) = proc_state(tid) else {
        return TaskState::Gone;
    };
    match state {
        'Z' | 'X' | 'x' => TaskState::Gone,
        'T' | 't' => TaskState::Stopped,
        'S' | 'D' | 'I' => {
            let nr = std::fs::read_to_string(format!("/proc/{tid}/syscall"))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<usize>().ok()));
            TaskState::Sleeping(nr)
        }
        _ => TaskState::Running,
    }
}

/// Whether the task is inside `do_exit`: `PF_EXITING` in the flags of `/proc/TID/stat`
/// (readable by anyone, unlike `/proc/TID/syscall`).
fn exiting(tid: i32) -> bool {
    proc_stat(tid)
        .and_then(|rest| rest.split_whitespace().nth(6).and_then(|f| f.parse::<u64>().ok()))
        .is_some_and(|flags| flags & u64::from(clonekit_flags::PF_EXITING) != 0)
}

/// Whether the task is a pid namespace's init whose exit waits for the rest of its namespace
/// (`/proc/TID/wchan`): in `zap_pid_ns_processes` itself, until every other task of the
/// namespace is reaped, or, before that, in the `kernel_wait4` loop there (`do_wait`,
/// exiting), until its own children are: a child traced by a task outside, dead, is its
/// tracer's to see first.
fn waits_for_its_namespace(tid: i32) -> bool {
    sleeps_in(tid, "zap_pid_ns_processes") || (sleeps_in(tid, "do_wait") && exiting(tid))
}

/// Whether `tid` sleeps in the kernel function `function` (`/proc/TID/wchan`).
fn sleeps_in(tid: i32, function: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{tid}/wchan")).is_ok_and(|w| w.trim() == function)
}

/// How long the tasks' states must stay unchanged for [`Fleet::settle`].
const QUIET: Duration = Duration::from_micros(300);

/// How long a namespace init must stay in `zap_pid_ns_processes` before [`Fleet::settle`]
/// takes it as waiting for good.
const ZAP_WAIT_SETTLED: Duration = Duration::from_millis(10);

/// `/proc/TID/stat` after the command name: the state letter, then the other fields.
fn proc_stat(tid: i32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{tid}/stat")).ok()?;
    stat.rsplit_once(") ").map(|(_, rest)| rest.to_string())
}

/// The one-letter state of `/proc/TID/stat` (`R`, `S`, `Z`, `X`…), if the task is still
/// there.
pub fn proc_state(tid: i32) -> Option<char> {
    proc_stat(tid)?.chars().next()
}

/// The pids of task `tid` in each pid namespace, outermost first (`NSpid:` of
/// `/proc/TID/status`); empty if it is gone.
pub fn nspids_of(tid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("NSpid:"))
                .map(|l| l.split_whitespace().skip(1).filter_map(|n| n.parse().ok()).collect())
        })
        .unwrap_or_default()
}

/// If this program was started as an agent (by an `execve` operation: its first argument
/// is [`AGENT_ARG`], its second the mailbox), serves that mailbox and never returns.
/// Programs that run kernel scenarios call this first thing in `main`.
pub fn enter_if_agent() {
    let mut args = std::env::args_os();
    let _ = args.next();
    if args.next().as_deref() != Some(std::ffi::OsStr::new(AGENT_ARG)) {
        return;
    }
    let mut number = || args.next().and_then(|s| s.to_str().and_then(|s| s.parse::<u32>().ok()));
    let (Some(slot), Some(ignored)) = (number(), number()) else {
        eprintln!("{AGENT_ARG}: expected a mailbox number and a mask of what to put back");
        std::process::exit(2);
    };
    match Control::map(CONTROL_FD) {
        Ok(ctl) => {
            let ctl: &'static Control = Box::leak(Box::new(ctl));
            task::resume_after_exec(ctl, slot, ignored)
        }
        Err(e) => {
            eprintln!("{AGENT_ARG}: cannot map the control region at fd {CONTROL_FD}: {e}");
            std::process::exit(2);
        }
    }
}

/// The program an `execve` operation runs: this very program.
pub(crate) const SELF_EXE: &CStr = c"/proc/thread-self/exe";
