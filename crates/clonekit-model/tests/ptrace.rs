//! ptrace where it meets clone, exit, wait and signals, one test per rule of
//! kernel/ptrace.c, kernel/signal.c (`ptrace_signal`, `ptrace_stop`, `do_jobctl_trap`),
//! kernel/exit.c (`wait_consider_task`, `exit_ptrace`, `__ptrace_detach`), kernel/fork.c
//! (`kernel_clone`'s event, `ptrace_init_task`) and fs/exec.c (`PTRACE_EVENT_EXEC`).

mod common;
use clonekit_flags::{
    KernelCloneArgs, CLD_TRAPPED, PTRACE_EVENT_CLONE, PTRACE_EVENT_EXEC, PTRACE_EVENT_FORK,
    PTRACE_EVENT_STOP, PTRACE_EVENT_VFORK, PTRACE_EVENT_VFORK_DONE, PTRACE_O_EXITKILL, PTRACE_O_TRACECLONE,
    PTRACE_O_TRACEEXEC, PTRACE_O_TRACEEXIT, PTRACE_O_TRACEFORK, PTRACE_O_TRACESYSGOOD, PTRACE_O_TRACEVFORK,
    PTRACE_O_TRACEVFORKDONE,
};
use clonekit_model::{
    CloneFlags as F, Disposition, Errno, ExitSignal, IdType, Kernel, Resumed, Syscall, TaskId, TaskState,
    WaitStatus, Waited, WALL, WCLONE, WEXITED, WNOHANG, WNOWAIT, WUNTRACED,
};
use common::{boot, clone, nr, THREAD};

const SIGTRAP: u32 = 5;
const SIGKILL: u32 = 9;
const SIGUSR1: u32 = 10;
const SIGUSR2: u32 = 12;
const SIGTERM: u32 = 15;
const SIGCHLD: u32 = 17;
const SIGCONT: u32 = 18;
const SIGSTOP: u32 = 19;

fn fork(k: &mut Kernel, cur: TaskId) -> TaskId {
    match k.sys_fork(cur).unwrap() {
        Syscall::Done(f) => f.child,
        Syscall::Blocked => panic!("fork does not block"),
    }
}

/// `wait4(pid, options)` that must not block.
fn wait(k: &mut Kernel, cur: TaskId, pid: i32, options: u32) -> Result<Option<Waited>, Errno> {
    match k.sys_wait4(cur, pid, options)? {
        Syscall::Done(w) => Ok(w),
        Syscall::Blocked => panic!("wait4 blocked"),
    }
}

/// The next report of `wait4(pid, WNOHANG | options)`: its status and event (`status >> 16`
/// for a ptrace stop).
fn report(k: &mut Kernel, cur: TaskId, pid: i32, options: u32) -> Option<(WaitStatus, Option<u32>)> {
    wait(k, cur, pid, WNOHANG | options).unwrap().map(|w| (w.status, w.ptrace_event))
}

/// A signal-delivery-stop (or legacy group-stop) for `sig`.
fn signal_stop(sig: u32) -> Option<(WaitStatus, Option<u32>)> {
    Some((WaitStatus::Stopped(sig), Some(0)))
}

/// An event stop for `event`.
fn event_stop(event: u32) -> Option<(WaitStatus, Option<u32>)> {
    Some((WaitStatus::Stopped(SIGTRAP), Some(event)))
}

/// A child of `main` that made `main` its tracer.
fn traced_child(k: &mut Kernel, main: TaskId) -> TaskId {
    let c = fork(k, main);
    k.sys_ptrace_traceme(c).unwrap();
    assert_eq!(k.tracer(c), Some(main));
    c
}

#[test]
fn traceme_stops_at_each_signal_and_cont_delivers_the_signal_or_drops_it() {
    let (mut k, main) = boot();
    let c = traced_child(&mut k, main);
    let pid = nr(&k, main, c);
    k.sys_rt_sigaction(c, SIGUSR1, Some(Disposition::Handler)).unwrap();
    k.sys_kill(main, pid, SIGUSR1).unwrap();
    // The handler has not run: the tracee stopped (TASK_TRACED) and runs nothing.
    assert_eq!(k.state(c), TaskState::Stopped);
    assert!(k.in_ptrace_stop(c));
    assert_eq!(k.handled(c), Err(Errno::ESRCH));
    // The tracer sees the stop without WUNTRACED; waitid reports it as CLD_TRAPPED.
    let w = wait(&mut k, main, pid, WNOHANG).unwrap().unwrap();
    assert_eq!((w.status, w.ptrace_event), (WaitStatus::Stopped(SIGUSR1), Some(0)));
    assert_eq!(
        (w.si_code(), w.si_status(), w.wstatus()),
        (CLD_TRAPPED, SIGUSR1 as i32, (SIGUSR1 as i32) << 8 | 0x7f)
    );
    // Reported once.
    assert_eq!(report(&mut k, main, pid, 0), None);
    k.sys_ptrace_cont(main, pid, SIGUSR1).unwrap();
    assert_eq!(k.handled(c), Ok(1));
    // Again, resumed with 0: the signal is dropped.
    k.sys_kill(main, pid, SIGUSR1).unwrap();
    assert_eq!(report(&mut k, main, pid, 0), signal_stop(SIGUSR1));
    k.sys_ptrace_cont(main, pid, 0).unwrap();
    assert_eq!(k.handled(c), Ok(1));
    assert_eq!(k.state(c), TaskState::Running);
}

#[test]
fn a_tracee_stops_even_for_an_ignored_signal_and_a_fatal_one_kills_only_when_given_back() {
    let (mut k, main) = boot();
    let c = traced_child(&mut k, main);
    let pid = nr(&k, main, c);
    // sig_ignored: the tracer hears of an ignored signal (LTP ptrace01, ptrace05).
    k.sys_rt_sigaction(c, SIGUSR2, Some(Disposition::Ignore)).unwrap();
    k.sys_kill(c, pid, SIGUSR2).unwrap();
    assert_eq!(report(&mut k, main, pid, 0), signal_stop(SIGUSR2));
    k.sys_ptrace_cont(main, pid, SIGUSR2).unwrap();
    assert_eq!(k.state(c), TaskState::Running);
    // complete_signal does not kill a tracee at once for a fatal signal; its tracer decides.
    k.sys_kill(main, pid, SIGTERM).unwrap();
    assert_eq!(report(&mut k, main, pid, 0), signal_stop(SIGTERM));
    k.sys_ptrace_cont(main, pid, SIGTERM).unwrap();
    assert_eq!(report(&mut k, main, pid, 0), Some((WaitStatus::Killed(SIGTERM), None)));
    assert_eq!(wait(&mut k, main, pid, WNOHANG), Err(Errno::ECHILD));
}

