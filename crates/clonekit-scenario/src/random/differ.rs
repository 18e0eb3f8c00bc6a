//! The differential check: one scenario on the model and on the real kernel, transcripts
//! compared line by line; and soaks of many random scenarios, each disagreement shrunk by
//! proptest and ready to be saved in the corpus with the kernel's results as expectations.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::ast::Scenario;
use crate::kernel::KernelBackend;
use crate::model::ModelBackend;
use crate::run::{run, LineKind, Transcript};
use crate::Backend;

use super::{interpret_for, program, to_text, Caller, Program};

/// How one backend's run of a scenario went.
#[derive(Debug, Clone)]
pub enum Run {
    /// It produced this transcript.
    Transcript(Box<Transcript>),
    /// It stopped with this error (a step the backend thought illegal, a backend failure, a
    /// panic).
    Error(String),
}

impl Run {
    fn lines(&self) -> Vec<String> {
        match self {
            Run::Transcript(t) => t.lines.iter().map(ToString::to_string).collect(),
            Run::Error(e) => vec![format!("error: {e}")],
        }
    }
}

/// A scenario on which the model and the kernel disagree.
#[derive(Debug, Clone)]
pub struct Difference {
    /// The scenario.
    pub scenario: Scenario,
    /// The model's run.
    pub model: Run,
    /// The kernel's run.
    pub kernel: Run,
}

impl Difference {
    /// The first pair of lines that differ (`None`: that side has no such line); a race the
    /// model marks agrees with any of its outcomes.
    pub fn first(&self) -> (Option<String>, Option<String>) {
        if let (Run::Transcript(m), Run::Transcript(k)) = (&self.model, &self.kernel) {
            return match crate::run::first_disagreement(m, k) {
                Some(i) => (m.lines.get(i).map(ToString::to_string), k.lines.get(i).map(ToString::to_string)),
                None => (None, None),
            };
        }
        let (m, k) = (self.model.lines(), self.kernel.lines());
        for i in 0..m.len().max(k.len()) {
            if m.get(i) != k.get(i) {
                return (m.get(i).cloned(), k.get(i).cloned());
            }
        }
        (None, None)
    }

    /// What kind of disagreement this is: the operation and the two results of the first
    /// differing lines, task names left out, so that the same model bug found in many
    /// scenarios is shrunk and saved once.
    pub fn signature(&self) -> String {
        let norm = |l: Option<String>| {
            let l = l.unwrap_or_default();
            let (_, rest) = l.split_once(": ").unwrap_or(("", &l));
            let (op, result) = rest.split_once(" => ").unwrap_or((rest, ""));
            let word = |w: &str| {
                let bare = w.split('/').next().unwrap_or(w);
                if bare == "main" || (bare.starts_with('t') && bare[1..].chars().all(|c| c.is_ascii_digit()))
                {
                    "T".to_string()
                } else {
                    w.to_string()
                }
            };
            let op = op.split_whitespace().take_while(|w| *w != "as").next().unwrap_or("").to_string();
            let result: Vec<String> = result.split_whitespace().map(word).collect();
            format!("{op} => {}", result.join(" "))
        };
        let (m, k) = self.first();
        let kernel_error = matches!(self.kernel, Run::Error(_));
        format!("model {} | kernel {}{}", norm(m), norm(k), if kernel_error { " (error)" } else { "" })
    }

    /// What differed, in one line: the model's line and the kernel's.
    pub fn summary(&self) -> String {
        let (m, k) = self.first();
        format!(
            "model `{}`, kernel `{}`",
            m.as_deref().unwrap_or("(no line)"),
            k.as_deref().unwrap_or("(no line)")
        )
    }
}

impl fmt::Display for Difference {
    /// The scenario, then the two transcripts side by side, differing lines marked `!`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the model and the kernel disagree: {}", self.summary())?;
        writeln!(f, "scenario:")?;
        for l in to_text(&self.scenario).lines() {
            writeln!(f, "    {l}")?;
        }
        let (m, k) = (self.model.lines(), self.kernel.lines());
        writeln!(f, "transcripts (model | kernel):")?;
        for i in 0..m.len().max(k.len()) {
            let (a, b) = (m.get(i).map_or("", String::as_str), k.get(i).map_or("", String::as_str));
            if a == b {
                writeln!(f, "    {a}")?;
            } else {
                writeln!(f, "  ! model:  {a}")?;
                writeln!(f, "  ! kernel: {b}")?;
            }
        }
        Ok(())
    }
}

