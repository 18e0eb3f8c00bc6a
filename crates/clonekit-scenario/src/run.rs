//! The runner: drives a scenario's steps one at a time through a [`Backend`], prints each
//! result the same way whatever the backend, and checks the expectations.

use std::collections::{HashMap, HashSet};
use std::fmt;

use clonekit_flags::{CloneFlags, Signal};
use clonekit_model::{FdState, NsKind, WaitStatus};
use serde::Serialize;

use crate::ast::{FdArg, Op, PidArg, Ptr, Scenario, Step, StepKind, Target, WaitidId};
use crate::backend::{Backend, Env, Outcome, PidView, TaskKey, TaskStatus, Value};
use crate::error::ScenarioError;

/// What a transcript line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A step ran.
    Step,
    /// A blocked step finished.
    Resumed,
    /// A step still blocked when the scenario ended.
    Still,
}

/// One line of a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// The file line of the step (or of the `resumed` line that checked it).
    pub line: Option<usize>,
    /// The task.
    pub task: String,
    /// What kind of line.
    pub kind: LineKind,
    /// The operation, as written (normalized).
    pub op: String,
    /// The result, if the step has one (a race's outcomes joined by ` | `).
    pub result: Option<String>,
    /// Where the result is a race (the model says the kernel may give any of several), each
    /// outcome; empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outcomes: Vec<String>,
    /// The expectation the file gave for it.
    pub expected: Option<String>,
    /// Whether the expectation held (`None`: nothing was expected).
    pub pass: Option<bool>,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.kind {
            LineKind::Step => self.op.clone(),
            LineKind::Resumed => format!("resumed {}", self.op),
            LineKind::Still => format!("still {}", self.op),
        };
        match &self.result {
            Some(r) => write!(f, "{}: {} => {}", self.task, op, r),
            None => write!(f, "{}: {}", self.task, op),
        }
    }
}

/// An expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The file line.
    pub line: usize,
    /// What the file expected.
    pub expected: String,
    /// What happened (`None`: the step did not resume there).
    pub got: Option<String>,
}

/// A scenario's transcript: what every step observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transcript {
    /// The file.
    pub file: String,
    /// Its title.
    pub title: Option<String>,
    /// The lines, in order.
    pub lines: Vec<Line>,
    /// Expectations checked.
    pub checked: usize,
    /// Expectations that failed.
    pub failures: Vec<Failure>,
}

impl Transcript {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for Transcript {
    /// The transcript as text: a header, one line per step, and a summary.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.title {
            Some(t) => writeln!(f, "# {}: {}", self.file, t)?,
            None => writeln!(f, "# {}", self.file)?,
        }
        for l in &self.lines {
            writeln!(f, "{l}")?;
        }
        for fail in &self.failures {
            match &fail.got {
                Some(got) => {
                    writeln!(f, "{}:{}: expected {}, got {}", self.file, fail.line, fail.expected, got)?
                }
                None => writeln!(
                    f,
                    "{}:{}: expected {}, but the step did not resume here",
                    self.file, fail.line, fail.expected
                )?,
            }
        }
        let status =
            if self.passed() { "all passed".to_string() } else { format!("{} failed", self.failures.len()) };
        writeln!(f, "# {} steps, {} expectations checked, {}", self.lines.len(), self.checked, status)
    }
}

/// Names the runner prints with: tasks, namespaces by first observation.
struct Printer {
    ns_classes: HashMap<(NsKind, u64), usize>,
    ns_counts: HashMap<NsKind, usize>,
}

impl Printer {
    fn pid(&self, env: &Env, p: &PidView) -> String {
        if p.nr == 0 {
            return "0".to_string();
        }
        let name = p.task.map_or("init", |k| env.name(k));
        if p.first_ns {
            name.to_string()
        } else {
            format!("{name}/{}", p.nr)
        }
    }

