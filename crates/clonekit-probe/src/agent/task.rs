//! The agent's side: the loop a scenario task runs, and each operation as raw system calls.
//!
//! Nothing here allocates or touches thread-local or libc state: the code runs in tasks that
//! share the address space (and the malloc arenas and TLS) of others, in vfork children, in
//! threads with a thread pointer of their own, and in freshly exec'd images. Only one agent
//! runs an operation at a time (the coordinator waits for each), and a blocked agent sleeps
//! inside a system call, so tasks sharing memory never race on it.

use core::sync::atomic::Ordering;

use clonekit_flags::{
    CloneFlags, ExitSignal, LINUX_CAPABILITY_VERSION_3, PR_GET_CHILD_SUBREAPER, PR_GET_PDEATHSIG,
    PR_SET_CHILD_SUBREAPER, PR_SET_PDEATHSIG,
};

use super::op::AgentOp;
use super::{Control, Mailbox, Reply, AGENT_ARG, CONTROL_FD, MAX_VARS, SELF_EXE};
use clonekit_raw::{nr, sigaction_swap, syscall4};
use clonekit_sys::{Clone, Syscall};

/// The control region of this process, for the signal handler (a plain static: shared by
/// tasks that share memory, copied by fork, set again after exec).
static CONTROL: core::sync::atomic::AtomicPtr<super::Region> =
    core::sync::atomic::AtomicPtr::new(core::ptr::null_mut());

