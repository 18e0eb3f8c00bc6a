//! One case per `CLONE_*` flag: the probe in `clonekit_probe::probe` creates children with and
//! without the flag and reports what each saw.

use clonekit_flags::Reach;
use clonekit_probe::probe::{ProbeOutcome, FLAG_PROBES};

use super::harness::{Case, Observation};

/// The flag cases, in bit order.
pub fn cases() -> Vec<Case> {
    FLAG_PROBES
        .iter()
        .map(|p| {
            let probe = *p;
            Case {
                group: "flag",
                name: probe.flag.name().to_string(),
                expected: format!("with: {}; without: {}", probe.expect_with, probe.expect_without),
                // A new namespace other than a user namespace needs CAP_SYS_ADMIN.
                needs_caps: probe.flag.intersects(clonekit_flags::CLONE_NEW_MASK)
                    && probe.flag != clonekit_flags::CloneFlags::CLONE_NEWUSER,
                needs_user_ns: probe.flag == clonekit_flags::CloneFlags::CLONE_NEWUSER,
                run: Box::new(move || match (probe.run)() {
                    Ok(ProbeOutcome::Observed { with, without, pass }) => {
                        Observation::verdict(pass, format!("with: {with}; without: {without}"))
                    }
                    Ok(ProbeOutcome::Skipped(why)) => Observation::skip(why),
                    Err(e) => Observation::error(format!("{} ({})", e, e.kind_name())),
                }),
            }
        })
        .collect()
}

/// The flag cases of the flags only `clone3` can pass ([`Reach::Clone3Only`]), by case name.
pub fn needing_clone3() -> Vec<String> {
    FLAG_PROBES
        .iter()
        .filter(|p| p.flag.info().is_some_and(|i| i.reach == Reach::Clone3Only))
        .map(|p| p.flag.name().to_string())
        .collect()
}

/// A short name for a probe's system error.
trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for rustix::io::Errno {
    fn kind_name(&self) -> &'static str {
        clonekit_flags::Errno::from_raw(self.raw_os_error()).map_or("?", |e| e.name())
    }
}
