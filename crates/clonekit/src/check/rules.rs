//! One case per validation rule of clonekit-flags: calls built to break exactly that rule are
//! issued on the kernel (from a caller in the state the rule needs), and each must fail with
//! the rule's errno. For rules decidable from the call and the caller, clonekit-flags'
//! `check` must also name that very rule first, so a prediction and the kernel are compared.
//!
//! A few rules depend on system-wide state that a check must not change (global limits,
//! races with a concurrent execve or a fatal signal); those are skipped with the reason.

use clonekit_flags::{check, rule, CallerState, CloneArgs, CloneCall, CloneFlags as F, ExitSignal, RULES};
use clonekit_probe::trial::{self, Answer, Setup, Trial, TrialError, VALID};

use super::harness::{Case, Observation};

/// `SIGCHLD`, the exit signal of every call below that does not test the exit signal.
const SIGCHLD: u64 = ExitSignal::SIGCHLD.raw();

/// The rule cases, in the kernel's evaluation order.
pub fn cases() -> Vec<Case> {
    RULES
        .iter()
        .map(|r| {
            let id = r.id;
            Case {
                group: "rule",
                name: case_name(r),
                expected: format!("{} ({})", r.errno, r.function),
                needs_caps: needs_caps(id),
                needs_user_ns: needs_user_ns(id),
                run: Box::new(move || run_rule(id)),
            }
        })
        .collect()
}

