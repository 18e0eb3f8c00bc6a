//! Small system calls (kernel/sys.c and friends): ids, host name, `prctl`,
//! `set_tid_address` (kernel/fork.c), `ioprio_get`/`ioprio_set` (block/ioprio.c), and the
//! user-space loads and stores a program makes on its own memory.

use std::cell::RefCell;
use std::rc::Rc;

use clonekit_flags::{Errno, CAP_SETUID, CAP_SYS_ADMIN, CAP_SYS_NICE, SUID_DUMP_DISABLE, SUID_DUMP_USER};

use crate::blk_ioc::IoContext;
use crate::pid::PidType;
use crate::sched::{Kernel, TaskId};

/// `__NEW_UTS_LEN`.
const NEW_UTS_LEN: usize = 64;

/// `IOPRIO_DEFAULT`: `IOPRIO_CLASS_NONE`, level 0 (what `ioprio_get` reports for a task
/// that never set one; checked on Linux 6.18).
pub const IOPRIO_DEFAULT: u16 = 0;

impl Kernel {
    /// `getpid`: the thread group id in the caller's pid namespace.
    pub fn sys_getpid(&mut self, cur: TaskId) -> Result<i32, Errno> {
        self.current(cur)?;
        Ok(self.tgid_vnr(cur, cur))
    }

    /// `gettid`: the caller's own id.
    pub fn sys_gettid(&mut self, cur: TaskId) -> Result<i32, Errno> {
        self.current(cur)?;
        let pid = self.t(cur).pid.clone();
        Ok(self.pid_vnr(cur, &pid))
    }

    /// `getppid`: the tgid of `real_parent`, 0 when it is outside the caller's pid namespace.
    pub fn sys_getppid(&mut self, cur: TaskId) -> Result<i32, Errno> {
        self.current(cur)?;
        let parent = self.t(cur).real_parent;
        if self.task(parent).is_none() {
            return Ok(0);
        }
        Ok(self.tgid_vnr(cur, parent))
    }

    /// The `struct pid` of `real_parent`'s thread group, for naming it.
    pub fn parent_pid(&self, id: TaskId) -> Option<Rc<crate::pid::Pid>> {
        let parent = self.task(id)?.real_parent;
        let leader = self.task(parent)?.group_leader;
        self.task(leader).map(|t| t.pid.clone())
    }

