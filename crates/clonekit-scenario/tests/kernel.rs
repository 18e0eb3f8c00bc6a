//! Every scenario in `scenarios/` on the real kernel and on the model: the transcripts must
//! be the same. A test binary with its own `main`, because the `execve` operation
//! re-executes this very program as the task's agent.

use std::path::PathBuf;

use clonekit_scenario::{parse, run, KernelBackend, ModelBackend};

fn main() {
    clonekit_sys::agent::enter_if_agent();
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    // `open`: the open disagreements kept in scenarios-open/ instead.
    let (sub, only) = match only.as_deref() {
        Some("open") => ("scenarios-open", None),
        _ => ("scenarios", only),
    };
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(sub);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "scn"))
        .collect();
    files.sort();
    let (mut passed, mut failed) = (0, 0);
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let scenario = parse(&name, &text).unwrap_or_else(|e| panic!("{e}"));
        let model = run(&scenario, &mut ModelBackend::new()).unwrap_or_else(|e| panic!("{name}: model: {e}"));
        let kernel = match run(&scenario, &mut KernelBackend::new()) {
            Ok(t) => t,
            Err(e) => {
                println!("FAIL {name}: kernel: {e}");
                failed += 1;
                continue;
            }
        };
        let (m, k) = (model.to_string(), kernel.to_string());
        if m == k {
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
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
