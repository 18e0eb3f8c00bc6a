//! The scenario language (docs/scenario-language.md): scripts of system calls made by named
//! tasks, run on a backend (the model of the kernel, and later the real kernel), printed as a
//! transcript that does not depend on pid numbers or addresses, with expectations checked.
//!
//! ```
//! use clonekit_scenario::{parse, run, ModelBackend};
//! let text = "main: store x 1\nmain: fork as child => child\nchild: store x 2\nmain: load x => 1\n";
//! let scenario = parse("example.scn", text)?;
//! let transcript = run(&scenario, &mut ModelBackend::new())?;
//! assert!(transcript.passed());
//! assert_eq!(transcript.lines[3].to_string(), "main: load x => 1");
//! # Ok::<(), clonekit_scenario::ScenarioError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ast;
mod backend;
mod error;
mod kernel;
mod model;
mod parse;
pub mod random;
mod run;

pub use ast::{
    ArgsAt, Clone3Args, FdArg, LinuxRange, Op, PidArg, Ptr, Scenario, Step, StepKind, Target, Var, WaitidId,
    Word,
};
pub use backend::{
    Backend, BackendError, Env, Outcome, PidView, TaskKey, TaskStatus, Value, VarId, WaitInfo,
};
pub use error::ScenarioError;
pub use kernel::KernelBackend;
pub use model::ModelBackend;
pub use parse::parse;
pub use run::{
    describe_disagreement, expected_outcomes, first_disagreement, run, Failure, Line, LineKind, Transcript,
    ALTERNATIVES,
};

/// Reads, parses and runs one scenario file on the model.
pub fn run_file_on_model(path: &std::path::Path) -> Result<Transcript, ScenarioError> {
    let name = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|source| ScenarioError::Io { file: name.clone(), source })?;
    let scenario = parse(&name, &text)?;
    run(&scenario, &mut ModelBackend::new())
}
