//! `struct clone_args` (include/uapi/linux/sched.h) in its three sizes, the four ways into
//! `kernel_clone` ([`CloneCall`]) and what `kernel_clone` receives from each
//! ([`KernelCloneArgs`], include/linux/sched/task.h).

use crate::{CloneFlags, ExitSignal, CSIGNAL};

/// `CLONE_ARGS_SIZE_VER0`: flags … tls (Linux 5.3).
pub const CLONE_ARGS_SIZE_VER0: usize = 64;
/// `CLONE_ARGS_SIZE_VER1`: adds `set_tid`, `set_tid_size` (Linux 5.5).
pub const CLONE_ARGS_SIZE_VER1: usize = 80;
/// `CLONE_ARGS_SIZE_VER2`: adds `cgroup` (Linux 5.7).
pub const CLONE_ARGS_SIZE_VER2: usize = 88;
/// `MAX_PID_NS_LEVEL`: the deepest pid namespace nesting, and the longest `set_tid` array.
pub const MAX_PID_NS_LEVEL: u64 = 32;
/// `PAGE_SIZE` on x86_64: the largest `clone3` size the kernel accepts.
pub const PAGE_SIZE: u64 = 4096;

/// `struct clone_args`, exactly as the kernel reads it: eleven 8-byte-aligned `u64` fields.
///
/// Pointers are carried as `u64` addresses, as in the UAPI header.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct CloneArgs {
    /// Flags (`CLONE_*`), all 64 bits.
    pub flags: u64,
    /// Where to store the pidfd (`CLONE_PIDFD`), an `int *`.
    pub pidfd: u64,
    /// Where the child's tid goes in the child (`CLONE_CHILD_SETTID`/`CLONE_CHILD_CLEARTID`).
    pub child_tid: u64,
    /// Where the child's tid goes in the parent (`CLONE_PARENT_SETTID`).
    pub parent_tid: u64,
    /// The exit signal (validated, unlike legacy `clone`'s low byte).
    pub exit_signal: u64,
    /// The *lowest* address of the child's stack (the kernel adds `stack_size`).
    pub stack: u64,
    /// The stack's size.
    pub stack_size: u64,
    /// The new thread pointer (`CLONE_SETTLS`).
    pub tls: u64,
    /// A `pid_t` array, one per pid-namespace level, deepest first (VER1).
    pub set_tid: u64,
    /// How many entries `set_tid` has (VER1).
    pub set_tid_size: u64,
    /// A cgroup2 directory fd (`CLONE_INTO_CGROUP`, VER2).
    pub cgroup: u64,
}

impl CloneArgs {
    /// The eleven fields in the kernel's order.
    pub const fn to_words(&self) -> [u64; 11] {
        [
            self.flags,
            self.pidfd,
            self.child_tid,
            self.parent_tid,
            self.exit_signal,
            self.stack,
            self.stack_size,
            self.tls,
            self.set_tid,
            self.set_tid_size,
            self.cgroup,
        ]
    }

    /// The struct as the kernel reads its first `size` bytes (native endianness), with zeros
    /// past the end of the struct for larger sizes.
    pub fn to_bytes(&self, size: usize) -> Vec<u8> {
        let mut out: Vec<u8> = self.to_words().iter().flat_map(|w| w.to_ne_bytes()).collect();
        out.resize(size, 0);
        out
    }

    /// Reads the struct the way `copy_struct_from_user` does: missing trailing fields are
    /// zero, and bytes past the known struct are returned separately (the kernel requires
    /// them to be zero, rule C3).
    pub fn from_bytes(bytes: &[u8]) -> (CloneArgs, &[u8]) {
        let mut w = [0u64; 11];
        for (i, word) in w.iter_mut().enumerate() {
            let start = i * 8;
            if start + 8 <= bytes.len() {
                let mut b = [0u8; 8];
                b.copy_from_slice(&bytes[start..start + 8]);
                *word = u64::from_ne_bytes(b);
            }
        }
        let tail = bytes.get(CLONE_ARGS_SIZE_VER2..).unwrap_or(&[]);
        let args = CloneArgs {
            flags: w[0],
            pidfd: w[1],
            child_tid: w[2],
            parent_tid: w[3],
            exit_signal: w[4],
            stack: w[5],
            stack_size: w[6],
            tls: w[7],
            set_tid: w[8],
            set_tid_size: w[9],
            cgroup: w[10],
        };
        (args, tail)
    }

    /// The smallest struct version that carries every field this value uses.
    pub fn min_size(&self) -> usize {
        if self.cgroup != 0 || self.flags & CloneFlags::CLONE_INTO_CGROUP.bits() != 0 {
            CLONE_ARGS_SIZE_VER2
        } else if self.set_tid != 0 || self.set_tid_size != 0 {
            CLONE_ARGS_SIZE_VER1
        } else {
            CLONE_ARGS_SIZE_VER0
        }
    }
}

/// One call into process creation, as user space made it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "syscall", rename_all = "snake_case")]
pub enum CloneCall {
    /// `fork()`: `{.exit_signal = SIGCHLD}`.
    Fork,
    /// `vfork()`: `{.flags = CLONE_VFORK|CLONE_VM, .exit_signal = SIGCHLD}`.
    Vfork,
    /// `clone(flags, newsp, parent_tid, child_tid, tls)`, x86_64 argument order. `flags` is
    /// the whole register: the exit signal in its low byte, and upper bits the kernel drops.
    Clone {
        /// The flags register, exit signal included.
        flags: u64,
        /// The child's initial stack pointer (0: keep the parent's).
        stack: u64,
        /// `parent_tid` (also the pidfd slot with `CLONE_PIDFD`).
        parent_tid: u64,
        /// `child_tid`.
        child_tid: u64,
        /// `tls`.
        tls: u64,
    },
    /// `clone3(&args, size)`.
    Clone3 {
        /// The struct's contents.
        args: CloneArgs,
        /// The `size` argument.
        size: u64,
        /// Non-zero bytes past the known struct, if any (rule C3).
        #[serde(default)]
        nonzero_tail: bool,
    },
}

