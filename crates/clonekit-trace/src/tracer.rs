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

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

use clonekit_flags::{
    classify, format_siginfo, format_signal_arg, resources, CloneCall, CloneFlags, ProcessSyscall, Sharing,
    SigInfo, SyscallResult,
};
use clonekit_raw::{self as raw, ptrace, ptrace::SyscallInfo};
use serde_json::{json, Value};

use crate::decode::{self, Entry};
use crate::output::Printer;
use crate::qualify::{QuietSet, StatusSet};
use crate::spin::{self, Spin};
use crate::summary::Summary;
use crate::sys;
use crate::tree::{End, Tree};
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

struct Pending {
    entry: Entry,
    at: Instant,
    /// In `-e trace=SET`: its line is printed (else it was decoded for `--tree` only).
    shown: bool,
}

struct Task {
    node: usize,
    pending: Option<Pending>,
    /// Its `Process N attached` was said, or needs no saying (the program we started, the
    /// threads `-p` attached to).
    announced: bool,
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
    printer: Printer,
    tasks: HashMap<i32, Task>,
    /// Tasks that ended before their creator's event named them (a child that exits at once
    /// can be reaped before its parent's `PTRACE_EVENT_FORK` is read): their nodes, by tid,
    /// for that event to link instead of making a second node for a task that is gone.
    ended_unlinked: HashMap<i32, usize>,
    tree: Tree,
    summary: Summary,
    root: i32,
    root_status: Option<i32>,
    started: Instant,
    text: bool,
    interrupting: bool,
    /// When to poll for the next stop rather than sleep.
    spin: Spin,
    /// The kind of the stop being answered, for `spin`.
    kind: usize,
    /// `-e status=` leaves some results out: lines are written whole, at the call's end.
    staged: bool,
}

const STOP_SIGNALS: [i32; 4] = [libc::SIGSTOP, libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU];

impl<'a> Tracer<'a> {
    pub(crate) fn new(
        opts: &'a Options,
        mode: Mode,
        printer: Printer,
        root: i32,
        tids: &[i32],
        program: String,
    ) -> Self {
        let mut t = Tracer {
            opts,
            mode,
            printer,
            tasks: HashMap::new(),
            ended_unlinked: HashMap::new(),
            tree: Tree::default(),
            summary: Summary::default(),
            root,
            root_status: None,
            started: Instant::now(),
            text: !opts.json && !opts.summary,
            interrupting: false,
            spin: Spin::new(),
            kind: spin::OTHER,
            staged: !opts.status.is_all(),
        };
        let leader = t.tree.add(root, program.clone());
        t.tasks.insert(root, Task { node: leader, pending: None, announced: true });
        t.printer.attach(root);
        for &tid in tids.iter().filter(|&&tid| tid != root) {
            let node = t.tree.add(tid, program.clone());
            t.tree.nodes[node].thread = true;
            t.tree.link(leader, node);
            t.tasks.insert(tid, Task { node, pending: None, announced: true });
            t.printer.attach(tid);
        }
        t.printer.nprocs = t.tasks.len();
        WAKE.store(root, Ordering::SeqCst);
        t
    }

    fn emit(&mut self, mut v: Value) {
        if let Value::Object(m) = &mut v {
            m.insert("ts".into(), json!(self.started.elapsed().as_secs_f64()));
        }
        self.printer.raw(&format!("{v}\n"));
    }

    fn resume(&self, tid: i32, sig: i32) {
        let _ = match self.mode {
            Mode::Seccomp => ptrace::cont(tid, sig),
            Mode::Started | Mode::Attached => ptrace::syscall(tid, sig),
        };
    }

