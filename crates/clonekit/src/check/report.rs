//! Printing check results: a table with a summary line, or JSON.

use std::io::{self, Write};

use clonekit_flags::FLAG_TABLE;

use super::conformance;
use super::harness::{CaseResult, ScenarioDetail, Status};

/// One row of a summary of scenarios run on both backends (a flag's, or a suite's): how many
/// scenarios, and how many of those pass on the model, pass on the kernel, and agree.
struct Row {
    name: &'static str,
    scenarios: usize,
    model: usize,
    kernel: usize,
    agree: usize,
    /// Cases not run (a suite's: written for other kernel versions, or needing what this
    /// caller lacks); `None` where it is not counted (a flag's).
    skipped: Option<usize>,
}

impl Row {
    fn of(name: &'static str, ran: &[ScenarioDetail]) -> Row {
        Row {
            name,
            scenarios: ran.len(),
            model: ran.iter().filter(|d| d.model_passed).count(),
            kernel: ran.iter().filter(|d| d.kernel_passed).count(),
            agree: ran.iter().filter(|d| d.agree).count(),
            skipped: None,
        }
    }

    fn json(&self, key: &str) -> serde_json::Value {
        let mut v = serde_json::json!({
            key: self.name, "scenarios": self.scenarios, "model_pass": self.model,
            "kernel_pass": self.kernel, "agree": self.agree,
        });
        if let Some(n) = self.skipped {
            v["skipped"] = n.into();
        }
        v
    }
}

/// What the scenarios of case group `group` did, with their case names.
fn ran<'a>(
    results: &'a [CaseResult],
    group: &'a str,
) -> impl Iterator<Item = (&'a str, ScenarioDetail)> + 'a {
    results.iter().filter(move |r| r.group == group).filter_map(|r| Some((r.name.as_str(), r.scenario?)))
}

/// For each flag some scenario of the corpus uses: its row.
fn per_flag(results: &[CaseResult]) -> Vec<Row> {
    FLAG_TABLE
        .iter()
        .map(|info| {
            let using: Vec<_> =
                ran(results, "scenario").map(|(_, d)| d).filter(|d| d.flags.contains(info.flag)).collect();
            Row::of(info.name(), &using)
        })
        .filter(|r| r.scenarios > 0)
        .collect()
}

/// For each suite of the conformance corpus that ran: its row.
fn per_suite(results: &[CaseResult]) -> Vec<Row> {
    conformance::suites()
        .map(|suite| {
            let of: Vec<_> = ran(results, conformance::GROUP)
                .filter(|(name, _)| conformance::suite_of(name) == Some(suite))
                .map(|(_, d)| d)
                .collect();
            let skipped = results
                .iter()
                .filter(|r| r.group == conformance::GROUP && conformance::suite_of(&r.name) == Some(suite))
                .filter(|r| matches!(r.status, Status::Skip(_)))
                .count();
            Row { skipped: Some(skipped), ..Row::of(suite, &of) }
        })
        .filter(|r| r.scenarios + r.skipped.unwrap_or(0) > 0)
        .collect()
}

/// Scenarios of case group `group` run on both backends, and how many of them agree.
fn agreement(results: &[CaseResult], group: &str) -> (usize, usize) {
    let ran: Vec<_> = ran(results, group).map(|(_, d)| d).collect();
    (ran.len(), ran.iter().filter(|d| d.agree).count())
}

/// A summary table: its title and column heads, then a line per row.
fn rows(out: &mut impl Write, title: &str, rows: &[Row]) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let skips = rows.iter().any(|r| r.skipped.is_some());
    write!(
        out,
        "\n{title:<22}  {:>9}  {:>10}  {:>11}  {:>5}",
        "scenarios", "model pass", "kernel pass", "agree"
    )?;
    writeln!(out, "{}", if skips { "  skipped" } else { "" })?;
    for r in rows {
        write!(out, "{:<22}  {:>9}  {:>10}  {:>11}  {:>5}", r.name, r.scenarios, r.model, r.kernel, r.agree)?;
        match r.skipped.filter(|_| skips) {
            Some(n) => writeln!(out, "  {n:>7}")?,
            None => writeln!(out)?,
        }
    }
    Ok(())
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
    rows(&mut out, "scenarios per flag", &per_flag(results))?;
    rows(&mut out, "conformance per suite", &per_suite(results))?;
    let (ran, agree) = agreement(results, "scenario");
    if ran > 0 {
        writeln!(
            out,
            "\ncorpus: {ran} scenarios on the model and on the kernel, {agree} agree ({:.1}%)",
            rate(agree, ran)
        )?;
    }
    let (ran, agree) = agreement(results, conformance::GROUP);
    if ran > 0 {
        let skipped = results
            .iter()
            .filter(|r| r.group == conformance::GROUP && matches!(r.status, Status::Skip(_)))
            .count();
        write!(
            out,
            "conformance: {ran} cases of LTP and the kernel selftests on the model and on the kernel, {agree} agree ({:.1}%)",
            rate(agree, ran)
        )?;
        if skipped > 0 {
            write!(out, "; {skipped} skipped (see above)")?;
        }
        writeln!(out)?;
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
    let (ran, agree) = agreement(results, "scenario");
    let flags: Vec<serde_json::Value> = per_flag(results).iter().map(|f| f.json("flag")).collect();
    let (c_ran, c_agree) = agreement(results, conformance::GROUP);
    let suites: Vec<serde_json::Value> = per_suite(results).iter().map(|f| f.json("suite")).collect();
    let doc = serde_json::json!({
        "kernel": kernel_release(),
        "clone3_refused": clone3_refused,
        "cases": cases,
        "corpus": { "scenarios": ran, "agree": agree, "agreement_percent": rate(agree, ran), "per_flag": flags },
        "conformance": { "scenarios": c_ran, "agree": c_agree, "agreement_percent": rate(c_agree, c_ran), "per_suite": suites },
        "summary": { "total": results.len(), "passed": s.passed, "failed": s.failed, "skipped": s.skipped },
    });
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)
}
