//! Boot (init/init_task.c, init/main.c): the initial namespaces, credentials and `init`
//! (pid 1), and the first task of a scenario, a child of init.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use clonekit_flags::{CloneFlags, Errno, ExitSignal, KernelCloneArgs, Privilege};

use crate::cred::{Cred, UserNamespace};
use crate::file::FilesStruct;
use crate::fs::FsStruct;
use crate::mm::MmStruct;
use crate::nsproxy::{Namespace, NsProxy, UtsNamespace};
use crate::pid::{Pid, PidNamespace, UPid};
use crate::sched::{Kernel, Linkage, Syscall, Task, TaskId, TaskParts};
use crate::signal::{SigAltStack, SigSet, SighandStruct, SignalStruct};

/// The host name a booted model starts with: the scenario language prints the machine's
/// initial host name as `(host)`, whatever the machine is called.
pub const INIT_HOSTNAME: &str = "(host)";

impl Kernel {
    /// A booted system: the initial namespaces and `init` (pid 1, the child reaper of the
    /// initial pid namespace), with root `/`, cwd `/`, umask 022 and descriptors 0‑2 open.
    pub fn new() -> Kernel {
        Kernel::booted()
    }

    /// The same system, following Linux `linux` where the kernel changed
    /// ([`clonekit_flags::CHANGES`]): rules and semantics of that version.
    pub fn new_on(linux: clonekit_flags::Version) -> Kernel {
        let mut k = Kernel::booted();
        k.linux = linux;
        k
    }

    /// The kernel version the model follows.
    pub fn linux(&self) -> clonekit_flags::Version {
        self.linux
    }

    fn booted() -> Kernel {
        let mut k = Kernel {
            linux: clonekit_flags::LATEST,
            slots: Vec::new(),
            free: Vec::new(),
            init_task: TaskId::placeholder(),
            init_pid_ns: Rc::new(PidNamespace::initial(0, Rc::new(UserNamespace::initial()))),
            futex_waiters: Vec::new(),
            child_wakes: Vec::new(),
            continuing: Vec::new(),
            resumed: Vec::new(),
            sleep_seq: 0,
            next_inum: 0xEFFF_FFF0,
            next_serial: 0,
            last_copy: None,
            recording: false,
            exit_log: Vec::new(),
            always_waits: Vec::new(),
            racing_wake: None,
            pidfd_wakes: None,
            deferred_kills: None,
            deferred_resumes: None,
            deferred_deliveries: None,
            user_ns_refused: None,
        };
        let user_ns = Rc::new(UserNamespace {
            level: 0,
            parent: None,
            inum: k.alloc_inum(),
            root_kuid: Cell::new(Some(0)),
            owner: 0,
            nproc_max: clonekit_flags::RLIM_INFINITY,
        });
        let pid_ns = Rc::new(PidNamespace::initial(k.alloc_inum(), user_ns.clone()));
        k.init_pid_ns = pid_ns.clone();
        let fresh = |k: &mut Kernel| Rc::new(Namespace { inum: k.alloc_inum(), user_ns: user_ns.clone() });
        let (mnt, ipc, net, time, cgroup) =
            (fresh(&mut k), fresh(&mut k), fresh(&mut k), fresh(&mut k), fresh(&mut k));
        let uts = Rc::new(UtsNamespace {
            inum: k.alloc_inum(),
            user_ns: user_ns.clone(),
            nodename: RefCell::new(INIT_HOSTNAME.to_string()),
        });
        let nsproxy = Rc::new(NsProxy {
            uts,
            ipc,
            mnt,
            pid_ns_for_children: pid_ns.clone(),
            net,
            time: time.clone(),
            time_for_children: time,
            cgroup,
        });
        let id = k.alloc_task_id();
        pid_ns.idr.borrow_mut().insert(1, id);
        pid_ns.child_reaper.set(Some(id));
        let pid = Rc::new(Pid {
            numbers: vec![UPid { nr: 1, ns: pid_ns.clone() }],
            exit_info: std::cell::Cell::new(None),
        });
        let mut signal = SignalStruct::new(pid.clone(), pid.clone());
        signal.leader = true;
        signal.unkillable = true;
        signal.threads.push(id);
        signal.live = 1;
        signal.quick_threads = 1;
        k.next_serial += 1;
        let root = TaskParts {
            blocked: SigSet::EMPTY,
            sas: SigAltStack::default(),
            tls: 0,
            self_exec_id: 0,
            cred: Some(Rc::new(Cred::root(user_ns.clone(), 0, clonekit_flags::CAP_FULL_SET))),
            sysvsem: None,
            files: Some(Rc::new(RefCell::new(FilesStruct::standard()))),
            fs: Some(Rc::new(RefCell::new(FsStruct {
                root: "/".into(),
                pwd: "/".into(),
                umask: 0o022,
                in_exec: false,
            }))),
            sighand: Some(Rc::new(RefCell::new(SighandStruct::default()))),
            signal: Some(Rc::new(RefCell::new(signal))),
            mm: Some(Rc::new(RefCell::new(MmStruct::for_user_ns(user_ns)))),
            nsproxy: Some(nsproxy),
            io_context: None,
        };
        let link = Linkage {
            group_leader: id,
            real_parent: id,
            exit_signal: ExitSignal::SIGCHLD.raw() as i32,
            parent_exec_id: 0,
            set_child_tid: 0,
            clear_child_tid: 0,
        };
        let init = Task::new(id, pid, link, root, k.next_serial);
        k.install_task(init);
        k.init_task = id;
        k.always_waits.push(id);
        k
    }

