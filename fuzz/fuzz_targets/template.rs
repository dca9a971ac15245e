//! Trait templates (`{{internal.logins}}`, `{{email.local(external.email)}}`,
//! `{{regexp.replace(external["groups"], "^dev-(.*)$", "$1")}}`, …): parsed, then expanded
//! against traits that hold awkward values.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use tether_shared::template::Template;

fuzz_target!(|text: &str| {
    let Ok(template) = Template::parse(text) else { return };
    let mut traits = BTreeMap::new();
    traits.insert("logins".to_string(), vec!["alice".to_string(), "-root".to_string(), String::new()]);
    traits.insert("email".to_string(), vec!["Alice <alice@example.com>".to_string(), "@".to_string()]);
    traits.insert("groups".to_string(), vec!["dev-web".to_string(), "ops".to_string(), "é\u{0}".to_string()]);
    traits.insert("http://schemas.example.com/claims/team".to_string(), vec!["blue".to_string()]);
    let _ = template.is_literal();
    let _ = template.expand(&traits);
});
