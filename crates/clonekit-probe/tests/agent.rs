//! Agents on the real kernel: the coordinator posts operations to real tasks and reads
//! their outcomes. A test binary with its own `main`, because an `execve` operation
//! re-executes this very program, which must become the agent again.

use std::time::Duration;

use clonekit_probe::agent::{enter_if_agent, text, AgentOp, Fleet, Outcome, Reply};

const LIMIT: Duration = Duration::from_secs(5);

fn done(fleet: &Fleet, slot: u32, op: AgentOp) -> Reply {
    match fleet.run(slot, &op, LIMIT).expect("outcome") {
        Outcome::Done(r) => *r,
        other => panic!("{op:?}: {other:?}"),
    }
}

fn memory_words_are_copied_by_fork_and_shared_by_clone_vm() {
    let mut fleet = Fleet::new().unwrap();
    fleet.start(0).unwrap();
    if fleet.isolated() {
        // pid 1 is the namespace's init, the first task pid 2.
        assert_eq!(done(&fleet, 0, AgentOp::Getpid).ret, 2);
        assert_eq!(done(&fleet, 0, AgentOp::Getppid).ret, 1);
    } else {
        println!("skipped: first task is pid 2 of a namespace of its own (no privilege to create one)");
    }
    done(&fleet, 0, AgentOp::Store { var: 1, value: 5 });
    let child = done(&fleet, 0, AgentOp::Fork { child: 1 }).ret;
    assert!(child > 0);
    fleet.wait_serving(1).unwrap();
    assert_eq!(inner(&fleet, 1), child);
    done(&fleet, 1, AgentOp::Store { var: 1, value: 9 });
    assert_eq!(done(&fleet, 1, AgentOp::Load(1)).value, 9);
    assert_eq!(done(&fleet, 0, AgentOp::Load(1)).value, 5, "fork: private copy");
    let vm =
        done(&fleet, 0, AgentOp::Clone { flags: 0x100 | 17, tls: 0, ptid: None, ctid: None, child: 2 }).ret;
    assert!(vm > 0, "clone(CLONE_VM): {vm}");
    fleet.wait_serving(2).unwrap();
    done(&fleet, 2, AgentOp::Store { var: 1, value: 7 });
    assert_eq!(done(&fleet, 0, AgentOp::Load(1)).value, 7, "CLONE_VM: shared");
    println!("ok memory_words_are_copied_by_fork_and_shared_by_clone_vm");
}

fn vfork_parent_blocks_until_the_child_exits_and_wait_reaps() {
    let mut fleet = Fleet::new().unwrap();
    fleet.start(0).unwrap();
    let op = AgentOp::Vfork { child: 1 };
    fleet.post(0, &op);
    assert!(matches!(fleet.outcome(0, op.blocks_in(), LIMIT).unwrap(), Outcome::Blocked));
    fleet.wait_serving(1).unwrap();
    let tid = inner(&fleet, 1) as i32;
    assert_eq!(done(&fleet, 1, AgentOp::Getppid).ret, done_ppid_of_main(&fleet));
    fleet.post(1, &AgentOp::Exit(3));
    assert!(matches!(fleet.outcome(1, None, LIMIT).unwrap(), Outcome::Gone));
    fleet.release(1);
    let r = match fleet.outcome(0, op.blocks_in(), LIMIT).unwrap() {
        Outcome::Done(r) => *r,
        other => panic!("vfork parent after the child's exit: {other:?}"),
    };
    assert_eq!(r.ret, i64::from(tid));
    let w = done(&fleet, 0, AgentOp::Wait4 { pid: tid, options: 0 });
    assert_eq!((w.ret, (w.value >> 8) & 0xff), (i64::from(tid), 3));
    println!("ok vfork_parent_blocks_until_the_child_exits_and_wait_reaps");
}

/// The first task's pid as the tasks see it (the innermost `NSpid:` entry).
fn done_ppid_of_main(fleet: &Fleet) -> i64 {
    inner(fleet, 0)
}

/// A task's pid as the tasks see it.
fn inner(fleet: &Fleet, slot: u32) -> i64 {
    i64::from(*fleet.nspids(slot).last().unwrap())
}

fn execve_keeps_the_task_and_starts_memory_afresh() {
    let mut fleet = Fleet::new().unwrap();
    fleet.start(0).unwrap();
    done(&fleet, 0, AgentOp::Store { var: 3, value: 11 });
    let (path, len) = text("/");
    done(&fleet, 0, AgentOp::Chdir(path, len));
    let before = done(&fleet, 0, AgentOp::Getpid).ret;
    let r = done(&fleet, 0, AgentOp::Execve);
    assert_eq!(r.ret, 0, "{r:?}");
    assert_eq!(done(&fleet, 0, AgentOp::Getpid).ret, before);
    assert_eq!(done(&fleet, 0, AgentOp::Load(3)).value, 0, "a new address space");
    assert_eq!(done(&fleet, 0, AgentOp::Getcwd).text(), "/", "fs info survives exec");
    assert_eq!(
        done(&fleet, 0, AgentOp::Sigaction { sig: 13, new: None }).value,
        0,
        "SIGPIPE: dfl after exec"
    );
    println!("ok execve_keeps_the_task_and_starts_memory_afresh");
}

