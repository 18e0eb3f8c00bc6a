//! `struct task_struct` (include/linux/sched.h), the task table, and the sleeping and waking
//! of blocked system calls (kernel/sched/core.c's part: `try_to_wake_up`, `schedule`).

use std::cell::RefCell;
use std::rc::Rc;

use clonekit_flags::{Errno, KernelCloneArgs, Resource};

use crate::blk_ioc::IoContext;
use crate::cred::Cred;
use crate::file::FilesStruct;
use crate::fork::{CopyProcessRecord, Forked};
use crate::fs::FsStruct;
use crate::futex::FutexWaiter;
use crate::mm::MmStruct;
use crate::nsproxy::NsProxy;
use crate::pid::{Pid, PidNamespace};
use crate::sem::SemUndoList;
use crate::signal::{SigAltStack, SigSet, SighandStruct, SignalStruct};
use crate::wait::{WaitOptions, Waited};

/// A shared, mutable kernel object: sharing is `Rc` identity.
pub(crate) type Shared<T> = Rc<RefCell<T>>;

/// A task in the model's task table (a slot and its generation, so a stale id never names a
/// newer task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId {
    index: u32,
    generation: u32,
}

/// What a task is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Running user code: it can make system calls.
    Running,
    /// Sleeping in a system call that has not finished.
    Blocked,
    /// Stopped by a stop signal (`TASK_STOPPED`) until `SIGCONT`.
    Stopped,
    /// Exited, waiting to be reaped (`EXIT_ZOMBIE`).
    Zombie,
    /// Released (`EXIT_DEAD`): no longer in the task table.
    Dead,
}

/// Why a task sleeps, with what its system call needs to finish.
#[derive(Debug, Clone)]
pub(crate) enum Block {
    /// `wait_for_vfork_done` (kernel/fork.c): until the child releases its mm.
    Vfork {
        /// The child.
        child: TaskId,
        /// What `kernel_clone` returns once the child releases the parent.
        nr: i32,
    },
    /// `do_wait` (kernel/exit.c): until a child changes state.
    Wait(WaitOptions),
    /// `futex_wait` (kernel/futex/waitwake.c): until `FUTEX_WAKE` on the word.
    Futex,
    /// `do_poll` (fs/select.c) on descriptor `fd` for `events`, on the wait queue of the pid a
    /// pidfd refers to (`pid->wait_pidfd`): until a wake-up there finds it ready.
    Poll {
        /// The descriptor, looked up again at each pass.
        fd: i32,
        /// The events asked for.
        events: u16,
        /// The pid whose pidfd waiters it sleeps with.
        pid: Rc<Pid>,
    },
    /// A clone that found a signal pending at entry (`copy_process` returned
    /// `-ERESTARTNOINTR`) and whose task then stopped (or entered a ptrace stop): the call is
    /// made again when the task continues.
    Restart {
        /// The call.
        args: KernelCloneArgs,
        /// `clone3`'s `set_tid` array.
        set_tid: Vec<i32>,
    },
}

/// A blocked system call that finished, with its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resumed {
    /// A `CLONE_VFORK` parent released: the child's pid as the parent sees it.
    Vfork(i32),
    /// A wait that found a child, or failed.
    Wait(Result<Waited, Errno>),
    /// A `FUTEX_WAIT` woken (0).
    Futex(Result<i32, Errno>),
    /// A `poll` that found its descriptor ready, or was interrupted: the `revents`, and when
    /// what it finds is a race on a real machine, every value it may find (the model's
    /// first).
    Poll(Result<Vec<u16>, Errno>),
    /// A clone made again after its task continued ([`Block::Restart`]): the child, or why
    /// not. A vfork restarted this way sleeps again; its child is reported with `Blocked`.
    Clone(Result<Syscall<Forked>, Errno>),
}

/// The result of a system call that may sleep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Syscall<T> {
    /// It finished.
    Done(T),
    /// The task sleeps; the result comes later through [`Kernel::take_resumed`].
    Blocked,
}

impl<T> Syscall<T> {
    /// The result, if the call finished.
    pub fn done(self) -> Option<T> {
        match self {
            Syscall::Done(v) => Some(v),
            Syscall::Blocked => None,
        }
    }
}

