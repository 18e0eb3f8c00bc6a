//! Safe wrappers for the system calls that observe what a child shares with its parent and
//! that rustix does not provide: System V semaphores (`semget`/`semop`/`semctl`), `kcmp`,
//! `ioprio_get`/`ioprio_set`, `arch_prctl(ARCH_GET_FS)`, `sigaltstack`, signal dispositions,
//! and [`SharedPage`], a `MAP_SHARED` page of atomic words through which any child (with or
//! without `CLONE_VM`) reports what it saw. `ptrace` and `wait4` are
//! [`clonekit_raw`]'s.
//!
//! Every function here is a single raw system call with no allocation and no libc state, so it
//! may be called from any child clonekit creates, including `CLONE_VM` and vfork children.

use core::sync::atomic::AtomicU64;
use rustix::io;
use std::time::Duration;

use clonekit_raw::{check, nr, sigaction_swap, syscall4, KernelSigaction};

/// A System V semaphore set of one semaphore, removed (`IPC_RMID`) on drop.
#[derive(Debug)]
pub struct SysvSemaphore {
    id: i32,
}

impl SysvSemaphore {
    /// `semget(IPC_PRIVATE, 1, IPC_CREAT|0600)`: a new semaphore with value 0.
    pub fn new() -> io::Result<SysvSemaphore> {
        const IPC_CREAT: usize = 0o1000;
        // SAFETY: semget takes integers only.
        let id = check(unsafe { syscall4(nr::SEMGET, 0, 1, IPC_CREAT | 0o600, 0) })?;
        Ok(SysvSemaphore { id: id as i32 })
    }

    /// `semop` adding `delta` to the semaphore, with `SEM_UNDO` if `undo` (so the change is
    /// recorded in the caller's undo list and reverted when that list is released).
    pub fn add(&self, delta: i16, undo: bool) -> io::Result<()> {
        const SEM_UNDO: i16 = 0x1000;
        #[repr(C)]
        struct Sembuf {
            num: u16,
            op: i16,
            flg: i16,
        }
        let op = Sembuf { num: 0, op: delta, flg: if undo { SEM_UNDO } else { 0 } };
        // SAFETY: `op` is a valid `struct sembuf` that lives across the call; nsops is 1.
        check(unsafe { syscall4(nr::SEMOP, self.id as usize, &op as *const Sembuf as usize, 1, 0) }).map(drop)
    }

    /// `semctl(GETVAL)`: the semaphore's value.
    pub fn value(&self) -> io::Result<i32> {
        const GETVAL: usize = 12;
        // SAFETY: GETVAL takes no pointer argument.
        check(unsafe { syscall4(nr::SEMCTL, self.id as usize, 0, GETVAL, 0) }).map(|v| v as i32)
    }
}

impl Drop for SysvSemaphore {
    fn drop(&mut self) {
        const IPC_RMID: usize = 0;
        // SAFETY: IPC_RMID takes no pointer argument. An error leaves nothing to clean up.
        let _ = unsafe { syscall4(nr::SEMCTL, self.id as usize, 0, IPC_RMID, 0) };
    }
}

/// The kernel objects `kcmp(2)` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum KcmpType {
    /// `KCMP_VM`: the address space.
    Vm = 1,
    /// `KCMP_FILES`: the fd table.
    Files = 2,
    /// `KCMP_FS`: root, cwd, umask.
    Fs = 3,
    /// `KCMP_SIGHAND`: the signal handler table.
    Sighand = 4,
    /// `KCMP_IO`: the I/O context.
    Io = 5,
    /// `KCMP_SYSVSEM`: the SysV semaphore undo list.
    Sysvsem = 6,
}

/// `kcmp(pid1, pid2, type, 0, 0)`: whether two tasks use the very same kernel object.
pub fn kcmp_same(pid1: i32, pid2: i32, kind: KcmpType) -> io::Result<bool> {
    // SAFETY: kcmp with these types takes no pointer argument.
    check(unsafe { syscall4(nr::KCMP, pid1 as usize, pid2 as usize, kind as usize, 0) }).map(|r| r == 0)
}

const IOPRIO_WHO_PROCESS: usize = 1;

