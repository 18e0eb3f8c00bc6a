//! `clonekit trace` against strace itself: the same workloads under
//! `strace -f -e trace=process -o FILE` and `clonekit trace -o FILE` must give the same lines
//! once pids (by order of appearance), addresses, env counts, CPU ticks and timing-dependent
//! splits (`<unfinished ...>`/`<... X resumed>`, restarted waits) are normalized. Then
//! `--tree` and `--json` on the same workloads, exit statuses, errors, Ctrl-C and `-p`.
//!
//! The C workloads (crates/clonekit-trace/tests/workloads) are built here with gcc; without
//! gcc or strace the cases that need them say so and are skipped by name.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const CK: &str = env!("CARGO_BIN_EXE_clonekit");

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

fn workloads_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clonekit-trace/tests/workloads")
}

/// Builds the C workloads once per test binary; `None` (and a note) without gcc.
fn build() -> Option<PathBuf> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        if !have("gcc") {
            eprintln!("skipped: C workloads (no C compiler: gcc)");
            return None;
        }
        let out = std::env::temp_dir().join(format!("clonekit-trace-wl-{}", std::process::id()));
        std::fs::create_dir_all(&out).unwrap();
        for entry in std::fs::read_dir(workloads_dir()).unwrap() {
            let src = entry.unwrap().path();
            if src.extension().and_then(|e| e.to_str()) != Some("c") {
                continue;
            }
            let bin = out.join(src.file_stem().unwrap());
            let st =
                Command::new("gcc").args(["-O1", "-pthread", "-o"]).arg(&bin).arg(&src).status().unwrap();
            assert!(st.success(), "gcc {}", src.display());
        }
        Some(out)
    })
    .clone()
}

/// The differential workloads: name and argv (C programs by name in the build dir).
fn workloads(dir: &Path) -> Vec<(&'static str, Vec<String>)> {
    let c = |n: &str| dir.join(n).display().to_string();
    let sh = |s: &str| vec!["/bin/sh".to_string(), "-c".to_string(), s.to_string()];
    vec![
        ("sh pipeline", sh("echo a | cat | wc -l >/dev/null")),
        ("sh background jobs", sh("/bin/true & /bin/true & wait")),
        ("sh exit status", sh("/bin/true; exit 3")),
        ("pthreads", vec![c("pthreads"), "4".into()]),
        ("vfork", vec![c("vfork")]),
        ("posix_spawn", vec![c("posix_spawn")]),
        ("clone3 with CLONE_PIDFD", vec![c("clone3_pidfd")]),
        ("children killed by signals", vec![c("killed")]),
        ("exec from a non-leader thread", vec![c("exec_thread")]),
        ("raw clone with unusual exit signals", vec![c("exit_signal")]),
        ("CLONE_UNTRACED child", vec![c("untraced")]),
        ("group-stop", vec![c("group_stop")]),
    ]
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("clonekit-trace-{}-{}", std::process::id(), name.replace(' ', "_")))
}

fn run_clonekit(extra: &[&str], argv: &[String], out: &Path) -> std::process::Output {
    Command::new(CK)
        .arg("trace")
        .args(extra)
        .arg("-o")
        .arg(out)
        .arg("--")
        .args(argv)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Splits `PID  rest` (`-o` format).
fn split_pid(line: &str) -> Option<(u32, &str)> {
    let (pid, rest) = line.split_once(' ')?;
    Some((pid.parse().ok()?, rest.trim_start()))
}

/// Joins `<unfinished ...>`/`<pid changed to N ...>` with their `<... X resumed>`.
fn join_splits(text: &str) -> Vec<(u32, String)> {
    let mut open: HashMap<u32, String> = HashMap::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((pid, rest)) = split_pid(line) else { continue };
        if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            open.insert(pid, head.to_string());
        } else if let Some(by) =
            rest.strip_prefix("+++ superseded by execve in pid ").and_then(|r| r.strip_suffix(" +++"))
        {
            // The exec'ing thread's call goes on under this pid.
            if let Some(head) = by.parse().ok().and_then(|by: u32| open.remove(&by)) {
                open.insert(pid, head);
            }
            out.push((pid, rest.to_string()));
        } else if let Some(i) = rest.find(" <pid changed to ") {
            let new: u32 = rest[i + 17..].split(' ').next().unwrap().parse().unwrap();
            open.insert(new, rest[..i].to_string());
        } else if rest.starts_with("<... ") {
            let tail = &rest[rest.find("resumed>").expect("resumed line") + 8..];
            let head = open.remove(&pid).unwrap_or_else(|| panic!("resumed without start: {line}"));
            out.push((pid, format!("{head}{tail}")));
        } else {
            out.push((pid, rest.to_string()));
        }
    }
    out
}

