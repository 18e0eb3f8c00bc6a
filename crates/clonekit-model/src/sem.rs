//! System V semaphore undo lists (ipc/sem.c): what `CLONE_SYSVSEM` shares.

/// `struct sem_undo_list`: the semaphore adjustments applied when its last user exits. The
/// model has no semaphore operations, so the list stays empty; what matters is who shares it.
#[derive(Debug, Default)]
pub struct SemUndoList {
    /// Adjustments (semaphore id, semadj) that `exit_sem` would apply.
    pub adjustments: Vec<(u32, i32)>,
}