/// What a new task is made of before it is linked in (fork.c's `p` as `copy_process` fills
/// it): its resources, and the state its creator's `task_struct` gave it.
pub(crate) struct TaskParts {
    pub(crate) blocked: SigSet,
    pub(crate) sas: SigAltStack,
    pub(crate) tls: u64,
    pub(crate) self_exec_id: u64,
    pub(crate) cred: Option<Rc<Cred>>,
    pub(crate) sysvsem: Option<Shared<SemUndoList>>,
    pub(crate) files: Option<Shared<FilesStruct>>,
    pub(crate) fs: Option<Shared<FsStruct>>,
    pub(crate) sighand: Option<Shared<SighandStruct>>,
    pub(crate) signal: Option<Shared<SignalStruct>>,
    pub(crate) mm: Option<Shared<MmStruct>>,
    pub(crate) nsproxy: Option<Rc<NsProxy>>,
    pub(crate) io_context: Option<Shared<IoContext>>,
}

/// Where a new task hangs in the task tree, and the tid words it was given.
pub(crate) struct Linkage {
    pub(crate) group_leader: TaskId,
    pub(crate) real_parent: TaskId,
    pub(crate) exit_signal: i32,
    pub(crate) parent_exec_id: u64,
    pub(crate) set_child_tid: u64,
    pub(crate) clear_child_tid: u64,
}

impl Task {
    /// A running task `id` with pid `pid`, made of `parts` (whose creds, signal handlers and
    /// thread group must be set), linked as `link` says; `serial` is its creation order.
    pub(crate) fn new(id: TaskId, pid: Rc<Pid>, link: Linkage, parts: TaskParts, serial: u64) -> Task {
        Task {
            id,
            state: TaskState::Running,
            exiting: false,
            exit_code: 0,
            pid,
            group_leader: link.group_leader,
            real_parent: link.real_parent,
            children: Vec::new(),
            exit_signal: link.exit_signal,
            pdeath_signal: 0,
            user_dumpable: false,
            no_new_privs: false,
            mm: parts.mm,
            fs: parts.fs,
            files: parts.files,
            sighand: parts.sighand.expect("a task has signal handlers"),
            signal: parts.signal.expect("a task has a thread group"),
            cred: parts.cred.expect("a task has credentials"),
            nsproxy: parts.nsproxy,
            blocked: parts.blocked,
            pending: Vec::new(),
            sysvsem: parts.sysvsem,
            io_context: parts.io_context,
            sas: parts.sas,
            set_child_tid: link.set_child_tid,
            clear_child_tid: link.clear_child_tid,
            vfork_done: None,
            self_exec_id: parts.self_exec_id,
            parent_exec_id: link.parent_exec_id,
            block: None,
            handled: 0,
            handled_race: 0,
            handled_maybe: 0,
            tls: parts.tls,
            serial,
            stopped: false,
            stop_pending: false,
            sigpending: false,
            stopped_resume: None,
            forknoexec: true,
            jobctl: JobCtl::default(),
            ptrace: 0,
            ptracer: None,
            ptraced: Vec::new(),
            ptrace_stop: None,
            ptrace_code: 0,
            ptrace_message: 0,
        }
    }

    /// Stopped (`TASK_STOPPED`) or in a ptrace stop (`TASK_TRACED`): it runs nothing until
    /// it is woken (`SIGCONT`, a ptrace request, `SIGKILL`).
    pub(crate) fn frozen(&self) -> bool {
        self.stopped || self.ptrace_stop.is_some()
    }
}

