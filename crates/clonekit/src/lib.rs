//! The `clonekit` library: `std::process` on the vfork fast path, for programs that depend on
//! `clonekit` rather than on its parts. Replace `std::process` by [`clonekit::process`](process)
//! and `std::os::{unix, linux}::process` by [`clonekit::os`](os)`::{unix, linux}::process`: the
//! API, the defaults, the errors and the formats are std's; what std does on `fork`, clonekit
//! does without copying a page table, plus namespaces, cgroups, pidfds and fd mappings.
//!
//! ```
//! use clonekit::process::{Command, Stdio};
//! let out = Command::new("/bin/echo").arg("hello").stdout(Stdio::piped()).output()?;
//! assert_eq!(out.stdout, b"hello\n");
//! assert_eq!(out.status.to_string(), "exit status: 0");
//! # Ok::<(), std::io::Error>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use clonekit_sys::{os, process};
pub use clonekit_sys::{CloneFlags, Signal};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

/// The guides' examples (`docs/*.md`), compiled and run as doctests like the README's. Every
/// guide is listed (`tests/docs.rs` checks that none is missing), so that a `rust` example
/// added to any of them is compiled.
#[cfg(doctest)]
pub mod docs {
    /// `docs/architecture.md`.
    #[doc = include_str!("../../../docs/architecture.md")]
    pub struct Architecture;
    /// `docs/bench.md`.
    #[doc = include_str!("../../../docs/bench.md")]
    pub struct Bench;
    /// `docs/check.md`.
    #[doc = include_str!("../../../docs/check.md")]
    pub struct Check;
    /// `docs/conformance.md`.
    #[doc = include_str!("../../../docs/conformance.md")]
    pub struct Conformance;
    /// `docs/explain.md`.
    #[doc = include_str!("../../../docs/explain.md")]
    pub struct Explain;
    /// `docs/kernel-backend.md`.
    #[doc = include_str!("../../../docs/kernel-backend.md")]
    pub struct KernelBackend;
    /// `docs/kernel-differences.md`.
    #[doc = include_str!("../../../docs/kernel-differences.md")]
    pub struct KernelDifferences;
    /// `docs/kernel-matrix.md`.
    #[doc = include_str!("../../../docs/kernel-matrix.md")]
    pub struct KernelMatrix;
    /// `docs/library.md`.
    #[doc = include_str!("../../../docs/library.md")]
    pub struct Library;
    /// `docs/run.md`.
    #[doc = include_str!("../../../docs/run.md")]
    pub struct Run;
    /// `docs/scenario-language.md`.
    #[doc = include_str!("../../../docs/scenario-language.md")]
    pub struct ScenarioLanguage;
    /// `docs/sim.md`.
    #[doc = include_str!("../../../docs/sim.md")]
    pub struct Sim;
    /// `docs/testing.md`.
    #[doc = include_str!("../../../docs/testing.md")]
    pub struct Testing;
    /// `docs/trace.md`.
    #[doc = include_str!("../../../docs/trace.md")]
    pub struct Trace;
    /// `docs/trace-options.md`.
    #[doc = include_str!("../../../docs/trace-options.md")]
    pub struct TraceOptions;
}
