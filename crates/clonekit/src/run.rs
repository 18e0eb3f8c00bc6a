//! `clonekit run`: util-linux `unshare(1)` built on one `clone` call with exactly the flags
//! asked for (`--share` resources, `--new` namespaces, `--flags` raw), then `execve`.
//!
//! The child is a [`clonekit::Command`] with [`clonekit::Command::clone_flags`]: without
//! `--share vm` it is a fork-style copy of this (small) process. Where the options overlap
//! with `unshare`, they mean the same: `--map-root-user` implies a new user namespace,
//! `--mount-proc[=DIR]` a new mount namespace, and a new mount namespace starts with every
//! mount private (`unshare --propagation private`). The child is created directly in its
//! new pid namespace, as `unshare --fork --pid` does. The exit status is passed through
//! (128 + n for a child killed by signal n; 127 if the program is missing, 126 if it cannot
//! be executed, as `unshare`; 125 if clonekit could not set the child up before the program
//! ran, such as a missing `--cgroup` directory, as `env(1)` and `timeout(1)` say it), and
//! termination signals are forwarded to the child.
//!
//! With `--init`, the child is not the program but `clonekit run-init`, a small init
//! (pid 1 of a new pid namespace) that starts the program, forwards signals to it and reaps
//! every orphan until the program exits.

use crate::Outcome;
use clonekit::process::{Command, CommandError, ExitStatus, Step};
use clonekit_flags::{parse_flags, CloneFlags, ExitSignal, Signal};
use std::ffi::OsString;
use std::path::PathBuf;

/// `clonekit run` options.
#[derive(clap::Args)]
pub struct Args {
    /// Resources the child shares with clonekit: vm, fs, files, sighand, sysvsem, io.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    share: Vec<String>,
    /// Namespaces the child gets new: pid, net, mount, uts, ipc, user, cgroup, time.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    new: Vec<String>,
    /// Map our uid and gid to root in a new user namespace (implies --new user).
    #[arg(short = 'r', long)]
    map_root_user: bool,
    /// Mount a new proc on DIR (default /proc) before running the program (implies --new mount).
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true, default_missing_value = "/proc")]
    mount_proc: Option<PathBuf>,
    /// Start the child in this cgroup2 directory (CLONE_INTO_CGROUP).
    #[arg(long, value_name = "PATH")]
    cgroup: Option<PathBuf>,
    /// More CLONE_* flags, raw: names (vm,newpid or CLONE_VM|CLONE_NEWPID) or a number.
    #[arg(long, value_name = "RAW")]
    flags: Option<String>,
    /// Run the program under a small init that forwards signals and reaps orphans.
    #[arg(long)]
    init: bool,
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "PROGRAM")]
    command: Vec<OsString>,
}

/// `clonekit run-init` (internal): the init `--init` runs as the child.
#[derive(clap::Args)]
pub struct InitArgs {
    /// The program and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<OsString>,
}

/// The signals passed on to the child.
const FORWARDED: [u32; 8] = [1, 2, 3, 10, 12, 15, 18, 28];

fn forwarded() -> Vec<Signal> {
    FORWARDED.iter().filter_map(|&n| Signal::new(n)).collect()
}

/// A `--share` name.
fn share_flag(name: &str) -> Result<CloneFlags, String> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "vm" => CloneFlags::CLONE_VM,
        "fs" => CloneFlags::CLONE_FS,
        "files" => CloneFlags::CLONE_FILES,
        "sighand" => CloneFlags::CLONE_SIGHAND,
        "sysvsem" => CloneFlags::CLONE_SYSVSEM,
        "io" => CloneFlags::CLONE_IO,
        other => {
            return Err(format!("--share: unknown resource {other:?} (vm, fs, files, sighand, sysvsem, io)"));
        }
    })
}

/// A `--new` name.
fn new_flag(name: &str) -> Result<CloneFlags, String> {
    Ok(match name.trim().to_ascii_lowercase().as_str() {
        "pid" => CloneFlags::CLONE_NEWPID,
        "net" => CloneFlags::CLONE_NEWNET,
        "mount" | "mnt" => CloneFlags::CLONE_NEWNS,
        "uts" => CloneFlags::CLONE_NEWUTS,
        "ipc" => CloneFlags::CLONE_NEWIPC,
        "user" => CloneFlags::CLONE_NEWUSER,
        "cgroup" => CloneFlags::CLONE_NEWCGROUP,
        "time" => CloneFlags::CLONE_NEWTIME,
        other => {
            return Err(format!(
                "--new: unknown namespace {other:?} (pid, net, mount, uts, ipc, user, cgroup, time)"
            ));
        }
    })
}

