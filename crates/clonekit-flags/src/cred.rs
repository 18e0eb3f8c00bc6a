//! Credentials: the capabilities (include/uapi/linux/capability.h), the `prctl` options that
//! read and change a task's credentials and related state (include/uapi/linux/prctl.h), and
//! the dumpability values (include/linux/sched/coredump.h), each with the kernel's name and
//! the scenario language's spelling (the kernel's name lowercased, without its prefix).

/// A set of capabilities, bit `n` for capability `n` (`kernel_cap_t`).
pub type CapSet = u64;

/// `CAP_CHOWN`.
pub const CAP_CHOWN: u32 = 0;
/// `CAP_KILL`: send signals to any process (`kill_ok_by_cred`).
pub const CAP_KILL: u32 = 5;
/// `CAP_SETUID`: any uid in `setuid`, `setresuid` (`ns_capable_setid`).
pub const CAP_SETUID: u32 = 7;
/// `CAP_SETPCAP`: `capset` of inheritable capabilities the task does not hold.
pub const CAP_SETPCAP: u32 = 8;
/// `CAP_SYS_CHROOT`: `chroot`, and entering a mount namespace (`setns`).
pub const CAP_SYS_CHROOT: u32 = 18;
/// `CAP_SYS_PTRACE`: `ptrace_may_access` whatever the uids and dumpability.
pub const CAP_SYS_PTRACE: u32 = 19;
/// `CAP_SYS_ADMIN`: new namespaces, `sethostname`, `set_tid`, and much more.
pub const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_SYS_NICE`: a real-time I/O priority.
pub const CAP_SYS_NICE: u32 = 23;
/// `CAP_SYS_RESOURCE`: raising a hard resource limit, forking past `RLIMIT_NPROC`.
pub const CAP_SYS_RESOURCE: u32 = 24;
/// `CAP_CHECKPOINT_RESTORE` (Linux 5.9): `set_tid` without `CAP_SYS_ADMIN`.
pub const CAP_CHECKPOINT_RESTORE: u32 = 40;
/// `CAP_LAST_CAP`: the highest capability number the kernels the model follows know.
pub const CAP_LAST_CAP: u32 = CAP_CHECKPOINT_RESTORE;
/// `CAP_FULL_SET` (`CAP_VALID_MASK`): every capability.
pub const CAP_FULL_SET: CapSet = (1 << (CAP_LAST_CAP + 1)) - 1;

/// Every capability: (number, kernel name, language name).
pub const CAPABILITIES: &[(u32, &str, &str)] = &[
    (CAP_CHOWN, "CAP_CHOWN", "chown"),
    (1, "CAP_DAC_OVERRIDE", "dac_override"),
    (2, "CAP_DAC_READ_SEARCH", "dac_read_search"),
    (3, "CAP_FOWNER", "fowner"),
    (4, "CAP_FSETID", "fsetid"),
    (CAP_KILL, "CAP_KILL", "kill"),
    (6, "CAP_SETGID", "setgid"),
    (CAP_SETUID, "CAP_SETUID", "setuid"),
    (CAP_SETPCAP, "CAP_SETPCAP", "setpcap"),
    (9, "CAP_LINUX_IMMUTABLE", "linux_immutable"),
    (10, "CAP_NET_BIND_SERVICE", "net_bind_service"),
    (11, "CAP_NET_BROADCAST", "net_broadcast"),
    (12, "CAP_NET_ADMIN", "net_admin"),
    (13, "CAP_NET_RAW", "net_raw"),
    (14, "CAP_IPC_LOCK", "ipc_lock"),
    (15, "CAP_IPC_OWNER", "ipc_owner"),
    (16, "CAP_SYS_MODULE", "sys_module"),
    (17, "CAP_SYS_RAWIO", "sys_rawio"),
    (CAP_SYS_CHROOT, "CAP_SYS_CHROOT", "sys_chroot"),
    (CAP_SYS_PTRACE, "CAP_SYS_PTRACE", "sys_ptrace"),
    (20, "CAP_SYS_PACCT", "sys_pacct"),
    (CAP_SYS_ADMIN, "CAP_SYS_ADMIN", "sys_admin"),
    (22, "CAP_SYS_BOOT", "sys_boot"),
    (CAP_SYS_NICE, "CAP_SYS_NICE", "sys_nice"),
    (CAP_SYS_RESOURCE, "CAP_SYS_RESOURCE", "sys_resource"),
    (25, "CAP_SYS_TIME", "sys_time"),
    (26, "CAP_SYS_TTY_CONFIG", "sys_tty_config"),
    (27, "CAP_MKNOD", "mknod"),
    (28, "CAP_LEASE", "lease"),
    (29, "CAP_AUDIT_WRITE", "audit_write"),
    (30, "CAP_AUDIT_CONTROL", "audit_control"),
    (31, "CAP_SETFCAP", "setfcap"),
    (32, "CAP_MAC_OVERRIDE", "mac_override"),
    (33, "CAP_MAC_ADMIN", "mac_admin"),
    (34, "CAP_SYSLOG", "syslog"),
    (35, "CAP_WAKE_ALARM", "wake_alarm"),
    (36, "CAP_BLOCK_SUSPEND", "block_suspend"),
    (37, "CAP_AUDIT_READ", "audit_read"),
    (38, "CAP_PERFMON", "perfmon"),
    (39, "CAP_BPF", "bpf"),
    (CAP_CHECKPOINT_RESTORE, "CAP_CHECKPOINT_RESTORE", "checkpoint_restore"),
];

/// The capability a name stands for: the kernel's (`CAP_SYS_ADMIN`) or the language's
/// (`sys_admin`), or a number up to [`CAP_LAST_CAP`].
pub fn capability_from_name(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return (n <= CAP_LAST_CAP).then_some(n);
    }
    CAPABILITIES.iter().find(|(_, k, l)| *k == name || *l == name).map(|&(n, _, _)| n)
}

/// The language's name of capability `n` (`sys_admin`), or its number.
pub fn capability_name(n: u32) -> String {
    CAPABILITIES.iter().find(|(b, _, _)| *b == n).map_or_else(|| n.to_string(), |&(_, _, l)| l.to_string())
}

/// A set of capabilities as the language writes it: the names, comma-separated, in
/// ascending order; `[]` for none.
pub fn format_cap_set(set: CapSet) -> String {
    if set == 0 {
        return "[]".to_string();
    }
    (0..64).filter(|n| set & (1 << n) != 0).map(capability_name).collect::<Vec<_>>().join(",")
}

/// `_LINUX_CAPABILITY_VERSION_3`: the `capget`/`capset` header version with two 32-bit
/// data words per set.
pub const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// `PR_SET_PDEATHSIG`.
pub const PR_SET_PDEATHSIG: u32 = 1;
/// `PR_GET_PDEATHSIG`.
pub const PR_GET_PDEATHSIG: u32 = 2;
/// `PR_GET_DUMPABLE`.
pub const PR_GET_DUMPABLE: u32 = 3;
/// `PR_SET_DUMPABLE`: 0 or 1 (`SUID_DUMP_DISABLE`, `SUID_DUMP_USER`); anything else is
/// `EINVAL`.
pub const PR_SET_DUMPABLE: u32 = 4;
/// `PR_GET_KEEPCAPS`.
pub const PR_GET_KEEPCAPS: u32 = 7;
/// `PR_SET_NO_NEW_PRIVS`: 1 sets `no_new_privs` for good (anything else is `EINVAL`).
pub const PR_SET_NO_NEW_PRIVS: u32 = 38;
/// `PR_GET_NO_NEW_PRIVS`.
pub const PR_GET_NO_NEW_PRIVS: u32 = 39;
/// `PR_SET_KEEPCAPS`: `SECBIT_KEEP_CAPS`, which keeps the permitted set across a change of
/// every uid away from 0.
pub const PR_SET_KEEPCAPS: u32 = 8;
/// `PR_SET_CHILD_SUBREAPER`.
pub const PR_SET_CHILD_SUBREAPER: u32 = 36;
/// `PR_GET_CHILD_SUBREAPER`.
pub const PR_GET_CHILD_SUBREAPER: u32 = 37;

/// `SUID_DUMP_DISABLE`: not dumpable (no core, `ptrace_may_access` needs `CAP_SYS_PTRACE`).
pub const SUID_DUMP_DISABLE: u32 = 0;
/// `SUID_DUMP_USER`: dumpable, the default.
pub const SUID_DUMP_USER: u32 = 1;
/// The `fs.suid_dumpable` sysctl the model assumes, the kernel's default: a credential change
/// makes the task's memory not dumpable (`SUID_DUMP_DISABLE`).
pub const SUID_DUMPABLE_DEFAULT: u32 = SUID_DUMP_DISABLE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_names_are_the_kernels_and_numbers_ascend() {
        for (i, &(n, k, l)) in CAPABILITIES.iter().enumerate() {
            assert_eq!(n as usize, i);
            assert_eq!(k.strip_prefix("CAP_").map(str::to_lowercase).as_deref(), Some(l));
        }
        assert_eq!(CAPABILITIES.len() as u32, CAP_LAST_CAP + 1);
        assert_eq!(capability_from_name("CAP_SYS_ADMIN"), Some(CAP_SYS_ADMIN));
        assert_eq!(capability_from_name("checkpoint_restore"), Some(CAP_CHECKPOINT_RESTORE));
        assert_eq!(capability_from_name("40"), Some(40));
        assert_eq!(capability_from_name("41"), None);
        assert_eq!(capability_from_name("sys_admn"), None);
        assert_eq!(capability_from_name("sys_ptrace"), Some(CAP_SYS_PTRACE));
        assert_eq!(capability_from_name("kill"), Some(CAP_KILL));
        assert_eq!(capability_from_name("setuid"), Some(CAP_SETUID));
        assert_eq!(capability_from_name("sys_nice"), Some(CAP_SYS_NICE));
        assert_eq!(capability_from_name("chown"), Some(CAP_CHOWN));
    }

    #[test]
    fn a_set_prints_as_its_names() {
        assert_eq!(format_cap_set(0), "[]");
        assert_eq!(format_cap_set(1 << CAP_KILL | 1 << CAP_SYS_ADMIN), "kill,sys_admin");
        assert_eq!(CAP_FULL_SET.count_ones(), 41);
    }
}
