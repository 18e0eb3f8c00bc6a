//! What the tests of `clonekit trace` share (each test binary uses a part of it): the C
//! workloads, built with gcc; running them under strace and under clonekit; the
//! normalisation that makes two traces of one workload comparable (pids by order of
//! appearance, addresses, env counts, CPU ticks, timing-dependent splits and restarted
//! waits); and the comparison itself.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub const CK: &str = env!("CARGO_BIN_EXE_clonekit");

pub fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

pub fn workloads_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../clonekit-trace/tests/workloads")
}

/// Builds the C workloads once per test binary; `None` (and a note) without gcc.
pub fn build() -> Option<PathBuf> {
    static DIR: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        if !have("gcc") {
            eprintln!("skipped: C workloads (no C compiler: gcc)");
            return None;
        }
        // One directory per user and version of the sources, built once and kept for the next
        // run (built aside, then renamed into place: another test binary may race for it).
        use std::hash::{Hash, Hasher};
        let mut sources: Vec<PathBuf> = std::fs::read_dir(workloads_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("c"))
            .collect();
        sources.sort();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for src in &sources {
            src.file_name().hash(&mut h);
            std::fs::read(src).unwrap().hash(&mut h);
        }
        let uid = rustix::process::getuid().as_raw();
        let out = std::env::temp_dir().join(format!("clonekit-trace-wl-{uid}-{:016x}", h.finish()));
        if out.is_dir() {
            return Some(out);
        }
        let building =
            std::env::temp_dir().join(format!("clonekit-trace-wl-{}.building", std::process::id()));
        std::fs::create_dir_all(&building).unwrap();
        for src in &sources {
            let bin = building.join(src.file_stem().unwrap());
            let st = Command::new("gcc").args(["-O1", "-pthread", "-o"]).arg(&bin).arg(src).status().unwrap();
            assert!(st.success(), "gcc {}", src.display());
        }
        if std::fs::rename(&building, &out).is_err() {
            // Another test binary put its copy in place first.
            let _ = std::fs::remove_dir_all(&building);
        }
        Some(out)
    })
    .clone()
}

/// The differential workloads: name and argv (C programs by name in the build dir).
pub fn workloads(dir: &Path) -> Vec<(&'static str, Vec<String>)> {
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
        ("CLONE_UNTRACED child that execs", vec![c("untraced_exec")]),
        ("exit_group from a thread", vec![c("thread_exit_group")]),
        ("group-stop", vec![c("group_stop")]),
        ("file descriptors", vec![c("fds")]),
    ]
}

/// Removes `path` and the `path.PID` files a per-task output (`-ff`) made beside it.
pub fn remove_with_per_task_files(path: &Path) {
    let _ = std::fs::remove_file(path);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else { return };
    let prefix = format!("{name}.");
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

pub fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("clonekit-trace-{}-{}", std::process::id(), name.replace(' ', "_")))
}

pub fn run_clonekit(extra: &[&str], argv: &[String], out: &Path) -> std::process::Output {
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
pub fn split_pid(line: &str) -> Option<(u32, &str)> {
    let (pid, rest) = line.split_once(' ')?;
    Some((pid.parse().ok()?, rest.trim_start()))
}

/// Joins `<unfinished ...>`/`<pid changed to N ...>` with their `<... X resumed>`.
pub fn join_splits(text: &str) -> Vec<(u32, String)> {
    let mut open: HashMap<u32, String> = HashMap::new();
    let mut out = Vec::new();
    // The task of the line just cut with ` <unfinished ...>`.
    let mut just_cut: Option<u32> = None;
    for line in text.lines() {
        let Some((pid, rest)) = split_pid(line) else {
            // strace 6.1 under `-e status=`: a line staged in memory is cut by another task's
            // `+++`/`---` line and published whole later, the rest on a line of its own
            // without a prefix.
            if let Some(head) = just_cut.take().and_then(|p| open.remove(&p).map(|h| (p, h))) {
                out.push((head.0, format!("{}{line}", head.1)));
            }
            continue;
        };
        // strace 6.1 under `-e status=` again: a call staged in memory and cut by its own
        // task's death is published without its end, glued to the death line
        // (`N kill(N, SIGKILL N  +++ killed by SIGKILL +++`). The death line is kept; whether
        // the call had been staged at all is timing.
        if let Some(i) = rest.find("  +++ ") {
            let before = &rest[..i];
            let digits = before.len() - before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
            if digits > 0 && digits < before.len() {
                if let Some((dead, death)) = split_pid(&rest[i - digits..]) {
                    just_cut = None;
                    out.push((dead, death.to_string()));
                    continue;
                }
            }
        }
        // strace 6.1 under `-e status=` again: a child killed before its first traced call
        // leaves a staged `???(` into which the next task's line was written
        // (`N ???(M kill(N, SIGKILL <unfinished ...>`): that line is M's.
        let (pid, rest) = match rest.strip_prefix("???(").and_then(split_pid) {
            Some(inner) => inner,
            None => (pid, rest),
        };
        just_cut = rest.ends_with(" <unfinished ...>").then_some(pid);
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
            // Under `-e status=` a non-leader execve's start is dropped with the thread (as
            // strace does): the resumed part then stands alone, and is compared as it is.
            match open.remove(&pid) {
                Some(head) => {
                    let tail = &rest[rest.find("resumed>").expect("resumed line") + 8..];
                    out.push((pid, format!("{head}{tail}")));
                }
                None => out.push((pid, rest.to_string())),
            }
        } else {
            out.push((pid, rest.to_string()));
        }
    }
    out
}

