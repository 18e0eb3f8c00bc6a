//! A ptrace tracer of Linux process and thread creation that prints what
//! `strace -f -e trace=process` prints for clone, clone3, fork, vfork, execve, execveat,
//! exit, exit_group, wait4, waitid, kill, tkill, tgkill (and the rest of strace's
//! `%process` class), with the same decoding (from clonekit-flags), the same prefixes and
//! the same `<unfinished ...>`/`<... X resumed>` splitting; plus a process tree (`--tree`),
//! JSON events (`--json`), a summary (`-c`) and per-clone explanations (`--explain`).
//!
//! It is fast because the tracee only stops where it must: a seccomp-bpf filter returns
//! `SECCOMP_RET_TRACE` for the traced calls only, a successful clone or exec is finished at
//! its ptrace event (no exit stop), a process's exit is read at `PTRACE_EVENT_EXIT` and a
//! thread's from its death (threads are made without that stop); and because a
//! stopped tracee waits only for what must be read while it is stopped: the line is formatted
//! after it has been resumed. Under a seccomp filter that was there first (a container's
//! profile, whose `ERRNO` answers would hide the calls it refuses from ours), the program
//! runs under `PTRACE_SYSCALL` instead, as strace without `--seccomp-bpf`.
//!
//! ```no_run
//! use clonekit_trace::{trace, Options, Target};
//! let opts = Options { target: Target::Program(vec!["/bin/true".into()]), ..Options::default() };
//! let report = trace(&opts)?;
//! assert_eq!(report.exit_code(), 0);
//! # Ok::<(), clonekit_trace::TraceError>(())
//! ```
//!
//! x86_64 Linux only.
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

mod btf;
mod decode;
mod ebpf;
mod fds;
mod groups;
mod launch;
mod mem;
mod output;
mod qualify;
mod record;
mod seccomp;
mod spin;
mod summary;
mod sys;
mod tracer;
mod tree;

use std::ffi::OsString;
use std::path::PathBuf;

pub use output::Timestamps;
pub use qualify::{DecodeFds, Qualifiers, QualifyError, QuietSet, SignalSet, StatusSet, SyscallSet};
pub use seccomp::traced_by_filter;
pub use summary::Summary;
pub use tracer::Ending;
pub use tree::{End, Node, Tree};

/// What to trace.
#[derive(Debug, Clone)]
pub enum Target {
    /// Start this program (argv\[0\] looked up in `PATH`) and trace it and its descendants.
    Program(Vec<OsString>),
    /// Attach to every thread of this process, then follow its descendants.
    Pid(i32),
    /// Every process of the machine, until Ctrl-C (`--all`; the eBPF backend only).
    All,
}

/// How the traced tasks are watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// ptrace, as strace: the tracee stops at each traced call (only those, by a seccomp
    /// filter) and is read while stopped.
    #[default]
    Ptrace,
    /// eBPF programs on the kernel's tracepoints: the tracee never stops; events reach us
    /// through a ring buffer. Needs root (or `CAP_BPF` and `CAP_PERFMON`) and a kernel with
    /// BTF.
    Ebpf,
}

pub use ebpf::unavailable as ebpf_unavailable;

/// What to print and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// What to trace.
    pub target: Target,
    /// How.
    pub backend: Backend,
    /// `-o FILE`: write there, with `N     ` prefixes on every line; else stderr with
    /// `[pid  N] ` prefixes once there are two tracees.
    pub output: Option<PathBuf>,
    /// `-ff` with `-o FILE`: each task's lines go to `FILE.TID`, without prefixes (what is
    /// not a task's line, `--json`, `--tree` and `-c`, goes to stderr).
    pub output_separately: bool,
    /// `-e trace=SET`: the calls whose lines are printed (and counted by `-c`). Only these
    /// stop the tracee, unless `--tree` needs them all.
    pub trace: SyscallSet,
    /// `-e signal=SET`: the signals whose `--- SIG… ---`, `--- stopped by … ---` and
    /// `+++ killed by … +++` lines are printed.
    pub signals: SignalSet,
    /// `-e status=SET` (`-z`, `-Z`): the results whose lines are printed.
    pub status: StatusSet,
    /// `-q`, `-qq`, `-qqq`, `-e quiet=SET`: the messages left out.
    pub quiet: QuietSet,
    /// `-y`, `-yy`, `-e decode-fds=SET`: what is shown after a file descriptor.
    pub decode_fds: DecodeFds,
    /// `-t` / `-tt`.
    pub timestamps: Timestamps,
    /// `-T`: the time spent in each call.
    pub syscall_times: bool,
    /// `-c`: a summary table instead of the lines.
    pub summary: bool,
    /// `--tree`: the process tree at the end.
    pub tree: bool,
    /// Build the whole tree (every process call decoded) even when `tree` is off: for
    /// [`Tree::to_svg`] and [`Tree::to_trace_events`] after the trace.
    pub keep_tree: bool,
    /// `--json`: JSON objects instead of strace lines.
    pub json: bool,
    /// `--explain`: a comment after each clone line.
    pub explain: bool,
    /// `-s`: the longest string shown (strace's default is 32).
    pub string_limit: usize,
    /// `--low-latency`: for the whole trace, hold a CPU latency request of 0 µs
    /// (`/dev/cpu_dma_latency`), so idle CPUs poll instead of halting and a resumed tracee
    /// or a woken tracer starts at once. Every stop gets cheaper, most of all on virtual
    /// machines whose halted CPUs are slow to wake; idle CPUs burn power meanwhile. Needs
    /// write access to the device (root).
    pub low_latency: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            keep_tree: false,
            target: Target::Program(Vec::new()),
            backend: Backend::Ptrace,
            output: None,
            output_separately: false,
            trace: SyscallSet::all(),
            signals: SignalSet::all(),
            status: StatusSet::all(),
            quiet: QuietSet::none(),
            decode_fds: DecodeFds::none(),
            timestamps: Timestamps::Off,
            syscall_times: false,
            summary: false,
            tree: false,
            json: false,
            explain: false,
            string_limit: clonekit_flags::DEFAULT_STRING_LIMIT,
            low_latency: false,
        }
    }
}

