//! The kernel's validation rules for `clone`/`clone3`, in the order Linux evaluates them, each
//! with the errno it returns and the kernel function and line that raise it, and [`check`],
//! which finds the first rule a call breaks: the error Linux reports.
//!
//! Line numbers are Linux v6.12.117 (`kernel/fork.c` unless another file is named); the rules
//! themselves were checked on Linux 6.18. Version deltas that matter are gated on
//! [`CallerState::kernel`]: `clone3` itself (5.3), `struct clone_args` growing to 80 (5.5) and
//! 88 bytes (5.7) with `CLONE_CLEAR_SIGHAND` (5.5) and `CLONE_INTO_CGROUP` (5.7),
//! `CLONE_NEWTIME` in `clone3` (5.6), and `CLONE_PIDFD|CLONE_THREAD` (allowed since 6.9).
//! Not modelled: the time-namespace check that kernels before 6.12 made for
//! `CLONE_VM`/`CLONE_THREAD` children after `unshare(CLONE_NEWTIME)` (reference §2.6.2), and
//! Debian's `kernel.unprivileged_userns_clone` (§2.7).
//!
//! Some rules can only be decided by the kernel, because they read user memory (EFAULT) or
//! depend on state outside [`CallerState`] (limits, the pid table, cgroupfs): they are in
//! [`RULES`] so that their errno can be explained, with [`Rule::needs`] saying why, and
//! [`check`] skips them.

use std::fmt;

use crate::{
    CloneArgs, CloneCall, CloneFlags, Errno, KernelCloneArgs, CLONE_ARGS_SIZE_VER0, CLONE_ARGS_SIZE_VER1,
    CLONE_ARGS_SIZE_VER2, CLONE_LEGACY_FLAGS, CLONE_NEW_MASK, CSIGNAL, FLAG_TABLE, MAX_PID_NS_LEVEL, NSIG,
    PAGE_SIZE,
};

/// `TASK_SIZE_MAX` on x86_64 with 4-level page tables: the end of user space. `access_ok` and
/// `ARCH_SET_FS` accept addresses up to it; with 5-level paging (LA57) it is
/// `0x00ff_ffff_ffff_f000`.
pub const TASK_SIZE_MAX_4LEVEL: u64 = 0x0000_7fff_ffff_f000;

/// What deciding a rule needs besides the rule itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Needs {
    /// The call's arguments (and the kernel version): [`check`] decides it.
    Call,
    /// The call and the caller's state ([`CallerState`]): [`check`] decides it.
    Caller,
    /// Reading or writing the caller's memory through a pointer (EFAULT): only the kernel can
    /// decide it.
    Memory,
    /// Kernel state that [`CallerState`] does not describe (limits, the pid table, cgroupfs,
    /// pending signals): only the kernel can decide it.
    System,
}

/// The state of the calling task that some rules depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CallerState {
    /// The caller is the init of its pid namespace, global or not (`SIGNAL_UNKILLABLE`).
    pub pid_ns_init: bool,
    /// The caller's process has more than one thread. `clone` never fails because of it
    /// (unlike `unshare`, reference §2.8); it is recorded so that callers can say so.
    pub multithreaded: bool,
    /// The caller's root is not its mount namespace's root (`current_chrooted()`).
    pub chrooted: bool,
    /// The caller has `CAP_SYS_ADMIN` in its user namespace.
    pub cap_sys_admin: bool,
    /// `pid_ns_for_children` is not the caller's active pid namespace, after
    /// `unshare(CLONE_NEWPID)` or `setns` to a pid namespace. It is taken to be one level
    /// deeper than the active one (the `unshare` case).
    pub pid_ns_for_children_differs: bool,
    /// The nesting level of the caller's active pid namespace (0 for the initial one).
    pub pid_ns_level: u32,
    /// The running kernel as (major, minor).
    pub kernel: (u32, u32),
    /// `TASK_SIZE_MAX`, the end of user space ([`TASK_SIZE_MAX_4LEVEL`] unless LA57).
    pub task_size_max: u64,
}

impl Default for CallerState {
    /// Root in the initial namespaces, single-threaded, not an init, on the newest Linux the
    /// model follows ([`LATEST`](crate::LATEST)) with 4-level page tables.
    fn default() -> Self {
        CallerState {
            pid_ns_init: false,
            multithreaded: false,
            chrooted: false,
            cap_sys_admin: true,
            pid_ns_for_children_differs: false,
            pid_ns_level: 0,
            kernel: crate::LATEST,
            task_size_max: TASK_SIZE_MAX_4LEVEL,
        }
    }
}

impl CallerState {
    /// Whether the kernel is at least `major.minor`.
    pub fn kernel_at_least(&self, major: u32, minor: u32) -> bool {
        self.kernel >= (major, minor)
    }

    /// The flags this kernel knows, from the `since` column of [`FLAG_TABLE`].
    fn known_flags(&self) -> CloneFlags {
        FLAG_TABLE.iter().filter(|i| self.kernel >= i.since).fold(CloneFlags::empty(), |acc, i| acc | i.flag)
    }

    /// `sizeof(struct clone_args)` in this kernel (64 before 5.5, 80 before 5.7, then 88).
    fn clone_args_size(&self) -> u64 {
        if !self.kernel_at_least(5, 5) {
            CLONE_ARGS_SIZE_VER0 as u64
        } else if !self.kernel_at_least(5, 7) {
            CLONE_ARGS_SIZE_VER1 as u64
        } else {
            CLONE_ARGS_SIZE_VER2 as u64
        }
    }
}

/// What the rules look at: the call as `kernel_clone` and `clone3` see it, and the caller.
struct Ctx<'a> {
    caller: &'a CallerState,
    /// What `kernel_clone` receives.
    k: KernelCloneArgs,
    /// For `clone3` only: what `copy_clone_args_from_user` sees.
    clone3: Option<Clone3Input>,
}

/// `clone3`'s arguments as the kernel reads them.
struct Clone3Input {
    /// The `size` argument.
    size: u64,
    /// The struct as read: fields past `min(size, sizeof(struct clone_args))` are zero.
    args: CloneArgs,
    /// Bytes between the kernel's struct size and `size` are not all zero.
    tail_nonzero: bool,
}