pub fn is_num_boundary(c: Option<char>) -> bool {
    !matches!(c, Some(c) if c.is_ascii_alphanumeric() || c == '_')
}

/// Replaces whole decimal tokens found in `map`.
pub fn replace_pids(s: &str, map: &HashMap<u32, usize>) -> String {
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
pub fn scrub(s: &str) -> String {
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
pub fn normalize(text: &str) -> BTreeMap<String, usize> {
    multiset(normalize_all(text))
}

/// Every line of a `-o` trace, normalized, in order.
pub fn normalize_all(text: &str) -> Vec<String> {
    normalize_lines(text, true)
}

/// Pids by order of appearance in a `-o` trace: as a line's pid, or as a clone-family result.
pub fn pid_map(text: &str) -> HashMap<u32, usize> {
    let lines: Vec<(u32, String)> =
        text.lines().filter_map(|l| split_pid(l).map(|(p, r)| (p, r.to_string()))).collect();
    map_pids(&lines).0
}

/// Pids by order of appearance among `lines`, and whether a creation line anchors them (with
/// no clone, fork or vfork line, as under `-e trace=exit_group`, the order in which tasks
/// first print is timing, and pids can only be compared as "a pid").
fn map_pids(lines: &[(u32, String)]) -> (HashMap<u32, usize>, bool) {
    let mut map: HashMap<u32, usize> = HashMap::new();
    let mut anchored = false;
    for (pid, rest) in lines {
        let n = map.len();
        map.entry(*pid).or_insert(n);
        if let Some(by) =
            rest.strip_prefix("+++ superseded by execve in pid ").and_then(|r| r.strip_suffix(" +++"))
        {
            if let Ok(by) = by.parse::<u32>() {
                let n = map.len();
                map.entry(by).or_insert(n);
            }
        }
        let creates = ["clone(", "clone3(", "fork(", "vfork(", "<... clone", "<... vfork", "<... fork"];
        if creates.iter().any(|c| rest.starts_with(c)) {
            anchored = true;
            if let Some(v) = rest.rsplit_once("= ").and_then(|(_, v)| v.trim().parse::<u32>().ok()) {
                let n = map.len();
                map.entry(v).or_insert(n);
            }
        }
    }
    (map, anchored)
}

/// Whether a (joined) line is the line of a system call clonekit does not trace: strace
/// prints them under `-e trace=%signal`, `-e trace=!wait4`, `-e trace=all`…
fn untraced_call(line: &str) -> bool {
    let name: String = line.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    !name.is_empty()
        && line[name.len()..].starts_with('(')
        && name != "???"
        && clonekit_flags::ProcessSyscall::from_name(&name).is_none()
}

/// Every line of a `-o` trace, normalized, in order; with `joined`, split calls are joined
/// first (a `-ff` file set has no splits to join but the one of a non-leader execve, which
/// both tools leave as it is).
pub fn normalize_lines(text: &str, joined: bool) -> Vec<String> {
    let lines_in: Vec<(u32, String)> = if joined {
        join_splits(text)
    } else {
        text.lines().filter_map(|l| split_pid(l).map(|(p, r)| (p, r.to_string()))).collect()
    };
    let kept: Vec<(u32, String)> = lines_in
        .into_iter()
        .filter(|(_, line)| {
            // A wait interrupted or not by a signal: timing. strace stopping a child killed
            // by SIGKILL at the entry of a call it cannot name (`???(`, or its resumption
            // alone once the staged head went to another task's line): timing too. Calls
            // outside %process: strace's only.
            !line.contains("= ? ERESTART")
                && !line.starts_with("???(")
                && !line.starts_with("<... ??? resumed>")
                && !untraced_call(line)
        })
        .collect();
    let (mut map, anchored) = map_pids(&kept);
    if !anchored {
        map.values_mut().for_each(|v| *v = 0);
    }
    let mut lines = Vec::new();
    for (pid, line) in kept {
        let mut norm = scrub(&replace_pids(&format!("{pid} {line}"), &map));
        // pthread_create's parent_tid and child_tid are one word, which the new thread
        // clears when it exits: read at the call's exit stop (strace), it is 0 if the thread
        // is already gone; read at the clone event (clonekit), it is always the new tid.
        // The same for legacy clone's `parent_tid=[N]` (glibc's fallback where clone3 is
        // refused).
        if norm.contains("CLONE_CHILD_CLEARTID") {
            if let Some(i) = norm.find("=> {parent_tid=[") {
                if let Some(j) = norm[i..].find("]}") {
                    norm.replace_range(i..i + j + 2, "=> {parent_tid=[P or 0]}");
                }
            } else if let Some(i) = norm.find(", parent_tid=[") {
                if let Some(j) = norm[i..].find(']') {
                    norm.replace_range(i..i + j + 1, ", parent_tid=[P or 0]");
                }
            }
        }
        lines.push(norm);
    }
    lines
}

/// The multiset of normalized lines, without `--- SIGCHLD` lines (see [`normalize`]).
fn multiset(lines: Vec<String>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for norm in lines {
        // dash polls finished jobs with WNOHANG: whether, and how often, it finds nothing is
        // timing.
        if norm.contains("--- SIGCHLD ") || norm.contains("WNOHANG, NULL) = 0") {
            continue;
        }
        *out.entry(norm.clone()).or_insert(0) += 1;
    }
    out
}

/// strace's trace `sa` and clonekit's `sb` of the same workload, compared as the
/// differential test does: the same normalized lines, and SIGCHLD lines decoded alike (as
/// many as timing gives). `None` when they agree, else what differs.
pub fn compare(name: &str, sa: &str, sb: &str, joined: bool) -> Option<String> {
    let (la, lb) = (normalize_lines(sa, joined), normalize_lines(sb, joined));
    let sigchld = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.contains("--- SIGCHLD "))
            .map(|l| match l.find("si_pid=P") {
                Some(i) => {
                    let end = l[i + 8..].find(|c: char| !c.is_ascii_digit()).map_or(l.len(), |n| i + 8 + n);
                    format!("{}si_pid=P*{}", &l[..i], &l[end..])
                }
                None => l.clone(),
            })
            .collect::<std::collections::BTreeSet<_>>()
    };
    let (ca, cb) = (sigchld(&la), sigchld(&lb));
    let mut problems = Vec::new();
    let sigchld_ok = (ca.is_empty() == cb.is_empty() || ca.len() + cb.len() == 1)
        && (ca.is_empty() || cb.is_empty() || ca.intersection(&cb).next().is_some());
    if !sigchld_ok {
        problems.push(format!("SIGCHLD lines {ca:?} vs {cb:?}"));
    }
    let (na, nb) = (multiset(la), multiset(lb));
    if na != nb {
        let only_a: Vec<_> = na.iter().filter(|(k, v)| nb.get(*k) != Some(v)).collect();
        let only_b: Vec<_> = nb.iter().filter(|(k, v)| na.get(*k) != Some(v)).collect();
        problems.push(format!("strace only: {only_a:#?}\n  clonekit only: {only_b:#?}"));
    }
    if problems.is_empty() {
        None
    } else {
        Some(format!("{name}:\n  {}\n--- strace\n{sa}--- clonekit\n{sb}", problems.join("\n  ")))
    }
}

