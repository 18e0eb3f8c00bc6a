//! `cargo bench -p clonekit-bench`: the operations of `clonekit bench`, under criterion.

use clonekit_bench::ops::{
    GlibcFork, Op, OurFork, OurSpawn, OurThread, PosixSpawn, Program, Pthread, StdCommand, StdThread,
};
use criterion::{criterion_group, criterion_main, Criterion};
use std::path::Path;

fn bench_op(c: &mut Criterion, group: &str, name: &str, op: &mut dyn Op) {
    c.benchmark_group(group).bench_function(name, |b| b.iter(|| op.run().expect("operation")));
}

fn creation(c: &mut Criterion) {
    bench_op(c, "fork", "ours", &mut OurFork);
    bench_op(c, "fork", "glibc fork()", &mut GlibcFork);
    bench_op(c, "thread", "ours", &mut OurThread);
    bench_op(c, "thread", "pthread_create+join", &mut Pthread);
    bench_op(c, "thread", "std::thread::spawn+join", &mut StdThread);
    let dir = std::env::temp_dir().join(format!("clonekit-criterion-{}", std::process::id()));
    let static_path = clonekit_bench::static_child(&dir).expect("static child");
    for (group, path) in
        [("spawn /bin/true", Path::new("/bin/true")), ("spawn static", static_path.as_path())]
    {
        let p = Program::new(path);
        bench_op(c, group, "ours", &mut OurSpawn::new(&p));
        bench_op(c, group, "ours +pre_exec_vfork,uid/gid,newuts+ipc", &mut OurSpawn::loaded(&p));
        bench_op(c, group, "ours +pre_exec (fork)", &mut OurSpawn::with_pre_exec(&p));
        bench_op(c, group, "glibc posix_spawn", &mut PosixSpawn::new(&p));
        bench_op(c, group, "std Command", &mut StdCommand::new(&p));
        bench_op(c, group, "std Command +pre_exec", &mut StdCommand::with_pre_exec(&p));
    }
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2));
    targets = creation
}
criterion_main!(benches);
