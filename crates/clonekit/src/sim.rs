//! `clonekit sim FILE…`: runs scenarios (docs/scenario-language.md) on the model of the
//! kernel and prints their transcripts; exit 1 if an expectation failed, 2 on bad input.

use std::io::Write;
use std::path::PathBuf;

use clonekit_scenario::{ScenarioError, Transcript};

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
    /// Where to run: the model, the real kernel, or both, comparing the transcripts.
    #[arg(long, value_enum, default_value_t = Backend::Both)]
    backend: Backend,
    /// The kernel version the model follows, X.Y (5.0 to 7.3): the rules and semantics of
    /// that release where they changed (docs/kernel-differences.md). Default: the running
    /// kernel's.
    #[arg(long, value_name = "X.Y", value_parser = clonekit_flags::parse_version)]
    linux: Option<clonekit_flags::Version>,
}

/// Where `sim` runs the scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// The model of the kernel (clonekit-model).
    Model,
    /// The running kernel: every task a real task.
    Kernel,
    /// Both, and the transcripts must be the same.
    Both,
}

/// One file's results, or why it was not run: written for other kernel versions than the
/// one the model follows (its `# linux:` line).
enum One {
    Ran(Ran),
    Skipped { file: String, why: String },
}

/// One file's results.
struct Ran {
    /// The transcript shown: the model's, or the kernel's with `--backend kernel`.
    shown: Transcript,
    /// With `--backend both`: where the kernel's transcript differs, if it does.
    difference: Option<String>,
}

fn run_one(
    path: &std::path::Path,
    backend: Backend,
    linux: clonekit_flags::Version,
) -> Result<One, ScenarioError> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|source| ScenarioError::Io { file: name.clone(), source })?;
    let scenario = clonekit_scenario::parse(&name, &text)?;
    if let Some(why) = scenario.not_written_for(linux) {
        return Ok(One::Skipped { file: name, why });
    }
    let on_kernel = || clonekit_scenario::run(&scenario, &mut clonekit_scenario::KernelBackend::new());
    Ok(One::Ran(match backend {
        Backend::Model => {
            let mut model =
                clonekit_scenario::ModelBackend::for_caller_on(clonekit_flags::Privilege::ROOT, linux);
            Ran { shown: clonekit_scenario::run(&scenario, &mut model)?, difference: None }
        }
        Backend::Kernel => Ran { shown: on_kernel()?, difference: None },
        Backend::Both => {
            let caller = clonekit_scenario::KernelBackend::caller();
            let model = clonekit_scenario::run(
                &scenario,
                &mut clonekit_scenario::ModelBackend::for_caller_on(caller, linux).like_this_process(),
            )?;
            let kernel = on_kernel()?;
            let difference = clonekit_scenario::describe_disagreement(&model, &kernel);
            Ran { shown: model, difference }
        }
    }))
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
    let linux = args.linux.unwrap_or_else(clonekit_scenario::KernelBackend::linux);
    let all: Vec<One> =
        args.files.iter().map(|f| run_one(f, args.backend, linux)).collect::<Result<_, ScenarioError>>()?;
    let mut ran = Vec::new();
    let mut skipped = Vec::new();
    for one in all {
        match one {
            One::Ran(r) => ran.push(r),
            One::Skipped { file, why } => skipped.push((file, why)),
        }
    }
    let differing = ran.iter().filter(|r| r.difference.is_some()).count();
    let transcripts: Vec<Transcript> = ran.iter().map(|r| r.shown.clone()).collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        let docs: Vec<serde_json::Value> = ran
            .iter()
            .map(|r| {
                serde_json::json!({
                    "transcript": r.shown,
                    "backend": format!("{:?}", args.backend).to_lowercase(),
                    "kernel_differs_at": r.difference,
                })
            })
            .chain(skipped.iter().map(|(file, why)| serde_json::json!({ "file": file, "skipped": why })))
            .collect();
        serde_json::to_writer_pretty(&mut out, &docs).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        for (file, why) in &skipped {
            writeln!(out, "# {file}: skipped: {why}")?;
        }
        for r in &ran {
            if let Some(d) = &r.difference {
                writeln!(out, "# {}: the kernel's transcript differs at {d}", r.shown.file)?;
            }
        }
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
        if transcripts.len() + skipped.len() > 1 || args.quiet {
            let failed = transcripts.iter().filter(|t| !t.passed()).count();
            let checked: usize = transcripts.iter().map(|t| t.checked).sum();
            write!(
                out,
                "{} scenarios, {} expectations checked, {} scenarios failed",
                transcripts.len(),
                checked,
                failed
            )?;
            if args.backend == Backend::Both {
                write!(
                    out,
                    "; model and kernel agree on {} of {}",
                    transcripts.len() - differing,
                    transcripts.len()
                )?;
            }
            if !skipped.is_empty() {
                write!(out, "; {} skipped (written for other kernel versions)", skipped.len())?;
            }
            writeln!(out)?;
        }
    }
    Ok(if differing == 0 && transcripts.iter().all(Transcript::passed) {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}
