//! `clonekit check`: live probes on the running kernel.
//!
//! Two kinds of case: for every `CLONE_*` flag, a probe that creates children with and
//! without the flag through clonekit-sys and observes the difference from user space; and
//! for every validation rule of clonekit-flags, a call built to break exactly that rule,
//! issued on the kernel, whose errno must be the one the rule predicts.

mod corpus;
mod flags;
mod harness;
mod report;
mod rules;

use std::io::IsTerminal;

pub use harness::{Case, Status};

use crate::Outcome;

/// `clonekit check` options.
#[derive(clap::Args)]
pub struct Args {
    /// Print the results as one JSON document instead of a table.
    #[arg(long)]
    json: bool,
    /// Run only the cases whose name contains this text (case-insensitive).
    #[arg(long, value_name = "TEXT")]
    only: Option<String>,
    /// Do not show the progress indicator.
    #[arg(long)]
    quiet: bool,
}

/// Errors that stop `check` before it can report.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// `--only` matched nothing.
    #[error("--only {0:?} matches no case (try `clonekit check --json | grep case` to list them)")]
    NoMatch(String),
    /// The report could not be written.
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the suite and prints the report.
pub fn run(args: &Args) -> Result<Outcome, CheckError> {
    let mut cases: Vec<Case> = flags::cases();
    cases.extend(rules::cases());
    cases.extend(corpus::cases());
    if let Some(only) = &args.only {
        let needle = only.to_ascii_lowercase();
        cases.retain(|c| format!("{} {}", c.group, c.name).to_ascii_lowercase().contains(&needle));
        if cases.is_empty() {
            return Err(CheckError::NoMatch(only.clone()));
        }
    }
    let progress = !args.quiet && !args.json && std::io::stderr().is_terminal();
    let (results, stopped_by) = harness::run_all(&cases, progress);
    let failed = results.iter().any(|r| matches!(r.status, Status::Fail));
    if args.json {
        report::json(&results)?;
    } else {
        report::table(&results)?;
    }
    if let Some(sig) = stopped_by {
        eprintln!("clonekit: check interrupted by {sig} after {} of {} cases", results.len(), cases.len());
        return Ok(Outcome::Interrupted(sig.number() as u8));
    }
    Ok(if failed { Outcome::Failed } else { Outcome::Ok })
}