    fn value(&mut self, env: &Env, v: &Value) -> String {
        match v {
            Value::Ok => "ok".into(),
            Value::Errno(e) => e.name().into(),
            Value::Num(n) => n.to_string(),
            Value::Mode(m) => format!("{m:03o}"),
            Value::Pid(p) => self.pid(env, p),
            Value::Wait(None) => "0".into(),
            Value::Wait(Some((p, s))) => format!("{} {}", self.pid(env, p), status_text(s)),
            Value::Trap(p, sig, event) => format!(
                "{} stopped {} {}",
                self.pid(env, p),
                sig_name(*sig),
                clonekit_flags::ptrace_event_name(*event)
                    .map_or_else(|| format!("event {event}"), String::from)
            ),
            Value::Exit(None) => "no exit".into(),
            Value::Exit(Some(s)) => status_text(s),
            Value::Ns(kind, id) => {
                let n = match self.ns_classes.get(&(*kind, *id)) {
                    Some(n) => *n,
                    None => {
                        let count = self.ns_counts.entry(*kind).or_insert(0);
                        *count += 1;
                        let n = *count;
                        self.ns_classes.insert((*kind, *id), n);
                        n
                    }
                };
                format!("{}:{n}", kind.name())
            }
            Value::Text(t) => t.clone(),
            Value::Disposition(d) => d.to_string(),
            Value::Mask(m) => clonekit_model::SigSet(*m).to_string(),
            Value::Fd(FdState::Closed) => "closed".into(),
            Value::Fd(FdState::Open) => "open".into(),
            Value::Fd(FdState::OpenCloexec) => "open cloexec".into(),
            Value::OnOff(b) => if *b { "on" } else { "off" }.into(),
            Value::Signal(0) => "0".into(),
            Value::Signal(s) => sig_name(*s),
            Value::Race(vs) => vs.iter().map(|v| self.value(env, v)).collect::<Vec<_>>().join(ALTERNATIVES),
            Value::SigInfo(None) => "0".into(),
            Value::SigInfo(Some(i)) => {
                let status = if i.code == clonekit_flags::CLD_EXITED {
                    i.status.to_string()
                } else if i.code == clonekit_flags::CLD_TRAPPED && i.status >> 8 != 0 {
                    // A ptrace event stop: (event << 8) | signal.
                    let event = (i.status >> 8) as u32;
                    let name = clonekit_flags::ptrace_event_name(event)
                        .map_or_else(|| event.to_string(), String::from);
                    format!("{}|{name}<<8", sig_name((i.status & 0xff) as u32))
                } else {
                    sig_name(i.status as u32)
                };
                let uid = if i.uid == i.own_uid { "me".to_string() } else { i.uid.to_string() };
                format!(
                    "{{si_signo={}, si_code={}, si_pid={}, si_uid={uid}, si_status={status}}}",
                    sig_name(i.signo as u32),
                    clonekit_flags::format_si_code(i.signo, i.code),
                    self.pid(env, &i.pid),
                )
            }
            Value::Poll(events) => clonekit_flags::format_poll_events(*events),
            Value::Caps(0) => "none".into(),
            Value::Caps(sets) => [
                (Value::CAP_EFFECTIVE, "effective"),
                (Value::CAP_PERMITTED, "permitted"),
                (Value::CAP_INHERITABLE, "inheritable"),
            ]
            .iter()
            .filter(|(bit, _)| sets & bit != 0)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(","),
            Value::Rlimit(soft, hard) => {
                format!("{} {}", clonekit_flags::format_rlim(*soft), clonekit_flags::format_rlim(*hard))
            }
            Value::Ioprio(p) => {
                let class = ["none", "rt", "be", "idle"].get(usize::from(p >> 13)).copied().unwrap_or("?");
                format!("{class},{}", p & 0x1fff)
            }
        }
    }
}

fn sig_name(n: u32) -> String {
    Signal::new(n).map_or_else(|| n.to_string(), |s| s.to_string())
}

/// What separates the outcomes of a race, in results and expectations (`=> 1 | 2`).
pub const ALTERNATIVES: &str = " | ";

/// The outcomes an expectation allows (`1 | 2`: either).
pub fn expected_outcomes(expected: &str) -> Vec<&str> {
    expected.split(ALTERNATIVES).map(str::trim).collect()
}

