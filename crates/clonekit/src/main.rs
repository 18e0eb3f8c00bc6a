//! `clonekit`: Linux process and thread creation, explained and checked live.
#![forbid(unsafe_code)]

mod bench;
mod check;
mod explain;
mod run;
mod sim;
mod trace;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Linux process and thread creation: every CLONE_* flag explained and checked on this kernel.
#[derive(Parser)]
#[command(name = "clonekit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Explain a flag set or a strace line: notation, libc call, validity, what the child shares.
    Explain(explain::Args),
    /// Probe every flag's semantics and every validation rule on the running kernel.
    Check(check::Args),
    /// Trace process and thread creation as `strace -f -e trace=process` shows it, faster.
    Trace(trace::Args),
    /// Run a program in new namespaces or sharing resources, with one clone call (like unshare).
    Run(run::Args),
    /// Measure our fork, threads and spawn against glibc and std, side by side.
    Bench(bench::Args),
    /// Run scenarios on the model of the kernel and print their transcripts.
    Sim(sim::Args),
    /// The init that `run --init` starts in the new pid namespace.
    #[command(hide = true)]
    RunInit(run::InitArgs),
}

/// How a command ended: success, a check that found failures (1), or bad input (2).
pub enum Outcome {
    /// Everything passed.
    Ok,
    /// The command ran, and what it checked failed.
    Failed,
    /// A termination signal stopped it cleanly; exit as the shell expects (128 + signal).
    Interrupted(u8),
    /// Exit with this status (a child's, passed through by `run`).
    Exit(u8),
}

fn main() -> ExitCode {
    // A kernel scenario's `execve` step re-executes this program as that task's agent.
    clonekit_probe::agent::enter_if_agent();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line: clap's message up to its usage block, joined.
            let text = e.to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            let line = if message.is_empty() { "invalid arguments".to_string() } else { message.join(" ") };
            eprintln!("clonekit: {}", line.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Explain(args) => explain::run(&args).map_err(Box::<dyn std::error::Error>::from),
        Command::Check(args) => check::run(&args).map_err(Box::<dyn std::error::Error>::from),
        Command::Trace(args) => trace::run(&args).map_err(Box::<dyn std::error::Error>::from),
        Command::Run(args) => run::run(&args).map_err(Box::<dyn std::error::Error>::from),
        Command::Bench(args) => bench::run(&args).map_err(Box::<dyn std::error::Error>::from),
        Command::Sim(args) => sim::run(&args).map_err(Box::<dyn std::error::Error>::from),
        Command::RunInit(args) => run::run_init(&args).map_err(Box::<dyn std::error::Error>::from),
    };
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Interrupted(sig)) => ExitCode::from(128u8.saturating_add(sig)),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        // A reader that went away (`clonekit check | head`) is not an error worth a word.
        Err(e) if is_broken_pipe(e.as_ref()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clonekit: {e}");
            ExitCode::from(2)
        }
    }
}

/// Whether an error comes from writing to a closed pipe.
fn is_broken_pipe(mut e: &(dyn std::error::Error + 'static)) -> bool {
    loop {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return true;
            }
        }
        match e.source() {
            Some(next) => e = next,
            None => return false,
        }
    }
}