/// Why a trace could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// No program was given.
    #[error("no program to trace")]
    NoProgram,
    /// The program was not found or cannot be run.
    #[error("cannot run {program:?}: {reason}")]
    Program {
        /// What was asked for.
        program: String,
        /// Why not.
        reason: String,
    },
    /// No process has this pid.
    #[error("no process with pid {0}")]
    NoSuchPid(i32),
    /// The process exists but may not be traced by us.
    #[error("cannot trace pid {pid}: {source}")]
    NotTraceable {
        /// The pid.
        pid: i32,
        /// What ptrace said.
        source: std::io::Error,
    },
    /// The output file could not be opened.
    #[error("cannot write {path}: {source}")]
    Output {
        /// The path.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// `--low-latency` was asked for and the request could not be made.
    #[error("--low-latency: cannot request a CPU latency of 0 from {}: {source}", sys::CPU_LATENCY_DEVICE)]
    LowLatency {
        /// Why not.
        source: std::io::Error,
    },
    /// `--backend ebpf` cannot run here (no BTF, no privilege) or its programs failed to load.
    #[error("--backend ebpf: {reason}")]
    Ebpf {
        /// Why.
        reason: String,
    },
    /// `--all` without `--backend ebpf`.
    #[error("--all needs --backend ebpf")]
    AllNeedsEbpf,
    /// A system call of the tracer itself failed.
    #[error("{what}: {source}")]
    Sys {
        /// What was being done.
        what: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

/// What a finished trace found.
#[derive(Debug)]
pub struct Report {
    /// How it ended.
    pub ending: Ending,
    /// Every task seen.
    pub tree: Tree,
    /// Events the eBPF backend's ring buffer had no room for (0 with ptrace). They are also
    /// reported at the end of the trace.
    pub lost: u64,
}

impl Report {
    /// The exit status the tracer should have: the traced program's (`128 + signal` if a
    /// signal killed it), 0 after `-p`, `128 + signal` when interrupted.
    pub fn exit_code(&self) -> u8 {
        match self.ending {
            Ending::Done(Some(st)) => {
                let st = st as u32;
                if st & 0x7f == 0 {
                    ((st >> 8) & 0xff) as u8
                } else {
                    128u8.saturating_add((st & 0x7f) as u8)
                }
            }
            Ending::Done(None) => 0,
            Ending::Interrupted(sig) => 128u8.saturating_add(sig as u8),
        }
    }
}

/// Traces `opts.target` to the end, printing as `opts` says.
pub fn trace(opts: &Options) -> Result<Report, TraceError> {
    // Held until the trace is over; closing it ends the request.
    let _latency = if opts.low_latency {
        Some(sys::hold_cpu_latency(0).map_err(|source| TraceError::LowLatency { source })?)
    } else {
        None
    };
    let to = match &opts.output {
        Some(p) if opts.output_separately => output::Destination::PerTask(p.clone()),
        Some(p) => output::Destination::File(Box::new(
            std::fs::File::create(p)
                .map_err(|source| TraceError::Output { path: p.display().to_string(), source })?,
        )),
        None => output::Destination::Stderr,
    };
    let printer = output::Printer::new(to, opts.timestamps);
    let _signals = launch::TerminationSignals::catch();
    let (mut printer, report, exec_error) = match (&opts.target, opts.backend) {
        (_, Backend::Ebpf) => ebpf::run(opts, printer)?,
        (Target::Program(argv), Backend::Ptrace) => launch::run_program(opts, argv, printer)?,
        (Target::Pid(pid), Backend::Ptrace) => launch::attach(opts, *pid, printer)?,
        (Target::All, Backend::Ptrace) => return Err(TraceError::AllNeedsEbpf),
    };
    if opts.tree {
        if opts.json {
            printer.raw(&format!("{}\n", report.tree.to_json()));
        } else {
            printer.raw(&report.tree.render());
        }
    }
    printer.end().map_err(|source| TraceError::Sys { what: "writing the trace", source })?;
    if let Some((path, source)) = printer.take_error() {
        return Err(TraceError::Output { path: path.display().to_string(), source });
    }
    if let Some(e) = exec_error {
        return Err(e);
    }
    Ok(report)
}
