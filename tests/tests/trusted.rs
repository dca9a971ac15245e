//! Trusted clusters end to end, as the guide walks through them: a root, a leaf with a node
//! labelled `env=demo`, trust established from the leaf with a root token, the reverse tunnel,
//! `tsh clusters`, `tsh ls/ssh --cluster`, remote cluster labels, disabling and removing trust;
//! and the failures the guide's troubleshooting section promises.

use std::path::Path;
use std::time::{Duration, Instant};

use tether_tests::fixtures::{
    Pair, ROLE_MAP, VISITOR, ensure_visitor_account, pair, token, trust, trusted_cluster_yaml, trusted_pair,
    tunnels_on, wait_for, write,
};
use tether_tests::forwarder::Forwarder;
use tether_tests::{Cluster, RemoteNode, Run};

const DEMO_CLUSTER_ACCESS: &str = "kind: role
metadata:
  name: demo-cluster-access
spec:
  allow:
    cluster_labels:
      'env': 'demo'
version: v5
";

fn tsh(cluster: &Cluster, home: &Path, args: &[&str]) -> Run {
    cluster.as_user(home, "tsh", args, None)
}

fn clusters_table(root: &Cluster, home: &Path) -> String {
    tsh(root, home, &["clusters"]).ok()
}

fn row<'a>(table: &'a str, cluster: &str) -> Option<&'a str> {
    table.lines().find(|l| l.split_whitespace().next() == Some(cluster))
}

