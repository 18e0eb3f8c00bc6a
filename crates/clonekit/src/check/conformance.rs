//! The conformance corpus: the cases of the public test suites of these system calls (LTP's
//! `clone*`, `clone3*`, `fork*`, `vfork*`, `wait*`, `waitid*`, `waitpid*`, `pidfd_*`; the
//! kernel selftests' `clone3/` and `pidfd/`) that the scenario language can express, one
//! scenario each (`conformance/*.scn`, embedded in the binary), with the test's own expected
//! outcome. They run exactly as the scenario corpus does (see [`super::corpus`]); the report
//! sums them up per suite. `docs/conformance.md` lists every case of those suites, ported or
//! not and why.

use super::corpus::{cases_of, needing_clone3_of};
use super::harness::Case;

include!(concat!(env!("OUT_DIR"), "/conformance.rs"));

/// The case group of the conformance scenarios.
pub const GROUP: &str = "conformance";

/// The suites, by the prefix of their scenarios' names (the first that matches, so the longer
/// prefix comes first) and the name the report gives them.
const SUITES: &[(&str, &str)] = &[
    ("ltp_clone3", "LTP clone3*"),
    ("ltp_clone", "LTP clone*"),
    ("ltp_vfork", "LTP vfork*"),
    ("ltp_fork", "LTP fork*"),
    ("ltp_waitid", "LTP waitid*"),
    ("ltp_waitpid", "LTP waitpid*"),
    ("ltp_wait4", "LTP wait4*"),
    ("ltp_wait", "LTP wait*"),
    ("ltp_pidfd", "LTP pidfd_*"),
    ("selftest_clone3", "selftests clone3/"),
    ("selftest_pidfd", "selftests pidfd/"),
];

/// The conformance cases, in file order.
pub fn cases() -> Vec<Case> {
    cases_of(GROUP, CONFORMANCE)
}

/// The conformance cases with a `clone3` step, by case name.
pub fn needing_clone3() -> Vec<String> {
    needing_clone3_of(CONFORMANCE)
}

/// The suites in report order.
pub fn suites() -> impl Iterator<Item = &'static str> {
    SUITES.iter().map(|&(_, suite)| suite)
}

/// The suite a conformance case belongs to (`None` for a name no suite prefixes).
pub fn suite_of(case: &str) -> Option<&'static str> {
    SUITES.iter().find(|(prefix, _)| case.starts_with(prefix)).map(|&(_, suite)| suite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_conformance_scenario_belongs_to_a_suite_and_parses() {
        for &(name, text) in CONFORMANCE {
            assert!(suite_of(name).is_some(), "{name} is named after no suite");
            assert!(clonekit_scenario::parse(name, text).is_ok(), "{name} does not parse");
        }
    }

    #[test]
    fn a_longer_prefix_wins() {
        assert_eq!(suite_of("ltp_clone302_zero_size"), Some("LTP clone3*"));
        assert_eq!(suite_of("ltp_clone01_basic"), Some("LTP clone*"));
        assert_eq!(suite_of("ltp_wait401_waits"), Some("LTP wait4*"));
        assert_eq!(suite_of("ltp_vfork01_attributes"), Some("LTP vfork*"));
    }
}