fn is_num_boundary(c: Option<char>) -> bool {
    !matches!(c, Some(c) if c.is_ascii_alphanumeric() || c == '_')
}

/// Replaces whole decimal tokens found in `map`.
fn replace_pids(s: &str, map: &HashMap<u32, usize>) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && is_num_boundary(if i == 0 { None } else { Some(chars[i - 1]) }) {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            let tok: String = chars[i..j].iter().collect();
            if is_num_boundary(chars.get(j).copied()) {
                if let Some(n) = tok.parse::<u32>().ok().and_then(|p| map.get(&p)) {
                    out.push_str(&format!("P{n}"));
                    i = j;
                    continue;
                }
            }
            out.push_str(&tok);
            i = j;
            continue;
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Replaces `0x…` by `0xADDR` and `KEY=N...` values by `KEY=*` for the given keys.
fn scrub(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i]);
        let hex = rest[i + 2..].chars().take_while(|c| c.is_ascii_hexdigit()).count();
        out.push_str("0xADDR");
        rest = &rest[i + 2 + hex..];
    }
    out.push_str(rest);
    let mut s = out;
    for key in ["si_utime=", "si_stime="] {
        while let Some(i) = s.find(key).filter(|&i| !s[i + key.len()..].starts_with('*')) {
            let start = i + key.len();
            let mut end = start + s[start..].chars().take_while(|c| c.is_ascii_digit()).count();
            if s[end..].starts_with(" /* ") {
                end += s[end..].find(" */").unwrap() + 3;
            }
            s.replace_range(start..end, "*");
        }
    }
    if let Some(i) = s.find(" vars */") {
        let start = s[..i].rfind("/* ").unwrap() + 3;
        s.replace_range(start..i + 5, "N vars");
    }
    // Padding before the result differs between a split and a whole line.
    while s.contains("  = ") {
        s = s.replace("  = ", " = ");
    }
    s
}

/// The normalized multiset of lines of a `-o` trace, without `--- SIGCHLD` lines: standard
/// signals do not queue, so two children ending close together make one SIGCHLD or two, and
/// one arriving as the parent exits may never be delivered, depending on timing.
fn normalize(text: &str) -> BTreeMap<String, usize> {
    let mut lines = BTreeMap::new();
    for norm in normalize_all(text) {
        if norm.contains("--- SIGCHLD ") {
            continue;
        }
        let count = lines.entry(norm.clone()).or_insert(0);
        // dash polls finished jobs with WNOHANG: how often it finds nothing is timing.
        *count = if norm.contains("WNOHANG, NULL) = 0") { 1 } else { *count + 1 };
    }
    lines
}

/// Every line of a `-o` trace, normalized, in order.
fn normalize_all(text: &str) -> Vec<String> {
    // Pids by order of appearance: as a line's pid, or as a clone-family result.
    let mut map: HashMap<u32, usize> = HashMap::new();
    for line in text.lines() {
        let Some((pid, rest)) = split_pid(line) else { continue };
        let n = map.len();
        map.entry(pid).or_insert(n);
        let creates = ["clone(", "clone3(", "fork(", "vfork(", "<... clone", "<... vfork", "<... fork"];
        if creates.iter().any(|c| rest.starts_with(c)) {
            if let Some(v) = rest.rsplit_once("= ").and_then(|(_, v)| v.trim().parse::<u32>().ok()) {
                let n = map.len();
                map.entry(v).or_insert(n);
            }
        }
    }
    let mut lines = Vec::new();
    for (pid, line) in join_splits(text) {
        if line.contains("= ? ERESTART") {
            continue; // a wait interrupted or not by a signal: timing
        }
        if line.starts_with("???(") {
            // strace stopped a child killed by SIGKILL at the entry of a call it cannot name
            // (the kill landed between the fork and the child's first traced call): timing.
            continue;
        }
        let mut norm = scrub(&replace_pids(&format!("{pid} {line}"), &map));
        // pthread_create's parent_tid and child_tid are one word, which the new thread
        // clears when it exits: read at the call's exit stop (strace), it is 0 if the thread
        // is already gone; read at the clone event (clonekit), it is always the new tid.
        if norm.contains("CLONE_CHILD_CLEARTID") {
            if let Some(i) = norm.find("=> {parent_tid=[") {
                if let Some(j) = norm[i..].find("]}") {
                    norm.replace_range(i..i + j + 2, "=> {parent_tid=[P or 0]}");
                }
            }
        }
        lines.push(norm);
    }
    lines
}

