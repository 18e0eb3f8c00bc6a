//! `clonekit run` as a user runs it, and side by side with util-linux `unshare(1)` on the
//! options both have: the same observations from inside the child.

use std::collections::BTreeMap;
use std::process::{Command, Output};

fn clonekit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clonekit")).args(args).output().expect("run clonekit")
}

fn have(tool: &str) -> bool {
    Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().is_ok_and(|o| o.status.success())
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

const NAMESPACES: [&str; 8] = ["mnt", "uts", "ipc", "net", "user", "cgroup", "time", "pid"];

/// What the child sees, printed by a shell script that exits with 5.
const PROBE: &str = r#"echo pid=$$; echo uid=$(id -u); echo gid=$(id -g)
for n in mnt uts ipc net user cgroup time pid; do echo ns_$n=$(readlink /proc/self/ns/$n); done
echo map=$(cat /proc/self/uid_map)
echo procs=$(ls /proc | grep -c '^[0-9]')
echo shared=$(grep -c shared: /proc/self/mountinfo)
exit 5"#;

/// The probe's output, with what differs between two runs made comparable: namespaces as
/// "same"/"new" against ours, pids other than 1 as "other", process counts as few/many.
fn observe(out: &Output) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut seen = BTreeMap::new();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else { continue };
        let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
        let v = if let Some(ns) = k.strip_prefix("ns_") {
            let ours = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap().display().to_string();
            if v == ours {
                "same".to_string()
            } else {
                "new".to_string()
            }
        } else if k == "pid" {
            if v == "1" {
                v
            } else {
                "other".to_string()
            }
        } else if k == "procs" {
            // Inside a new pid namespace: the shell, and for a moment its command substitution,
            // ls and grep. Outside: every process and kernel thread of the machine.
            if v.parse::<u32>().unwrap_or(99) <= 10 {
                "few".to_string()
            } else {
                "many".to_string()
            }
        } else {
            v
        };
        seen.insert(k.to_string(), v);
    }
    seen.insert("status".to_string(), format!("{:?}", out.status.code()));
    seen
}

#[test]
fn same_observations_as_unshare() {
    if !have("unshare") || !is_root() {
        eprintln!("skipped same_observations_as_unshare: needs unshare(1) and root");
        return;
    }
    let cases: [(&[&str], &[&str]); 8] = [
        (&[], &[]),
        (&["--new", "pid"], &["--pid"]),
        (&["--new", "mount,uts,ipc,net"], &["--mount", "--uts", "--ipc", "--net"]),
        (&["--map-root-user"], &["--map-root-user"]),
        (&["--new", "user", "-r"], &["--user", "-r"]),
        (&["--new", "cgroup,time"], &["--cgroup", "--time"]),
        (&["--new", "pid,mount", "--mount-proc"], &["--pid", "--mount", "--mount-proc"]),
        (&["-r", "--new", "pid", "--mount-proc"], &["-r", "--pid", "--mount-proc"]),
    ];
    for (ours, theirs) in cases {
        let mut a: Vec<&str> = vec!["run"];
        a.extend_from_slice(ours);
        a.extend_from_slice(&["--", "sh", "-c", PROBE]);
        if ours.iter().any(|o| o.contains("time")) && !clonekit_sys::clone3_supported() {
            // Under a filter refusing clone3 (CI runs the suite under one too), a new time
            // namespace cannot be created at the child's creation: exit 125, saying why.
            let o = clonekit(&a);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(125), "{err}");
            assert!(err.contains("CLONE_NEWTIME needs clone3") && err.lines().count() == 1, "{err}");
            continue;
        }
        let mine = observe(&clonekit(&a));
        // unshare creates the namespaces, then forks the program into them (--fork), which
        // is what our one clone call does.
        let theirs_out =
            Command::new("unshare").arg("--fork").args(theirs).args(["sh", "-c", PROBE]).output().unwrap();
        let reference = observe(&theirs_out);
        assert_eq!(mine, reference, "clonekit run {ours:?} vs unshare --fork {theirs:?}");
        assert_eq!(mine["status"], "Some(5)", "exit status passed through");
        for ns in NAMESPACES {
            assert!(mine.contains_key(&format!("ns_{ns}")), "{mine:?}");
        }
    }
}

#[test]
fn ps_in_new_pid_mount_user_namespaces_sees_only_itself_as_pid_1() {
    if !have("ps") {
        eprintln!("skipped ps_in_new_pid_mount_user_namespaces_sees_only_itself_as_pid_1: no ps");
        return;
    }
    let o =
        clonekit(&["run", "--new", "pid,mount,user", "--map-root-user", "--mount-proc", "--", "ps", "-e"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 1, "only ps itself: {text}");
    assert_eq!((rows[0][0], *rows[0].last().unwrap()), ("1", "ps"), "{text}");
}

#[test]
fn init_reaps_orphans_and_passes_the_status_through() {
    if !is_root() {
        eprintln!("skipped init_reaps_orphans_and_passes_the_status_through: needs root");
        return;
    }
    // The shell leaves an orphan behind (a background sleep whose parent exits at once);
    // clonekit's init is pid 1 and reaps it; the program's status comes back.
    let script = "sh -c 'sleep 0.2 &'; sleep 0.4; ps -o pid=,stat=,comm= -e; exit 6";
    let o = clonekit(&["run", "--init", "--new", "pid,mount", "--mount-proc", "--", "sh", "-c", script]);
    assert_eq!(o.status.code(), Some(6), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split_whitespace().collect()).collect();
    let init = rows.iter().find(|r| r[0] == "1").expect("a pid 1");
    assert_eq!(init[2], "clonekit", "{text}");
    assert!(rows.iter().all(|r| !r[1].starts_with('Z')), "the orphan was reaped: {text}");
    assert!(rows.iter().all(|r| r[2] != "sleep" || r[1].starts_with('S')), "{text}");
}

#[test]
fn exit_statuses_and_signals_are_passed_through() {
    assert_eq!(clonekit(&["run", "--", "sh", "-c", "exit 7"]).status.code(), Some(7));
    assert_eq!(clonekit(&["run", "--", "sh", "-c", "kill -KILL $$"]).status.code(), Some(137));
    let o = clonekit(&["run", "--", "/nonexistent/program"]);
    assert_eq!(o.status.code(), Some(127));
    assert_eq!(String::from_utf8_lossy(&o.stderr).trim(), "clonekit: exec /nonexistent/program: ENOENT");
    assert_eq!(clonekit(&["run", "--", "/etc/passwd"]).status.code(), Some(126), "not executable");
    // A failure before the program ran has its own code, not a missing program's.
    let o = clonekit(&["run", "--cgroup", "/nonexistent/cgroup", "--", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "clonekit: open cgroup /nonexistent/cgroup: ENOENT"
    );
}

#[test]
fn termination_signals_are_forwarded_to_the_child() {
    let mut run = Command::new(env!("CARGO_BIN_EXE_clonekit"))
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "trap 'echo got-TERM; exit 9' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = run.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(run.id() as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!(rest, "got-TERM\n");
    assert_eq!(run.wait().unwrap().code(), Some(9));
}

#[test]
fn bad_run_input_is_one_line_and_exit_2() {
    for args in [
        &["run", "--new", "bogus", "--", "true"][..],
        &["run", "--share", "newpid", "--", "true"],
        &["run", "--flags", "CLONE_BOGUS", "--", "true"],
        &["run"],
    ] {
        let o = clonekit(args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("clonekit: ") && !err.contains("panicked"), "{args:?}: {err}");
    }
}
