//! strace's qualifying expressions (`-e trace=SET`, `-e signal=SET`, `-e status=SET`,
//! `-e quiet=SET`, `-e decode-fds=SET`), parsed with strace 6.1's rules
//! (src/basic_filters.c `qualify_syscall_tokens`, `qualify_tokens`; src/filter_qualify.c):
//! each leading `!` inverts the rest, `all` and `none` stand alone, otherwise a
//! comma-separated list of tokens, each of which must name something (an empty list is an
//! error too). A later expression for the same qualifier replaces the earlier one.
//!
//! The universe of `trace=` is the system calls this tracer decodes, strace's `%process` class
//! ([`ProcessSyscall`]): a class or a regular expression selects its members among them,
//! `!wait4` means every other one of them, and a name outside the class is refused (strace
//! would trace it, we could not print it), unless it is marked optional with `?`.

use std::fmt;

use clonekit_flags::{ProcessSyscall, Signal};

/// A bad qualifying expression: what was wrong, naming the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QualifyError {
    /// A system call that is not one clonekit traces (or not one at all).
    #[error("invalid system call '{0}': clonekit traces only the %process calls ({list})", list = process_call_list())]
    Syscall(String),
    /// A class none of whose members is a process call (`%net`).
    #[error("'{0}' has no %process call: clonekit traces only {list}", list = process_call_list())]
    EmptyClass(String),
    /// A regular expression that does not compile.
    #[error("invalid regular expression '{0}': {1}")]
    Regex(String, String),
    /// A personality other than x86_64's (`@32`, `@x32`), or an unknown one.
    #[error("personality '{0}' in '{1}': clonekit traces x86_64 (@64) calls only")]
    Personality(String, String),
    /// A token of another qualifier that names nothing: `invalid signal 'SIGFOO'`.
    #[error("invalid {what} '{token}'")]
    Token {
        /// What kind of value it should have been (`signal`, `status`, `quiet`, `decode-fds`).
        what: &'static str,
        /// The token.
        token: String,
    },
    /// A qualifier strace has and clonekit does not (`raw`, `inject`, …).
    #[error(
        "qualifier '{0}' is not supported by clonekit trace (it supports trace, signal, status, quiet, decode-fds)"
    )]
    Unsupported(String),
}

fn process_call_list() -> String {
    ProcessSyscall::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
}

/// The generic part of strace's parsers: `!`s, `all`/`none`, and the comma list. `token`
/// adds one token's members to the set (a bit mask) or says why it cannot.
fn qualify<E>(
    spec: &str,
    full: u128,
    mut token: impl FnMut(&str, &mut u128) -> Result<(), E>,
    empty: impl Fn(&str) -> E,
) -> Result<u128, E> {
    let mut invert = false;
    let mut s = spec;
    while let Some(rest) = s.strip_prefix('!') {
        invert = !invert;
        s = rest;
    }
    let set = match s {
        "none" => 0,
        "all" => full,
        _ => {
            let mut set = 0;
            let mut any = false;
            // strtok_r: empty tokens are skipped, and no token at all is an error.
            for t in s.split(',').filter(|t| !t.is_empty()) {
                token(t, &mut set)?;
                any = true;
            }
            if !any {
                return Err(empty(spec));
            }
            set
        }
    };
    Ok(if invert { !set & full } else { set })
}

/// Which of the process calls are printed (`-e trace=SET`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SyscallSet(u32);

impl SyscallSet {
    const FULL: u32 = (1 << ProcessSyscall::ALL.len()) - 1;

    fn bit(s: ProcessSyscall) -> u32 {
        let i = ProcessSyscall::ALL.iter().position(|&x| x == s).expect("a member of ALL");
        1 << i
    }

    /// Every process call (strace's default for `-e trace=process`).
    pub const fn all() -> SyscallSet {
        SyscallSet(Self::FULL)
    }

