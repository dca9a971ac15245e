//! Trusted clusters end to end, as the guide walks through them: a root, a leaf with a node
//! labelled `env=demo`, trust established from the leaf with a root token, the reverse tunnel,
//! `tsh clusters`, `tsh ls/ssh --cluster`, remote cluster labels, disabling and removing trust;
//! and the failures the guide's troubleshooting section promises.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tether_tests::{Cluster, RemoteNode, Run};

const VISITOR: &str = "kind: role
version: v5
metadata:
  name: visitor
spec:
  allow:
    logins:
    - visitor
    node_labels:
      '*': '*'
";

const DEMO_CLUSTER_ACCESS: &str = "kind: role
metadata:
  name: demo-cluster-access
spec:
  allow:
    cluster_labels:
      'env': 'demo'
version: v5
";

/// The guide's node logs in as `visitor`: make sure the account exists (tests run as root).
fn ensure_visitor_account() {
    let exists = std::process::Command::new("id").arg("visitor").output().is_ok_and(|o| o.status.success());
    if !exists {
        let out = std::process::Command::new("useradd").args(["--create-home", "visitor"]).output();
        assert!(out.is_ok_and(|o| o.status.success()), "cannot create the visitor account (run the tests as root)");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<String>) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < timeout {
        match check() {
            None => return,
            Some(state) => last = state,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what} did not happen within {timeout:?}; last: {last}");
}

/// `tctl tokens add --type=X`, returning the token.
fn token(cluster: &Cluster, args: &[&str]) -> String {
    let mut all = vec!["tokens", "add"];
    all.extend_from_slice(args);
    let out = cluster.tctl(&all).ok();
    out.lines()
        .find_map(|l| l.split_once("token: ").map(|(_, t)| t.trim().to_string()))
        .unwrap_or_else(|| panic!("no token in: {out}"))
}

fn trusted_cluster_yaml(root: &Cluster, token: &str, enabled: bool, role_map: &str) -> String {
    format!(
        "# trusted_cluster.yaml\nkind: trusted_cluster\nversion: v2\nmetadata:\n  name: {name}\nspec:\n  enabled: {enabled}\n  token: {token}\n  tunnel_addr: {tunnel}\n  web_proxy_addr: {web}\n  role_map:\n{role_map}",
        name = root.name,
        tunnel = root.tunnel_addr,
        web = root.web_addr,
    )
}

const ROLE_MAP: &str = "  - remote: \"access\"\n    local: [\"visitor\"]\n  - remote: 'cluster-*'\n    local: [clusteradmin]\n  - remote: \"^remote-(.*)$\"\n    local: [local-$1]\n";

fn tsh(cluster: &Cluster, home: &Path, args: &[&str]) -> Run {
    cluster.as_user(home, "tsh", args, None)
}

fn clusters_table(root: &Cluster, home: &Path) -> String {
    tsh(root, home, &["clusters"]).ok()
}

fn row<'a>(table: &'a str, cluster: &str) -> Option<&'a str> {
    table.lines().find(|l| l.split_whitespace().next() == Some(cluster))
}

/// A root, and a leaf (started with `--insecure`, as the guide allows for testing) whose node
/// `mynode` is labelled `env=demo`.
struct Pair {
    root: Cluster,
    leaf: Cluster,
    _node: RemoteNode,
}

fn pair() -> Pair {
    let root = Cluster::start("root.example.com");
    let leaf = Cluster::start_full("leaf.example.com", "", "", &["--insecure"]);
    let node_token = token(&leaf, &["--type=node"]);
    let node = RemoteNode::start(&leaf.web_addr, "mynode", &node_token, &[("env", "demo")]);
    assert!(node.first_line.contains("ssh service listening"), "{}", node.log());
    Pair { root, leaf, _node: node }
}