impl<'a> Ctx<'a> {
    fn new(call: &CloneCall, caller: &'a CallerState) -> Ctx<'a> {
        match call {
            CloneCall::Clone3 { args, size, nonzero_tail } => {
                let ksize = caller.clone_args_size();
                let full = args.to_bytes(CLONE_ARGS_SIZE_VER2);
                let read = (*size).min(ksize) as usize;
                let (seen, _) = CloneArgs::from_bytes(&full[..read]);
                let known_end = (*size).min(CLONE_ARGS_SIZE_VER2 as u64) as usize;
                let tail_nonzero = *size > ksize
                    && (full.get(ksize as usize..known_end).is_some_and(|b| b.iter().any(|&x| x != 0))
                        || (*nonzero_tail && *size > CLONE_ARGS_SIZE_VER2 as u64));
                let k = CloneCall::Clone3 { args: seen, size: *size, nonzero_tail: false }.kernel_args();
                Ctx { caller, k, clone3: Some(Clone3Input { size: *size, args: seen, tail_nonzero }) }
            }
            other => Ctx { caller, k: other.kernel_args(), clone3: None },
        }
    }

    fn has(&self, f: CloneFlags) -> bool {
        self.k.flags.contains(f)
    }

    fn any(&self, f: CloneFlags) -> bool {
        self.k.flags.intersects(f)
    }

    /// For `clone3` rules: the predicate on its input, false for the other entry points.
    fn c3(&self, p: impl Fn(&Clone3Input) -> bool) -> bool {
        self.clone3.as_ref().is_some_and(p)
    }

    /// The level of `nsproxy->pid_ns_for_children` after `copy_namespaces`.
    fn child_pid_ns_level(&self) -> u64 {
        let deeper = self.has(CloneFlags::CLONE_NEWPID) || self.caller.pid_ns_for_children_differs;
        u64::from(self.caller.pid_ns_level) + u64::from(deeper)
    }
}

/// One validation rule of `clone`/`clone3`.
#[derive(Clone, Copy, serde::Serialize)]
pub struct Rule {
    /// Its id: `C*` for `clone3`'s argument checks (reference §2.1), `K1` for `kernel_clone`,
    /// `P*` for `copy_process`'s flag checks (§2.3), and for the later checks of §2.4: `S*`
    /// signals, `U*` user namespace, `L*` limits, `F*` `copy_fs`, `N*` namespaces, `T*`
    /// `copy_thread`, `A*` `alloc_pid`, `D*` pidfd, `G*` cgroups.
    pub id: &'static str,
    /// The errno the syscall returns when the rule is broken.
    pub errno: Errno,
    /// The condition that breaks it, in one line.
    pub reason: &'static str,
    /// The kernel function that checks it.
    pub function: &'static str,
    /// Where, as `file:line` (Linux v6.12.117).
    pub source: &'static str,
    /// What deciding it needs; [`check`] decides only [`Needs::Call`] and [`Needs::Caller`].
    pub needs: Needs,
    /// The predicate, for the rules [`check`] decides: true when the rule is broken.
    #[serde(skip)]
    broken: Option<fn(&Ctx<'_>) -> bool>,
}

impl Rule {
    /// Whether [`check`] can decide this rule (it needs neither memory nor system state).
    pub fn decidable(&self) -> bool {
        self.broken.is_some()
    }

    /// Whether the rule belongs to `clone3` alone (the `C*` rules).
    pub fn clone3_only(&self) -> bool {
        self.id.starts_with('C')
    }

