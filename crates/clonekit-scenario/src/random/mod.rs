//! Random scenarios that are always valid, for differential testing of the model against the
//! real kernel.
//!
//! Generation has two stages, so that shrinking works:
//!
//! 1. [`program`] is a proptest strategy for a [`Program`]: a list of abstract [`Choice`]s,
//!    each a small record of numbers ("task number 3 makes a clone with preset 2 and flag
//!    toggles 5 and 17"). Nothing in a choice refers to anything else by name.
//! 2. [`interpret`] turns a program into a concrete [`Scenario`], driving the model step by
//!    step: a choice's numbers pick among the tasks that can run a step *now* (they exist,
//!    are not blocked or stopped, have not ended), and a choice that does not apply (no task
//!    can run, too many tasks already, a host name change outside a private UTS namespace) is
//!    skipped. So any sub-list of a program, which is what proptest tries while shrinking,
//!    still interprets to a valid scenario.
//!
//! Flag sets come from clonekit-flags: a libc [`Preset`] (or nothing) with rows of
//! [`FLAG_TABLE`] toggled, valid and invalid combinations alike. Operations avoid what would
//! legitimately differ between the model and a real machine, or touch the machine outside the
//! scenario: no `kill -1` (it would reach the test runner) and no `kill` of a raw pid; `kill 0`
//! and `kill -NAME` only reach the scenario's process groups (the first task leads a session of
//! its own); host names only set in a task's own UTS namespace, files only from the fixed tree
//! every Linux host has, descriptors 0-2 (the runner's) never polled or duplicated by
//! `pidfd_getfd`. Where the kernel races in a way the model marks (a vfork parent's merged
//! SIGCHLD), the race is generated on purpose ([`Action::RaceIdiom`]).
//! Where `clone3` does not reach the kernel (a container's seccomp profile refuses it),
//! [`interpret_for`] leaves `clone3` choices out: on the kernel they could only be refused.

mod differ;
mod text;

pub use differ::{
    compare, counterexample_text, save_counterexample, soak, soak_until, Difference, Found, Run, SoakReport,
};
pub use text::{op_text, to_text};

use clonekit_flags::{
    CloneFlags, Preset, Privilege, FLAG_TABLE, PIDFD_NONBLOCK, PIDFD_SIGNAL_PROCESS_GROUP,
    PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_THREAD,
};
use clonekit_model::{
    Disposition, NsKind, SigprocmaskHow, WALL, WCLONE, WCONTINUED, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT,
    WUNTRACED,
};
use proptest::prelude::*;

use crate::ast::{
    ArgsAt, Capset, Clone3Args, FdArg, Op, PidArg, Ptr, Scenario, Step, StepKind, Target, WaitidId, Word,
};
use crate::backend::{Backend, Env, Outcome, TaskKey, TaskStatus, Value};
use crate::model::ModelBackend;

/// The most steps a generated scenario has.
pub const MAX_STEPS: usize = 25;
/// The most tasks a generated scenario creates (the first task included).
pub const MAX_TASKS: usize = 8;

/// The memory words generated scenarios use: two plain words, and the words passed to the
/// kernel as the parent's tid, the child's tid and the pidfd.
const VARS: [&str; 5] = ["x", "y", "p", "c", "f"];
/// Files every Linux host has (and the model's fixed tree holds), and one that none has.
const FILES: [&str; 4] = ["/dev/null", "/dev/zero", "/etc/passwd", "/nonexistent"];
/// Directories for `chdir`.
const DIRS: [&str; 7] = ["/", "/tmp", "/proc", "/dev", "/etc", "..", "/nonexistent"];
/// Signals sent and handled (0 is `kill`'s existence check; SIGSTOP and SIGCONT for group
/// stops).
const SIGNALS: [u32; 9] = [10, 12, 15, 9, 18, 17, 1, 0, 19];
/// Whether a creating call makes a vfork child whose exit signal can kill its parent. The
/// child's exit completes the vfork (`mm_release`) and then sends the signal
/// (`exit_notify`): whether the woken parent returns from its call before the signal
/// arrives is a race on a real machine, so such calls are left out.
fn vfork_with_fatal_exit_signal(flags: CloneFlags, exit_signal: u64) -> bool {
    flags.contains(CloneFlags::CLONE_VFORK) && may_kill_parent(exit_signal)
}

/// Whether an exit signal may kill the parent it is sent to: anything but none and SIGCHLD
/// (whose default action is to ignore it).
fn may_kill_parent(exit_signal: u64) -> bool {
    !matches!(exit_signal, 0 | SIGCHLD)
}

/// Signals whose default action dumps core, sent in scenarios that set resource limits
/// (elsewhere `RLIMIT_CORE` stays 0 and they kill like any other).
const CORE_SIGNALS: [u32; 3] = [3, 11, 6];
/// Soft and hard `RLIMIT_CORE` values: none, less than `min_coredump`, one page, unlimited.
const CORE_LIMITS: [u64; 5] = [0, 1024, 4096, 1 << 20, clonekit_flags::RLIM_INFINITY];
/// `RLIMIT_NPROC` values: a few tasks, the first task's, unlimited (a raise, `EPERM`).
const NPROC_LIMITS: [u64; 6] = [2, 3, 4, 6, clonekit_flags::FIRST_TASK_NPROC, clonekit_flags::RLIM_INFINITY];

/// A pointer for a creating call: the memory word `word`, or now and then one that faults.
fn pointer(word: &str, bits: u8) -> Ptr {
    match bits >> 6 {
        2 => Ptr::Unmapped,
        3 => Ptr::Null,
        _ => Ptr::Word(word.to_string()),
    }
}

/// `SIGCHLD`, the exit signal of fork and vfork children.
const SIGCHLD: u64 = clonekit_flags::ExitSignal::SIGCHLD.raw();

/// The capabilities credential steps name: those the model's rules look at.
const CAPS: [u32; 6] = [
    clonekit_flags::CAP_SYS_ADMIN,
    clonekit_flags::CAP_CHECKPOINT_RESTORE,
    clonekit_flags::CAP_SYS_PTRACE,
    clonekit_flags::CAP_KILL,
    clonekit_flags::CAP_SETUID,
    clonekit_flags::CAP_SYS_NICE,
];

/// The uids `setuid` and `seteuid` take: `nobody` (most often), root and `UID_NOBODY` of the
/// selftests.
const UIDS: [u32; 4] = [65534, 0, 65535, 65534];

/// Exit signals for `clone`/`clone3`: SIGCHLD most, none, one that kills the parent, a real-time
/// one, and 65 (invalid for `clone3`, rule C7).
const EXIT_SIGNALS: [u64; 6] = [17, 17, 0, 10, 34, 65];

/// A flag set: a preset's flags (0: none) with rows of [`FLAG_TABLE`] toggled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagPick {
    /// `0`: no flags; `n`: `Preset::ALL[n - 1]`, modulo.
    pub base: u8,
    /// Indices into [`FLAG_TABLE`] (modulo) whose flag is flipped.
    pub toggles: Vec<u8>,
    /// Index into the exit signals (modulo); `0` keeps the preset's.
    pub signal: u8,
}

impl FlagPick {
    /// The flags and exit signal it stands for.
    fn resolve(&self) -> (CloneFlags, u64) {
        let (mut flags, mut sig) = if self.base == 0 {
            (CloneFlags::empty(), SIGCHLD)
        } else {
            let p = Preset::ALL[(usize::from(self.base) - 1) % Preset::ALL.len()];
            (p.flags(), p.exit_signal().raw())
        };
        for t in &self.toggles {
            flags ^= FLAG_TABLE[usize::from(*t) % FLAG_TABLE.len()].flag;
        }
        if self.signal != 0 {
            sig = EXIT_SIGNALS[usize::from(self.signal) % EXIT_SIGNALS.len()];
        }
        (flags, sig)
    }
}

