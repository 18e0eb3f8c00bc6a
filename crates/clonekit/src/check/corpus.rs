//! One case per scenario of the embedded corpus: run on the model and on the real kernel,
//! each backend's expectations checked, and the two transcripts compared line for line.

use clonekit_scenario::{parse, run, KernelBackend, ModelBackend, Transcript};

use super::harness::{Case, Observation, ScenarioDetail};

include!(concat!(env!("OUT_DIR"), "/corpus.rs"));

/// The scenario cases, in file order.
pub fn cases() -> Vec<Case> {
    CORPUS
        .iter()
        .map(|&(name, text)| Case {
            group: "scenario",
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

/// The scenario cases with a `clone3` step, by case name.
pub fn needing_clone3() -> Vec<String> {
    CORPUS
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

fn run_one(name: &str, text: &str) -> Observation {
    let scenario = match parse(name, text) {
        Ok(s) => s,
        Err(e) => return Observation::error(e),
    };
    let flags = scenario.flags_used();
    let caller = KernelBackend::caller();
    if scenario.needs_caps() {
        if let Some(why) = caller.lacks_caps() {
            return Observation::skip(why);
        }
    }
    if scenario.flags_used().contains(clonekit_flags::CloneFlags::CLONE_NEWUSER) {
        if let Some(errno) = clonekit_probe::privilege::user_ns_refusal() {
            return Observation::skip(format!(
                "creates a user namespace, which the kernel refuses here ({})",
                errno.name()
            ));
        }
    }
    let model = match run(&scenario, &mut ModelBackend::for_caller(caller)) {
        Ok(t) => t,
        Err(e) => return Observation::error(format!("model: {e}")),
    };
    let kernel = match run(&scenario, &mut KernelBackend::new()) {
        Ok(t) => t,
        Err(e) => return Observation::error(format!("kernel: {e}")),
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
    let mut obs = Observation::verdict(agree && model.passed() && kernel.passed(), observed);
    obs.scenario =
        Some(ScenarioDetail { flags, model_passed: model.passed(), kernel_passed: kernel.passed(), agree });
    obs
}