    /// Whether `call` made by `caller` breaks this rule; `None` if only the kernel can tell.
    pub fn is_broken_by(&self, call: &CloneCall, caller: &CallerState) -> Option<bool> {
        self.broken.map(|p| p(&Ctx::new(call, caller)))
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("errno", &self.errno)
            .field("reason", &self.reason)
            .field("function", &self.function)
            .field("source", &self.source)
            .field("needs", &self.needs)
            .finish()
    }
}

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Rule {}

impl fmt::Display for Rule {
    /// `P3 EINVAL: CLONE_THREAD without CLONE_SIGHAND (copy_process, kernel/fork.c)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {} ({}, {})", self.id, self.errno, self.reason, self.function, self.source)
    }
}

use CloneFlags as F;

/// Every rule, in the order the kernel evaluates them.
pub const RULES: &[Rule] = &[
    Rule {
        id: "C0",
        errno: Errno::ENOSYS,
        reason: "clone3 does not exist before Linux 5.3",
        function: "sys_ni_syscall",
        source: "kernel/sys_ni.c",
        needs: Needs::Call,
        broken: Some(|c| c.clone3.is_some() && !c.caller.kernel_at_least(5, 3)),
    },
    Rule {
        id: "C1",
        errno: Errno::E2BIG,
        reason: "clone3 size larger than PAGE_SIZE",
        function: "copy_clone_args_from_user",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.c3(|a| a.size > PAGE_SIZE)),
    },
    Rule {
        id: "C2",
        errno: Errno::EINVAL,
        reason: "clone3 size smaller than CLONE_ARGS_SIZE_VER0 (64)",
        function: "copy_clone_args_from_user",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.c3(|a| a.size < CLONE_ARGS_SIZE_VER0 as u64)),
    },
    Rule {
        id: "C3",
        errno: Errno::E2BIG,
        reason: "bytes past the kernel's struct clone_args are not all zero",
        function: "copy_struct_from_user",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.c3(|a| a.tail_nonzero)),
    },
    Rule {
        id: "C4",
        errno: Errno::EFAULT,
        reason: "the clone_args struct (or its trailing bytes) cannot be read",
        function: "copy_struct_from_user",
        source: "kernel/fork.c",
        needs: Needs::Memory,
        broken: None,
    },
    Rule {
        id: "C5",
        errno: Errno::EINVAL,
        reason: "set_tid_size larger than MAX_PID_NS_LEVEL (32)",
        function: "copy_clone_args_from_user",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.c3(|a| a.args.set_tid_size > MAX_PID_NS_LEVEL)),
    },
    Rule {
        id: "C6",
        errno: Errno::EINVAL,
        reason: "set_tid and set_tid_size disagree (one is zero, the other not)",
        function: "copy_clone_args_from_user",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.c3(|a| (a.args.set_tid == 0) != (a.args.set_tid_size == 0))),
    },
    Rule {
        id: "C7",
        errno: Errno::EINVAL,
        reason: "exit_signal has bits outside CSIGNAL or is not a valid signal (> 64)",
        function: "copy_clone_args_from_user",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| {
            c.c3(|a| a.args.exit_signal & !CSIGNAL != 0 || a.args.exit_signal > u64::from(NSIG))
        }),
    },
    Rule {
        id: "C8",
        errno: Errno::EINVAL,
        reason: "CLONE_INTO_CGROUP with cgroup > INT_MAX or size < CLONE_ARGS_SIZE_VER2 (88)",
        function: "copy_clone_args_from_user",
        source: "kernel/fork.c",
        needs: Needs::Call,
        // The check arrived with the flag (5.7); before that C10 rejects the flag.
        broken: Some(|c| {
            c.caller.kernel_at_least(5, 7)
                && c.c3(|a| {
                    a.args.flags & F::CLONE_INTO_CGROUP.bits() != 0
                        && (a.args.cgroup > i32::MAX as u64 || a.size < CLONE_ARGS_SIZE_VER2 as u64)
                })
        }),
    },
    Rule {
        id: "C9",
        errno: Errno::EFAULT,
        reason: "the set_tid array cannot be read",
        function: "copy_clone_args_from_user",
        source: "kernel/fork.c",
        needs: Needs::Memory,
        broken: None,
    },
    Rule {
        id: "C10",
        errno: Errno::EINVAL,
        reason: "a flag this release's clone3 does not know (outside CLONE_LEGACY_FLAGS and the clone3-only flags of its release)",
        function: "clone3_args_valid",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| {
            let high = c.caller.known_flags().bits() & !CLONE_LEGACY_FLAGS;
            c.clone3.is_some() && c.k.flags.bits() & !(CLONE_LEGACY_FLAGS | high) != 0
        }),
    },
    Rule {
        id: "C11",
        errno: Errno::EINVAL,
        reason: "CLONE_DETACHED, or a CSIGNAL bit other than CLONE_NEWTIME, in clone3 flags",
        function: "clone3_args_valid",
        source: "kernel/fork.c",
        needs: Needs::Call,
        // CLONE_NEWTIME (0x80) became valid in clone3 with time namespaces (5.6).
        broken: Some(|c| {
            let newtime = c.caller.known_flags() & F::CLONE_NEWTIME;
            let reserved = F::CLONE_DETACHED.bits() | (CSIGNAL & !newtime.bits());
            c.clone3.is_some() && c.k.flags.bits() & reserved != 0
        }),
    },
    Rule {
        id: "C12",
        errno: Errno::EINVAL,
        reason: "CLONE_SIGHAND together with CLONE_CLEAR_SIGHAND",
        function: "clone3_args_valid",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.clone3.is_some() && c.has(F::CLONE_SIGHAND | F::CLONE_CLEAR_SIGHAND)),
    },
    Rule {
        id: "C13",
        errno: Errno::EINVAL,
        reason: "CLONE_THREAD or CLONE_PARENT with a non-zero exit_signal",
        function: "clone3_args_valid",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| {
            c.clone3.is_some() && c.any(F::CLONE_THREAD | F::CLONE_PARENT) && c.k.exit_signal.raw() != 0
        }),
    },
    Rule {
        id: "C14",
        errno: Errno::EINVAL,
        reason: "stack without stack_size, stack_size without stack, or the stack not in user space",
        function: "clone3_stack_valid",
        source: "kernel/fork.c",
        needs: Needs::Caller,
        broken: Some(|c| {
            let (stack, size) = (c.k.stack, c.k.stack_size);
            // access_ok(stack, size) on x86_64 (arch/x86/include/asm/uaccess_64.h): the end,
            // stack + size, must not wrap and must be at most TASK_SIZE_MAX. Checked on 6.18: an
            // end of exactly 0x7ffffffff000 is accepted, one byte more is EINVAL.
            let in_user_space = stack.checked_add(size).is_some_and(|end| end <= c.caller.task_size_max);
            c.clone3.is_some()
                && match (stack, size) {
                    (0, 0) => false,
                    (0, _) | (_, 0) => true,
                    _ => !in_user_space,
                }
        }),
    },
    Rule {
        id: "K1",
        errno: Errno::EINVAL,
        reason: "CLONE_PIDFD and CLONE_PARENT_SETTID with pidfd == parent_tid (always so for clone)",
        function: "kernel_clone",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.has(F::CLONE_PIDFD | F::CLONE_PARENT_SETTID) && c.k.pidfd == c.k.parent_tid),
    },
    Rule {
        id: "K2",
        errno: Errno::EINVAL,
        reason: "an exit signal above 64 (_NSIG) from legacy clone (Linux 7.1; clone3's is rule C7)",
        function: "kernel_clone",
        source: "kernel/fork.c (Linux 7.1)",
        needs: Needs::Call,
        // For every entry point; clone3's bad exit signals met rule C7 before.
        broken: Some(|c| {
            c.k.exit_signal.raw() > NSIG as u64
                && crate::LEGACY_EXIT_SIGNAL_CHECKED.present_in(c.caller.kernel)
        }),
    },
    Rule {
        id: "P1",
        errno: Errno::EINVAL,
        reason: "CLONE_NEWNS together with CLONE_FS",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.has(F::CLONE_NEWNS | F::CLONE_FS)),
    },
    Rule {
        id: "P2",
        errno: Errno::EINVAL,
        reason: "CLONE_NEWUSER together with CLONE_FS",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.has(F::CLONE_NEWUSER | F::CLONE_FS)),
    },
    Rule {
        id: "P3",
        errno: Errno::EINVAL,
        reason: "CLONE_THREAD without CLONE_SIGHAND",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.has(F::CLONE_THREAD) && !c.has(F::CLONE_SIGHAND)),
    },
    Rule {
        id: "P4",
        errno: Errno::EINVAL,
        reason: "CLONE_SIGHAND without CLONE_VM",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::Call,
        broken: Some(|c| c.has(F::CLONE_SIGHAND) && !c.has(F::CLONE_VM)),
    },
    Rule {
        id: "P5",
        errno: Errno::EINVAL,
        reason: "CLONE_PARENT from a pid namespace init (SIGNAL_UNKILLABLE)",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::Caller,
        broken: Some(|c| c.has(F::CLONE_PARENT) && c.caller.pid_ns_init),
    },
    Rule {
        id: "P6",
        errno: Errno::EINVAL,
        reason:
            "CLONE_THREAD with CLONE_NEWUSER or CLONE_NEWPID, or after the caller changed pid_ns_for_children",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::Caller,
        broken: Some(|c| {
            c.has(F::CLONE_THREAD)
                && (c.any(F::CLONE_NEWUSER | F::CLONE_NEWPID) || c.caller.pid_ns_for_children_differs)
        }),
    },
    Rule {
        id: "P7",
        errno: Errno::EINVAL,
        reason: "CLONE_PIDFD with CLONE_DETACHED (before Linux 6.9 also with CLONE_THREAD)",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::Call,
        // Linux 6.1 rejected CLONE_PIDFD with CLONE_DETACHED or CLONE_THREAD (fork.c v6.1:2173);
        // the PIDFD_THREAD work in 6.9 allowed CLONE_THREAD, yielding a thread pidfd
        // (reference §2.6.1; checked on 6.18).
        broken: Some(|c| {
            c.has(F::CLONE_PIDFD)
                && (c.has(F::CLONE_DETACHED)
                    || (c.has(F::CLONE_THREAD) && !crate::CLONE_PIDFD_THREAD.present_in(c.caller.kernel)))
        }),
    },
    Rule {
        id: "P8",
        errno: Errno::EINVAL,
        reason: "CLONE_AUTOREAP with CLONE_THREAD or CLONE_PARENT, or with a non-zero exit_signal",
        function: "copy_process",
        source: "kernel/fork.c (Linux 7.1)",
        needs: Needs::Call,
        broken: Some(|c| {
            c.has(F::CLONE_AUTOREAP)
                && (c.any(F::CLONE_THREAD | F::CLONE_PARENT) || c.k.exit_signal.raw() != 0)
        }),
    },
    Rule {
        id: "P9",
        errno: Errno::EINVAL,
        reason:
            "CLONE_PARENT from a process made with CLONE_AUTOREAP (its child would inherit no exit signal)",
        function: "copy_process",
        source: "kernel/fork.c (Linux 7.1)",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "P10",
        errno: Errno::EINVAL,
        reason: "CLONE_NNP with CLONE_THREAD",
        function: "copy_process",
        source: "kernel/fork.c (Linux 7.1)",
        needs: Needs::Call,
        broken: Some(|c| c.has(F::CLONE_NNP | F::CLONE_THREAD)),
    },
    Rule {
        id: "P11",
        errno: Errno::EINVAL,
        reason: "CLONE_PIDFD_AUTOKILL without CLONE_PIDFD or CLONE_AUTOREAP, or with CLONE_THREAD",
        function: "copy_process",
        source: "kernel/fork.c (Linux 7.1)",
        needs: Needs::Call,
        broken: Some(|c| {
            c.has(F::CLONE_PIDFD_AUTOKILL)
                && (!c.has(F::CLONE_PIDFD) || !c.has(F::CLONE_AUTOREAP) || c.has(F::CLONE_THREAD))
        }),
    },
    Rule {
        id: "P12",
        errno: Errno::EPERM,
        reason: "CLONE_PIDFD_AUTOKILL without CLONE_NNP and without CAP_SYS_ADMIN",
        function: "copy_process",
        source: "kernel/fork.c (Linux 7.1)",
        needs: Needs::Caller,
        broken: Some(|c| c.has(F::CLONE_PIDFD_AUTOKILL) && !c.has(F::CLONE_NNP) && !c.caller.cap_sys_admin),
    },
    Rule {
        id: "S1",
        errno: Errno::ERESTARTNOINTR,
        reason: "a signal is pending at entry: restarted after the handler, never seen by user space",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "U1",
        errno: Errno::EPERM,
        reason: "CLONE_NEWUSER while chrooted",
        function: "create_user_ns",
        source: "kernel/user_namespace.c",
        needs: Needs::Caller,
        broken: Some(|c| c.has(F::CLONE_NEWUSER) && c.caller.chrooted),
    },
    Rule {
        id: "U2",
        errno: Errno::EPERM,
        reason: "CLONE_NEWUSER with an euid or egid unmapped in the parent user namespace",
        function: "create_user_ns",
        source: "kernel/user_namespace.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "U3",
        errno: Errno::ENOSPC,
        reason: "CLONE_NEWUSER nesting deeper than 32, or user.max_user_namespaces reached",
        function: "create_user_ns",
        source: "kernel/user_namespace.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "L1",
        errno: Errno::EAGAIN,
        reason: "RLIMIT_NPROC reached by a non-root user without CAP_SYS_RESOURCE or CAP_SYS_ADMIN",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "L2",
        errno: Errno::EAGAIN,
        reason: "nr_threads reached kernel.threads-max",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "F1",
        errno: Errno::EAGAIN,
        reason: "CLONE_FS while another user of the fs_struct is in execve (fs->in_exec)",
        function: "copy_fs",
        source: "kernel/fork.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "N1",
        errno: Errno::EPERM,
        reason:
            "a CLONE_NEW* flag other than CLONE_NEWUSER without CAP_SYS_ADMIN in the child's user namespace",
        function: "copy_namespaces",
        source: "kernel/nsproxy.c",
        needs: Needs::Caller,
        // With CLONE_NEWUSER the capability is checked in the new user namespace, where the
        // child holds every capability (copy_creds runs first).
        broken: Some(|c| {
            c.k.flags.intersects(CLONE_NEW_MASK.difference(F::CLONE_NEWUSER))
                && !c.has(F::CLONE_NEWUSER)
                && !c.caller.cap_sys_admin
        }),
    },
    Rule {
        id: "N2",
        errno: Errno::EINVAL,
        reason: "CLONE_NEWIPC together with CLONE_SYSVSEM",
        function: "copy_namespaces",
        source: "kernel/nsproxy.c",
        needs: Needs::Call,
        broken: Some(|c| c.has(F::CLONE_NEWIPC | F::CLONE_SYSVSEM)),
    },
    Rule {
        id: "N3",
        errno: Errno::ENOSPC,
        reason: "a user.max_*_namespaces limit reached (e.g. mount namespaces in copy_mnt_ns)",
        function: "create_new_namespaces",
        source: "kernel/nsproxy.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "N4",
        errno: Errno::EINVAL,
        reason: "CLONE_NEWPID when pid_ns_for_children is not the caller's active pid namespace",
        function: "copy_pid_ns",
        source: "kernel/pid_namespace.c",
        needs: Needs::Caller,
        broken: Some(|c| c.has(F::CLONE_NEWPID) && c.caller.pid_ns_for_children_differs),
    },
    Rule {
        id: "N5",
        errno: Errno::EINVAL,
        reason: "CLONE_NEWPID whose owner user namespace does not descend from the parent pid namespace's",
        function: "create_pid_namespace",
        source: "kernel/pid_namespace.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "N6",
        errno: Errno::ENOSPC,
        reason: "CLONE_NEWPID would nest pid namespaces deeper than MAX_PID_NS_LEVEL (32)",
        function: "create_pid_namespace",
        source: "kernel/pid_namespace.c",
        needs: Needs::Caller,
        broken: Some(|c| c.has(F::CLONE_NEWPID) && u64::from(c.caller.pid_ns_level) + 1 > MAX_PID_NS_LEVEL),
    },
    Rule {
        id: "N7",
        errno: Errno::ENOSPC,
        reason: "CLONE_NEWPID with user.max_pid_namespaces reached",
        function: "create_pid_namespace",
        source: "kernel/pid_namespace.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "T1",
        errno: Errno::EPERM,
        reason: "CLONE_SETTLS with tls at or above TASK_SIZE_MAX (not a user address)",
        function: "do_arch_prctl_64",
        source: "arch/x86/kernel/process_64.c",
        needs: Needs::Caller,
        broken: Some(|c| c.has(F::CLONE_SETTLS) && c.k.tls >= c.caller.task_size_max),
    },
    Rule {
        id: "A1",
        errno: Errno::EINVAL,
        reason: "set_tid_size larger than the child's pid namespace level + 1",
        function: "alloc_pid",
        source: "kernel/pid.c",
        needs: Needs::Caller,
        broken: Some(|c| c.k.set_tid_size > c.child_pid_ns_level() + 1),
    },
    Rule {
        id: "A2",
        errno: Errno::EINVAL,
        reason: "a set_tid entry below 1 or at least pid_max",
        function: "alloc_pid",
        source: "kernel/pid.c",
        needs: Needs::Memory,
        broken: None,
    },
    Rule {
        id: "A3",
        errno: Errno::EINVAL,
        reason: "a set_tid entry other than 1 for a pid namespace that has no init yet",
        function: "alloc_pid",
        source: "kernel/pid.c",
        needs: Needs::Memory,
        broken: None,
    },
    Rule {
        id: "A4",
        errno: Errno::EPERM,
        reason: "set_tid without CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN over the pid namespace",
        function: "alloc_pid",
        source: "kernel/pid.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "A5",
        errno: Errno::EEXIST,
        reason: "a pid requested through set_tid is in use",
        function: "alloc_pid",
        source: "kernel/pid.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "A6",
        errno: Errno::EAGAIN,
        reason: "no free pid (kernel.pid_max)",
        function: "alloc_pid",
        source: "kernel/pid.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "A7",
        errno: Errno::ENOMEM,
        reason: "the target pid namespace is dying (its init has exited)",
        function: "alloc_pid",
        source: "kernel/pid.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "D1",
        errno: Errno::EMFILE,
        reason: "CLONE_PIDFD with no free file descriptor in the caller",
        function: "__pidfd_prepare",
        source: "kernel/fork.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "D2",
        errno: Errno::EFAULT,
        reason: "CLONE_PIDFD and the pidfd cannot be stored at pidfd",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::Memory,
        broken: None,
    },
    Rule {
        id: "G1",
        errno: Errno::EBADF,
        reason: "CLONE_INTO_CGROUP with a cgroup fd that is not open or not a cgroup2 directory",
        function: "cgroup_css_set_fork",
        source: "kernel/cgroup/cgroup.c",
        needs: Needs::System,
        broken: None,
    },
    // The reference lists ENODEV for a dead cgroup. On Linux 6.18 a removed cgroup2
    // directory gives ENOENT: cgroup_get_from_file() fails first, because
    // css_tryget_online_from_dir() refuses an offline css with -ENOENT. ENODEV is left for
    // a cgroup that dies between that lookup and cgroup_css_set_fork()'s own check, a race
    // no caller can aim for. Measured by `clonekit check` (rule G2).
    Rule {
        id: "G2",
        errno: Errno::ENOENT,
        reason: "CLONE_INTO_CGROUP into a removed (dead) cgroup",
        function: "cgroup_get_from_file",
        source: "kernel/cgroup/cgroup.c (css_tryget_online_from_dir)",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "G3",
        errno: Errno::EACCES,
        reason: "CLONE_INTO_CGROUP and the target or common ancestor is not writable",
        function: "cgroup_may_write",
        source: "kernel/cgroup/cgroup.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "G4",
        errno: Errno::ENOENT,
        reason: "CLONE_INTO_CGROUP into a cgroup outside the caller's cgroup namespace",
        function: "cgroup_attach_permissions",
        source: "kernel/cgroup/cgroup.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "G5",
        errno: Errno::EOPNOTSUPP,
        reason: "CLONE_INTO_CGROUP breaks a threaded/domain cgroup constraint",
        function: "cgroup_migrate_vet_dst",
        source: "kernel/cgroup/cgroup.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "G6",
        errno: Errno::EBUSY,
        reason: "CLONE_INTO_CGROUP into a cgroup that has controllers in subtree_control",
        function: "cgroup_migrate_vet_dst",
        source: "kernel/cgroup/cgroup.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "G7",
        errno: Errno::EAGAIN,
        reason: "the pids controller's pids.max is reached",
        function: "pids_can_fork",
        source: "kernel/cgroup/pids.c",
        needs: Needs::System,
        broken: None,
    },
    Rule {
        id: "S2",
        errno: Errno::EINTR,
        reason: "a fatal signal arrived during the fork",
        function: "copy_process",
        source: "kernel/fork.c",
        needs: Needs::System,
        broken: None,
    },
];

