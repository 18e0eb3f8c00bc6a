//! Resource limits (include/uapi/asm-generic/resource.h): each `RLIMIT_*` with its number, the
//! kernel's name and the scenario language's spelling (the name lowercased, without
//! `RLIMIT_`), `RLIM_INFINITY`, and the limits the scenario language starts its first task
//! with.

/// `RLIMIT_CPU`.
pub const RLIMIT_CPU: u32 = 0;
/// `RLIMIT_FSIZE`.
pub const RLIMIT_FSIZE: u32 = 1;
/// `RLIMIT_DATA`.
pub const RLIMIT_DATA: u32 = 2;
/// `RLIMIT_STACK`.
pub const RLIMIT_STACK: u32 = 3;
/// `RLIMIT_CORE`: the largest core file a dying process may write (`do_coredump` writes none
/// below [`MIN_COREDUMP`]).
pub const RLIMIT_CORE: u32 = 4;
/// `RLIMIT_RSS`.
pub const RLIMIT_RSS: u32 = 5;
/// `RLIMIT_NPROC`: how many tasks the caller's real user may have (counted per user
/// namespace, `ucounts`); `copy_process` refuses one more with `EAGAIN` (rule L1).
pub const RLIMIT_NPROC: u32 = 6;
/// `RLIMIT_NOFILE`.
pub const RLIMIT_NOFILE: u32 = 7;
/// `RLIMIT_MEMLOCK`.
pub const RLIMIT_MEMLOCK: u32 = 8;
/// `RLIMIT_AS`.
pub const RLIMIT_AS: u32 = 9;
/// `RLIMIT_LOCKS`.
pub const RLIMIT_LOCKS: u32 = 10;
/// `RLIMIT_SIGPENDING`.
pub const RLIMIT_SIGPENDING: u32 = 11;
/// `RLIMIT_MSGQUEUE`.
pub const RLIMIT_MSGQUEUE: u32 = 12;
/// `RLIMIT_NICE`.
pub const RLIMIT_NICE: u32 = 13;
/// `RLIMIT_RTPRIO`.
pub const RLIMIT_RTPRIO: u32 = 14;
/// `RLIMIT_RTTIME`.
pub const RLIMIT_RTTIME: u32 = 15;
/// `RLIM_NLIMITS`: resources numbered from 0 below this; `prlimit64` refuses others (`EINVAL`).
pub const RLIM_NLIMITS: u32 = 16;

/// `RLIM_INFINITY` (as `prlimit64` passes it): no limit. The scenario language spells it
/// `unlimited`, as `ulimit` does.
pub const RLIM_INFINITY: u64 = u64::MAX;

/// `min_coredump` of the ELF loader (fs/binfmt_elf.c, `ELF_EXEC_PAGESIZE`): with a soft
/// `RLIMIT_CORE` below it, `do_coredump` writes no core file.
pub const MIN_COREDUMP: u64 = 4096;

/// The resources: (number, kernel name, language name), in number order.
pub const RLIMITS: &[(u32, &str, &str)] = &[
    (RLIMIT_CPU, "RLIMIT_CPU", "cpu"),
    (RLIMIT_FSIZE, "RLIMIT_FSIZE", "fsize"),
    (RLIMIT_DATA, "RLIMIT_DATA", "data"),
    (RLIMIT_STACK, "RLIMIT_STACK", "stack"),
    (RLIMIT_CORE, "RLIMIT_CORE", "core"),
    (RLIMIT_RSS, "RLIMIT_RSS", "rss"),
    (RLIMIT_NPROC, "RLIMIT_NPROC", "nproc"),
    (RLIMIT_NOFILE, "RLIMIT_NOFILE", "nofile"),
    (RLIMIT_MEMLOCK, "RLIMIT_MEMLOCK", "memlock"),
    (RLIMIT_AS, "RLIMIT_AS", "as"),
    (RLIMIT_LOCKS, "RLIMIT_LOCKS", "locks"),
    (RLIMIT_SIGPENDING, "RLIMIT_SIGPENDING", "sigpending"),
    (RLIMIT_MSGQUEUE, "RLIMIT_MSGQUEUE", "msgqueue"),
    (RLIMIT_NICE, "RLIMIT_NICE", "nice"),
    (RLIMIT_RTPRIO, "RLIMIT_RTPRIO", "rtprio"),
    (RLIMIT_RTTIME, "RLIMIT_RTTIME", "rttime"),
];

/// The resources the scenario language sets and reads: the ones whose effect on these system
/// calls the model follows (`RLIMIT_CORE` for `do_coredump`, `RLIMIT_NPROC` for
/// `copy_process`). The others' starting values are the machine's, which a scenario cannot
/// print portably.
pub const SCENARIO_RLIMITS: &[u32] = &[RLIMIT_CORE, RLIMIT_NPROC];

/// `RLIMIT_NPROC`, soft and hard, of the scenario language's first task: lowered from the
/// machine's (`max_threads / 2` for root, which depends on the memory) to a number every
/// caller may set and every scenario stays far below, so that `getrlimit nproc` prints the
/// same everywhere.
pub const FIRST_TASK_NPROC: u64 = 1024;

/// A resource by the language's name (`core`) or the kernel's (`RLIMIT_CORE`).
pub fn rlimit_from_name(name: &str) -> Option<u32> {
    RLIMITS.iter().find(|(_, k, l)| *l == name || *k == name).map(|(n, _, _)| *n)
}

/// The language's name of a resource (`core`), if it has one.
pub fn rlimit_name(resource: u32) -> Option<&'static str> {
    RLIMITS.iter().find(|(n, _, _)| *n == resource).map(|(_, _, l)| *l)
}

/// A limit as the language prints it: a number, or `unlimited` for [`RLIM_INFINITY`].
pub fn format_rlim(value: u64) -> String {
    if value == RLIM_INFINITY {
        "unlimited".to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_is_numbered_in_order_and_named_both_ways() {
        assert_eq!(RLIMITS.len() as u32, RLIM_NLIMITS);
        for (i, (n, k, l)) in RLIMITS.iter().enumerate() {
            assert_eq!(*n, i as u32);
            assert_eq!(k.strip_prefix("RLIMIT_").map(str::to_lowercase).as_deref(), Some(*l));
            assert_eq!(rlimit_from_name(l), Some(*n));
            assert_eq!(rlimit_from_name(k), Some(*n));
        }
        assert_eq!(rlimit_name(RLIMIT_NPROC), Some("nproc"));
        assert_eq!(rlimit_from_name("bogus"), None);
    }

    #[test]
    fn infinity_prints_as_unlimited() {
        assert_eq!(format_rlim(RLIM_INFINITY), "unlimited");
        assert_eq!(format_rlim(4096), "4096");
    }
}