#[test]
fn differential_against_strace() {
    let Some(dir) = build() else { return };
    if !have("strace") {
        eprintln!("skipped: differential_against_strace (strace not installed; .ci/run installs it)");
        return;
    }
    let mut failures = Vec::new();
    for (name, argv) in workloads(&dir) {
        let (a, b) = (tmp(&format!("{name}.strace")), tmp(&format!("{name}.clonekit")));
        let st = Command::new("strace")
            .args(["-f", "-e", "trace=process", "-o"])
            .arg(&a)
            .args(&argv)
            .output()
            .unwrap();
        let ck = run_clonekit(&[], &argv, &b);
        assert_eq!(ck.status.code(), st.status.code(), "{name}: exit status");
        let (sa, sb) = (std::fs::read_to_string(&a).unwrap(), std::fs::read_to_string(&b).unwrap());
        let (na, nb) = (normalize(&sa), normalize(&sb));
        // SIGCHLD lines: as many as timing gives, about whichever child's exit was queued
        // first when two coalesce, but decoded the same way.
        let sigchld = |t: &str| {
            normalize_all(t)
                .into_iter()
                .filter(|l| l.contains("--- SIGCHLD "))
                .map(|l| match l.find("si_pid=P") {
                    Some(i) => {
                        let end =
                            l[i + 8..].find(|c: char| !c.is_ascii_digit()).map_or(l.len(), |n| i + 8 + n);
                        format!("{}si_pid=P*{}", &l[..i], &l[end..])
                    }
                    None => l,
                })
                .collect::<std::collections::BTreeSet<_>>()
        };
        let (ca, cb) = (sigchld(&sa), sigchld(&sb));
        assert!(
            ca.is_empty() == cb.is_empty() || ca.len() + cb.len() == 1,
            "{name}: SIGCHLD lines {ca:?} vs {cb:?}"
        );
        if !ca.is_empty() && !cb.is_empty() {
            assert!(ca.intersection(&cb).next().is_some(), "{name}: SIGCHLD lines {ca:?} vs {cb:?}");
        }
        assert!(na.len() >= 3, "{name}: strace printed too little:\n{sa}");
        if na != nb {
            let only_a: Vec<_> = na.iter().filter(|(k, v)| nb.get(*k) != Some(v)).collect();
            let only_b: Vec<_> = nb.iter().filter(|(k, v)| na.get(*k) != Some(v)).collect();
            failures.push(format!("{name}:\n  strace only: {only_a:#?}\n  clonekit only: {only_b:#?}\n--- strace\n{sa}--- clonekit\n{sb}"));
        }
        let _ = std::fs::remove_file(&a);
        let _ = std::fs::remove_file(&b);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn tree_and_json_on_the_same_workloads() {
    let Some(dir) = build() else { return };
    for (name, argv) in workloads(&dir) {
        if name.starts_with("clone3") && !clonekit_sys::clone3_supported() {
            // A container's seccomp profile (CI runs the suite under one too): nothing to see.
            eprintln!("skipped tree_and_json_on_the_same_workloads: {name}: clone3 is refused here");
            continue;
        }
        let (t, j, plain) =
            (tmp(&format!("{name}.tree")), tmp(&format!("{name}.json")), tmp(&format!("{name}.plain")));
        let out = run_clonekit(&[], &argv, &plain);
        let text = std::fs::read_to_string(&plain).unwrap();
        // --tree: the lines, then one node per task seen, each with how it ended.
        let tr = run_clonekit(&["--tree"], &argv, &t);
        assert_eq!(tr.status.code(), out.status.code(), "{name}");
        let tree = std::fs::read_to_string(&t).unwrap();
        // The tasks of this very run (the lines come before the tree).
        let pids: std::collections::BTreeSet<u32> = tree
            .lines()
            .filter(|l| !l.contains(" after "))
            .filter_map(|l| split_pid(l).map(|p| p.0))
            .collect();
        let nodes: Vec<&str> = tree
            .lines()
            .filter(|l| split_pid(l).is_none() || l.contains(" after "))
            .filter(|l| l.contains(" after ") && l.contains(" ms"))
            .collect();
        assert_eq!(nodes.len(), pids.len(), "{name}: one tree node per task:\n{tree}");
        assert!(
            nodes
                .iter()
                .all(|n| n.contains("exited with") || n.contains("killed by") || n.contains("superseded")),
            "{name}:\n{tree}"
        );
        let roots = nodes.iter().filter(|n| !n.contains("── ")).count();
        assert_eq!(roots, 1, "{name}: one root:\n{tree}");

        // --json: one object per event, decoded fields, the tree last.
        let js = run_clonekit(&["--json", "--tree"], &argv, &j);
        assert_eq!(js.status.code(), out.status.code(), "{name}");
        let objs: Vec<serde_json::Value> = std::fs::read_to_string(&j)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}: {e}: {l}")))
            .collect();
        let joined = join_splits(&text);
        let creations = joined.iter().filter(|(_, r)| {
            ["clone(", "clone3(", "fork(", "vfork("].iter().any(|c| r.starts_with(c)) && !r.contains("= -1")
        });
        let json_creations =
            objs.iter().filter(|o| o["event"] == "syscall" && o["args"]["call"].is_object()).count();
        // The shell's child count varies from run to run, so this run is compared with itself:
        // every creation event names a task that the JSON tree holds.
        assert!(json_creations >= 1 && creations.count() >= 1, "{name}");
        let tree_json = objs.last().unwrap().to_string();
        for o in objs.iter().filter(|o| o["event"] == "syscall" && o["args"]["call"].is_object()) {
            // Only creations that returned a child (not an error, not a call cut short).
            let Some(child) = o["result"]["value"].as_i64() else { continue };
            let untraced = o["args"]["flags"].as_str().unwrap().contains("CLONE_UNTRACED");
            assert_eq!(tree_json.contains(&format!("\"pid\":{child},")), !untraced, "{name}: {o}");
        }
        for o in objs.iter().filter(|o| o["event"] == "syscall" && o["args"]["call"].is_object()) {
            assert!(o["args"]["made_by"].is_string() && o["args"]["flags"].is_string(), "{name}: {o}");
        }
        assert!(objs.iter().any(|o| o["event"] == "exited" || o["event"] == "killed"), "{name}");
        let last = objs.last().unwrap();
        assert_eq!(last["event"], "tree", "{name}");
        assert_eq!(last["roots"].as_array().unwrap().len(), 1, "{name}");
        for f in [&t, &j, &plain] {
            let _ = std::fs::remove_file(f);
        }
    }
}

#[test]
fn tree_names_the_libc_calls() {
    let Some(dir) = build() else { return };
    let cases = [
        ("pthreads", "glibc pthread_create()"),
        ("vfork", "vfork()"),
        if clonekit_sys::clone3_supported() {
            ("posix_spawn", "posix_spawn(): clone3 CLONE_VM|CLONE_VFORK")
        } else {
            // Where clone3 is refused with ENOSYS, glibc falls back to legacy clone.
            ("posix_spawn", "glibc posix_spawn() (legacy clone)")
        },
        ("killed", "glibc fork()"),
    ];
    for (prog, label) in cases {
        let out = tmp(&format!("{prog}.label"));
        let r = run_clonekit(&["--tree"], &[dir.join(prog).display().to_string()], &out);
        assert!(r.status.success(), "{prog}");
        let tree = std::fs::read_to_string(&out).unwrap();
        assert!(tree.contains(label), "{prog}: {label} missing:\n{tree}");
        let _ = std::fs::remove_file(&out);
    }
}

#[test]
fn exit_status_is_the_programs() {
    let out = tmp("status");
    let r = run_clonekit(&[], &["/bin/sh".into(), "-c".into(), "exit 7".into()], &out);
    assert_eq!(r.status.code(), Some(7));
    let r = run_clonekit(&[], &["/bin/sh".into(), "-c".into(), "kill -TERM $$".into()], &out);
    assert_eq!(r.status.code(), Some(128 + 15));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("+++ killed by SIGTERM +++"), "{text}");
    let _ = std::fs::remove_file(&out);
}

