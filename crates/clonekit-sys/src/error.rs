//! [`CloneError`]: why a child could not be created, with the call that was issued and, when
//! `clonekit-flags`' rules predict the kernel's answer, the rule that was broken.

use crate::dispatch::{Clone3Only, Failure};
use clonekit_flags::{check, CloneCall, Errno, Rule};
use std::fmt;
use std::io;

/// Why [`crate::Clone::spawn`] (or a preset) created no child.
#[derive(Debug, thiserror::Error)]
pub enum CloneError {
    /// The kernel refused the call.
    #[error("{}", KernelLine { errno: *errno, call, rule: *rule })]
    Kernel {
        /// What the kernel returned.
        errno: Errno,
        /// The call that was issued (the last one, after any fallback).
        call: CloneCall,
        /// The validation rule [`clonekit_flags::check`] finds broken, when it predicts this
        /// very errno.
        rule: Option<&'static Rule>,
    },
    /// The request needs `clone3`, which cannot be used here; it was not degraded.
    #[error("{0}")]
    Clone3Only(Clone3Only),
    /// The request is inconsistent before any system call.
    #[error("invalid request: {0}")]
    Invalid(&'static str),
    /// The child's stack could not be mapped.
    #[error("cannot map a {size}-byte child stack: {source}")]
    Stack {
        /// The requested stack size.
        size: usize,
        /// The `mmap`/`mprotect` error.
        #[source]
        source: io::Error,
    },
}

/// `clone3: EINVAL (Invalid argument): rule P3 ...`.
struct KernelLine<'a> {
    errno: Errno,
    call: &'a CloneCall,
    rule: Option<&'static Rule>,
}

impl fmt::Display for KernelLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:#}", self.call.syscall_name(), self.errno)?;
        if let Some(r) = self.rule {
            write!(f, ": rule {} {} ({}, {})", r.id, r.reason, r.function, r.source)?;
        }
        Ok(())
    }
}

impl CloneError {
    /// The errno this error amounts to: the kernel's, `EOPNOTSUPP` (= `ENOTSUP`) for a
    /// clone3-only request, `EINVAL` for an invalid one, the `mmap` error for a stack.
    pub fn errno(&self) -> Errno {
        match self {
            CloneError::Kernel { errno, .. } => *errno,
            CloneError::Clone3Only(_) => Errno::EOPNOTSUPP,
            CloneError::Invalid(_) => Errno::EINVAL,
            CloneError::Stack { source, .. } => {
                source.raw_os_error().and_then(Errno::from_raw).unwrap_or(Errno::ENOMEM)
            }
        }
    }

    /// The call the kernel refused, if one was issued.
    pub fn call(&self) -> Option<&CloneCall> {
        match self {
            CloneError::Kernel { call, .. } => Some(call),
            _ => None,
        }
    }

    /// The broken validation rule, if the rules predict the kernel's errno.
    pub fn rule(&self) -> Option<&'static Rule> {
        match self {
            CloneError::Kernel { rule, .. } => *rule,
            _ => None,
        }
    }

    pub(crate) fn from_failure(failure: Failure, rule_lookup: bool) -> CloneError {
        match failure {
            Failure::Clone3Only(c) => CloneError::Clone3Only(c),
            Failure::Kernel(e, call) => {
                let errno = Errno::from_raw(e.raw_os_error()).unwrap_or(Errno::EIO);
                let rule = if rule_lookup {
                    check(&call, &clonekit_raw::caller_state()).err().filter(|r| r.errno == errno)
                } else {
                    None
                };
                CloneError::Kernel { errno, call, rule }
            }
        }
    }
}

impl From<CloneError> for io::Error {
    fn from(e: CloneError) -> io::Error {
        let raw = e.errno().raw();
        match e {
            CloneError::Stack { source, .. } => source,
            other => io::Error::new(io::Error::from_raw_os_error(raw).kind(), other),
        }
    }
}
