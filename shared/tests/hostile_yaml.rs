//! Hostile resource files, as the web API may receive them: each must be refused with one short,
//! located line, quickly, without a panic, a stack overflow or a large allocation.

// Test helpers may unwrap and panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use tether_shared::resource::parse_resources;

const HEAD: &str = "kind: role\nversion: v5\nmetadata:\n  name: x\n";

/// Nine levels of nine aliases each: 9^9 (387 million) strings once expanded.
fn laughs(indent: &str) -> String {
    let mut s = format!("{indent}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..9 {
        let p = i - 1;
        s += &format!("{indent}a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
    }
    s
}

/// Parses `text`, which must be refused within five seconds (a debug build on a busy machine;
/// optimised, the slowest case takes tens of milliseconds); returns the error line.
fn refused(text: &str) -> String {
    let start = Instant::now();
    let err = parse_resources("h.yaml", text).expect_err("hostile input must be refused").to_string();
    let took = start.elapsed();
    assert!(took < Duration::from_secs(5), "took {took:?}: {err:.300}");
    assert!(err.starts_with("h.yaml:"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(err.len() < 600, "short: {} bytes: {err:.300}", err.len());
    err
}

#[test]
fn billion_laughs_is_refused() {
    // Where resources keep free-form values (labels), in the spec, and before `kind`.
    let err = refused(&format!("{HEAD}  labels:\n{}", laughs("    ")));
    assert!(err.starts_with("h.yaml:6:") || err.starts_with("h.yaml:5:"), "{err}");
    assert!(err.contains("metadata.labels"), "{err}");
    refused(&format!("{HEAD}spec:\n  allow:\n    node_labels:\n{}", laughs("      ")));
    refused(&format!("{}{HEAD}", laughs("")));
}

#[test]
fn deep_nesting_is_refused() {
    let err = refused(&"[".repeat(10_000));
    assert!(err.starts_with("h.yaml:1:"), "{err}");
    refused(&"{a: ".repeat(10_000));
    refused(&format!("{}x\n", "- ".repeat(10_000)));
    // Inside a document, unterminated or closed, refused at the bracket that goes too deep, with
    // the field it is under.
    let deep = "collections nested deeper than 64 levels";
    let err = refused(&format!("{HEAD}  labels: {}\n", "[".repeat(10_000)));
    assert_eq!(err, format!("h.yaml:5:75: metadata.labels: {deep}"));
    let err = refused(&format!("{HEAD}  labels: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)));
    assert_eq!(err, format!("h.yaml:5:75: metadata.labels: {deep}"));
    let err = refused(&format!("{HEAD}spec:\n  allow:\n    logins: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)));
    assert_eq!(err, format!("h.yaml:7:77: spec.allow.logins: {deep}"));
}

/// 100,000 levels in 200 KB, where the YAML scanner's cost grows with the square of the depth
/// (minutes of CPU before this check): refused in one linear pass, long before the parser runs.
#[test]
fn a_hundred_thousand_levels_are_refused_at_once() {
    for text in [
        format!("{HEAD}  labels: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        format!("{HEAD}  labels: {}\n", "{a: ".repeat(100_000)),
    ] {
        let start = Instant::now();
        let err = parse_resources("h.yaml", &text).expect_err("refused").to_string();
        let took = start.elapsed();
        assert!(err.contains("nested deeper than 64 levels"), "{err:.200}");
        assert!(took < Duration::from_millis(100), "took {took:?}");
    }
    // Quotes are read where the parser reads them: an apostrophe inside a plain scalar opens no
    // quote (that would hide the brackets after it), and a quoted `]` closes nothing.
    for text in [
        format!("{HEAD}  labels: [a 'b, {}{}\n", "[".repeat(20_000), "]".repeat(20_001)),
        format!("{HEAD}  labels: {}\n", "[ \"]\", ".repeat(30_000)),
    ] {
        let err = refused(&text);
        assert!(err.contains("nested deeper than 64 levels"), "{err}");
    }
    // A quote after `-` or `:` opens only after a blank, as the parser reads it.
    let err = refused(&format!("{HEAD}  labels: [a, -'b, {}{}\n", "[".repeat(3000), "]".repeat(3001)));
    assert!(err.contains("nested deeper than 64 levels"), "{err}");
    // Whatever the depth check believes, the parser gets at most 1,024 brackets in one document,
    // and fewer the longer it is (its work is tokens times depth).
    let err = refused(&format!("{HEAD}  labels: [{}]\n", "[a], ".repeat(1100)));
    assert!(err.contains("more than 1024 [ and { in one document"), "{err}");
    let long = format!("{HEAD}  labels: [{}]\n# {}\n", "[a], ".repeat(300), "x".repeat(250_000));
    let err = refused(&long);
    assert!(err.contains("[ and { in a document of"), "{err}");
    // A comment ends at any of YAML's line breaks, not only at a newline.
    let err = refused(&format!("{HEAD}  labels: # x\r  {}\n", "[".repeat(100)));
    assert!(err.contains("nested deeper than 64 levels"), "{err}");
    // Brackets in quoted scalars and comments do not count; 64 real levels still parse.
    let quoted = format!("{HEAD}  labels:\n    a: \"{}\"  # {}\n", "[".repeat(500), "{".repeat(500));
    assert!(parse_resources("h.yaml", &quoted).is_ok(), "quoted and commented brackets count");
    let it = format!("{HEAD}  labels:\n    a: it's [fine]\n");
    assert!(parse_resources("h.yaml", &it).is_ok());
    let ok = format!(
        "kind: role\nversion: v5\nmetadata:\n  name: x\n  description: {}x{}\n",
        "[".repeat(64),
        "]".repeat(64)
    );
    let err = parse_resources("h.yaml", &ok).map(|_| ()).unwrap_err().to_string();
    assert!(!err.contains("nested deeper"), "64 levels reach the parser: {err}");
}

#[test]
fn huge_scalars_are_refused_with_a_short_message() {
    let big = "a".repeat(8 << 20);
    // A key past 1024 characters is no simple key to YAML.
    let err = refused(&format!("kind: role\nversion: v5\nmetadata:\n  name: x\n  {big}: 1\n"));
    assert!(err.starts_with("h.yaml:5:"), "{err:.300}");
    let long = "a".repeat(1000);
    let err = refused(&format!("kind: role\nversion: v5\nmetadata:\n  name: x\n  {long}: 1\n"));
    assert!(err.starts_with("h.yaml:5:3: "), "{err:.300}");
    assert!(err.contains("unknown field `aaaa"), "{err:.300}");
    let err = refused(&format!("kind: role\nversion: v5\nmetadata:\n  name: 'a {big}'\n"));
    assert!(err.starts_with("h.yaml:4:"), "{err:.300}");
    assert!(err.contains("metadata.name: "), "{err:.300}");
}

#[test]
fn duplicate_keys_are_refused() {
    // serde_yaml_ng places these at the mapping that holds the key twice, and names the key.
    let err = refused(&format!("{HEAD}  name: y\n"));
    assert!(err.starts_with("h.yaml:4:3: metadata: duplicate key `name`"), "{err}");
    let err = refused("kind: role\nkind: user\nversion: v5\nmetadata:\n  name: x\n");
    assert!(err.starts_with("h.yaml:1:1: duplicate field `kind`"), "{err}");
    // Also inside free-form maps, where the second value would silently win.
    let err = refused(&format!("{HEAD}  labels:\n    env: a\n    env: b\n"));
    assert!(err.starts_with("h.yaml:6:5: metadata.labels: duplicate key `env`"), "{err}");
}

#[test]
fn unknown_fields_are_refused() {
    let err = refused(&format!("{HEAD}  nmae: y\n"));
    assert!(err.starts_with("h.yaml:5:3: metadata.nmae: unknown field `nmae`"), "{err}");
    let err = refused(&format!("{HEAD}spec:\n  allow:\n    login: [a]\n"));
    assert!(err.starts_with("h.yaml:7:5: spec.allow.login: unknown field `login`"), "{err}");
}

/// A JSON array of 87,000 one-line items (a whole 256 KiB request body): where each item starts
/// is found in one pass over the text, not one pass per item (that cost seconds of CPU).
#[test]
fn a_json_array_of_many_items_is_located_in_one_pass() {
    let text = format!("[0{}]", "\n,0".repeat(87_000));
    let err = refused(&text);
    assert!(err.starts_with("h.yaml:1:2: "), "{err}");
    // An item further down is still located on its own line and column.
    let role = tether_shared::resource::Resource::Role(tether_shared::resource::presets::all().remove(0));
    let presets = tether_shared::resource::to_json(&[role]).unwrap();
    let first = presets.trim().trim_start_matches('[').trim_end_matches(']').trim();
    let text = format!("[\n{first},\n\n  {{\"kind\": \"nope\"}}\n]");
    let line = text.lines().position(|l| l.contains("nope")).unwrap() + 1;
    let err = parse_resources("h.yaml", &text).unwrap_err().to_string();
    assert!(err.starts_with(&format!("h.yaml:{line}:")), "{err}");
}
