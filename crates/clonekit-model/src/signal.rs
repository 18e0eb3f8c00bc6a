//! Signals (kernel/signal.c): the handler table (`sighand_struct`, shared by
//! `CLONE_SIGHAND`), the thread group (`signal_struct`, shared by `CLONE_THREAD`), per-task
//! blocked masks, sending (`send_signal_locked`, `complete_signal`), delivery (`get_signal`)
//! and the system calls `rt_sigaction`, `rt_sigprocmask`, `kill`, `tgkill`, `sigaltstack`.
//!
//! Delivery happens as the target returns to user space, which in the model is at once for a
//! running task. A task asleep in `wait4` or `FUTEX_WAIT` runs its handler and makes the call
//! again (handlers are installed with `SA_RESTART`): a wait looks at the children again, a
//! futex wait whose word changed meanwhile returns `EAGAIN`; a vfork parent sleeps `TASK_KILLABLE`, so
//! only a fatal signal reaches it before the child releases it.

use std::fmt;
use std::rc::Rc;

use clonekit_flags::{Errno, Signal};

use crate::pid::{Pid, PidType};
use crate::ptrace::PT_SEIZED;
use crate::sched::{Block, Continuing, Kernel, Resumed, Syscall, TaskId, TaskState};

/// A set of signals (`sigset_t`): bit `n - 1` for signal `n`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SigSet(pub u64);

impl SigSet {
    /// The empty set.
    pub const EMPTY: SigSet = SigSet(0);

    fn bit(sig: u32) -> u64 {
        if (1..=64).contains(&sig) {
            1u64 << (sig - 1)
        } else {
            0
        }
    }

    /// Whether `sig` is in the set.
    pub fn has(self, sig: u32) -> bool {
        self.0 & Self::bit(sig) != 0
    }

    /// The set with `sig` added.
    pub fn with(self, sig: u32) -> SigSet {
        SigSet(self.0 | Self::bit(sig))
    }

    /// The signals in the set, ascending.
    pub fn signals(self) -> impl Iterator<Item = u32> {
        (1..=64u32).filter(move |&s| self.has(s))
    }
}

impl fmt::Display for SigSet {
    /// strace's spelling: `[SIGUSR1 SIGCHLD]`, `[]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.signals().filter_map(Signal::new).map(|s| s.to_string()).collect();
        write!(f, "[{}]", names.join(" "))
    }
}

/// `SIGKILL` and `SIGSTOP`: never caught, blocked or ignored (`sig_kernel_only`).
const KERNEL_ONLY: SigSet = SigSet((1 << 8) | (1 << 18));

/// `SIGKILL`.
pub(crate) const SIGKILL: u32 = Signal::SIGKILL.number();

use clonekit_flags::{sig_kernel_coredump, sig_kernel_ignore, sig_kernel_only, sig_kernel_stop};

pub use clonekit_flags::Disposition;

/// `struct sighand_struct`: the action of every signal.
#[derive(Debug, Clone)]
pub struct SighandStruct {
    /// `action[sig - 1]`.
    pub action: [Disposition; 64],
}

impl Default for SighandStruct {
    fn default() -> Self {
        SighandStruct { action: [Disposition::Default; 64] }
    }
}

impl SighandStruct {
    /// The disposition of `sig`.
    pub fn get(&self, sig: u32) -> Disposition {
        self.action.get(sig as usize - 1).copied().unwrap_or_default()
    }

    /// `flush_signal_handlers(t, force_default = 0)` (kernel/signal.c): every handler becomes
    /// `SIG_DFL`; `SIG_IGN` stays.
    pub fn flush_signal_handlers(&mut self) {
        for a in &mut self.action {
            if *a == Disposition::Handler {
                *a = Disposition::Default;
            }
        }
    }
}

/// Resource limits, as `getrlimit` reports them (soft, hard).
pub type Rlimit = (u64, u64);

/// `struct signal_struct`: what the threads of one thread group share.
#[derive(Debug, Clone)]
pub struct SignalStruct {
    /// `thread_head`: the group's threads, in creation order.
    pub(crate) threads: Vec<TaskId>,
    /// `live`: threads that have not started exiting.
    pub(crate) live: u32,
    /// `quick_threads`: threads that have not reached `synchronize_group_exit`.
    pub(crate) quick_threads: u32,
    /// `SIGNAL_GROUP_EXIT`.
    pub(crate) group_exit: bool,
    /// `group_exit_code`: the status of a group exit.
    pub(crate) group_exit_code: i32,
    /// `shared_pending`: signals sent to the whole group.
    pub(crate) shared_pending: Vec<u32>,
    /// `rlim`.
    pub rlimits: [Rlimit; 16],
    /// `is_child_subreaper` (`PR_SET_CHILD_SUBREAPER`).
    pub(crate) is_child_subreaper: bool,
    /// `has_child_subreaper`: an ancestor is a subreaper.
    pub(crate) has_child_subreaper: bool,
    /// `SIGNAL_UNKILLABLE`: the group is a pid namespace's init.
    pub(crate) unkillable: bool,
    /// `autoreap`: the process was made with `CLONE_AUTOREAP` (Linux 7.1): at its exit it
    /// reaps itself, whoever its parent is then.
    pub(crate) autoreap: bool,
    /// The process group (`PIDTYPE_PGID`: the pid of its leader, inherited by fork).
    pub(crate) pgrp: Rc<Pid>,
    /// The session (`PIDTYPE_SID`: the pid of its leader, inherited by fork).
    pub(crate) session: Rc<Pid>,
    /// `signal->leader`: the group leads its session (`setsid`; not inherited).
    pub(crate) leader: bool,
    /// When the group joined its process group (`attach_pid`/`change_pid` put it at the
    /// head of the pid's list).
    pub(crate) pgrp_seq: u64,
    /// `SIGNAL_STOP_STOPPED` with the stop signal still to report (`group_exit_code`).
    pub(crate) stopped: Option<u32>,
    /// The group is stopped (`SIGNAL_STOP_STOPPED`).
    pub(crate) is_stopped: bool,
    /// `SIGNAL_STOP_CONTINUED`, not yet reported.
    pub(crate) continued: bool,
    /// `group_stop_count`: threads that have yet to take part in the group stop under way.
    pub(crate) group_stop_count: u32,
    /// The signal of the group stop under way (`group_exit_code` until it is reported).
    pub(crate) stop_sig: u32,
}

