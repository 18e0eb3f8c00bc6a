//! What a child gets of each of its parent's resources, for `clonekit explain`: shared,
//! copied, new, reset or set from the arguments, resource by resource in the order
//! `copy_process` handles them (reference kernel-clone-semantics §3; kernel/fork.c of
//! Linux v6.12).

use std::fmt;

use crate::{CloneFlags, ExitSignal, KernelCloneArgs};

/// A resource of a task that `clone` shares, copies or sets up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// The blocked signal mask (`task_struct.blocked`): always per task.
    BlockedMask,
    /// Where the child stores its tid in its own memory (`CLONE_CHILD_SETTID`).
    ChildTid,
    /// The word zeroed and futex-woken when the child releases its mm (`CLONE_CHILD_CLEARTID`).
    ClearChildTid,
    /// Credentials (`struct cred`: uids, gids, capabilities, keyrings).
    Credentials,
    /// The user namespace (`CLONE_NEWUSER`, handled by `copy_creds`).
    UserNamespace,
    /// The System V semaphore undo list (`CLONE_SYSVSEM`).
    SysvSemUndo,
    /// The file descriptor table (`CLONE_FILES`).
    FdTable,
    /// Root, cwd and umask (`fs_struct`, `CLONE_FS`).
    FsInfo,
    /// The signal handler table (`sighand_struct`, `CLONE_SIGHAND`, `CLONE_CLEAR_SIGHAND`).
    SignalHandlers,
    /// The thread group (`signal_struct`: shared pending signals, rlimits, timers, tty,
    /// process group and session; `CLONE_THREAD`).
    ThreadGroup,
    /// The address space (`mm_struct`, `CLONE_VM`).
    AddressSpace,
    /// The mount namespace (`CLONE_NEWNS`).
    MountNamespace,
    /// The UTS namespace (`CLONE_NEWUTS`).
    UtsNamespace,
    /// The IPC namespace (`CLONE_NEWIPC`).
    IpcNamespace,
    /// The pid namespace the child's pid is allocated in (`CLONE_NEWPID`).
    PidNamespace,
    /// The cgroup namespace (`CLONE_NEWCGROUP`).
    CgroupNamespace,
    /// The network namespace (`CLONE_NEWNET`).
    NetNamespace,
    /// The time namespace (`CLONE_NEWTIME`).
    TimeNamespace,
    /// The I/O context (`io_context`, `CLONE_IO`).
    IoContext,
    /// The stack pointer the child starts with.
    StackPointer,
    /// The thread pointer, FS base on x86_64 (`CLONE_SETTLS`).
    Tls,
    /// The child's pid (and tgid).
    Pid,
    /// A pidfd for the child in the caller (`CLONE_PIDFD`).
    Pidfd,
    /// The alternate signal stack (`sigaltstack`).
    Sigaltstack,
    /// The cgroups the child starts in (`CLONE_INTO_CGROUP`).
    Cgroup,
    /// The child's parent (`real_parent`; `CLONE_PARENT`, `CLONE_THREAD`).
    ParentLinkage,
    /// The signal the child's death sends its parent.
    ExitSignal,
    /// Seccomp filters and `no_new_privs`.
    Seccomp,
    /// Whether the caller's tracer traces the child (`CLONE_PTRACE`, `CLONE_UNTRACED`).
    Ptrace,
    /// Where the caller finds the child's tid in its own memory (`CLONE_PARENT_SETTID`).
    ParentTid,
    /// The caller waiting for the child to exit or exec (`CLONE_VFORK`).
    VforkWait,
}

