//! The model's speed: fork + exit + wait cycles per second, and copy-on-write for real: forking
//! a task with 262,144 touched pages (1 GiB) against forking one with a single page.

use std::hint::black_box;
use std::time::Duration;

use clonekit_model::{Kernel, Syscall, TaskId, PAGE_SIZE};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

/// A booted model with its first task.
fn boot() -> (Kernel, TaskId) {
    let mut k = Kernel::new();
    let main = k.spawn_first().expect("first task");
    (k, main)
}

/// One fork, the child's exit, the parent's wait.
fn cycle(k: &mut Kernel, parent: TaskId) {
    let Ok(Syscall::Done(f)) = k.sys_fork(parent) else { panic!("fork failed") };
    k.sys_exit(f.child, 0).expect("exit");
    let Ok(Syscall::Done(Some(w))) = k.sys_wait4(parent, f.nr, 0) else { panic!("wait failed") };
    black_box(w);
}

fn fork_exit_wait(c: &mut Criterion) {
    let mut g = c.benchmark_group("model");
    g.throughput(Throughput::Elements(1));
    let (mut k, main) = boot();
    g.bench_function("fork_exit_wait", |b| b.iter(|| cycle(&mut k, main)));
    g.finish();
}

/// A task whose address space has `pages` touched pages.
fn with_pages(pages: u64) -> (Kernel, TaskId) {
    let (mut k, main) = boot();
    for i in 0..pages {
        k.store(main, 0x1000_0000 + i * PAGE_SIZE, i as u32 + 1).expect("store");
    }
    (k, main)
}

fn cow_fork(c: &mut Criterion) {
    let mut g = c.benchmark_group("cow_fork");
    g.measurement_time(Duration::from_secs(5));
    for pages in [1u64, 262_144] {
        let (mut k, main) = with_pages(pages);
        g.bench_function(format!("{pages}_pages"), |b| {
            b.iter_batched(
                || (),
                |()| {
                    let Ok(Syscall::Done(f)) = k.sys_fork(main) else { panic!("fork failed") };
                    k.sys_exit(f.child, 0).expect("exit");
                    let _ = k.sys_wait4(main, f.nr, 0);
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, fork_exit_wait, cow_fork);
criterion_main!(benches);
