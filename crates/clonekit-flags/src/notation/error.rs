//! `NotationError`: why a piece of clone notation could not be read, with the column.

/// An error reading flag notation or a strace line. Columns count characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotationError {
    /// Nothing to read.
    #[error("empty input")]
    Empty,
    /// A name that is neither a `CLONE_*` flag nor a signal.
    #[error("unknown flag \"{name}\" at column {column}")]
    UnknownFlag {
        /// The name as written.
        name: String,
        /// Where it starts.
        column: usize,
    },
    /// Something other than what the notation allows at this point.
    #[error("expected {expected}, found {found} at column {column}")]
    Expected {
        /// What would have been accepted.
        expected: &'static str,
        /// What was there (quoted), or "end of input".
        found: String,
        /// Where.
        column: usize,
    },
    /// Well-formed, but not a value strace could have printed (or two values that disagree).
    #[error("{message} at column {column}")]
    Invalid {
        /// What is wrong, in a few words.
        message: String,
        /// Where.
        column: usize,
    },
}

impl NotationError {
    /// The column (from 1) the error points at; 0 for [`NotationError::Empty`].
    pub fn column(&self) -> usize {
        match self {
            NotationError::Empty => 0,
            NotationError::UnknownFlag { column, .. }
            | NotationError::Expected { column, .. }
            | NotationError::Invalid { column, .. } => *column,
        }
    }
}