/// Whether strace options follow forks already (`-f` in a cluster, `--follow-forks`): one
/// more `-f` would make them `-ff`.
fn follows(opts: &[&str]) -> bool {
    opts.iter().any(|o| {
        *o == "--follow-forks"
            || (o.starts_with('-')
                && !o.starts_with("--")
                // Up to the first option that takes a value (`-etrace=%file`).
                && o[1..].chars().take_while(|c| !"eopsaEIOPSUuXb".contains(*c)).any(|c| c == 'f'))
    })
}

/// `strace -f -e trace=process OPTS -o OUT ARGV` (a later `-e trace=` in OPTS replaces the
/// first, as in strace; `-f` is not repeated if OPTS has it).
pub fn run_strace(opts: &[&str], argv: &[String], out: &Path) -> std::process::Output {
    let f: &[&str] = if follows(opts) { &[] } else { &["-f"] };
    Command::new("strace")
        .args(f)
        .args(["-e", "trace=process"])
        .args(opts)
        .arg("-o")
        .arg(out)
        .args(argv)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs `argv` under strace and under clonekit with the same options (`-o` added), and
/// compares the traces and the exit statuses. `None` when they agree.
pub fn differ(name: &str, argv: &[String], opts: &[&str]) -> Option<String> {
    differ_as(name, argv, opts, opts)
}

/// [`differ`] with strace's options and clonekit's given apart. On a loaded machine strace's
/// output itself varies (a child's first line written before its parent's `clone` line names
/// the pids in another order; a parent's `kill` of a child shown in the child's file): a
/// difference is tried again, up to three times, before it counts.
pub fn differ_as(name: &str, argv: &[String], strace_opts: &[&str], opts: &[&str]) -> Option<String> {
    let mut last = None;
    for _ in 0..3 {
        last = differ_once(name, argv, strace_opts, opts);
        if last.is_none() {
            break;
        }
    }
    last
}

fn differ_once(name: &str, argv: &[String], strace_opts: &[&str], opts: &[&str]) -> Option<String> {
    let tag = format!("{name} {}", opts.join(" ")).replace(['/', '!', '%', ',', '='], "_");
    let (a, b) = (tmp(&format!("{tag}.strace")), tmp(&format!("{tag}.clonekit")));
    let st = run_strace(strace_opts, argv, &a);
    let ck = run_clonekit(opts, argv, &b);
    let (sa, sb) =
        (std::fs::read_to_string(&a).unwrap_or_default(), std::fs::read_to_string(&b).unwrap_or_default());
    for f in [&a, &b] {
        remove_with_per_task_files(f);
    }
    if ck.status.code() != st.status.code() {
        return Some(format!(
            "{name} {opts:?}: exit status {:?} (strace {:?}): {}",
            ck.status.code(),
            st.status.code(),
            String::from_utf8_lossy(&ck.stderr)
        ));
    }
    compare(&format!("{name} {opts:?}"), &sa, &sb, true)
}

/// The workloads called `names`, in that order.
pub fn pick(dir: &Path, names: &[&str]) -> Vec<(&'static str, Vec<String>)> {
    let all = workloads(dir);
    names
        .iter()
        .map(|n| all.iter().find(|(w, _)| w == n).unwrap_or_else(|| panic!("no workload {n}")).clone())
        .collect()
}

/// Whether this process runs under a seccomp filter (`Seccomp: 2`), which its children
/// inherit (CI runs every test binary under one that refuses clone3).
pub fn under_seccomp_filter() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .is_ok_and(|s| s.lines().any(|l| l.strip_prefix("Seccomp:").is_some_and(|v| v.trim() == "2")))
}

