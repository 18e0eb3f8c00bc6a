//! The parser: text to [`Scenario`], with errors that name `file:line:col`. It never panics,
//! whatever the input.

use std::collections::HashSet;

use clonekit_flags::{
    parse_clone3_flags, parse_flags, parse_pidfd_flags, Signal, CSIGNAL, PIDFD_OPEN_FLAGS, PIDFD_SIGNAL_FLAGS,
};
use clonekit_model::{Disposition, NsKind, SigprocmaskHow};

use crate::ast::{
    ArgsAt, Capset, Clone3Args, FdArg, LinuxRange, Op, PidArg, Ptr, PtraceOp, Scenario, Step, StepKind,
    Target, WaitidId, Word,
};
use crate::error::ScenarioError;

/// One whitespace-separated word of a line and the column it starts at (from 1).
#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    text: &'a str,
    col: usize,
}

/// Parses a scenario; `file` is used in messages only.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let mut title = None;
    let mut linux = None;
    let mut first_task: Option<String> = None;
    let mut steps = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |col: usize, msg: String| ScenarioError::Parse {
            file: file.to_string(),
            line: line_no,
            col,
            msg,
        };
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix('#') {
            if title.is_none() && steps.is_empty() {
                if let Some(t) = rest.trim_start().strip_prefix("title:") {
                    title = Some(t.trim().to_string());
                }
            }
            if let Some(v) = rest.trim_start().strip_prefix("linux:").filter(|_| steps.is_empty()) {
                let v = v.trim();
                let col = line.find("linux:").map_or(1, |c| c + 1);
                let bad = || {
                    err(
                        col,
                        format!(
                            "expected `linux: >= X.Y`, `linux: < X.Y` or `linux: >= X.Y, < A.B` (or several joined by `or`), found {v:?}"
                        ),
                    )
                };
                let version = |x: &str| clonekit_flags::parse_version(x.trim()).map_err(|m| err(col, m));
                let one = |v: &str| -> Result<LinuxRange, ScenarioError> {
                    let v = v.trim();
                    Ok(match v.split_once(',') {
                        Some((lo, hi)) => {
                            let lo = lo.trim().strip_prefix(">=").ok_or_else(bad)?;
                            let hi = hi.trim().strip_prefix('<').ok_or_else(bad)?;
                            let (from, to) = (version(lo)?, version(hi)?);
                            if from >= to {
                                return Err(err(col, format!("`linux: {v}` is an empty range")));
                            }
                            LinuxRange::Between(from, to)
                        }
                        None => match (v.strip_prefix(">="), v.strip_prefix('<')) {
                            (Some(x), _) => LinuxRange::AtLeast(version(x)?),
                            (None, Some(x)) => LinuxRange::Before(version(x)?),
                            (None, None) => return Err(bad()),
                        },
                    })
                };
                let parts = v.split(" or ").map(one).collect::<Result<Vec<_>, _>>()?;
                linux = Some(match <[LinuxRange; 1]>::try_from(parts) {
                    Ok([single]) => single,
                    Err(parts) => LinuxRange::Any(parts),
                });
            }
            continue;
        }
        // Drop a trailing comment.
        let code = match line.find('#') {
            Some(p) => &line[..p],
            None => line,
        };
        let toks = tokens(code);
        let Some(first) = toks.first() else { continue };
        if first.text == "task" && !code.contains(':') {
            if !steps.is_empty() || first_task.is_some() {
                return Err(err(first.col, "`task NAME` must come before the first step".into()));
            }
            let Some(name) = toks.get(1) else {
                return Err(err(first.col + 4, "expected a task name after `task`".into()));
            };
            check_name(name).map_err(|m| err(name.col, m))?;
            if let Some(extra) = toks.get(2) {
                return Err(err(extra.col, format!("unexpected {:?} after the task name", extra.text)));
            }
            first_task = Some(name.text.to_string());
            names.insert(name.text.to_string());
            continue;
        }
        if first_task.is_none() {
            first_task = Some("main".to_string());
            names.insert("main".to_string());
        }
        let step = parse_step(code, line_no, &mut names).map_err(|(col, msg)| err(col, msg))?;
        steps.push(step);
    }
    Ok(Scenario {
        file: file.to_string(),
        title,
        linux,
        first_task: first_task.unwrap_or_else(|| "main".to_string()),
        steps,
    })
}

/// Splits on whitespace, keeping each word's column (in characters, from 1).
fn tokens(s: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    let mut col = 0usize;
    for (b, ch) in s.char_indices() {
        col += 1;
        if ch.is_whitespace() {
            if let Some((sb, sc)) = start.take() {
                out.push(Tok { text: &s[sb..b], col: sc });
            }
        } else if start.is_none() {
            start = Some((b, col));
        }
    }
    if let Some((sb, sc)) = start {
        out.push(Tok { text: &s[sb..], col: sc });
    }
    out
}

/// The column (from 1) of byte offset `b` in `s`.
fn col_of(s: &str, b: usize) -> usize {
    s.get(..b).map_or(1, |p| p.chars().count() + 1)
}

fn check_name(t: &Tok<'_>) -> Result<(), String> {
    let mut chars = t.text.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("{:?} is not a name ([a-z][a-z0-9_]*)", t.text))
    }
}

type PResult<T> = Result<T, (usize, String)>;

