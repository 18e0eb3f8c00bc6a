//! `siginfo_t` as strace 6.1 prints it (src/printsiginfo.c): the `si_code` names per signal
//! (src/xlat/siginfo_codes.in, sigchld_codes.in, sigsegv_codes.in…), the fields each kind of
//! signal carries, and `clock_t` values with their seconds (`1 /* 0.01 s */`). Used for
//! `--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, …} ---` lines and `waitid`'s result.

use std::fmt::Write as _;

use crate::process::format_signal_arg;

/// `USER_HZ`: the unit of `si_utime`/`si_stime` (clock ticks; 100 on every Linux ABI).
pub const USER_HZ: u64 = 100;

/// The fields of a `siginfo_t` (x86_64 layout, 128 bytes) that strace shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SigInfo {
    /// `si_signo`.
    pub signo: i32,
    /// `si_errno`.
    pub errno: i32,
    /// `si_code`.
    pub code: i32,
    /// `si_pid` (kill, rt, sigchld), or `si_timerid` (timer).
    pub pid: i32,
    /// `si_uid` (kill, rt, sigchld), or `si_overrun` (timer).
    pub uid: u32,
    /// `si_status` (sigchld).
    pub status: i32,
    /// `si_utime` (sigchld), clock ticks.
    pub utime: i64,
    /// `si_stime` (sigchld), clock ticks.
    pub stime: i64,
    /// `si_value` (rt, timer): `si_int` is its low 32 bits, `si_ptr` the whole word.
    pub value: u64,
    /// `si_addr` (faults), `si_band` (poll), `si_call_addr` (sigsys): the first union word.
    pub addr: u64,
    /// `si_fd` (poll), or `si_syscall` (sigsys): the int at offset 24.
    pub fd: i32,
    /// `si_arch` (sigsys): the u32 at offset 28.
    pub arch: u32,
}

impl SigInfo {
    /// Reads the x86_64 `siginfo_t` layout from its raw bytes (missing bytes read as zero).
    pub fn from_bytes(b: &[u8]) -> SigInfo {
        let i32_at = |o: usize| b.get(o..o + 4).map_or(0, |s| i32::from_ne_bytes([s[0], s[1], s[2], s[3]]));
        let u64_at = |o: usize| {
            b.get(o..o + 8).map_or(0, |s| {
                let mut w = [0u8; 8];
                w.copy_from_slice(s);
                u64::from_ne_bytes(w)
            })
        };
        SigInfo {
            signo: i32_at(0),
            errno: i32_at(4),
            code: i32_at(8),
            pid: i32_at(16),
            uid: i32_at(20) as u32,
            status: i32_at(24),
            utime: u64_at(32) as i64,
            stime: u64_at(40) as i64,
            value: u64_at(24),
            addr: u64_at(16),
            fd: i32_at(24),
            arch: i32_at(28) as u32,
        }
    }

    /// Whether the signal came from user space (`SI_FROMUSER`: `si_code <= 0`).
    pub fn from_user(&self) -> bool {
        self.code <= 0
    }
}

/// The general `si_code` values and names (`siginfo_codes`), tried first for every signal.
pub const SI_CODES: &[(i32, &str)] = &[
    (SI_USER, "SI_USER"),
    (SI_KERNEL, "SI_KERNEL"),
    (SI_QUEUE, "SI_QUEUE"),
    (-2, "SI_TIMER"),
    (-3, "SI_MESGQ"),
    (-4, "SI_ASYNCIO"),
    (-5, "SI_SIGIO"),
    (SI_TKILL, "SI_TKILL"),
    (-7, "SI_DETHREAD"),
    (-60, "SI_ASYNCNL"),
];

/// `CLD_EXITED`: a `SIGCHLD`'s (and `waitid`'s) `si_code` for a child that exited.
pub const CLD_EXITED: i32 = 1;
/// `CLD_KILLED`: killed by a signal.
pub const CLD_KILLED: i32 = 2;
/// `CLD_DUMPED`: killed by a signal, and dumped core.
pub const CLD_DUMPED: i32 = 3;
/// `CLD_TRAPPED`: a traced child trapped.
pub const CLD_TRAPPED: i32 = 4;
/// `CLD_STOPPED`: stopped by a signal.
pub const CLD_STOPPED: i32 = 5;
/// `CLD_CONTINUED`: continued by `SIGCONT`.
pub const CLD_CONTINUED: i32 = 6;