fn handler_counts_deliveries_and_wait_blocks() {
    let mut fleet = Fleet::new().unwrap();
    fleet.start(0).unwrap();
    let main = done(&fleet, 0, AgentOp::Getpid).ret as i32;
    assert_eq!(done(&fleet, 0, AgentOp::Sigaction { sig: 10, new: Some(2) }).value, 0);
    done(&fleet, 0, AgentOp::Kill { pid: main, sig: 10 });
    assert_eq!(done(&fleet, 0, AgentOp::Handled).value, 1);
    let child = done(&fleet, 0, AgentOp::Fork { child: 1 }).ret as i32;
    fleet.wait_serving(1).unwrap();
    let w = AgentOp::Wait4 { pid: child, options: 0 };
    fleet.post(0, &w);
    assert!(matches!(fleet.outcome(0, w.blocks_in(), LIMIT).unwrap(), Outcome::Blocked));
    fleet.post(1, &AgentOp::ExitGroup(0));
    assert!(matches!(fleet.outcome(1, None, LIMIT).unwrap(), Outcome::Gone));
    match fleet.outcome(0, w.blocks_in(), LIMIT).unwrap() {
        Outcome::Done(r) => assert_eq!(r.ret, i64::from(child)),
        other => panic!("{other:?}"),
    }
    println!("ok handler_counts_deliveries_and_wait_blocks");
}

/// A task killed by a signal it sent itself, while its parent waits for it: the parent reaps
/// it at once, and how it ended is still known (its pidfd's `PIDFD_INFO_EXIT`).
fn exit_status_after_the_parent_reaped() {
    let mut fleet = Fleet::new().unwrap();
    fleet.start(0).unwrap();
    let child = done(&fleet, 0, AgentOp::Fork { child: 1 }).ret as i32;
    fleet.wait_serving(1).unwrap();
    let w = AgentOp::Wait4 { pid: child, options: 0 };
    fleet.post(0, &w);
    assert!(matches!(fleet.outcome(0, w.blocks_in(), LIMIT).unwrap(), Outcome::Blocked));
    let me = inner(&fleet, 1) as i32;
    fleet.post(1, &AgentOp::Kill { pid: me, sig: 15 });
    assert!(matches!(fleet.outcome(1, None, LIMIT).unwrap(), Outcome::Gone));
    match fleet.outcome(0, w.blocks_in(), LIMIT).unwrap() {
        Outcome::Done(r) => {
            assert_eq!((r.ret, r.value & 0x7f), (i64::from(child), 15), "reaped by its parent")
        }
        other => panic!("{other:?}"),
    }
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy();
    let mut v = release.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u32>().ok());
    if (v.next().unwrap_or(0), v.next().unwrap_or(0)) < (6, 15) {
        println!(
            "skipped exit_status_after_the_parent_reaped: no PIDFD_INFO_EXIT before Linux 6.15 ({release})"
        );
        return;
    }
    assert_eq!(fleet.exit_status(1).map(|st| st & 0x7f), Some(15), "killed by SIGTERM");
    println!("ok exit_status_after_the_parent_reaped");
}

/// `kill -1` reaches the scenario's tasks only, and dropping the fleet leaves nothing behind.
fn kill_minus_one_stays_in_the_namespace() {
    let mut fleet = Fleet::new().unwrap();
    if !fleet.isolated() {
        println!("skipped kill_minus_one_stays_in_the_namespace: no pid namespace of our own");
        return;
    }
    fleet.start(0).unwrap();
    let child = done(&fleet, 0, AgentOp::Fork { child: 1 }).ret as i32;
    fleet.wait_serving(1).unwrap();
    let main_outer = fleet.nspids(0)[0];
    assert_eq!(done(&fleet, 0, AgentOp::Kill { pid: -1, sig: 9 }).ret, 0);
    let w = done(&fleet, 0, AgentOp::Wait4 { pid: child, options: 0 });
    assert_eq!((w.ret, w.value & 0x7f), (i64::from(child), 9), "the child was killed");
    drop(fleet);
    let left = std::fs::read_to_string(format!("/proc/{main_outer}/stat")).unwrap_or_default();
    assert!(!left.contains("agent"), "the first task outlived the fleet: {left}");
    println!("ok kill_minus_one_stays_in_the_namespace");
}

