//! The live [`CallerState`] that `clonekit-flags`' rules need, read from the running kernel.

use clonekit_flags::CallerState;
use std::fs;

/// The calling process as the validation rules see it: kernel version (`uname`),
/// `CAP_SYS_ADMIN` (`capget`), whether it is a pid-namespace init (`getpid() == 1`), its
/// thread count (`/proc/self/status`), its pid-namespace level ([`pid_ns_level`]), whether children go to
/// another pid namespace (`/proc/self/ns/pid` vs `pid_for_children`), and whether it is
/// chrooted (`/proc/self/root` vs `/proc/1/root`, when readable). What cannot be read keeps
/// [`CallerState::default`]'s value.
pub fn caller_state() -> CallerState {
    let mut st = CallerState::default();
    let uname = rustix::system::uname();
    let release = uname.release().to_string_lossy();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    if let (Some(Ok(major)), Some(Ok(minor))) =
        (parts.next().map(str::parse::<u32>), parts.next().map(str::parse::<u32>))
    {
        st.kernel = (major, minor);
    }
    if let Ok(caps) = rustix::thread::capabilities(None) {
        st.cap_sys_admin = caps.effective.contains(rustix::thread::CapabilitySet::SYS_ADMIN);
    }
    st.pid_ns_init = rustix::process::getpid().is_init();
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        for line in status.lines() {
            if let Some(n) = line.strip_prefix("Threads:") {
                st.multithreaded = n.trim().parse::<u32>().is_ok_and(|n| n > 1);
            }
        }
    }
    st.pid_ns_level = pid_ns_level();
    if let (Ok(a), Ok(b)) =
        (fs::read_link("/proc/self/ns/pid"), fs::read_link("/proc/self/ns/pid_for_children"))
    {
        st.pid_ns_for_children_differs = a != b;
    }
    if let (Ok(a), Ok(b)) = (fs::metadata("/proc/self/root/"), fs::metadata("/proc/1/root/")) {
        use std::os::unix::fs::MetadataExt;
        st.chrooted = (a.dev(), a.ino()) != (b.dev(), b.ino());
    }
    st
}

/// The most `set_tid` entries a call can carry (`MAX_PID_NS_LEVEL`).
const MAX_SET_TID: u32 = clonekit_flags::MAX_PID_NS_LEVEL as u32;

/// The calling process's pid-namespace level: 0 in the initial pid namespace, one more for
/// each namespace below it; [`measured_pid_ns_level`] where it can be measured, otherwise the
/// levels `/proc` shows (which may be too few).
pub fn pid_ns_level() -> u32 {
    measured_pid_ns_level().unwrap_or_else(nspid_levels)
}

/// The calling process's pid-namespace level, or `None` where it cannot be known.
///
/// `NSpid:` in `/proc/self/status` lists only the levels that the `/proc` mount's pid
/// namespace sees, so under a `/proc` mounted inside a pid namespace it counts too few. The
/// kernel itself is then asked: `alloc_pid` refuses a `set_tid` array longer than the
/// child's level + 1 with `EINVAL` before it looks at anything else, so a clone3 carrying
/// one entry more than the level believed is refused with `EINVAL` exactly when the belief
/// is right. Every entry is pid 1, which is taken in every namespace that has an init, so a
/// call within the limit fails too (`EEXIST`, or `EPERM` without `CAP_CHECKPOINT_RESTORE`)
/// and creates nothing. Any other answer (a limit hit before `alloc_pid`) keeps the count.
///
/// Where `clone3` does not reach the kernel ([`probe_clone3`]: a kernel before 5.3, or a
/// seccomp filter, whose `EPERM` would read as "within the limit"), `NSpid:` is exact only if
/// the `/proc` mount belongs to the initial pid namespace (its pid 1's namespace has the
/// initial one's fixed inode, `PROC_PID_INIT_INO`, or it lists kernel threads), or if the
/// caller is in that namespace;
/// otherwise, as in a container that has its own pid namespace and `/proc` and refuses
/// `clone3`, the level is unknown.
pub fn measured_pid_ns_level() -> Option<u32> {
    let seen = nspid_levels();
    if probe_clone3().is_ok() {
        let mut level = seen;
        while level + 2 <= MAX_SET_TID && within_set_tid_limit(level + 2) {
            level += 1;
        }
        return Some(level);
    }
    if in_initial_pid_ns("/proc/self/ns/pid") {
        Some(0)
    } else if in_initial_pid_ns("/proc/1/ns/pid") || proc_lists_kernel_threads() {
        Some(seen)
    } else {
        None
    }
}