impl SignalStruct {
    /// `signal->flags = SIGNAL_GROUP_EXIT` (do_group_exit, complete_signal): a stop or a
    /// continue not yet reported is lost.
    pub(crate) fn clear_stop_flags(&mut self) {
        self.is_stopped = false;
        self.stopped = None;
        self.continued = false;
    }

    /// A new thread group with default limits.
    pub(crate) fn new(pgrp: Rc<Pid>, session: Rc<Pid>) -> SignalStruct {
        const INF: u64 = u64::MAX;
        let mut rlimits = [(INF, INF); 16];
        rlimits[7] = (1024, 1_048_576); // RLIMIT_NOFILE
        rlimits[3] = (8 << 20, INF); // RLIMIT_STACK
        rlimits[4] = (0, INF); // RLIMIT_CORE
        SignalStruct {
            threads: Vec::new(),
            live: 0,
            quick_threads: 0,
            group_exit: false,
            group_exit_code: 0,
            shared_pending: Vec::new(),
            rlimits,
            is_child_subreaper: false,
            has_child_subreaper: false,
            unkillable: false,
            autoreap: false,
            pgrp,
            session,
            leader: false,
            pgrp_seq: 0,
            stopped: None,
            is_stopped: false,
            continued: false,
            group_stop_count: 0,
            stop_sig: 0,
        }
    }
}

/// `sas_ss_sp`/`sas_ss_size`: the alternate signal stack, or none (`SS_DISABLE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SigAltStack {
    /// Whether one is installed.
    pub on: bool,
}

/// `rt_sigprocmask`'s `how`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigprocmaskHow {
    /// `SIG_BLOCK`.
    Block,
    /// `SIG_UNBLOCK`.
    Unblock,
    /// `SIG_SETMASK`.
    SetMask,
}

fn queue(pending: &mut Vec<u32>, sig: u32) {
    // legacy_queue: a non-realtime signal already pending is not queued twice.
    if sig < 32 && pending.contains(&sig) {
        return;
    }
    pending.push(sig);
}

fn flush(pending: &mut Vec<u32>, mask: impl Fn(u32) -> bool) {
    pending.retain(|&s| !mask(s));
}

/// `SYNCHRONOUS_MASK`: SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE and SIGSYS, dequeued before
/// the others.
const SYNCHRONOUS_MASK: SigSet = {
    let mut bits = 0u64;
    let sync =
        [Signal::SIGSEGV, Signal::SIGBUS, Signal::SIGILL, Signal::SIGTRAP, Signal::SIGFPE, Signal::SIGSYS];
    let mut i = 0;
    while i < sync.len() {
        bits |= 1 << (sync[i].number() - 1);
        i += 1;
    }
    SigSet(bits)
};

/// `next_signal` (kernel/signal.c): the pending signal not blocked to dequeue first: the
/// lowest synchronous one if there is one, else the lowest.
fn next_signal(pending: &[u32], blocked: SigSet) -> Option<u32> {
    let ready = pending.iter().copied().filter(|&s| !blocked.has(s));
    let sync = ready.clone().filter(|&s| SYNCHRONOUS_MASK.has(s)).min();
    sync.or_else(|| ready.min())
}

/// The part of a `siginfo_t` a caller passes to `pidfd_send_signal` (or `rt_sigqueueinfo`)
/// that the kernel checks: `si_signo` and `si_code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSiginfo {
    /// `si_signo`: must be the signal sent (`EINVAL` otherwise).
    pub signo: u32,
    /// `si_code`: `SI_USER` (0) and other values >= 0, and `SI_TKILL`, may only be sent to
    /// the caller itself.
    pub code: i32,
}

impl Kernel {
    /// `sig_ignored` (kernel/signal.c): whether sending `sig` to `t` can be dropped at once.
    fn sig_ignored(&self, t: TaskId, sig: u32, force: bool) -> bool {
        let task = self.t(t);
        if task.blocked.has(sig) {
            return false;
        }
        // A tracer may want to know of a signal even if it is ignored (SIGKILL aside, which
        // it is never told of).
        if task.ptrace != 0 && sig != SIGKILL {
            return false;
        }
        let handler = task.sighand.borrow().get(sig);
        // sig_task_ignored: an init ignores default-action signals it has no handler for,
        // unless they come from an ancestor namespace (SIGKILL, SIGSTOP).
        if task.signal.borrow().unkillable
            && handler == Disposition::Default
            && !(force && sig_kernel_only(sig))
        {
            return true;
        }
        handler == Disposition::Ignore || (handler == Disposition::Default && sig_kernel_ignore(sig))
    }

