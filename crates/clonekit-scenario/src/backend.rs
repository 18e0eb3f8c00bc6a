//! The interface between the language and what runs it. The runner drives the steps one at
//! a time; a backend carries each out and says whether it finished or blocked, and reports
//! the blocked steps that finished since. Results come back as [`Value`]s that name tasks by
//! [`TaskKey`], never by pid number, so the runner can print the same transcript whatever
//! numbers the backend's kernel handed out. The model is one backend ([`crate::ModelBackend`]);
//! the real kernel is meant to be another.

use std::collections::{HashMap, HashSet};

use clonekit_flags::Errno;
use clonekit_model::{Disposition, FdState, NsKind, WaitStatus};

use crate::ast::Op;

/// A task of the scenario: the index of its name in [`Env`]. The first task is `TaskKey(0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskKey(pub usize);

/// A memory word of the scenario, numbered in order of first appearance in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VarId(pub usize);

/// The names a backend needs to resolve: tasks created so far, memory words, and which
/// words hold tids (so their loads print as pids).
#[derive(Debug, Clone, Default)]
pub struct Env {
    tasks: Vec<String>,
    by_name: HashMap<String, TaskKey>,
    vars: HashMap<String, VarId>,
    tid_words: HashSet<VarId>,
    sets_limits: bool,
}

impl Env {
    /// An environment with the first task and the scenario's memory words.
    pub fn new(first_task: &str, vars: Vec<String>, tid_words: &HashSet<String>) -> Env {
        let mut env = Env::default();
        env.add_task(first_task);
        for (i, v) in vars.into_iter().enumerate() {
            if tid_words.contains(&v) {
                env.tid_words.insert(VarId(i));
            }
            env.vars.insert(v, VarId(i));
        }
        env
    }

    /// The same, for a scenario that sets resource limits ([`Scenario::sets_limits`](crate::Scenario::sets_limits)).
    pub fn with_limits(mut self, sets_limits: bool) -> Env {
        self.sets_limits = sets_limits;
        self
    }

    /// Whether the scenario sets resource limits: the backends then run it with an ordinary
    /// user's limits ([`Privilege::for_limits`](clonekit_flags::Privilege::for_limits)).
    pub fn sets_limits(&self) -> bool {
        self.sets_limits
    }

    /// Registers a created task; returns its key.
    pub fn add_task(&mut self, name: &str) -> TaskKey {
        let key = TaskKey(self.tasks.len());
        self.tasks.push(name.to_string());
        self.by_name.insert(name.to_string(), key);
        key
    }

    /// The key the next created task will get.
    pub fn next_key(&self) -> TaskKey {
        TaskKey(self.tasks.len())
    }

    /// A task by name, if it was created.
    pub fn task(&self, name: &str) -> Option<TaskKey> {
        self.by_name.get(name).copied()
    }

    /// A task's name.
    pub fn name(&self, key: TaskKey) -> &str {
        self.tasks.get(key.0).map_or("?", String::as_str)
    }

    /// A memory word by name.
    pub fn var(&self, name: &str) -> Option<VarId> {
        self.vars.get(name).copied()
    }

    /// Whether the word is passed to the kernel as a tid pointer.
    pub fn is_tid_word(&self, var: VarId) -> bool {
        self.tid_words.contains(&var)
    }
}

/// A pid or tid as a task saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidView {
    /// The task that was created with this pid (`None`: not a scenario task, i.e. init).
    pub task: Option<TaskKey>,
    /// The number the observer saw (0: none).
    pub nr: i32,
    /// Whether the observer lives in the scenario's first pid namespace (where pids print as
    /// bare names).
    pub first_ns: bool,
}

