//! Scenarios back to text: each [`Op`] printed in the language's own spelling, so that a
//! generated scenario can be saved as a `.scn` file that the parser reads back to the same
//! operations.

use std::fmt::Write as _;

use clonekit_flags::{
    pidfd_flags_text, ExitSignal, Signal, CSIGNAL, FLAG_TABLE, PIDFD_OPEN_FLAGS, PIDFD_SIGNAL_FLAGS, SI_CODES,
};
use clonekit_model::{
    Disposition, SigprocmaskHow, WALL, WCLONE, WCONTINUED, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT, WUNTRACED,
};

use crate::ast::{Op, PidArg, Scenario, StepKind, Target, WaitidId, Word};

/// A flags word as named flags joined by `|` (lowercase short names from clonekit-flags'
/// table), bits without a name in hexadecimal, `None` when empty.
fn flag_names(bits: u64) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut left = bits;
    for row in FLAG_TABLE {
        if bits & row.flag.bits() != 0 {
            parts.push(row.short_name().to_ascii_lowercase());
            left &= !row.flag.bits();
        }
    }
    if left != 0 {
        parts.push(format!("{left:#x}"));
    }
    (!parts.is_empty()).then(|| parts.join("|"))
}

/// The legacy `clone` flags word: flags, then the exit signal of its low byte.
pub(crate) fn clone_flags_text(raw: u64) -> String {
    let sig = raw & CSIGNAL;
    let sig_text = ExitSignal(sig).signal().map(|s| s.to_string());
    match (flag_names(raw & !CSIGNAL), sig) {
        (None, 0) => "0".to_string(),
        (None, _) => sig_text.unwrap_or_else(|| format!("{sig:#x}")),
        (Some(f), 0) => f,
        (Some(f), _) => match sig_text {
            Some(s) => format!("{f}|{s}"),
            None => format!("{:#x}", raw),
        },
    }
}

/// `clone_args.flags`, or `unshare`'s flags: `0` when empty.
pub(crate) fn clone3_flags_text(bits: u64) -> String {
    flag_names(bits).unwrap_or_else(|| "0".to_string())
}

fn sig_text(n: u32) -> String {
    Signal::new(n).map_or_else(|| n.to_string(), |s| s.to_string())
}

fn target_text(t: &Target) -> String {
    match t {
        Target::Task(n) => n.clone(),
        Target::All => "-1".into(),
        Target::Group => "0".into(),
        Target::Pgrp(n) => format!("-{n}"),
        Target::Num(n) => n.to_string(),
    }
}

/// Wait options by name; bits the call has no name for (`wexited` for `wait4`, unknown ones)
/// in hexadecimal.
fn wait_options_text(bits: u32, waitid: bool) -> String {
    let mut names: Vec<String> = Vec::new();
    let table: [(u32, &str, bool); 8] = [
        (WEXITED, "wexited", waitid),
        (WUNTRACED, if waitid { "wstopped" } else { "wuntraced" }, true),
        (WCONTINUED, "wcontinued", true),
        (WNOHANG, "wnohang", true),
        (WNOWAIT, "wnowait", waitid),
        (WCLONE, "wclone", true),
        (WALL, "wall", true),
        (WNOTHREAD, "wnothread", true),
    ];
    let mut left = bits;
    for (bit, name, named) in table {
        if named && bits & bit != 0 {
            names.push(name.to_string());
            left &= !bit;
        }
    }
    if left != 0 {
        names.push(format!("{left:#x}"));
    }
    names.join(",")
}

fn opt_kv(out: &mut String, key: &str, v: &Option<crate::ast::Ptr>) {
    if let Some(v) = v {
        let _ = write!(out, " {key}={v}");
    }
}