/// `struct task_struct`: one thread of execution.
#[derive(Debug)]
pub(crate) struct Task {
    pub(crate) id: TaskId,
    pub(crate) state: TaskState,
    /// `PF_EXITING`.
    pub(crate) exiting: bool,
    /// The wait status `do_exit` recorded (`exit_code`).
    pub(crate) exit_code: i32,
    /// `thread_pid`: this task's `struct pid`.
    pub(crate) pid: Rc<Pid>,
    pub(crate) group_leader: TaskId,
    pub(crate) real_parent: TaskId,
    /// The processes this task created (their leaders), `children`.
    pub(crate) children: Vec<TaskId>,
    /// `exit_signal`: -1 for a thread, 0 for none.
    pub(crate) exit_signal: i32,
    pub(crate) pdeath_signal: u32,
    pub(crate) mm: Option<Shared<MmStruct>>,
    /// `user_dumpable`: whether its memory was dumpable when `exit_mm` let it go
    /// (clonekit_flags::PTRACE_EXITED_DUMPABLE).
    pub(crate) user_dumpable: bool,
    /// `PFA_NO_NEW_PRIVS` (`prctl(PR_SET_NO_NEW_PRIVS)`, or `CLONE_NNP`): exec grants no
    /// privilege the task did not have. Inherited by every child (`copy_seccomp`).
    pub(crate) no_new_privs: bool,
    pub(crate) fs: Option<Shared<FsStruct>>,
    pub(crate) files: Option<Shared<FilesStruct>>,
    pub(crate) sighand: Shared<SighandStruct>,
    pub(crate) signal: Shared<SignalStruct>,
    pub(crate) cred: Rc<Cred>,
    pub(crate) nsproxy: Option<Rc<NsProxy>>,
    pub(crate) blocked: SigSet,
    /// Signals sent to this thread (`pending`).
    pub(crate) pending: Vec<u32>,
    pub(crate) sysvsem: Option<Shared<SemUndoList>>,
    pub(crate) io_context: Option<Shared<IoContext>>,
    pub(crate) sas: SigAltStack,
    pub(crate) set_child_tid: u64,
    pub(crate) clear_child_tid: u64,
    /// The parent sleeping in `wait_for_vfork_done` for this child (`vfork_done`).
    pub(crate) vfork_done: Option<TaskId>,
    pub(crate) self_exec_id: u64,
    pub(crate) parent_exec_id: u64,
    /// What the task sleeps on, and since which sleep (the order resumptions are reported in).
    pub(crate) block: Option<(u64, Block)>,
    /// Deliveries to the user handler in the running program (reset by exec).
    pub(crate) handled: u64,
    /// Of those, deliveries a real machine may not have made: a signal sent while an earlier
    /// copy may still have been pending, which it would have merged with (see
    /// [`RacingWake`]).
    pub(crate) handled_race: u64,
    /// Handler runs another thread's racy delivery may have given this one instead (see
    /// [`RacingWake`]): on a real machine its count may be up to this much higher.
    pub(crate) handled_maybe: u64,
    /// The thread pointer (`CLONE_SETTLS`).
    pub(crate) tls: u64,
    /// Creation order (`init_task.tasks` list order, which `for_each_process` walks).
    pub(crate) serial: u64,
    /// Stopped by a group stop (`TASK_STOPPED`).
    pub(crate) stopped: bool,
    /// `JOBCTL_STOP_PENDING`: a group stop is under way and this thread has yet to take part
    /// (it will at its next return to user space; a vfork parent only once released).
    pub(crate) stop_pending: bool,
    /// `TIF_SIGPENDING`: the thread will run `get_signal` on its way back to user space. Set
    /// when it is the one picked to take a group signal (or owes a part in a group stop),
    /// cleared when `get_signal` finds nothing more; a thread released from a sleep without
    /// it does not look at the group's pending signals.
    pub(crate) sigpending: bool,
    /// A blocked call that finished while the task was stopped: reported when it continues.
    pub(crate) stopped_resume: Option<(u64, TaskId, Resumed)>,
    /// `PF_FORKNOEXEC`: forked and not yet exec'd (a parent may still move it to another
    /// process group).
    pub(crate) forknoexec: bool,
    /// The `jobctl` bits besides `JOBCTL_STOP_PENDING` (`stop_pending`) and the stopped
    /// states (`stopped`, `ptrace_stop`).
    pub(crate) jobctl: JobCtl,
    /// `ptrace`: 0 when not traced, else `PT_PTRACED`, `PT_SEIZED` and the options shifted
    /// by `PT_OPT_FLAG_SHIFT` (include/linux/ptrace.h).
    pub(crate) ptrace: u32,
    /// `parent` while traced: the tracer (`__ptrace_link`). `None`: `parent` is
    /// `real_parent`.
    pub(crate) ptracer: Option<TaskId>,
    /// `ptraced`: the tasks this one traces, the last linked first (`list_add`), the order
    /// `ptrace_do_wait` looks at them in.
    pub(crate) ptraced: Vec<TaskId>,
    /// In a ptrace stop (`TASK_TRACED`, `JOBCTL_TRACED`): what the task does when it leaves
    /// it.
    pub(crate) ptrace_stop: Option<PtraceStop>,
    /// `exit_code` while alive and traced: what the ptrace stop reports to the tracer's wait
    /// (0 once reported), then the signal the tracer resumes it with.
    pub(crate) ptrace_code: i32,
    /// `ptrace_message`: what `PTRACE_GETEVENTMSG` reads in an event stop.
    pub(crate) ptrace_message: u64,
}

