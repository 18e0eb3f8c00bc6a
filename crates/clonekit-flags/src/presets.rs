//! The flag sets that libc calls produce on x86_64 (glibc and musl, reference
//! userspace-clone-implementations §1.3-1.6), and [`classify`], which names the libc call
//! behind a `clone`/`clone3` call.

use std::fmt;

use crate::{CloneArgs, CloneCall, CloneFlags, ExitSignal, CLONE_ARGS_SIZE_VER2};

/// The entry point a call goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Syscall {
    /// `fork()`.
    Fork,
    /// `vfork()`.
    Vfork,
    /// Legacy `clone()`.
    Clone,
    /// `clone3()`.
    Clone3,
}

impl Syscall {
    /// The entry point of a call.
    pub fn of(call: &CloneCall) -> Syscall {
        match call {
            CloneCall::Fork => Syscall::Fork,
            CloneCall::Vfork => Syscall::Vfork,
            CloneCall::Clone { .. } => Syscall::Clone,
            CloneCall::Clone3 { .. } => Syscall::Clone3,
        }
    }

    /// Its name as strace prints it (`clone3`).
    pub fn name(self) -> &'static str {
        match self {
            Syscall::Fork => "fork",
            Syscall::Vfork => "vfork",
            Syscall::Clone => "clone",
            Syscall::Clone3 => "clone3",
        }
    }
}

impl fmt::Display for Syscall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A libc call (or a bare syscall) and the exact flags and exit signal it passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Preset {
    /// glibc `fork()` and `_Fork()`: `clone(CLONE_CHILD_SETTID|CLONE_CHILD_CLEARTID|SIGCHLD)`,
    /// `child_tid` = the new thread's tid field in its TCB.
    GlibcFork,
    /// glibc ≥ 2.34 `pthread_create()`: `clone3` with
    /// `CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID`, exit signal 0.
    GlibcPthreadCreate,
    /// glibc `pthread_create()` through legacy `clone`: before 2.34, or the fallback when
    /// `clone3` is `ENOSYS`. The same flags; this is what the seed's strace shows.
    GlibcPthreadCreateLegacy,
    /// glibc ≥ 2.38 `posix_spawn()`: `clone3(CLONE_VM|CLONE_VFORK|CLONE_CLEAR_SIGHAND)`, SIGCHLD.
    GlibcPosixSpawn,
    /// glibc 2.34-2.37 `posix_spawn()`: `clone3(CLONE_VM|CLONE_VFORK)`, SIGCHLD; the child
    /// resets handlers itself.
    GlibcPosixSpawnNoClearSighand,
    /// glibc `posix_spawn()` through legacy `clone(CLONE_VM|CLONE_VFORK|SIGCHLD)`: before 2.34,
    /// or the fallback when `clone3` fails with `ENOSYS` or `EINVAL`. Same flags as musl's.
    GlibcPosixSpawnLegacy,
    /// glibc ≥ 2.39 `posix_spawn()` with `POSIX_SPAWN_SETCGROUP`: adds `CLONE_INTO_CGROUP`
    /// (no legacy fallback: `ENOTSUP`).
    GlibcPosixSpawnSetCgroup,
    /// glibc ≥ 2.39 `pidfd_spawn()`: `clone3(CLONE_VM|CLONE_VFORK|CLONE_CLEAR_SIGHAND|CLONE_PIDFD)`, SIGCHLD.
    GlibcPidfdSpawn,
    /// glibc `pidfd_spawn()` through legacy `clone(CLONE_VM|CLONE_VFORK|CLONE_PIDFD|SIGCHLD)`,
    /// the pidfd returned through `parent_tid`.
    GlibcPidfdSpawnLegacy,
    /// musl `pthread_create()`: legacy `clone` with glibc's thread flags plus `CLONE_DETACHED`
    /// (musl has no `clone3`), exit signal 0.
    MuslPthreadCreate,
    /// musl `posix_spawn()`: `clone(CLONE_VM|CLONE_VFORK|SIGCHLD)` on a stack in the parent's
    /// frame.
    MuslPosixSpawn,
    /// The `fork()` syscall: musl `fork()`/`_Fork()` on x86_64.
    KernelFork,
    /// The `vfork()` syscall: glibc and musl `vfork()` on x86_64.
    KernelVfork,
}

use CloneFlags as F;

