//! A position in the text being parsed. Positions are byte offsets that always sit on a
//! character boundary, so no slice can split a character; columns count characters from 1.

use super::NotationError;

#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    src: &'a str,
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Cursor { src, pos: 0 }
    }

    /// The text not read yet.
    pub(crate) fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    pub(crate) fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Consumes `s` if the text continues with it (exactly).
    pub(crate) fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Consumes `s` (ASCII) if the text continues with it, in any case.
    pub(crate) fn eat_ci(&mut self, s: &str) -> bool {
        match self.rest().get(..s.len()) {
            Some(head) if head.eq_ignore_ascii_case(s) => {
                self.pos += s.len();
                true
            }
            _ => false,
        }
    }

    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// Consumes the longest run of characters matching `pred` and returns it.
    pub(crate) fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
        self.src.get(start..self.pos).unwrap_or("")
    }

    /// The text from `start` to the cursor.
    pub(crate) fn slice_from(&self, start: usize) -> &'a str {
        self.src.get(start..self.pos).unwrap_or("")
    }

    /// The column (from 1) of a byte position.
    pub(crate) fn column_of(&self, pos: usize) -> usize {
        self.src.get(..pos).map_or(0, |s| s.chars().count()) + 1
    }

    pub(crate) fn column(&self) -> usize {
        self.column_of(self.pos)
    }

    /// "expected X, found Y" at the current position.
    pub(crate) fn expected(&self, expected: &'static str) -> NotationError {
        let rest = self.rest();
        let found = if rest.is_empty() {
            "end of input".to_string()
        } else {
            let snippet: String = rest.chars().take(16).collect();
            format!("{snippet:?}")
        };
        NotationError::Expected { expected, found, column: self.column() }
    }

    pub(crate) fn invalid_at(&self, pos: usize, message: impl Into<String>) -> NotationError {
        NotationError::Invalid { message: message.into(), column: self.column_of(pos) }
    }

    /// Requires `s` next.
    pub(crate) fn expect(&mut self, s: &str, what: &'static str) -> Result<(), NotationError> {
        if self.eat(s) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }
}
