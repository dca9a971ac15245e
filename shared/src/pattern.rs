//! The `^…$` pattern convention that label selectors, trait templates and role maps share: what
//! counts as a regular expression, and how a regex compile error reads on one line.
//!
//! A leaf module (it depends only on the `regex` crate), so [`crate::labels`],
//! [`crate::template`] and [`crate::rolemap`] can all use it without depending on each other.

/// A regex compile error on one line (the `regex` crate's message spans several).
pub fn regex_error_line(e: &regex::Error) -> String {
    match e {
        regex::Error::Syntax(text) => {
            let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or(text);
            last.trim().trim_start_matches("error: ").to_string()
        }
        other => other.to_string().replace('\n', " "),
    }
}

/// True when a pattern is a regular expression (`^…$`).
pub fn is_regex(pattern: &str) -> bool {
    pattern.len() >= 2 && pattern.starts_with('^') && pattern.ends_with('$')
}
