//! Labels and label selectors: how roles pick nodes (`node_labels`) and clusters (`cluster_labels`).
//!
//! A resource carries [`Labels`] (`env: prod`). A role carries [`LabelSelectors`]: each key maps
//! to allowed values, written as a string or a list. A value matches exactly, `*` matches
//! anything, a value with `*` elsewhere is a glob (`env-*-staging`), and a value that starts with
//! `^` and ends with `$` is an RE2 regular expression (the `regex` crate) that must match the
//! whole label value. Values and keys may be trait templates: a value expands to every trait
//! value, a key to the trait's first value (as in Teleport), and a key whose trait is missing
//! selects nothing. A key with an empty list of values matches nothing. The pair `'*': '*'`
//! matches every resource, even one without labels. A selector set matches when every key in it
//! matches; an empty set matches nothing.

use std::collections::BTreeMap;

use regex::Regex;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserializer, Serializer};

use crate::identity::Traits;
use crate::pattern::{is_regex, regex_error_line};
use crate::template::{Template, expand_all};

/// Labels on a resource: key to value.
pub type Labels = BTreeMap<String, String>;

/// Label selectors in a role: key to allowed values (templates and patterns allowed).
pub type LabelSelectors = BTreeMap<String, Vec<String>>;

/// One compiled value pattern.
#[derive(Debug, Clone)]
pub enum ValuePattern {
    /// `*`: any value.
    Any,
    /// An exact value.
    Exact(String),
    /// `^…$`, or a glob (a value with `*`): a regular expression over the whole value.
    Regex(Regex),
}

impl ValuePattern {
    /// Compiles a pattern: `*`, `^…$` (regex), a glob, or an exact value.
    pub fn compile(pattern: &str) -> Result<Self, regex::Error> {
        if pattern == "*" {
            Ok(ValuePattern::Any)
        } else if is_regex(pattern) {
            crate::pattern::regex(pattern).map(ValuePattern::Regex)
        } else if pattern.contains('*') {
            crate::pattern::regex(&crate::pattern::glob_to_regex(pattern)).map(ValuePattern::Regex)
        } else {
            Ok(ValuePattern::Exact(pattern.to_string()))
        }
    }

    /// True when `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        match self {
            ValuePattern::Any => true,
            ValuePattern::Exact(v) => v == value,
            ValuePattern::Regex(re) => re.is_match(value),
        }
    }
}

/// Parses `k=v,k2=v2` (the `--set-labels` / `--labels` flag form).
pub fn parse_label_list(text: &str) -> Result<Labels, String> {
    let mut labels = Labels::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| format!("label {pair:?}: write it as key=value"))?;
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() || k.chars().any(char::is_whitespace) {
            return Err(format!("label {pair:?}: invalid key"));
        }
        labels.insert(k.to_string(), v.to_string());
    }
    Ok(labels)
}