fn raw(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> i64 {
    // SAFETY: every call site passes arguments that are integers or pointers to memory valid
    // for the call (stack buffers, memory words, the control region).
    unsafe { syscall4(nr, a1, a2, a3, a4) as i64 }
}

/// A system call with up to six arguments, as [`raw`].
fn raw6(nr: usize, args: [usize; 6]) -> i64 {
    // SAFETY: as for `raw`: integers, or pointers to memory valid for the call, which each
    // call site names.
    unsafe { clonekit_raw::syscall6(nr, args) as i64 }
}

/// `AT_FDCWD`: a path relative to the working directory (include/uapi/linux/fcntl.h).
const AT_FDCWD: isize = -100;
/// `O_CLOEXEC`.
const O_CLOEXEC: usize = 0o2000000;

/// `dup3(old, new, 0)`: keeps the control fd at its fixed number (not close-on-exec).
pub(crate) fn dup_control(old: i32) -> i64 {
    raw(nr::DUP3, old as usize, CONTROL_FD as usize, 0, 0)
}

/// Puts the first task in the scenario's defined initial state, whatever the coordinator's
/// was: every signal at `SIG_DFL` and unblocked, no alternate signal stack, fds 0-2 and the
/// control fd only, cwd `/`, umask 022, no core dumps (`RLIMIT_CORE` 0).
pub(crate) fn clean_start() {
    for sig in 1..=64usize {
        if sig != 9 && sig != 19 {
            let _ = clonekit_raw::sigaction_set_disposition(sig, clonekit_raw::SIG_DFL);
        }
    }
    let empty: u64 = 0;
    let _ = raw(nr::RT_SIGPROCMASK, 2, &empty as *const u64 as usize, 0, 8);
    let off = crate::observe::AltStack { sp: 0, flags: crate::observe::AltStack::SS_DISABLE, size: 0 };
    let _ = raw(nr::SIGALTSTACK, &off as *const _ as usize, 0, 0, 0);
    let _ = raw(nr::CLOSE_RANGE, 3, CONTROL_FD as usize - 1, 0, 0);
    let _ = raw(nr::CLOSE_RANGE, CONTROL_FD as usize + 1, u32::MAX as usize, 0, 0);
    let _ = raw(nr::CHDIR, c"/".as_ptr() as usize, 0, 0, 0);
    let _ = raw(nr::UMASK, 0o022, 0, 0, 0);
    // prlimit64(0, RLIMIT_CORE): the soft limit 0, the hard one kept.
    let mut old = [0u64; 2];
    let _ = raw(nr::PRLIMIT64, 0, 4, 0, old.as_mut_ptr() as usize);
    let new = [0u64, old[1]];
    let _ = raw(nr::PRLIMIT64, 0, 4, new.as_ptr() as usize, 0);
    // prlimit64(0, RLIMIT_NPROC): the language's number, soft and hard.
    let n = clonekit_flags::FIRST_TASK_NPROC;
    let nproc = [n, n];
    let _ = raw(nr::PRLIMIT64, 0, clonekit_flags::RLIMIT_NPROC as usize, nproc.as_ptr() as usize, 0);
}

/// The namespace init's part of [`super::Fleet::for_limits`]: a mount namespace of its own
/// (which the first task and every task after it inherit) where nothing the machine has is
/// writable and `/tmp` is a fresh tmpfs that lives only as long as the namespace. Propagation
/// is made private first, so that nothing done here reaches the machine's mounts.
fn seal_files() -> i64 {
    const MS_REC: usize = 0x4000;
    const MS_PRIVATE: usize = 1 << 18;
    const MS_NOSUID: usize = 2;
    const MS_NODEV: usize = 4;
    const AT_RECURSIVE: usize = 0x8000;
    const MOUNT_ATTR_RDONLY: u64 = 1;
    // Become the namespace's uid 0 and gid 0 for real: a user namespace's creator keeps its
    // own kernel uid until it changes its ids (root's would stay global root, which
    // RLIMIT_NPROC never binds). The change makes the process not dumpable
    // (commit_creds, suid_dumpable); it is made dumpable again, as a process that changed
    // its ids on purpose may (prctl PR_SET_DUMPABLE).
    for r in [
        raw(nr::SETRESGID, 0, 0, 0, 0),
        raw(nr::SETRESUID, 0, 0, 0, 0),
        raw(nr::PRCTL, clonekit_flags::PR_SET_DUMPABLE as usize, 1, 0, 0),
    ] {
        if r < 0 {
            return r;
        }
    }
    let r = raw(nr::UNSHARE, CloneFlags::CLONE_NEWNS.bits() as usize, 0, 0, 0);
    if r < 0 {
        return r;
    }
    // mount has five arguments: the fifth (data) must be NULL, not whatever r8 holds.
    let r = mount5(0, c"/".as_ptr() as usize, 0, MS_REC | MS_PRIVATE, 0);
    if r < 0 {
        return r;
    }
    // struct mount_attr { attr_set, attr_clr, propagation, userns_fd }.
    let attr = [MOUNT_ATTR_RDONLY, 0u64, 0, 0];
    let r = mount_setattr(AT_FDCWD as usize, c"/".as_ptr() as usize, AT_RECURSIVE, attr.as_ptr() as usize);
    if r < 0 {
        return r;
    }
    let data = c"mode=1777,size=64m";
    let r = mount5(
        c"tmpfs".as_ptr() as usize,
        c"/tmp".as_ptr() as usize,
        c"tmpfs".as_ptr() as usize,
        MS_NOSUID | MS_NODEV,
        data.as_ptr() as usize,
    );
    if r < 0 {
        return r;
    }
    raw(nr::CHDIR, c"/".as_ptr() as usize, 0, 0, 0)
}

/// `mount_setattr(dfd, path, flags, &attr, sizeof(attr))`.
fn mount_setattr(dfd: usize, path: usize, flags: usize, attr: usize) -> i64 {
    // `path` is a NUL-terminated string and `attr` a 32-byte struct mount_attr, both live for
    // the call; the call only reads them.
    raw6(nr::MOUNT_SETATTR, [dfd, path, flags, attr, 32, 0])
}

/// `mount(source, target, fstype, flags, data)`.
fn mount5(source: usize, target: usize, fstype: usize, flags: usize, data: usize) -> i64 {
    // Every pointer is a NUL-terminated string (or NULL) that lives for the call; the call
    // only reads them.
    raw6(nr::MOUNT, [source, target, fstype, flags, data, 0])
}

/// Makes the calling task the leader of a session and a process group of its own
/// (`setsid()`), as the first task of a scenario is.
pub(crate) fn own_process_group() {
    let _ = raw(nr::SETSID, 0, 0, 0, 0);
}

/// The namespace init: creates the first task when asked (a `Fork` operation), and reaps
/// whatever has ended in its namespace when asked (`ReapAll`, after every step, once the
/// coordinator has seen how the dead ended), forever.
pub(crate) fn serve_as_init(ctl: &Control, slot: u32) -> ! {
    // If the coordinator dies without ending the tasks, the init dies too, and with it every
    // task of the namespace (PR_SET_PDEATHSIG, SIGKILL).
    let _ = raw(nr::PRCTL, 1, 9, 0, 0);
    CONTROL.store(ctl.region, Ordering::SeqCst);
    let mb = ctl.mailbox(slot);
    identify(ctl, mb);
    let seen = mb.done.load(Ordering::SeqCst);
    mailbox_loop(mb, seen, |op| match *op {
        AgentOp::Fork { child } => first_task(ctl, child),
        AgentOp::SealFiles => ret(seal_files()),
        AgentOp::ReapAll => {
            let mut n = 0;
            loop {
                let mut status = 0i32;
                let r = raw(nr::WAIT4, usize::MAX, &mut status as *mut i32 as usize, 0x4000_0001, 0);
                if r <= 0 {
                    break;
                }
                n += 1;
            }
            ret(n)
        }
        _ => ret(-22),
    })
}

/// The first task: a fork of the namespace init, in a process group of its own.
fn first_task(ctl: &Control, child: u32) -> Reply {
    let ctl_addr = ctl as *const Control as usize;
    // SAFETY: the child serves its mailbox with raw system calls only; the control region is
    // mapped in its copy of the address space.
    let r = unsafe {
        Clone::new().keep_signal_handlers().without_rule_lookup().spawn(move || {
            // SAFETY: the address of a `Control` that lives for the task's life.
            let ctl = &*(ctl_addr as *const Control);
            clean_start();
            own_process_group();
            serve(ctl, child, fresh_vars())
        })
    };
    match r {
        Ok(c) => {
            let pid = c.pid();
            // Reaped by the init's loop.
            core::mem::forget(c);
            ret(i64::from(pid))
        }
        Err(e) => ret(-i64::from(e.errno().raw())),
    }
}

/// The pages of an address space's region: the memory words, a scratch page, and a guard
/// page without access right after it.
const VARS_PAGES: usize = 3;
const PAGE: usize = 4096;

/// A fresh region of memory words for a new address space: the words (page 0), a scratch
/// page where a struct can be laid out to end at the guard page (page 1), and the guard page
/// (page 2, `PROT_NONE`), where `unmapped` pointers point. Fork copies the region with its
/// protections, `CLONE_VM` shares it, exec makes a new one.
pub(crate) fn fresh_vars() -> *mut u64 {
    use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
    const _: () = assert!(MAX_VARS * 8 <= PAGE);
    // SAFETY: a fresh private anonymous mapping aliases nothing.
    let p: *mut u64 = match unsafe {
        mmap_anonymous(
            core::ptr::null_mut(),
            VARS_PAGES * PAGE,
            ProtFlags::READ | ProtFlags::WRITE,
            MapFlags::PRIVATE,
        )
    } {
        Ok(p) => p.cast(),
        Err(_) => raw_exit(120),
    };
    // mprotect(guard, PAGE, PROT_NONE).
    if raw(nr::MPROTECT, p as usize + 2 * PAGE, PAGE, 0, 0) < 0 {
        raw_exit(120);
    }
    p
}

/// The guard page of the region at `vars`.
fn guard_page(vars: *mut u64) -> usize {
    vars as usize + 2 * PAGE
}

/// The address a pointer argument passes: a memory word's, NULL, or the guard page's.
fn ptr(vars: *mut u64, v: u32) -> usize {
    match v {
        super::op::PTR_NULL => 0,
        super::op::PTR_UNMAPPED => guard_page(vars),
        v => var(vars, v) as usize,
    }
}

/// Whether a pointer argument faults.
fn faults(v: Option<u32>) -> bool {
    matches!(v, Some(super::op::PTR_NULL | super::op::PTR_UNMAPPED))
}

fn raw_exit(code: i32) -> ! {
    clonekit_raw::exit_thread(code)
}

/// Where a memory word lives.
fn var(vars: *mut u64, i: u32) -> *mut u64 {
    // SAFETY: the index is bounded; the region has MAX_VARS words.
    unsafe { vars.add(i as usize % MAX_VARS) }
}

/// Records in the mailbox who serves it: the tid inside (what the task's signal handler
/// finds), the pid namespace's inode, and last the tid as the coordinator sees it (the first
/// `NSpid:` entry of `/proc/thread-self/status`, `/proc` being the coordinator's), which
/// tells the coordinator that the agent serves.
///
/// A tid names one task, and a task serves one mailbox: a mailbox that named this tid
/// before now names a task that is gone, whose pid this task holds (the leader that a
/// sibling's exec killed in `de_thread`, the sibling taking its pid; a task whose pid was
/// freed and given again). It is cleared first ([`Control::disown`]), so that the
/// coordinator, waiting on that mailbox's step, sees its task gone instead of watching the
/// task that holds its pid now.
fn identify(ctl: &Control, mb: &Mailbox) {
    mb.tid.store(raw(nr::GETTID, 0, 0, 0, 0) as i32, Ordering::SeqCst);
    mb.pidns.store(pidns_inode(), Ordering::SeqCst);
    // The outermost pid namespace's numbers come first.
    let [tid, tgid] = crate::observe::proc_fields(c"/proc/thread-self/status", [b"NSpid:", b"NStgid:"])
        .map_or([0, 0], |v| v.map(|f| f.unwrap_or(0) as i32));
    if tid > 0 {
        ctl.disown(tid, mb);
    }
    let host = if tid > 0 { tid } else { raw(nr::GETTID, 0, 0, 0, 0) as i32 };
    mb.host_tid.store(host, Ordering::SeqCst);
    let tgid = if tgid > 0 { tgid } else { raw(nr::GETPID, 0, 0, 0, 0) as i32 };
    mb.host_tgid.store(tgid, Ordering::SeqCst);
}

/// The inode of the calling task's pid namespace.
fn pidns_inode() -> u64 {
    let mut st = [0u64; 18];
    let r = raw(nr::STAT, c"/proc/thread-self/ns/pid".as_ptr() as usize, st.as_mut_ptr() as usize, 0, 0);
    if r < 0 {
        0
    } else {
        st[1]
    }
}

/// Serves mailbox `slot` forever.
pub(crate) fn serve(ctl: &Control, slot: u32, vars: *mut u64) -> ! {
    CONTROL.store(ctl.region, Ordering::SeqCst);
    let mb = ctl.mailbox(slot);
    identify(ctl, mb);
    let seen = mb.done.load(Ordering::SeqCst);
    run(ctl, mb, vars, seen)
}

/// The signals whose disposition Rust's runtime sets at startup: SIGPIPE (ignored),
/// SIGSEGV and SIGBUS (stack-overflow handlers).
pub(crate) const RUNTIME_SIGNALS: [i32; 3] = [13, 11, 7];

/// In the mask an `execve` operation passes to the new image: the first bit that stands for
/// fd 0 (then fd 1 and fd 2) being closed across the exec. The bits below are
/// [`RUNTIME_SIGNALS`] that were ignored.
const STDIO_BITS: usize = 3;

/// After an `execve` operation: the new image puts back what `execve` leaves and the
/// runtime changed (the three signals' dispositions, no alternate signal stack, fds 0-2 that
/// the exec closed and the runtime reopened on /dev/null), finds its mailbox, answers the
/// exec, and serves.
pub(crate) fn resume_after_exec(ctl: &'static Control, slot: u32, ignored: u32) -> ! {
    for (bit, sig) in RUNTIME_SIGNALS.iter().enumerate() {
        let handler = usize::from(ignored & (1 << bit) != 0);
        let _ = clonekit_raw::sigaction_set_disposition(*sig as usize, handler);
    }
    for fd in 0..3 {
        if ignored & (1 << (STDIO_BITS + fd)) != 0 {
            let _ = raw(nr::CLOSE, fd, 0, 0, 0);
        }
    }
    let off = crate::observe::AltStack { sp: 0, flags: crate::observe::AltStack::SS_DISABLE, size: 0 };
    let _ = raw(nr::SIGALTSTACK, &off as *const _ as usize, 0, 0, 0);
    CONTROL.store(ctl.region, Ordering::SeqCst);
    let mb = ctl.mailbox(slot);
    identify(ctl, mb);
    // `handled` counts deliveries since the last exec (the count lives in the shared
    // region, which the exec does not reset).
    mb.handled.store(0, Ordering::SeqCst);
    let posted = mb.posted.load(Ordering::SeqCst);
    finish(mb, Reply::default(), posted);
    run(ctl, mb, fresh_vars(), posted)
}

fn finish(mb: &Mailbox, reply: Reply, seq: u32) {
    // SAFETY: the coordinator reads the reply only after `done` is published.
    unsafe { *mb.reply.get() = reply };
    mb.done.store(seq, Ordering::SeqCst);
    let _ = rustix::thread::futex::wake(&mb.done, rustix::thread::futex::Flags::empty(), u32::MAX);
}

fn run(ctl: &Control, mb: &Mailbox, vars: *mut u64, seen: u32) -> ! {
    mailbox_loop(mb, seen, |op| perform(ctl, mb, vars, op))
}

/// Waits for each operation posted after `seen`, answers it with `answer`, forever.
fn mailbox_loop(mb: &Mailbox, mut seen: u32, mut answer: impl FnMut(&AgentOp) -> Reply) -> ! {
    loop {
        let posted = mb.posted.load(Ordering::SeqCst);
        if posted == seen {
            let _ =
                rustix::thread::futex::wait(&mb.posted, rustix::thread::futex::Flags::empty(), seen, None);
            continue;
        }
        // SAFETY: the coordinator wrote the operation before publishing `posted`.
        let op = unsafe { *mb.op.get() };
        let reply = answer(&op);
        finish(mb, reply, posted);
        seen = posted;
    }
}

fn ret(r: i64) -> Reply {
    Reply { ret: r, ..Reply::default() }
}

fn perform(ctl: &Control, mb: &Mailbox, vars: *mut u64, op: &AgentOp) -> Reply {
    match *op {
        AgentOp::Fork { child } => {
            let b = Clone::new()
                .flags(clonekit_flags::Preset::GlibcFork.flags())
                .exit_signal(ExitSignal::SIGCHLD)
                .child_tid(var(vars, (MAX_VARS - 1) as u32).cast())
                .syscall(Syscall::Clone);
            create(ctl, b, child, vars)
        }
        AgentOp::Vfork { child } => {
            let b =
                Clone::new().flags(CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK).syscall(Syscall::Clone);
            create(ctl, b, child, vars)
        }
        AgentOp::Clone { flags, tls, ptid, ctid, child } => {
            let k = clonekit_flags::CloneCall::Clone { flags, stack: 0, parent_tid: 0, child_tid: 0, tls: 0 }
                .kernel_args();
            // Rule T1: a thread pointer outside user space, exactly as given. And the pidfd goes
            // where parent_tid points: nowhere, or a page that faults (rule D2, EFAULT). Either
            // call fails, or makes a child that exits at once.
            let bad_tls = k.flags.contains(CloneFlags::CLONE_SETTLS) && tls >= TASK_SIZE_MAX;
            let bad_pidfd = k.flags.contains(CloneFlags::CLONE_PIDFD) && (ptid.is_none() || faults(ptid));
            if bad_tls || bad_pidfd {
                let r = exit_at_once(
                    56,
                    flags as usize,
                    0,
                    opt_var(vars, ptid),
                    opt_var(vars, ctid),
                    tls as usize,
                );
                return ret(r);
            }
            let pidfd_word = ptid.filter(|_| k.flags.contains(CloneFlags::CLONE_PIDFD));
            let mut b = Clone::new()
                .flags(k.flags - CloneFlags::CLONE_PIDFD)
                .exit_signal(k.exit_signal)
                .syscall(Syscall::Clone)
                .pidfd(k.flags.contains(CloneFlags::CLONE_PIDFD));
            b = tid_words(b, vars, ptid.filter(|_| pidfd_word.is_none()), ctid, k.flags);
            if let Some(v) = pidfd_word {
                // Legacy clone stores the pidfd through parent_tid, before the child runs.
                b = b.pidfd_into(var(vars, v).cast());
            }
            create_keep_pidfd(ctl, b, child, vars).0
        }
        AgentOp::Clone3 {
            flags,
            exit_signal,
            ptid,
            ctid,
            pidfd,
            set_tid,
            set_tid_len,
            tls,
            raw,
            child,
            ..
        } => {
            if let Some(rc) = raw {
                // A struct built byte for byte, to break a rule (a child of an unexpected
                // success exits at once, unless the call is fork-like and may well be valid).
                let args = clonekit_flags::CloneArgs {
                    flags,
                    pidfd: opt_var(vars, pidfd) as u64,
                    child_tid: opt_var(vars, ctid) as u64,
                    parent_tid: opt_var(vars, ptid) as u64,
                    exit_signal,
                    stack: rc.stack,
                    stack_size: rc.stack_size,
                    tls,
                    set_tid: if set_tid_len > 0 { set_tid.as_ptr() as u64 } else { 0 },
                    set_tid_size: rc.set_tid_size,
                    cgroup: rc.cgroup,
                };
                return raw_clone3(ctl, &args, &rc, child, vars, pidfd);
            }
            let f = CloneFlags::from_bits_retain(flags);
            let mut b = Clone::new()
                .flags(f - CloneFlags::CLONE_PIDFD)
                .exit_signal(ExitSignal(exit_signal))
                .syscall(Syscall::Clone3)
                .pidfd(f.contains(CloneFlags::CLONE_PIDFD));
            b = tid_words(b, vars, ptid, ctid, f);
            if f.contains(CloneFlags::CLONE_SETTLS) && tls >= TASK_SIZE_MAX {
                b = b.tls(tls as usize);
            }
            if set_tid_len > 0 {
                b = b.set_tid(&set_tid[..(set_tid_len as usize).min(set_tid.len())]);
            }
            if let Some(v) = pidfd.filter(|_| !faults(pidfd)) {
                // The kernel stores the pidfd in the scenario's word, before the child runs.
                b = b.pidfd_into(var(vars, v).cast());
            }
            let mut r = create_keep_pidfd(ctl, b, child, vars);
            r.0.value = r.1.map_or(-1, i64::from);
            r.0
        }
        AgentOp::Exit(code) => clonekit_raw::exit_thread(code),
        AgentOp::ExitGroup(code) => clonekit_raw::exit_group(code),
        AgentOp::Wait4 { pid, options } => {
            let mut status: i32 = 0;
            let r = raw(nr::WAIT4, pid as usize, &mut status as *mut i32 as usize, options as usize, 0);
            Reply { ret: r, value: i64::from(status), ..Reply::default() }
        }
        AgentOp::Waitid { idtype, id, id_var, options } => {
            let mut info = [0i32; 32];
            let id = match id_var {
                // SAFETY: the word is in this task's memory region.
                Some(v) => (unsafe { var(vars, v).read() }) as usize,
                None => id as usize,
            };
            // waitid has a fifth argument (rusage) that must be NULL: r8 is not set by
            // syscall4, so go through the five-argument form.
            let r = waitid(idtype as usize, id, info.as_mut_ptr() as usize, options as usize);
            // siginfo_t: si_signo @0, si_errno @4, si_code @8, si_pid @16, si_uid @20, si_status @24.
            Reply {
                ret: r,
                value: i64::from(info[4]),
                extra: (i64::from(info[2]) << 32) | i64::from(info[6] as u32),
                aux: [i64::from(info[0]), i64::from(info[5] as u32), raw(nr::GETUID, 0, 0, 0, 0)],
                ..Reply::default()
            }
        }
        AgentOp::Execve => {
            let mut num = [0u8; 12];
            let slot_text = decimal(slot_of(ctl, mb), &mut num).as_ptr();
            let mut arg0 = *b"clonekit\0";
            let mut arg1 = [0u8; 32];
            arg1[..AGENT_ARG.len()].copy_from_slice(AGENT_ARG.as_bytes());
            // Which of the signals the new image's runtime claims at startup were ignored
            // here (execve keeps SIG_IGN and resets everything else to SIG_DFL).
            let mut ignored = 0u32;
            for (bit, sig) in RUNTIME_SIGNALS.iter().enumerate() {
                // SAFETY: only reads the action; nothing is installed.
                if unsafe { sigaction_swap(*sig as usize, None) }.is_ok_and(|a| a.handler == 1) {
                    ignored |= 1 << bit;
                }
            }
            // Which of fds 0-2 the new image starts without (closed here, or close-on-exec):
            // Rust's runtime opens /dev/null on them at startup, which the new image undoes.
            for fd in 0..3 {
                let flags = raw(nr::FCNTL, fd, 1, 0, 0);
                if flags < 0 || flags & 1 != 0 {
                    ignored |= 1 << (STDIO_BITS + fd);
                }
            }
            let mut num2 = [0u8; 12];
            let ignored_text = decimal(ignored, &mut num2).as_ptr();
            let argv: [*const u8; 5] =
                [arg0.as_mut_ptr(), arg1.as_ptr(), slot_text, ignored_text, core::ptr::null()];
            let envp: [*const u8; 1] = [core::ptr::null()];
            let r = raw(
                nr::EXECVE,
                SELF_EXE.as_ptr() as usize,
                argv.as_ptr() as usize,
                envp.as_ptr() as usize,
                0,
            );
            ret(r)
        }
        AgentOp::Getpid => ret(raw(nr::GETPID, 0, 0, 0, 0)),
        AgentOp::Gettid => ret(raw(nr::GETTID, 0, 0, 0, 0)),
        AgentOp::Getppid => ret(raw(nr::GETPPID, 0, 0, 0, 0)),
        AgentOp::NsInode { kind } => {
            // The calling thread's own links: /proc/self/ns goes through the thread group
            // leader, which may have exited (ENOENT) while this thread lives on.
            let mut path = [0u8; 48];
            let prefix = b"/proc/thread-self/ns/";
            path[..prefix.len()].copy_from_slice(prefix);
            let n =
                kind.iter().position(|&b| b == 0).unwrap_or(kind.len()).min(path.len() - prefix.len() - 1);
            path[prefix.len()..prefix.len() + n].copy_from_slice(&kind[..n]);
            let mut st = [0u64; 18];
            let r = raw(nr::STAT, path.as_ptr() as usize, st.as_mut_ptr() as usize, 0, 0);
            // struct stat: st_dev @0, st_ino @8.
            Reply { ret: r, value: st[1] as i64, ..Reply::default() }
        }
        AgentOp::Unshare(flags) => ret(raw(nr::UNSHARE, flags as usize, 0, 0, 0)),
        AgentOp::NsOpen { pid, kind } => {
            // "/proc/" PID "/ns/" KIND, formatted without allocating.
            let mut num = [0u8; 12];
            let digits = decimal(pid.unsigned_abs(), &mut num);
            let kind = &kind[..kind.iter().position(|&b| b == 0).unwrap_or(kind.len())];
            let mut path = [0u8; 64];
            let mut n = 0;
            for part in [&b"/proc/"[..], &digits[..digits.len() - 1], b"/ns/", kind] {
                let take = part.len().min(path.len() - 1 - n);
                path[n..n + take].copy_from_slice(&part[..take]);
                n += take;
            }
            ret(raw(nr::OPENAT, AT_FDCWD as usize, path.as_ptr() as usize, O_CLOEXEC, 0))
        }
        AgentOp::Setns { fd, fd_var, nstype } => {
            let fd = word_or(vars, fd_var, fd);
            ret(raw(nr::SETNS, fd as isize as usize, nstype as isize as usize, 0, 0))
        }
        AgentOp::Sethostname(name, len) => {
            ret(raw(nr::SETHOSTNAME, name.as_ptr() as usize, len as usize, 0, 0))
        }
        AgentOp::Gethostname => {
            let mut uts = [0u8; 65 * 6];
            let r = raw(nr::UNAME, uts.as_mut_ptr() as usize, 0, 0, 0);
            let node = &uts[65..130];
            text_reply(r, node)
        }
        AgentOp::Subreaper => ret(raw(nr::PRCTL, PR_SET_CHILD_SUBREAPER as usize, 1, 0, 0)),
        AgentOp::Pdeathsig(sig) => ret(raw(nr::PRCTL, PR_SET_PDEATHSIG as usize, sig as usize, 0, 0)),
        AgentOp::GetChildSubreaper => {
            let mut v: i32 = 0;
            let r = raw(nr::PRCTL, PR_GET_CHILD_SUBREAPER as usize, &mut v as *mut i32 as usize, 0, 0);
            Reply { ret: r, value: i64::from(v), ..Reply::default() }
        }
        // All five arguments: PR_{SET,GET}_NO_NEW_PRIVS want the unused ones zero (EINVAL).
        AgentOp::Prctl { option, arg } => ret(raw6(nr::PRCTL, [option as usize, arg as usize, 0, 0, 0, 0])),
        AgentOp::Capget => {
            let (r, sets) = capget();
            Reply {
                ret: r,
                value: sets[0] as i64,
                extra: sets[1] as i64,
                aux: [sets[2] as i64, 0, 0],
                ..Reply::default()
            }
        }
        AgentOp::Capset { drop, caps } => {
            let sets = if drop {
                let (r, [e, p, i]) = capget();
                if r < 0 {
                    return ret(r);
                }
                [e & !caps, p & !caps, i & !caps]
            } else {
                [caps, caps, 0]
            };
            ret(capset(sets))
        }
        AgentOp::Setuid(uid) => ret(raw(nr::SETUID, uid as usize, 0, 0, 0)),
        AgentOp::Setresuid { ruid, euid, suid } => {
            ret(raw(nr::SETRESUID, ruid as usize, euid as usize, suid as usize, 0))
        }
        AgentOp::Getuid => ret(raw(nr::GETUID, 0, 0, 0, 0)),
        AgentOp::Geteuid => ret(raw(nr::GETEUID, 0, 0, 0, 0)),
        AgentOp::Store { var: v, value } => {
            // SAFETY: the word is in this task's memory region.
            unsafe { var(vars, v).write_volatile(value) };
            ret(0)
        }
        AgentOp::Load(v) => {
            // SAFETY: as above.
            let value = unsafe { var(vars, v).read_volatile() };
            Reply { ret: 0, value: value as i64, ..Reply::default() }
        }
        AgentOp::SetTidAddress(v) => ret(raw(nr::SET_TID_ADDRESS, var(vars, v) as usize, 0, 0, 0)),
        AgentOp::FutexWait { var: v, val } => ret(raw(nr::FUTEX, var(vars, v) as usize, 0, val as usize, 0)),
        AgentOp::FutexWake { var: v, n } => ret(raw(nr::FUTEX, var(vars, v) as usize, 1, n as usize, 0)),
        AgentOp::Chdir(path, _) => ret(raw(nr::CHDIR, path.as_ptr() as usize, 0, 0, 0)),
        AgentOp::Getcwd => {
            let mut buf = [0u8; 256];
            let r = raw(nr::GETCWD, buf.as_mut_ptr() as usize, buf.len(), 0, 0);
            text_reply(if r > 0 { 0 } else { r }, &buf)
        }
        AgentOp::Umask(mode) => {
            let old = raw(nr::UMASK, mode as usize, 0, 0, 0);
            Reply { ret: 0, value: old, ..Reply::default() }
        }
        AgentOp::Open { path, len: _, cloexec } => {
            let flags = if cloexec { O_CLOEXEC } else { 0 };
            ret(raw(nr::OPENAT, AT_FDCWD as usize, path.as_ptr() as usize, flags, 0))
        }
        AgentOp::Close(fd) => ret(raw(nr::CLOSE, fd as usize, 0, 0, 0)),
        AgentOp::Dup(fd) => ret(raw(nr::DUP, fd as usize, 0, 0, 0)),
        AgentOp::Cloexec { fd, on } => ret(raw(nr::FCNTL, fd as usize, 2, usize::from(on), 0)),
        AgentOp::Fdstate(fd) => {
            let r = raw(nr::FCNTL, fd as usize, 1, 0, 0);
            Reply { ret: r.min(0), value: r, ..Reply::default() }
        }
        AgentOp::Sigaction { sig, new } => sigaction(sig, new),
        AgentOp::Sigprocmask { how, set } => {
            let mut old: u64 = 0;
            let r = raw(
                nr::RT_SIGPROCMASK,
                how as usize,
                &set as *const u64 as usize,
                &mut old as *mut u64 as usize,
                8,
            );
            Reply { ret: r, value: old as i64, ..Reply::default() }
        }
        AgentOp::Kill { pid, sig } => ret(raw(nr::KILL, pid as isize as usize, sig as usize, 0, 0)),
        AgentOp::Tgkill { tgid, tid, sig } => {
            ret(raw(nr::TGKILL, tgid as usize, tid as usize, sig as usize, 0))
        }
        AgentOp::Handled => {
            Reply { ret: 0, value: mb.handled.load(Ordering::SeqCst) as i64, ..Reply::default() }
        }
        AgentOp::Sigaltstack(set) => altstack(set),
        AgentOp::GetPdeathsig => {
            let mut sig: i32 = 0;
            let r = raw(nr::PRCTL, PR_GET_PDEATHSIG as usize, &mut sig as *mut i32 as usize, 0, 0);
            Reply { ret: r, value: i64::from(sig), ..Reply::default() }
        }
        AgentOp::Seek { fd, offset } => ret(raw(nr::LSEEK, fd as usize, offset as usize, 0, 0)),
        AgentOp::Tell(fd) => ret(raw(nr::LSEEK, fd as usize, 0, 1, 0)),
        AgentOp::IoprioSet(prio) => ret(raw(nr::IOPRIO_SET, 1, 0, usize::from(prio), 0)),
        AgentOp::IoprioGet => ret(raw(nr::IOPRIO_GET, 1, 0, 0, 0)),
        AgentOp::PidfdOpen { pid, flags } => {
            ret(raw(nr::PIDFD_OPEN, pid as isize as usize, flags as usize, 0, 0))
        }
        AgentOp::PidfdSendSignal { fd, fd_var, sig, flags, info, signo } => {
            let fd = word_or(vars, fd_var, fd);
            // siginfo_t: si_signo @0, si_errno @4, si_code @8.
            let mut si = [0i32; 32];
            si[0] = signo;
            si[2] = info.unwrap_or(0);
            let info_ptr = if info.is_some() { si.as_ptr() as usize } else { 0 };
            ret(raw(nr::PIDFD_SEND_SIGNAL, fd as isize as usize, sig as usize, info_ptr, flags as usize))
        }
        AgentOp::PidfdGetfd { pidfd, pidfd_var, fd, flags } => {
            let pidfd = word_or(vars, pidfd_var, pidfd);
            ret(raw(nr::PIDFD_GETFD, pidfd as isize as usize, fd as isize as usize, flags as usize, 0))
        }
        AgentOp::Ptrace { request, pid, .. } if request == clonekit_flags::PTRACE_GETEVENTMSG => {
            match clonekit_raw::ptrace::event_msg(pid) {
                Ok(msg) => Reply { ret: 0, value: msg as i64, ..Reply::default() },
                Err(e) => ret(-i64::from(e.raw_os_error())),
            }
        }
        AgentOp::Ptrace { request, pid, data } => {
            ret(raw(nr::PTRACE, request as usize, pid as isize as usize, 0, data as usize))
        }
        AgentOp::PidfdInfo { fd, fd_var } => {
            let fd = word_or(vars, fd_var, fd);
            match crate::observe::pidfd_exit_code(fd) {
                Ok(code) => Reply {
                    ret: 0,
                    value: i64::from(code.unwrap_or(0)),
                    extra: i64::from(code.is_some()),
                    ..Reply::default()
                },
                Err(errno) => ret(-i64::from(errno)),
            }
        }
        AgentOp::Poll { fd, fd_var, events, timeout } => {
            let fd = word_or(vars, fd_var, fd);
            // struct pollfd { int fd; short events; short revents; }
            let mut pfd = [0u16; 4];
            pfd[0] = fd as u32 as u16;
            pfd[1] = (fd as u32 >> 16) as u16;
            pfd[2] = events;
            let r = raw(nr::POLL, pfd.as_mut_ptr() as usize, 1, timeout as isize as usize, 0);
            Reply { ret: r, value: i64::from(pfd[3]), ..Reply::default() }
        }
        AgentOp::Setpgid { pid, pgid } => {
            ret(raw(nr::SETPGID, pid as isize as usize, pgid as isize as usize, 0, 0))
        }
        AgentOp::Getpgid(pid) => ret(raw(nr::GETPGID, pid as isize as usize, 0, 0, 0)),
        AgentOp::Setsid => ret(raw(nr::SETSID, 0, 0, 0, 0)),
        AgentOp::Getsid(pid) => ret(raw(nr::GETSID, pid as isize as usize, 0, 0, 0)),
        AgentOp::ReapAll | AgentOp::SealFiles => ret(-22),
        AgentOp::Prlimit { resource, new } => {
            let mut old = [0u64; 2];
            let limits = new.map(|(soft, hard)| [soft, hard]);
            let new_ptr = limits.as_ref().map_or(0, |l| l.as_ptr() as usize);
            let r = raw(nr::PRLIMIT64, 0, resource as usize, new_ptr, old.as_mut_ptr() as usize);
            Reply { ret: r, value: old[0] as i64, extra: old[1] as i64, ..Reply::default() }
        }
    }
}

/// `capget(&{_LINUX_CAPABILITY_VERSION_3, 0}, data)` (capget(2)): the calling thread's
/// effective, permitted and inheritable sets, each from its two 32-bit words.
fn capget() -> (i64, [u64; 3]) {
    let mut header = [LINUX_CAPABILITY_VERSION_3, 0u32];
    // struct __user_cap_data_struct[2]: { effective, permitted, inheritable } each.
    let mut data = [0u32; 6];
    let r = raw(nr::CAPGET, header.as_mut_ptr() as usize, data.as_mut_ptr() as usize, 0, 0);
    let set = |i: usize| u64::from(data[i]) | u64::from(data[3 + i]) << 32;
    (r, [set(0), set(1), set(2)])
}

/// `capset(&{_LINUX_CAPABILITY_VERSION_3, 0}, data)` (capset(2)) with `[effective, permitted,
/// inheritable]`.
fn capset(sets: [u64; 3]) -> i64 {
    let mut header = [LINUX_CAPABILITY_VERSION_3, 0u32];
    let mut data = [0u32; 6];
    for (i, set) in sets.iter().enumerate() {
        data[i] = *set as u32;
        data[3 + i] = (*set >> 32) as u32;
    }
    raw(nr::CAPSET, header.as_mut_ptr() as usize, data.as_mut_ptr() as usize, 0, 0)
}

fn slot_of(ctl: &Control, mb: &Mailbox) -> u32 {
    (0..super::MAILBOXES as u32).find(|&i| core::ptr::eq(ctl.mailbox(i), mb)).unwrap_or(0)
}

/// Writes `n` in decimal, NUL-terminated, at the end of `buf`; returns the text with its NUL.
fn decimal(mut n: u32, buf: &mut [u8; 12]) -> &[u8] {
    let mut i = buf.len() - 1;
    buf[i] = 0;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

fn text_reply(r: i64, bytes: &[u8]) -> Reply {
    let mut reply = ret(r);
    let n = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len()).min(reply.text.len());
    reply.text[..n].copy_from_slice(&bytes[..n]);
    reply.text_len = n as u32;
    reply
}

/// `waitid(idtype, id, info, options, NULL)`: one siginfo_t (128 bytes) written to `info`,
/// a live buffer; no rusage.
fn waitid(idtype: usize, id: usize, info: usize, options: usize) -> i64 {
    raw6(nr::WAITID, [idtype, id, info, options, 0, 0])
}

/// `clone3` with these arguments written byte for byte into a buffer of `rc.size` bytes
/// (kept out of `perform`'s frame: a chain of tasks runs `perform` once per generation).
#[inline(never)]
fn raw_clone3(
    ctl: &Control,
    args: &clonekit_flags::CloneArgs,
    rc: &super::op::RawClone3,
    child: u32,
    vars: *mut u64,
    pidfd: Option<u32>,
) -> Reply {
    let mut buf = [0u64; 520];
    let words = args.to_words();
    buf[..words.len()].copy_from_slice(&words);
    let size = (rc.size as usize).min(buf.len() * 8);
    if rc.tail && size > words.len() * 8 {
        buf[(size - 1) / 8] = 0x5a;
    }
    let at = match rc.at {
        super::op::ArgsAt::Buffer => buf.as_mut_ptr().cast::<u8>(),
        super::op::ArgsAt::Null => core::ptr::null_mut(),
        super::op::ArgsAt::Unmapped => guard_page(vars) as *mut u8,
        super::op::ArgsAt::Guarded => {
            // The struct's 88 bytes on the scratch page, ending where the guard page begins.
            let start = guard_page(vars) - words.len() * 8;
            for (i, w) in words.iter().enumerate() {
                // SAFETY: the scratch page is this address space's own, readable and
                // writable; the words end at the guard page.
                unsafe { (start as *mut u64).add(i).write_volatile(*w) };
            }
            start as *mut u8
        }
    };
    let fork_like = args.flags & (CloneFlags::CLONE_VM | CloneFlags::CLONE_SETTLS).bits() == 0
        && rc.stack == 0
        && rc.stack_size == 0;
    if !fork_like {
        return ret(exit_at_once(435, at as usize, size, 0, 0, 0));
    }
    // A call that may well succeed (an odd but valid size): the child, on its own copy of
    // this stack, becomes the agent of its mailbox.
    let start = RawStart { ctl: ctl as *const Control, slot: child, vars };
    let r = raw_clone3_agent(at, size, &start);
    let mut reply = ret(r);
    if let (Some(v), true) =
        (pidfd.filter(|_| !faults(pidfd)), r > 0 && args.flags & CloneFlags::CLONE_PIDFD.bits() != 0)
    {
        // SAFETY: the word is in this task's memory region; the kernel stored the fd there
        // through `clone_args.pidfd`.
        reply.value = unsafe { var(vars, v).read() } as i64;
    }
    reply
}

/// What a child created by [`raw_clone3_agent`] needs to serve its mailbox.
struct RawStart {
    ctl: *const Control,
    slot: u32,
    vars: *mut u64,
}

/// The child side of [`raw_clone3_agent`]: serves the mailbox named in the start block.
unsafe extern "C" fn raw_agent_entry(arg: *mut u8) -> i32 {
    // SAFETY: `arg` points at the parent's start block, which the child sees in its own
    // copy of the parent's stack (no CLONE_VM), unchanged.
    let start = unsafe { &*(arg as *const RawStart) };
    // SAFETY: the control region is mapped in the child's copy of the address space.
    serve(unsafe { &*start.ctl }, start.slot, start.vars)
}

/// `clone3` with a struct built byte for byte, for a fork-like call (no `CLONE_VM`, no
/// stack): the child continues on its copy of this stack in [`raw_agent_entry`].
fn raw_clone3_agent(args: *mut u8, size: usize, start: &RawStart) -> i64 {
    // SAFETY: `args` holds `size` readable bytes (or the kernel answers EFAULT); without
    // CLONE_VM and without a stack the child runs on its own copy of this stack, where the
    // start block stays valid; the entry never returns into our frames.
    unsafe { clonekit_raw::clone3(args, size, raw_agent_entry, start as *const RawStart as *mut u8) as i64 }
}

/// The stack every agent-created task starts on (a fresh one, also for fork-style children,
/// so that a chain of forks does not run deeper and deeper into one copied stack).
const AGENT_STACK: usize = 256 * 1024;

/// `TASK_SIZE_MAX` with 4-level page tables: the end of user space.
const TASK_SIZE_MAX: u64 = 0x7fff_ffff_f000;

/// The address of a memory word, or 0.
/// The 32-bit value a memory word holds (a descriptor the kernel stored there), or `n`.
fn word_or(vars: *mut u64, v: Option<u32>, n: i32) -> i32 {
    match v {
        // SAFETY: the word is in this task's memory region.
        Some(v) => (unsafe { var(vars, v).read_volatile() }) as u32 as i32,
        None => n,
    }
}

fn opt_var(vars: *mut u64, v: Option<u32>) -> usize {
    v.map_or(0, |v| ptr(vars, v))
}

/// `clone`/`clone3` whose child exits at once without touching memory (for calls meant to
/// fail). Returns the raw result.
fn exit_at_once(nr: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize) -> i64 {
    // SAFETY: the agent passes pointers into its own memory words and stack buffers, which
    // outlive the call.
    unsafe { clonekit_raw::create_exit_at_once(nr, a1, a2, a3, a4, a5) as i64 }
}

fn tid_words(
    b: Clone<'static>,
    vars: *mut u64,
    ptid: Option<u32>,
    ctid: Option<u32>,
    flags: CloneFlags,
) -> Clone<'static> {
    let mut b = b;
    // A pointer that faults is passed as it is: the kernel ignores the fault of these writes.
    if let Some(v) = ptid {
        b = b.parent_tid(ptr(vars, v) as *mut i32);
    }
    if let Some(v) = ctid {
        b = b.child_tid(ptr(vars, v) as *mut i32);
    }
    if flags.contains(CloneFlags::CLONE_SETTLS) {
        match crate::observe::TlsBlock::new() {
            Ok(block) => {
                b = b.tls(block.thread_pointer());
                // The child runs with it as its thread pointer for as long as it lives.
                core::mem::forget(block);
            }
            Err(_) => raw_exit(121),
        }
    }
    b
}

