//! Reading a whole strace line: `[pid  N] `/`N  ` prefixes, timestamps, `[ nr] `, then
//! `clone(…)`, `clone3(…)`, `fork()` or `vfork()`, and ` = result`.

use super::cursor::Cursor;
use super::error::quote;
use super::flagexpr::{parse_flag_expr, parse_u64, Mode};
use super::print::shows;
use super::{NotationError, Observed, ParsedCall, SyscallResult, SHOWN_BY_VALUE};
use crate::{CloneArgs, CloneCall, Signal, CLONE_ARGS_SIZE_VER2, CSIGNAL, MAX_PID_NS_LEVEL};

const UNFINISHED: &str = "<unfinished ...>";

/// Reads the prefixes strace can put before a call. Returns the pid, and leaves the cursor
/// on the syscall name. `None` when the text does not look like a syscall line at all.
pub(crate) fn leader(c: &mut Cursor<'_>) -> Result<Option<Option<u32>>, NotationError> {
    let start = c.pos;
    let mut pid = None;
    if c.eat("[pid") {
        c.skip_ws();
        let at = c.pos;
        let digits = c.take_while(|ch| ch.is_ascii_digit());
        pid = Some(digits.parse::<u32>().map_err(|_| c.invalid_at(at, "bad pid"))?);
        skip_annotation(c)?;
        c.expect("]", "\"]\"")?;
        c.skip_ws();
    } else {
        let save = c.pos;
        let digits = c.take_while(|ch| ch.is_ascii_digit());
        if !digits.is_empty() && c.peek().is_some_and(char::is_whitespace) {
            pid = digits.parse::<u32>().ok();
            c.skip_ws();
        }
        if pid.is_none() {
            c.pos = save;
        }
    }
    // A timestamp: -t `21:15:06`, -tt `21:15:06.509394`, -ttt / -r `1795554906.516858`.
    let save = c.pos;
    let stamp = c.take_while(|ch| ch.is_ascii_digit() || ch == ':' || ch == '.');
    if stamp.contains([':', '.']) && c.peek().is_some_and(char::is_whitespace) {
        c.skip_ws();
    } else {
        c.pos = save;
    }
    // -n: `[  56] `.
    let save = c.pos;
    if c.eat("[") {
        c.skip_ws();
        let nr = c.take_while(|ch| ch.is_ascii_digit());
        if nr.is_empty() || !c.eat("]") {
            c.pos = save;
        } else {
            c.skip_ws();
        }
    }
    if c.rest().starts_with("<...") {
        return Err(c.invalid_at(c.pos, "a \"<... resumed>\" line continues another line; join them first"));
    }
    let name_at = c.pos;
    let name = c.take_while(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    let is_call = !name.is_empty() && c.peek() == Some('(');
    c.pos = name_at;
    if !is_call {
        c.pos = start;
        return Ok(None);
    }
    Ok(Some(pid))
}

/// Skips a `-Y`/`-yy` annotation: `<sh>`, `<pid:1375>`.
fn skip_annotation(c: &mut Cursor<'_>) -> Result<(), NotationError> {
    let at = c.pos;
    if c.eat("<") {
        match c.rest().find('>') {
            Some(end) => c.pos += end + 1,
            None => return Err(c.invalid_at(at, "unterminated \"<\"")),
        }
    }
    Ok(())
}

/// Reads the rest of a line, from the syscall name on.
pub(crate) fn call_line(c: &mut Cursor<'_>, pid: Option<u32>) -> Result<ParsedCall, NotationError> {
    let name_at = c.pos;
    let name = c.take_while(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    c.expect("(", "\"(\"")?;
    let mut observed = Observed::default();
    let (call, finished) = match name {
        "fork" | "vfork" => {
            c.skip_ws();
            let finished = !c.eat(UNFINISHED);
            if finished {
                c.expect(")", "\")\"")?;
            }
            (if name == "fork" { CloneCall::Fork } else { CloneCall::Vfork }, finished)
        }
        "clone" => clone_args(c, &mut observed)?,
        "clone3" => clone3_args(c, &mut observed)?,
        _ => {
            return Err(c.invalid_at(name_at, format!("{} is not clone, clone3, fork or vfork", quote(name))));
        }
    };
    let result = if finished { result(c)? } else { None };
    c.skip_ws();
    if !c.at_end() {
        return Err(c.expected("end of line"));
    }
    Ok(ParsedCall { pid, call, observed, result })
}

/// A `name=` at the start of a field; the name, and where it starts.
fn field_name<'a>(c: &mut Cursor<'a>) -> Result<(&'a str, usize), NotationError> {
    c.skip_ws();
    let at = c.pos;
    let name = c.take_while(|ch| ch.is_ascii_alphanumeric() || ch == '_');
    if name.is_empty() {
        return Err(c.expected("a field name"));
    }
    c.expect("=", "\"=\"")?;
    c.skip_ws();
    Ok((name, at))
}

/// What follows a field: another field, the closing bracket, or `<unfinished ...>`.
enum Next {
    More,
    Close,
    Unfinished,
}

fn next(c: &mut Cursor<'_>, close: char) -> Result<Next, NotationError> {
    c.skip_ws();
    if c.eat(",") {
        return Ok(Next::More);
    }
    if c.rest().starts_with(close) {
        c.bump();
        return Ok(Next::Close);
    }
    if c.eat(UNFINISHED) {
        return Ok(Next::Unfinished);
    }
    Err(c.expected(if close == ')' { "\",\" or \")\"" } else { "\",\" or \"}\"" }))
}

/// `NULL`, `0x…` or a decimal number.
fn address(c: &mut Cursor<'_>) -> Result<u64, NotationError> {
    if c.eat("NULL") {
        return Ok(0);
    }
    number(c)
}

fn number(c: &mut Cursor<'_>) -> Result<u64, NotationError> {
    let at = c.pos;
    let text = c.take_while(|ch| ch.is_ascii_alphanumeric());
    if text.is_empty() {
        return Err(c.expected("a number"));
    }
    parse_u64(text).ok_or_else(|| c.invalid_at(at, format!("bad number {}", quote(text))))
}

fn int(c: &mut Cursor<'_>) -> Result<i32, NotationError> {
    let at = c.pos;
    let neg = c.eat("-");
    let digits = c.take_while(|ch| ch.is_ascii_digit());
    if digits.is_empty() {
        return Err(c.expected("an integer"));
    }
    let v: i64 = digits.parse().map_err(|_| c.invalid_at(at, "integer out of range"))?;
    let v = if neg { -v } else { v };
    i32::try_from(v).map_err(|_| c.invalid_at(at, "integer out of range"))
}

/// `[N]` (the value strace read back), with an optional `-yy` annotation.
fn read_back(c: &mut Cursor<'_>) -> Result<i32, NotationError> {
    c.expect("[", "\"[\"")?;
    let v = int(c)?;
    skip_annotation(c)?;
    c.expect("]", "\"]\"")?;
    Ok(v)
}

/// Remembers which fields were seen, to refuse a field given twice.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn add(&mut self, c: &Cursor<'_>, name: &str, at: usize) -> Result<(), NotationError> {
        if self.0.iter().any(|n| n == name) {
            return Err(c.invalid_at(at, format!("field {} given twice", quote(name))));
        }
        self.0.push(name.to_string());
        Ok(())
    }
}

