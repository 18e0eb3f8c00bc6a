//! `-y` / `-yy` (`-e decode-fds=SET`): what strace prints after a file descriptor, read from
//! `/proc/PID/fd/N` while the tracee is stopped (src/util.c `printfd_pid`, `printpidfd`,
//! `printdev`; src/open.c `print_dirfd`; src/pathtrace.c `getfdpath_pid`):
//!
//! - a path: `3</usr/bin>`, `3</tmp/x>(deleted)`, `AT_FDCWD</home/u>`;
//! - a pidfd: `3<anon_inode:[pidfd]>`, or with `pidfd` decoding `3<pid:1234>`;
//! - a device with `dev` decoding: `0</dev/null<char 1:3>>`;
//! - a socket: its path form `socket:[INODE]` (strace asks the kernel for the addresses over
//!   netlink sock_diag and falls back to that form; clonekit always prints it).
//!
//! The process calls that carry descriptors are `execveat` (its directory or program fd),
//! `waitid(P_PIDFD, …)`, `pidfd_send_signal` and the pidfd that `clone(CLONE_PIDFD)` and
//! `clone3` return.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use clonekit_flags::format_c_string;

use crate::qualify::DecodeFds;

/// The annotation that follows descriptor `fd` of task `tid` (`<…>`, perhaps with
/// `(deleted)`), or nothing: the fd is not open, or nothing is decoded.
pub(crate) fn annotate(tid: i32, fd: i32, set: DecodeFds) -> String {
    if !set.any() || fd < 0 {
        return String::new();
    }
    let link = format!("/proc/{tid}/fd/{fd}");
    let Ok(target) = std::fs::read_link(&link) else { return String::new() };
    let mut path = target.as_os_str().as_bytes().to_vec();
    if set.contains(DecodeFds::DEV) && path.first() == Some(&b'/') {
        if let Ok(m) = std::fs::metadata(&link) {
            let ft = m.file_type();
            if ft.is_block_device() || ft.is_char_device() {
                let kind = if ft.is_block_device() { "block" } else { "char" };
                let rdev = m.rdev();
                let (major, minor) = (libc::major(rdev), libc::minor(rdev));
                return format!("<{}<{kind} {major}:{minor}>>", quote(&path));
            }
        }
    }
    if set.contains(DecodeFds::PIDFD) && path == b"anon_inode:[pidfd]" {
        return match pidfd_pid(tid, fd) {
            Some(pid) if pid > 0 => format!("<pid:{pid}>"),
            _ => format!("<{}>", quote(&path)),
        };
    }
    if !set.contains(DecodeFds::PATH) && !set.contains(DecodeFds::SOCKET) {
        return String::new();
    }
    if !set.contains(DecodeFds::PATH) && !path.starts_with(b"socket:[") {
        return String::new();
    }
    let deleted = strip_deleted(&link, &mut path);
    format!("<{}>{}", quote(&path), if deleted { "(deleted)" } else { "" })
}

/// `AT_FDCWD`'s annotation: the task's working directory, with path decoding only.
pub(crate) fn annotate_cwd(tid: i32, set: DecodeFds) -> String {
    if !set.contains(DecodeFds::PATH) {
        return String::new();
    }
    match std::fs::read_link(format!("/proc/{tid}/cwd")) {
        Ok(p) => format!("<{}>", quote(p.as_os_str().as_bytes())),
        Err(_) => String::new(),
    }
}

/// The `Pid:` line of `/proc/TID/fdinfo/FD` (-1 once the process is gone).
fn pidfd_pid(tid: i32, fd: i32) -> Option<i64> {
    let info = std::fs::read_to_string(format!("/proc/{tid}/fdinfo/{fd}")).ok()?;
    info.lines().find_map(|l| l.strip_prefix("Pid:").map(|v| v.trim().parse().ok()))?
}

/// The kernel appends ` (deleted)` to the link of an unlinked file; strace takes it off (and
/// prints `(deleted)` after the `>`) when the path no longer names the same file.
fn strip_deleted(link: &str, path: &mut Vec<u8>) -> bool {
    const SUFFIX: &[u8] = b" (deleted)";
    if path.len() <= SUFFIX.len() || !path.ends_with(SUFFIX) {
        return false;
    }
    let bare = std::ffi::OsStr::from_bytes(&path[..path.len() - SUFFIX.len()]).to_owned();
    let same = match (std::fs::metadata(link), std::fs::symlink_metadata(&bare)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    };
    if same {
        return false;
    }
    path.truncate(path.len() - SUFFIX.len());
    true
}

/// strace's quoting without the surrounding quotes, with `<` and `>` escaped too
/// (`print_quoted_string_ex(…, QUOTE_OMIT_LEADING_TRAILING_QUOTES, "<>")`).
fn quote(bytes: &[u8]) -> String {
    let q = format_c_string(bytes, usize::MAX);
    let inner = &q[1..q.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                // An escape sequence: copied as it is (it never holds `<` or `>`).
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '<' | '>' => {
                let octal_follows = chars.peek().is_some_and(|n| ('0'..='7').contains(n));
                let code = c as u32;
                if octal_follows {
                    out.push_str(&format!("\\{code:03o}"));
                } else {
                    out.push_str(&format!("\\{code:o}"));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn quoting_escapes_angle_brackets() {
        assert_eq!(quote(b"/tmp/a b"), "/tmp/a b");
        assert_eq!(quote(b"/tmp/<x>"), "/tmp/\\74x\\76");
        assert_eq!(quote(b"/tmp/<1"), "/tmp/\\0741");
        assert_eq!(quote(b"/tmp/\"q\\"), "/tmp/\\\"q\\\\");
        assert_eq!(quote(b"anon_inode:[pidfd]"), "anon_inode:[pidfd]");
    }

    #[test]
    fn paths_devices_and_deleted_files_of_our_own_descriptors() {
        let me = std::process::id() as i32;
        let null = std::fs::File::open("/dev/null").unwrap();
        let fd = null.as_raw_fd();
        assert_eq!(annotate(me, fd, DecodeFds::PATH), "</dev/null>");
        assert_eq!(annotate(me, fd, DecodeFds::all()), "</dev/null<char 1:3>>");
        assert_eq!(annotate(me, fd, DecodeFds::none()), "");
        assert_eq!(annotate(me, 1 << 20, DecodeFds::PATH), "");
        let dir = std::env::temp_dir().join(format!("clonekit-fds-{me}"));
        std::fs::write(&dir, b"x").unwrap();
        let f = std::fs::File::open(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(annotate(me, f.as_raw_fd(), DecodeFds::PATH), format!("<{}>(deleted)", dir.display()));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(annotate_cwd(me, DecodeFds::PATH), format!("<{}>", cwd.display()));
        assert_eq!(annotate_cwd(me, DecodeFds::PIDFD), "");
    }
}
