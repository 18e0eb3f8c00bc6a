//! The event loop: one `wait4(-1, __WALL)` at a time, each stop classified from its raw
//! status (real-time signals included) and answered at once, so no tracee is ever left
//! stopped by us.
//!
//! - seccomp stop (`PTRACE_EVENT_SECCOMP`): a traced call's entry; decode it, resume with
//!   `PTRACE_SYSCALL` to see its exit (or, for a successful clone/exec, the event first).
//! - `PTRACE_EVENT_{FORK,VFORK,CLONE}`: the new tid is the call's result; the line is closed
//!   there and the tracee resumed with `PTRACE_CONT`, which skips the exit stop (one stop
//!   fewer per thread). A new child's first stop may come before this event: an unknown
//!   tid is simply a new task.
//! - `PTRACE_EVENT_EXEC`: the execve succeeded; a former tid different from the reporter
//!   means a non-leader thread exec'd and took the leader's pid.
//! - `PTRACE_EVENT_EXIT`: ` = ?` for the call the task dies in (exit, or a call cut short by
//!   a fatal signal). With the seccomp filter, threads are made without this stop, and
//!   `exit_group` stops at its entry instead (see `crate::groups`).
//! - `PTRACE_EVENT_STOP`: a group-stop (`PTRACE_LISTEN`, so it stays stopped and SIGCONT is
//!   seen), an interrupt, or a new child's first stop.
//! - anything else: a signal, shown and re-injected.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

use clonekit_flags::{ProcessSyscall, SigInfo, SyscallResult};
use clonekit_raw::{self as raw, ptrace, ptrace::SyscallInfo};

use crate::decode::{self, EntryMem};
use crate::groups::{Creating, FlagsAt, Groups, Making};
use crate::mem::Live;
use crate::output::Printer;
use crate::record::Recorder;
use crate::spin::{self, Spin};
use crate::summary::Summary;
use crate::sys;
use crate::tree::Tree;
use crate::Options;

/// The termination signal received, 0 if none (set by the handler).
pub(crate) static INTERRUPTED: AtomicI32 = AtomicI32::new(0);
/// A live tracee to `PTRACE_INTERRUPT` from the handler, so that a blocked `wait4` returns.
pub(crate) static WAKE: AtomicI32 = AtomicI32::new(0);

/// How tracees are resumed between traced calls, and what Ctrl-C does to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Started by us with the seccomp filter installed: `PTRACE_CONT`, stops only on the
    /// traced calls; Ctrl-C kills them.
    Seccomp,
    /// Started by us without our filter, because one was already in place (see
    /// `crate::seccomp::already_filtered`): `PTRACE_SYSCALL`, every call stops and we pick
    /// ours; Ctrl-C kills them.
    Started,
    /// Attached with `-p` (no filter can be added): `PTRACE_SYSCALL`; Ctrl-C detaches.
    Attached,
}

/// How the trace ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every tracee is gone; the first one ended like this (wait status).
    Done(Option<i32>),
    /// A termination signal arrived; we killed what we started, or detached.
    Interrupted(i32),
}

pub(crate) struct Tracer<'a> {
    opts: &'a Options,
    mode: Mode,
    rec: Recorder<'a>,
    started: Instant,
    interrupting: bool,
    /// When to poll for the next stop rather than sleep.
    spin: Spin,
    /// The kind of the stop being answered, for `spin`.
    kind: usize,
    /// Threads are made without `PTRACE_O_TRACEEXIT` (see `crate::seccomp::quiet_threads`),
    /// and `CLONE_UNTRACED` children are traced as shadows.
    quiet: bool,
    /// Every tracee's options, but `PTRACE_O_TRACEEXIT`.
    base: usize,
    groups: Groups,
    /// Every traced task is gone: the shadows left are being let go.
    releasing: bool,
}

