//! What the ptrace tracer knows of its tracees beyond what it prints: the group of each
//! thread, which tasks stop at `PTRACE_EVENT_EXIT`, which groups are on their way out, the
//! creating calls in flight, the new tasks still to be identified, and the `CLONE_UNTRACED`
//! children it traces only for their seccomp filter's sake ("shadows").
//!
//! A thread made without `PTRACE_O_TRACEEXIT` ("quiet") costs one stop fewer: its `exit` is
//! read from its death. A thread that leaves with an exit status (not a signal) while its
//! group is neither exiting (an `exit_group` was entered: trapped, see
//! `crate::seccomp::quiet_threads`) nor being replaced (an `execve` was entered, or has
//! killed it) called `exit` itself; the threads an `exit_group` or an `execve` kills leave
//! with an exit status too, and no call. A thread may have called `exit` before the
//! `exit_group` or `execve` and be reported after it: while the caller is stopped at its
//! entry, before anything is killed, the threads of the group that have begun to exit
//! (`PF_EXITING`) are marked as leaving on their own. Left ambiguous: a thread that calls
//! `exit` in the microseconds between that entry's end and the killing is taken for one that
//! was killed. The status keeps 8 bits: `exit(256)` is shown as `exit(0)`.

use std::collections::{HashMap, HashSet};

use clonekit_flags::CloneFlags;

/// What a creating call makes, decided at its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Making {
    /// A thread of group `tgid`; `quiet`: without `PTRACE_O_TRACEEXIT`.
    Thread { tgid: i32, quiet: bool },
    /// A process (a group of its own), with `PTRACE_O_TRACEEXIT`.
    Process,
    /// A task traced only because the seccomp filter it inherits needs a tracer: made with
    /// `CLONE_UNTRACED` (cleared for the call), or by such a task. Never shown.
    Shadow,
}

/// Where a creating call's flags were changed (`CLONE_UNTRACED` cleared), to be put back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagsAt {
    /// Legacy `clone`'s first argument register.
    Register,
    /// `clone3`'s `clone_args.flags`, at this address of the caller's memory.
    Memory(u64),
}

/// A creating call between its entry and its event (or its exit, if it failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Creating {
    /// `None` when its flags could not be read (nor can the kernel: the call fails).
    pub making: Option<Making>,
    /// The creator's own `PTRACE_O_TRACEEXIT`, changed for the call so that the child
    /// inherits what it needs: to be put back.
    pub restore_exit_event: Option<bool>,
    /// The caller's flags, changed for the call: where, and the value to put back.
    pub restore_flags: Option<(FlagsAt, u64)>,
}

#[derive(Debug, Clone, Copy)]
struct Thread {
    tgid: i32,
    quiet: bool,
    /// Killed by an `execve` of its group: its death is no call of its own.
    doomed: bool,
    /// Was exiting when its group began to end: its death is its own `exit`.
    on_its_own: bool,
}

/// Why a group is on its way out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// A thread entered `exit_group`.
    Exit,
    /// This thread entered `execve` (it will kill the others if it succeeds).
    Exec(i32),
}

#[derive(Default)]
pub(crate) struct Groups {
    /// Non-leader threads.
    threads: HashMap<i32, Thread>,
    /// Tasks whose `PTRACE_O_TRACEEXIT` is off.
    no_exit_event: HashSet<i32>,
    /// Creating calls in flight, by creator.
    pub creating: HashMap<i32, Creating>,
    /// Groups on their way out, by leader.
    ending: HashMap<i32, Ending>,
    pub shadows: HashSet<i32>,
    /// New tasks left in their first stop until their creator's event says what they are.
    pub parked: HashSet<i32>,
}

impl Groups {
    /// The group (leader's tid) of `tid`.
    pub fn tgid(&self, tid: i32) -> i32 {
        self.threads.get(&tid).map_or(tid, |t| t.tgid)
    }

    /// Whether `tid` stops at `PTRACE_EVENT_EXIT`.
    pub fn exit_event(&self, tid: i32) -> bool {
        !self.no_exit_event.contains(&tid)
    }

    pub fn set_exit_event(&mut self, tid: i32, on: bool) {
        if on {
            self.no_exit_event.remove(&tid);
        } else {
            self.no_exit_event.insert(tid);
        }
    }