fn run_on(s: &Scenario, backend: &mut dyn Backend) -> Run {
    match catch_unwind(AssertUnwindSafe(|| run(s, backend))) {
        Ok(Ok(t)) => Run::Transcript(Box::new(t)),
        Ok(Err(e)) => Run::Error(e.to_string()),
        Err(p) => Run::Error(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .map(String::as_str)
                .or(p.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        )),
    }
}

/// Runs a scenario on the model and on the real kernel and compares the transcripts line by
/// line, the model told the privilege the kernel backend's tasks have. The program calling this must have called `clonekit_probe::agent::enter_if_agent()`
/// first thing in `main`.
pub fn compare(scenario: &Scenario) -> Result<(), Box<Difference>> {
    let model = run_on(
        scenario,
        &mut ModelBackend::for_caller_on(KernelBackend::caller(), KernelBackend::linux()).like_this_process(),
    );
    let kernel = run_on(scenario, &mut KernelBackend::new());
    let same = match (&model, &kernel) {
        (Run::Transcript(m), Run::Transcript(k)) => crate::run::first_disagreement(m, k).is_none(),
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(Box::new(Difference { scenario: scenario.clone(), model, kernel }))
    }
}

/// A disagreement found by [`soak`]: the case that first showed it, shrunk.
#[derive(Debug, Clone)]
pub struct Found {
    /// The case number (from 0).
    pub case: usize,
    /// The shrunk program.
    pub program: Program,
    /// The difference it shows (after shrinking).
    pub difference: Difference,
    /// Of three more runs of the shrunk scenario, how many disagreed again.
    pub reproduced: usize,
}

/// What a soak did.
#[derive(Debug, Clone)]
pub struct SoakReport {
    /// The seed.
    pub seed: u64,
    /// Scenarios run on both backends (shrinking runs not counted).
    pub count: usize,
    /// Steps in them.
    pub steps: usize,
    /// How long it took.
    pub elapsed: Duration,
    /// Scenarios on which the two disagreed.
    pub disagreements: usize,
    /// The distinct disagreements (by [`Difference::signature`]), each shrunk once.
    pub found: Vec<Found>,
    /// It was stopped before `count` scenarios (see [`soak_until`]).
    pub stopped: bool,
    /// Whether the scenarios could have `clone3` steps: false where `clone3` does not reach
    /// the kernel (a seccomp filter refuses it), and they were left out.
    pub clone3: bool,
}

/// How many shrinking steps a disagreement gets at most.
const SHRINK_ITERS: usize = 300;
/// How long shrinking one disagreement may take (a step that times out costs seconds).
const SHRINK_TIME: Duration = Duration::from_secs(30);

/// Runs `count` random scenarios from `seed` on both backends. Each new kind of disagreement
/// (see [`Difference::signature`]) is shrunk
/// by proptest (removing choices, lowering numbers) to a scenario that still disagrees, then
/// run three more times to tell a steady disagreement from a race. `on_progress(done, found)`
/// is called after every scenario. Deterministic for a seed: the same scenarios in the same
/// order (where `clone3` does not reach the kernel, the same without their `clone3` steps).
pub fn soak(count: usize, seed: u64, on_progress: impl FnMut(usize, Option<&Found>)) -> SoakReport {
    soak_until(count, seed, || false, on_progress)
}