fn parse_step(code: &str, line: usize, names: &mut HashSet<String>) -> PResult<Step> {
    let Some(colon) = code.find(':') else {
        let c = tokens(code).first().map_or(1, |t| t.col);
        return Err((c, "expected `TASK: OPERATION`".into()));
    };
    let head = &code[..colon];
    let head_toks = tokens(head);
    let task_tok = match head_toks.as_slice() {
        [t] => *t,
        [] => return Err((col_of(code, colon), "expected a task name before `:`".into())),
        [_, second, ..] => return Err((second.col, "expected `:` after the task name".into())),
    };
    check_name(&task_tok).map_err(|m| (task_tok.col, m))?;
    let rest = &code[colon + 1..];
    let rest_col = col_of(code, colon + 1) - 1;
    let (op_part, expect) = match rest.find("=>") {
        Some(p) => {
            let exp = rest[p + 2..].trim();
            if exp.is_empty() {
                return Err((rest_col + col_of(rest, p), "expected a result after `=>`".into()));
            }
            (&rest[..p], Some(exp.split_whitespace().collect::<Vec<_>>().join(" ")))
        }
        None => (rest, None),
    };
    let toks: Vec<Tok<'_>> =
        tokens(op_part).into_iter().map(|t| Tok { text: t.text, col: t.col + rest_col }).collect();
    let Some(first) = toks.first() else {
        return Err((rest_col + 1, "expected an operation after `:`".into()));
    };
    let text = toks.iter().map(|t| t.text).collect::<Vec<_>>().join(" ");
    let kind = if first.text == "resumed" {
        if toks.len() < 2 {
            return Err((first.col + 7, "expected the resumed operation after `resumed`".into()));
        }
        StepKind::Resumed
    } else {
        let op = parse_op(&toks)?;
        if let Some(name) = op.creates() {
            if !names.insert(name.to_string()) {
                let col = toks.last().map_or(first.col, |t| t.col);
                return Err((col, format!("task name {name:?} is already used")));
            }
        }
        if op.ends_task() && expect.is_some() {
            return Err((first.col, format!("`{}` has no result to expect", first.text)));
        }
        StepKind::Run(op)
    };
    let text = match kind {
        StepKind::Resumed => text["resumed ".len().min(text.len())..].to_string(),
        StepKind::Run(_) => text,
    };
    Ok(Step { line, col: task_tok.col, task: task_tok.text.to_string(), text, kind, expect })
}

/// Reads the words after the operation's name.
struct Args<'a, 'b> {
    toks: &'b [Tok<'a>],
    pos: usize,
    /// Where the operation ends, for "expected …" at the end of the line.
    end_col: usize,
}

impl<'a> Args<'a, '_> {
    fn next(&mut self, what: &str) -> PResult<Tok<'a>> {
        match self.toks.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                Ok(*t)
            }
            None => Err((self.end_col, format!("expected {what}"))),
        }
    }

    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.pos).copied()
    }

    fn done(&self) -> PResult<()> {
        match self.toks.get(self.pos) {
            Some(t) => Err((t.col, format!("unexpected {:?}", t.text))),
            None => Ok(()),
        }
    }

    fn name(&mut self, what: &str) -> PResult<String> {
        let t = self.next(what)?;
        check_name(&t).map_err(|m| (t.col, m))?;
        Ok(t.text.to_string())
    }

    /// `as NAME`, the end of a creating operation.
    fn as_name(&mut self) -> PResult<String> {
        let t = self.next("`as NAME`")?;
        if t.text != "as" {
            return Err((t.col, format!("expected `as NAME`, found {:?}", t.text)));
        }
        let name = self.name("a task name after `as`")?;
        self.done()?;
        Ok(name)
    }
}

/// A decimal or `0x` hexadecimal number.
fn number(t: &Tok<'_>) -> PResult<u64> {
    let s = t.text;
    let parsed = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16)
    } else {
        s.parse::<u64>()
    };
    parsed.map_err(|_| (t.col, format!("{s:?} is not a number")))
}

fn signed(t: &Tok<'_>) -> PResult<i64> {
    match t.text.strip_prefix('-') {
        Some(rest) => {
            let n = number(&Tok { text: rest, col: t.col })?;
            i64::try_from(n).map(|n| -n).map_err(|_| (t.col, format!("{:?} is out of range", t.text)))
        }
        None => {
            let n = number(t)?;
            i64::try_from(n).map_err(|_| (t.col, format!("{:?} is out of range", t.text)))
        }
    }
}

fn int32(t: &Tok<'_>) -> PResult<i32> {
    let n = signed(t)?;
    i32::try_from(n).map_err(|_| (t.col, format!("{:?} does not fit an int", t.text)))
}

fn word32(t: &Tok<'_>) -> PResult<u32> {
    let n = number(t)?;
    u32::try_from(n).map_err(|_| (t.col, format!("{:?} does not fit a 32-bit word", t.text)))
}

/// A signal by name or number; `0` is allowed where `allow_zero` (kill's existence check).
fn signal(t: &Tok<'_>, allow_zero: bool) -> PResult<u32> {
    if allow_zero && t.text == "0" {
        return Ok(0);
    }
    Signal::from_name(t.text)
        .map(Signal::number)
        .ok_or_else(|| (t.col, format!("unknown signal {:?}", t.text)))
}

fn target(t: &Tok<'_>) -> PResult<Target> {
    match t.text {
        "-1" => Ok(Target::All),
        "0" => Ok(Target::Group),
        s if s.starts_with(|c: char| c.is_ascii_digit()) => Ok(Target::Num(int32(t)?)),
        s if s.starts_with('-') && s[1..].starts_with(|c: char| c.is_ascii_digit()) => {
            Ok(Target::Num(int32(t)?))
        }
        s if s.starts_with('-') => {
            let name = Tok { text: &s[1..], col: t.col + 1 };
            check_name(&name).map_err(|m| (name.col, m))?;
            Ok(Target::Pgrp(name.text.to_string()))
        }
        _ => {
            check_name(t)
                .map_err(|_| (t.col, format!("expected a task name, -1 or 0, found {:?}", t.text)))?;
            Ok(Target::Task(t.text.to_string()))
        }
    }
}

