//! `clonekit explain ARG`: what a flag set or a strace line means. The notation in strace's
//! spelling and in hex, the libc call that makes it, whether the kernel accepts it (and if
//! not, the first rule it breaks, in the kernel's order), and for each resource whether the
//! child shares it, gets a copy or gets a new one.

use clonekit_flags::{
    classify, format_call, format_hex, parse_call, resources, violations, CallerState, CloneCall, CloneFlags,
    NotationError, Observed, ParsedCall, ResourceOutcome, Rule, CSIGNAL, FLAG_TABLE,
};
use serde::Serialize;

use crate::Outcome;

/// `clonekit explain` options.
#[derive(clap::Args)]
pub struct Args {
    /// Flags (`CLONE_VM|CLONE_FS|SIGCHLD`, `vm,fs,files`, `0x3d0f00`, `17`) or a whole strace
    /// line (`clone(child_stack=NULL, flags=…) = 1978`, `clone3({…}, 88) = N`).
    #[arg(value_name = "FLAGS|STRACE-LINE")]
    input: String,
    /// Print the explanation as JSON.
    #[arg(long)]
    json: bool,
    /// Describe the caller the rules are evaluated for, comma-separated: `init` (a pid
    /// namespace's init), `threaded`, `chrooted`, `unprivileged` (no CAP_SYS_ADMIN),
    /// `pidns-pending` (after unshare(CLONE_NEWPID)). Default: this process as it is.
    #[arg(long, value_name = "TRAITS", value_delimiter = ',')]
    caller: Vec<CallerTrait>,
    /// Evaluate the rules, and run the model, as Linux X.Y (5.0 to 7.3) does. Default: the
    /// running kernel.
    #[arg(long, value_name = "X.Y", value_parser = clonekit_flags::parse_version)]
    linux: Option<clonekit_flags::Version>,
}

/// A trait of the caller that some rules depend on.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum CallerTrait {
    /// The init of a pid namespace (SIGNAL_UNKILLABLE).
    Init,
    /// Has more than one thread.
    Threaded,
    /// chroot()ed.
    Chrooted,
    /// Lacks CAP_SYS_ADMIN.
    Unprivileged,
    /// Has called unshare(CLONE_NEWPID): its children go to another pid namespace.
    PidnsPending,
}

/// Errors of `explain`.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The argument is neither flag notation nor a strace line. One line, quoting the
    /// argument whole when it is short and only the part around the error when it is long.
    #[error("cannot read {}", source.with_input(input))]
    Parse {
        /// The argument.
        input: String,
        /// Why.
        source: NotationError,
    },
    /// Writing the output failed.
    #[error("cannot write: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Serialize)]
struct FlagRow {
    name: &'static str,
    meaning: &'static str,
}

#[derive(Serialize)]
struct RuleRow {
    id: &'static str,
    errno: String,
    message: &'static str,
    reason: &'static str,
    function: &'static str,
    source: &'static str,
}

impl From<&Rule> for RuleRow {
    fn from(r: &Rule) -> Self {
        RuleRow {
            id: r.id,
            errno: r.errno.name().to_string(),
            message: r.errno.message(),
            reason: r.reason,
            function: r.function,
            source: r.source,
        }
    }
}

#[derive(Serialize)]
struct Explanation {
    input: String,
    syscall: &'static str,
    call: String,
    flags: String,
    hex: String,
    exit_signal: String,
    flag_list: Vec<FlagRow>,
    made_by: String,
    caller: CallerState,
    valid: bool,
    /// The first release from which the call is valid for this caller in every release up to
    /// the newest the model follows (the rules evaluated for each release the model follows); `None`:
    /// not valid in the newest.
    valid_since: Option<clonekit_flags::Version>,
    rule: Option<RuleRow>,
    also_broken: Vec<RuleRow>,
    /// Rules only the kernel decides (memory, limits, system state), listed for `--json`.
    kernel_decides: Vec<&'static str>,
    resources: Vec<ResourceOutcome>,
    /// What `copy_process` did when the call was run on the model (clonekit-model).
    model: ModelPath,
}

/// The call run on the model: the steps `copy_process` recorded, and the result.
#[derive(Serialize)]
struct ModelPath {
    /// The caller the model was set up as.
    caller: String,
    /// The record, if the call reached `kernel_clone`.
    record: Option<clonekit_model::CopyProcessRecord>,
    /// What the call returned: the child's pid as the caller sees it, or the errno.
    result: String,
}

