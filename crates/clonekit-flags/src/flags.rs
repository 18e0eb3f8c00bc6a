//! `CloneFlags`: every `CLONE_*` bit of Linux 7.1's `include/uapi/linux/sched.h`, and the
//! one table of facts about each (what it shares, since when, which syscalls accept it).

use bitflags::bitflags;

bitflags! {
    /// The flags word of `clone(2)` (low 32 bits) and `clone3(2)` (all 64 bits).
    ///
    /// The names are the kernel's own (`CLONE_VM`, not `VM`), so that what is printed is what
    /// a Linux reader already knows. The exit signal (`CSIGNAL`, the low byte of the legacy
    /// `clone` flags word) is not a flag: it is [`crate::ExitSignal`]. `CLONE_NEWTIME` lives
    /// inside that byte, which is why it can only be requested through `clone3` or `unshare`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
    pub struct CloneFlags: u64 {
        /// New time namespace (clone3 and unshare only: the bit lies inside `CSIGNAL`).
        const CLONE_NEWTIME = 0x0000_0080;
        /// Share the address space (`mm`).
        const CLONE_VM = 0x0000_0100;
        /// Share root, cwd and umask (`fs_struct`).
        const CLONE_FS = 0x0000_0200;
        /// Share the file descriptor table.
        const CLONE_FILES = 0x0000_0400;
        /// Share the signal handler table.
        const CLONE_SIGHAND = 0x0000_0800;
        /// Return a pidfd for the child.
        const CLONE_PIDFD = 0x0000_1000;
        /// If the parent is traced, trace the child too.
        const CLONE_PTRACE = 0x0000_2000;
        /// Suspend the parent until the child exits or execs.
        const CLONE_VFORK = 0x0000_4000;
        /// The child gets the caller's parent.
        const CLONE_PARENT = 0x0000_8000;
        /// Same thread group.
        const CLONE_THREAD = 0x0001_0000;
        /// New mount namespace.
        const CLONE_NEWNS = 0x0002_0000;
        /// Share the System V semaphore undo list.
        const CLONE_SYSVSEM = 0x0004_0000;
        /// Set the child's thread pointer (TLS).
        const CLONE_SETTLS = 0x0008_0000;
        /// Store the child's tid in the parent's memory.
        const CLONE_PARENT_SETTID = 0x0010_0000;
        /// Zero the child's tid word and wake a futex on it when the child releases its mm.
        const CLONE_CHILD_CLEARTID = 0x0020_0000;
        /// Ignored by `clone` (historical), rejected by `clone3`.
        const CLONE_DETACHED = 0x0040_0000;
        /// A tracer cannot force `CLONE_PTRACE` on this child.
        const CLONE_UNTRACED = 0x0080_0000;
        /// Store the child's tid in the child's memory.
        const CLONE_CHILD_SETTID = 0x0100_0000;
        /// New cgroup namespace.
        const CLONE_NEWCGROUP = 0x0200_0000;
        /// New UTS namespace.
        const CLONE_NEWUTS = 0x0400_0000;
        /// New IPC namespace.
        const CLONE_NEWIPC = 0x0800_0000;
        /// New user namespace.
        const CLONE_NEWUSER = 0x1000_0000;
        /// New pid namespace.
        const CLONE_NEWPID = 0x2000_0000;
        /// New network namespace.
        const CLONE_NEWNET = 0x4000_0000;
        /// Share the I/O context.
        const CLONE_IO = 0x8000_0000;
        /// Reset every handled signal to `SIG_DFL` in the child (clone3 only).
        const CLONE_CLEAR_SIGHAND = 0x1_0000_0000;
        /// Start the child in the cgroup given by `clone_args.cgroup` (clone3 only).
        const CLONE_INTO_CGROUP = 0x2_0000_0000;
        /// The child reaps itself at its exit, never a zombie; no exit signal (clone3 only,
        /// Linux 7.1).
        const CLONE_AUTOREAP = 0x4_0000_0000;
        /// The child starts with `no_new_privs` set (clone3 only, Linux 7.1).
        const CLONE_NNP = 0x8_0000_0000;
        /// The child is killed when the pidfd `clone3` returned is released (clone3 only,
        /// Linux 7.1).
        const CLONE_PIDFD_AUTOKILL = 0x10_0000_0000;
    }
}

/// `CSIGNAL`: the low byte of the legacy `clone` flags word, holding the exit signal.
pub const CSIGNAL: u64 = 0xff;

/// `CLONE_LEGACY_FLAGS` (include/linux/sched/task.h): every bit legacy `clone` can carry.
pub const CLONE_LEGACY_FLAGS: u64 = 0xffff_ffff;