fn one_line_exit_2(args: &[&str]) -> String {
    let r = Command::new(CK).args(args).output().unwrap();
    assert_eq!(r.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8(r.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("clonekit: "), "{err}");
    err
}

#[test]
fn errors_are_one_line_and_exit_2() {
    assert!(one_line_exit_2(&["trace", "--", "/no/such/program"]).contains("No such file or directory"));
    assert!(one_line_exit_2(&["trace", "--", "no-such-program-anywhere"]).contains("not found in PATH"));
    assert!(one_line_exit_2(&["trace", "--", "/etc"]).contains("is a directory"));
    assert!(one_line_exit_2(&["trace"]).contains("no program"));
    assert!(one_line_exit_2(&["trace", "-p", "999999999"]).contains("no process with pid"));
    // A kernel thread: ptrace refuses it, even to root. Inside a pid namespace with its own
    // /proc none is visible.
    match kernel_thread() {
        Some(k) => assert!(
            one_line_exit_2(&["trace", "-p", &k.to_string()]).contains(&format!("cannot trace pid {k}"))
        ),
        None => eprintln!(
            "skipped errors_are_one_line_and_exit_2 (kernel thread case): no kernel thread in /proc"
        ),
    }
}

/// A kernel thread's pid: `PF_KTHREAD` (0x00200000) in the flags of /proc/PID/stat.
fn kernel_thread() -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let flags: u64 = stat.rsplit_once(')')?.1.split_whitespace().nth(6)?.parse().ok()?;
        (flags & 0x0020_0000 != 0).then_some(pid)
    })
}

