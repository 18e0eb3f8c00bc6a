//! Per-user counts (kernel/ucount.c): how many tasks each user has, counted in each user
//! namespace (`struct ucounts`, keyed by a user namespace and a kernel uid), which
//! `RLIMIT_NPROC` limits in `copy_process`.
//!
//! The kernel keeps the counts up to date (`inc_rlimit_ucounts` in `copy_creds` and
//! `commit_creds`, `dec_rlimit_ucounts` in `release_task`); the model counts the tasks its
//! table holds, which is the same number: a task is counted from its creation until it is
//! released (a zombie still counts), under the creds it has now. A task counts at its own
//! `(user namespace, uid)` and, going up, at the `(parent namespace, owner)` of each user
//! namespace it lives below. The model knows only its own tasks: on a real machine the counts
//! of the levels above a scenario's user namespace include the user's other processes.

use std::rc::Rc;

use crate::cred::{Cred, UserNamespace};
use crate::sched::{Kernel, TaskId, TaskState};

/// One `struct ucounts`: a user namespace (by identity) and a kernel uid.
type UcountKey = (*const UserNamespace, u32);

/// The ucounts a task with `cred` is counted in, innermost first, with each level's namespace.
fn chain(cred: &Cred) -> Vec<(UcountKey, Rc<UserNamespace>)> {
    let mut out = vec![((Rc::as_ptr(&cred.user_ns), cred.euid), cred.user_ns.clone())];
    let mut ns = cred.user_ns.clone();
    // iter = iter->ns->ucounts: the namespace's creator, in the parent namespace.
    while let Some(parent) = ns.parent.clone() {
        out.push(((Rc::as_ptr(&parent), ns.owner), parent.clone()));
        ns = parent;
    }
    out
}

impl Kernel {
    /// `get_rlimit_value(ucounts, UCOUNT_RLIMIT_NPROC)`: the tasks counted at `key`.
    fn nproc_count(&self, key: UcountKey) -> u64 {
        self.tasks()
            .filter(|&t| self.state(t) != TaskState::Dead)
            .filter(|&t| chain(&self.t(t).cred).iter().any(|(k, _)| *k == key))
            .count() as u64
    }

    /// `is_rlimit_overlimit(task_ucounts(p), UCOUNT_RLIMIT_NPROC, rlimit(RLIMIT_NPROC))`
    /// (kernel/ucount.c) for a task about to be created with `cred`, which `copy_creds` has
    /// already counted: over `rlimit` at its own level, or over a namespace's `nproc_max`
    /// at the level above it.
    pub(crate) fn is_rlimit_overlimit(&self, cred: &Cred, rlimit: u64) -> bool {
        let mut max = rlimit.min(i64::MAX as u64);
        for (key, ns) in chain(cred) {
            let val = self.nproc_count(key) + 1;
            if val > max {
                return true;
            }
            max = ns.nproc_max.min(i64::MAX as u64);
        }
        false
    }

    /// The `RLIMIT_NPROC` check of `copy_process` (kernel/fork.c): over the limit, a user other
    /// than global root (`INIT_USER`) without `CAP_SYS_RESOURCE` or `CAP_SYS_ADMIN` in the
    /// initial user namespace (`capable`) gets `EAGAIN` (rule L1).
    pub(crate) fn nproc_exceeded(&self, cur: TaskId, new: &Cred) -> bool {
        let limit = self.rlimit(cur, clonekit_flags::RLIMIT_NPROC).0;
        if !self.is_rlimit_overlimit(new, limit) {
            return false;
        }
        // p->real_cred->user != INIT_USER: the real uid, as a kernel uid.
        let init_user = new.uid == 0;
        let cred = &self.t(cur).cred;
        !init_user
            && !cred.capable(clonekit_flags::CAP_SYS_RESOURCE)
            && !cred.capable(clonekit_flags::CAP_SYS_ADMIN)
    }
}

#[cfg(test)]
mod tests {
    use clonekit_flags::{Errno, Privilege, RLIMIT_NPROC};

    use crate::sched::{Kernel, Syscall, TaskId};
    use crate::wait::WNOHANG;

    fn fork(k: &mut Kernel, cur: TaskId) -> Result<TaskId, Errno> {
        match k.sys_fork(cur)? {
            Syscall::Done(f) => Ok(f.child),
            Syscall::Blocked => panic!("fork does not block"),
        }
    }

    fn user() -> Privilege {
        Privilege::NamespaceRoot { uid: 1001 }
    }

    #[test]
    fn rlimit_nproc_counts_the_users_tasks_in_its_namespace() {
        let mut k = Kernel::new();
        let main = k.spawn_first_as(user()).unwrap();
        // The namespace's init and main are the user's two tasks there.
        k.sys_setrlimit(main, RLIMIT_NPROC, 3, 3).unwrap();
        let a = fork(&mut k, main).unwrap();
        assert_eq!(fork(&mut k, main), Err(Errno::EAGAIN));
        // A zombie still counts; once reaped, the slot is free again.
        k.sys_exit(a, 0).unwrap();
        assert_eq!(fork(&mut k, main), Err(Errno::EAGAIN));
        k.sys_wait4(main, -1, WNOHANG).unwrap();
        assert!(fork(&mut k, main).is_ok());
    }

    #[test]
    fn root_is_not_bound_by_rlimit_nproc() {
        let mut k = Kernel::new();
        let main = k.spawn_first_as(Privilege::ROOT).unwrap();
        k.sys_setrlimit(main, RLIMIT_NPROC, 0, 0).unwrap();
        assert!(fork(&mut k, main).is_ok());
    }

    #[test]
    fn a_thread_counts_as_a_task() {
        use clonekit_flags::CloneFlags as F;
        let mut k = Kernel::new();
        let main = k.spawn_first_as(user()).unwrap();
        k.sys_setrlimit(main, RLIMIT_NPROC, 3, 3).unwrap();
        let thread = (F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD).bits();
        assert!(k.sys_clone(main, thread, 0x7d00_0001_0000, 0, 0, 0).is_ok());
        assert_eq!(k.sys_clone(main, thread, 0x7d00_0002_0000, 0, 0, 0).err(), Some(Errno::EAGAIN));
    }
}
