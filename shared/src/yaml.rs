//! Reading YAML with located errors: the one place Tether turns YAML text into typed values and
//! a parser's error into one line a person acts on, `FILE:LINE:COL: FIELD.PATH: message`. Resource
//! files (`tctl create`, and resources posted to the web API) and the daemon's `tether.yaml` both
//! read through [`from_str`]; JSON resources share [`ParseError`] and [`clean_message`].
//!
//! What it guarantees: the file is named in every error; the line and column are those of the
//! offending node when the parser knows them; the field path comes from `serde_path_to_error`
//! (empty for the document itself); the message says what was expected before what was found,
//! is one line, and quotes at most a short prefix of any value, so hostile input (a huge key or
//! scalar) cannot make a huge error. Checks that run after parsing locate their key in the text
//! with [`locate_key`].

use std::fmt;

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The first problem found in a YAML (or JSON) file.
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

/// Reads `text`, one YAML document, as a `T` (an empty document is YAML's null: read it as an
/// `Option`). `file` names the input in the error.
///
/// Once `T` is read, the text is walked again to refuse a key written twice in one mapping: serde
/// refuses it for struct fields, but a free-form map such as labels would silently keep the last
/// value. (In that order, so that a value `T` refuses, such as an alias bomb under an unknown
/// key, is reported where it is written rather than expanded.)
pub fn from_str<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ParseError> {
    let value = peek(file, text).map_err(|e| {
        // serde_yaml_ng places a duplicate struct field at its mapping; the walk finds the key.
        if e.message.starts_with("duplicate field") { peek::<UniqueKeys>(file, text).err().unwrap_or(e) } else { e }
    })?;
    peek::<UniqueKeys>(file, text)?;
    Ok(value)
}

/// [`from_str`] without the duplicate-key walk: for a first look at a document (its shape, its
/// `kind`) before it is read in full with [`from_str`].
pub fn peek<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ParseError> {
    check_flow_depth(file, text)?;
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = field_path(e.path());
        let inner = e.into_inner();
        // Some errors (an alias expanded too often, a second document) carry no position: then
        // the field's key, when it is found in the text.
        let (line, column) = match inner.location() {
            Some(l) => (Some(l.line()), Some(l.column())),
            None => locate_key(text, &path).map_or((None, None), |(l, c)| (Some(l), Some(c))),
        };
        ParseError { file: file.to_string(), line, column, path, message: clean_message(&inner.to_string()) }
    })
}

/// Flow collections (`[…]`, `{…}`) nested deeper than this are refused before the YAML parser
/// sees the text. The parser's scanner does work in the square of the flow depth (it revisits
/// every open level at each token): a 200 KB document of 100,000 nested `[` took minutes of CPU
/// before its error. No resource or config needs more than a few levels.
pub const MAX_FLOW_DEPTH: usize = 64;

/// At most this many `[` and `{` in one document, wherever they are (quoted, in comments, in
/// block scalars).
pub const MAX_FLOW_OPENERS: usize = 1024;

/// And at most this many for each byte of the document: brackets × length stays under this. The
/// depth check reads quotes and comments the way the parser does in the common cases only; the
/// parser's work is bounded by tokens × depth, and the depth by the brackets, so this bound holds
/// whatever a crafted text makes the depth check believe (a 256 KiB document gets 256 brackets).
pub const MAX_FLOW_WORK: usize = 1 << 26;

