//! `clonekit check` for callers without root: an ordinary user (whose cases that need
//! `CAP_SYS_ADMIN` run in a user namespace of its own), and an ordinary user who may not
//! create user namespaces (`user.max_user_namespaces` = 0, set in a user namespace made for
//! the test), whose cases that need either are skipped by name. Both must exit 0 with no
//! failure. Building those callers needs root: without it the test is skipped by name (the
//! whole suite run as an ordinary user covers the first case).

use std::os::unix::fs::PermissionsExt;

use clonekit::os::unix::process::CommandExt;
use clonekit::process::{Command, IdMap, Stdio};
use clonekit::CloneFlags;

const NOBODY: u32 = 65534;

fn check(cmd: &mut Command) -> serde_json::Value {
    let out =
        cmd.args(["check", "--quiet", "--json"]).stdin(Stdio::null()).output().expect("run clonekit check");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr)));
    assert!(out.status.success(), "{}: {}", out.status, doc["summary"]);
    assert_eq!(doc["summary"]["failed"], 0, "{}", doc["summary"]);
    doc
}

fn case<'a>(doc: &'a serde_json::Value, group: &str, name: &str) -> &'a serde_json::Value {
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["group"] == group && c["case"].as_str().is_some_and(|n| n.starts_with(name)))
        .unwrap_or_else(|| panic!("no case {group} {name}"))
}

/// Whether `nobody` can run the binary (a checkout in a private directory cannot be).
fn reachable_by_nobody(path: &std::path::Path) -> bool {
    path.ancestors().skip(1).all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

fn main() {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_clonekit"));
    if !rustix::process::geteuid().is_root() {
        println!("skipped unprivileged: making an ordinary user's process needs root");
        return;
    }
    if !reachable_by_nobody(&exe) {
        println!("skipped unprivileged: {} is not reachable by an ordinary user", exe.display());
        return;
    }

    // An ordinary user.
    let doc = check(Command::new(&exe).current_dir("/").uid(NOBODY).gid(NOBODY).groups(&[]));
    match clonekit_probe::privilege::user_ns_refusal() {
        None => {
            let c = case(&doc, "flag", "CLONE_NEWPID");
            assert_eq!(c["status"], "pass", "{c}");
            assert!(
                c["observed"].as_str().unwrap().ends_with("(as root of a user namespace of its own)"),
                "{c}"
            );
        }
        Some(e) => {
            println!("user namespaces are refused here ({}): only the second caller is checked", e.name())
        }
    }
    println!("ordinary user: {}", doc["summary"]);

    // An ordinary user who may not create user namespaces: in a user namespace mapping root
    // and nobody to themselves, whose user.max_user_namespaces is 0.
    let map =
        [IdMap { inside: 0, outside: 0, count: 1 }, IdMap { inside: NOBODY, outside: NOBODY, count: 1 }];
    let mut cmd = Command::new(&exe);
    cmd.current_dir("/").namespaces(CloneFlags::CLONE_NEWUSER).uid_map(&map).gid_map(&map);
    // SAFETY: the hook runs in a forked child of this single-threaded program (no lock can be
    // held by another thread, so it may allocate), and makes system calls that change only
    // that child.
    unsafe {
        cmd.pre_exec(|| {
            std::fs::write("/proc/sys/user/max_user_namespaces", "0")?;
            rustix::thread::set_thread_groups(&[])?;
            let (g, u) = (rustix::process::Gid::from_raw(NOBODY), rustix::process::Uid::from_raw(NOBODY));
            rustix::thread::set_thread_res_gid(g, g, g)?;
            rustix::thread::set_thread_res_uid(u, u, u)?;
            Ok(())
        })
    };
    let doc = check(&mut cmd);
    let c = case(&doc, "flag", "CLONE_NEWUSER");
    assert_eq!(c["status"], "skipped", "{c}");
    assert!(c["skip_reason"].as_str().unwrap().contains("refuses here (ENOSPC)"), "{c}");
    let c = case(&doc, "flag", "CLONE_NEWPID");
    assert_eq!(c["status"], "skipped", "{c}");
    assert!(c["skip_reason"].as_str().unwrap().contains("may not create a user namespace here"), "{c}");
    println!("ordinary user without user namespaces: {}", doc["summary"]);
}