/// Runs `call` on a freshly booted model, from a first task put in the state `traits`
/// describe where the model can (a pid namespace's init, a second thread, after
/// unshare(CLONE_NEWPID)). The pids a strace line showed at `set_tid` are put in the task's
/// memory at the call's `set_tid`, so that `clone3` copies in the array it was given.
fn model_path(
    call: &CloneCall,
    observed: &Observed,
    traits: &[CallerTrait],
    linux: clonekit_flags::Version,
) -> ModelPath {
    use clonekit_model::{Kernel, Syscall};
    let mut k = Kernel::new_on(linux);
    let mut notes = Vec::new();
    let Ok(mut cur) = k.spawn_first() else {
        return ModelPath { caller: "none".into(), record: None, result: "the model could not boot".into() };
    };
    for t in traits {
        match t {
            CallerTrait::Init => {
                let made =
                    k.sys_unshare(cur, CloneFlags::CLONE_NEWPID).ok().and_then(|_| k.sys_fork(cur).ok());
                if let Some(Syscall::Done(f)) = made {
                    cur = f.child;
                    notes.push("pid 1 of a new pid namespace");
                }
            }
            CallerTrait::Threaded => {
                let flags =
                    (CloneFlags::CLONE_VM | CloneFlags::CLONE_SIGHAND | CloneFlags::CLONE_THREAD).bits();
                if k.sys_clone(cur, flags, 0x7d00_0001_0000, 0, 0, 0).is_ok() {
                    notes.push("with a second thread");
                }
            }
            CallerTrait::PidnsPending => {
                if k.sys_unshare(cur, CloneFlags::CLONE_NEWPID).is_ok() {
                    notes.push("after unshare(CLONE_NEWPID)");
                }
            }
            CallerTrait::Chrooted | CallerTrait::Unprivileged => {
                notes.push("(chroot and privileges are not modelled)")
            }
        }
    }
    k.set_recording(true);
    let r = match call {
        CloneCall::Fork => k.sys_fork(cur),
        CloneCall::Vfork => k.sys_vfork(cur),
        CloneCall::Clone { flags, stack, parent_tid, child_tid, tls } => {
            k.sys_clone(cur, *flags, *stack, *parent_tid, *child_tid, *tls)
        }
        CloneCall::Clone3 { args, size, nonzero_tail } => {
            for (i, pid) in observed.set_tid.iter().flatten().enumerate() {
                let _ = k.store(cur, args.set_tid.wrapping_add(4 * i as u64), *pid as u32);
            }
            let len = if *size > clonekit_flags::PAGE_SIZE { 88 } else { (*size as usize).max(88) };
            let mut bytes = args.to_bytes(len);
            if *nonzero_tail && len > 88 {
                bytes[88] = 1;
            }
            k.sys_clone3(cur, &bytes, *size)
        }
    };
    let result = match r {
        Ok(Syscall::Done(f)) => format!("returns {} (the child's pid) in the caller", f.nr),
        Ok(Syscall::Blocked) => "the caller sleeps until the child execs or exits (vfork)".into(),
        Err(e) => format!("fails with {}", e.name()),
    };
    let caller =
        if notes.is_empty() { "a root task in the initial namespaces".to_string() } else { notes.join(", ") };
    ModelPath { caller, record: k.last_copy_process().cloned(), result }
}

/// The flags word strace would print for the call, and its hex form.
fn flag_words(call: &CloneCall) -> (String, String) {
    match call {
        CloneCall::Clone { flags, .. } => (clonekit_flags::format_clone_flags(*flags), format_hex(*flags)),
        CloneCall::Clone3 { args, .. } => {
            (clonekit_flags::format_clone3_flags(args.flags), format_hex(args.flags))
        }
        CloneCall::Fork | CloneCall::Vfork => {
            let k = call.kernel_args();
            let word = k.flags.bits() | (k.exit_signal.raw() & CSIGNAL);
            (clonekit_flags::format_clone_flags(word), format_hex(word))
        }
    }
}

/// The first release from which `call` breaks no rule for `caller`, in each release after it
/// too; `None` if it breaks one in the newest.
fn valid_since(call: &CloneCall, caller: &CallerState) -> Option<clonekit_flags::Version> {
    let valid_on = |v| violations(call, &CallerState { kernel: v, ..*caller }).is_empty();
    let all: Vec<clonekit_flags::Version> = clonekit_flags::releases().collect();
    let mut since = None;
    for v in all.into_iter().rev() {
        if !valid_on(v) {
            break;
        }
        since = Some(v);
    }
    since
}

fn caller_for(traits: &[CallerTrait]) -> CallerState {
    let mut c = clonekit_probe::caller_state();
    for t in traits {
        match t {
            CallerTrait::Init => c.pid_ns_init = true,
            CallerTrait::Threaded => c.multithreaded = true,
            CallerTrait::Chrooted => c.chrooted = true,
            CallerTrait::Unprivileged => c.cap_sys_admin = false,
            CallerTrait::PidnsPending => c.pid_ns_for_children_differs = true,
        }
    }
    c
}