/// `WCOREDUMP`'s bit of a wait status (`0x80`), set when the child dumped core.
pub const WCOREFLAG: i32 = 0x80;

/// `overflowuid`: the uid a kernel uid with no mapping in a user namespace reads as there.
pub const OVERFLOW_UID: u32 = 65534;

/// `SI_USER`: sent by `kill`.
pub const SI_USER: i32 = 0;
/// `SI_KERNEL`: sent by the kernel.
pub const SI_KERNEL: i32 = 0x80;
/// `SI_QUEUE`: sent by `sigqueue`.
pub const SI_QUEUE: i32 = -1;
/// `SI_TKILL`: sent by `tkill`/`tgkill`.
pub const SI_TKILL: i32 = -6;

/// The `si_code` of a general name (`SI_QUEUE`), case-insensitive.
pub fn si_code_from_name(name: &str) -> Option<i32> {
    SI_CODES.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).map(|(c, _)| *c)
}

fn general_code(code: i32) -> Option<&'static str> {
    SI_CODES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The per-signal `si_code` names (x86_64).
fn signal_code(signo: i32, code: i32) -> Option<&'static str> {
    let table: &[&str] = match signo {
        17 => &["CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED", "CLD_CONTINUED"],
        11 => &["SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR"],
        7 => &["BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"],
        4 => &[
            "ILL_ILLOPC",
            "ILL_ILLOPN",
            "ILL_ILLADR",
            "ILL_ILLTRP",
            "ILL_PRVOPC",
            "ILL_PRVREG",
            "ILL_COPROC",
            "ILL_BADSTK",
            "ILL_BADIADDR",
        ],
        8 => &[
            "FPE_INTDIV",
            "FPE_INTOVF",
            "FPE_FLTDIV",
            "FPE_FLTOVF",
            "FPE_FLTUND",
            "FPE_FLTRES",
            "FPE_FLTINV",
            "FPE_FLTSUB",
        ],
        5 => &["TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK", "TRAP_PERF"],
        29 => &["POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"],
        31 => &["SYS_SECCOMP", "SYS_USER_DISPATCH"],
        _ => &[],
    };
    if signo == 11 && code == 10 {
        return Some("SEGV_CPERR");
    }
    usize::try_from(code).ok().and_then(|c| c.checked_sub(1)).and_then(|i| table.get(i).copied())
}

/// `print_si_code`: the name of `si_code` for this signal, or its value in hex (`0x1`).
pub fn format_si_code(signo: i32, code: i32) -> String {
    match general_code(code).or_else(|| signal_code(signo, code)) {
        Some(name) => name.to_string(),
        None => format!("{:#x}", code as u32),
    }
}

/// `print_clock_t`: ticks, and when not zero their value in seconds: `1 /* 0.01 s */`.
pub fn format_clock_ticks(ticks: i64) -> String {
    if ticks == 0 {
        return "0".into();
    }
    let t = ticks as u64;
    format!("{t} /* {}.{:02} s */", t / USER_HZ, t % USER_HZ)
}

fn ptr(out: &mut String, name: &str, v: u64) {
    if v == 0 {
        let _ = write!(out, ", {name}=NULL");
    } else {
        let _ = write!(out, ", {name}={v:#x}");
    }
}

fn source(out: &mut String, si: &SigInfo) {
    let _ = write!(out, ", si_pid={}, si_uid={}", si.pid, si.uid);
}

fn sigval(out: &mut String, si: &SigInfo) {
    let _ = write!(out, ", si_int={}", si.value as u32 as i32);
    ptr(out, "si_ptr", si.value);
}

