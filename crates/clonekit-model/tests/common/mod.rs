//! What the model's tests of the pidfd calls, their versions and setns share: a booted model,
//! a plain clone, a pid as a task sees it.

#![allow(dead_code)]

use clonekit_model::{CloneFlags as F, Kernel, Syscall, TaskId};

/// `SIGCHLD` as a clone's exit signal.
pub const SIGCHLD: u64 = clonekit_flags::ExitSignal::SIGCHLD.raw();

/// The flags glibc's `pthread_create` passes (without the tid and TLS ones).
pub const THREAD: F = F::CLONE_VM
    .union(F::CLONE_FS)
    .union(F::CLONE_FILES)
    .union(F::CLONE_SIGHAND)
    .union(F::CLONE_THREAD)
    .union(F::CLONE_SYSVSEM);

/// The model, following `linux`, with its first task.
pub fn boot_on(linux: clonekit_flags::Version) -> (Kernel, TaskId) {
    let mut k = Kernel::new_on(linux);
    let main = k.spawn_first().unwrap();
    (k, main)
}

/// The model of the latest kernel, with its first task.
pub fn boot() -> (Kernel, TaskId) {
    boot_on(clonekit_flags::LATEST)
}

/// `clone(flags)` by `cur`, with a stack for a `CLONE_VM` child and `SIGCHLD` for a process.
pub fn clone(k: &mut Kernel, cur: TaskId, flags: F) -> TaskId {
    let sp = if flags.contains(F::CLONE_VM) { 0x7d00_0010_0000 } else { 0 };
    let sig = if flags.contains(F::CLONE_THREAD) { 0 } else { SIGCHLD };
    match k.sys_clone(cur, flags.bits() | sig, sp, 0, 0, 0).unwrap() {
        Syscall::Done(f) => f.child,
        Syscall::Blocked => panic!("a plain clone does not block"),
    }
}

/// `t`'s pid as `observer` sees it.
pub fn nr(k: &Kernel, observer: TaskId, t: TaskId) -> i32 {
    k.pid_nr_seen_by(observer, &k.task_pid(t).unwrap())
}
