//! Feeds arbitrary text to `parse_call`: it must never panic, and whatever it accepts must
//! print as a line that parses back to the same value.
#![no_main]

use clonekit_flags::{parse_call, parse_flags};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = parse_flags(text);
    if let Ok(parsed) = parse_call(text) {
        let printed = parsed.to_string();
        match parse_call(&printed) {
            Ok(again) => assert_eq!(again, parsed, "input {text:?} printed as {printed:?}"),
            Err(e) => panic!("input {text:?} printed as {printed:?}, which does not parse: {e}"),
        }
    }
});