impl Line {
    /// The outcomes this line's result stands for: one, or a race's.
    pub fn possible(&self) -> Vec<&str> {
        if self.outcomes.is_empty() {
            self.result.as_deref().into_iter().collect()
        } else {
            self.outcomes.iter().map(String::as_str).collect()
        }
    }

    /// Whether the kernel's line `kernel` agrees with this line of the model's: the same
    /// text, or the same step with a result that is one of the model's race's outcomes.
    pub fn agrees_with(&self, kernel: &Line) -> bool {
        if self.to_string() == kernel.to_string() {
            return true;
        }
        !self.outcomes.is_empty()
            && (self.task.as_str(), self.kind, self.op.as_str())
                == (kernel.task.as_str(), kernel.kind, kernel.op.as_str())
            && kernel.result.as_deref().is_some_and(|r| self.outcomes.iter().any(|o| o == r))
    }
}

/// The first line (from 0) where the kernel's transcript disagrees with the model's, if one
/// does: lines are compared with [`Line::agrees_with`], so a race the model marks agrees with
/// any of its outcomes. `None` when they agree throughout.
pub fn first_disagreement(model: &Transcript, kernel: &Transcript) -> Option<usize> {
    let n = model.lines.len().max(kernel.lines.len());
    (0..n).find(|&i| match (model.lines.get(i), kernel.lines.get(i)) {
        (Some(m), Some(k)) => !m.agrees_with(k),
        _ => true,
    })
}

/// Where the kernel's transcript disagrees with the model's, as `line N: model `…`, kernel
/// `…``, N counting the transcript's text lines (its header is line 1); `None` when they agree
/// ([`first_disagreement`]).
pub fn describe_disagreement(model: &Transcript, kernel: &Transcript) -> Option<String> {
    let i = first_disagreement(model, kernel)?;
    let show = |t: &Transcript| t.lines.get(i).map_or_else(|| "(nothing)".to_string(), ToString::to_string);
    Some(format!("line {}: model `{}`, kernel `{}`", i + 2, show(model), show(kernel)))
}

/// The memory words of a scenario, in order of first appearance, and those passed to the
/// kernel as tid pointers.
fn scan_vars(s: &Scenario) -> (Vec<String>, HashSet<String>) {
    let mut vars: Vec<String> = Vec::new();
    let mut tid_words = HashSet::new();
    let add = |v: &String, vars: &mut Vec<String>| {
        if !vars.contains(v) {
            vars.push(v.clone());
        }
    };
    for step in &s.steps {
        let StepKind::Run(op) = &step.kind else { continue };
        match op {
            Op::Clone { flags, ptid, ctid, .. } => {
                let f = CloneFlags::from_bits_retain(*flags);
                if let Some(v) = ptid.as_ref().and_then(Ptr::word) {
                    add(v, &mut vars);
                    if f.contains(CloneFlags::CLONE_PARENT_SETTID) {
                        tid_words.insert(v.clone());
                    }
                }
                if let Some(v) = ctid.as_ref().and_then(Ptr::word) {
                    add(v, &mut vars);
                    if f.intersects(CloneFlags::CLONE_CHILD_SETTID | CloneFlags::CLONE_CHILD_CLEARTID) {
                        tid_words.insert(v.clone());
                    }
                }
            }
            Op::Clone3 { args, .. } => {
                let f = CloneFlags::from_bits_retain(args.flags);
                if let Some(v) = args.ptid.as_ref().and_then(Ptr::word) {
                    add(v, &mut vars);
                    if f.contains(CloneFlags::CLONE_PARENT_SETTID) {
                        tid_words.insert(v.clone());
                    }
                }
                if let Some(v) = args.ctid.as_ref().and_then(Ptr::word) {
                    add(v, &mut vars);
                    if f.intersects(CloneFlags::CLONE_CHILD_SETTID | CloneFlags::CLONE_CHILD_CLEARTID) {
                        tid_words.insert(v.clone());
                    }
                }
                if let Some(v) = args.pidfd.as_ref().and_then(Ptr::word) {
                    add(v, &mut vars);
                }
            }
            Op::SetTidAddress(v) => {
                add(v, &mut vars);
                tid_words.insert(v.clone());
            }
            Op::Store(v, _) | Op::Load(v) | Op::FutexWait(v, _) | Op::FutexWake(v, _) => add(v, &mut vars),
            Op::Waitid { id: WaitidId::Pidfd(FdArg::Var(v)), .. }
            | Op::PidfdSendSignal { pidfd: FdArg::Var(v), .. }
            | Op::PidfdGetfd { pidfd: FdArg::Var(v), .. }
            | Op::Poll { fd: FdArg::Var(v), .. }
            | Op::PidfdInfo(FdArg::Var(v))
            | Op::Setns { fd: FdArg::Var(v), .. } => add(v, &mut vars),
            _ => {}
        }
    }
    (vars, tid_words)
}

