//! The access checker: logins on nodes, cluster visibility and resource verbs, with deny beating
//! allow and every decision explaining itself.

// Test helpers may unwrap and panic: a failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use tether_shared::identity::Traits;
use tether_shared::labels::Labels;
use tether_shared::rbac::AccessChecker;
use tether_shared::resource::{Resource, Role, parse_resources, presets};

fn roles(yaml: &str) -> Vec<Role> {
    parse_resources("roles.yaml", yaml)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|r| match r {
            Resource::Role(r) => r,
            other => panic!("not a role: {other:?}"),
        })
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn traits(pairs: &[(&str, &[&str])]) -> Traits {
    pairs.iter().map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect())).collect()
}

#[test]
fn guide_visitor_role_allows_visitor_everywhere() {
    let checker = AccessChecker::new(
        &roles(
            "kind: role\nversion: v5\nmetadata: {name: visitor}\nspec:\n  allow:\n    logins: [visitor]\n    node_labels: {'*': '*'}\n",
        ),
        &Traits::new(),
    );
    let d = checker.check_login("visitor", &labels(&[("env", "demo"), ("hostname", "ip-172-30-13-38")]));
    assert!(d.allowed, "{d}");
    assert!(d.reason.contains("role visitor allows login \"visitor\""), "{d}");
    let d = checker.check_login("root", &labels(&[]));
    assert!(!d.allowed);
    assert!(d.reason.contains("allow.logins [visitor] lacks \"root\""), "{d}");
}

#[test]
fn internal_logins_come_from_traits() {
    let checker = AccessChecker::new(&[presets::access()], &traits(&[("logins", &["ubuntu", "root"])]));
    assert!(checker.check_login("ubuntu", &labels(&[("env", "prod")])).allowed);
    assert!(!checker.check_login("visitor", &labels(&[])).allowed);
    assert_eq!(checker.logins(), ["ubuntu", "root"]);
    let none = AccessChecker::new(&[presets::access()], &Traits::new());
    assert!(none.logins().is_empty(), "a missing trait grants nothing");
}

#[test]
fn node_labels_restrict_and_external_traits_expand() {
    let checker = AccessChecker::new(
        &roles(
            "kind: role\nversion: v5\nmetadata: {name: env}\nspec:\n  allow:\n    logins: ['{{internal.logins}}', '{{external.logins_from_okta}}']\n    node_labels:\n      env: '{{external.env_from_okta}}'\n      team: ['^db-.*$', web]\n",
        ),
        &traits(&[("logins", &["alice"]), ("logins_from_okta", &["okta-alice"]), ("env_from_okta", &["demo"])]),
    );
    assert!(checker.check_login("okta-alice", &labels(&[("env", "demo"), ("team", "db-eu")])).allowed);
    assert!(checker.check_login("alice", &labels(&[("env", "demo"), ("team", "web")])).allowed);
    let d = checker.check_login("alice", &labels(&[("env", "prod"), ("team", "web")]));
    assert!(!d.allowed && d.reason.contains("env=prod does not match"), "{d}");
    let d = checker.check_login("alice", &labels(&[("env", "demo")]));
    assert!(!d.allowed && d.reason.contains("label \"team\" is not set"), "{d}");
}

