//! Resource documents as `tctl create` and `POST /webapi/resources` take them: YAML (one or
//! several documents) and JSON, through the same pre-scan, parser and checks.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = tether_shared::resource::parse_resources("fuzz.yaml", text);
    let _ = tether_shared::resource::parse_resources("fuzz.json", text);
});