#[test]
fn attach_stops_the_tracee_with_sigstop_and_seize_does_not() {
    let (mut k, main) = boot();
    let tracer = fork(&mut k, main);
    let a = fork(&mut k, main);
    let b = fork(&mut k, main);
    let (pa, pb) = (nr(&k, tracer, a), nr(&k, tracer, b));
    k.sys_ptrace_attach(tracer, pa, false, 0).unwrap();
    assert_eq!(k.tracer(a), Some(tracer));
    assert_eq!(k.state(a), TaskState::Stopped);
    // Not the tracer's child, but its tracee: its wait sees it.
    assert_eq!(report(&mut k, tracer, pa, 0), signal_stop(SIGSTOP));
    k.sys_ptrace_cont(tracer, pa, 0).unwrap();
    assert_eq!(k.state(a), TaskState::Running);
    k.sys_ptrace_attach(tracer, pb, true, 0).unwrap();
    assert_eq!(k.tracer(b), Some(tracer));
    assert_eq!(k.state(b), TaskState::Running);
    assert_eq!(report(&mut k, tracer, pb, 0), None);
    // The real parent sees no ptrace stop of its child.
    k.sys_kill(main, pa, SIGUSR1).unwrap();
    assert_eq!(report(&mut k, main, pa, WUNTRACED), None);
    assert_eq!(report(&mut k, tracer, pa, 0), signal_stop(SIGUSR1));
}

#[test]
fn attach_to_a_stopped_task_traps_it_then_takes_the_sigstop() {
    let (mut k, main) = boot();
    let tracer = fork(&mut k, main);
    let c = fork(&mut k, main);
    let pid = nr(&k, tracer, c);
    k.sys_kill(main, pid, SIGSTOP).unwrap();
    assert_eq!(report(&mut k, main, pid, WUNTRACED), Some((WaitStatus::Stopped(SIGSTOP), None)));
    k.sys_ptrace_attach(tracer, pid, false, 0).unwrap();
    // The group-stop, now a ptrace trap (JOBCTL_TRAP_STOP), then ATTACH's own SIGSTOP.
    assert!(k.in_ptrace_stop(c));
    assert_eq!(report(&mut k, tracer, pid, 0), signal_stop(SIGSTOP));
    k.sys_ptrace_cont(tracer, pid, 0).unwrap();
    assert_eq!(report(&mut k, tracer, pid, 0), signal_stop(SIGSTOP));
    k.sys_ptrace_cont(tracer, pid, 0).unwrap();
    assert_eq!(k.state(c), TaskState::Running);
}

#[test]
fn traceme_and_attach_refuse_what_the_kernel_refuses() {
    let (mut k, main) = boot();
    let c = traced_child(&mut k, main);
    let pid = nr(&k, main, c);
    // Already traced: ptrace_traceme and ptrace_attach both EPERM (LTP ptrace03).
    assert_eq!(k.sys_ptrace_traceme(c), Err(Errno::EPERM));
    let other = fork(&mut k, main);
    assert_eq!(k.sys_ptrace_attach(other, nr(&k, other, c), false, 0), Err(Errno::EPERM));
    // No such task.
    assert_eq!(k.sys_ptrace_attach(main, 99_999, false, 0), Err(Errno::ESRCH));
    assert_eq!(k.sys_ptrace_attach(main, -1, true, 0), Err(Errno::ESRCH));
    // The caller's own thread group.
    let th = clone(&mut k, main, THREAD);
    assert_eq!(k.sys_ptrace_attach(main, nr(&k, main, main), false, 0), Err(Errno::EPERM));
    assert_eq!(k.sys_ptrace_attach(main, nr(&k, main, th), false, 0), Err(Errno::EPERM));
    // SEIZE checks its options first: EIO for an unknown bit, even on oneself; ATTACH
    // ignores its data.
    assert_eq!(k.sys_ptrace_attach(main, nr(&k, main, main), true, 1 << 30), Err(Errno::EIO));
    let d = fork(&mut k, main);
    let pd = nr(&k, main, d);
    assert_eq!(k.sys_ptrace_attach(main, pd, true, PTRACE_O_TRACEEXIT), Err(Errno::EINVAL));
    assert_eq!(k.sys_ptrace_attach(main, pd, false, 1 << 30), Ok(()));
    // An exited task (exit_state).
    let z = fork(&mut k, main);
    k.sys_exit(z, 0).unwrap();
    assert_eq!(k.sys_ptrace_attach(other, nr(&k, other, z), false, 0), Err(Errno::EPERM));
    // ptrace_may_access(PTRACE_MODE_ATTACH_REALCREDS): another user's task (LTP ptrace02).
    let nobody = fork(&mut k, main);
    k.sys_setuid(nobody, 65534).unwrap();
    let victim = fork(&mut k, main);
    assert_eq!(k.sys_ptrace_attach(nobody, nr(&k, nobody, victim), false, 0), Err(Errno::EPERM));
    assert_eq!(k.tracer(victim), None);
    let _ = pid;
}

#[test]
fn traceme_needs_a_parent_holding_the_callers_capabilities_or_cap_sys_ptrace() {
    let (mut k, main) = boot();
    let c = fork(&mut k, main);
    // cap_ptrace_traceme: the parent's permitted set must cover the child's.
    let caps = k.sys_capget(main).unwrap();
    let less = |s: u64| s & !(1 << clonekit_flags::CAP_KILL) & !(1 << clonekit_flags::CAP_SYS_PTRACE);
    let dropped = clonekit_model::CapSets {
        effective: less(caps.effective),
        permitted: less(caps.permitted),
        inheritable: less(caps.inheritable),
    };
    k.sys_capset(main, dropped).unwrap();
    assert_eq!(k.sys_ptrace_traceme(c), Err(Errno::EPERM));
    assert_eq!(k.tracer(c), None);
    // A child that dropped the same capability may.
    k.sys_capset(c, dropped).unwrap();
    assert_eq!(k.sys_ptrace_traceme(c), Ok(()));
}

