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
