//! Printing check results: a table with a summary line, or JSON.

use std::io::{self, Write};

use super::harness::{CaseResult, Status};

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
    let s = summary(results);
    writeln!(
        out,
        "\n{} cases on Linux {}: {} passed, {} failed, {} skipped",
        results.len(),
        kernel_release(),
        s.passed,
        s.failed,
        s.skipped
    )?;
    Ok(())
}

/// The same as one JSON document.
pub fn json(results: &[CaseResult]) -> io::Result<()> {
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
    let doc = serde_json::json!({
        "kernel": kernel_release(),
        "cases": cases,
        "summary": { "total": results.len(), "passed": s.passed, "failed": s.failed, "skipped": s.skipped },
    });
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &doc)?;
    writeln!(out)
}
