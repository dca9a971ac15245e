//! Labels and label selectors: how roles pick nodes (`node_labels`) and clusters (`cluster_labels`).
//!
//! A resource carries [`Labels`] (`env: prod`). A role carries [`LabelSelectors`]: each key maps
//! to one or more allowed values, written as a string or a list. A value matches exactly, `*`
//! matches anything, and a value that starts with `^` and ends with `$` is an RE2 regular
//! expression (the `regex` crate) that must match the whole label value. The pair `'*': '*'`
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
    /// `^…$`: a regular expression over the whole value.
    Regex(Regex),
}

impl ValuePattern {
    /// Compiles a pattern: `*`, `^…$` (regex) or an exact value.
    pub fn compile(pattern: &str) -> Result<Self, regex::Error> {
        if pattern == "*" {
            Ok(ValuePattern::Any)
        } else if is_regex(pattern) {
            Regex::new(pattern).map(ValuePattern::Regex)
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
        for (key, values) in selectors {
            let values = expand_all(values, traits);
            if key == "*" {
                wildcard |= values.iter().any(|v| v == "*");
                continue;
            }
            let patterns = values.iter().filter_map(|v| ValuePattern::compile(v).ok()).collect();
            keys.push((key.clone(), patterns));
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
/// regexes must compile and templates must parse.
pub fn validate_selectors(selectors: &LabelSelectors) -> Result<(), String> {
    for (key, values) in selectors {
        if key.is_empty() {
            return Err("a label key cannot be empty".into());
        }
        if values.is_empty() {
            return Err(format!("label {key:?} needs at least one value"));
        }
        if key == "*" && values.iter().any(|v| v != "*") {
            return Err("the wildcard key '*' only takes the value '*'".into());
        }
        if is_regex(key) {
            return Err(format!("label key {key:?}: keys are matched exactly; regexes go in values"));
        }
        for value in values {
            let template = Template::parse(value).map_err(|e| format!("label {key:?}: {e}"))?;
            if template.is_literal() && is_regex(value) {
                Regex::new(value).map_err(|e| {
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
        assert!(validate_selectors(&selectors(&[("env", &[])])).is_err());
        validate_selectors(&selectors(&[("*", &["*"]), ("env", &["^prod-[0-9]+$"])])).unwrap();
    }
}