    /// `prepare_signal` (kernel/signal.c): stop/continue side effects; false to drop `sig`.
    fn prepare_signal(&mut self, sig: u32, p: TaskId, force: bool) -> bool {
        let signal = self.t(p).signal.clone();
        if signal.borrow().group_exit {
            // The group is dying: drop the signal.
            return false;
        }
        let threads = signal.borrow().threads.clone();
        if sig_kernel_stop(sig) {
            // A stop signal flushes SIGCONT.
            flush(&mut signal.borrow_mut().shared_pending, |s| s == 18);
            for &t in &threads {
                flush(&mut self.tm(t).pending, |s| s == 18);
            }
        } else if sig == 18 {
            // SIGCONT flushes stop signals, ends the group stop (done or under way) and wakes
            // the stopped threads.
            flush(&mut signal.borrow_mut().shared_pending, sig_kernel_stop);
            for &t in &threads {
                flush(&mut self.tm(t).pending, sig_kernel_stop);
            }
            let mut woken = Vec::new();
            let mut notified = Vec::new();
            for &t in &threads {
                let task = self.tm(t);
                // task_clear_jobctl_pending(JOBCTL_STOP_PENDING): CONSUME and DEQUEUED too.
                task.stop_pending = false;
                task.jobctl.stop_consume = false;
                task.jobctl.stop_dequeued = false;
                if task.ptrace & PT_SEIZED == 0 {
                    // wake_up_state(t, __TASK_STOPPED): a task in a ptrace stop stays there.
                    if task.stopped {
                        task.stopped = false;
                        woken.push(t);
                    }
                } else if !task.exiting {
                    // ptrace_trap_notify: a seized tracee traps to tell its tracer.
                    task.jobctl.trap_notify = true;
                    notified.push(t);
                }
            }
            let notify = {
                let mut s = signal.borrow_mut();
                // CLD_CONTINUED after a finished stop; CLD_STOPPED for one still under way
                // (its stopped threads are told to report it as they wake).
                let why = s.is_stopped || s.group_stop_count > 0;
                if why {
                    s.is_stopped = false;
                    s.stopped = None;
                    s.continued = true;
                    s.group_stop_count = 0;
                    s.stop_sig = 0;
                }
                why
            };
            // The woken threads run (and one of them tells the parent) after the signal is
            // sent: get_signal in the woken thread, not the sender, does it.
            if notify {
                let leader = self.t(p).group_leader;
                self.continuing.push(Continuing::Notify(leader));
            }
            self.continuing.extend(woken.into_iter().map(Continuing::Thread));
            self.continuing.extend(notified.into_iter().map(Continuing::Trap));
        }
        !self.sig_ignored(p, sig, force)
    }

    /// `wants_signal` (kernel/signal.c): not a thread that blocks it or is exiting; SIGKILL
    /// always; not a stopped one; and `task_curr(p) || !task_sigpending(p)`: a sleeping
    /// thread that already has a signal to take (a vfork parent holding a handled signal
    /// until it is released) is not picked, so a fatal signal sent to it then stays pending
    /// instead of killing its group at once.
    fn wants_signal(&self, sig: u32, p: TaskId) -> bool {
        let t = self.t(p);
        if t.blocked.has(sig) || t.exiting {
            return false;
        }
        if sig == 9 {
            return true;
        }
        // task_is_stopped_or_traced.
        if t.frozen() {
            return false;
        }
        // TIF_SIGPENDING from before this signal: a sleeper already picked for another one
        // (or owing a part in a group stop) that it could not take yet.
        let asleep = t.state == TaskState::Blocked;
        !(asleep && t.sigpending)
    }

    /// `send_signal_locked` + `complete_signal` (kernel/signal.c): queue `sig` for `p` (for
    /// its whole group if `group`), then pick a thread to take it, or kill the group at once
    /// for a fatal signal. `sender` is the sending task, `None` for the kernel.
    pub(crate) fn send_signal(&mut self, sender: Option<TaskId>, sig: u32, p: TaskId, group: bool) {
        self.send_signal_locked(sender, sig, p, group);
        // What a SIGCONT woke runs now: the first woken thread tells the parent and goes on
        // in get_signal (a fatal signal held during the stop kills the group there); the
        // parent's waits look after that, from another CPU.
        let continuing = std::mem::take(&mut self.continuing);
        if continuing.is_empty() {
            return;
        }
        for c in continuing {
            match c {
                Continuing::Notify(leader) if self.task(leader).is_some() => {
                    self.notify_parent_cldstop(leader);
                    // The leader's tracer is told too, unless it is the real parent's group.
                    if self.ptrace_reparented(leader) {
                        self.notify_tracer_cldstop(leader);
                    }
                }
                Continuing::Thread(t) if self.task(t).is_some() => self.continue_stopped(t),
                Continuing::Trap(t) if self.task(t).is_some() => self.deliver_pending(t),
                _ => {}
            }
        }
        self.wake_waiters();
    }

    fn send_signal_locked(&mut self, sender: Option<TaskId>, sig: u32, p: TaskId, group: bool) {
        let Some(target) = self.task(p) else { return };
        let live_group = group && target.signal.borrow().live > 0;
        if target.state == TaskState::Dead || (target.state == TaskState::Zombie && !live_group) {
            // A zombie has no one to deliver to; the signal is accepted and dropped. A zombie
            // leader whose threads live on still names its group: a group signal sent through
            // its pid reaches them (the pid's PIDTYPE_TGID link stays with the group).
            return;
        }
        // Forced when sent by the kernel, or from an ancestor pid namespace (the sender has
        // no number in the target's namespace).
        let force = match sender {
            None => true,
            Some(s) => {
                let target_ns = self.t(p).pid.ns().clone();
                self.task(s).is_none_or(|st| st.pid.nr_ns(&target_ns) == 0)
            }
        };
        if !self.prepare_signal(sig, p, force) {
            return;
        }
        let signal = self.t(p).signal.clone();
        if group {
            queue(&mut signal.borrow_mut().shared_pending, sig);
        } else {
            queue(&mut self.tm(p).pending, sig);
        }
        // complete_signal: the target if it wants the signal, else another thread.
        let t = if self.wants_signal(sig, p) {
            p
        } else if !group {
            return;
        } else {
            let threads = signal.borrow().threads.clone();
            match threads.into_iter().find(|&t| self.wants_signal(sig, t)) {
                Some(t) => t,
                None => return,
            }
        };
        if self.kills_group_at_once(p, sig) && !signal.borrow().group_exit {
            // Start a group exit: every thread gets SIGKILL.
            if let Some(later) = self.deferred_kills.as_mut() {
                // Sending to more processes: the group exit is decided now, the threads
                // die once every process has been sent the signal.
                later.push(p);
                let mut s = signal.borrow_mut();
                s.group_exit = true;
                s.group_exit_code = sig as i32;
                s.clear_stop_flags();
                return;
            }
            self.group_kill(p, sig as i32);
            return;
        }
        // signal_wake_up: the picked thread takes it on its way back to user space (at once,
        // unless its sleep is one a signal does not end); while a signal is sent to a whole
        // process group, once every process has been sent it.
        self.tm(t).sigpending = true;
        match self.deferred_deliveries.as_mut() {
            Some(later) => later.push(t),
            None => self.deliver_pending(t),
        }
    }