fn proc_state(pid: u32) -> Option<(char, u32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |k: &str| s.lines().find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()));
    Some((field("State:")?.chars().next()?, field("TracerPid:")?.parse().ok()?))
}

#[test]
fn ctrl_c_kills_what_it_started() {
    let out = tmp("ctrlc");
    let mut ck =
        Command::new(CK).args(["trace", "-o"]).arg(&out).args(["--", "sleep", "30"]).spawn().unwrap();
    let mut child = None;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(10));
        child = std::fs::read_to_string(&out)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| split_pid(l).map(|p| p.0)));
        if child.is_some() {
            break;
        }
    }
    let child = child.expect("the trace shows the execve");
    Command::new("kill").args(["-INT", &ck.id().to_string()]).status().unwrap();
    let st = ck.wait().unwrap();
    assert_eq!(st.code(), Some(130));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(proc_state(child), None, "the traced sleep is gone, not orphaned");
    let _ = std::fs::remove_file(&out);
}

/// Starts `clonekit trace -p PID -o OUT` and waits until `pid` is traced by it.
fn attach(pid: u32, out: &Path) -> std::process::Child {
    let mut ck = Command::new(CK).args(["trace", "-p", &pid.to_string(), "-o"]).arg(out).spawn().unwrap();
    let mut traced = false;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(10));
        if proc_state(pid).map(|s| s.1) == Some(ck.id()) {
            traced = true;
            break;
        }
    }
    if !traced {
        let _ = ck.kill();
        let _ = ck.wait();
    }
    assert!(traced, "attached");
    ck
}

