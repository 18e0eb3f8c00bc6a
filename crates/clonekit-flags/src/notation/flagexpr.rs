//! Reading a flags expression: `CLONE_VM|CLONE_FS|SIGCHLD`, `vm, fs + files`, `0x3d0f00`,
//! `0x400000 /* CLONE_??? */|SIGCHLD`, `CLONE_VM|200`.

use super::cursor::Cursor;
use super::error::quote;
use super::NotationError;
use crate::{CloneFlags, Signal, CSIGNAL};

/// How numbers and signal names in an expression are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A legacy `clone` word: a number is the whole word, so its low byte is the exit
    /// signal; a signal name sets the exit signal.
    Legacy,
    /// `clone_args.flags`: a number is flags only, and signal names are refused.
    Clone3,
}

/// What an expression says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FlagExpr {
    /// The flags (legacy mode: without the low byte of numbers, which went to `signal`).
    pub flags: u64,
    /// The exit signal (legacy mode only), 0 if none was given.
    pub signal: u64,
    /// Where `CLONE_NEWTIME` was named, if it was (it collides with the signal byte).
    pub newtime_at: Option<usize>,
}

fn is_term_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '?'
}

/// Looks a flag up by its kernel name or short name, in any case: `CLONE_VM`, `vm`.
pub(crate) fn flag_by_name(name: &str) -> Option<CloneFlags> {
    let short = match name.get(..6) {
        Some(p) if p.eq_ignore_ascii_case("CLONE_") => name.get(6..).unwrap_or(""),
        _ => name,
    };
    CloneFlags::all()
        .iter_names()
        .find(|(n, _)| n.get(6..).is_some_and(|s| s.eq_ignore_ascii_case(short)))
        .map(|(_, f)| f)
}

/// Reads an unsigned number: `0x…` hex or decimal.
pub(crate) fn parse_u64(text: &str) -> Option<u64> {
    let lower = text.get(..2);
    if lower.is_some_and(|p| p.eq_ignore_ascii_case("0x")) {
        let digits = text.get(2..)?;
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u64::from_str_radix(digits, 16).ok()
    } else if !text.is_empty() && text.chars().all(|c| c.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// Skips whitespace and `/* … */` comments (strace's `/* CLONE_??? */`, `-X verbose`).
fn skip_ws_and_comments(c: &mut Cursor<'_>) -> Result<(), NotationError> {
    loop {
        c.skip_ws();
        let start = c.pos;
        if !c.eat("/*") {
            return Ok(());
        }
        match c.rest().find("*/") {
            Some(end) => c.pos += end + 2,
            None => return Err(c.invalid_at(start, "unterminated comment")),
        }
    }
}

/// Reads an expression up to the end of the text or, with `in_line`, up to a `,`, `)` or
/// `}` (the end of a field of a strace line); `,` separates terms only outside a line.
pub(crate) fn parse_flag_expr(
    c: &mut Cursor<'_>,
    mode: Mode,
    in_line: bool,
) -> Result<FlagExpr, NotationError> {
    let mut expr = FlagExpr::default();
    let mut terms = 0usize;
    loop {
        skip_ws_and_comments(c)?;
        match c.peek() {
            None => break,
            Some(',' | ')' | '}' | '<') if in_line => break,
            Some('|' | '+' | ',') => {
                c.bump();
                continue;
            }
            Some(ch) if is_term_char(ch) => {}
            Some(_) => return Err(c.expected("a flag name, signal or number")),
        }
        let start = c.pos;
        let mut term = c.take_while(is_term_char);
        // `SIGRTMIN+2`: the `+` belongs to the signal, not between terms.
        let bare = match term.get(..3) {
            Some(p) if p.eq_ignore_ascii_case("SIG") => term.get(3..).unwrap_or(""),
            _ => term,
        };
        if bare.eq_ignore_ascii_case("RTMIN") && c.rest().starts_with('+') {
            let save = c.pos;
            c.bump();
            if c.take_while(|ch| ch.is_ascii_digit()).is_empty() {
                c.pos = save;
            } else {
                term = c.slice_from(start);
            }
        }
        terms += 1;
        let first = term.chars().next().unwrap_or('0');
        let (flags, signal) = if first.is_ascii_digit() {
            let Some(v) = parse_u64(term) else {
                return Err(c.invalid_at(start, format!("bad number {}", quote(term))));
            };
            match mode {
                Mode::Legacy => (v & !CSIGNAL, v & CSIGNAL),
                Mode::Clone3 => (v, 0),
            }
        } else if let Some(flag) = flag_by_name(term) {
            if flag == CloneFlags::CLONE_NEWTIME {
                expr.newtime_at = Some(start);
            }
            (flag.bits(), 0)
        } else if let Some(sig) = Signal::from_name(term) {
            if mode == Mode::Clone3 {
                return Err(c.invalid_at(
                    start,
                    format!("exit signal {} in clone3 flags (it goes in exit_signal=)", quote(term)),
                ));
            }
            (0, u64::from(sig.number()))
        } else {
            return Err(NotationError::UnknownFlag { name: term.to_string(), column: c.column_of(start) });
        };
        expr.flags |= flags;
        if signal != 0 {
            if expr.signal != 0 && expr.signal != signal {
                return Err(c.invalid_at(start, "a second, different exit signal"));
            }
            expr.signal = signal;
        }
    }
    if terms == 0 {
        return Err(c.expected("flags"));
    }
    Ok(expr)
}