/// What a choice asks a task to do; the numbers pick among what exists when it is
/// interpreted (always modulo, so any number is valid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `fork`.
    Fork,
    /// `vfork`.
    Vfork,
    /// `clone FLAGS [ptid=p] [ctid=c] [tls=N]`; `words` bit 0 passes `ptid`, bit 1 `ctid`.
    Clone(FlagPick, u8),
    /// `clone3 FLAGS exit=SIG …`; `words` bits: 0 `ptid`, 1 `ctid`, 2 `pidfd`, 3 `set_tid=1`.
    Clone3(FlagPick, u8),
    /// `exit N`.
    Exit(u8),
    /// `exit_group N`.
    ExitGroup(u8),
    /// `wait4 TARGET OPTS`: target 0 is `-1`, else a task; options from a bit set.
    Wait4(u8, u8),
    /// `waitid`: id 0 `all`, 1 `pidfd f`, else a task; options from a bit set.
    Waitid(u8, u8),
    /// `execve`.
    Execve,
    /// `getpid`, `gettid`, `getppid`, `gethostname`, `getcwd`, `handled`, `sigaltstack`,
    /// `prctl get_pdeathsig`, `ioprio_get`.
    Query(u8),
    /// `ns KIND`.
    Ns(u8),
    /// `unshare FLAGS`: rows of [`FLAG_TABLE`].
    Unshare(Vec<u8>),
    /// `sethostname hN`, only in a task outside the first UTS namespace.
    Sethostname(u8),
    /// `prctl subreaper` (0) or `prctl pdeathsig SIG`.
    Prctl(u8),
    /// `store VAR N`.
    Store(u8, u8),
    /// `load VAR`.
    Load(u8),
    /// `set_tid_address VAR`.
    SetTidAddress(u8),
    /// `futex_wait VAR N`, or on `c` with a task's tid (`pthread_join`).
    FutexWait(u8, u8),
    /// `futex_wake VAR N`.
    FutexWake(u8, u8),
    /// `chdir DIR`.
    Chdir(u8),
    /// `umask MODE`.
    Umask(u8),
    /// `open FILE [cloexec]`.
    Open(u8, bool),
    /// `close`, `dup`, `cloexec on|off`, `fdstate`, `seek`, `tell` on fd 0-5.
    Fd(u8, u8),
    /// `sigaction SIG [dfl|ign|handler]`.
    Sigaction(u8, u8),
    /// `sigprocmask HOW SIGS`.
    Sigprocmask(u8, u8),
    /// `kill TASK SIG`.
    Kill(u8, u8),
    /// `tgkill TASK TASK SIG`.
    Tgkill(u8, u8, u8),
    /// `kill TASK SIGSTOP` to a task that can run a step.
    Stop(u8),
    /// `kill TASK SIGCONT` to a task that is stopped (none stopped: skipped).
    Continue(u8),
    /// `sigaltstack on|off`.
    Sigaltstack(bool),
    /// `ioprio_set CLASS,LEVEL`.
    IoprioSet(u8),
    /// `pidfd_open TASK FLAGS` (a task, or now and then 0 or -1), flags from a small set.
    PidfdOpen(u8, u8),
    /// `nsfd TASK KIND`.
    NsOpen(u8, u8),
    /// `setns FD NSTYPE`: a descriptor 3-8 or the word `f`, one namespace flag, all of them,
    /// 0, or one that is not a namespace's.
    Setns(u8, u8),
    /// `pidfd_send_signal FD SIG [FLAGS] [info=CODE]`: a descriptor 3-6 or the word `f`.
    PidfdSendSignal(u8, u8, u8),
    /// `pidfd_getfd FD TARGETFD [FLAGS]`.
    PidfdGetfd(u8, u8),
    /// `ptrace …`: the request, the task, and the options or signal.
    Ptrace(u8, u8, u8),
    /// `poll FD [wait]`: a descriptor 3-6, or the word `f`.
    Poll(u8),
    /// `setpgid PID PGID`: each 0 or a task.
    Setpgid(u8, u8),
    /// `setsid`.
    Setsid,
    /// `getpgid`/`getsid` of the caller (0) or a task.
    GetIds(u8),
    /// Credentials: `capset drop CAP`, `capset CAPS`, `capget CAP`, `setuid UID`,
    /// `seteuid UID`, `getuid`, `geteuid`, `prctl dumpable N`, `prctl keepcaps N` and the
    /// `prctl` reads (`get_dumpable`, `get_keepcaps`, `get_subreaper`).
    Cred(u8, u8),
    /// Several steps that make a race of the kernel's the model marks: a handled SIGCHLD
    /// pending while the task sleeps in a vfork, and the vfork child's exit signal.
    RaceIdiom(u8),
    /// `setrlimit core|nproc SOFT HARD` or `getrlimit core|nproc` (a program with one sets a
    /// limit from its first step, see [`interpret_for`]).
    Limit(u8, u8),
    /// `kill TASK SIG` with a signal that dumps core, in a program that sets limits.
    Dump(u8, u8),
}

/// One abstract step: which runnable task (modulo) does what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// Picks among the tasks that can run a step.
    pub task: u8,
    /// What it does.
    pub action: Action,
}

/// An abstract scenario: what [`interpret`] turns into a concrete one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program(pub Vec<Choice>);

fn flag_pick() -> impl Strategy<Value = FlagPick> {
    (
        0u8..=Preset::ALL.len() as u8,
        prop::collection::vec(any::<u8>(), 0..4),
        prop_oneof![3 => Just(0u8), 1 => any::<u8>()],
    )
        .prop_map(|(base, toggles, signal)| FlagPick { base, toggles, signal })
}

