//! `clonekit trace`: what `strace -f -e trace=process` prints, faster, plus `--tree`,
//! `--json`, `-c` and `--explain` (clonekit-trace does the work). It takes strace's own
//! options with strace's meaning (`-f`, `-ff`, `-q`, `-e trace=`, `-e signal=`, `-e status=`,
//! `-y`, `--seccomp-bpf`…), clustered as strace takes them (`-fq`, `-qq`, `-yy`,
//! `-etrace=clone`); docs/trace-options.md lists them.

use std::ffi::OsString;
use std::path::PathBuf;

use clonekit_trace::{
    Backend, DecodeFds, Ending, Options, Qualifiers, QualifyError, QuietSet, StatusSet, Target, Timestamps,
    TraceError,
};

use crate::Outcome;

/// Arguments of `clonekit trace`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  clonekit trace -- sh -c 'ls | wc -l'\n  clonekit trace -f -e trace=clone,execve -qq -- make\n  clonekit trace -ff -o out -- make          # out.PID for each task\n  clonekit trace -o out.txt --tree -- make\n  clonekit trace -p 1234\n\nstrace's options, with strace's meaning: docs/trace-options.md"
)]
pub struct Args {
    /// Write the trace to FILE (lines get a `PID   ` prefix), not to stderr; with -ff, one
    /// file per task, FILE.PID, without the prefix.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Attach to this process (all its threads; any thread's id will do) instead of starting
    /// a program.
    #[arg(short = 'p', long = "attach", value_name = "PID", conflicts_with = "command")]
    pid: Option<i32>,
    /// Follow forks (always on: every child and thread is traced). -ff with -o FILE: one
    /// file per task.
    #[arg(short = 'f', action = clap::ArgAction::Count)]
    follow: u8,
    /// Follow forks (always on), as -f.
    #[arg(long = "follow-forks")]
    follow_forks: bool,
    /// With -o FILE, one file per task (FILE.PID), as -ff.
    #[arg(long = "output-separately")]
    output_separately: bool,
    /// Suppress the attach/detach messages (-q), also the `+++ exited with N +++` lines
    /// (-qq), also `+++ superseded by execve +++` (-qqq).
    #[arg(short = 'q', action = clap::ArgAction::Count)]
    quiet: u8,
    /// Suppress these messages: attach, exit, thread-execve (superseded), path-resolution,
    /// personality; `all`, `none`, `!` (default: attach,personality).
    #[arg(long = "quiet", visible_alias = "silent", value_name = "SET", num_args = 0..=1,
          require_equals = true, default_missing_value = "attach,personality")]
    quiet_set: Option<String>,
    /// A qualifying expression, as strace's: trace=SET (names, %process, %signal, %file,
    /// %desc, /regex, !, all, none), signal=SET, status=SET, quiet=SET, decode-fds=SET; a
    /// bare SET is trace=SET.
    #[arg(short = 'e', value_name = "EXPR", action = clap::ArgAction::Append)]
    exprs: Vec<String>,
    /// The calls to print, as -e trace=SET.
    #[arg(long = "trace", value_name = "SET")]
    trace_set: Option<String>,
    /// The signals to show, as -e signal=SET.
    #[arg(long = "signal", alias = "signals", value_name = "SET")]
    signal_set: Option<String>,
    /// The results to show (successful, failed, unfinished, unavailable, detached), as
    /// -e status=SET.
    #[arg(long = "status", value_name = "SET")]
    status_set: Option<String>,
    /// Print only the calls that returned without an error (-e status=successful).
    #[arg(short = 'z', long = "successful-only", overrides_with = "failed_only")]
    successful_only: bool,
    /// Print only the calls that returned an error (-e status=failed).
    #[arg(short = 'Z', long = "failed-only", alias = "failing-only", overrides_with = "successful_only")]
    failed_only: bool,
    /// Show the path after each file descriptor (-y), and also pidfds' pids and devices'
    /// numbers (-yy).
    #[arg(short = 'y', action = clap::ArgAction::Count)]
    decode_fds: u8,
    /// What to show after a file descriptor: path, pidfd, dev, socket (default: path).
    #[arg(long = "decode-fds", value_name = "SET", num_args = 0..=1, require_equals = true,
          default_missing_value = "path")]
    decode_fds_set: Option<String>,
    /// Accepted for strace's sake: clonekit always stops the tracee on the traced calls only
    /// (its own seccomp-bpf filter), where it can.
    #[arg(long = "seccomp-bpf")]
    seccomp_bpf: bool,
    /// Time of day on each line (-t: seconds, -tt: microseconds; -ttt: seconds since the
    /// epoch, with microseconds).
    #[arg(short = 't', action = clap::ArgAction::Count)]
    timestamps: u8,
    /// Time spent in each call, ` <0.000289>`.
    #[arg(short = 'T')]
    syscall_times: bool,
    /// A table of calls, errors and time per syscall instead of the lines.
    #[arg(short = 'c', long = "summary-only")]
    summary: bool,
    /// At the end, the process/thread tree: who created whom, how, how it ended, how long it lived.
    #[arg(long)]
    tree: bool,
    /// One JSON object per event, with decoded fields.
    #[arg(long)]
    json: bool,
    /// At the end, write a picture of the run to FILE (SVG): a row per process and thread,
    /// its lifetime as a bar, exec points marked, an arrow from each creator to its child,
    /// the creating call and flags on hover.
    #[arg(long, value_name = "FILE")]
    timeline: Option<std::path::PathBuf>,
    /// At the end, write the run to FILE in Chrome's trace-event format (JSON), which
    /// ui.perfetto.dev and chrome://tracing open.
    #[arg(long, value_name = "FILE")]
    perfetto: Option<std::path::PathBuf>,
    /// After each clone line, which libc call it is and what the child shares.
    #[arg(long)]
    explain: bool,
    /// Longest string shown (strace's -s).
    #[arg(short = 's', long = "string-limit", value_name = "N", default_value_t = 32)]
    string_limit: usize,
    /// Keep idle CPUs polling while tracing (a CPU latency request of 0 µs on
    /// /dev/cpu_dma_latency, root only): every stop costs less, most of all on VMs; uses power.
    #[arg(long)]
    low_latency: bool,
    /// How to trace: `ptrace` (as strace; the default) or `ebpf` (programs on the kernel's
    /// tracepoints: the traced program never stops; root or CAP_BPF+CAP_PERFMON, and a
    /// kernel with BTF).
    #[arg(long, value_enum, default_value_t = BackendArg::Ptrace)]
    backend: BackendArg,
    /// Trace every process of the machine until Ctrl-C (with --backend ebpf): a system-wide
    /// monitor of process and thread creation, every flag decoded.
    #[arg(long, conflicts_with_all = ["command", "pid"])]
    all: bool,
    /// The program to start, and its arguments.
    #[arg(trailing_var_arg = true, value_name = "PROGRAM")]
    command: Vec<OsString>,
}

