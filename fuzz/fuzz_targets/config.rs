//! `tether.yaml`: the schema and its resolution into settings, as `tether start` reads it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = tether_server::check_config("tether.yaml", text);
});
