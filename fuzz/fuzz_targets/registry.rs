//! The registry parser never panics; what it accepts round-trips.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(registry) = mrctl::registry::parse(Path::new("instances.json"), text)
    {
        let again = String::from_utf8(mrctl::registry::to_json(&registry)).unwrap();
        let reparsed = mrctl::registry::parse(Path::new("instances.json"), &again).unwrap();
        assert_eq!(registry, reparsed);
    }
});
