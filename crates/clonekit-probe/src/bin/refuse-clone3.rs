//! `refuse-clone3 ENOSYS|EPERM COMMAND [ARG...]`: runs COMMAND with `clone3` refused by a
//! seccomp filter, as a container runtime's profile refuses it, to test programs (and clonekit
//! itself) the way they run in a container.
//!
//! The errno is the answer `clone3` gets: `ENOSYS` (current Docker, containerd, podman: C
//! libraries then fall back to legacy `clone`) or `EPERM` (older Docker profiles: glibc's
//! `pthread_create`, `posix_spawn` and so std's threads and `Command` then fail). The tool sets
//! `no_new_privs` (as runtimes do), installs
//! [`clonekit_probe::seccomp::refuse_clone3_program`] and execs COMMAND (searched in `PATH`)
//! in its own place: same pid, same environment, COMMAND's exit status. Every call but
//! `clone3` is allowed.
//!
//! ```text
//! $ refuse-clone3 EPERM clonekit check --only flag
//! $ CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/target/debug/refuse-clone3 ENOSYS" cargo test
//! ```
//!
//! Exit status: COMMAND's; 125 if the filter cannot be installed or the arguments are wrong,
//! 126 if COMMAND cannot be executed, 127 if it is not found (as `env` and `timeout`).

use std::os::unix::process::CommandExt;
use std::process::ExitCode;

use clonekit_probe::seccomp::{refuse_clone3, CONTAINER_REFUSALS};
use rustix::io::Errno;

const USAGE: &str = "usage: refuse-clone3 ENOSYS|EPERM COMMAND [ARG...]";

/// `ENOSYS`, or the number if Linux has no name for it.
fn errno_name(e: Errno) -> String {
    clonekit_flags::Errno::from_raw(e.raw_os_error())
        .map_or_else(|| e.raw_os_error().to_string(), |e| e.name().to_string())
}

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("refuse-clone3: {msg}");
    ExitCode::from(code)
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(first) = args.next() else {
        return fail(125, USAGE);
    };
    if first == "-h" || first == "--help" {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let name = first.to_string_lossy();
    let Some(errno) = CONTAINER_REFUSALS.into_iter().find(|e| errno_name(*e).eq_ignore_ascii_case(&name))
    else {
        return fail(125, format!("{name:?}: the errno is ENOSYS or EPERM, as container profiles answer"));
    };
    let Some(program) = args.next() else {
        return fail(125, format!("no command to run; {USAGE}"));
    };
    if let Err(e) = refuse_clone3(errno) {
        return fail(125, format!("cannot install the seccomp filter: {}", errno_name(e)));
    }
    let err = std::process::Command::new(&program).args(args).exec();
    let code = if err.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
    fail(code, format!("{}: {err}", program.to_string_lossy()))
}
