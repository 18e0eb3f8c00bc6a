//! One case per scenario of the embedded corpus: run on the model and on the real kernel,
//! each backend's expectations checked, and the two transcripts compared line for line.

use clonekit_flags::{CloneFlags, Preset};
use clonekit_scenario::{parse, run, KernelBackend, ModelBackend, Op, Scenario, StepKind, Transcript};

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
            run: Box::new(move || run_one(name, text)),
        })
        .collect()
}

/// The scenario cases with a `clone3` step, by case name.
pub fn needing_clone3() -> Vec<String> {
    CORPUS
        .iter()
        .filter(|&&(name, text)| {
            parse(name, text)
                .is_ok_and(|s| s.steps.iter().any(|st| matches!(st.kind, StepKind::Run(Op::Clone3 { .. }))))
        })
        .map(|&(name, _)| name.trim_end_matches(".scn").to_string())
        .collect()
}

/// Every flag the scenario's creating steps pass (fork and vfork count with their presets).
pub fn flags_used(s: &Scenario) -> CloneFlags {
    s.steps.iter().fold(CloneFlags::empty(), |acc, step| match &step.kind {
        StepKind::Run(Op::Fork { .. }) => acc | Preset::GlibcFork.flags(),
        StepKind::Run(Op::Vfork { .. }) => acc | Preset::KernelVfork.flags(),
        StepKind::Run(Op::Clone { flags, .. }) => acc | CloneFlags::from_bits_truncate(*flags),
        StepKind::Run(Op::Clone3 { args, .. }) => acc | CloneFlags::from_bits_truncate(args.flags),
        StepKind::Run(Op::Unshare(bits)) => acc | CloneFlags::from_bits_truncate(*bits),
        _ => acc,
    })
}

/// Whether the scenario needs privileges an unprivileged caller lacks (namespaces).
fn needs_root(s: &Scenario) -> bool {
    flags_used(s).intersects(clonekit_flags::CLONE_NEW_MASK)
        || s.steps.iter().any(|st| matches!(st.kind, StepKind::Run(Op::Sethostname(_))))
}

fn expectations(t: &Transcript) -> String {
    if t.passed() {
        "expectations met".to_string()
    } else {
        format!("{} expectation(s) failed", t.failures.len())
    }
}

/// The first line where two transcripts differ.
fn first_difference(model: &str, kernel: &str) -> String {
    let (m, k): (Vec<&str>, Vec<&str>) = (model.lines().collect(), kernel.lines().collect());
    for i in 0..m.len().max(k.len()) {
        let (a, b) = (m.get(i).copied().unwrap_or("(nothing)"), k.get(i).copied().unwrap_or("(nothing)"));
        if a != b {
            return format!("line {}: model `{a}`, kernel `{b}`", i + 1);
        }
    }
    "identical".to_string()
}

fn run_one(name: &str, text: &str) -> Observation {
    let scenario = match parse(name, text) {
        Ok(s) => s,
        Err(e) => return Observation::error(e),
    };
    let flags = flags_used(&scenario);
    if needs_root(&scenario) && !rustix::process::geteuid().is_root() {
        return Observation::skip("needs root (CAP_SYS_ADMIN) for namespaces and host names");
    }
    let model = match run(&scenario, &mut ModelBackend::new()) {
        Ok(t) => t,
        Err(e) => return Observation::error(format!("model: {e}")),
    };
    let kernel = match run(&scenario, &mut KernelBackend::new()) {
        Ok(t) => t,
        Err(e) => return Observation::error(format!("kernel: {e}")),
    };
    let (m, k) = (model.to_string(), kernel.to_string());
    let agree = m == k;
    let observed = format!(
        "model: {}; kernel: {}; {}",
        expectations(&model),
        expectations(&kernel),
        if agree {
            "transcripts agree".to_string()
        } else {
            format!("differ at {}", first_difference(&m, &k))
        }
    );
    let mut obs = Observation::verdict(agree && model.passed() && kernel.passed(), observed);
    obs.scenario =
        Some(ScenarioDetail { flags, model_passed: model.passed(), kernel_passed: kernel.passed(), agree });
    obs
}
