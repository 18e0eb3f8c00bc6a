//! Signals by number and name (x86_64 numbering, strace's spelling), and [`ExitSignal`], the
//! signal a child sends its parent when it dies.

use std::fmt;

/// The highest signal number Linux knows (`_NSIG`).
pub const NSIG: u32 = 64;
/// The kernel's first real-time signal. strace prints signal `32 + n` as `SIGRT_n`.
pub const SIGRTMIN_KERNEL: u32 = 32;

/// The classic signals of x86_64, by number (index 0 is unused).
const NAMES: [&str; 32] = [
    "0",
    "SIGHUP",
    "SIGINT",
    "SIGQUIT",
    "SIGILL",
    "SIGTRAP",
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGKILL",
    "SIGUSR1",
    "SIGSEGV",
    "SIGUSR2",
    "SIGPIPE",
    "SIGALRM",
    "SIGTERM",
    "SIGSTKFLT",
    "SIGCHLD",
    "SIGCONT",
    "SIGSTOP",
    "SIGTSTP",
    "SIGTTIN",
    "SIGTTOU",
    "SIGURG",
    "SIGXCPU",
    "SIGXFSZ",
    "SIGVTALRM",
    "SIGPROF",
    "SIGWINCH",
    "SIGIO",
    "SIGPWR",
    "SIGSYS",
];

/// A valid signal number, 1..=64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Signal(u32);

impl Signal {
    /// `SIGHUP`.
    pub const SIGHUP: Signal = Signal(1);
    /// `SIGILL`.
    pub const SIGILL: Signal = Signal(4);
    /// `SIGTRAP`: what a ptrace event stop reports, and the legacy exec report.
    pub const SIGTRAP: Signal = Signal(5);
    /// `SIGBUS`.
    pub const SIGBUS: Signal = Signal(7);
    /// `SIGFPE`.
    pub const SIGFPE: Signal = Signal(8);
    /// `SIGKILL`.
    pub const SIGKILL: Signal = Signal(9);
    /// `SIGSEGV`.
    pub const SIGSEGV: Signal = Signal(11);
    /// `SIGSYS`.
    pub const SIGSYS: Signal = Signal(31);
    /// `SIGUSR1`.
    pub const SIGUSR1: Signal = Signal(10);
    /// `SIGUSR2`.
    pub const SIGUSR2: Signal = Signal(12);
    /// `SIGPIPE`.
    pub const SIGPIPE: Signal = Signal(13);
    /// `SIGTERM`.
    pub const SIGTERM: Signal = Signal(15);
    /// `SIGCHLD`.
    pub const SIGCHLD: Signal = Signal(17);
    /// `SIGCONT`.
    pub const SIGCONT: Signal = Signal(18);
    /// `SIGSTOP`.
    pub const SIGSTOP: Signal = Signal(19);
    /// `SIGWINCH`.
    pub const SIGWINCH: Signal = Signal(28);

    /// The signal with this number, if `1 <= n <= 64` (`valid_signal()` and non-zero).
    pub const fn new(n: u32) -> Option<Signal> {
        if n >= 1 && n <= NSIG {
            Some(Signal(n))
        } else {
            None
        }
    }

    /// The signal number.
    pub const fn number(self) -> u32 {
        self.0
    }

    /// Looks a signal up by name: `SIGCHLD`, `CHLD`, `chld`, `SIGRT_2`, `SIGRTMIN+2`
    /// (kernel numbering, like strace), or a decimal number in range.
    pub fn from_name(s: &str) -> Option<Signal> {
        let up = s.trim().to_ascii_uppercase();
        if let Ok(n) = up.parse::<u32>() {
            return Signal::new(n);
        }
        let bare = up.strip_prefix("SIG").unwrap_or(&up);
        if let Some(n) = bare.strip_prefix("RT_") {
            return n.parse::<u32>().ok().and_then(|n| Signal::new(SIGRTMIN_KERNEL.checked_add(n)?));
        }
        if let Some(n) = bare.strip_prefix("RTMIN+") {
            return n.parse::<u32>().ok().and_then(|n| Signal::new(SIGRTMIN_KERNEL.checked_add(n)?));
        }
        match bare {
            "RTMIN" => return Signal::new(SIGRTMIN_KERNEL),
            "RTMAX" => return Signal::new(NSIG),
            "POLL" => return Signal::new(29),
            "IOT" => return Signal::new(6),
            "CLD" => return Signal::new(17),
            _ => {}
        }
        NAMES.iter().position(|n| n.strip_prefix("SIG") == Some(bare)).and_then(|i| Signal::new(i as u32))
    }
}

