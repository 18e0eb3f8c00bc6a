//! `NotationError`: why a piece of clone notation could not be read, with the column. What an
//! error quotes of the text is bounded (see [`quote`]), so that an error about a long input
//! is still one short line.

/// An error reading flag notation or a strace line. Columns count characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotationError {
    /// Nothing to read.
    #[error("empty input")]
    Empty,
    /// A name that is neither a `CLONE_*` flag nor a signal.
    #[error("unknown flag {} at column {column}", quote(.name))]
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
        /// What was there (quoted, at most 16 characters), or "end of input".
        found: String,
        /// Where.
        column: usize,
    },
    /// Well-formed, but not a value strace could have printed (or two values that disagree).
    #[error("{message} at column {column}")]
    Invalid {
        /// What is wrong, in a few words (what it quotes of the text is bounded).
        message: String,
        /// Where.
        column: usize,
    },
}

/// The longest text (in characters) quoted whole; longer text is cut.
const QUOTE_WHOLE: usize = 40;
/// How much of a longer text is quoted.
const QUOTE_HEAD: usize = 32;
/// The longest input [`NotationError::with_input`] quotes whole.
const INPUT_WHOLE: usize = 80;
/// How many characters around the column it quotes of a longer input, on each side.
const INPUT_SIDE: usize = 20;

/// `"CLONE_FOO"`: a piece of the text as an error quotes it, escaped; past 40 characters only
/// the first 32, then `…` and the length: `"AAAA…AAAA"… (131072 characters)`.
pub(crate) fn quote(text: &str) -> String {
    let n = text.chars().count();
    if n <= QUOTE_WHOLE {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(QUOTE_HEAD).collect();
        format!("{head:?}… ({n} characters)")
    }
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

    /// The error together with the `input` it was found in, for a one-line message: the whole
    /// input, quoted, when it is at most 80 characters, else its length and the 40 or so
    /// characters around the column. Control characters are escaped, so the text is one line
    /// whatever the input, and its length is bounded whatever the input's.
    ///
    /// ```
    /// use clonekit_flags::parse_call;
    /// let e = parse_call("CLONE_VM|CLONE_BOGUS").unwrap_err();
    /// assert_eq!(e.with_input("CLONE_VM|CLONE_BOGUS"),
    ///            r#""CLONE_VM|CLONE_BOGUS": unknown flag "CLONE_BOGUS" at column 10"#);
    /// let long = format!("CLONE_VM|{}", "X".repeat(128 * 1024));
    /// let text = parse_call(&long).unwrap_err().with_input(&long);
    /// assert!(text.len() < 200 && !text.contains('\n'), "{text}");
    /// assert!(text.starts_with("131081 characters, near column 10: \"CLONE_VM|XXXX"), "{text}");
    /// ```
    pub fn with_input(&self, input: &str) -> String {
        let n = input.chars().count();
        if n <= INPUT_WHOLE {
            return format!("{input:?}: {self}");
        }
        let at = self.column().max(1) - 1;
        let from = at.saturating_sub(INPUT_SIDE);
        let excerpt: String = input.chars().skip(from).take(2 * INPUT_SIDE).collect();
        let before = if from > 0 { "…" } else { "" };
        let after = if from + 2 * INPUT_SIDE < n { "…" } else { "" };
        let near =
            if self.column() == 0 { String::new() } else { format!(", near column {}", self.column()) };
        format!("{n} characters{near}: {before}{excerpt:?}{after}: {self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_text_is_bounded() {
        assert_eq!(quote("CLONE_FOO"), "\"CLONE_FOO\"");
        let long = "A".repeat(1 << 17);
        let q = quote(&long);
        assert_eq!(q, format!("\"{}\"… (131072 characters)", "A".repeat(32)));
    }

    #[test]
    fn a_long_input_is_quoted_around_the_column() {
        let input = format!("{}CLONE_BOGUS{}", "x|".repeat(1000), "|y".repeat(1000));
        let e = NotationError::UnknownFlag { name: "CLONE_BOGUS".into(), column: 2001 };
        let text = e.with_input(&input);
        assert_eq!(
            text,
            "4011 characters, near column 2001: …\"x|x|x|x|x|x|x|x|x|x|CLONE_BOGUS|y|y|y|y|\"…: \
             unknown flag \"CLONE_BOGUS\" at column 2001"
        );
        let e = NotationError::Empty;
        assert_eq!(
            e.with_input(&" ".repeat(100)),
            format!("100 characters: {:?}…: empty input", " ".repeat(40))
        );
    }
}