/// Whether the differential cases can run here (gcc and strace), with the build directory.
pub fn differential_setup(test: &str) -> Option<PathBuf> {
    let dir = build()?;
    if !have("strace") {
        eprintln!("skipped: {test} (strace not installed; .ci/run installs it)");
        return None;
    }
    Some(dir)
}

/// Whether `--backend ebpf` works here (root or CAP_BPF, a kernel with BTF); if not, the test
/// is skipped by name with clonekit's own reason.
pub fn ebpf_available(test: &str) -> bool {
    let out = Command::new(CK).args(["trace", "--backend", "ebpf", "-qq", "--", "true"]).output().unwrap();
    if out.status.success() {
        return true;
    }
    let why = String::from_utf8_lossy(&out.stderr);
    let why = why.lines().next().unwrap_or("").trim_start_matches("clonekit: ");
    // Only what the machine lacks is a reason to skip; any other refusal is a failure.
    assert!(why.contains("needs root") || why.contains("no BTF"), "{test}: --backend ebpf failed: {why}");
    eprintln!("skipped: {test} ({why})");
    false
}

/// `State:` and `TracerPid:` of /proc/PID/status.
pub fn proc_state(pid: u32) -> Option<(char, u32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |k: &str| s.lines().find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()));
    Some((field("State:")?.chars().next()?, field("TracerPid:")?.parse().ok()?))
}

/// Runs `clonekit ARGS`, which must fail with one line on stderr (`clonekit: …`) and exit
/// status 2; the line.
pub fn one_line_exit_2(args: &[&str]) -> String {
    let r = Command::new(CK).args(args).stdin(Stdio::null()).output().unwrap();
    assert_eq!(r.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&r.stderr));
    let err = String::from_utf8(r.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("clonekit: "), "{err}");
    err
}

/// Starts `TRACER ARGS -p PID -o OUT` and waits until `pid` is traced by it.
pub fn attach_with(tracer: &str, args: &[&str], pid: u32, out: &Path) -> std::process::Child {
    let mut t = Command::new(tracer)
        .args(args)
        .args(["-p", &pid.to_string(), "-o"])
        .arg(out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut traced = false;
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(10));
        if proc_state(pid).map(|s| s.1) == Some(t.id()) {
            traced = true;
            break;
        }
    }
    if !traced {
        let _ = t.kill();
        let _ = t.wait();
    }
    assert!(traced, "{tracer} attached to {pid}");
    t
}
