//! Which kernel: the versions whose behaviour differs for what clonekit models, each with the
//! release and the commit where it changed. The model follows [`LATEST`] unless told another
//! version (`--linux X.Y`); the flag table's `since` column and the rules' version tests
//! (through [`CallerState::kernel`](crate::CallerState)) read the same numbers.

/// A kernel version, `(major, minor)`.
pub type Version = (u32, u32);

/// The newest kernel the model follows: the newest it was checked against (the kernel
/// matrix, docs/kernel-matrix.md).
pub const LATEST: Version = (7, 3);

/// The oldest kernel the model follows.
pub const OLDEST: Version = (5, 0);

/// Every release the model follows, oldest first: 5.0 to 5.19 (the last 5.x), 6.0 to 6.19
/// (the last 6.x), then 7.0 to [`LATEST`].
pub fn releases() -> impl Iterator<Item = Version> {
    (OLDEST.1..=19).map(|m| (5, m)).chain((0..=19).map(|m| (6, m))).chain((0..=LATEST.1).map(|m| (7, m)))
}

/// A behaviour that changed in a kernel release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The first release with the new behaviour.
    pub since: Version,
    /// What it is, since then.
    pub what: &'static str,
    /// The commit that made the change.
    pub commit: &'static str,
    /// Older release series whose stable updates took the change in (a backport): the model
    /// follows the latest stable update of a series, so these have the new behaviour too.
    pub backported: &'static [Version],
}

/// `CLONE_VM`/`CLONE_THREAD` children of a task whose time namespace for children is not its
/// own (after `unshare(CLONE_NEWTIME)`) are created, keeping the parent's time namespace, and
/// exec enters the time namespace for children. Before: `copy_process` refused them
/// (`EINVAL`), and exec did not switch.
pub const TIMENS_SHARED_MM: Change = Change {
    since: (6, 2),
    what: "a CLONE_VM or CLONE_THREAD child after unshare(CLONE_NEWTIME) is created (before: EINVAL); exec enters the time namespace for children",
    commit: "2b5f9dad32ed fs/exec: switch timens when a task gets a new mm",
    backported: &[],
};

/// `CLONE_PIDFD` with `CLONE_THREAD` gives a pidfd of the thread. Before: `EINVAL` (rule P7).
pub const CLONE_PIDFD_THREAD: Change = Change {
    since: (6, 9),
    what: "CLONE_PIDFD with CLONE_THREAD is allowed (a thread pidfd; before: EINVAL, rule P7)",
    commit: "83b290c9e3b5 pidfd: clone: allow CLONE_THREAD | CLONE_PIDFD together",
    backported: &[],
};

/// Each pid namespace has its own `pid_max`, `PID_MAX_LIMIT` in a new one. Before: the one
/// global `pid_max` (32768 by default) in every namespace.
pub const PID_MAX_PER_NS: Change = Change {
    since: (6, 14),
    what: "each pid namespace has its own pid_max, PID_MAX_LIMIT in a new one (before: the global pid_max everywhere)",
    commit: "7863dcc72d0f pid: allow pid_max to be set per pid namespace",
    backported: &[],
};

/// `pidfd_send_signal` exists; before, `ENOSYS`.
pub const PIDFD_SEND_SIGNAL_SYSCALL: Change = Change {
    since: (5, 1),
    what: "pidfd_send_signal exists (before: ENOSYS)",
    commit: "3eb39f47934f signal: add pidfd_send_signal() syscall",
    backported: &[],
};

/// `pidfd_open` exists; before, `ENOSYS`.
pub const PIDFD_OPEN_SYSCALL: Change = Change {
    since: (5, 3),
    what: "pidfd_open exists (before: ENOSYS)",
    commit: "32fcb426ec00 pid: add pidfd_open()",
    backported: &[],
};

/// `waitid(P_PIDFD, …)`; before, an unknown id type (`EINVAL`).
pub const WAITID_P_PIDFD: Change = Change {
    since: (5, 4),
    what: "waitid takes P_PIDFD (before: EINVAL, an unknown id type)",
    commit: "3695eae5fee0 pidfd: add P_PIDFD to waitid()",
    backported: &[],
};

/// `pidfd_getfd` exists; before, `ENOSYS`.
pub const PIDFD_GETFD_SYSCALL: Change = Change {
    since: (5, 6),
    what: "pidfd_getfd exists (before: ENOSYS)",
    commit: "8649c322f75c pid: Implement pidfd_getfd syscall",
    backported: &[],
};

/// `pidfd_open` takes `PIDFD_NONBLOCK`; before, `EINVAL`.
pub const PIDFD_OPEN_NONBLOCK: Change = Change {
    since: (5, 10),
    what: "pidfd_open takes PIDFD_NONBLOCK (before: EINVAL)",
    commit: "4da9af0014b5 pidfd: support PIDFD_NONBLOCK in pidfd_open()",
    backported: &[],
};

