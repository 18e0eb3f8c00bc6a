//! File descriptor tables and open file descriptions (fs/file.c, fs/open.c, fs/fcntl.c,
//! fs/read_write.c): what `CLONE_FILES` shares, and what a copied table still shares (the
//! open file descriptions, hence their offsets).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use clonekit_flags::Errno;

use crate::namei::{lookup, Inode};
use crate::pid::Pid;
use crate::sched::{Kernel, TaskId};

/// `RLIMIT_NOFILE`'s usual soft limit: the table's size.
pub(crate) const NR_OPEN_DEFAULT: usize = 1024;

/// What an open file description refers to.
#[derive(Debug, Clone)]
pub enum FileKind {
    /// A path of the fixed tree.
    Path {
        /// The path.
        path: String,
        /// Whether seeking moves the offset (regular files and directories).
        seekable: bool,
    },
    /// A `/proc/PID/ns/KIND` file (fs/nsfs.c): the namespace it keeps.
    Ns(crate::nsproxy::NsCommon),
    /// A pidfd (`pidfs_alloc_file`, fs/pidfs.c).
    Pidfd {
        /// The process (or thread, with `PIDFD_THREAD`) it refers to.
        pid: Rc<Pid>,
        /// The pidfd flags of its `f_flags`: `PIDFD_THREAD` (made with `CLONE_THREAD`, or
        /// asked of `pidfd_open`), `PIDFD_NONBLOCK`.
        flags: u32,
    },
}

/// `struct file`: one open file description, shared by every descriptor that refers to it.
#[derive(Debug)]
pub struct File {
    /// What it refers to.
    pub kind: FileKind,
    /// `f_pos`.
    pub pos: Cell<i64>,
}

/// A descriptor: the file and its close-on-exec bit.
#[derive(Debug, Clone)]
pub(crate) struct FdEntry {
    pub(crate) file: Rc<File>,
    pub(crate) cloexec: bool,
}

/// `struct files_struct`: the descriptor table.
#[derive(Debug, Clone, Default)]
pub struct FilesStruct {
    pub(crate) fds: Vec<Option<FdEntry>>,
}

/// What `fcntl(F_GETFD)` says about a descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdState {
    /// Not open (`EBADF`).
    Closed,
    /// Open.
    Open,
    /// Open, close-on-exec.
    OpenCloexec,
}

impl FilesStruct {
    /// `dup_fd` (fs/file.c): a new table pointing at the same open file descriptions, with the
    /// same close-on-exec bits.
    pub fn dup_fd(&self) -> FilesStruct {
        self.clone()
    }

    /// `alloc_fd`: the lowest free descriptor.
    fn alloc_fd(&mut self, entry: FdEntry) -> Result<i32, Errno> {
        let fd = match self.fds.iter().position(Option::is_none) {
            Some(i) => i,
            None if self.fds.len() < NR_OPEN_DEFAULT => {
                self.fds.push(None);
                self.fds.len() - 1
            }
            None => return Err(Errno::EMFILE),
        };
        self.fds[fd] = Some(entry);
        Ok(fd as i32)
    }

    fn get(&self, fd: i32) -> Option<&FdEntry> {
        usize::try_from(fd).ok().and_then(|i| self.fds.get(i)).and_then(Option::as_ref)
    }

    fn get_mut(&mut self, fd: i32) -> Option<&mut FdEntry> {
        usize::try_from(fd).ok().and_then(|i| self.fds.get_mut(i)).and_then(Option::as_mut)
    }

    /// The file behind `fd`.
    pub fn file(&self, fd: i32) -> Option<Rc<File>> {
        self.get(fd).map(|e| e.file.clone())
    }

    /// `do_close_on_exec` (fs/file.c): the files it closed, for [`Kernel::fput_all`].
    pub(crate) fn do_close_on_exec(&mut self) -> Vec<Rc<File>> {
        let mut closed = Vec::new();
        for slot in &mut self.fds {
            if slot.as_ref().is_some_and(|e| e.cloexec) {
                closed.extend(slot.take().map(|e| e.file));
            }
        }
        closed
    }

    /// Every file of the table, which is going away (`put_files_struct` of its last user).
    pub(crate) fn take_all(&mut self) -> Vec<Rc<File>> {
        self.fds.drain(..).flatten().map(|e| e.file).collect()
    }

    /// Installs `file` at the lowest free descriptor (`get_unused_fd_flags` + `fd_install`).
    pub(crate) fn install(&mut self, file: Rc<File>, cloexec: bool) -> Result<i32, Errno> {
        self.alloc_fd(FdEntry { file, cloexec })
    }

    /// Descriptors 0, 1 and 2 on `/dev/null`, what the first task starts with.
    pub(crate) fn standard() -> FilesStruct {
        let null = Rc::new(File {
            kind: FileKind::Path { path: "/dev/null".into(), seekable: false },
            pos: Cell::new(0),
        });
        let entry = FdEntry { file: null, cloexec: false };
        FilesStruct { fds: vec![Some(entry.clone()), Some(entry.clone()), Some(entry)] }
    }
}

/// `lseek`'s `whence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whence {
    /// `SEEK_SET`.
    Set,
    /// `SEEK_CUR`.
    Cur,
}