impl Resource {
    /// A short human name: `"address space (mm)"`.
    pub fn label(self) -> &'static str {
        match self {
            Resource::BlockedMask => "blocked signal mask",
            Resource::ChildTid => "child tid word (child's memory)",
            Resource::ClearChildTid => "clear-tid word (exit futex)",
            Resource::Credentials => "credentials",
            Resource::UserNamespace => "user namespace",
            Resource::SysvSemUndo => "System V semaphore undo list",
            Resource::FdTable => "file descriptor table",
            Resource::FsInfo => "root, cwd and umask (fs)",
            Resource::SignalHandlers => "signal handlers",
            Resource::ThreadGroup => "thread group (signal_struct)",
            Resource::AddressSpace => "address space (mm)",
            Resource::MountNamespace => "mount namespace",
            Resource::UtsNamespace => "UTS namespace",
            Resource::IpcNamespace => "IPC namespace",
            Resource::PidNamespace => "pid namespace",
            Resource::CgroupNamespace => "cgroup namespace",
            Resource::NetNamespace => "network namespace",
            Resource::TimeNamespace => "time namespace",
            Resource::IoContext => "I/O context",
            Resource::StackPointer => "stack pointer",
            Resource::Tls => "thread pointer (TLS)",
            Resource::Pid => "pid",
            Resource::Pidfd => "pidfd",
            Resource::Sigaltstack => "alternate signal stack",
            Resource::Cgroup => "cgroup",
            Resource::ParentLinkage => "parent",
            Resource::ExitSignal => "exit signal",
            Resource::Seccomp => "seccomp filters",
            Resource::Ptrace => "tracer",
            Resource::ParentTid => "parent tid word (caller's memory)",
            Resource::VforkWait => "vfork wait",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What the child gets of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    /// The very object the caller has (reference counted): a change by one is seen by the other.
    Shared,
    /// A copy of the caller's: later changes are private to each.
    Copied,
    /// A newly created object (a namespace, a pidfd, a thread group).
    New,
    /// The initial state, not the caller's (no undo list, sigaltstack disabled, handlers
    /// back to `SIG_DFL`).
    Reset,
    /// A value taken from the call's arguments (a stack, a TLS pointer, a tid address).
    Set,
    /// Nothing is done for it (no pidfd, no tid written, no wait).
    Unchanged,
}

impl fmt::Display for Sharing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sharing::Shared => "shared",
            Sharing::Copied => "copied",
            Sharing::New => "new",
            Sharing::Reset => "reset",
            Sharing::Set => "set",
            Sharing::Unchanged => "unchanged",
        })
    }
}

/// What happens to one resource.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ResourceOutcome {
    /// The resource.
    pub resource: Resource,
    /// What the child gets.
    pub sharing: Sharing,
    /// How, in the kernel's terms: `"copy_mm: dup_mm (copy-on-write)"`.
    pub detail: String,
    /// The kernel function that decides it (`copy_mm`).
    pub kernel_function: &'static str,
    /// The flag or flags that control it, whether set or not; `None` if no flag does.
    pub flag: Option<CloneFlags>,
}

use CloneFlags as F;

