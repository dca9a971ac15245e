//! Trait templates in role fields: `{{internal.logins}}`, `{{external.env}}`,
//! `{{email.local(external.email)}}`, `{{regexp.replace(external.team, "^dev-(.*)$", "$1")}}`.
//!
//! A role value is a literal, or one template with optional literal text around it
//! (`ssh-{{external.team}}`). Templates are parsed (and their regexes compiled) once, when the
//! role is parsed; a malformed template is a [`TemplateError`]. Expanding a template against a
//! user's traits yields zero or more values: a missing trait expands to nothing.

use std::fmt;

use regex::Regex;

use crate::identity::Traits;

/// The traits that `internal.NAME` may name: Tether's own, set on the user resource.
pub const INTERNAL_TRAITS: &[&str] = &["logins", "kubernetes_groups", "kubernetes_users", "db_users", "db_names"];

/// Why a template did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed template {input:?}: {reason}")]
pub struct TemplateError {
    /// The text that was being parsed.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

/// A parsed role value: literal text, or a template with literal text around it.
#[derive(Debug, Clone)]
pub struct Template {
    prefix: String,
    expr: Option<Expr>,
    suffix: String,
}

#[derive(Debug, Clone)]
enum Expr {
    /// `internal.NAME` or `external.NAME`: the values of the user's trait NAME.
    Trait { namespace: &'static str, name: String },
    /// `email.local(EXPR)`: the part of each value before `@`.
    EmailLocal(Box<Expr>),
    /// `regexp.replace(EXPR, "re", "replacement")`: values matching `re`, rewritten.
    Replace { inner: Box<Expr>, re: Regex, replacement: String },
}

impl Template {
    /// Parses one role value.
    pub fn parse(input: &str) -> Result<Self, TemplateError> {
        let fail = |reason: String| TemplateError { input: input.to_string(), reason };
        let Some(open) = input.find("{{") else {
            if input.contains("}}") {
                return Err(fail("found '}}' without a matching '{{'".into()));
            }
            return Ok(Template { prefix: input.to_string(), expr: None, suffix: String::new() });
        };
        let after_open = &input[open + 2..];
        let close = after_open.find("}}").ok_or_else(|| fail("'{{' is never closed by '}}'".into()))?;
        let suffix = &after_open[close + 2..];
        if suffix.contains("{{") || suffix.contains("}}") {
            return Err(fail("a value may hold only one {{...}} template".into()));
        }
        let mut parser = Parser { text: &after_open[..close], pos: 0 };
        let expr = parser.expr().map_err(fail)?;
        parser.skip_ws();
        if parser.pos != parser.text.len() {
            return Err(fail(format!("unexpected text {:?} after the expression", &parser.text[parser.pos..])));
        }
        Ok(Template { prefix: input[..open].to_string(), expr: Some(expr), suffix: suffix.to_string() })
    }

    /// True when the value holds no template.
    pub fn is_literal(&self) -> bool {
        self.expr.is_none()
    }