    /// No call at all (`-e trace=none`): only signals and exits are shown.
    pub const fn none() -> SyscallSet {
        SyscallSet(0)
    }

    /// Whether `s` is in the set.
    pub fn contains(self, s: ProcessSyscall) -> bool {
        self.0 & Self::bit(s) != 0
    }

    /// The members, by ascending number.
    pub fn iter(self) -> impl Iterator<Item = ProcessSyscall> {
        ProcessSyscall::ALL.iter().copied().filter(move |&s| self.contains(s))
    }

    /// Parses the value of `-e trace=`: names (`clone,execve`), numbers (`56`), classes
    /// (`%process`, `%signal`, `%file`, `%desc`, strace's legacy `process`, `signal`, `file`,
    /// `desc`, and `all`), `/REGEX` (extended syntax, matched against the names), the `@64`
    /// personality suffix, `?` (no error if the token selects nothing), `!` and `none`.
    pub fn parse(spec: &str) -> Result<SyscallSet, QualifyError> {
        let set =
            qualify(spec, u128::from(Self::FULL), syscall_token, |s| QualifyError::Syscall(s.to_string()))?;
        Ok(SyscallSet(set as u32))
    }
}

impl Default for SyscallSet {
    fn default() -> Self {
        SyscallSet::all()
    }
}

impl fmt::Debug for SyscallSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|s| s.name())).finish()
    }
}

/// strace's syscall classes, and which process calls each holds (the `TD`, `TF`, `TP`, `TS`
/// flags of src/linux/x86_64/syscallent.h and syscallent-common.h, strace 6.1). `None`: a
/// class strace knows with no process call in it.
fn class_members(name: &str) -> Option<Option<&'static [ProcessSyscall]>> {
    use ProcessSyscall as P;
    const SIGNAL: &[ProcessSyscall] =
        &[P::Kill, P::RtSigqueueinfo, P::Tkill, P::Tgkill, P::RtTgsigqueueinfo, P::PidfdSendSignal];
    const FILE: &[ProcessSyscall] = &[P::Execve, P::Execveat];
    const DESC: &[ProcessSyscall] = &[P::Execveat, P::PidfdSendSignal];
    // find_xlat_val_case: class names are matched without regard to case.
    Some(match name.to_ascii_lowercase().as_str() {
        "%process" | "process" | "all" => Some(P::ALL),
        "%signal" | "signal" => Some(SIGNAL),
        "%file" | "file" => Some(FILE),
        "%desc" | "desc" => Some(DESC),
        "%memory" | "memory" | "%creds" | "%ipc" | "ipc" | "%net" | "%network" | "network" | "%stat"
        | "%lstat" | "%fstat" | "%%stat" | "%statfs" | "%fstatfs" | "%%statfs" | "%pure" | "%clock" => None,
        _ => return None,
    })
}