#[test]
fn the_guide_end_to_end() {
    ensure_visitor_account();
    let Pair { root, leaf, node: _node } = pair();
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
    // After the first login, tsh knows the proxy's CA: no --insecure from here on.
    let login = root.as_user(&home, "tsh", &["login", &proxy, "--user=myuser"], Some("correct-horse\n"));
    let login = login.ok();
    assert!(login.contains("Logins:             visitor, root"), "{login}");

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
    // map-roles against the stored trusted cluster.
    let stored = leaf.tctl(&["trusted-cluster", "map-roles", "--roles=remote-two"]).ok();
    assert!(stored.contains("local-two") && stored.contains("^remote-(.*)$"), "{stored}");

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
    let node_audit = || std::fs::read_to_string(_node.dir.path().join("data/log/events.log")).unwrap_or_default();
    // Written by the audit writer thread a moment after the login.
    wait_for("the role mapping audited", Duration::from_secs(2), || {
        (!node_audit().contains("role.mapping")).then(node_audit)
    });
    let audit = node_audit();
    let mapping = audit.lines().find(|l| l.contains("role.mapping")).unwrap_or_else(|| panic!("{audit}"));
    assert!(mapping.contains("\"remote_roles\":[\"access\",\"editor\",\"auditor\"]"), "{mapping}");
    assert!(mapping.contains("\"local_roles\":[\"visitor\"]"), "{mapping}");
    // A login the mapped role does not allow is denied, with the reason.
    let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "root@mynode", "true"]);
    assert!(out.code != 0 && out.stderr.contains("access denied"), "{}", out.stderr);

    // tsh login --cluster selects the leaf; status shows the mapped roles.
    let selected = tsh(&root, &home, &["login", "--cluster=leaf.example.com"]).ok();
    assert!(selected.contains("  Selected cluster:   leaf.example.com"), "{selected}");
    let status = tsh(&root, &home, &["status"]).ok();
    assert!(status.contains("Roles on leaf.example.com:  visitor"), "{status}");
    let leaf_audit = leaf.audit_lines();
    assert!(
        leaf_audit
            .iter()
            .any(|l| l.contains("role.mapping") && l.contains("\"service\":\"api\"") && l.contains("visitor")),
        "the leaf API audits the mapping: {leaf_audit:?}"
    );
    let t = clusters_table(&root, &home);
    assert!(row(&t, "leaf.example.com").is_some_and(|r| r.ends_with('*')), "{t}");
    let out = tsh(&root, &home, &["ssh", "visitor@mynode", "echo selected"]);
    assert_eq!(out.stdout.trim(), "selected", "{}", out.stderr);
    tsh(&root, &home, &["login", "--cluster=root.example.com"]).ok();

    // Root: labels hide the leaf until a role allows them.
    // Heartbeats read as a time and an age, not as time's debug form.
    let rcs = root.tctl(&["get", "rc", "--format=text"]).ok();
    let rc_row = row(&rcs, "leaf.example.com").unwrap_or_default();
    assert!(rc_row.contains(" UTC (") && rc_row.ends_with(" ago)") && !rc_row.contains("+00:00:00"), "{rcs}");
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
    // Until the user logs in again, their certificate's roles decide, and they are told so.
    let err = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "true"]).err();
    assert!(err.contains("if you were given access since you logged in, run tsh login again"), "{err}");
    tsh(&root, &home, &["logout"]).ok();
    root.as_user(&home, "tsh", &[&proxy, "--user=myuser", "login"], Some("correct-horse\n")).ok();
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
    assert!(
        out.code != 0
            && (out.stderr.contains("is offline: it has no tunnel")
                || out.stderr.contains("no longer trusts cluster root.example.com")),
        "disabled trust must deny: {}",
        out.stderr
    );
    wait_for("the leaf offline after disabling", Duration::from_secs(10), || {
        let t = clusters_table(&root, &home);
        let logs = || {
            let read = |c: &Cluster| std::fs::read_to_string(c.dir.path().join("tether.log")).unwrap_or_default();
            format!("{t}\nroot log:\n{}\nleaf log:\n{}", read(&root), read(&leaf))
        };
        (!row(&t, "leaf.example.com").is_some_and(|r| r.contains("offline"))).then(logs)
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
    assert!(
        out.code != 0
            && (out.stderr.contains("is offline: it has no tunnel")
                || out.stderr.contains("no longer trusts cluster root.example.com")),
        "removed trust must deny: {}",
        out.stderr
    );
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

/// A leaf's `tctl create trusted_cluster.yaml` that must fail with `expect` and store nothing.
fn refused(leaf: &Cluster, root: &Cluster, file: &str, yaml: &str, expect: &[&str]) {
    let path = write(leaf.dir.path(), file, yaml);
    let err = leaf.tctl(&["create", path.to_str().unwrap()]).err();
    for e in expect {
        assert!(err.contains(e), "expected {e:?} in: {err}");
    }
    assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    let tc = leaf.tctl(&["get", &format!("trusted_cluster/{}", root.name)]);
    assert!(tc.code != 0 && tc.stderr.contains("not found"), "nothing stored: {}{}", tc.stdout, tc.stderr);
    let ca = leaf.tctl(&["get", &format!("cert_authority/{}", root.name)]);
    assert!(!ca.stdout.contains(&root.name), "no root CA stored: {}", ca.stdout);
}

#[test]
fn failures_to_establish_trust_are_clear_and_store_nothing() {
    let root = Cluster::start("root.example.com");
    let tok = token(&root, &["--type=trusted_cluster"]);

    // A leaf without --insecure refuses the root's self-signed HTTPS certificate.
    let strict = Cluster::start("strict.example.com");
    refused(
        &strict,
        &root,
        "tc.yaml",
        &trusted_cluster_yaml(&root, &tok, true, ROLE_MAP),
        &["the trusted cluster uses misconfigured HTTP/TLS certificate", "--insecure", &root.web_addr],
    );

    let leaf = Cluster::builder("leaf.example.com").leaf().start();
    // Unknown and expired tokens.
    refused(
        &leaf,
        &root,
        "unknown.yaml",
        &trusted_cluster_yaml(&root, "0123456789abcdef0123", true, ROLE_MAP),
        &["unknown or has expired"],
    );
    // The root's log says so too, not only its audit log.
    let log = root.log();
    assert!(log.contains("refused the trust of leaf \"leaf.example.com\" from 127.0.0.1"), "{log}");
    let short = token(&root, &["--type=trusted_cluster", "--ttl=1s"]);
    std::thread::sleep(Duration::from_millis(2500));
    refused(
        &leaf,
        &root,
        "expired.yaml",
        &trusted_cluster_yaml(&root, &short, true, ROLE_MAP),
        &["unknown or has expired"],
    );
    // A node token is not a trusted_cluster token.
    let node_tok = token(&root, &["--type=node"]);
    refused(
        &leaf,
        &root,
        "node-token.yaml",
        &trusted_cluster_yaml(&root, &node_tok, true, ROLE_MAP),
        &["not a trusted_cluster token"],
    );
    // An unreachable web proxy: which address, and why.
    let unreachable = trusted_cluster_yaml(&root, &tok, true, ROLE_MAP)
        .replace(&format!("web_proxy_addr: {}", root.web_addr), "web_proxy_addr: 127.0.0.1:1");
    refused(&leaf, &root, "unreachable.yaml", &unreachable, &["cannot reach", "127.0.0.1:1"]);
    // A role_map that does not compile is refused before anything is sent.
    let bad_map = trusted_cluster_yaml(&root, &tok, true, "  - remote: \"^remote-(.*$\"\n    local: [x]\n");
    refused(&leaf, &root, "badmap.yaml", &bad_map, &["role_map"]);

    // Name clashes: a leaf named like the root, and a second leaf under a registered name.
    let twin = Cluster::builder("root.example.com").leaf().start();
    let path = write(twin.dir.path(), "tc.yaml", &trusted_cluster_yaml(&root, &tok, true, ROLE_MAP));
    let err = twin.tctl(&["create", path.to_str().unwrap()]).err();
    assert!(err.contains("own name"), "{err}");
    let ok = write(leaf.dir.path(), "ok.yaml", &trusted_cluster_yaml(&root, &tok, true, ROLE_MAP));
    leaf.tctl(&["create", ok.to_str().unwrap()]).ok();
    // The root cannot turn around and trust its own leaf (trust runs one way).
    let back = write(root.dir.path(), "back.yaml", &trusted_cluster_yaml(&leaf, "x", true, ROLE_MAP));
    let err = root.tctl(&["create", back.to_str().unwrap()]).err();
    assert!(err.contains("trust runs one way"), "{err}");
    let impostor = Cluster::builder("leaf.example.com").leaf().start();
    refused(
        &impostor,
        &root,
        "tc.yaml",
        &trusted_cluster_yaml(&root, &tok, true, ROLE_MAP),
        &["already registered", "tctl rm rc/leaf.example.com"],
    );
    // The clash did not touch the registered leaf's CAs.
    let cas = root.tctl(&["get", "cert_authority/leaf.example.com"]).ok();
    let leaf_cas = leaf.tctl(&["get", "cert_authority/leaf.example.com"]).ok();
    let host_key = |yaml: &str| {
        yaml.split("---")
            .find(|d| d.contains("type: host"))
            .and_then(|d| d.lines().find(|l| l.contains("ssh-ed25519")).map(str::trim).map(str::to_string))
    };
    assert_eq!(host_key(&cas), host_key(&leaf_cas), "root keeps the real leaf's host CA");
    let audit = root.audit_lines();
    assert!(
        audit.iter().any(|l| l.contains("trusted_cluster.validate") && l.contains("already registered")),
        "{audit:?}"
    );
}

#[test]
fn unmapped_roles_and_leaf_users_get_nothing() {
    ensure_visitor_account();
    let Pair { root, leaf, node: _node } = pair();
    let dir = root.dir.path().to_path_buf();
    trust(&root, &leaf);
    // contractor is not in the role map (its visitor login gets ann past the certificate check).
    let contractor = "kind: role\nversion: v5\nmetadata:\n  name: contractor\nspec:\n  allow:\n    logins: ['{{internal.logins}}']\n";
    root.tctl(&["create", write(&dir, "contractor.yaml", contractor).to_str().unwrap()]).ok();
    let home = root.add_user("ann", "contractor", "visitor", "correct-horse");
    wait_for("the leaf online", Duration::from_secs(20), || {
        let t = tsh(&root, &home, &["clusters"]).ok();
        (!row(&t, "leaf.example.com").is_some_and(|r| r.contains("online"))).then_some(t)
    });
    let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo ran"]);
    assert!(
        out.code != 0 && out.stderr.contains("no role_map rule matches the remote roles [contractor]"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("ran"));
    assert!(
        out.stderr.contains("access denied") && out.stderr.contains("contractor"),
        "names the remote roles: {}",
        out.stderr
    );
    let node_audit = || std::fs::read_to_string(_node.dir.path().join("data/log/events.log")).unwrap_or_default();
    // Written by the audit writer thread a moment after the login.
    wait_for("the role mapping audited", Duration::from_secs(2), || {
        (!node_audit().contains("role.mapping")).then(node_audit)
    });
    let audit = node_audit();
    let mapping = audit.lines().find(|l| l.contains("role.mapping")).unwrap_or_else(|| panic!("{audit}"));
    assert!(mapping.contains("\"success\":false") && mapping.contains("contractor"), "{mapping}");
    // The leaf API refuses the unmapped user too.
    let err = tsh(&root, &home, &["ls", "--cluster=leaf.example.com"]).err();
    assert!(err.contains("access denied") && err.contains("contractor"), "{err}");

    // A leaf user gets nothing on the root: not its API, not its proxy.
    leaf.add_user("leafuser", "access", "root", "correct-horse");
    let ident = leaf.dir.path().join("leafuser.json");
    leaf.tctl(&["auth", "sign", "--user=leafuser", &format!("--out={}", ident.display())]).ok();
    let err = leaf.tctl(&["-i", ident.to_str().unwrap(), "--proxy", &root.web_addr, "--insecure", "get", "rc"]).err();
    assert!(err.contains("access denied") && err.contains("not trusted here"), "{err}");
    let mut creds: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&ident).unwrap()).unwrap();
    creds["proxy"] = root.web_addr.clone().into();
    creds["ssh_proxy"] = "".into();
    std::fs::write(&ident, creds.to_string()).unwrap();
    let out = root.as_user(&dir, "tsh", &["-i", ident.to_str().unwrap(), "--insecure", "ls"], None);
    assert!(
        out.code != 0
            && out.stderr.contains("leafuser of cluster leaf.example.com")
            && out.stderr.contains("is not trusted here"),
        "{}",
        out.stderr
    );
}

#[test]
fn two_root_proxies_behind_a_round_robin_balancer_each_get_a_tunnel() {
    ensure_visitor_account();
    let Pair { root, leaf, node: _node } = pair();
    let second = root.another_proxy();
    let lb = Forwarder::start(&[&root.tunnel_addr, &second.tunnel_addr]);
    let dir = root.dir.path().to_path_buf();
    leaf.tctl(&["create", write(&dir, "visitor.yaml", VISITOR).to_str().unwrap()]).ok();
    let tok = token(&root, &["--type=trusted_cluster"]);
    let yaml = trusted_cluster_yaml(&root, &tok, true, ROLE_MAP).replace(&root.tunnel_addr, &lb.addr());
    leaf.tctl(&["create", write(&dir, "tc.yaml", &yaml).to_str().unwrap()]).ok();

    wait_for("a tunnel on each root proxy", Duration::from_secs(30), || {
        let a = tunnels_on(&root, &root.web_addr);
        let b = tunnels_on(&root, &second.web_addr);
        let ok = a.get("leaf.example.com") == Some(&1) && b.get("leaf.example.com") == Some(&1);
        (!ok).then(|| format!("first {a:?}, second {b:?}"))
    });
    let through = (lb.connections_to(&root.tunnel_addr), lb.connections_to(&second.tunnel_addr));
    assert!(through.0 >= 1 && through.1 >= 1, "the balancer sent tunnels to both: {through:?}");

    // ssh works through either proxy.
    let home_a = root.add_user("myuser", "access", "visitor", "correct-horse");
    let home_b = dir.join("home-b");
    std::fs::create_dir_all(&home_b).unwrap();
    second
        .as_user(
            &home_b,
            "tsh",
            &["login", &format!("--proxy={}", second.web_addr), "--user=myuser", "--insecure"],
            Some("correct-horse\n"),
        )
        .ok();
    for (proxy, home) in [(&root, &home_a), (&second, &home_b)] {
        let out = tsh(proxy, home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo via"]);
        assert_eq!(out.stdout.trim(), "via", "through {}: {}", proxy.web_addr, out.stderr);
    }
}

#[test]
fn a_restarted_root_finds_its_leaf_back_online() {
    ensure_visitor_account();
    let Pair { mut root, leaf, node: _node } = pair();
    trust(&root, &leaf);
    let home = root.add_user("myuser", "access", "visitor", "correct-horse");
    let online = |root: &Cluster| {
        let t = tsh(root, &home, &["clusters"]);
        row(&t.stdout, "leaf.example.com").is_some_and(|r| r.contains("online"))
    };
    wait_for("the leaf online", Duration::from_secs(20), || (!online(&root)).then(String::new));

    root.restart();
    let back = Instant::now();
    wait_for("the leaf online after the restart", Duration::from_secs(15), || (!online(&root)).then(String::new));
    eprintln!("leaf back online {:?} after the root answered", back.elapsed());
    // The SSH proxy port is new (port 0 in the test config): log in again to learn it.
    root.as_user(
        &home,
        "tsh",
        &["login", &format!("--proxy={}", root.web_addr), "--user=myuser", "--insecure"],
        Some("correct-horse\n"),
    )
    .ok();
    let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo again"]);
    assert_eq!(out.stdout.trim(), "again", "{}", out.stderr);
}

#[test]
fn every_root_shutdown_drains_the_leaf_tunnel_first() {
    let mut root = Cluster::start("root.example.com");
    let leaf = Cluster::builder("leaf.example.com").leaf().start();
    trust(&root, &leaf);
    let count = |needle: &str| leaf.log().matches(needle).count();
    const CONNECTED: &str = "tunnel: connected";
    const DRAINED: &str = "tunnel: the root proxy is stopping";
    wait_for("the tunnel up", Duration::from_secs(20), || (count(CONNECTED) < 1).then(|| leaf.log()));
    for round in 1..=10 {
        // SIGTERM, and wait until the root has exited.
        root.restart();
        // The drain was written and flushed before the root let the tunnel go.
        wait_for(&format!("drain {round} recorded by the leaf"), Duration::from_secs(2), || {
            (count(DRAINED) < round).then(|| format!("{} drains after {round} restarts", count(DRAINED)))
        });
        assert_eq!(count(DRAINED), round, "one drain per root shutdown");
        wait_for(&format!("the tunnel back after restart {round}"), Duration::from_secs(15), || {
            (count(CONNECTED) < round + 1).then(|| format!("{} connections", count(CONNECTED)))
        });
    }
}

#[test]
fn a_busy_tunnel_is_replaced_without_cutting_its_sessions() {
    ensure_visitor_account();
    let root = Cluster::start("root.example.com");
    let limits = format!("{}    tunnel_recycle_after: 3\n", tether_tests::TEST_LIMITS);
    let leaf = Cluster::builder("leaf.example.com").limits(&limits).leaf().start();
    let node_token = token(&leaf, &["--type=node"]);
    let _node = RemoteNode::start(&leaf.web_addr, "mynode", &node_token, &[("env", "demo")]);
    trust(&root, &leaf);
    let home = root.add_user("myuser", "access", "visitor", "correct-horse");
    wait_for("one tunnel", Duration::from_secs(20), || {
        let n = tunnels_on(&root, &root.web_addr).get("leaf.example.com").copied().unwrap_or(0);
        (n != 1).then(|| format!("{n} tunnels"))
    });

    // A session that runs across two replacements of its tunnel.
    let long = {
        let home = home.clone();
        let tsh = tether_tests::binary("tsh");
        std::thread::spawn(move || {
            std::process::Command::new(tsh)
                .args(["ssh", "--cluster=leaf.example.com", "visitor@mynode", "sleep 4; echo survived"])
                .env("TSH_HOME", &home)
                .env("HOME", &home)
                .output()
                .unwrap()
        })
    };
    std::thread::sleep(Duration::from_millis(800));
    for i in 0..7 {
        let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", &format!("echo {i}")]);
        assert_eq!(out.stdout.trim(), i.to_string(), "session {i} across tunnel replacements: {}", out.stderr);
    }
    let replaced = leaf.log().matches("tunnel: replacing a connection after 3 transports").count();
    assert!(replaced >= 2, "8 transports with tunnel_recycle_after 3 should replace the tunnel twice, saw {replaced}");
    let long = long.join().unwrap();
    assert_eq!(String::from_utf8_lossy(&long.stdout).trim(), "survived", "{}", String::from_utf8_lossy(&long.stderr));
    // The replaced connections hang up once their sessions are done.
    wait_for("the old tunnels gone", Duration::from_secs(15), || {
        let n = tunnels_on(&root, &root.web_addr).get("leaf.example.com").copied().unwrap_or(0);
        (n != 1).then(|| format!("{n} tunnels"))
    });
}

/// The user's cached leaf rows (`profiles/PROXY.leaves.json`): path and JSON.
fn cached_leaves(home: &Path) -> (std::path::PathBuf, serde_json::Value) {
    let dir = home.join("profiles");
    let path = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".leaves.json"))
        .expect("a leaf cache next to the profile");
    let json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    (path, json)
}