/// `ioprio_get(IOPRIO_WHO_PROCESS, tid)`; 0 is the calling thread.
pub fn ioprio_get(tid: i32) -> io::Result<u32> {
    // SAFETY: integers only.
    check(unsafe { syscall4(nr::IOPRIO_GET, IOPRIO_WHO_PROCESS, tid as usize, 0, 0) }).map(|v| v as u32)
}

/// `ioprio_set(IOPRIO_WHO_PROCESS, tid, prio)`; 0 is the calling thread.
pub fn ioprio_set(tid: i32, prio: u32) -> io::Result<()> {
    // SAFETY: integers only.
    check(unsafe { syscall4(nr::IOPRIO_SET, IOPRIO_WHO_PROCESS, tid as usize, prio as usize, 0) }).map(drop)
}

/// `arch_prctl(ARCH_GET_FS)`: the calling thread's thread pointer.
pub fn fs_base() -> io::Result<usize> {
    const ARCH_GET_FS: usize = 0x1003;
    let mut out: usize = 0;
    // SAFETY: the kernel writes one unsigned long to `out`, which outlives the call.
    check(unsafe { syscall4(nr::ARCH_PRCTL, ARCH_GET_FS, &mut out as *mut usize as usize, 0, 0) })?;
    Ok(out)
}

/// `stack_t`, the sigaltstack description.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AltStack {
    /// Base address.
    pub sp: usize,
    /// `SS_ONSTACK` (1), `SS_DISABLE` (2), ...
    pub flags: i32,
    /// Size in bytes.
    pub size: usize,
}

impl AltStack {
    /// `SS_DISABLE`.
    pub const SS_DISABLE: i32 = 2;

    /// Whether no alternate stack is installed.
    pub fn is_disabled(&self) -> bool {
        self.flags & Self::SS_DISABLE != 0
    }
}

/// `sigaltstack(NULL, &old)`: the calling thread's alternate signal stack.
pub fn sigaltstack_get() -> io::Result<AltStack> {
    let mut old = AltStack::default();
    // SAFETY: the kernel writes one stack_t to `old`; no new stack is installed.
    check(unsafe { syscall4(nr::SIGALTSTACK, 0, &mut old as *mut AltStack as usize, 0, 0) })?;
    Ok(old)
}

/// Installs `region` (an owned, never-freed-while-installed mapping) as the calling thread's
/// alternate signal stack, or disables it with `None`.
pub fn sigaltstack_set(region: Option<&'static [u8]>) -> io::Result<()> {
    let new = match region {
        Some(r) => AltStack { sp: r.as_ptr() as usize, flags: 0, size: r.len() },
        None => AltStack { sp: 0, flags: AltStack::SS_DISABLE, size: 0 },
    };
    // SAFETY: `new` is a valid stack_t; the region, if any, is 'static so it outlives its use.
    check(unsafe { syscall4(nr::SIGALTSTACK, &new as *const AltStack as usize, 0, 0, 0) }).map(drop)
}

pub use clonekit_flags::Disposition;

/// The calling process's disposition of `sig`.
pub fn disposition(sig: i32) -> io::Result<Disposition> {
    // SAFETY: only reads the action; nothing is installed.
    let old = unsafe { sigaction_swap(sig as usize, None) }?;
    Ok(match old.handler {
        0 => Disposition::Default,
        1 => Disposition::Ignore,
        _ => Disposition::Handler,
    })
}

extern "C" fn marker_handler(_sig: i32) {}

/// Sets `sig`'s disposition. A `Handler` disposition installs a do-nothing marker handler
/// (the address given is ignored): probes use it to see whether handlers are shared or reset,
/// never to run code. Returns the previous disposition's raw form for [`restore_disposition`].
pub fn set_disposition(sig: i32, d: Disposition) -> io::Result<SavedDisposition> {
    let handler = match d {
        Disposition::Default => 0,
        Disposition::Ignore => 1,
        Disposition::Handler => marker_handler as extern "C" fn(i32) as usize,
    };
    let new = KernelSigaction { handler, flags: 0, restorer: 0, mask: 0 };
    // SAFETY: the marker handler does nothing, so it is safe on any thread and stack. It is
    // never run: the probes never deliver the signal while it is set, so no `SA_RESTORER`
    // trampoline is needed (a delivery would fail in the kernel, which then kills the process
    // with SIGSEGV before any handler code runs).
    let old = unsafe { sigaction_swap(sig as usize, Some(&new)) }?;
    Ok(SavedDisposition { sig, action: old })
}

