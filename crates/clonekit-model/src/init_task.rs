//! Boot (init/init_task.c, init/main.c): the initial namespaces, credentials and `init`
//! (pid 1), and the first task of a scenario, a child of init.

use std::cell::RefCell;
use std::rc::Rc;

use clonekit_flags::Errno;

use crate::cred::{Cred, UserNamespace};
use crate::file::FilesStruct;
use crate::fs::FsStruct;
use crate::mm::MmStruct;
use crate::nsproxy::{Namespace, NsProxy, UtsNamespace};
use crate::pid::{Pid, PidNamespace, UPid};
use crate::sched::{Kernel, Syscall, Task, TaskId, TaskState};
use crate::signal::{SigAltStack, SigSet, SighandStruct, SignalStruct};

/// The host name a booted model starts with: the scenario language prints the machine's
/// initial host name as `(host)`, whatever the machine is called.
pub const INIT_HOSTNAME: &str = "(host)";

impl Kernel {
    /// A booted system: the initial namespaces and `init` (pid 1, the child reaper of the
    /// initial pid namespace), with root `/`, cwd `/`, umask 022 and descriptors 0‑2 open.
    pub fn new() -> Kernel {
        let mut k = Kernel {
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
            next_pgid: 1,
            next_serial: 0,
            last_copy: None,
            recording: false,
            exit_log: Vec::new(),
        };
        let user_ns = Rc::new(UserNamespace { level: 0, parent: None, inum: k.alloc_inum(), mapped: true });
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
        let pid = Rc::new(Pid { numbers: vec![UPid { nr: 1, ns: pid_ns.clone() }] });
        let mut signal = SignalStruct::new(0);
        signal.unkillable = true;
        signal.threads.push(id);
        signal.live = 1;
        signal.quick_threads = 1;
        k.next_serial += 1;
        let init = Task {
            id,
            state: TaskState::Running,
            exiting: false,
            exit_code: 0,
            pid,
            group_leader: id,
            real_parent: id,
            children: Vec::new(),
            exit_signal: 17,
            pdeath_signal: 0,
            mm: Some(Rc::new(RefCell::new(MmStruct::new()))),
            fs: Some(Rc::new(RefCell::new(FsStruct {
                root: "/".into(),
                pwd: "/".into(),
                umask: 0o022,
                in_exec: false,
            }))),
            files: Some(Rc::new(RefCell::new(FilesStruct::standard()))),
            sighand: Rc::new(RefCell::new(SighandStruct::default())),
            signal: Rc::new(RefCell::new(signal)),
            cred: Rc::new(Cred { user_ns, cap_sys_admin: true, euid: 0 }),
            nsproxy: Some(nsproxy),
            blocked: SigSet::EMPTY,
            pending: Vec::new(),
            sysvsem: None,
            io_context: None,
            sas: SigAltStack::default(),
            set_child_tid: 0,
            clear_child_tid: 0,
            vfork_done: None,
            self_exec_id: 0,
            parent_exec_id: 0,
            block: None,
            handled: 0,
            tls: 0,
            serial: k.next_serial,
            stopped: false,
            stop_pending: false,
            sigpending: false,
            stopped_resume: None,
        };
        k.install_task(init);
        k.init_task = id;
        k
    }

    /// The first task of a scenario: `fork()`ed by init, in a process group of its own.
    pub fn spawn_first(&mut self) -> Result<TaskId, Errno> {
        let init = self.init_task;
        let forked = match self.sys_fork(init)? {
            Syscall::Done(f) => f,
            Syscall::Blocked => return Err(Errno::EAGAIN),
        };
        self.next_pgid += 1;
        let pgid = self.next_pgid;
        self.t(forked.child).signal.borrow_mut().pgid = pgid;
        Ok(forked.child)
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
        UserNamespace { level: 0, parent: None, inum: 0, mapped: true }
    }
}
