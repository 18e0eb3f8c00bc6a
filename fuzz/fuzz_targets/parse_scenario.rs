//! Feeds arbitrary text to the scenario parser: it must never panic, every error must be one
//! line naming `file:line:col`, and whatever parses must also run on the model without a panic.
#![no_main]

use clonekit_scenario::{parse, run, ModelBackend};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse("fuzz.scn", text) {
        Ok(scenario) => {
            if scenario.steps.len() <= 64 {
                let _ = run(&scenario, &mut ModelBackend::new());
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("fuzz.scn:") && !msg.contains('\n'), "{msg:?}");
        }
    }
});