    /// Expands the value against `traits`: a literal yields itself; a template yields one value
    /// per trait value (with the literal text around it), none when the trait is missing.
    ///
    /// ```
    /// use tether_shared::identity::Traits;
    /// use tether_shared::template::Template;
    ///
    /// let mut traits = Traits::new();
    /// traits.insert("logins".into(), vec!["alice".into(), "deploy".into()]);
    /// traits.insert("email".into(), vec!["alice@example.com".into()]);
    ///
    /// assert_eq!(Template::parse("{{internal.logins}}")?.expand(&traits), ["alice", "deploy"]);
    /// assert_eq!(Template::parse("ops-{{email.local(external.email)}}")?.expand(&traits), ["ops-alice"]);
    /// // A trait the user lacks expands to nothing, so it grants nothing.
    /// assert!(Template::parse("{{external.team}}")?.expand(&traits).is_empty());
    /// // Mistakes are caught when the role is read, not when it is used.
    /// assert!(Template::parse("{{internal.nope}}").is_err());
    /// # Ok::<(), tether_shared::template::TemplateError>(())
    /// ```
    pub fn expand(&self, traits: &Traits) -> Vec<String> {
        match &self.expr {
            None => vec![self.prefix.clone()],
            Some(expr) => expr
                .eval(traits)
                .into_iter()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{}{}{}", self.prefix, v, self.suffix))
                .collect(),
        }
    }
}

impl Expr {
    fn eval(&self, traits: &Traits) -> Vec<String> {
        match self {
            Expr::Trait { name, .. } => traits.get(name).cloned().unwrap_or_default(),
            Expr::EmailLocal(inner) => inner
                .eval(traits)
                .into_iter()
                .filter_map(|v| v.split_once('@').map(|(local, _)| local.to_string()))
                .collect(),
            Expr::Replace { inner, re, replacement } => inner
                .eval(traits)
                .into_iter()
                .filter(|v| re.is_match(v))
                .map(|v| re.replace_all(&v, replacement.as_str()).into_owned())
                .collect(),
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix)?;
        if let Some(expr) = &self.expr {
            write!(f, "{{{{{expr}}}}}{}", self.suffix)?;
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Trait { namespace, name } => write!(f, "{namespace}.{name}"),
            Expr::EmailLocal(inner) => write!(f, "email.local({inner})"),
            Expr::Replace { inner, re, replacement } => {
                write!(f, "regexp.replace({inner}, {:?}, {replacement:?})", re.as_str())
            }
        }
    }
}

/// Expands every value of a role field against `traits`, keeping order and dropping duplicates.
/// Values that fail to parse are skipped: role fields are validated when the role is parsed.
pub fn expand_all(values: &[String], traits: &Traits) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let expanded = match Template::parse(value) {
            Ok(t) => t.expand(traits),
            Err(_) => continue,
        };
        for v in expanded {
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// A tiny recursive-descent parser for the expression inside `{{ }}`.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.text[self.pos..].starts_with(char::is_whitespace) {
            self.pos += self.text[self.pos..].chars().next().map_or(1, char::len_utf8);
        }
    }

    fn ident(&mut self) -> Result<&str, String> {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
        if len == 0 {
            return Err(match rest.chars().next() {
                Some(c) => format!("expected a name, found {c:?}"),
                None => "expected a name, found the end of the template".into(),
            });
        }
        self.pos += len;
        Ok(&rest[..len])
    }

    fn expect(&mut self, token: char) -> Result<(), String> {
        self.skip_ws();
        if self.text[self.pos..].starts_with(token) {
            self.pos += token.len_utf8();
            Ok(())
        } else {
            Err(format!("expected {token:?} at {:?}", &self.text[self.pos..]))
        }
    }