/// Labels as `k=v,k2=v2`, sorted by key.
pub fn format_labels(labels: &Labels) -> String {
    labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// Label selectors with the templates of keys and values expanded against `traits` (what
/// [`CompiledSelectors`] compiles, and what `tctl users expand` shows): a template key takes the
/// trait's first value, and one whose trait is missing becomes the empty key, which selects
/// nothing.
pub fn expand_selectors(selectors: &LabelSelectors, traits: &Traits) -> Vec<(String, Vec<String>)> {
    selectors
        .iter()
        .map(|(key, values)| {
            let key = if key.contains("{{") {
                Template::parse(key)
                    .map(|t| t.expand(traits).into_iter().next().unwrap_or_default())
                    .unwrap_or_default()
            } else {
                key.clone()
            };
            (key, expand_all(values, traits))
        })
        .collect()
}

/// Label selectors with templates expanded and patterns compiled, ready to match many times.
#[derive(Debug, Clone, Default)]
pub struct CompiledSelectors {
    wildcard: bool,
    keys: Vec<(String, Vec<ValuePattern>)>,
}

impl CompiledSelectors {
    /// Expands templates in the values against `traits` and compiles the patterns. Values whose
    /// regex does not compile after expansion are dropped (they can match nothing).
    pub fn new(selectors: &LabelSelectors, traits: &Traits) -> Self {
        let mut wildcard = false;
        let mut keys = Vec::with_capacity(selectors.len());
        for (key, values) in expand_selectors(selectors, traits) {
            if key == "*" {
                wildcard |= values.iter().any(|v| v == "*");
                continue;
            }
            let patterns = values.iter().filter_map(|v| ValuePattern::compile(v).ok()).collect();
            keys.push((key, patterns));
        }
        CompiledSelectors { wildcard, keys }
    }

    /// True when no selector is set (matches nothing).
    pub fn is_empty(&self) -> bool {
        !self.wildcard && self.keys.is_empty()
    }

    /// Matches `labels`: `Ok(())`, or `Err(reason)` saying which key failed.
    ///
    /// ```
    /// use tether_shared::identity::Traits;
    /// use tether_shared::labels::{CompiledSelectors, LabelSelectors, Labels};
    ///
    /// // A role's `node_labels`: env must be staging or prod, team comes from the user's traits.
    /// let mut selectors = LabelSelectors::new();
    /// selectors.insert("env".into(), vec!["staging".into(), "^prod-.*$".into()]);
    /// selectors.insert("team".into(), vec!["{{external.team}}".into()]);
    /// let mut traits = Traits::new();
    /// traits.insert("team".into(), vec!["web".into()]);
    /// let compiled = CompiledSelectors::new(&selectors, &traits);
    ///
    /// let node = |env: &str, team: &str| -> Labels {
    ///     [("env".to_string(), env.to_string()), ("team".to_string(), team.to_string())].into()
    /// };
    /// assert!(compiled.matches(&node("prod-eu", "web")).is_ok());
    /// assert_eq!(compiled.matches(&node("dev", "web")).unwrap_err(), "label env=dev does not match");
    /// assert!(compiled.matches(&node("staging", "db")).is_err());
    /// ```
    pub fn matches(&self, labels: &Labels) -> Result<(), String> {
        if self.is_empty() {
            return Err("no labels are selected".into());
        }
        if self.wildcard && self.keys.is_empty() {
            return Ok(());
        }
        for (key, patterns) in &self.keys {
            if key.is_empty() {
                return Err("a label key's template expanded to nothing (the trait is missing)".into());
            }
            if patterns.is_empty() {
                return Err(format!("label {key:?} allows no value"));
            }
            match labels.get(key) {
                None => return Err(format!("label {key:?} is not set")),
                Some(value) if patterns.iter().any(|p| p.matches(value)) => {}
                Some(value) => return Err(format!("label {key}={value} does not match")),
            }
        }
        Ok(())
    }
}

/// Checks role label selectors when a role is parsed: `*` as a key needs `*` as its value,
/// regexes and globs must compile and templates (in keys and values) must parse. An empty list
/// of values is allowed: it matches nothing.
pub fn validate_selectors(selectors: &LabelSelectors) -> Result<(), String> {
    for (key, values) in selectors {
        if key.is_empty() {
            return Err("a label key cannot be empty".into());
        }
        if key == "*" && values.iter().any(|v| v != "*") {
            return Err("the wildcard key '*' only takes the value '*'".into());
        }
        if is_regex(key) {
            return Err(format!("label key {key:?}: keys are matched exactly; regexes go in values"));
        }
        Template::parse(key).map_err(|e| format!("label key {key:?}: {e}"))?;
        for value in values {
            let template = Template::parse(value).map_err(|e| format!("label {key:?}: {e}"))?;
            if template.is_literal() {
                ValuePattern::compile(value).map_err(|e| {
                    format!("label {key:?}: bad regular expression {value:?}: {}", regex_error_line(&e))
                })?;
            }
        }
    }
    Ok(())
}

/// Serde support: selectors whose values are a string or a list of strings; one value is written
/// back as a plain string (the guide's `'*': '*'` shape).
pub mod serde_selectors {
    use super::*;

    /// Writes one value as a string and several as a list.
    pub fn serialize<S: Serializer>(selectors: &LabelSelectors, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(selectors.len()))?;
        for (key, values) in selectors {
            match values.as_slice() {
                [one] => map.serialize_entry(key, one)?,
                many => map.serialize_entry(key, many)?,
            }
        }
        map.end()
    }

    /// Reads values written as a string or a list, then validates the selectors.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<LabelSelectors, D::Error> {
        let selectors = deserializer.deserialize_map(SelectorsVisitor)?;
        validate_selectors(&selectors).map_err(de::Error::custom)?;
        Ok(selectors)
    }

    struct SelectorsVisitor;

    impl<'de> Visitor<'de> for SelectorsVisitor {
        type Value = LabelSelectors;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of label names to a value or a list of values")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = LabelSelectors::new();
            while let Some(key) = map.next_key::<String>()? {
                let values = map.next_value_seed(OneOrMany)?;
                if out.insert(key.clone(), values).is_some() {
                    return Err(de::Error::custom(format!("label {key:?} appears twice")));
                }
            }
            Ok(out)
        }
    }

    struct OneOrMany;

    impl<'de> de::DeserializeSeed<'de> for OneOrMany {
        type Value = Vec<String>;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for OneOrMany {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a label value or a list of label values")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(vec![v.to_string()])
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(v) = seq.next_element::<String>()? {
                out.push(v);
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn selectors(pairs: &[(&str, &[&str])]) -> LabelSelectors {
        pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn wildcard_matches_everything() {
        let s = CompiledSelectors::new(&selectors(&[("*", &["*"])]), &Traits::new());
        assert!(s.matches(&labels(&[])).is_ok());
        assert!(s.matches(&labels(&[("env", "prod")])).is_ok());
    }

    #[test]
    fn exact_star_and_regex_values() {
        let s = CompiledSelectors::new(&selectors(&[("env", &["prod", "^stag.*$"]), ("team", &["*"])]), &Traits::new());
        assert!(s.matches(&labels(&[("env", "prod"), ("team", "x")])).is_ok());
        assert!(s.matches(&labels(&[("env", "staging"), ("team", "y")])).is_ok());
        assert!(s.matches(&labels(&[("env", "dev"), ("team", "x")])).unwrap_err().contains("env=dev"));
        assert!(s.matches(&labels(&[("env", "prod")])).unwrap_err().contains("\"team\" is not set"));
        // A regex must match the whole value.
        assert!(s.matches(&labels(&[("env", "xstaging"), ("team", "x")])).is_err());
    }

    #[test]
    fn the_wildcard_key_beside_others_does_not_pass_them() {
        let s = CompiledSelectors::new(&selectors(&[("*", &["*"]), ("env", &["prod"])]), &Traits::new());
        assert!(s.matches(&labels(&[("env", "prod")])).is_ok());
        assert_eq!(s.matches(&labels(&[("env", "dev")])).unwrap_err(), "label env=dev does not match");
    }

    #[test]
    fn selectors_read_scalars_and_lists_and_name_what_they_expected() {
        let read = |json: &str| serde_selectors::deserialize(&mut serde_json::Deserializer::from_str(json));
        let s = read(r#"{"env": 1, "on": true, "n": -2, "list": ["a", "b"], "s": "x"}"#).unwrap();
        assert_eq!(
            s,
            selectors(&[("env", &["1"]), ("on", &["true"]), ("n", &["-2"]), ("list", &["a", "b"]), ("s", &["x"])])
        );
        let e = read(r#"{"env": {"a": 1}}"#).unwrap_err().to_string();
        assert!(e.contains("expected a label value or a list of label values"), "{e}");
        let e = read("[1]").unwrap_err().to_string();
        assert!(e.contains("expected a map of label names to a value or a list of values"), "{e}");
    }

    #[test]
    fn empty_selectors_match_nothing() {
        let s = CompiledSelectors::new(&LabelSelectors::new(), &Traits::new());
        assert!(s.matches(&labels(&[])).is_err());
    }

    #[test]
    fn templates_expand_from_traits() {
        let mut traits = Traits::new();
        traits.insert("env_from_okta".into(), vec!["demo".into()]);
        let s = CompiledSelectors::new(&selectors(&[("env", &["{{external.env_from_okta}}"])]), &traits);
        assert!(s.matches(&labels(&[("env", "demo")])).is_ok());
        let none = CompiledSelectors::new(&selectors(&[("env", &["{{external.env_from_okta}}"])]), &Traits::new());
        assert!(none.matches(&labels(&[("env", "demo")])).is_err(), "missing trait selects nothing");
    }

    #[test]
    fn label_lists() {
        assert_eq!(parse_label_list("env=demo, team=a=b").unwrap(), labels(&[("env", "demo"), ("team", "a=b")]));
        assert!(parse_label_list("env").unwrap_err().contains("key=value"));
        assert!(parse_label_list("=x").is_err());
        assert_eq!(format_labels(&labels(&[("b", "2"), ("a", "1")])), "a=1,b=2");
    }

    #[test]
    fn validation() {
        assert!(validate_selectors(&selectors(&[("*", &["prod"])])).is_err());
        assert!(
            validate_selectors(&selectors(&[("env", &["^(prod$"])])).unwrap_err().contains("bad regular expression")
        );
        assert!(
            validate_selectors(&selectors(&[("env", &["{{external.x"])])).unwrap_err().contains("malformed template")
        );
        validate_selectors(&selectors(&[("env", &[])])).expect("an empty list is allowed (it matches nothing)");
        validate_selectors(&selectors(&[("*", &["*"]), ("env", &["^prod-[0-9]+$"])])).unwrap();
        validate_selectors(&selectors(&[("{{external.team}}", &["env-*-staging"])])).unwrap();
        assert!(validate_selectors(&selectors(&[("{{external.team", &["x"])])).unwrap_err().contains("label key"));
    }

    #[test]
    fn glob_values_match_the_whole_value() {
        let s = CompiledSelectors::new(&selectors(&[("env", &["env-*-staging"])]), &Traits::new());
        assert!(s.matches(&labels(&[("env", "env-eu-staging")])).is_ok());
        assert!(s.matches(&labels(&[("env", "env--staging")])).is_ok());
        assert!(s.matches(&labels(&[("env", "env-eu-staging-2")])).is_err(), "anchored");
        assert!(s.matches(&labels(&[("env", "xenv-eu-staging")])).is_err(), "anchored");
        // Regex characters in a glob are literal.
        let dots = CompiledSelectors::new(&selectors(&[("host", &["web.*.example.com"])]), &Traits::new());
        assert!(dots.matches(&labels(&[("host", "web.eu.example.com")])).is_ok());
        assert!(dots.matches(&labels(&[("host", "webxeu.example.com")])).is_err());
    }

    #[test]
    fn template_keys_take_the_first_trait_value() {
        let mut traits = Traits::new();
        traits.insert("team".into(), vec!["web".into(), "db".into()]);
        let s = CompiledSelectors::new(&selectors(&[("{{external.team}}", &["owner"])]), &traits);
        assert!(s.matches(&labels(&[("web", "owner")])).is_ok());
        assert!(s.matches(&labels(&[("db", "owner")])).is_err(), "only the first value is a key");
        let none = CompiledSelectors::new(&selectors(&[("{{external.team}}", &["owner"])]), &Traits::new());
        assert!(none.matches(&labels(&[("web", "owner")])).is_err(), "a missing trait selects nothing");
        assert!(none.matches(&labels(&[("", "owner")])).is_err());
    }

    #[test]
    fn an_empty_list_matches_nothing() {
        let s = CompiledSelectors::new(&selectors(&[("env", &[])]), &Traits::new());
        assert_eq!(s.matches(&labels(&[("env", "prod")])).unwrap_err(), "label \"env\" allows no value");
        // A template list that expands to nothing is the same.
        let t = CompiledSelectors::new(&selectors(&[("env", &["{{external.nope}}"])]), &Traits::new());
        assert!(t.matches(&labels(&[("env", "prod")])).is_err());
    }
}