#[test]
fn ctrl_c_with_p_detaches_and_leaves_the_process_running() {
    let mut target = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = target.id();
    let out = tmp("attach");
    let mut ck = attach(pid, &out);
    Command::new("kill").args(["-INT", &ck.id().to_string()]).status().unwrap();
    assert_eq!(ck.wait().unwrap().code(), Some(0));
    let (_, tracer) = proc_state(pid).expect("still there");
    assert_eq!(tracer, 0, "detached");
    // Detaching resumes the interrupted nanosleep (restart_syscall): it may be on a CPU for
    // a moment before it sleeps again.
    let mut state = 'R';
    for _ in 0..100 {
        state = proc_state(pid).expect("still there").0;
        if state != 'R' {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(state, 'S', "running (sleeping), not stopped");
    target.kill().unwrap();
    target.wait().unwrap();
    let _ = std::fs::remove_file(&out);
}

#[test]
fn p_follows_the_children_and_the_calls_after_them() {
    // A shell that waits on its stdin until we are attached, then runs two programs.
    let mut target = Command::new("sh")
        .args(["-c", "read x; /bin/true; /bin/true; exit 3"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = target.id();
    let out = tmp("attach-children");
    let mut ck = attach(pid, &out);
    use std::io::Write;
    target.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert_eq!(ck.wait().unwrap().code(), Some(3), "the traced shell's status");
    target.wait().unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let count = |s: &str| text.lines().filter(|l| l.contains(s)).count();
    assert_eq!(count("execve(\"/bin/true\""), 2, "{text}");
    // After each child is created the shell keeps being traced: its blocking wait for the
    // child is shown (whole or resumed), each returning the child's status.
    assert_eq!(count("[{WIFEXITED(s) && WEXITSTATUS(s) == 0}], 0, NULL) = "), 2, "{text}");
    assert_eq!(count("+++ exited with 0 +++"), 2, "{text}");
    assert!(text.contains("exit_group(3)"), "{text}");
}

/// The CPU latency the kernel honours, read by `od` from `/dev/cpu_dma_latency`.
fn read_cpu_latency(out: &str) -> Option<i64> {
    out.split_whitespace().next()?.parse().ok()
}

#[test]
fn low_latency_holds_a_cpu_latency_request_for_the_trace_only() {
    let dev = "/dev/cpu_dma_latency";
    if std::fs::OpenOptions::new().write(true).open(dev).is_err() {
        eprintln!("skipped low_latency_holds_a_cpu_latency_request_for_the_trace_only: cannot write {dev}");
        return;
    }
    let out = tmp("lowlat");
    let argv: Vec<String> = ["od", "-An", "-td4", dev].iter().map(|s| s.to_string()).collect();
    let r = run_clonekit(&["--low-latency"], &argv, &out);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // The traced program sees the request; the trace itself is unchanged.
    assert_eq!(read_cpu_latency(&String::from_utf8_lossy(&r.stdout)), Some(0));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("execve(\"/usr/bin/od\"") || text.contains("execve(\"/bin/od\""), "{text}");
    assert!(text.contains("+++ exited with 0 +++"), "{text}");
    // After the trace the request is gone (unless another process holds one of its own).
    let after = Command::new("od").args(["-An", "-td4", dev]).output().unwrap();
    match read_cpu_latency(&String::from_utf8_lossy(&after.stdout)) {
        Some(0) => eprintln!("note: another process holds a CPU latency request of 0"),
        v => assert!(v.is_some_and(|v| v > 0), "{v:?}"),
    }
    let _ = std::fs::remove_file(&out);
}

#[test]
fn low_latency_without_permission_is_one_line_and_exit_2() {
    // As an unprivileged user the device (mode 0600) cannot be opened for writing.
    let r = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            CK,
            "trace",
            "--low-latency",
            "--",
            "/bin/true",
        ])
        .output();
    let Ok(r) = r else {
        eprintln!("skipped low_latency_without_permission_is_one_line_and_exit_2: no setpriv");
        return;
    };
    let err = String::from_utf8_lossy(&r.stderr).into_owned();
    if r.status.code() != Some(2) && !err.starts_with("clonekit: ") {
        eprintln!(
            "skipped low_latency_without_permission_is_one_line_and_exit_2: cannot run as uid 65534: {err}"
        );
        return;
    }
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--low-latency") && err.contains("Permission denied"), "{err}");
}

#[test]
fn calls_refused_by_a_filter_already_in_place_are_shown() {
    // A container's profile answers clone3 with ENOSYS before our filter could trace it; the
    // program is then traced under PTRACE_SYSCALL, and the refused call shows, as in strace.
    let Some(dir) = build() else { return };
    let out = tmp("refused.trace");
    let mut cmd = clonekit::process::Command::new(CK);
    cmd.args(["trace", "-o"]).arg(&out).arg("--").arg(dir.join("pthreads")).arg("2");
    let r = clonekit_probe::seccomp::run_refusing_clone3(&mut cmd, rustix::io::Errno::NOSYS)
        .stdin(clonekit::process::Stdio::null())
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let calls = join_splits(&text);
    let refused = calls
        .iter()
        .filter(|(_, l)| l.starts_with("clone3(") && l.ends_with("= -1 ENOSYS (Function not implemented)"));
    let created = calls.iter().filter(|(_, l)| l.starts_with("clone(") && !l.contains("= -1"));
    assert!(refused.count() >= 1, "{text}");
    assert_eq!(created.count(), 2, "{text}");
    let _ = std::fs::remove_file(&out);
}