/// A disposition saved by [`set_disposition`].
pub struct SavedDisposition {
    sig: i32,
    action: KernelSigaction,
}

/// Puts back a disposition saved by [`set_disposition`].
pub fn restore_disposition(saved: SavedDisposition) -> io::Result<()> {
    // SAFETY: the action was installed before `set_disposition` replaced it, so it is one
    // the process already ran with.
    unsafe { sigaction_swap(saved.sig as usize, Some(&saved.action)) }.map(drop)
}

/// One `MAP_SHARED` anonymous page of 512 atomic words. It stays shared with every child
/// created after it, with or without `CLONE_VM`, so a child reports what it observed by storing
/// into a slot, and the parent reads it after the child is gone.
#[derive(Debug)]
pub struct SharedPage {
    ptr: core::ptr::NonNull<AtomicU64>,
}

// SAFETY: the page holds only atomics, which are Sync, and the mapping is owned.
unsafe impl Send for SharedPage {}
// SAFETY: as above: every access goes through an atomic.
unsafe impl Sync for SharedPage {}

impl SharedPage {
    /// Words in the page.
    pub const WORDS: usize = 512;

    /// Maps a new zeroed page.
    pub fn new() -> io::Result<SharedPage> {
        use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
        // SAFETY: a fresh anonymous mapping at an address the kernel picks aliases nothing.
        let p = unsafe {
            mmap_anonymous(core::ptr::null_mut(), 4096, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED)?
        };
        Ok(SharedPage { ptr: core::ptr::NonNull::new(p.cast()).ok_or(io::Errno::NOMEM)? })
    }

    /// Word `i` (panics if `i >= WORDS`, a programming error).
    pub fn slot(&self, i: usize) -> &AtomicU64 {
        assert!(i < Self::WORDS, "SharedPage slot {i} out of range");
        // SAFETY: the page is mapped for our lifetime, 8-aligned, and i is in range.
        unsafe { &*self.ptr.as_ptr().add(i) }
    }

