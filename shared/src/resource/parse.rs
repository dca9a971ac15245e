//! Strict parsing of resource files: YAML (one or more documents separated by `---`) or JSON
//! (one object or an array of objects).
//!
//! Each document is read twice: first only its `kind` (so an unknown kind is reported where it
//! is written), then as the typed resource through `serde_path_to_error`, so an unknown field, a
//! wrong type, a missing field or an invalid value becomes one [`ParseError`] naming the file,
//! line, column and field path: `visitor.yaml:7:5: spec.allow.logins: expected a list of
//! strings, found string "visitor"`. Checks that span several fields run after parsing and are
//! located by finding the field's key in the document's text.

use std::fmt;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Envelope, Kind, Resource, Spec};

/// The first problem found in a resource file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// The file name as given by the caller.
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// The field path (`spec.allow.logins`), empty for the document itself.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Deserialize)]
struct Header {
    kind: Kind,
}

/// One document of the input: its text and where it starts.
struct Doc<'a> {
    text: &'a str,
    /// 0-based line of the document's first line in the file.
    first_line: usize,
    /// 0-based column of the document's first character (JSON array items).
    first_column: usize,
}

/// Parses every resource in `text`. `file` names the input in error messages.
pub fn parse_resources(file: &str, text: &str) -> Result<Vec<Resource>, ParseError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') { parse_json(file, text) } else { parse_yaml(file, text) }
}

fn parse_yaml(file: &str, text: &str) -> Result<Vec<Resource>, ParseError> {
    let docs = split_yaml(text);
    let mut out = Vec::new();
    for (index, doc) in docs.iter().enumerate() {
        let located = |e: serde_yaml_ng::Error, path: String| {
            let loc = e.location();
            // Locations are relative to the document we handed the parser.
            let (line, column) = loc.map_or((None, None), |l| (Some(l.line() + doc.first_line), Some(l.column())));
            ParseError { file: file.to_string(), line, column, path, message: clean_message(&e.to_string()) }
        };
        let header: Option<Header> = match serde_yaml_ng::from_str::<Option<serde_yaml_ng::Value>>(doc.text) {
            Ok(None) => continue,
            Ok(Some(serde_yaml_ng::Value::Mapping(_))) => serde_yaml_ng::from_str(doc.text).map_err(|e| {
                let path = kind_path_for(&e.to_string());
                located(e, path)
            })?,
            Ok(Some(_)) => {
                return Err(ParseError {
                    file: file.to_string(),
                    line: Some(doc.first_line + 1),
                    column: Some(1),
                    path: String::new(),
                    message: format!(
                        "document {} is not a resource (expected a mapping with kind, version, metadata)",
                        index + 1
                    ),
                });
            }
            Err(e) => return Err(located(e, String::new())),
        };
        let Some(header) = header else { continue };
        let de = serde_yaml_ng::Deserializer::from_str(doc.text);
        let resource = deserialize_kind(header.kind, de, |e: serde_path_to_error::Error<serde_yaml_ng::Error>| {
            let path = path_string(e.path());
            located(e.into_inner(), path)
        })?;
        check(file, doc, resource, &mut out)?;
    }
    Ok(out)
}

fn parse_json(file: &str, text: &str) -> Result<Vec<Resource>, ParseError> {
    let json_err = |e: serde_json::Error, path: String, doc: &Doc| {
        let (line, column) = if e.line() == 0 {
            (None, None)
        } else if e.line() == 1 {
            (Some(doc.first_line + 1), Some(e.column() + doc.first_column))
        } else {
            (Some(doc.first_line + e.line()), Some(e.column()))
        };
        ParseError { file: file.to_string(), line, column, path, message: clean_message(&e.to_string()) }
    };
    let whole = Doc { text, first_line: 0, first_column: 0 };
    let docs: Vec<Doc> = if text.trim_start().starts_with('[') {
        let items: Vec<&serde_json::value::RawValue> =
            serde_json::from_str(text).map_err(|e| json_err(e, String::new(), &whole))?;
        items
            .into_iter()
            .map(|raw| {
                let item = raw.get();
                let offset = (item.as_ptr() as usize).saturating_sub(text.as_ptr() as usize).min(text.len());
                let before = &text[..offset];
                let first_line = before.matches('\n').count();
                let first_column = offset - before.rfind('\n').map_or(0, |i| i + 1);
                Doc { text: item, first_line, first_column }
            })
            .collect()
    } else {
        vec![whole]
    };
    let mut out = Vec::new();
    for doc in &docs {
        let header: Header = serde_json::from_str(doc.text).map_err(|e| {
            let path = kind_path_for(&e.to_string());
            json_err(e, path, doc)
        })?;
        let mut de = serde_json::Deserializer::from_str(doc.text);
        let resource = deserialize_kind(header.kind, &mut de, |e: serde_path_to_error::Error<serde_json::Error>| {
            let path = path_string(e.path());
            json_err(e.into_inner(), path, doc)
        })?;
        check(file, doc, resource, &mut out)?;
    }
    Ok(out)
}