/// `pidfd_open` takes `PIDFD_THREAD` (a pidfd of one thread); before, `EINVAL`.
pub const PIDFD_OPEN_THREAD: Change = Change {
    since: (6, 9),
    what: "pidfd_open takes PIDFD_THREAD, a pidfd of one thread (before: EINVAL)",
    commit: "64bef697d33b pidfd: implement PIDFD_THREAD flag for pidfd_open()",
    backported: &[],
};

/// `pidfd_send_signal` takes a scope (`PIDFD_SIGNAL_THREAD`, `_THREAD_GROUP`,
/// `_PROCESS_GROUP`); before, any flag is `EINVAL`.
pub const PIDFD_SIGNAL_SCOPE: Change = Change {
    since: (6, 9),
    what: "pidfd_send_signal takes PIDFD_SIGNAL_THREAD, _THREAD_GROUP, _PROCESS_GROUP (before: any flag is EINVAL)",
    commit: "e1fb1dc08e73 pidfd: allow to override signal scope in pidfd_send_signal()",
    backported: &[],
};

/// A pidfd whose pid no task holds any more (reaped) polls `POLLIN|POLLHUP`; before,
/// `POLLIN` alone.
pub const PIDFD_POLLHUP: Change = Change {
    since: (6, 9),
    what: "poll on a pidfd of a released pid reports POLLHUP with POLLIN (before: POLLIN alone)",
    commit: "43f0df54c96f pidfd_poll: report POLLHUP when pid_task() == NULL",
    backported: &[],
};

/// A `PIDFD_THREAD` pidfd of a thread-group leader that exited while other threads run is
/// not readable until the group is empty, as a process pidfd; before (since 6.9), it was
/// readable at the leader's exit. Backported to the 6.12 and 6.14 stable series.
pub const PIDFD_THREAD_LEADER_POLL: Change = Change {
    since: (6, 15),
    what: "a PIDFD_THREAD pidfd of a leader that exited before its threads is readable only when the group is empty (before: at the leader's exit)",
    commit: "0fb482728ba1 pidfs: improve multi-threaded exec and premature thread-group leader exit polling",
    backported: &[(6, 12), (6, 14)],
};

/// `PIDFD_SELF_THREAD` and `PIDFD_SELF_THREAD_GROUP` stand for the caller in
/// `pidfd_send_signal`; before, they are descriptors no process has (`EBADF`).
pub const PIDFD_SELF: Change = Change {
    since: (6, 15),
    what:
        "pidfd_send_signal takes PIDFD_SELF_THREAD and PIDFD_SELF_THREAD_GROUP for the caller (before: EBADF)",
    commit: "f08d0c3a7111 pidfd: add PIDFD_SELF* sentinels to refer to own thread/process",
    backported: &[],
};

/// `PIDFD_SELF_THREAD_GROUP` is -10001, next to `PIDFD_SELF_THREAD` in the range fcntl.h
/// reserves; in 6.15 and 6.16 it was -20000 (and -10001 an ordinary, bad, descriptor).
pub const PIDFD_SELF_THREAD_GROUP_VALUE: Change = Change {
    since: (6, 17),
    what: "PIDFD_SELF_THREAD_GROUP is -10001 (in 6.15 and 6.16: -20000)",
    commit: "67fcec2919e4 fcntl/pidfd: redefine PIDFD_SELF_THREAD_GROUP",
    backported: &[],
};

/// `pidfd_open` of a thread's pid without `PIDFD_THREAD` is `ENOENT` (the pid leads no
/// thread group), told apart from a reaped process (`ESRCH`); before, `EINVAL`.
pub const PIDFD_OPEN_ENOENT: Change = Change {
    since: (6, 16),
    what: "pidfd_open of a thread's pid without PIDFD_THREAD is ENOENT (before: EINVAL)",
    commit: "8cf4b738f6d8 pidfd: improve uapi when task isn't found",
    backported: &[],
};

/// `ptrace_may_access` of a task that has let its memory go (exited, a zombie) checks the
/// dumpability the memory had (`task->user_dumpable`), overridden only by `CAP_SYS_PTRACE`
/// in the initial user namespace; before, it checked none. Mainline 7.1, and backported to
/// the long-term series of the day and to 7.0: not to 6.16, 6.17 or 6.19, which had ended
/// (the kernel matrix: 6.19.14 has the old behaviour, 7.0.13 the new).
pub const PTRACE_EXITED_DUMPABLE: Change = Change {
    since: (7, 1),
    what: "ptrace_may_access of an exited task checks the dumpability its memory had (before: nothing)",
    commit: "31e62c2ebbfd ptrace: slightly saner 'get_dumpable()' logic",
    backported: &[(5, 10), (5, 15), (6, 1), (6, 6), (6, 12), (6, 18), (7, 0)],
};