#[cfg(test)]
fn explain(input: &str, caller: CallerState) -> Result<Explanation, ExplainError> {
    explain_as(input, caller, &[])
}

fn explain_as(input: &str, caller: CallerState, traits: &[CallerTrait]) -> Result<Explanation, ExplainError> {
    let parsed =
        parse_call(input).map_err(|source| ExplainError::Parse { input: input.to_string(), source })?;
    let ParsedCall { call, observed, .. } = parsed;
    let k = call.kernel_args();
    let (flags, hex) = flag_words(&call);
    let broken = violations(&call, &caller);
    let valid_since = valid_since(&call, &caller);
    let kernel_decides = clonekit_flags::RULES
        .iter()
        .filter(|r| !r.decidable() && r.is_broken_by(&call, &caller).is_none())
        .map(|r| r.id)
        .collect::<Vec<_>>();
    let flag_list = FLAG_TABLE
        .iter()
        .filter(|i| k.flags.contains(i.flag))
        .map(|i| FlagRow { name: i.name(), meaning: i.meaning })
        .collect();
    Ok(Explanation {
        input: input.trim().to_string(),
        syscall: call.syscall_name(),
        // As given: with what strace showed in place of pointers (`set_tid=[…]`,
        // `parent_tid=[…]`, `=> {…}`), not the addresses the parsed call keeps for them.
        call: format_call(&call, &observed),
        flags,
        hex,
        exit_signal: k.exit_signal.to_string(),
        flag_list,
        made_by: classify(&call).label(),
        caller,
        valid: broken.is_empty(),
        valid_since,
        rule: broken.first().map(|r| RuleRow::from(*r)),
        also_broken: broken.iter().skip(1).map(|r| RuleRow::from(*r)).collect(),
        kernel_decides,
        resources: resources(&k),
        model: model_path(&call, &observed, traits, caller.kernel),
    })
}

fn describe_caller(c: &CallerState) -> String {
    let mut parts = vec![if c.cap_sys_admin { "CAP_SYS_ADMIN" } else { "unprivileged" }];
    parts.push(if c.multithreaded { "multithreaded" } else { "single-threaded" });
    if c.pid_ns_init {
        parts.push("pid-ns init");
    }
    if c.chrooted {
        parts.push("chrooted");
    }
    if c.pid_ns_for_children_differs {
        parts.push("after unshare(CLONE_NEWPID)");
    }
    format!("{}, pid-ns level {}, Linux {}.{}", parts.join(", "), c.pid_ns_level, c.kernel.0, c.kernel.1)
}

fn print_text(e: &Explanation) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "call       {}", e.call)?;
    writeln!(out, "flags      {}", e.flags)?;
    writeln!(out, "hex        {}", e.hex)?;
    writeln!(out, "exit       {}", e.exit_signal)?;
    writeln!(out, "made by    {}", e.made_by)?;
    match &e.rule {
        None => writeln!(out, "valid      yes, for this caller ({})", describe_caller(&e.caller))?,
        Some(r) => {
            writeln!(out, "valid      no: {} {} ({}): {}", r.id, r.errno, r.message, r.reason)?;
            writeln!(out, "           checked in {}, {}", r.function, r.source)?;
            for also in &e.also_broken {
                writeln!(out, "           also breaks {} {}: {}", also.id, also.errno, also.reason)?;
            }
            writeln!(out, "           caller: {}", describe_caller(&e.caller))?;
        }
    }
    let (newest, oldest) = (clonekit_flags::LATEST, clonekit_flags::OLDEST);
    match e.valid_since {
        Some(v) if v == oldest => writeln!(
            out,
            "since      every release the model follows ({}.{} to {}.{})",
            oldest.0, oldest.1, newest.0, newest.1
        )?,
        Some((a, b)) => writeln!(
            out,
            "since      Linux {a}.{b} (rules of {}.{} to {}.{})",
            oldest.0, oldest.1, newest.0, newest.1
        )?,
        None => writeln!(out, "since      not valid for this caller on Linux {}.{}", newest.0, newest.1)?,
    }
    if !e.flag_list.is_empty() {
        writeln!(out, "\nflags")?;
        let w = e.flag_list.iter().map(|f| f.name.len()).max().unwrap_or(0);
        for f in &e.flag_list {
            writeln!(out, "  {:<w$}  {}", f.name, f.meaning)?;
        }
    }
    writeln!(
        out,
        "\n{}",
        if e.valid {
            "what the child gets (copy_process order)"
        } else {
            "what the child would get if the call were accepted"
        }
    )?;
    let w = e.resources.iter().map(|r| r.resource.label().len()).max().unwrap_or(0);
    for r in &e.resources {
        let flag = r.flag.map(flag_names).unwrap_or_default();
        writeln!(out, "  {:<w$}  {:<9}  {}{}", r.resource.label(), r.sharing.to_string(), r.detail, flag)?;
    }
    writeln!(out, "\nthe model's copy_process path (clonekit-model; caller: {})", e.model.caller)?;
    if let Some(rec) = &e.model.record {
        let w = rec.steps.iter().map(|s| s.function.len()).max().unwrap_or(0);
        for s in &rec.steps {
            let outcome = s.outcome.map_or_else(|| "refused".to_string(), |o| o.to_string());
            writeln!(out, "  {:<w$}  {:<8}  {}", s.function, outcome, s.detail)?;
        }
        if let Some(rule) = rec.rule {
            writeln!(out, "  rule {rule} failed")?;
        }
    }
    writeln!(out, "  {}", e.model.result)?;
    Ok(())
}

