//! Decoding one traced system call the way strace 6.1 prints it, in two parts: what strace
//! prints at syscall entry, and the rest that it prints at exit (after `<... X resumed>` when
//! another tracee printed in between). Every name, flag, signal, errno and struct layout comes
//! from clonekit-flags.
//!
//! Each part is done in two steps: [`read_entry`] / [`read_exit`] read what is needed from the
//! tracee's memory while it is stopped, and [`entry`] / [`exit`] format it without touching
//! the tracee, so that the tracer can resume the tracee in between and format while it runs.

use clonekit_flags::{
    classify, format_c_string, format_call, format_clone_flags, format_dirfd, format_execveat_flags,
    format_idtype, format_siginfo, format_signal_arg, format_wait_options, format_wait_status, CloneArgs,
    CloneCall, Errno, Observed, ProcessSyscall, SigInfo, SyscallResult, CLONE_ARGS_SIZE_VER0,
    CLONE_ARGS_SIZE_VER2,
};
use serde_json::{json, Value};

use crate::fds;
use crate::mem::{self, Memory};
use crate::qualify::DecodeFds;

/// The largest `clone3` size whose bytes we read (the kernel's limit is a page).
const CLONE3_READ_MAX: usize = 4096;

/// A system call seen at its entry, with what is needed to finish its line at exit.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Which call.
    pub syscall: ProcessSyscall,
    /// Its raw arguments.
    pub args: [u64; 6],
    /// What strace prints at entry: `wait4(-1, `, `clone3({…}`.
    pub text: String,
    /// For clone, clone3, fork, vfork: the call as clonekit-flags models it.
    pub call: Option<CloneCall>,
    /// What was read at entry for `clone3` (set_tid, tail, or the address instead).
    pub observed: Observed,
    /// For execve/execveat: the program path and argv.
    pub exec: Option<(String, Vec<String>)>,
    /// Decoded arguments for `--json` (`Null` without it).
    pub json: Value,
}