/// The rule with this id (`"P3"`), in any case.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id.eq_ignore_ascii_case(id.trim()))
}

/// The first rule `call`, made by `caller`, breaks, in the kernel's order: the one whose errno
/// Linux returns. Rules only the kernel can decide ([`Rule::decidable`] is false) are skipped,
/// so `Ok(())` means "passes every rule that can be decided without running it".
pub fn check(call: &CloneCall, caller: &CallerState) -> Result<(), &'static Rule> {
    let ctx = Ctx::new(call, caller);
    match RULES.iter().find(|r| r.broken.is_some_and(|p| p(&ctx))) {
        Some(r) => Err(r),
        None => Ok(()),
    }
}

/// Every decidable rule `call` breaks, in the kernel's order (the first is what Linux reports;
/// the rest explain what would fail next).
pub fn violations(call: &CloneCall, caller: &CallerState) -> Vec<&'static Rule> {
    let ctx = Ctx::new(call, caller);
    RULES.iter().filter(|r| r.broken.is_some_and(|p| p(&ctx))).collect()
}

/// The errno Linux is predicted to return for `call` from `caller`, `None` if it passes every
/// decidable rule.
pub fn predict_errno(call: &CloneCall, caller: &CallerState) -> Option<Errno> {
    check(call, caller).err().map(|r| r.errno)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ExitSignal;

    fn root() -> CallerState {
        CallerState::default()
    }

    /// The id of the first rule broken, with the default caller.
    fn first(call: &CloneCall) -> Option<&'static str> {
        first_as(call, &root())
    }

    fn first_as(call: &CloneCall, caller: &CallerState) -> Option<&'static str> {
        check(call, caller).err().map(|r| r.id)
    }

    fn c3(flags: CloneFlags, exit_signal: u64) -> CloneCall {
        CloneCall::clone3(flags, ExitSignal(exit_signal))
    }

    fn c3_args(args: CloneArgs, size: u64) -> CloneCall {
        CloneCall::Clone3 { args, size, nonzero_tail: false }
    }

    fn legacy(flags: CloneFlags, sig: u64) -> CloneCall {
        CloneCall::clone(flags, ExitSignal(sig))
    }

    const THREAD: CloneFlags = F::CLONE_VM.union(F::CLONE_SIGHAND).union(F::CLONE_THREAD);

    #[test]
    fn rule_ids_are_unique_and_in_kernel_order() {
        let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), RULES.len());
        let pos = |id: &str| RULES.iter().position(|r| r.id == id).unwrap();
        // clone3's copy, then clone3_args_valid, then kernel_clone, then copy_process.
        let order = [
            "C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12", "C13", "C14",
            "K1", "P1", "P2", "P3", "P4", "P5", "P6", "P7", "S1", "U1", "L1", "F1", "N1", "N2", "N4", "N6",
            "T1", "A1", "A5", "D1", "D2", "G1", "G7", "S2",
        ];
        assert!(order.windows(2).all(|w| pos(w[0]) < pos(w[1])), "{ids:?}");
        assert_eq!(rule("p3").map(|r| r.errno), Some(Errno::EINVAL));
        assert!(rule("Z9").is_none());
    }

    #[test]
    fn every_rule_is_described_and_undecidable_rules_say_why() {
        for r in RULES {
            assert!(!r.reason.is_empty() && !r.reason.contains('\n'), "{}", r.id);
            assert!(!r.function.is_empty() && !r.source.is_empty(), "{}", r.id);
            let decidable = matches!(r.needs, Needs::Call | Needs::Caller);
            assert_eq!(r.decidable(), decidable, "{}", r.id);
        }
        let memory: Vec<&str> = RULES.iter().filter(|r| r.needs == Needs::Memory).map(|r| r.id).collect();
        assert_eq!(memory, ["C4", "C9", "A2", "A3", "D2"]);
        assert!(RULES.iter().filter(|r| r.errno == Errno::EFAULT).all(|r| !r.decidable()));
    }

    #[test]
    fn fork_vfork_and_the_libc_calls_pass() {
        assert_eq!(first(&CloneCall::Fork), None);
        assert_eq!(first(&CloneCall::Vfork), None);
        let pthread = F::CLONE_VM
            | F::CLONE_FS
            | F::CLONE_FILES
            | F::CLONE_SIGHAND
            | F::CLONE_THREAD
            | F::CLONE_SYSVSEM
            | F::CLONE_SETTLS
            | F::CLONE_PARENT_SETTID
            | F::CLONE_CHILD_CLEARTID;
        assert_eq!(first(&legacy(pthread | F::CLONE_DETACHED, 0)), None);
        assert_eq!(first(&c3(pthread, 0)), None);
        assert_eq!(first(&legacy(F::CLONE_CHILD_SETTID | F::CLONE_CHILD_CLEARTID, 17)), None);
    }

    #[test]
    fn c0_clone3_needs_linux_5_3() {
        let old = CallerState { kernel: (5, 2), ..root() };
        assert_eq!(first_as(&c3(F::empty(), 17), &old), Some("C0"));
        assert_eq!(first_as(&legacy(F::empty(), 17), &old), None);
        assert_eq!(first_as(&c3(F::empty(), 17), &CallerState { kernel: (5, 3), ..root() }), None);
    }

    #[test]
    fn c1_size_larger_than_a_page_is_e2big() {
        let call = c3_args(CloneArgs::default(), 4104);
        assert_eq!(first(&call), Some("C1"));
        assert_eq!(predict_errno(&call, &root()), Some(Errno::E2BIG));
        assert_eq!(first(&c3_args(CloneArgs::default(), 4096)), None);
    }

    #[test]
    fn c2_size_smaller_than_ver0() {
        assert_eq!(first(&c3_args(CloneArgs::default(), 56)), Some("C2"));
        assert_eq!(first(&c3_args(CloneArgs::default(), 0)), Some("C2"));
        for ok in [64, 68, 80, 88, 96] {
            assert_eq!(first(&c3_args(CloneArgs::default(), ok)), None, "{ok}");
        }
    }

    #[test]
    fn c3_nonzero_tail_is_e2big() {
        let tail = CloneCall::Clone3 { args: CloneArgs::default(), size: 96, nonzero_tail: true };
        assert_eq!(first(&tail), Some("C3"));
        // The same bytes are no tail when size stops at the struct.
        let short = CloneCall::Clone3 { args: CloneArgs::default(), size: 88, nonzero_tail: true };
        assert_eq!(first(&short), None);
        // On 5.5/5.6 the kernel's struct is 80 bytes: a cgroup field is an unknown tail.
        let args = CloneArgs { cgroup: 3, ..CloneArgs::default() };
        assert_eq!(first_as(&c3_args(args, 88), &CallerState { kernel: (5, 6), ..root() }), Some("C3"));
        assert_eq!(first(&c3_args(args, 88)), None);
    }

    #[test]
    fn c4_unreadable_args_is_memory_only() {
        let r = rule("C4").unwrap();
        assert_eq!((r.errno, r.needs), (Errno::EFAULT, Needs::Memory));
        assert_eq!(r.is_broken_by(&c3(F::empty(), 17), &root()), None);
    }

    #[test]
    fn c5_set_tid_size_above_32() {
        let args = CloneArgs { set_tid: 0x1000, set_tid_size: 33, exit_signal: 17, ..CloneArgs::default() };
        assert_eq!(first(&c3_args(args, 88)), Some("C5"));
        // Read only with a VER1 struct: at size 64 the field is not seen.
        assert_eq!(first(&c3_args(args, 64)), None);
    }

    #[test]
    fn c6_set_tid_and_size_must_agree() {
        let cases = [(0, 1, Some("C6")), (0x1000, 0, Some("C6")), (0x1000, 1, None), (0, 0, None)];
        for (set_tid, set_tid_size, want) in cases {
            let args = CloneArgs { set_tid, set_tid_size, exit_signal: 17, ..CloneArgs::default() };
            assert_eq!(first(&c3_args(args, 88)), want, "{set_tid:#x} {set_tid_size}");
        }
    }

    #[test]
    fn c7_clone3_exit_signal_is_validated() {
        for bad in [65, 0x100, 1 << 32, 255] {
            assert_eq!(first(&c3(F::empty(), bad)), Some("C7"), "{bad}");
        }
        for ok in [0, 1, 17, 64] {
            assert_eq!(first(&c3(F::empty(), ok)), None, "{ok}");
        }
        // Legacy clone took any byte unvalidated (reference §2.5) before Linux 7.1 (rule K2).
        assert_eq!(first_as(&legacy(F::empty(), 255), &CallerState { kernel: (7, 0), ..root() }), None);
        assert_eq!(first(&legacy(F::empty(), 255)), Some("K2"));
        assert_eq!(first(&legacy(F::empty(), 64)), None);
    }

    #[test]
    fn c8_into_cgroup_needs_ver2_and_an_int() {
        let args = CloneArgs {
            flags: F::CLONE_INTO_CGROUP.bits(),
            exit_signal: 17,
            cgroup: 3,
            ..CloneArgs::default()
        };
        assert_eq!(first(&c3_args(args, 88)), None);
        assert_eq!(first(&c3_args(args, 80)), Some("C8"));
        assert_eq!(first(&c3_args(CloneArgs { cgroup: 1 << 31, ..args }, 88)), Some("C8"));
        // Before 5.7 the flag is unknown, and C10 rejects it.
        assert_eq!(first_as(&c3_args(args, 80), &CallerState { kernel: (5, 6), ..root() }), Some("C10"));
    }

    #[test]
    fn c9_set_tid_copy_is_memory_only() {
        let r = rule("C9").unwrap();
        assert_eq!((r.errno, r.needs, r.decidable()), (Errno::EFAULT, Needs::Memory, false));
    }

    #[test]
    fn c10_unknown_clone3_flags() {
        for bit in [37, 40, 63] {
            let args = CloneArgs { flags: 1 << bit, exit_signal: 17, ..CloneArgs::default() };
            assert_eq!(first(&c3_args(args, 88)), Some("C10"), "bit {bit}");
        }
        // CLONE_AUTOREAP and its two companions are flags since Linux 7.1 only.
        let autoreap = c3(F::CLONE_AUTOREAP, 0);
        assert_eq!(first(&autoreap), None);
        assert_eq!(first_as(&autoreap, &CallerState { kernel: (7, 0), ..root() }), Some("C10"));
        assert_eq!(first(&c3(F::CLONE_CLEAR_SIGHAND, 17)), None);
        assert_eq!(
            first_as(&c3(F::CLONE_CLEAR_SIGHAND, 17), &CallerState { kernel: (5, 4), ..root() }),
            Some("C10")
        );
        // Legacy clone drops the upper 32 bits before anything looks at them.
        let call = CloneCall::Clone {
            flags: (1 << 40) | (1 << 32) | 17,
            stack: 0,
            parent_tid: 0,
            child_tid: 0,
            tls: 0,
        };
        assert_eq!(first(&call), None);
    }

    #[test]
    fn p8_to_p12_autoreap_nnp_and_autokill() {
        let (reap, nnp, kill, pidfd) =
            (F::CLONE_AUTOREAP, F::CLONE_NNP, F::CLONE_PIDFD_AUTOKILL, F::CLONE_PIDFD);
        let thread = F::CLONE_VM | F::CLONE_SIGHAND | F::CLONE_THREAD;
        assert_eq!(first(&c3(reap, 17)), Some("P8"));
        assert_eq!(first(&c3(reap | thread, 0)), Some("P8"));
        assert_eq!(first(&c3(reap | F::CLONE_PARENT, 0)), Some("P8"));
        assert_eq!(first(&c3(reap | pidfd, 0)), None);
        assert_eq!(first(&c3(nnp | thread, 0)), Some("P10"));
        assert_eq!(first(&c3(nnp, 17)), None);
        assert_eq!(first(&c3(kill | reap, 0)), Some("P11"));
        assert_eq!(first(&c3(kill | pidfd, 0)), Some("P11"));
        assert_eq!(first(&c3(kill | pidfd | reap, 0)), None);
        let unprivileged = CallerState { cap_sys_admin: false, ..root() };
        assert_eq!(first_as(&c3(kill | pidfd | reap, 0), &unprivileged), Some("P12"));
        assert_eq!(first_as(&c3(kill | pidfd | reap | nnp, 0), &unprivileged), None);
    }

    #[test]
    fn c11_detached_and_csignal_bits_rejected_by_clone3() {
        assert_eq!(first(&c3(F::CLONE_DETACHED, 17)), Some("C11"));
        let sig_in_flags = CloneArgs { flags: 17, exit_signal: 17, ..CloneArgs::default() };
        assert_eq!(first(&c3_args(sig_in_flags, 88)), Some("C11"));
        // CLONE_NEWTIME is the CSIGNAL bit clone3 accepts (since 5.6).
        assert_eq!(first(&c3(F::CLONE_NEWTIME, 17)), None);
        assert_eq!(
            first_as(&c3(F::CLONE_NEWTIME, 17), &CallerState { kernel: (5, 5), ..root() }),
            Some("C11")
        );
        // Legacy clone ignores CLONE_DETACHED (only P7 cares).
        assert_eq!(first(&legacy(F::CLONE_DETACHED, 17)), None);
    }

    #[test]
    fn c12_sighand_with_clear_sighand() {
        assert_eq!(first(&c3(THREAD | F::CLONE_CLEAR_SIGHAND, 0)), Some("C12"));
        assert_eq!(first(&c3(F::CLONE_VM | F::CLONE_VFORK | F::CLONE_CLEAR_SIGHAND, 17)), None);
    }

    #[test]
    fn c13_thread_or_parent_with_exit_signal() {
        assert_eq!(first(&c3(THREAD, 17)), Some("C13"));
        assert_eq!(first(&c3(F::CLONE_PARENT, 17)), Some("C13"));
        assert_eq!(first(&c3(F::CLONE_PARENT, 0)), None);
        // Legacy clone silently ignores the signal for both (reference §2.5).
        assert_eq!(first(&legacy(THREAD, 17)), None);
        assert_eq!(first(&legacy(F::CLONE_PARENT, 10)), None);
    }

    #[test]
    fn c14_clone3_stack_and_size_pair_and_lie_in_user_space() {
        let top = TASK_SIZE_MAX_4LEVEL;
        let cases = [
            (0, 0, None),
            (0, 4096, Some("C14")),
            (0x10000, 0, Some("C14")),
            (0x10000, 4096, None),
            (top - 4096, 4096, None),
            (top - 4096, 4097, Some("C14")),
            (top, 4096, Some("C14")),
            (0xffff_8000_0000_0000, 4096, Some("C14")),
            (u64::MAX - 10, 4096, Some("C14")),
        ];
        for (stack, stack_size, want) in cases {
            let args = CloneArgs { stack, stack_size, exit_signal: 17, ..CloneArgs::default() };
            assert_eq!(first(&c3_args(args, 88)), want, "{stack:#x}+{stack_size:#x}");
        }
        // Legacy clone takes any stack pointer.
        let call =
            CloneCall::Clone { flags: 17, stack: 0xffff_8000_0000_0000, parent_tid: 0, child_tid: 0, tls: 0 };
        assert_eq!(first(&call), None);
    }

    #[test]
    fn k1_pidfd_and_parent_settid_on_one_pointer() {
        // Always so for legacy clone: both come from the ptid argument.
        assert_eq!(first(&legacy(F::CLONE_PIDFD | F::CLONE_PARENT_SETTID, 17)), Some("K1"));
        let call = CloneCall::Clone {
            flags: (F::CLONE_PIDFD | F::CLONE_PARENT_SETTID).bits() | 17,
            stack: 0,
            parent_tid: 0x1000,
            child_tid: 0,
            tls: 0,
        };
        assert_eq!(first(&call), Some("K1"));
        let flags = (F::CLONE_PIDFD | F::CLONE_PARENT_SETTID).bits();
        let same =
            CloneArgs { flags, pidfd: 0x1000, parent_tid: 0x1000, exit_signal: 17, ..CloneArgs::default() };
        assert_eq!(first(&c3_args(same, 88)), Some("K1"));
        assert_eq!(first(&c3_args(CloneArgs { parent_tid: 0x2000, ..same }, 88)), None);
        assert_eq!(first(&legacy(F::CLONE_PIDFD, 17)), None);
    }

    #[test]
    fn p1_newns_with_fs() {
        assert_eq!(first(&legacy(F::CLONE_NEWNS | F::CLONE_FS, 17)), Some("P1"));
        assert_eq!(first(&legacy(F::CLONE_NEWNS, 17)), None);
    }

    #[test]
    fn p2_newuser_with_fs() {
        assert_eq!(first(&legacy(F::CLONE_NEWUSER | F::CLONE_FS, 17)), Some("P2"));
        assert_eq!(first(&legacy(F::CLONE_NEWUSER, 17)), None);
    }

    #[test]
    fn p3_clone_thread_requires_sighand() {
        assert_eq!(first(&legacy(F::CLONE_VM | F::CLONE_THREAD, 0)), Some("P3"));
        assert_eq!(first(&c3(F::CLONE_THREAD, 0)), Some("P3"));
    }

    #[test]
    fn p4_clone_sighand_requires_vm() {
        assert_eq!(first(&legacy(F::CLONE_SIGHAND, 17)), Some("P4"));
        // THREAD without anything else: P3 is checked first.
        assert_eq!(first(&legacy(F::CLONE_THREAD, 0)), Some("P3"));
        assert_eq!(first(&legacy(F::CLONE_SIGHAND | F::CLONE_THREAD, 0)), Some("P4"));
    }

    #[test]
    fn p5_clone_parent_from_a_pid_namespace_init() {
        let init = CallerState { pid_ns_init: true, ..root() };
        assert_eq!(first_as(&legacy(F::CLONE_PARENT, 17), &init), Some("P5"));
        assert_eq!(first_as(&legacy(THREAD, 0), &init), None);
        assert_eq!(first(&legacy(F::CLONE_PARENT, 17)), None);
    }

    #[test]
    fn p6_thread_with_newuser_newpid_or_changed_pid_ns_for_children() {
        assert_eq!(first(&legacy(THREAD | F::CLONE_NEWPID, 0)), Some("P6"));
        assert_eq!(first(&legacy(THREAD | F::CLONE_NEWUSER, 0)), Some("P6"));
        let unshared = CallerState { pid_ns_for_children_differs: true, ..root() };
        assert_eq!(first_as(&legacy(THREAD, 0), &unshared), Some("P6"));
        assert_eq!(first_as(&legacy(F::CLONE_VM, 17), &unshared), None);
        // Allowed combinations with CLONE_PARENT (Asterinas wrongly rejects them).
        assert_eq!(first(&legacy(F::CLONE_PARENT | F::CLONE_NEWPID, 17)), None);
        assert_eq!(first(&legacy(F::CLONE_PARENT | F::CLONE_NEWUSER, 17)), None);
    }

    #[test]
    fn p7_pidfd_with_detached_and_before_6_9_thread() {
        assert_eq!(first(&legacy(F::CLONE_PIDFD | F::CLONE_DETACHED, 17)), Some("P7"));
        // clone3 rejects CLONE_DETACHED earlier (C11).
        assert_eq!(first(&c3(F::CLONE_PIDFD | F::CLONE_DETACHED, 17)), Some("C11"));
        let thread_pidfd = c3(THREAD | F::CLONE_PIDFD, 0);
        assert_eq!(first(&thread_pidfd), None);
        assert_eq!(first_as(&thread_pidfd, &CallerState { kernel: (6, 9), ..root() }), None);
        assert_eq!(first_as(&thread_pidfd, &CallerState { kernel: (6, 8), ..root() }), Some("P7"));
    }

    #[test]
    fn u1_newuser_while_chrooted() {
        let chrooted = CallerState { chrooted: true, ..root() };
        let call = legacy(F::CLONE_NEWUSER, 17);
        assert_eq!(first_as(&call, &chrooted), Some("U1"));
        assert_eq!(predict_errno(&call, &chrooted), Some(Errno::EPERM));
        assert_eq!(first_as(&legacy(F::CLONE_NEWNS, 17), &chrooted), None);
    }

    #[test]
    fn n1_other_namespaces_need_cap_sys_admin() {
        let user = CallerState { cap_sys_admin: false, ..root() };
        for f in CLONE_NEW_MASK.difference(F::CLONE_NEWUSER).iter() {
            assert_eq!(first_as(&c3(f, 17), &user), Some("N1"), "{}", f.name());
            assert_eq!(first(&c3(f, 17)), None, "{}", f.name());
            // In a new user namespace the child holds every capability.
            assert_eq!(first_as(&c3(f | F::CLONE_NEWUSER, 17), &user), None, "{}", f.name());
        }
        assert_eq!(first_as(&legacy(F::CLONE_NEWUSER, 17), &user), None);
    }

    #[test]
    fn n2_newipc_with_sysvsem() {
        let call = legacy(F::CLONE_NEWIPC | F::CLONE_SYSVSEM, 17);
        assert_eq!(first(&call), Some("N2"));
        // Checked after the capability (copy_namespaces: ns_capable first).
        let user = CallerState { cap_sys_admin: false, ..root() };
        assert_eq!(first_as(&call, &user), Some("N1"));
        assert_eq!(
            first_as(&legacy(F::CLONE_NEWIPC | F::CLONE_SYSVSEM | F::CLONE_NEWUSER, 17), &user),
            Some("N2")
        );
    }

    #[test]
    fn n4_newpid_after_pid_ns_for_children_changed() {
        let unshared = CallerState { pid_ns_for_children_differs: true, ..root() };
        assert_eq!(first_as(&legacy(F::CLONE_NEWPID, 17), &unshared), Some("N4"));
        assert_eq!(first_as(&legacy(F::empty(), 17), &unshared), None);
    }

    #[test]
    fn n6_pid_namespaces_nest_at_most_32_deep() {
        let deep = CallerState { pid_ns_level: 32, ..root() };
        assert_eq!(first_as(&legacy(F::CLONE_NEWPID, 17), &deep), Some("N6"));
        assert_eq!(predict_errno(&legacy(F::CLONE_NEWPID, 17), &deep), Some(Errno::ENOSPC));
        let ok = CallerState { pid_ns_level: 31, ..root() };
        assert_eq!(first_as(&legacy(F::CLONE_NEWPID, 17), &ok), None);
    }

    #[test]
    fn t1_settls_outside_user_space() {
        let tls = |tls| CloneCall::Clone {
            flags: (THREAD | F::CLONE_SETTLS).bits(),
            stack: 0x10000,
            parent_tid: 0,
            child_tid: 0,
            tls,
        };
        assert_eq!(first(&tls(TASK_SIZE_MAX_4LEVEL)), Some("T1"));
        assert_eq!(first(&tls(0x8000_0000_0000_0000)), Some("T1"));
        assert_eq!(first(&tls(TASK_SIZE_MAX_4LEVEL - 1)), None);
        // Without CLONE_SETTLS the tls argument is ignored.
        let plain = CloneCall::Clone { flags: 17, stack: 0, parent_tid: 0, child_tid: 0, tls: u64::MAX };
        assert_eq!(first(&plain), None);
    }

    #[test]
    fn a1_set_tid_size_beyond_the_pid_namespace_depth() {
        let set_tid = |flags: CloneFlags, n| {
            c3_args(
                CloneArgs {
                    flags: flags.bits(),
                    set_tid: 0x1000,
                    set_tid_size: n,
                    exit_signal: 17,
                    ..CloneArgs::default()
                },
                88,
            )
        };
        assert_eq!(first(&set_tid(F::empty(), 1)), None);
        assert_eq!(first(&set_tid(F::empty(), 2)), Some("A1"));
        assert_eq!(first(&set_tid(F::CLONE_NEWPID, 2)), None);
        assert_eq!(first(&set_tid(F::CLONE_NEWPID, 3)), Some("A1"));
        let nested = CallerState { pid_ns_level: 3, ..root() };
        assert_eq!(first_as(&set_tid(F::empty(), 4), &nested), None);
        assert_eq!(first_as(&set_tid(F::empty(), 5), &nested), Some("A1"));
    }

    #[test]
    fn system_and_memory_rules_are_left_to_the_kernel() {
        let calls = [CloneCall::Fork, legacy(F::CLONE_PIDFD, 17), c3(F::CLONE_INTO_CGROUP, 17)];
        for r in RULES.iter().filter(|r| !r.decidable()) {
            assert!(matches!(r.needs, Needs::Memory | Needs::System), "{}", r.id);
            for call in &calls {
                assert_eq!(r.is_broken_by(call, &root()), None, "{}", r.id);
            }
        }
        let system: Vec<&str> = RULES.iter().filter(|r| r.needs == Needs::System).map(|r| r.id).collect();
        assert_eq!(
            system,
            [
                "P9", "S1", "U2", "U3", "L1", "L2", "F1", "N3", "N5", "N7", "A4", "A5", "A6", "A7", "D1",
                "G1", "G2", "G3", "G4", "G5", "G6", "G7", "S2"
            ]
        );
        assert_eq!(rule("S1").unwrap().errno, Errno::ERESTARTNOINTR);
        assert_eq!(rule("A5").unwrap().errno, Errno::EEXIST);
    }

    #[test]
    fn multithreaded_caller_does_not_matter_for_clone() {
        let mt = CallerState { multithreaded: true, ..root() };
        assert_eq!(first_as(&legacy(F::CLONE_NEWUSER, 17), &mt), None);
        assert_eq!(first_as(&legacy(F::CLONE_VM | F::CLONE_SIGHAND, 17), &mt), None);
    }

    #[test]
    fn first_broken_rule_wins_and_violations_lists_the_rest() {
        // set_tid_size 33 and exit signal 65: C5 comes before C7.
        let args = CloneArgs {
            set_tid: 0x1000,
            set_tid_size: 33,
            exit_signal: 65,
            flags: F::CLONE_DETACHED.bits(),
            ..CloneArgs::default()
        };
        let all: Vec<&str> = violations(&c3_args(args, 88), &root()).iter().map(|r| r.id).collect();
        assert_eq!(all[..3], ["C5", "C7", "C11"]);
        assert_eq!(first(&c3_args(args, 88)), Some("C5"));
        let r = check(&legacy(F::CLONE_THREAD, 0), &root()).unwrap_err();
        assert_eq!(
            r.to_string(),
            "P3 EINVAL: CLONE_THREAD without CLONE_SIGHAND (copy_process, kernel/fork.c)"
        );
    }

    /// Pairs of rules with different errnos, in the order Linux 6.18 reported them.
    #[test]
    fn order_between_stages_matches_the_kernel() {
        let set_tid = |flags: CloneFlags, tls, n| {
            c3_args(
                CloneArgs {
                    flags: flags.bits(),
                    tls,
                    set_tid: 0x1000,
                    set_tid_size: n,
                    exit_signal: 17,
                    ..CloneArgs::default()
                },
                88,
            )
        };
        // copy_thread (T1, EPERM) runs before alloc_pid (A1, EINVAL).
        assert_eq!(
            predict_errno(&set_tid(F::CLONE_SETTLS, TASK_SIZE_MAX_4LEVEL, 2), &root()),
            Some(Errno::EPERM)
        );
        // copy_pid_ns (N4, EINVAL) runs before copy_thread (T1, EPERM).
        let unshared = CallerState { pid_ns_for_children_differs: true, ..root() };
        let call = CloneCall::Clone {
            flags: (F::CLONE_NEWPID | F::CLONE_SETTLS).bits() | 17,
            stack: 0,
            parent_tid: 0,
            child_tid: 0,
            tls: 1 << 63,
        };
        assert_eq!(first_as(&call, &unshared), Some("N4"));
        // copy_process's flag checks (P2, EINVAL) before create_user_ns (U1, EPERM).
        let chrooted = CallerState { chrooted: true, ..root() };
        assert_eq!(first_as(&legacy(F::CLONE_NEWUSER | F::CLONE_FS, 17), &chrooted), Some("P2"));
        // The tail check (C3, E2BIG) before the set_tid checks (C5, EINVAL).
        let args = CloneArgs { set_tid: 0x1000, set_tid_size: 33, exit_signal: 17, ..CloneArgs::default() };
        let call = CloneCall::Clone3 { args, size: 96, nonzero_tail: true };
        assert_eq!(predict_errno(&call, &root()), Some(Errno::E2BIG));
    }

    #[test]
    fn rules_and_caller_state_serialize() {
        let json = serde_json::to_value(rule("K1").unwrap()).unwrap();
        assert_eq!(json["errno"], "EINVAL");
        assert_eq!(json["needs"], "call");
        let caller: CallerState = serde_json::from_str(r#"{"pid_ns_init": true}"#).unwrap();
        assert!(caller.pid_ns_init && caller.cap_sys_admin);
        assert_eq!(caller.kernel, crate::LATEST);
    }
}