fn hidden(c: &Cursor<'_>, at: usize, field: &str) -> NotationError {
    c.invalid_at(at, format!("strace does not show \"{field}\" with these flags"))
}

/// `clone(child_stack=…, flags=…, parent_tid=…, tls=…, child_tidptr=…)`.
fn clone_args(c: &mut Cursor<'_>, observed: &mut Observed) -> Result<(CloneCall, bool), NotationError> {
    let (mut flags, mut stack, mut parent_tid, mut child_tid, mut tls) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut seen = Seen::default();
    // Fields that depend on flags are checked once all are read.
    let mut checks: Vec<(&'static str, usize)> = Vec::new();
    c.skip_ws();
    let mut finished = true;
    if c.eat(UNFINISHED) {
        finished = false;
    } else if c.peek().is_some_and(|ch| ch.is_ascii_digit()) {
        // `-e raw=clone`: `clone(0x1200011, 0, 0, 0x7f247ebdca10, 0)`, x86_64 order.
        let mut values = [0u64; 5];
        let mut ats = [0usize; 5];
        for (i, (v, at)) in values.iter_mut().zip(ats.iter_mut()).enumerate() {
            if i > 0 {
                c.skip_ws();
                c.expect(",", "\",\"")?;
                c.skip_ws();
            }
            *at = c.pos;
            *v = number(c)?;
        }
        c.skip_ws();
        c.expect(")", "\")\"")?;
        [flags, stack, parent_tid, child_tid, tls] = values;
        for (field, (v, at)) in ["parent_tid", "child_tidptr", "tls"].into_iter().zip([
            (parent_tid, ats[2]),
            (child_tid, ats[3]),
            (tls, ats[4]),
        ]) {
            if v != 0 {
                checks.push((field, at));
            }
        }
    } else if !c.eat(")") {
        loop {
            let (name, at) = field_name(c)?;
            seen.add(c, name, at)?;
            match name {
                "child_stack" => stack = address(c)?,
                "flags" => {
                    let expr = parse_flag_expr(c, Mode::Legacy, true)?;
                    if let Some(nt) = expr.newtime_at {
                        return Err(c.invalid_at(nt, "CLONE_NEWTIME is inside the exit-signal byte of clone"));
                    }
                    flags = expr.flags | (expr.signal & CSIGNAL);
                }
                "parent_tid" => {
                    if c.rest().starts_with('[') {
                        // strace read the tid (or pidfd) through a pointer that was not NULL.
                        observed.parent_tid = Some(read_back(c)?);
                        parent_tid = SHOWN_BY_VALUE;
                    } else {
                        parent_tid = address(c)?;
                    }
                    checks.push(("parent_tid", at));
                }
                "tls" => {
                    tls = address(c)?;
                    checks.push(("tls", at));
                }
                "child_tidptr" => {
                    child_tid = address(c)?;
                    checks.push(("child_tidptr", at));
                }
                _ => return Err(c.invalid_at(at, format!("clone has no argument {}", quote(name)))),
            }
            match next(c, ')')? {
                Next::More => continue,
                Next::Close => break,
                Next::Unfinished => {
                    finished = false;
                    break;
                }
            }
        }
    }
    for (field, at) in checks {
        let shown = match field {
            "parent_tid" => shows::clone_parent_tid(flags),
            "tls" => shows::tls(flags),
            _ => shows::child_tid(flags),
        };
        if !shown {
            return Err(hidden(c, at, field));
        }
    }
    Ok((CloneCall::Clone { flags, stack, parent_tid, child_tid, tls }, finished))
}

/// `clone3({…} => {…}, size)` or `clone3(0x…, size)`.
fn clone3_args(c: &mut Cursor<'_>, observed: &mut Observed) -> Result<(CloneCall, bool), NotationError> {
    let mut args = CloneArgs::default();
    c.skip_ws();
    let mut checks: Vec<(&'static str, usize)> = Vec::new();
    if c.rest().starts_with('{') {
        if !clone3_struct(c, &mut args, observed, &mut checks)? {
            return finish_clone3(c, args, CLONE_ARGS_SIZE_VER2 as u64, observed, &checks, false);
        }
        c.skip_ws();
        if c.eat("=>") {
            c.skip_ws();
            clone3_exit(c, observed, &mut checks)?;
        }
    } else {
        observed.args_addr = Some(address(c)?);
    }
    c.skip_ws();
    if c.eat(UNFINISHED) {
        return finish_clone3(c, args, CLONE_ARGS_SIZE_VER2 as u64, observed, &checks, false);
    }
    c.expect(",", "\",\"")?;
    c.skip_ws();
    let size = number(c)?;
    let finished = match next(c, ')')? {
        Next::Close => true,
        Next::Unfinished => false,
        Next::More => return Err(c.expected("\")\"")),
    };
    finish_clone3(c, args, size, observed, &checks, finished)
}

fn finish_clone3(
    c: &Cursor<'_>,
    args: CloneArgs,
    size: u64,
    observed: &Observed,
    checks: &[(&'static str, usize)],
    finished: bool,
) -> Result<(CloneCall, bool), NotationError> {
    for &(field, at) in checks {
        if field == "set_tid" {
            let shown = observed.set_tid.as_ref().map_or(0, Vec::len) as u64;
            if !(1..=MAX_PID_NS_LEVEL).contains(&args.set_tid_size) || shown != args.set_tid_size {
                return Err(c.invalid_at(
                    at,
                    format!(
                        "set_tid shows {shown} pids but set_tid_size is {} (strace shows set_tid_size of them, 1 to 32)",
                        args.set_tid_size
                    ),
                ));
            }
            continue;
        }
        let shown = match field {
            "pidfd" => shows::pidfd(args.flags),
            "child_tid" => shows::child_tid(args.flags),
            "parent_tid" => shows::clone3_parent_tid(args.flags),
            "tls" => shows::tls(args.flags),
            "cgroup" => shows::cgroup(args.flags, args.cgroup, size),
            _ => true,
        };
        if !shown {
            return Err(hidden(c, at, field));
        }
    }
    let nonzero_tail = observed.tail.is_some();
    Ok((CloneCall::Clone3 { args, size, nonzero_tail }, finished))
}

/// The entry-time struct. Returns false if the line ends (`<unfinished ...>`) inside it.
fn clone3_struct(
    c: &mut Cursor<'_>,
    a: &mut CloneArgs,
    observed: &mut Observed,
    checks: &mut Vec<(&'static str, usize)>,
) -> Result<bool, NotationError> {
    c.expect("{", "\"{\"")?;
    let mut seen = Seen::default();
    c.skip_ws();
    if c.eat("}") {
        return Ok(true);
    }
    loop {
        c.skip_ws();
        if c.rest().starts_with("/* bytes ") {
            let at = c.pos;
            seen.add(c, "/* bytes */", at)?;
            observed.tail = tail(c)?;
        } else {
            let (name, at) = field_name(c)?;
            seen.add(c, name, at)?;
            match name {
                "flags" => a.flags = parse_flag_expr(c, Mode::Clone3, true)?.flags,
                "pidfd" => a.pidfd = address(c)?,
                "child_tid" => a.child_tid = address(c)?,
                "parent_tid" => a.parent_tid = address(c)?,
                "exit_signal" => a.exit_signal = exit_signal(c)?,
                "stack" => a.stack = address(c)?,
                "stack_size" => a.stack_size = number(c)?,
                "tls" => a.tls = address(c)?,
                "set_tid" => {
                    if c.rest().starts_with('[') {
                        // strace prints the pids only when set_tid is not NULL and
                        // set_tid_size is 1..=32, and reads exactly set_tid_size of them.
                        observed.set_tid = Some(int_array(c)?);
                        a.set_tid = SHOWN_BY_VALUE;
                        checks.push(("set_tid", at));
                    } else {
                        a.set_tid = address(c)?;
                    }
                }
                "set_tid_size" => a.set_tid_size = number(c)?,
                "cgroup" => a.cgroup = number(c)?,
                _ => return Err(c.invalid_at(at, format!("struct clone_args has no field {}", quote(name)))),
            }
            if let Some(&field) =
                ["pidfd", "child_tid", "parent_tid", "tls", "cgroup"].iter().find(|f| **f == name)
            {
                checks.push((field, at));
            }
        }
        match next(c, '}')? {
            Next::More => continue,
            Next::Close => return Ok(true),
            Next::Unfinished => return Ok(false),
        }
    }
}

/// The exit-time part after `=>`: `{pidfd=[3], parent_tid=[4854]}`.
fn clone3_exit(
    c: &mut Cursor<'_>,
    observed: &mut Observed,
    checks: &mut Vec<(&'static str, usize)>,
) -> Result<(), NotationError> {
    c.expect("{", "\"{\"")?;
    let mut seen = Seen::default();
    loop {
        let (name, at) = field_name(c)?;
        seen.add(c, name, at)?;
        match name {
            "pidfd" => {
                observed.pidfd = Some(read_back(c)?);
                checks.push(("pidfd", at));
            }
            "parent_tid" => {
                observed.parent_tid = Some(read_back(c)?);
                checks.push(("parent_tid", at));
            }
            _ => return Err(c.invalid_at(at, format!("clone3 writes back no field {}", quote(name)))),
        }
        match next(c, '}')? {
            Next::More => continue,
            Next::Close => return Ok(()),
            Next::Unfinished => return Err(c.expected("\"}\"")),
        }
    }
}

/// `exit_signal=`: a signal name or an unsigned decimal.
fn exit_signal(c: &mut Cursor<'_>) -> Result<u64, NotationError> {
    let at = c.pos;
    let text = c.take_while(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '+');
    if text.is_empty() {
        return Err(c.expected("a signal"));
    }
    if let Some(v) = parse_u64(text) {
        return Ok(v);
    }
    match Signal::from_name(text) {
        Some(s) if !text.starts_with(|ch: char| ch.is_ascii_digit()) => Ok(u64::from(s.number())),
        _ => Err(c.invalid_at(at, format!("unknown signal {}", quote(text)))),
    }
}

/// `[1, 2, 3]`.
fn int_array(c: &mut Cursor<'_>) -> Result<Vec<i32>, NotationError> {
    c.expect("[", "\"[\"")?;
    let mut out = Vec::new();
    c.skip_ws();
    if c.eat("]") {
        return Ok(out);
    }
    loop {
        c.skip_ws();
        out.push(int(c)?);
        c.skip_ws();
        if c.eat("]") {
            return Ok(out);
        }
        c.expect(",", "\",\" or \"]\"")?;
    }
}

/// `/* bytes 88..95 */ "\x34\x12…"`: the non-zero bytes past the known struct. An all-zero
/// tail is not something strace prints; it reads as no tail.
fn tail(c: &mut Cursor<'_>) -> Result<Option<Vec<u8>>, NotationError> {
    let at = c.pos;
    c.expect("/* bytes ", "\"/* bytes \"")?;
    let from = number(c)?;
    c.expect("..", "\"..\"")?;
    let to = number(c)?;
    c.skip_ws();
    c.expect("*/", "\"*/\"")?;
    c.skip_ws();
    c.expect("\"", "'\"'")?;
    let mut bytes = Vec::new();
    while !c.eat("\"") {
        let bat = c.pos;
        c.expect("\\x", "\"\\\\x\" or '\"'")?;
        let hex = c.take_while(|ch| ch.is_ascii_hexdigit());
        let hex = hex.get(..2).filter(|_| hex.len() == 2).ok_or_else(|| c.invalid_at(bat, "bad byte"))?;
        bytes.push(u8::from_str_radix(hex, 16).map_err(|_| c.invalid_at(bat, "bad byte"))?);
    }
    if from != CLONE_ARGS_SIZE_VER2 as u64
        || to.checked_sub(from).and_then(|d| d.checked_add(1)) != Some(bytes.len() as u64)
    {
        return Err(c.invalid_at(at, "the byte range does not match the bytes"));
    }
    Ok(bytes.iter().any(|&b| b != 0).then_some(bytes))
}

/// ` = 1978`, ` = -1 EINVAL (Invalid argument)`, ` = ?`, ` = ? ERESTARTSYS (…)`, with the
/// suffixes strace may add (`(INJECTED)`, `<0.000289>`) skipped.
fn result(c: &mut Cursor<'_>) -> Result<Option<SyscallResult>, NotationError> {
    c.skip_ws();
    if c.at_end() {
        return Ok(None);
    }
    c.expect("=", "\"=\" or end of line")?;
    c.skip_ws();
    let at = c.pos;
    let result = if c.eat("?") {
        match errno_and_message(c)? {
            Some((errno, message)) => SyscallResult::Restarted { errno, message },
            None => SyscallResult::NoReturn,
        }
    } else {
        let neg = c.eat("-");
        let v = number(c)?;
        let v = i64::try_from(v).map_err(|_| c.invalid_at(at, "return value out of range"))?;
        match errno_and_message(c)? {
            Some((errno, message)) if neg => SyscallResult::Error { errno, message },
            Some(_) => return Err(c.invalid_at(at, "an errno after a non-negative return value")),
            None => {
                skip_annotation(c)?;
                SyscallResult::Value(if neg { -v } else { v })
            }
        }
    };
    loop {
        c.skip_ws();
        let at = c.pos;
        if c.eat("(INJECTED)") || c.eat("(DECODED)") {
            continue;
        }
        if c.eat("<") {
            let t = c.take_while(|ch| ch.is_ascii_digit() || ch == '.');
            if t.is_empty() || !c.eat(">") {
                return Err(c.invalid_at(at, "bad \"<time>\""));
            }
            continue;
        }
        return Ok(Some(result));
    }
}

/// ` EINVAL (Invalid argument)`, if there.
fn errno_and_message(c: &mut Cursor<'_>) -> Result<Option<(String, String)>, NotationError> {
    let save = c.pos;
    c.skip_ws();
    if !c.rest().starts_with('E') {
        c.pos = save;
        return Ok(None);
    }
    let errno = c.take_while(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_' || ch == '?');
    let after = c.pos;
    c.skip_ws();
    let mut message = String::new();
    if c.eat("(") {
        let at = c.pos;
        match c.rest().find(')') {
            Some(end) => {
                message = c.rest().get(..end).unwrap_or("").to_string();
                c.pos += end + 1;
            }
            None => return Err(c.invalid_at(at, "unterminated \"(\"")),
        }
        if message.is_empty() || message == "INJECTED" || message == "DECODED" {
            return Err(c.invalid_at(at, "expected an error message"));
        }
    } else {
        c.pos = after;
    }
    Ok(Some((errno.to_string(), message)))
}