    fn quoted(&mut self) -> Result<String, String> {
        self.skip_ws();
        let rest = &self.text[self.pos..];
        if !rest.starts_with('"') {
            return Err(format!("expected a double-quoted string at {rest:?}"));
        }
        let mut out = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, escaped)) => {
                        // Keep regex escapes intact; only \" and \\ are string escapes.
                        if escaped != '"' && escaped != '\\' {
                            out.push('\\');
                        }
                        out.push(escaped);
                    }
                    None => break,
                },
                _ => out.push(c),
            }
        }
        Err("a quoted string is never closed".into())
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let namespace = self.ident()?.to_string();
        self.expect('.')?;
        let name = self.ident()?.to_string();
        match (namespace.as_str(), name.as_str()) {
            ("internal", _) => match INTERNAL_TRAITS.iter().find(|t| **t == name) {
                Some(_) => Ok(Expr::Trait { namespace: "internal", name }),
                None => Err(format!("unknown internal trait {name:?} (known: {})", INTERNAL_TRAITS.join(", "))),
            },
            ("external", _) => Ok(Expr::Trait { namespace: "external", name }),
            ("email", "local") => {
                self.expect('(')?;
                let inner = self.expr()?;
                self.expect(')')?;
                Ok(Expr::EmailLocal(Box::new(inner)))
            }
            ("regexp", "replace") => {
                self.expect('(')?;
                let inner = self.expr()?;
                self.expect(',')?;
                let pattern = self.quoted()?;
                self.expect(',')?;
                let replacement = self.quoted()?;
                self.expect(')')?;
                let re = Regex::new(&pattern).map_err(|e| {
                    format!("bad regular expression {pattern:?}: {}", crate::pattern::regex_error_line(&e))
                })?;
                Ok(Expr::Replace { inner: Box::new(inner), re, replacement })
            }
            _ => Err(format!(
                "unknown expression {namespace}.{name} (use internal.NAME, external.NAME, email.local(...) or regexp.replace(...))"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traits() -> Traits {
        let mut t = Traits::new();
        t.insert("logins".into(), vec!["root".into(), "ubuntu".into()]);
        t.insert("email".into(), vec!["alice@example.com".into(), "not-an-email".into()]);
        t.insert("team".into(), vec!["dev-web".into(), "ops".into()]);
        t.insert("env".into(), vec!["staging".into()]);
        t
    }

    fn expand(s: &str) -> Vec<String> {
        Template::parse(s).unwrap().expand(&traits())
    }

    #[test]
    fn literals_pass_through() {
        assert_eq!(expand("visitor"), ["visitor"]);
        assert!(Template::parse("visitor").unwrap().is_literal());
    }

    #[test]
    fn internal_and_external_traits() {
        assert_eq!(expand("{{internal.logins}}"), ["root", "ubuntu"]);
        assert_eq!(expand("{{ external.env }}"), ["staging"]);
        assert_eq!(expand("ssh-{{external.env}}-x"), ["ssh-staging-x"]);
        assert!(expand("{{internal.db_users}}").is_empty(), "missing trait expands to nothing");
        assert!(expand("{{external.nope}}").is_empty());
    }

    #[test]
    fn functions() {
        assert_eq!(expand("{{email.local(external.email)}}"), ["alice"]);
        assert_eq!(expand(r#"{{regexp.replace(external.team, "^dev-(.*)$", "$1")}}"#), ["web"]);
        assert_eq!(expand(r#"{{regexp.replace(external.team, "\\w+", "x")}}"#), ["x-x", "x"]);
    }

    #[test]
    fn expand_all_dedups_in_order() {
        let values = vec!["root".to_string(), "{{internal.logins}}".into(), "visitor".into()];
        assert_eq!(expand_all(&values, &traits()), ["root", "ubuntu", "visitor"]);
    }

    #[test]
    fn malformed_templates_are_errors() {
        let cases = [
            ("{{internal.logins", "never closed"),
            ("internal.logins}}", "without a matching"),
            ("{{internal.nope}}", "unknown internal trait"),
            ("{{foo.bar}}", "unknown expression"),
            ("{{internal}}", "expected '.'"),
            ("{{internal.logins extra}}", "unexpected text"),
            ("{{email.local(external.email}}", "expected ')'"),
            (r#"{{regexp.replace(external.x, "(", "y")}}"#, "bad regular expression"),
            (r#"{{regexp.replace(external.x, "a)}}"#, "never closed"),
            ("{{external.a}}{{external.b}}", "only one"),
            ("{{}}", "expected a name"),
        ];
        for (input, want) in cases {
            let err = Template::parse(input).unwrap_err().to_string();
            assert!(err.contains(want), "{input}: {err}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["x", "a{{internal.logins}}b", "{{email.local(external.email)}}"] {
            let t = Template::parse(s).unwrap();
            assert_eq!(Template::parse(&t.to_string()).unwrap().to_string(), t.to_string());
        }
    }
}