    /// A thread of `tgid` found when attaching (`-p`): it stops at its exit.
    pub fn attached_thread(&mut self, tid: i32, tgid: i32) {
        self.threads.insert(tid, Thread { tgid, quiet: false, doomed: false, on_its_own: false });
    }

    /// What a creating call of `creator` with these flags makes; the creator's own exit-event
    /// option decides, for a thread, whether it is quiet (the tracer may change it first).
    pub fn making(&self, creator: i32, flags: Option<u64>) -> Option<Making> {
        if self.shadows.contains(&creator) {
            return Some(Making::Shadow);
        }
        let f = CloneFlags::from_bits_retain(flags?);
        Some(if f.contains(CloneFlags::CLONE_UNTRACED) {
            Making::Shadow
        } else if f.contains(CloneFlags::CLONE_THREAD) {
            Making::Thread { tgid: self.tgid(creator), quiet: !self.exit_event(creator) }
        } else {
            Making::Process
        })
    }

    /// At the first stop of a task no event has named yet: what it is, when one creating
    /// call only is in flight (it can only be that call's child).
    pub fn guess(&self) -> Option<Making> {
        let mut calls = self.creating.values();
        match (calls.next(), calls.next()) {
            (Some(c), None) => c.making,
            _ => None,
        }
    }

    /// A new task, made as `m`.
    pub fn adopt(&mut self, tid: i32, m: Making) {
        match m {
            Making::Shadow => {
                self.shadows.insert(tid);
            }
            Making::Thread { tgid, quiet } => {
                self.threads.insert(tid, Thread { tgid, quiet, doomed: false, on_its_own: false });
                self.set_exit_event(tid, !quiet);
            }
            Making::Process => self.set_exit_event(tid, true),
        }
    }

    /// The quiet threads of `tid`'s group but `tid`, to look at before its `exit_group` or
    /// `execve` kills them.
    pub fn quiet_siblings(&self, tid: i32) -> Vec<i32> {
        let g = self.tgid(tid);
        let quiet = |t: &Thread| t.tgid == g && t.quiet && !t.doomed && !t.on_its_own;
        self.threads.iter().filter(|(&t, th)| t != tid && quiet(th)).map(|(&t, _)| t).collect()
    }

    /// Quiet thread `tid` had begun to exit before its group began to end.
    pub fn leaving_on_its_own(&mut self, tid: i32) {
        if let Some(t) = self.threads.get_mut(&tid) {
            t.on_its_own = true;
        }
    }

    /// `tid` entered `exit_group`.
    pub fn exit_group(&mut self, tid: i32) {
        self.ending.insert(self.tgid(tid), Ending::Exit);
    }

    /// `tid` entered `execve`.
    pub fn exec_entered(&mut self, tid: i32) {
        self.ending.entry(self.tgid(tid)).or_insert(Ending::Exec(tid));
    }

    /// `tid`'s `execve` returned: it failed, and killed nothing.
    pub fn exec_failed(&mut self, tid: i32) {
        let g = self.tgid(tid);
        if self.ending.get(&g) == Some(&Ending::Exec(tid)) {
            self.ending.remove(&g);
        }
    }

    /// An `execve` succeeded in group `tgid`, called by `former` (which now has the
    /// leader's tid if it was another thread): the other threads are dead or dying. Whether
    /// the task that exec'd was quiet (it now leads the group: it should stop at its exit).
    pub fn exec_done(&mut self, tgid: i32, former: i32) -> bool {
        if matches!(self.ending.get(&tgid), Some(Ending::Exec(_))) {
            self.ending.remove(&tgid);
        }
        for (tid, t) in self.threads.iter_mut() {
            if t.tgid == tgid && *tid != former {
                t.doomed = true;
            }
        }
        if former == tgid {
            return false;
        }
        self.threads.remove(&former);
        let quiet = self.no_exit_event.remove(&former);
        self.set_exit_event(tgid, !quiet);
        quiet
    }

