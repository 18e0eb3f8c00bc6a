//! `clonekit trace`: what `strace -f -e trace=process` prints, faster, plus `--tree`,
//! `--json`, `-c` and `--explain` (clonekit-trace does the work).

use std::ffi::OsString;
use std::path::PathBuf;

use clonekit_trace::{Ending, Options, Target, Timestamps, TraceError};

use crate::Outcome;

/// Arguments of `clonekit trace`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  clonekit trace -- sh -c 'ls | wc -l'\n  clonekit trace -o out.txt --tree -- make\n  clonekit trace -p 1234"
)]
pub struct Args {
    /// Write the trace to FILE (lines get a `PID   ` prefix), not to stderr.
    #[arg(short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Attach to this process (all its threads) instead of starting a program.
    #[arg(short = 'p', value_name = "PID", conflicts_with = "command")]
    pid: Option<i32>,
    /// Time of day on each line (-t: seconds, -tt: microseconds).
    #[arg(short = 't', action = clap::ArgAction::Count)]
    timestamps: u8,
    /// Time spent in each call, ` <0.000289>`.
    #[arg(short = 'T')]
    syscall_times: bool,
    /// A table of calls, errors and time per syscall instead of the lines.
    #[arg(short = 'c')]
    summary: bool,
    /// At the end, the process/thread tree: who created whom, how, how it ended, how long it lived.
    #[arg(long)]
    tree: bool,
    /// One JSON object per event, with decoded fields.
    #[arg(long)]
    json: bool,
    /// After each clone line, which libc call it is and what the child shares.
    #[arg(long)]
    explain: bool,
    /// Longest string shown (strace's -s).
    #[arg(short = 's', value_name = "N", default_value_t = 32)]
    string_limit: usize,
    /// Keep idle CPUs polling while tracing (a CPU latency request of 0 µs on
    /// /dev/cpu_dma_latency, root only): every stop costs less, most of all on VMs; uses power.
    #[arg(long)]
    low_latency: bool,
    /// The program to start, and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "PROGRAM")]
    command: Vec<OsString>,
}

/// Runs the trace; the traced program's exit status becomes ours.
pub fn run(args: &Args) -> Result<Outcome, TraceError> {
    let target = match (args.pid, args.command.is_empty()) {
        (Some(pid), _) => Target::Pid(pid),
        (None, false) => Target::Program(args.command.clone()),
        (None, true) => return Err(TraceError::NoProgram),
    };
    let attached = matches!(target, Target::Pid(_));
    let opts = Options {
        target,
        output: args.output.clone(),
        timestamps: match args.timestamps {
            0 => Timestamps::Off,
            1 => Timestamps::Seconds,
            _ => Timestamps::Micros,
        },
        syscall_times: args.syscall_times,
        summary: args.summary,
        tree: args.tree,
        json: args.json,
        explain: args.explain,
        string_limit: args.string_limit,
        low_latency: args.low_latency,
    };
    let report = clonekit_trace::trace(&opts)?;
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