/// Whether the `/proc` mount lists kernel threads, which live in the initial pid namespace
/// only: its pid 2 is `kthreadd` (`PF_KTHREAD` in the flags of `/proc/2/stat`, readable by
/// anyone, where `/proc/1/ns/pid` is not).
fn proc_lists_kernel_threads() -> bool {
    const PF_KTHREAD: u64 = 0x0020_0000;
    fs::read_to_string("/proc/2/stat")
        .ok()
        .and_then(|s| {
            s.rsplit_once(") ")
                .and_then(|(_, rest)| rest.split_whitespace().nth(6).and_then(|f| f.parse::<u64>().ok()))
        })
        .is_some_and(|flags| flags & PF_KTHREAD != 0)
}

/// `PROC_PID_INIT_INO` (include/linux/proc_ns.h): the inode of the initial pid namespace.
const PROC_PID_INIT_INO: u64 = 0xefff_fffc;

/// Whether the namespace link at `path` (`/proc/PID/ns/pid`) names the initial pid namespace.
fn in_initial_pid_ns(path: &str) -> bool {
    fs::read_link(path).is_ok_and(|l| l.to_str() == Some(format!("pid:[{PROC_PID_INIT_INO}]").as_str()))
}

/// The levels `NSpid:` lists below the `/proc` mount's pid namespace (0 if unreadable).
fn nspid_levels() -> u32 {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("NSpid:").map(|ns| ns.split_whitespace().count()))
        })
        .map_or(0, |n| n.saturating_sub(1) as u32)
}

/// Whether a clone3 with `n` `set_tid` entries gets past `alloc_pid`'s length check.
fn within_set_tid_limit(n: u32) -> bool {
    let tids = [1i32; MAX_SET_TID as usize];
    // `struct clone_args` up to `set_tid_size` (CLONE_ARGS_SIZE_VER1): exit_signal SIGCHLD,
    // no stack (the child never touches memory), `set_tid` = the first `n` pids 1.
    let mut args = [0u64; 10];
    args[4] = clonekit_flags::ExitSignal::SIGCHLD.raw();
    args[8] = tids.as_ptr() as u64;
    args[9] = u64::from(n);
    // SAFETY: `clone3` with a readable `clone_args` of the size given; the kernel only reads
    // it and the `set_tid` array, both of which outlive the call. A child, created only if
    // every pid 1 were free, exits at once without touching memory.
    let ret =
        unsafe { crate::create_exit_at_once(crate::nr::CLONE3, args.as_mut_ptr() as usize, 80, 0, 0, 0) };
    match crate::check(ret) {
        Ok(pid) => {
            let _ = crate::wait4(pid as i32, crate::WALL);
            true
        }
        Err(e) => e == rustix::io::Errno::EXIST || e == rustix::io::Errno::PERM,
    }
}

/// `clone3(&zeroed, 0)`, which the kernel rejects with `EINVAL` before anything else (rule
/// C2, `size < CLONE_ARGS_SIZE_VER0`): `Ok(())` means that `clone3` reaches the kernel here;
/// `Err(errno)` is the answer of whatever refused it first: `ENOSYS` from a kernel before 5.3,
/// or a seccomp filter's errno (container profiles answer `ENOSYS` or `EPERM`). No child can
/// be created.
///
/// # References
///
/// - [Linux](https://man7.org/linux/man-pages/man2/clone3.2.html)
pub fn probe_clone3() -> Result<(), rustix::io::Errno> {
    let mut args = [0u64; 11];
    // SAFETY: `clone3` with a valid (zeroed) argument block and size 0; the kernel rejects the
    // size before reading it, and a child created against all expectation exits at once
    // without touching memory.
    let ret =
        unsafe { crate::create_exit_at_once(crate::nr::CLONE3, args.as_mut_ptr() as usize, 0, 0, 0, 0) };
    match crate::check(ret) {
        Err(e) if e == rustix::io::Errno::INVAL => Ok(()),
        Err(e) => Err(e),
        Ok(pid) => {
            // Unreachable on any Linux; the child has exited at once: reap it.
            let _ = crate::wait4(pid as i32, crate::WALL);
            Ok(())
        }
    }
}