fn create(ctl: &Control, b: Clone<'static>, child: u32, vars: *mut u64) -> Reply {
    create_keep_pidfd(ctl, b, child, vars).0
}

/// Creates a task serving mailbox `child`; the reply carries its pid (or `-errno`), and the
/// pidfd number if one was made (left open: it belongs to the scenario).
fn create_keep_pidfd(ctl: &Control, b: Clone<'static>, child: u32, vars: *mut u64) -> (Reply, Option<i32>) {
    let ctl_addr = ctl as *const Control as usize;
    let vars_addr = vars as usize;
    // SAFETY: the child serves its mailbox with raw system calls only; `ctl` (a mapping that
    // every task keeps) and the memory words are valid in its address space, shared or
    // copied; it never returns into our frames.
    let r = unsafe {
        b.stack_size(AGENT_STACK).keep_signal_handlers().without_rule_lookup().spawn(move || {
            // SAFETY: the address of a `Control` that lives for the task's life.
            let ctl = &*(ctl_addr as *const Control);
            serve(ctl, child, vars_addr as *mut u64)
        })
    };
    match r {
        Ok(mut c) => {
            let pid = c.pid();
            let fd = c.take_pidfd().map(rustix::fd::IntoRawFd::into_raw_fd);
            // The task belongs to the scenario: its handle must neither wait for it nor
            // kill it, nor unmap the stack it runs on.
            core::mem::forget(c);
            (ret(i64::from(pid)), fd)
        }
        Err(e) => (ret(-i64::from(e.errno().raw())), None),
    }
}

