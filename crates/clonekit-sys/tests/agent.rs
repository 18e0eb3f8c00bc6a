//! Agents on the real kernel: the coordinator posts operations to real tasks and reads
//! their outcomes. A test binary with its own `main`, because an `execve` operation
//! re-executes this very program, which must become the agent again.

use std::time::Duration;

use clonekit_sys::agent::{enter_if_agent, text, AgentOp, Fleet, Outcome, Reply};

const LIMIT: Duration = Duration::from_secs(5);

fn done(fleet: &Fleet, slot: u32, op: AgentOp) -> Reply {
    fleet.post(slot, &op);
    match fleet.outcome(slot, op.blocks_in(), LIMIT).expect("outcome") {
        Outcome::Done(r) => *r,
        other => panic!("{op:?}: {other:?}"),
    }
}

fn memory_words_are_copied_by_fork_and_shared_by_clone_vm() {
    let mut fleet = Fleet::new().unwrap();
    let main = fleet.start(0).unwrap();
    assert_eq!(done(&fleet, 0, AgentOp::Getpid).ret, i64::from(main));
    done(&fleet, 0, AgentOp::Store { var: 1, value: 5 });
    let child = done(&fleet, 0, AgentOp::Fork { child: 1 }).ret;
    assert!(child > 0);
    assert_eq!(i64::from(fleet.wait_serving(1).unwrap()), child);
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
    let tid = fleet.wait_serving(1).unwrap();
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

fn done_ppid_of_main(fleet: &Fleet) -> i64 {
    i64::from(fleet.tid(0).unwrap())
}

fn execve_keeps_the_task_and_starts_memory_afresh() {
    let mut fleet = Fleet::new().unwrap();
    let main = fleet.start(0).unwrap();
    done(&fleet, 0, AgentOp::Store { var: 3, value: 11 });
    let (path, len) = text("/");
    done(&fleet, 0, AgentOp::Chdir(path, len));
    let r = done(&fleet, 0, AgentOp::Execve);
    assert_eq!(r.ret, 0, "{r:?}");
    assert_eq!(done(&fleet, 0, AgentOp::Getpid).ret, i64::from(main));
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
    let main = fleet.start(0).unwrap();
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

fn main() {
    enter_if_agent();
    memory_words_are_copied_by_fork_and_shared_by_clone_vm();
    vfork_parent_blocks_until_the_child_exits_and_wait_reaps();
    execve_keeps_the_task_and_starts_memory_afresh();
    handler_counts_deliveries_and_wait_blocks();
    println!("4 passed, 0 failed");
}