#[test]
fn tsh_ssh_takes_the_leaf_from_the_profile_and_asks_again_when_its_cas_fail() {
    let (pair, home) = trusted_pair();
    let leaf = pair.leaf.name.clone();
    let ssh = |cluster: &str| {
        tsh(&pair.root, &home, &["ssh", &format!("--cluster={cluster}"), "visitor@mynode", "echo", "in"])
    };
    let out = ssh(&leaf);
    assert_eq!(out.stdout, "in\n", "{}", out.stderr);

    // The root's row for the leaf, with its host CAs, is now cached next to the profile.
    let (path, mut rows) = cached_leaves(&home);
    let real_cas = rows[&leaf]["info"]["host_cas"].clone();
    assert!(real_cas.as_array().is_some_and(|cas| !cas.is_empty()), "{rows}");

    // A fresh cached row is used without asking the root's web API: a leaf the root does not
    // list, cached under another name, gets as far as asking for a certificate bound to it.
    let mut ghost = rows[&leaf].clone();
    ghost["info"]["name"] = "ghost.example.com".into();
    rows["ghost.example.com"] = ghost.clone();
    // A row listed too long ago is not used: the root is asked, and refuses a leaf it does not list.
    ghost["info"]["name"] = "old-ghost.example.com".into();
    ghost["listed_at"] = 0.into();
    rows["old-ghost.example.com"] = ghost;
    // A cached row whose host CA the leaf no longer uses (as after a CA rotation).
    let other = pair.root.dir.path().join("other-ca");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(keygen.success());
    let other_ca = std::fs::read_to_string(other.with_extension("pub")).unwrap().trim().to_string();
    rows[&leaf]["info"]["host_cas"] = serde_json::json!([other_ca]);
    std::fs::write(&path, serde_json::to_vec_pretty(&rows).unwrap()).unwrap();

    let err = ssh("ghost.example.com").err();
    assert!(err.contains("the root did not issue a certificate for cluster ghost.example.com"), "{err}");
    assert!(!err.contains("that you may see (tsh clusters lists them)"), "the cache was not used: {err}");
    let err = ssh("old-ghost.example.com").err();
    assert!(err.contains("\"old-ghost.example.com\" is not a leaf of root.example.com that you may see"), "{err}");

    // The node's certificate fails against the cached CA: tsh asks the root once and goes on.
    let out = ssh(&leaf);
    assert_eq!((out.code, out.stdout.as_str()), (0, "in\n"), "{}", out.stderr);
    let (_, rows) = cached_leaves(&home);
    assert_eq!(rows[&leaf]["info"]["host_cas"], real_cas, "the cache holds the root's CAs again");
    assert!(rows.get("ghost.example.com").is_none(), "a leaf the root does not list leaves the cache");

    // Rows read with an explicit --insecure (the proxy's certificate unchecked) are not kept for
    // later, verified runs.
    std::fs::remove_file(&path).unwrap();
    let out = tsh(&pair.root, &home, &["--insecure", "clusters"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!path.exists(), "tsh --insecure cached the leaf rows");
    tsh(&pair.root, &home, &["clusters"]).ok();
    assert!(path.exists(), "a verified listing caches them");
}

#[test]
fn a_leaf_removed_on_the_root_is_trusted_again_with_a_fresh_token_and_force() {
    let (Pair { root, leaf, node: _node }, home) = trusted_pair();
    let dir = root.dir.path().to_path_buf();
    root.tctl(&["rm", "rc/leaf.example.com"]).ok();
    wait_for("the leaf's tunnel refused", Duration::from_secs(20), || {
        let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "true"]);
        (out.code == 0).then(|| out.stdout.clone())
    });
    // On the leaf, the same trusted_cluster with a fresh token, --force: the root registers it
    // again (this used to print "updated" and leave the leaf refused).
    let tok = token(&root, &["--type=trusted_cluster"]);
    let file = write(&dir, "tc-again.yaml", &trusted_cluster_yaml(&root, &tok, true, ROLE_MAP));
    let out = leaf.tctl(&["create", "--force", file.to_str().unwrap()]).ok();
    assert!(out.contains("trusted_cluster 'root.example.com' has been updated"), "{out}");
    // The leaf's agents reconnect (with backoff) and the root takes them again.
    wait_for("a session through the root again", Duration::from_secs(30), || {
        let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo again"]);
        (out.stdout.trim() != "again").then(|| out.stderr.clone())
    });
    // The same file again (the token is reusable until it expires): asked again, the trust intact.
    leaf.tctl(&["create", "--force", file.to_str().unwrap()]).ok();
    let out = tsh(&root, &home, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo still"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "still"), "{}", out.stderr);
}