    /// `recalc_sigpending_tsk` (kernel/signal.c): whether `t` has something to do in
    /// `get_signal` (an unblocked signal of its own or of its group, a group stop to join).
    pub(crate) fn signal_pending(&self, t: TaskId) -> bool {
        let task = self.t(t);
        let blocked = task.blocked;
        task.stop_pending
            || task.pending.iter().any(|&s| !blocked.has(s))
            || task.signal.borrow().shared_pending.iter().any(|&s| !blocked.has(s))
    }

    /// `get_signal` (kernel/signal.c), run for `t` as it returns to user space: takes each
    /// deliverable signal and acts on it. Does nothing for a task that cannot run its
    /// handlers now (stopped, in a ptrace stop, exiting, or a vfork parent's killable sleep).
    /// A traced task traps instead of taking a group stop, and reports every signal but
    /// SIGKILL to its tracer first (a signal-delivery-stop); the rest of the loop runs when
    /// the tracer resumes it ([`Kernel::ptrace_stop_return`]).
    pub(crate) fn deliver_pending(&mut self, t: TaskId) {
        loop {
            let Some(task) = self.task(t) else { return };
            if task.exiting || task.frozen() || matches!(task.state, TaskState::Zombie | TaskState::Dead) {
                return;
            }
            if matches!(task.block, Some((_, Block::Vfork { .. }))) {
                return;
            }
            let traced = task.ptrace != 0;
            // get_signal: a group stop this thread owes a part in comes first; a traced
            // thread takes its part in a trap (do_signal_stop sets JOBCTL_TRAP_STOP).
            if task.stop_pending {
                if !traced {
                    self.participate_group_stop(t, true);
                    return;
                }
                self.tm(t).jobctl.trap_stop = true;
            }
            let task = self.t(t);
            if traced && (task.jobctl.trap_stop || task.jobctl.trap_notify) {
                // do_jobctl_trap: the task stops, or its group is dying.
                self.do_jobctl_trap(t);
                return;
            }
            let blocked = task.blocked;
            let signal = task.signal.clone();
            // dequeue_signal: the thread's own queue first, then the group's (next_signal).
            let own = next_signal(&task.pending, blocked);
            let (sig, shared) = match own {
                Some(s) => {
                    let p = &mut self.tm(t).pending;
                    if let Some(i) = p.iter().position(|&x| x == s) {
                        p.remove(i);
                    }
                    (s, false)
                }
                None => {
                    let mut sp = signal.borrow_mut();
                    let Some(s) = next_signal(&sp.shared_pending, blocked) else {
                        // recalc_sigpending: nothing left to take.
                        drop(sp);
                        self.tm(t).sigpending = false;
                        return;
                    };
                    if let Some(i) = sp.shared_pending.iter().position(|&x| x == s) {
                        sp.shared_pending.remove(i);
                    }
                    (s, true)
                }
            };
            if sig_kernel_stop(sig) {
                self.tm(t).jobctl.stop_dequeued = true;
            }
            let mut racy = false;
            if let Some(r) = self.racing_wake.as_mut() {
                if r.woken == t {
                    r.taken.push(sig);
                }
                if r.merged.as_ref().is_some_and(|(s, g)| *s == sig && Rc::ptr_eq(g, &signal)) {
                    r.merged = None;
                    racy = true;
                }
            }
            if traced && sig != SIGKILL {
                // ptrace_signal: a signal-delivery-stop; the tracer's answer is acted on when
                // it resumes the task (or the group is dying).
                self.ptrace_signal(t, sig, shared);
                return;
            }
            if self.handle_signal(t, sig, racy) {
                return;
            }
        }
    }

    /// The rest of `get_signal`'s loop for the signal `sig` it dequeued (or a tracer gave
    /// back): the handler runs, the signal is ignored, or its default action is taken.
    /// Returns true when the loop is over (the task stopped or its group is dying).
    pub(crate) fn handle_signal(&mut self, t: TaskId, sig: u32, racy: bool) -> bool {
        let signal = self.t(t).signal.clone();
        let handler = self.t(t).sighand.borrow().get(sig);
        match handler {
            Disposition::Ignore => {
                self.restart_sleep(t);
                false
            }
            Disposition::Handler => {
                if racy {
                    // The other side of the race: the copy did not merge but was queued again
                    // after this thread had taken the first, and complete_signal, finding this
                    // thread with a signal pending and off its CPU, gave it to another thread
                    // of the group that takes it (wants_signal): that one's handler runs
                    // instead.
                    let others: Vec<TaskId> =
                        signal.borrow().threads.iter().copied().filter(|&o| o != t).collect();
                    for o in others {
                        if let Some(x) = self.task_mut(o) {
                            if !x.exiting
                                && !x.frozen()
                                && x.state != TaskState::Zombie
                                && !x.blocked.has(sig)
                            {
                                x.handled_maybe += 1;
                            }
                        }
                    }
                }
                let task = self.tm(t);
                task.handled += 1;
                if racy {
                    task.handled_race += 1;
                }
                self.poll_interrupted(t);
                self.futex_restart(t);
                self.wait_again(t);
                false
            }
            Disposition::Default => {
                if sig_kernel_ignore(sig) {
                    self.restart_sleep(t);
                    return false;
                }
                // An init ignores fatal default actions (SIGKILL aside).
                if signal.borrow().unkillable && !sig_kernel_only(sig) {
                    return false;
                }
                if sig_kernel_stop(sig) {
                    // SIGTSTP/SIGTTIN/SIGTTOU to an orphaned process group are discarded
                    // (is_current_pgrp_orphaned): the first task's group is (its parent,
                    // init, is in another session), a group whose parent is in another
                    // group of the session is not.
                    if sig != 19 && self.is_current_pgrp_orphaned(t) {
                        return false;
                    }
                    return self.do_signal_stop(t, sig);
                }
                // do_group_exit(sig), after do_coredump for the coredump signals
                // (WCOREDUMP when a core was written).
                let mut code = sig as i32;
                if sig_kernel_coredump(sig) && self.do_coredump(t) {
                    code |= clonekit_flags::WCOREFLAG;
                }
                self.group_kill(t, code);
                true
            }
        }
    }

