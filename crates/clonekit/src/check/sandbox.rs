//! Cases that need `CAP_SYS_ADMIN`, for a caller without it: run where an ordinary user gets
//! it, in a user namespace of its own mapped to root (with pid, mount, UTS and IPC namespaces
//! it owns, under a small init), or skipped by name with the reason.
//!
//! The case runs in `clonekit check --case NAME --json` re-executed there, so it runs exactly
//! as it would for root, from a clean process: the rules' predictions read that process's
//! own caller state.

use clonekit_flags::{CloneFlags, Privilege};
use clonekit_sys::process::{Command, Stdio};

use super::harness::{Case, Observation, Status};

/// The namespaces the re-executed case gets, besides its user namespace: its own pids (so it
/// is not the init of its namespace, a small init is), mounts (made private, for `chroot`),
/// host name and SysV IPC.
const SANDBOX: CloneFlags = CloneFlags::CLONE_NEWUSER
    .union(CloneFlags::CLONE_NEWPID)
    .union(CloneFlags::CLONE_NEWNS)
    .union(CloneFlags::CLONE_NEWUTS)
    .union(CloneFlags::CLONE_NEWIPC);

/// Replaces the run of every case that needs capabilities this process lacks: in a user
/// namespace of its own when `privilege` allows one, else a skip naming what is missing. A
/// case that creates a user namespace where the kernel refuses one is skipped too.
pub fn adapt(cases: &mut [Case], privilege: Privilege) {
    if !clonekit_probe::privilege::has_cap_sys_admin() {
        for case in cases.iter_mut().filter(|c| c.needs_caps) {
            let key = format!("{} {}", case.group, case.name);
            case.run = match privilege.lacks_caps() {
                None => Box::new(move || in_own_user_namespace(&key)),
                Some(why) => Box::new(move || Observation::skip(why.clone())),
            };
        }
    }
    if let Some(errno) = clonekit_probe::privilege::user_ns_refusal() {
        let why = format!("creates a user namespace, which the kernel refuses here ({})", errno.name());
        for case in cases.iter_mut().filter(|c| c.needs_user_ns) {
            let why = why.clone();
            case.run = Box::new(move || Observation::skip(why.clone()));
        }
    }
}

/// Runs the case named `key` (`GROUP NAME`) in a user namespace of its own.
fn in_own_user_namespace(key: &str) -> Observation {
    let me = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return Observation::error(format!("cannot find clonekit itself: {e}")),
    };
    let out = Command::new(&me)
        .args(["run-init", "--"])
        .arg(&me)
        .args(["check", "--quiet", "--json", "--case", key])
        // The same kernel version for the model as this check's.
        .args(["--linux", &{
            let (major, minor) = super::model_linux();
            format!("{major}.{minor}")
        }])
        .namespaces(SANDBOX)
        .map_root_user()
        .make_mounts_private()
        .signal_mask(&[])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => return Observation::error(format!("cannot enter a user namespace of its own: {e}")),
    };
    let doc: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(d) => d,
        Err(_) => {
            let err = String::from_utf8_lossy(&out.stderr);
            return Observation::error(format!(
                "in a user namespace of its own: {} {}",
                out.status,
                err.lines().last().unwrap_or("")
            ));
        }
    };
    let Some(case) = doc["cases"].as_array().and_then(|c| c.first()) else {
        return Observation::error("in a user namespace of its own: no result");
    };
    let observed = case["observed"].as_str().unwrap_or("-");
    let status = match case["status"].as_str() {
        Some("pass") => Status::Pass,
        Some("skipped") => Status::Skip(case["skip_reason"].as_str().unwrap_or("-").to_string()),
        _ => Status::Fail,
    };
    Observation {
        observed: format!("{observed} (as root of a user namespace of its own)"),
        status,
        scenario: None,
    }
}
