//! Printing, exactly as strace 6.1 prints these calls (src/clone.c, `printflags_ex` in
//! src/xlat.c, `tabto` in src/strace.c).

use std::fmt::Write as _;

use super::{Observed, ParsedCall, SyscallResult};
use crate::{CloneArgs, CloneCall, CloneFlags, ExitSignal, Reach, CSIGNAL, FLAG_TABLE};

/// The column strace pads to before ` = ` (`-a 40`, its default).
pub const RESULT_COLUMN: usize = 40;

/// Offset of `cgroup` in `struct clone_args`: strace shows `cgroup=` only when the struct it
/// read reaches past this offset.
const CGROUP_OFFSET: u64 = 80;

/// strace's `clone_flags` xlat table, in its order (ascending bits): every flag both `clone`
/// and `clone3` accept. `CLONE_DETACHED` is left out on purpose, so that it prints as hex.
fn clone_flags_table() -> impl Iterator<Item = CloneFlags> {
    FLAG_TABLE.iter().filter(|i| i.reach == Reach::Both).map(|i| i.flag)
}

/// strace's `clone3_flags` xlat table: the flags only `clone3` can pass
/// (`CLONE_NEWTIME`, `CLONE_CLEAR_SIGHAND`, `CLONE_INTO_CGROUP`).
fn clone3_flags_table() -> impl Iterator<Item = CloneFlags> {
    FLAG_TABLE.iter().filter(|i| i.reach == Reach::Clone3Only).map(|i| i.flag)
}

/// `printflags_ex`: names in table order, then the leftover bits as one hex term; with no
/// name at all, `0x… /* CLONE_??? */`; zero is `0`.
fn printflags(out: &mut String, flags: u64, tables: &mut dyn Iterator<Item = CloneFlags>) {
    let mut left = flags;
    let mut printed = 0usize;
    for flag in tables {
        if left == 0 {
            break;
        }
        let v = flag.bits();
        if v != 0 && left & v == v {
            if printed > 0 {
                out.push('|');
            }
            out.push_str(flag.name());
            left &= !v;
            printed += 1;
        }
    }
    match (printed, left) {
        (0, 0) => out.push('0'),
        (0, _) => {
            let _ = write!(out, "{left:#x} /* CLONE_??? */");
        }
        (_, 0) => {}
        (_, _) => {
            let _ = write!(out, "|{left:#x}");
        }
    }
}

/// The legacy `clone` flags word as strace prints it, exit signal included:
/// `CLONE_VM|CLONE_FS|SIGCHLD`, `CLONE_PARENT_SETTID|0x400000|SIGCHLD`,
/// `0x100000000 /* CLONE_??? */|SIGCHLD`, `SIGRT_2`, `CLONE_VM|200`, `0`.
///
/// All 64 bits are shown, as strace does on x86_64 (the kernel ignores the upper 32).
pub fn format_clone_flags(raw: u64) -> String {
    let mut out = String::new();
    let flags = raw & !CSIGNAL;
    let sig = ExitSignal(raw & CSIGNAL);
    if flags != 0 {
        printflags(&mut out, flags, &mut clone_flags_table());
        if sig.raw() != 0 {
            let _ = write!(out, "|{sig}");
        }
    } else {
        let _ = write!(out, "{sig}");
    }
    out
}

/// The `clone3` flags (`clone_args.flags`) as strace prints them: the `clone` table first,
/// then the `clone3`-only table, so `CLONE_VM|CLONE_NEWTIME`. There is no exit signal here.
pub fn format_clone3_flags(flags: u64) -> String {
    let mut out = String::new();
    printflags(&mut out, flags, &mut clone_flags_table().chain(clone3_flags_table()));
    out
}

/// A value in plain hex, `0x3d0f00` (`0x0` for zero), the way `-X raw` shows a flags word.
pub fn format_hex(raw: u64) -> String {
    format!("{raw:#x}")
}

/// `printaddr`: `NULL` or `0x…`.
fn addr(out: &mut String, a: u64) {
    if a == 0 {
        out.push_str("NULL");
    } else {
        let _ = write!(out, "{a:#x}");
    }
}

