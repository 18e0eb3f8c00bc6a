//! `check` under a seccomp filter that refuses `clone3`, as container runtimes' profiles do
//! (`ENOSYS` in current Docker, containerd and podman; `EPERM` in older Docker profiles).
//!
//! The filter is detected once, before any case runs ([`clonekit_probe::seccomp::clone3_refusal`]:
//! a `clone3` the kernel itself must reject is refused first, on a kernel that has `clone3`).
//! Then every case that can only be made with `clone3` is skipped by name with the reason: the
//! flag probes of `clone3`-only flags, the rules whose every call is a `clone3`, the
//! scenarios (of the corpus and of the conformance corpus) with a `clone3` step. The others
//! run as usual; the children they create through clonekit-sys fall back to legacy `clone`,
//! as a program's would.
//!
//! Rule C0 (`ENOSYS` from `sys_ni_syscall` on a kernel before 5.3) is skipped too, under
//! either errno: an `ENOSYS` filter answers as C0 says, but that answer is the filter's (the
//! kernel here has `clone3`, and any `ENOSYS` filter would produce it), so it checks the
//! filter, not the rule; under `EPERM` there is not even the same answer.

use clonekit_flags::Errno;
use clonekit_probe::seccomp::CONTAINER_REFUSALS;

use super::harness::{Case, Observation};
use super::{conformance, corpus, flags, rules};

/// `clone3` refused before it reaches a kernel that has it.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    /// The errno the filter answers (a filter may answer any number).
    errno: i32,
}

/// Whether a filter refuses `clone3` here as container profiles do, with `ENOSYS` or `EPERM`
/// (probed once). Those are the answers clonekit-sys falls back on; under a filter answering
/// anything else no case is skipped, and those that need a child fail, as a program would.
pub fn detect() -> Option<Refusal> {
    let errno = clonekit_probe::seccomp::clone3_refusal()?;
    CONTAINER_REFUSALS.contains(&errno).then(|| Refusal { errno: errno.raw_os_error() })
}

fn kernel_release() -> String {
    rustix::system::uname().release().to_string_lossy().into_owned()
}

impl Refusal {
    /// The errno's name (`ENOSYS`), or its number if Linux has no name for it.
    fn errno_name(&self) -> String {
        Errno::from_raw(self.errno).map_or_else(|| format!("errno {}", self.errno), |e| e.name().to_string())
    }

    /// Why a case that needs `clone3` is skipped.
    fn reason(&self) -> String {
        format!("needs clone3, which a seccomp filter refuses here ({})", self.errno_name())
    }

    /// Why rule C0 is skipped.
    fn c0_reason(&self) -> String {
        if self.errno == Errno::ENOSYS.raw() {
            format!(
                "clone3's ENOSYS here is a seccomp filter's, not that of a kernel without clone3 (Linux {} has it): it checks the filter, not the rule",
                kernel_release()
            )
        } else {
            format!(
                "clone3 is refused here by a seccomp filter ({}); the rule is a kernel before 5.3's ENOSYS",
                self.errno_name()
            )
        }
    }

    /// The one line that says so, with how many of the cases to run are skipped for it.
    pub fn notice(&self, skipped: usize) -> String {
        format!(
            "clone3 is refused here by a seccomp filter ({}; Linux {} has clone3): {skipped} cases that need clone3 are skipped, the others create their children through legacy clone",
            self.errno_name(),
            kernel_release()
        )
    }

    /// The one line for `--random`, whose scenarios then have no `clone3` steps.
    pub fn random_notice(&self) -> String {
        format!(
            "clone3 is refused here by a seccomp filter ({}; Linux {} has clone3): the random scenarios are made without clone3 steps",
            self.errno_name(),
            kernel_release()
        )
    }

    /// The same for the JSON report.
    pub fn json(&self, skipped: usize) -> serde_json::Value {
        serde_json::json!({
            "refused_by": "seccomp filter",
            "errno": self.errno_name(),
            "skipped_cases": skipped,
            "message": self.notice(skipped),
        })
    }
}

/// Makes every case that needs `clone3` a skip with the reason; returns how many.
pub fn skip_cases_needing_clone3(cases: &mut [Case], refusal: Refusal) -> usize {
    let flag_cases = flags::needing_clone3();
    let rule_cases = rules::needing_clone3();
    let scenario_cases = corpus::needing_clone3();
    let conformance_cases = conformance::needing_clone3();
    let mut skipped = 0;
    for case in cases.iter_mut() {
        let reason = match case.group {
            "flag" if flag_cases.contains(&case.name) => refusal.reason(),
            "rule" => match rule_cases.iter().find(|(name, _)| *name == case.name) {
                Some((_, "C0")) => refusal.c0_reason(),
                Some(_) => refusal.reason(),
                None => continue,
            },
            "scenario" if scenario_cases.contains(&case.name) => refusal.reason(),
            conformance::GROUP if conformance_cases.contains(&case.name) => refusal.reason(),
            _ => continue,
        };
        case.run = Box::new(move || Observation::skip(reason.clone()));
        skipped += 1;
    }
    skipped
}