fn addr(a: u64) -> String {
    if a == 0 {
        "NULL".into()
    } else {
        format!("{a:#x}")
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A NULL-terminated array of string pointers as read: each pointer with its string (and
/// whether it goes on past the limit), and whether more pointers follow.
type StringArray = (Vec<(u64, Option<(Vec<u8>, bool)>)>, bool);

/// What formatting a call's entry needs from the tracee's memory.
#[derive(Debug, Default)]
pub struct EntryMem {
    /// clone3's `struct clone_args` and `set_tid` values.
    clone3: Option<(CloneCall, Observed)>,
    /// execve's path (`None` if unreadable).
    path: Option<Vec<u8>>,
    /// execve's argv (`None` if NULL or unreadable).
    argv: Option<StringArray>,
    /// execve's environment count (`None` if NULL or unreadable).
    envc: Option<usize>,
    /// The `siginfo_t` argument of rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal.
    siginfo: Option<Vec<u8>>,
    /// `-y`: what follows the descriptor argument (execveat's dirfd, waitid's pidfd,
    /// pidfd_send_signal's pidfd), empty when there is none or nothing is decoded.
    fd_note: String,
}

/// The argument of `syscall` that points at a `siginfo_t`, if any.
fn siginfo_arg(syscall: ProcessSyscall) -> Option<usize> {
    match syscall {
        ProcessSyscall::RtSigqueueinfo | ProcessSyscall::PidfdSendSignal => Some(2),
        ProcessSyscall::RtTgsigqueueinfo => Some(3),
        _ => None,
    }
}

/// Reads what the entry of `syscall` needs from `pid`'s memory (and, for `-y`, its
/// descriptors); `limit` is strace's `-s`.
pub fn read_entry(
    mem: &dyn Memory,
    pid: i32,
    syscall: ProcessSyscall,
    args: [u64; 6],
    limit: usize,
    fds: DecodeFds,
) -> EntryMem {
    let mut m = EntryMem::default();
    if fds.any() {
        m.fd_note = match syscall {
            ProcessSyscall::Execveat if args[0] as i32 == libc::AT_FDCWD => fds::annotate_cwd(pid, fds),
            ProcessSyscall::Execveat | ProcessSyscall::PidfdSendSignal => {
                fds::annotate(pid, args[0] as i32, fds)
            }
            ProcessSyscall::Waitid if args[0] as u32 == P_PIDFD => fds::annotate(pid, args[1] as i32, fds),
            _ => String::new(),
        };
    }
    match syscall {
        ProcessSyscall::Clone3 => m.clone3 = Some(read_clone3(mem, args[0], args[1])),
        ProcessSyscall::Execve | ProcessSyscall::Execveat => {
            let base = if syscall == ProcessSyscall::Execveat { 1 } else { 0 };
            m.path = mem::read_cstr(mem, args[base], 4095).map(|(p, _)| p);
            m.argv = read_string_array(mem, args[base + 1], limit);
            m.envc = if args[base + 2] == 0 { None } else { mem::count_ptr_array(mem, args[base + 2]) };
        }
        s => {
            if let Some(i) = siginfo_arg(s).filter(|&i| args[i] != 0) {
                m.siginfo = mem::read_exact(mem, args[i], 128);
            }
        }
    }
    m
}

/// A creating call's flags as read at its entry, before the kernel acts on them: legacy
/// `clone`'s register, `clone3`'s `clone_args.flags` (`None` if the struct could not be read,
/// or for a call that creates nothing); 0 for `fork` and `vfork`.
pub fn creating_flags(syscall: ProcessSyscall, args: &[u64; 6], m: &EntryMem) -> Option<u64> {
    match syscall {
        ProcessSyscall::Clone => Some(args[0]),
        ProcessSyscall::Clone3 => match &m.clone3 {
            Some((CloneCall::Clone3 { args, .. }, observed)) if observed.args_addr.is_none() => {
                Some(args.flags)
            }
            _ => None,
        },
        ProcessSyscall::Fork | ProcessSyscall::Vfork => Some(0),
        _ => None,
    }
}

/// Formats the entry of `syscall` from its arguments and what [`read_entry`] read; `limit` is
/// strace's `-s`; the JSON form of the arguments is built only if `want_json`.
pub fn entry(syscall: ProcessSyscall, args: [u64; 6], m: EntryMem, limit: usize, want_json: bool) -> Entry {
    let mut e = Entry {
        syscall,
        args,
        text: String::new(),
        call: None,
        observed: Observed::default(),
        exec: None,
        json: Value::Null,
    };
    let name = syscall.name();
    match syscall {
        ProcessSyscall::Fork | ProcessSyscall::Vfork => {
            e.call = Some(if syscall == ProcessSyscall::Fork { CloneCall::Fork } else { CloneCall::Vfork });
            e.text = format!("{name}(");
        }
        ProcessSyscall::Clone => {
            let call = CloneCall::Clone {
                flags: args[0],
                stack: args[1],
                parent_tid: args[2],
                child_tid: args[3],
                tls: args[4],
            };
            e.text = format!("clone(child_stack={}, flags={}", addr(args[1]), format_clone_flags(args[0]));
            e.call = Some(call);
        }
        ProcessSyscall::Clone3 => {
            let size = args[1];
            let (call, observed) = m.clone3.expect("read_entry reads clone3's arguments");
            let full = format_call(&call, &observed);
            let exit_fields = observed.args_addr.is_none() && clone3_has_exit_fields(&call);
            let cut = if exit_fields { format!(", {size})").len() } else { 1 };
            e.text = full[..full.len() - cut].to_string();
            e.call = Some(call);
            e.observed = observed;
        }
        ProcessSyscall::Execve | ProcessSyscall::Execveat => {
            let base = if syscall == ProcessSyscall::Execveat { 1 } else { 0 };
            let (path_text, path) = match &m.path {
                Some(p) => (format_c_string(p, usize::MAX), lossy(p)),
                None => (addr(args[base]), String::new()),
            };
            let (argv_text, argv) = string_array(args[base + 1], m.argv, limit);
            let envc = m.envc;
            let env_text = match envc {
                Some(n) => {
                    format!("{} /* {} var{} */", addr(args[base + 2]), n, if n == 1 { "" } else { "s" })
                }
                None => addr(args[base + 2]),
            };
            e.text = if syscall == ProcessSyscall::Execveat {
                format!(
                    "execveat({}{}, {path_text}, {argv_text}, {env_text}, {}",
                    format_dirfd(args[0] as i32),
                    m.fd_note,
                    format_execveat_flags(args[4])
                )
            } else {
                format!("execve({path_text}, {argv_text}, {env_text}")
            };
            if want_json {
                e.json = json!({ "path": path, "argv": argv, "envc": envc });
            }
            e.exec = Some((path, argv));
        }
        ProcessSyscall::Exit | ProcessSyscall::ExitGroup => {
            e.text = format!("{name}({}", args[0] as i32);
            if want_json {
                e.json = json!({ "status": args[0] as i32 });
            }
        }
        ProcessSyscall::Wait4 => {
            e.text = format!("wait4({}, ", args[0] as i32);
        }
        ProcessSyscall::Waitid => {
            let id = args[1] as i32;
            e.text = format!("waitid({}, {id}{}, ", format_idtype(args[0] as u32), m.fd_note);
        }
        ProcessSyscall::Kill | ProcessSyscall::Tkill => {
            e.text = format!("{name}({}, {}", args[0] as i32, format_signal_arg(args[1] as i32 as i64));
            if want_json {
                e.json = json!({ "pid": args[0] as i32, "signal": format_signal_arg(args[1] as i32 as i64) });
            }
        }
        ProcessSyscall::Tgkill => {
            e.text = format!(
                "tgkill({}, {}, {}",
                args[0] as i32,
                args[1] as i32,
                format_signal_arg(args[2] as i32 as i64)
            );
            if want_json {
                e.json = json!({ "tgid": args[0] as i32, "tid": args[1] as i32, "signal": format_signal_arg(args[2] as i32 as i64) });
            }
        }
        ProcessSyscall::RtSigqueueinfo => {
            e.text = format!(
                "rt_sigqueueinfo({}, {}, {}",
                args[0] as i32,
                format_signal_arg(args[1] as i32 as i64),
                siginfo_text(args[2], m.siginfo.as_deref())
            );
        }
        ProcessSyscall::RtTgsigqueueinfo => {
            e.text = format!(
                "rt_tgsigqueueinfo({}, {}, {}, {}",
                args[0] as i32,
                args[1] as i32,
                format_signal_arg(args[2] as i32 as i64),
                siginfo_text(args[3], m.siginfo.as_deref())
            );
        }
        ProcessSyscall::PidfdSendSignal => {
            e.text = format!(
                "pidfd_send_signal({}{}, {}, {}, {:#x}",
                args[0] as i32,
                m.fd_note,
                format_signal_arg(args[1] as i32 as i64),
                siginfo_text(args[2], m.siginfo.as_deref()),
                args[3] as u32
            )
            .replace(", 0x0", ", 0");
        }
    }
    e
}

/// A `siginfo_t` at `a` from the bytes read there (`None`: unreadable).
fn siginfo_text(a: u64, bytes: Option<&[u8]>) -> String {
    match bytes {
        _ if a == 0 => "NULL".into(),
        Some(b) => format_siginfo(&SigInfo::from_bytes(b)),
        None => addr(a),
    }
}

fn read_string_array(mem: &dyn Memory, a: u64, limit: usize) -> Option<StringArray> {
    if a == 0 {
        return None;
    }
    let (ptrs, more) = mem::read_ptr_array(mem, a, limit)?;
    Some((ptrs.into_iter().map(|p| (p, mem::read_cstr(mem, p, limit))).collect(), more))
}

fn string_array(a: u64, read: Option<StringArray>, limit: usize) -> (String, Vec<String>) {
    if a == 0 {
        return ("NULL".into(), Vec::new());
    }
    let Some((items, more)) = read else {
        return (addr(a), Vec::new());
    };
    let mut text = String::from("[");
    let mut values = Vec::with_capacity(items.len());
    for (i, (p, s)) in items.into_iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        match s {
            Some((s, cut)) => {
                let mut q = format_c_string(&s, limit);
                if cut && !q.ends_with("...") {
                    q.push_str("...");
                }
                text.push_str(&q);
                values.push(lossy(&s));
            }
            None => text.push_str(&addr(p)),
        }
    }
    if more {
        text.push_str(", ...");
    }
    text.push(']');
    (text, values)
}

fn clone3_has_exit_fields(call: &CloneCall) -> bool {
    match call {
        CloneCall::Clone3 { args, .. } => {
            args.flags
                & (clonekit_flags::CloneFlags::CLONE_PIDFD | clonekit_flags::CloneFlags::CLONE_PARENT_SETTID)
                    .bits()
                != 0
        }
        _ => false,
    }
}

/// Reads `struct clone_args` (and `set_tid`'s values) as strace does at `clone3` entry.
fn read_clone3(mem: &dyn Memory, at: u64, size: u64) -> (CloneCall, Observed) {
    let mut observed = Observed::default();
    let unread = |observed: &mut Observed| {
        observed.args_addr = Some(at);
        (CloneCall::Clone3 { args: CloneArgs::default(), size, nonzero_tail: false }, observed.clone())
    };
    if (size as usize) < CLONE_ARGS_SIZE_VER0 || at == 0 {
        return unread(&mut observed);
    }
    let len = (size as usize).min(CLONE3_READ_MAX);
    let Some(bytes) = mem::read_exact(mem, at, len) else {
        return unread(&mut observed);
    };
    let (args, tail) = CloneArgs::from_bytes(&bytes);
    let nonzero_tail = tail.iter().any(|&b| b != 0);
    if nonzero_tail {
        observed.tail = Some(tail.to_vec());
    }
    if args.set_tid != 0 && args.set_tid_size > 0 && args.set_tid_size <= 32 {
        if let Some(b) = mem::read_exact(mem, args.set_tid, args.set_tid_size as usize * 4) {
            observed.set_tid =
                Some(b.chunks_exact(4).map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]])).collect());
        }
    }
    let _ = CLONE_ARGS_SIZE_VER2;
    (CloneCall::Clone3 { args, size, nonzero_tail }, observed)
}

