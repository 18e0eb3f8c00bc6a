//! strace's notation for process creation: printing `clone`/`clone3`/`fork`/`vfork` exactly
//! as strace 6.1 does, and reading it back, along with the looser flag notation people type
//! (`vm,fs,files`, `CLONE_VM|SIGCHLD`, `0x3d0f00`).
//!
//! Names and values come from [`CloneFlags`](crate::CloneFlags) and
//! [`Signal`](crate::Signal); nothing here keeps its own table.
//!
//! The grammar the parser accepts is documented on [`parse_call`].

mod cursor;
mod error;
mod flagexpr;
mod line;
mod print;

pub use error::NotationError;
pub use print::{
    format_call, format_clone3_args, format_clone3_flags, format_clone_flags, format_hex, format_strace_line,
    RESULT_COLUMN,
};

use crate::{CloneCall, CloneFlags, ExitSignal, CSIGNAL};
use cursor::Cursor;
use flagexpr::{parse_flag_expr, Mode};

/// The address a parsed call keeps for a pointer strace printed as what it read there rather
/// than as an address: the legacy `parent_tid=[5391]` and `set_tid=[4321]`. strace reads
/// through a pointer only when it is not NULL (and prints the address when it cannot read
/// it), so such a pointer was valid user memory; the line does not say where. A parsed call
/// keeps this address for it, page-aligned below `TASK_SIZE`, so that the rules and the model
/// see what the kernel saw (a non-NULL, readable pointer), and [`Observed`] keeps the values,
/// which is what printing the line shows again.
pub const SHOWN_BY_VALUE: u64 = 0x7ffd_0000_0000;

/// What strace reads from the tracee's memory rather than from the call's arguments, and
/// shows next to them. Empty ([`Observed::default`]) when nothing was read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// The value read back at `parent_tid` after the call: `parent_tid=[5391]` (legacy clone,
    /// the child's tid, or the pidfd with `CLONE_PIDFD`), `=> {parent_tid=[4854]}` (clone3).
    pub parent_tid: Option<i32>,
    /// The pidfd read back after `clone3`: `=> {pidfd=[3]}`.
    pub pidfd: Option<i32>,
    /// The `pid_t`s at `clone_args.set_tid`: `set_tid=[4321]`.
    pub set_tid: Option<Vec<i32>>,
    /// The address of the `clone_args`, when strace printed it instead of the struct (a
    /// `size` below 64, or unreadable memory): `clone3(0x7ffde2475050, 40)`.
    pub args_addr: Option<u64>,
    /// The bytes past the 88 known ones, when some are not zero:
    /// `/* bytes 88..95 */ "\x34\x12\x00\x00\x00\x00\x00\x00"`.
    pub tail: Option<Vec<u8>>,
}

/// The result part of a strace line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyscallResult {
    /// `= 1978`: the child's pid (or tid).
    Value(i64),
    /// `= -1 EINVAL (Invalid argument)`: the errno's name and strace's message for it.
    Error {
        /// `EINVAL`.
        errno: String,
        /// `Invalid argument` (empty when the line had none).
        message: String,
    },
    /// `= ?`: the call did not return (the tracee died inside it).
    NoReturn,
    /// `= ? ERESTARTNOINTR (To be restarted)`: interrupted, to be restarted.
    Restarted {
        /// `ERESTARTNOINTR`.
        errno: String,
        /// `To be restarted` (empty when the line had none).
        message: String,
    },
}

/// A call read by [`parse_call`]: from a strace line, or from flag notation (then without
/// pid, observed values or result). Its `Display` is the strace line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCall {
    /// The `[pid  N] ` or `N  ` prefix.
    pub pid: Option<u32>,
    /// The call.
    pub call: CloneCall,
    /// What strace showed that is not an argument.
    pub observed: Observed,
    /// The result, if the line has one.
    pub result: Option<SyscallResult>,
}

/// A whole strace line; the same as [`ParsedCall`].
pub type StraceLine = ParsedCall;

/// Reads flag notation (see [`parse_call`] for the terms): the flags and the exit signal.
///
/// ```
/// use clonekit_flags::{parse_flags, CloneFlags, ExitSignal};
/// let (flags, sig) = parse_flags("vm, fs | SIGCHLD").unwrap();
/// assert_eq!(flags, CloneFlags::CLONE_VM | CloneFlags::CLONE_FS);
/// assert_eq!(sig, ExitSignal::SIGCHLD);
/// assert_eq!(parse_flags("0x3d0f00").unwrap().0.bits(), 0x3d0f00);
/// assert!(parse_flags("CLONE_VM|CLONE_FOO").is_err());
/// ```
pub fn parse_flags(s: &str) -> Result<(CloneFlags, ExitSignal), NotationError> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    if c.at_end() {
        return Err(NotationError::Empty);
    }
    c.eat_ci("flags=");
    let expr = parse_flag_expr(&mut c, Mode::Legacy, false)?;
    Ok((CloneFlags::from_bits_retain(expr.flags), ExitSignal(expr.signal)))
}

