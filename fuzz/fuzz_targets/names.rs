//! Name, domain and port validation never panic, and what passes is safe:
//! no path separators, no shell metacharacters, no control characters.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if mrctl::names::validate_instance_name(text).is_ok() {
        assert!(text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        assert!(!text.is_empty() && text.len() <= 40 && !text.starts_with('-'));
    }
    if let Ok(domain) = mrctl::names::validate_domain(text) {
        assert!(domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    }
    let _ = mrctl::ports::parse_pin(text);
    let _ = mrctl::names::numeric_index(text);
    let shown = mrctl::error::printable(text);
    assert!(!shown.chars().any(char::is_control));
});