/// Deserializes one document as the typed resource of `kind`.
fn deserialize_kind<'de, D, E>(kind: Kind, de: D, err: E) -> Result<Resource, ParseError>
where
    D: serde::Deserializer<'de>,
    E: FnOnce(serde_path_to_error::Error<D::Error>) -> ParseError,
{
    fn one<'de, S: Spec, D: serde::Deserializer<'de>>(
        de: D,
    ) -> Result<Envelope<S>, serde_path_to_error::Error<D::Error>>
    where
        Envelope<S>: DeserializeOwned,
    {
        serde_path_to_error::deserialize(de)
    }
    let result = match kind {
        Kind::Role => one(de).map(Resource::Role),
        Kind::User => one(de).map(Resource::User),
        Kind::Token => one(de).map(Resource::Token),
        Kind::TrustedCluster => one(de).map(Resource::TrustedCluster),
        Kind::RemoteCluster => one(de).map(Resource::RemoteCluster),
        Kind::CertAuthority => one(de).map(Resource::CertAuthority),
        Kind::Node => one(de).map(Resource::Node),
    };
    result.map_err(err)
}

/// Runs the cross-field checks and collects the resource.
fn check(file: &str, doc: &Doc, resource: Resource, out: &mut Vec<Resource>) -> Result<(), ParseError> {
    fn validate<S: Spec>(r: &Envelope<S>) -> Result<(), (String, String)> {
        S::validate_name(&r.metadata.name).map_err(|e| ("metadata.name".to_string(), e.to_string()))?;
        r.spec.validate(&r.metadata)
    }
    let checked = match &resource {
        Resource::Role(r) => validate(r),
        Resource::User(r) => validate(r),
        Resource::Token(r) => validate(r),
        Resource::TrustedCluster(r) => validate(r),
        Resource::RemoteCluster(r) => validate(r),
        Resource::CertAuthority(r) => validate(r),
        Resource::Node(r) => validate(r),
    };
    if let Err((path, message)) = checked {
        let (line, column) = locate(doc, &path);
        return Err(ParseError { file: file.to_string(), line: Some(line), column: Some(column), path, message });
    }
    out.push(resource);
    Ok(())
}

/// Splits YAML into documents at `---` lines, remembering where each starts.
fn split_yaml(text: &str) -> Vec<Doc<'_>> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut start_line = 0;
    let mut offset = 0;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") || bare == "..." {
            docs.push(Doc { text: &text[start..offset], first_line: start_line, first_column: 0 });
            start = offset + line.len();
            start_line = line_no + 1;
        }
        offset += line.len();
    }
    docs.push(Doc { text: &text[start..], first_line: start_line, first_column: 0 });
    docs
}

/// Finds the line and column of a dotted field path's last key in a document's text.
fn locate(doc: &Doc, path: &str) -> (usize, usize) {
    let mut line_idx = 0;
    let mut min_indent = 0;
    let lines: Vec<&str> = doc.text.lines().collect();
    let mut found = (doc.first_line + 1, doc.first_column + 1);
    for key in path.split('.') {
        let key = key.split('[').next().unwrap_or(key);
        let hit = lines.iter().enumerate().skip(line_idx).find(|(_, l)| {
            let indent = l.len() - l.trim_start().len();
            let t = l.trim_start();
            indent >= min_indent && (t.starts_with(&format!("{key}:")) || t.starts_with(&format!("\"{key}\"")))
        });
        match hit {
            Some((i, l)) => {
                let indent = l.len() - l.trim_start().len();
                let column = if i == 0 { indent + doc.first_column } else { indent };
                found = (doc.first_line + i + 1, column + 1);
                line_idx = i + 1;
                min_indent = indent + 1;
            }
            None => break,
        }
    }
    found
}

/// `kind` errors from the header pass belong to the `kind` field.
fn kind_path_for(message: &str) -> String {
    if message.contains("variant") || message.contains("`kind`") { "kind".into() } else { String::new() }
}

fn path_string(path: &serde_path_to_error::Path) -> String {
    let s = path.to_string();
    if s == "." { String::new() } else { s }
}

/// Rewrites serde's messages into the words a person reads: drops the position suffix (we print
/// it in front), and says what was expected before what was found.
fn clean_message(raw: &str) -> String {
    let mut msg = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(i) = msg.find(" at line ") {
        msg.truncate(i);
    }
    // serde_yaml_ng prefixes nested errors with the YAML path; we print our own path.
    if let Some((head, tail)) = msg.split_once(": ")
        && !head.is_empty()
        && !head.contains(' ')
    {
        msg = tail.to_string();
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ").or_else(|| msg.strip_prefix("invalid value: "))
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let expected = match expected {
            e if e.starts_with("struct ") || e.starts_with("map") => "a mapping",
            "a sequence" => "a list",
            e => e,
        };
        return format!("expected {expected}, found {found}");
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("unknown value {found}, expected {expected}");
    }
    if let Some(rest) = msg.strip_prefix("unknown field ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("unknown field {found} (known fields: {})", expected.trim_start_matches("one of "));
    }
    msg
}