/// `task->jobctl` (include/linux/sched/jobctl.h), the bits the model follows besides
/// `JOBCTL_STOP_PENDING` and the stopped states.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct JobCtl {
    /// `JOBCTL_STOP_SIGMASK`: the signal of the last group stop asked of this thread.
    pub(crate) stop_sig: u32,
    /// `JOBCTL_STOP_CONSUME`: taking part in the group stop counts down `group_stop_count`
    /// (not so for a stop reinstated by `__ptrace_unlink`).
    pub(crate) stop_consume: bool,
    /// `JOBCTL_STOP_DEQUEUED`: a stop signal was dequeued (or a signal reported to the
    /// tracer) and no `SIGCONT` has come since: it may still start a group stop.
    pub(crate) stop_dequeued: bool,
    /// `JOBCTL_TRAP_STOP`: a ptrace trap (a traced thread's group-stop, a seized child's
    /// first stop) is to be taken.
    pub(crate) trap_stop: bool,
    /// `JOBCTL_TRAP_NOTIFY`: a seized tracee is to trap (`PTRACE_EVENT_STOP`) to tell its
    /// tracer of a group stop or continue (`ptrace_trap_notify`).
    pub(crate) trap_notify: bool,
}

/// What a task in a ptrace stop stopped in, which says what it does when resumed.
#[derive(Debug, Clone)]
pub(crate) enum PtraceStop {
    /// `ptrace_signal`: a signal-delivery-stop, for a signal dequeued from the thread's own
    /// queue or (`shared`) its group's; the tracer's signal is then delivered.
    Signal {
        /// Dequeued from `shared_pending` (`PIDTYPE_TGID`), where a blocked signal the
        /// tracer gives back is queued again.
        shared: bool,
    },
    /// `ptrace_event` in a system call (fork, vfork, clone, exec, vfork done): the call goes
    /// on to return; the tracer's signal is dropped.
    Event {
        /// A vfork whose child released the task while it was in this (`PTRACE_EVENT_VFORK`)
        /// stop, with the child's pid: `wait_for_vfork_done` returns at once, and the
        /// `PTRACE_EVENT_VFORK_DONE` stop comes next.
        vfork_done: Option<Rc<Pid>>,
    },
    /// `do_jobctl_trap`: a group-stop or `PTRACE_EVENT_STOP` trap; the task goes back to
    /// `get_signal`, the tracer's signal dropped.
    Trap,
}

/// A task woken by another that goes on in the kernel on its own CPU: a vfork child's exit
/// completes the vfork (`mm_release`) and then, in `exit_notify`, sends its exit signal. On a
/// real machine the woken parent takes the signals it had pending (`get_signal`) at the same
/// time: a copy of one of them that the exit sends while the first is still pending merges
/// with it (`legacy_queue`), so whether the parent's handler runs once or twice is a race. The
/// model runs the parent first; a delivery that may have merged is counted in
/// `handled_race`.
#[derive(Debug, Clone)]
pub(crate) struct RacingWake {
    /// The task still running in the kernel.
    pub(crate) waker: TaskId,
    /// The thread it woke.
    pub(crate) woken: TaskId,
    /// The signals the woken thread took on its way back to user space.
    pub(crate) taken: Vec<u32>,
    /// A signal the waker sent that the woken thread's group may have had pending still, and
    /// its group: the handler run that delivers it is a race.
    pub(crate) merged: Option<(u32, Shared<crate::signal::SignalStruct>)>,
}