impl CloneCall {
    /// A legacy `clone` call with these flags and exit signal and no pointers.
    pub fn clone(flags: CloneFlags, exit_signal: ExitSignal) -> CloneCall {
        CloneCall::Clone {
            flags: flags.bits() | (exit_signal.raw() & CSIGNAL),
            stack: 0,
            parent_tid: 0,
            child_tid: 0,
            tls: 0,
        }
    }

    /// A `clone3` call with these flags and exit signal, no pointers, size 88.
    pub fn clone3(flags: CloneFlags, exit_signal: ExitSignal) -> CloneCall {
        CloneCall::Clone3 {
            args: CloneArgs { flags: flags.bits(), exit_signal: exit_signal.raw(), ..CloneArgs::default() },
            size: CLONE_ARGS_SIZE_VER2 as u64,
            nonzero_tail: false,
        }
    }

    /// The syscall's name as strace prints it.
    pub fn syscall_name(&self) -> &'static str {
        match self {
            CloneCall::Fork => "fork",
            CloneCall::Vfork => "vfork",
            CloneCall::Clone { .. } => "clone",
            CloneCall::Clone3 { .. } => "clone3",
        }
    }

    /// What `kernel_clone` receives (fork.c `fork`, `vfork`, `clone`, `clone3` entry points).
    ///
    /// For legacy `clone` this is the kernel's own decoding: the upper 32 bits are dropped,
    /// the low byte becomes the exit signal, and `pidfd` and `parent_tid` are the same pointer.
    pub fn kernel_args(&self) -> KernelCloneArgs {
        match *self {
            CloneCall::Fork => {
                KernelCloneArgs { exit_signal: ExitSignal::SIGCHLD, ..KernelCloneArgs::default() }
            }
            CloneCall::Vfork => KernelCloneArgs {
                flags: CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK,
                exit_signal: ExitSignal::SIGCHLD,
                ..KernelCloneArgs::default()
            },
            CloneCall::Clone { flags, stack, parent_tid, child_tid, tls } => KernelCloneArgs {
                flags: CloneFlags::from_bits_retain(flags & 0xffff_ffff & !CSIGNAL),
                exit_signal: ExitSignal(flags & CSIGNAL),
                pidfd: parent_tid,
                parent_tid,
                child_tid,
                stack,
                stack_size: 0,
                tls,
                set_tid_size: 0,
                cgroup: 0,
            },
            CloneCall::Clone3 { args, .. } => KernelCloneArgs {
                flags: CloneFlags::from_bits_retain(args.flags),
                exit_signal: ExitSignal(args.exit_signal),
                pidfd: args.pidfd,
                parent_tid: args.parent_tid,
                child_tid: args.child_tid,
                stack: args.stack,
                stack_size: args.stack_size,
                tls: args.tls,
                set_tid_size: args.set_tid_size,
                cgroup: args.cgroup,
            },
        }
    }
}

/// `struct kernel_clone_args`: what every entry point hands to `kernel_clone`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct KernelCloneArgs {
    /// Flags; unknown bits are retained so that rules can reject them.
    pub flags: CloneFlags,
    /// The exit signal.
    pub exit_signal: ExitSignal,
    /// `int *pidfd`.
    pub pidfd: u64,
    /// `int *parent_tid`.
    pub parent_tid: u64,
    /// `int *child_tid`.
    pub child_tid: u64,
    /// Stack (legacy clone: the initial SP; clone3: the lowest address).
    pub stack: u64,
    /// Stack size (clone3 only).
    pub stack_size: u64,
    /// Thread pointer.
    pub tls: u64,
    /// Entries in `set_tid`.
    pub set_tid_size: u64,
    /// cgroup fd.
    pub cgroup: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_args_sizes_match_uapi() {
        assert_eq!(std::mem::size_of::<CloneArgs>(), CLONE_ARGS_SIZE_VER2);
        assert_eq!(std::mem::align_of::<CloneArgs>(), 8);
        let a = CloneArgs { flags: 1, cgroup: 7, ..Default::default() };
        assert_eq!(a.to_bytes(CLONE_ARGS_SIZE_VER0).len(), 64);
        assert_eq!(CloneArgs::from_bytes(&a.to_bytes(88)).0, a);
        let (short, _) = CloneArgs::from_bytes(&a.to_bytes(64));
        assert_eq!(short.cgroup, 0);
    }

    #[test]
    fn legacy_clone_decoding_drops_upper_bits_and_splits_the_signal() {
        let call = CloneCall::Clone {
            flags: 0x1_0000_0000 | 0x100 | 17,
            stack: 0,
            parent_tid: 5,
            child_tid: 0,
            tls: 0,
        };
        let k = call.kernel_args();
        assert_eq!(k.flags, CloneFlags::CLONE_VM);
        assert_eq!(k.exit_signal, ExitSignal::SIGCHLD);
        assert_eq!(k.pidfd, k.parent_tid);
    }
}