    /// `sethostname` (kernel/sys.c): needs `CAP_SYS_ADMIN` over the UTS namespace's owner.
    pub fn sys_sethostname(&mut self, cur: TaskId, name: &str) -> Result<(), Errno> {
        self.current(cur)?;
        let t = self.t(cur);
        let ns = t.nsproxy.as_ref().ok_or(Errno::EINVAL)?;
        if !t.cred.ns_capable(&ns.uts.user_ns, CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        if name.len() > NEW_UTS_LEN {
            return Err(Errno::EINVAL);
        }
        *ns.uts.nodename.borrow_mut() = name.to_string();
        Ok(())
    }

    /// `gethostname` (the UTS namespace's node name).
    pub fn sys_gethostname(&mut self, cur: TaskId) -> Result<String, Errno> {
        self.current(cur)?;
        let ns = self.t(cur).nsproxy.as_ref().ok_or(Errno::EINVAL)?;
        let name = ns.uts.nodename.borrow().clone();
        Ok(name)
    }

    /// `prctl(PR_SET_CHILD_SUBREAPER, on)` (kernel/sys.c): marks the group, and every
    /// descendant learns it has a subreaper above it (`propagate_has_child_subreaper`).
    pub fn sys_prctl_set_child_subreaper(&mut self, cur: TaskId, on: bool) -> Result<(), Errno> {
        self.current(cur)?;
        let signal = self.t(cur).signal.clone();
        signal.borrow_mut().is_child_subreaper = on;
        if on {
            let mut stack: Vec<TaskId> = signal.borrow().threads.clone();
            while let Some(t) = stack.pop() {
                let children = self.t(t).children.clone();
                for c in children {
                    let s = self.t(c).signal.clone();
                    let mut sb = s.borrow_mut();
                    if sb.has_child_subreaper {
                        continue;
                    }
                    sb.has_child_subreaper = true;
                    stack.extend(sb.threads.iter().copied());
                }
            }
        }
        Ok(())
    }

    /// `prctl(PR_SET_PDEATHSIG, sig)` (kernel/sys.c): per thread; `EINVAL` for an invalid
    /// signal.
    pub fn sys_prctl_set_pdeathsig(&mut self, cur: TaskId, sig: u32) -> Result<(), Errno> {
        self.current(cur)?;
        if sig > 64 {
            return Err(Errno::EINVAL);
        }
        self.tm(cur).pdeath_signal = sig;
        Ok(())
    }

    /// `prctl(PR_GET_PDEATHSIG)`.
    pub fn sys_prctl_get_pdeathsig(&mut self, cur: TaskId) -> Result<u32, Errno> {
        self.current(cur)?;
        Ok(self.t(cur).pdeath_signal)
    }

    /// `prctl(PR_GET_CHILD_SUBREAPER, &v)` (kernel/sys.c): whether the caller's process is a
    /// child subreaper.
    pub fn sys_prctl_get_child_subreaper(&mut self, cur: TaskId) -> Result<bool, Errno> {
        self.current(cur)?;
        let on = self.t(cur).signal.borrow().is_child_subreaper;
        Ok(on)
    }

    /// `prctl(PR_SET_DUMPABLE, v)` (kernel/sys.c): `SUID_DUMP_DISABLE` or `SUID_DUMP_USER` for
    /// the caller's memory (shared by every task of a `CLONE_VM` family); `EINVAL` for any
    /// other value.
    pub fn sys_prctl_set_dumpable(&mut self, cur: TaskId, v: u64) -> Result<(), Errno> {
        self.current(cur)?;
        if v != u64::from(SUID_DUMP_DISABLE) && v != u64::from(SUID_DUMP_USER) {
            return Err(Errno::EINVAL);
        }
        if let Some(mm) = &self.t(cur).mm {
            mm.borrow_mut().dumpable = v as u32;
        }
        Ok(())
    }

    /// `prctl(PR_GET_DUMPABLE)` (kernel/sys.c): `get_dumpable(current->mm)`.
    pub fn sys_prctl_get_dumpable(&mut self, cur: TaskId) -> Result<u32, Errno> {
        self.current(cur)?;
        Ok(self.t(cur).mm.as_ref().map_or(SUID_DUMP_DISABLE, |mm| mm.borrow().dumpable))
    }

    /// `prctl(PR_SET_KEEPCAPS, v)` (security/commoncap.c `cap_task_prctl`): keep the permitted
    /// capabilities when no uid is root any more; cleared by `execve`.
    pub fn sys_prctl_set_keepcaps(&mut self, cur: TaskId, v: u64) -> Result<(), Errno> {
        self.current(cur)?;
        let mut new = (*self.t(cur).cred).clone();
        crate::commoncap::set_keepcaps(&mut new, v)?;
        self.commit_creds(cur, new);
        Ok(())
    }

    /// `prctl(PR_SET_NO_NEW_PRIVS, v)` (kernel/sys.c): 1 sets it for good; anything else is
    /// `EINVAL` (it cannot be cleared).
    pub fn sys_prctl_set_no_new_privs(&mut self, cur: TaskId, v: u64) -> Result<(), Errno> {
        self.current(cur)?;
        if v != 1 {
            return Err(Errno::EINVAL);
        }
        self.tm(cur).no_new_privs = true;
        Ok(())
    }

    /// `prctl(PR_GET_NO_NEW_PRIVS)` (kernel/sys.c): `task_no_new_privs(current)`.
    pub fn sys_prctl_get_no_new_privs(&mut self, cur: TaskId) -> Result<bool, Errno> {
        self.current(cur)?;
        Ok(self.t(cur).no_new_privs)
    }

    /// `prctl(PR_GET_KEEPCAPS)`.
    pub fn sys_prctl_get_keepcaps(&mut self, cur: TaskId) -> Result<bool, Errno> {
        self.current(cur)?;
        Ok(self.t(cur).cred.keep_caps)
    }

    /// `geteuid` (kernel/sys.c): the effective uid, as the caller's user namespace reads it.
    pub fn sys_geteuid(&mut self, cur: TaskId) -> Result<u32, Errno> {
        self.current(cur)?;
        let c = &self.t(cur).cred;
        Ok(c.user_ns.from_kuid_munged(c.euid))
    }

    /// `setuid(uid)` (kernel/sys.c `__sys_setuid`): `EINVAL` for a uid the caller's user
    /// namespace does not map; with `CAP_SETUID` every uid becomes it, without it only the
    /// effective (and file-system) uid, and only to the real or saved one (`EPERM`);
    /// `cap_task_fix_setuid` then moves the capabilities, and `commit_creds` installs them.
    pub fn sys_setuid(&mut self, cur: TaskId, uid: u32) -> Result<(), Errno> {
        self.current(cur)?;
        let old = self.t(cur).cred.clone();
        let kuid = old.user_ns.make_kuid(uid).ok_or(Errno::EINVAL)?;
        let mut new = (*old).clone();
        if old.ns_capable(&old.user_ns, CAP_SETUID) {
            new.uid = kuid;
            new.suid = kuid;
        } else if kuid != old.uid && kuid != old.suid {
            return Err(Errno::EPERM);
        }
        new.euid = kuid;
        new.fsuid = kuid;
        crate::commoncap::cap_emulate_setxuid(&mut new, &old);
        self.commit_creds(cur, new);
        Ok(())
    }

    /// `setresuid(ruid, euid, suid)` (kernel/sys.c `__sys_setresuid`), `None` for -1 (leave
    /// it): `EINVAL` for an unmapped uid; nothing to do when nothing changes; a uid that is
    /// none of the old three needs `CAP_SETUID` (`EPERM`); the file-system uid follows the
    /// effective one. glibc's `seteuid(e)` is `setresuid(-1, e, -1)`.
    pub fn sys_setresuid(
        &mut self,
        cur: TaskId,
        ruid: Option<u32>,
        euid: Option<u32>,
        suid: Option<u32>,
    ) -> Result<(), Errno> {
        self.current(cur)?;
        let old = self.t(cur).cred.clone();
        let map = |u: Option<u32>| u.map(|u| old.user_ns.make_kuid(u).ok_or(Errno::EINVAL)).transpose();
        let (kr, ke, ks) = (map(ruid)?, map(euid)?, map(suid)?);
        let noop = kr.is_none_or(|r| r == old.uid)
            && ke.is_none_or(|e| e == old.euid && e == old.fsuid)
            && ks.is_none_or(|s| s == old.suid);
        if noop {
            return Ok(());
        }
        let is_new = |k: Option<u32>| k.is_some_and(|k| k != old.uid && k != old.euid && k != old.suid);
        if (is_new(kr) || is_new(ke) || is_new(ks)) && !old.ns_capable(&old.user_ns, CAP_SETUID) {
            return Err(Errno::EPERM);
        }
        let mut new = (*old).clone();
        if let Some(r) = kr {
            new.uid = r;
        }
        if let Some(e) = ke {
            new.euid = e;
        }
        if let Some(s) = ks {
            new.suid = s;
        }
        new.fsuid = new.euid;
        crate::commoncap::cap_emulate_setxuid(&mut new, &old);
        self.commit_creds(cur, new);
        Ok(())
    }

    /// `set_tid_address` (kernel/fork.c): registers the clear-tid word; returns the tid.
    pub fn sys_set_tid_address(&mut self, cur: TaskId, addr: u64) -> Result<i32, Errno> {
        self.current(cur)?;
        self.tm(cur).clear_child_tid = addr;
        self.sys_gettid(cur)
    }

    /// `ioprio_set(IOPRIO_WHO_PROCESS, 0, prio)` (block/ioprio.c): sets the caller's I/O
    /// priority, creating its io_context if it has none.
    pub fn sys_ioprio_set(&mut self, cur: TaskId, prio: u16) -> Result<(), Errno> {
        self.current(cur)?;
        let class = prio >> 13;
        let data = prio & 0x1fff;
        // ioprio_check_cap (block/ioprio.c): RT needs capable(CAP_SYS_NICE) or
        // capable(CAP_SYS_ADMIN), a capability in the initial user namespace, before anything else;
        // RT and BE need a level below 8, NONE level 0; IDLE takes any data (it has no
        // levels), as Linux 6.18 measured does.
        if class == 1 && !self.t(cur).cred.capable(CAP_SYS_NICE) && !self.t(cur).cred.capable(CAP_SYS_ADMIN) {
            return Err(Errno::EPERM);
        }
        match class {
            0 if data == 0 => {}
            1 | 2 if data < 8 => {}
            3 => {}
            _ => return Err(Errno::EINVAL),
        }
        let t = self.tm(cur);
        match &t.io_context {
            Some(ioc) => ioc.borrow_mut().ioprio = prio,
            None => t.io_context = Some(Rc::new(RefCell::new(IoContext { ioprio: prio }))),
        }
        Ok(())
    }

    /// `ioprio_get(IOPRIO_WHO_PROCESS, 0)` (block/ioprio.c): the io_context's priority, or
    /// `IOPRIO_DEFAULT` when the task has none.
    pub fn sys_ioprio_get(&mut self, cur: TaskId) -> Result<u16, Errno> {
        self.current(cur)?;
        Ok(self.t(cur).io_context.as_ref().map_or(IOPRIO_DEFAULT, |i| i.borrow().ioprio))
    }

    /// A 32-bit load from the caller's memory (a plain user-space access).
    pub fn load(&mut self, cur: TaskId, addr: u64) -> Result<u32, Errno> {
        self.current(cur)?;
        let mm = self.t(cur).mm.clone().ok_or(Errno::EFAULT)?;
        if !mm.borrow().accessible(addr, 4) || !addr.is_multiple_of(4) {
            return Err(Errno::EFAULT);
        }
        let v = mm.borrow().load(addr);
        Ok(v)
    }

    /// A 32-bit store to the caller's memory (a write fault copies a shared COW page).
    pub fn store(&mut self, cur: TaskId, addr: u64, value: u32) -> Result<(), Errno> {
        self.current(cur)?;
        let mm = self.t(cur).mm.clone().ok_or(Errno::EFAULT)?;
        if !mm.borrow().accessible(addr, 4) || !addr.is_multiple_of(4) {
            return Err(Errno::EFAULT);
        }
        mm.borrow_mut().store(addr, value);
        Ok(())
    }

    /// `mprotect(addr, len, PROT_NONE)` (mm/mprotect.c): the pages can no longer be accessed
    /// (a guard page); a system call given a pointer into them fails with `EFAULT`.
    pub fn sys_mprotect_none(&mut self, cur: TaskId, addr: u64, len: u64) -> Result<(), Errno> {
        self.current(cur)?;
        if !addr.is_multiple_of(crate::mm::PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let mm = self.t(cur).mm.clone().ok_or(Errno::ENOMEM)?;
        mm.borrow_mut().mprotect_none(addr, len);
        Ok(())
    }

    /// Bytes written into the caller's memory, as a program lays out a struct (pages without
    /// access are skipped).
    pub fn write_user(&mut self, cur: TaskId, addr: u64, bytes: &[u8]) {
        if let Some(mm) = self.task(cur).and_then(|t| t.mm.clone()) {
            mm.borrow_mut().write_bytes(addr, bytes);
        }
    }

    /// The caller's address space, to inspect (resident pages, copy-on-write counters).
    pub fn mm(&self, id: TaskId) -> Option<std::cell::Ref<'_, crate::mm::MmStruct>> {
        self.task(id)?.mm.as_ref().map(|m| m.borrow())
    }
}

impl Kernel {
    /// `setpgid(pid, pgid)` (kernel/sys.c): moves the process `pid` (0: the caller's) into
    /// the process group `pgid` (0: the one it would lead) of the caller's session. Only the
    /// caller itself or one of its children that has not exec'd may be moved, never a session
    /// leader, and only into a group that exists in the session, or a new one it leads.
    pub fn sys_setpgid(&mut self, cur: TaskId, pid: i32, pgid: i32) -> Result<(), Errno> {
        self.current(cur)?;
        let group_leader = self.t(cur).group_leader;
        let pid = if pid == 0 { self.tgid_vnr(cur, cur) } else { pid };
        let pgid = if pgid == 0 { pid } else { pgid };
        if pgid < 0 {
            return Err(Errno::EINVAL);
        }
        let p = self.find_task_by_vpid(cur, pid).ok_or(Errno::ESRCH)?;
        if self.t(p).group_leader != p {
            return Err(Errno::EINVAL);
        }
        let my_session = self.t(cur).signal.borrow().session.clone();
        let parent = self.t(p).real_parent;
        let parent_is_us = self.task(parent).is_some_and(|x| Rc::ptr_eq(&x.signal, &self.t(cur).signal));
        if parent_is_us {
            if !Rc::ptr_eq(&self.t(p).signal.borrow().session, &my_session) {
                return Err(Errno::EPERM);
            }
            if !self.t(p).forknoexec {
                return Err(Errno::EACCES);
            }
        } else if p != group_leader {
            return Err(Errno::ESRCH);
        }
        let signal = self.t(p).signal.clone();
        if signal.borrow().leader {
            return Err(Errno::EPERM);
        }
        let pgrp = if pgid != pid {
            let pgrp = self.find_vpid(cur, pgid).ok_or(Errno::EPERM)?;
            let g = self.pid_task(&pgrp, PidType::Pgid).ok_or(Errno::EPERM)?;
            if !Rc::ptr_eq(&self.t(g).signal.borrow().session, &my_session) {
                return Err(Errno::EPERM);
            }
            pgrp
        } else {
            self.t(p).pid.clone()
        };
        if Rc::ptr_eq(&signal.borrow().pgrp, &pgrp) {
            return Ok(());
        }
        // change_pid(p, PIDTYPE_PGID, pgrp): at the head of the group's list.
        self.next_serial += 1;
        let old = {
            let mut s = signal.borrow_mut();
            s.pgrp_seq = self.next_serial;
            std::mem::replace(&mut s.pgrp, pgrp)
        };
        self.put_pid(&old);
        Ok(())
    }

