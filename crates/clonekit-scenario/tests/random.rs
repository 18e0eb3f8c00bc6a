//! Random scenarios on the model and on the real kernel: the transcripts must be the same.
//! Each disagreement is shrunk by proptest and saved as `random_<hash>.scn`, with the
//! kernel's results as the expectations, in the directory `CLONEKIT_COUNTEREXAMPLES` names
//! (the system's temporary directory's `clonekit-counterexamples/` by default; a case worth
//! keeping is moved to `scenarios-open/`, then to `scenarios/` once the model agrees); then
//! the test fails. Nothing is written into the source tree.
//!
//! A test binary with its own `main`, because the `execve` operation re-executes this very
//! program as the task's agent. `CLONEKIT_RANDOM_CASES` sets the number of scenarios,
//! `CLONEKIT_RANDOM_SEED` the seed (default: a fixed one, so a run is reproducible).
//!
//! Without `CLONEKIT_RANDOM_CASES` it runs 500 scenarios; `CLONEKIT_RANDOM_CASES=0` skips
//! it, by name.

use std::path::PathBuf;
use std::time::Instant;

use clonekit_scenario::random::{save_counterexample, soak};

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn main() {
    clonekit_probe::agent::enter_if_agent();
    let cases = env_number("CLONEKIT_RANDOM_CASES", 500) as usize;
    if cases == 0 {
        println!("skipped random_scenarios_agree_on_model_and_kernel: CLONEKIT_RANDOM_CASES=0");
        return;
    }
    let seed = env_number("CLONEKIT_RANDOM_SEED", 0x636c_6f6e_656b_6974);
    let dir = std::env::var_os("CLONEKIT_COUNTEREXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("clonekit-counterexamples"));
    let start = Instant::now();
    let mut last = Instant::now();
    let report = soak(cases, seed, |done, found| {
        if last.elapsed().as_millis() > 500 {
            println!("case {}: {:.1?}", done - 1, last.elapsed());
        }
        last = Instant::now();
        if let Some(f) = found {
            println!("case {}: {}", f.case, f.difference);
        }
        if done % 1000 == 0 {
            println!("{done} scenarios, {:.1?}", start.elapsed());
        }
    });
    let mut saved = Vec::new();
    if !report.found.is_empty() {
        let _ = std::fs::create_dir_all(&dir);
    }
    for f in &report.found {
        match save_counterexample(&dir, &f.difference) {
            Ok(path) => saved.push(format!("{} (reproduced {}/3)", path.display(), f.reproduced)),
            Err(e) => saved.push(format!("could not save case {}: {e}", f.case)),
        }
    }
    if !report.clone3 {
        println!("random: clone3 is refused here (a seccomp filter or an old kernel): scenarios without clone3 steps");
    }
    println!(
        "random: seed {seed:#x}, {} scenarios ({} steps) on the model and the kernel in {:.2?}: {} disagreements ({} distinct)",
        report.count,
        report.steps,
        report.elapsed,
        report.disagreements,
        report.found.len()
    );
    assert_eq!(report.count, cases, "every case ran");
    assert!(report.steps >= report.count, "scenarios have steps");
    if report.disagreements > 0 {
        for s in &saved {
            println!("saved {s}");
        }
        std::process::exit(1);
    }
}