/// What a finished step returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Success without a value.
    Ok,
    /// Failure.
    Errno(Errno),
    /// A number.
    Num(i64),
    /// A file mode (printed in octal).
    Mode(u32),
    /// A pid.
    Pid(PidView),
    /// A wait result: a child and its status, or nothing yet (`WNOHANG`).
    Wait(Option<(PidView, WaitStatus)>),
    /// A wait result of a ptrace event stop: the tracee, its stop signal and the
    /// `PTRACE_EVENT_*` (`status >> 16`; `waitid`'s `CLD_TRAPPED`, `si_status >> 8`).
    Trap(PidView, u32, u32),
    /// A namespace identity (the kind whose numbering it shares, and an opaque id).
    Ns(NsKind, u64),
    /// Text (a path, a host name).
    Text(String),
    /// A signal disposition.
    Disposition(Disposition),
    /// A signal mask.
    Mask(u64),
    /// A descriptor's state.
    Fd(FdState),
    /// On or off.
    OnOff(bool),
    /// A signal number (0: none).
    Signal(u32),
    /// An I/O priority (class << 13 | level).
    Ioprio(u16),
    /// `poll` events (`revents`).
    Poll(u16),
    /// Which of a task's capability sets hold a capability (`capget`): bits
    /// [`Value::CAP_EFFECTIVE`], [`Value::CAP_PERMITTED`], [`Value::CAP_INHERITABLE`].
    Caps(u8),
    /// A race: on a real machine the step returns any one of these (the model's answer where
    /// the kernel's depends on timing).
    Race(Vec<Value>),
    /// Resource limits (soft, hard), as `getrlimit` reads them.
    Rlimit(u64, u64),
    /// The `siginfo_t` a `waitid` filled (`None`: zeroed, `WNOHANG` with nothing to report).
    SigInfo(Option<WaitInfo>),
    /// How a process ended, as a pidfd keeps it (`PIDFD_INFO_EXIT`); `None`: not known (the
    /// process has not been reaped).
    Exit(Option<WaitStatus>),
}

impl Value {
    /// [`Value::Caps`]: in the effective set.
    pub const CAP_EFFECTIVE: u8 = 1;
    /// [`Value::Caps`]: in the permitted set.
    pub const CAP_PERMITTED: u8 = 2;
    /// [`Value::Caps`]: in the inheritable set.
    pub const CAP_INHERITABLE: u8 = 4;

    /// [`Value::Caps`] for capability `cap` in sets `effective`, `permitted`, `inheritable`.
    pub fn caps_of(cap: u32, effective: u64, permitted: u64, inheritable: u64) -> Value {
        let has = |set: u64, bit: u8| if set & (1 << cap) != 0 { bit } else { 0 };
        Value::Caps(
            has(effective, Value::CAP_EFFECTIVE)
                | has(permitted, Value::CAP_PERMITTED)
                | has(inheritable, Value::CAP_INHERITABLE),
        )
    }
}

/// The fields of the `siginfo_t` a `waitid` fills for a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitInfo {
    /// `si_signo` (`SIGCHLD`).
    pub signo: i32,
    /// `si_code` (`CLD_*`).
    pub code: i32,
    /// `si_pid`.
    pub pid: PidView,
    /// `si_uid`, as the caller's user namespace sees it.
    pub uid: u32,
    /// `si_status`: an exit code or a signal.
    pub status: i32,
    /// The caller's own real uid (`getuid()`), which `si_uid` is printed against.
    pub own_uid: u32,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It returned this.
    Done(Value),
    /// It sleeps; its result comes later from [`Backend::resumed`].
    Blocked,
    /// The task ended (`exit`, `exit_group`, or killed by another thread's exit).
    Ended,
    /// The task was killed by this signal during the step.
    Killed(u32),
}

/// Whether a task can run its next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// It can.
    Running,
    /// It sleeps in a step.
    Blocked,
    /// It is stopped by a signal.
    Stopped,
    /// It has exited (or was never created).
    Gone,
}

/// A backend error: the backend could not do what the step asked (not an errno the step
/// observes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError(pub String);

/// What runs scenarios: the model, or (later) the real kernel.
pub trait Backend {
    /// The backend's name, for messages.
    fn name(&self) -> &'static str;

    /// Creates the first task, `TaskKey(0)`.
    fn start(&mut self, env: &Env) -> Result<(), BackendError>;

    /// Runs `op` in `task`. A step that creates a task gives it `new_task`.
    fn step(&mut self, task: TaskKey, op: &Op, env: &Env, new_task: TaskKey)
        -> Result<Outcome, BackendError>;

    /// Blocked steps that finished since the last call, in the order they blocked.
    fn resumed(&mut self, env: &Env) -> Vec<(TaskKey, Value)>;

    /// Whether `task` can run a step now.
    fn status(&self, task: TaskKey) -> TaskStatus;

    /// Ends the scenario: every task left is killed and reaped.
    fn finish(&mut self);
}