    /// `prlimit64(0, resource, new, old)` (kernel/sys.c, `do_prlimit`) on the caller's own
    /// thread group: the old limits, and the new ones set if given. `EINVAL` for a resource
    /// out of range or a soft limit above the hard one; `EPERM` for a hard limit raised
    /// without `CAP_SYS_RESOURCE` in the initial user namespace. Limits live in the
    /// `signal_struct`: threads share them, `fork` copies them, `execve` keeps them.
    pub fn sys_prlimit(
        &mut self,
        cur: TaskId,
        resource: u32,
        new: Option<crate::signal::Rlimit>,
    ) -> Result<crate::signal::Rlimit, Errno> {
        self.current(cur)?;
        if resource >= clonekit_flags::RLIM_NLIMITS {
            return Err(Errno::EINVAL);
        }
        if let Some((soft, hard)) = new {
            if soft > hard {
                return Err(Errno::EINVAL);
            }
        }
        let signal = self.t(cur).signal.clone();
        let old = signal.borrow().rlimits[resource as usize];
        if let Some(new) = new {
            if new.1 > old.1 && !self.t(cur).cred.capable(clonekit_flags::CAP_SYS_RESOURCE) {
                return Err(Errno::EPERM);
            }
            signal.borrow_mut().rlimits[resource as usize] = new;
        }
        Ok(old)
    }

