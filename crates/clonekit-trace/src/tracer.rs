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
//! - `PTRACE_EVENT_EXIT`: ` = ?` for the call the task dies in (exit, exit_group, or a call
//!   cut short by a fatal signal).
//! - `PTRACE_EVENT_STOP`: a group-stop (`PTRACE_LISTEN`, so it stays stopped and SIGCONT is
//!   seen), an interrupt, or a new child's first stop.
//! - anything else: a signal, shown and re-injected.

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

use clonekit_flags::{ProcessSyscall, SigInfo, SyscallResult};
use clonekit_raw::{self as raw, ptrace, ptrace::SyscallInfo};

use crate::decode;
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
        }
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
        let tids: Vec<i32> = self.rec.tasks.keys().copied().collect();
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
            self.rec.gone(tid, status);
            return;
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
        // `-e trace=`: a call left out is still decoded for the tree, not printed.
        let Some((sc, shown)) =
            ProcessSyscall::from_number(nr).and_then(|sc| Some((sc, self.rec.wants(sc)?)))
        else {
            self.resume(tid, 0);
            return;
        };
        let mem = decode::read_entry(&Live(tid), tid, sc, args, self.opts.string_limit, self.opts.decode_fds);
        // The exit stop (or the clone/exec event before it) gives the result.
        let _ = ptrace::syscall(tid, 0);
        self.rec.entry(tid, sc, args, shown, mem);
    }

    fn on_exit(&mut self, tid: i32, rval: i64, is_error: bool) {
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
        let pending = self.rec.task(tid).pending.take();
        let res = SyscallResult::Value(i64::from(child));
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
        if let Some((p, mem)) = finishing {
            self.rec.created(tid, child_node, p, &res, mem);
        }
    }

    fn on_exec(&mut self, tid: i32) {
        let former = ptrace::event_msg(tid).map(|m| m as i32).unwrap_or(tid);
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
