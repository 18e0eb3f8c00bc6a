//! std-contract `pre_exec` hooks (a forked child) beside the program's own panics and panic
//! hook. A test binary of its own (no harness), because it sets the process's panic hook.
//!
//! - Another thread panicking while children are forked: the child runs its plan from the
//!   panic hook, which it only reads, so a hook lock that thread held at the fork cannot
//!   hold the child up (with `set_hook` in the child, it waited for ever).
//! - The program's own hook keeps being called for its own panics (all but those that fall,
//!   as with any `take_hook`/`set_hook` pair, in the instant each forked spawn checks that
//!   the dispatcher is still the hook: those get std's default hook).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clonekit_sys::os::unix::process::{CommandExt, ExitStatusExt};
use clonekit_sys::process::{Command, Stdio};

static OWN_HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

fn main() {
    // A hang is the failure this test exists for: end it with a message instead.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(60));
        eprintln!("forked_hooks: a forked child did not finish within 60 s");
        // The stuck child would keep the test's output open: end it first.
        let me = std::process::id().to_string();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let ppid = stat.rsplit_once(") ").and_then(|(_, rest)| rest.split_whitespace().nth(1));
            if ppid == Some(me.as_str()) {
                if let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() {
                    // SAFETY: kill(2) with integer arguments.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                }
            }
        }
        std::process::exit(1);
    });
    // The program's hook takes its time, so that the other thread is inside it (holding the
    // hook's lock for reading) at most of the forks.
    std::panic::set_hook(Box::new(|_| {
        OWN_HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_micros(50));
    }));

    // The first forked spawn puts clonekit's dispatcher in front of the program's hook.
    spawn_with_hook("first").expect("first spawn");

    let stop = Arc::new(AtomicBool::new(false));
    let panicker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let _ = std::panic::catch_unwind(|| panic!("a panic of the program's own"));
                n += 1;
            }
            n
        })
    };
    for i in 0..200 {
        spawn_with_hook(&i.to_string()).unwrap();
    }
    // A panicking hook still kills only its child, with SIGABRT.
    let mut cmd = Command::new("/bin/true");
    cmd.stderr(Stdio::null());
    // SAFETY: the hook panics, which std's contract allows (the child aborts).
    unsafe { cmd.pre_exec(|| panic!("crash now!")) };
    assert_eq!(cmd.status().unwrap().signal(), Some(libc::SIGABRT));
    stop.store(true, Ordering::SeqCst);
    let panics = panicker.join().unwrap();
    assert!(panics > 0);
    let calls = OWN_HOOK_CALLS.load(Ordering::SeqCst);
    assert_eq!(calls, panics, "every panic of the other thread reached the program's own hook");

    // The program replaces its hook: forked spawns go on working, and its panics reach the
    // new hook.
    static NEW_HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);
    std::panic::set_hook(Box::new(|_| {
        NEW_HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));
    for i in 0..3 {
        spawn_with_hook(&format!("after set_hook {i}")).unwrap();
    }
    let _ = std::panic::catch_unwind(|| panic!("one more"));
    assert_eq!(NEW_HOOK_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(OWN_HOOK_CALLS.load(Ordering::SeqCst), calls);
    println!(
        "forked_hooks: 200 forked spawns beside {panics} panics of another thread, all at its own hook: ok"
    );
}

/// `/bin/true` with a std-contract hook that does nothing.
fn spawn_with_hook(what: &str) -> Result<(), String> {
    let mut cmd = Command::new("/bin/true");
    // SAFETY: the hook makes no call at all.
    unsafe { cmd.pre_exec(|| Ok(())) };
    let st = cmd.status().map_err(|e| format!("spawn {what}: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("spawn {what}: {st}"))
    }
}