/// What `kernel_clone` does with each resource for these arguments, in `copy_process`'s
/// order. The arguments are assumed valid (see [`crate::check`]).
pub fn resources(k: &KernelCloneArgs) -> Vec<ResourceOutcome> {
    let has = |f: CloneFlags| k.flags.contains(f);
    let mut out = Vec::with_capacity(32);
    let mut push = |resource, sharing, detail: String, kernel_function, flag: Option<CloneFlags>| {
        out.push(ResourceOutcome { resource, sharing, detail, kernel_function, flag })
    };

    // dup_task_struct (fork.c): the task_struct, blocked mask included, is copied.
    push(
        Resource::BlockedMask,
        Sharing::Copied,
        "dup_task_struct: per task, copied from the calling thread, never shared".into(),
        "dup_task_struct",
        None,
    );

    // copy_process (kernel/fork.c).
    if has(F::CLONE_CHILD_SETTID) {
        push(
            Resource::ChildTid,
            Sharing::Set,
            format!(
                "set_child_tid = {:#x}: the child writes its tid there (schedule_tail), in its own memory",
                k.child_tid
            ),
            "copy_process",
            Some(F::CLONE_CHILD_SETTID),
        );
    } else {
        push(
            Resource::ChildTid,
            Sharing::Unchanged,
            "no tid is written for the child".into(),
            "copy_process",
            Some(F::CLONE_CHILD_SETTID),
        );
    }
    if has(F::CLONE_CHILD_CLEARTID) {
        push(
            Resource::ClearChildTid,
            Sharing::Set,
            format!(
                "clear_child_tid = {:#x}: zeroed and futex-woken when the child releases its mm (exit or exec) while others use it",
                k.child_tid
            ),
            "copy_process",
            Some(F::CLONE_CHILD_CLEARTID),
        );
    } else {
        push(
            Resource::ClearChildTid,
            Sharing::Unchanged,
            "no clear-tid word (set_tid_address can register one later)".into(),
            "copy_process",
            Some(F::CLONE_CHILD_CLEARTID),
        );
    }

    // copy_creds (kernel/cred.c).
    if has(F::CLONE_THREAD) {
        push(
            Resource::Credentials,
            Sharing::Shared,
            "copy_creds: the same cred, shared by the thread group".into(),
            "copy_creds",
            Some(F::CLONE_THREAD),
        );
    } else {
        push(
            Resource::Credentials,
            Sharing::Copied,
            "copy_creds: prepare_creds copy; the child counts against RLIMIT_NPROC".into(),
            "copy_creds",
            Some(F::CLONE_THREAD),
        );
    }
    if has(F::CLONE_NEWUSER) {
        push(
            Resource::UserNamespace,
            Sharing::New,
            "create_user_ns: a child of the caller's user namespace, where the child holds every capability"
                .into(),
            "copy_creds",
            Some(F::CLONE_NEWUSER),
        );
    } else {
        push(
            Resource::UserNamespace,
            Sharing::Shared,
            "the caller's user namespace".into(),
            "copy_creds",
            Some(F::CLONE_NEWUSER),
        );
    }

    // copy_semundo (ipc/sem.c).
    if has(F::CLONE_SYSVSEM) {
        push(
            Resource::SysvSemUndo,
            Sharing::Shared,
            "copy_semundo: the undo list is shared; semadj applies when the last sharer exits".into(),
            "copy_semundo",
            Some(F::CLONE_SYSVSEM),
        );
    } else {
        push(
            Resource::SysvSemUndo,
            Sharing::Reset,
            "copy_semundo: the child starts with no undo list (no semadj inherited)".into(),
            "copy_semundo",
            Some(F::CLONE_SYSVSEM),
        );
    }

    // copy_files, copy_fs.
    if has(F::CLONE_FILES) {
        push(
            Resource::FdTable,
            Sharing::Shared,
            "copy_files: the same files_struct; an open or close by one is seen by the other".into(),
            "copy_files",
            Some(F::CLONE_FILES),
        );
    } else {
        push(
            Resource::FdTable,
            Sharing::Copied,
            "copy_files: dup_fd; open file descriptions (offsets, status flags) stay shared, FD_CLOEXEC is copied".into(),
            "copy_files",
            Some(F::CLONE_FILES),
        );
    }
    if has(F::CLONE_FS) {
        push(
            Resource::FsInfo,
            Sharing::Shared,
            "copy_fs: fs->users++; chdir, chroot and umask are seen by both".into(),
            "copy_fs",
            Some(F::CLONE_FS),
        );
    } else {
        push(
            Resource::FsInfo,
            Sharing::Copied,
            "copy_fs: copy_fs_struct".into(),
            "copy_fs",
            Some(F::CLONE_FS),
        );
    }

    // copy_sighand.
    let sighand_flags = Some(F::CLONE_SIGHAND | F::CLONE_CLEAR_SIGHAND);
    if has(F::CLONE_SIGHAND) {
        push(
            Resource::SignalHandlers,
            Sharing::Shared,
            "copy_sighand: the same handler table; sigaction by one is seen by the other".into(),
            "copy_sighand",
            sighand_flags,
        );
    } else if has(F::CLONE_CLEAR_SIGHAND) {
        push(
            Resource::SignalHandlers,
            Sharing::Reset,
            "copy_sighand: copied, then flush_signal_handlers: every handler not SIG_IGN becomes SIG_DFL"
                .into(),
            "copy_sighand",
            sighand_flags,
        );
    } else {
        push(
            Resource::SignalHandlers,
            Sharing::Copied,
            "copy_sighand: the handler table is copied".into(),
            "copy_sighand",
            sighand_flags,
        );
    }

    // copy_signal.
    if has(F::CLONE_THREAD) {
        push(
            Resource::ThreadGroup,
            Sharing::Shared,
            "copy_signal: joins the caller's thread group (same tgid, shared pending signals, rlimits, timers)".into(),
            "copy_signal",
            Some(F::CLONE_THREAD),
        );
    } else {
        push(
            Resource::ThreadGroup,
            Sharing::New,
            "copy_signal: a new signal_struct, the child leads it; rlimits, tty, process group and session copied; no timers, no pending signals".into(),
            "copy_signal",
            Some(F::CLONE_THREAD),
        );
    }

    // copy_mm.
    if has(F::CLONE_VM) {
        push(
            Resource::AddressSpace,
            Sharing::Shared,
            "copy_mm: mmget(oldmm); one address space, a write by one is seen by the other".into(),
            "copy_mm",
            Some(F::CLONE_VM),
        );
    } else {
        push(
            Resource::AddressSpace,
            Sharing::Copied,
            "copy_mm: dup_mm (copy-on-write); MAP_SHARED stays shared, MADV_DONTFORK areas are left out"
                .into(),
            "copy_mm",
            Some(F::CLONE_VM),
        );
    }

    // copy_namespaces (kernel/nsproxy.c): create_new_namespaces in its order.
    let namespaces = [
        (Resource::MountNamespace, F::CLONE_NEWNS, "copy_mnt_ns: a copy of the caller's mount tree"),
        (Resource::UtsNamespace, F::CLONE_NEWUTS, "copy_utsname: a copy of hostname and domain name"),
        (Resource::IpcNamespace, F::CLONE_NEWIPC, "copy_ipcs: empty System V IPC and POSIX message queues"),
        (
            Resource::PidNamespace,
            F::CLONE_NEWPID,
            "copy_pid_ns: a child pid namespace, where the child is pid 1 and its reaper",
        ),
        (Resource::CgroupNamespace, F::CLONE_NEWCGROUP, "copy_cgroup_ns: rooted at the caller's cgroups"),
        (Resource::NetNamespace, F::CLONE_NEWNET, "copy_net_ns: only a loopback device, down"),
        (Resource::TimeNamespace, F::CLONE_NEWTIME, ""),
    ];
    for (resource, flag, new) in namespaces {
        let (sharing, detail) = match (resource, has(flag)) {
            (Resource::TimeNamespace, true) if has(F::CLONE_VM) => (
                Sharing::New,
                "copy_time_ns: a new time_ns_for_children; with CLONE_VM the child keeps the caller's active time namespace until it execs".to_string(),
            ),
            (Resource::TimeNamespace, true) => {
                (Sharing::New, "copy_time_ns: a new time namespace, entered at fork (timens_on_fork)".to_string())
            }
            (_, true) => (Sharing::New, new.to_string()),
            (Resource::PidNamespace, false) => (
                Sharing::Shared,
                "the caller's pid_ns_for_children (its own unless it called unshare(CLONE_NEWPID) or setns)".to_string(),
            ),
            (Resource::TimeNamespace, false) => (
                Sharing::Shared,
                "the caller's time namespace; after unshare(CLONE_NEWTIME) a non-CLONE_VM child enters time_ns_for_children".to_string(),
            ),
            (_, false) => (Sharing::Shared, "the caller's namespace".to_string()),
        };
        push(resource, sharing, detail, "copy_namespaces", Some(flag));
    }

    // copy_io (block/blk-ioc.c).
    if has(F::CLONE_IO) {
        push(
            Resource::IoContext,
            Sharing::Shared,
            "copy_io: the same io_context".into(),
            "copy_io",
            Some(F::CLONE_IO),
        );
    } else {
        push(
            Resource::IoContext,
            Sharing::Copied,
            "copy_io: not shared; the I/O priority is inherited (a new io_context only if the caller's ioprio is set)".into(),
            "copy_io",
            Some(F::CLONE_IO),
        );
    }

    // copy_thread (arch/x86/kernel/process.c).
    if k.stack != 0 {
        let top = k.stack.wrapping_add(k.stack_size);
        push(
            Resource::StackPointer,
            Sharing::Set,
            format!("copy_thread: the child starts with sp = {top:#x}; its registers are the caller's with rax = 0"),
            "copy_thread",
            None,
        );
    } else if has(F::CLONE_VM) {
        push(
            Resource::StackPointer,
            Sharing::Shared,
            "copy_thread: the caller's sp, on the shared stack (safe only while the caller is suspended, as with CLONE_VFORK)".into(),
            "copy_thread",
            None,
        );
    } else {
        push(
            Resource::StackPointer,
            Sharing::Copied,
            "copy_thread: the caller's sp, in the child's own copy of the stack".into(),
            "copy_thread",
            None,
        );
    }
    if has(F::CLONE_SETTLS) {
        push(
            Resource::Tls,
            Sharing::Set,
            format!("copy_thread: FS base = tls = {:#x}", k.tls),
            "copy_thread",
            Some(F::CLONE_SETTLS),
        );
    } else {
        push(
            Resource::Tls,
            Sharing::Copied,
            "copy_thread: FS and GS bases copied from the caller".into(),
            "copy_thread",
            Some(F::CLONE_SETTLS),
        );
    }

    // alloc_pid (kernel/pid.c), called from copy_process.
    let tgid = if has(F::CLONE_THREAD) { "tgid = the caller's tgid" } else { "tgid = pid" };
    if k.set_tid_size > 0 {
        push(
            Resource::Pid,
            Sharing::Set,
            format!(
                "alloc_pid: the pids requested in set_tid ({} levels, deepest first); {tgid}",
                k.set_tid_size
            ),
            "alloc_pid",
            Some(F::CLONE_NEWPID),
        );
    } else if has(F::CLONE_NEWPID) {
        push(
            Resource::Pid,
            Sharing::New,
            format!("alloc_pid: pid 1 in the new pid namespace, and a pid in each ancestor; {tgid}"),
            "alloc_pid",
            Some(F::CLONE_NEWPID),
        );
    } else {
        push(
            Resource::Pid,
            Sharing::New,
            format!("alloc_pid: a free pid in every level of the pid namespace; {tgid}"),
            "alloc_pid",
            Some(F::CLONE_NEWPID),
        );
    }

    // pidfd: __pidfd_prepare, in copy_process (kernel/fork.c).
    if has(F::CLONE_PIDFD) {
        let kind = if has(F::CLONE_THREAD) { "a PIDFD_THREAD pidfd" } else { "a pidfd" };
        push(
            Resource::Pidfd,
            Sharing::New,
            format!(
                "{kind} (O_CLOEXEC) stored at {:#x} and installed in the caller's fd table only",
                k.pidfd
            ),
            "pidfd_prepare",
            Some(F::CLONE_PIDFD),
        );
    } else {
        push(Resource::Pidfd, Sharing::Unchanged, "no pidfd".into(), "pidfd_prepare", Some(F::CLONE_PIDFD));
    }

    // copy_process (kernel/fork.c): sas_ss_reset.
    let altstack_flags = Some(F::CLONE_VM | F::CLONE_VFORK);
    if k.flags & (F::CLONE_VM | F::CLONE_VFORK) == F::CLONE_VM {
        push(
            Resource::Sigaltstack,
            Sharing::Reset,
            "sas_ss_reset: CLONE_VM without CLONE_VFORK, so the child must not use the caller's alternate stack (SS_DISABLE)".into(),
            "copy_process",
            altstack_flags,
        );
    } else {
        push(
            Resource::Sigaltstack,
            Sharing::Copied,
            "inherited with the task_struct".into(),
            "copy_process",
            altstack_flags,
        );
    }

    // cgroup_can_fork (kernel/cgroup/cgroup.c).
    if has(F::CLONE_INTO_CGROUP) {
        push(
            Resource::Cgroup,
            Sharing::Set,
            format!("cgroup_css_set_fork: the child starts in the cgroup2 directory of fd {}", k.cgroup),
            "cgroup_can_fork",
            Some(F::CLONE_INTO_CGROUP),
        );
    } else {
        push(
            Resource::Cgroup,
            Sharing::Shared,
            "the caller's css_set (same cgroups)".into(),
            "cgroup_can_fork",
            Some(F::CLONE_INTO_CGROUP),
        );
    }

    // Parent linkage and exit signal: copy_process (kernel/fork.c).
    let linkage_flags = Some(F::CLONE_PARENT | F::CLONE_THREAD);
    if k.flags.intersects(F::CLONE_PARENT | F::CLONE_THREAD) {
        push(
            Resource::ParentLinkage,
            Sharing::Shared,
            "real_parent = the caller's real_parent: the child is the caller's sibling, and the caller cannot wait for it".into(),
            "copy_process",
            linkage_flags,
        );
    } else {
        push(
            Resource::ParentLinkage,
            Sharing::Set,
            "real_parent = the caller".into(),
            "copy_process",
            linkage_flags,
        );
    }
    if has(F::CLONE_THREAD) {
        push(
            Resource::ExitSignal,
            Sharing::Reset,
            "exit_signal = -1: a thread notifies nobody and is reaped by itself".into(),
            "copy_process",
            linkage_flags,
        );
    } else if has(F::CLONE_PARENT) {
        push(
            Resource::ExitSignal,
            Sharing::Copied,
            "exit_signal = the caller's group leader's exit_signal (the argument is ignored)".into(),
            "copy_process",
            linkage_flags,
        );
    } else {
        push(
            Resource::ExitSignal,
            Sharing::Set,
            exit_signal_detail(k.exit_signal),
            "copy_process",
            linkage_flags,
        );
    }

    // copy_seccomp, ptrace_init_task.
    push(
        Resource::Seccomp,
        Sharing::Copied,
        "copy_seccomp: the filters (reference counted) and no_new_privs are inherited".into(),
        "copy_seccomp",
        None,
    );
    let ptrace_flags = Some(F::CLONE_PTRACE | F::CLONE_UNTRACED);
    if has(F::CLONE_PTRACE) {
        push(
            Resource::Ptrace,
            Sharing::Shared,
            "ptrace_init_task: if the caller is traced, its tracer traces the child, which starts stopped"
                .into(),
            "ptrace_init_task",
            ptrace_flags,
        );
    } else if has(F::CLONE_UNTRACED) {
        push(
            Resource::Ptrace,
            Sharing::Unchanged,
            "not traced: CLONE_UNTRACED stops a tracer's PTRACE_O_TRACE* options from attaching".into(),
            "ptrace_init_task",
            ptrace_flags,
        );
    } else {
        let event = if has(F::CLONE_VFORK) {
            "PTRACE_EVENT_VFORK"
        } else if k.exit_signal != ExitSignal::SIGCHLD {
            "PTRACE_EVENT_CLONE"
        } else {
            "PTRACE_EVENT_FORK"
        };
        push(
            Resource::Ptrace,
            Sharing::Unchanged,
            format!("traced only if the caller's tracer asked for {event} (kernel_clone picks that event)"),
            "ptrace_init_task",
            ptrace_flags,
        );
    }

    // kernel_clone (kernel/fork.c), after copy_process.
    if has(F::CLONE_PARENT_SETTID) {
        push(
            Resource::ParentTid,
            Sharing::Set,
            format!(
                "kernel_clone: put_user(tid) at {:#x} in the caller's memory (a fault is ignored)",
                k.parent_tid
            ),
            "kernel_clone",
            Some(F::CLONE_PARENT_SETTID),
        );
    } else {
        push(
            Resource::ParentTid,
            Sharing::Unchanged,
            "no tid is written for the caller".into(),
            "kernel_clone",
            Some(F::CLONE_PARENT_SETTID),
        );
    }
    if has(F::CLONE_VFORK) {
        push(
            Resource::VforkWait,
            Sharing::Set,
            "kernel_clone: vfork_done; the caller sleeps (killable) until the child exits or execs".into(),
            "kernel_clone",
            Some(F::CLONE_VFORK),
        );
    } else {
        push(
            Resource::VforkWait,
            Sharing::Unchanged,
            "the caller returns at once".into(),
            "kernel_clone",
            Some(F::CLONE_VFORK),
        );
    }

    out
}

