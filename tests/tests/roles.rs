//! Teleport's role language end to end: a role using every template form issues a certificate
//! with exactly the expected principals; glob and template-key labels decide exactly which nodes
//! `tsh ls` shows and `tsh ssh` reaches; a role map with a passthrough and a regex `$1` maps
//! exactly the expected roles, in `tctl trusted-cluster map-roles` and in a real login alike.

use std::path::Path;

use tether_tests::fixtures::{ensure_visitor_account, pair, token, trusted_cluster_yaml, wait_for, write};
use tether_tests::{Cluster, RemoteNode, Run};

fn tsh(cluster: &Cluster, home: &Path, args: &[&str]) -> Run {
    cluster.as_user(home, "tsh", args, None)
}

/// Replaces the user's traits (as YAML lines under `traits:`) and roles, then logs them in again.
fn set_user(cluster: &Cluster, home: &Path, user: &str, roles: &[&str], traits_yaml: &str) {
    let roles: String = roles.iter().map(|r| format!("  - {r}\n")).collect();
    let yaml =
        format!("kind: user\nversion: v2\nmetadata:\n  name: {user}\nspec:\n  roles:\n{roles}  traits:\n{traits_yaml}");
    let file = write(cluster.dir.path(), &format!("{user}.yaml"), &yaml);
    cluster.tctl(&["create", "-f", file.to_str().unwrap()]).ok();
    let proxy = format!("--proxy={}", cluster.web_addr);
    cluster.as_user(home, "tsh", &["login", &proxy, &format!("--user={user}")], Some("correct-horse\n")).ok();
}

const FORMS: &str = r#"kind: role
version: v5
metadata:
  name: forms
spec:
  allow:
    logins:
    - '{{internal.logins}}'
    - '{{ email.local(external.email) }}'
    - 'u-{{external["http://schemas.example.com/claims/unix"]}}'
    - '{{"fixed"}}'
    - '{{regexp.replace(external.team, "^dev-(.*)$", "dev_$1")}}'
    - '{{external.unixname}}'
    - '{{external.missing}}'
    node_labels:
      '*': '*'
"#;

#[test]
fn a_role_using_every_template_form_issues_exactly_the_expected_principals() {
    let cluster = Cluster::start("root.example.com");
    cluster.tctl(&["create", write(cluster.dir.path(), "forms.yaml", FORMS).to_str().unwrap()]).ok();
    let home = cluster.add_user("alice", "forms", "alice", "correct-horse");
    let traits = "    logins: [alice]\n    email: ['Alice Smith <alice.smith@example.com>', 'not an address']\n    \
                  http://schemas.example.com/claims/unix: [claimed]\n    team: [dev-web, ops]\n    \
                  unixname: ['has space']\n";
    set_user(&cluster, &home, "alice", &["forms"], traits);
    let status = tsh(&cluster, &home, &["status", "--format=json"]).ok();
    let status: serde_json::Value = serde_json::from_str(&status).expect("json");
    assert_eq!(
        status["logins"],
        serde_json::json!(["alice", "alice.smith", "u-claimed", "fixed", "dev_web"]),
        "exactly these, in the role's order; {status}"
    );
    // The login that is not a valid unix login was left out, audited with the reason.
    let audit = cluster.audit_lines();
    assert!(
        audit.iter().any(|l| l.contains("\"event\":\"cert.logins_dropped\"")
            && l.contains("TC003W")
            && l.contains("has space")
            && l.contains("whitespace")),
        "{audit:#?}"
    );
    // tctl shows the same before anyone logs in.
    let shown = cluster.tctl(&["users", "expand", "alice"]).ok();
    assert!(shown.contains("Logins:   alice, alice.smith, u-claimed, fixed, dev_web"), "{shown}");
    assert!(shown.contains("Left out: \"has space\""), "{shown}");
    let json = cluster.tctl(&["users", "roles-expand", "alice", "--format=json"]).ok();
    assert!(json.contains("\"dev_web\""), "{json}");
    // A malformed template is refused at create time, naming the column.
    let bad = write(
        cluster.dir.path(),
        "bad.yaml",
        &FORMS.replace("{{\"fixed\"}}", "{{email.local(external.a, external.b)}}"),
    );
    let err = cluster.tctl(&["create", "-f", bad.to_str().unwrap()]).err();
    assert!(err.contains("email.local takes 1 argument; one more at column"), "{err}");
}

const SCOPED: &str = r#"kind: role
version: v5
metadata:
  name: scoped
spec:
  allow:
    logins: [root]
    node_labels:
      env: 'env-*-staging'
      '{{external.team}}': owner
  deny:
    node_labels:
      tier: ['^(secret|vault)$']
"#;

