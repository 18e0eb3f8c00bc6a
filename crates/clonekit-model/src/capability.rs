//! `capget` and `capset` (kernel/capability.c), for the calling thread (`pid` 0).

use clonekit_flags::{CapSet, Errno, CAP_FULL_SET};

use crate::commoncap::cap_capset;
use crate::sched::{Kernel, TaskId};

/// A thread's three capability sets, as `capget` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CapSets {
    /// `effective`.
    pub effective: CapSet,
    /// `permitted`.
    pub permitted: CapSet,
    /// `inheritable`.
    pub inheritable: CapSet,
}

impl Kernel {
    /// `capget(&{_LINUX_CAPABILITY_VERSION_3, 0}, data)`: the caller's sets.
    pub fn sys_capget(&mut self, cur: TaskId) -> Result<CapSets, Errno> {
        self.current(cur)?;
        let c = &self.t(cur).cred;
        Ok(CapSets { effective: c.cap_effective, permitted: c.cap_permitted, inheritable: c.cap_inheritable })
    }

    /// `capset(&{_LINUX_CAPABILITY_VERSION_3, 0}, data)`: the caller's new sets (bits above
    /// `CAP_LAST_CAP` dropped), as `cap_capset` allows them, committed (`commit_creds`).
    pub fn sys_capset(&mut self, cur: TaskId, sets: CapSets) -> Result<(), Errno> {
        self.current(cur)?;
        let old = self.t(cur).cred.clone();
        let mut new = (*old).clone();
        cap_capset(
            &mut new,
            &old,
            sets.effective & CAP_FULL_SET,
            sets.inheritable & CAP_FULL_SET,
            sets.permitted & CAP_FULL_SET,
        )?;
        self.commit_creds(cur, new);
        Ok(())
    }
}