/// The counting handler: one more delivery for the task it runs in.
extern "C" fn count_delivery(_sig: i32) {
    let region = CONTROL.load(Ordering::SeqCst);
    if region.is_null() {
        return;
    }
    let tid = raw(nr::GETTID, 0, 0, 0, 0) as i32;
    let ctl = Control { region };
    if let Some(mb) = ctl.mailbox_of(tid, pidns_inode()) {
        mb.handled.fetch_add(1, Ordering::SeqCst);
    }
}

core::arch::global_asm!(
    ".pushsection .text.clonekit_agent_restorer,\"ax\",@progbits",
    ".globl clonekit_agent_restorer",
    ".hidden clonekit_agent_restorer",
    "clonekit_agent_restorer:",
    "mov eax, 15",
    "syscall",
    "ud2",
    ".popsection",
);

extern "C" {
    fn clonekit_agent_restorer();
}

fn sigaction(sig: i32, new: Option<u8>) -> Reply {
    const SA_RESTORER: u64 = 0x0400_0000;
    // The scenario language installs handlers with SA_RESTART: an interrupted wait4 or
    // futex_wait goes back to sleep after the handler.
    const SA_RESTART: u64 = 0x1000_0000;
    let act = new.map(|d| clonekit_raw::KernelSigaction {
        handler: match d {
            0 => 0,
            1 => 1,
            _ => count_delivery as extern "C" fn(i32) as usize,
        },
        flags: if d >= 2 { SA_RESTORER | SA_RESTART } else { 0 },
        restorer: if d >= 2 { clonekit_agent_restorer as unsafe extern "C" fn() as usize } else { 0 },
        mask: 0,
    });
    // SAFETY: the only handler installed is `count_delivery`, which makes raw system calls
    // on stack buffers and atomic operations on the mapped control region (safe at any
    // instruction, on any stack), with `SA_RESTORER` and `clonekit_agent_restorer`, an `rt_sigreturn` trampoline.
    match unsafe { sigaction_swap(sig as usize, act.as_ref()) } {
        Ok(old) => {
            let code = match old.handler {
                0 => 0,
                1 => 1,
                _ => 2,
            };
            Reply { ret: 0, value: code, ..Reply::default() }
        }
        Err(e) => ret(-i64::from(e.raw_os_error())),
    }
}

fn altstack(set: Option<bool>) -> Reply {
    let mut old = crate::observe::AltStack::default();
    let new = match set {
        None => None,
        Some(false) => {
            Some(crate::observe::AltStack { sp: 0, flags: crate::observe::AltStack::SS_DISABLE, size: 0 })
        }
        Some(true) => {
            use rustix::mm::{mmap_anonymous, MapFlags, ProtFlags};
            // SAFETY: a fresh private anonymous mapping aliases nothing; it stays mapped for
            // the task's life (it may be its signal stack).
            match unsafe {
                mmap_anonymous(
                    core::ptr::null_mut(),
                    65536,
                    ProtFlags::READ | ProtFlags::WRITE,
                    MapFlags::PRIVATE,
                )
            } {
                Ok(p) => Some(crate::observe::AltStack { sp: p as usize, flags: 0, size: 65536 }),
                Err(e) => return ret(-i64::from(e.raw_os_error())),
            }
        }
    };
    let new_ptr = new.as_ref().map_or(0, |n| n as *const _ as usize);
    let r = raw(nr::SIGALTSTACK, new_ptr, &mut old as *mut _ as usize, 0, 0);
    Reply { ret: r, value: i64::from(!old.is_disabled()), ..Reply::default() }
}
