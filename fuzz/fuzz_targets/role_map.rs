//! A trusted cluster's `role_map`: rules as YAML (exact, glob and regex `remote` patterns with
//! `$1` in `local`), compiled as `tctl create` does, then applied to the remote roles on the
//! input's first line (comma-separated).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_shared::rolemap::{RoleMap, RoleMapRule};

fuzz_target!(|text: &str| {
    let (roles, rules) = text.split_once('\n').unwrap_or(("access", text));
    let Ok(rules) = tether_shared::yaml::from_str::<Vec<RoleMapRule>>("role_map.yaml", rules) else { return };
    let Ok(map) = RoleMap::compile(&rules) else { return };
    let roles: Vec<String> = roles.split(',').map(str::to_string).collect();
    let _ = map.map(&roles);
    for role in &roles {
        let _ = map.explain(role);
    }
});
