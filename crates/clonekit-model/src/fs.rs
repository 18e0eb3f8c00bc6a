//! `struct fs_struct` (fs/fs_struct.c): root, cwd and umask, and the calls that use them
//! (`chdir` in fs/open.c, `getcwd` in fs/d_path.c, `umask` in kernel/sys.c).

use std::cell::RefCell;
use std::rc::Rc;

use clonekit_flags::Errno;

use crate::namei::{lookup, Inode};
use crate::sched::{Kernel, TaskId};

/// `struct fs_struct`.
#[derive(Debug, Clone)]
pub struct FsStruct {
    /// The root directory (an absolute path).
    pub root: String,
    /// The working directory (an absolute path).
    pub pwd: String,
    /// The file mode creation mask.
    pub umask: u32,
    /// `in_exec`: a user of this fs_struct is in `execve` past `check_unsafe_exec`.
    pub in_exec: bool,
}

impl FsStruct {
    /// `copy_fs_struct` (fs/fs_struct.c): a private copy.
    pub fn copy_fs_struct(&self) -> FsStruct {
        FsStruct { in_exec: false, ..self.clone() }
    }
}

impl Kernel {
    fn fs_of(&self, id: TaskId) -> Rc<RefCell<FsStruct>> {
        self.t(id).fs.clone().expect("a live task has an fs_struct")
    }

    /// `chdir` (fs/open.c).
    pub fn sys_chdir(&mut self, cur: TaskId, path: &str) -> Result<(), Errno> {
        self.current(cur)?;
        let fs = self.fs_of(cur);
        let (full, inode) = {
            let f = fs.borrow();
            lookup(&f.root, &f.pwd, path)?
        };
        if inode != Inode::Dir {
            return Err(Errno::ENOTDIR);
        }
        fs.borrow_mut().pwd = full;
        Ok(())
    }

    /// `getcwd` (fs/d_path.c).
    pub fn sys_getcwd(&mut self, cur: TaskId) -> Result<String, Errno> {
        self.current(cur)?;
        Ok(self.fs_of(cur).borrow().pwd.clone())
    }

    /// `umask` (kernel/sys.c): sets the mask, returns the old one.
    pub fn sys_umask(&mut self, cur: TaskId, mask: u32) -> Result<u32, Errno> {
        self.current(cur)?;
        let fs = self.fs_of(cur);
        let mut f = fs.borrow_mut();
        let old = f.umask;
        f.umask = mask & 0o777;
        Ok(old)
    }
}