/// One token of `-e trace=`: `qualify_syscall` in src/basic_filters.c.
fn syscall_token(token: &str, set: &mut u128) -> Result<(), QualifyError> {
    let mut t = token;
    let mut optional = false;
    while let Some(rest) = t.strip_prefix('?') {
        optional = true;
        t = rest;
    }
    // A personality suffix: x86_64's is `@64`; `@32` and `@x32` name calls we do not see.
    if let Some(at) = t.rfind('@') {
        match &t[at + 1..] {
            "64" => t = &t[..at],
            "32" | "x32" if optional => return Ok(()),
            p => return Err(QualifyError::Personality(p.to_string(), token.to_string())),
        }
    }
    let mut add = |s: ProcessSyscall| *set |= u128::from(SyscallSet::bit(s));
    let found = if t.starts_with(|c: char| c.is_ascii_digit()) {
        match t.parse::<u64>().ok().and_then(ProcessSyscall::from_number) {
            Some(s) => {
                add(s);
                true
            }
            None => false,
        }
    } else if let Some(re) = t.strip_prefix('/') {
        let re = regex::Regex::new(re)
            .map_err(|e| QualifyError::Regex(re.to_string(), one_line(&e.to_string())))?;
        let mut any = false;
        for &s in ProcessSyscall::ALL.iter().filter(|s| re.is_match(s.name())) {
            add(s);
            any = true;
        }
        any
    } else if let Some(class) = class_members(t) {
        match class {
            Some(members) => {
                members.iter().for_each(|&s| add(s));
                true
            }
            None if optional => true,
            None => return Err(QualifyError::EmptyClass(token.to_string())),
        }
    } else {
        match ProcessSyscall::from_name(t) {
            Some(s) => {
                add(s);
                true
            }
            None => false,
        }
    };
    if found || optional {
        Ok(())
    } else {
        Err(QualifyError::Syscall(token.to_string()))
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Which signals are shown (`-e signal=SET`): the `--- SIG… ---` and `--- stopped by … ---`
/// lines, and `+++ killed by SIG… +++`, as strace filters them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SignalSet(u128);

impl SignalSet {
    /// Numbers 0..=255, as strace's `sigstr_to_uint` takes them.
    const FULL: u128 = u128::MAX;

    /// Every signal (the default).
    pub const fn all() -> SignalSet {
        SignalSet(Self::FULL)
    }

    /// Whether signal `sig` is shown.
    pub fn contains(self, sig: i32) -> bool {
        // Numbers above 127 cannot be delivered signals; strace keeps them in its set.
        match u32::try_from(sig) {
            Ok(n) if n < 128 => self.0 & (1u128 << n) != 0,
            _ => self.0 == Self::FULL,
        }
    }

    /// Parses the value of `-e signal=`: names with or without `SIG`, in any case
    /// (`SIGCHLD`, `chld`, `SIGRT_2`), numbers, `!`, `all`, `none`.
    pub fn parse(spec: &str) -> Result<SignalSet, QualifyError> {
        let token = |t: &str, set: &mut u128| {
            let n = if t.starts_with(|c: char| c.is_ascii_digit()) {
                t.parse::<u32>().ok().filter(|&n| n <= 255)
            } else {
                Signal::from_name(t).map(|s| s.number())
            };
            match n {
                Some(n) if n < 128 => {
                    *set |= 1u128 << n;
                    Ok(())
                }
                // 128..=255: accepted by strace, and no signal has such a number.
                Some(_) => Ok(()),
                None => Err(QualifyError::Token { what: "signal", token: t.to_string() }),
            }
        };
        let set = qualify(spec, Self::FULL, token, |s| QualifyError::Token {
            what: "signal",
            token: s.to_string(),
        })?;
        Ok(SignalSet(set))
    }
}

impl Default for SignalSet {
    fn default() -> Self {
        SignalSet::all()
    }
}

impl fmt::Debug for SignalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == Self::FULL {
            return f.write_str("all");
        }
        f.debug_set().entries((1..128).filter(|&n| self.contains(n))).finish()
    }
}