/// `PRINT_FIELD_X`: `0` or `0x…`.
fn hex_or_zero(out: &mut String, v: u64) {
    if v == 0 {
        out.push('0');
    } else {
        let _ = write!(out, "{v:#x}");
    }
}

fn has(flags: u64, any_of: CloneFlags) -> bool {
    flags & any_of.bits() != 0
}

/// Which optional fields of a `clone`/`clone3` line strace shows, given the flags.
pub(crate) mod shows {
    use super::has;
    use crate::CloneFlags as F;

    /// legacy `parent_tid=` and clone3's exit-time `parent_tid=[…]`/`pidfd=[…]`.
    pub fn clone_parent_tid(flags: u64) -> bool {
        has(flags, F::CLONE_PARENT_SETTID | F::CLONE_PIDFD)
    }
    /// `tls=` (both syscalls).
    pub fn tls(flags: u64) -> bool {
        has(flags, F::CLONE_SETTLS)
    }
    /// legacy `child_tidptr=`, clone3 `child_tid=`.
    pub fn child_tid(flags: u64) -> bool {
        has(flags, F::CLONE_CHILD_SETTID | F::CLONE_CHILD_CLEARTID)
    }
    /// clone3 `pidfd=`.
    pub fn pidfd(flags: u64) -> bool {
        has(flags, F::CLONE_PIDFD)
    }
    /// clone3 `parent_tid=`.
    pub fn clone3_parent_tid(flags: u64) -> bool {
        has(flags, F::CLONE_PARENT_SETTID)
    }
    /// clone3 `cgroup=`.
    pub fn cgroup(flags: u64, cgroup: u64, size: u64) -> bool {
        size > super::CGROUP_OFFSET && (cgroup != 0 || has(flags, F::CLONE_INTO_CGROUP))
    }
}

/// The `struct clone_args` as strace prints it at `clone3` entry, for a full-size (88-byte)
/// struct: `{flags=…, exit_signal=SIGCHLD, stack=NULL, stack_size=0}`. `set_tid_values` are
/// the `pid_t`s read at `set_tid`; without them the address is printed, as strace does when
/// it cannot read them.
pub fn format_clone3_args(args: &CloneArgs, set_tid_values: Option<&[i32]>) -> String {
    let observed = Observed { set_tid: set_tid_values.map(<[i32]>::to_vec), ..Observed::default() };
    let mut out = String::new();
    clone3_struct(&mut out, args, crate::CLONE_ARGS_SIZE_VER2 as u64, &observed);
    out
}

fn clone3_struct(out: &mut String, a: &CloneArgs, size: u64, observed: &Observed) {
    out.push_str("{flags=");
    out.push_str(&format_clone3_flags(a.flags));
    if shows::pidfd(a.flags) {
        out.push_str(", pidfd=");
        addr(out, a.pidfd);
    }
    if shows::child_tid(a.flags) {
        out.push_str(", child_tid=");
        addr(out, a.child_tid);
    }
    if shows::clone3_parent_tid(a.flags) {
        out.push_str(", parent_tid=");
        addr(out, a.parent_tid);
    }
    let _ = write!(out, ", exit_signal={}, stack=", ExitSignal(a.exit_signal));
    addr(out, a.stack);
    out.push_str(", stack_size=");
    hex_or_zero(out, a.stack_size);
    if shows::tls(a.flags) {
        out.push_str(", tls=");
        addr(out, a.tls);
    }
    if a.set_tid != 0 || a.set_tid_size != 0 || observed.set_tid.is_some() {
        out.push_str(", set_tid=");
        match &observed.set_tid {
            Some(values) => int_array(out, values),
            None => addr(out, a.set_tid),
        }
        let _ = write!(out, ", set_tid_size={}", a.set_tid_size);
    }
    if shows::cgroup(a.flags, a.cgroup, size) {
        let _ = write!(out, ", cgroup={}", a.cgroup);
    }
    if let Some(tail) = observed.tail.as_deref().filter(|t| t.iter().any(|&b| b != 0)) {
        let start = crate::CLONE_ARGS_SIZE_VER2;
        let _ = write!(out, ", /* bytes {}..{} */ \"", start, start + tail.len() - 1);
        for b in tail {
            let _ = write!(out, "\\x{b:02x}");
        }
        out.push('"');
    }
    out.push('}');
}