#[test]
fn cont_and_detach_need_a_tracee_of_the_caller_in_a_ptrace_stop() {
    let (mut k, main) = boot();
    let c = traced_child(&mut k, main);
    let pid = nr(&k, main, c);
    // Running: ESRCH (ptrace_check_attach), before the signal is looked at.
    assert_eq!(k.sys_ptrace_cont(main, pid, 0), Err(Errno::ESRCH));
    assert_eq!(k.sys_ptrace_detach(main, pid, 100), Err(Errno::ESRCH));
    k.sys_kill(main, pid, SIGUSR1).unwrap();
    // Stopped, but not the caller's tracee (another thread of the tracer's group is not the
    // tracer either).
    let other = fork(&mut k, main);
    let th = clone(&mut k, main, THREAD);
    assert_eq!(k.sys_ptrace_cont(other, nr(&k, other, c), 0), Err(Errno::ESRCH));
    assert_eq!(k.sys_ptrace_cont(th, pid, 0), Err(Errno::ESRCH));
    assert_eq!(k.sys_ptrace_cont(main, nr(&k, main, other), 0), Err(Errno::ESRCH));
    // An invalid signal: EIO (valid_signal), and the tracee stays stopped.
    assert_eq!(k.sys_ptrace_cont(main, pid, 65), Err(Errno::EIO));
    assert_eq!(k.sys_ptrace_detach(main, pid, 65), Err(Errno::EIO));
    assert!(k.in_ptrace_stop(c));
    // DETACH: untraced, resumed with the signal (SIGCHLD: ignored by default).
    assert_eq!(k.sys_ptrace_detach(main, pid, SIGCHLD), Ok(()));
    assert_eq!(k.tracer(c), None);
    assert_eq!(k.state(c), TaskState::Running);
    assert_eq!(k.sys_ptrace_cont(main, pid, 0), Err(Errno::ESRCH));
}

#[test]
fn exec_sends_a_legacy_tracee_sigtrap_and_stops_a_traceexec_one_in_an_event_stop() {
    let (mut k, main) = boot();
    // TRACEME, no options: SIGTRAP after the exec, a signal-delivery-stop.
    let c = traced_child(&mut k, main);
    let pid = nr(&k, main, c);
    k.sys_execve(c).unwrap();
    assert_eq!(report(&mut k, main, pid, 0), signal_stop(SIGTRAP));
    // Given back, SIGTRAP's default action kills (with a core, if one could be written).
    k.sys_ptrace_cont(main, pid, SIGTRAP).unwrap();
    assert!(matches!(
        report(&mut k, main, pid, 0),
        Some((WaitStatus::Killed(SIGTRAP) | WaitStatus::Dumped(SIGTRAP), None))
    ));
    // PTRACE_ATTACH, no options: the same.
    let a = fork(&mut k, main);
    let pa = nr(&k, main, a);
    k.sys_ptrace_attach(main, pa, false, 0).unwrap();
    assert_eq!(report(&mut k, main, pa, 0), signal_stop(SIGSTOP));
    k.sys_ptrace_cont(main, pa, 0).unwrap();
    k.sys_execve(a).unwrap();
    assert_eq!(report(&mut k, main, pa, 0), signal_stop(SIGTRAP));
    k.sys_ptrace_cont(main, pa, 0).unwrap();
    assert_eq!(k.state(a), TaskState::Running);
    // SEIZE with PTRACE_O_TRACEEXEC: a PTRACE_EVENT_EXEC stop, its message the old pid.
    let s = fork(&mut k, main);
    let ps = nr(&k, main, s);
    k.sys_ptrace_attach(main, ps, true, PTRACE_O_TRACEEXEC).unwrap();
    k.sys_execve(s).unwrap();
    assert_eq!(report(&mut k, main, ps, 0), event_stop(PTRACE_EVENT_EXEC));
    assert_eq!(k.sys_ptrace_geteventmsg(main, ps), Ok(ps as u64));
    // The signal given to an event stop is dropped.
    k.sys_ptrace_cont(main, ps, SIGTERM).unwrap();
    assert_eq!(k.state(s), TaskState::Running);
    // SEIZE without the option: no report at all.
    let q = fork(&mut k, main);
    let pq = nr(&k, main, q);
    k.sys_ptrace_attach(main, pq, true, 0).unwrap();
    k.sys_execve(q).unwrap();
    assert_eq!(k.state(q), TaskState::Running);
    assert_eq!(report(&mut k, main, pq, 0), None);
    // PTRACE_SETOPTIONS gives a legacy tracee the event stop instead of SIGTRAP.
    let l = traced_child(&mut k, main);
    let pl = nr(&k, main, l);
    k.sys_kill(main, pl, SIGUSR1).unwrap();
    assert_eq!(k.sys_ptrace_setoptions(main, pl, 1 << 30), Err(Errno::EINVAL));
    k.sys_ptrace_setoptions(main, pl, PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD).unwrap();
    k.sys_ptrace_cont(main, pl, 0).unwrap();
    k.sys_execve(l).unwrap();
    assert_eq!(report(&mut k, main, pl, 0), event_stop(PTRACE_EVENT_EXEC));
}

