//! `ptrace_may_access` (kernel/ptrace.c), the permission `pidfd_getfd` and `setns` ask for
//! with the real credentials (`PTRACE_MODE_*_REALCREDS`) and `/proc/PID/ns` with the
//! file-system ones (`PTRACE_MODE_READ_FSCREDS`), with the capability rule of
//! security/commoncap.c (`cap_ptrace_access_check`).

use std::rc::Rc;

use clonekit_flags::{CAP_SYS_PTRACE, SUID_DUMP_USER};

use crate::sched::{Kernel, TaskId};

impl Kernel {
    /// `__ptrace_may_access(task, PTRACE_MODE_ATTACH_REALCREDS)`: a thread of the caller's own
    /// group, always. Otherwise the caller's real uid must be the target's real, effective and
    /// saved uid (the gids never differ here), or the caller must have `CAP_SYS_PTRACE` over
    /// the target's user namespace; a target whose memory is not dumpable needs
    /// `CAP_SYS_PTRACE` over the memory's user namespace; and `cap_ptrace_access_check` wants
    /// the same user namespace and a permitted set that covers the target's, or
    /// `CAP_SYS_PTRACE` over the target's user namespace.
    pub(crate) fn ptrace_may_access(&self, cur: TaskId, task: TaskId) -> bool {
        self.ptrace_may_access_mode(cur, task, false)
    }

    /// `__ptrace_may_access(task, PTRACE_MODE_READ_FSCREDS)`: as with the real credentials,
    /// but the caller's uid is its file-system uid, and `cap_ptrace_access_check` covers the
    /// target's permitted set with the caller's effective one.
    pub(crate) fn ptrace_may_access_fscreds(&self, cur: TaskId, task: TaskId) -> bool {
        self.ptrace_may_access_mode(cur, task, true)
    }

    /// `init_user_ns`: the user namespace of the machine's init.
    fn init_user_ns(&self) -> Rc<crate::cred::UserNamespace> {
        self.t(self.init_task).cred.user_ns.clone()
    }

    fn ptrace_may_access_mode(&self, cur: TaskId, task: TaskId, fscreds: bool) -> bool {
        let (me, them) = (self.t(cur), self.t(task));
        if Rc::ptr_eq(&me.signal, &them.signal) {
            return true;
        }
        let (cred, tcred) = (&me.cred, &them.cred);
        let ptrace_has_cap = |ns: &crate::cred::UserNamespace| cred.ns_capable(ns, CAP_SYS_PTRACE);
        let caller_uid = if fscreds { cred.fsuid } else { cred.uid };
        let same_user = caller_uid == tcred.euid && caller_uid == tcred.suid && caller_uid == tcred.uid;
        if !same_user && !ptrace_has_cap(&tcred.user_ns) {
            return false;
        }
        if let Some(mm) = &them.mm {
            let mm = mm.borrow();
            let mm_ns = mm.user_ns.clone().unwrap_or_else(|| tcred.user_ns.clone());
            if mm.dumpable != SUID_DUMP_USER && !ptrace_has_cap(&mm_ns) {
                return false;
            }
        } else if clonekit_flags::PTRACE_EXITED_DUMPABLE.present_in(self.linux)
            && !them.user_dumpable
            && !ptrace_has_cap(&self.init_user_ns())
        {
            // An exited task (no mm): the dumpability its memory last had, or CAP_SYS_PTRACE
            // in the initial user namespace. Before, nothing was checked.
            return false;
        }
        // cap_ptrace_access_check: the caller's permitted set (effective, with FSCREDS).
        let caller_caps = if fscreds { cred.cap_effective } else { cred.cap_permitted };
        (Rc::ptr_eq(&cred.user_ns, &tcred.user_ns) && tcred.cap_permitted & !caller_caps == 0)
            || ptrace_has_cap(&tcred.user_ns)
    }
}
