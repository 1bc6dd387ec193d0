//! The mrctl.toml parser and validator never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = mrctl::stack::parse_config(Path::new("mrctl.toml"), text);
    }
});
