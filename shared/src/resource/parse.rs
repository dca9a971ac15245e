//! Strict parsing of resource files: YAML (one or more documents separated by `---`) or JSON
//! (one object or an array of objects).
//!
//! Each document is read first for its shape and `kind` only (so an unknown kind is reported where
//! it is written), then as the typed resource through `serde_path_to_error` (YAML through
//! [`crate::yaml`], which owns the error's form), so an unknown field, a
//! wrong type, a missing field or an invalid value becomes one [`ParseError`] naming the file,
//! line, column and field path: `visitor.yaml:7:5: spec.allow.logins: expected a list of
//! strings, found string "visitor"`. Checks that span several fields run after parsing and are
//! located by finding the field's key in the document's text.

use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, Visitor};

pub use crate::yaml::ParseError;
use crate::yaml::{clean_message, field_path};

use super::{Envelope, Kind, Resource, Spec};

#[derive(Deserialize)]
struct Header {
    kind: Kind,
}

/// What a YAML document is at the top: a mapping (a resource, to read further) or not.
enum Shape {
    Mapping,
    Other,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Shape;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a resource")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Shape::Mapping)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Shape::Other)
            }

            fn visit_bool<E>(self, _: bool) -> Result<Shape, E> {
                Ok(Shape::Other)
            }

            fn visit_i64<E>(self, _: i64) -> Result<Shape, E> {
                Ok(Shape::Other)
            }

            fn visit_u64<E>(self, _: u64) -> Result<Shape, E> {
                Ok(Shape::Other)
            }

            fn visit_f64<E>(self, _: f64) -> Result<Shape, E> {
                Ok(Shape::Other)
            }

            fn visit_str<E>(self, _: &str) -> Result<Shape, E> {
                Ok(Shape::Other)
            }

            fn visit_bytes<E>(self, _: &[u8]) -> Result<Shape, E> {
                Ok(Shape::Other)
            }

            fn visit_unit<E>(self) -> Result<Shape, E> {
                Ok(Shape::Other)
            }

            fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<Shape, A::Error> {
                // A tagged value (`!tag x`): not a resource either.
                let (IgnoredAny, variant) = data.variant::<IgnoredAny>()?;
                serde::de::VariantAccess::newtype_variant::<IgnoredAny>(variant)?;
                Ok(Shape::Other)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// One document of the input: its text and where it starts.
struct Doc<'a> {
    text: &'a str,
    /// 0-based line of the document's first line in the file.
    first_line: usize,
    /// 0-based column of the document's first character (JSON array items).
    first_column: usize,
}

/// Reads one document of a file as some type, errors located in the whole file.
trait Reader {
    /// Reads the document in full.
    fn read<T: DeserializeOwned>(&self, doc: &Doc) -> Result<T, ParseError>;

    /// A first look (shape, `kind`): the document is read in full later.
    fn peek<T: DeserializeOwned>(&self, doc: &Doc) -> Result<T, ParseError> {
        self.read(doc)
    }
}

/// YAML documents, through [`crate::yaml`].
struct Yaml<'a> {
    file: &'a str,
}

impl Yaml<'_> {
    /// Lines are relative to the document we handed the parser.
    fn in_file(doc: &Doc, mut e: ParseError) -> ParseError {
        e.line = e.line.map(|l| l + doc.first_line);
        e
    }
}

impl Reader for Yaml<'_> {
    fn read<T: DeserializeOwned>(&self, doc: &Doc) -> Result<T, ParseError> {
        crate::yaml::from_str(self.file, doc.text).map_err(|e| Self::in_file(doc, e))
    }

    fn peek<T: DeserializeOwned>(&self, doc: &Doc) -> Result<T, ParseError> {
        crate::yaml::peek(self.file, doc.text).map_err(|e| Self::in_file(doc, e))
    }
}

/// JSON objects.
struct Json<'a> {
    file: &'a str,
}

impl Json<'_> {
    fn error(&self, e: serde_json::Error, path: String, doc: &Doc) -> ParseError {
        let (line, column) = if e.line() == 0 {
            (None, None)
        } else if e.line() == 1 {
            (Some(doc.first_line + 1), Some(e.column() + doc.first_column))
        } else {
            (Some(doc.first_line + e.line()), Some(e.column()))
        };
        ParseError { file: self.file.to_string(), line, column, path, message: clean_message(&e.to_string()) }
    }
}