fn action() -> impl Strategy<Value = Action> {
    let b = any::<u8>;
    prop_oneof![
        4 => Just(Action::Fork),
        2 => Just(Action::Vfork),
        6 => (flag_pick(), b()).prop_map(|(f, w)| Action::Clone(f, w)),
        4 => (flag_pick(), b()).prop_map(|(f, w)| Action::Clone3(f, w)),
        4 => b().prop_map(Action::Exit),
        2 => b().prop_map(Action::ExitGroup),
        5 => (b(), b()).prop_map(|(t, o)| Action::Wait4(t, o)),
        3 => (b(), b()).prop_map(|(t, o)| Action::Waitid(t, o)),
        1 => Just(Action::Execve),
        4 => b().prop_map(Action::Query),
        2 => b().prop_map(Action::Ns),
        2 => prop::collection::vec(b(), 1..3).prop_map(Action::Unshare),
        1 => b().prop_map(Action::Sethostname),
        1 => b().prop_map(Action::Prctl),
        3 => (b(), b()).prop_map(|(v, n)| Action::Store(v, n)),
        3 => b().prop_map(Action::Load),
        1 => b().prop_map(Action::SetTidAddress),
        2 => (b(), b()).prop_map(|(v, n)| Action::FutexWait(v, n)),
        2 => (b(), b()).prop_map(|(v, n)| Action::FutexWake(v, n)),
        1 => b().prop_map(Action::Chdir),
        1 => b().prop_map(Action::Umask),
        2 => (b(), any::<bool>()).prop_map(|(f, c)| Action::Open(f, c)),
        2 => (b(), b()).prop_map(|(k, fd)| Action::Fd(k, fd)),
        2 => (b(), b()).prop_map(|(s, a)| Action::Sigaction(s, a)),
        1 => (b(), b()).prop_map(|(h, s)| Action::Sigprocmask(h, s)),
        3 => (b(), b()).prop_map(|(t, s)| Action::Kill(t, s)),
        1 => (b(), b(), b()).prop_map(|(a, t, s)| Action::Tgkill(a, t, s)),
        2 => b().prop_map(Action::Stop),
        3 => b().prop_map(Action::Continue),
        1 => any::<bool>().prop_map(Action::Sigaltstack),
        1 => b().prop_map(Action::IoprioSet),
        3 => (b(), b()).prop_map(|(t, f)| Action::PidfdOpen(t, f)),
        2 => (b(), b()).prop_map(|(t, k)| Action::NsOpen(t, k)),
        2 => (b(), b()).prop_map(|(fd, f)| Action::Setns(fd, f)),
        3 => (b(), b(), b()).prop_map(|(fd, s, f)| Action::PidfdSendSignal(fd, s, f)),
        1 => (b(), b()).prop_map(|(fd, t)| Action::PidfdGetfd(fd, t)),
        3 => (b(), b(), b()).prop_map(|(r, t, n)| Action::Ptrace(r, t, n)),
        2 => (b(), b()).prop_map(|(k, n)| Action::Cred(k, n)),
        2 => b().prop_map(Action::Poll),
        2 => (b(), b()).prop_map(|(a, g)| Action::Setpgid(a, g)),
        1 => Just(Action::Setsid),
        2 => b().prop_map(Action::GetIds),
        1 => b().prop_map(Action::RaceIdiom),
        1 => (b(), b()).prop_map(|(r, v)| Action::Limit(r, v)),
        1 => (b(), b()).prop_map(|(t, s)| Action::Dump(t, s)),
    ]
}

/// A strategy for programs of up to [`MAX_STEPS`] choices.
pub fn program() -> impl Strategy<Value = Program> {
    prop::collection::vec(
        (any::<u8>(), action()).prop_map(|(task, action)| Choice { task, action }),
        1..=MAX_STEPS,
    )
    .prop_map(Program)
}

/// A pidfd argument: descriptors 3 to 6 (where `pidfd_open` puts them), or the word `f`
/// (where `clone3 … pidfd=f` stores one).
fn pidfd_arg(n: u8) -> FdArg {
    match n % 5 {
        4 => FdArg::Var("f".into()),
        m => FdArg::Num(3 + i32::from(m)),
    }
}

fn pick<T: Copy>(list: &[T], n: u8) -> T {
    list[usize::from(n) % list.len()]
}

/// Now and then an option bit the call does not know (`wait4`: `WEXITED` and `WNOWAIT` too),
/// which makes it `EINVAL`.
fn raw_wait_bits(n: u8) -> u32 {
    match n % 16 {
        0 => 0x10,
        1 => WEXITED,
        2 => 0x20,
        _ => 0,
    }
}

/// Wait options from a bit set: each of the low bits adds one option.
fn wait_options(bits: u8, waitid: bool) -> u32 {
    let table = if waitid {
        [WEXITED, WUNTRACED, WCONTINUED, WNOHANG, WNOWAIT, WCLONE, WALL, WNOTHREAD]
    } else {
        [WNOHANG, WCLONE, WALL, WNOTHREAD, WUNTRACED, WCONTINUED, 0, 0]
    };
    let mut o = 0;
    for (i, bit) in table.iter().enumerate() {
        if bits & (1 << i) != 0 {
            o |= bit;
        }
    }
    if waitid && bits & 0x80 == 0 {
        // Mostly ask for something waitid can report (without any of these it is EINVAL).
        o |= WEXITED;
    }
    o
}

/// The interpreter's state: the model, run as far as the scenario goes.
struct Interp {
    model: ModelBackend,
    env: Env,
    steps: Vec<Step>,
    /// The first UTS namespace (the machine's, on the kernel).
    host_uts: Option<Value>,
    next_name: usize,
    /// The exit signal each created task was given, by name.
    exit_signals: std::collections::HashMap<String, u64>,
    /// Whether `clone3` choices apply.
    clone3: bool,
    /// Who the scenario is for.
    caller: Caller,
    /// Whether the scenario sets resource limits (its first step does).
    limits: bool,
}

/// A `setrlimit` or `getrlimit` of `core` or `nproc`, from two numbers.
fn limit_op(r: u8, v: u8) -> Op {
    use clonekit_flags::{RLIMIT_CORE, RLIMIT_NPROC};
    let resource = if r.is_multiple_of(2) { RLIMIT_CORE } else { RLIMIT_NPROC };
    if (r / 2).is_multiple_of(4) {
        return Op::Getrlimit(resource);
    }
    let table: &[u64] = if resource == RLIMIT_CORE { &CORE_LIMITS } else { &NPROC_LIMITS };
    let soft = pick(table, v);
    // Mostly the hard limit kept (unlimited for core, the first task's for nproc) or a soft
    // one equal to it; now and then one below the soft limit (EINVAL) or a raise (EPERM).
    let hard = match v / 8 % 4 {
        0 | 1 => {
            if resource == RLIMIT_CORE {
                clonekit_flags::RLIM_INFINITY
            } else {
                clonekit_flags::FIRST_TASK_NPROC.max(soft)
            }
        }
        2 => soft,
        _ => pick(table, v / 32),
    };
    Op::Setrlimit { resource, soft, hard }
}

impl Interp {
    fn new(caller: Caller, limits: bool) -> Interp {
        let env = Env::new("main", VARS.iter().map(|v| v.to_string()).collect(), &Default::default())
            .with_limits(limits);
        let mut model =
            ModelBackend::for_caller_on(caller.privilege, crate::KernelBackend::linux()).like_this_process();
        let _ = model.start(&env);
        let mut it = Interp {
            model,
            env,
            steps: Vec::new(),
            host_uts: None,
            next_name: 1,
            exit_signals: Default::default(),
            clone3: caller.clone3,
            caller,
            limits,
        };
        it.host_uts = it.query(TaskKey(0), &Op::Ns(NsKind::Uts));
        it
    }

    /// Every task, by key.
    fn tasks(&self) -> Vec<TaskKey> {
        (0..self.env.next_key().0).map(TaskKey).collect()
    }

    fn runnable(&self) -> Vec<TaskKey> {
        self.tasks().into_iter().filter(|k| self.model.status(*k) == TaskStatus::Running).collect()
    }

    fn name(&self, k: TaskKey) -> String {
        self.env.name(k).to_string()
    }

    /// Any task ever created, by a number.
    fn any_task(&self, n: u8) -> String {
        let all = self.tasks();
        self.name(pick(&all, n))
    }

    /// A side-effect-free question to the model, not part of the scenario.
    fn query(&mut self, k: TaskKey, op: &Op) -> Option<Value> {
        let next = self.env.next_key();
        match self.model.step(k, op, &self.env, next) {
            Ok(Outcome::Done(v)) => Some(v),
            _ => None,
        }
    }

