//! Trait templates in role fields, in Teleport's language: `{{internal.logins}}`,
//! `{{external.env}}`, `{{external["http://schemas.example.com/claims/team"]}}`, `{{"text"}}`,
//! `{{email.local(external.email)}}`, `{{regexp.replace(external.team, "^dev-(.*)$", "$1")}}`.
//!
//! A role value is a literal, or one template with optional literal text around it
//! (`ssh-{{ external.team }}-x`). Inside `{{ }}`: a trait (`internal.NAME` for the traits Tether
//! keeps on users, [`INTERNAL_TRAITS`]; `external.NAME` for any trait; either also as
//! `NS["NAME"]`, for names with dots, slashes or colons), a double-quoted constant, or one
//! function call on a trait: `email.local(TRAIT)` (the local part of each address, display
//! names allowed: `Alice <alice@example.com>` gives `alice`; values that are not addresses are
//! dropped) or `regexp.replace(TRAIT, "re", "replacement")` (`$1`, `${name}`; values that do not
//! match are dropped). Functions do not nest, as in Teleport; any other namespace is refused.
//! Templates are parsed (and their regexes compiled) once, when the role is parsed; a malformed
//! template is a [`TemplateError`] naming the column. Expanding a template against a user's
//! traits yields zero or more values: a missing trait expands to nothing.

use std::fmt;

use regex::Regex;

use crate::identity::Traits;

/// The traits that `internal.NAME` may name: those Teleport keeps on users (Tether uses logins
/// and keeps the rest for roles written for Teleport).
pub const INTERNAL_TRAITS: &[&str] = &[
    "logins",
    "windows_logins",
    "kubernetes_groups",
    "kubernetes_users",
    "db_users",
    "db_names",
    "db_roles",
    "aws_role_arns",
    "azure_identities",
    "gcp_service_accounts",
    "host_user_uid",
    "host_user_gid",
    "github_identities",
    "jwt",
];

