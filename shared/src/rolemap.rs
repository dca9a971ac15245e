//! Role mapping between clusters: the `role_map` of a `trusted_cluster`.
//!
//! Each [`RoleMapRule`] has one `remote` pattern and a list of `local` roles. A pattern is
//! exact; a glob when it contains `*` (which matches any run of characters, every other character
//! literal, the whole name anchored); or an RE2 regular expression when it starts with `^` and
//! ends with `$`. Locals may use the pattern's capture groups (`$1`, `${1}`, `$name`; each glob
//! `*` is a group). [`RoleMap::compile`] validates and compiles the rules once; [`RoleMap::map`]
//! then turns a user's remote roles into local roles: exact patterns through a hash map, the rest
//! through one [`RegexSet`] pass per remote role, so hundreds of rules stay cheap.

use std::collections::{HashMap, HashSet};
use std::fmt;

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

/// One rule of a role map, as written in YAML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMapRule {
    /// The remote role pattern.
    pub remote: String,
    /// The local roles granted when the pattern matches.
    pub local: Vec<String>,
}

/// Why a role map is invalid, or why mapping found nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleMapError {
    /// A rule failed validation.
    #[error("role_map[{index}] (remote {remote:?}): {reason}")]
    InvalidRule {
        /// Position of the rule in the list, from 0.
        index: usize,
        /// The rule's remote pattern.
        remote: String,
        /// What is wrong.
        reason: String,
    },
    /// No rule matched any of the user's roles.
    #[error("no role_map rule matches the remote roles [{}]; rules tried: {}", remote_roles.join(", "), describe_rules(rules))]
    NoMatch {
        /// The user's roles on the remote (root) cluster.
        remote_roles: Vec<String>,
        /// The rules that were tried.
        rules: Vec<RoleMapRule>,
    },
}

fn describe_rules(rules: &[RoleMapRule]) -> String {
    if rules.is_empty() {
        return "none (the role_map is empty)".into();
    }
    rules.iter().map(RoleMapRule::to_string).collect::<Vec<_>>().join("; ")
}

/// A validated, compiled role map.
#[derive(Debug, Clone)]
pub struct RoleMap {
    rules: Vec<RoleMapRule>,
    /// Exact patterns: remote role name to rule indices.
    exact: HashMap<String, Vec<usize>>,
    /// Glob and regex patterns, in rule order, for the single-pass match.
    set: RegexSet,
    /// For each entry of `set`: the rule index and the compiled regex (for captures).
    patterns: Vec<(usize, Regex)>,
}

/// The kind of a remote pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// Matches one name exactly.
    Exact,
    /// Contains `*`.
    Glob,
    /// `^…$`.
    Regex,
}

/// Classifies a remote pattern.
pub fn pattern_kind(pattern: &str) -> PatternKind {
    if crate::pattern::is_regex(pattern) {
        PatternKind::Regex
    } else if pattern.contains('*') {
        PatternKind::Glob
    } else {
        PatternKind::Exact
    }
}

pub use crate::pattern::glob_to_regex;