/// `auth_service.remote_cluster_ttl`: a leaf that keeps calling in stays, its expiry shown; a
/// leaf gone silent is removed with its CAs, audited and logged.
#[test]
fn a_remote_cluster_silent_past_its_ttl_is_removed() {
    let (Pair { root, mut leaf, node: _node }, _home) = tether_tests::fixtures::trusted_pair_with(
        "  keep_alive_interval: 200ms\n  keep_alive_count_max: 3\n  remote_cluster_ttl: 3s\n",
    );
    let rc = root.tctl(&["get", "rc/leaf.example.com"]).ok();
    assert!(rc.contains("connection: online") && rc.contains("expires: "), "{rc}");
    // Longer than the TTL, heartbeats keep it.
    std::thread::sleep(Duration::from_secs(4));
    root.tctl(&["get", "rc/leaf.example.com"]).ok();
    leaf.stop();
    wait_for("the silent leaf removed", Duration::from_secs(20), || {
        let out = root.tctl(&["get", "rc/leaf.example.com"]);
        (out.code == 0).then(|| out.stdout.clone())
    });
    let cas = root.tctl(&["get", "cert_authority"]).ok();
    assert!(!cas.contains("leaf.example.com"), "its CAs go with it: {cas}");
    let audit = root.audit_lines();
    assert!(
        audit.iter().any(|l| l.contains("\"event\":\"resource.delete\"")
            && l.contains("\"user\":\"@tether\"")
            && l.contains("\"name\":\"leaf.example.com\"")
            && l.contains("remote_cluster_ttl")),
        "{audit:#?}"
    );
    assert!(root.log().contains("removed remote cluster leaf.example.com: no heartbeat since"), "{}", root.log());
}