    /// Runs until every tracee is gone.
    pub(crate) fn run(mut self) -> io::Result<(Ending, Tree, Summary, Printer)> {
        loop {
            let sig = INTERRUPTED.load(Ordering::SeqCst);
            if sig != 0 && !self.interrupting {
                self.interrupting = true;
                self.interrupt();
            }
            if self.interrupting && self.mode == Mode::Attached && self.tasks.is_empty() {
                break;
            }
            let budget = self.spin.budget();
            let polled = if budget.is_zero() { Ok(None) } else { self.poll(budget) };
            let ev = match polled {
                Ok(None) => {
                    self.printer.flush()?;
                    sys::wait_any(false)
                }
                other => other,
            };
            match ev {
                Ok(Some((tid, status))) => {
                    self.spin.arrived();
                    self.kind = spin::OTHER;
                    self.handle(tid, status);
                    self.spin.answered(self.kind);
                    self.printer.flush_if_full()?;
                }
                Ok(None) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ECHILD) => break,
                Err(e) => return Err(e),
            }
        }
        let sig = INTERRUPTED.load(Ordering::SeqCst);
        let ending =
            if self.interrupting { Ending::Interrupted(sig) } else { Ending::Done(self.root_status) };
        if self.opts.summary {
            let table = self.summary.render();
            self.printer.raw(&table);
        }
        Ok((ending, self.tree, self.summary, self.printer))
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
        let tids: Vec<i32> = self.tasks.keys().copied().collect();
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

    /// A message of the tracer's own on stderr (`Process N attached`), unless `-q` or
    /// `--json` (whose stream it would break).
    fn say(&mut self, msg: &str) {
        if !self.opts.quiet.contains(QuietSet::ATTACH) && !self.opts.json {
            self.printer.diagnostic(msg);
        }
    }

    fn detach(&mut self, tid: i32, sig: i32) {
        let _ = ptrace::detach(tid, sig);
        // strace's `detach` then `droptcb`: the message, then the open line's ending.
        self.say(&format!("Process {tid} detached"));
        if let Some(mut task) = self.tasks.remove(&tid) {
            if let Some(p) = task.pending.take().filter(|p| p.shown && self.text) {
                if !self.staged {
                    self.printer.detached(tid);
                } else if self.opts.status.contains(StatusSet::DETACHED) {
                    self.printer.line(tid, &format!("{} <detached ...>", p.entry.text));
                }
            }
            self.tree.end(task.node, End::Detached);
        }
        self.printer.gone(tid);
        self.printer.nprocs = self.tasks.len();
    }

    fn task(&mut self, tid: i32) -> &mut Task {
        if !self.tasks.contains_key(&tid) {
            // A new child, seen at its creator's event or at its own first stop, whichever
            // came first; it is announced at its first stop, as strace does.
            let node = self.tree.add(tid, String::new());
            self.tasks.insert(tid, Task { node, pending: None, announced: false });
            self.printer.nprocs = self.tasks.len();
            self.printer.attach(tid);
        }
        self.tasks.get_mut(&tid).expect("inserted above")
    }