impl RoleMap {
    /// Validates and compiles `rules`. Each invalid rule is reported with its index and pattern.
    pub fn compile(rules: &[RoleMapRule]) -> Result<Self, RoleMapError> {
        let mut exact: HashMap<String, Vec<usize>> = HashMap::new();
        let mut patterns = Vec::new();
        let mut seen = HashSet::new();
        for (index, rule) in rules.iter().enumerate() {
            let invalid = |reason: String| RoleMapError::InvalidRule { index, remote: rule.remote.clone(), reason };
            if rule.remote.trim().is_empty() {
                return Err(invalid("remote cannot be empty".into()));
            }
            if !seen.insert(rule.remote.as_str()) {
                return Err(invalid("the same remote pattern appears in an earlier rule; merge their locals".into()));
            }
            if rule.local.is_empty() {
                return Err(invalid("local must name at least one role".into()));
            }
            for local in &rule.local {
                if local.trim().is_empty() {
                    return Err(invalid("a local role cannot be empty".into()));
                }
                if local.starts_with('@') {
                    return Err(invalid(format!("local role {local:?}: names starting with '@' are built in")));
                }
                if local.contains('*') {
                    return Err(invalid(format!("local role {local:?}: '*' is not allowed in local roles")));
                }
                if local.chars().any(|c| c.is_whitespace() || c == '/') {
                    return Err(invalid(format!("local role {local:?} contains whitespace or '/'")));
                }
            }
            let source = match pattern_kind(&rule.remote) {
                PatternKind::Exact => {
                    exact.entry(rule.remote.clone()).or_default().push(index);
                    continue;
                }
                PatternKind::Glob => glob_to_regex(&rule.remote),
                PatternKind::Regex => rule.remote.clone(),
            };
            let regex = Regex::new(&source).map_err(|e| {
                invalid(format!("the pattern does not compile: {}", crate::pattern::regex_error_line(&e)))
            })?;
            patterns.push((index, regex));
        }
        let set = RegexSet::new(patterns.iter().map(|(_, re)| re.as_str())).map_err(|e| RoleMapError::InvalidRule {
            index: 0,
            remote: String::new(),
            reason: format!("the patterns do not compile together: {}", crate::pattern::regex_error_line(&e)),
        })?;
        Ok(RoleMap { rules: rules.to_vec(), exact, set, patterns })
    }

    /// The rules, as written.
    pub fn rules(&self) -> &[RoleMapRule] {
        &self.rules
    }

    /// Maps remote roles to local roles: the union of every matching rule's locals, in rule order
    /// and then remote-role order, without duplicates. No match at all is an error that lists
    /// the remote roles and the rules tried.
    ///
    /// ```
    /// use tether_shared::rolemap::{RoleMap, RoleMapRule};
    ///
    /// let rule = |remote: &str, local: &[&str]| RoleMapRule {
    ///     remote: remote.into(),
    ///     local: local.iter().map(|l| l.to_string()).collect(),
    /// };
    /// // Exact, glob (the whole name must match) and `^…$` regex with a capture.
    /// let map = RoleMap::compile(&[
    ///     rule("admin", &["access", "editor"]),
    ///     rule("dev-*", &["access"]),
    ///     rule("^team-(.*)$", &["team-$1"]),
    /// ])?;
    /// assert_eq!(map.map(&["admin".into()])?, ["access", "editor"]);
    /// assert_eq!(map.map(&["dev-web".into(), "team-ops".into()])?, ["access", "team-ops"]);
    /// // No rule matches: an error naming the roles, never an empty grant.
    /// assert!(map.map(&["guest".into()]).is_err());
    /// // An invalid rule is refused when the map is compiled.
    /// assert!(RoleMap::compile(&[rule("*", &["@admin"])]).is_err());
    /// # Ok::<(), tether_shared::rolemap::RoleMapError>(())
    /// ```
    pub fn map(&self, remote_roles: &[String]) -> Result<Vec<String>, RoleMapError> {
        // As in Teleport: no remote role at all is one empty role (which only a wildcard maps).
        let empty = [String::new()];
        let remote_roles = if remote_roles.is_empty() { &empty[..] } else { remote_roles };
        // (rule index, remote role index, entry in `patterns` or None for exact)
        let mut hits: Vec<(usize, usize, Option<usize>)> = Vec::new();
        for (role_idx, role) in remote_roles.iter().enumerate() {
            if is_implicit(role) {
                continue;
            }
            if let Some(rules) = self.exact.get(role) {
                hits.extend(rules.iter().map(|&r| (r, role_idx, None)));
            }
            if !self.patterns.is_empty() {
                for entry in self.set.matches(role).iter() {
                    if let Some((rule_idx, _)) = self.patterns.get(entry) {
                        hits.push((*rule_idx, role_idx, Some(entry)));
                    }
                }
            }
        }
        if hits.is_empty() {
            return Err(RoleMapError::NoMatch { remote_roles: remote_roles.to_vec(), rules: self.rules.clone() });
        }
        hits.sort_unstable();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (rule_idx, role_idx, entry) in hits {
            let (Some(role), Some(rule)) = (remote_roles.get(role_idx), self.rules.get(rule_idx)) else {
                continue;
            };
            for local in &rule.local {
                let mapped = match entry {
                    Some(entry) if local.contains('$') => {
                        let Some(caps) = self.patterns.get(entry).and_then(|(_, regex)| regex.captures(role)) else {
                            continue;
                        };
                        let mut expanded = String::new();
                        caps.expand(local, &mut expanded);
                        expanded
                    }
                    _ => local.clone(),
                };
                if !mapped.is_empty() && seen.insert(mapped.clone()) {
                    out.push(mapped);
                }
            }
        }
        Ok(out)
    }
}