/// glibc's and musl's thread flags (nptl `create_thread`, musl `pthread_create`).
const THREAD_FLAGS: CloneFlags = F::CLONE_VM
    .union(F::CLONE_FS)
    .union(F::CLONE_FILES)
    .union(F::CLONE_SIGHAND)
    .union(F::CLONE_THREAD)
    .union(F::CLONE_SYSVSEM)
    .union(F::CLONE_SETTLS)
    .union(F::CLONE_PARENT_SETTID)
    .union(F::CLONE_CHILD_CLEARTID);

/// posix_spawn's flags before `CLONE_CLEAR_SIGHAND`.
const SPAWN_FLAGS: CloneFlags = F::CLONE_VM.union(F::CLONE_VFORK);

impl Preset {
    /// Every preset, in the order [`classify`] prefers them.
    pub const ALL: &'static [Preset] = &[
        Preset::GlibcFork,
        Preset::GlibcPthreadCreate,
        Preset::GlibcPthreadCreateLegacy,
        Preset::GlibcPosixSpawn,
        Preset::GlibcPosixSpawnNoClearSighand,
        Preset::GlibcPosixSpawnLegacy,
        Preset::GlibcPosixSpawnSetCgroup,
        Preset::GlibcPidfdSpawn,
        Preset::GlibcPidfdSpawnLegacy,
        Preset::MuslPthreadCreate,
        Preset::MuslPosixSpawn,
        Preset::KernelFork,
        Preset::KernelVfork,
    ];

    /// What a person calls it: `"glibc fork()"`.
    pub fn label(self) -> &'static str {
        match self {
            Preset::GlibcFork => "glibc fork()",
            Preset::GlibcPthreadCreate => "glibc pthread_create()",
            Preset::GlibcPthreadCreateLegacy => "glibc pthread_create() (legacy clone)",
            Preset::GlibcPosixSpawn => "glibc posix_spawn()",
            Preset::GlibcPosixSpawnNoClearSighand => "glibc 2.34-2.37 posix_spawn()",
            Preset::GlibcPosixSpawnLegacy => "glibc posix_spawn() (legacy clone)",
            Preset::GlibcPosixSpawnSetCgroup => "glibc posix_spawn() with POSIX_SPAWN_SETCGROUP",
            Preset::GlibcPidfdSpawn => "glibc pidfd_spawn()",
            Preset::GlibcPidfdSpawnLegacy => "glibc pidfd_spawn() (legacy clone)",
            Preset::MuslPthreadCreate => "musl pthread_create()",
            Preset::MuslPosixSpawn => "musl posix_spawn()",
            Preset::KernelFork => "fork() syscall",
            Preset::KernelVfork => "vfork() syscall",
        }
    }

    /// Which libc versions make this call, in one line.
    pub fn used_by(self) -> &'static str {
        match self {
            Preset::GlibcFork => "glibc fork() and _Fork(), every version (posix/fork.c, arch-fork.h)",
            Preset::GlibcPthreadCreate => "glibc >= 2.34 pthread_create() (nptl, __clone_internal)",
            Preset::GlibcPthreadCreateLegacy => {
                "glibc < 2.34 pthread_create(), or >= 2.34 when clone3 is ENOSYS"
            }
            Preset::GlibcPosixSpawn => "glibc >= 2.38 posix_spawn() and posix_spawnp() (spawni.c)",
            Preset::GlibcPosixSpawnNoClearSighand => "glibc 2.34 to 2.37 posix_spawn()",
            Preset::GlibcPosixSpawnLegacy => {
                "glibc < 2.34 posix_spawn(), or the fallback when clone3 fails with ENOSYS or EINVAL"
            }
            Preset::GlibcPosixSpawnSetCgroup => "glibc >= 2.39 posix_spawn() with POSIX_SPAWN_SETCGROUP",
            Preset::GlibcPidfdSpawn => "glibc >= 2.39 pidfd_spawn() and pidfd_spawnp()",
            Preset::GlibcPidfdSpawnLegacy => "glibc >= 2.39 pidfd_spawn() when clone3 is unavailable",
            Preset::MuslPthreadCreate => "musl pthread_create(), every version (no clone3 in musl)",
            Preset::MuslPosixSpawn => "musl posix_spawn() and posix_spawnp()",
            Preset::KernelFork => "musl fork() and _Fork() on x86_64, and direct fork() syscalls",
            Preset::KernelVfork => "glibc and musl vfork() on x86_64 (vfork.S), and direct vfork() syscalls",
        }
    }

    /// The system call it makes.
    pub fn syscall(self) -> Syscall {
        match self {
            Preset::GlibcPthreadCreate
            | Preset::GlibcPosixSpawn
            | Preset::GlibcPosixSpawnNoClearSighand
            | Preset::GlibcPosixSpawnSetCgroup
            | Preset::GlibcPidfdSpawn => Syscall::Clone3,
            Preset::GlibcFork
            | Preset::GlibcPthreadCreateLegacy
            | Preset::GlibcPosixSpawnLegacy
            | Preset::GlibcPidfdSpawnLegacy
            | Preset::MuslPthreadCreate
            | Preset::MuslPosixSpawn => Syscall::Clone,
            Preset::KernelFork => Syscall::Fork,
            Preset::KernelVfork => Syscall::Vfork,
        }
    }

    /// The flags `kernel_clone` receives (without the exit signal).
    pub const fn flags(self) -> CloneFlags {
        match self {
            Preset::GlibcFork => F::CLONE_CHILD_SETTID.union(F::CLONE_CHILD_CLEARTID),
            Preset::GlibcPthreadCreate | Preset::GlibcPthreadCreateLegacy => THREAD_FLAGS,
            Preset::GlibcPosixSpawn => SPAWN_FLAGS.union(F::CLONE_CLEAR_SIGHAND),
            Preset::GlibcPosixSpawnNoClearSighand
            | Preset::GlibcPosixSpawnLegacy
            | Preset::MuslPosixSpawn => SPAWN_FLAGS,
            Preset::GlibcPosixSpawnSetCgroup => {
                SPAWN_FLAGS.union(F::CLONE_CLEAR_SIGHAND).union(F::CLONE_INTO_CGROUP)
            }
            Preset::GlibcPidfdSpawn => SPAWN_FLAGS.union(F::CLONE_CLEAR_SIGHAND).union(F::CLONE_PIDFD),
            Preset::GlibcPidfdSpawnLegacy => SPAWN_FLAGS.union(F::CLONE_PIDFD),
            Preset::MuslPthreadCreate => THREAD_FLAGS.union(F::CLONE_DETACHED),
            Preset::KernelFork => F::empty(),
            Preset::KernelVfork => F::CLONE_VM.union(F::CLONE_VFORK),
        }
    }

    /// The exit signal: 0 for threads, SIGCHLD for everything else.
    pub const fn exit_signal(self) -> ExitSignal {
        match self {
            Preset::GlibcPthreadCreate | Preset::GlibcPthreadCreateLegacy | Preset::MuslPthreadCreate => {
                ExitSignal::NONE
            }
            _ => ExitSignal::SIGCHLD,
        }
    }

    /// An example of the call, with every pointer zero (the kernel accepts it; real callers
    /// pass stacks, tid words and a TLS block).
    pub fn call(self) -> CloneCall {
        match self.syscall() {
            Syscall::Fork => CloneCall::Fork,
            Syscall::Vfork => CloneCall::Vfork,
            Syscall::Clone => CloneCall::clone(self.flags(), self.exit_signal()),
            Syscall::Clone3 => CloneCall::Clone3 {
                args: CloneArgs {
                    flags: self.flags().bits(),
                    exit_signal: self.exit_signal().raw(),
                    ..CloneArgs::default()
                },
                size: CLONE_ARGS_SIZE_VER2 as u64,
                nonzero_tail: false,
            },
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// How a call differs from a preset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// The call's syscall, when it is not the preset's.
    pub syscall: Option<Syscall>,
    /// Flags the call has and the preset does not.
    pub added: CloneFlags,
    /// Flags the preset has and the call does not.
    pub removed: CloneFlags,
    /// The call's exit signal, when it is not the preset's.
    pub exit_signal: Option<ExitSignal>,
}

impl Difference {
    fn between(call: &CloneCall, preset: Preset) -> Difference {
        let k = call.kernel_args();
        let syscall = Syscall::of(call);
        Difference {
            syscall: (syscall != preset.syscall()).then_some(syscall),
            added: k.flags.difference(preset.flags()),
            removed: preset.flags().difference(k.flags),
            exit_signal: (k.exit_signal != preset.exit_signal()).then_some(k.exit_signal),
        }
    }

    /// Whether there is no difference at all.
    pub fn is_empty(&self) -> bool {
        self.syscall.is_none()
            && self.added.is_empty()
            && self.removed.is_empty()
            && self.exit_signal.is_none()
    }

    /// A rough size, for picking the closest preset: one per flag, two for the exit signal,
    /// three for the syscall.
    fn weight(&self) -> u32 {
        self.added.bits().count_ones()
            + self.removed.bits().count_ones()
            + 2 * u32::from(self.exit_signal.is_some())
            + 3 * u32::from(self.syscall.is_some())
    }
}

/// Writes each flag by its kernel name, and bits that have none in hex.
fn write_flags(f: &mut fmt::Formatter<'_>, sign: char, flags: CloneFlags) -> fmt::Result {
    for flag in flags.iter() {
        match flag.name() {
            "CLONE_???" => write!(f, " {sign}{:#x}", flag.bits())?,
            name => write!(f, " {sign}{name}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Difference {
    /// ` +CLONE_VM -CLONE_CHILD_SETTID, exit signal 0, via clone3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_flags(f, '+', self.added)?;
        write_flags(f, '-', self.removed)?;
        if let Some(sig) = self.exit_signal {
            write!(f, ", exit signal {sig}")?;
        }
        if let Some(syscall) = self.syscall {
            write!(f, ", via {syscall}")?;
        }
        Ok(())
    }
}

/// Which libc call produces a call's flags and exit signal (pointer values are ignored).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Classification {
    /// Exactly what these presets produce (several libcs or versions can share one flag set),
    /// in [`Preset::ALL`] order; never empty.
    Preset {
        /// The matching presets.
        presets: Vec<Preset>,
    },
    /// No preset matches: the closest one, and how the call differs from it.
    Custom {
        /// The nearest preset.
        closest: Preset,
        /// The call relative to it.
        difference: Difference,
    },
}

impl Classification {
    /// One line: `glibc fork()`, `glibc posix_spawn() (legacy clone) / musl posix_spawn()`,
    /// or `custom (closest: glibc fork() +CLONE_VM)`.
    pub fn label(&self) -> String {
        match self {
            Classification::Preset { presets } => {
                presets.iter().map(|p| p.label()).collect::<Vec<_>>().join(" / ")
            }
            Classification::Custom { closest, difference } => {
                format!("custom (closest: {closest}{difference})")
            }
        }
    }

    /// The first matching preset, if the call matches one.
    pub fn preset(&self) -> Option<Preset> {
        match self {
            Classification::Preset { presets } => presets.first().copied(),
            Classification::Custom { .. } => None,
        }
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// Names the libc call that makes `call`: the same syscall, the same flags as `kernel_clone`
/// receives them, and the same exit signal. Pointers, stacks and sizes are not compared.
pub fn classify(call: &CloneCall) -> Classification {
    let diffs: Vec<(Preset, Difference)> =
        Preset::ALL.iter().map(|&p| (p, Difference::between(call, p))).collect();
    let presets: Vec<Preset> = diffs.iter().filter(|(_, d)| d.is_empty()).map(|(p, _)| *p).collect();
    if !presets.is_empty() {
        return Classification::Preset { presets };
    }
    // `min_by_key` keeps the first of equals, so ties go to the earlier preset.
    let (closest, difference) =
        diffs.into_iter().min_by_key(|(_, d)| d.weight()).expect("Preset::ALL is not empty");
    Classification::Custom { closest, difference }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{check, CallerState};

    #[test]
    fn seed_flag_sets() {
        // 000_a85b16391743a647.txt: glibc fork() and pthread_create().
        assert_eq!(Preset::GlibcFork.flags(), F::CLONE_CHILD_SETTID | F::CLONE_CHILD_CLEARTID);
        assert_eq!(Preset::GlibcFork.exit_signal(), ExitSignal::SIGCHLD);
        assert_eq!(Preset::GlibcFork.syscall(), Syscall::Clone);
        assert_eq!(Preset::GlibcPthreadCreate.flags().bits(), 0x003d_0f00);
        assert_eq!(Preset::GlibcPthreadCreate.exit_signal(), ExitSignal::NONE);
        assert_eq!(Preset::GlibcPthreadCreate.syscall(), Syscall::Clone3);
        assert_eq!(Preset::MuslPthreadCreate.flags(), THREAD_FLAGS | F::CLONE_DETACHED);
        assert_eq!(Preset::GlibcPosixSpawn.flags().bits(), 0x1_0000_4100);
        assert_eq!(Preset::KernelVfork.call().kernel_args().flags, Preset::KernelVfork.flags());
    }

    #[test]
    fn every_preset_classifies_as_itself_and_passes_the_rules() {
        for &p in Preset::ALL {
            let c = classify(&p.call());
            match &c {
                Classification::Preset { presets } => assert!(presets.contains(&p), "{p:?}: {c}"),
                Classification::Custom { .. } => panic!("{p:?}: {c}"),
            }
            assert_eq!(check(&p.call(), &CallerState::default()), Ok(()), "{p:?}");
        }
    }

    #[test]
    fn glibc_fork_ignores_pointers() {
        let call = CloneCall::Clone {
            flags: (F::CLONE_CHILD_SETTID | F::CLONE_CHILD_CLEARTID).bits() | 17,
            stack: 0,
            parent_tid: 0,
            child_tid: 0x7f12_3456_7a10,
            tls: 0,
        };
        assert_eq!(classify(&call).preset(), Some(Preset::GlibcFork));
        assert_eq!(classify(&call).label(), "glibc fork()");
    }

    #[test]
    fn shared_flag_sets_name_every_libc() {
        let c = classify(&CloneCall::clone(SPAWN_FLAGS, ExitSignal::SIGCHLD));
        assert_eq!(
            c,
            Classification::Preset { presets: vec![Preset::GlibcPosixSpawnLegacy, Preset::MuslPosixSpawn] }
        );
        assert_eq!(c.label(), "glibc posix_spawn() (legacy clone) / musl posix_spawn()");
        assert_eq!(
            classify(&CloneCall::clone(THREAD_FLAGS, ExitSignal::NONE)).preset(),
            Some(Preset::GlibcPthreadCreateLegacy)
        );
        assert_eq!(classify(&CloneCall::Fork).preset(), Some(Preset::KernelFork));
        assert_eq!(classify(&CloneCall::Vfork).preset(), Some(Preset::KernelVfork));
    }

    #[test]
    fn custom_calls_name_the_closest_preset_and_the_difference() {
        let c = classify(&CloneCall::clone(
            F::CLONE_CHILD_SETTID | F::CLONE_CHILD_CLEARTID | F::CLONE_VM,
            ExitSignal::SIGCHLD,
        ));
        let Classification::Custom { closest, difference } = &c else { panic!("{c}") };
        assert_eq!(*closest, Preset::GlibcFork);
        assert_eq!(difference.added, F::CLONE_VM);
        assert_eq!(c.label(), "custom (closest: glibc fork() +CLONE_VM)");

        // pthread_create's flags with a signal: same flags, exit signal differs.
        let c = classify(&CloneCall::clone3(THREAD_FLAGS, ExitSignal::SIGCHLD));
        assert_eq!(c.label(), "custom (closest: glibc pthread_create(), exit signal SIGCHLD)");

        // glibc fork's flags through clone3.
        let c = classify(&CloneCall::clone3(Preset::GlibcFork.flags(), ExitSignal::SIGCHLD));
        assert_eq!(c.label(), "custom (closest: glibc fork(), via clone3)");

        // A bare clone(SIGCHLD) is a fork in all but name.
        let c = classify(&CloneCall::clone(F::empty(), ExitSignal::SIGCHLD));
        assert_eq!(c.label(), "custom (closest: glibc fork() -CLONE_CHILD_CLEARTID -CLONE_CHILD_SETTID)");

        // Unknown clone3 bits print in hex.
        let c = classify(&CloneCall::Clone3 {
            args: CloneArgs { flags: 1 << 40, exit_signal: 17, ..CloneArgs::default() },
            size: 88,
            nonzero_tail: false,
        });
        assert!(c.label().contains("+0x10000000000"), "{c}");
    }

    #[test]
    fn classification_serializes() {
        let json = serde_json::to_value(classify(&Preset::GlibcFork.call())).unwrap();
        assert_eq!(json["kind"], "preset");
        assert_eq!(json["presets"][0], "glibc_fork");
        let json =
            serde_json::to_value(classify(&CloneCall::clone(F::CLONE_VM, ExitSignal::SIGCHLD))).unwrap();
        assert_eq!(json["kind"], "custom");
    }
}