    /// Whether signalling `target` with `sig` may kill it in a way that sends a signal back to
    /// the sender `k`: a parent-death signal when `k` has one set, or the target's own exit
    /// signal when it is not SIGCHLD. The target dies on its own CPU while the sender returns
    /// from its call, so whether the sender's step reports `ok` or its death is a race on a
    /// real machine; such steps are left out.
    fn death_comes_back(&mut self, k: TaskKey, target: &str, sig: u32) -> bool {
        if sig == 0 {
            return false;
        }
        let pdeathsig = self.query(k, &Op::PrctlGetPdeathsig);
        let has_pdeathsig = !matches!(pdeathsig, Some(Value::Signal(0)) | Some(Value::Num(0)));
        has_pdeathsig
            || self.exit_signals.get(target).is_some_and(|&s| may_kill_parent(s))
            || self.orphans_the_sender(k)
    }

    /// Whether a death may leave the sender's process group orphaned with a stopped process
    /// in it, which is then sent SIGHUP (kill_orphaned_pgrp): the sender is outside the first
    /// task's group (which is orphaned from the start) while a task is stopped.
    fn orphans_the_sender(&mut self, k: TaskKey) -> bool {
        let first = self.query(TaskKey(0), &Op::Getpgid(PidArg::Num(0)));
        let mine = self.query(k, &Op::Getpgid(PidArg::Num(0)));
        let stopped = self.tasks().into_iter().any(|t| self.model.status(t) == TaskStatus::Stopped);
        stopped && (first.is_none() || first != mine)
    }

    /// Whether `target` is another thread of `k`'s thread group. A signal that dumps core
    /// kills the group from the thread that takes it (`complete_signal` leaves the group
    /// kill to `do_coredump`'s `zap_threads`), so whether a sender in the group returns from
    /// its call before it dies is a race on a real machine; such steps are left out.
    fn another_thread_of(&self, k: TaskKey, target: &str) -> bool {
        let Some(t) = self.env.task(target) else { return false };
        t != k && self.model.same_thread_group(k, t)
    }

    /// [`Interp::death_comes_back`] for a signal to a process group: any task may be in it.
    fn group_death_comes_back(&mut self, k: TaskKey, sig: u32) -> bool {
        !matches!(sig, 0 | 17 | 18)
            && self.tasks().into_iter().any(|t| {
                let n = self.name(t);
                self.death_comes_back(k, &n, sig)
            })
    }

    /// Whether task `k` lacks a permitted capability the generator's credential steps may
    /// have taken from it (those of [`CAPS`], and `CAP_CHOWN`, which `capset CAPS` drops).
    fn dropped_caps(&mut self, k: TaskKey) -> bool {
        CAPS.iter().chain(&[clonekit_flags::CAP_CHOWN]).any(|&cap| {
            matches!(self.query(k, &Op::Capget(cap)), Some(Value::Caps(sets)) if sets & Value::CAP_PERMITTED == 0)
        })
    }

    /// A small number to store or compare. Without a pid namespace of their own (an ordinary
    /// user who may not create one), the tasks' ids are the machine's, which the model cannot
    /// know: numbers are then kept clear of any pid (above `pid_max`'s limit), so that a word
    /// holds a task's id only where the kernel wrote it.
    fn stored_number(&self, n: u8) -> u32 {
        match self.caller.privilege {
            Privilege::Unprivileged { .. } => (1 << 22) + u32::from(n),
            _ => u32::from(n),
        }
    }

    fn fresh_name(&mut self) -> String {
        let n = format!("t{}", self.next_name);
        self.next_name += 1;
        n
    }