    /// `getrlimit(resource)` (kernel/sys.c): (soft, hard).
    pub fn sys_getrlimit(&mut self, cur: TaskId, resource: u32) -> Result<crate::signal::Rlimit, Errno> {
        self.sys_prlimit(cur, resource, None)
    }

    /// `setrlimit(resource, {soft, hard})` (kernel/sys.c).
    pub fn sys_setrlimit(&mut self, cur: TaskId, resource: u32, soft: u64, hard: u64) -> Result<(), Errno> {
        self.sys_prlimit(cur, resource, Some((soft, hard))).map(|_| ())
    }

    /// `rlimit(resource)` of `t`'s thread group (soft, hard), to inspect.
    pub fn rlimit(&self, t: TaskId, resource: u32) -> crate::signal::Rlimit {
        self.t(t).signal.borrow().rlimits[resource as usize % clonekit_flags::RLIM_NLIMITS as usize]
    }

    /// `getuid` (kernel/sys.c): the caller's real uid as its user namespace sees it.
    pub fn sys_getuid(&mut self, cur: TaskId) -> Result<u32, Errno> {
        self.current(cur)?;
        Ok(self.task_uid_seen_by(cur, cur))
    }

    /// `id`'s real uid as its own user namespace sees it (what `getuid` would return), to
    /// inspect.
    pub fn task_uid(&self, id: TaskId) -> Option<u32> {
        self.task(id).map(|_| self.task_uid_seen_by(id, id))
    }

