//! What both backends share: from the events of a trace (a call's entry and exit, a new task,
//! an exec, a signal, a death) to strace's lines, `--json` events, the `-c` summary and the
//! process tree. The ptrace backend (`tracer`) feeds it from stops, the eBPF backend (`ebpf`)
//! from ring-buffer records; neither formats anything itself.

use std::collections::HashMap;
use std::time::Duration;

use clonekit_flags::{
    classify, format_siginfo, format_signal_arg, resources, CloneCall, CloneFlags, ProcessSyscall, Sharing,
    SigInfo, SyscallResult,
};
use serde_json::{json, Value};

use crate::decode::{self, Entry, EntryMem, ExitMem};
use crate::output::Printer;
use crate::qualify::{QuietSet, StatusSet};
use crate::summary::Summary;
use crate::tree::{End, Tree};
use crate::Options;

/// A call whose entry was seen and whose result is still to come.
pub(crate) struct Pending {
    pub entry: Entry,
    /// When it entered (see [`Recorder::now`]).
    pub at: Duration,
    /// In `-e trace=SET`: its line is printed (else it was decoded for `--tree` only).
    pub shown: bool,
}

pub(crate) struct Task {
    pub node: usize,
    pub pending: Option<Pending>,
    /// Its `Process N attached` was said, or needs no saying (the program we started, the
    /// threads `-p` attached to).
    pub announced: bool,
}

pub(crate) struct Recorder<'a> {
    pub opts: &'a Options,
    pub printer: Printer,
    pub tasks: HashMap<i32, Task>,
    /// Tasks that ended before their creator's event named them (a child that exits at once
    /// can be reaped before its parent's `PTRACE_EVENT_FORK` is read): their nodes, by tid,
    /// for that event to link instead of making a second node for a task that is gone.
    ended_unlinked: HashMap<i32, usize>,
    pub tree: Tree,
    pub summary: Summary,
    pub root: i32,
    pub root_status: Option<i32>,
    /// Lines (not `--json`, not `-c`).
    pub text: bool,
    /// `-e status=` leaves some results out: lines are written whole, at the call's end.
    pub staged: bool,
    /// The time of the event being recorded, since the trace began: `--json`'s `ts` and the
    /// durations of calls (`-T`, `-c`).
    pub now: Duration,
}

impl<'a> Recorder<'a> {
    pub fn new(opts: &'a Options, printer: Printer, root: i32, tids: &[i32], program: String) -> Self {
        let mut r = Recorder {
            opts,
            printer,
            tasks: HashMap::new(),
            ended_unlinked: HashMap::new(),
            tree: Tree::default(),
            summary: Summary::default(),
            root,
            root_status: None,
            text: !opts.json && !opts.summary,
            staged: !opts.status.is_all(),
            now: Duration::ZERO,
        };
        if root > 0 {
            let leader = r.tree.add(root, program.clone());
            r.tasks.insert(root, Task { node: leader, pending: None, announced: true });
            r.printer.attach(root);
            for &tid in tids.iter().filter(|&&tid| tid != root) {
                let node = r.tree.add(tid, program.clone());
                r.tree.nodes[node].thread = true;
                r.tree.link(leader, node);
                r.tasks.insert(tid, Task { node, pending: None, announced: true });
                r.printer.attach(tid);
            }
        }
        r.printer.nprocs = r.tasks.len();
        r
    }

    pub fn emit(&mut self, mut v: Value) {
        if let Value::Object(m) = &mut v {
            m.insert("ts".into(), json!(self.now.as_secs_f64()));
        }
        self.printer.raw(&format!("{v}\n"));
    }

    /// A message of the tracer's own on stderr (`Process N attached`), unless `-q` or
    /// `--json` (whose stream it would break).
    pub fn say(&mut self, msg: &str) {
        if !self.opts.quiet.contains(QuietSet::ATTACH) && !self.opts.json {
            self.printer.diagnostic(msg);
        }
    }

