//! The pattern conventions that label selectors, trait templates and role maps share, as
//! Teleport has them: `^…$` is a regular expression, a value with `*` is a glob (each `*` any run
//! of characters, the rest literal, the whole value anchored), and how a regex compile error
//! reads on one line.
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

/// Turns a glob into an anchored regex: each `*` becomes a capture group, the rest is literal.
pub fn glob_to_regex(glob: &str) -> String {
    let parts: Vec<String> = glob.split('*').map(regex::escape).collect();
    format!("^{}$", parts.join("(.*)"))
}

/// Regexes compiled so far, by source: roles are expanded for every certificate and every
/// listing, and compiling a regex costs microseconds where a lookup costs nanoseconds.
static REGEXES: std::sync::Mutex<Option<std::collections::HashMap<String, regex::Regex>>> = std::sync::Mutex::new(None);
/// The most regexes kept; past it the cache starts over.
const REGEX_CACHE_CAP: usize = 4096;

/// [`regex::Regex::new`], through a bounded cache shared by the process (a `Regex` clone shares
/// the compiled program).
pub fn regex(source: &str) -> Result<regex::Regex, regex::Error> {
    if let Ok(cache) = REGEXES.lock()
        && let Some(re) = cache.as_ref().and_then(|c| c.get(source))
    {
        return Ok(re.clone());
    }
    let re = regex::Regex::new(source)?;
    if let Ok(mut cache) = REGEXES.lock() {
        let map = cache.get_or_insert_with(Default::default);
        if map.len() >= REGEX_CACHE_CAP {
            map.clear();
        }
        map.insert(source.to_string(), re.clone());
    }
    Ok(re)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regex_error_reads_as_its_last_line() {
        let line =
            |source: &str| regex::Regex::new(source).map(|_| String::new()).unwrap_or_else(|e| regex_error_line(&e));
        assert_eq!(line("("), "unclosed group");
        assert_eq!(line("[z-a]"), "invalid character class range, the start must be <= the end");
        assert!(!line("a{99999999}").contains('\n'));
    }

    #[test]
    fn a_regex_is_anchored_at_both_ends() {
        assert!(is_regex("^$") && is_regex("^a.*$"));
        assert!(!is_regex("^a") && !is_regex("a$") && !is_regex("a") && !is_regex(""));
    }

    #[test]
    fn compiled_regexes_are_kept() {
        let sources = ["^kept-one-[0-9]+$", "^kept-two-[a-z]+$"];
        for source in sources {
            assert!(regex(source).is_ok());
        }
        let cache = REGEXES.lock().unwrap_or_else(|e| e.into_inner());
        let kept = cache.as_ref().map_or(0, |c| sources.iter().filter(|s| c.contains_key(**s)).count());
        assert_eq!(kept, 2, "both regexes stay in the cache");
    }
}