    /// `do_signal_stop` (kernel/signal.c), run by `t` as it takes the stop signal `sig`: a
    /// new group stop makes every live thread not yet stopped owe a part in it
    /// (`JOBCTL_STOP_PENDING`), and `t` stops. The others are woken to take part at once
    /// (idle, or in an interruptible sleep, which returns `-ERESTARTSYS` to be made again
    /// at `SIGCONT`); a vfork parent's killable sleep is not woken, so it takes part only
    /// when released, and until then the stop is not complete and the parent is not told.
    /// A traced thread takes its part in a trap instead (`JOBCTL_TRAP_STOP`, a group-stop
    /// its tracer sees), and a seized one is told to trap (`ptrace_trap_notify`). Returns
    /// whether `get_signal`'s loop is over: false for a traced `t`, which traps on the next
    /// pass, and for a stop signal a `SIGCONT` cancelled while its tracer held it
    /// (`JOBCTL_STOP_DEQUEUED` cleared).
    fn do_signal_stop(&mut self, t: TaskId, sig: u32) -> bool {
        let signal = self.t(t).signal.clone();
        if !self.t(t).stop_pending {
            if signal.borrow().group_exit {
                return true;
            }
            if !self.t(t).jobctl.stop_dequeued {
                return false;
            }
            let threads = signal.borrow().threads.clone();
            let mut count = 0;
            for th in threads {
                let task = self.tm(th);
                // task_set_jobctl_pending(signr | JOBCTL_STOP_PENDING | JOBCTL_STOP_CONSUME),
                // for every thread not in TASK_STOPPED (one in a ptrace stop too).
                if !task.exiting && (th == t || !task.stopped) {
                    task.stop_pending = true;
                    task.jobctl.stop_consume = true;
                    task.jobctl.stop_sig = sig;
                    task.sigpending = true;
                    if th != t && task.ptrace & PT_SEIZED != 0 {
                        task.jobctl.trap_notify = true;
                    }
                    count += 1;
                }
            }
            let mut s = signal.borrow_mut();
            s.stop_sig = sig;
            s.group_stop_count = count;
        }
        let traced = self.t(t).ptrace != 0;
        if traced {
            // While traced, the group stop is taken in a STOP trap.
            self.tm(t).jobctl.trap_stop = true;
        } else {
            self.participate_group_stop(t, true);
        }
        let threads = signal.borrow().threads.clone();
        for th in threads {
            let task = self.t(th);
            if th == t || !task.stop_pending || task.exiting || task.ptrace_stop.is_some() {
                // A thread in a ptrace stop takes its part when its tracer resumes it.
                continue;
            }
            let interruptible = matches!(
                (&task.state, &task.block),
                (TaskState::Running, _)
                    | (TaskState::Blocked, Some((_, Block::Wait(_) | Block::Futex | Block::Poll { .. })))
            );
            if !interruptible {
                continue;
            }
            if task.ptrace != 0 {
                self.deliver_pending(th);
            } else {
                self.participate_group_stop(th, true);
            }
        }
        !traced
    }

    /// `task_participate_group_stop` (kernel/signal.c): `t` gives its part in the group stop;
    /// true when that completes a new stop (`SIGNAL_STOP_STOPPED`, the code to report set),
    /// which the caller tells the parent of. A part not counted (`JOBCTL_STOP_CONSUME`
    /// clear, a stop reinstated by `__ptrace_unlink`) completes nothing.
    pub(crate) fn task_participate_group_stop(&mut self, t: TaskId) -> bool {
        let task = self.tm(t);
        if !task.stop_pending {
            return false;
        }
        task.stop_pending = false;
        task.jobctl.stop_dequeued = false;
        if !std::mem::take(&mut task.jobctl.stop_consume) {
            return false;
        }
        let signal = task.signal.clone();
        let mut s = signal.borrow_mut();
        s.group_stop_count = s.group_stop_count.saturating_sub(1);
        if s.group_stop_count == 0 && !s.is_stopped {
            s.is_stopped = true;
            s.stopped = Some(s.stop_sig);
            s.continued = false;
            true
        } else {
            false
        }
    }

    /// `t` takes its part in the group stop (and stops, unless it is exiting); the last part
    /// completes the stop and tells the parent (`CLD_STOPPED`).
    pub(crate) fn participate_group_stop(&mut self, t: TaskId, stop: bool) {
        if !self.t(t).stop_pending {
            return;
        }
        let complete = self.task_participate_group_stop(t);
        if stop {
            self.tm(t).stopped = true;
        }
        if complete {
            let leader = self.t(t).group_leader;
            self.do_notify_parent_cldstop(leader);
        }
    }

    /// `do_notify_parent_cldstop` (kernel/signal.c): SIGCHLD (unless ignored) and a wake-up
    /// for the waiters of the leader's parent.
    pub(crate) fn do_notify_parent_cldstop(&mut self, leader: TaskId) {
        self.notify_parent_cldstop(leader);
        self.wake_waiters();
    }

    /// The SIGCHLD and the wake-up of [`Kernel::do_notify_parent_cldstop`], the waits to look
    /// later.
    pub(crate) fn notify_parent_cldstop(&mut self, leader: TaskId) {
        let parent = self.t(leader).real_parent;
        if self.task(parent).is_none() {
            return;
        }
        let action = self.t(parent).sighand.borrow().get(17);
        if action != Disposition::Ignore {
            self.send_signal(None, 17, parent, true);
        }
        self.wake_up_parent(leader, parent);
    }