#[test]
fn clone_ptrace_child_is_traced_by_the_same_tracer_and_starts_stopped() {
    let (mut k, main) = boot();
    let c = traced_child(&mut k, main);
    let g = clone(&mut k, c, F::CLONE_PTRACE);
    let pg = nr(&k, main, g);
    // A legacy tracer's child starts with SIGSTOP pending, taken before it runs anything.
    assert_eq!(k.tracer(g), Some(main));
    assert!(k.in_ptrace_stop(g));
    assert_eq!(report(&mut k, main, -1, 0), signal_stop(SIGSTOP));
    // No event stop in the parent without the option.
    assert_eq!(k.state(c), TaskState::Running);
    assert_eq!(report(&mut k, main, -1, 0), None);
    // Without CLONE_PTRACE the child is not traced; with CLONE_PTRACE from an untraced
    // caller, neither.
    let h = clone(&mut k, c, F::empty());
    assert_eq!(k.tracer(h), None);
    let u = clone(&mut k, main, F::CLONE_PTRACE);
    assert_eq!(k.tracer(u), None);
    // A seizing tracer's child starts with a PTRACE_EVENT_STOP trap instead.
    let s = fork(&mut k, main);
    let ps = nr(&k, main, s);
    k.sys_ptrace_attach(main, ps, true, 0).unwrap();
    let sg = clone(&mut k, s, F::CLONE_PTRACE);
    let psg = nr(&k, main, sg);
    assert_eq!(report(&mut k, main, psg, 0), Some((WaitStatus::Stopped(SIGTRAP), Some(PTRACE_EVENT_STOP))));
    let _ = pg;
}

#[test]
fn tracefork_and_traceclone_stop_the_parent_after_the_child_is_made() {
    let (mut k, main) = boot();
    let p = fork(&mut k, main);
    let pp = nr(&k, main, p);
    k.sys_ptrace_attach(main, pp, true, PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE).unwrap();
    // fork(): the child exists, the parent stops in PTRACE_EVENT_FORK before the call returns.
    let f = match k.sys_fork(p).unwrap() {
        Syscall::Done(f) => f,
        Syscall::Blocked => panic!("fork does not block"),
    };
    let pc = nr(&k, main, f.child);
    assert_eq!(k.state(p), TaskState::Stopped);
    assert_eq!(k.tracer(f.child), Some(main));
    // do_wait looks at the children first (p, traced by its real parent, is seen as a
    // tracee), then the tracees, the last linked first: the parent's event, then the child's
    // first stop (a seized tracer's child: PTRACE_EVENT_STOP with SIGTRAP).
    assert_eq!(report(&mut k, main, -1, 0), event_stop(PTRACE_EVENT_FORK));
    assert_eq!(report(&mut k, main, -1, 0), Some((WaitStatus::Stopped(SIGTRAP), Some(PTRACE_EVENT_STOP))));
    assert_eq!(k.sys_ptrace_geteventmsg(main, pp), Ok(pc as u64));
    k.sys_ptrace_cont(main, pp, 0).unwrap();
    k.sys_ptrace_cont(main, pc, 0).unwrap();
    // A thread: PTRACE_EVENT_CLONE; the thread is traced too.
    let t = clone(&mut k, p, THREAD);
    assert_eq!(report(&mut k, main, pp, 0), event_stop(PTRACE_EVENT_CLONE));
    assert_eq!(k.sys_ptrace_geteventmsg(main, pp), Ok(nr(&k, main, t) as u64));
    assert_eq!(k.tracer(t), Some(main));
    k.sys_ptrace_cont(main, pp, 0).unwrap();
    // A clone with another exit signal is a CLONE event too.
    let args = KernelCloneArgs { exit_signal: ExitSignal(SIGUSR1 as u64), ..KernelCloneArgs::default() };
    let o = k.kernel_clone(p, &args, &[]).unwrap().done().unwrap().child;
    assert_eq!(report(&mut k, main, pp, 0), event_stop(PTRACE_EVENT_CLONE));
    assert_eq!(k.tracer(o), Some(main));
    k.sys_ptrace_cont(main, pp, 0).unwrap();
    // CLONE_UNTRACED: no event, and the child is not traced.
    let un = clone(&mut k, p, F::CLONE_UNTRACED);
    assert_eq!(k.tracer(un), None);
    assert_eq!(k.state(p), TaskState::Running);
    // CLONE_UNTRACED does not cancel CLONE_PTRACE.
    let both = clone(&mut k, p, F::CLONE_UNTRACED | F::CLONE_PTRACE);
    assert_eq!(k.tracer(both), Some(main));
    assert_eq!(k.state(p), TaskState::Running);
}

#[test]
fn tracevfork_stops_the_parent_which_then_waits_for_its_child() {
    let (mut k, main) = boot();
    let p = fork(&mut k, main);
    let pp = nr(&k, main, p);
    k.sys_ptrace_attach(main, pp, true, PTRACE_O_TRACEVFORK).unwrap();
    assert_eq!(k.sys_vfork(p), Ok(Syscall::Blocked));
    let child = k.vfork_child(p).unwrap();
    assert_eq!(report(&mut k, main, pp, 0), event_stop(PTRACE_EVENT_VFORK));
    // The child exits while the parent is still in its event stop: the vfork returns only
    // once the tracer resumes the parent.
    k.sys_ptrace_cont(main, nr(&k, main, child), 0).unwrap();
    k.sys_exit(child, 0).unwrap();
    assert!(k.take_resumed().is_empty());
    k.sys_ptrace_cont(main, pp, 0).unwrap();
    let pc = nr(&k, p, child);
    assert_eq!(k.take_resumed(), vec![(p, Resumed::Vfork(pc))]);
}