/// `clone3`'s `CLONE_AUTOREAP` (the child reaps itself: no zombie, no exit signal, even after
/// a reparenting), `CLONE_NNP` (the child starts with `no_new_privs`) and
/// `CLONE_PIDFD_AUTOKILL` (releasing the pidfd `clone3` returned kills the child); with them
/// the rules P8–P12. Before: unknown flags (`EINVAL`, rule C10). The flag table's `since`
/// for the three flags is this release.
pub const CLONE_AUTOREAP_FLAGS: Change = Change {
    since: (7, 1),
    what: "clone3 takes CLONE_AUTOREAP, CLONE_NNP and CLONE_PIDFD_AUTOKILL (before: EINVAL, unknown flags)",
    commit: "07c3ef58223e Merge tag 'vfs-7.1-rc1.pidfs' (clone: add CLONE_AUTOREAP, clone: add CLONE_NNP, pidfd: add CLONE_PIDFD_AUTOKILL)",
    backported: &[],
};

/// `ioctl(pidfd, PIDFD_GET_INFO)` exists (the process's ids and credentials); before, a
/// pidfd answers no such ioctl (`ENOTTY`).
pub const PIDFD_GET_INFO_IOCTL: Change = Change {
    since: (6, 13),
    what: "ioctl(pidfd, PIDFD_GET_INFO) exists (before: ENOTTY)",
    commit: "cdda1f26e74b pidfd: add ioctl to retrieve pid info",
    backported: &[],
};

/// `PIDFD_GET_INFO` with `PIDFD_INFO_EXIT` gives the exit code of a released (reaped) task,
/// recorded by `pidfs_exit`; before, a reaped task is `ESRCH`.
pub const PIDFD_INFO_EXIT: Change = Change {
    since: (6, 15),
    what: "PIDFD_GET_INFO reports a reaped process's exit code (PIDFD_INFO_EXIT; before: ESRCH)",
    commit: "7477d7dce48a pidfs: allow to retrieve exit information",
    backported: &[],
};

/// `PIDFD_GET_INFO` of a pidfd whose process the caller's pid namespace cannot see is
/// `EREMOTE`; before, `ESRCH`, as for a process that is gone. In 6.19, and in the 6.18
/// series (the kernel matrix: 6.16.12 and 6.17.13 `ESRCH`, 6.18.44 and 6.19.14 `EREMOTE`).
pub const PIDFD_INFO_EREMOTE: Change = Change {
    since: (6, 19),
    what: "PIDFD_GET_INFO of a process outside the caller's pid namespace is EREMOTE (before: ESRCH)",
    commit: "(not identified) pidfs: return -EREMOTE from PIDFD_GET_INFO for a pid in another namespace (Fixes: 7477d7dce48a)",
    backported: &[(6, 18)],
};

/// `kernel_clone` refuses an exit signal above `_NSIG` (64) from every entry point (rule
/// K2); before, legacy `clone`'s low byte was not checked (`clone(0x80)` made a child whose
/// exit signal 128 was never sent), and only `clone3` refused it (rule C7).
pub const LEGACY_EXIT_SIGNAL_CHECKED: Change = Change {
    since: (7, 1),
    what: "kernel_clone refuses an exit signal above 64 for legacy clone too (rule K2; before: accepted, never sent)",
    commit: "09e7827e7857 kernel/fork: validate exit_signal in kernel_clone()",
    backported: &[],
};

/// A new pid namespace whose first process failed to be created after its pid was
/// allocated stays open: the next fork into it makes pid 1 again (`alloc_pid` resets the
/// cursor while the namespace is at `PIDNS_ADDING`). Before: `free_pid` closed it
/// (`pid_allocated = 0`), and every later fork into it was `ENOMEM`.
pub const PIDNS_FIRST_FORK_RETRYABLE: Change = Change {
    since: (7, 1),
    what: "a pid namespace whose first fork failed takes the next one as its init (before: ENOMEM for every later fork)",
    commit: "040261b11842 pid: make sub-init creation retryable",
    backported: &[],
};

/// `/proc/PID/ns/pid_for_children` names the namespace for children as soon as there is one
/// (`pidns_for_children_get` no longer waits for its init); before, `ENOENT` until the
/// namespace had an init. Seen between Debian's 7.0.13 and 7.1.13; the commit is not
/// identified (the 7.1 source has no `child_reaper` test there).
pub const PID_FOR_CHILDREN_BEFORE_INIT: Change = Change {
    since: (7, 1),
    what: "/proc/PID/ns/pid_for_children opens before the namespace has an init (before: ENOENT)",
    commit: "(not identified; 7.1, with the pid namespace changes of 040261b11842)",
    backported: &[],
};

