//! Compose loading (YAML, interpolation, merge, validation, planning) and
//! interpolation on its own never panic, whatever the file and variables.
#![no_main]
use indexmap::IndexMap;
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut variables = IndexMap::new();
    variables.insert("INSTANCE_NAME".to_string(), "prod".to_string());
    variables.insert("PORT".to_string(), "8080".to_string());
    variables.insert("EMPTY".to_string(), String::new());
    variables.insert("SELF".to_string(), "${SELF}".to_string());
    let mut unset = Vec::new();
    let _ = mrctl::compose::interpolate(text, &|k| variables.get(k).cloned(), &mut unset);
    let files = vec![PathBuf::from("/nonexistent/docker-compose.yml")];
    let opts = mrctl::compose::LoadOptions {
        project: "fuzz-prod",
        working_dir: Path::new("/nonexistent"),
        files: &files,
        variables: &variables,
        profiles: &[],
    };
    if let Ok(project) = mrctl::compose::resolve(&opts, &[text.to_string()]) {
        let _ = mrctl::compose::waves(&project);
        let _ = project.config_hashes();
    }
});