/// Teleport's implicit role, which every Teleport certificate carries, and Tether's reserved
/// `@` roles: never mapped, not even by a passthrough rule (`^(.*)$` → `$1`).
pub const IMPLICIT_ROLE: &str = "default-implicit-role";

/// Whether a remote role is one the root adds by itself ([`IMPLICIT_ROLE`], `@…`).
pub fn is_implicit(role: &str) -> bool {
    role == IMPLICIT_ROLE || role.starts_with('@')
}

impl RoleMap {
    /// What one remote role maps to, rule by rule: `(rule index, local roles)` for every rule
    /// that matches it, in rule order. Empty when no rule matches. Used by
    /// `tctl trusted-cluster map-roles` to show an admin why a role maps as it does.
    pub fn explain(&self, remote_role: &str) -> Vec<(usize, Vec<String>)> {
        let mut out: Vec<(usize, Vec<String>)> = Vec::new();
        if is_implicit(remote_role) {
            return out;
        }
        if let Some(rules) = self.exact.get(remote_role) {
            out.extend(rules.iter().filter_map(|&r| Some((r, self.rules.get(r)?.local.clone()))));
        }
        if !self.patterns.is_empty() {
            for entry in self.set.matches(remote_role).iter() {
                let Some((rule_idx, regex)) = self.patterns.get(entry) else { continue };
                let Some(rule) = self.rules.get(*rule_idx) else { continue };
                let locals = rule
                    .local
                    .iter()
                    .filter_map(|local| {
                        if !local.contains('$') {
                            return Some(local.clone());
                        }
                        let caps = regex.captures(remote_role)?;
                        let mut expanded = String::new();
                        caps.expand(local, &mut expanded);
                        (!expanded.is_empty()).then_some(expanded)
                    })
                    .collect();
                out.push((*rule_idx, locals));
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out
    }
}

impl fmt::Display for RoleMapRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} -> [{}]", self.remote, self.local.join(", "))
    }
}

/// Serde helper for resource fields holding a role map: validates while parsing, so an invalid
/// rule is reported with the file position of the field.
pub mod serde_rules {
    use super::*;
    use serde::{Deserializer, Serializer};

    /// Writes the rules as they are.
    pub fn serialize<S: Serializer>(rules: &[RoleMapRule], serializer: S) -> Result<S::Ok, S::Error> {
        rules.serialize(serializer)
    }

    /// Reads and validates the rules.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<RoleMapRule>, D::Error> {
        let rules = Vec::<RoleMapRule>::deserialize(deserializer)?;
        RoleMap::compile(&rules).map_err(serde::de::Error::custom)?;
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(remote: &str, local: &[&str]) -> RoleMapRule {
        RoleMapRule { remote: remote.into(), local: local.iter().map(|s| s.to_string()).collect() }
    }