/// A `__wake_up_parent` call: the parent's thread group, and the child's pid and process
/// group, which the woken waits' pid filters are checked against.
#[derive(Debug)]
pub(crate) struct ChildWake {
    group: Shared<crate::signal::SignalStruct>,
    pid: Rc<crate::pid::Pid>,
    pgrp: Rc<crate::pid::Pid>,
    parent: TaskId,
}

/// What a `SIGCONT` sets going: the woken threads run `get_signal`, and the first of them
/// tells the parent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Continuing {
    /// `do_notify_parent_cldstop` for the group of this leader (`CLD_CONTINUED`, or
    /// `CLD_STOPPED` for a stop that was still under way).
    Notify(TaskId),
    /// A thread woken from its stop.
    Thread(TaskId),
    /// A seized tracee told of the continue (`ptrace_trap_notify`): it traps
    /// (`PTRACE_EVENT_STOP`) on its way back to user space.
    Trap(TaskId),
}

/// The whole modelled system: the task table, the initial namespaces and init.
#[derive(Debug)]
pub struct Kernel {
    /// The kernel version whose behaviour the model follows ([`Kernel::set_linux`]).
    pub(crate) linux: clonekit_flags::Version,
    pub(crate) slots: Vec<Slot>,
    pub(crate) free: Vec<u32>,
    pub(crate) init_task: TaskId,
    pub(crate) init_pid_ns: Rc<PidNamespace>,
    pub(crate) futex_waiters: Vec<FutexWaiter>,
    /// `__wake_up_parent` calls not yet acted on: which waits they wake (see
    /// [`Kernel::wake_waiters`]).
    pub(crate) child_wakes: Vec<ChildWake>,
    /// What a `SIGCONT` set going, done once the sending is over (see
    /// [`Kernel::send_signal`]).
    pub(crate) continuing: Vec<Continuing>,
    pub(crate) resumed: Vec<(u64, TaskId, Resumed)>,
    pub(crate) sleep_seq: u64,
    pub(crate) next_inum: u64,
    pub(crate) next_serial: u64,
    /// The record of the last `copy_process`, kept when [`Kernel::set_recording`] is on.
    pub(crate) last_copy: Option<CopyProcessRecord>,
    pub(crate) recording: bool,
    /// Exit statuses of tasks, kept when recording is on.
    pub(crate) exit_log: Vec<(TaskId, i32)>,
    /// The pidfd pollers an exit in progress woke, with what they found then: they look on
    /// their own CPUs while the exit goes on (see [`Kernel::notify_pidfd`]).
    pub(crate) pidfd_wakes: Option<Vec<(TaskId, u16)>>,
    /// Groups whose exit a signal to many processes decided, to be killed once every process
    /// has been sent it (see [`Kernel::kill_pgrp_info`]).
    pub(crate) deferred_kills: Option<Vec<TaskId>>,
    /// Tracees an exiting tracer let go out of a ptrace stop, in its `exit_notify`: they run
    /// on their own CPUs once it is over, not before the orphaned process groups are looked
    /// at (see [`Kernel::ptrace_unlink`]).
    pub(crate) deferred_resumes: Option<Vec<TaskId>>,
    /// Threads a signal sent to a whole process group picked, to take it once every process
    /// of the group has been sent it (`__kill_pgrp_info`); `None` outside such a send.
    pub(crate) deferred_deliveries: Option<Vec<TaskId>>,
    /// A wake-up whose waker goes on running in the kernel (see [`RacingWake`]).
    pub(crate) racing_wake: Option<RacingWake>,
    /// Tasks that, like an init, wait for every child as soon as it ends: the model's init,
    /// and the namespace init that the set-up of a user-namespace caller creates.
    pub(crate) always_waits: Vec<TaskId>,
    /// How the machine refuses the tasks user namespaces, if it does (see
    /// [`Privilege::Unprivileged`](clonekit_flags::Privilege::Unprivileged)).
    pub(crate) user_ns_refused: Option<clonekit_flags::Errno>,
}