#[test]
fn the_guide_end_to_end() {
    ensure_visitor_account();
    let Pair { root, leaf, _node } = pair();
    let dir = root.dir.path().to_path_buf();

    // Leaf: the visitor role.
    let visitor = write(&dir, "visitor.yaml", VISITOR);
    let out = leaf.tctl(&["create", visitor.to_str().unwrap()]).ok();
    assert!(out.contains("role 'visitor' has been created"), "{out}");

    // Root: myuser with access, editor and auditor; the visitor login added through user.yaml.
    let home = root.add_user("myuser", "access,editor,auditor", "root", "correct-horse");
    let user_yaml = root.tctl(&["get", "user/myuser"]).ok();
    let user_yaml = user_yaml.replace("    - root\n", "    - visitor\n    - root\n");
    assert!(user_yaml.contains("- visitor"), "{user_yaml}");
    let user_file = write(&dir, "user.yaml", &user_yaml);
    root.tctl(&["create", "-f", user_file.to_str().unwrap()]).ok();
    let proxy = format!("--proxy={}", root.web_addr);
    tsh(&root, &home, &["logout"]).ok();
    let login = root.as_user(&home, "tsh", &["login", &proxy, "--user=myuser", "--insecure"], Some("correct-horse\n"));
    let login = login.ok();
    assert!(login.contains("Logins:             visitor, root") || login.contains("visitor"), "{login}");

    // Root: a trusted_cluster token; ls shows it; a second one is revoked with rm.
    let tc_token = token(&root, &["--type=trusted_cluster", "--ttl=15m"]);
    let ls = root.tctl(&["tokens", "ls"]).ok();
    assert!(ls.contains("trusted_cluster"), "{ls}");
    let spare = token(&root, &["--type=trusted_cluster", "--ttl=15m"]);
    root.tctl(&["tokens", "rm", &spare]).ok();

    // Leaf: map-roles dry run, then create the trusted cluster.
    let tc_file = write(&dir, "trusted_cluster.yaml", &trusted_cluster_yaml(&root, &tc_token, true, ROLE_MAP));
    let dry = leaf
        .tctl(&[
            "trusted-cluster",
            "map-roles",
            &format!("--file={}", tc_file.display()),
            "--roles=access,cluster-dev,remote-one,auditor",
        ])
        .ok();
    assert!(dry.contains("visitor") && dry.contains("clusteradmin") && dry.contains("local-one"), "{dry}");
    assert!(dry.contains("no rule matches"), "auditor maps to nothing: {dry}");
    let out = leaf.tctl(&["create", tc_file.to_str().unwrap()]).ok();
    assert!(out.contains("trusted_cluster 'root.example.com' has been created"), "{out}");
    // Updating with --force (same file) works without asking the root again.
    leaf.tctl(&["create", "--force", tc_file.to_str().unwrap()]).ok();

    // Root: both clusters online.
    wait_for("the leaf online in tsh clusters", Duration::from_secs(20), || {
        let t = clusters_table(&root, &home);
        let ok = t.starts_with("Cluster Name")
            && row(&t, "root.example.com")
                .is_some_and(|r| r.contains("online") && r.contains("root") && r.ends_with('*'))
            && row(&t, "leaf.example.com").is_some_and(|r| r.contains("online") && r.contains("leaf"));
        (!ok).then_some(t)
    });
    let rc = root.tctl(&["get", "rc"]).ok();
    assert!(rc.contains("kind: remote_cluster") && rc.contains("connection: online"), "{rc}");
    assert!(rc.contains("last_heartbeat:"), "{rc}");
    // The token only bootstrapped trust: removing it changes nothing.
    root.tctl(&["tokens", "rm", &tc_token]).ok();

    // tsh ls / ssh into the leaf through the tunnel.
    let ls = tsh(&root, &home, &["ls", "--cluster=leaf.example.com"]).ok();
    assert!(ls.starts_with("Node Name") && ls.contains("mynode") && ls.contains("env=demo"), "{ls}");
    let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "id -un"]);
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "visitor"),
        "{}\nnode log:\n{}\nnode audit:\n{}",
        out.stderr,
        _node.log(),
        std::fs::read_to_string(_node.dir.path().join("data/log/events.log")).unwrap_or_default()
    );
    // The leaf audited the role mapping with the remote and local roles.
    let audit = std::fs::read_to_string(_node.dir.path().join("data/log/events.log")).unwrap_or_default();
    let mapping = audit.lines().find(|l| l.contains("role.mapping")).unwrap_or_else(|| panic!("{audit}"));
    assert!(
        mapping.contains("\"remote_roles\":[\"access\",\"editor\",\"auditor\"]") || mapping.contains("access"),
        "{mapping}"
    );
    assert!(mapping.contains("\"local_roles\":[\"visitor\"]"), "{mapping}");
    // A login the mapped role does not allow is denied, with the reason.
    let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "root@mynode", "true"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("access denied"), "{}", out.stderr);

    // tsh login --cluster selects the leaf; status shows the mapped roles.
    tsh(&root, &home, &["login", "--cluster=leaf.example.com"]).ok();
    let status = tsh(&root, &home, &["status"]).ok();
    assert!(status.contains("Roles on leaf.example.com:  visitor"), "{status}");
    let t = clusters_table(&root, &home);
    assert!(row(&t, "leaf.example.com").is_some_and(|r| r.ends_with('*')), "{t}");
    let out = tsh(&root, &home, &["ssh", "visitor@mynode", "echo selected"]);
    assert_eq!(out.stdout.trim(), "selected", "{}", out.stderr);
    tsh(&root, &home, &["login", "--cluster=root.example.com"]).ok();

    // Root: labels hide the leaf until a role allows them.
    let out = root.tctl(&["update", "rc/leaf.example.com", "--set-labels=env=demo"]).ok();
    assert!(out.contains("Cluster leaf.example.com has been updated"), "{out}");
    let t = clusters_table(&root, &home);
    assert!(row(&t, "leaf.example.com").is_none(), "hidden without cluster_labels: {t}");
    let err = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "true"]).err();
    assert!(err.contains("leaf.example.com"), "{err}");
    let role = write(&dir, "demo-cluster-access.yaml", DEMO_CLUSTER_ACCESS);
    let out = root.tctl(&["create", role.to_str().unwrap()]).ok();
    assert!(out.contains("role 'demo-cluster-access' has been created"), "{out}");
    let user_yaml =
        root.tctl(&["get", "user/myuser"]).ok().replace("  - auditor\n", "  - auditor\n  - demo-cluster-access\n");
    assert!(user_yaml.contains("demo-cluster-access"), "{user_yaml}");
    root.tctl(&["create", "-f", write(&dir, "user2.yaml", &user_yaml).to_str().unwrap()]).ok();
    tsh(&root, &home, &["logout"]).ok();
    root.as_user(&home, "tsh", &[&proxy, "--user=myuser", "--insecure", "login"], Some("correct-horse\n")).ok();
    let t = clusters_table(&root, &home);
    assert!(row(&t, "leaf.example.com").is_some(), "revealed by demo-cluster-access: {t}");
    let rc = root.tctl(&["get", "rc"]).ok();
    assert!(rc.contains("env: demo"), "{rc}");
    let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "true"]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Leaf: disable → denied at once and the leaf goes offline; enable → works again.
    let stored = leaf.tctl(&["get", "trusted_cluster/root.example.com"]).ok();
    assert!(stored.contains("enabled: true") && stored.contains("role_map"), "{stored}");
    let disabled = write(&dir, "tc-off.yaml", &stored.replace("enabled: true", "enabled: false"));
    leaf.tctl(&["create", "--force", disabled.to_str().unwrap()]).ok();
    let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "true"]);
    assert_ne!(out.code, 0, "disabled trust must deny: {}", out.stdout);
    wait_for("the leaf offline after disabling", Duration::from_secs(10), || {
        let t = clusters_table(&root, &home);
        (!row(&t, "leaf.example.com").is_some_and(|r| r.contains("offline"))).then_some(t)
    });
    let enabled = write(&dir, "tc-on.yaml", &stored);
    leaf.tctl(&["create", "--force", enabled.to_str().unwrap()]).ok();
    wait_for("ssh after enabling again", Duration::from_secs(15), || {
        let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo back"]);
        (out.stdout.trim() != "back").then_some(out.stderr)
    });

    // Leaf: rm trusted_cluster → denied and offline; root: rm rc → gone, tsh still fine.
    leaf.tctl(&["rm", "trusted_cluster/root.example.com"]).ok();
    let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "true"]);
    assert_ne!(out.code, 0);
    let out = root.tctl(&["rm", "rc/leaf.example.com"]).ok();
    assert!(out.contains("has been deleted"), "{out}");
    let t = clusters_table(&root, &home);
    assert!(row(&t, "leaf.example.com").is_none() && row(&t, "root.example.com").is_some(), "{t}");
    let rc = root.tctl(&["get", "rc"]);
    assert!(!rc.stdout.contains("leaf.example.com"), "{}", rc.stdout);

    // Trust can be created again under the same name, without clean-up.
    let again = token(&root, &["--type=trusted_cluster"]);
    let tc_file = write(&dir, "tc-again.yaml", &trusted_cluster_yaml(&root, &again, true, ROLE_MAP));
    leaf.tctl(&["create", tc_file.to_str().unwrap()]).ok();
    wait_for("ssh after re-creating trust", Duration::from_secs(20), || {
        let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo again"]);
        (out.stdout.trim() != "again").then_some(out.stderr)
    });
}