fn wait_options(t: &Tok<'_>, waitid: bool) -> PResult<u32> {
    use clonekit_model::{WALL, WCLONE, WCONTINUED, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT, WUNTRACED};
    let mut bits = 0;
    for o in t.text.split(',') {
        bits |= match o {
            "wnohang" => WNOHANG,
            "wclone" => WCLONE,
            "wall" => WALL,
            "wnothread" => WNOTHREAD,
            "wcontinued" => WCONTINUED,
            "wuntraced" if !waitid => WUNTRACED,
            "wstopped" if waitid => WUNTRACED,
            "wexited" if waitid => WEXITED,
            "wnowait" if waitid => WNOWAIT,
            // Raw option bits, to break the rules (EINVAL for unknown ones).
            _ if o.starts_with(|c: char| c.is_ascii_digit()) => word32(&Tok { text: o, col: t.col })?,
            _ => return Err((t.col, format!("unknown wait option {o:?}"))),
        };
    }
    Ok(bits)
}

fn clone_flags(t: &Tok<'_>) -> PResult<u64> {
    let (flags, sig) =
        parse_flags(t.text).map_err(|e| (t.col + e.column().saturating_sub(1), e.to_string()))?;
    Ok(flags.bits() | (sig.raw() & CSIGNAL))
}

fn clone3_flags(t: &Tok<'_>) -> PResult<u64> {
    if t.text == "0" {
        return Ok(0);
    }
    parse_clone3_flags(t.text)
        .map(|f| f.bits())
        .map_err(|e| (t.col + e.column().saturating_sub(1), e.to_string()))
}

/// `key=value`.
fn key_value<'a>(t: &Tok<'a>) -> Option<(&'a str, Tok<'a>)> {
    let p = t.text.find('=')?;
    let value = &t.text[p + 1..];
    Some((&t.text[..p], Tok { text: value, col: t.col + t.text[..p].chars().count() + 1 }))
}

fn var(t: &Tok<'_>) -> PResult<String> {
    check_name(t).map_err(|m| (t.col, m))?;
    if matches!(t.text, "null" | "unmapped") {
        return Err((t.col, format!("{:?} is a pointer that faults, not a memory word", t.text)));
    }
    Ok(t.text.to_string())
}

/// A pointer: a memory word, `null`, or `unmapped`.
fn ptr(t: &Tok<'_>) -> PResult<Ptr> {
    match t.text {
        "null" => Ok(Ptr::Null),
        "unmapped" => Ok(Ptr::Unmapped),
        _ => Ok(Ptr::Word(var(t)?)),
    }
}