    fn roles(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn local_roles_with_whitespace_or_a_slash_are_refused_and_good_rules_kept_as_written() {
        for bad in ["a b", "a/b", "a\tb"] {
            let err = RoleMap::compile(&[rule("access", &[bad])]).unwrap_err().to_string();
            assert!(err.ends_with(&format!("local role {bad:?} contains whitespace or '/'")), "{err}");
        }
        let rules = [rule("^dev-(.*)$", &["dev-$1"]), rule("ops", &["ops"])];
        assert_eq!(RoleMap::compile(&rules).unwrap().rules(), rules);
    }

    #[test]
    fn no_match_names_the_roles_and_every_rule_tried() {
        let map = RoleMap::compile(&[rule("^dev-(.*)$", &["dev-$1"]), rule("ops", &["ops", "audit"])]).unwrap();
        let err = map.map(&roles(&["guest", "intern"])).unwrap_err().to_string();
        assert_eq!(
            err,
            "no role_map rule matches the remote roles [guest, intern]; rules tried: \"^dev-(.*)$\" -> [dev-$1]; \"ops\" -> [ops, audit]"
        );
        let empty = RoleMap::compile(&[]).unwrap().map(&roles(&["guest"])).unwrap_err().to_string();
        assert!(empty.ends_with("rules tried: none (the role_map is empty)"), "{empty}");
    }

    #[test]
    fn guide_examples() {
        let m = RoleMap::compile(&[rule("access", &["visitor"])]).unwrap();
        assert_eq!(m.map(&roles(&["access", "auditor"])).unwrap(), ["visitor"]);

        let m = RoleMap::compile(&[rule("*", &["access"])]).unwrap();
        assert_eq!(m.map(&roles(&["anything"])).unwrap(), ["access"]);

        let m = RoleMap::compile(&[rule("cluster-*", &["clusteradmin"])]).unwrap();
        assert_eq!(m.map(&roles(&["cluster-eu"])).unwrap(), ["clusteradmin"]);
        assert!(m.map(&roles(&["my-cluster-eu"])).is_err(), "globs are anchored");

        let m = RoleMap::compile(&[rule("^remote-(.*)$", &["local-$1"])]).unwrap();
        assert_eq!(m.map(&roles(&["remote-one", "remote-two"])).unwrap(), ["local-one", "local-two"]);
    }

    #[test]
    fn implicit_roles_are_never_mapped_even_by_a_passthrough() {
        let m = RoleMap::compile(&[rule("^(.*)$", &["$1"])]).unwrap();
        assert_eq!(m.map(&roles(&["default-implicit-role", "@admin", "dev"])).unwrap(), ["dev"]);
        assert!(m.map(&roles(&["default-implicit-role"])).is_err(), "nothing else: no match");
        assert!(m.explain("default-implicit-role").is_empty());
    }

    #[test]
    fn order_and_precedence_follow_teleport() {
        // Every matching rule contributes, in rule order and then remote-role order: exact,
        // glob and regex rules have no precedence over each other.
        let m = RoleMap::compile(&[
            rule("^dev-(.*)$", &["team-$1"]),
            rule("dev-web", &["web-admin"]),
            rule("dev-*", &["dev"]),
        ])
        .unwrap();
        assert_eq!(m.map(&roles(&["dev-db", "dev-web"])).unwrap(), ["team-db", "team-web", "web-admin", "dev"]);
        // No remote role at all is one empty role: only a wildcard maps it.
        let any = RoleMap::compile(&[rule("*", &["guest"])]).unwrap();
        assert_eq!(any.map(&[]).unwrap(), ["guest"]);
        let exact = RoleMap::compile(&[rule("admin", &["guest"])]).unwrap();
        assert!(exact.map(&[]).is_err());
    }

    #[test]
    fn explain_names_each_matching_rule() {
        let m = RoleMap::compile(&[
            rule("access", &["visitor"]),
            rule("cluster-*", &["clusteradmin"]),
            rule("^remote-(.*)$", &["local-$1"]),
            rule("*", &["guest"]),
        ])
        .unwrap();
        assert_eq!(m.explain("access"), [(0, roles(&["visitor"])), (3, roles(&["guest"]))]);
        assert_eq!(m.explain("remote-one"), [(2, roles(&["local-one"])), (3, roles(&["guest"]))]);
        let none = RoleMap::compile(&[rule("access", &["visitor"])]).unwrap();
        assert!(none.explain("editor").is_empty());
        assert!(RoleMap::compile(&[rule("access", &["@admin"])]).is_err(), "built-in roles cannot be mapped to");
    }

    #[test]
    fn capture_forms() {
        let m =
            RoleMap::compile(&[rule("^dev-(?P<team>[a-z]+)$", &["${team}-dev", "x${1}"]), rule("ops-*", &["ops-$1"])])
                .unwrap();
        assert_eq!(m.map(&roles(&["ops-db", "dev-web"])).unwrap(), ["web-dev", "xweb", "ops-db"]);
    }

    #[test]
    fn glob_metacharacters_are_literal() {
        let m = RoleMap::compile(&[rule("a.b+c*", &["x"])]).unwrap();
        assert!(m.map(&roles(&["a.b+c-anything"])).is_ok());
        assert!(m.map(&roles(&["aXbbc"])).is_err());
    }

    #[test]
    fn union_is_deduplicated_in_rule_order() {
        let m = RoleMap::compile(&[rule("b", &["two", "one"]), rule("*", &["one", "three"]), rule("a", &["four"])])
            .unwrap();
        assert_eq!(m.map(&roles(&["a", "b"])).unwrap(), ["two", "one", "three", "four"]);
    }

    #[test]
    fn no_match_explains_itself() {
        let m = RoleMap::compile(&[rule("admin", &["visitor"]), rule("^dev-.*$", &["dev"])]).unwrap();
        let err = m.map(&roles(&["access", "auditor"])).unwrap_err().to_string();
        assert!(err.contains("[access, auditor]"), "{err}");
        assert!(err.contains("\"admin\" -> [visitor]") && err.contains("\"^dev-.*$\" -> [dev]"), "{err}");
        let empty = RoleMap::compile(&[]).unwrap();
        assert!(empty.map(&roles(&["access"])).unwrap_err().to_string().contains("role_map is empty"));
    }

    #[test]
    fn invalid_rules_are_named() {
        let cases = [
            (vec![rule("^(unclosed$", &["x"])], "role_map[0] (remote \"^(unclosed$\"): the pattern does not compile"),
            (vec![rule("ok", &["x"]), rule("", &["x"])], "role_map[1]"),
            (vec![rule("a", &[])], "local must name at least one role"),
            (vec![rule("a", &["*"])], "'*' is not allowed"),
            (vec![rule("a", &[""])], "cannot be empty"),
            (
                vec![rule("a", &["x"]), rule("b", &["y"]), rule("a", &["z"])],
                "role_map[2] (remote \"a\"): the same remote",
            ),
        ];
        for (rules, want) in cases {
            let err = RoleMap::compile(&rules).unwrap_err().to_string();
            assert!(err.contains(want), "want {want:?} in {err:?}");
        }
    }

    proptest! {
        #[test]
        fn glob_matches_iff_literal_parts_line_up(
            prefix in "[a-z.+()]{0,6}", middle in "[a-z.+()-]{0,8}", suffix in "[a-z.+()]{0,6}", other in "[a-z.+()-]{0,12}"
        ) {
            let glob = format!("{prefix}*{suffix}");
            let m = RoleMap::compile(&[rule(&glob, &["x"])]).unwrap();
            let name = format!("{prefix}{middle}{suffix}");
            prop_assert!(m.map(&[name]).is_ok());
            let expected = other.len() >= prefix.len() + suffix.len() && other.starts_with(&prefix) && other.ends_with(&suffix);
            prop_assert_eq!(m.map(std::slice::from_ref(&other)).is_ok(), expected);
        }

        #[test]
        fn exact_patterns_match_only_themselves(a in "[a-z-]{1,10}", b in "[a-z-]{1,10}") {
            let m = RoleMap::compile(&[rule(&a, &["x"])]).unwrap();
            prop_assert_eq!(m.map(std::slice::from_ref(&b)).is_ok(), a == b);
        }

        #[test]
        fn regex_capture_expansion(suffix in "[a-z0-9]{1,12}") {
            let m = RoleMap::compile(&[rule("^remote-([a-z0-9]+)$", &["local-$1"])]).unwrap();
            prop_assert_eq!(m.map(&[format!("remote-{suffix}")]).unwrap(), vec![format!("local-{suffix}")]);
        }

        #[test]
        fn mapping_never_panics(remote in ".{0,12}", role in ".{0,12}") {
            if let Ok(m) = RoleMap::compile(&[rule(&remote, &["local-$1"])]) {
                let _ = m.map(&[role]);
            }
        }
    }
}