fn int_array(out: &mut String, values: &[i32]) {
    out.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{v}");
    }
    out.push(']');
}

/// The call part of a strace line, without the result: `clone(child_stack=NULL,
/// flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7fa5103f2a10)`,
/// `clone3({…} => {parent_tid=[4854]}, 88)`, `fork()`.
///
/// `observed` holds what strace reads from the tracee's memory rather than from the
/// arguments (the tid stored at `parent_tid`, the pidfd, `set_tid`'s values, a tail); with
/// [`Observed::default`] the addresses are printed instead.
pub fn format_call(call: &CloneCall, observed: &Observed) -> String {
    let mut out = String::new();
    match call {
        CloneCall::Fork => out.push_str("fork()"),
        CloneCall::Vfork => out.push_str("vfork()"),
        CloneCall::Clone { flags, stack, parent_tid, child_tid, tls } => {
            out.push_str("clone(child_stack=");
            addr(&mut out, *stack);
            out.push_str(", flags=");
            out.push_str(&format_clone_flags(*flags));
            if shows::clone_parent_tid(*flags) {
                out.push_str(", parent_tid=");
                match observed.parent_tid {
                    Some(v) => {
                        let _ = write!(out, "[{v}]");
                    }
                    None => addr(&mut out, *parent_tid),
                }
            }
            if shows::tls(*flags) {
                out.push_str(", tls=");
                addr(&mut out, *tls);
            }
            if shows::child_tid(*flags) {
                out.push_str(", child_tidptr=");
                addr(&mut out, *child_tid);
            }
            out.push(')');
        }
        CloneCall::Clone3 { args, size, .. } => {
            out.push_str("clone3(");
            match observed.args_addr {
                Some(a) => addr(&mut out, a),
                None => {
                    clone3_struct(&mut out, args, *size, observed);
                    let mut exit = Vec::new();
                    if let Some(fd) = observed.pidfd {
                        exit.push(format!("pidfd=[{fd}]"));
                    }
                    if let Some(tid) = observed.parent_tid {
                        exit.push(format!("parent_tid=[{tid}]"));
                    }
                    if !exit.is_empty() {
                        let _ = write!(out, " => {{{}}}", exit.join(", "));
                    }
                }
            }
            let _ = write!(out, ", {size})");
        }
    }
    out
}

/// A whole strace line: the `[pid  N] ` prefix (strace's `-f` form) when `pid` is given, the
/// call, then ` = result` padded to column 40 as strace does. Without a result the line ends
/// after the call.
pub fn format_strace_line(
    pid: Option<u32>,
    call: &CloneCall,
    observed: &Observed,
    result: Option<&SyscallResult>,
) -> String {
    let mut out = String::new();
    if let Some(pid) = pid {
        let _ = write!(out, "[pid {pid:5}] ");
    }
    out.push_str(&format_call(call, observed));
    if let Some(result) = result {
        let width = out.chars().count();
        if width < RESULT_COLUMN {
            out.extend(std::iter::repeat_n(' ', RESULT_COLUMN - width));
        } else {
            out.push(' ');
        }
        let _ = write!(out, "= {result}");
    }
    out
}

impl std::fmt::Display for SyscallResult {
    /// `1978`, `-1 EINVAL (Invalid argument)`, `?`, `? ERESTARTSYS (To be restarted…)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (head, errno, message) = match self {
            SyscallResult::Value(v) => return write!(f, "{v}"),
            SyscallResult::NoReturn => return f.write_str("?"),
            SyscallResult::Error { errno, message } => ("-1", errno, message),
            SyscallResult::Restarted { errno, message } => ("?", errno, message),
        };
        write!(f, "{head} {errno}")?;
        if !message.is_empty() {
            write!(f, " ({message})")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for ParsedCall {
    /// The line as strace prints it; see [`format_strace_line`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_strace_line(self.pid, &self.call, &self.observed, self.result.as_ref()))
    }
}