#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) generation: u32,
    pub(crate) task: Option<Task>,
}

impl TaskId {
    /// An id that names no task (before boot fills in init).
    pub(crate) fn placeholder() -> TaskId {
        TaskId { index: u32::MAX, generation: u32::MAX }
    }
}

impl Kernel {
    /// A task that exists (running, blocked or a zombie).
    pub(crate) fn task(&self, id: TaskId) -> Option<&Task> {
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.task.as_ref()
    }

    pub(crate) fn task_mut(&mut self, id: TaskId) -> Option<&mut Task> {
        let slot = self.slots.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.task.as_mut()
    }

    /// The task; for ids the kernel itself keeps (parents, leaders, threads), which are live by
    /// construction.
    pub(crate) fn t(&self, id: TaskId) -> &Task {
        self.task(id).expect("task table link points to a released task")
    }

    pub(crate) fn tm(&mut self, id: TaskId) -> &mut Task {
        self.task_mut(id).expect("task table link points to a released task")
    }

    /// Reserves a slot for a new task.
    pub(crate) fn alloc_task_id(&mut self) -> TaskId {
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.generation = slot.generation.wrapping_add(1);
            TaskId { index, generation: slot.generation }
        } else {
            self.slots.push(Slot { generation: 0, task: None });
            TaskId { index: (self.slots.len() - 1) as u32, generation: 0 }
        }
    }

    pub(crate) fn install_task(&mut self, task: Task) {
        let index = task.id.index as usize;
        self.slots[index].task = Some(task);
    }

    /// Drops a released task from the table (`put_task_struct`'s last reference).
    pub(crate) fn free_task(&mut self, id: TaskId) {
        if let Some(slot) = self.slots.get_mut(id.index as usize) {
            if slot.generation == id.generation && slot.task.take().is_some() {
                self.free.push(id.index);
            }
        }
    }

    /// A fresh namespace inode number.
    pub(crate) fn alloc_inum(&mut self) -> u64 {
        self.next_inum += 1;
        self.next_inum
    }

    /// The state of a task; [`TaskState::Dead`] for one that was released or never existed.
    pub fn state(&self, id: TaskId) -> TaskState {
        self.task(id).map_or(TaskState::Dead, |t| match t.state {
            // Past PF_EXITING the task runs no more user code: a zombie in all but name.
            TaskState::Running if t.exiting => TaskState::Zombie,
            // TASK_STOPPED and TASK_TRACED alike: the task runs nothing until it is woken.
            TaskState::Running | TaskState::Blocked if t.frozen() => TaskState::Stopped,
            s => s,
        })
    }

    /// Whether the task can make a system call now; the error a call on it gets otherwise.
    pub(crate) fn current(&self, id: TaskId) -> Result<(), Errno> {
        match self.task(id) {
            Some(t) if t.state == TaskState::Running && !t.frozen() => Ok(()),
            _ => Err(Errno::ESRCH),
        }
    }

    /// `init`: pid 1 of the initial pid namespace, the reaper of last resort.
    pub fn init_task(&self) -> TaskId {
        self.init_task
    }

    /// Puts `id` to sleep on `block` (`set_current_state` + `schedule`).
    pub(crate) fn sleep(&mut self, id: TaskId, block: Block) {
        self.sleep_seq += 1;
        let seq = self.sleep_seq;
        let t = self.tm(id);
        t.state = TaskState::Blocked;
        t.block = Some((seq, block));
    }

    /// Ends `id`'s sleep with `result` (`try_to_wake_up`, the call returning), then delivers
    /// what became deliverable.
    pub(crate) fn wake(&mut self, id: TaskId, result: Resumed) {
        let Some(t) = self.task_mut(id) else { return };
        let Some((seq, _)) = t.block.take() else { return };
        t.state = TaskState::Running;
        if t.frozen() {
            t.stopped_resume = Some((seq, id, result));
            return;
        }
        self.resumed.push((seq, id, result));
        if self.t(id).sigpending {
            self.deliver_pending(id);
        }
        // A stop taken on the way back to user space (a stop signal held while it slept, a
        // group stop it had yet to join) keeps the result from the task until it continues.
        if self.task(id).is_some_and(|t| t.frozen()) {
            if let Some(i) = self.resumed.iter().position(|(s, t, _)| *s == seq && *t == id) {
                let entry = self.resumed.remove(i);
                self.tm(id).stopped_resume = Some(entry);
            }
        }
    }

    /// `__wake_up_parent(p, parent)` (kernel/signal.c): notes that `p` changed state and
    /// woke the waits of its parent's thread group, acted on by [`Kernel::wake_waiters`].
    pub(crate) fn wake_up_parent(&mut self, p: TaskId, parent: TaskId) {
        let (Some(child), Some(par)) = (self.task(p), self.task(parent)) else { return };
        let wake = ChildWake {
            group: par.signal.clone(),
            pid: child.pid.clone(),
            pgrp: child.signal.borrow().pgrp.clone(),
            parent,
        };
        self.child_wakes.push(wake);
    }

    /// Re-runs the sleeping `wait`s that the noted `__wake_up_parent` calls woke, the last
    /// task to fall asleep first: those of the parent's thread group whose pid filter takes
    /// the child (`child_wait_callback`, kernel/exit.c). Each one that now finds something,
    /// or finds no child left to wait for, returns; the others sleep on. Waits that are not
    /// woken are not looked at, as on the kernel.
    pub(crate) fn wake_waiters(&mut self) {
        loop {
            let wakes = std::mem::take(&mut self.child_wakes);
            if wakes.is_empty() {
                return;
            }
            // An init in zap_pid_ns_processes' wait loop reaps what it now may.
            for w in &wakes {
                if self.zap_waiting(w.parent) {
                    self.zap_reap(w.parent);
                }
            }
            let mut sleepers: Vec<(u64, TaskId)> = self
                .slots
                .iter()
                .filter_map(|s| s.task.as_ref())
                .filter_map(|t| match &t.block {
                    // A stopped waiter left its wait (-ERESTARTSYS) and makes it again at
                    // SIGCONT.
                    Some((seq, Block::Wait(w))) if t.state == TaskState::Blocked && !t.frozen() => {
                        let woken = wakes.iter().any(|k| {
                            Rc::ptr_eq(&k.group, &t.signal)
                                && crate::wait::eligible_pid(w, &k.pid, &k.pgrp)
                                && (w.flags & crate::wait::WNOTHREAD == 0 || k.parent == t.id)
                        });
                        woken.then_some((*seq, t.id))
                    }
                    _ => None,
                })
                .collect();
            // do_wait queues itself with add_wait_queue, at the head of wait_chldexit: the
            // wake-up reaches the last task to fall asleep first.
            sleepers.sort_by_key(|s| std::cmp::Reverse(s.0));
            for (_, id) in sleepers {
                self.wait_again(id);
            }
        }
    }

    /// A task asleep in a `wait` looks at the children again (a child's change woke it, or a
    /// handler ran and `SA_RESTART` makes the call again after `-ERESTARTSYS`): it returns
    /// if it finds something, or no child left to wait for; else it sleeps on.
    pub(crate) fn wait_again(&mut self, t: TaskId) {
        let Some(task) = self.task(t) else { return };
        let Some((_, Block::Wait(opts))) = task.block.clone().filter(|_| task.state == TaskState::Blocked)
        else {
            return;
        };
        match self.do_wait(t, &opts) {
            Ok(Some(w)) => self.wake(t, Resumed::Wait(Ok(w))),
            Ok(None) => {}
            Err(e) => self.wake(t, Resumed::Wait(Err(e))),
        }
    }

    /// Blocked calls that finished since the last call, in the order they fell asleep.
    pub fn take_resumed(&mut self) -> Vec<(TaskId, Resumed)> {
        let mut r = std::mem::take(&mut self.resumed);
        r.sort_by_key(|(seq, _, _)| *seq);
        r.into_iter().map(|(_, id, res)| (id, res)).collect()
    }

    /// Whether two tasks use the same instance of `resource` (clonekit-flags' vocabulary, the
    /// one `explain` describes): `Rc` identity of the kernel object that holds it. A resource
    /// that is no shared object (a tid word, the stack pointer, the exit signal…) is never
    /// shared.
    pub fn shares(&self, a: TaskId, b: TaskId, resource: Resource) -> bool {
        let (Some(x), Some(y)) = (self.task(a), self.task(b)) else { return false };
        fn same<T>(p: &Option<Rc<T>>, q: &Option<Rc<T>>) -> bool {
            matches!((p, q), (Some(p), Some(q)) if Rc::ptr_eq(p, q))
        }
        let ns = |f: fn(&NsProxy) -> u64| match (&x.nsproxy, &y.nsproxy) {
            (Some(p), Some(q)) => f(p) == f(q),
            _ => false,
        };
        match resource {
            Resource::AddressSpace => same(&x.mm, &y.mm),
            Resource::FsInfo => same(&x.fs, &y.fs),
            Resource::FdTable => same(&x.files, &y.files),
            Resource::SignalHandlers => Rc::ptr_eq(&x.sighand, &y.sighand),
            Resource::ThreadGroup => Rc::ptr_eq(&x.signal, &y.signal),
            Resource::Credentials => Rc::ptr_eq(&x.cred, &y.cred),
            Resource::UserNamespace => Rc::ptr_eq(&x.cred.user_ns, &y.cred.user_ns),
            Resource::SysvSemUndo => same(&x.sysvsem, &y.sysvsem),
            Resource::IoContext => same(&x.io_context, &y.io_context),
            Resource::PidNamespace => Rc::ptr_eq(x.pid.ns(), y.pid.ns()),
            Resource::MountNamespace => ns(|n| n.mnt.inum),
            Resource::UtsNamespace => ns(|n| n.uts.inum),
            Resource::IpcNamespace => ns(|n| n.ipc.inum),
            Resource::NetNamespace => ns(|n| n.net.inum),
            Resource::CgroupNamespace => ns(|n| n.cgroup.inum),
            Resource::TimeNamespace => ns(|n| n.time_for_children.inum),
            _ => false,
        }
    }

    /// The task's `struct pid`, which outlives the task for whoever holds it (`get_pid`).
    pub fn task_pid(&self, id: TaskId) -> Option<Rc<Pid>> {
        self.task(id).map(|t| t.pid.clone())
    }

    /// The live tasks, in table order.
    pub fn tasks(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.slots.iter().filter_map(|s| s.task.as_ref()).map(|t| t.id)
    }

    /// Turns on keeping the last [`CopyProcessRecord`] ([`Kernel::last_copy_process`]).
    pub fn set_recording(&mut self, on: bool) {
        self.recording = on;
    }

    /// The status `do_exit` recorded for `id`, if it exited while recording was on.
    pub fn exit_code_of(&self, id: TaskId) -> Option<i32> {
        self.exit_log.iter().rev().find(|(t, _)| *t == id).map(|(_, c)| *c)
    }

    /// What the last `copy_process` did, step by step (when recording is on).
    pub fn last_copy_process(&self) -> Option<&CopyProcessRecord> {
        self.last_copy.as_ref()
    }

    /// The handler delivery count of the program running in `id` (the `handled` observation).
    pub fn handled(&self, id: TaskId) -> Result<u64, Errno> {
        self.current(id)?;
        Ok(self.t(id).handled)
    }

    /// How many of [`Kernel::handled`]'s deliveries are a race on a real machine: the count
    /// there is any number from `handled - handled_race` to `handled`.
    pub fn handled_race(&self, id: TaskId) -> Result<u64, Errno> {
        self.current(id)?;
        Ok(self.t(id).handled_race)
    }

    /// How many more deliveries than [`Kernel::handled`] this thread may have had on a real
    /// machine: racy ones of other threads of its group that it may have taken instead.
    pub fn handled_maybe(&self, id: TaskId) -> Result<u64, Errno> {
        self.current(id)?;
        Ok(self.t(id).handled_maybe)
    }
}