#[test]
fn tracevforkdone_stops_the_parent_when_its_child_lets_it_go() {
    let (mut k, main) = boot();
    let p = fork(&mut k, main);
    let pp = nr(&k, main, p);
    k.sys_ptrace_attach(main, pp, true, PTRACE_O_TRACEVFORK | PTRACE_O_TRACEVFORKDONE).unwrap();
    // The parent resumed from its VFORK stop sleeps; the child's exec releases it into a
    // PTRACE_EVENT_VFORK_DONE stop, whose message is the child's pid.
    assert_eq!(k.sys_vfork(p), Ok(Syscall::Blocked));
    let child = k.vfork_child(p).unwrap();
    let pc = nr(&k, main, child);
    assert_eq!(report(&mut k, main, pp, 0), event_stop(PTRACE_EVENT_VFORK));
    k.sys_ptrace_cont(main, pp, 0).unwrap();
    assert_eq!(k.state(p), TaskState::Blocked);
    k.sys_ptrace_cont(main, pc, 0).unwrap();
    k.sys_execve(child).unwrap();
    assert_eq!(report(&mut k, main, pp, 0), event_stop(PTRACE_EVENT_VFORK_DONE));
    assert_eq!(k.sys_ptrace_geteventmsg(main, pp), Ok(pc as u64));
    assert!(k.take_resumed().is_empty());
    k.sys_ptrace_cont(main, pp, 0).unwrap();
    assert_eq!(k.take_resumed(), vec![(p, Resumed::Vfork(nr(&k, p, child)))]);
    // Released while still in its VFORK stop: the VFORK_DONE stop comes when it is resumed.
    assert_eq!(k.sys_vfork(p), Ok(Syscall::Blocked));
    let child = k.vfork_child(p).unwrap();
    let pc = nr(&k, main, child);
    assert_eq!(report(&mut k, main, pp, 0), event_stop(PTRACE_EVENT_VFORK));
    k.sys_ptrace_cont(main, pc, 0).unwrap();
    k.sys_exit(child, 0).unwrap();
    k.sys_ptrace_cont(main, pp, 0).unwrap();
    assert_eq!(report(&mut k, main, pp, 0), event_stop(PTRACE_EVENT_VFORK_DONE));
    assert!(k.take_resumed().is_empty());
    k.sys_ptrace_cont(main, pp, 0).unwrap();
    assert_eq!(k.take_resumed().len(), 1);
}

#[test]
fn a_thread_tracee_is_waited_for_with_or_without_wclone() {
    let (mut k, main) = boot();
    let p = fork(&mut k, main);
    let pp = nr(&k, main, p);
    let t = clone(&mut k, p, THREAD);
    let pt = nr(&k, main, t);
    // A thread is no one's child: waiting for it is ECHILD, even with __WALL.
    assert_eq!(wait(&mut k, main, pt, WNOHANG | WALL).map(|w| w.is_some()), Err(Errno::ECHILD));
    // Traced, it is eligible whatever __WCLONE says (__WALL is implied for a tracee).
    k.sys_ptrace_attach(main, pt, false, 0).unwrap();
    assert_eq!(report(&mut k, main, pt, 0), signal_stop(SIGSTOP));
    k.sys_ptrace_cont(main, pt, 0).unwrap();
    k.sys_tgkill(main, pp, pt, SIGUSR1).unwrap();
    assert_eq!(report(&mut k, main, pt, WCLONE), signal_stop(SIGUSR1));
    k.sys_ptrace_cont(main, pt, 0).unwrap();
    // Its exit is reported to the tracer (SIGCHLD, not autoreaped), and reaped by it.
    k.sys_exit(t, 4).unwrap();
    assert_eq!(k.state(t), TaskState::Zombie);
    assert_eq!(report(&mut k, main, -1, 0), Some((WaitStatus::Exited(4), None)));
    assert_eq!(k.state(t), TaskState::Dead);
    // The process itself is still running: nothing more to report.
    assert_eq!(report(&mut k, main, -1, 0), None);
}

#[test]
fn a_tracee_zombie_goes_to_its_tracer_first_then_to_its_real_parent() {
    let (mut k, main) = boot();
    let tracer = fork(&mut k, main);
    let c = fork(&mut k, main);
    let (pid, tpid) = (nr(&k, main, c), nr(&k, tracer, c));
    k.sys_rt_sigaction(main, SIGCHLD, Some(Disposition::Handler)).unwrap();
    k.sys_ptrace_attach(tracer, tpid, false, 0).unwrap();
    assert_eq!(report(&mut k, tracer, tpid, 0), signal_stop(SIGSTOP));
    k.sys_ptrace_cont(tracer, tpid, 0).unwrap();
    k.sys_exit(c, 3).unwrap();
    // The real parent is told nothing yet, and its wait finds a child that may still change.
    assert_eq!(k.handled(main), Ok(0));
    assert_eq!(report(&mut k, main, pid, 0), None);
    // WNOWAIT leaves the zombie to the tracer.
    let peek = k.sys_waitid(tracer, IdType::Pid(tpid), WEXITED | WNOHANG | WNOWAIT).unwrap();
    assert_eq!(peek.done().flatten().map(|w| w.status), Some(WaitStatus::Exited(3)));
    assert_eq!(report(&mut k, tracer, tpid, 0), Some((WaitStatus::Exited(3), None)));
    // EXIT_TRACE: untraced and reported to the real parent (SIGCHLD), which reaps it.
    assert_eq!(k.tracer(c), None);
    assert_eq!(k.handled(main), Ok(1));
    assert_eq!(wait(&mut k, tracer, tpid, WNOHANG).map(|w| w.is_some()), Err(Errno::ECHILD));
    assert_eq!(report(&mut k, main, pid, 0), Some((WaitStatus::Exited(3), None)));
    assert_eq!(wait(&mut k, main, pid, WNOHANG).map(|w| w.is_some()), Err(Errno::ECHILD));
}

#[test]
fn a_traced_child_of_a_parent_ignoring_sigchld_is_not_reaped_until_its_tracer_lets_go() {
    let (mut k, main) = boot();
    let tracer = fork(&mut k, main);
    let c = fork(&mut k, main);
    let tpid = nr(&k, tracer, c);
    k.sys_rt_sigaction(main, SIGCHLD, Some(Disposition::Ignore)).unwrap();
    k.sys_ptrace_attach(tracer, tpid, true, 0).unwrap();
    k.sys_exit(c, 0).unwrap();
    // Traced, it waits for its tracer, whatever its real parent ignores.
    assert_eq!(k.state(c), TaskState::Zombie);
    // The tracer exits: __ptrace_detach reports it to its real parent, which ignores
    // SIGCHLD, so it is released.
    k.sys_exit(tracer, 0).unwrap();
    assert_eq!(k.state(c), TaskState::Dead);
}

