//! Futexes (kernel/futex/waitwake.c): `FUTEX_WAIT` and `FUTEX_WAKE` on a 32-bit word of an
//! address space; the clear-tid wake of `mm_release` goes through the same queue.

use std::rc::{Rc, Weak};

use clonekit_flags::Errno;

use crate::mm::MmStruct;
use crate::sched::{Block, Kernel, Resumed, Shared, Syscall, TaskId};

/// A task asleep in `futex_wait`: the key is (address space, address), as for a private
/// mapping (`get_futex_key`).
#[derive(Debug)]
pub(crate) struct FutexWaiter {
    pub(crate) task: TaskId,
    pub(crate) mm: Weak<std::cell::RefCell<MmStruct>>,
    pub(crate) addr: u64,
    /// The value it sleeps on: a restarted wait reads the word again.
    pub(crate) val: u32,
}

impl Kernel {
    fn mm_of(&self, id: TaskId) -> Result<Shared<MmStruct>, Errno> {
        self.t(id).mm.clone().ok_or(Errno::EFAULT)
    }

    /// `futex_wait` (kernel/futex/waitwake.c): sleeps while `*addr == val`; `EAGAIN` if it
    /// differs.
    pub fn sys_futex_wait(&mut self, cur: TaskId, addr: u64, val: u32) -> Result<Syscall<i32>, Errno> {
        self.current(cur)?;
        if !addr.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        let mm = self.mm_of(cur)?;
        if mm.borrow().load(addr) != val {
            return Err(Errno::EAGAIN);
        }
        self.futex_waiters.push(FutexWaiter { task: cur, mm: Rc::downgrade(&mm), addr, val });
        self.sleep(cur, Block::Futex);
        Ok(Syscall::Blocked)
    }

    /// `futex_wake` (kernel/futex/waitwake.c): wakes up to `n` waiters on the word, oldest
    /// first; returns how many.
    pub fn sys_futex_wake(&mut self, cur: TaskId, addr: u64, n: u32) -> Result<i32, Errno> {
        self.current(cur)?;
        if !addr.is_multiple_of(4) {
            return Err(Errno::EINVAL);
        }
        let mm = self.mm_of(cur)?;
        Ok(self.futex_wake(&mm, addr, n))
    }

    /// The wake itself, also used by `mm_release` for the clear-tid word.
    pub(crate) fn futex_wake(&mut self, mm: &Shared<MmStruct>, addr: u64, n: u32) -> i32 {
        // kernel/futex/waitwake.c futex_wake: each waiter is woken before `++ret >= nr_wake`
        // is tested, so asking for 0 wakes one, like asking for 1.
        let n = n.max(1);
        let mut woken = Vec::new();
        let mut i = 0;
        while i < self.futex_waiters.len() && woken.len() < n as usize {
            let w = &self.futex_waiters[i];
            // A stopped waiter left the queue (-ERESTARTSYS) and waits again at SIGCONT.
            let stopped = self.task(w.task).is_some_and(|t| t.frozen());
            if !stopped && w.addr == addr && w.mm.upgrade().is_some_and(|m| Rc::ptr_eq(&m, mm)) {
                woken.push(self.futex_waiters.remove(i).task);
            } else {
                i += 1;
            }
        }
        for &t in &woken {
            self.wake(t, Resumed::Futex(Ok(0)));
        }
        woken.len() as i32
    }

    /// A signal woke `t`, asleep in `FUTEX_WAIT` with no timeout: `futex_wait`
    /// (kernel/futex/waitwake.c) returned `-ERESTARTSYS`, and the call is made again (after a
    /// handler with `SA_RESTART`, or when the signal was ignored), which reads the word again:
    /// `EAGAIN` if it no longer holds the value the task slept on, else back to sleep.
    pub(crate) fn futex_restart(&mut self, t: TaskId) {
        if !matches!(self.task(t).and_then(|x| x.block.as_ref()), Some((_, Block::Futex))) {
            return;
        }
        let Some(i) = self.futex_waiters.iter().position(|w| w.task == t) else { return };
        let w = &self.futex_waiters[i];
        let changed = w.mm.upgrade().is_some_and(|mm| mm.borrow().load(w.addr) != w.val);
        if changed {
            self.futex_waiters.remove(i);
            self.wake(t, Resumed::Futex(Err(Errno::EAGAIN)));
        }
    }

    /// Drops `task` from the futex queues (it is exiting).
    pub(crate) fn futex_forget(&mut self, task: TaskId) {
        self.futex_waiters.retain(|w| w.task != task);
    }
}