impl<'a> Tracer<'a> {
    pub(crate) fn new(
        opts: &'a Options,
        mode: Mode,
        printer: Printer,
        root: i32,
        tids: &[i32],
        program: String,
    ) -> Self {
        WAKE.store(root, Ordering::SeqCst);
        Tracer {
            opts,
            mode,
            rec: Recorder::new(opts, printer, root, tids, program),
            started: Instant::now(),
            interrupting: false,
            spin: Spin::new(),
            kind: spin::OTHER,
            quiet: false,
            base: 0,
            groups: {
                let mut g = Groups::default();
                tids.iter().filter(|&&t| t != root).for_each(|&t| g.attached_thread(t, root));
                g
            },
            releasing: false,
        }
    }

    /// Threads made without `PTRACE_O_TRACEEXIT` (the seccomp filter traps what that needs:
    /// `crate::seccomp::quiet_threads`); `base`: the options every tracee has but that one.
    pub(crate) fn with_quiet_threads(mut self, quiet: bool, base: usize) -> Self {
        self.quiet = quiet;
        self.base = base;
        self
    }

    /// Runs until every tracee is gone.
    pub(crate) fn run(mut self) -> io::Result<(Ending, Tree, Summary, Printer)> {
        loop {
            let sig = INTERRUPTED.load(Ordering::SeqCst);
            if sig != 0 && !self.interrupting {
                self.interrupting = true;
                self.interrupt();
            }
            if self.interrupting && self.mode == Mode::Attached && self.rec.tasks.is_empty() {
                break;
            }
            if !self.releasing && self.rec.tasks.is_empty() && self.groups.parked.is_empty() {
                // What is left are shadows: the program's untraced children, which must not
                // keep the trace going nor die with the tracer (`PTRACE_O_EXITKILL`).
                if self.groups.shadows.is_empty() {
                    break;
                }
                self.releasing = true;
                for &tid in &self.groups.shadows {
                    let _ = ptrace::interrupt(tid);
                }
            }
            let budget = self.spin.budget();
            let polled = if budget.is_zero() { Ok(None) } else { self.poll(budget) };
            let ev = match polled {
                Ok(None) => {
                    self.rec.printer.flush()?;
                    sys::wait_any(false)
                }
                other => other,
            };
            match ev {
                Ok(Some((tid, status))) => {
                    self.spin.arrived();
                    self.kind = spin::OTHER;
                    self.rec.now = self.started.elapsed();
                    self.handle(tid, status);
                    self.spin.answered(self.kind);
                    self.rec.printer.flush_if_full()?;
                }
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ECHILD) => break,
                Err(e) => return Err(e),
            }
        }
        let sig = INTERRUPTED.load(Ordering::SeqCst);
        let ending =
            if self.interrupting { Ending::Interrupted(sig) } else { Ending::Done(self.rec.root_status) };
        let (tree, summary, printer) = self.rec.end();
        Ok((ending, tree, summary, printer))
    }

    /// The next event if one comes within `budget`: asking again without sleeping is much
    /// cheaper than sleeping in `wait4` and being woken when the next stop is microseconds
    /// away (see [`Spin`] for when that is).
    fn poll(&mut self, budget: std::time::Duration) -> io::Result<Option<(i32, i32)>> {
        let start = Instant::now();
        loop {
            match sys::wait_any(true)? {
                Some(ev) => return Ok(Some(ev)),
                None if start.elapsed() >= budget => return Ok(None),
                None => std::hint::spin_loop(),
            }
        }
    }

    /// Ctrl-C and friends: kill what we started (its tracees die with it), or, attached
    /// with `-p`, stop every tracee and detach from it.
    fn interrupt(&mut self) {
        let mut tids: Vec<i32> = self.rec.tasks.keys().copied().collect();
        tids.extend(self.groups.parked.iter().chain(&self.groups.shadows));
        for tid in tids {
            match self.mode {
                Mode::Seccomp | Mode::Started => {
                    let _ = raw::kill(tid, libc::SIGKILL as u32);
                }
                Mode::Attached => {
                    let _ = ptrace::interrupt(tid);
                }
            }
        }
    }

    fn resume(&self, tid: i32, sig: i32) {
        let _ = match self.mode {
            Mode::Seccomp => ptrace::cont(tid, sig),
            Mode::Started | Mode::Attached => ptrace::syscall(tid, sig),
        };
    }

    fn handle(&mut self, tid: i32, status: i32) {
        let st = status as u32;
        if st & 0xff != 0x7f {
            self.kind = spin::DEATH;
            if self.groups.shadows.remove(&tid) {
                return;
            }
            let on_its_own = self.groups.died(tid, status);
            if on_its_own && self.rec.tasks.get(&tid).is_some_and(|t| t.pending.is_none()) {
                self.exited_quietly(tid, status);
            }
            self.rec.gone(tid, status);
            if self.groups.creating.is_empty() && !self.groups.parked.is_empty() {
                // Its creator died before its event: no event will name it. It goes on as
                // a task that stops at its exit.
                let parked: Vec<i32> = self.groups.parked.drain().collect();
                for t in parked {
                    let _ = ptrace::set_options(t, self.base | ptrace::O_TRACEEXIT);
                    self.rec.announce(t);
                    self.resume(t, 0);
                }
            }
            return;
        }
        if self.groups.shadows.contains(&tid) || (self.releasing && !self.rec.tasks.contains_key(&tid)) {
            self.shadow_stop(tid, st);
            return;
        }
        if self.quiet && !self.rec.tasks.contains_key(&tid) {
            // A new task's first stop, before its creator's event: what it is must be known
            // before it runs.
            match self.groups.guess() {
                Some(m) => self.groups.adopt(tid, m),
                None => {
                    self.groups.parked.insert(tid);
                    return;
                }
            }
            if self.groups.shadows.contains(&tid) {
                self.shadow_stop(tid, st);
                return;
            }
        }
        WAKE.store(tid, Ordering::Relaxed);
        let sig = ((st >> 8) & 0xff) as i32;
        let event = st >> 16;
        self.kind = if event != 0 {
            spin::event_kind(event)
        } else if sig == (libc::SIGTRAP | 0x80) {
            spin::OTHER
        } else {
            spin::SIGNAL
        };
        self.rec.announce(tid);
        if self.interrupting && self.mode == Mode::Attached {
            // Let go of it; a pending signal goes back to it.
            let inject = if event == 0 && sig != (libc::SIGTRAP | 0x80) { sig } else { 0 };
            let _ = ptrace::detach(tid, inject);
            self.rec.detached(tid);
            return;
        }
        match event {
            ptrace::EVENT_SECCOMP => match ptrace::syscall_info(tid) {
                Ok(SyscallInfo::Seccomp { nr, args }) => self.on_entry(tid, nr, args),
                _ => self.resume(tid, 0),
            },
            ptrace::EVENT_FORK | ptrace::EVENT_VFORK | ptrace::EVENT_CLONE => self.on_new_task(tid),
            ptrace::EVENT_EXEC => self.on_exec(tid),
            ptrace::EVENT_EXIT => self.on_exit_event(tid),
            ptrace::EVENT_STOP => {
                if clonekit_flags::sig_kernel_stop(sig as u32) {
                    self.rec.stopped(tid, sig);
                    let _ = ptrace::listen(tid);
                } else {
                    self.resume(tid, 0);
                }
            }
            0 if sig == (libc::SIGTRAP | 0x80) => match ptrace::syscall_info(tid) {
                Ok(SyscallInfo::Entry { nr, args }) => self.on_entry(tid, nr, args),
                Ok(SyscallInfo::Exit { rval, is_error }) => self.on_exit(tid, rval, is_error),
                _ => self.resume(tid, 0),
            },
            0 => self.on_signal(tid, sig),
            _ => self.resume(tid, 0),
        }
    }

    // Every handler below reads what it needs from the stopped tracee, resumes it, and only
    // then formats and prints: the tracee runs while its line is written.

    fn on_signal(&mut self, tid: i32, sig: i32) {
        let info = ptrace::siginfo(tid).map(|b| SigInfo::from_bytes(&b)).ok();
        self.resume(tid, sig);
        self.rec.signal(tid, sig, info);
    }

    fn on_entry(&mut self, tid: i32, nr: u64, args: [u64; 6]) {
        self.kind = spin::entry_kind(nr);
        let Some(sc) = ProcessSyscall::from_number(nr) else {
            self.resume(tid, 0);
            return;
        };
        let creates = self.quiet && sc.creates();
        if self.quiet {
            let ends =
                matches!(sc, ProcessSyscall::ExitGroup | ProcessSyscall::Execve | ProcessSyscall::Execveat);
            if ends {
                // Nothing is killed before this call goes on: a thread already exiting
                // leaves on its own, whenever its death is read.
                for t in self.groups.quiet_siblings(tid) {
                    if sys::exiting(self.groups.tgid(tid), t) {
                        self.groups.leaving_on_its_own(t);
                    }
                }
            }
            match sc {
                ProcessSyscall::ExitGroup => {
                    // Its line is whole now; it needs no exit stop.
                    self.groups.exit_group(tid);
                    self.set_exit_event(tid, false);
                }
                ProcessSyscall::Execve | ProcessSyscall::Execveat => self.groups.exec_entered(tid),
                _ => {}
            }
        }
        // `-e trace=`: a call left out is still decoded for the tree, not printed.
        let wanted = self.rec.wants(sc);
        if wanted.is_none() && !creates {
            self.resume(tid, 0);
            return;
        }
        let mem = decode::read_entry(&Live(tid), tid, sc, args, self.opts.string_limit, self.opts.decode_fds);
        if creates {
            self.prepare_creation(tid, sc, &args, &mem);
        }
        // The exit stop (or the clone/exec event before it) gives the result.
        let _ = ptrace::syscall(tid, 0);
        if let Some(shown) = wanted {
            self.rec.entry(tid, sc, args, shown, mem);
            // With quiet threads `exit_group` has no exit stop to end its line (see above).
            if self.quiet && sc == ProcessSyscall::ExitGroup {
                if let Some(p) = self.rec.task(tid).pending.take() {
                    self.rec.no_return(tid, p);
                }
            }
        }
    }

    /// Turns `tid`'s `PTRACE_O_TRACEEXIT` on or off (it is stopped). Whether it now is so.
    fn set_exit_event(&mut self, tid: i32, on: bool) -> bool {
        if self.groups.exit_event(tid) == on {
            return true;
        }
        let options = self.base | if on { ptrace::O_TRACEEXIT } else { 0 };
        let done = ptrace::set_options(tid, options).is_ok();
        if done {
            self.groups.set_exit_event(tid, on);
        }
        done
    }

    /// At a creating call's entry: what it will make. The child inherits its creator's
    /// options: a thread is made without `PTRACE_O_TRACEEXIT`, a process with it, the
    /// creator's own put back at the call's event or exit. A `CLONE_UNTRACED` child would
    /// inherit the seccomp filter without a tracer, and every call the filter traps would
    /// fail with `ENOSYS`: the flag is cleared for the call (and put back after), and the
    /// child traced silently as a shadow.
    fn prepare_creation(&mut self, tid: i32, sc: ProcessSyscall, args: &[u64; 6], mem: &EntryMem) {
        let flags = decode::creating_flags(sc, args, mem);
        let mut c = Creating {
            making: self.groups.making(tid, flags),
            restore_exit_event: None,
            restore_flags: None,
        };
        match c.making {
            Some(m @ (Making::Thread { .. } | Making::Process)) => {
                let had = self.groups.exit_event(tid);
                let want = m == Making::Process;
                if had != want && self.set_exit_event(tid, want) {
                    c.restore_exit_event = Some(had);
                }
                c.making = self.groups.making(tid, flags);
            }
            Some(Making::Shadow) => {
                let untraced = clonekit_flags::CloneFlags::CLONE_UNTRACED.bits();
                if let Some(f) = flags.filter(|f| f & untraced != 0) {
                    let done = match sc {
                        ProcessSyscall::Clone => ptrace::poke_user(tid, ptrace::USER_RDI, f & !untraced)
                            .map(|()| FlagsAt::Register),
                        _ => {
                            ptrace::poke_data(tid, args[0], f & !untraced).map(|()| FlagsAt::Memory(args[0]))
                        }
                    };
                    c.restore_flags = done.ok().map(|at| (at, f));
                }
            }
            None => {}
        }
        self.groups.creating.insert(tid, c);
    }

    /// A creating call of `tid` has returned (its event, or its exit if it failed): the
    /// creator as it was.
    fn creation_done(&mut self, tid: i32) -> Option<Making> {
        let c = self.groups.creating.remove(&tid)?;
        if let Some(had) = c.restore_exit_event {
            self.set_exit_event(tid, had);
        }
        if let Some((at, f)) = c.restore_flags {
            let _ = match at {
                FlagsAt::Register => ptrace::poke_user(tid, ptrace::USER_RDI, f),
                FlagsAt::Memory(addr) => ptrace::poke_data(tid, addr, f),
            };
        }
        c.making
    }

    /// `exit(N) = ?` for a quiet thread that left on its own (see `crate::groups`).
    fn exited_quietly(&mut self, tid: i32, status: i32) {
        if self.opts.trace.contains(ProcessSyscall::Exit) {
            let code = u64::from((status as u32 >> 8) & 0xff);
            self.rec.entry(tid, ProcessSyscall::Exit, [code, 0, 0, 0, 0, 0], true, EntryMem::default());
            if let Some(p) = self.rec.task(tid).pending.take() {
                self.rec.no_return(tid, p);
            }
        }
    }

    /// A stop of a shadow: answered, never shown. Its creating calls are prepared as the
    /// others' (a shadow's children are shadows). Once every traced task is gone, each shadow
    /// is let go at its next stop.
    fn shadow_stop(&mut self, tid: i32, st: u32) {
        let sig = ((st >> 8) & 0xff) as i32;
        let event = st >> 16;
        if self.releasing {
            // A creating call it is in the middle of gets its flags back first.
            self.creation_done(tid);
            let inject = if event == 0 && sig != (libc::SIGTRAP | 0x80) { sig } else { 0 };
            let _ = ptrace::detach(tid, inject);
            self.groups.shadows.remove(&tid);
            return;
        }
        match event {
            ptrace::EVENT_SECCOMP => {
                if let Ok(SyscallInfo::Seccomp { nr, args }) = ptrace::syscall_info(tid) {
                    if let Some(sc) = ProcessSyscall::from_number(nr).filter(|s| s.creates()) {
                        let mem = decode::read_entry(&Live(tid), tid, sc, args, 0, self.opts.decode_fds);
                        self.prepare_creation(tid, sc, &args, &mem);
                        let _ = ptrace::syscall(tid, 0);
                        return;
                    }
                }
                let _ = ptrace::cont(tid, 0);
            }
            ptrace::EVENT_FORK | ptrace::EVENT_VFORK | ptrace::EVENT_CLONE => {
                if let Ok(child) = ptrace::event_msg(tid).map(|m| m as i32) {
                    self.groups.adopt(child, Making::Shadow);
                    if self.groups.parked.remove(&child) {
                        let _ = ptrace::cont(child, 0);
                    }
                }
                self.creation_done(tid);
                let _ = ptrace::cont(tid, 0);
            }
            ptrace::EVENT_EXEC => {
                if let Ok(former) = ptrace::event_msg(tid).map(|m| m as i32) {
                    if former != tid {
                        self.groups.shadows.remove(&former);
                    }
                }
                let _ = ptrace::cont(tid, 0);
            }
            ptrace::EVENT_STOP if clonekit_flags::sig_kernel_stop(sig as u32) => {
                let _ = ptrace::listen(tid);
            }
            0 if sig == (libc::SIGTRAP | 0x80) => {
                self.creation_done(tid);
                let _ = ptrace::cont(tid, 0);
            }
            0 => {
                let _ = ptrace::cont(tid, sig);
            }
            _ => {
                let _ = ptrace::cont(tid, 0);
            }
        }
    }

    fn on_exit(&mut self, tid: i32, rval: i64, is_error: bool) {
        if self.quiet {
            // A creating call or an execve that failed (success reports an event first,
            // and resumes past this stop).
            self.creation_done(tid);
            self.groups.exec_failed(tid);
        }
        if let Some(p) = self.rec.task(tid).pending.take() {
            self.kind = spin::exit_kind(p.entry.syscall.number());
            let res = decode::result(rval, is_error);
            let mem = decode::read_exit(&Live(tid), tid, &p.entry, &res, self.opts.decode_fds);
            self.resume(tid, 0);
            self.rec.exit(tid, p, &res, mem);
            return;
        }
        self.resume(tid, 0);
    }

    fn on_new_task(&mut self, tid: i32) {
        let Ok(child) = ptrace::event_msg(tid).map(|m| m as i32) else {
            self.resume(tid, 0);
            return;
        };
        let made = if self.quiet { self.creation_done(tid) } else { None };
        let pending = self.rec.task(tid).pending.take();
        let res = SyscallResult::Value(i64::from(child));
        if made == Some(Making::Shadow) {
            // Its line ends as for a child no tracer follows; the child is not shown.
            self.groups.adopt(child, Making::Shadow);
            if self.groups.parked.remove(&child) {
                let _ = ptrace::cont(child, 0);
            }
            let mem = pending
                .as_ref()
                .map(|p| decode::read_exit(&Live(tid), tid, &p.entry, &res, self.opts.decode_fds));
            self.resume(tid, 0);
            if let (Some(p), Some(mem)) = (pending, mem) {
                self.rec.exit(tid, p, &res, mem);
            }
            return;
        }
        if let Some(m) = made {
            self.groups.adopt(child, m);
        }
        let finishing = match pending {
            Some(p) if p.entry.call.is_some() => {
                let mem = decode::read_exit(&Live(tid), tid, &p.entry, &res, self.opts.decode_fds);
                // The result is known: with the seccomp filter, `PTRACE_CONT` skips the exit
                // stop; attached with `-p`, the call's exit stop comes and finds nothing pending.
                self.resume(tid, 0);
                Some((p, mem))
            }
            other => {
                self.rec.task(tid).pending = other;
                self.resume(tid, 0);
                None
            }
        };
        let child_node = self.rec.new_task(tid, child);
        if self.groups.parked.remove(&child) {
            self.rec.announce(child);
            self.resume(child, 0);
        }
        if let Some((p, mem)) = finishing {
            self.rec.created(tid, child_node, p, &res, mem);
        }
    }

    fn on_exec(&mut self, tid: i32) {
        let former = ptrace::event_msg(tid).map(|m| m as i32).unwrap_or(tid);
        if self.quiet && self.groups.exec_done(tid, former) {
            // A quiet thread exec'd: it leads the group now, and stops at its exit.
            self.set_exit_event(tid, true);
        }
        // The call succeeded: with the filter, `PTRACE_CONT` skips its exit stop. Its entry is
        // pending on the task that called it (which took `tid` if it was not the leader).
        self.resume(tid, 0);
        if former != tid {
            self.rec.pid_changed(tid, former);
        }
        self.rec.exec_succeeded(tid);
        if let Some(p) = self.rec.task(tid).pending.take() {
            let res = SyscallResult::Value(0);
            self.rec.exit(tid, p, &res, decode::ExitMem::default());
        }
    }

    fn on_exit_event(&mut self, tid: i32) {
        let pending = self.rec.task(tid).pending.take();
        let regs = if pending.is_none() { ptrace::regs(tid).ok() } else { None };
        let _ = ptrace::cont(tid, 0);
        match pending {
            Some(p) => self.rec.no_return(tid, p),
            None => {
                if let Some(r) = regs {
                    if let Some(sc) = ProcessSyscall::from_number(r.orig_rax)
                        .filter(|s| s.never_returns() && self.opts.trace.contains(*s))
                    {
                        let args = [r.rdi, 0, 0, 0, 0, 0];
                        self.rec.entry(tid, sc, args, true, decode::EntryMem::default());
                        if let Some(p) = self.rec.task(tid).pending.take() {
                            self.rec.no_return(tid, p);
                        }
                    }
                }
            }
        }
    }
}