/// The result of a system call from its return value.
pub fn result(rval: i64, is_error: bool) -> SyscallResult {
    if is_error || (-4095..0).contains(&rval) {
        let n = (-rval) as i32;
        let (errno, message) = match Errno::from_raw(n) {
            Some(e) => (e.name().to_string(), e.message().to_string()),
            None => (format!("errno{n}"), format!("Unknown error {n}")),
        };
        if (512..=516).contains(&n) {
            SyscallResult::Restarted { errno, message }
        } else {
            SyscallResult::Error { errno, message }
        }
    } else {
        SyscallResult::Value(rval)
    }
}

/// What formatting a call's exit needs from the tracee's memory.
#[derive(Debug, Default)]
pub struct ExitMem {
    /// clone/clone3: the entry's observations plus the values read back (`parent_tid`, pidfd).
    observed: Option<Observed>,
    /// wait4: the status word.
    status: Option<i32>,
    /// wait4, waitid: the `struct rusage` (its first 32 bytes).
    rusage: Option<Vec<u8>>,
    /// waitid: the `siginfo_t`.
    siginfo: Option<Vec<u8>>,
    /// `-y`: the annotation of the pidfd a clone/clone3 returned through memory.
    pidfd_note: String,
}

/// Reads what the exit of `e` with result `res` needs from `pid`'s memory (and, for `-y`,
/// the pidfd it returned).
pub fn read_exit(mem: &dyn Memory, pid: i32, e: &Entry, res: &SyscallResult, fds: DecodeFds) -> ExitMem {
    let ok = matches!(res, SyscallResult::Value(_));
    let positive = matches!(res, SyscallResult::Value(v) if *v > 0);
    let a = e.args;
    let read = |at: u64, len: usize| if at == 0 { None } else { mem::read_exact(mem, at, len) };
    let mut m = ExitMem::default();
    match e.syscall {
        ProcessSyscall::Clone | ProcessSyscall::Clone3 | ProcessSyscall::Fork | ProcessSyscall::Vfork => {
            let mut observed = e.observed.clone();
            if let (true, Some(call)) = (ok, &e.call) {
                read_exit_values(mem, call, &mut observed);
                if let Some(fd) = returned_pidfd(call, &observed).filter(|_| fds.any()) {
                    m.pidfd_note = fds::annotate(pid, fd, fds);
                }
            }
            m.observed = Some(observed);
        }
        ProcessSyscall::Wait4 if positive => {
            m.status = if a[1] != 0 { mem::read_i32(mem, a[1]) } else { None };
            m.rusage = read(a[3], 32);
        }
        ProcessSyscall::Waitid if ok => {
            m.siginfo = read(a[2], 128);
            m.rusage = read(a[4], 32);
        }
        _ => {}
    }
    m
}

