//! Every scenario in `scenarios/` runs on the model, and every expectation holds.

use std::path::PathBuf;

use clonekit_scenario::run_file_on_model;

#[test]
fn every_scenario_passes_on_the_model() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "scn"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "only {} scenarios", files.len());
    let mut failed = Vec::new();
    for f in &files {
        let t = run_file_on_model(f).unwrap_or_else(|e| panic!("{e}"));
        assert!(t.checked > 0, "{} checks nothing", f.display());
        if !t.passed() {
            failed.push(t.to_string());
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn the_seed_examples_come_first() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let fork = run_file_on_model(&dir.join("00_glibc_fork_copies_mm.scn")).unwrap();
    let thread = run_file_on_model(&dir.join("01_pthread_create_shares_mm.scn")).unwrap();
    assert!(fork.passed() && thread.passed());
    assert!(fork.title.unwrap().contains("fork"));
    assert!(thread.title.unwrap().contains("pthread_create"));
}
