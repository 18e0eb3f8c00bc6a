//! Which kernel: the versions whose behaviour differs for what clonekit models, each with the
//! release and the commit where it changed. The model follows [`LATEST`] unless told another
//! version (`--linux X.Y`); the flag table's `since` column and the rules' version tests
//! (through [`CallerState::kernel`](crate::CallerState)) read the same numbers.

/// A kernel version, `(major, minor)`.
pub type Version = (u32, u32);

/// The newest kernel the model follows: the one it was checked against.
pub const LATEST: Version = (6, 18);

/// The oldest kernel the model follows.
pub const OLDEST: Version = (5, 0);

/// Every release the model follows, oldest first: 5.0 to 5.19 (the last 5.x), then 6.0 to
/// [`LATEST`].
pub fn releases() -> impl Iterator<Item = Version> {
    (OLDEST.1..=19).map(|m| (5, m)).chain((0..=LATEST.1).map(|m| (6, m)))
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
}

/// `CLONE_VM`/`CLONE_THREAD` children of a task whose time namespace for children is not its
/// own (after `unshare(CLONE_NEWTIME)`) are created, keeping the parent's time namespace, and
/// exec enters the time namespace for children. Before: `copy_process` refused them
/// (`EINVAL`), and exec did not switch.
pub const TIMENS_SHARED_MM: Change = Change {
    since: (6, 2),
    what: "a CLONE_VM or CLONE_THREAD child after unshare(CLONE_NEWTIME) is created (before: EINVAL); exec enters the time namespace for children",
    commit: "2b5f9dad32ed fs/exec: switch timens when a task gets a new mm",
};

/// `CLONE_PIDFD` with `CLONE_THREAD` gives a pidfd of the thread. Before: `EINVAL` (rule P7).
pub const CLONE_PIDFD_THREAD: Change = Change {
    since: (6, 9),
    what: "CLONE_PIDFD with CLONE_THREAD is allowed (a thread pidfd; before: EINVAL, rule P7)",
    commit: "83b290c9e3b5 pidfd: clone: allow CLONE_THREAD | CLONE_PIDFD together",
};

/// Each pid namespace has its own `pid_max`, `PID_MAX_LIMIT` in a new one. Before: the one
/// global `pid_max` (32768 by default) in every namespace.
pub const PID_MAX_PER_NS: Change = Change {
    since: (6, 14),
    what: "each pid namespace has its own pid_max, PID_MAX_LIMIT in a new one (before: the global pid_max everywhere)",
    commit: "7863dcc72d0f pid: allow pid_max to be set per pid namespace",
};

/// Every change the model follows, oldest first.
pub const CHANGES: &[Change] = &[TIMENS_SHARED_MM, CLONE_PIDFD_THREAD, PID_MAX_PER_NS];

impl Change {
    /// Whether `linux` has the new behaviour.
    pub fn present_in(&self, linux: Version) -> bool {
        linux >= self.since
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
        assert!(parse_version("6.19").unwrap_err().contains("newer than the model"));
        assert!(parse_version("4.19").unwrap_err().contains("older"));
        assert!(parse_version("six").unwrap_err().contains("not a kernel version"));
        assert_eq!(running_version("6.18.44-fc-v1147"), Some((6, 18)));
        assert_eq!(running_version("7.2.0"), Some(LATEST));
        assert_eq!(running_version("4.4.0"), None);
    }

    #[test]
    fn changes_are_in_order() {
        assert!(CHANGES.windows(2).all(|w| w[0].since <= w[1].since));
        assert!(TIMENS_SHARED_MM.present_in((6, 2)) && !TIMENS_SHARED_MM.present_in((6, 1)));
    }
}
