//! One case per scenario of the embedded corpus: run on the model and on the real kernel,
//! each backend's expectations checked, and the two transcripts compared line for line.
//! The conformance corpus (see [`super::conformance`]) is run the same way, by the same code.

use clonekit_scenario::{parse, run, KernelBackend, ModelBackend, Scenario, ScenarioError, Transcript};

use super::harness::{Case, Observation, ScenarioDetail};

include!(concat!(env!("OUT_DIR"), "/corpus.rs"));

/// The scenario cases, in file order.
pub fn cases() -> Vec<Case> {
    cases_of("scenario", CORPUS)
}

/// The scenario cases with a `clone3` step, by case name.
pub fn needing_clone3() -> Vec<String> {
    needing_clone3_of(CORPUS)
}

/// One case of `group` per scenario of an embedded corpus, in file order.
pub fn cases_of(group: &'static str, corpus: &'static [(&'static str, &'static str)]) -> Vec<Case> {
    corpus
        .iter()
        .map(|&(name, text)| Case {
            group,
            name: name.trim_end_matches(".scn").to_string(),
            expected: "model = kernel, expectations met".to_string(),
            // The kernel backend gets what it needs itself (see `KernelBackend::caller`).
            needs_caps: false,
            // Nor do the scenarios that create user namespaces need a case-wide skip: see
            // `run_one`.
            needs_user_ns: false,
            run: Box::new(move || run_one(name, text)),
        })
        .collect()
}

/// The cases of an embedded corpus with a `clone3` step, by case name.
pub fn needing_clone3_of(corpus: &[(&str, &str)]) -> Vec<String> {
    corpus
        .iter()
        .filter(|&&(name, text)| parse(name, text).is_ok_and(|s| s.uses_clone3()))
        .map(|&(name, _)| name.trim_end_matches(".scn").to_string())
        .collect()
}

fn expectations(t: &Transcript) -> String {
    if t.passed() {
        "expectations met".to_string()
    } else {
        format!("{} expectation(s) failed", t.failures.len())
    }
}

/// The transcripts of the steps of `scenario` before line `line`, on the model (with this
/// caller's privilege) and on the kernel; `None` if either cannot run them or the kernel's
/// expectations are all met there (the difference is not before that line).
fn before(scenario: &Scenario, line: usize) -> Option<(Transcript, Transcript)> {
    let mut head = scenario.clone();
    head.steps.retain(|s| s.line < line);
    let model = run(
        &head,
        &mut ModelBackend::for_caller_on(KernelBackend::caller(), super::model_linux()).like_this_process(),
    )
    .ok()?;
    let kernel = run(&head, &mut KernelBackend::new()).ok()?;
    (!kernel.passed() || model.to_string() != kernel.to_string()).then_some((model, kernel))
}

fn run_one(name: &str, text: &str) -> Observation {
    let scenario = match parse(name, text) {
        Ok(s) => s,
        Err(e) => return Observation::error(e),
    };
    let flags = scenario.flags_used();
    let linux = super::model_linux();
    if let Some(why) = scenario.not_written_for(linux) {
        return Observation::skip(format!("{why}, this kernel's"));
    }
    let caller = KernelBackend::caller();
    if scenario.needs_caps() {
        if let Some(why) = caller.lacks_caps() {
            return Observation::skip(why);
        }
    }
    if let Some(why) = scenario.lacks_uids(caller) {
        return Observation::skip(why);
    }
    if let Some(why) = scenario.lacks_new_privs(clonekit_probe::privilege::no_new_privs()) {
        return Observation::skip(why);
    }
    if scenario.flags_used().contains(clonekit_flags::CloneFlags::CLONE_NEWUSER) {
        if let Some(errno) = clonekit_probe::privilege::user_ns_refusal() {
            return Observation::skip(format!(
                "creates a user namespace, which the kernel refuses here ({})",
                errno.name()
            ));
        }
    }
    if scenario.sets_limits() {
        if let Some(why) = KernelBackend::limits_unsupported() {
            return Observation::skip(format!("kernel backend: {why}"));
        }
    }
    let model = match run(
        &scenario,
        &mut ModelBackend::for_caller_on(caller, super::model_linux()).like_this_process(),
    ) {
        Ok(t) => t,
        Err(e) => return Observation::error(format!("model: {e}")),
    };
    let (model, kernel, stopped) = match run(&scenario, &mut KernelBackend::new()) {
        Ok(t) => (model, t, None),
        // A step the kernel could not run because an earlier step of the kernel's run went
        // otherwise (a task it should have created does not exist): both backends run the
        // steps before it, so that the transcripts show the step that differs.
        Err(ScenarioError::Step { line, msg, .. }) => match before(&scenario, line) {
            Some((model, kernel)) => {
                (model, kernel, Some(format!(" (the kernel's run stops at line {line}: {msg})")))
            }
            None => return Observation::error(format!("kernel: {}:{line}: {msg}", scenario.file)),
        },
        Err(e) => {
            let e = e.to_string();
            return match KernelBackend::skip_reason(&e) {
                Some(why) => Observation::skip(format!("kernel backend: {why}")),
                None => Observation::error(format!("kernel: {e}")),
            };
        }
    };
    let difference = clonekit_scenario::describe_disagreement(&model, &kernel);
    let agree = difference.is_none();
    let observed = format!(
        "model: {}; kernel: {}; {}",
        expectations(&model),
        expectations(&kernel),
        match &difference {
            None => "transcripts agree".to_string(),
            Some(d) => format!("differ at {d}"),
        }
    );
    let observed = observed + stopped.as_deref().unwrap_or("");
    let mut obs =
        Observation::verdict(stopped.is_none() && agree && model.passed() && kernel.passed(), observed);
    obs.scenario =
        Some(ScenarioDetail { flags, model_passed: model.passed(), kernel_passed: kernel.passed(), agree });
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run that cannot go on at line 3 (the creating step at line 2 gave `EINVAL`, rule P3):
    /// the steps before it still run on both backends, and the kernel's transcript shows the
    /// failed expectation at the creating step.
    #[test]
    fn the_steps_before_a_missing_task_show_the_creating_step() {
        let text = "main: clone thread as t => t\nt: exit 0\n";
        let s = parse("stops.scn", text).expect("scenario");
        let err = run(&s, &mut KernelBackend::new()).expect_err("t is never created");
        let ScenarioError::Step { line, .. } = err else { panic!("not a step error: {err}") };
        assert_eq!(line, 2);
        let (model, kernel) = before(&s, line).expect("the kernel's expectation fails before line 2");
        assert!(!kernel.passed() && !model.passed());
        assert!(kernel.to_string().contains("=> EINVAL"), "{kernel}");
        assert_eq!(model.to_string(), kernel.to_string());
    }
}