fn exit_signal_detail(sig: ExitSignal) -> String {
    match sig.raw() {
        0 => "exit_signal = 0: no signal; only __WCLONE or __WALL waits see the child".into(),
        17 => "exit_signal = SIGCHLD".into(),
        _ if sig.signal().is_none() => {
            format!("exit_signal = {sig}: not a valid signal, never sent; only __WCLONE or __WALL waits see the child")
        }
        _ => format!("exit_signal = {sig}: only __WCLONE or __WALL waits see the child"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CloneCall, Preset};

    fn sharing(k: &KernelCloneArgs, r: Resource) -> Sharing {
        resources(k).into_iter().find(|o| o.resource == r).map(|o| o.sharing).expect("resource listed")
    }

    #[test]
    fn every_resource_once_in_copy_process_order() {
        let out = resources(&CloneCall::Fork.kernel_args());
        let order: Vec<Resource> = out.iter().map(|o| o.resource).collect();
        let mut unique = order.clone();
        unique.sort_by_key(|r| *r as u32);
        unique.dedup();
        assert_eq!(unique.len(), order.len());
        // The enum is declared in copy_process's order.
        assert!(order.windows(2).all(|w| (w[0] as u32) < (w[1] as u32)), "{order:?}");
        assert_eq!(order.len(), Resource::VforkWait as usize + 1);
        let pos = |r| order.iter().position(|&x| x == r).unwrap();
        assert!(pos(Resource::Credentials) < pos(Resource::SysvSemUndo));
        assert!(pos(Resource::FdTable) < pos(Resource::FsInfo));
        assert!(pos(Resource::AddressSpace) < pos(Resource::MountNamespace));
        assert!(pos(Resource::Pid) < pos(Resource::Pidfd));
    }

    #[test]
    fn glibc_fork_copies() {
        let k = Preset::GlibcFork.call().kernel_args();
        assert_eq!(sharing(&k, Resource::AddressSpace), Sharing::Copied);
        assert_eq!(sharing(&k, Resource::FdTable), Sharing::Copied);
        assert_eq!(sharing(&k, Resource::FsInfo), Sharing::Copied);
        assert_eq!(sharing(&k, Resource::SignalHandlers), Sharing::Copied);
        assert_eq!(sharing(&k, Resource::ThreadGroup), Sharing::New);
        assert_eq!(sharing(&k, Resource::SysvSemUndo), Sharing::Reset);
        assert_eq!(sharing(&k, Resource::ChildTid), Sharing::Set);
        assert_eq!(sharing(&k, Resource::ClearChildTid), Sharing::Set);
        assert_eq!(sharing(&k, Resource::ParentLinkage), Sharing::Set);
        assert_eq!(sharing(&k, Resource::ExitSignal), Sharing::Set);
        assert_eq!(sharing(&k, Resource::Sigaltstack), Sharing::Copied);
        let mm = resources(&k).into_iter().find(|o| o.resource == Resource::AddressSpace).unwrap();
        assert_eq!(mm.kernel_function, "copy_mm");
        assert_eq!(mm.flag, Some(F::CLONE_VM));
        assert!(mm.detail.starts_with("copy_mm: dup_mm (copy-on-write)"), "{}", mm.detail);
        let files = resources(&k).into_iter().find(|o| o.resource == Resource::FdTable).unwrap();
        assert!(files.detail.contains("open file descriptions (offsets, status flags) stay shared"));
    }

    #[test]
    fn pthread_create_shares() {
        for p in [Preset::GlibcPthreadCreate, Preset::GlibcPthreadCreateLegacy, Preset::MuslPthreadCreate] {
            let k = p.call().kernel_args();
            for r in [
                Resource::AddressSpace,
                Resource::FdTable,
                Resource::FsInfo,
                Resource::SignalHandlers,
                Resource::ThreadGroup,
                Resource::Credentials,
                Resource::SysvSemUndo,
                Resource::ParentLinkage,
            ] {
                assert_eq!(sharing(&k, r), Sharing::Shared, "{p:?} {r:?}");
            }
            assert_eq!(sharing(&k, Resource::Tls), Sharing::Set);
            assert_eq!(sharing(&k, Resource::ParentTid), Sharing::Set);
            assert_eq!(sharing(&k, Resource::ChildTid), Sharing::Unchanged);
            assert_eq!(sharing(&k, Resource::ExitSignal), Sharing::Reset);
            // CLONE_VM without CLONE_VFORK: the alternate signal stack is disabled.
            assert_eq!(sharing(&k, Resource::Sigaltstack), Sharing::Reset);
            assert_eq!(sharing(&k, Resource::BlockedMask), Sharing::Copied);
        }
    }

    #[test]
    fn vfork_keeps_the_sigaltstack_and_waits() {
        let k = CloneCall::Vfork.kernel_args();
        assert_eq!(sharing(&k, Resource::Sigaltstack), Sharing::Copied);
        assert_eq!(sharing(&k, Resource::VforkWait), Sharing::Set);
        assert_eq!(sharing(&k, Resource::AddressSpace), Sharing::Shared);
        assert_eq!(sharing(&k, Resource::StackPointer), Sharing::Shared);
        assert_eq!(sharing(&k, Resource::SignalHandlers), Sharing::Copied);
        let spawn = Preset::GlibcPosixSpawn.call().kernel_args();
        assert_eq!(sharing(&spawn, Resource::SignalHandlers), Sharing::Reset);
    }

    #[test]
    fn exit_signal_and_parent_linkage() {
        let parent = CloneCall::clone(F::CLONE_PARENT, ExitSignal(10)).kernel_args();
        assert_eq!(sharing(&parent, Resource::ParentLinkage), Sharing::Shared);
        assert_eq!(sharing(&parent, Resource::ExitSignal), Sharing::Copied);
        let odd = CloneCall::clone(F::empty(), ExitSignal(255)).kernel_args();
        let out = resources(&odd);
        let sig = out.iter().find(|o| o.resource == Resource::ExitSignal).unwrap();
        assert_eq!(sig.sharing, Sharing::Set);
        assert!(sig.detail.contains("never sent"), "{}", sig.detail);
    }

    #[test]
    fn namespaces_io_and_pidfd() {
        let k = CloneCall::clone3(
            F::CLONE_NEWPID | F::CLONE_NEWNET | F::CLONE_IO | F::CLONE_PIDFD,
            ExitSignal::SIGCHLD,
        )
        .kernel_args();
        assert_eq!(sharing(&k, Resource::PidNamespace), Sharing::New);
        assert_eq!(sharing(&k, Resource::NetNamespace), Sharing::New);
        assert_eq!(sharing(&k, Resource::MountNamespace), Sharing::Shared);
        assert_eq!(sharing(&k, Resource::IoContext), Sharing::Shared);
        assert_eq!(sharing(&k, Resource::Pidfd), Sharing::New);
        assert_eq!(sharing(&CloneCall::Fork.kernel_args(), Resource::IoContext), Sharing::Copied);
        assert_eq!(sharing(&CloneCall::Fork.kernel_args(), Resource::Pidfd), Sharing::Unchanged);
        let time_vm = CloneCall::clone3(F::CLONE_NEWTIME | F::CLONE_VM, ExitSignal::SIGCHLD).kernel_args();
        let out = resources(&time_vm);
        let time = out.iter().find(|o| o.resource == Resource::TimeNamespace).unwrap();
        assert_eq!(time.sharing, Sharing::New);
        assert!(time.detail.contains("until it execs"));
    }

    #[test]
    fn outcomes_serialize() {
        let out = resources(&Preset::GlibcFork.call().kernel_args());
        let json = serde_json::to_value(&out).unwrap();
        let mm = json.as_array().unwrap().iter().find(|o| o["resource"] == "address_space").unwrap();
        assert_eq!(mm["sharing"], "copied");
        assert_eq!(mm["kernel_function"], "copy_mm");
        assert_eq!(mm["flag"], "CLONE_VM");
    }
}