    fn handle(&mut self, tid: i32, status: i32) {
        let st = status as u32;
        if st & 0xff != 0x7f {
            self.kind = spin::DEATH;
            self.gone(tid, status);
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
        let task = self.task(tid);
        if !task.announced {
            task.announced = true;
            self.say(&format!("Process {tid} attached"));
        }
        if self.interrupting && self.mode == Mode::Attached {
            // Let go of it; a pending signal goes back to it.
            let inject = if event == 0 && sig != (libc::SIGTRAP | 0x80) { sig } else { 0 };
            self.detach(tid, inject);
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
                if STOP_SIGNALS.contains(&sig) {
                    if !self.opts.signals.contains(sig) {
                    } else if self.text {
                        self.printer
                            .line(tid, &format!("--- stopped by {} ---", format_signal_arg(sig.into())));
                    } else if self.opts.json {
                        self.emit(json!({ "event": "stopped", "pid": tid, "signal": format_signal_arg(sig.into()) }));
                    }
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
        if let Some(si) = info.filter(|_| self.opts.signals.contains(sig)) {
            let name = format_signal_arg(sig.into());
            if self.text {
                self.printer.line(tid, &format!("--- {name} {} ---", format_siginfo(&si)));
            } else if self.opts.json {
                self.emit(json!({ "event": "signal", "pid": tid, "signal": name, "siginfo": si,
                    "si_code": clonekit_flags::format_si_code(si.signo, si.code) }));
            }
        }
    }

    fn on_entry(&mut self, tid: i32, nr: u64, args: [u64; 6]) {
        self.kind = spin::entry_kind(nr);
        let Some(sc) = ProcessSyscall::from_number(nr) else {
            self.resume(tid, 0);
            return;
        };
        // `-e trace=`: a call left out is still decoded for the tree, not printed.
        let shown = self.opts.trace.contains(sc);
        if !shown && !self.opts.tree && !self.opts.keep_tree {
            self.resume(tid, 0);
            return;
        }
        let at = Instant::now();
        let mem = decode::read_entry(tid, sc, args, self.opts.string_limit, self.opts.decode_fds);
        // The exit stop (or the clone/exec event before it) gives the result.
        let _ = ptrace::syscall(tid, 0);
        let entry = decode::entry(sc, args, mem, self.opts.string_limit, self.opts.json);
        if self.text && shown && !self.staged {
            self.printer.entry(tid, &entry.text);
        }
        self.task(tid).pending = Some(Pending { entry, at, shown });
    }

    /// Ends a call's line (or JSON event) with its result, as `-e status=` allows; counts it
    /// for `-c`. Whether a line was written.
    fn finish(&mut self, tid: i32, p: Pending, rest: &str, res: &SyscallResult, json_args: Value) -> bool {
        if !p.shown {
            return false;
        }
        let took = p.at.elapsed();
        let name = p.entry.syscall.name();
        let status = match res {
            SyscallResult::Value(_) => StatusSet::SUCCESSFUL,
            SyscallResult::Error { .. } | SyscallResult::Restarted { .. } => StatusSet::FAILED,
            SyscallResult::NoReturn => StatusSet::UNFINISHED,
        };
        let publish = self.opts.status.contains(status);
        let error = matches!(res, SyscallResult::Error { .. });
        if !matches!(res, SyscallResult::NoReturn) {
            // strace counts a call before `-e status=` decides whether to print it.
            self.summary.add(name, error, took);
        }
        if !publish {
            // strace takes up the call (`<... execve resumed>` after a non-leader execve)
            // before `-e status=` drops it: the next call starts afresh.
            self.printer.dropped(tid);
            return false;
        }
        if self.text {
            let t = if self.opts.syscall_times { Some(took) } else { None };
            if self.staged {
                self.printer.whole(tid, name, &p.entry.text, rest, &res.to_string(), t);
            } else {
                self.printer.finish(tid, name, rest, &res.to_string(), t);
            }
        } else if self.opts.json {
            let result = match res {
                SyscallResult::Value(v) => json!({ "value": v }),
                SyscallResult::Error { errno, .. } => json!({ "error": errno }),
                SyscallResult::Restarted { errno, .. } => json!({ "restarted": errno }),
                SyscallResult::NoReturn => json!("?"),
            };
            self.emit(json!({ "event": "syscall", "pid": tid, "syscall": name, "args": json_args,
                "result": result, "duration_s": took.as_secs_f64() }));
        }
        self.text
    }

    fn on_exit(&mut self, tid: i32, rval: i64, is_error: bool) {
        if let Some(p) = self.task(tid).pending.take() {
            self.kind = spin::exit_kind(p.entry.syscall.number());
            let res = decode::result(rval, is_error);
            let mem = decode::read_exit(tid, &p.entry, &res, self.opts.decode_fds);
            self.resume(tid, 0);
            let (rest, j) = decode::exit(&p.entry, &res, mem, self.opts.json);
            self.finish(tid, p, &rest, &res, j);
            return;
        }
        self.resume(tid, 0);
    }

    fn on_new_task(&mut self, tid: i32) {
        let Ok(child) = ptrace::event_msg(tid).map(|m| m as i32) else {
            self.resume(tid, 0);
            return;
        };
        let pending = self.task(tid).pending.take();
        let res = SyscallResult::Value(i64::from(child));
        let finishing = match pending {
            Some(p) if p.entry.call.is_some() => {
                let mem = decode::read_exit(tid, &p.entry, &res, self.opts.decode_fds);
                // The result is known: with the seccomp filter, `PTRACE_CONT` skips the exit
                // stop; attached with `-p`, the call's exit stop comes and finds nothing pending.
                self.resume(tid, 0);
                Some((p, mem))
            }
            other => {
                self.task(tid).pending = other;
                self.resume(tid, 0);
                None
            }
        };
        let parent_node = self.task(tid).node;
        let ended = self.ended_unlinked.remove(&child);
        let child_node = match ended {
            Some(node) if !self.tasks.contains_key(&child) => node,
            _ => self.task(child).node,
        };
        self.tree.link(parent_node, child_node);
        let program = self.tree.nodes[parent_node].program.clone();
        self.tree.inherit(child_node, &program);
        if let Some((p, mem)) = finishing {
            let call = p.entry.call.clone().expect("checked");
            let k = call.kernel_args();
            let n = &mut self.tree.nodes[child_node];
            n.thread = k.flags.contains(CloneFlags::CLONE_THREAD);
            n.syscall = Some(call.syscall_name().to_string());
            n.made_by = Some(classify(&call).label());
            n.flags = Some(decode_flags(&call));
            let (rest, j) = decode::exit(&p.entry, &res, mem, self.opts.json);
            if self.finish(tid, p, &rest, &res, j) && self.opts.explain {
                self.printer.annotate_last(tid, &explain(&call));
            }
        }
    }

    fn on_exec(&mut self, tid: i32) {
        let former = ptrace::event_msg(tid).map(|m| m as i32).unwrap_or(tid);
        // The call succeeded: with the filter, `PTRACE_CONT` skips its exit stop. Its entry is
        // pending on the task that called it (which took `tid` if it was not the leader).
        self.resume(tid, 0);
        if former != tid {
            // A non-leader thread exec'd: it now has the leader's pid, and the leader is gone.
            if self.text {
                let open = self.tasks.get(&former).and_then(|t| t.pending.as_ref()).filter(|p| p.shown);
                if let Some(p) =
                    open.filter(|_| self.staged && self.opts.status.contains(StatusSet::DETACHED))
                {
                    // strace's staged start of the execve, published as its task's is dropped.
                    let head = format!("{} <pid changed to {tid} ...>", p.entry.text);
                    self.printer.line(former, &head);
                }
                self.printer.pid_changed(former, tid);
                if !self.opts.quiet.contains(QuietSet::THREAD_EXECVE) {
                    self.printer.line(tid, &format!("+++ superseded by execve in pid {former} +++"));
                }
            } else if self.opts.json {
                self.emit(json!({ "event": "superseded", "pid": tid, "by": former }));
            }
            if let Some(leader) = self.tasks.remove(&tid) {
                self.tree.end(leader.node, End::Superseded(former));
            }
            if let Some(t) = self.tasks.remove(&former) {
                self.tasks.insert(tid, t);
            }
            self.printer.nprocs = self.tasks.len();
        }
        let task = self.task(tid);
        let node = task.node;
        if let Some(p) = task.pending.take() {
            if let Some((path, _)) = &p.entry.exec {
                self.tree.exec(node, path);
            }
            let res = SyscallResult::Value(0);
            let (rest, j) = decode::exit(&p.entry, &res, decode::ExitMem::default(), self.opts.json);
            self.finish(tid, p, &rest, &res, j);
        }
    }

    fn on_exit_event(&mut self, tid: i32) {
        let pending = self.task(tid).pending.take();
        let regs = if pending.is_none() { ptrace::regs(tid).ok() } else { None };
        let _ = ptrace::cont(tid, 0);
        match pending {
            Some(p) => self.no_return(tid, p),
            None => {
                if let Some(r) = regs {
                    if let Some(sc) = ProcessSyscall::from_number(r.orig_rax)
                        .filter(|s| s.never_returns() && self.opts.trace.contains(*s))
                    {
                        let args = [r.rdi, 0, 0, 0, 0, 0];
                        let mem = decode::EntryMem::default();
                        let entry = decode::entry(sc, args, mem, self.opts.string_limit, self.opts.json);
                        if self.text && !self.staged {
                            self.printer.entry(tid, &entry.text);
                        }
                        self.no_return(tid, Pending { entry, at: Instant::now(), shown: true });
                    }
                }
            }
        }
    }

    /// ` = ?`: the call will not return. strace adds ` <unfinished ...>` inside the
    /// parentheses when the call had more to print at exit.
    fn no_return(&mut self, tid: i32, p: Pending) {
        let decoded = decoded_at_entry(&p.entry);
        let rest = if decoded { ")" } else { " <unfinished ...>)" };
        let j = p.entry.json.clone();
        self.finish(tid, p, rest, &SyscallResult::NoReturn, j);
    }

    fn gone(&mut self, tid: i32, status: i32) {
        let Some(mut task) = self.tasks.remove(&tid) else { return };
        if self.tree.nodes[task.node].parent.is_none() && tid != self.root {
            self.ended_unlinked.insert(tid, task.node);
        }
        if let Some(p) = task.pending.take() {
            self.no_return(tid, p);
        }
        let st = status as u32;
        let end = if st & 0x7f == 0 {
            End::Exited(((st >> 8) & 0xff) as i32)
        } else {
            End::Killed(format_signal_arg(i64::from(st & 0x7f)), st & 0x80 != 0)
        };
        // `-qq` hides exits; `-e signal=` hides deaths by the signals it leaves out.
        let shown = if st & 0x7f == 0 {
            !self.opts.quiet.contains(QuietSet::EXIT)
        } else {
            self.opts.signals.contains((st & 0x7f) as i32)
        };
        if !shown {
        } else if self.text {
            let line = match &end {
                End::Exited(c) => format!("+++ exited with {c} +++"),
                End::Killed(s, false) => format!("+++ killed by {s} +++"),
                End::Killed(s, true) => format!("+++ killed by {s} (core dumped) +++"),
                _ => unreachable!("gone() only sees exits and kills"),
            };
            self.printer.line(tid, &line);
        } else if self.opts.json {
            let v = match &end {
                End::Exited(c) => json!({ "event": "exited", "pid": tid, "status": c }),
                End::Killed(s, core) => json!({ "event": "killed", "pid": tid, "signal": s, "core": core }),
                _ => Value::Null,
            };
            self.emit(v);
        }
        self.tree.end(task.node, end);
        if tid == self.root {
            self.root_status = Some(status);
        }
        self.printer.gone(tid);
        self.printer.nprocs = self.tasks.len();
    }
}

/// Whether strace's decoder printed the whole call at entry (`RVAL_DECODED`), so that a
/// call that never returns ends with `)` and not ` <unfinished ...>)`.
fn decoded_at_entry(e: &Entry) -> bool {
    match e.syscall {
        ProcessSyscall::Wait4 | ProcessSyscall::Waitid => false,
        ProcessSyscall::Clone | ProcessSyscall::Clone3 => {
            let full =
                e.call.as_ref().map(|c| clonekit_flags::format_call(c, &e.observed)).unwrap_or_default();
            full.len() == e.text.len() + 1
        }
        _ => true,
    }
}

fn decode_flags(call: &CloneCall) -> String {
    match call {
        CloneCall::Clone { flags, .. } => clonekit_flags::format_clone_flags(*flags),
        CloneCall::Clone3 { args, .. } => {
            format!(
                "{} exit_signal={}",
                clonekit_flags::format_clone3_flags(args.flags),
                clonekit_flags::ExitSignal(args.exit_signal)
            )
        }
        CloneCall::Fork => "SIGCHLD".into(),
        CloneCall::Vfork => "CLONE_VM|CLONE_VFORK|SIGCHLD".into(),
    }
}

/// `--explain`: which libc call this is and what the child shares with its creator.
fn explain(call: &CloneCall) -> String {
    let shared: Vec<&str> = resources(&call.kernel_args())
        .into_iter()
        .filter(|r| r.sharing == Sharing::Shared)
        .map(|r| r.resource.label())
        .collect();
    let label = classify(call).label();
    if shared.is_empty() {
        format!("{label}; shares nothing, copies the rest")
    } else {
        format!("{label}; shares {}", shared.join(", "))
    }
}