    /// `t`, woken from an interruptible sleep by a signal it dequeued and ignored: no handler
    /// ran, so the call is made again (`-ERESTARTSYS`, `-ERESTARTNOHAND` restart the same
    /// call, arch/x86/kernel/signal.c `arch_do_signal_or_restart`), and looks again at what it
    /// sleeps on: a futex wait reads its word, a wait its children, a poll its pidfd.
    fn restart_sleep(&mut self, t: TaskId) {
        self.futex_restart(t);
        self.wait_again(t);
        self.poll_again(t);
    }

    /// `t` continues after a stop: a call that finished meanwhile is reported, and a call the
    /// stop interrupted is made again (a wait looks at the children again, a futex wait
    /// reads its word again, a clone that found the stop signal pending is made now).
    pub(crate) fn continue_stopped(&mut self, t: TaskId) {
        if let Some(r) = self.task_mut(t).and_then(|task| task.stopped_resume.take()) {
            self.resumed.push(r);
        }
        let restart = match self.task(t).and_then(|x| x.block.clone()) {
            Some((seq, Block::Restart { args, set_tid })) => Some((seq, args, set_tid)),
            _ => None,
        };
        if let Some((seq, args, set_tid)) = restart {
            let task = self.tm(t);
            task.block = None;
            task.state = TaskState::Running;
            let r = self.kernel_clone(t, &args, &set_tid);
            let dead = self.task(t).is_none_or(|x| x.exiting);
            if !dead && (!matches!(r, Ok(Syscall::Blocked)) || self.vfork_child(t).is_some()) {
                self.resumed.push((seq, t, Resumed::Clone(r)));
            }
        }
        self.futex_restart(t);
        self.wait_again(t);
        self.poll_again(t);
        self.deliver_pending(t);
    }

    /// `rt_sigaction(sig, act, &old)` (kernel/signal.c `do_sigaction`): sets the disposition
    /// if `act` is given, returns the old one.
    pub fn sys_rt_sigaction(
        &mut self,
        cur: TaskId,
        sig: u32,
        act: Option<Disposition>,
    ) -> Result<Disposition, Errno> {
        self.current(cur)?;
        if !(1..=64).contains(&sig) || (act.is_some() && sig_kernel_only(sig)) {
            return Err(Errno::EINVAL);
        }
        let sighand = self.t(cur).sighand.clone();
        let old = sighand.borrow().get(sig);
        if let Some(new) = act {
            sighand.borrow_mut().action[sig as usize - 1] = new;
            // sig_handler_ignored: discard what is pending, in every thread of the group.
            if new == Disposition::Ignore || (new == Disposition::Default && sig_kernel_ignore(sig)) {
                let signal = self.t(cur).signal.clone();
                flush(&mut signal.borrow_mut().shared_pending, |s| s == sig);
                let threads = signal.borrow().threads.clone();
                for t in threads {
                    flush(&mut self.tm(t).pending, |s| s == sig);
                }
            }
        }
        Ok(old)
    }

    /// `rt_sigprocmask` (kernel/signal.c `sigprocmask`): per task, never shared; SIGKILL and
    /// SIGSTOP cannot be blocked. Returns the old mask; newly unblocked signals are delivered.
    pub fn sys_rt_sigprocmask(
        &mut self,
        cur: TaskId,
        how: SigprocmaskHow,
        set: SigSet,
    ) -> Result<SigSet, Errno> {
        self.current(cur)?;
        let set = SigSet(set.0 & !KERNEL_ONLY.0);
        let t = self.tm(cur);
        let old = t.blocked;
        t.blocked = match how {
            SigprocmaskHow::Block => SigSet(old.0 | set.0),
            SigprocmaskHow::Unblock => SigSet(old.0 & !set.0),
            SigprocmaskHow::SetMask => set,
        };
        self.deliver_pending(cur);
        Ok(old)
    }

    /// `kill(pid, sig)` (kernel/signal.c `kill_something_info`): `pid > 0` a process, `0` the
    /// caller's process group, `-1` every process the caller can see but init and itself,
    /// below -1 the process group `-pid`.
    pub fn sys_kill(&mut self, cur: TaskId, pid: i32, sig: u32) -> Result<(), Errno> {
        self.current(cur)?;
        if sig > 64 {
            return Err(Errno::EINVAL);
        }
        if pid > 0 {
            let p = self.find_task_by_vpid(cur, pid).ok_or(Errno::ESRCH)?;
            self.check_kill_permission(cur, sig, p)?;
            if sig != 0 {
                self.send_signal(Some(cur), sig, p, true);
            }
            return Ok(());
        }
        // -INT_MIN is undefined.
        if pid == i32::MIN {
            return Err(Errno::ESRCH);
        }
        if pid != -1 {
            let pgrp = if pid == 0 {
                Some(self.t(cur).signal.borrow().pgrp.clone())
            } else {
                self.find_vpid(cur, -pid)
            };
            return match pgrp {
                Some(pgrp) => self.kill_pgrp_info(Some(cur), sig, &pgrp),
                None => Err(Errno::ESRCH),
            };
        }
        let ns = self.task_active_pid_ns(cur);
        let my_signal = self.t(cur).signal.clone();
        let mut leaders: Vec<(u64, TaskId)> = self
            .slots
            .iter()
            .filter_map(|s| s.task.as_ref())
            .filter(|t| t.group_leader == t.id)
            .map(|t| (t.serial, t.id))
            .collect();
        leaders.sort();
        let mut count = 0;
        for (_, p) in leaders {
            let Some(t) = self.task(p) else { continue };
            if t.pid.nr_ns(&ns) > 1 && !Rc::ptr_eq(&t.signal, &my_signal) {
                // Only EPERM can stop a send here, and kill(-1) does not report it.
                count += 1;
                if sig != 0 && self.check_kill_permission(cur, sig, p).is_ok() {
                    self.send_signal(Some(cur), sig, p, true);
                }
            }
        }
        if count == 0 {
            return Err(Errno::ESRCH);
        }
        Ok(())
    }