/// Reads `clone_args.flags` as strace prints it (`CLONE_VM|CLONE_NEWTIME`,
/// `0x10000000000 /* CLONE_??? */`): numbers are flag bits only, and a signal is an error
/// (clone3 keeps it in `exit_signal`).
pub fn parse_clone3_flags(s: &str) -> Result<CloneFlags, NotationError> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    if c.at_end() {
        return Err(NotationError::Empty);
    }
    c.eat_ci("flags=");
    let expr = parse_flag_expr(&mut c, Mode::Clone3, false)?;
    Ok(CloneFlags::from_bits_retain(expr.flags))
}

/// Reads any of the notations: a strace line (`clone(…) = 1978`, `[pid  5] clone3({…}, 88)`,
/// `fork() = 5390`) gives its call; flag notation gives a legacy [`CloneCall::Clone`] when
/// the flags fit the legacy word (no bit above 31, no `CLONE_NEWTIME`), else a
/// [`CloneCall::Clone3`] of size 88.
///
/// # What is accepted
///
/// * Flag notation (also [`parse_flags`]): terms joined by `|`, `+`, `,` or spaces. A term is a
///   flag by kernel name or short name in any case (`CLONE_VM`, `vm`), a signal (`SIGCHLD`,
///   `chld`, `SIGRT_2`, `SIGRTMIN+2`) which sets the exit signal, or a number (`0x3d0f00`,
///   `200`) which is a whole legacy flags word, its low byte being the exit signal. A short
///   name that is both a flag and a signal is the flag: `io` is `CLONE_IO`, write `SIGIO`
///   for the signal. `/* … */` comments are skipped, so strace's
///   `0x400000 /* CLONE_??? */|SIGCHLD` reads back, and a leading `flags=` is allowed.
/// * A strace line, with or without the `[pid  N] ` or `N  ` prefix,
///   timestamps (`-t`, `-tt`, `-ttt`, `-r`) and `[ nr] ` (`-n`); the result (`= 1978`,
///   `= -1 EINVAL (Invalid argument)`, `= ?`), `(INJECTED)` and `<0.000289>` (`-T`);
///   lines ending in `<unfinished ...>`; `-e raw=clone` argument lists
///   (`clone(0x1200011, 0, 0, 0x7f247ebdca10, 0)`). `<... clone resumed>` lines are refused: they
///   continue another line.
///
/// A strace line shows only what strace shows: `parent_tid=[5391]` is the tid read back and
/// `set_tid=[4321]` the pids read at `set_tid`, not the pointers. Both pointers were not
/// NULL (strace reads through no other), so the parsed call has [`SHOWN_BY_VALUE`] for them
/// and the values are in [`Observed`]. A field strace would not show with the line's flags
/// (`tls=` without `CLONE_SETTLS`), or a `set_tid` array whose length is not `set_tid_size`,
/// is refused, so that printing a parsed line gives it back.
///
/// ```
/// use clonekit_flags::{parse_call, CloneCall, SyscallResult};
/// let p = parse_call("5387  fork()                            = 5390").unwrap();
/// assert_eq!((p.pid, p.call, p.result), (Some(5387), CloneCall::Fork, Some(SyscallResult::Value(5390))));
/// let p = parse_call("CLONE_VM|CLONE_NEWTIME").unwrap();
/// assert!(matches!(p.call, CloneCall::Clone3 { .. }));
/// ```
pub fn parse_call(s: &str) -> Result<ParsedCall, NotationError> {
    let mut c = Cursor::new(s);
    c.skip_ws();
    if c.at_end() {
        return Err(NotationError::Empty);
    }
    if let Some(pid) = line::leader(&mut c)? {
        return line::call_line(&mut c, pid);
    }
    let (flags, signal) = parse_flags(s)?;
    let call = if flags.bits() & !(0xffff_ffff & !CSIGNAL) == 0 {
        CloneCall::clone(flags, signal)
    } else {
        CloneCall::clone3(flags, signal)
    };
    Ok(ParsedCall { pid: None, call, observed: Observed::default(), result: None })
}