#[test]
fn a_tracer_that_exits_detaches_its_tracees_and_exitkill_kills_them() {
    let (mut k, main) = boot();
    let tracer = fork(&mut k, main);
    let a = fork(&mut k, main);
    let b = fork(&mut k, main);
    let (pa, pb) = (nr(&k, main, a), nr(&k, main, b));
    k.sys_rt_sigaction(a, SIGUSR1, Some(Disposition::Handler)).unwrap();
    k.sys_ptrace_attach(tracer, nr(&k, tracer, a), true, 0).unwrap();
    k.sys_ptrace_attach(tracer, nr(&k, tracer, b), true, PTRACE_O_EXITKILL).unwrap();
    // a in a signal-delivery-stop its tracer never waited for.
    k.sys_kill(main, pa, SIGUSR1).unwrap();
    assert!(k.in_ptrace_stop(a));
    k.sys_exit(tracer, 0).unwrap();
    // Untraced and running again; the signal whose stop was never reported is delivered.
    assert_eq!(k.tracer(a), None);
    assert_eq!(k.state(a), TaskState::Running);
    assert_eq!(k.handled(a), Ok(1));
    // b got SIGKILL, and dies untraced: its real parent reaps it.
    assert_eq!(report(&mut k, main, pb, 0), Some((WaitStatus::Killed(SIGKILL), None)));
    assert_eq!(report(&mut k, main, pa, 0), None);
}

#[test]
fn sigkill_ends_a_tracee_in_a_ptrace_stop() {
    let (mut k, main) = boot();
    let c = traced_child(&mut k, main);
    let pid = nr(&k, main, c);
    k.sys_kill(main, pid, SIGUSR1).unwrap();
    assert_eq!(report(&mut k, main, pid, 0), signal_stop(SIGUSR1));
    // SIGKILL is never reported: it wakes the tracee, which dies.
    k.sys_kill(main, pid, SIGKILL).unwrap();
    assert_eq!(k.state(c), TaskState::Zombie);
    assert_eq!(k.sys_ptrace_cont(main, pid, 0), Err(Errno::ESRCH));
    assert_eq!(report(&mut k, main, pid, 0), Some((WaitStatus::Killed(SIGKILL), None)));
    // PTRACE_KILL does the same to a running tracee.
    let d = traced_child(&mut k, main);
    let pd = nr(&k, main, d);
    assert_eq!(k.sys_ptrace_kill(main, pd), Ok(()));
    assert_eq!(report(&mut k, main, pd, 0), Some((WaitStatus::Killed(SIGKILL), None)));
}

#[test]
fn a_stop_signal_given_back_starts_a_group_stop_the_real_parent_sees_too() {
    let (mut k, main) = boot();
    let tracer = fork(&mut k, main);
    let c = fork(&mut k, main);
    let (pid, tpid) = (nr(&k, main, c), nr(&k, tracer, c));
    k.sys_ptrace_attach(tracer, tpid, false, 0).unwrap();
    assert_eq!(report(&mut k, tracer, tpid, 0), signal_stop(SIGSTOP));
    // Given back, the SIGSTOP starts a group stop, which a traced task takes in a trap: the
    // tracer sees a second stop, the real parent the group stop.
    k.sys_ptrace_cont(tracer, tpid, SIGSTOP).unwrap();
    assert!(k.in_ptrace_stop(c));
    assert_eq!(report(&mut k, tracer, tpid, 0), signal_stop(SIGSTOP));
    assert_eq!(report(&mut k, main, pid, WUNTRACED), Some((WaitStatus::Stopped(SIGSTOP), None)));
    // Resumed, the tracee runs although its group is stopped; detached, it stops with it.
    k.sys_ptrace_cont(tracer, tpid, 0).unwrap();
    assert_eq!(k.state(c), TaskState::Running);
    k.sys_kill(main, pid, SIGUSR2).unwrap();
    assert_eq!(report(&mut k, tracer, tpid, 0), signal_stop(SIGUSR2));
    k.sys_ptrace_detach(tracer, tpid, 0).unwrap();
    assert_eq!(k.state(c), TaskState::Stopped);
    assert!(!k.in_ptrace_stop(c));
    // A group stop now: SIGCONT ends it.
    k.sys_kill(main, pid, SIGCONT).unwrap();
    assert_eq!(k.state(c), TaskState::Running);
}

#[test]
fn a_seized_tracee_traps_at_sigcont_and_its_group_stop_is_an_event_stop() {
    let (mut k, main) = boot();
    let c = fork(&mut k, main);
    let pid = nr(&k, main, c);
    k.sys_ptrace_attach(main, pid, true, 0).unwrap();
    k.sys_kill(main, pid, SIGSTOP).unwrap();
    assert_eq!(report(&mut k, main, pid, 0), signal_stop(SIGSTOP));
    k.sys_ptrace_cont(main, pid, SIGSTOP).unwrap();
    // PTRACE_EVENT_STOP with the stop signal: a group-stop under SEIZE.
    assert_eq!(report(&mut k, main, pid, 0), Some((WaitStatus::Stopped(SIGSTOP), Some(PTRACE_EVENT_STOP))));
    k.sys_ptrace_cont(main, pid, 0).unwrap();
    // SIGCONT: a notification trap first (ptrace_trap_notify), then SIGCONT's own stop.
    k.sys_kill(main, pid, SIGCONT).unwrap();
    assert_eq!(report(&mut k, main, pid, 0), Some((WaitStatus::Stopped(SIGTRAP), Some(PTRACE_EVENT_STOP))));
    k.sys_ptrace_cont(main, pid, 0).unwrap();
    assert_eq!(report(&mut k, main, pid, 0), signal_stop(SIGCONT));
    k.sys_ptrace_cont(main, pid, 0).unwrap();
    assert_eq!(k.state(c), TaskState::Running);
}

#[test]
fn waitid_reports_a_ptrace_stop_as_cld_trapped_with_the_event() {
    let (mut k, main) = boot();
    let s = fork(&mut k, main);
    let ps = nr(&k, main, s);
    k.sys_ptrace_attach(main, ps, true, PTRACE_O_TRACEEXEC).unwrap();
    k.sys_execve(s).unwrap();
    let w = match k.sys_waitid(main, IdType::Pid(ps), WEXITED | WNOHANG | WNOWAIT).unwrap() {
        Syscall::Done(Some(w)) => w,
        other => panic!("waitid found nothing: {other:?}"),
    };
    assert_eq!(w.si_code(), CLD_TRAPPED);
    assert_eq!(w.si_status(), ((PTRACE_EVENT_EXEC << 8) | SIGTRAP) as i32);
    assert_eq!(w.wstatus(), ((PTRACE_EVENT_EXEC << 16) | (SIGTRAP << 8) | 0x7f) as i32);
    // WNOWAIT left it to report.
    assert_eq!(report(&mut k, main, ps, 0), event_stop(PTRACE_EVENT_EXEC));
}