/// Every change the model follows, oldest first.
pub const CHANGES: &[Change] = &[
    PIDFD_SEND_SIGNAL_SYSCALL,
    PIDFD_OPEN_SYSCALL,
    WAITID_P_PIDFD,
    PIDFD_GETFD_SYSCALL,
    PIDFD_OPEN_NONBLOCK,
    TIMENS_SHARED_MM,
    CLONE_PIDFD_THREAD,
    PIDFD_OPEN_THREAD,
    PIDFD_SIGNAL_SCOPE,
    PIDFD_POLLHUP,
    PIDFD_GET_INFO_IOCTL,
    PID_MAX_PER_NS,
    PIDFD_THREAD_LEADER_POLL,
    PIDFD_INFO_EXIT,
    PIDFD_SELF,
    PIDFD_OPEN_ENOENT,
    PIDFD_SELF_THREAD_GROUP_VALUE,
    PIDFD_INFO_EREMOTE,
    PTRACE_EXITED_DUMPABLE,
    CLONE_AUTOREAP_FLAGS,
    LEGACY_EXIT_SIGNAL_CHECKED,
    PIDNS_FIRST_FORK_RETRYABLE,
    PID_FOR_CHILDREN_BEFORE_INIT,
];

impl Change {
    /// Whether `linux` has the new behaviour.
    pub fn present_in(&self, linux: Version) -> bool {
        linux >= self.since || self.backported.contains(&linux)
    }
}

/// Reads `X.Y` (`6.1`, `6.12`; a third part, `6.1.0-57-amd64`, is ignored): a version the model
/// can follow, from 5.0 to [`LATEST`].
pub fn parse_version(s: &str) -> Result<Version, String> {
    let bad = || format!("{s:?} is not a kernel version (write it as X.Y, such as 6.1)");
    let mut parts = s.splitn(3, ['.', '-']);
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let v = (major, minor);
    if v >= OLDEST && v <= LATEST && !releases().any(|r| r == v) {
        return Err(format!("Linux {major}.{minor} was never released"));
    }
    if v > LATEST {
        return Err(format!(
            "Linux {major}.{minor} is newer than the model, which follows Linux {}.{} at most",
            LATEST.0, LATEST.1
        ));
    }
    if v < OLDEST {
        return Err(format!(
            "Linux {major}.{minor} is older than the model follows ({}.{} and newer)",
            OLDEST.0, OLDEST.1
        ));
    }
    Ok(v)
}

/// The version of the running kernel (`uname -r`), as the model can follow it: [`LATEST`] for
/// a newer kernel, `None` for an older one than 5.0 or an unreadable release.
pub fn running_version(release: &str) -> Option<Version> {
    let mut parts = release.splitn(3, ['.', '-']);
    let v: Version = (parts.next()?.parse().ok()?, parts.next()?.parse().ok()?);
    if v < OLDEST {
        return None;
    }
    Some(v.min(LATEST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_clamp() {
        assert_eq!(parse_version("6.1"), Ok((6, 1)));
        assert_eq!(parse_version("6.12.118+deb12-amd64"), Ok((6, 12)));
        assert_eq!(parse_version("6.19"), Ok((6, 19)));
        assert_eq!(parse_version("7.1"), Ok((7, 1)));
        assert!(parse_version("6.20").unwrap_err().contains("never released"));
        assert!(parse_version("7.99").unwrap_err().contains("newer than the model"));
        assert!(parse_version("4.19").unwrap_err().contains("older"));
        assert!(parse_version("six").unwrap_err().contains("not a kernel version"));
        assert_eq!(running_version("6.18.44-fc-v1147"), Some((6, 18)));
        assert_eq!(running_version("7.2.0"), Some((7, 2)));
        assert_eq!(running_version("9.0.1"), Some(LATEST));
        assert_eq!(running_version("4.4.0"), None);
    }

    #[test]
    fn changes_are_in_order() {
        assert!(CHANGES.windows(2).all(|w| w[0].since <= w[1].since));
        assert!(TIMENS_SHARED_MM.present_in((6, 2)) && !TIMENS_SHARED_MM.present_in((6, 1)));
        // A backport: in the 6.12 and 6.14 series, not in 6.13.
        let leader_poll = PIDFD_THREAD_LEADER_POLL;
        assert!(leader_poll.present_in((6, 12)) && !leader_poll.present_in((6, 13)));
        assert!(leader_poll.present_in((6, 14)) && leader_poll.present_in((6, 15)));
        assert!(CHANGES.iter().all(|c| c.backported.iter().all(|b| *b < c.since)));
    }
}