    /// The first task of a scenario run by root: `fork()`ed by init, leading a session and a
    /// process group of its own.
    pub fn spawn_first(&mut self) -> Result<TaskId, Errno> {
        self.spawn_first_as(Privilege::ROOT)
    }

    /// The first task of a scenario run with `privilege`, leading a session and a process
    /// group of its own (`setsid`):
    ///
    /// - [`Privilege::Root`]: `fork()`ed by init, with root's capabilities on the machine.
    /// - [`Privilege::Unprivileged`]: the same, with the user's credentials (`setresuid`
    ///   drops every capability).
    /// - [`Privilege::NamespaceRoot`]: what `unshare --user --map-root-user --pid --uts
    ///   --ipc --fork` does: a task of the user's clones a namespace init with
    ///   `CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWUTS|CLONE_NEWIPC`, writes the user namespace's
    ///   `uid_map` (`0 UID 1`), and the namespace init, which then only reaps, forks the first
    ///   task (pid 2 there).
    pub fn spawn_first_as(&mut self, privilege: Privilege) -> Result<TaskId, Errno> {
        self.spawn_first_in(privilege, CloneFlags::empty())
    }

    /// The first task of a scenario that sets resource limits: as [`Kernel::spawn_first_as`]
    /// for [`Privilege::NamespaceRoot`], with a mount namespace of the scenario's own, which
    /// its user namespace owns (the kernel backend seals the file tree there, so that a core
    /// can only be written where it is thrown away).
    pub fn spawn_first_sealed(&mut self, privilege: Privilege) -> Result<TaskId, Errno> {
        self.spawn_first_in(privilege, CloneFlags::CLONE_NEWNS)
    }

    fn spawn_first_in(&mut self, privilege: Privilege, more: CloneFlags) -> Result<TaskId, Errno> {
        let init = self.init_task;
        let parent = match privilege {
            Privilege::Root { caps } => {
                let first = self.fork_done(init)?;
                let mut cred = (*self.t(first).cred).clone();
                (cred.cap_permitted, cred.cap_effective, cred.cap_bset) = (caps, caps, caps);
                self.tm(first).cred = Rc::new(cred);
                return Ok(self.new_session(first));
            }
            Privilege::Unprivileged { uid, user_ns_refused } => {
                self.user_ns_refused = user_ns_refused;
                // Without a pid namespace of their own, the tasks get the machine's pids,
                // which the model cannot know; it gives them numbers as far from the small
                // ones a scenario stores or a descriptor takes as the kernel's are.
                self.init_pid_ns.advance_cursor(20_000);
                let first = self.fork_done(init)?;
                self.set_user(first, uid);
                self.first_task_limits(first);
                return Ok(self.new_session(first));
            }
            Privilege::NamespaceRoot { uid } => {
                let user = self.fork_done(init)?;
                self.set_user(user, uid);
                let isolation = CloneFlags::CLONE_NEWUSER
                    | CloneFlags::CLONE_NEWPID
                    | CloneFlags::CLONE_NEWUTS
                    | CloneFlags::CLONE_NEWIPC
                    | more;
                let args = KernelCloneArgs {
                    flags: isolation,
                    exit_signal: ExitSignal::SIGCHLD,
                    ..KernelCloneArgs::default()
                };
                let ns_init = match self.kernel_clone(user, &args, &[])? {
                    Syscall::Done(f) => f.child,
                    Syscall::Blocked => return Err(Errno::EAGAIN),
                };
                // The user writes the new namespace's uid_map: its uid 0 is the user's uid.
                self.t(ns_init).cred.user_ns.root_kuid.set(Some(uid));
                self.always_waits.push(ns_init);
                ns_init
            }
        };
        let first = self.fork_done(parent)?;
        self.first_task_limits(first);
        Ok(self.new_session(first))
    }

    /// The limits the scenario language starts its first task with (`setrlimit`): no core
    /// dumps (`RLIMIT_CORE` soft 0, the hard limit kept), and `RLIMIT_NPROC`
    /// [`FIRST_TASK_NPROC`](clonekit_flags::FIRST_TASK_NPROC), soft and hard.
    fn first_task_limits(&mut self, first: TaskId) {
        let signal = self.t(first).signal.clone();
        let mut s = signal.borrow_mut();
        s.rlimits[clonekit_flags::RLIMIT_CORE as usize].0 = 0;
        let n = clonekit_flags::FIRST_TASK_NPROC;
        s.rlimits[clonekit_flags::RLIMIT_NPROC as usize] = (n, n);
    }

