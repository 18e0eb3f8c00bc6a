//! Errors: a file that cannot be read or parsed, or a scenario that addresses a task that
//! cannot run (bad input: exit 2). A failed expectation is not an error; it is in the
//! transcript.

/// Why a scenario could not be run to the end.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not a scenario.
    #[error("{file}:{line}:{col}: {msg}")]
    Parse {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        col: usize,
        /// What is wrong.
        msg: String,
    },
    /// A step cannot run: its task is blocked, gone, or was never created.
    #[error("{file}:{line}:{col}: {msg}")]
    Step {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// The column, from 1.
        col: usize,
        /// What is wrong.
        msg: String,
    },
    /// The backend could not carry out a step.
    #[error("{file}:{line}: {backend} backend: {msg}")]
    Backend {
        /// The file.
        file: String,
        /// The line, from 1.
        line: usize,
        /// Which backend.
        backend: &'static str,
        /// What went wrong.
        msg: String,
    },
}
