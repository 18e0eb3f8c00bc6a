//! `clonekit check`: live probes on the running kernel.
//!
//! Two kinds of case: for every `CLONE_*` flag, a probe that creates children with and
//! without the flag through clonekit-sys and observes the difference from user space; and
//! for every validation rule of clonekit-flags, a call built to break exactly that rule,
//! issued on the kernel, whose errno must be the one the rule predicts. Then the scenario
//! corpus and the conformance corpus (the public suites' cases), each scenario on the model
//! and on the kernel.
//!
//! Under a seccomp filter that refuses `clone3` (a container's profile), the cases that need
//! `clone3` are skipped with the reason and the rest run through legacy `clone` (see
//! [`clone3`]).

mod clone3;
mod conformance;
mod corpus;
mod flags;
mod harness;
mod report;
mod rules;
mod sandbox;

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
    /// Instead of the suite, run N random scenarios on the model and on the kernel and
    /// report every disagreement (shrunk), exit 0 only if there is none.
    #[arg(long, value_name = "N")]
    random: Option<usize>,
    /// The seed of `--random` (the same seed gives the same scenarios).
    #[arg(long, value_name = "S", default_value_t = 0x636c_6f6e_656b_6974, requires = "random")]
    seed: u64,
    /// Run exactly the case named `GROUP NAME` (how a case that needs capabilities is re-run
    /// in a user namespace of its own).
    #[arg(long, value_name = "GROUP NAME", hide = true, conflicts_with = "only")]
    case: Option<String>,
    /// The kernel version the model follows, X.Y (5.0 to 7.3). Default: the running
    /// kernel's, which the model is compared with (docs/kernel-differences.md lists what
    /// changes between versions).
    #[arg(long, value_name = "X.Y", value_parser = clonekit_flags::parse_version)]
    linux: Option<clonekit_flags::Version>,
}

/// The kernel version the scenario cases' model follows (`--linux`, else the running
/// kernel's), set once by [`run`].
static MODEL_LINUX: std::sync::OnceLock<clonekit_flags::Version> = std::sync::OnceLock::new();

/// The kernel version the scenario cases' model follows.
pub(crate) fn model_linux() -> clonekit_flags::Version {
    *MODEL_LINUX.get_or_init(clonekit_scenario::KernelBackend::linux)
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
    /// The JSON report could not be written.
    #[error("cannot write the report: {0}")]
    Json(#[from] serde_json::Error),
}

/// `--random N --seed S`: a soak of random scenarios on both backends. A termination signal
/// (Ctrl-C) is held, and stops the soak within the scenario it cuts short (see
/// [`harness::run_all`]); what ran before it is reported.
fn random_soak(count: usize, seed: u64, json: bool) -> Result<Outcome, CheckError> {
    use std::io::Write;
    let progress = std::io::stderr().is_terminal() && !json;
    if let Some(refusal) = clone3::detect() {
        eprintln!("clonekit: {}", refusal.random_notice());
    }
    let held = clonekit_probe::observe::HeldSignals::hold().ok();
    let pending = || held.as_ref().and_then(|h| h.pending());
    let report = clonekit_scenario::random::soak_until(
        count,
        seed,
        || pending().is_some(),
        |done, found| {
            if let Some(f) = found {
                eprintln!("\r\x1b[2Kcase {}: {}", f.case, f.difference.summary());
            }
            if progress && done % 50 == 0 {
                eprint!("\r\x1b[2K[{done}/{count}] random scenarios");
            }
        },
    );
    if progress {
        eprint!("\r\x1b[2K");
    }
    let mut out = std::io::stdout().lock();
    if json {
        let found: Vec<serde_json::Value> = report
            .found
            .iter()
            .map(|f| serde_json::json!({"case": f.case, "difference": f.difference.summary(), "reproduced_of_3": f.reproduced, "scenario": clonekit_scenario::random::counterexample_text(&f.difference)}))
            .collect();
        let doc = serde_json::json!({
            "seed": report.seed, "scenarios": report.count, "steps": report.steps,
            "elapsed_ms": report.elapsed.as_millis() as u64, "disagreements": report.disagreements, "found": found,
            "interrupted": report.stopped,
            "clone3_steps": report.clone3,
        });
        serde_json::to_writer_pretty(&mut out, &doc)?;
        writeln!(out)?;
    } else {
        for f in &report.found {
            writeln!(
                out,
                "# case {} (reproduced {} of 3 times): {}",
                f.case,
                f.reproduced,
                f.difference.summary()
            )?;
            writeln!(out, "{}", clonekit_scenario::random::counterexample_text(&f.difference))?;
        }
        writeln!(
            out,
            "random: {} scenarios ({} steps) on the model and on the kernel in {:.1?}, seed {:#x}: {} disagree ({} distinct)",
            report.count,
            report.steps,
            report.elapsed,
            report.seed,
            report.disagreements,
            report.found.len()
        )?;
    }
    if let Some(sig) = pending().filter(|_| report.stopped) {
        eprintln!("clonekit: check interrupted by {sig} after {} of {count} random scenarios", report.count);
        // The held signal is not delivered: the caller exits as it asks.
        std::mem::forget(held);
        return Ok(Outcome::Interrupted(sig.number() as u8));
    }
    Ok(if report.disagreements == 0 { Outcome::Ok } else { Outcome::Failed })
}

/// Runs the suite and prints the report.
pub fn run(args: &Args) -> Result<Outcome, CheckError> {
    if let Some(v) = args.linux {
        let _ = MODEL_LINUX.set(v);
    }
    if let Some(count) = args.random {
        return random_soak(count, args.seed, args.json);
    }
    let mut cases: Vec<Case> = flags::cases();
    cases.extend(rules::cases());
    cases.extend(corpus::cases());
    cases.extend(conformance::cases());
    if let Some(key) = &args.case {
        cases.retain(|c| format!("{} {}", c.group, c.name) == *key);
        if cases.is_empty() {
            return Err(CheckError::NoMatch(key.clone()));
        }
    }
    sandbox::adapt(&mut cases, clonekit_probe::privilege::privilege());
    if let Some(only) = &args.only {
        let needle = only.to_ascii_lowercase();
        cases.retain(|c| format!("{} {}", c.group, c.name).to_ascii_lowercase().contains(&needle));
        if cases.is_empty() {
            return Err(CheckError::NoMatch(only.clone()));
        }
    }
    let clone3_refused = clone3::detect().map(|refusal| {
        let skipped = clone3::skip_cases_needing_clone3(&mut cases, refusal);
        eprintln!("clonekit: {}", refusal.notice(skipped));
        refusal.json(skipped)
    });
    let progress = !args.quiet && !args.json && std::io::stderr().is_terminal();
    let (results, stopped_by) = harness::run_all(&cases, progress);
    let failed = results.iter().any(|r| matches!(r.status, Status::Fail));
    if args.json {
        report::json(&results, clone3_refused)?;
    } else {
        report::table(&results)?;
    }
    if let Some(sig) = stopped_by {
        eprintln!("clonekit: check interrupted by {sig} after {} of {} cases", results.len(), cases.len());
        return Ok(Outcome::Interrupted(sig.number() as u8));
    }
    Ok(if failed { Outcome::Failed } else { Outcome::Ok })
}
