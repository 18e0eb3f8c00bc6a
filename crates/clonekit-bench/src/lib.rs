//! Side-by-side measurements of process and thread creation: clonekit's `fork`, raw thread
//! and `Command` against glibc's `fork()`, `pthread_create` and `posix_spawn` (through the
//! `libc` crate) and Rust std, in one process and one run, pinned to one CPU and unpinned,
//! and as the parent's touched memory grows. `clonekit bench` prints [`Report`]; the
//! criterion benches (`cargo bench -p clonekit-bench`) time the same [`ops`].
//!
//! Protocol (after the project's performance notes): every operation is complete
//! create + exit + reap; operations are interleaved in rounds so that drift in the machine's
//! load hits all of them alike; each operation is timed one by one, and the median and p99
//! of the pooled samples are reported; ratios compare medians from the same run.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

pub mod memory;
pub mod ops;
pub mod report;
pub mod stats;

use memory::Ballast;
use ops::{GlibcFork, Op, OurFork, OurSpawn, OurThread, PosixSpawn, Program, Pthread, StdCommand, StdThread};
use stats::{Samples, Summary};
use std::io;
use std::path::{Path, PathBuf};

/// What to measure, and how much.
#[derive(Debug, Clone)]
pub struct Config {
    /// Multiplies every iteration count (1.0: the ~30 s quick matrix).
    pub scale: f64,
    /// Parent memory sizes for the sweep, MiB.
    pub sizes_mib: Vec<usize>,
    /// The dynamically linked program (default `/bin/true`).
    pub dynamic: PathBuf,
    /// Where to write the static child (a temporary directory).
    pub workdir: PathBuf,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            scale: 1.0,
            sizes_mib: vec![0, 64, 512, 2048],
            dynamic: PathBuf::from("/bin/true"),
            workdir: std::env::temp_dir().join(format!("clonekit-bench-{}", std::process::id())),
        }
    }
}

/// One operation's result in the fixed-size matrix.
#[derive(Debug, Clone)]
pub struct Row {
    /// `pinned` (parent and children on CPU 0) or `unpinned`.
    pub variant: &'static str,
    /// The operation's name.
    pub op: &'static str,
    /// Its latencies.
    pub summary: Summary,
}

/// One operation's result at one parent memory size.
#[derive(Debug, Clone)]
pub struct SweepRow {
    /// Touched parent memory, MiB.
    pub mib: usize,
    /// The operation's name.
    pub op: &'static str,
    /// Its latencies.
    pub summary: Summary,
}

/// Everything one run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The fixed-size matrix (small parent), both variants.
    pub fixed: Vec<Row>,
    /// The memory sweep (unpinned).
    pub sweep: Vec<SweepRow>,
}

/// Operation names, shared by the matrix, the ratios and the plot.
pub mod names {
    /// clonekit-sys `fork`.
    pub const OUR_FORK: &str = "our fork";
    /// glibc `fork()`.
    pub const GLIBC_FORK: &str = "glibc fork()";
    /// clonekit-sys raw thread.
    pub const OUR_THREAD: &str = "our thread";
    /// glibc `pthread_create` + join.
    pub const PTHREAD: &str = "pthread_create+join";
    /// std thread + join.
    pub const STD_THREAD: &str = "std::thread::spawn+join";
    /// `clonekit::Command`, `/bin/true`.
    pub const OUR_SPAWN_TRUE: &str = "our spawn /bin/true";
    /// glibc `posix_spawn`, `/bin/true`.
    pub const POSIX_SPAWN_TRUE: &str = "glibc posix_spawn /bin/true";
    /// std `Command`, `/bin/true`.
    pub const STD_COMMAND_TRUE: &str = "std Command /bin/true";
    /// `clonekit::Command`, static child.
    pub const OUR_SPAWN_STATIC: &str = "our spawn static";
    /// glibc `posix_spawn`, static child.
    pub const POSIX_SPAWN_STATIC: &str = "glibc posix_spawn static";
    /// std `Command`, static child.
    pub const STD_COMMAND_STATIC: &str = "std Command static";
    /// `clonekit::Command` with a vfork-path pre-exec hook, uid/gid and new UTS+IPC namespaces.
    pub const OUR_SPAWN_LOADED: &str = "our spawn /bin/true +pre_exec_vfork,uid/gid,newuts+ipc";
    /// The same for an ordinary user, who gets new UTS+IPC namespaces with a user namespace
    /// of its own, mapped to root (instead of changing uid/gid).
    pub const OUR_SPAWN_LOADED_USERNS: &str = "our spawn /bin/true +pre_exec_vfork,newuser+uts+ipc,map root";
    /// `clonekit::Command` with std's `pre_exec` (the fork path, as std).
    pub const OUR_PRE_EXEC: &str = "our spawn /bin/true +pre_exec (fork)";
    /// std `Command` with `pre_exec` (its fork path).
    pub const STD_PRE_EXEC: &str = "std Command /bin/true +pre_exec (fork)";
}

/// A named operation and how many times to run it at scale 1.
struct Entry {
    name: &'static str,
    iters: usize,
    op: Box<dyn Op>,
}