impl Reader for Json<'_> {
    fn read<T: DeserializeOwned>(&self, doc: &Doc) -> Result<T, ParseError> {
        let mut de = serde_json::Deserializer::from_str(doc.text);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = field_path(e.path());
            self.error(e.into_inner(), path, doc)
        })?;
        de.end().map_err(|e| self.error(e, String::new(), doc))?;
        Ok(value)
    }
}

/// Parses every resource in `text`. `file` names the input in error messages.
pub fn parse_resources(file: &str, text: &str) -> Result<Vec<Resource>, ParseError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') { parse_json(file, text) } else { parse_yaml(file, text) }
}

fn parse_yaml(file: &str, text: &str) -> Result<Vec<Resource>, ParseError> {
    let reader = Yaml { file };
    let mut out = Vec::new();
    for (index, doc) in split_yaml(text).iter().enumerate() {
        match reader.peek::<Option<Shape>>(doc)? {
            None => continue,
            Some(Shape::Mapping) => {}
            Some(Shape::Other) => {
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
        }
        let header: Header = reader.peek(doc)?;
        let resource = read_kind(header.kind, &reader, doc)?;
        check(file, doc, resource, &mut out)?;
    }
    Ok(out)
}

fn parse_json(file: &str, text: &str) -> Result<Vec<Resource>, ParseError> {
    let reader = Json { file };
    let whole = Doc { text, first_line: 0, first_column: 0 };
    let docs: Vec<Doc> = if text.trim_start().starts_with('[') {
        let items: Vec<&serde_json::value::RawValue> =
            serde_json::from_str(text).map_err(|e| reader.error(e, String::new(), &whole))?;
        // Items come in text order: count lines from the previous item on, so that the whole
        // array costs one pass (counting from the start for each item was quadratic: a 256 KiB
        // body of 87,000 one-line items cost seconds).
        let (mut at, mut line, mut line_start) = (0usize, 0usize, 0usize);
        items
            .into_iter()
            .map(|raw| {
                let item = raw.get();
                let offset = (item.as_ptr() as usize).saturating_sub(text.as_ptr() as usize).min(text.len()).max(at);
                let between = text.get(at..offset).unwrap_or_default();
                line += between.matches('\n').count();
                if let Some(i) = between.rfind('\n') {
                    line_start = at + i + 1;
                }
                at = offset;
                Doc { text: item, first_line: line, first_column: offset - line_start }
            })
            .collect()
    } else {
        vec![whole]
    };
    let mut out = Vec::new();
    for doc in &docs {
        let header: Header = reader.read(doc)?;
        let resource = read_kind(header.kind, &reader, doc)?;
        check(file, doc, resource, &mut out)?;
    }
    Ok(out)
}

/// Reads one document as the typed resource of `kind`.
fn read_kind(kind: Kind, reader: &impl Reader, doc: &Doc) -> Result<Resource, ParseError> {
    Ok(match kind {
        Kind::Role => Resource::Role(reader.read(doc)?),
        Kind::User => Resource::User(reader.read(doc)?),
        Kind::Token => Resource::Token(reader.read(doc)?),
        Kind::TrustedCluster => Resource::TrustedCluster(reader.read(doc)?),
        Kind::RemoteCluster => Resource::RemoteCluster(reader.read(doc)?),
        Kind::CertAuthority => Resource::CertAuthority(reader.read(doc)?),
        Kind::Node => Resource::Node(reader.read(doc)?),
    })
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

/// Finds the line and column of a dotted field path's last key in a document's text (the
/// document's start when the key is not written).
fn locate(doc: &Doc, path: &str) -> (usize, usize) {
    match crate::yaml::locate_key(doc.text, path) {
        Some((1, column)) => (doc.first_line + 1, column + doc.first_column),
        Some((line, column)) => (doc.first_line + line, column),
        None => (doc.first_line + 1, doc.first_column + 1),
    }
}