/// `  [CLONE_VM]`: the flags that decide a resource.
fn flag_names(f: CloneFlags) -> String {
    let names: Vec<&str> = f.iter().map(CloneFlags::name).collect();
    format!("  [{}]", names.join("|"))
}

/// Runs `clonekit explain`.
pub fn run(args: &Args) -> Result<Outcome, ExplainError> {
    let mut caller = caller_for(&args.caller);
    if let Some(v) = args.linux {
        caller.kernel = v;
    }
    let e = explain_as(&args.input, caller, &args.caller)?;
    if args.json {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer_pretty(&mut out, &e).map_err(std::io::Error::from)?;
        use std::io::Write;
        writeln!(out)?;
    } else {
        print_text(&e)?;
    }
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clonekit_flags::{Resource, Sharing};

    fn sharing(e: &Explanation, r: Resource) -> Sharing {
        e.resources.iter().find(|o| o.resource == r).map(|o| o.sharing).expect("resource listed")
    }

    #[test]
    fn seed_fork_line_is_glibc_fork_with_copies() {
        let e = explain(
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7ff637155a10) = 1978",
            CallerState::default(),
        )
        .unwrap();
        assert!(e.made_by.contains("glibc fork()"), "{}", e.made_by);
        assert!(e.valid);
        assert_eq!(e.hex, "0x1200011");
        assert_eq!(sharing(&e, Resource::AddressSpace), Sharing::Copied);
        assert_eq!(sharing(&e, Resource::FdTable), Sharing::Copied);
        assert_eq!(sharing(&e, Resource::FsInfo), Sharing::Copied);
    }

    #[test]
    fn pthread_flags_share_everything() {
        let e = explain(
            "vm,fs,files,sighand,thread,sysvsem,settls,parent_settid,child_cleartid",
            CallerState::default(),
        )
        .unwrap();
        assert_eq!(sharing(&e, Resource::AddressSpace), Sharing::Shared);
        assert_eq!(sharing(&e, Resource::SignalHandlers), Sharing::Shared);
        assert!(e.made_by.contains("pthread_create"), "{}", e.made_by);
    }

    #[test]
    fn thread_without_sighand_names_rule_p3() {
        let e = explain("CLONE_VM|CLONE_THREAD", CallerState::default()).unwrap();
        assert!(!e.valid);
        let r = e.rule.unwrap();
        assert_eq!((r.id, r.errno.as_str()), ("P3", "EINVAL"));
    }

    #[test]
    fn caller_traits_change_the_verdict() {
        let init = caller_for(&[CallerTrait::Init]);
        let e = explain("CLONE_PARENT|SIGCHLD", init).unwrap();
        assert_eq!(e.rule.map(|r| r.id), Some("P5"));
    }

    #[test]
    fn vfork_flags_show_the_models_copy_process_path() {
        let e = explain("CLONE_VM|CLONE_VFORK|SIGCHLD", CallerState::default()).unwrap();
        let rec = e.model.record.expect("copy_process ran");
        let step = |f: &str| rec.outcome(f);
        assert_eq!(step("copy_mm"), Some(clonekit_flags::Sharing::Shared));
        assert_eq!(step("copy_files"), Some(clonekit_flags::Sharing::Copied));
        assert!(e.model.result.contains("sleeps"), "{}", e.model.result);
        let bad = explain("CLONE_VM|CLONE_THREAD", CallerState::default()).unwrap();
        assert_eq!(bad.model.record.and_then(|r| r.rule), Some("P3"));
        assert_eq!(bad.model.result, "fails with EINVAL");
    }

    #[test]
    fn garbage_is_a_parse_error_with_a_column() {
        let err = explain("CLONE_VM|CLONE_NOPE", CallerState::default()).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("CLONE_NOPE"), "{text}");
        assert_eq!(text.lines().count(), 1);
    }
}