/// Why a template did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed template {input:?}: {reason}")]
pub struct TemplateError {
    /// The text that was being parsed.
    pub input: String,
    /// What is wrong with it, and where (`at column N`, from 1).
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
    /// `internal.NAME`, `external.NAME` (or `NS["NAME"]`): the values of the user's trait NAME.
    Trait { namespace: &'static str, name: String },
    /// `"text"`: itself.
    Const(String),
    /// `email.local(TRAIT)`: the local part of each address.
    EmailLocal(Box<Expr>),
    /// `regexp.replace(TRAIT, "re", "replacement")`: values matching `re`, rewritten.
    Replace { inner: Box<Expr>, re: Regex, replacement: String },
}

impl Template {
    /// Parses one role value.
    pub fn parse(input: &str) -> Result<Self, TemplateError> {
        let fail = |reason: String| TemplateError { input: input.to_string(), reason };
        let Some(open) = input.find("{{") else {
            if let Some(at) = input.find("}}") {
                return Err(fail(format!("'}}}}' without a matching '{{{{' at column {}", column(input, at))));
            }
            return Ok(Template { prefix: input.to_string(), expr: None, suffix: String::new() });
        };
        let inner_start = open + 2;
        let after_open = input.get(inner_start..).unwrap_or_default();
        let close = after_open
            .find("}}")
            .ok_or_else(|| fail(format!("'{{{{' at column {} is never closed by '}}}}'", column(input, open))))?;
        let suffix = after_open.get(close + 2..).unwrap_or_default();
        if let Some(again) = suffix.find("{{").or_else(|| suffix.find("}}")) {
            let at = inner_start + close + 2 + again;
            return Err(fail(format!(
                "a value may hold only one {{{{...}}}} template (more at column {})",
                column(input, at)
            )));
        }
        let mut parser = Parser { text: after_open.get(..close).unwrap_or_default(), pos: 0, base: inner_start, input };
        let expr = parser.top().map_err(fail)?;
        parser.skip_ws();
        if parser.pos != parser.text.len() {
            return Err(fail(format!("unexpected {:?} at column {}", parser.rest(), parser.column())));
        }
        Ok(Template {
            prefix: input.get(..open).unwrap_or_default().to_string(),
            expr: Some(expr),
            suffix: suffix.to_string(),
        })
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
    /// traits.insert("email".into(), vec!["Alice <alice@example.com>".into()]);
    /// traits.insert("http://example.com/team".into(), vec!["web".into()]);
    ///
    /// assert_eq!(Template::parse("{{internal.logins}}")?.expand(&traits), ["alice", "deploy"]);
    /// assert_eq!(Template::parse("ops-{{ email.local(external.email) }}")?.expand(&traits), ["ops-alice"]);
    /// assert_eq!(Template::parse(r#"{{external["http://example.com/team"]}}"#)?.expand(&traits), ["web"]);
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

/// The 1-based column of byte offset `at` in `input`, in characters.
fn column(input: &str, at: usize) -> usize {
    input.get(..at).map_or(at, |s| s.chars().count()) + 1
}

/// The local part of an email address, with or without a display name
/// (`Alice <alice@example.com>`); `None` for a value that is not an address.
fn email_local(value: &str) -> Option<String> {
    let value = value.trim();
    let address = match (value.rfind('<'), value.ends_with('>')) {
        (Some(open), true) => value.get(open + 1..value.len() - 1)?,
        _ => value,
    };
    let (local, domain) = address.rsplit_once('@')?;
    let plain =
        |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control() || "<>@,;\"".contains(c));
    (plain(local) && plain(domain)).then(|| local.to_string())
}

impl Expr {
    fn eval(&self, traits: &Traits) -> Vec<String> {
        match self {
            Expr::Trait { name, .. } => traits.get(name).cloned().unwrap_or_default(),
            Expr::Const(text) => vec![text.clone()],
            Expr::EmailLocal(inner) => inner.eval(traits).iter().filter_map(|v| email_local(v)).collect(),
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
            Expr::Trait { namespace, name } if is_ident(name) => write!(f, "{namespace}.{name}"),
            Expr::Trait { namespace, name } => write!(f, "{namespace}[{name:?}]"),
            Expr::Const(text) => write!(f, "{text:?}"),
            Expr::EmailLocal(inner) => write!(f, "email.local({inner})"),
            Expr::Replace { inner, re, replacement } => {
                write!(f, "regexp.replace({inner}, {:?}, {replacement:?})", re.as_str())
            }
        }
    }
}

/// Whether `name` can be written after a dot (`NS.name`) rather than in brackets.
fn is_ident(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Expands every value of a role field against `traits`, keeping order and dropping duplicates.
/// Values that fail to parse are skipped: role fields are validated when the role is parsed.
pub fn expand_all(values: &[String], traits: &Traits) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        // Most values are plain: no parse, no template.
        if !value.contains("{{") && !value.contains("}}") {
            if !out.contains(value) {
                out.push(value.clone());
            }
            continue;
        }
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

/// Makes a function's expression from its trait argument and its string arguments.
type BuildCall = fn(Expr, Vec<String>) -> Result<Expr, String>;

/// A recursive-descent parser for the expression inside `{{ }}`; positions are reported as
/// columns of the whole value.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
    /// Where `text` starts in `input`.
    base: usize,
    input: &'a str,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or_default()
    }

    fn column(&self) -> usize {
        self.col(self.pos)
    }

    /// The column of position `at` of `text` (computed only for errors).
    fn col(&self, at: usize) -> usize {
        column(self.input, self.base + at)
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.rest().chars().next().filter(|c| c.is_whitespace()) {
            self.pos += c.len_utf8();
        }
    }

    fn ident(&mut self) -> Result<&'a str, String> {
        self.skip_ws();
        let rest = self.rest();
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(rest.len());
        if len == 0 {
            return Err(match rest.chars().next() {
                Some(c) => format!("expected a name, found {c:?} at column {}", self.column()),
                None => format!("expected a name at column {}, found the end of the template", self.column()),
            });
        }
        let name = rest.get(..len).unwrap_or_default();
        self.pos += len;
        Ok(name)
    }

    fn eat(&mut self, token: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(token) {
            self.pos += token.len_utf8();
            true
        } else {
            false
        }
    }

    /// `what` says where the token belongs; it is formatted only for an error.
    fn expect(&mut self, token: char, what: impl FnOnce() -> String) -> Result<(), String> {
        if self.eat(token) {
            return Ok(());
        }
        let what = what();
        Err(match self.rest().chars().next() {
            Some(c) => format!("expected {token:?} {what}, found {c:?} at column {}", self.column()),
            None => format!("expected {token:?} {what} at column {}, found the end of the template", self.column()),
        })
    }