#[test]
fn a_blocked_tracer_wakes_at_its_tracees_stop() {
    let (mut k, main) = boot();
    let c = traced_child(&mut k, main);
    let pid = nr(&k, main, c);
    assert_eq!(k.sys_wait4(main, -1, 0).unwrap(), Syscall::Blocked);
    k.sys_kill(c, pid, SIGUSR1).unwrap();
    let r = k.take_resumed();
    assert_eq!(r.len(), 1);
    let Resumed::Wait(Ok(w)) = &r[0].1 else { panic!("{r:?}") };
    assert_eq!((w.nr, w.status, w.ptrace_event), (pid, WaitStatus::Stopped(SIGUSR1), Some(0)));
}

#[test]
fn a_clone_child_traced_by_its_parent_is_seen_by_a_plain_wait() {
    let (mut k, main) = boot();
    k.sys_rt_sigaction(main, SIGUSR1, Some(Disposition::Ignore)).unwrap();
    // A child whose exit signal is not SIGCHLD needs __WCLONE from its parent...
    let args = KernelCloneArgs { exit_signal: ExitSignal(SIGUSR1 as u64), ..KernelCloneArgs::default() };
    let c = k.kernel_clone(main, &args, &[]).unwrap().done().unwrap().child;
    let pid = nr(&k, main, c);
    k.sys_exit(c, 0).unwrap();
    assert_eq!(wait(&mut k, main, pid, WNOHANG).map(|w| w.is_some()), Err(Errno::ECHILD));
    assert_eq!(report(&mut k, main, pid, WCLONE), Some((WaitStatus::Exited(0), None)));
    // ...unless it is traced by its parent: ptrace_do_wait takes it whatever the flags.
    let d = k.kernel_clone(main, &args, &[]).unwrap().done().unwrap().child;
    let pd = nr(&k, main, d);
    k.sys_ptrace_traceme(d).unwrap();
    k.sys_exit(d, 6).unwrap();
    assert_eq!(report(&mut k, main, pd, 0), Some((WaitStatus::Exited(6), None)));
    assert_eq!(wait(&mut k, main, pd, WNOHANG | WALL).map(|w| w.is_some()), Err(Errno::ECHILD));
}

#[test]
fn a_tracee_asleep_in_wait4_stops_then_makes_the_call_again() {
    let (mut k, main) = boot();
    let c = traced_child(&mut k, main);
    let pid = nr(&k, main, c);
    let g = fork(&mut k, c);
    assert_eq!(k.sys_wait4(c, -1, 0).unwrap(), Syscall::Blocked);
    // The grandchild exits while c is in a signal-delivery-stop: SIGCHLD, which c reports
    // too. The wait's result waits for c to be resumed.
    k.sys_kill(main, pid, SIGUSR1).unwrap();
    assert_eq!(report(&mut k, main, pid, 0), signal_stop(SIGUSR1));
    k.sys_exit(g, 2).unwrap();
    assert!(k.take_resumed().is_empty());
    // Given SIGSTOP back, c takes its group-stop trap before the wait is made again.
    k.sys_ptrace_cont(main, pid, SIGSTOP).unwrap();
    assert!(k.take_resumed().is_empty());
    assert_eq!(report(&mut k, main, pid, 0), signal_stop(SIGSTOP));
    k.sys_ptrace_cont(main, pid, 0).unwrap();
    // Then SIGCHLD, queued while it was stopped, and only then the wait.
    assert!(k.take_resumed().is_empty());
    assert_eq!(report(&mut k, main, pid, 0), signal_stop(SIGCHLD));
    k.sys_ptrace_cont(main, pid, 0).unwrap();
    let r = k.take_resumed();
    assert!(
        matches!(&r[..], [(t, Resumed::Wait(Ok(w)))] if *t == c && w.status == WaitStatus::Exited(2)),
        "{r:?}"
    );
}

#[test]
fn a_traced_leader_that_exits_before_its_threads_is_reaped_by_its_tracer_once_they_are_gone() {
    let (mut k, main) = boot();
    let tracer = fork(&mut k, main);
    let p = fork(&mut k, main);
    let th = clone(&mut k, p, THREAD);
    let (pid, tpid) = (nr(&k, main, p), nr(&k, tracer, p));
    k.sys_ptrace_attach(tracer, tpid, true, 0).unwrap();
    k.sys_exit(p, 1).unwrap();
    // delay_group_leader: a zombie, not yet reapable by anyone.
    assert_eq!(k.state(p), TaskState::Zombie);
    assert_eq!(report(&mut k, tracer, tpid, 0), None);
    assert_eq!(report(&mut k, main, pid, 0), None);
    k.sys_exit(th, 7).unwrap();
    // The last thread's status is the group's; the tracer first, then the real parent.
    assert_eq!(report(&mut k, main, pid, 0), None);
    assert_eq!(report(&mut k, tracer, tpid, 0), Some((WaitStatus::Exited(7), None)));
    assert_eq!(report(&mut k, main, pid, 0), Some((WaitStatus::Exited(7), None)));
}