    /// `check_kill_permission` (kernel/signal.c) for a signal from user space (`si_fromuser`):
    /// a thread of the caller's own group, a process whose real or saved uid is the caller's
    /// real or effective uid, or one over whose user namespace the caller has `CAP_KILL`
    /// (`kill_ok_by_cred`); `SIGCONT` also reaches any process of the caller's session.
    /// `EPERM` otherwise, for the null signal too.
    pub(crate) fn check_kill_permission(&self, cur: TaskId, sig: u32, t: TaskId) -> Result<(), Errno> {
        let (me, them) = (self.t(cur), self.t(t));
        if Rc::ptr_eq(&me.signal, &them.signal) {
            return Ok(());
        }
        let (cred, tcred) = (&me.cred, &them.cred);
        let by_cred = cred.euid == tcred.suid
            || cred.euid == tcred.uid
            || cred.uid == tcred.suid
            || cred.uid == tcred.uid
            || cred.ns_capable(&tcred.user_ns, clonekit_flags::CAP_KILL);
        if by_cred {
            return Ok(());
        }
        let same_session = Rc::ptr_eq(&me.signal.borrow().session, &them.signal.borrow().session);
        if sig == clonekit_flags::Signal::SIGCONT.number() && same_session {
            return Ok(());
        }
        Err(Errno::EPERM)
    }

    /// `__kill_pgrp_info` (kernel/signal.c): every process of the group `pgrp`, the last to
    /// join it first (`do_each_pid_task` walks the pid's list from its head); `ESRCH` if it
    /// has none. Every signal is queued before any is acted on, and the sender acts on its own
    /// only on its way back to user space: the sender's own process comes last.
    pub(crate) fn kill_pgrp_info(
        &mut self,
        cur: Option<TaskId>,
        sig: u32,
        pgrp: &Rc<Pid>,
    ) -> Result<(), Errno> {
        let mut members: Vec<(u64, TaskId)> = self
            .pid_tasks(pgrp, crate::pid::PidType::Pgid)
            .into_iter()
            .map(|t| (self.t(t).signal.borrow().pgrp_seq, t))
            .collect();
        let own = cur.and_then(|c| self.task(c)).map(|t| t.signal.clone());
        members.sort_by_key(|&(seq, p)| {
            let mine = own.as_ref().is_some_and(|s| Rc::ptr_eq(s, &self.t(p).signal));
            (mine, std::cmp::Reverse(seq))
        });
        if members.is_empty() {
            return Err(Errno::ESRCH);
        }
        // Under the tasklist lock every process is sent the signal before any dies of it: a
        // death cannot reach a process of the group (a parent-death signal) before its own
        // group exit is decided.
        let outermost = self.deferred_kills.is_none();
        if outermost {
            self.deferred_kills = Some(Vec::new());
        }
        // Nor does any take it (a stop, a handler) before all were sent it: a child that stops
        // and wakes its parent's wait finds the parent with the signal already pending.
        let deliveries_outermost = self.deferred_deliveries.is_none();
        if deliveries_outermost {
            self.deferred_deliveries = Some(Vec::new());
        }
        // A signal from user space reaches the processes it may (check_kill_permission); the
        // call fails only if it reached none, with the error of the last one.
        let mut success = false;
        let mut last = Ok(());
        for (_, p) in members {
            if self.task(p).is_none() {
                continue;
            }
            let allowed = match cur {
                Some(c) if self.task(c).is_some() => self.check_kill_permission(c, sig, p),
                _ => Ok(()),
            };
            success |= allowed.is_ok();
            last = allowed;
            if sig != 0 && allowed.is_ok() {
                self.send_signal(cur, sig, p, true);
            }
        }
        if outermost {
            for p in self.deferred_kills.take().unwrap_or_default() {
                if self.task(p).is_some() {
                    let code = self.t(p).signal.borrow().group_exit_code;
                    self.group_kill(p, code);
                }
            }
        }
        if deliveries_outermost {
            for t in self.deferred_deliveries.take().unwrap_or_default() {
                if self.task(t).is_some() {
                    self.deliver_pending(t);
                }
            }
        }
        if success {
            Ok(())
        } else {
            last
        }
    }

    /// `pidfd_send_signal(pidfd, sig, info, flags)` (kernel/signal.c): `sig` to the thread
    /// group the pidfd names (its thread, for a `PIDFD_THREAD` pidfd), or to the scope one
    /// flag asks for. `info` is the `siginfo_t` the caller passes, `None` for a NULL one.
    pub fn sys_pidfd_send_signal(
        &mut self,
        cur: TaskId,
        pidfd: i32,
        sig: u32,
        info: Option<UserSiginfo>,
        flags: u32,
    ) -> Result<(), Errno> {
        use clonekit_flags::{
            PIDFD_SELF_THREAD, PIDFD_SELF_THREAD_GROUP, PIDFD_SEND_SIGNAL_FLAGS, PIDFD_SIGNAL_PROCESS_GROUP,
            PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_THREAD,
        };
        self.current(cur)?;
        if !clonekit_flags::PIDFD_SEND_SIGNAL_SYSCALL.present_in(self.linux) {
            return Err(Errno::ENOSYS);
        }
        // Flags must be known, and name at most one scope (none before Linux 6.9:
        // clonekit_flags::PIDFD_SIGNAL_SCOPE).
        let known = if clonekit_flags::PIDFD_SIGNAL_SCOPE.present_in(self.linux) {
            PIDFD_SEND_SIGNAL_FLAGS
        } else {
            0
        };
        if flags & !known != 0 || flags.count_ones() > 1 {
            return Err(Errno::EINVAL);
        }
        // PIDFD_SELF_* stand for the caller since Linux 6.15 (clonekit_flags::PIDFD_SELF);
        // before, they are descriptors like any other, which no process has.
        // PIDFD_SELF_THREAD_GROUP was -20000 in 6.15 and 6.16
        // (clonekit_flags::PIDFD_SELF_THREAD_GROUP_VALUE).
        let pidfd_self = clonekit_flags::PIDFD_SELF.present_in(self.linux);
        let self_thread_group = if clonekit_flags::PIDFD_SELF_THREAD_GROUP_VALUE.present_in(self.linux) {
            PIDFD_SELF_THREAD_GROUP
        } else {
            clonekit_flags::PIDFD_SELF_THREAD_GROUP_6_15
        };
        let (pid, mut ty) = match pidfd {
            PIDFD_SELF_THREAD if pidfd_self => (self.t(cur).pid.clone(), PidType::Pid),
            n if n == self_thread_group && pidfd_self => {
                let leader = self.t(cur).group_leader;
                (self.t(leader).pid.clone(), PidType::Tgid)
            }
            _ => {
                let (pid, f_flags) = self.pidfd_pid(cur, pidfd)?;
                if !self.access_pidfd_pidns(cur, &pid) {
                    return Err(Errno::EINVAL);
                }
                // The scope the pidfd was made for.
                (pid, if f_flags & PIDFD_THREAD != 0 { PidType::Pid } else { PidType::Tgid })
            }
        };
        match flags {
            PIDFD_SIGNAL_THREAD => ty = PidType::Pid,
            PIDFD_SIGNAL_THREAD_GROUP => ty = PidType::Tgid,
            PIDFD_SIGNAL_PROCESS_GROUP => ty = PidType::Pgid,
            _ => {}
        }
        self.do_pidfd_send_signal(cur, &pid, sig, ty, info)
    }