#[test]
fn deny_beats_allow() {
    let rs = roles(
        "kind: role\nversion: v5\nmetadata: {name: broad}\nspec:\n  allow:\n    logins: [root, ubuntu]\n    node_labels: {'*': '*'}\n    cluster_labels: {'*': '*'}\n    rules: [{resources: ['*'], verbs: ['*']}]\n---\nkind: role\nversion: v5\nmetadata: {name: no-root}\nspec:\n  deny:\n    logins: [root]\n---\nkind: role\nversion: v5\nmetadata: {name: no-prod}\nspec:\n  deny:\n    node_labels: {env: prod}\n    cluster_labels: {env: prod}\n    rules: [{resources: [role], verbs: [delete]}]\n",
    );
    let checker = AccessChecker::new(&rs, &Traits::new());
    let d = checker.check_login("root", &labels(&[("env", "dev")]));
    assert!(!d.allowed && d.reason.contains("role no-root denies login \"root\""), "{d}");
    assert!(checker.check_login("ubuntu", &labels(&[("env", "dev")])).allowed);
    let d = checker.check_login("ubuntu", &labels(&[("env", "prod")]));
    assert!(!d.allowed && d.reason.contains("role no-prod denies every login"), "{d}");
    assert_eq!(checker.logins(), ["ubuntu"], "a login denied everywhere is no principal");
    let d = checker.check_cluster(&labels(&[("env", "prod")]));
    assert!(!d.allowed && d.reason.contains("deny.cluster_labels"), "{d}");
    assert!(checker.check_cluster(&labels(&[("env", "dev")])).allowed);
    let d = checker.check_rule("role", "delete");
    assert!(!d.allowed && d.reason.contains("role no-prod denies delete on role"), "{d}");
    assert!(checker.check_rule("role", "create").allowed);
}

#[test]
fn cluster_labels_follow_the_guide() {
    let access = AccessChecker::new(&[presets::access()], &Traits::new());
    // Unlabelled remote clusters are visible to everyone.
    assert!(access.check_cluster(&labels(&[])).allowed);
    // After `tctl update rc/leaf --set-labels=env=demo`, plain access no longer sees it...
    let d = access.check_cluster(&labels(&[("env", "demo")]));
    assert!(!d.allowed && d.reason.contains("no role allows a cluster labelled env=demo"), "{d}");
    // ...until the user gets demo-cluster-access.
    let mut rs = vec![presets::access()];
    rs.extend(roles("kind: role\nmetadata:\n  name: demo-cluster-access\nspec:\n  allow:\n    cluster_labels:\n      'env': 'demo'\nversion: v5\n"));
    let d = AccessChecker::new(&rs, &Traits::new()).check_cluster(&labels(&[("env", "demo")]));
    assert!(d.allowed && d.reason.contains("role demo-cluster-access"), "{d}");
}

#[test]
fn preset_rules() {
    let editor = AccessChecker::new(&[presets::editor()], &Traits::new());
    for kind in ["user", "role", "token", "trusted_cluster", "tc", "remote_cluster", "rc"] {
        for verb in ["list", "read", "create", "update", "delete"] {
            assert!(editor.check_rule(kind, verb).allowed, "editor {verb} {kind}");
        }
    }
    assert!(editor.check_rule("cert_authority", "read").allowed);
    assert!(!editor.check_rule("cert_authority", "delete").allowed);
    assert!(!editor.check_rule("event", "list").allowed);
    let auditor = AccessChecker::new(&[presets::auditor()], &Traits::new());
    assert!(auditor.check_rule("event", "list").allowed);
    let d = auditor.check_rule("user", "create");
    assert!(!d.allowed && d.reason.contains("none of the roles [auditor] allows create on user"), "{d}");
}

#[test]
fn options_combine() {
    let rs = roles(
        "kind: role\nversion: v5\nmetadata: {name: a}\nspec:\n  options: {max_session_ttl: 8h, forward_agent: true}\n---\nkind: role\nversion: v5\nmetadata: {name: b}\nspec:\n  options: {max_session_ttl: 1h30m, port_forwarding: false}\n  allow:\n    kubernetes_groups: ['{{internal.kubernetes_groups}}', viewers]\n    db_users: [postgres]\n  deny:\n    kubernetes_groups: [system:masters]\n",
    );
    let checker = AccessChecker::new(&rs, &traits(&[("kubernetes_groups", &["system:masters", "devs"])]));
    assert_eq!(checker.max_session_ttl(), std::time::Duration::from_secs(5400));
    assert!(checker.forward_agent());
    assert!(!checker.port_forwarding());
    assert_eq!(checker.kubernetes_groups(), ["devs", "viewers"]);
    assert_eq!(checker.db_users(), ["postgres"]);
}