macro_rules! name_set {
    ($(#[$doc:meta])* $ty:ident, $what:literal, { $($(#[$vdoc:meta])* $konst:ident = $bit:literal: [$($name:literal),+]),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Default)]
        pub struct $ty(u8);

        impl $ty {
            $($(#[$vdoc])* pub const $konst: $ty = $ty(1 << $bit);)+
            const FULL: u8 = 0 $(| (1 << $bit))+;

            /// Every member.
            pub const fn all() -> $ty {
                $ty(Self::FULL)
            }

            /// No member.
            pub const fn none() -> $ty {
                $ty(0)
            }

            /// Whether every member of `other` is in the set.
            pub fn contains(self, other: $ty) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether it holds every member.
            pub fn is_all(self) -> bool {
                self.0 == Self::FULL
            }

            /// The set with `other`'s members added.
            pub fn with(self, other: $ty) -> $ty {
                $ty(self.0 | other.0)
            }

            /// Parses a comma-separated list of names, with `!`, `all` and `none`.
            pub fn parse(spec: &str) -> Result<$ty, QualifyError> {
                let token = |t: &str, set: &mut u128| {
                    let bit = match t {
                        $($($name)|+ => $bit,)+
                        _ => return Err(QualifyError::Token { what: $what, token: t.to_string() }),
                    };
                    *set |= 1u128 << bit;
                    Ok(())
                };
                let set = qualify(spec, u128::from(Self::FULL), token, |s| QualifyError::Token { what: $what, token: s.to_string() })?;
                Ok($ty(set as u8))
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut names = Vec::new();
                $(if self.contains($ty::$konst) { names.push([$($name),+][0]); })+
                f.debug_set().entries(names).finish()
            }
        }
    };
}

name_set!(
    /// Which syscall lines are printed by how the call ended (`-e status=SET`, `-z`, `-Z`).
    /// With any member missing, a call's line is written whole once its result is known
    /// (strace stages it in a memory stream), never split.
    StatusSet, "status", {
        /// Returned without an error.
        SUCCESSFUL = 0: ["successful"],
        /// Returned an error (`= -1 ENOENT (…)`, `= ? ERESTARTSYS (…)`).
        FAILED = 1: ["failed"],
        /// Did not return: `exit_group(0) = ?`, a call cut short by a fatal signal.
        UNFINISHED = 2: ["unfinished"],
        /// Its result could not be read (`= ? <unavailable>`).
        UNAVAILABLE = 3: ["unavailable"],
        /// Still in progress when the tracer let go of the task (`<detached ...>`).
        DETACHED = 4: ["detached"],
    }
);

name_set!(
    /// Which informational messages are suppressed (`-q`, `-qq`, `-qqq`, `-e quiet=SET`).
    QuietSet, "quiet", {
        /// `Process N attached`, `Process N detached` (on stderr).
        ATTACH = 0: ["attach"],
        /// `+++ exited with N +++`.
        EXIT = 1: ["exit", "exits"],
        /// `Requested path … resolved into …` (strace's `-P`; clonekit prints none).
        PATH_RESOLUTION = 2: ["path-resolution"],
        /// `[ Process PID=N runs in … mode. ]` (clonekit traces x86_64 only; it prints none).
        PERSONALITY = 3: ["personality"],
        /// `+++ superseded by execve in pid N +++`.
        THREAD_EXECVE = 4: ["thread-execve", "superseded"],
    }
);

name_set!(
    /// What is shown after a file descriptor argument or result (`-y`, `-yy`,
    /// `-e decode-fds=SET`): `3</usr/bin>`, `3<anon_inode:[pidfd]>`, `3<pid:1234>`.
    DecodeFds, "decode-fds", {
        /// The path the descriptor refers to.
        PATH = 0: ["path"],
        /// Socket details (clonekit shows a socket's path form, `socket:[INODE]`).
        SOCKET = 1: ["socket"],
        /// Device numbers of a block or character device: `</dev/null<char 1:3>>`.
        DEV = 2: ["dev"],
        /// The pid a pidfd refers to: `<pid:1234>`.
        PIDFD = 3: ["pidfd"],
    }
);

impl QuietSet {
    /// What `-q` (1), `-qq` (2) and `-qqq` (3 or more) suppress.
    pub fn from_count(n: u8) -> QuietSet {
        match n {
            0 => QuietSet::none(),
            1 => QuietSet::ATTACH.with(QuietSet::PERSONALITY),
            2 => QuietSet::ATTACH.with(QuietSet::PERSONALITY).with(QuietSet::EXIT),
            _ => QuietSet::all(),
        }
    }
}

impl DecodeFds {
    /// What `-y` (1: paths) and `-yy` (2 or more: everything) decode.
    pub fn from_count(n: u8) -> DecodeFds {
        match n {
            0 => DecodeFds::none(),
            1 => DecodeFds::PATH,
            _ => DecodeFds::all(),
        }
    }

    /// Whether anything is decoded.
    pub fn any(self) -> bool {
        self != DecodeFds::none()
    }
}

/// Every qualifier `-e` can set, as the expressions given so far left them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Qualifiers {
    /// `-e trace=`.
    pub trace: SyscallSet,
    /// `-e signal=`.
    pub signals: SignalSet,
    /// `-e status=`; `None` until given (every status).
    pub status: Option<StatusSet>,
    /// `-e quiet=`; `None` until given.
    pub quiet: Option<QuietSet>,
    /// `-e decode-fds=`; `None` until given.
    pub decode_fds: Option<DecodeFds>,
}

impl Qualifiers {
    /// Applies one `-e EXPR`: `QUALIFIER=SET`, or a bare `SET`, which is `trace=SET`
    /// (src/filter_qualify.c `qualify`, with its abbreviations `t`, `s`, `q`, …).
    pub fn apply(&mut self, expr: &str) -> Result<(), QualifyError> {
        let (name, value) = match expr.split_once('=') {
            Some((n, v)) if is_qualifier(n) => (n, v),
            _ => ("trace", expr),
        };
        match name {
            "trace" | "t" => self.trace = SyscallSet::parse(value)?,
            "signal" | "signals" | "s" => self.signals = SignalSet::parse(value)?,
            "status" => self.status = Some(StatusSet::parse(value)?),
            "quiet" | "silent" | "silence" | "q" => self.quiet = Some(QuietSet::parse(value)?),
            "decode-fd" | "decode-fds" => self.decode_fds = Some(DecodeFds::parse(value)?),
            other => return Err(QualifyError::Unsupported(other.to_string())),
        }
        Ok(())
    }
}

/// The qualifier names strace 6.1 knows (`qual_options`).
fn is_qualifier(name: &str) -> bool {
    matches!(
        name,
        "trace"
            | "t"
            | "abbrev"
            | "a"
            | "verbose"
            | "v"
            | "raw"
            | "x"
            | "signal"
            | "signals"
            | "s"
            | "status"
            | "quiet"
            | "silent"
            | "silence"
            | "q"
            | "read"
            | "reads"
            | "r"
            | "write"
            | "writes"
            | "w"
            | "fault"
            | "inject"
            | "kvm"
            | "decode-fd"
            | "decode-fds"
            | "decode-pid"
            | "decode-pids"
            | "secontext"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProcessSyscall as P;

    fn names(s: &str) -> Vec<&'static str> {
        SyscallSet::parse(s).unwrap().iter().map(|s| s.name()).collect()
    }

    #[test]
    fn trace_names_classes_negation_regex_numbers() {
        assert_eq!(names("clone,execve"), ["clone", "execve"]);
        assert_eq!(names("%process").len(), 16);
        assert_eq!(names("process").len(), 16);
        assert_eq!(names("all").len(), 16);
        assert_eq!(names("none"), Vec::<&str>::new());
        assert_eq!(names("!none").len(), 16);
        assert_eq!(names("!wait4").len(), 15);
        assert!(!SyscallSet::parse("!wait4").unwrap().contains(P::Wait4));
        assert_eq!(names("!!wait4"), ["wait4"]);
        assert_eq!(
            names("%signal"),
            ["kill", "rt_sigqueueinfo", "tkill", "tgkill", "rt_tgsigqueueinfo", "pidfd_send_signal"]
        );
        assert_eq!(names("%FILE"), ["execve", "execveat"]);
        assert_eq!(names("%desc"), ["execveat", "pidfd_send_signal"]);
        assert_eq!(names("/^clone"), ["clone", "clone3"]);
        assert_eq!(names("56,435"), ["clone", "clone3"]);
        assert_eq!(names("clone@64"), ["clone"]);
        assert_eq!(names("?openat,clone"), ["clone"]);
        assert_eq!(names("?%net,?clone@32,fork"), ["fork"]);
        assert_eq!(names("clone,,fork"), ["clone", "fork"]);
    }

    #[test]
    fn trace_errors_name_the_token() {
        let e = |s: &str| SyscallSet::parse(s).unwrap_err().to_string();
        assert!(e("nosuchcall").starts_with("invalid system call 'nosuchcall'"), "{}", e("nosuchcall"));
        assert!(e("clone,openat").starts_with("invalid system call 'openat'"));
        assert!(e("%net").starts_with("'%net' has no %process call"));
        assert!(e("/(").starts_with("invalid regular expression '('"));
        assert!(e("/^open").starts_with("invalid system call '/^open'"));
        assert!(e("clone@32").starts_with("personality '32' in 'clone@32'"));
        assert!(e("9999").starts_with("invalid system call '9999'"));
        assert!(e("").starts_with("invalid system call ''"));
        assert!(e(",").starts_with("invalid system call ','"));
    }

    #[test]
    fn signals_as_strace_reads_them() {
        let s = SignalSet::parse("SIGCHLD,kill,usr1,34").unwrap();
        assert!(s.contains(17) && s.contains(9) && s.contains(10) && s.contains(34));
        assert!(!s.contains(15));
        let n = SignalSet::parse("none").unwrap();
        assert!(!n.contains(17));
        let not = SignalSet::parse("!SIGCHLD").unwrap();
        assert!(!not.contains(17) && not.contains(9));
        assert!(SignalSet::parse("SIGRT_2").unwrap().contains(34));
        assert_eq!(SignalSet::parse("SIGFOO").unwrap_err().to_string(), "invalid signal 'SIGFOO'");
        assert_eq!(SignalSet::parse("300").unwrap_err().to_string(), "invalid signal '300'");
    }

    #[test]
    fn statuses_quiet_and_decode_fds() {
        let s = StatusSet::parse("successful,unfinished").unwrap();
        assert!(s.contains(StatusSet::SUCCESSFUL) && s.contains(StatusSet::UNFINISHED));
        assert!(!s.contains(StatusSet::FAILED) && !s.is_all());
        assert!(StatusSet::parse("!successful").unwrap().contains(StatusSet::DETACHED));
        assert_eq!(StatusSet::parse("ok").unwrap_err().to_string(), "invalid status 'ok'");
        assert_eq!(
            QuietSet::parse("exits,superseded").unwrap(),
            QuietSet::EXIT.with(QuietSet::THREAD_EXECVE)
        );
        assert_eq!(QuietSet::from_count(2), QuietSet::parse("attach,personality,exit").unwrap());
        assert!(QuietSet::from_count(3).is_all());
        assert_eq!(DecodeFds::from_count(1), DecodeFds::PATH);
        assert_eq!(DecodeFds::parse("pidfd").unwrap(), DecodeFds::PIDFD);
    }

    #[test]
    fn expressions_pick_their_qualifier() {
        let mut q = Qualifiers::default();
        q.apply("clone,fork").unwrap();
        assert_eq!(q.trace.iter().count(), 2);
        q.apply("t=all").unwrap();
        assert_eq!(q.trace, SyscallSet::all());
        q.apply("signal=none").unwrap();
        assert!(!q.signals.contains(17));
        q.apply("status=failed").unwrap();
        assert_eq!(q.status, Some(StatusSet::FAILED));
        q.apply("q=attach").unwrap();
        assert_eq!(q.quiet, Some(QuietSet::ATTACH));
        assert_eq!(
            q.apply("raw=all").unwrap_err().to_string(),
            "qualifier 'raw' is not supported by clonekit trace (it supports trace, signal, status, quiet, decode-fds)"
        );
        // Not a qualifier name: the whole expression is a trace set.
        assert!(q.apply("nosuch=1").unwrap_err().to_string().starts_with("invalid system call 'nosuch=1'"));
    }
}
