//! The user-namespace handshake (pitfall 17): a child created with `CLONE_NEWUSER` has no
//! uid or gid mapped until a process with rights in the parent namespace writes
//! `/proc/PID/uid_map` and `gid_map` (after `setgroups` = `deny`, which an unprivileged
//! writer needs before a gid map, CVE-2014-8989). The child must wait until then.
//!
//! With `CLONE_VFORK` the parent would sleep until the child execs, and the child would
//! wait for the parent: a deadlock. So a [`crate::Command`] with maps is created with
//! `CLONE_VM|CLONE_CHILD_CLEARTID` instead, which keeps everything else about the vfork path
//! (shared memory, no page-table copy, a pooled stack, the error word): the child waits on a
//! futex gate in the shared report, the parent writes the maps and opens the gate, then
//! sleeps on the `CLONE_CHILD_CLEARTID` word, which the kernel clears and wakes in
//! `mm_release` when the child execs or exits (kernel/fork.c, both `exec_mm_release` and
//! `exit_mm_release`): exactly the moment `CLONE_VFORK` would have woken it.

use super::error::{CommandError, Step};
use std::fmt::Write as _;

/// One line of a uid or gid map: `count` ids from `inside` (in the new namespace) map to
/// `outside` (in the parent's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    /// The first id inside the namespace.
    pub inside: u32,
    /// The first id outside (in the creator's namespace).
    pub outside: u32,
    /// How many ids.
    pub count: u32,
}

impl IdMap {
    /// `inside outside count`.
    pub const fn new(inside: u32, outside: u32, count: u32) -> IdMap {
        IdMap { inside, outside, count }
    }
}

/// The maps to write for one child.
#[derive(Debug, Clone, Default)]
pub(crate) struct Maps {
    pub(crate) uid: Vec<IdMap>,
    pub(crate) gid: Vec<IdMap>,
    pub(crate) deny_setgroups: bool,
}

impl Maps {
    pub(crate) fn is_empty(&self) -> bool {
        self.uid.is_empty() && self.gid.is_empty()
    }

    /// Writes the maps of the waiting child `pid`.
    pub(crate) fn write(&self, pid: i32) -> Result<(), CommandError> {
        if self.deny_setgroups {
            write_file(pid, "setgroups", b"deny", Step::WriteSetgroups)?;
        }
        if !self.uid.is_empty() {
            write_file(pid, "uid_map", render(&self.uid).as_bytes(), Step::WriteUidMap)?;
        }
        if !self.gid.is_empty() {
            write_file(pid, "gid_map", render(&self.gid).as_bytes(), Step::WriteGidMap)?;
        }
        Ok(())
    }
}

fn render(map: &[IdMap]) -> String {
    let mut s = String::new();
    for m in map {
        let _ = writeln!(s, "{} {} {}", m.inside, m.outside, m.count);
    }
    s
}

/// One `write` of the whole text: the kernel accepts a map only in a single write.
fn write_file(pid: i32, name: &str, text: &[u8], step: Step) -> Result<(), CommandError> {
    let path = format!("/proc/{pid}/{name}");
    let fail = |e: rustix::io::Errno| CommandError::from_io(step, &e.into()).about(path.clone());
    let fd = rustix::fs::open(
        path.as_str(),
        rustix::fs::OFlags::WRONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(fail)?;
    let n = rustix::io::write(&fd, text).map_err(fail)?;
    if n != text.len() {
        return Err(fail(rustix::io::Errno::IO));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_render_one_line_per_range() {
        assert_eq!(
            render(&[IdMap::new(0, 1000, 1), IdMap::new(1, 100000, 65536)]),
            "0 1000 1\n1 100000 65536\n"
        );
    }
}
