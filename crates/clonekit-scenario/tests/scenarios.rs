//! Every scenario in `scenarios/` runs on the model, and every expectation holds.

use std::path::PathBuf;

use clonekit_flags::Privilege;
use clonekit_scenario::{parse, run, run_file_on_model, ModelBackend};

/// A version the scenario is written for, and, where its `# linux:` boundary is a change the
/// model follows (clonekit_flags::CHANGES), one it is not written for. (A boundary the model
/// does not follow yet marks what the scenario needs of the kernel, not a modelled change.)
/// The release before a boundary is the newest one without any change made there (a change
/// backported to an older series is present in that series).
fn versions(s: &clonekit_scenario::Scenario) -> (clonekit_flags::Version, Option<clonekit_flags::Version>) {
    use clonekit_scenario::LinuxRange;
    // The changes made at release `v`: there first, or backported to its series.
    let changes_at = |v: clonekit_flags::Version| {
        clonekit_flags::CHANGES.iter().filter(move |c| c.since == v || c.backported.contains(&v))
    };
    let below = |v: clonekit_flags::Version| {
        clonekit_flags::releases()
            .take_while(|r| *r < v)
            .filter(|r| changes_at(v).all(|c| !c.present_in(*r)))
            .last()
            .expect("a release before it")
    };
    let modelled = |v: clonekit_flags::Version| changes_at(v).next().is_some();
    match &s.linux {
        None => (clonekit_flags::LATEST, None),
        // Several ranges (a backport): the newest release inside, and the newest outside.
        Some(any @ LinuxRange::Any(_)) => {
            let newest =
                |inside: bool| clonekit_flags::releases().filter(|r| any.contains(*r) == inside).last();
            (newest(true).expect("a release inside"), newest(false))
        }
        Some(LinuxRange::AtLeast(v)) => (clonekit_flags::LATEST, modelled(*v).then(|| below(*v))),
        Some(LinuxRange::Before(v)) => (below(*v), modelled(*v).then_some(clonekit_flags::LATEST)),
        Some(LinuxRange::Between(from, to)) => {
            let (from, to) = (*from, *to);
            let outside = if modelled(to) { Some(to) } else { modelled(from).then(|| below(from)) };
            (below(to).max(from), outside)
        }
    }
}

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
    let mut versioned = 0;
    let mut unchanged = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let scenario = parse(&f.display().to_string(), &text).unwrap_or_else(|e| panic!("{e}"));
        // On the model told a kernel version it is written for (`# linux:`), and, for a
        // scenario of a behaviour that changed, not passing on a version it is not for.
        let (inside, outside) = versions(&scenario);
        let t = run(&scenario, &mut ModelBackend::for_caller_on(Privilege::ROOT, inside))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(t.checked > 0, "{} checks nothing", f.display());
        if !t.passed() {
            failed.push(t.to_string());
        }
        if let Some(v) = outside {
            let other = run(&scenario, &mut ModelBackend::for_caller_on(Privilege::ROOT, v));
            if other.is_err() || !other.as_ref().unwrap().passed() {
                versioned += 1;
            } else {
                unchanged.push(format!("{} passes on Linux {}.{} too", f.display(), v.0, v.1));
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    // Both sides of each change the model follows (58/142, 62/141, 119/143, 120/145,
    // 121/144, 122/146, …) give other results on a release they are not written for.
    assert!(unchanged.is_empty(), "{}", unchanged.join("\n"));
    assert!(versioned >= 16, "scenarios whose outcome the model's version changes: {versioned}");
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
