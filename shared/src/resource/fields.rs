//! Serde helpers for resource fields that validate while they parse, so a bad value is reported
//! at its own line and column: lists of strings (with a clear "expected a list of strings"),
//! lists of role values that may hold trait templates, and `host:port` addresses.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::template::Template;

struct StringList;

impl<'de> Visitor<'de> for StringList {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of strings")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element::<String>()? {
            out.push(v);
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

/// A list of strings.
pub fn string_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    deserializer.deserialize_seq(StringList)
}

/// A list of non-empty names without whitespace (role names on a user, for example).
pub fn name_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let names = string_list(deserializer)?;
    for (i, name) in names.iter().enumerate() {
        crate::names::validate_name(name).map_err(|e| de::Error::custom(format!("item {i}: {e}")))?;
    }
    Ok(names)
}

/// A resource name (see [`crate::names::validate_name`]).
pub fn name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let name = String::deserialize(deserializer)?;
    crate::names::validate_name(&name).map_err(de::Error::custom)?;
    Ok(name)
}

/// Resource labels: keys must be non-empty and free of whitespace.
pub fn labels<'de, D: Deserializer<'de>>(deserializer: D) -> Result<crate::labels::Labels, D::Error> {
    let labels = crate::labels::Labels::deserialize(deserializer)?;
    if let Some(key) = labels.keys().find(|k| k.is_empty() || k.chars().any(char::is_whitespace)) {
        return Err(de::Error::custom(format!("invalid label key {key:?}")));
    }
    Ok(labels)
}

/// A list of role values; each may hold one trait template, which must parse.
pub fn templated_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let values = string_list(deserializer)?;
    for (i, value) in values.iter().enumerate() {
        if value.is_empty() {
            return Err(de::Error::custom(format!("item {i}: a value cannot be empty")));
        }
        Template::parse(value).map_err(|e| de::Error::custom(format!("item {i}: {e}")))?;
    }
    Ok(values)
}

/// Checks a network address: `host:port` (or `host` when `port_optional`), `[v6]:port` allowed,
/// no scheme, a numeric port (0 included: callers that need a real port check for it).
pub fn check_addr(addr: &str, port_optional: bool) -> Result<(), String> {
    if addr.is_empty() {
        return Err("an address cannot be empty (write host:port)".into());
    }
    if addr.contains("://") {
        return Err(format!("address {addr:?}: write host:port without a scheme"));
    }
    let bracketed = addr.starts_with('[');
    let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(|| format!("address {addr:?}: unclosed '['"))?;
        (host, after.strip_prefix(':'))
    } else {
        match addr.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (addr, None),
        }
    };
    if host.is_empty()
        || host.chars().any(|c| c.is_whitespace() || c.is_control() || c == '/' || c == ':' && !bracketed)
    {
        return Err(format!("address {addr:?}: invalid host (write host:port)"));
    }
    match port {
        Some(p) => p
            .parse::<u16>()
            .map(|_| ())
            .map_err(|_| format!("address {addr:?}: invalid port {p:?} (a number from 1 to 65535)")),
        None if port_optional => Ok(()),
        None => Err(format!("address {addr:?}: a port is required (write host:port)")),
    }
}

/// A `host:port` address (the port may be left out).
pub fn address<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let addr = String::deserialize(deserializer)?;
    check_addr(&addr, true).map_err(de::Error::custom)?;
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        for ok in ["root.example.com:3024", "127.0.0.1:0", "[::1]:3080", "root.example.com"] {
            check_addr(ok, true).unwrap();
        }
        for bad in ["", "https://root:443", "root:http", "root:99999", "a b:1", ":443"] {
            assert!(check_addr(bad, true).is_err(), "{bad}");
        }
        assert!(check_addr("root", false).is_err());
    }
}