/// A small deterministic generator (a linear congruential one).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Random sequences of clones, ptrace requests, signals, exits, execs and waits: no panic,
/// and the links stay consistent (a tracer is alive and has not exited; a task in a ptrace
/// stop has a tracer and shows as stopped). Returns how many requests on a stopped tracee
/// succeeded, for the caller to see the generator reaches them.
fn random_sequences(seeds: std::ops::Range<u64>) -> usize {
    let sigs = [0, SIGTRAP, SIGKILL, SIGUSR1, SIGUSR2, SIGTERM, SIGCHLD, SIGCONT, SIGSTOP];
    let options = [
        0,
        PTRACE_O_TRACEFORK | PTRACE_O_TRACECLONE,
        PTRACE_O_TRACEVFORK | PTRACE_O_TRACEVFORKDONE,
        PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL,
    ];
    let seen = |k: &Kernel, by: TaskId, t: TaskId| k.task_pid(t).map_or(0, |p| k.pid_nr_seen_by(by, &p));
    let mut resumed = 0;
    for seed in seeds {
        let mut rng = Lcg(seed);
        let (mut k, main) = boot();
        let mut tasks = vec![main];
        for _ in 0..4 {
            tasks.push(fork(&mut k, main));
        }
        for _ in 0..80 {
            // A tracee in a ptrace stop whose tracer can act, for the requests that need one.
            let stopped: Vec<(TaskId, TaskId)> = tasks
                .iter()
                .filter_map(|&t| k.tracer(t).filter(|_| k.in_ptrace_stop(t)).map(|tr| (tr, t)))
                .filter(|&(tr, _)| k.state(tr) == TaskState::Running)
                .collect();
            let live: Vec<TaskId> =
                tasks.iter().copied().filter(|&t| k.state(t) == TaskState::Running).collect();
            if live.is_empty() && stopped.is_empty() {
                break;
            }
            let cur = if live.is_empty() { stopped[0].0 } else { live[rng.next(live.len())] };
            let other = tasks[rng.next(tasks.len())];
            let pid = seen(&k, cur, other);
            let sig = sigs[rng.next(sigs.len())];
            let op = if live.is_empty() { 7 } else { rng.next(24) };
            match op {
                0 | 1 => {
                    if let Ok(Syscall::Done(f)) = k.sys_fork(cur) {
                        tasks.push(f.child);
                    }
                }
                2 => {
                    let flags =
                        [THREAD | F::CLONE_PTRACE, THREAD, F::CLONE_PTRACE, F::CLONE_UNTRACED][rng.next(4)];
                    let sp = if flags.contains(F::CLONE_VM) { 0x7d00_0010_0000 } else { 0 };
                    let exit = if flags.contains(F::CLONE_THREAD) { 0 } else { SIGCHLD as u64 };
                    if let Ok(Syscall::Done(f)) = k.sys_clone(cur, flags.bits() | exit, sp, 0, 0, 0) {
                        tasks.push(f.child);
                    }
                }
                3 => {
                    if k.sys_vfork(cur).is_ok() {
                        tasks.extend(k.vfork_child(cur));
                    }
                }
                4 => {
                    let _ = k.sys_ptrace_traceme(cur);
                }
                5 | 6 => {
                    let _ = k.sys_ptrace_attach(cur, pid, rng.next(2) == 0, options[rng.next(options.len())]);
                }
                7..=10 if !stopped.is_empty() => {
                    let (tracer, tracee) = stopped[rng.next(stopped.len())];
                    let tpid = seen(&k, tracer, tracee);
                    let r = match rng.next(4) {
                        0 => k.sys_ptrace_detach(tracer, tpid, sig),
                        1 => k.sys_ptrace_setoptions(tracer, tpid, options[rng.next(options.len())]),
                        _ => k.sys_ptrace_cont(tracer, tpid, sig),
                    };
                    resumed += usize::from(r.is_ok());
                }
                7..=12 if other != cur => {
                    let _ = k.sys_kill(cur, pid, sig);
                }
                13 | 14 => {
                    let _ = k.sys_wait4(cur, -1, [WNOHANG, WUNTRACED, WALL, 0][rng.next(4)]);
                }
                15 => {
                    let _ = k.sys_execve(cur);
                }
                16 | 17 => {
                    let act = [Disposition::Handler, Disposition::Ignore, Disposition::Default][rng.next(3)];
                    let _ = k.sys_rt_sigaction(cur, sig.max(1), Some(act));
                }
                18 => {
                    let _ = k.sys_ptrace_kill(cur, pid);
                }
                19 => {
                    let _ = k.sys_exit(cur, 1);
                }
                20 => {
                    let _ = k.sys_exit_group(cur, 2);
                }
                _ => {
                    let _ = k.sys_wait4(cur, -1, WNOHANG | WALL);
                }
            }
            drop(k.take_resumed());
            for &t in &tasks {
                if let Some(tracer) = k.tracer(t) {
                    assert!(
                        !matches!(k.state(tracer), TaskState::Dead | TaskState::Zombie),
                        "seed {seed}: a tracee of a tracer that has exited"
                    );
                    assert!(!k.shares(t, tracer, clonekit_model::Resource::ThreadGroup), "seed {seed}");
                }
                if k.in_ptrace_stop(t) {
                    assert!(k.tracer(t).is_some(), "seed {seed}: a ptrace stop without a tracer");
                    assert_eq!(k.state(t), TaskState::Stopped, "seed {seed}");
                }
            }
        }
    }
    resumed
}

#[test]
fn random_sequences_never_leave_a_tracee_to_an_exited_tracer() {
    let resumed = random_sequences(0..2000);
    assert!(resumed > 2000, "the generator resumed {resumed} tracees only");
}

#[test]
fn an_exec_by_a_traced_thread_reports_its_old_tid_and_looks_spurious_until_waited_for() {
    let (mut k, main) = boot();
    let p = fork(&mut k, main);
    let t = clone(&mut k, p, THREAD);
    let (pp, pt) = (nr(&k, main, p), nr(&k, main, t));
    k.sys_ptrace_attach(main, pt, true, PTRACE_O_TRACEEXEC).unwrap();
    // de_thread: the thread takes its leader's pid; the old leader is gone.
    k.sys_execve(t).unwrap();
    assert_eq!(nr(&k, main, t), pp);
    assert_eq!(k.state(p), TaskState::Dead);
    // looks_like_a_spurious_pid: until the tracer has seen the stop, requests by the new pid
    // are ESRCH.
    assert_eq!(k.sys_ptrace_cont(main, pp, 0), Err(Errno::ESRCH));
    let w = wait(&mut k, main, -1, WNOHANG).unwrap().unwrap();
    assert_eq!((w.nr, w.status, w.ptrace_event), (pp, WaitStatus::Stopped(SIGTRAP), Some(PTRACE_EVENT_EXEC)));
    assert_eq!(k.sys_ptrace_geteventmsg(main, pp), Ok(pt as u64));
    assert_eq!(k.sys_ptrace_cont(main, pp, 0), Ok(()));
}