    /// The operation a choice stands for in task `k`, or `None` when it does not apply.
    fn op(&mut self, k: TaskKey, a: &Action) -> Option<Op> {
        let creating = matches!(a, Action::Fork | Action::Vfork | Action::Clone(..) | Action::Clone3(..));
        if creating && self.env.next_key().0 >= MAX_TASKS {
            return None;
        }
        if matches!(a, Action::Clone3(..)) && !self.clone3 {
            return None;
        }
        // A traced task's vfork: whether its child's SIGCHLD stops it before the call
        // returns to user space is a race (the child's exit after the vfork is over takes
        // longer with namespaces to let go of) whose sides differ by a result line, which no
        // step can say; scenarios 186 and 187 show traced creating calls.
        let vfork = match a {
            Action::Vfork => true,
            Action::Clone(f, _) | Action::Clone3(f, _) => f.resolve().0.contains(CloneFlags::CLONE_VFORK),
            _ => false,
        };
        if vfork && self.model.traced(k) {
            return None;
        }
        // A tracee's fork while its tracer sleeps in a wait: the tracee's event stop and its
        // new child's first stop both wake the tracer, whichever comes first (on a real
        // machine most often the child's, which runs at once on another CPU).
        if creating && self.model.tracer_asleep(k) {
            return None;
        }
        // An exec while another thread of the group is traced waits in de_thread until the
        // tracer reaps that thread: a sleep the kernel backend cannot tell from a hang.
        if matches!(a, Action::Execve) && self.model.group_has_other_tracee(k) {
            return None;
        }
        Some(match a {
            Action::Fork => Op::Fork { name: self.fresh_name() },
            Action::Vfork => Op::Vfork { name: self.fresh_name() },
            Action::Clone(pick_flags, words) => {
                let (mut flags, sig) = pick_flags.resolve();
                // Legacy clone has no room for the clone3-only flags.
                flags.remove(CloneFlags::CLONE3_ONLY);
                if vfork_with_fatal_exit_signal(flags, sig) {
                    return None;
                }
                let tls = if flags.contains(CloneFlags::CLONE_SETTLS) { 1 } else { 0 };
                Op::Clone {
                    flags: flags.bits() | sig,
                    ptid: (words & 1 != 0).then(|| pointer("p", *words)),
                    ctid: (words & 2 != 0).then(|| pointer("c", *words)),
                    tls,
                    name: self.fresh_name(),
                }
            }
            Action::Clone3(pick_flags, words) => {
                let (flags, mut sig) = pick_flags.resolve();
                // CLONE_AUTOREAP wants no exit signal (rule P8): mostly none.
                if flags.contains(CloneFlags::CLONE_AUTOREAP) && words & 0xc0 != 0 {
                    sig = 0;
                }
                if vfork_with_fatal_exit_signal(flags, sig) {
                    return None;
                }
                let mut args = Clone3Args {
                    flags: flags.bits(),
                    exit: sig,
                    ptid: (words & 1 != 0).then(|| pointer("p", *words)),
                    ctid: (words & 2 != 0).then(|| pointer("c", *words)),
                    pidfd: (words & 4 != 0).then(|| pointer("f", *words)),
                    set_tid: (words & 0x38 == 0x38).then(|| vec![1]),
                    tls: if flags.contains(CloneFlags::CLONE_SETTLS) { 1 } else { 0 },
                    ..Clone3Args::default()
                };
                if words & 0x38 == 0x20 {
                    // The struct itself where reading it faults: NULL, a page without access,
                    // or ending at one with a size that runs into it (a size that does not
                    // only succeeds for a call that makes a fork-like child).
                    args.at = pick(&[ArgsAt::Null, ArgsAt::Unmapped, ArgsAt::Guarded], words >> 6);
                    let fork_like = !flags.intersects(CloneFlags::CLONE_VM | CloneFlags::CLONE_SETTLS);
                    args.size = Some(match args.at {
                        ArgsAt::Guarded if fork_like => pick(&[88, 89, 96, 64], *words),
                        ArgsAt::Guarded => pick(&[89, 96], *words),
                        _ => pick(&[88, 89, 96], *words),
                    });
                }
                Op::Clone3 { args: Box::new(args), name: self.fresh_name() }
            }
            Action::Exit(n) => Op::Exit(i32::from(n % 4)),
            Action::ExitGroup(n) => Op::ExitGroup(i32::from(n % 4)),
            Action::Wait4(t, o) => {
                let target = match t % 16 {
                    0 | 4 | 8 | 12 => Target::All,
                    1 => Target::Group,
                    2 => Target::Pgrp(self.any_task(t / 16)),
                    // Raw pids that name nothing (ECHILD), and INT_MIN (ESRCH).
                    3 => Target::Num(pick(&[4_000_000, i32::MIN, -4_000_000], t / 16)),
                    _ => Target::Task(self.any_task(*t)),
                };
                Op::Wait4 { target, options: wait_options(*o, false) | raw_wait_bits(t / 16) }
            }
            Action::Waitid(t, o) => {
                let id = match t % 6 {
                    0 => WaitidId::All,
                    1 => WaitidId::Pidfd(pidfd_arg(t / 6)),
                    2 => WaitidId::Pgid(if t / 6 % 3 == 0 {
                        PidArg::Num(0)
                    } else {
                        PidArg::Task(self.any_task(t / 6))
                    }),
                    3 if t / 6 % 4 == 0 => WaitidId::Pid(PidArg::Num(pick(&[0, -1, 4_000_000], t / 24))),
                    _ => WaitidId::Pid(PidArg::Task(self.any_task(*t))),
                };
                Op::Waitid {
                    id,
                    options: wait_options(*o, true) | raw_wait_bits(t / 6),
                    siginfo: t / 6 % 2 == 0,
                }
            }
            Action::Execve => {
                // An exec that gives a task back capabilities it had dropped (root's exec gets
                // the bounding set) leaves its memory not dumpable (commit_creds); an ordinary
                // user's coordinator may then not read how the task ends in its own step
                // (/proc/TID/stat hides the exit code): root of a user namespace of its own
                // makes it only with every capability. (An ordinary user without one has none
                // to get back.) Under no_new_privs, which the model does not follow, the exec
                // gives nothing back: left out too.
                let unobservable = matches!(self.caller.privilege, Privilege::NamespaceRoot { .. });
                if (unobservable || self.caller.no_new_privs) && self.dropped_caps(k) {
                    return None;
                }
                Op::Execve
            }
            Action::Query(q) => match q % 9 {
                0 => Op::Getpid,
                1 => Op::Gettid,
                2 => Op::Getppid,
                3 => Op::Gethostname,
                4 => Op::Getcwd,
                5 => Op::Handled,
                6 => Op::Sigaltstack(None),
                7 => Op::PrctlGetPdeathsig,
                _ => Op::IoprioGet,
            },
            Action::Ns(n) => Op::Ns(pick(&NsKind::ALL, *n)),
            Action::Unshare(rows) => {
                let mut f = CloneFlags::empty();
                for r in rows {
                    f |= FLAG_TABLE[usize::from(*r) % FLAG_TABLE.len()].flag;
                }
                Op::Unshare(f.bits())
            }
            Action::Sethostname(n) => {
                let uts = self.query(k, &Op::Ns(NsKind::Uts));
                if uts.is_none() || uts == self.host_uts {
                    return None;
                }
                Op::Sethostname(format!("h{}", n % 4))
            }
            Action::Prctl(n) => match n % 4 {
                0 => Op::PrctlSubreaper,
                _ => Op::PrctlPdeathsig(pick(&SIGNALS, n / 4)),
            },
            Action::Store(v, n) => Op::Store(pick(&VARS, *v).into(), self.stored_number(n % 4)),
            Action::Load(v) => Op::Load(pick(&VARS, *v).into()),
            Action::SetTidAddress(v) => Op::SetTidAddress(pick(&VARS, *v).into()),
            Action::FutexWait(v, n) => {
                if v % 3 == 0 {
                    Op::FutexWait("c".into(), Word::Tid(self.any_task(*n)))
                } else {
                    Op::FutexWait(pick(&VARS, *v).into(), Word::Num(self.stored_number(n % 3)))
                }
            }
            Action::FutexWake(v, n) => Op::FutexWake(pick(&VARS, *v).into(), u32::from(n % 3)),
            Action::Chdir(d) => Op::Chdir(pick(&DIRS, *d).into()),
            Action::Umask(m) => Op::Umask(pick(&[0o022, 0o077, 0, 0o027], *m)),
            Action::Open(f, cloexec) => Op::Open { path: pick(&FILES, *f).into(), cloexec: *cloexec },
            Action::Fd(kind, fd) => {
                let fd = i32::from(fd % 6);
                // Fds 0-2 are whatever the program running the scenario was given (a pipe, a
                // file, a terminal): only their open state is comparable, not their offsets.
                if fd < 3 && matches!(kind % 7, 1 | 4 | 5) {
                    return None;
                }
                match kind % 7 {
                    0 => Op::Close(fd),
                    1 => Op::Dup(fd),
                    2 => Op::Cloexec(fd, true),
                    3 => Op::Cloexec(fd, false),
                    4 => Op::Seek(fd, i64::from(kind / 7 % 3) * 5),
                    5 => Op::Tell(fd),
                    _ => Op::Fdstate(fd),
                }
            }
            Action::Sigaction(s, a) => {
                let sig = pick(&SIGNALS[..7], *s);
                if sig == 9 {
                    // SIGKILL cannot be changed: read it only.
                    return Some(Op::Sigaction(sig, None));
                }
                let act = match a % 4 {
                    0 => None,
                    1 => Some(Disposition::Default),
                    2 => Some(Disposition::Ignore),
                    _ => Some(Disposition::Handler),
                };
                Op::Sigaction(sig, act)
            }
            Action::Sigprocmask(h, s) => {
                let how =
                    pick(&[SigprocmaskHow::Block, SigprocmaskHow::Unblock, SigprocmaskHow::SetMask], *h);
                let mut set = 0u64;
                for (i, sig) in [10u32, 12, 15, 17].iter().enumerate() {
                    if s & (1 << i) != 0 {
                        set |= 1 << (sig - 1);
                    }
                }
                Op::Sigprocmask(how, set)
            }
            Action::Kill(t, s) => {
                let target = self.any_task(*t);
                let sig = pick(&SIGNALS, *s);
                match s / 9 % 8 {
                    // A process group: the caller's own (0), or the one a task's pid names.
                    0 | 1 => {
                        if self.group_death_comes_back(k, sig) {
                            return None;
                        }
                        let t = if s / 9 % 8 == 0 { Target::Group } else { Target::Pgrp(target) };
                        Op::Kill(t, sig)
                    }
                    _ => {
                        if self.death_comes_back(k, &target, sig) {
                            return None;
                        }
                        Op::Kill(Target::Task(target), sig)
                    }
                }
            }
            Action::Dump(t, s) => {
                if !self.limits {
                    return None;
                }
                let target = self.any_task(*t);
                let sig = pick(&CORE_SIGNALS, *s);
                if self.death_comes_back(k, &target, sig) || self.another_thread_of(k, &target) {
                    return None;
                }
                Op::Kill(Target::Task(target), sig)
            }
            Action::Limit(r, v) => {
                if !self.limits {
                    return None;
                }
                limit_op(*r, *v)
            }
            Action::Stop(t) => {
                let running = self.runnable();
                Op::Kill(Target::Task(self.name(pick(&running, *t))), 19)
            }
            Action::Continue(t) => {
                let stopped: Vec<TaskKey> = self
                    .tasks()
                    .into_iter()
                    .filter(|k| self.model.status(*k) == TaskStatus::Stopped)
                    .collect();
                if stopped.is_empty() {
                    return None;
                }
                Op::Kill(Target::Task(self.name(pick(&stopped, *t))), 18)
            }
            Action::Tgkill(a, t, s) => {
                let target = self.any_task(*t);
                let sig = pick(&SIGNALS, *s);
                if self.death_comes_back(k, &target, sig) {
                    return None;
                }
                Op::Tgkill(self.any_task(*a), target, sig)
            }
            Action::Sigaltstack(on) => Op::Sigaltstack(Some(*on)),
            Action::IoprioSet(n) => {
                let class: u16 = if n % 3 == 0 { 3 } else { 2 };
                Op::IoprioSet((class << 13) | u16::from(n % 8))
            }
            Action::PidfdOpen(t, f) => {
                let pid = match t % 16 {
                    0 => PidArg::Num(0),
                    1 => PidArg::Num(-1),
                    _ => PidArg::Task(self.any_task(t / 2)),
                };
                let flags = pick(&[0, 0, PIDFD_NONBLOCK, PIDFD_THREAD, PIDFD_THREAD | PIDFD_NONBLOCK, 1], *f);
                Op::PidfdOpen { pid, flags }
            }
            Action::NsOpen(t, kind) => {
                Op::NsOpen { task: self.any_task(*t), kind: pick(&clonekit_model::NsKind::ALL, *kind) }
            }
            Action::Setns(fd, f) => {
                use clonekit_flags::CloneFlags as F;
                let fd = match fd % 7 {
                    6 => FdArg::Var("f".into()),
                    m => FdArg::Num(3 + i32::from(m)),
                };
                let every = F::CLONE_NEWUSER
                    | F::CLONE_NEWNS
                    | F::CLONE_NEWPID
                    | F::CLONE_NEWUTS
                    | F::CLONE_NEWIPC
                    | F::CLONE_NEWNET
                    | F::CLONE_NEWCGROUP
                    | F::CLONE_NEWTIME;
                let choices = [
                    0,
                    F::CLONE_NEWUSER.bits() as i32,
                    F::CLONE_NEWNS.bits() as i32,
                    F::CLONE_NEWPID.bits() as i32,
                    F::CLONE_NEWUTS.bits() as i32,
                    F::CLONE_NEWNET.bits() as i32,
                    F::CLONE_NEWTIME.bits() as i32,
                    F::CLONE_NEWIPC.bits() as i32,
                    F::CLONE_NEWCGROUP.bits() as i32,
                    (F::CLONE_NEWUTS | F::CLONE_NEWNET).bits() as i32,
                    every.bits() as i32,
                    -1,
                    F::CLONE_VM.bits() as i32,
                ];
                Op::Setns { fd, nstype: pick(&choices, *f) }
            }
            Action::PidfdSendSignal(fd, s, f) => {
                let pidfd = pidfd_arg(*fd);
                let flags = pick(
                    &[0, 0, 0, PIDFD_SIGNAL_THREAD, PIDFD_SIGNAL_THREAD_GROUP, PIDFD_SIGNAL_PROCESS_GROUP, 8],
                    *f,
                );
                let info = match f / 7 % 6 {
                    0 => Some(clonekit_flags::SI_QUEUE),
                    1 => Some(clonekit_flags::SI_USER),
                    _ => None,
                };
                let sig = pick(&SIGNALS, *s);
                // Whom it reaches: the pidfd's process, or (a process group) anyone; a death
                // that comes back to the sender is a race (see death_comes_back).
                let whom = match &pidfd {
                    FdArg::Num(n) => self.model.pidfd_task(k, *n),
                    FdArg::Var(v) => {
                        let n = self.model.word(k, &self.env, v);
                        n.and_then(|n| self.model.pidfd_task(k, n as i32))
                    }
                };
                let fatal_to_anyone =
                    flags == PIDFD_SIGNAL_PROCESS_GROUP && self.group_death_comes_back(k, sig);
                let back = match whom {
                    Some(t) => {
                        let n = self.name(t);
                        self.death_comes_back(k, &n, sig)
                    }
                    None => false,
                };
                if fatal_to_anyone || back {
                    return None;
                }
                // Now and then a siginfo of another signal (EINVAL).
                let signo = (info.is_some() && s / 16 % 6 == 0).then(|| pick(&SIGNALS, s / 3));
                Op::PidfdSendSignal { pidfd, sig, flags, info, signo }
            }
            Action::Ptrace(r, t, n) => {
                use crate::ast::PtraceOp as P;
                use clonekit_flags as fl;
                let name = self.any_task(*t);
                // Attaching a vfork parent, whose stops race with its child's exit (as above).
                if matches!(r % 9, 1 | 2) && self.env.task(&name).is_some_and(|key| self.model.in_vfork(key))
                {
                    return None;
                }
                let task = PidArg::Task(name);
                // Options: none, or a few of the events and EXITKILL.
                let options = [
                    0,
                    fl::PTRACE_O_TRACEFORK,
                    fl::PTRACE_O_TRACECLONE | fl::PTRACE_O_TRACEEXEC,
                    fl::PTRACE_O_TRACEVFORK | fl::PTRACE_O_TRACEVFORKDONE,
                    fl::PTRACE_O_EXITKILL,
                    fl::PTRACE_O_TRACEFORK | fl::PTRACE_O_TRACECLONE | fl::PTRACE_O_EXITKILL,
                ];
                let sig = if n % 3 == 0 { pick(&SIGNALS, n / 3) } else { 0 };
                Op::Ptrace(match r % 9 {
                    0 => P::Traceme,
                    1 => P::Attach(task),
                    2 => P::Seize(task, pick(&options, *n)),
                    3 => P::Setoptions(task, pick(&options, *n)),
                    4 => P::Detach(task, sig),
                    5 => P::Geteventmsg(task),
                    // Most often: let a stopped tracee go on.
                    _ => P::Cont(task, sig),
                })
            }
            Action::PidfdGetfd(fd, t) => {
                // Descriptors 0-2 are the runner's own (a pipe, a terminal): left out.
                Op::PidfdGetfd {
                    pidfd: pidfd_arg(*fd),
                    fd: 3 + i32::from(t % 3),
                    flags: u32::from(t / 3 % 8 == 0),
                }
            }
            Action::Setpgid(a, b) => {
                let pid = match a % 3 {
                    0 => PidArg::Num(0),
                    _ => PidArg::Task(self.any_task(a / 3)),
                };
                let pgid = match b % 3 {
                    0 => PidArg::Num(0),
                    _ => PidArg::Task(self.any_task(b / 3)),
                };
                Op::Setpgid(pid, pgid)
            }
            Action::Setsid => Op::Setsid,
            Action::GetIds(t) => {
                let pid = if t % 3 == 0 { PidArg::Num(0) } else { PidArg::Task(self.any_task(t / 3)) };
                if t % 2 == 0 {
                    Op::Getpgid(pid)
                } else {
                    Op::Getsid(pid)
                }
            }
            Action::Cred(kind, n) => match kind % 13 {
                0 | 1 => Op::Capset(Capset::Drop(1 << pick(&CAPS, *n))),
                2 => {
                    // A subset of CAPS, by the bits of n.
                    let set = CAPS
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| n & (1 << i) != 0)
                        .fold(0, |s, (_, c)| s | 1 << c);
                    Op::Capset(Capset::Only(set))
                }
                3 | 4 => Op::Capget(pick(&CAPS, *n)),
                5 => Op::Setuid(pick(&UIDS, *n)),
                6 => Op::Seteuid(pick(&UIDS, *n)),
                7 => {
                    if n % 2 == 0 {
                        Op::Getuid
                    } else {
                        Op::Geteuid
                    }
                }
                8 => {
                    // Memory that is not dumpable hides /proc/TID/syscall from a coordinator
                    // without CAP_SYS_PTRACE over the memory's user namespace (an ordinary
                    // user's tasks keep the machine's one until they exec), and with it
                    // whether a call sleeps: only root's scenarios make it.
                    if n % 4 == 0 && !matches!(self.caller.privilege, Privilege::Root { .. }) {
                        return None;
                    }
                    Op::PrctlDumpable(u64::from(pick(&[0u8, 1, 1, 2], *n)))
                }
                9 => Op::PrctlKeepcaps(u64::from(pick(&[0u8, 1, 1, 2], *n))),
                12 => Op::PrctlNoNewPrivs(u64::from(pick(&[1u8, 1, 0, 2], *n))),
                _ => match n % 5 {
                    0 | 3 => Op::PrctlGetDumpable,
                    1 => Op::PrctlGetKeepcaps,
                    4 => Op::PrctlGetNoNewPrivs,
                    _ => Op::PrctlGetSubreaper,
                },
            },
            Action::RaceIdiom(_) => return None,
            Action::Poll(n) => {
                let fd = pidfd_arg(*n);
                // Descriptors 0-2 are the runner's own (a pipe, a terminal): what they report
                // is the runner's business.
                if let FdArg::Var(v) = &fd {
                    if self.model.word(k, &self.env, v).is_some_and(|n| n < 3) {
                        return None;
                    }
                }
                // Now and then until it is ready; now and then how it ended (PIDFD_GET_INFO).
                if n / 5 % 4 == 1 {
                    Op::PidfdInfo(fd)
                } else {
                    Op::Poll { fd, wait: n / 5 % 3 == 0 }
                }
            }
        })
    }

    /// Runs one choice on the model and records it; false when generation must stop.
    fn apply(&mut self, c: &Choice) -> bool {
        let runnable = self.runnable();
        if runnable.is_empty() {
            return false;
        }
        let k = pick(&runnable, c.task);
        if let Action::RaceIdiom(n) = c.action {
            return self.race_idiom(k, n);
        }
        let Some(op) = self.op(k, &c.action) else { return true };
        self.record(k, op)
    }

    /// The steps of a known kernel race, made by `k`, for the model to mark: a handled SIGCHLD
    /// pending while `k` sleeps in a vfork, and the vfork child's exit signal (see scenario
    /// 136). `n` picks whether the vfork child exits or execs, and whether the first child
    /// is still there. Stops where a step does not apply.
    fn race_idiom(&mut self, k: TaskKey, n: u8) -> bool {
        if self.env.next_key().0 + 2 > MAX_TASKS || self.steps.len() + 6 > MAX_STEPS {
            return true;
        }
        let (first, second) = (self.fresh_name(), self.fresh_name());
        let steps: [(Option<&str>, Op); 6] = [
            (None, Op::Sigaction(17, Some(Disposition::Handler))),
            (None, Op::Fork { name: first.clone() }),
            (None, Op::Vfork { name: second.clone() }),
            (
                Some(&first),
                if n.is_multiple_of(2) { Op::Exit(0) } else { Op::Kill(Target::Task(first.clone()), 0) },
            ),
            (Some(&second), if (n / 2).is_multiple_of(2) { Op::Exit(0) } else { Op::Execve }),
            (None, Op::Handled),
        ];
        for (who, op) in steps {
            let task = match who {
                None => k,
                Some(name) => match self.env.task(name) {
                    Some(t) => t,
                    None => return true,
                },
            };
            if self.model.status(task) != TaskStatus::Running {
                return true;
            }
            if !self.record(task, op) {
                return false;
            }
        }
        true
    }

    /// Runs `op` in `k` on the model and records it as a step; false when generation must
    /// stop.
    fn record(&mut self, k: TaskKey, op: Op) -> bool {
        let new = self.env.next_key();
        let Ok(outcome) = self.model.step(k, &op, &self.env, new) else { return false };
        if let Some(name) = op.creates() {
            if matches!(outcome, Outcome::Blocked | Outcome::Done(Value::Pid(_))) {
                self.env.add_task(name);
                let exit_signal = match &op {
                    Op::Clone { flags, .. } => flags & clonekit_flags::CSIGNAL,
                    Op::Clone3 { args, .. } => args.exit,
                    _ => SIGCHLD,
                };
                self.exit_signals.insert(name.to_string(), exit_signal);
            }
        }
        let _ = self.model.resumed(&self.env);
        let line = self.steps.len() + 2;
        let text = op_text(&op);
        self.steps.push(Step {
            line,
            col: 1,
            task: self.name(k),
            text,
            kind: StepKind::Run(op),
            expect: None,
        });
        true
    }
}