/// [`soak`], stopped as soon as `stop()` is true (asked after every run on the backends,
/// shrinking runs included): the scenario it was running is then left out (a run cut short
/// proves nothing), and the report says it stopped.
pub fn soak_until(
    count: usize,
    seed: u64,
    stop: impl Fn() -> bool,
    mut on_progress: impl FnMut(usize, Option<&Found>),
) -> SoakReport {
    let start = Instant::now();
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config { failure_persistence: None, ..Config::default() }, rng);
    let strategy = program();
    let caller = Caller::of_this_process();
    let mut report = SoakReport {
        seed,
        count: 0,
        steps: 0,
        elapsed: Duration::ZERO,
        disagreements: 0,
        found: Vec::new(),
        stopped: false,
        clone3: caller.clone3,
    };
    let mut seen = std::collections::HashSet::new();
    for case in 0..count {
        if stop() {
            report.stopped = true;
            break;
        }
        let Ok(mut tree) = strategy.new_tree(&mut runner) else { continue };
        let first = tree.current();
        let scenario = interpret_for(&first, caller);
        let compared = compare(&scenario);
        if stop() {
            report.stopped = true;
            break;
        }
        report.count += 1;
        report.steps += scenario.steps.len();
        let found = match compared {
            Ok(()) => None,
            Err(diff) => {
                report.disagreements += 1;
                if !seen.insert(diff.signature()) {
                    on_progress(case + 1, None);
                    continue;
                }
                let (program, difference) = shrink(&mut tree, first, *diff, &stop, caller);
                let s = interpret_for(&program, caller);
                let reproduced = (0..3).filter(|_| compare(&s).is_err()).count();
                if stop() {
                    // Shrinking or the reruns were cut short: this one is not reported.
                    report.count -= 1;
                    report.steps -= scenario.steps.len();
                    report.disagreements -= 1;
                    report.stopped = true;
                    break;
                }
                Some(Found { case, program, difference, reproduced })
            }
        };
        on_progress(case + 1, found.as_ref());
        report.found.extend(found);
    }
    report.elapsed = start.elapsed();
    report
}

/// proptest's shrinking loop: simplify while the case still fails, complicate back when a
/// simplification passes.
fn shrink(
    tree: &mut impl ValueTree<Value = Program>,
    mut best: Program,
    mut diff: Difference,
    stop: &impl Fn() -> bool,
    caller: Caller,
) -> (Program, Difference) {
    if !tree.simplify() {
        return (best, diff);
    }
    let start = Instant::now();
    for _ in 0..SHRINK_ITERS {
        if start.elapsed() > SHRINK_TIME || stop() {
            break;
        }
        let p = tree.current();
        match compare(&interpret_for(&p, caller)) {
            Err(d) => {
                best = p;
                diff = *d;
                if !tree.simplify() {
                    break;
                }
            }
            Ok(()) => {
                if !tree.complicate() {
                    break;
                }
            }
        }
    }
    (best, diff)
}

/// FNV-1a, 64 bits: a stable name for a scenario's text.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The counterexample as a corpus file: a title saying what differed, then the steps with the
/// kernel's results as expectations (the kernel is the final word), `resumed` lines where the
/// kernel resumed a step, and the model's line as a comment where it differs.
pub fn counterexample_text(d: &Difference) -> String {
    let (m, k) = d.first();
    let mut out = format!(
        "# title: random: the model says `{}` where the kernel says `{}`\n",
        m.as_deref().unwrap_or("(nothing)"),
        k.as_deref().unwrap_or("(nothing)")
    );
    out.push_str("# Found by the random scenario generator (clonekit_scenario::random) and shrunk;\n");
    out.push_str("# the expectations are the real kernel's results.\n");
    let Run::Transcript(kt) = &d.kernel else {
        if let Run::Error(e) = &d.kernel {
            out.push_str(&format!("# The kernel backend stopped: {e}\n"));
        }
        out.push_str(&to_text(&Scenario { title: None, ..d.scenario.clone() }));
        return out;
    };
    let model_lines = d.model.lines();
    for (i, l) in kt.lines.iter().enumerate() {
        let model_line = model_lines.get(i).filter(|ml| **ml != l.to_string());
        if let Some(ml) = model_line {
            out.push_str(&format!("# the model: {ml}\n"));
        }
        let op = match l.kind {
            LineKind::Step => l.op.clone(),
            LineKind::Resumed => format!("resumed {}", l.op),
            LineKind::Still => {
                out.push_str(&format!("# still blocked at the end: {}: {}\n", l.task, l.op));
                continue;
            }
        };
        let head = format!("{}: {op}", l.task);
        match &l.result {
            Some(r) => out.push_str(&format!("{head:<44} => {r}\n")),
            None => out.push_str(&format!("{head}\n")),
        }
    }
    out
}

/// Saves a counterexample in `dir` as `random_<hash>.scn` (see [`counterexample_text`]);
/// returns its path. An existing file of that name is left as it is.
pub fn save_counterexample(dir: &Path, d: &Difference) -> std::io::Result<PathBuf> {
    let text = counterexample_text(d);
    let path = dir.join(format!("random_{:016x}.scn", fnv(&to_text(&d.scenario))));
    if !path.exists() {
        std::fs::write(&path, text)?;
    }
    Ok(path)
}