#[test]
fn glob_and_template_key_labels_decide_which_nodes_are_listed_and_reached() {
    let cluster = Cluster::start("root.example.com");
    cluster.tctl(&["create", write(cluster.dir.path(), "scoped.yaml", SCOPED).to_str().unwrap()]).ok();
    let tok = token(&cluster, &["--type=node"]);
    let nodes: Vec<RemoteNode> = [
        ("n1", vec![("env", "env-eu-staging"), ("web", "owner")]),
        ("n2", vec![("env", "env-us-prod"), ("web", "owner")]),
        ("n3", vec![("env", "env-eu-staging"), ("db", "owner")]),
        ("n4", vec![("env", "env-eu-staging"), ("web", "owner"), ("tier", "vault")]),
    ]
    .into_iter()
    .map(|(name, labels)| RemoteNode::start(&cluster.web_addr, name, &tok, &labels))
    .collect();
    let home = cluster.add_user("bob", "scoped", "root", "correct-horse");
    // team = [web, db]: the key takes the first value, web.
    set_user(&cluster, &home, "bob", &["scoped"], "    logins: [root]\n    team: [web, db]\n");
    wait_for("four nodes joined", std::time::Duration::from_secs(30), || {
        let out = cluster.tctl(&["get", "nodes", "--format=text"]).ok();
        (["n1", "n2", "n3", "n4"].iter().any(|n| !out.contains(n))).then_some(out)
    });
    let ls = tsh(&cluster, &home, &["ls"]).ok();
    let listed: Vec<&str> = ls.lines().skip(2).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(listed, ["n1"], "{ls}");
    let out = tsh(&cluster, &home, &["ssh", "root@n1", "echo reached"]);
    assert_eq!(out.stdout.trim(), "reached", "{}", out.stderr);
    for node in ["n2", "n3", "n4"] {
        let err = tsh(&cluster, &home, &["ssh", &format!("root@{node}"), "true"]).err();
        assert!(err.contains("access denied"), "{node}: {err}");
    }
    drop(nodes);
}

#[test]
fn a_role_map_with_a_passthrough_and_a_regex_maps_the_same_in_a_dry_run_and_a_login() {
    ensure_visitor_account();
    let p = pair();
    let dir = p.root.dir.path().to_path_buf();
    // Root roles: dev-web (a team role) and access; the leaf has team-web and access.
    let role = |name: &str, extra: &str| {
        format!("kind: role\nversion: v5\nmetadata:\n  name: {name}\nspec:\n  allow:\n    logins: [visitor]\n{extra}")
    };
    p.root.tctl(&["create", write(&dir, "dev-web.yaml", &role("dev-web", "")).to_str().unwrap()]).ok();
    let team = role("team-web", "    node_labels:\n      '*': '*'\n");
    p.leaf.tctl(&["create", write(&dir, "team-web.yaml", &team).to_str().unwrap()]).ok();
    let map = "  - remote: '^dev-(.*)$'\n    local: ['team-$1']\n  - remote: '^(.*)$'\n    local: ['$1']\n";
    let tok = token(&p.root, &["--type=trusted_cluster"]);
    let tc = write(&dir, "tc.yaml", &trusted_cluster_yaml(&p.root, &tok, true, map));
    p.leaf.tctl(&["create", tc.to_str().unwrap()]).ok();
    let home = p.root.add_user("carol", "dev-web,access", "visitor", "correct-horse");
    wait_for("the leaf online", std::time::Duration::from_secs(30), || {
        let out = p.root.tctl(&["get", "rc/leaf.example.com"]);
        (!out.stdout.contains("connection: online")).then(|| out.stdout.clone())
    });
    // The dry run on the leaf.
    let dry = p.leaf.tctl(&["trusted-cluster", "map-roles", "--roles=dev-web,access,default-implicit-role"]).ok();
    let mapped_line = dry.lines().find(|l| l.contains("team-web")).unwrap_or_default().to_string();
    assert!(dry.contains("team-web") && dry.contains("access"), "{dry}");
    // A real login maps the same.
    tsh(&p.root, &home, &["login", "--cluster=leaf.example.com"]).ok();
    let status = tsh(&p.root, &home, &["status", "--format=json"]).ok();
    let status: serde_json::Value = serde_json::from_str(&status).expect("json");
    assert_eq!(
        status["on_selected_cluster"]["roles"],
        serde_json::json!(["team-web", "dev-web", "access"]),
        "rule order, then remote-role order; the passthrough maps dev-web too (no such role here: it grants \
         nothing); {status}; dry run: {mapped_line}"
    );
    let out = tsh(&p.root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo mapped"]);
    assert_eq!(out.stdout.trim(), "mapped", "{}", out.stderr);
}