/// Who the generated scenarios are for: what the kernel backend's tasks may do here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The tasks' privilege (see [`KernelBackend::caller`](crate::KernelBackend::caller)).
    pub privilege: Privilege,
    /// Whether `clone3` reaches the kernel (no seccomp filter refuses it).
    pub clone3: bool,
    /// Whether the tasks run with `no_new_privs` (an exec gains no capability; the model does
    /// not follow it).
    pub no_new_privs: bool,
    /// Whether scenarios that set resource limits can run
    /// ([`KernelBackend::limits_unsupported`](crate::KernelBackend::limits_unsupported)).
    pub limits: bool,
}

impl Caller {
    /// Root, with `clone3`: what scenarios are written for.
    pub const ROOT: Caller =
        Caller { privilege: Privilege::ROOT, clone3: true, no_new_privs: false, limits: true };

    /// This process, as the kernel backend runs its scenarios.
    pub fn of_this_process() -> Caller {
        Caller {
            privilege: crate::KernelBackend::caller(),
            clone3: clonekit_probe::probe_clone3().is_ok(),
            no_new_privs: clonekit_probe::privilege::no_new_privs(),
            limits: crate::KernelBackend::limits_unsupported().is_none(),
        }
    }
}

/// Interprets a program into a valid scenario for root (see the module documentation).
pub fn interpret(p: &Program) -> Scenario {
    interpret_for(p, Caller::ROOT)
}