/// Refuses flow nesting past [`MAX_FLOW_DEPTH`], and brackets past [`MAX_FLOW_OPENERS`] or
/// [`MAX_FLOW_WORK`], in one linear pass, located at the bracket that goes too far. For the
/// depth, brackets in quoted scalars and comments do not count; a quote opens only where a token
/// starts (after `[`, `{`, `,`, at the start of a line, or after `:`, `-` or `?` and a blank), so
/// the apostrophe of `it's` opens nothing. Brackets inside block and plain scalars do count:
/// that can only overcount.
fn check_flow_depth(file: &str, text: &str) -> Result<(), ParseError> {
    let max_openers = MAX_FLOW_OPENERS.min(MAX_FLOW_WORK / text.len().max(1));
    let (mut depth, mut openers) = (0usize, 0usize);
    let (mut line, mut column) = (1usize, 0usize);
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut comment = false;
    let mut prev = '\n';
    // The last character that was not blank: a quote starts a token only after an indicator.
    let mut last = '\n';
    let refuse = |line: usize, column: usize, message: String| ParseError {
        file: file.to_string(),
        line: Some(line),
        column: Some(column),
        path: block_path(text, line),
        message,
    };
    for ch in text.chars() {
        column += 1;
        // YAML's line breaks: the parser ends a comment at any of them.
        if matches!(ch, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}') {
            if ch == '\n' {
                (line, column) = (line + 1, 0);
            }
            comment = false;
            if quote.is_none() {
                last = '\n';
            }
            prev = '\n';
            continue;
        }
        if matches!(ch, '[' | '{') {
            openers += 1;
            if openers > max_openers {
                let message = if max_openers == MAX_FLOW_OPENERS {
                    format!("more than {MAX_FLOW_OPENERS} [ and {{ in one document")
                } else {
                    format!("more than {max_openers} [ and {{ in a document of {} bytes", text.len())
                };
                return Err(refuse(line, column, message));
            }
        }
        let blank_before = matches!(prev, ' ' | '\t' | '\n');
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if ch == '\\' => escaped = true,
            Some(q) if ch == q => quote = None,
            Some(_) => {}
            None if comment => {}
            None => match ch {
                '"' | '\'' if matches!(last, '\n' | '[' | '{' | ',') => quote = Some(ch),
                '"' | '\'' if matches!(last, ':' | '-' | '?') && blank_before => quote = Some(ch),
                '#' if blank_before => comment = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        let message = format!("collections nested deeper than {MAX_FLOW_DEPTH} levels");
                        return Err(refuse(line, column, message));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        if !matches!(ch, ' ' | '\t') {
            last = ch;
        }
        prev = ch;
    }
    Ok(())
}

/// The block-mapping keys leading to line `line` (1-based), dot-joined (`metadata.labels`), read
/// from indentation alone: a hint for errors found before parsing; empty when the line holds no
/// `key:`.
fn block_path(text: &str, line: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let key_of = |l: &str| -> Option<(usize, String)> {
        let indent = l.len() - l.trim_start().len();
        let (key, _) = l.trim_start().trim_start_matches("- ").split_once(':')?;
        let key = key.trim();
        let plain = !key.is_empty() && !key.contains(|c: char| c.is_whitespace() || "[]{}\"'#,&*!|>%@`".contains(c));
        plain.then(|| (indent, key.to_string()))
    };
    let Some((mut indent, key)) = line.checked_sub(1).and_then(|i| lines.get(i)).and_then(|l| key_of(l)) else {
        return String::new();
    };
    let mut parts = vec![key];
    for l in lines.iter().take(line - 1).rev() {
        let here = l.len() - l.trim_start().len();
        if l.trim().is_empty() || l.trim_start().starts_with('#') || here >= indent {
            continue;
        }
        match key_of(l) {
            Some((i, k)) => {
                parts.push(k);
                indent = i;
            }
            None => break,
        }
        if indent == 0 {
            break;
        }
    }
    parts.reverse();
    parts.join(".")
}

/// Any YAML value whose mappings have no key twice (scalar keys compared as written).
struct UniqueKeys;

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeysVisitor)
    }
}

struct UniqueKeysVisitor;

impl<'de> Visitor<'de> for UniqueKeysVisitor {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_bytes<E>(self, _: &[u8]) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_none<E>(self) -> Result<UniqueKeys, E> {
        Ok(UniqueKeys)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<UniqueKeys, D::Error> {
        UniqueKeys::deserialize(deserializer)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<UniqueKeys, D::Error> {
        UniqueKeys::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(UniqueKeys)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<Key>()? {
            if let Key::Scalar(key) = key
                && !seen.insert(key.clone())
            {
                return Err(de::Error::custom(format!("duplicate key `{key}` in one mapping")));
            }
            map.next_value::<UniqueKeys>()?;
        }
        Ok(UniqueKeys)
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<UniqueKeys, A::Error> {
        // A tagged value (`!tag x`).
        let (IgnoredAny, variant) = data.variant::<IgnoredAny>()?;
        de::VariantAccess::newtype_variant::<UniqueKeys>(variant)
    }
}

/// A mapping key: a scalar as written, or a collection (not compared).
enum Key {
    Scalar(String),
    Collection,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping key")
            }

            fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
                Ok(Key::Scalar(v.to_string()))
            }

            fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
                Ok(Key::Scalar(v.to_string()))
            }

            fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
                Ok(Key::Scalar(v.to_string()))
            }

            fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
                Ok(Key::Scalar(v.to_string()))
            }

            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key::Scalar(v.to_string()))
            }

            fn visit_unit<E>(self) -> Result<Key, E> {
                Ok(Key::Scalar("null".into()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Key, A::Error> {
                UniqueKeysVisitor.visit_seq(seq).map(|_| Key::Collection)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Key, A::Error> {
                UniqueKeysVisitor.visit_map(map).map(|_| Key::Collection)
            }

            fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Key, A::Error> {
                UniqueKeysVisitor.visit_enum(data).map(|_| Key::Collection)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A `serde_path_to_error` path as Tether prints it: `spec.allow.logins`, `role_map[1]`; empty
/// for the document itself. A key that could not be read as a name (`?`) is left out.
pub fn field_path(path: &serde_path_to_error::Path) -> String {
    let path = path.to_string();
    let path = path.trim_end_matches('?').trim_end_matches('.');
    if path == "." {
        return String::new();
    }
    // A hostile key (an unknown field's name) is shortened like a quoted value.
    path.split('.')
        .map(|key| shorten_quoted(&format!("`{key}`")).trim_matches('`').to_string())
        .collect::<Vec<_>>()
        .join(".")
}

/// The longest value quoted in a message, in bytes; longer ones are cut with `…`.
const MAX_QUOTED: usize = 64;

/// Rewrites a serde error message (YAML or JSON) into one line a person reads: drops the
/// position (printed in front) and the parser's own path prefix, says what was expected before
/// what was found, and shortens long quoted values.
pub fn clean_message(raw: &str) -> String {
    let mut msg = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some(i) = msg.find(" at line ") {
        msg.truncate(i);
    }
    // serde_yaml_ng prefixes nested errors with the YAML path; we print our own path.
    if let Some((head, tail)) = msg.split_once(": ")
        && !head.is_empty()
        && !head.contains([' ', '"', '`'])
    {
        msg = tail.to_string();
    }
    let msg = reword(msg);
    shorten_quoted(&msg)
}

fn reword(mut msg: String) -> String {
    if msg.contains("more than one document") {
        return "the file must hold one YAML document (remove the second `---`)".into();
    }
    msg = msg.replace("expected field identifier", "expected a key name");
    if let Some(rest) = msg.strip_prefix("invalid type: ").or_else(|| msg.strip_prefix("invalid value: "))
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        let expected = if expected.starts_with("struct ") || expected.starts_with("map") || expected == "a map" {
            "a mapping"
        } else if expected == "a sequence" {
            "a list"
        } else {
            expected
        };
        return format!("expected {expected}, found {found}");
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("unknown value {found}, expected {}", expected.trim_start_matches("one of "));
    }
    if let Some(rest) = msg.strip_prefix("unknown field ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return format!("unknown field {found} (known fields: {})", expected.trim_start_matches("one of "));
    }
    msg
}

/// Cuts every value between backticks or double quotes to [`MAX_QUOTED`] bytes.
fn shorten_quoted(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len().min(1024));
    let mut rest = msg;
    while let Some(open) = rest.find(['`', '"']) {
        let Some(&quote) = rest.as_bytes().get(open) else { break };
        let quote = quote as char;
        out.push_str(&rest[..=open]);
        rest = &rest[open + 1..];
        let Some(close) = rest.find(quote) else { break };
        let value = &rest[..close];
        if value.len() > MAX_QUOTED {
            let mut cut = MAX_QUOTED;
            while !value.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(&value[..cut]);
            out.push('…');
        } else {
            out.push_str(value);
        }
        out.push(quote);
        rest = &rest[close + 1..];
    }
    if rest.len() > 4 * MAX_QUOTED {
        // An unterminated quote: keep the start only.
        let mut cut = 4 * MAX_QUOTED;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push_str(&rest[..cut]);
        out.push('…');
    } else {
        out.push_str(rest);
    }
    out
}

/// Finds the 1-based line and column of the key at a dotted path (`teleport.storage.type`,
/// `spec.role_map[0]`: indices are ignored) in block-style YAML. Keys may be plain, `"quoted"`
/// or `'quoted'`. Stops at the deepest key found (keys inside flow-style mappings are located
/// at their parent key); `None` when even the first key is not found.
pub fn locate_key(text: &str, path: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    let mut min_indent = 0;
    let mut found = None;
    for key in path.split('.') {
        let key = key.split('[').next().unwrap_or(key);
        let hit = lines.iter().enumerate().skip(from).find_map(|(i, line)| {
            let (indent, trimmed) = key_start(line);
            let is_key = [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")]
                .iter()
                .any(|k| trimmed.starts_with(k.as_str()));
            (indent >= min_indent && is_key).then_some((i, indent))
        });
        let Some((i, indent)) = hit else { break };
        found = Some((i + 1, indent + 1));
        from = i + 1;
        min_indent = indent + 1;
    }
    found
}

/// Where a line's key starts: after the indentation and any `- ` of a list item.
fn key_start(line: &str) -> (usize, &str) {
    let mut trimmed = line.trim_start();
    while let Some(item) = trimmed.strip_prefix("- ") {
        trimmed = item.trim_start();
    }
    (line.len() - trimmed.len(), trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        kind: Option<Kind>,
        #[serde(default)]
        labels: std::collections::BTreeMap<String, String>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Kind {
        Role,
        User,
    }

    fn err(text: &str) -> ParseError {
        from_str::<Doc>("f.yaml", text).expect_err("should be refused")
    }

    #[test]
    fn errors_name_file_line_column_and_field() {
        let e = err("name: a\nkind: robot\n");
        assert_eq!(e.to_string(), "f.yaml:2:7: kind: unknown value `robot`, expected `role` or `user`");
        let e = err("name: a\nnmae: b\n");
        assert_eq!((e.line, e.column, e.path.as_str()), (Some(2), Some(1), "nmae"), "{e}");
        assert!(e.message.starts_with("unknown field `nmae` (known fields: `name`, "), "{e}");
        let e = err("name: [a]\n");
        assert_eq!(e.to_string(), "f.yaml:1:7: name: expected a string, found sequence");
        let e = err("- a\n");
        assert_eq!((e.path.as_str(), e.line), ("", Some(1)), "{e}");
        assert!(e.message.starts_with("expected a mapping"), "{e}");
    }

    #[test]
    fn a_key_that_is_not_a_name_is_left_out_of_the_path() {
        let e = err("name: a\nlabels:\n  {x: y}: z\n");
        assert_eq!(e.path, "labels", "{e}");
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        let key = "k".repeat(1000);
        let e = err(&format!("name: a\n{key}: 1\n"));
        let shown = e.to_string();
        assert!(shown.len() < 400, "{} bytes: {shown:.200}", shown.len());
        assert!(shown.contains("unknown field `kkkk"), "{shown:.200}");
        assert!(shown.contains("…`"), "{shown:.200}");
        assert_eq!(shorten_quoted("`é`"), "`é`");
        let wide = "é".repeat(100);
        assert!(shorten_quoted(&format!("\"{wide}\"")).ends_with("…\""));
    }

    #[test]
    fn reworded_messages() {
        assert_eq!(
            clean_message("invalid type: string \"x\", expected a sequence at line 2 column 3"),
            "expected a list, found string \"x\""
        );
        assert_eq!(
            clean_message("a.b: invalid type: integer `1`, expected a map"),
            "expected a mapping, found integer `1`"
        );
        assert_eq!(
            clean_message("unknown variant `x`, expected one of `a`, `b`"),
            "unknown value `x`, expected `a`, `b`"
        );
        assert_eq!(clean_message("expected field identifier"), "expected a key name");
    }

    #[test]
    fn locate_key_finds_quoted_keys_and_ignores_indices() {
        let text = "a:\n  'b':\n    - c: 1\n  \"d\": 2\ne: {f: 3}\n";
        assert_eq!(locate_key(text, "a.b"), Some((2, 3)));
        assert_eq!(locate_key(text, "a.d"), Some((4, 3)));
        assert_eq!(locate_key(text, "a.b[0].c"), Some((3, 7)));
        assert_eq!(locate_key(text, "e.f"), Some((5, 1)));
        assert_eq!(locate_key(text, "x"), None);
    }
}