/// What strace prints at exit for `e`, after the entry part, up to and including `)`, from
/// what [`read_exit`] read, and the decoded exit values for `--json` (`Null` unless
/// `want_json`).
pub fn exit(e: &Entry, res: &SyscallResult, m: ExitMem, want_json: bool) -> (String, Value) {
    let ok = matches!(res, SyscallResult::Value(_));
    let positive = matches!(res, SyscallResult::Value(v) if *v > 0);
    let a = e.args;
    match e.syscall {
        ProcessSyscall::Clone | ProcessSyscall::Clone3 | ProcessSyscall::Fork | ProcessSyscall::Vfork => {
            let call = e.call.as_ref().expect("clone-family entries carry their call");
            let observed = m.observed.unwrap_or_else(|| e.observed.clone());
            let mut full = format_call(call, &observed);
            if !m.pidfd_note.is_empty() {
                if let Some(fd) = returned_pidfd(call, &observed) {
                    // `pidfd=[3]` (clone3) or `parent_tid=[3]` (clone): once in the line.
                    let field = if matches!(call, CloneCall::Clone3 { .. }) { "pidfd" } else { "parent_tid" };
                    let plain = format!("{field}=[{fd}]");
                    if let Some(at) = full.rfind(&plain) {
                        full.insert_str(at + plain.len() - 1, &m.pidfd_note);
                    }
                }
            }
            let rest = full.get(e.text.len()..).unwrap_or(")").to_string();
            if !want_json {
                return (rest, Value::Null);
            }
            let v = json!({
                "call": call,
                "flags": flags_text(call),
                "made_by": classify(call).label(),
                "parent_tid": observed.parent_tid,
                "pidfd": observed.pidfd,
            });
            (rest, v)
        }
        ProcessSyscall::Wait4 => {
            let status = m.status;
            let status_text = match status {
                Some(s) => format_wait_status(s),
                None => addr(a[1]),
            };
            let usage = if positive { rusage_text(a[3], m.rusage.as_deref()) } else { addr(a[3]) };
            let rest = format!("{status_text}, {}, {usage})", format_wait_options(a[2]));
            if !want_json {
                return (rest, Value::Null);
            }
            let v = json!({
                "pid": a[0] as i32,
                "status": status.map(wait_status_json),
                "options": format_wait_options(a[2]),
            });
            (rest, v)
        }
        ProcessSyscall::Waitid => {
            let si = if ok { siginfo_text(a[2], m.siginfo.as_deref()) } else { addr(a[2]) };
            let usage = if ok { rusage_text(a[4], m.rusage.as_deref()) } else { addr(a[4]) };
            let rest = format!("{si}, {}, {usage})", format_wait_options(a[3]));
            if !want_json {
                return (rest, Value::Null);
            }
            let v = json!({ "idtype": format_idtype(a[0] as u32), "id": a[1] as i32, "siginfo": si, "options": format_wait_options(a[3]) });
            (rest, v)
        }
        _ => (")".to_string(), e.json.clone()),
    }
}