#[test]
fn no_roles_means_no_access() {
    let checker = AccessChecker::new(&[], &Traits::new());
    let d = checker.check_login("root", &labels(&[]));
    assert!(!d.allowed && d.reason.contains("the identity has no roles"), "{d}");
    assert!(!checker.check_cluster(&labels(&[("env", "x")])).allowed);
    assert!(!checker.port_forwarding());
}

#[test]
fn listings_show_the_nodes_some_login_may_reach() {
    let rs = roles(
        "kind: role\nversion: v5\nmetadata: {name: ops}\nspec:\n  allow:\n    logins: [ubuntu, root]\n    node_labels: {env: [dev, prod, stage]}\n---\nkind: role\nversion: v5\nmetadata: {name: looker}\nspec:\n  allow:\n    node_labels: {'*': '*'}\n---\nkind: role\nversion: v5\nmetadata: {name: hide-prod}\nspec:\n  deny:\n    node_labels: {env: prod}\n---\nkind: role\nversion: v5\nmetadata: {name: no-root-on-dev}\nspec:\n  deny:\n    logins: [root]\n    node_labels: {env: dev}\n",
    );
    let checker = AccessChecker::new(&rs, &Traits::new());
    assert!(checker.can_see_node(&labels(&[("env", "dev")])), "root is denied there, ubuntu is not");
    assert!(checker.can_see_node(&labels(&[("env", "stage")])), "a deny of some logins hides nothing");
    assert!(!checker.can_see_node(&labels(&[("env", "prod")])), "a deny of every login hides the node");
    assert!(!checker.can_see_node(&labels(&[("env", "test")])), "a role without logins shows nothing");
    assert!(!AccessChecker::new(&[], &Traits::new()).can_see_node(&labels(&[("env", "dev")])));
}

#[test]
fn a_decision_prints_its_reason() {
    let checker = AccessChecker::new(&[presets::access()], &traits(&[("logins", &["ubuntu"])]));
    let d = checker.check_login("root", &labels(&[]));
    assert_eq!(d.to_string(), d.reason);
    assert!(d.to_string().contains("lacks \"root\""), "{d}");
}

#[test]
fn logins_a_certificate_cannot_carry_are_dropped_with_their_reason() {
    let checker =
        AccessChecker::new(&[presets::access()], &traits(&[("logins", &["ubuntu", "-oProxyCommand", "a,b"])]));
    let (valid, dropped) = checker.logins_checked();
    assert_eq!(valid, ["ubuntu"]);
    let dropped: Vec<&str> = dropped.iter().map(|(login, _)| login.as_str()).collect();
    assert_eq!(dropped, ["-oProxyCommand", "a,b"]);
    let (_, reasons) = checker.logins_checked();
    assert!(reasons[0].1.contains("cannot start with '-'"), "{reasons:?}");
}

#[test]
fn options_default_to_no_agent_and_port_forwarding_on_and_grants_subtract_denies() {
    let rs = roles(
        "kind: role\nversion: v5\nmetadata: {name: plain}\nspec:\n  allow:\n    kubernetes_users: [alice, admin]\n    db_names: [main, secrets]\n---\nkind: role\nversion: v5\nmetadata: {name: limits}\nspec:\n  deny:\n    kubernetes_users: [admin]\n    db_names: [secrets]\n",
    );
    let checker = AccessChecker::new(&rs, &Traits::new());
    assert!(!checker.forward_agent(), "agent forwarding needs a role that allows it");
    assert!(checker.port_forwarding(), "port forwarding is on unless a role turns it off");
    assert_eq!(checker.kubernetes_users(), ["alice"]);
    assert_eq!(checker.db_names(), ["main"]);
}
