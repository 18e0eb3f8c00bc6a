//! Process file descriptors: the flags of `pidfd_open` (include/uapi/linux/pidfd.h) and of
//! `pidfd_send_signal`, the `poll` events a pidfd reports (include/uapi/asm-generic/poll.h),
//! each with the kernel's name and the scenario language's spelling (the kernel's name
//! lowercased, without its prefix).

use crate::process::format_flag_set;

/// `PIDFD_NONBLOCK` (`O_NONBLOCK`): a `waitid(P_PIDFD)` on the descriptor never sleeps;
/// with nothing to report it fails with `EAGAIN`.
pub const PIDFD_NONBLOCK: u32 = 0o4000;
/// `PIDFD_THREAD` (`O_EXCL`, Linux 6.9): the descriptor refers to one thread, not its
/// thread group.
pub const PIDFD_THREAD: u32 = 0o200;

/// `PIDFD_AUTOKILL` (include/uapi/linux/pidfd.h, Linux 7.1): `O_TRUNC` in the `f_flags` of the
/// pidfd `clone3` made with `CLONE_PIDFD_AUTOKILL`; releasing that file kills the process. Not
/// a flag `pidfd_open` takes.
pub const PIDFD_AUTOKILL: u32 = 0o1000;

/// `pidfd_open`'s flags: (bit, kernel name, language name).
pub const PIDFD_OPEN_FLAGS: &[(u32, &str, &str)] =
    &[(PIDFD_NONBLOCK, "PIDFD_NONBLOCK", "nonblock"), (PIDFD_THREAD, "PIDFD_THREAD", "thread")];

/// `PIDFD_SIGNAL_THREAD`: `pidfd_send_signal` to the thread the pidfd's pid names.
pub const PIDFD_SIGNAL_THREAD: u32 = 1 << 0;
/// `PIDFD_SIGNAL_THREAD_GROUP`: to its thread group.
pub const PIDFD_SIGNAL_THREAD_GROUP: u32 = 1 << 1;
/// `PIDFD_SIGNAL_PROCESS_GROUP`: to the process group the pid leads.
pub const PIDFD_SIGNAL_PROCESS_GROUP: u32 = 1 << 2;
/// `PIDFD_SEND_SIGNAL_FLAGS`: every flag `pidfd_send_signal` knows (at most one at a time).
pub const PIDFD_SEND_SIGNAL_FLAGS: u32 =
    PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP;

/// `PIDFD_SELF_THREAD` (Linux 6.15): a pidfd number that stands for the calling thread.
pub const PIDFD_SELF_THREAD: i32 = -10000;
/// `PIDFD_SELF_THREAD_GROUP` (include/uapi/linux/fcntl.h, Linux 6.17): a pidfd number that
/// stands for the caller's thread group. Linux 6.15 and 6.16 gave it another number,
/// [`PIDFD_SELF_THREAD_GROUP_6_15`] (crate::PIDFD_SELF_THREAD_GROUP_VALUE).
pub const PIDFD_SELF_THREAD_GROUP: i32 = -10001;

/// `PIDFD_SELF_THREAD_GROUP` of Linux 6.15 and 6.16 (include/uapi/linux/pidfd.h).
pub const PIDFD_SELF_THREAD_GROUP_6_15: i32 = -20000;

/// `pidfd_send_signal`'s flags: (bit, kernel name, language name).
pub const PIDFD_SIGNAL_FLAGS: &[(u32, &str, &str)] = &[
    (PIDFD_SIGNAL_THREAD, "PIDFD_SIGNAL_THREAD", "thread"),
    (PIDFD_SIGNAL_THREAD_GROUP, "PIDFD_SIGNAL_THREAD_GROUP", "thread_group"),
    (PIDFD_SIGNAL_PROCESS_GROUP, "PIDFD_SIGNAL_PROCESS_GROUP", "process_group"),
];