/// Runs `entries` interleaved in `rounds`, after a short warm-up.
fn measure(entries: &mut [Entry], scale: f64, rounds: usize) -> io::Result<Vec<(&'static str, Summary)>> {
    let mut samples: Vec<Samples> = entries.iter().map(|_| Samples::default()).collect();
    for e in entries.iter_mut() {
        for _ in 0..(e.iters / 50).clamp(1, 20) {
            e.op.run()?;
        }
    }
    for _ in 0..rounds {
        for (e, s) in entries.iter_mut().zip(samples.iter_mut()) {
            let n = ((e.iters as f64 * scale) as usize / rounds).max(2);
            for _ in 0..n {
                s.time(|| e.op.run())?;
            }
        }
    }
    Ok(entries.iter().zip(samples).map(|(e, s)| (e.name, s.summary())).collect())
}

fn fixed_entries(dynamic: &Program, static_child: &Program) -> Vec<Entry> {
    use names::*;
    let e = |name, iters, op: Box<dyn Op>| Entry { name, iters, op };
    vec![
        e(OUR_FORK, 2000, Box::new(OurFork)),
        e(GLIBC_FORK, 2000, Box::new(GlibcFork)),
        e(OUR_THREAD, 4000, Box::new(OurThread)),
        e(PTHREAD, 4000, Box::new(Pthread)),
        e(STD_THREAD, 4000, Box::new(StdThread)),
        e(OUR_SPAWN_TRUE, 600, Box::new(OurSpawn::new(dynamic))),
        e(POSIX_SPAWN_TRUE, 600, Box::new(PosixSpawn::new(dynamic))),
        e(STD_COMMAND_TRUE, 600, Box::new(StdCommand::new(dynamic))),
        e(OUR_SPAWN_STATIC, 2000, Box::new(OurSpawn::new(static_child))),
        e(POSIX_SPAWN_STATIC, 2000, Box::new(PosixSpawn::new(static_child))),
        e(STD_COMMAND_STATIC, 2000, Box::new(StdCommand::new(static_child))),
    ]
}

fn sweep_entries(dynamic: &Program, mib: usize) -> Vec<Entry> {
    use names::*;
    // Fork-based operations cost ~30 ms/GiB here: fewer of them as memory grows.
    let forky = (400 / (1 + mib / 16)).max(12);
    let e = |name, iters, op: Box<dyn Op>| Entry { name, iters, op };
    let mut entries = vec![
        e(GLIBC_FORK, forky, Box::new(GlibcFork)),
        e(OUR_FORK, forky, Box::new(OurFork)),
        e(STD_PRE_EXEC, forky, Box::new(StdCommand::with_pre_exec(dynamic))),
        e(OUR_PRE_EXEC, forky, Box::new(OurSpawn::with_pre_exec(dynamic))),
        e(POSIX_SPAWN_TRUE, 300, Box::new(PosixSpawn::new(dynamic))),
        e(OUR_SPAWN_TRUE, 300, Box::new(OurSpawn::new(dynamic))),
    ];
    // The loaded spawn needs CAP_SYS_ADMIN for its namespaces: root has it, an ordinary user
    // gets it in a user namespace of its own, and without either the row is left out (and
    // said so by `run`).
    if rustix::process::geteuid().is_root() {
        entries.push(e(OUR_SPAWN_LOADED, 300, Box::new(OurSpawn::loaded(dynamic))));
    } else if clonekit_probe::privilege::privilege().has_caps() {
        entries.push(e(OUR_SPAWN_LOADED_USERNS, 300, Box::new(OurSpawn::loaded_in_user_namespace(dynamic))));
    }
    entries
}

/// Pins the calling thread (and so the children it creates) to CPU 0; the guard restores
/// the previous affinity.
struct Pinned(rustix::thread::CpuSet);

impl Pinned {
    fn cpu0() -> io::Result<Pinned> {
        let old = rustix::thread::sched_getaffinity(None)?;
        let mut one = rustix::thread::CpuSet::new();
        one.set(0);
        rustix::thread::sched_setaffinity(None, &one)?;
        Ok(Pinned(old))
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        let _ = rustix::thread::sched_setaffinity(None, &self.0);
    }
}

/// Writes the static no-libc child (`exit(0)`) into `dir`.
pub fn static_child(dir: &Path) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("exit0");
    clonekit_probe::elf::write_tiny_exit(&path, 0)?;
    Ok(path)
}

/// Runs the whole matrix; `progress` hears about each phase.
pub fn run(config: &Config, progress: &mut dyn FnMut(&str)) -> io::Result<Report> {
    let static_path = static_child(&config.workdir)?;
    let result = run_with(config, &static_path, progress);
    let _ = std::fs::remove_dir_all(&config.workdir);
    result
}

fn run_with(config: &Config, static_path: &Path, progress: &mut dyn FnMut(&str)) -> io::Result<Report> {
    let dynamic = Program::new(&config.dynamic);
    let static_child = Program::new(static_path);
    let mut report = Report::default();
    for variant in ["unpinned", "pinned"] {
        progress(&format!("fixed-size matrix, {variant}"));
        let _pin = if variant == "pinned" { Some(Pinned::cpu0()?) } else { None };
        let mut entries = fixed_entries(&dynamic, &static_child);
        for (op, summary) in measure(&mut entries, config.scale, 5)? {
            report.fixed.push(Row { variant, op, summary });
        }
    }
    for &mib in &config.sizes_mib {
        progress(&format!("parent memory {mib} MiB"));
        let ballast = Ballast::new(mib)?;
        let mut entries = sweep_entries(&dynamic, ballast.mib());
        for (op, summary) in measure(&mut entries, config.scale, 3)? {
            report.sweep.push(SweepRow { mib, op, summary });
        }
        drop(ballast);
    }
    Ok(report)
}