/// A resource the language sets and reads (`core`, `nproc`; the kernel's names too).
fn resource(t: &Tok<'_>) -> PResult<u32> {
    let names = || {
        clonekit_flags::SCENARIO_RLIMITS
            .iter()
            .filter_map(|r| clonekit_flags::rlimit_name(*r))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    match clonekit_flags::rlimit_from_name(t.text) {
        Some(r) if clonekit_flags::SCENARIO_RLIMITS.contains(&r) => Ok(r),
        Some(_) => Err((t.col, format!("{:?} is not a limit the model follows (use {})", t.text, names()))),
        None => Err((t.col, format!("unknown resource {:?} (use {})", t.text, names()))),
    }
}

/// A limit: a number, or `unlimited` (`RLIM_INFINITY`).
fn rlim(t: &Tok<'_>) -> PResult<u64> {
    if t.text == "unlimited" {
        return Ok(clonekit_flags::RLIM_INFINITY);
    }
    number(t).map_err(|_| (t.col, format!("{:?} is not a limit (a number or unlimited)", t.text)))
}

fn parse_op(toks: &[Tok<'_>]) -> PResult<Op> {
    let first = toks[0];
    let end_col = toks.last().map_or(first.col, |t| t.col + t.text.chars().count());
    let mut a = Args { toks, pos: 1, end_col };
    let op = match first.text {
        "fork" => Op::Fork { name: a.as_name()? },
        "vfork" => Op::Vfork { name: a.as_name()? },
        "clone" => {
            let flags = clone_flags(&a.next("flags")?)?;
            let (mut ptid, mut ctid, mut tls) = (None, None, 0);
            while let Some(t) = a.peek() {
                let Some((k, v)) = key_value(&t) else { break };
                a.pos += 1;
                match k {
                    "ptid" => ptid = Some(ptr(&v)?),
                    "ctid" => ctid = Some(ptr(&v)?),
                    "tls" => tls = number(&v)?,
                    _ => return Err((t.col, format!("unknown clone argument {k:?}"))),
                }
            }
            Op::Clone { flags, ptid, ctid, tls, name: a.as_name()? }
        }
        "clone3" => {
            let mut args = Clone3Args { flags: clone3_flags(&a.next("flags")?)?, ..Clone3Args::default() };
            while let Some(t) = a.peek() {
                if t.text == "tail" {
                    a.pos += 1;
                    args.tail = true;
                    continue;
                }
                let Some((k, v)) = key_value(&t) else { break };
                a.pos += 1;
                match k {
                    "exit" => {
                        args.exit = match Signal::from_name(v.text) {
                            Some(s) if !v.text.starts_with(|c: char| c.is_ascii_digit()) => {
                                u64::from(s.number())
                            }
                            _ => number(&v)?,
                        }
                    }
                    "ptid" => args.ptid = Some(ptr(&v)?),
                    "ctid" => args.ctid = Some(ptr(&v)?),
                    "pidfd" => args.pidfd = Some(ptr(&v)?),
                    "args" => {
                        args.at = match v.text {
                            "null" => ArgsAt::Null,
                            "unmapped" => ArgsAt::Unmapped,
                            "guarded" => ArgsAt::Guarded,
                            _ => {
                                return Err((
                                    v.col,
                                    format!("expected args=null, unmapped or guarded, found {:?}", v.text),
                                ))
                            }
                        }
                    }
                    "set_tid" => {
                        let mut list = Vec::new();
                        let mut col = v.col;
                        for part in v.text.split(',') {
                            list.push(signed(&Tok { text: part, col })?);
                            col += part.chars().count() + 1;
                        }
                        args.set_tid = Some(list);
                    }
                    "set_tid_size" => args.set_tid_size = Some(number(&v)?),
                    "size" => args.size = Some(number(&v)?),
                    "stack" => args.stack = Some(number(&v)?),
                    "stack_size" => args.stack_size = Some(number(&v)?),
                    "tls" => args.tls = number(&v)?,
                    "cgroup" => args.cgroup = number(&v)?,
                    _ => return Err((t.col, format!("unknown clone3 argument {k:?}"))),
                }
            }
            if args.tail && args.at == ArgsAt::Guarded {
                return Err((
                    first.col,
                    "`tail` cannot follow a guarded struct: its bytes would lie in the page without access"
                        .into(),
                ));
            }
            Op::Clone3 { args: Box::new(args), name: a.as_name()? }
        }
        "exit" => Op::Exit(int32(&a.next("an exit code")?)?),
        "exit_group" => Op::ExitGroup(int32(&a.next("an exit code")?)?),
        "wait4" => {
            let target = target(&a.next("a target (task, -1 or 0)")?)?;
            let options = match a.peek() {
                Some(t) => {
                    a.pos += 1;
                    wait_options(&t, false)?
                }
                None => 0,
            };
            Op::Wait4 { target, options }
        }
        "waitid" => {
            let which = a.next("all, pid TASK or pidfd VAR")?;
            let id = match which.text {
                "all" => WaitidId::All,
                "pid" => WaitidId::Pid(pid_arg(&a.next("a task or a pid")?)?),
                "pgid" => WaitidId::Pgid(pid_arg(&a.next("a task or a process group id")?)?),
                "pidfd" => WaitidId::Pidfd(fd_arg(&a.next("a descriptor or a memory word")?)?),
                _ => {
                    return Err((
                        which.col,
                        format!("expected all, pid, pgid or pidfd, found {:?}", which.text),
                    ))
                }
            };
            let options = wait_options(&a.next("wait options (wexited, …)")?, true)?;
            let siginfo = match a.peek() {
                Some(t) if t.text == "siginfo" => {
                    a.pos += 1;
                    true
                }
                _ => false,
            };
            Op::Waitid { id, options, siginfo }
        }
        "execve" => Op::Execve,
        "getpid" => Op::Getpid,
        "gettid" => Op::Gettid,
        "getppid" => Op::Getppid,
        "ns" => {
            let t = a.next("a namespace kind")?;
            Op::Ns(
                NsKind::from_name(t.text)
                    .ok_or_else(|| (t.col, format!("unknown namespace {:?}", t.text)))?,
            )
        }
        "unshare" => Op::Unshare(clone3_flags(&a.next("flags")?)?),
        "nsfd" => {
            let task = a.name("a task")?;
            let t = a.next("a namespace kind")?;
            let kind = NsKind::from_name(t.text)
                .ok_or_else(|| (t.col, format!("unknown namespace {:?}", t.text)))?;
            Op::NsOpen { task, kind }
        }
        "setns" => {
            let fd = fd_arg(&a.next("a namespace file or a pidfd")?)?;
            let t = a.next("CLONE_NEW* flags or a number")?;
            let nstype = if t.text.starts_with('-') || t.text.starts_with(|c: char| c.is_ascii_digit()) {
                int32(&t)?
            } else {
                let bits = clone3_flags(&t)?;
                u32::try_from(bits).map_err(|_| (t.col, format!("{:?} does not fit setns's int", t.text)))?
                    as i32
            };
            Op::Setns { fd, nstype }
        }
        "sethostname" => {
            let t = a.next("a host name")?;
            Op::Sethostname(t.text.to_string())
        }
        "gethostname" => Op::Gethostname,
        "prctl" => {
            let t = a.next(
                "subreaper, pdeathsig SIG, dumpable N, keepcaps N, get_subreaper, get_pdeathsig, get_dumpable or get_keepcaps",
            )?;
            match t.text {
                "subreaper" => Op::PrctlSubreaper,
                "pdeathsig" => Op::PrctlPdeathsig(signal(&a.next("a signal")?, true)?),
                "get_pdeathsig" => Op::PrctlGetPdeathsig,
                "get_subreaper" => Op::PrctlGetSubreaper,
                "dumpable" => Op::PrctlDumpable(number(&a.next("0 or 1")?)?),
                "get_dumpable" => Op::PrctlGetDumpable,
                "keepcaps" => Op::PrctlKeepcaps(number(&a.next("0 or 1")?)?),
                "get_keepcaps" => Op::PrctlGetKeepcaps,
                "no_new_privs" => Op::PrctlNoNewPrivs(number(&a.next("1")?)?),
                "get_no_new_privs" => Op::PrctlGetNoNewPrivs,
                _ => return Err((t.col, format!("unknown prctl {:?}", t.text))),
            }
        }
        "capset" => {
            let t = a.next("drop CAPS, or the capabilities to keep")?;
            if t.text == "drop" {
                Op::Capset(Capset::Drop(cap_set(&a.next("capabilities (sys_admin,kill or [])")?)?))
            } else {
                Op::Capset(Capset::Only(cap_set(&t)?))
            }
        }
        "capget" => {
            let t = a.next("a capability")?;
            Op::Capget(capability(&t)?)
        }
        "setuid" => Op::Setuid(word32(&a.next("a uid")?)?),
        "seteuid" => {
            let t = a.next("a uid")?;
            match word32(&t)? {
                // glibc's seteuid refuses (uid_t) -1 itself; it would mean "unchanged" to
                // setresuid.
                u32::MAX => return Err((t.col, "seteuid takes a uid below 4294967295".to_string())),
                u => Op::Seteuid(u),
            }
        }
        "getuid" => Op::Getuid,
        "geteuid" => Op::Geteuid,
        "store" => {
            let v = var(&a.next("a memory word")?)?;
            Op::Store(v, word32(&a.next("a value")?)?)
        }
        "load" => Op::Load(var(&a.next("a memory word")?)?),
        "set_tid_address" => Op::SetTidAddress(var(&a.next("a memory word")?)?),
        "futex_wait" => {
            let v = var(&a.next("a memory word")?)?;
            let t = a.next("the expected value (a number or a task)")?;
            let w = if t.text.starts_with(|c: char| c.is_ascii_lowercase()) {
                check_name(&t).map_err(|m| (t.col, m))?;
                Word::Tid(t.text.to_string())
            } else {
                Word::Num(word32(&t)?)
            };
            Op::FutexWait(v, w)
        }
        "futex_wake" => {
            let v = var(&a.next("a memory word")?)?;
            Op::FutexWake(v, word32(&a.next("how many to wake")?)?)
        }
        "chdir" => Op::Chdir(a.next("a path")?.text.to_string()),
        "getcwd" => Op::Getcwd,
        "umask" => {
            let t = a.next("a mode (octal)")?;
            let m = u32::from_str_radix(t.text, 8)
                .ok()
                .filter(|m| *m <= 0o777)
                .ok_or_else(|| (t.col, format!("{:?} is not an octal mode", t.text)))?;
            Op::Umask(m)
        }
        "open" => {
            let path = a.next("a path")?.text.to_string();
            let cloexec = match a.peek() {
                Some(t) if t.text == "cloexec" => {
                    a.pos += 1;
                    true
                }
                _ => false,
            };
            Op::Open { path, cloexec }
        }
        "close" => Op::Close(int32(&a.next("a descriptor")?)?),
        "dup" => Op::Dup(int32(&a.next("a descriptor")?)?),
        "cloexec" => {
            let fd = int32(&a.next("a descriptor")?)?;
            let t = a.next("on or off")?;
            Op::Cloexec(fd, on_off(&t)?)
        }
        "fdstate" => Op::Fdstate(int32(&a.next("a descriptor")?)?),
        "seek" => {
            let fd = int32(&a.next("a descriptor")?)?;
            Op::Seek(fd, signed(&a.next("an offset")?)?)
        }
        "tell" => Op::Tell(int32(&a.next("a descriptor")?)?),
        "sigaction" => {
            let sig = signal(&a.next("a signal")?, false)?;
            let act = match a.peek() {
                Some(t) => {
                    a.pos += 1;
                    Some(match t.text {
                        "dfl" => Disposition::Default,
                        "ign" => Disposition::Ignore,
                        "handler" => Disposition::Handler,
                        _ => {
                            return Err((t.col, format!("expected dfl, ign or handler, found {:?}", t.text)))
                        }
                    })
                }
                None => None,
            };
            Op::Sigaction(sig, act)
        }
        "sigprocmask" => {
            let h = a.next("block, unblock or setmask")?;
            let how = match h.text {
                "block" => SigprocmaskHow::Block,
                "unblock" => SigprocmaskHow::Unblock,
                "setmask" => SigprocmaskHow::SetMask,
                _ => return Err((h.col, format!("expected block, unblock or setmask, found {:?}", h.text))),
            };
            let s = a.next("signals (comma-separated, or [])")?;
            let mut set = 0u64;
            if s.text != "[]" {
                let mut col = s.col;
                for part in s.text.split(',') {
                    let n = signal(&Tok { text: part, col }, false)?;
                    set |= 1u64 << (n - 1);
                    col += part.chars().count() + 1;
                }
            }
            Op::Sigprocmask(how, set)
        }
        "kill" => {
            let t = target(&a.next("a target")?)?;
            Op::Kill(t, signal(&a.next("a signal")?, true)?)
        }
        "tgkill" => {
            let tgid = a.name("the thread group (a task)")?;
            let tid = a.name("the thread (a task)")?;
            Op::Tgkill(tgid, tid, signal(&a.next("a signal")?, true)?)
        }
        "handled" => Op::Handled,
        "sigaltstack" => match a.peek() {
            Some(t) => {
                a.pos += 1;
                Op::Sigaltstack(Some(on_off(&t)?))
            }
            None => Op::Sigaltstack(None),
        },
        "ioprio_set" => {
            let t = a.next("CLASS,LEVEL (rt, be, idle, none)")?;
            Op::IoprioSet(ioprio(&t)?)
        }
        "ioprio_get" => Op::IoprioGet,
        "pidfd_open" => {
            let pid = pid_arg(&a.next("a task or a pid")?)?;
            let flags = match a.peek() {
                Some(t) => {
                    a.pos += 1;
                    pidfd_flags(&t, PIDFD_OPEN_FLAGS)?
                }
                None => 0,
            };
            Op::PidfdOpen { pid, flags }
        }
        "pidfd_send_signal" => {
            let pidfd = fd_arg(&a.next("a pidfd (a number or a memory word)")?)?;
            let sig = raw_signal(&a.next("a signal")?)?;
            let (mut flags, mut info, mut signo) = (0, None, None);
            while let Some(t) = a.peek() {
                a.pos += 1;
                match key_value(&t) {
                    Some(("info", v)) => {
                        info = Some(match clonekit_flags::si_code_from_name(v.text) {
                            Some(code) => code,
                            None => int32(&v)?,
                        })
                    }
                    Some(("signo", v)) => {
                        if info.is_none() {
                            return Err((
                                t.col,
                                "`signo=` is the siginfo's: it needs `info=` before it".into(),
                            ));
                        }
                        signo = Some(raw_signal(&v)?);
                    }
                    Some((k, _)) => return Err((t.col, format!("unknown pidfd_send_signal argument {k:?}"))),
                    None => flags = pidfd_flags(&t, PIDFD_SIGNAL_FLAGS)?,
                }
            }
            Op::PidfdSendSignal { pidfd, sig, flags, info, signo }
        }
        "pidfd_getfd" => {
            let pidfd = fd_arg(&a.next("a pidfd (a number or a memory word)")?)?;
            let fd = int32(&a.next("the target's descriptor")?)?;
            let flags = match a.peek() {
                Some(t) => {
                    a.pos += 1;
                    word32(&t)?
                }
                None => 0,
            };
            Op::PidfdGetfd { pidfd, fd, flags }
        }
        "setpgid" => {
            let pid = pid_arg(&a.next("a task or a pid (0: the caller)")?)?;
            Op::Setpgid(pid, pid_arg(&a.next("a task or a process group id (0: the pid)")?)?)
        }
        "getpgid" => Op::Getpgid(match a.peek() {
            Some(t) => {
                a.pos += 1;
                pid_arg(&t)?
            }
            None => PidArg::Num(0),
        }),
        "setsid" => Op::Setsid,
        "getsid" => Op::Getsid(match a.peek() {
            Some(t) => {
                a.pos += 1;
                pid_arg(&t)?
            }
            None => PidArg::Num(0),
        }),
        "pidfd_info" => Op::PidfdInfo(fd_arg(&a.next("a pidfd or a memory word")?)?),
        "ptrace" => {
            let req = a.next("a request (traceme, attach, seize, setoptions, cont, detach, geteventmsg)")?;
            let sig = |a: &mut Args<'_, '_>| -> PResult<u32> {
                match a.peek() {
                    Some(t) => {
                        a.pos += 1;
                        raw_signal(&t)
                    }
                    None => Ok(0),
                }
            };
            let options = |t: &Tok<'_>| pidfd_flags(t, clonekit_flags::PTRACE_OPTIONS);
            Op::Ptrace(match req.text {
                "traceme" => PtraceOp::Traceme,
                "attach" => PtraceOp::Attach(pid_arg(&a.next("a task or a pid")?)?),
                "seize" => {
                    let pid = pid_arg(&a.next("a task or a pid")?)?;
                    let opts = match a.peek() {
                        Some(t) => {
                            a.pos += 1;
                            options(&t)?
                        }
                        None => 0,
                    };
                    PtraceOp::Seize(pid, opts)
                }
                "setoptions" => {
                    let pid = pid_arg(&a.next("a task or a pid")?)?;
                    PtraceOp::Setoptions(pid, options(&a.next("options (tracefork, traceclone, …)")?)?)
                }
                "cont" => PtraceOp::Cont(pid_arg(&a.next("a task or a pid")?)?, sig(&mut a)?),
                "detach" => PtraceOp::Detach(pid_arg(&a.next("a task or a pid")?)?, sig(&mut a)?),
                "geteventmsg" => PtraceOp::Geteventmsg(pid_arg(&a.next("a task or a pid")?)?),
                other => {
                    return Err((
                        req.col,
                        format!(
                            "unknown ptrace request {other:?} (traceme, attach, seize, setoptions, cont, detach, geteventmsg)"
                        ),
                    ))
                }
            })
        }
        "poll" => {
            let fd = fd_arg(&a.next("a descriptor or a memory word")?)?;
            let wait = match a.peek() {
                Some(t) if t.text == "wait" => {
                    a.pos += 1;
                    true
                }
                _ => false,
            };
            Op::Poll { fd, wait }
        }
        "setrlimit" => {
            let resource = resource(&a.next("a resource (core or nproc)")?)?;
            let soft = rlim(&a.next("the soft limit (a number or unlimited)")?)?;
            let hard = rlim(&a.next("the hard limit (a number or unlimited)")?)?;
            Op::Setrlimit { resource, soft, hard }
        }
        "getrlimit" => Op::Getrlimit(resource(&a.next("a resource (core or nproc)")?)?),
        other => return Err((first.col, format!("unknown operation {other:?}"))),
    };
    a.done()?;
    Ok(op)
}

/// A task, or a pid as a number (`0`, `-1`, `99999`).
fn pid_arg(t: &Tok<'_>) -> PResult<PidArg> {
    if t.text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        Ok(PidArg::Num(int32(t)?))
    } else {
        check_name(t)
            .map_err(|_| (t.col, format!("expected a task name or a number, found {:?}", t.text)))?;
        Ok(PidArg::Task(t.text.to_string()))
    }
}

/// A descriptor as a number, or the memory word that holds it.
fn fd_arg(t: &Tok<'_>) -> PResult<FdArg> {
    if t.text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        Ok(FdArg::Num(int32(t)?))
    } else {
        Ok(FdArg::Var(var(t)?))
    }
}

