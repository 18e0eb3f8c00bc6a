//! One truth for what a child gets: `clonekit explain`'s per-resource table
//! (`clonekit_flags::resources`) against the model, for every libc preset and 10,000 random
//! valid flag sets. The model is asked by identity (`Kernel::shares`): every resource the table
//! calls shared is the very object in both tasks, and every other one is not.

use clonekit_flags::{
    check, resources, CloneArgs, CloneCall, CloneFlags, ExitSignal, KernelCloneArgs, Preset, Resource,
    Sharing, CLONE_ARGS_SIZE_VER2, FLAG_TABLE,
};
use clonekit_model::{Kernel, Syscall, TaskId};

/// Where the calls' pointers point: words in the caller's memory.
const WORDS: u64 = 0x1000_0000;

/// The resources the model holds as shared objects.
const MODELLED: [Resource; 16] = [
    Resource::AddressSpace,
    Resource::FsInfo,
    Resource::FdTable,
    Resource::SignalHandlers,
    Resource::ThreadGroup,
    Resource::Credentials,
    Resource::UserNamespace,
    Resource::SysvSemUndo,
    Resource::IoContext,
    Resource::PidNamespace,
    Resource::MountNamespace,
    Resource::UtsNamespace,
    Resource::IpcNamespace,
    Resource::NetNamespace,
    Resource::CgroupNamespace,
    Resource::TimeNamespace,
];

/// The arguments `kernel_clone` gets for `flags`, with valid pointers where they are used.
fn args(flags: CloneFlags, exit_signal: ExitSignal) -> KernelCloneArgs {
    KernelCloneArgs {
        flags,
        exit_signal,
        pidfd: WORDS,
        parent_tid: WORDS + 8,
        child_tid: WORDS + 16,
        stack: if flags.contains(CloneFlags::CLONE_VM) { 0x7d00_0010_0000 } else { 0 },
        tls: WORDS + 0x100,
        ..KernelCloneArgs::default()
    }
}

/// A booted model whose first task has an I/O priority (so `copy_io` has something to
/// share or copy).
fn caller() -> (Kernel, TaskId) {
    let mut k = Kernel::new();
    let main = k.spawn_first().expect("first task");
    k.sys_ioprio_set(main, (2 << 13) | 4).expect("ioprio_set");
    (k, main)
}

/// Compares the table with the model for one call; `None` if the call is not valid (by the
/// rules, or refused by the model for a state of its own, such as no cgroup2 directory).
fn compare(k: &KernelCloneArgs) -> Option<Vec<String>> {
    let (mut kernel, main) = caller();
    // Legacy clone unless a flag only clone3 takes is set (musl's CLONE_DETACHED is legacy
    // only).
    let call = if !k.flags.intersects(CloneFlags::CLONE3_ONLY) {
        CloneCall::Clone {
            flags: k.flags.bits() | k.exit_signal.raw(),
            stack: k.stack,
            parent_tid: k.parent_tid,
            child_tid: k.child_tid,
            tls: k.tls,
        }
    } else {
        CloneCall::Clone3 {
            args: CloneArgs {
                flags: k.flags.bits(),
                pidfd: k.pidfd,
                child_tid: k.child_tid,
                parent_tid: k.parent_tid,
                exit_signal: k.exit_signal.raw(),
                stack: k.stack,
                stack_size: if k.stack != 0 { 0x1000 } else { 0 },
                tls: k.tls,
                ..CloneArgs::default()
            },
            size: CLONE_ARGS_SIZE_VER2 as u64,
            nonzero_tail: false,
        }
    };
    check(&call, &kernel.caller_state(main)).ok()?;
    let child = match kernel.kernel_clone(main, k, &[]).ok()? {
        Syscall::Done(f) => f.child,
        Syscall::Blocked => kernel.vfork_child(main)?,
    };
    let mut differences = Vec::new();
    for r in resources(k).into_iter().filter(|r| MODELLED.contains(&r.resource)) {
        let shared = kernel.shares(main, child, r.resource);
        if (r.sharing == Sharing::Shared) != shared {
            differences.push(format!(
                "{:?}: the table says {} ({}), the model {}",
                r.resource,
                r.sharing,
                r.detail,
                if shared { "shares it" } else { "does not share it" }
            ));
        }
    }
    Some(differences)
}

#[test]
fn the_resource_table_and_the_model_agree_for_every_preset() {
    for preset in Preset::ALL {
        let k = args(preset.flags(), preset.exit_signal());
        match compare(&k) {
            Some(d) => assert!(d.is_empty(), "{preset:?} ({:?}):\n{}", k.flags, d.join("\n")),
            // The model has no cgroup2 directory to spawn into.
            None => {
                assert!(k.flags.contains(CloneFlags::CLONE_INTO_CGROUP), "{preset:?} could not be compared")
            }
        }
    }
}

#[test]
fn the_resource_table_and_the_model_agree_for_10000_random_valid_flag_sets() {
    // xorshift64*, seeded: the same flag sets on every run.
    let mut state = 0x636c_6f6e_656b_6974_u64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let (mut valid, mut tried) = (0, 0);
    while valid < 10_000 {
        tried += 1;
        assert!(tried < 2_000_000, "too few valid flag sets: {valid} of {tried}");
        let bits = next();
        let flags = FLAG_TABLE
            .iter()
            .enumerate()
            .filter(|(i, _)| bits >> (i % 64) & 1 == 1 && next() % 3 == 0)
            .fold(CloneFlags::empty(), |acc, (_, row)| acc | row.flag);
        let exit_signal =
            if flags.contains(CloneFlags::CLONE_THREAD) { ExitSignal::NONE } else { ExitSignal::SIGCHLD };
        let k = args(flags, exit_signal);
        let Some(d) = compare(&k) else { continue };
        assert!(d.is_empty(), "{flags:?}:\n{}", d.join("\n"));
        valid += 1;
    }
}
