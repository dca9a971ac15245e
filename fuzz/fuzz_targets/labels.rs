//! Label selectors: `tsh ls` filters (`k=v,k2=v2`), and a role's `node_labels` as YAML (values
//! exact, `*`, globs, `^…$` regexes; keys and values with templates), compiled and matched
//! against the labels on the input's first line.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tether_shared::labels::{CompiledSelectors, LabelSelectors, parse_label_list, validate_selectors};

fuzz_target!(|text: &str| {
    let (labels, selectors) = text.split_once('\n').unwrap_or((text, ""));
    let labels = parse_label_list(labels).unwrap_or_default();
    let Ok(selectors) = tether_shared::yaml::from_str::<LabelSelectors>("node_labels.yaml", selectors) else {
        return;
    };
    let _ = validate_selectors(&selectors);
    let mut traits = BTreeMap::new();
    traits.insert("team".to_string(), vec!["web".to_string(), "*".to_string(), "^(".to_string()]);
    let compiled = CompiledSelectors::new(&selectors, &traits);
    let _ = compiled.is_empty();
    let _ = compiled.matches(&labels);
});
