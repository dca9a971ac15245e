//! Role mapping, access-check, template-expansion and label-matching cost: `cargo bench -p
//! tether-bench`.
//!
//! A leaf maps every remote user's roles on each connection, so mapping must stay cheap with
//! hundreds of `role_map` rules (a mix of exact names, globs and `^…$` regexes).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tether_shared::identity::Traits;
use tether_shared::labels::Labels;
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::presets;
use tether_shared::rolemap::{RoleMap, RoleMapRule};

fn rules(n: usize) -> Vec<RoleMapRule> {
    (0..n)
        .map(|i| {
            let remote = match i % 3 {
                0 => format!("team-{i}"),
                1 => format!("dept-{i}-*"),
                _ => format!("^group-{i}-(.*)$"),
            };
            let capture = if i % 3 == 0 { "x" } else { "$1" };
            RoleMapRule { remote, local: vec![format!("local-{i}"), format!("visitor-{capture}")] }
        })
        .collect()
}

/// A user whose roles hit the last rule of each pattern kind (the worst case for a scan).
fn user_roles(n: usize) -> Vec<String> {
    let last = |kind: usize| (0..n).rev().find(|i| i % 3 == kind).unwrap_or(0);
    vec![
        "access".into(),
        format!("team-{}", last(0)),
        format!("dept-{}-eu", last(1)),
        format!("group-{}-ops", last(2)),
        "auditor".into(),
    ]
}

fn bench_rolemap(c: &mut Criterion) {
    let mut group = c.benchmark_group("rolemap");
    for n in [10, 100, 500] {
        let rules = rules(n);
        group.bench_with_input(BenchmarkId::new("compile", n), &rules, |b, rules| {
            b.iter(|| RoleMap::compile(black_box(rules)).map(|m| m.rules().len()))
        });
        let map = match RoleMap::compile(&rules) {
            Ok(m) => m,
            Err(e) => panic!("benchmark rules must compile: {e}"),
        };
        let roles = user_roles(n);
        assert!(map.map(&roles).is_ok(), "benchmark roles must match");
        group.bench_with_input(BenchmarkId::new("map", n), &roles, |b, roles| b.iter(|| map.map(black_box(roles))));
    }
    group.finish();
}

fn bench_access(c: &mut Criterion) {
    let traits: Traits = [("logins".to_string(), vec!["ubuntu".to_string(), "root".to_string()])].into();
    let roles = presets::all();
    c.bench_function("rbac/new_checker", |b| b.iter(|| AccessChecker::new(black_box(&roles), black_box(&traits))));
    let checker = AccessChecker::new(&roles, &traits);
    let labels: Labels = [("env".to_string(), "prod".to_string()), ("hostname".to_string(), "db-1".to_string())].into();
    c.bench_function("rbac/check_login", |b| b.iter(|| checker.check_login(black_box("root"), black_box(&labels))));
}

/// Templates and label selectors per call: what every certificate issue and every node listed
/// costs.
fn bench_templates_and_labels(c: &mut Criterion) {
    use tether_shared::labels::{CompiledSelectors, LabelSelectors};
    use tether_shared::template::Template;
    let traits: Traits = [
        ("logins".to_string(), vec!["alice".to_string(), "deploy".to_string()]),
        ("email".to_string(), vec!["alice@example.com".to_string()]),
        ("team".to_string(), vec!["dev-web".to_string(), "dev-db".to_string()]),
        ("env".to_string(), vec!["staging".to_string()]),
    ]
    .into();
    let trait_value = "ssh-{{internal.logins}}";
    c.bench_function("template/parse_expand/trait", |b| {
        b.iter(|| Template::parse(black_box(trait_value)).map(|t| t.expand(black_box(&traits))))
    });
    let replace = r#"{{regexp.replace(external.team, "^dev-(.*)$", "$1")}}"#;
    c.bench_function("template/parse_expand/regexp.replace", |b| {
        b.iter(|| Template::parse(black_box(replace)).map(|t| t.expand(black_box(&traits))))
    });
    let parsed = Template::parse(replace).expect("template");
    c.bench_function("template/expand/regexp.replace", |b| b.iter(|| parsed.expand(black_box(&traits))));
    let selectors: LabelSelectors = [
        ("env".to_string(), vec!["{{external.env}}".to_string(), "^prod-[a-z]+$".to_string()]),
        ("team".to_string(), vec!["dev-web".to_string(), "ops".to_string()]),
        ("region".to_string(), vec!["*".to_string()]),
    ]
    .into();
    c.bench_function("labels/compile", |b| {
        b.iter(|| CompiledSelectors::new(black_box(&selectors), black_box(&traits)))
    });
    let compiled = CompiledSelectors::new(&selectors, &traits);
    let labels: Labels = [
        ("env".to_string(), "prod-eu".to_string()),
        ("team".to_string(), "dev-web".to_string()),
        ("region".to_string(), "eu".to_string()),
        ("hostname".to_string(), "web-1".to_string()),
    ]
    .into();
    c.bench_function("labels/match", |b| b.iter(|| compiled.matches(black_box(&labels))));
}

criterion_group!(benches, bench_rolemap, bench_access, bench_templates_and_labels);
criterion_main!(benches);