    /// Zeroes every word.
    pub fn clear(&self) {
        for i in 0..Self::WORDS {
            self.slot(i).store(0, core::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing borrows it past `self`.
        let _ = unsafe { rustix::mm::munmap(self.ptr.as_ptr().cast(), 4096) };
    }
}

/// Reads a decimal field such as `TracerPid:` from `/proc/self/status` into nothing but a
/// stack buffer, so that any child may call it.
pub fn proc_status_field(field: &[u8]) -> io::Result<i64> {
    proc_field(c"/proc/self/status", field)
}

/// Reads the first decimal number after `field` in a `/proc` file such as
/// `/proc/thread-self/status`, into nothing but a stack buffer.
pub fn proc_field(path: &core::ffi::CStr, field: &[u8]) -> io::Result<i64> {
    let [v] = proc_fields(path, [field])?;
    v
}

/// [`proc_field`] for several fields of one file, read once.
pub fn proc_fields<const N: usize>(
    path: &core::ffi::CStr,
    fields: [&[u8]; N],
) -> io::Result<[io::Result<i64>; N]> {
    use rustix::fs::{open, Mode, OFlags};
    let fd = open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut buf = [0u8; 4096];
    let mut len = 0;
    while len < buf.len() {
        let n = rustix::io::read(&fd, &mut buf[len..])?;
        if n == 0 {
            break;
        }
        len += n;
    }
    let text = &buf[..len];
    Ok(fields.map(|field| field_value(text, field)))
}

/// The first decimal number after `field` in `text`.
fn field_value(text: &[u8], field: &[u8]) -> io::Result<i64> {
    let at = text.windows(field.len()).position(|w| w == field).ok_or(io::Errno::NOENT)?;
    let mut v: i64 = 0;
    let mut seen = false;
    for &b in &text[at + field.len()..] {
        match b {
            b' ' | b'\t' if !seen => continue,
            b'0'..=b'9' => {
                seen = true;
                v = v * 10 + i64::from(b - b'0');
            }
            _ => break,
        }
    }
    if seen {
        Ok(v)
    } else {
        Err(io::Errno::INVAL)
    }
}

/// If `fd` is open and refers to `/dev/null`, closes it and returns true.
///
/// Probes use it for a descriptor that a `CLONE_FILES` child opened in the shared table, which
/// nothing in this process owns.
pub fn take_fd_if_dev_null(fd: i32) -> bool {
    use rustix::fd::{BorrowedFd, FromRawFd, OwnedFd};
    if fd < 0 {
        return false;
    }
    let null = match rustix::fs::stat(c"/dev/null") {
        Ok(s) => s,
        Err(_) => return false,
    };
    // SAFETY: `fd` is only borrowed for the duration of the fstat; if it is not open the call
    // fails with EBADF.
    let st = match rustix::fs::fstat(unsafe { BorrowedFd::borrow_raw(fd) }) {
        Ok(st) => st,
        Err(_) => return false,
    };
    if st.st_rdev != null.st_rdev || st.st_ino != null.st_ino {
        return false;
    }
    // SAFETY: the descriptor was opened by a child in our shared table and is owned by nobody
    // here; taking ownership closes it exactly once.
    drop(unsafe { OwnedFd::from_raw_fd(fd) });
    true
}

/// Waits until the kernel zeroes a `CLONE_CHILD_CLEARTID` word (the child released its mm),
/// at most `timeout`.
pub fn wait_cleartid(word: &core::sync::atomic::AtomicI32, timeout: std::time::Duration) -> io::Result<()> {
    use core::sync::atomic::Ordering::SeqCst;
    let start = std::time::Instant::now();
    loop {
        let v = word.load(SeqCst);
        if v == 0 {
            return Ok(());
        }
        let left = timeout.checked_sub(start.elapsed()).ok_or(io::Errno::TIMEDOUT)?;
        let ts = rustix::thread::Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        // SAFETY: AtomicI32 and AtomicU32 have the same size and alignment; the futex call only
        // compares and sleeps on the word.
        let w: &core::sync::atomic::AtomicU32 =
            unsafe { &*(word as *const _ as *const core::sync::atomic::AtomicU32) };
        match rustix::thread::futex::wait(w, rustix::thread::futex::Flags::empty(), v as u32, Some(&ts)) {
            Ok(()) | Err(io::Errno::AGAIN) | Err(io::Errno::INTR) => {}
            Err(io::Errno::TIMEDOUT) => return Err(io::Errno::TIMEDOUT),
            Err(e) => return Err(e),
        }
    }
}

/// A thread control block for a probe child started with `CLONE_SETTLS`: a page whose first
/// word points at itself (`%fs:0`, as the x86_64 TLS ABI requires) and whose stack-protector
/// word (`%fs:0x28`) is copied from the calling thread.
#[derive(Debug)]
pub struct TlsBlock {
    page: core::ptr::NonNull<u64>,
}

impl TlsBlock {
    /// Maps and fills a new block.
    pub fn new() -> io::Result<TlsBlock> {
        use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
        // SAFETY: a fresh private anonymous mapping aliases nothing.
        let p = unsafe {
            mmap_anonymous(
                core::ptr::null_mut(),
                4096,
                ProtFlags::READ | ProtFlags::WRITE,
                MapFlags::PRIVATE,
            )?
        };
        let page = core::ptr::NonNull::new(p.cast::<u64>()).ok_or(io::Errno::NOMEM)?;
        // The stack-protector canary (%fs:0x28) of the creating thread.
        let canary = clonekit_raw::tcb_guards().0 as u64;
        // SAFETY: the page is 4096 bytes, writable and ours; words 0 and 5 are in range.
        unsafe {
            page.as_ptr().write(page.as_ptr() as u64);
            page.as_ptr().add(5).write(canary);
        }
        Ok(TlsBlock { page })
    }

    /// The value to pass as `tls`.
    pub fn thread_pointer(&self) -> usize {
        self.page.as_ptr() as usize
    }
}

impl Drop for TlsBlock {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours; the child that used it has been waited for.
        let _ = unsafe { rustix::mm::munmap(self.page.as_ptr().cast(), 4096) };
    }
}

/// Whether the calling process's cgroup2 path (the `0::` line of `/proc/self/cgroup`) is
/// exactly `/` followed by `name`. Uses a stack buffer only.
pub fn cgroup2_path_is(name: &[u8]) -> bool {
    use rustix::fs::{open, Mode, OFlags};
    let Ok(fd) = open(c"/proc/self/cgroup", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else {
        return false;
    };
    let mut buf = [0u8; 4096];
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(&fd, &mut buf[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    buf[..len].split(|&b| b == b'\n').any(|line| line.strip_prefix(b"0::/").is_some_and(|rest| rest == name))
}

/// How the task of `pidfd` ended, as a wait status, once it has been reaped by anyone:
/// `ioctl(pidfd, PIDFD_GET_INFO)` with `PIDFD_INFO_EXIT` (Linux 6.15). `Ok(None)` while the
/// task is not yet reaped; `Err(ENOTTY)` or `Err(EINVAL)` from a kernel without it.
pub fn pidfd_exit_status(pidfd: rustix::fd::BorrowedFd<'_>) -> io::Result<Option<i32>> {
    use rustix::fd::AsRawFd;
    pidfd_exit_code(pidfd.as_raw_fd()).map_err(io::Errno::from_raw_os_error)
}

/// [`pidfd_exit_status`] of a raw descriptor, with the errno as the error: what the agent
/// runs (`pidfd_info`), where the descriptor may be any number a scenario names.
pub fn pidfd_exit_code(pidfd: i32) -> Result<Option<i32>, i32> {
    /// `struct pidfd_info` up to `exit_code`: `PIDFD_INFO_SIZE_VER0`, 64 bytes.
    #[repr(C)]
    #[derive(Default)]
    struct PidfdInfo {
        mask: u64,
        cgroupid: u64,
        /// pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid.
        ids: [u32; 11],
        exit_code: i32,
    }
    const PIDFD_INFO_EXIT: u64 = 1 << 3;
    // _IOWR(PIDFS_IOCTL_MAGIC = 0xFF, 11, 64 bytes).
    const PIDFD_GET_INFO: usize = (3 << 30) | (core::mem::size_of::<PidfdInfo>() << 16) | (0xFF << 8) | 11;
    let mut info = PidfdInfo { mask: PIDFD_INFO_EXIT, ..PidfdInfo::default() };
    // SAFETY: the kernel writes at most size_of::<PidfdInfo>() bytes (the size in the
    // request number) to `info`, which outlives the call; any descriptor number is safe to
    // pass (a bad one is EBADF).
    let r = unsafe {
        syscall4(nr::IOCTL, pidfd as isize as usize, PIDFD_GET_INFO, &mut info as *mut PidfdInfo as usize, 0)
    };
    if r < 0 {
        return Err(-r as i32);
    }
    Ok((info.mask & PIDFD_INFO_EXIT != 0).then_some(info.exit_code))
}

/// Whether this kernel's pidfds keep the exit status of a reaped task
/// ([`pidfd_exit_status`], Linux 6.15). Before that, how a task ended that its parent reaped
/// at once, or a thread (which leaves no zombie), cannot be observed. Asked once.
pub fn pidfd_keeps_exit_status() -> bool {
    static KEEPS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KEEPS.get_or_init(|| {
        rustix::process::pidfd_open(rustix::process::getpid(), rustix::process::PidfdFlags::empty())
            .is_ok_and(|fd| pidfd_exit_status(rustix::fd::AsFd::as_fd(&fd)).is_ok())
    })
}

/// The inodes of `tid`'s pid namespace and of its ancestors, up to this process's own, the
/// outermost first: the same order as `NSpid:`, so that entry `i` names the namespace in
/// which the task has its `i`-th pid. Walks up with `ioctl(NS_GET_PARENT)`, which refuses
/// (`EPERM`) to go above the caller's namespace.
pub fn pid_ns_chain(tid: i32) -> io::Result<Vec<u64>> {
    use rustix::fd::{AsRawFd, FromRawFd, OwnedFd};
    use rustix::fs::{fstat, open, Mode, OFlags};
    // _IO(NSIO = 0xb7, 0x2).
    const NS_GET_PARENT: usize = 0xb702;
    let mut fd = open(format!("/proc/{tid}/ns/pid"), OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    let mut chain = vec![fstat(&fd)?.st_ino];
    // A namespace is at most 32 levels deep.
    for _ in 0..40 {
        // SAFETY: an ioctl without argument on a namespace fd we own; it returns a new fd.
        let Ok(parent) = check(unsafe { syscall4(nr::IOCTL, fd.as_raw_fd() as usize, NS_GET_PARENT, 0, 0) })
        else {
            break;
        };
        // SAFETY: the kernel just made this fd for us; nothing else owns it.
        fd = unsafe { OwnedFd::from_raw_fd(parent as i32) };
        chain.push(fstat(&fd)?.st_ino);
    }
    chain.reverse();
    Ok(chain)
}

/// A cgroup2 directory made for one probe, removed on drop.
///
/// Uses the host's cgroup2 hierarchy if one is mounted. Otherwise (a cgroup v1 host) it
/// mounts the cgroup2 hierarchy on a fresh directory, opens its root, and detaches the mount
/// and removes the directory at once: the open root fd keeps the hierarchy reachable, and
/// nothing is left mounted even if this process is killed.
///
/// Names are made unique with `mkdir` itself (`clonekit-probe-<pid>-<n>`, the next `n` on
/// `EEXIST`): runs in other pid namespaces share the hierarchy and may have the same pid.
/// A probe lives for milliseconds, so a probe directory older than [`STALE_PROBE`] was left
/// behind by a killed run and is removed on the next creation.
#[derive(Debug)]
pub struct ProbeCgroup {
    root: rustix::fd::OwnedFd,
    name: String,
    dir: rustix::fd::OwnedFd,
}

const PROBE_PREFIX: &str = "clonekit-probe-";

impl ProbeCgroup {
    /// Creates `clonekit-probe-<pid>` in a cgroup2 hierarchy.
    pub fn create() -> io::Result<ProbeCgroup> {
        use rustix::fs::{open, Mode, OFlags};
        let dir_flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let root = match find_cgroup2_mount() {
            Some(m) => open(&m, dir_flags, Mode::empty())?,
            None => {
                let point = unique_name(|n| {
                    let p = std::env::temp_dir().join(format!("clonekit-cgroup2-{}-{n}", std::process::id()));
                    std::fs::create_dir(&p).map_err(errno_of).map(|()| p)
                })?;
                let mounted = rustix::mount::mount(
                    c"none",
                    &point,
                    c"cgroup2",
                    rustix::mount::MountFlags::empty(),
                    None,
                );
                let root = mounted.and_then(|()| open(&point, dir_flags, Mode::empty()));
                let _ = rustix::mount::unmount(&point, rustix::mount::UnmountFlags::DETACH);
                let _ = std::fs::remove_dir(&point);
                root?
            }
        };
        remove_stale_probes(&root);
        let name = unique_name(|n| {
            let name = format!("{PROBE_PREFIX}{}-{n}", std::process::id());
            rustix::fs::mkdirat(&root, name.as_str(), Mode::from_raw_mode(0o755)).map(|()| name)
        })?;
        match rustix::fs::openat(&root, name.as_str(), dir_flags, Mode::empty()) {
            Ok(dir) => Ok(ProbeCgroup { root, name, dir }),
            Err(e) => {
                let _ = rustix::fs::unlinkat(&root, name.as_str(), rustix::fs::AtFlags::REMOVEDIR);
                Err(e)
            }
        }
    }

    /// The directory's fd, for `clone_args.cgroup`.
    pub fn dir_fd(&self) -> rustix::fd::BorrowedFd<'_> {
        rustix::fd::AsFd::as_fd(&self.dir)
    }

    /// Removes the directory now (it stays open through [`ProbeCgroup::dir_fd`], dead).
    pub fn remove_dir(&self) -> io::Result<()> {
        rustix::fs::unlinkat(&self.root, self.name.as_str(), rustix::fs::AtFlags::REMOVEDIR)
    }

    /// The directory's name under the hierarchy's root.
    pub fn name(&self) -> &[u8] {
        self.name.as_bytes()
    }
}

impl Drop for ProbeCgroup {
    fn drop(&mut self) {
        let _ = self.remove_dir();
    }
}

fn errno_of(e: std::io::Error) -> io::Errno {
    io::Errno::from_io_error(&e).unwrap_or(io::Errno::IO)
}

/// Probe directories older than this were left behind by a killed run.
pub const STALE_PROBE: Duration = Duration::from_secs(600);

/// Calls `make(n)` for n = 0, 1, … while it fails with `EEXIST` (someone else made that name
/// first), at most 1000 times: `make` creates a name atomically and returns it.
fn unique_name<T>(mut make: impl FnMut(u64) -> io::Result<T>) -> io::Result<T> {
    // Start where another run of the same pid is unlikely to be.
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    for n in start..start + 1000 {
        match make(n) {
            Err(io::Errno::EXIST) => continue,
            other => return other,
        }
    }
    Err(io::Errno::EXIST)
}

/// Removes probe directories (`clonekit-probe-…`) made more than [`STALE_PROBE`] ago: a
/// killed run left them. Whether their pid is alive says nothing, since it may be a pid of
/// another namespace.
fn remove_stale_probes(root: &rustix::fd::OwnedFd) {
    let Ok(dup) = rustix::io::dup(root) else { return };
    let Ok(mut dir) = rustix::fs::Dir::new(dup) else { return };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    while let Some(Ok(entry)) = dir.read() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(PROBE_PREFIX) {
            continue;
        }
        let Ok(st) = rustix::fs::statat(root, name.as_str(), rustix::fs::AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        let made = Duration::from_secs(u64::try_from(st.st_ctime).unwrap_or(0));
        if now.saturating_sub(made) > STALE_PROBE {
            let _ = rustix::fs::unlinkat(root, name.as_str(), rustix::fs::AtFlags::REMOVEDIR);
        }
    }
}

/// The mount point of a cgroup2 hierarchy, from `/proc/self/mountinfo`.
fn find_cgroup2_mount() -> Option<std::path::PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        left.split_whitespace().nth(4).map(std::path::PathBuf::from)
    })
}

/// Holds back the signals that ask a process to stop (`SIGHUP`, `SIGINT`, `SIGQUIT`,
/// `SIGTERM`) while it is inside work that must not be abandoned halfway (a probe with a
/// child, a mount, a semaphore): they stay pending, and [`HeldSignals::pending`] says whether
/// one arrived, so the caller can stop cleanly between two pieces of work. Children created
/// meanwhile inherit the blocked mask and finish their (short) work too. Work that can be cut
/// short safely asks [`termination_pending`] while it waits (the scenario agents' coordinator
/// does, whose clean-up ends every task it made). Dropping it restores the previous mask, and
/// a signal still pending is then delivered.
#[derive(Debug)]
pub struct HeldSignals {
    old: u64,
}

const TERMINATION: [u32; 4] = [1, 2, 3, 15];

impl HeldSignals {
    /// Blocks the termination signals in the calling thread.
    pub fn hold() -> io::Result<HeldSignals> {
        const SIG_BLOCK: usize = 0;
        let set: u64 = TERMINATION.iter().fold(0, |m, s| m | 1 << (s - 1));
        let old = clonekit_raw::rt_sigprocmask(SIG_BLOCK, Some(&set))?;
        Ok(HeldSignals { old })
    }

    /// The first termination signal that arrived while held, if any.
    pub fn pending(&self) -> Option<clonekit_flags::Signal> {
        termination_pending()
    }
}

/// The first termination signal (`SIGHUP`, `SIGINT`, `SIGQUIT`, `SIGTERM`) pending for the
/// calling thread or its process (`rt_sigpending(2)`), if any: one that arrived while
/// [`HeldSignals`] held it (a signal that is not blocked is delivered at once, never left
/// pending). Cheap enough to ask in a waiting loop.
pub fn termination_pending() -> Option<clonekit_flags::Signal> {
    let mut set: u64 = 0;
    // SAFETY: the kernel writes one 8-byte signal set to `set`, which outlives the call.
    let r = unsafe { syscall4(nr::RT_SIGPENDING, &mut set as *mut u64 as usize, 8, 0, 0) };
    if r < 0 {
        return None;
    }
    TERMINATION.iter().find(|&&s| set & (1 << (s - 1)) != 0).and_then(|&s| clonekit_flags::Signal::new(s))
}

impl Drop for HeldSignals {
    fn drop(&mut self) {
        let _ = clonekit_raw::rt_sigprocmask(clonekit_raw::SIG_SETMASK, Some(&self.old));
    }
}