/// Interprets a program into a valid scenario for `caller`: the model that drives the
/// choices starts its first task with the caller's privilege, so what the choices build on (a
/// UTS namespace of its own for a host name, a task that exists) is what that caller gets;
/// and `clone3` choices are skipped where `clone3` does not reach the kernel (a filter
/// refuses it: such steps could only fail there).
///
/// A program with a [`Action::Limit`] choice sets resource limits: its first step is the
/// first such choice made a `setrlimit` of `core` in the first task, and the model that drives
/// the choices runs with an ordinary user's limits, as both backends then run the scenario
/// ([`Privilege::for_limits`]).
pub fn interpret_for(p: &Program, caller: Caller) -> Scenario {
    let first_limit = p.0.iter().find_map(|c| match c.action {
        Action::Limit(_, v) if caller.limits => Some(v),
        _ => None,
    });
    let mut it = Interp::new(caller, first_limit.is_some());
    if let Some(v) = first_limit {
        let soft = pick(&CORE_LIMITS, v);
        it.record(
            TaskKey(0),
            Op::Setrlimit {
                resource: clonekit_flags::RLIMIT_CORE,
                soft,
                hard: clonekit_flags::RLIM_INFINITY,
            },
        );
    }
    for c in &p.0 {
        if it.steps.len() >= MAX_STEPS || !it.apply(c) {
            break;
        }
    }
    it.model.finish();
    Scenario {
        file: "random.scn".into(),
        title: None,
        linux: None,
        first_task: "main".into(),
        steps: it.steps,
    }
}