    /// `from_kuid_munged(current_user_ns(), task_uid(p))`: `p`'s real uid as `observer` sees
    /// it.
    pub(crate) fn task_uid_seen_by(&self, observer: TaskId, p: TaskId) -> u32 {
        self.t(observer).cred.user_ns.from_kuid_munged(self.t(p).cred.uid)
    }

    /// The process group `id` belongs to (`task_pgrp`), to inspect.
    pub fn process_group(&self, id: TaskId) -> Option<Rc<crate::pid::Pid>> {
        self.task(id).map(|t| t.signal.borrow().pgrp.clone())
    }

    /// `getpgid(pid)` (kernel/sys.c `do_getpgid`): the process group of `pid` (0: the caller),
    /// as the caller sees it.
    pub fn sys_getpgid(&mut self, cur: TaskId, pid: i32) -> Result<i32, Errno> {
        self.current(cur)?;
        let p = if pid == 0 { cur } else { self.find_task_by_vpid(cur, pid).ok_or(Errno::ESRCH)? };
        let grp = self.t(p).signal.borrow().pgrp.clone();
        Ok(self.pid_vnr(cur, &grp))
    }

    /// `getsid(pid)` (kernel/sys.c): the session of `pid` (0: the caller), as the caller sees
    /// it.
    pub fn sys_getsid(&mut self, cur: TaskId, pid: i32) -> Result<i32, Errno> {
        self.current(cur)?;
        let p = if pid == 0 { cur } else { self.find_task_by_vpid(cur, pid).ok_or(Errno::ESRCH)? };
        let sid = self.t(p).signal.borrow().session.clone();
        Ok(self.pid_vnr(cur, &sid))
    }