    fn quoted(&mut self) -> Result<String, String> {
        self.skip_ws();
        let at = self.pos;
        let rest = self.rest();
        if !rest.starts_with('"') {
            return Err(format!("expected a double-quoted string at column {}", self.col(at)));
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
        Err(format!("the string opened at column {} is never closed", self.col(at)))
    }

    /// The whole expression: a constant, a trait, or one function call on a trait.
    fn top(&mut self) -> Result<Expr, String> {
        self.skip_ws();
        if self.rest().starts_with('"') {
            return Ok(Expr::Const(self.quoted()?));
        }
        let at = self.pos;
        let namespace = self.ident()?;
        match namespace {
            "internal" | "external" => self.variable(namespace, at),
            "email" | "regexp" => {
                self.expect('.', || format!("after {namespace:?}"))?;
                let function = self.ident()?;
                self.call(namespace, function, at)
            }
            other => Err(format!(
                "unknown namespace {other:?} at column {}: use internal.NAME, external.NAME, \"text\", \
                 email.local(...) or regexp.replace(...)",
                self.col(at)
            )),
        }
    }

    /// `NS.NAME` or `NS["NAME"]`, after `NS`.
    fn variable(&mut self, namespace: &str, at: usize) -> Result<Expr, String> {
        let name = if self.eat('[') {
            let name = self.quoted()?;
            self.expect(']', || "after the trait name".into())?;
            name
        } else {
            self.expect('.', || format!("after {namespace:?}"))?;
            self.ident()?.to_string()
        };
        if name.is_empty() {
            return Err(format!("an empty trait name at column {}", self.col(at)));
        }
        if namespace == "internal" {
            if !INTERNAL_TRAITS.contains(&name.as_str()) {
                return Err(format!(
                    "unknown internal trait {name:?} at column {} (known: {}; other traits are external.NAME)",
                    self.col(at),
                    INTERNAL_TRAITS.join(", ")
                ));
            }
            return Ok(Expr::Trait { namespace: "internal", name });
        }
        Ok(Expr::Trait { namespace: "external", name })
    }

    /// The argument of a function: a trait (functions do not nest).
    fn argument(&mut self, function: &str) -> Result<Expr, String> {
        self.skip_ws();
        let at = self.pos;
        if self.rest().starts_with('"') {
            return Err(format!(
                "{function} takes a trait (internal.NAME or external.NAME), not a string, at column {}",
                self.col(at)
            ));
        }
        let namespace = self.ident()?;
        match namespace {
            "internal" | "external" => self.variable(namespace, at),
            "email" | "regexp" => {
                Err(format!("functions do not nest: {namespace}.… inside {function} at column {}", self.col(at)))
            }
            other => Err(format!(
                "unknown namespace {other:?} at column {}: {function} takes internal.NAME or external.NAME",
                self.col(at)
            )),
        }
    }

    /// `email.local(…)` or `regexp.replace(…)`, after the function's name.
    fn call(&mut self, namespace: &str, function: &str, at: usize) -> Result<Expr, String> {
        let name = format!("{namespace}.{function}");
        let (arity, build): (usize, BuildCall) = match name.as_str() {
            "email.local" => (1, |inner, _| Ok(Expr::EmailLocal(Box::new(inner)))),
            "regexp.replace" => (3, |inner, strings| {
                let (pattern, replacement) =
                    (strings.first().cloned().unwrap_or_default(), strings.get(1).cloned().unwrap_or_default());
                let re = crate::pattern::regex(&pattern).map_err(|e| {
                    format!("bad regular expression {pattern:?}: {}", crate::pattern::regex_error_line(&e))
                })?;
                Ok(Expr::Replace { inner: Box::new(inner), re, replacement })
            }),
            _ => {
                return Err(format!(
                    "unknown function {name} at column {} (use email.local(...) or regexp.replace(...))",
                    self.col(at)
                ));
            }
        };
        self.expect('(', || format!("after {name}"))?;
        let inner = self.argument(&name)?;
        let mut strings = Vec::new();
        let mut count = 1;
        while self.eat(',') {
            count += 1;
            if count > arity {
                self.skip_ws();
                let plural = if arity == 1 { "" } else { "s" };
                return Err(format!("{name} takes {arity} argument{plural}; one more at column {}", self.column()));
            }
            strings.push(self.quoted()?);
        }
        if count < arity {
            return Err(format!("{name} takes {arity} arguments, found {count}, at column {}", self.column()));
        }
        self.expect(')', || format!("to close {name}"))?;
        build(inner, strings)
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
        t.insert("http://schemas.example.com/claims/group".into(), vec!["admins".into()]);
        t.insert("named".into(), vec!["Alice Smith <alice.smith@example.com>".into(), "<bob@example.com>".into()]);
        t
    }

    fn expand(s: &str) -> Vec<String> {
        Template::parse(s).unwrap_or_else(|e| panic!("{e}")).expand(&traits())
    }

    fn refused(s: &str) -> String {
        Template::parse(s).map(|t| t.to_string()).expect_err(s).to_string()
    }

    #[test]
    fn literals_pass_through() {
        assert_eq!(expand("visitor"), ["visitor"]);
        assert!(Template::parse("visitor").unwrap().is_literal());
    }

    #[test]
    fn whitespace_inside_and_text_around_the_braces() {
        assert_eq!(expand("{{internal.logins}}"), ["root", "ubuntu"]);
        assert_eq!(expand("{{ external.env }}"), ["staging"]);
        assert_eq!(expand("{{   external.env\t}}"), ["staging"]);
        assert_eq!(expand("hello-{{internal.logins}}-x"), ["hello-root-x", "hello-ubuntu-x"]);
        assert_eq!(expand(" {{external.env}} "), [" staging "]);
    }

    #[test]
    fn bracket_syntax_for_names_with_dots_slashes_and_colons() {
        assert_eq!(expand(r#"{{external["http://schemas.example.com/claims/group"]}}"#), ["admins"]);
        assert_eq!(expand(r#"{{ internal["logins"] }}"#), ["root", "ubuntu"]);
        assert_eq!(expand(r#"{{external [ "env" ] }}"#), ["staging"]);
        assert!(refused(r#"{{internal["nope"]}}"#).contains("unknown internal trait \"nope\""));
        assert!(refused(r#"{{external[env]}}"#).contains("double-quoted string at column 12"));
    }

    #[test]
    fn string_constants() {
        assert_eq!(expand(r#"{{"text"}}"#), ["text"]);
        assert_eq!(expand(r#"pre-{{ "fixed" }}"#), ["pre-fixed"]);
    }

    #[test]
    fn email_local_with_and_without_display_names() {
        assert_eq!(expand("{{email.local(external.email)}}"), ["alice"], "non-addresses are dropped");
        assert_eq!(expand("{{email.local(external.named)}}"), ["alice.smith", "bob"]);
        assert!(expand("{{email.local(external.nope)}}").is_empty());
    }

    #[test]
    fn only_plain_local_and_domain_parts_make_an_address() {
        assert_eq!(email_local("alice@example.com").as_deref(), Some("alice"));
        assert_eq!(email_local(" Alice Smith <alice.smith@example.com> ").as_deref(), Some("alice.smith"));
        for refused in
            ["@example.com", "alice@", "a b@example.com", "a\u{7}b@example.com", "a,b@example.com", "alice@ex;ample"]
        {
            assert_eq!(email_local(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn a_template_prints_in_its_canonical_form() {
        let cases = [
            ("plain", "plain"),
            ("pre-{{ internal.logins }}-suf", "pre-{{internal.logins}}-suf"),
            (r#"{{external["team_a-1"]}}"#, "{{external.team_a-1}}"),
            (r#"{{external["a b"]}}"#, r#"{{external["a b"]}}"#),
            (r#"{{external["a.b"]}}"#, r#"{{external["a.b"]}}"#),
            (r#"{{external["a/b"]}}"#, r#"{{external["a/b"]}}"#),
            (r#"{{external["a:b"]}}"#, r#"{{external["a:b"]}}"#),
            (r#"{{ "fixed" }}"#, r#"{{"fixed"}}"#),
            ("{{email.local( external.email )}}", "{{email.local(external.email)}}"),
            (
                r#"{{regexp.replace(external.team, "^dev-(.*)$", "$1")}}"#,
                r#"{{regexp.replace(external.team, "^dev-(.*)$", "$1")}}"#,
            ),
        ];
        for (input, printed) in cases {
            assert_eq!(Template::parse(input).unwrap().to_string(), printed, "{input}");
        }
    }

    #[test]
    fn expanding_a_field_skips_broken_values_and_repeats() {
        let traits: Traits = [("logins".to_string(), vec!["a".to_string(), "plain".to_string()])].into();
        let values: Vec<String> =
            ["x-}}", "{{unclosed", "plain", "plain", "{{internal.logins}}"].iter().map(|s| s.to_string()).collect();
        assert_eq!(expand_all(&values, &traits), ["plain", "a"]);
    }

    #[test]
    fn strings_unescape_quotes_and_backslashes_and_keep_regex_escapes() {
        assert_eq!(expand(r#"{{"a\"b"}}"#), [r#"a"b"#]);
        assert_eq!(expand(r#"{{"a\\b"}}"#), [r"a\b"]);
        assert_eq!(expand(r#"{{"a\wb"}}"#), [r"a\wb"]);
    }

    #[test]
    fn only_a_value_without_a_template_is_literal() {
        assert!(Template::parse("plain").unwrap().is_literal());
        assert!(!Template::parse("pre-{{internal.logins}}").unwrap().is_literal());
    }

    #[test]
    fn regexp_replace_with_numbered_and_named_groups_dropping_non_matches() {
        assert_eq!(expand(r#"{{regexp.replace(external.team, "^dev-(.*)$", "$1")}}"#), ["web"]);
        assert_eq!(expand(r#"{{regexp.replace(external.team, "^dev-(?P<app>.*)$", "app-$app")}}"#), ["app-web"]);
        assert_eq!(expand(r#"{{regexp.replace(external.team, "^dev-(?P<app>.*)$", "${app}x")}}"#), ["webx"]);
        assert_eq!(expand(r#"{{regexp.replace(external.team, "\\w+", "x")}}"#), ["x-x", "x"]);
    }

    #[test]
    fn a_missing_trait_expands_to_nothing() {
        assert!(expand("{{internal.db_users}}").is_empty());
        assert!(expand("{{external.nope}}").is_empty());
        assert!(expand("pre-{{external.nope}}").is_empty(), "no value, not just the prefix");
    }

    #[test]
    fn other_namespaces_are_refused_as_teleport_does() {
        let err = refused("{{foo.bar}}");
        assert!(err.contains("unknown namespace \"foo\" at column 3"), "{err}");
        assert!(refused("{{ user.name }}").contains("unknown namespace \"user\" at column 4"));
        assert!(refused("{{email.remote(external.x)}}").contains("unknown function email.remote at column 3"));
    }

    #[test]
    fn malformed_templates_are_refused_naming_the_column() {
        let cases = [
            ("{{internal.logins", "'{{' at column 1 is never closed"),
            ("x-internal.logins}}", "'}}' without a matching '{{' at column 18"),
            ("{{internal.nope}}", "unknown internal trait \"nope\" at column 3"),
            ("{{internal}}", "expected '.' after \"internal\" at column 11"),
            ("{{internal.logins extra}}", "unexpected \"extra\" at column 19"),
            ("{{email.local(external.email}}", "expected ')' to close email.local at column 29"),
            ("{{email.local(external.a, external.b)}}", "email.local takes 1 argument; one more at column 27"),
            (r#"{{regexp.replace(external.x, "a")}}"#, "regexp.replace takes 3 arguments, found 2, at column 33"),
            (
                "{{email.local(email.local(external.x))}}",
                "functions do not nest: email.… inside email.local at column 15",
            ),
            (r#"{{regexp.replace(email.local(external.x), "a", "b")}}"#, "functions do not nest"),
            (r#"{{email.local("a@b")}}"#, "takes a trait (internal.NAME or external.NAME), not a string, at column 15"),
            (r#"{{regexp.replace(external.x, "(", "y")}}"#, "bad regular expression"),
            (r#"{{regexp.replace(external.x, "a)}}"#, "never closed"),
            ("{{external.a}}{{external.b}}", "only one {{...}} template (more at column 15)"),
            ("{{external.a}}-x-{{external.b}}", "only one {{...}} template (more at column 18)"),
            ("{{external.a}} }}", "only one {{...}} template (more at column 16)"),
            ("{{}}", "expected a name at column 3"),
        ];
        for (input, want) in cases {
            let err = refused(input);
            assert!(err.contains(want), "{input}: {err}");
        }
    }

    #[test]
    fn expand_all_dedups_in_order() {
        let values = vec!["root".to_string(), "{{internal.logins}}".into(), "visitor".into()];
        assert_eq!(expand_all(&values, &traits()), ["root", "ubuntu", "visitor"]);
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "x",
            "a{{internal.logins}}b",
            "{{email.local(external.email)}}",
            r#"{{external["a/b:c"]}}"#,
            r#"{{"const"}}"#,
            r#"{{regexp.replace(external.x, "^a(.*)$", "$1")}}"#,
        ] {
            let t = Template::parse(s).unwrap();
            assert_eq!(Template::parse(&t.to_string()).unwrap().to_string(), t.to_string());
        }
    }
}