impl fmt::Display for Signal {
    /// strace's spelling: `SIGCHLD`, `SIGRTMIN` for 32 and `SIGRT_n` for `32 + n` (strace 6.1
    /// on x86_64; its signal table ends with `SIGRTMIN` at 32).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < SIGRTMIN_KERNEL {
            f.write_str(NAMES[self.0 as usize])
        } else if self.0 == SIGRTMIN_KERNEL {
            f.write_str("SIGRTMIN")
        } else {
            write!(f, "SIGRT_{}", self.0 - SIGRTMIN_KERNEL)
        }
    }
}

/// The exit signal of a child: the low byte (`CSIGNAL`) of legacy `clone` flags, or
/// `clone_args.exit_signal` for `clone3`.
///
/// It is not validated by legacy `clone` (any byte is stored; a value that is not a valid
/// signal is simply never sent), and it is by `clone3` (rule C7). Any value other than
/// `SIGCHLD` makes the child a "clone child" that only `__WCLONE`/`__WALL` waits see.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ExitSignal(pub u64);

impl ExitSignal {
    /// No signal at all (threads, and `clone(0)`).
    pub const NONE: ExitSignal = ExitSignal(0);
    /// `SIGCHLD`, what fork and vfork use.
    pub const SIGCHLD: ExitSignal = ExitSignal(17);

    /// The raw value.
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// The signal, if the value is a valid non-zero signal number.
    pub fn signal(self) -> Option<Signal> {
        u32::try_from(self.0).ok().and_then(Signal::new)
    }

    /// Whether `wait` without `__WCLONE`/`__WALL` can see this child (`exit_signal == SIGCHLD`).
    pub const fn is_sigchld(self) -> bool {
        self.0 == 17
    }
}

impl From<Signal> for ExitSignal {
    fn from(s: Signal) -> Self {
        ExitSignal(u64::from(s.0))
    }
}

impl fmt::Display for ExitSignal {
    /// A signal name when the value is a valid signal, otherwise decimal (`0`, `200`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.signal() {
            Some(s) => s.fmt(f),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_spelling_of_signals() {
        assert_eq!(Signal::SIGCHLD.to_string(), "SIGCHLD");
        assert_eq!(Signal::new(32).unwrap().to_string(), "SIGRTMIN");
        assert_eq!(Signal::new(34).unwrap().to_string(), "SIGRT_2");
        assert_eq!(Signal::new(64).unwrap().to_string(), "SIGRT_32");
        assert_eq!(ExitSignal(200).to_string(), "200");
        assert_eq!(ExitSignal(0).to_string(), "0");
    }

    #[test]
    fn signal_names_parse_back() {
        for n in 1..=NSIG {
            let s = Signal::new(n).unwrap();
            assert_eq!(Signal::from_name(&s.to_string()), Some(s), "{n}");
        }
        assert_eq!(Signal::from_name("chld"), Some(Signal::SIGCHLD));
        assert_eq!(Signal::from_name("SIGRTMIN+2"), Signal::new(34));
        assert_eq!(Signal::from_name("SIGNOPE"), None);
        assert_eq!(Signal::from_name("65"), None);
    }
}

/// `sig_kernel_only`: SIGKILL and SIGSTOP, never caught, blocked or ignored.
pub const fn sig_kernel_only(sig: u32) -> bool {
    sig == 9 || sig == 19
}

/// `SIG_KERNEL_IGNORE_MASK`: the signals whose default action is to be ignored (SIGCONT,
/// SIGCHLD, SIGWINCH, SIGURG).
pub const fn sig_kernel_ignore(sig: u32) -> bool {
    matches!(sig, 17 | 18 | 23 | 28)
}

/// `SIG_KERNEL_STOP_MASK`: the signals whose default action stops (SIGSTOP, SIGTSTP,
/// SIGTTIN, SIGTTOU).
pub const fn sig_kernel_stop(sig: u32) -> bool {
    matches!(sig, 19..=22)
}

/// `SIG_KERNEL_COREDUMP_MASK`: the signals whose default action dumps core.
pub const fn sig_kernel_coredump(sig: u32) -> bool {
    matches!(sig, 3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31)
}

/// A signal's disposition (`sa_handler`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Disposition {
    /// `SIG_DFL`.
    #[default]
    Default,
    /// `SIG_IGN`.
    Ignore,
    /// A user handler (the model installs it with `SA_RESTART`).
    Handler,
}

impl std::fmt::Display for Disposition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Disposition::Default => "dfl",
            Disposition::Ignore => "ign",
            Disposition::Handler => "handler",
        })
    }
}