/// `POLLIN`.
pub const POLLIN: u16 = 0x1;
/// `POLLOUT`.
pub const POLLOUT: u16 = 0x4;
/// `POLLERR`.
pub const POLLERR: u16 = 0x8;
/// `POLLHUP`.
pub const POLLHUP: u16 = 0x10;
/// `POLLNVAL`: the descriptor is not open.
pub const POLLNVAL: u16 = 0x20;
/// `POLLRDNORM`.
pub const POLLRDNORM: u16 = 0x40;
/// `POLLWRNORM`.
pub const POLLWRNORM: u16 = 0x100;
/// `DEFAULT_POLLMASK` (include/linux/poll.h): what a file without a `poll` operation
/// reports.
pub const DEFAULT_POLLMASK: u16 = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/// `pollflags`, in strace's order.
pub const POLL_EVENTS: &[(u64, &str)] = &[
    (POLLIN as u64, "POLLIN"),
    (0x2, "POLLPRI"),
    (POLLOUT as u64, "POLLOUT"),
    (POLLRDNORM as u64, "POLLRDNORM"),
    (POLLWRNORM as u64, "POLLWRNORM"),
    (0x80, "POLLRDBAND"),
    (0x200, "POLLWRBAND"),
    (POLLERR as u64, "POLLERR"),
    (POLLHUP as u64, "POLLHUP"),
    (POLLNVAL as u64, "POLLNVAL"),
];

/// `poll` events as strace prints them: `POLLIN|POLLHUP`, `0`.
pub fn format_poll_events(events: u16) -> String {
    format_flag_set(u64::from(events), POLL_EVENTS, "POLL???")
}

/// Reads a flag set in the language's spelling (`nonblock,thread`, `0`, or a number such as
/// `0x8`) against one of the tables above.
pub fn parse_pidfd_flags(text: &str, table: &[(u32, &str, &str)]) -> Option<u32> {
    let mut bits = 0u32;
    for part in text.split(',') {
        bits |= match table.iter().find(|(_, kernel, lang)| part == *lang || part == *kernel) {
            Some((bit, _, _)) => *bit,
            None => match part.strip_prefix("0x") {
                Some(h) => u32::from_str_radix(h, 16).ok()?,
                None => part.parse::<u32>().ok()?,
            },
        };
    }
    Some(bits)
}

/// A flag set in the language's spelling: names joined by `,`, unknown bits in hexadecimal,
/// `0` when empty.
pub fn pidfd_flags_text(bits: u32, table: &[(u32, &str, &str)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut left = bits;
    for (bit, _, lang) in table {
        if bits & bit != 0 {
            parts.push((*lang).to_string());
            left &= !bit;
        }
    }
    if left != 0 {
        parts.push(format!("{left:#x}"));
    }
    if parts.is_empty() {
        "0".to_string()
    } else {
        parts.join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pidfd_flags_are_the_open_flags_they_alias() {
        assert_eq!(PIDFD_NONBLOCK, 0o4000);
        assert_eq!(PIDFD_THREAD, 0o200);
    }

    #[test]
    fn flag_sets_print_and_parse_back() {
        for bits in [0, PIDFD_NONBLOCK, PIDFD_THREAD | PIDFD_NONBLOCK, 0x8, PIDFD_THREAD | 1] {
            let text = pidfd_flags_text(bits, PIDFD_OPEN_FLAGS);
            assert_eq!(parse_pidfd_flags(&text, PIDFD_OPEN_FLAGS), Some(bits), "{text}");
        }
        assert_eq!(parse_pidfd_flags("process_group", PIDFD_SIGNAL_FLAGS), Some(4));
        assert_eq!(parse_pidfd_flags("PIDFD_SIGNAL_THREAD", PIDFD_SIGNAL_FLAGS), Some(1));
        assert_eq!(parse_pidfd_flags("bogus", PIDFD_SIGNAL_FLAGS), None);
    }

    #[test]
    fn poll_events_print_as_strace_does() {
        assert_eq!(format_poll_events(POLLIN | POLLHUP), "POLLIN|POLLHUP");
        assert_eq!(format_poll_events(0), "0");
        assert_eq!(format_poll_events(POLLNVAL), "POLLNVAL");
    }
}
