//! One case per validation rule that a call can break on this machine: the call is built to
//! break that rule, issued on the kernel, and its errno must be the rule's.

use super::harness::Case;

/// The rule cases.
pub fn cases() -> Vec<Case> {
    Vec::new()
}
