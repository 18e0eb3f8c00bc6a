//! Path lookup (fs/namei.c) over the model's fixed file tree.
//!
//! The model has no file system operations that create files, so the tree is fixed: the
//! directories and files below, all present on any Linux host, which is what lets the same
//! scenario run on the real kernel.

use clonekit_flags::Errno;

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inode {
    Dir,
    /// A regular file: reads and seeks move the offset.
    Regular,
    /// A character device (`/dev/null`, `/dev/zero`): seeks leave the offset at 0.
    CharDev,
}

/// The fixed tree: absolute, normalized paths.
const TREE: &[(&str, Inode)] = &[
    ("/", Inode::Dir),
    ("/dev", Inode::Dir),
    ("/dev/null", Inode::CharDev),
    ("/dev/zero", Inode::CharDev),
    ("/etc", Inode::Dir),
    ("/etc/passwd", Inode::Regular),
    ("/proc", Inode::Dir),
    ("/tmp", Inode::Dir),
    ("/usr", Inode::Dir),
    ("/var", Inode::Dir),
];

/// Whether a task may create a core file in directory `dir` of the fixed tree: only in
/// `/tmp`. The tree is read-only to a dying task everywhere else: the kernel backend runs
/// every scenario that sets a resource limit (the only way a scenario can get a core written)
/// in a mount namespace of its own where the machine's file tree is read-only and `/tmp` is a
/// fresh, private tmpfs, so that no core ever reaches the machine's disks.
pub(crate) fn may_create_core_in(dir: &str) -> bool {
    dir == "/tmp"
}

/// `PATH_MAX`.
const PATH_MAX: usize = 4096;

/// `path_lookupat` (fs/namei.c): resolves `path` from `cwd` (and `root`), following `.` and
/// `..`, to a normalized absolute path and what it names.
pub(crate) fn lookup(root: &str, cwd: &str, path: &str) -> Result<(String, Inode), Errno> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let start = if path.starts_with('/') { root } else { cwd };
    let mut parts: Vec<&str> = start.split('/').filter(|p| !p.is_empty()).collect();
    let floor = root.split('/').filter(|p| !p.is_empty()).count();
    for comp in path.split('/').filter(|p| !p.is_empty()) {
        // Every component but the last must be a directory that exists.
        let here = join(&parts);
        match find(&here) {
            Some(Inode::Dir) => {}
            Some(_) => return Err(Errno::ENOTDIR),
            None => return Err(Errno::ENOENT),
        }
        match comp {
            "." => {}
            ".." => {
                if parts.len() > floor {
                    parts.pop();
                }
            }
            c if c.len() > 255 => return Err(Errno::ENAMETOOLONG),
            c => parts.push(c),
        }
    }
    let full = join(&parts);
    match find(&full) {
        Some(inode) => {
            if path.ends_with('/') && inode != Inode::Dir {
                return Err(Errno::ENOTDIR);
            }
            Ok((full, inode))
        }
        None => Err(Errno::ENOENT),
    }
}

fn join(parts: &[&str]) -> String {
    if parts.is_empty() {
        "/".to_string()
    } else {
        parts.iter().fold(String::new(), |mut s, p| {
            s.push('/');
            s.push_str(p);
            s
        })
    }
}

fn find(path: &str) -> Option<Inode> {
    TREE.iter().find(|(p, _)| *p == path).map(|(_, i)| *i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_resolves_dots_and_reports_errors() {
        assert_eq!(lookup("/", "/", "tmp").unwrap().0, "/tmp");
        assert_eq!(lookup("/", "/tmp", "../etc/./passwd").unwrap(), ("/etc/passwd".into(), Inode::Regular));
        assert_eq!(lookup("/", "/", "/..").unwrap().0, "/");
        assert_eq!(lookup("/", "/", "/nope"), Err(Errno::ENOENT));
        assert_eq!(lookup("/", "/", "/dev/null/x"), Err(Errno::ENOTDIR));
        assert_eq!(lookup("/", "/", ""), Err(Errno::ENOENT));
    }
}
