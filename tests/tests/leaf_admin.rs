//! Administering leaves from the root: `tctl --cluster=LEAF` (every call forwarded by the
//! root's proxy through the leaf's tunnel, decided and audited by the leaf over the mapped
//! roles, audited by the root too) and `tsh ls --all` (the nodes of the root and of every leaf
//! the user may see, an offline leaf named).

use std::path::Path;
use std::time::Duration;

use tether_tests::fixtures::{Pair, VISITOR, ensure_visitor_account, pair, token, trust, wait_for, write};
use tether_tests::{Cluster, Run};

/// The leaf's role for root users with a `cluster-*` role (the fixtures' role map): it may
/// manage nodes, roles, users and tokens.
const CLUSTER_ADMIN: &str = "kind: role
version: v5
metadata:
  name: clusteradmin
spec:
  allow:
    logins: [visitor]
    node_labels:
      '*': '*'
    rules:
    - resources: [node, role, user, token, cert_authority]
      verbs: [list, read, create, update, delete]
";

/// Root roles: two that see the leaf (labelled `env=demo`; `seer` is not in the role map) and
/// one that does not.
const ROOT_ROLES: &str = "kind: role
version: v5
metadata:
  name: cluster-admin
spec:
  allow:
    logins: [visitor]
    cluster_labels:
      env: demo
---
kind: role
version: v5
metadata:
  name: seer
spec:
  allow:
    cluster_labels:
      env: demo
---
kind: role
version: v5
metadata:
  name: cluster-hidden
spec:
  allow:
    logins: [visitor]
    cluster_labels:
      env: prod
";

const LEAF: &str = "leaf.example.com";

fn as_user(root: &Cluster, home: &Path, name: &str, args: &[&str]) -> Run {
    root.as_user(home, name, args, None)
}

/// A trusted pair with the leaf labelled `env=demo` and three root users logged in: `ops`
/// (`cluster-admin` → the leaf's `clusteradmin`), `myuser` (`access` → `visitor`, and `seer`,
/// which sees the leaf but maps to nothing) and `hidden`
/// (`cluster-hidden`, whose `cluster_labels` do not match the leaf).
fn setup() -> (Pair, [std::path::PathBuf; 3]) {
    ensure_visitor_account();
    let pair = pair();
    let dir = pair.root.dir.path().to_path_buf();
    pair.leaf.tctl(&["create", write(&dir, "clusteradmin.yaml", CLUSTER_ADMIN).to_str().unwrap()]).ok();
    trust(&pair.root, &pair.leaf);
    pair.root.tctl(&["create", write(&dir, "root-roles.yaml", ROOT_ROLES).to_str().unwrap()]).ok();
    pair.root.tctl(&["update", &format!("rc/{LEAF}"), "--set-labels=env=demo"]).ok();
    let ops = pair.root.add_user("ops", "cluster-admin", "visitor", "correct-horse");
    let myuser = pair.root.add_user("myuser", "access,seer", "visitor", "correct-horse");
    let hidden = pair.root.add_user("hidden", "cluster-hidden", "visitor", "correct-horse");
    wait_for("the leaf online", Duration::from_secs(30), || {
        let out = pair.root.tctl(&["get", &format!("rc/{LEAF}")]);
        (!out.stdout.contains("connection: online")).then(|| out.stdout.clone())
    });
    (pair, [ops, myuser, hidden])
}

