//! Every scenario in `scenarios/` on the real kernel and on the model: the transcripts must
//! be the same. Then a scenario whose step times out on the kernel backend; afterwards no
//! task, zombie or fd of any run may be left. A test binary with its own `main`, because
//! the `execve` operation re-executes this very program as the task's agent.

use std::path::PathBuf;

use clonekit_scenario::{parse, run, KernelBackend, ModelBackend};

fn main() {
    clonekit_probe::agent::enter_if_agent();
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    // `open`: the open disagreements kept in scenarios-open/ instead.
    let (sub, only) = match only.as_deref() {
        Some("open") => ("scenarios-open", None),
        _ => ("scenarios", only),
    };
    let fds_before = open_fds();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    files.sort();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    // Where a seccomp filter (a container's profile) or an old kernel refuses clone3, the
    // scenarios with a clone3 step cannot run on the kernel: skipped by name.
    let clone3 = clonekit_probe::probe_clone3().map_err(|e| {
        let name = clonekit_flags::Errno::from_raw(e.raw_os_error()).map_or("?", |e| e.name());
        format!("which is refused here ({name})")
    });
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let scenario = parse(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        if let Err(why) = &clone3 {
            if scenario.uses_clone3() {
                println!("skip {name}: needs clone3, {why}");
                skipped += 1;
                continue;
            }
        }
        let linux = KernelBackend::linux();
        if let Some(why) = scenario.not_written_for(linux) {
            println!("skip {name}: {why}, this kernel's");
            skipped += 1;
            continue;
        }
        let caller = KernelBackend::caller();
        if scenario.needs_caps() && !caller.has_caps() {
            println!(
                "skip {name}: needs CAP_SYS_ADMIN (namespaces, host names, kill -1) and this caller is {}",
                caller.describe()
            );
            skipped += 1;
            continue;
        }
        if let Some(why) = scenario
            .lacks_uids(caller)
            .or_else(|| scenario.lacks_new_privs(clonekit_probe::privilege::no_new_privs()))
        {
            println!("skip {name}: {why}");
            skipped += 1;
            continue;
        }
        if scenario.sets_limits() {
            if let Some(why) = KernelBackend::limits_unsupported() {
                println!("skip {name}: {why}");
                skipped += 1;
                continue;
            }
        }
        let model = run(
            &scenario,
            &mut ModelBackend::for_caller_on(KernelBackend::caller(), linux).like_this_process(),
        )
        .unwrap_or_else(|e| panic!("{name}: model: {e}"));
        let kernel = match run(&scenario, &mut KernelBackend::new()) {
            Ok(t) => t,
            Err(e) => {
                println!("FAIL {name}: kernel: {e}");
                failed += 1;
                continue;
            }
        };
        let (m, k) = (model.to_string(), kernel.to_string());
        if clonekit_scenario::first_disagreement(&model, &kernel).is_none() {
            passed += 1;
            println!("ok   {name}");
        } else {
            failed += 1;
            println!("FAIL {name}: the transcripts differ");
            for (a, b) in m.lines().zip(k.lines()) {
                if a != b {
                    println!("  model:  {a}\n  kernel: {b}");
                }
            }
            if m.lines().count() != k.lines().count() {
                println!("  model has {} lines, kernel {}", m.lines().count(), k.lines().count());
            }
        }
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    if failed > 0 {
        std::process::exit(1);
    }
    if sub == "scenarios" && only.is_none() {
        a_timed_out_step_leaves_nothing_behind(&fds_before);
    }
}

/// The fds this process has open, by number.
fn open_fds() -> Vec<String> {
    let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    fds.sort();
    fds
}

/// Processes whose parent is this one, live or zombie.
fn children() -> Vec<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let rest = stat.rsplit_once(") ")?.1;
            let mut fields = rest.split_whitespace();
            let state = fields.next()?;
            let ppid = fields.next()?;
            (ppid == me).then(|| format!("{} ({state})", e.file_name().to_string_lossy()))
        })
        .collect()
}

fn a_timed_out_step_leaves_nothing_behind(fds_before: &[String]) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/step_times_out.scn");
    let text = std::fs::read_to_string(&path).unwrap();
    let scenario = parse("step_times_out.scn", &text).unwrap_or_else(|e| panic!("{e}"));
    let fifo = "/tmp/clonekit-step-times-out.fifo";
    let _ = std::fs::remove_file(fifo);
    let made = std::process::Command::new("mkfifo").arg(fifo).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {fifo}");
    let result = run(&scenario, &mut KernelBackend::new());
    let _ = std::fs::remove_file(fifo);
    match result {
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("did not finish, block or end within"), "{e}");
            println!("ok   step_times_out.scn: {e}");
        }
        Ok(t) => println!("ok   step_times_out.scn: the kernel backend followed it after all:\n{t}"),
    }
    let left = children();
    assert!(left.is_empty(), "tasks left behind: {left:?}");
    assert_eq!(open_fds(), fds_before, "fds left open");
    println!("ok   no task, zombie or fd left behind");
}