/// The first words of a rule's reason, for the case name.
fn short(reason: &str) -> String {
    let mut out = String::new();
    for w in reason.split_whitespace() {
        if out.len() + w.len() > 38 {
            out.push('…');
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// What a rule case tries: calls that break it, or why it cannot be tried here.
enum Plan {
    Try(Vec<Trial>),
    Skip(String),
}

fn clone3(flags: F, exit_signal: u64, edit: impl FnOnce(&mut CloneArgs, &mut u64, &mut bool)) -> CloneCall {
    let mut args = CloneArgs { flags: flags.bits(), exit_signal, ..CloneArgs::default() };
    let mut size = 88;
    let mut tail = false;
    edit(&mut args, &mut size, &mut tail);
    CloneCall::Clone3 { args, size, nonzero_tail: tail }
}

fn c3(flags: F) -> CloneCall {
    clone3(flags, SIGCHLD, |_, _, _| {})
}

fn legacy(flags: F) -> CloneCall {
    CloneCall::clone(flags, ExitSignal::SIGCHLD)
}

fn legacy_with(flags: F, parent_tid: u64, tls: u64) -> CloneCall {
    CloneCall::Clone { flags: flags.bits() | SIGCHLD, stack: 0, parent_tid, child_tid: 0, tls }
}

fn one(call: CloneCall) -> Plan {
    Plan::Try(vec![Trial::new(call)])
}

fn from(call: CloneCall, setup: Setup) -> Plan {
    Plan::Try(vec![Trial::new(call).with_setup(setup)])
}

fn skip(why: &str) -> Plan {
    Plan::Skip(why.to_string())
}

/// The calls that break rule `id`.
fn plan(id: &str) -> Plan {
    let vm_thread = F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD;
    match id {
        "C0" if clonekit_sys::clone3_supported() => {
            skip("this kernel has clone3; the rule applies to kernels before 5.3")
        }
        "C0" => one(c3(F::empty())),
        "C1" => one(clone3(F::empty(), SIGCHLD, |_, size, _| *size = 4104)),
        "C2" => one(clone3(F::empty(), SIGCHLD, |_, size, _| *size = 56)),
        "C3" => one(clone3(F::empty(), SIGCHLD, |_, size, tail| {
            *size = 96;
            *tail = true;
        })),
        "C4" => Plan::Try(vec![Trial {
            unreadable_tail: true,
            ..Trial::new(clone3(F::empty(), SIGCHLD, |_, size, _| *size = 96))
        }]),
        "C5" => Plan::Try(vec![Trial::new(clone3(F::empty(), SIGCHLD, |a, _, _| {
            a.set_tid = VALID;
            a.set_tid_size = 33;
        }))
        .with_set_tid(&[1; 33])]),
        "C6" => Plan::Try(vec![
            Trial::new(clone3(F::empty(), SIGCHLD, |a, _, _| a.set_tid_size = 1)),
            Trial::new(clone3(F::empty(), SIGCHLD, |a, _, _| a.set_tid = VALID)).with_set_tid(&[1]),
        ]),
        "C7" => Plan::Try(vec![
            Trial::new(clone3(F::empty(), 65, |_, _, _| {})),
            Trial::new(clone3(F::empty(), 0x100, |_, _, _| {})),
        ]),
        "C8" => Plan::Try(vec![
            Trial::new(clone3(F::CLONE_INTO_CGROUP, SIGCHLD, |a, size, _| {
                a.cgroup = VALID;
                *size = 80;
            })),
            Trial::new(clone3(F::CLONE_INTO_CGROUP, SIGCHLD, |a, _, _| a.cgroup = 1 << 31)),
        ]),
        "C9" => Plan::Try(vec![Trial::new(clone3(F::empty(), SIGCHLD, |a, _, _| {
            a.set_tid = 8;
            a.set_tid_size = 1;
        }))]),
        "C10" => one(c3(F::from_bits_retain(1 << 40))),
        "C11" => Plan::Try(vec![
            Trial::new(c3(F::CLONE_DETACHED)),
            Trial::new(clone3(F::empty(), 0, |a, _, _| a.flags = SIGCHLD)),
        ]),
        "C12" => one(c3(F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_CLEAR_SIGHAND)),
        "C13" => Plan::Try(vec![Trial::new(c3(vm_thread)), Trial::new(c3(F::CLONE_PARENT))]),
        "C14" => Plan::Try(vec![
            Trial::new(clone3(F::empty(), SIGCHLD, |a, _, _| a.stack = VALID)),
            Trial::new(clone3(F::empty(), SIGCHLD, |a, _, _| a.stack_size = 4096)),
            Trial::new(clone3(F::empty(), SIGCHLD, |a, _, _| {
                a.stack = 0xffff_8000_0000_0000;
                a.stack_size = 4096;
            })),
        ]),
        "K1" => one(legacy_with(F::CLONE_PIDFD | F::CLONE_PARENT_SETTID, VALID, 0)),
        "P1" => one(legacy(F::CLONE_NEWNS | F::CLONE_FS)),
        "P2" => one(legacy(F::CLONE_NEWUSER | F::CLONE_FS)),
        "P3" => one(legacy(F::CLONE_VM | F::CLONE_THREAD)),
        "P4" => one(legacy(F::CLONE_SIGHAND)),
        "P5" => from(legacy(F::CLONE_PARENT), Setup::PidNsInit),
        "P6" => Plan::Try(vec![
            Trial::new(legacy(vm_thread | F::CLONE_NEWPID)),
            Trial::new(legacy(vm_thread | F::CLONE_NEWUSER)),
            Trial::new(legacy(vm_thread)).with_setup(Setup::AfterUnshareNewpid),
        ]),
        "P7" => one(legacy_with(F::CLONE_PIDFD | F::CLONE_DETACHED, VALID, 0)),
        "K2" | "P8" | "P9" | "P10" | "P11" | "P12" if !newer_rules_apply(id) => {
            skip(&format!("a rule of Linux {}.{}; this kernel is older", since_of(id).0, since_of(id).1))
        }
        "K2" => one(CloneCall::Clone { flags: 0x80, stack: 0, parent_tid: 0, child_tid: 0, tls: 0 }),
        "P8" => Plan::Try(vec![
            Trial::new(c3(F::CLONE_AUTOREAP)),
            Trial::new(clone3(F::CLONE_AUTOREAP | F::CLONE_PARENT, 0, |_, _, _| {})),
            Trial::new(clone3(F::CLONE_AUTOREAP | vm_thread, 0, |_, _, _| {})),
        ]),
        "P9" => skip("needs a caller made with CLONE_AUTOREAP (scenario 176 shows it)"),
        "P10" => one(clone3(F::CLONE_NNP | vm_thread, 0, |_, _, _| {})),
        "P11" => Plan::Try(vec![
            Trial::new(clone3(F::CLONE_PIDFD_AUTOKILL | F::CLONE_AUTOREAP, 0, |_, _, _| {})),
            Trial::new(clone3(F::CLONE_PIDFD_AUTOKILL | F::CLONE_PIDFD, 0, |a, _, _| a.pidfd = VALID)),
        ]),
        "P12" => from(
            clone3(F::CLONE_PIDFD_AUTOKILL | F::CLONE_PIDFD | F::CLONE_AUTOREAP, 0, |a, _, _| {
                a.pidfd = VALID
            }),
            Setup::Unprivileged,
        ),
        "S1" => skip(
            "a signal pending at entry makes the call restart (ERESTARTNOINTR) before user space sees it",
        ),
        "U1" => from(legacy(F::CLONE_NEWUSER), Setup::Chrooted),
        "U2" => from(legacy(F::CLONE_NEWUSER), Setup::UnmappedUserNs),
        "U3" => skip("needs 33 nested user namespaces or user.max_user_namespaces lowered"),
        "L1" => from(legacy(F::empty()), Setup::NprocLimitZero),
        "L2" => skip("needs kernel.threads-max lowered for the whole system"),
        "F1" => skip("needs an execve racing with the clone in a task that shares the fs_struct"),
        "N1" => Plan::Try(vec![
            Trial::new(legacy(F::CLONE_NEWUTS)).with_setup(Setup::Unprivileged),
            Trial::new(legacy(F::CLONE_NEWNET)).with_setup(Setup::Unprivileged),
        ]),
        "N2" => one(legacy(F::CLONE_NEWIPC | F::CLONE_SYSVSEM)),
        "N3" => from(legacy(F::CLONE_NEWNS), Setup::MntNamespacesLimitZero),
        "N4" => from(legacy(F::CLONE_NEWPID), Setup::AfterUnshareNewpid),
        "N5" => skip("needs a pid namespace owned by a user namespace outside the caller's (setns)"),
        "N6" => from(legacy(F::CLONE_NEWPID), Setup::DeepestPidNs),
        "N7" => from(legacy(F::CLONE_NEWPID), Setup::PidNamespacesLimitZero),
        "T1" => one(legacy_with(F::CLONE_SETTLS, 0, 0x7fff_ffff_f000)),
        "A1" => {
            // One entry more than the child's level + 1, whatever level the caller is at.
            let n = clonekit_probe::pid_ns_level() + 2;
            Plan::Try(vec![Trial::new(clone3(F::empty(), SIGCHLD, move |a, _, _| {
                a.set_tid = VALID;
                a.set_tid_size = u64::from(n);
            }))
            .with_set_tid(&vec![2; n as usize])])
        }
        "A2" => Plan::Try(vec![Trial::new(clone3(F::empty(), SIGCHLD, |a, _, _| {
            a.set_tid = VALID;
            a.set_tid_size = 1;
        }))
        .with_set_tid(&[0])]),
        "A3" => Plan::Try(vec![Trial::new(clone3(F::CLONE_NEWPID, SIGCHLD, |a, _, _| {
            a.set_tid = VALID;
            a.set_tid_size = 1;
        }))
        .with_set_tid(&[5])]),
        "A4" => Plan::Try(vec![Trial::new(clone3(F::empty(), SIGCHLD, |a, _, _| {
            a.set_tid = VALID;
            a.set_tid_size = 1;
        }))
        .with_set_tid(&[2])
        .with_setup(Setup::Unprivileged)]),
        "A5" => Plan::Try(vec![Trial::new(clone3(F::empty(), SIGCHLD, |a, _, _| {
            a.set_tid = VALID;
            a.set_tid_size = 1;
        }))
        .with_set_tid(&[1])]),
        "A6" => skip("needs every pid below kernel.pid_max in use"),
        "A7" => from(legacy(F::empty()), Setup::DyingPidNs),
        "D1" => from(clone3(F::CLONE_PIDFD, SIGCHLD, |a, _, _| a.pidfd = VALID), Setup::NofileLimitZero),
        "D2" => one(clone3(F::CLONE_PIDFD, SIGCHLD, |a, _, _| a.pidfd = 8)),
        "G1" => from(clone3(F::CLONE_INTO_CGROUP, SIGCHLD, |a, _, _| a.cgroup = VALID), Setup::NotACgroupDir),
        "G2" => from(clone3(F::CLONE_INTO_CGROUP, SIGCHLD, |a, _, _| a.cgroup = VALID), Setup::DeadCgroup),
        "G3" => {
            from(clone3(F::CLONE_INTO_CGROUP, SIGCHLD, |a, _, _| a.cgroup = VALID), Setup::UnwritableCgroup)
        }
        "G4" => skip("needs a cgroup namespace rooted below the target cgroup"),
        "G5" => skip("needs a threaded cgroup subtree"),
        "G6" => skip(&format!(
            "needs a cgroup v2 controller to enable in subtree_control{}",
            cgroup_v1_note("controllers are")
        )),
        "G7" => skip(&format!("needs the pids controller on cgroup v2{}", cgroup_v1_note("is"))),
        "S2" => skip("needs a fatal signal to arrive while copy_process runs"),
        other => Plan::Skip(format!("no trial is defined for rule {other}")),
    }
}

/// The release that brought rule `id` (K2 and P8–P12 are Linux 7.1's).
fn since_of(id: &str) -> clonekit_flags::Version {
    if id == "K2" {
        clonekit_flags::LEGACY_EXIT_SIGNAL_CHECKED.since
    } else {
        clonekit_flags::CLONE_AUTOREAP_FLAGS.since
    }
}

/// Whether the running kernel has rule `id` (one of those [`since_of`] dates).
fn newer_rules_apply(id: &str) -> bool {
    clonekit_probe::caller_state().kernel >= since_of(id)
}

/// `" (this machine's … on cgroup v1)"` where the cgroup v2 root offers no controller, else
/// nothing (a machine whose controllers are on v2, such as the kernel matrix's guests).
fn cgroup_v1_note(verb: &str) -> String {
    let v2 = std::fs::read_to_string("/sys/fs/cgroup/cgroup.controllers").is_ok_and(|c| !c.trim().is_empty());
    if v2 {
        String::new()
    } else {
        format!(" (this machine's {verb} on cgroup v1)")
    }
}

/// Whether the trials of rule `id` need `CAP_SYS_ADMIN` in the caller's user namespace: a
/// set-up that creates or enters namespaces or chroots, or a call that creates namespaces
/// other than a user namespace or asks for pids (`set_tid`), unless the trial is made
/// unprivileged on purpose.
fn needs_caps(id: &str) -> bool {
    let Plan::Try(trials) = plan(id) else { return false };
    trials.iter().any(|t| {
        let call_flags = match &t.call {
            CloneCall::Clone3 { args, .. } => F::from_bits_truncate(args.flags),
            CloneCall::Clone { flags, .. } => F::from_bits_truncate(*flags),
            _ => F::empty(),
        };
        let creates_namespaces = call_flags.intersects(clonekit_flags::CLONE_NEW_MASK - F::CLONE_NEWUSER);
        let set_up = matches!(
            t.setup,
            Setup::PidNsInit
                | Setup::AfterUnshareNewpid
                | Setup::Chrooted
                | Setup::DyingPidNs
                | Setup::DeepestPidNs
        );
        let unprivileged =
            matches!(t.setup, Setup::Unprivileged | Setup::NprocLimitZero | Setup::UnwritableCgroup);
        set_up || (!unprivileged && (creates_namespaces || !t.set_tid.is_empty()))
    })
}

/// Whether the trials of rule `id` create a user namespace (in their set-up, or as the call
/// the rule refuses only after the namespace's accounting: rules U1 and U2).
fn needs_user_ns(id: &str) -> bool {
    let Plan::Try(trials) = plan(id) else { return false };
    trials.iter().any(|t| {
        matches!(
            t.setup,
            Setup::UnmappedUserNs | Setup::MntNamespacesLimitZero | Setup::PidNamespacesLimitZero
        )
    }) || matches!(id, "U1" | "U2")
}

/// The caller state a setup stands for, for clonekit-flags' prediction.
fn caller_for(setup: Setup, base: CallerState) -> CallerState {
    let mut c = base;
    match setup {
        Setup::PidNsInit => {
            c.pid_ns_init = true;
            c.pid_ns_level += 1;
        }
        Setup::AfterUnshareNewpid => c.pid_ns_for_children_differs = true,
        Setup::Chrooted => c.chrooted = true,
        Setup::Unprivileged | Setup::NprocLimitZero | Setup::UnwritableCgroup => c.cap_sys_admin = false,
        Setup::DeepestPidNs => c.pid_ns_level = 32,
        _ => {}
    }
    c
}

fn run_rule(id: &'static str) -> Observation {
    let Some(r) = rule(id) else {
        return Observation::error(format!("unknown rule {id}"));
    };
    let trials = match plan(id) {
        Plan::Skip(why) => return Observation::skip(why),
        Plan::Try(t) => t,
    };
    let base = clonekit_probe::caller_state();
    let mut seen = Vec::new();
    let mut ok = true;
    for t in &trials {
        let answer = match trial::run(t) {
            Ok(a) => a,
            Err(TrialError::Unavailable(why)) => return Observation::skip(why),
            Err(e) => return Observation::error(e),
        };
        let kernel = match answer {
            Answer::Created => "created".to_string(),
            Answer::Refused(e) => e.name().to_string(),
        };
        ok &= answer == Answer::Refused(r.errno);
        if r.decidable() {
            let predicted = check(&t.call, &caller_for(t.setup, base)).err().map(|p| p.id);
            if predicted != Some(id) {
                ok = false;
                seen.push(format!("{kernel}, but predicted {}", predicted.unwrap_or("success")));
                continue;
            }
        }
        seen.push(kernel);
    }
    Observation::verdict(ok, seen.join(", "))
}

/// A rule case's name: the id and the first words of the reason.
fn case_name(r: &clonekit_flags::Rule) -> String {
    format!("{} {}", r.id, short(r.reason))
}

/// The rule cases whose every call is a `clone3`, by case name, with the rule's id: where a
/// filter refuses `clone3` they have nothing left to try (see `super::clone3`).
pub fn needing_clone3() -> Vec<(String, &'static str)> {
    RULES
        .iter()
        .filter(|r| match plan(r.id) {
            Plan::Try(trials) => trials.iter().all(|t| matches!(t.call, CloneCall::Clone3 { .. })),
            Plan::Skip(_) => false,
        })
        .map(|r| (case_name(r), r.id))
        .collect()
}