    /// `setsid()` (kernel/sys.c): the caller's process leads a new session and a new process
    /// group, both named by its pid; the session id, as the caller sees it.
    pub fn sys_setsid(&mut self, cur: TaskId) -> Result<i32, Errno> {
        self.current(cur)?;
        self.ksys_setsid(cur)
    }

    /// `ksys_setsid` (kernel/sys.c): `EPERM` for a session leader, and for a process whose
    /// pid already names a process group (it leads one, or a group it led lives on).
    pub(crate) fn ksys_setsid(&mut self, cur: TaskId) -> Result<i32, Errno> {
        let group_leader = self.t(cur).group_leader;
        let sid = self.t(group_leader).pid.clone();
        let session = self.pid_vnr(cur, &sid);
        let signal = self.t(group_leader).signal.clone();
        if signal.borrow().leader {
            return Err(Errno::EPERM);
        }
        if self.pid_task(&sid, PidType::Pgid).is_some() {
            return Err(Errno::EPERM);
        }
        self.next_serial += 1;
        let (old_pgrp, old_session) = {
            let mut s = signal.borrow_mut();
            s.leader = true;
            s.pgrp_seq = self.next_serial;
            // set_special_pids: the session and the process group are the leader's pid.
            (std::mem::replace(&mut s.pgrp, sid.clone()), std::mem::replace(&mut s.session, sid))
        };
        self.put_pid(&old_pgrp);
        self.put_pid(&old_session);
        Ok(session)
    }
}