/// The task names an operation refers to (besides its own task).
fn referenced_tasks(op: &Op) -> Vec<&str> {
    match op {
        Op::Wait4 { target: Target::Task(n) | Target::Pgrp(n), .. }
        | Op::Kill(Target::Task(n) | Target::Pgrp(n), _) => vec![n],
        Op::Waitid { id: WaitidId::Pgid(PidArg::Task(n)), .. }
        | Op::Getpgid(PidArg::Task(n))
        | Op::Getsid(PidArg::Task(n)) => vec![n],
        Op::Setpgid(a, b) => [a, b]
            .into_iter()
            .filter_map(|p| match p {
                PidArg::Task(n) => Some(n.as_str()),
                PidArg::Num(_) => None,
            })
            .collect(),
        Op::Waitid { id: WaitidId::Pid(PidArg::Task(n)), .. }
        | Op::PidfdOpen { pid: PidArg::Task(n), .. } => {
            vec![n]
        }
        Op::Tgkill(a, b, _) => vec![a, b],
        Op::NsOpen { task, .. } => vec![task],
        Op::FutexWait(_, crate::ast::Word::Tid(n)) => vec![n],
        _ => vec![],
    }
}

/// Runs a scenario on a backend and returns its transcript. Steps that cannot run (their task
/// is blocked, gone or unknown) are errors; expectations that fail are in the transcript.
pub fn run(s: &Scenario, backend: &mut dyn Backend) -> Result<Transcript, ScenarioError> {
    let (vars, tid_words) = scan_vars(s);
    let mut env = Env::new(&s.first_task, vars, &tid_words).with_limits(s.sets_limits());
    let mut printer = Printer { ns_classes: HashMap::new(), ns_counts: HashMap::new() };
    let backend_err = |step: &Step, name: &'static str, msg: String| ScenarioError::Backend {
        file: s.file.clone(),
        line: step.line,
        backend: name,
        msg,
    };
    let step_err = |step: &Step, msg: String| ScenarioError::Step {
        file: s.file.clone(),
        line: step.line,
        col: step.col,
        msg,
    };
    backend.start(&env).map_err(|e| ScenarioError::Backend {
        file: s.file.clone(),
        line: 0,
        backend: backend.name(),
        msg: e.0,
    })?;
    let mut t = Transcript {
        file: s.file.clone(),
        title: s.title.clone(),
        lines: Vec::new(),
        checked: 0,
        failures: Vec::new(),
    };
    // Steps that blocked and have not finished: task → (op text, line).
    let mut blocked: HashMap<TaskKey, (String, usize)> = HashMap::new();
    // Creating steps that created nothing: the name they would have given → why not.
    let mut not_created: HashMap<String, String> = HashMap::new();
    let missing = |name: &str, not_created: &HashMap<String, String>| match not_created.get(name) {
        Some(why) => format!("task {name:?} does not exist: {why}"),
        None => format!("task {name:?} does not exist"),
    };
    let mut i = 0;
    while i < s.steps.len() {
        let step = &s.steps[i];
        i += 1;
        let StepKind::Run(op) = &step.kind else {
            // A `resumed` line not right after a step that released something.
            t.checked += 1;
            t.failures.push(Failure { line: step.line, expected: resumed_expectation(step), got: None });
            continue;
        };
        let Some(key) = env.task(&step.task) else {
            return Err(step_err(step, missing(&step.task, &not_created)));
        };
        match backend.status(key) {
            TaskStatus::Running => {}
            TaskStatus::Blocked => {
                let what = blocked.get(&key).map_or("a step".to_string(), |(op, _)| format!("`{op}`"));
                return Err(step_err(step, format!("task {:?} is blocked in {what}", step.task)));
            }
            TaskStatus::Stopped => return Err(step_err(step, format!("task {:?} is stopped", step.task))),
            TaskStatus::Gone => return Err(step_err(step, format!("task {:?} has exited", step.task))),
        }
        for name in referenced_tasks(op) {
            if env.task(name).is_none() {
                return Err(step_err(step, missing(name, &not_created)));
            }
        }
        let new_key = env.next_key();
        let outcome =
            backend.step(key, op, &env, new_key).map_err(|e| backend_err(step, backend.name(), e.0))?;
        if let Some(name) = op.creates() {
            let created = matches!(&outcome, Outcome::Blocked | Outcome::Done(Value::Pid(_)));
            if created {
                env.add_task(name);
                not_created.remove(name);
            } else {
                let got = match &outcome {
                    Outcome::Done(v) => printer.value(&env, v),
                    _ => "no task".to_string(),
                };
                not_created.insert(
                    name.to_string(),
                    format!("the step at line {} that creates it gave {got}", step.line),
                );
            }
        }
        let outcomes = match &outcome {
            Outcome::Done(Value::Race(vs)) => vs.iter().map(|v| printer.value(&env, v)).collect(),
            _ => Vec::new(),
        };
        let result = match &outcome {
            Outcome::Done(v) => Some(printer.value(&env, v)),
            Outcome::Blocked => {
                blocked.insert(key, (step.text.clone(), step.line));
                Some("blocked".to_string())
            }
            Outcome::Ended if op.ends_task() => None,
            Outcome::Ended => Some("gone".to_string()),
            Outcome::Killed(sig) => Some(format!("killed {}", sig_name(*sig))),
        };
        let mut line = Line {
            line: Some(step.line),
            task: step.task.clone(),
            kind: LineKind::Step,
            op: step.text.clone(),
            result,
            outcomes,
            expected: step.expect.clone(),
            pass: None,
        };
        check(&mut t, &mut line, step.line);
        t.lines.push(line);
        // What this step released, checked against the `resumed` lines that follow it.
        let released = backend.resumed(&env);
        let mut lines: Vec<Line> = released
            .into_iter()
            .map(|(k, v)| {
                let (op, _) = blocked.remove(&k).unwrap_or_else(|| ("?".to_string(), 0));
                Line {
                    line: None,
                    task: env.name(k).to_string(),
                    kind: LineKind::Resumed,
                    op,
                    outcomes: match &v {
                        Value::Race(vs) => vs.iter().map(|x| printer.value(&env, x)).collect(),
                        _ => Vec::new(),
                    },
                    result: Some(printer.value(&env, &v)),
                    expected: None,
                    pass: None,
                }
            })
            .collect();
        while let Some(next) = s.steps.get(i) {
            if next.kind != StepKind::Resumed {
                break;
            }
            i += 1;
            match lines.iter_mut().find(|l| l.task == next.task && l.line.is_none()) {
                Some(l) if l.op == next.text => {
                    l.line = Some(next.line);
                    l.expected = next.expect.clone();
                    let mut tmp = l.clone();
                    check(&mut t, &mut tmp, next.line);
                    *l = tmp;
                }
                Some(l) => {
                    t.checked += 1;
                    t.failures.push(Failure {
                        line: next.line,
                        expected: resumed_expectation(next),
                        got: Some(format!("{l}")),
                    });
                }
                None => {
                    t.checked += 1;
                    t.failures.push(Failure {
                        line: next.line,
                        expected: resumed_expectation(next),
                        got: None,
                    });
                }
            }
        }
        t.lines.extend(lines);
    }
    let mut still: Vec<(TaskKey, (String, usize))> = blocked.into_iter().collect();
    still.sort_by_key(|(_, (_, line))| *line);
    for (k, (op, line)) in still {
        if backend.status(k) == TaskStatus::Blocked {
            t.lines.push(Line {
                line: Some(line),
                task: env.name(k).to_string(),
                kind: LineKind::Still,
                op,
                result: Some("blocked".into()),
                outcomes: Vec::new(),
                expected: None,
                pass: None,
            });
        }
    }
    backend.finish();
    Ok(t)
}