fn flags_text(call: &CloneCall) -> String {
    match call {
        CloneCall::Clone { flags, .. } => format_clone_flags(*flags),
        CloneCall::Clone3 { args, .. } => clonekit_flags::format_clone3_flags(args.flags),
        CloneCall::Fork => "SIGCHLD".into(),
        CloneCall::Vfork => "CLONE_VM|CLONE_VFORK|SIGCHLD".into(),
    }
}

/// The values strace reads back after a successful clone/clone3: the tid at `parent_tid`, the
/// pidfd.
fn read_exit_values(mem: &dyn Memory, call: &CloneCall, observed: &mut Observed) {
    use clonekit_flags::CloneFlags as F;
    match call {
        CloneCall::Clone { flags, parent_tid, .. }
            if flags & (F::CLONE_PARENT_SETTID | F::CLONE_PIDFD).bits() != 0 =>
        {
            observed.parent_tid = mem::read_i32(mem, *parent_tid);
        }
        CloneCall::Clone3 { args, .. } if observed.args_addr.is_none() => {
            if args.flags & F::CLONE_PIDFD.bits() != 0 {
                observed.pidfd = mem::read_i32(mem, args.pidfd);
            }
            if args.flags & F::CLONE_PARENT_SETTID.bits() != 0 {
                observed.parent_tid = mem::read_i32(mem, args.parent_tid);
            }
        }
        _ => {}
    }
}

