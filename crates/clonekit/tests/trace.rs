//! `clonekit trace` against strace itself: the same workloads under
//! `strace -f -e trace=process -o FILE` and `clonekit trace -o FILE` must give the same lines
//! once pids (by order of appearance), addresses, env counts, CPU ticks and timing-dependent
//! splits (`<unfinished ...>`/`<... X resumed>`, restarted waits) are normalized. Then
//! `--tree` and `--json` on the same workloads, exit statuses, errors, Ctrl-C and `-p`.
//!
//! The C workloads (crates/clonekit-trace/tests/workloads) are built here with gcc; without
//! gcc or strace the cases that need them say so and are skipped by name.

mod trace_support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use trace_support::*;

/// The workloads under strace and under `clonekit trace EXTRA`, compared.
fn differential(test: &str, extra: &[&str]) {
    let Some(dir) = differential_setup(test) else { return };
    let mut failures = Vec::new();
    for (name, argv) in workloads(&dir) {
        let (a, b) = (tmp(&format!("{test}-{name}.strace")), tmp(&format!("{test}-{name}.clonekit")));
        let st = run_strace(&[], &argv, &a);
        let ck = run_clonekit(extra, &argv, &b);
        assert_eq!(ck.status.code(), st.status.code(), "{name}: exit status");
        let (sa, sb) = (std::fs::read_to_string(&a).unwrap(), std::fs::read_to_string(&b).unwrap());
        assert!(normalize(&sa).len() >= 3, "{name}: strace printed too little:\n{sa}");
        failures.extend(compare(name, &sa, &sb, true));
        let _ = std::fs::remove_file(&a);
        let _ = std::fs::remove_file(&b);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn differential_against_strace() {
    differential("differential_against_strace", &[]);
}

#[test]
fn differential_against_strace_with_the_ebpf_backend() {
    if ebpf_available("differential_against_strace_with_the_ebpf_backend") {
        differential("differential_against_strace_with_the_ebpf_backend", &["--backend", "ebpf"]);
    }
}

#[test]
fn tree_and_json_on_the_same_workloads() {
    tree_and_json("tree_and_json_on_the_same_workloads", &[]);
}

#[test]
fn tree_and_json_on_the_same_workloads_with_the_ebpf_backend() {
    let test = "tree_and_json_on_the_same_workloads_with_the_ebpf_backend";
    if ebpf_available(test) {
        tree_and_json(test, &["--backend", "ebpf"]);
    }
}

/// `--tree` and `--json` on the differential workloads, with `clonekit trace EXTRA`.
fn tree_and_json(test: &str, extra: &[&str]) {
    let Some(dir) = build() else { return };
    let with =
        |opts: &[&'static str]| -> Vec<&str> { extra.iter().copied().chain(opts.iter().copied()).collect() };
    for (name, argv) in workloads(&dir) {
        if name.starts_with("clone3") && !clonekit_sys::clone3_supported() {
            // A container's seccomp profile (CI runs the suite under one too): nothing to see.
            eprintln!("skipped {test}: {name}: clone3 is refused here");
            continue;
        }
        let (t, j, plain) = (
            tmp(&format!("{test}-{name}.tree")),
            tmp(&format!("{test}-{name}.json")),
            tmp(&format!("{test}-{name}.plain")),
        );
        let out = run_clonekit(&with(&[]), &argv, &plain);
        let text = std::fs::read_to_string(&plain).unwrap();
        // --tree: the lines, then one node per task seen, each with how it ended.
        let tr = run_clonekit(&with(&["--tree"]), &argv, &t);
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
        let js = run_clonekit(&with(&["--json", "--tree"]), &argv, &j);
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

/// Children that exit at once can be reaped before the tracer reads their parent's fork
/// event: each task is still one node, under its parent, with how it ended.
#[test]
fn tree_has_one_node_per_task_when_children_die_at_once() {
    let Some(dir) = build() else { return };
    for run in 0..3 {
        let out = tmp(&format!("fork_burst.{run}"));
        let r = run_clonekit(&["--tree"], &[dir.join("fork_burst").display().to_string()], &out);
        assert!(r.status.success(), "run {run}");
        let tree = std::fs::read_to_string(&out).unwrap();
        let nodes: Vec<&str> = tree.lines().filter(|l| l.contains(" after ") && l.contains(" ms")).collect();
        assert_eq!(nodes.len(), 401, "run {run}: one node per task:\n{tree}");
        assert!(!tree.contains("still running"), "run {run}: a task that ended shown running:\n{tree}");
        let roots = nodes.iter().filter(|n| !n.contains("── ")).count();
        assert_eq!(roots, 1, "run {run}: one root:\n{tree}");
        let _ = std::fs::remove_file(&out);
    }
}

/// `--tree` shows every program a task ran: its creator's, then each it exec'd; `--json`
/// lists them as `ran`.
#[test]
fn tree_shows_each_tasks_exec_history() {
    let argv: Vec<String> =
        ["/bin/sh", "-c", "echo hi | cat; exit 3"].iter().map(|s| s.to_string()).collect();
    let out = tmp("history.tree");
    let r = run_clonekit(&["--tree"], &argv, &out);
    assert_eq!(r.status.code(), Some(3));
    let tree = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let cat = tree
        .lines()
        .find(|l| l.contains(" after ") && l.ends_with(" ms") && l.contains("cat ["))
        .unwrap_or_else(|| panic!("no cat node:\n{tree}"));
    let ran = cat.split(" [").next().unwrap();
    assert!(ran.contains("sh → ") && ran.ends_with("/cat"), "{cat}");
    let out = tmp("history.json");
    run_clonekit(&["--json", "--tree"], &argv, &out);
    let text = std::fs::read_to_string(&out).unwrap();
    let tree: serde_json::Value = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &serde_json::Value| v["event"] == "tree")
        .unwrap();
    let children = tree["roots"][0]["children"].as_array().unwrap();
    let histories: Vec<Vec<String>> = children
        .iter()
        .map(|c| c["ran"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect())
        .collect();
    assert!(
        histories.iter().any(|h| h.len() == 2 && h[0].ends_with("sh") && h[1].ends_with("cat")),
        "{histories:?}"
    );
    let _ = std::fs::remove_file(&out);
}

/// `--timeline FILE.svg` draws a bar per task (with its creating call on hover), an exec tick
/// per execve and an arrow per creation; `--perfetto FILE.json` holds the same as trace
/// events (a complete event per task, an instant per exec, a flow per creation).
#[test]
fn timeline_and_perfetto_show_every_task() {
    let argv: Vec<String> =
        ["/bin/sh", "-c", "echo hi | cat; exit 3"].iter().map(|s| s.to_string()).collect();
    let (svg, perfetto, lines) = (tmp("timeline.svg"), tmp("timeline.json"), tmp("timeline.txt"));
    let r = run_clonekit(
        &["--timeline", svg.to_str().unwrap(), "--perfetto", perfetto.to_str().unwrap()],
        &argv,
        &lines,
    );
    assert_eq!(r.status.code(), Some(3));
    let text = std::fs::read_to_string(&lines).unwrap();
    let tasks: std::collections::BTreeSet<u32> =
        text.lines().filter_map(|l| split_pid(l).map(|p| p.0)).collect();
    assert_eq!(tasks.len(), 3, "sh, its two children:\n{text}");

    let pic = std::fs::read_to_string(&svg).unwrap();
    assert!(pic.starts_with("<svg ") && pic.trim_end().ends_with("</svg>"));
    assert_eq!(pic.matches("<rect ").count(), tasks.len(), "{pic}");
    assert_eq!(pic.matches("<title>").count(), tasks.len());
    assert!(pic.contains("[glibc fork(): clone CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD]"), "{pic}");
    assert_eq!(pic.matches("marker-end=").count(), tasks.len() - 1, "an arrow per creation");
    assert!(pic.matches("stroke=\"#e6550d\"").count() >= 2, "the execs of sh and cat");

    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&perfetto).unwrap()).unwrap();
    let ev = doc["traceEvents"].as_array().unwrap();
    let of = |ph: &str| ev.iter().filter(|e| e["ph"] == ph).collect::<Vec<_>>();
    assert_eq!(of("X").len(), tasks.len());
    assert!(of("X").iter().all(|e| e["ts"].is_number() && e["dur"].as_f64().unwrap() > 0.0));
    assert_eq!(of("s").len(), tasks.len() - 1);
    assert_eq!(of("f").len(), tasks.len() - 1);
    assert!(of("i").iter().any(|e| e["name"].as_str().unwrap().ends_with("/cat")));
    assert!(of("M").iter().any(|e| e["name"] == "process_name"));
    for f in [svg, perfetto, lines] {
        let _ = std::fs::remove_file(f);
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

/// A `CLONE_UNTRACED` child is not followed, but with the seccomp filter it is traced
/// silently (so that the filter it inherits has a tracer): the trace must end with the traced
/// program, let go of the child, and the child must go on to the end of its work.
#[test]
fn an_untraced_child_outlives_the_trace() {
    let Some(dir) = build() else { return };
    let (out, done) = (tmp("untraced-outlives"), tmp("untraced-outlives.done"));
    let _ = std::fs::remove_file(&done);
    let prog = dir.join("untraced_outlives").display().to_string();
    // Not `run_clonekit`: its pipes would stay open in the child, and be waited for.
    let st = Command::new(CK)
        .args(["trace", "-o"])
        .arg(&out)
        .arg("--")
        .args([prog, done.display().to_string()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
    assert!(!done.exists(), "the trace waited for the untraced child");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("flags=CLONE_UNTRACED|SIGCHLD) = "), "{text}");
    assert_eq!(text.lines().filter(|l| l.contains("+++ exited")).count(), 1, "{text}");
    let mut found = false;
    for _ in 0..500 {
        if std::fs::read_to_string(&done).is_ok_and(|t| t == "done\n") {
            found = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(found, "the untraced child did not finish its work");
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&done);
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
    attach_with(CK, &["trace"], pid, out)
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

#[test]
fn ebpf_refusals_are_one_line_and_exit_2() {
    assert!(one_line_exit_2(&["trace", "--all", "--", "true"]).contains("cannot be used with"));
    assert!(one_line_exit_2(&["trace", "--all"]).contains("--all needs --backend ebpf"));
    // Without privilege: as nobody, where we can become nobody.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !have("setpriv") {
        eprintln!("skipped: ebpf_refusals_are_one_line_and_exit_2 (as nobody): needs root and setpriv");
        return;
    }
    let r = Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            CK,
            "trace",
            "--backend",
            "ebpf",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--backend ebpf: needs root, or CAP_BPF and CAP_PERFMON"), "{err}");
}

#[test]
fn ebpf_ctrl_c_kills_what_it_started() {
    if !ebpf_available("ebpf_ctrl_c_kills_what_it_started") {
        return;
    }
    let out = tmp("ebpf-ctrlc");
    let err = tmp("ebpf-ctrlc-stderr");
    let mut ck = Command::new(CK)
        .args(["trace", "--backend", "ebpf", "-o"])
        .arg(&out)
        .args(["--", "sh", "-c", "sleep 30; true"])
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let mut sleeper = None;
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(10));
        sleeper = std::fs::read_to_string(&out).ok().and_then(|t| {
            t.lines()
                .find(|l| l.contains("execve(\"/usr/bin/sleep\"") || l.contains("execve(\"/bin/sleep\""))
                .and_then(|l| split_pid(l).map(|p| p.0))
        });
        if sleeper.is_some() {
            break;
        }
    }
    let sleeper = sleeper.expect("the trace shows sleep's execve");
    Command::new("kill").args(["-INT", &ck.id().to_string()]).status().unwrap();
    let st = ck.wait().unwrap();
    assert_eq!(st.code(), Some(130));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(proc_state(sleeper), None, "the traced sleep is gone, not orphaned");
    let text = std::fs::read_to_string(&out).unwrap();
    let said = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(text.contains("+++ killed by SIGKILL +++"), "{text}\nstderr: {said}");
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_file(&err);
}

#[test]
fn ebpf_all_sees_a_process_it_did_not_start() {
    if !ebpf_available("ebpf_all_sees_a_process_it_did_not_start") {
        return;
    }
    let out = tmp("ebpf-all");
    let mut ck = Command::new(CK)
        .args([
            "trace",
            "--backend",
            "ebpf",
            "--all",
            "-e",
            "trace=execve,clone,clone3,vfork,exit_group",
            "-o",
        ])
        .arg(&out)
        .spawn()
        .unwrap();
    // The programs are attached once the first line of anything appears; then run ours.
    for _ in 0..300 {
        if std::fs::metadata(&out).is_ok_and(|m| m.len() > 0) {
            break;
        }
        let _ = Command::new("true").status();
        std::thread::sleep(Duration::from_millis(10));
    }
    let marker = format!("clonekit-all-{}", std::process::id());
    let st =
        Command::new("sh").args(["-c", &format!("/bin/echo {marker} >/dev/null; exit 7")]).status().unwrap();
    assert_eq!(st.code(), Some(7));
    std::thread::sleep(Duration::from_millis(100));
    Command::new("kill").args(["-INT", &ck.id().to_string()]).status().unwrap();
    assert!(ck.wait().unwrap().success(), "--all ends with Ctrl-C as a success");
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    assert!(
        text.lines().any(|l| l.contains("execve(\"/bin/echo\", [\"/bin/echo\", \"") && l.contains(&marker)),
        "no execve of our echo in:\n{}",
        text.lines().rev().take(40).collect::<Vec<_>>().join("\n")
    );
    // Among every task of the machine, its line may be split (`exit_group(7 <unfinished ...>`).
    assert!(text.lines().any(|l| l.contains("exit_group(7")), "no exit_group(7)");
}