impl Kernel {
    fn files_of(&self, id: TaskId) -> Rc<RefCell<FilesStruct>> {
        self.t(id).files.clone().expect("a live task has a files_struct")
    }

    /// `open(path, O_RDONLY [| O_CLOEXEC])` (fs/open.c).
    pub fn sys_open(&mut self, cur: TaskId, path: &str, cloexec: bool) -> Result<i32, Errno> {
        self.current(cur)?;
        let (full, inode) = {
            let fs = self.t(cur).fs.clone().expect("a live task has an fs_struct");
            let f = fs.borrow();
            lookup(&f.root, &f.pwd, path)?
        };
        let file = Rc::new(File {
            kind: FileKind::Path { path: full, seekable: inode != Inode::CharDev },
            pos: Cell::new(0),
        });
        self.files_of(cur).borrow_mut().install(file, cloexec)
    }

    /// `close` (fs/open.c).
    pub fn sys_close(&mut self, cur: TaskId, fd: i32) -> Result<(), Errno> {
        self.current(cur)?;
        let files = self.files_of(cur);
        let mut f = files.borrow_mut();
        let closed = match usize::try_from(fd).ok().and_then(|i| f.fds.get_mut(i)) {
            Some(slot @ Some(_)) => slot.take().map(|e| e.file),
            _ => return Err(Errno::EBADF),
        };
        drop(f);
        self.fput_all(closed.into_iter().collect());
        Ok(())
    }

    /// `fput` (fs/file_table.c) of files a descriptor table let go: the last reference to a
    /// file releases it (`__fput`).
    pub(crate) fn fput_all(&mut self, files: Vec<Rc<File>>) {
        for f in files {
            if Rc::strong_count(&f) == 1 {
                self.file_release(&f);
            }
        }
    }

    /// A file's `release` operation. Only `pidfs_file_release` (fs/pidfs.c, Linux 7.1) does
    /// something the model shows: the pidfd `clone3` made with `CLONE_PIDFD_AUTOKILL` sends
    /// SIGKILL to the process its pid leads, if one is still there (`pid_task(pid,
    /// PIDTYPE_TGID)`, `do_send_sig_info(SIGKILL, SEND_SIG_PRIV, …, PIDTYPE_TGID)`).
    fn file_release(&mut self, f: &File) {
        if let FileKind::Pidfd { pid, flags } = &f.kind {
            if flags & clonekit_flags::PIDFD_AUTOKILL != 0 {
                if let Some(task) = self.pid_task(pid, crate::pid::PidType::Tgid) {
                    self.send_signal(None, crate::signal::SIGKILL, task, true);
                }
            }
        }
    }

    /// `dup` (fs/file.c): the lowest free descriptor, same file, close-on-exec clear.
    pub fn sys_dup(&mut self, cur: TaskId, fd: i32) -> Result<i32, Errno> {
        self.current(cur)?;
        let files = self.files_of(cur);
        let mut f = files.borrow_mut();
        let file = f.file(fd).ok_or(Errno::EBADF)?;
        f.alloc_fd(FdEntry { file, cloexec: false })
    }

    /// `fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0)` (fs/fcntl.c).
    pub fn sys_set_cloexec(&mut self, cur: TaskId, fd: i32, on: bool) -> Result<(), Errno> {
        self.current(cur)?;
        let files = self.files_of(cur);
        let mut f = files.borrow_mut();
        let e = f.get_mut(fd).ok_or(Errno::EBADF)?;
        e.cloexec = on;
        Ok(())
    }

    /// `fcntl(fd, F_GETFD)` (fs/fcntl.c), as a state.
    pub fn sys_fdstate(&mut self, cur: TaskId, fd: i32) -> Result<FdState, Errno> {
        self.current(cur)?;
        let files = self.files_of(cur);
        let f = files.borrow();
        Ok(match f.get(fd) {
            None => FdState::Closed,
            Some(e) if e.cloexec => FdState::OpenCloexec,
            Some(_) => FdState::Open,
        })
    }

    /// `lseek` (fs/read_write.c): the offset lives in the open file description, so every
    /// descriptor on it (in any table) sees the move. Character devices stay at 0
    /// (`noop_llseek`-like `null_lseek`), pidfds cannot seek (`ESPIPE`).
    pub fn sys_lseek(&mut self, cur: TaskId, fd: i32, offset: i64, whence: Whence) -> Result<i64, Errno> {
        self.current(cur)?;
        let file = self.files_of(cur).borrow().file(fd).ok_or(Errno::EBADF)?;
        match &file.kind {
            FileKind::Pidfd { .. } | FileKind::Ns(_) => Err(Errno::ESPIPE),
            FileKind::Path { seekable: false, .. } => Ok(0),
            FileKind::Path { .. } => {
                let base = match whence {
                    Whence::Set => 0,
                    Whence::Cur => file.pos.get(),
                };
                let new = base.checked_add(offset).ok_or(Errno::EINVAL)?;
                if new < 0 {
                    return Err(Errno::EINVAL);
                }
                file.pos.set(new);
                Ok(new)
            }
        }
    }
}