/// `waitid`'s `P_PIDFD` id type.
const P_PIDFD: u32 = 3;

/// The pidfd a successful clone/clone3 with `CLONE_PIDFD` stored, as read back.
fn returned_pidfd(call: &CloneCall, observed: &Observed) -> Option<i32> {
    use clonekit_flags::CloneFlags as F;
    match call {
        CloneCall::Clone { flags, .. }
            if flags & F::CLONE_PIDFD.bits() != 0 && flags & F::CLONE_PARENT_SETTID.bits() == 0 =>
        {
            observed.parent_tid
        }
        CloneCall::Clone3 { args, .. } if args.flags & F::CLONE_PIDFD.bits() != 0 => observed.pidfd,
        _ => None,
    }
}

/// `printrusage` in its abbreviated form, from the bytes read at `a` (`None`: unreadable).
fn rusage_text(a: u64, bytes: Option<&[u8]>) -> String {
    match bytes {
        _ if a == 0 => "NULL".into(),
        Some(b) => {
            let w = |i: usize| {
                i64::from_ne_bytes([
                    b[i],
                    b[i + 1],
                    b[i + 2],
                    b[i + 3],
                    b[i + 4],
                    b[i + 5],
                    b[i + 6],
                    b[i + 7],
                ])
            };
            format!(
                "{{ru_utime={{tv_sec={}, tv_usec={}}}, ru_stime={{tv_sec={}, tv_usec={}}}, ...}}",
                w(0),
                w(8),
                w(16),
                w(24)
            )
        }
        None => addr(a),
    }
}

/// A wait status as JSON: `{"exited": 0}`, `{"killed": "SIGKILL", "core": false}`, …
pub fn wait_status_json(s: i32) -> Value {
    let s = s as u32;
    if s & 0xff == 0x7f {
        json!({ "stopped": format_signal_arg(i64::from((s >> 8) & 0x7f)) })
    } else if s == 0xffff {
        json!({ "continued": true })
    } else if s & 0x7f == 0 {
        json!({ "exited": (s >> 8) & 0xff })
    } else {
        json!({ "killed": format_signal_arg(i64::from(s & 0x7f)), "core": s & 0x80 != 0 })
    }
}