/// A strategy for valid random scenarios.
pub fn scenario() -> impl Strategy<Value = Scenario> {
    program().prop_map(|p| interpret(&p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;
    use crate::run::run;
    use proptest::strategy::ValueTree;

    fn ops(s: &Scenario) -> Vec<(String, StepKind, String, Option<String>)> {
        s.steps
            .iter()
            .map(|st| (st.task.clone(), st.kind.clone(), st.text.clone(), st.expect.clone()))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

        /// print ∘ parse: a generated scenario printed as text parses back to the same steps.
        #[test]
        fn printed_scenarios_parse_back_to_the_same_steps(s in scenario()) {
            let text = to_text(&s);
            let back = parse("random.scn", &text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            prop_assert_eq!(ops(&back), ops(&s), "{}", text);
            prop_assert_eq!(to_text(&back), text);
        }

        /// Every generated scenario runs on the model without a scenario error (no step to a
        /// task that is blocked, gone or unknown), and within the size limits.
        #[test]
        fn generated_scenarios_are_valid(s in scenario()) {
            prop_assert!(s.steps.len() <= MAX_STEPS);
            let created = s.steps.iter().filter(|st| matches!(&st.kind, StepKind::Run(op) if op.creates().is_some())).count();
            prop_assert!(created < 2 * MAX_STEPS);
            let t = run(&s, &mut ModelBackend::for_caller_on(Privilege::ROOT, crate::KernelBackend::linux()));
            prop_assert!(t.is_ok(), "{:?}\n{}", t.err(), to_text(&s));
        }

        /// Removing any choice from a program still interprets to a valid scenario (what
        /// shrinking relies on).
        #[test]
        fn sub_programs_are_valid(p in program(), drop in any::<prop::sample::Index>()) {
            let mut q = p.0.clone();
            q.remove(drop.index(q.len()));
            let s = interpret(&Program(q));
            let t = run(&s, &mut ModelBackend::for_caller_on(Privilege::ROOT, crate::KernelBackend::linux()));
            prop_assert!(t.is_ok(), "{:?}\n{}", t.err(), to_text(&s));
        }
    }

    #[test]
    fn flag_picks_toggle_flag_table_rows() {
        let pick = FlagPick { base: 0, toggles: vec![1, 1, 2], signal: 0 };
        assert_eq!(pick.resolve(), (FLAG_TABLE[2].flag, 17));
        let fork = Preset::ALL.iter().position(|p| *p == Preset::GlibcFork).unwrap() as u8 + 1;
        let pick = FlagPick { base: fork, toggles: vec![], signal: 2 };
        assert_eq!(pick.resolve(), (Preset::GlibcFork.flags(), 0));
    }

    #[test]
    fn clone_flags_print_in_the_language() {
        assert_eq!(
            op_text(&Op::Clone {
                flags: 0x100 | 0x800 | 17,
                ptid: Some(Ptr::Word("p".into())),
                ctid: None,
                tls: 0,
                name: "t1".into()
            }),
            "clone vm|sighand|SIGCHLD ptid=p as t1"
        );
        assert_eq!(op_text(&Op::Unshare(0)), "unshare 0");
    }

    #[test]
    fn generation_stops_groups_and_continues_them() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut sent, mut stopped, mut continued, mut resumed_after) = (0, 0, 0, 0);
        for _ in 0..4000 {
            let s = scenario().new_tree(&mut runner).unwrap().current();
            if !s.steps.iter().any(|st| st.text.contains("SIGSTOP")) {
                continue;
            }
            sent += 1;
            let mut model = ModelBackend::for_caller_on(Privilege::ROOT, crate::KernelBackend::linux());
            let t = crate::run::run(&s, &mut model).expect("a generated scenario runs on the model");
            let text: Vec<String> = t.lines.iter().map(|l| l.to_string()).collect();
            if text.iter().any(|l| l.contains("stopped SIGSTOP")) {
                stopped += 1;
            }
            let stop = text.iter().position(|l| l.contains("SIGSTOP => ok"));
            let cont = text.iter().rposition(|l| l.contains("SIGCONT => ok"));
            if let (Some(a), Some(c)) = (stop, cont) {
                if a < c {
                    continued += 1;
                }
            }
            if cont.is_some_and(|c| text[c..].iter().any(|l| l.contains(": resumed "))) {
                resumed_after += 1;
            }
        }
        assert!(sent >= 400, "{sent} scenarios of 4000 send SIGSTOP");
        assert!(
            stopped >= 1 && continued >= 10 && resumed_after >= 1,
            "stops reported: {stopped}, continued: {continued}, resumed after SIGCONT: {resumed_after}"
        );
    }

    #[test]
    fn generation_meets_races_the_model_marks() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut races = 0;
        for _ in 0..1500 {
            let s = scenario().new_tree(&mut runner).unwrap().current();
            let t = crate::run::run(
                &s,
                &mut ModelBackend::for_caller_on(Privilege::ROOT, crate::KernelBackend::linux()),
            )
            .expect("a generated scenario runs on the model");
            races += t.lines.iter().filter(|l| !l.outcomes.is_empty()).count();
        }
        assert!(races >= 5, "{races} racy answers in 1500 generated scenarios");
    }

    #[test]
    fn generation_changes_credentials_and_meets_their_effects() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut nobody, mut refused, mut dropped, mut not_dumpable) = (0, 0, 0, 0);
        for _ in 0..4000 {
            let s = scenario().new_tree(&mut runner).unwrap().current();
            let t = crate::run::run(
                &s,
                &mut ModelBackend::for_caller_on(Privilege::ROOT, crate::KernelBackend::linux()),
            )
            .expect("a generated scenario runs on the model");
            let text: Vec<String> = t.lines.iter().map(|l| l.to_string()).collect();
            let turned = text.iter().position(|l| l.contains("setuid 65534 => ok"));
            if let Some(at) = turned {
                nobody += 1;
                if text[at..].iter().any(|l| l.ends_with("=> EPERM")) {
                    refused += 1;
                }
            }
            if text.iter().any(|l| l.contains("capset drop") && l.ends_with("=> ok")) {
                dropped += 1;
            }
            if text.iter().any(|l| l.contains("prctl dumpable 0 => ok")) {
                not_dumpable += 1;
            }
        }
        assert!(
            nobody >= 8 && refused >= 3 && dropped >= 40 && not_dumpable >= 5,
            "setuid 65534: {nobody}, then EPERM: {refused}, capabilities dropped: {dropped}, made not dumpable: {not_dumpable}"
        );
    }

    #[test]
    fn generation_covers_the_operations() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..300 {
            let s = scenario().new_tree(&mut runner).unwrap().current();
            for st in &s.steps {
                seen.insert(st.text.split_whitespace().next().unwrap_or("").to_string());
            }
        }
        for op in [
            "fork",
            "vfork",
            "clone",
            "clone3",
            "exit",
            "exit_group",
            "wait4",
            "waitid",
            "execve",
            "kill",
            "futex_wait",
            "open",
            "sigaction",
            "unshare",
            "pidfd_open",
            "pidfd_send_signal",
            "pidfd_getfd",
            "poll",
            "setpgid",
            "setsid",
            "getpgid",
            "getsid",
            "capset",
            "capget",
            "setuid",
            "seteuid",
        ] {
            assert!(seen.contains(op), "{op} never generated: {seen:?}");
        }
    }
}
