//! The live [`CallerState`] that `clonekit-flags`' rules need, read from the running kernel.

use clonekit_flags::CallerState;
use std::fs;

/// The calling process as the validation rules see it: kernel version (`uname`),
/// `CAP_SYS_ADMIN` (`capget`), whether it is a pid-namespace init (`getpid() == 1`), its
/// thread count and pid-namespace level (`/proc/self/status`), whether children go to
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
            } else if let Some(ns) = line.strip_prefix("NSpid:") {
                st.pid_ns_level = ns.split_whitespace().count().saturating_sub(1) as u32;
            }
        }
    }
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