/// The flags of the one clone call: `--share`, `--new`, `--flags`, and what the options imply.
fn flags_of(args: &Args) -> Result<CloneFlags, String> {
    let mut flags = CloneFlags::empty();
    for s in args.share.iter().filter(|s| !s.trim().is_empty()) {
        flags |= share_flag(s)?;
    }
    for n in args.new.iter().filter(|s| !s.trim().is_empty()) {
        flags |= new_flag(n)?;
    }
    if let Some(raw) = &args.flags {
        let (f, sig) = parse_flags(raw).map_err(|e| format!("--flags: cannot read {}", e.with_input(raw)))?;
        if sig != ExitSignal::NONE && sig != ExitSignal::SIGCHLD {
            return Err(format!("--flags: the exit signal is always SIGCHLD, not {}", sig.raw()));
        }
        flags |= f;
    }
    if args.map_root_user {
        flags |= CloneFlags::CLONE_NEWUSER;
    }
    if args.mount_proc.is_some() {
        flags |= CloneFlags::CLONE_NEWNS;
    }
    Ok(flags)
}

/// The exit code for a child's status, as a shell reports it.
fn exit_code(st: ExitStatus) -> u8 {
    match (st.code(), st.terminating_signal()) {
        (Some(c), _) => c as u8,
        (None, Some(s)) => 128u8.saturating_add(s.number() as u8),
        (None, None) => 1,
    }
}

/// The exit code for a spawn that failed: 127 for a program not found, 126 for one that
/// cannot be executed, 125 for a failure before the program ran.
fn spawn_failure_code(e: &CommandError) -> u8 {
    match e.step() {
        Step::Exec if e.errno() == clonekit_flags::Errno::ENOENT => 127,
        Step::Exec => 126,
        _ => 125,
    }
}

/// Runs `clonekit run`.
pub fn run(args: &Args) -> Result<Outcome, String> {
    let flags = flags_of(args)?;
    let (program, rest) = args.command.split_first().ok_or("no program given")?;
    let mut cmd = if args.init {
        let me = std::env::current_exe().map_err(|e| format!("cannot find clonekit itself: {e}"))?;
        let mut c = Command::new(me);
        c.arg("run-init").arg("--").arg(program).args(rest);
        c
    } else {
        let mut c = Command::new(program);
        c.args(rest);
        c
    };
    // Exactly these flags; the handle waits by pid and learns of the exit from SIGCHLD.
    cmd.clone_flags(flags);
    if args.map_root_user {
        cmd.map_root_user();
    }
    if flags.contains(CloneFlags::CLONE_NEWNS) {
        cmd.make_mounts_private();
    }
    if let Some(dir) = &args.mount_proc {
        cmd.mount_proc(dir);
    }
    if let Some(cg) = &args.cgroup {
        cmd.cgroup(cg);
    }
    let signals = forwarded();
    // Blocked before the child exists, so that none is lost before forwarding starts; the
    // program starts with nothing blocked.
    let _held = clonekit_sys::block_signals(&signals).map_err(|e| format!("cannot block signals: {e}"))?;
    cmd.signal_mask(&[]);
    let mut child = match cmd.spawn_explained() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("clonekit: {e}");
            return Ok(Outcome::Exit(spawn_failure_code(&e)));
        }
    };
    let status = child.wait_forwarding(&signals).map_err(|e| format!("waiting for the child: {e}"))?;
    Ok(Outcome::Exit(exit_code(status)))
}

/// Runs `clonekit run-init`: pid 1 of the new namespace.
pub fn run_init(args: &InitArgs) -> Result<Outcome, String> {
    let (program, rest) = args.command.split_first().ok_or("no program given")?;
    let signals = forwarded();
    let _held = clonekit_sys::block_signals(&signals).map_err(|e| format!("cannot block signals: {e}"))?;
    let mut child = match Command::new(program).args(rest).signal_mask(&[]).spawn_explained() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("clonekit: {e}");
            return Ok(Outcome::Exit(spawn_failure_code(&e)));
        }
    };
    let status = child.wait_as_init(&signals).map_err(|e| format!("init: {e}"))?;
    Ok(Outcome::Exit(exit_code(status)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        args: Args,
    }

    fn flags(argv: &[&str]) -> Result<CloneFlags, String> {
        let t = T::try_parse_from(std::iter::once("run").chain(argv.iter().copied()))
            .map_err(|e| e.to_string())?;
        flags_of(&t.args)
    }

    #[test]
    fn options_make_exactly_their_flags() {
        assert_eq!(flags(&["--", "true"]).unwrap(), CloneFlags::empty());
        assert_eq!(
            flags(&["--share", "vm,fs", "--new", "pid,net", "--", "true"]).unwrap(),
            CloneFlags::CLONE_VM | CloneFlags::CLONE_FS | CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNET
        );
        assert_eq!(
            flags(&["-r", "--mount-proc", "--", "ps"]).unwrap(),
            CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS
        );
        assert_eq!(
            flags(&["--flags", "CLONE_NEWUTS|CLONE_IO", "--", "true"]).unwrap(),
            CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_IO
        );
        assert!(flags(&["--new", "bogus", "--", "true"]).unwrap_err().contains("bogus"));
        assert!(flags(&["--share", "newpid", "--", "true"]).is_err());
    }
}