/// `printsiginfo`: `{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=3366, si_uid=0,
/// si_status=0, si_utime=0, si_stime=0}`; `{}` when `si_signo` is 0.
pub fn format_siginfo(si: &SigInfo) -> String {
    let mut out = String::from("{");
    if si.signo == 0 {
        out.push('}');
        return out;
    }
    let _ = write!(
        out,
        "si_signo={}, si_code={}",
        format_signal_arg(i64::from(si.signo)),
        format_si_code(si.signo, si.code)
    );
    if si.errno != 0 {
        let _ = write!(out, ", si_errno={}", si.errno);
    }
    if si.from_user() {
        match si.code {
            0 | -6 => source(&mut out, si),
            -2 => {
                let _ = write!(out, ", si_timerid={:#x}, si_overrun={}", si.pid, si.uid as i32);
                sigval(&mut out, si);
            }
            -5 => {
                let _ = write!(out, ", si_band={}, si_fd={}", si.addr as i64, si.fd);
            }
            _ => {
                source(&mut out, si);
                if si.value != 0 {
                    sigval(&mut out, si);
                }
            }
        }
    } else {
        match si.signo {
            17 => {
                source(&mut out, si);
                if si.code == 1 {
                    let _ = write!(out, ", si_status={}", si.status);
                } else {
                    let _ = write!(out, ", si_status={}", format_signal_arg(i64::from(si.status)));
                }
                let _ = write!(
                    out,
                    ", si_utime={}, si_stime={}",
                    format_clock_ticks(si.utime),
                    format_clock_ticks(si.stime)
                );
            }
            4 | 5 | 7 | 8 | 11 => ptr(&mut out, "si_addr", si.addr),
            29 if (1..=6).contains(&si.code) => {
                let _ = write!(out, ", si_band={}, si_fd={}", si.addr as i64, si.fd);
            }
            31 => {
                ptr(&mut out, "si_call_addr", si.addr);
                let _ = write!(out, ", si_syscall={}, si_arch={:#x}", si.fd, si.arch);
            }
            _ => {
                if si.pid != 0 || si.uid != 0 {
                    source(&mut out, si);
                }
                if si.value != 0 {
                    sigval(&mut out, si);
                }
            }
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigchld_as_strace_prints_it() {
        let si = SigInfo { signo: 17, code: 1, pid: 3366, status: 0, ..SigInfo::default() };
        assert_eq!(
            format_siginfo(&si),
            "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=3366, si_uid=0, si_status=0, si_utime=0, si_stime=0}"
        );
        let si = SigInfo { signo: 17, code: 2, pid: 5, status: 15, stime: 1, ..SigInfo::default() };
        assert_eq!(
            format_siginfo(&si),
            "{si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=5, si_uid=0, si_status=SIGTERM, si_utime=0, si_stime=1 /* 0.01 s */}"
        );
    }

    #[test]
    fn user_signals_and_unusual_exit_signals() {
        let si = SigInfo { signo: 15, code: 0, pid: 2316, ..SigInfo::default() };
        assert_eq!(format_siginfo(&si), "{si_signo=SIGTERM, si_code=SI_USER, si_pid=2316, si_uid=0}");
        let si = SigInfo { signo: 19, code: -6, pid: 2342, ..SigInfo::default() };
        assert_eq!(format_siginfo(&si), "{si_signo=SIGSTOP, si_code=SI_TKILL, si_pid=2342, si_uid=0}");
        // A child's exit signal other than SIGCHLD: CLD_EXITED has no name for SIGUSR1, and
        // si_status overlays si_int/si_ptr (captured from strace 6.1).
        let si = SigInfo { signo: 10, code: 1, pid: 5393, value: 3, status: 3, ..SigInfo::default() };
        assert_eq!(
            format_siginfo(&si),
            "{si_signo=SIGUSR1, si_code=0x1, si_pid=5393, si_uid=0, si_int=3, si_ptr=0x3}"
        );
        let si = SigInfo { signo: 34, code: 1, pid: 2330, ..SigInfo::default() };
        assert_eq!(format_siginfo(&si), "{si_signo=SIGRT_2, si_code=0x1, si_pid=2330, si_uid=0}");
    }

    #[test]
    fn faults_and_layout() {
        let si = SigInfo { signo: 11, code: 1, addr: 0, ..SigInfo::default() };
        assert_eq!(format_siginfo(&si), "{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL}");
        let mut raw = [0u8; 128];
        raw[0..4].copy_from_slice(&17i32.to_ne_bytes());
        raw[8..12].copy_from_slice(&1i32.to_ne_bytes());
        raw[16..20].copy_from_slice(&42i32.to_ne_bytes());
        raw[24..28].copy_from_slice(&3i32.to_ne_bytes());
        raw[40..48].copy_from_slice(&2i64.to_ne_bytes());
        let si = SigInfo::from_bytes(&raw);
        assert_eq!((si.signo, si.code, si.pid, si.status, si.stime), (17, 1, 42, 3, 2));
        assert_eq!(format_si_code(17, 6), "CLD_CONTINUED");
        assert_eq!(format_si_code(10, 1), "0x1");
        assert_eq!(format_clock_ticks(123), "123 /* 1.23 s */");
    }
}