/// The flags that create a new namespace.
pub const CLONE_NEW_MASK: CloneFlags = CloneFlags::CLONE_NEWNS
    .union(CloneFlags::CLONE_NEWCGROUP)
    .union(CloneFlags::CLONE_NEWUTS)
    .union(CloneFlags::CLONE_NEWIPC)
    .union(CloneFlags::CLONE_NEWUSER)
    .union(CloneFlags::CLONE_NEWPID)
    .union(CloneFlags::CLONE_NEWNET)
    .union(CloneFlags::CLONE_NEWTIME);

/// Which system calls accept a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// Both `clone` and `clone3`.
    Both,
    /// Only `clone3` (the bit is above 31, or inside `CSIGNAL`).
    Clone3Only,
    /// `clone` ignores it; `clone3` rejects it (`CLONE_DETACHED`).
    LegacyIgnored,
}

/// Facts about one flag. The name is not stored here: it is the `bitflags` constant's name,
/// see [`FlagInfo::name`].
#[derive(Debug, Clone, Copy)]
pub struct FlagInfo {
    /// The flag.
    pub flag: CloneFlags,
    /// What setting it means, in one line.
    pub meaning: &'static str,
    /// Which syscalls accept it.
    pub reach: Reach,
    /// The first Linux release that has it, as (major, minor).
    pub since: (u32, u32),
    /// Whether the seed document's flag table lists it.
    pub in_seed_table: bool,
}

impl FlagInfo {
    /// The kernel's name, `CLONE_VM`.
    pub fn name(&self) -> &'static str {
        self.flag.name()
    }

    /// The name without its `CLONE_` prefix (`VM`); the parser accepts it in any case (`vm`).
    pub fn short_name(&self) -> &'static str {
        &self.name()["CLONE_".len()..]
    }
}

/// One row per named flag, in ascending bit order.
pub const FLAG_TABLE: &[FlagInfo] = &[
    FlagInfo {
        flag: CloneFlags::CLONE_NEWTIME,
        meaning: "the child gets a new time namespace",
        reach: Reach::Clone3Only,
        since: (5, 6),
        in_seed_table: false,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_VM,
        meaning: "parent and child share one address space (mm)",
        reach: Reach::Both,
        since: (2, 0),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_FS,
        meaning: "parent and child share root, cwd and umask",
        reach: Reach::Both,
        since: (2, 0),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_FILES,
        meaning: "parent and child share the file descriptor table",
        reach: Reach::Both,
        since: (2, 0),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_SIGHAND,
        meaning: "parent and child share the signal handler table",
        reach: Reach::Both,
        since: (2, 0),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_PIDFD,
        meaning: "a pidfd for the child is stored in the parent",
        reach: Reach::Both,
        since: (5, 2),
        in_seed_table: false,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_PTRACE,
        meaning: "if the parent is traced, the child is traced too",
        reach: Reach::Both,
        since: (2, 0),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_VFORK,
        meaning: "the parent sleeps until the child exits or execs",
        reach: Reach::Both,
        since: (2, 2),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_PARENT,
        meaning: "the child's parent is the caller's parent",
        reach: Reach::Both,
        since: (2, 4),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_THREAD,
        meaning: "the child joins the caller's thread group",
        reach: Reach::Both,
        since: (2, 4),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_NEWNS,
        meaning: "the child gets a new mount namespace",
        reach: Reach::Both,
        since: (2, 4),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_SYSVSEM,
        meaning: "parent and child share the System V semaphore undo list",
        reach: Reach::Both,
        since: (2, 5),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_SETTLS,
        meaning: "the child's thread pointer is set from tls",
        reach: Reach::Both,
        since: (2, 5),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_PARENT_SETTID,
        meaning: "the child's tid is stored at parent_tid in the parent's memory",
        reach: Reach::Both,
        since: (2, 5),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_CHILD_CLEARTID,
        meaning: "the child's tid word is zeroed and futex-woken when it releases its mm",
        reach: Reach::Both,
        since: (2, 5),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_DETACHED,
        meaning: "historical, ignored by clone and rejected by clone3",
        reach: Reach::LegacyIgnored,
        since: (2, 5),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_UNTRACED,
        meaning: "a tracer cannot force CLONE_PTRACE on the child",
        reach: Reach::Both,
        since: (2, 5),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_CHILD_SETTID,
        meaning: "the child's tid is stored at child_tid in the child's memory",
        reach: Reach::Both,
        since: (2, 5),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_NEWCGROUP,
        meaning: "the child gets a new cgroup namespace",
        reach: Reach::Both,
        since: (4, 6),
        in_seed_table: false,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_NEWUTS,
        meaning: "the child gets a new UTS namespace (hostname)",
        reach: Reach::Both,
        since: (2, 6),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_NEWIPC,
        meaning: "the child gets a new IPC namespace",
        reach: Reach::Both,
        since: (2, 6),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_NEWUSER,
        meaning: "the child gets a new user namespace",
        reach: Reach::Both,
        since: (3, 8),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_NEWPID,
        meaning: "the child gets a new pid namespace and is its pid 1",
        reach: Reach::Both,
        since: (2, 6),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_NEWNET,
        meaning: "the child gets a new network namespace",
        reach: Reach::Both,
        since: (2, 6),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_IO,
        meaning: "parent and child share the I/O context",
        reach: Reach::Both,
        since: (2, 6),
        in_seed_table: true,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_CLEAR_SIGHAND,
        meaning: "every handled signal is reset to SIG_DFL in the child",
        reach: Reach::Clone3Only,
        since: (5, 5),
        in_seed_table: false,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_INTO_CGROUP,
        meaning: "the child starts in the cgroup given by clone_args.cgroup",
        reach: Reach::Clone3Only,
        since: (5, 7),
        in_seed_table: false,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_AUTOREAP,
        meaning: "the child reaps itself when it exits (never a zombie, no exit signal)",
        reach: Reach::Clone3Only,
        since: crate::CLONE_AUTOREAP_FLAGS.since,
        in_seed_table: false,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_NNP,
        meaning: "the child starts with no_new_privs set",
        reach: Reach::Clone3Only,
        since: crate::CLONE_AUTOREAP_FLAGS.since,
        in_seed_table: false,
    },
    FlagInfo {
        flag: CloneFlags::CLONE_PIDFD_AUTOKILL,
        meaning: "the child is killed when the pidfd clone3 returned is released",
        reach: Reach::Clone3Only,
        since: crate::CLONE_AUTOREAP_FLAGS.since,
        in_seed_table: false,
    },
];