#[test]
fn tctl_through_the_root_administers_a_leaf_as_the_leaf_allows() {
    let (Pair { root, leaf, node: _node }, [ops, myuser, hidden]) = setup();
    let dir = root.dir.path().to_path_buf();
    let on_leaf = format!("--cluster={LEAF}");

    // get nodes: the leaf's inventory, not the root's.
    let out = as_user(&root, &ops, "tctl", &[&on_leaf, "get", "nodes"]).ok();
    assert!(out.contains("name: mynode"), "{out}");
    // create, then rm, a role on the leaf.
    let role = write(&dir, "fromroot.yaml", &VISITOR.replace("name: visitor", "name: fromroot"));
    let out = as_user(&root, &ops, "tctl", &[&on_leaf, "create", role.to_str().unwrap()]).ok();
    assert!(out.contains("role 'fromroot' has been created"), "{out}");
    assert!(leaf.tctl(&["get", "role/fromroot"]).ok().contains("name: fromroot"));
    assert!(root.tctl(&["get", "role/fromroot"]).code != 0, "the root itself is untouched");
    let out = as_user(&root, &ops, "tctl", &[&on_leaf, "rm", "role/fromroot"]).ok();
    assert!(out.contains("fromroot"), "{out}");
    let gone = leaf.tctl(&["get", "role/fromroot"]).err();
    assert!(gone.contains("not found"), "{gone}");
    // users add: a user of the leaf.
    let out = as_user(&root, &ops, "tctl", &[&on_leaf, "users", "add", "alice", "--roles=visitor"]).ok();
    assert!(out.contains("alice"), "{out}");
    assert!(leaf.tctl(&["get", "user/alice"]).ok().contains("name: alice"));
    // status and tokens: the leaf's.
    let out = as_user(&root, &ops, "tctl", &[&on_leaf, "status"]).ok();
    assert!(out.contains(LEAF), "{out}");
    let tok = as_user(&root, &ops, "tctl", &[&on_leaf, "tokens", "add", "--type=node"]).ok();
    assert!(tok.contains("token:"), "{tok}");
    let ls = leaf.tctl(&["tokens", "ls"]).ok();
    assert!(ls.lines().count() >= 3, "the token is the leaf's: {ls}");

    // Calls that authenticate with a secret are not forwarded; answers are JSON, never sniffed.
    let creds = tether_cli::profile::load_current(&ops).unwrap().credentials;
    let client = creds.api_client(false).unwrap().through_root(LEAF);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let login = serde_json::json!({"user": "alice", "password": "whatever", "public_key": ""});
    let err = rt.block_on(client.post::<_, serde_json::Value>("/webapi/login", &login)).unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert!(err.to_string().contains("/webapi/login is not forwarded to a leaf"), "{err}");

    // myuser's mapped role (visitor) has no rules there: the leaf refuses, with its reason.
    let err = as_user(&root, &myuser, "tctl", &[&on_leaf, "create", role.to_str().unwrap()]).err();
    assert!(err.contains(&format!("cluster {LEAF}: access denied: none of the roles [visitor]")), "{err}");
    assert!(leaf.tctl(&["get", "role/fromroot"]).code != 0, "nothing stored");
    // hidden's roles do not allow the leaf's labels: the root refuses before the leaf is asked.
    let err = as_user(&root, &hidden, "tctl", &[&on_leaf, "get", "nodes"]).err();
    assert!(err.contains(&format!("your roles do not allow cluster {LEAF}")), "{err}");
    // The daemon's admin identity has no roles at a leaf.
    let err = root.tctl(&[&on_leaf, "get", "nodes"]).err();
    assert!(err.contains("log in as a user with tsh login"), "{err}");

    // Both sides audit: the leaf its own decisions by the root user, the root each call.
    let leaf_audit = leaf.audit_lines();
    let by = |name: &str, event: &str| {
        leaf_audit
            .iter()
            .any(|l| l.contains(&format!("\"event\":\"{event}\"")) && l.contains(&format!("\"user\":\"{name}\"")))
    };
    assert!(by("ops", "resource.create") && by("ops", "resource.delete"), "{leaf_audit:#?}");
    assert!(by("myuser", "access.denied"), "{leaf_audit:#?}");
    let root_audit = root.audit_lines();
    let calls = |name: &str, code: &str| {
        root_audit
            .iter()
            .filter(|l| {
                l.contains("\"event\":\"leaf.call\"") && l.contains(&format!("\"user\":\"{name}\"")) && l.contains(code)
            })
            .count()
    };
    assert!(calls("ops", "TC002I") >= 5, "{root_audit:#?}");
    assert!(calls("myuser", "TC002W") >= 1, "{root_audit:#?}");
    assert!(calls("hidden", "TC002W") >= 1, "{root_audit:#?}");
    assert!(
        root_audit.iter().any(|l| l.contains("\"event\":\"access.denied\"") && l.contains("\"user\":\"hidden\"")),
        "{root_audit:#?}"
    );
}

#[test]
fn tsh_ls_all_lists_the_root_and_every_leaf_and_names_an_offline_one() {
    let (Pair { root, leaf: _leaf, node: _node }, [ops, _myuser, hidden]) = setup();
    // A second leaf, trusted and then stopped: offline.
    let mut second = Cluster::builder("leaf2.example.com").leaf().start();
    let dir = root.dir.path().to_path_buf();
    second.tctl(&["create", write(&dir, "clusteradmin.yaml", CLUSTER_ADMIN).to_str().unwrap()]).ok();
    trust(&root, &second);
    root.tctl(&["update", "rc/leaf2.example.com", "--set-labels=env=demo"]).ok();
    let node_token = token(&second, &["--type=node"]);
    let _node2 = tether_tests::RemoteNode::start(&second.web_addr, "node2", &node_token, &[("env", "two")]);
    wait_for("leaf2's node listed", Duration::from_secs(30), || {
        let out = as_user(&root, &ops, "tsh", &["ls", "--all"]);
        (!out.stdout.contains("node2")).then(|| format!("{}{}", out.stdout, out.stderr))
    });
    let out = as_user(&root, &ops, "tsh", &["ls", "--all"]).ok();
    let row = |node: &str| out.lines().find(|l| l.split_whitespace().nth(1) == Some(node)).map(str::to_string);
    assert!(row("mynode").is_some_and(|r| r.starts_with(LEAF)), "{out}");
    assert!(row("node2").is_some_and(|r| r.starts_with("leaf2.example.com")), "{out}");
    assert!(out.starts_with("Cluster"), "{out}");
    // Label filters are applied by each cluster.
    let out = as_user(&root, &ops, "tsh", &["ls", "--all", "env=two"]).ok();
    assert!(out.contains("node2") && !out.contains("mynode"), "{out}");
    // The user hidden from both leaves sees the root's nodes only.
    let out = as_user(&root, &hidden, "tsh", &["ls", "--all"]).ok();
    assert!(!out.contains("mynode") && !out.contains("node2"), "{out}");

    second.stop();
    let run = as_user(&root, &ops, "tsh", &["ls", "--all"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("mynode") && !run.stdout.contains("node2"), "{}", run.stdout);
    assert!(run.stderr.contains("tsh: cluster leaf2.example.com is offline"), "{}", run.stderr);
    let json = as_user(&root, &ops, "tsh", &["ls", "--all", "--format=json"]).ok();
    let rows: serde_json::Value = serde_json::from_str(&json).expect("json");
    let leaf2 = rows.as_array().and_then(|a| a.iter().find(|r| r["cluster"] == "leaf2.example.com")).cloned();
    assert_eq!(leaf2.as_ref().map(|r| r["status"].clone()), Some("offline".into()), "{json}");
}
