//! strace's own options given to `clonekit trace`, each compared with strace under the same
//! option on the same workloads (the differential test's workloads and normalisation, in
//! trace_support): `-f`, `-ff -o FILE`, `-q`/`-qq`/`-qqq` and `-e quiet=`, `-e trace=`,
//! `-e signal=`, `-e status=` (with `-z`, `-Z` and `detached` after Ctrl-C under `-p`),
//! `-y`/`-yy`/`--decode-fds`, `--seccomp-bpf`, clustered short options, and `-p` with a
//! non-leader thread's id. Then the usage errors: an unknown option or a bad value is one
//! line naming it, exit status 2.
//!
//! Without gcc or strace the comparisons say so and are skipped by name.

mod trace_support;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use trace_support::*;

/// Runs every (workload, options) case through [`differ`]; fails with all the differences.
fn differ_all(dir: &Path, workloads: &[&str], option_sets: &[&[&str]]) {
    let mut failures = Vec::new();
    for opts in option_sets {
        for (name, argv) in pick(dir, workloads) {
            failures.extend(differ(name, &argv, opts));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn f_is_accepted_and_changes_nothing() {
    let Some(dir) = differential_setup("f_is_accepted_and_changes_nothing") else { return };
    let all: Vec<&str> = workloads(&dir).iter().map(|w| w.0).collect();
    differ_all(&dir, &all, &[&["-f"]]);
    differ_all(&dir, &["sh background jobs", "pthreads"], &[&["--follow-forks"]]);
}

#[test]
fn seccomp_bpf_is_accepted_and_changes_nothing() {
    let Some(dir) = differential_setup("seccomp_bpf_is_accepted_and_changes_nothing") else { return };
    let cases = ["sh pipeline", "pthreads", "vfork", "children killed by signals"];
    if !under_seccomp_filter() {
        differ_all(&dir, &cases, &[&["--seccomp-bpf"]]);
        return;
    }
    // Under a filter that was there first, strace's --seccomp-bpf misses the calls that
    // filter refuses (its ERRNO outranks strace's TRACE); clonekit runs the program under
    // PTRACE_SYSCALL there and shows them, as strace without --seccomp-bpf does.
    eprintln!("note: seccomp_bpf_is_accepted_and_changes_nothing: under a seccomp filter, compared with plain strace");
    let mut failures = Vec::new();
    for (name, argv) in pick(&dir, &cases) {
        failures.extend(differ_as(name, &argv, &[], &["--seccomp-bpf"]));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn trace_sets_as_strace() {
    let Some(dir) = differential_setup("trace_sets_as_strace") else { return };
    // strace prints the calls outside %process too (`%signal` holds rt_sigaction, `!wait4`
    // every other call); the comparison leaves those out, clonekit decodes %process only.
    differ_all(
        &dir,
        &[
            "sh background jobs",
            "pthreads",
            "vfork",
            "children killed by signals",
            "file descriptors",
            "exec from a non-leader thread",
        ],
        &[
            &["-e", "trace=clone,execve"],
            &["-e", "trace=%process"],
            &["-e", "trace=process"],
            &["-e", "trace=!wait4"],
            &["-e", "trace=!!wait4,exit_group"],
            &["-e", "trace=none"],
            &["-e", "trace=%signal"],
            &["-e", "trace=%file"],
            &["-e", "trace=%desc"],
            &["-e", "trace=/^(clone|wait)"],
            &["-e", "trace=?openat,exit_group"],
            &["-e", "trace=56,435,wait4@64"],
            &["-e", "execve"],
            &["--trace=clone3,exit"],
        ],
    );
    // Everything strace traces: hundreds of lines, of which the process calls must agree.
    differ_all(&dir, &["sh pipeline", "exec from a non-leader thread"], &[&["-e", "trace=all"]]);
}

#[test]
fn signal_sets_as_strace() {
    let Some(dir) = differential_setup("signal_sets_as_strace") else { return };
    differ_all(
        &dir,
        &[
            "children killed by signals",
            "raw clone with unusual exit signals",
            "group-stop",
            "file descriptors",
        ],
        &[
            &["-e", "signal=none"],
            &["-e", "signal=!SIGCHLD"],
            &["-e", "signal=SIGKILL,term"],
            &["-e", "signal=chld,SIGSTOP"],
            &["-e", "signal=17,10"],
            &["-e", "signal=!all"],
            &["--signal=SIGRT_2,usr1"],
        ],
    );
}

#[test]
fn status_sets_as_strace() {
    let Some(dir) = differential_setup("status_sets_as_strace") else { return };
    differ_all(
        &dir,
        &[
            "sh exit status",
            "children killed by signals",
            "posix_spawn",
            "exec from a non-leader thread",
            "vfork",
        ],
        &[
            &["-e", "status=successful"],
            &["-e", "status=failed"],
            &["-e", "status=unfinished"],
            &["-e", "status=!successful"],
            &["-e", "status=successful,detached"],
            &["-e", "status=all"],
            &["-z"],
            &["-Z"],
            &["--status=failed,unfinished"],
        ],
    );
}

#[test]
fn decode_fds_as_strace() {
    let Some(dir) = differential_setup("decode_fds_as_strace") else { return };
    if !clonekit_sys::clone3_supported() {
        eprintln!("note: decode_fds_as_strace: clone3 is refused here; its pidfd is not part of the case");
    }
    differ_all(
        &dir,
        &["file descriptors", "clone3 with CLONE_PIDFD"],
        &[&["-y"], &["-yy"], &["-e", "decode-fds=pidfd"], &["--decode-fds=path,dev"], &["--decode-fds"]],
    );
}

#[test]
fn clustered_short_options_as_strace() {
    let Some(dir) = differential_setup("clustered_short_options_as_strace") else { return };
    differ_all(
        &dir,
        &["sh background jobs", "children killed by signals", "exec from a non-leader thread"],
        &[&["-fqq"], &["-fqqq", "-etrace=clone,execve,exit_group"], &["-qfy", "-esignal=none"], &["-zf"]],
    );
}

/// The `Process N attached`/`detached` messages of a tracer's stderr (its own program name
/// first: `strace: `, `clonekit: `), pids as `map` numbers them.
fn messages(stderr: &str, map: &std::collections::HashMap<u32, usize>) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut rest = stderr;
    while let Some(i) = rest.find("Process ") {
        let tail = &rest[i..];
        let end = tail.find('\n').unwrap_or(tail.len());
        let msg = replace_pids(&tail[..end], map);
        *out.entry(msg).or_insert(0) += 1;
        rest = &tail[end..];
    }
    out
}

#[test]
fn quiet_levels_as_strace() {
    let Some(dir) = differential_setup("quiet_levels_as_strace") else { return };
    let cases = [
        "sh background jobs",
        "pthreads",
        "vfork",
        "children killed by signals",
        "exec from a non-leader thread",
    ];
    // What the file shows: `-q` is what `-o FILE PROG` implies; `-qq` drops the exits,
    // `-qqq` also `+++ superseded`.
    differ_all(
        &dir,
        &cases,
        &[&["-q"], &["-qq"], &["-qqq"], &["-e", "quiet=exit"], &["--quiet=thread-execve"], &["--quiet"]],
    );
    // What stderr shows: with `-e quiet=none` (no -q implied), `Process N attached` for every
    // child, the same in both.
    let mut failures = Vec::new();
    for (name, argv) in pick(&dir, &cases) {
        let (a, b) = (tmp(&format!("{name}.quiet.strace")), tmp(&format!("{name}.quiet.clonekit")));
        let st = run_strace(&["-e", "quiet=none"], &argv, &a);
        let ck = run_clonekit(&["-e", "quiet=none"], &argv, &b);
        let (sa, sb) = (std::fs::read_to_string(&a).unwrap(), std::fs::read_to_string(&b).unwrap());
        let (ma, mb) = (
            messages(&String::from_utf8_lossy(&st.stderr), &pid_map(&sa)),
            messages(&String::from_utf8_lossy(&ck.stderr), &pid_map(&sb)),
        );
        if ma != mb {
            failures.push(format!("{name}: strace {ma:?}\n  clonekit {mb:?}"));
        }
        assert!(String::from_utf8_lossy(&ck.stderr).lines().all(|l| l.starts_with("clonekit: Process ")));
        failures.extend(compare(&format!("{name} -e quiet=none"), &sa, &sb, true));
        let _ = std::fs::remove_file(&a);
        let _ = std::fs::remove_file(&b);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// How often `needle` occurs in `hay`.
fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

#[test]
fn quiet_levels_on_stderr_as_strace() {
    // Without -o the trace and the messages share stderr; the messages can land inside a
    // line (`vfork(strace: Process 6093 attached` then ` <unfinished ...>`), so they are
    // counted, not placed.
    let Some(dir) = differential_setup("quiet_levels_on_stderr_as_strace") else { return };
    let mut failures = Vec::new();
    for (name, argv) in
        pick(&dir, &["sh background jobs", "pthreads", "vfork", "exec from a non-leader thread"])
    {
        for q in [&[][..], &["-q"], &["-qq"], &["-qqq"]] {
            let st = Command::new("strace")
                .args(["-f", "-e", "trace=process"])
                .args(q)
                .args(&argv)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let ck = Command::new(CK)
                .arg("trace")
                .args(q)
                .arg("--")
                .args(&argv)
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let (sa, sb) = (String::from_utf8_lossy(&st.stderr), String::from_utf8_lossy(&ck.stderr));
            for (what, a, b) in [
                ("attach messages", count(&sa, "strace: Process "), count(&sb, "clonekit: Process ")),
                ("exits", count(&sa, "+++ exited with "), count(&sb, "+++ exited with ")),
                (
                    "superseded",
                    count(&sa, "+++ superseded by execve"),
                    count(&sb, "+++ superseded by execve"),
                ),
                ("execve calls", count(&sa, "execve("), count(&sb, "execve(")),
            ] {
                if a != b {
                    failures.push(format!("{name} {q:?}: {what}: strace {a}, clonekit {b}\n{sa}\n---\n{sb}"));
                }
            }
            if q.is_empty() && count(&sb, "clonekit: Process ") == 0 {
                failures.push(format!("{name}: no attach message:\n{sb}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The files `BASE.PID` of a `-ff` run, merged into one `-o`-style text (each line prefixed
/// with its file's pid, files by ascending pid); and whether every line came without a pid
/// prefix of its own.
fn merge_per_task(dir: &Path) -> (usize, String, bool) {
    let mut files: Vec<(u32, String)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name.strip_prefix("t.")?.parse().ok()?;
            Some((pid, std::fs::read_to_string(e.path()).ok()?))
        })
        .collect();
    files.sort();
    let mut merged = String::new();
    let mut bare = true;
    for (pid, text) in &files {
        for line in text.lines() {
            bare &= split_pid(line).is_none() && !line.starts_with("[pid");
            merged.push_str(&format!("{pid} {line}\n"));
        }
    }
    (files.len(), merged, bare)
}

#[test]
fn ff_writes_one_file_per_task_as_strace() {
    let Some(dir) = differential_setup("ff_writes_one_file_per_task_as_strace") else { return };
    let mut failures = Vec::new();
    let cases = [
        "sh background jobs",
        "pthreads",
        "vfork",
        "posix_spawn",
        "children killed by signals",
        "exec from a non-leader thread",
        "file descriptors",
    ];
    for (name, argv) in pick(&dir, &cases) {
        // strace's `-f --output-separately` is plain -f (its -f sets output_separately to
        // "-f given twice"): the long form goes with --follow-forks, or alone for clonekit.
        for (ff, strace_ff) in [
            (&["-ff"][..], &["-ff"][..]),
            (&["--output-separately"], &["--follow-forks", "--output-separately"]),
        ] {
            // On a loaded machine strace now and then writes a parent's `kill` of a child into
            // the child's own file, as a call of the child's left unfinished (`kill(P,
            // SIGKILL <unfinished ...>` in the file of a child that only reads): a pair that
            // differs is run again, up to three times, before it counts.
            let mut attempt = 0;
            loop {
                attempt += 1;
                let (da, db) = (tmp(&format!("{name}.ff.strace")), tmp(&format!("{name}.ff.clonekit")));
                for d in [&da, &db] {
                    let _ = std::fs::remove_dir_all(d);
                    std::fs::create_dir_all(d).unwrap();
                }
                let st = run_strace(strace_ff, &argv, &da.join("t"));
                let ck = run_clonekit(ff, &argv, &db.join("t"));
                assert_eq!(ck.status.code(), st.status.code(), "{name} {ff:?}");
                let (na, sa, _) = merge_per_task(&da);
                let (nb, sb, bare) = merge_per_task(&db);
                let mut found = Vec::new();
                if na != nb {
                    found.push(format!("{name} {ff:?}: {na} files from strace, {nb} from clonekit"));
                }
                if !bare {
                    found.push(format!("{name} {ff:?}: a line with a pid prefix:\n{sb}"));
                }
                found.extend(compare(&format!("{name} {ff:?}"), &sa, &sb, false));
                let _ = std::fs::remove_dir_all(&da);
                let _ = std::fs::remove_dir_all(&db);
                if found.is_empty() || attempt == 3 {
                    failures.extend(found);
                    break;
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn ff_without_o_is_f() {
    // strace: "-ff without -o FILE is the same as single -f".
    let r = Command::new(CK)
        .args(["trace", "-ff", "--", "/bin/sh", "-c", "/bin/true & wait"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("[pid ") && err.contains("execve(\"/bin/true\""), "{err}");
}

/// Starts `thread_tid` and reads the id of its second thread.
fn start_thread_tid(dir: &Path) -> (std::process::Child, u32) {
    let mut child =
        Command::new(dir.join("thread_tid")).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (child, line.trim().parse().unwrap())
}

#[test]
fn p_with_a_thread_id_attaches_to_its_process_as_strace() {
    let Some(dir) = differential_setup("p_with_a_thread_id_attaches_to_its_process_as_strace") else {
        return;
    };
    let mut traces = Vec::new();
    for tracer in ["strace", CK] {
        let (mut target, tid) = start_thread_tid(&dir);
        assert_ne!(tid, target.id(), "a thread that does not lead");
        let out = tmp(&format!("ptid.{}", if tracer == CK { "clonekit" } else { "strace" }));
        let args: &[&str] = if tracer == CK { &["trace"] } else { &["-f", "-e", "trace=process"] };
        let t = attach_with(tracer, args, tid, &out);
        // The whole thread group is traced, the leader too.
        let mut leader_traced = false;
        for _ in 0..300 {
            if proc_state(target.id()).map(|s| s.1) == Some(t.id()) {
                leader_traced = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(leader_traced, "{tracer}: the leader of {tid} is traced");
        target.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let r = t.wait_with_output().unwrap();
        assert_eq!(target.wait().unwrap().code(), Some(0));
        let err = String::from_utf8_lossy(&r.stderr).into_owned();
        assert!(err.contains(&format!("Process {tid} attached with 2 threads")), "{tracer}: {err}");
        let text = std::fs::read_to_string(&out).unwrap();
        let _ = std::fs::remove_file(&out);
        assert!(
            text.lines().filter_map(split_pid).any(|(p, l)| p == tid && l.starts_with("exit(0)")),
            "{tracer}: {text}"
        );
        // The line may be split by the thread's own (`exit_group(0 <unfinished ...>`).
        assert!(text.contains("exit_group(0") && text.contains("+++ exited with 0 +++"), "{tracer}: {text}");
        traces.push(text);
    }
    if let Some(diff) = compare("-p TID", &traces[0], &traces[1], true) {
        panic!("{diff}");
    }
}

#[test]
fn detached_status_after_ctrl_c_with_p_as_strace() {
    if !have("strace") {
        eprintln!("skipped: detached_status_after_ctrl_c_with_p_as_strace (strace not installed)");
        return;
    }
    let mut failures = Vec::new();
    for status in [&[][..], &["-e", "status=detached"], &["-e", "status=successful"]] {
        let mut traces = Vec::new();
        for tracer in ["strace", CK] {
            // A shell blocked in wait4 for its sleep: attached, its wait4 is restarted and
            // stays open until the tracer lets go.
            let mut target = Command::new("sh").args(["-c", "sleep 30; exit 0"]).spawn().unwrap();
            std::thread::sleep(Duration::from_millis(100));
            let out = tmp(&format!("detached.{}", traces.len()));
            let mut args: Vec<&str> =
                if tracer == CK { vec!["trace"] } else { vec!["-f", "-e", "trace=process"] };
            args.extend_from_slice(status);
            let t = attach_with(tracer, &args, target.id(), &out);
            std::thread::sleep(Duration::from_millis(300));
            Command::new("kill").args(["-INT", &t.id().to_string()]).status().unwrap();
            let r = t.wait_with_output().unwrap();
            let text = std::fs::read_to_string(&out).unwrap();
            let _ = std::fs::remove_file(&out);
            let err = String::from_utf8_lossy(&r.stderr).into_owned();
            let detached = format!("Process {} detached", target.id());
            if !err.contains(&detached) {
                failures.push(format!("{tracer} {status:?}: no `{detached}`: {err}"));
            }
            assert_eq!(proc_state(target.id()).map(|s| s.1), Some(0), "{tracer}: detached");
            // The shell's sleep first (by its pid), then the shell.
            let kids = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", target.id()));
            for kid in kids.unwrap_or_default().split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", kid]).status();
            }
            let _ = target.kill();
            let _ = target.wait();
            traces.push(text.replace(&format!("{} ", target.id()), "SHELL "));
        }
        let norm = |t: &str| {
            t.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>()
        };
        let (a, b) = (norm(&traces[0]), norm(&traces[1]));
        if a != b {
            failures.push(format!("{status:?}:\n--- strace\n{}\n--- clonekit\n{}", traces[0], traces[1]));
        }
        let expect_detached = status.is_empty() || status.contains(&"status=detached");
        if a.iter().any(|l| l.ends_with("<detached ...>")) != expect_detached {
            failures.push(format!("{status:?}: <detached ...> line: {a:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn strace_options_never_become_the_program() {
    for opts in [
        &["-f"][..],
        &["-ff"],
        &["-fq"],
        &["-qq"],
        &["-qqq"],
        &["-e", "trace=clone"],
        &["-etrace=clone"],
        &["-e", "signal=none"],
        &["-e", "status=failed"],
        &["-z"],
        &["-Z"],
        &["-y"],
        &["-yy"],
        &["--seccomp-bpf"],
        &["-f", "-s", "64", "-tt", "-T"],
    ] {
        let r = Command::new(CK).arg("trace").args(opts).args(["/bin/sh", "-c", "exit 3"]).output().unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(3), "{opts:?}: {err}");
        assert!(!err.contains("cannot run"), "{opts:?}: {err}");
    }
    // A program's own options stay its own, after the program name.
    let r = Command::new(CK).args(["trace", "-qq", "ls", "-d", "/"]).output().unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_eq!(String::from_utf8_lossy(&r.stdout), "/\n");
}

#[test]
fn unknown_options_and_bad_values_are_one_line_and_exit_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["trace", "-k", "--", "true"], "'-k'"),
        (&["trace", "-fk", "--", "true"], "'-k'"),
        (&["trace", "--frobnicate", "true"], "'--frobnicate'"),
        (&["trace", "-e", "trace=nosuchcall", "--", "true"], "invalid system call 'nosuchcall'"),
        (&["trace", "-e", "trace=clone,openat", "--", "true"], "invalid system call 'openat'"),
        (&["trace", "-e", "trace=%net", "--", "true"], "'%net' has no %process call"),
        (&["trace", "-e", "trace=/(", "--", "true"], "invalid regular expression '('"),
        (&["trace", "-e", "trace=clone@32", "--", "true"], "personality '32'"),
        (&["trace", "--trace=bogus", "--", "true"], "--trace=bogus: invalid system call 'bogus'"),
        (&["trace", "-e", "signal=SIGFOO", "--", "true"], "invalid signal 'SIGFOO'"),
        (&["trace", "-e", "status=ok", "--", "true"], "invalid status 'ok'"),
        (&["trace", "-e", "quiet=loud", "--", "true"], "invalid quiet 'loud'"),
        (&["trace", "-e", "decode-fds=colour", "--", "true"], "invalid decode-fds 'colour'"),
        (&["trace", "-e", "raw=all", "--", "true"], "qualifier 'raw' is not supported"),
        (&["trace", "-e", "inject=clone:error=EPERM", "--", "true"], "qualifier 'inject' is not supported"),
        (&["trace", "-q", "-e", "quiet=exit", "--", "true"], "-q and -e quiet/--quiet cannot be provided"),
        (&["trace", "-y", "--decode-fds=path", "--", "true"], "-y and --decode-fds cannot be provided"),
        (&["trace", "-f", "--follow-forks", "--", "true"], "-f and --follow-forks cannot be provided"),
        (
            &["trace", "-ff", "--output-separately", "-o", "/tmp/x", "--", "true"],
            "-ff and --output-separately",
        ),
        (&["trace", "-ff", "-c", "-o", "/tmp/x", "--", "true"], "mutually exclusive"),
        (&["trace", "-ff", "--tree", "-o", "/tmp/x", "--", "true"], "mutually exclusive"),
        (&["trace", "-s", "many", "--", "true"], "'many'"),
        (&["trace", "-p", "x"], "'x'"),
    ];
    for (args, needle) in cases {
        let line = one_line_exit_2(args);
        assert!(line.contains(needle), "{args:?}: {line}");
        assert!(!line.contains("cannot run"), "{args:?}: {line}");
    }
}

#[test]
fn ff_file_that_cannot_be_created_is_one_line_and_exit_2() {
    let line = one_line_exit_2(&["trace", "-ff", "-o", "/no/such/dir/t", "--", "true"]);
    assert!(line.contains("/no/such/dir/t.") && line.contains("No such file or directory"), "{line}");
}

#[test]
fn ttt_is_seconds_since_the_epoch_as_strace() {
    let Some(dir) = differential_setup("ttt_is_seconds_since_the_epoch_as_strace") else { return };
    let argv = vec!["/bin/true".to_string()];
    let (a, b) = (tmp("ttt.strace"), tmp("ttt.clonekit"));
    run_strace(&["-ttt"], &argv, &a);
    run_clonekit(&["-ttt"], &argv, &b);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let stamps = |p: &Path| -> Vec<(f64, String)> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(|l| {
                let (_, rest) = split_pid(l).unwrap();
                let (stamp, line) = rest.split_once(' ').unwrap();
                let (secs, micros) = stamp.split_once('.').unwrap();
                assert_eq!(micros.len(), 6, "{l}");
                (format!("{secs}.{micros}").parse().unwrap(), line.split('(').next().unwrap().to_string())
            })
            .collect()
    };
    let (sa, sb) = (stamps(&a), stamps(&b));
    let _ = (std::fs::remove_file(&a), std::fs::remove_file(&b), dir);
    assert_eq!(sa.iter().map(|s| &s.1).collect::<Vec<_>>(), sb.iter().map(|s| &s.1).collect::<Vec<_>>());
    assert!(sb.iter().all(|(t, _)| (now - t).abs() < 60.0), "{sb:?}");
}