impl CloneFlags {
    /// The kernel name of a single flag (`"CLONE_VM"`); `"CLONE_???"` for anything else.
    pub fn name(self) -> &'static str {
        <Self as bitflags::Flags>::FLAGS
            .iter()
            .find(|f| f.value().bits() == self.bits())
            .map(|f| f.name())
            .unwrap_or("CLONE_???")
    }

    /// The table row for a single flag.
    pub fn info(self) -> Option<&'static FlagInfo> {
        FLAG_TABLE.iter().find(|i| i.flag == self)
    }

    /// The flags that only `clone3` can pass.
    pub const CLONE3_ONLY: CloneFlags = CloneFlags::CLONE_NEWTIME
        .union(CloneFlags::CLONE_CLEAR_SIGHAND)
        .union(CloneFlags::CLONE_INTO_CGROUP)
        .union(CloneFlags::CLONE_AUTOREAP)
        .union(CloneFlags::CLONE_NNP)
        .union(CloneFlags::CLONE_PIDFD_AUTOKILL);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_table_covers_every_named_flag_once_in_bit_order() {
        let named: Vec<u64> = CloneFlags::all().iter().map(|f| f.bits()).collect();
        let table: Vec<u64> = FLAG_TABLE.iter().map(|i| i.flag.bits()).collect();
        assert_eq!(named, table);
    }

    #[test]
    fn uapi_values() {
        assert_eq!(CloneFlags::CLONE_VM.bits(), 0x100);
        assert_eq!(CloneFlags::CLONE_IO.bits(), 0x8000_0000);
        assert_eq!(CloneFlags::CLONE_CLEAR_SIGHAND.bits(), 1 << 32);
        assert_eq!(CloneFlags::CLONE_INTO_CGROUP.bits(), 1 << 33);
        assert_eq!(CloneFlags::CLONE_AUTOREAP.bits(), 1 << 34);
        assert_eq!(CloneFlags::CLONE_NNP.bits(), 1 << 35);
        assert_eq!(CloneFlags::CLONE_PIDFD_AUTOKILL.bits(), 1 << 36);
        assert_eq!(CloneFlags::CLONE_NEWTIME.bits() & CSIGNAL, 0x80);
    }

    #[test]
    fn names_and_short_names() {
        assert_eq!(CloneFlags::CLONE_CHILD_CLEARTID.name(), "CLONE_CHILD_CLEARTID");
        assert_eq!(CloneFlags::CLONE_VM.info().unwrap().short_name(), "VM");
        assert_eq!((CloneFlags::CLONE_VM | CloneFlags::CLONE_FS).name(), "CLONE_???");
    }
}
