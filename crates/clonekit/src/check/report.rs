//! Printing check results: a table with a summary line, or JSON.

use std::io::{self, Write};

use clonekit_flags::FLAG_TABLE;

use super::harness::{CaseResult, Status};

/// One flag's row of the corpus summary.
struct FlagRow {
    name: &'static str,
    scenarios: usize,
    model: usize,
    kernel: usize,
    agree: usize,
}

/// For each flag some scenario uses: how many scenarios use it, and how many of those pass
/// on the model, pass on the kernel, and agree.
fn per_flag(results: &[CaseResult]) -> Vec<FlagRow> {
    FLAG_TABLE
        .iter()
        .map(|info| {
            let using: Vec<_> =
                results.iter().filter_map(|r| r.scenario).filter(|d| d.flags.contains(info.flag)).collect();
            FlagRow {
                name: info.name(),
                scenarios: using.len(),
                model: using.iter().filter(|d| d.model_passed).count(),
                kernel: using.iter().filter(|d| d.kernel_passed).count(),
                agree: using.iter().filter(|d| d.agree).count(),
            }
        })
        .filter(|r| r.scenarios > 0)
        .collect()
}

/// Scenarios run on both backends, and how many of them agree.
fn agreement(results: &[CaseResult]) -> (usize, usize) {
    let ran: Vec<_> = results.iter().filter_map(|r| r.scenario).collect();
    (ran.len(), ran.iter().filter(|d| d.agree).count())
}

fn rate(agree: usize, total: usize) -> f64 {
    if total == 0 {
        100.0
    } else {
        100.0 * agree as f64 / total as f64
    }
}

fn status_word(s: &Status) -> &'static str {
    match s {
        Status::Pass => "pass",
        Status::Fail => "FAIL",
        Status::Skip(_) => "skipped",
    }
}

struct Summary {
    passed: usize,
    failed: usize,
    skipped: usize,
}

fn summary(results: &[CaseResult]) -> Summary {
    let count = |f: fn(&Status) -> bool| results.iter().filter(|r| f(&r.status)).count();
    Summary {
        passed: count(|s| matches!(s, Status::Pass)),
        failed: count(|s| matches!(s, Status::Fail)),
        skipped: count(|s| matches!(s, Status::Skip(_))),
    }
}

fn kernel_release() -> String {
    rustix::system::uname().release().to_string_lossy().into_owned()
}

/// The table: one row per case, then the summary line.
pub fn table(results: &[CaseResult]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    let w_case = results.iter().map(|r| r.group.len() + 1 + r.name.len()).max().unwrap_or(4).max(4);
    let w_exp = results.iter().map(|r| r.expected.len()).max().unwrap_or(8).clamp(8, 60);
    let w_obs = results.iter().map(|r| r.observed.len()).max().unwrap_or(8).clamp(8, 60);
    writeln!(out, "{:<w_case$}  {:<w_exp$}  {:<w_obs$}  result", "case", "expected", "observed")?;
    for r in results {
        let case = format!("{} {}", r.group, r.name);
        write!(
            out,
            "{case:<w_case$}  {:<w_exp$}  {:<w_obs$}  {}",
            r.expected,
            r.observed,
            status_word(&r.status)
        )?;
        if let Status::Skip(reason) = &r.status {
            write!(out, " ({reason})")?;
        }
        writeln!(out)?;
    }
    let flags = per_flag(results);
    if !flags.is_empty() {
        writeln!(
            out,
            "\n{:<22}  {:>9}  {:>10}  {:>11}  {:>5}",
            "scenarios per flag", "scenarios", "model pass", "kernel pass", "agree"
        )?;
        for f in &flags {
            writeln!(
                out,
                "{:<22}  {:>9}  {:>10}  {:>11}  {:>5}",
                f.name, f.scenarios, f.model, f.kernel, f.agree
            )?;
        }
    }
    let (ran, agree) = agreement(results);
    if ran > 0 {
        writeln!(
            out,
            "\ncorpus: {ran} scenarios on the model and on the kernel, {agree} agree ({:.1}%)",
            rate(agree, ran)
        )?;
    }
    let s = summary(results);
    writeln!(
        out,
        "{} cases on Linux {}: {} passed, {} failed, {} skipped",
        results.len(),
        kernel_release(),
        s.passed,
        s.failed,
        s.skipped
    )?;
    Ok(())
}

/// The same as one JSON document. `clone3_refused`: what refuses `clone3` here, if anything
/// (`null` when `clone3` reaches the kernel).
pub fn json(results: &[CaseResult], clone3_refused: Option<serde_json::Value>) -> io::Result<()> {
    let s = summary(results);
    let cases: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            serde_json::json!({
                "group": r.group,
                "case": r.name,
                "expected": r.expected,
                "observed": r.observed,
                "status": match r.status { Status::Pass => "pass", Status::Fail => "fail", Status::Skip(_) => "skipped" },
                "skip_reason": match &r.status { Status::Skip(why) => Some(why.as_str()), _ => None },
                "elapsed_us": r.elapsed.as_micros() as u64,
            })
        })
        .collect();
    let (ran, agree) = agreement(results);
    let flags: Vec<serde_json::Value> = per_flag(results)
        .iter()
        .map(|f| {
            serde_json::json!({
                "flag": f.name, "scenarios": f.scenarios, "model_pass": f.model,
                "kernel_pass": f.kernel, "agree": f.agree,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "kernel": kernel_release(),
        "clone3_refused": clone3_refused,
        "cases": cases,
        "corpus": { "scenarios": ran, "agree": agree, "agreement_percent": rate(agree, ran), "per_flag": flags },
        "summary": { "total": results.len(), "passed": s.passed, "failed": s.failed, "skipped": s.skipped },
    });
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)
}