    pub fn task(&mut self, tid: i32) -> &mut Task {
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

    /// `Process N attached`, the first time `tid` is seen on its own.
    pub fn announce(&mut self, tid: i32) {
        let task = self.task(tid);
        if !task.announced {
            task.announced = true;
            self.say(&format!("Process {tid} attached"));
        }
    }

    /// `--- SIGCHLD {si_signo=…} ---`.
    pub fn signal(&mut self, tid: i32, sig: i32, info: Option<SigInfo>) {
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

    /// `--- stopped by SIGSTOP ---`.
    pub fn stopped(&mut self, tid: i32, sig: i32) {
        if !self.opts.signals.contains(sig) {
        } else if self.text {
            self.printer.line(tid, &format!("--- stopped by {} ---", format_signal_arg(sig.into())));
        } else if self.opts.json {
            self.emit(json!({ "event": "stopped", "pid": tid, "signal": format_signal_arg(sig.into()) }));
        }
    }

    /// Whether the entry of `sc` is decoded at all (`--tree` wants every call), and if so
    /// whether its line is shown (`-e trace=`).
    pub fn wants(&self, sc: ProcessSyscall) -> Option<bool> {
        let shown = self.opts.trace.contains(sc);
        (shown || self.opts.tree || self.opts.keep_tree).then_some(shown)
    }

    /// A call's entry, with what was read of the tracee's memory for it.
    pub fn entry(&mut self, tid: i32, sc: ProcessSyscall, args: [u64; 6], shown: bool, mem: EntryMem) {
        let entry = decode::entry(sc, args, mem, self.opts.string_limit, self.opts.json);
        if self.text && shown && !self.staged {
            self.printer.entry(tid, &entry.text);
        }
        let at = self.now;
        self.task(tid).pending = Some(Pending { entry, at, shown });
    }

    /// Ends a call's line (or JSON event) with its result, as `-e status=` allows; counts it
    /// for `-c`. Whether a line was written.
    pub fn finish(
        &mut self,
        tid: i32,
        p: Pending,
        rest: &str,
        res: &SyscallResult,
        json_args: Value,
    ) -> bool {
        if !p.shown {
            return false;
        }
        let took = self.now.saturating_sub(p.at);
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

    /// A call's result, with what was read of the tracee's memory at its exit.
    pub fn exit(&mut self, tid: i32, p: Pending, res: &SyscallResult, mem: ExitMem) {
        let (rest, j) = decode::exit(&p.entry, res, mem, self.opts.json);
        self.finish(tid, p, &rest, res, j);
    }

    /// A new task `child` made by `parent`: its node, linked under its creator's.
    pub fn new_task(&mut self, parent: i32, child: i32) -> usize {
        let parent_node = self.task(parent).node;
        let ended = self.ended_unlinked.remove(&child);
        let child_node = match ended {
            Some(node) if !self.tasks.contains_key(&child) => node,
            _ => self.task(child).node,
        };
        if self.tree.nodes[child_node].parent.is_none() {
            self.tree.link(parent_node, child_node);
            let program = self.tree.nodes[parent_node].program.clone();
            self.tree.inherit(child_node, &program);
        }
        child_node
    }

    /// The creating call `p` of `tid` returned `child` (whose node is `child_node`).
    pub fn created(&mut self, tid: i32, child_node: usize, p: Pending, res: &SyscallResult, mem: ExitMem) {
        let call = p.entry.call.clone().expect("clone-family entries carry their call");
        let k = call.kernel_args();
        let n = &mut self.tree.nodes[child_node];
        n.thread = k.flags.contains(CloneFlags::CLONE_THREAD);
        n.syscall = Some(call.syscall_name().to_string());
        n.made_by = Some(classify(&call).label());
        n.flags = Some(decode_flags(&call));
        let (rest, j) = decode::exit(&p.entry, res, mem, self.opts.json);
        if self.finish(tid, p, &rest, res, j) && self.opts.explain {
            self.printer.annotate_last(tid, &explain(&call));
        }
    }

    /// A non-leader thread `former` exec'd: it now has the leader's pid `tid`, and the leader
    /// is gone (`+++ superseded by execve in pid FORMER +++`).
    pub fn pid_changed(&mut self, tid: i32, former: i32) {
        if self.text {
            let open = self.tasks.get(&former).and_then(|t| t.pending.as_ref()).filter(|p| p.shown);
            if let Some(p) = open.filter(|_| self.staged && self.opts.status.contains(StatusSet::DETACHED)) {
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

    /// `tid`'s pending execve succeeded: the tree records the program it now runs. The call
    /// stays pending.
    pub fn exec_succeeded(&mut self, tid: i32) {
        let task = self.task(tid);
        let node = task.node;
        if let Some((path, _)) = task.pending.as_ref().and_then(|p| p.entry.exec.clone()) {
            self.tree.exec(node, &path);
        }
    }

    /// ` = ?`: the call will not return. strace adds ` <unfinished ...>` inside the
    /// parentheses when the call had more to print at exit.
    pub fn no_return(&mut self, tid: i32, p: Pending) {
        let decoded = decoded_at_entry(&p.entry);
        let rest = if decoded { ")" } else { " <unfinished ...>)" };
        let j = p.entry.json.clone();
        self.finish(tid, p, rest, &SyscallResult::NoReturn, j);
    }

    /// We let go of `tid` (Ctrl-C after `-p`): `Process N detached` and the open line's end.
    pub fn detached(&mut self, tid: i32) {
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

    /// `tid` is gone with this wait status: `+++ exited with N +++` or `+++ killed by … +++`.
    pub fn gone(&mut self, tid: i32, status: i32) {
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

    /// The end of the trace: `-c`'s table printed; what was found.
    pub fn end(mut self) -> (Tree, Summary, Printer) {
        if self.opts.summary {
            let table = self.summary.render();
            self.printer.raw(&table);
        }
        (self.tree, self.summary, self.printer)
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
