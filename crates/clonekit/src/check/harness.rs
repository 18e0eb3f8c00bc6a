//! Running cases: one after another, each isolated from the others' failures, with a
//! progress line on a terminal.

use std::io::Write;
use std::time::{Duration, Instant};

use clonekit_flags::Signal;

/// One probe or rule case.
pub struct Case {
    /// `flag` or `rule`.
    pub group: &'static str,
    /// The case's name, e.g. `CLONE_VM` or `P3`.
    pub name: String,
    /// What the kernel should do, in words.
    pub expected: String,
    /// Whether it needs `CAP_SYS_ADMIN` (root, or a user namespace of its own).
    pub needs_caps: bool,
    /// Whether it creates a user namespace (which a kernel may refuse: a limit, a policy).
    pub needs_user_ns: bool,
    /// Runs the case; returns what was observed and the verdict.
    pub run: Box<dyn Fn() -> Observation>,
}

/// What a case observed.
pub struct Observation {
    /// What was seen, in words.
    pub observed: String,
    /// The verdict.
    pub status: Status,
    /// For a scenario case: what the two backends did.
    pub scenario: Option<ScenarioDetail>,
}

/// What a scenario case found, for the per-flag summary.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioDetail {
    /// The flags its creating steps use.
    pub flags: clonekit_flags::CloneFlags,
    /// Its expectations held on the model.
    pub model_passed: bool,
    /// Its expectations held on the kernel.
    pub kernel_passed: bool,
    /// The two transcripts are identical.
    pub agree: bool,
}

impl Observation {
    /// A pass or fail, depending on `ok`.
    pub fn verdict(ok: bool, observed: impl Into<String>) -> Observation {
        Observation {
            observed: observed.into(),
            status: if ok { Status::Pass } else { Status::Fail },
            scenario: None,
        }
    }

    /// A case that cannot run here, with the reason (the missing privilege or feature).
    pub fn skip(reason: impl Into<String>) -> Observation {
        let reason = reason.into();
        Observation { observed: "-".into(), status: Status::Skip(reason), scenario: None }
    }

    /// A case whose machinery failed: reported as a failure with the error.
    pub fn error(what: impl std::fmt::Display) -> Observation {
        Observation { observed: format!("error: {what}"), status: Status::Fail, scenario: None }
    }
}

/// A case's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// The kernel did what was expected.
    Pass,
    /// It did not (or the probe could not observe it).
    Fail,
    /// Not run, with the reason.
    Skip(String),
}

/// A finished case.
pub struct CaseResult {
    /// `flag` or `rule`.
    pub group: &'static str,
    /// The case's name.
    pub name: String,
    /// The expectation.
    pub expected: String,
    /// The observation.
    pub observed: String,
    /// The verdict.
    pub status: Status,
    /// How long it took.
    pub elapsed: Duration,
    /// For a scenario case: what the two backends did.
    pub scenario: Option<ScenarioDetail>,
}

/// Runs every case in order. A panic inside a case is caught and reported as that case's
/// failure, so one broken probe never hides the others.
///
/// Termination signals (Ctrl-C, SIGTERM…) are held while a case runs, so that no case is
/// abandoned with a child, a mount or a semaphore left behind; one that arrived stops the run
/// after the current case and is returned. A case's own waits that can be cut short safely
/// end as soon as one is pending (a scenario's kernel steps: their agents are all ended when
/// the case returns), so the run stops within the longest probe, not the longest wait. The
/// case during which it arrived is not reported: it may have been cut short.
pub fn run_all(cases: &[Case], progress: bool) -> (Vec<CaseResult>, Option<Signal>) {
    let mut out = Vec::with_capacity(cases.len());
    let mut err = std::io::stderr();
    let held = clonekit_probe::observe::HeldSignals::hold().ok();
    let mut stopped_by = None;
    for (i, case) in cases.iter().enumerate() {
        if let Some(sig) = held.as_ref().and_then(|h| h.pending()) {
            stopped_by = Some(sig);
            break;
        }
        if progress {
            let _ = write!(err, "\r\x1b[2K[{:>3}/{}] {} {}", i + 1, cases.len(), case.group, case.name);
            let _ = err.flush();
        }
        let start = Instant::now();
        let obs =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (case.run)())).unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| p.downcast_ref::<&str>().copied())
                    .unwrap_or("panic");
                Observation::error(format!("probe panicked: {msg}"))
            });
        if let Some(sig) = held.as_ref().and_then(|h| h.pending()) {
            stopped_by = Some(sig);
            break;
        }
        out.push(CaseResult {
            group: case.group,
            name: case.name.clone(),
            expected: case.expected.clone(),
            observed: obs.observed,
            status: obs.status,
            elapsed: start.elapsed(),
            scenario: obs.scenario,
        });
    }
    if let Some(sig) = held.as_ref().and_then(|h| h.pending()) {
        stopped_by = Some(sig);
    }
    if progress {
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
    if stopped_by.is_some() {
        // The held signal is not delivered: the caller reports it and exits as it asks.
        std::mem::forget(held);
    }
    (out, stopped_by)
}