    /// `fork()` by `parent`, which must not block.
    fn fork_done(&mut self, parent: TaskId) -> Result<TaskId, Errno> {
        match self.sys_fork(parent)? {
            Syscall::Done(f) => Ok(f.child),
            Syscall::Blocked => Err(Errno::EAGAIN),
        }
    }

    /// The user's credentials, as its login gave them (`setresuid(uid, uid, uid)` and an
    /// exec, so its memory stays dumpable): a uid other than 0 keeps no capability
    /// (security/commoncap.c, `cap_emulate_setxuid`).
    fn set_user(&mut self, task: TaskId, uid: u32) {
        let mut cred = (*self.t(task).cred).clone();
        (cred.uid, cred.euid, cred.suid, cred.fsuid) = (uid, uid, uid, uid);
        if uid != 0 {
            (cred.cap_permitted, cred.cap_effective) = (0, 0);
        }
        self.tm(task).cred = Rc::new(cred);
    }

    /// `setsid()`: `task` leads a new session and a new process group.
    fn new_session(&mut self, task: TaskId) -> TaskId {
        let _ = self.ksys_setsid(task);
        task
    }
}

impl Default for Kernel {
    fn default() -> Self {
        Kernel::new()
    }
}

impl UserNamespace {
    /// The initial user namespace (before boot numbers it).
    fn initial() -> UserNamespace {
        UserNamespace {
            level: 0,
            parent: None,
            inum: 0,
            root_kuid: Cell::new(Some(0)),
            owner: 0,
            nproc_max: clonekit_flags::RLIM_INFINITY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clone(k: &mut Kernel, cur: TaskId, flags: CloneFlags) -> Result<TaskId, Errno> {
        let args = KernelCloneArgs { flags, exit_signal: ExitSignal::SIGCHLD, ..KernelCloneArgs::default() };
        match k.kernel_clone(cur, &args, &[])? {
            Syscall::Done(f) => Ok(f.child),
            Syscall::Blocked => panic!("a plain clone does not block"),
        }
    }

    #[test]
    fn an_ordinary_user_needs_a_user_namespace_for_the_others() {
        let mut k = Kernel::new();
        let user = Privilege::Unprivileged { uid: 1001, user_ns_refused: None };
        let first = k.spawn_first_as(user).unwrap();
        assert_eq!(k.t(first).cred.euid, 1001);
        assert_eq!(clone(&mut k, first, CloneFlags::CLONE_NEWUTS), Err(Errno::EPERM));
        assert_eq!(k.sys_sethostname(first, "x"), Err(Errno::EPERM));
        let inside = clone(&mut k, first, CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWUTS).unwrap();
        assert!(k.t(inside).cred.cap_effective & (1 << clonekit_flags::CAP_SYS_ADMIN) != 0);
        assert_eq!(k.sys_sethostname(inside, "x"), Ok(()));
        // The machine's pids are not the small numbers.
        assert!(k.t(first).pid.nr_ns(&k.init_pid_ns) > 20_000);
    }

    #[test]
    fn a_refused_user_namespace_is_refused_with_the_machines_errno() {
        for errno in [Errno::ENOSPC, Errno::EPERM] {
            let mut k = Kernel::new();
            let first = k
                .spawn_first_as(Privilege::Unprivileged { uid: 1001, user_ns_refused: Some(errno) })
                .unwrap();
            assert_eq!(clone(&mut k, first, CloneFlags::CLONE_NEWUSER), Err(errno));
        }
    }

    #[test]
    fn root_of_its_own_user_namespace_owns_its_pid_uts_and_ipc_namespaces_only() {
        let mut k = Kernel::new();
        let first = k.spawn_first_as(Privilege::NamespaceRoot { uid: 1001 }).unwrap();
        let cred = k.t(first).cred.clone();
        assert!(cred.cap_effective & (1 << clonekit_flags::CAP_SYS_ADMIN) != 0);
        assert!(!cred.capable(clonekit_flags::CAP_SYS_ADMIN));
        assert_eq!(cred.user_ns.root_kuid.get(), Some(1001));
        // pid 2 of its own pid namespace, under the namespace init that reaps.
        assert_eq!(k.t(first).pid.level(), 1);
        assert_eq!(k.sys_sethostname(first, "x"), Ok(()));
        assert!(clone(&mut k, first, CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID).is_ok());
        // A real-time I/O priority needs capable(), which only the machine's root has.
        assert_eq!(k.sys_ioprio_set(first, 1 << 13), Err(Errno::EPERM));
        let mut root = Kernel::new();
        let first = root.spawn_first_as(Privilege::ROOT).unwrap();
        assert_eq!(root.sys_ioprio_set(first, 1 << 13), Ok(()));
    }
}