/// pidfd flags in the language's spelling (clonekit-flags' tables), or a number.
fn pidfd_flags(t: &Tok<'_>, table: &[(u32, &str, &str)]) -> PResult<u32> {
    parse_pidfd_flags(t.text, table).ok_or_else(|| {
        let names: Vec<&str> = table.iter().map(|(_, _, l)| *l).collect();
        (t.col, format!("{:?} is not a set of flags ({}, or a number)", t.text, names.join(", ")))
    })
}

/// A signal by name, or any number (the call validates it).
fn raw_signal(t: &Tok<'_>) -> PResult<u32> {
    match signal(t, true) {
        Ok(n) => Ok(n),
        Err(e) => t.text.parse::<u32>().map_err(|_| e),
    }
}

/// A capability by name (`sys_admin`, `CAP_SYS_ADMIN`) or number.
fn capability(t: &Tok<'_>) -> PResult<u32> {
    clonekit_flags::capability_from_name(t.text)
        .ok_or_else(|| (t.col, format!("unknown capability {:?}", t.text)))
}

/// Capabilities, comma-separated, or `[]` for none.
fn cap_set(t: &Tok<'_>) -> PResult<clonekit_flags::CapSet> {
    if t.text == "[]" {
        return Ok(0);
    }
    let mut set = 0;
    let mut col = t.col;
    for part in t.text.split(',') {
        set |= 1 << capability(&Tok { text: part, col })?;
        col += part.chars().count() + 1;
    }
    Ok(set)
}