/// A leader killed by its thread's exec, while its own step (a vfork) was blocked: the thread
/// takes the leader's pid in `de_thread`, and stops on its way back to user space (a SIGSTOP
/// the leader held is retargeted to it). Once SIGCONT lets the new image serve, the leader's
/// mailbox no longer names the task at that pid: the leader's step is gone, not blocked in a
/// system call it will never return from.
fn a_leader_killed_by_its_threads_exec_is_gone_once_the_new_image_serves() {
    const THREAD: u64 = 0x100 | 0x200 | 0x400 | 0x800 | 0x10000 | 0x40000;
    let mut fleet = Fleet::new().unwrap();
    fleet.start(0).unwrap();
    let leader = fleet.tid(0).unwrap();
    let thread =
        done(&fleet, 0, AgentOp::Clone { flags: THREAD, tls: 0, ptid: None, ctid: None, child: 1 }).ret;
    assert!(thread > 0, "clone(CLONE_THREAD): {thread}");
    fleet.wait_serving(1).unwrap();
    let vfork = AgentOp::Vfork { child: 2 };
    assert!(matches!(fleet.run(0, &vfork, LIMIT).unwrap(), Outcome::Blocked));
    fleet.wait_serving(2).unwrap();
    done(&fleet, 1, AgentOp::Kill { pid: inner(&fleet, 0) as i32, sig: 19 });
    assert!(matches!(fleet.run(1, &AgentOp::Execve, LIMIT).unwrap(), Outcome::Stopped));
    assert_eq!(clonekit_raw::kill(leader, 18).map_err(|e| e.raw_os_error()), Ok(()), "SIGCONT");
    // The leader's step first: before, it waited out the limit watching the exec'd thread.
    assert!(matches!(fleet.outcome(0, vfork.blocks_in(), LIMIT).unwrap(), Outcome::Gone));
    assert_eq!(fleet.tid(0), None, "the leader's mailbox names no task");
    match fleet.outcome(1, None, LIMIT).unwrap() {
        Outcome::Done(r) => assert_eq!(r.ret, 0, "execve"),
        other => panic!("the exec after SIGCONT: {other:?}"),
    }
    assert_eq!(fleet.tid(1), Some(leader), "the thread serves under the leader's pid");
    println!("ok a_leader_killed_by_its_threads_exec_is_gone_once_the_new_image_serves");
}

/// A termination signal held pending (Ctrl-C during `clonekit check`) ends the coordinator's
/// wait for a step at once, with `EINTR`, instead of after the step limit; dropping the fleet
/// then ends its tasks. The step here is a `wait4` whose outcome is asked as if it could not
/// block, so that the coordinator would watch it until the limit.
fn a_pending_termination_signal_ends_a_wait_at_once() {
    use clonekit_probe::observe::HeldSignals;
    let mut fleet = Fleet::new().unwrap();
    fleet.start(0).unwrap();
    let child = done(&fleet, 0, AgentOp::Fork { child: 1 }).ret as i32;
    fleet.wait_serving(1).unwrap();
    let first = fleet.tid(0).unwrap();
    fleet.post(0, &AgentOp::Wait4 { pid: child, options: 0 });
    let held = HeldSignals::hold().unwrap();
    clonekit_raw::kill(std::process::id() as i32, 2).unwrap();
    assert_eq!(held.pending().map(|s| s.number()), Some(2), "SIGINT held");
    let start = std::time::Instant::now();
    assert_eq!(fleet.outcome(0, None, LIMIT).map(|_| ()), Err(rustix::io::Errno::INTR));
    assert!(start.elapsed() < LIMIT / 5, "ended after {:?}", start.elapsed());
    drop(fleet);
    let state = clonekit_probe::agent::proc_state(first);
    assert!(state.is_none(), "the first task outlived the fleet: {state:?}");
    // Discard the pending SIGINT (ignored while it is unblocked), and put SIG_DFL back.
    clonekit_raw::sigaction_set_disposition(2, clonekit_raw::SIG_IGN).unwrap();
    drop(held);
    clonekit_raw::sigaction_set_disposition(2, clonekit_raw::SIG_DFL).unwrap();
    println!("ok a_pending_termination_signal_ends_a_wait_at_once");
}

fn main() {
    enter_if_agent();
    exit_status_after_the_parent_reaped();
    kill_minus_one_stays_in_the_namespace();
    memory_words_are_copied_by_fork_and_shared_by_clone_vm();
    vfork_parent_blocks_until_the_child_exits_and_wait_reaps();
    execve_keeps_the_task_and_starts_memory_afresh();
    handler_counts_deliveries_and_wait_blocks();
    a_leader_killed_by_its_threads_exec_is_gone_once_the_new_image_serves();
    a_pending_termination_signal_ends_a_wait_at_once();
    println!("8 passed, 0 failed");
}