/// `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// ptrace, as strace.
    Ptrace,
    /// eBPF programs on tracepoints; the tracee never stops.
    Ebpf,
}

/// A combination of options that strace refuses too, or that clonekit cannot honour.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// A qualifying expression that names nothing.
    #[error("{option}: {source}")]
    Qualify {
        /// The option as given (`-e trace=nosuchcall`).
        option: String,
        /// What is wrong with it.
        source: QualifyError,
    },
    /// Two options that exclude each other.
    #[error("{0} and {1} cannot be provided simultaneously")]
    Conflict(&'static str, &'static str),
    /// -ff/--output-separately with an output that is not a task's lines.
    #[error("-ff/--output-separately and {0} are mutually exclusive")]
    Separately(&'static str),
    /// The trace itself failed.
    #[error(transparent)]
    Trace(#[from] TraceError),
    /// A timeline could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

impl Args {
    /// The qualifiers, the `-e` expressions first (in order), then the long forms, then
    /// `-z`/`-Z`, then `-q` and `-y` counts (which strace refuses together with the long
    /// forms of the same qualifier).
    fn qualifiers(&self) -> Result<Qualifiers, UsageError> {
        let mut q = Qualifiers::default();
        let mut apply = |option: String, expr: &str| {
            q.apply(expr).map_err(|source| UsageError::Qualify { option: option.clone(), source })
        };
        for e in &self.exprs {
            apply(format!("-e {e}"), e)?;
        }
        let long = [
            ("trace", &self.trace_set),
            ("signal", &self.signal_set),
            ("status", &self.status_set),
            ("quiet", &self.quiet_set),
            ("decode-fds", &self.decode_fds_set),
        ];
        for (name, value) in long {
            if let Some(v) = value {
                apply(format!("--{name}={v}"), &format!("{name}={v}"))?;
            }
        }
        if self.successful_only {
            q.status = Some(StatusSet::SUCCESSFUL);
        } else if self.failed_only {
            q.status = Some(StatusSet::FAILED);
        }
        if self.quiet > 0 {
            if q.quiet.is_some() {
                return Err(UsageError::Conflict("-q", "-e quiet/--quiet"));
            }
            q.quiet = Some(QuietSet::from_count(self.quiet));
        }
        if self.decode_fds > 0 {
            if q.decode_fds.is_some() {
                return Err(UsageError::Conflict("-y", "--decode-fds"));
            }
            q.decode_fds = Some(DecodeFds::from_count(self.decode_fds));
        }
        Ok(q)
    }
}

/// Runs the trace; the traced program's exit status becomes ours.
pub fn run(args: &Args) -> Result<Outcome, UsageError> {
    let q = args.qualifiers()?;
    // strace: -ff is -f with --output-separately, which needs -o FILE (else it is plain -f);
    // and a single -f means "not separately", --output-separately or not (strace's init()
    // sets output_separately from the count of -f whenever -f is given).
    let separately =
        args.output.is_some() && if args.follow > 0 { args.follow >= 2 } else { args.output_separately };
    if args.follow >= 2 && args.output_separately {
        return Err(UsageError::Conflict("-ff", "--output-separately"));
    }
    if args.follow > 0 && args.follow_forks {
        return Err(UsageError::Conflict("-f", "--follow-forks"));
    }
    if separately {
        if args.summary {
            return Err(UsageError::Separately("-c/--summary-only"));
        }
        if args.tree {
            return Err(UsageError::Separately("--tree"));
        }
        if args.json {
            return Err(UsageError::Separately("--json"));
        }
    }
    let target = match (args.pid, args.command.is_empty()) {
        _ if args.all => Target::All,
        (Some(pid), _) => Target::Pid(pid),
        (None, false) => Target::Program(args.command.clone()),
        (None, true) => return Err(TraceError::NoProgram.into()),
    };
    let attached = matches!(target, Target::Pid(_) | Target::All);
    // strace: `-o FILE PROG` implies -q unless -q or -e quiet was given.
    let quiet = match q.quiet {
        Some(set) => set,
        None if args.output.is_some() && !attached => QuietSet::from_count(1),
        None => QuietSet::none(),
    };
    let opts = Options {
        target,
        backend: match args.backend {
            BackendArg::Ptrace => Backend::Ptrace,
            BackendArg::Ebpf => Backend::Ebpf,
        },
        output: args.output.clone(),
        output_separately: separately,
        trace: q.trace,
        signals: q.signals,
        status: q.status.unwrap_or_else(StatusSet::all),
        quiet,
        decode_fds: q.decode_fds.unwrap_or_else(DecodeFds::none),
        timestamps: match args.timestamps {
            0 => Timestamps::Off,
            1 => Timestamps::Seconds,
            2 => Timestamps::Micros,
            _ => Timestamps::UnixMicros,
        },
        syscall_times: args.syscall_times,
        summary: args.summary,
        tree: args.tree,
        keep_tree: args.timeline.is_some() || args.perfetto.is_some(),
        json: args.json,
        explain: args.explain,
        string_limit: args.string_limit,
        low_latency: args.low_latency,
    };
    let report = clonekit_trace::trace(&opts)?;
    if report.lost > 0 {
        eprintln!("clonekit: trace: {} events were lost (the ring buffer was full)", report.lost);
    }
    let write = |path: &std::path::Path, text: String| {
        std::fs::write(path, text)
            .map_err(|source| UsageError::Write { path: path.display().to_string(), source })
    };
    if let Some(path) = &args.timeline {
        write(path, report.tree.to_svg())?;
    }
    if let Some(path) = &args.perfetto {
        write(path, format!("{}\n", report.tree.to_trace_events()))?;
    }
    match report.ending {
        // Detached on request: the process runs on, and that is a success.
        Ending::Interrupted(_) if attached => Ok(Outcome::Ok),
        Ending::Interrupted(sig) => Ok(Outcome::Interrupted(sig as u8)),
        Ending::Done(_) => match report.exit_code() {
            0 => Ok(Outcome::Ok),
            code => std::process::exit(i32::from(code)),
        },
    }
}
