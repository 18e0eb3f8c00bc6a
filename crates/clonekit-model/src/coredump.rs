//! Core dumps (fs/coredump.c): whether a process killed by a core-dumping signal writes a
//! core, which its parent sees as `WCOREDUMP` (`CLD_DUMPED`).

use crate::sched::{Kernel, TaskId};

impl Kernel {
    /// `vfs_coredump` (fs/coredump.c; `do_coredump` before 6.16), run by `t` as it takes a
    /// core-dumping signal, with a `core_pattern` that names a file relative to the dying
    /// task's working directory (`core`, the default): true when a core is written.
    ///
    /// - `__get_dumpable(mm->flags)`: the model's tasks are always dumpable (no operation of
    ///   theirs changes it: no set-uid exec, no `PR_SET_DUMPABLE`);
    /// - `cprm.limit < binfmt->min_coredump`: a soft `RLIMIT_CORE` below one page writes
    ///   nothing (the scenario's first task starts with 0);
    /// - the file is created in the working directory (`filp_open` with `O_CREAT|O_EXCL`,
    ///   after unlinking an old `core`): in a directory the task may not create files in, no
    ///   core is written ([`crate::namei::may_create_core_in`]);
    /// - `binfmt->core_dump`: once the file is open, the ELF writer reports a dump even if
    ///   the limit cuts it short (`elf_core_dump` sets `has_dumped` before writing), so the
    ///   parent sees `WCOREDUMP`.
    pub(crate) fn do_coredump(&self, t: TaskId) -> bool {
        let limit = self.rlimit(t, clonekit_flags::RLIMIT_CORE).0;
        if limit < clonekit_flags::MIN_COREDUMP {
            return false;
        }
        let Some(fs) = self.t(t).fs.clone() else { return false };
        let cwd = fs.borrow().pwd.clone();
        crate::namei::may_create_core_in(&cwd)
    }
}

#[cfg(test)]
mod tests {
    use clonekit_flags::{Errno, Privilege, RLIMIT_CORE, RLIM_INFINITY};

    use crate::sched::{Kernel, Syscall, TaskId};
    use crate::wait::{WaitStatus, WNOHANG};

    fn fork(k: &mut Kernel, cur: TaskId) -> TaskId {
        match k.sys_fork(cur) {
            Ok(Syscall::Done(f)) => f.child,
            other => panic!("fork: {other:?}"),
        }
    }

    /// How `main`'s child ends when it sends itself `sig` from `cwd`.
    fn dies_of(k: &mut Kernel, main: TaskId, cwd: &str, sig: u32) -> WaitStatus {
        let c = fork(k, main);
        k.sys_chdir(c, cwd).unwrap();
        let pid = k.sys_getpid(c).unwrap();
        k.sys_kill(c, pid, sig).unwrap();
        match k.sys_wait4(main, -1, WNOHANG) {
            Ok(Syscall::Done(Some(w))) => w.status,
            other => panic!("wait4: {other:?}"),
        }
    }

    #[test]
    fn a_core_needs_a_page_of_rlimit_core_and_a_writable_directory() {
        let mut k = Kernel::new();
        let main = k.spawn_first_as(Privilege::ROOT).unwrap();
        // The first task starts with no core dumps.
        assert_eq!(k.sys_getrlimit(main, RLIMIT_CORE), Ok((0, RLIM_INFINITY)));
        assert_eq!(dies_of(&mut k, main, "/tmp", 11), WaitStatus::Killed(11));
        k.sys_setrlimit(main, RLIMIT_CORE, 4095, RLIM_INFINITY).unwrap();
        assert_eq!(dies_of(&mut k, main, "/tmp", 11), WaitStatus::Killed(11));
        k.sys_setrlimit(main, RLIMIT_CORE, 4096, RLIM_INFINITY).unwrap();
        assert_eq!(dies_of(&mut k, main, "/tmp", 11), WaitStatus::Dumped(11));
        assert_eq!(dies_of(&mut k, main, "/tmp", 3), WaitStatus::Dumped(3));
        // Not a core-dumping signal; not a directory the core may be created in.
        assert_eq!(dies_of(&mut k, main, "/tmp", 15), WaitStatus::Killed(15));
        assert_eq!(dies_of(&mut k, main, "/", 11), WaitStatus::Killed(11));
    }

    #[test]
    fn prlimit_refuses_what_do_prlimit_refuses() {
        let mut k = Kernel::new();
        let user = k.spawn_first_as(Privilege::NamespaceRoot { uid: 1001 }).unwrap();
        assert_eq!(k.sys_setrlimit(user, RLIMIT_CORE, 10, 5), Err(Errno::EINVAL));
        assert_eq!(k.sys_getrlimit(user, clonekit_flags::RLIM_NLIMITS), Err(Errno::EINVAL));
        k.sys_setrlimit(user, RLIMIT_CORE, 5, 10).unwrap();
        // Raising the hard limit needs CAP_SYS_RESOURCE in the initial user namespace.
        assert_eq!(k.sys_setrlimit(user, RLIMIT_CORE, 5, 11), Err(Errno::EPERM));
        assert_eq!(k.sys_setrlimit(user, RLIMIT_CORE, 10, 10), Ok(()));
        let mut k = Kernel::new();
        let root = k.spawn_first_as(Privilege::ROOT).unwrap();
        k.sys_setrlimit(root, RLIMIT_CORE, 5, 10).unwrap();
        assert_eq!(k.sys_setrlimit(root, RLIMIT_CORE, 5, RLIM_INFINITY), Ok(()));
    }
}