    /// `tid` is gone with this wait status: whether it was a quiet thread that called `exit`
    /// (see the module's comment). Everything about it is forgotten.
    pub fn died(&mut self, tid: i32, status: i32) -> bool {
        self.creating.remove(&tid);
        self.parked.remove(&tid);
        self.no_exit_event.remove(&tid);
        match self.threads.remove(&tid) {
            Some(t) => {
                t.quiet
                    && status & 0x7f == 0
                    && (t.on_its_own || !t.doomed && !self.ending.contains_key(&t.tgid))
            }
            None => {
                // A leader is reported after its threads: its group is gone.
                self.ending.remove(&tid);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREAD: u64 = CloneFlags::CLONE_THREAD.bits() | CloneFlags::CLONE_VM.bits();

    fn group_with_quiet_threads() -> Groups {
        let mut g = Groups::default();
        g.set_exit_event(100, false);
        let m = g.making(100, Some(THREAD)).unwrap();
        g.set_exit_event(100, true);
        assert_eq!(m, Making::Thread { tgid: 100, quiet: true });
        g.adopt(101, m);
        g.adopt(102, m);
        g
    }

    #[test]
    fn a_quiet_thread_leaving_on_its_own_called_exit() {
        let mut g = group_with_quiet_threads();
        assert!(!g.exit_event(101) && g.exit_event(100));
        assert!(g.died(101, 0));
        // Killed by a signal: no call of its own.
        assert!(!g.died(102, 9));
        assert!(!g.died(100, 0));
    }

    #[test]
    fn threads_killed_by_exit_group_or_execve_called_nothing() {
        let mut g = group_with_quiet_threads();
        g.exit_group(101);
        assert!(!g.died(102, 3 << 8));
        assert!(!g.died(101, 3 << 8));

        let mut g = group_with_quiet_threads();
        g.exec_entered(101);
        // Killed before the exec's event is read, and after.
        assert!(!g.died(102, 0));
        assert!(g.exec_done(100, 101));
        assert!(!g.exit_event(100), "it has the options of the thread that exec'd");

        let mut g = group_with_quiet_threads();
        g.exec_entered(100);
        assert!(!g.exec_done(100, 100));
        assert!(!g.died(101, 0));
        // Threads made after the exec leave on their own again.
        let m = Making::Thread { tgid: 100, quiet: true };
        g.adopt(103, m);
        assert!(g.died(103, 0));
    }

    #[test]
    fn a_thread_exiting_before_the_group_did_leave_on_its_own() {
        let mut g = group_with_quiet_threads();
        let mut siblings = g.quiet_siblings(100);
        siblings.sort();
        assert_eq!(siblings, [101, 102]);
        g.leaving_on_its_own(101);
        g.exit_group(100);
        assert_eq!(g.quiet_siblings(100), [102]);
        assert!(g.died(101, 0));
        assert!(!g.died(102, 0));
    }

    #[test]
    fn a_failed_execve_kills_nothing() {
        let mut g = group_with_quiet_threads();
        g.exec_entered(101);
        g.exec_failed(101);
        assert!(g.died(102, 0));
    }

    #[test]
    fn what_a_creating_call_makes() {
        let mut g = Groups::default();
        let untraced = CloneFlags::CLONE_UNTRACED.bits() | 17;
        assert_eq!(g.making(1, Some(17)), Some(Making::Process));
        assert_eq!(g.making(1, Some(untraced)), Some(Making::Shadow));
        assert_eq!(g.making(1, Some(THREAD)), Some(Making::Thread { tgid: 1, quiet: false }));
        assert_eq!(g.making(1, None), None);
        g.adopt(2, Making::Shadow);
        assert_eq!(g.making(2, Some(THREAD)), Some(Making::Shadow));
        // A thread of a thread belongs to the same group.
        g.adopt(3, Making::Thread { tgid: 1, quiet: false });
        assert_eq!(g.making(3, Some(THREAD)), Some(Making::Thread { tgid: 1, quiet: false }));
    }

    #[test]
    fn a_new_task_is_guessed_only_when_one_call_is_in_flight() {
        let mut g = Groups::default();
        assert_eq!(g.guess(), None);
        let c = Creating { making: Some(Making::Process), restore_exit_event: None, restore_flags: None };
        g.creating.insert(1, c);
        assert_eq!(g.guess(), Some(Making::Process));
        g.creating.insert(2, Creating { making: Some(Making::Shadow), ..c });
        assert_eq!(g.guess(), None);
    }
}