    /// `do_pidfd_send_signal` (kernel/signal.c): only the caller itself may be sent a
    /// `siginfo_t` that claims to come from `kill` or `tgkill` (`si_code >= 0` or `SI_TKILL`:
    /// `EPERM` for anyone else, and for a process group).
    fn do_pidfd_send_signal(
        &mut self,
        cur: TaskId,
        pid: &Rc<Pid>,
        sig: u32,
        ty: PidType,
        info: Option<UserSiginfo>,
    ) -> Result<(), Errno> {
        if let Some(UserSiginfo { signo, code }) = info {
            // The siginfo must be of the signal sent.
            if signo != sig {
                return Err(Errno::EINVAL);
            }
            let own = Rc::ptr_eq(&self.t(cur).pid, pid);
            if (!own || ty == PidType::Pgid || ty == PidType::Sid)
                && (code >= 0 || code == clonekit_flags::SI_TKILL)
            {
                return Err(Errno::EPERM);
            }
        }
        if ty == PidType::Pgid {
            let members = self.pid_tasks(pid, PidType::Pgid);
            if members.is_empty() {
                return Err(Errno::ESRCH);
            }
            if sig > 64 {
                return Err(Errno::EINVAL);
            }
            return self.kill_pgrp_info(Some(cur), sig, pid);
        }
        // kill_pid_info_type: the task holding the pid (pid_task(pid, PIDTYPE_PID), even for
        // a thread group's scope: a thread pidfd can signal its whole group), then
        // group_send_sig_info with the scope.
        let p = self.pid_task(pid, PidType::Pid).ok_or(Errno::ESRCH)?;
        if sig > 64 {
            return Err(Errno::EINVAL);
        }
        self.check_kill_permission(cur, sig, p)?;
        if sig != 0 {
            self.send_signal(Some(cur), sig, p, ty != PidType::Pid);
        }
        Ok(())
    }

    /// `access_pidfd_pidns` (kernel/signal.c): the pid lives in the caller's pid namespace or
    /// one below it.
    fn access_pidfd_pidns(&self, cur: TaskId, pid: &Rc<Pid>) -> bool {
        let mine = self.task_active_pid_ns(cur);
        pid.ns().is_descendant_of(&mine)
    }

    /// `tgkill(tgid, tid, sig)` (kernel/signal.c `do_tkill`): one thread, which must belong to
    /// `tgid`.
    pub fn sys_tgkill(&mut self, cur: TaskId, tgid: i32, tid: i32, sig: u32) -> Result<(), Errno> {
        self.current(cur)?;
        if tgid <= 0 || tid <= 0 || sig > 64 {
            return Err(Errno::EINVAL);
        }
        let p = self.find_task_by_vpid(cur, tid).ok_or(Errno::ESRCH)?;
        if self.tgid_vnr(cur, p) != tgid {
            return Err(Errno::ESRCH);
        }
        self.check_kill_permission(cur, sig, p)?;
        if sig != 0 {
            self.send_signal(Some(cur), sig, p, false);
        }
        Ok(())
    }

    /// `sigaltstack` (kernel/signal.c `do_sigaltstack`): `Some(on)` installs a stack
    /// (`SIGSTKSZ` bytes) or disables it; returns whether one was installed before.
    pub fn sys_sigaltstack(&mut self, cur: TaskId, set: Option<bool>) -> Result<bool, Errno> {
        self.current(cur)?;
        let t = self.tm(cur);
        let old = t.sas.on;
        if let Some(on) = set {
            t.sas.on = on;
        }
        Ok(old)
    }

    /// `complete_signal`'s test (kernel/signal.c): whether `sig` sent to `p` starts the exit
    /// of `p`'s group at once, in the sender's call: fatal (default action, terminating
    /// without a core dump) and `p` not traced, whose tracer would see it first (SIGKILL
    /// aside).
    pub fn kills_group_at_once(&self, p: TaskId, sig: u32) -> bool {
        let Some(t) = self.task(p) else { return false };
        let handler = t.sighand.borrow().get(sig);
        !sig_kernel_ignore(sig)
            && !sig_kernel_stop(sig)
            && !sig_kernel_coredump(sig)
            && handler == Disposition::Default
            && (sig == SIGKILL || t.ptrace == 0)
    }

    /// The disposition of `sig` in `id`'s handler table.
    pub fn disposition(&self, id: TaskId, sig: u32) -> Disposition {
        self.task(id).map_or(Disposition::Default, |t| t.sighand.borrow().get(sig))
    }
}