fn resumed_expectation(step: &Step) -> String {
    match &step.expect {
        Some(e) => format!("{}: resumed {} => {}", step.task, step.text, e),
        None => format!("{}: resumed {}", step.task, step.text),
    }
}

/// Compares a line's result with its expectation, recording a failure: every outcome the
/// result stands for (one, or each of a race's) must be one the expectation allows.
fn check(t: &mut Transcript, line: &mut Line, file_line: usize) {
    let Some(exp) = &line.expected else { return };
    t.checked += 1;
    let got = line.result.clone().unwrap_or_default();
    let allowed = expected_outcomes(exp);
    let possible = line.possible();
    let pass = got == *exp || (!possible.is_empty() && possible.iter().all(|o| allowed.contains(o)));
    line.pass = Some(pass);
    if !pass {
        t.failures.push(Failure { line: file_line, expected: exp.clone(), got: Some(got) });
    }
}

/// A wait status as a step's result prints it: `exited 0`, `killed SIGKILL`.
fn status_text(s: &WaitStatus) -> String {
    match s {
        WaitStatus::Exited(n) => format!("exited {n}"),
        WaitStatus::Killed(sig) => format!("killed {}", sig_name(*sig)),
        WaitStatus::Dumped(sig) => format!("killed {} (core dumped)", sig_name(*sig)),
        WaitStatus::Stopped(sig) => format!("stopped {}", sig_name(*sig)),
        WaitStatus::Continued => "continued".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(result: &str, outcomes: &[&str], expected: Option<&str>) -> Line {
        Line {
            line: Some(1),
            task: "main".into(),
            kind: LineKind::Step,
            op: "handled".into(),
            result: Some(result.into()),
            outcomes: outcomes.iter().map(|s| s.to_string()).collect(),
            expected: expected.map(str::to_string),
            pass: None,
        }
    }

    fn passes(mut l: Line) -> bool {
        let mut t = Transcript { file: "t".into(), title: None, lines: vec![], checked: 0, failures: vec![] };
        check(&mut t, &mut l, 1);
        t.passed()
    }

    #[test]
    fn an_expectation_with_alternatives_takes_any_of_them() {
        assert!(passes(line("1", &[], Some("1 | 2"))));
        assert!(passes(line("2", &[], Some("1 | 2"))));
        assert!(!passes(line("3", &[], Some("1 | 2"))));
        // A bar inside a result is part of it.
        assert!(passes(line("POLLIN|POLLHUP", &[], Some("POLLIN|POLLHUP"))));
        assert!(!passes(line("POLLIN", &[], Some("POLLIN|POLLHUP"))));
    }

    #[test]
    fn a_race_passes_only_an_expectation_that_allows_each_outcome() {
        assert!(passes(line("1 | 2", &["1", "2"], Some("1 | 2"))));
        assert!(passes(line("1 | 2", &["1", "2"], Some("2 | 1 | 3"))));
        assert!(!passes(line("1 | 2", &["1", "2"], Some("2"))));
    }

    #[test]
    fn a_kernel_result_agrees_with_a_race_that_has_it() {
        let race = line("1 | 2", &["1", "2"], None);
        assert!(race.agrees_with(&line("1", &[], None)));
        assert!(race.agrees_with(&line("2", &[], None)));
        assert!(!race.agrees_with(&line("3", &[], None)));
        assert!(!line("2", &[], None).agrees_with(&line("1", &[], None)));
        let mut other = line("1", &[], None);
        other.op = "getpid".into();
        assert!(!race.agrees_with(&other));
    }
}
