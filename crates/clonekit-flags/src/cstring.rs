//! Strings as strace 6.1 quotes them (src/util.c `string_quote`, `printstr_ex`): printable
//! ASCII as is, `\"`, `\\`, `\f\n\r\t\v`, every other byte in octal (three digits when an
//! octal digit follows), and `...` after the closing quote when the string was cut at the
//! `-s` limit (32 by default).

use std::fmt::Write as _;

/// strace's default `-s`: strings and arrays longer than this are cut.
pub const DEFAULT_STRING_LIMIT: usize = 32;

/// Quotes `bytes` (a C string without its NUL) as strace does, cutting it to `limit` bytes
/// (`"…"...` when cut).
pub fn format_c_string(bytes: &[u8], limit: usize) -> String {
    let cut = bytes.len() > limit;
    let shown = &bytes[..bytes.len().min(limit)];
    let mut out = String::with_capacity(shown.len() + 5);
    out.push('"');
    for (i, &c) in shown.iter().enumerate() {
        match c {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(c as char);
            }
            0x0c => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            b' '..=b'~' => out.push(c as char),
            _ => {
                // The next byte of the string as read (strace looks one past the cut too).
                let next = bytes.get(i + 1).copied().unwrap_or(0);
                out.push('\\');
                if (b'0'..=b'7').contains(&next) {
                    let _ = write!(out, "{:03o}", c);
                } else {
                    let _ = write!(out, "{:o}", c);
                }
            }
        }
    }
    out.push('"');
    if cut {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_as_strace_does() {
        assert_eq!(format_c_string(b"sh", 32), "\"sh\"");
        assert_eq!(format_c_string(b"a\"b\\c\n\t", 32), "\"a\\\"b\\\\c\\n\\t\"");
        assert_eq!(format_c_string(b"\x1b[0m", 32), "\"\\33[0m\"");
        assert_eq!(format_c_string(b"\x01\x32", 32), "\"\\0012\"");
        assert_eq!(format_c_string(b"\xff", 32), "\"\\377\"");
        assert_eq!(
            format_c_string(b"for i in $(seq 2000); do /bin/true; done", 32),
            "\"for i in $(seq 2000); do /bin/tr\"..."
        );
        assert_eq!(format_c_string(&[b'x'; 32], 32), format!("\"{}\"", "x".repeat(32)));
    }
}