/// One operation in the language's spelling (what follows `TASK: `).
pub fn op_text(op: &Op) -> String {
    let mut s = String::new();
    match op {
        Op::Fork { name } => s = format!("fork as {name}"),
        Op::Vfork { name } => s = format!("vfork as {name}"),
        Op::Clone { flags, ptid, ctid, tls, name } => {
            s = format!("clone {}", clone_flags_text(*flags));
            opt_kv(&mut s, "ptid", ptid);
            opt_kv(&mut s, "ctid", ctid);
            if *tls != 0 {
                let _ = write!(s, " tls={tls}");
            }
            let _ = write!(s, " as {name}");
        }
        Op::Clone3 { args, name } => {
            s = format!("clone3 {}", clone3_flags_text(args.flags));
            if args.exit != 0 {
                match u32::try_from(args.exit).ok().and_then(Signal::new) {
                    Some(sig) => {
                        let _ = write!(s, " exit={sig}");
                    }
                    None => {
                        let _ = write!(s, " exit={}", args.exit);
                    }
                }
            }
            opt_kv(&mut s, "ptid", &args.ptid);
            opt_kv(&mut s, "ctid", &args.ctid);
            opt_kv(&mut s, "pidfd", &args.pidfd);
            if let Some(list) = &args.set_tid {
                let l: Vec<String> = list.iter().map(i64::to_string).collect();
                let _ = write!(s, " set_tid={}", l.join(","));
            }
            for (key, v) in [
                ("set_tid_size", args.set_tid_size),
                ("size", args.size),
                ("stack", args.stack),
                ("stack_size", args.stack_size),
            ] {
                if let Some(v) = v {
                    let _ = write!(s, " {key}={v}");
                }
            }
            if args.tls != 0 {
                let _ = write!(s, " tls={}", args.tls);
            }
            if args.cgroup != 0 {
                let _ = write!(s, " cgroup={}", args.cgroup);
            }
            if args.tail {
                s.push_str(" tail");
            }
            match args.at {
                crate::ast::ArgsAt::Memory => {}
                crate::ast::ArgsAt::Null => s.push_str(" args=null"),
                crate::ast::ArgsAt::Unmapped => s.push_str(" args=unmapped"),
                crate::ast::ArgsAt::Guarded => s.push_str(" args=guarded"),
            }
            let _ = write!(s, " as {name}");
        }
        Op::Exit(n) => s = format!("exit {n}"),
        Op::ExitGroup(n) => s = format!("exit_group {n}"),
        Op::Wait4 { target, options } => {
            s = format!("wait4 {}", target_text(target));
            if *options != 0 {
                let _ = write!(s, " {}", wait_options_text(*options, false));
            }
        }
        Op::Waitid { id, options, siginfo } => {
            let id = match id {
                WaitidId::All => "all".to_string(),
                WaitidId::Pid(n) => format!("pid {n}"),
                WaitidId::Pgid(p) => format!("pgid {p}"),
                WaitidId::Pidfd(v) => format!("pidfd {v}"),
            };
            s = format!("waitid {id} {}", wait_options_text(*options, true));
            if *siginfo {
                s.push_str(" siginfo");
            }
        }
        Op::Execve => s.push_str("execve"),
        Op::Getpid => s.push_str("getpid"),
        Op::Gettid => s.push_str("gettid"),
        Op::Getppid => s.push_str("getppid"),
        Op::Ns(kind) => s = format!("ns {}", kind.name()),
        Op::Unshare(bits) => s = format!("unshare {}", clone3_flags_text(*bits)),
        Op::NsOpen { task, kind } => s = format!("nsfd {task} {}", kind.name()),
        Op::Setns { fd, nstype } => {
            let ty = match u64::try_from(*nstype).ok().and_then(flag_names) {
                Some(names) => names,
                None => nstype.to_string(),
            };
            s = format!("setns {fd} {ty}");
        }
        Op::Sethostname(n) => s = format!("sethostname {n}"),
        Op::Gethostname => s.push_str("gethostname"),
        Op::PrctlSubreaper => s.push_str("prctl subreaper"),
        Op::PrctlPdeathsig(sig) => {
            s = format!("prctl pdeathsig {}", if *sig == 0 { "0".into() } else { sig_text(*sig) })
        }
        Op::PrctlGetPdeathsig => s.push_str("prctl get_pdeathsig"),
        Op::PrctlGetSubreaper => s.push_str("prctl get_subreaper"),
        Op::PrctlDumpable(v) => s = format!("prctl dumpable {v}"),
        Op::PrctlGetDumpable => s.push_str("prctl get_dumpable"),
        Op::PrctlKeepcaps(v) => s = format!("prctl keepcaps {v}"),
        Op::PrctlGetKeepcaps => s.push_str("prctl get_keepcaps"),
        Op::PrctlNoNewPrivs(v) => s = format!("prctl no_new_privs {v}"),
        Op::PrctlGetNoNewPrivs => s.push_str("prctl get_no_new_privs"),
        Op::PidfdInfo(fd) => s = format!("pidfd_info {fd}"),
        Op::Ptrace(p) => {
            use crate::ast::PtraceOp as P;
            let opts = |o: &u32| clonekit_flags::pidfd_flags_text(*o, clonekit_flags::PTRACE_OPTIONS);
            let sig = |n: &u32| if *n == 0 { String::new() } else { format!(" {}", sig_text(*n)) };
            s = match p {
                P::Traceme => "ptrace traceme".into(),
                P::Attach(t) => format!("ptrace attach {t}"),
                P::Seize(t, 0) => format!("ptrace seize {t}"),
                P::Seize(t, o) => format!("ptrace seize {t} {}", opts(o)),
                P::Setoptions(t, o) => format!("ptrace setoptions {t} {}", opts(o)),
                P::Cont(t, n) => format!("ptrace cont {t}{}", sig(n)),
                P::Detach(t, n) => format!("ptrace detach {t}{}", sig(n)),
                P::Geteventmsg(t) => format!("ptrace geteventmsg {t}"),
            };
        }
        Op::Capset(crate::ast::Capset::Drop(caps)) => {
            s = format!("capset drop {}", clonekit_flags::format_cap_set(*caps))
        }
        Op::Capset(crate::ast::Capset::Only(caps)) => {
            s = format!("capset {}", clonekit_flags::format_cap_set(*caps))
        }
        Op::Capget(cap) => s = format!("capget {}", clonekit_flags::capability_name(*cap)),
        Op::Setuid(u) => s = format!("setuid {u}"),
        Op::Seteuid(u) => s = format!("seteuid {u}"),
        Op::Getuid => s.push_str("getuid"),
        Op::Geteuid => s.push_str("geteuid"),
        Op::Store(v, n) => s = format!("store {v} {n}"),
        Op::Load(v) => s = format!("load {v}"),
        Op::SetTidAddress(v) => s = format!("set_tid_address {v}"),
        Op::FutexWait(v, w) => {
            let w = match w {
                Word::Num(n) => n.to_string(),
                Word::Tid(t) => t.clone(),
            };
            s = format!("futex_wait {v} {w}");
        }
        Op::FutexWake(v, n) => s = format!("futex_wake {v} {n}"),
        Op::Chdir(p) => s = format!("chdir {p}"),
        Op::Getcwd => s.push_str("getcwd"),
        Op::Umask(m) => s = format!("umask {m:03o}"),
        Op::Open { path, cloexec } => s = format!("open {path}{}", if *cloexec { " cloexec" } else { "" }),
        Op::Close(fd) => s = format!("close {fd}"),
        Op::Dup(fd) => s = format!("dup {fd}"),
        Op::Cloexec(fd, on) => s = format!("cloexec {fd} {}", if *on { "on" } else { "off" }),
        Op::Fdstate(fd) => s = format!("fdstate {fd}"),
        Op::Seek(fd, off) => s = format!("seek {fd} {off}"),
        Op::Tell(fd) => s = format!("tell {fd}"),
        Op::Sigaction(sig, act) => {
            s = format!("sigaction {}", sig_text(*sig));
            if let Some(d) = act {
                s.push_str(match d {
                    Disposition::Default => " dfl",
                    Disposition::Ignore => " ign",
                    Disposition::Handler => " handler",
                });
            }
        }
        Op::Sigprocmask(how, set) => {
            let how = match how {
                SigprocmaskHow::Block => "block",
                SigprocmaskHow::Unblock => "unblock",
                SigprocmaskHow::SetMask => "setmask",
            };
            let sigs: Vec<String> =
                (1..=64u32).filter(|n| set & (1u64 << (n - 1)) != 0).map(sig_text).collect();
            let sigs = if sigs.is_empty() { "[]".to_string() } else { sigs.join(",") };
            s = format!("sigprocmask {how} {sigs}");
        }
        Op::Kill(t, sig) => {
            s = format!("kill {} {}", target_text(t), if *sig == 0 { "0".into() } else { sig_text(*sig) })
        }
        Op::Tgkill(a, b, sig) => {
            s = format!("tgkill {a} {b} {}", if *sig == 0 { "0".into() } else { sig_text(*sig) })
        }
        Op::Handled => s.push_str("handled"),
        Op::Sigaltstack(None) => s.push_str("sigaltstack"),
        Op::Sigaltstack(Some(on)) => s = format!("sigaltstack {}", if *on { "on" } else { "off" }),
        Op::IoprioSet(p) => {
            let class = ["none", "rt", "be", "idle"].get(usize::from(p >> 13)).copied().unwrap_or("none");
            s = format!("ioprio_set {class},{}", p & 0x1fff);
        }
        Op::IoprioGet => s.push_str("ioprio_get"),
        Op::PidfdOpen { pid, flags } => {
            s = format!("pidfd_open {pid}");
            if *flags != 0 {
                let _ = write!(s, " {}", pidfd_flags_text(*flags, PIDFD_OPEN_FLAGS));
            }
        }
        Op::PidfdSendSignal { pidfd, sig, flags, info, signo } => {
            let sig = if *sig == 0 { "0".into() } else { sig_text(*sig) };
            s = format!("pidfd_send_signal {pidfd} {sig}");
            if *flags != 0 {
                let _ = write!(s, " {}", pidfd_flags_text(*flags, PIDFD_SIGNAL_FLAGS));
            }
            if let Some(code) = info {
                match SI_CODES.iter().find(|(c, _)| c == code) {
                    Some((_, name)) => {
                        let _ = write!(s, " info={name}");
                    }
                    None => {
                        let _ = write!(s, " info={code}");
                    }
                }
                if let Some(n) = signo {
                    let _ = write!(s, " signo={}", sig_text(*n));
                }
            }
        }
        Op::PidfdGetfd { pidfd, fd, flags } => {
            s = format!("pidfd_getfd {pidfd} {fd}");
            if *flags != 0 {
                let _ = write!(s, " {flags}");
            }
        }
        Op::Poll { fd, wait } => s = format!("poll {fd}{}", if *wait { " wait" } else { "" }),
        Op::Setpgid(pid, pgid) => s = format!("setpgid {pid} {pgid}"),
        Op::Getpgid(PidArg::Num(0)) => s.push_str("getpgid"),
        Op::Getpgid(pid) => s = format!("getpgid {pid}"),
        Op::Setsid => s.push_str("setsid"),
        Op::Setrlimit { resource, soft, hard } => {
            s = format!(
                "setrlimit {} {} {}",
                clonekit_flags::rlimit_name(*resource).unwrap_or("?"),
                clonekit_flags::format_rlim(*soft),
                clonekit_flags::format_rlim(*hard)
            )
        }
        Op::Getrlimit(resource) => {
            s = format!("getrlimit {}", clonekit_flags::rlimit_name(*resource).unwrap_or("?"))
        }
        Op::Getsid(PidArg::Num(0)) => s.push_str("getsid"),
        Op::Getsid(pid) => s = format!("getsid {pid}"),
    }
    s
}

/// A scenario as a file the parser reads back to the same steps: the title, a `task NAME`
/// header when the first task is not `main`, then one line per step, its operation printed
/// from the AST (`resumed` lines keep their text), with `=> EXPECTED` where the step has one.
pub fn to_text(s: &Scenario) -> String {
    let mut out = String::new();
    if let Some(t) = &s.title {
        let _ = writeln!(out, "# title: {t}");
    }
    if s.first_task != "main" {
        let _ = writeln!(out, "task {}", s.first_task);
    }
    for step in &s.steps {
        let op = match &step.kind {
            StepKind::Run(op) => op_text(op),
            StepKind::Resumed => format!("resumed {}", step.text),
        };
        let line = format!("{}: {op}", step.task);
        match &step.expect {
            Some(e) => {
                let _ = writeln!(out, "{line:<44} => {e}");
            }
            None => {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    out
}
