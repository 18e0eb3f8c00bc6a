//! `clonekit sim FILE…`: runs scenarios (docs/scenario-language.md) on the model of the
//! kernel and prints their transcripts; exit 1 if an expectation failed, 2 on bad input.

use std::io::Write;
use std::path::PathBuf;

use clonekit_scenario::{run_file_on_model, ScenarioError, Transcript};

use crate::Outcome;

/// `clonekit sim` options.
#[derive(clap::Args)]
pub struct Args {
    /// Scenario files (`scenarios/*.scn`).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Print the transcripts as JSON (one array).
    #[arg(long)]
    json: bool,
    /// Print only failures and the summary, not every transcript line.
    #[arg(long, short)]
    quiet: bool,
}

/// Errors of `sim`: a scenario that cannot be read, parsed or run, or output that cannot be
/// written.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A scenario is bad input.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// Writing failed.
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs `clonekit sim`. Every file is parsed and run before anything is printed, so bad
/// input anywhere prints one line and nothing else.
pub fn run(args: &Args) -> Result<Outcome, SimError> {
    let transcripts: Vec<Transcript> =
        args.files.iter().map(|f| run_file_on_model(f)).collect::<Result<_, ScenarioError>>()?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &transcripts).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        for t in &transcripts {
            if args.quiet {
                for f in &t.failures {
                    match &f.got {
                        Some(got) => {
                            writeln!(out, "{}:{}: expected {}, got {}", t.file, f.line, f.expected, got)?
                        }
                        None => writeln!(
                            out,
                            "{}:{}: expected {}, but the step did not resume here",
                            t.file, f.line, f.expected
                        )?,
                    }
                }
            } else {
                write!(out, "{t}")?;
            }
        }
        if transcripts.len() > 1 || args.quiet {
            let failed = transcripts.iter().filter(|t| !t.passed()).count();
            let checked: usize = transcripts.iter().map(|t| t.checked).sum();
            writeln!(
                out,
                "{} scenarios, {} expectations checked, {} scenarios failed",
                transcripts.len(),
                checked,
                failed
            )?;
        }
    }
    Ok(if transcripts.iter().all(Transcript::passed) { Outcome::Ok } else { Outcome::Failed })
}