fn on_off(t: &Tok<'_>) -> PResult<bool> {
    match t.text {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err((t.col, format!("expected on or off, found {:?}", t.text))),
    }
}

/// `be,4` → `IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4)`.
fn ioprio(t: &Tok<'_>) -> PResult<u16> {
    let (class, level) = t.text.split_once(',').unwrap_or((t.text, "0"));
    let c = match class {
        "none" => 0u16,
        "rt" => 1,
        "be" => 2,
        "idle" => 3,
        _ => return Err((t.col, format!("unknown I/O class {class:?}"))),
    };
    let l = level
        .parse::<u16>()
        .ok()
        .filter(|l| *l < 8)
        .ok_or_else(|| (t.col, format!("{level:?} is not a level 0-7")))?;
    Ok((c << 13) | l)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err_of(text: &str) -> String {
        parse("t.scn", text).unwrap_err().to_string()
    }

    #[test]
    fn steps_titles_and_expectations() {
        let s =
            parse("t.scn", "# title: hello\n\nmain: store x 1\nmain: fork as child  => child # c\n").unwrap();
        assert_eq!(s.title.as_deref(), Some("hello"));
        assert_eq!(s.first_task, "main");
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.steps[1].expect.as_deref(), Some("child"));
        assert_eq!(s.steps[1].text, "fork as child");
        assert_eq!(s.steps[1].kind, StepKind::Run(Op::Fork { name: "child".into() }));
    }

    #[test]
    fn linux_headers_name_the_releases_a_scenario_is_for() {
        let range = |h: &str| parse("t.scn", &format!("# linux: {h}\nmain: getpid\n")).unwrap().linux;
        assert_eq!(range(">= 6.9"), Some(LinuxRange::AtLeast((6, 9))));
        assert_eq!(range("< 6.16"), Some(LinuxRange::Before((6, 16))));
        let between = range(">= 6.15, < 6.17").unwrap();
        assert_eq!(between, LinuxRange::Between((6, 15), (6, 17)));
        assert!(between.contains((6, 16)) && !between.contains((6, 17)) && !between.contains((6, 14)));
        assert_eq!(between.to_string(), "Linux 6.15 and newer, before 6.17");
        assert!(err_of("# linux: >= 6.17, < 6.15\n").contains("empty range"));
        assert!(err_of("# linux: < 6.15, >= 6.17\n").contains("expected `linux:"));
        assert!(err_of("# linux: 6.1\n").contains("expected `linux:"));
        let backported = range(">= 6.18, < 6.19 or >= 7.0").unwrap();
        assert!(backported.contains((6, 18)) && !backported.contains((6, 19)) && backported.contains((7, 2)));
        assert_eq!(backported.to_string(), "Linux 6.18 and newer, before 6.19, or Linux 7.0 and newer");
        assert!(err_of("# linux: >= 6.18 or 7.0\n").contains("expected `linux:"));
        assert!(err_of("# linux: >= 9.1\n").contains("newer than the model"));
    }

    #[test]
    fn credential_operations_and_their_errors() {
        use clonekit_flags::{CAP_CHECKPOINT_RESTORE, CAP_KILL, CAP_SYS_ADMIN};
        let op = |text: &str| match parse("t.scn", text).unwrap().steps[0].kind.clone() {
            StepKind::Run(op) => op,
            k => panic!("{k:?}"),
        };
        assert_eq!(
            op("main: capset drop sys_admin,CAP_KILL\n"),
            Op::Capset(Capset::Drop(1 << CAP_SYS_ADMIN | 1 << CAP_KILL))
        );
        assert_eq!(op("main: capset []\n"), Op::Capset(Capset::Only(0)));
        assert_eq!(op("main: capget 40\n"), Op::Capget(CAP_CHECKPOINT_RESTORE));
        assert_eq!(op("main: seteuid 65535\n"), Op::Seteuid(65535));
        assert_eq!(op("main: prctl get_subreaper\n"), Op::PrctlGetSubreaper);
        assert_eq!(op("main: prctl dumpable 0\n"), Op::PrctlDumpable(0));
        assert_eq!(err_of("main: capset drop sys_admn\n"), "t.scn:1:19: unknown capability \"sys_admn\"");
        assert_eq!(err_of("main: capset kill,41\n"), "t.scn:1:19: unknown capability \"41\"");
        assert_eq!(err_of("main: seteuid 4294967295\n"), "t.scn:1:15: seteuid takes a uid below 4294967295");
        assert_eq!(err_of("main: prctl dumpable\n"), "t.scn:1:21: expected 0 or 1");
        // Setting another uid than 0 is for root of the machine.
        let s = parse("t.scn", "main: setuid 0\nmain: seteuid 65534\n").unwrap();
        assert_eq!(s.other_uid(), Some(65534));
        assert_eq!(s.lacks_uids(clonekit_flags::Privilege::ROOT), None);
        assert!(s.lacks_uids(clonekit_flags::Privilege::NamespaceRoot { uid: 1001 }).is_some());
    }

    #[test]
    fn task_header_names_the_first_task() {
        let s = parse("t.scn", "task boss\nboss: getpid => boss\n").unwrap();
        assert_eq!(s.first_task, "boss");
    }

    #[test]
    fn errors_name_file_line_and_column() {
        assert_eq!(err_of("main: frok as c\n"), "t.scn:1:7: unknown operation \"frok\"");
        assert_eq!(err_of("\nmain: clone vm|bogus as c\n"), "t.scn:2:16: unknown flag \"bogus\" at column 4");
        assert_eq!(
            err_of("main: fork as c\nmain: fork as c\n"),
            "t.scn:2:15: task name \"c\" is already used"
        );
        assert_eq!(
            err_of("main: store x 99999999999\n"),
            "t.scn:1:15: \"99999999999\" does not fit a 32-bit word"
        );
        assert_eq!(err_of("main: exit 0 => 0\n"), "t.scn:1:7: `exit` has no result to expect");
        assert_eq!(err_of("Main: getpid\n"), "t.scn:1:1: \"Main\" is not a name ([a-z][a-z0-9_]*)");
        assert_eq!(err_of("main: getpid =>\n"), "t.scn:1:14: expected a result after `=>`");
    }

    #[test]
    fn resumed_lines_keep_their_operation() {
        let s = parse("t.scn", "main: vfork as c => blocked\nc: exit 0\nmain: resumed vfork as c => c\n")
            .unwrap();
        assert_eq!(s.steps[2].kind, StepKind::Resumed);
        assert_eq!(s.steps[2].text, "vfork as c");
    }

    #[test]
    fn clone3_arguments() {
        let s = parse("t.scn", "main: clone3 newpid exit=SIGCHLD set_tid=1 size=96 tail as c\n").unwrap();
        let StepKind::Run(Op::Clone3 { args, .. }) = &s.steps[0].kind else { panic!("not clone3") };
        assert_eq!((args.exit, args.size, args.tail), (17, Some(96), true));
        assert_eq!(args.set_tid, Some(vec![1]));
    }

    #[test]
    fn limits_and_pointers_that_fault() {
        let s = parse(
            "t.scn",
            "main: setrlimit core 4096 unlimited\nmain: getrlimit RLIMIT_NPROC\n\
             main: clone3 pidfd pidfd=unmapped ptid=p args=guarded size=89 as c\n",
        )
        .unwrap();
        assert!(s.sets_limits());
        assert_eq!(
            s.steps[0].kind,
            StepKind::Run(Op::Setrlimit { resource: 4, soft: 4096, hard: clonekit_flags::RLIM_INFINITY })
        );
        assert_eq!(s.steps[1].kind, StepKind::Run(Op::Getrlimit(6)));
        let StepKind::Run(Op::Clone3 { args, .. }) = &s.steps[2].kind else { panic!("not clone3") };
        assert_eq!(
            (args.pidfd.clone(), args.ptid.clone()),
            (Some(Ptr::Unmapped), Some(Ptr::Word("p".into())))
        );
        assert_eq!(args.at, ArgsAt::Guarded);
        assert_eq!(
            err_of("main: setrlimit stack 1 1\n"),
            "t.scn:1:17: \"stack\" is not a limit the model follows (use core or nproc)"
        );
        assert_eq!(
            err_of("main: getrlimit cores\n"),
            "t.scn:1:17: unknown resource \"cores\" (use core or nproc)"
        );
        assert_eq!(
            err_of("main: setrlimit core 1 lots\n"),
            "t.scn:1:24: \"lots\" is not a limit (a number or unlimited)"
        );
        assert_eq!(
            err_of("main: store null 1\n"),
            "t.scn:1:13: \"null\" is a pointer that faults, not a memory word"
        );
        assert_eq!(
            err_of("main: clone3 0 args=stack as c\n"),
            "t.scn:1:21: expected args=null, unmapped or guarded, found \"stack\""
        );
        assert!(err_of("main: clone3 0 args=guarded size=96 tail as c\n")
            .contains("`tail` cannot follow a guarded struct"));
    }

    #[test]
    fn choosing_a_pid_needs_cap_sys_admin() {
        let needs = |text: &str| parse("t.scn", text).unwrap().needs_caps();
        assert!(needs("main: clone3 0 exit=SIGCHLD set_tid=3 as c\n"));
        assert!(needs("main: clone3 0 exit=SIGCHLD set_tid_size=33 as c\n"));
        assert!(needs("main: clone3 newpid exit=SIGCHLD as c\n"));
        assert!(!needs("main: clone3 0 exit=SIGCHLD as c\n"));
        assert!(!needs("main: fork as c\n"));
    }

    #[test]
    fn odd_input_is_an_error_not_a_panic() {
        for text in [
            "main:",
            ":",
            "main: é",
            "main: clone3 0x as c",
            "main: set_tid_address",
            "x:y:z",
            "main: clone3 0 set_tid=,, as c",
            "\u{0}: ñ => ",
            "main: umask 999",
        ] {
            let _ = parse("t.scn", text);
        }
    }
}
