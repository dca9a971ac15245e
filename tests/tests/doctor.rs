//! `tctl trusted-cluster doctor`: each broken trust named by its cause, with the fix, and a
//! healthy one passing. On a leaf it checks the way to the root as the leaf daemon takes it; on
//! a root, `--leaf` checks its view of one leaf.

use std::time::Duration;

use tether_tests::Cluster;
use tether_tests::fixtures::{Pair, ROLE_MAP, token, trusted_cluster_yaml, trusted_pair, wait_for, write};

const LEAF: &str = "leaf.example.com";

/// The report's line for `check`, or a panic showing the report.
fn line<'a>(report: &'a str, mark: &str, check: &str) -> &'a str {
    let prefix = format!("{mark} {check}:");
    report.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {prefix:?} line in:\n{report}"))
}

/// The doctor's output (stdout) and whether it passed.
fn doctor(cluster: &Cluster, args: &[&str]) -> (String, bool) {
    let mut all = vec!["trusted-cluster", "doctor"];
    all.extend_from_slice(args);
    let run = cluster.tctl(&all);
    if run.code != 0 {
        assert!(run.stderr.contains("checks failed"), "{}", run.stderr);
    }
    (run.stdout, run.code == 0)
}

#[test]
fn the_doctor_names_what_breaks_a_trust_and_passes_a_healthy_one() {
    let (Pair { mut root, leaf, node: _node }, home) = trusted_pair();
    let dir = root.dir.path().to_path_buf();

    // All healthy (the leaf runs with --insecure: a working trust, with a warning).
    let (out, ok) = doctor(&leaf, &[]);
    assert!(ok, "{out}");
    assert!(line(&out, "✓", "trust").contains("is enabled"), "{out}");
    assert!(line(&out, "✓", "web tls").contains("accepted because this daemon runs with --insecure"), "{out}");
    assert!(out.contains("warning: the certificate would be refused without --insecure"), "{out}");
    assert!(line(&out, "✓", "root api").contains("is the proxy of cluster root.example.com"), "{out}");
    assert!(line(&out, "✓", "root trust").contains("trusts leaf.example.com"), "{out}");
    assert!(line(&out, "✓", "tunnel ssh").contains("accepted this leaf's tunnel login"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("✓ tunnel to proxy ") && l.contains("last heartbeat")), "{out}");
    // The fixtures' role map names `clusteradmin`, which this leaf does not have.
    assert!(out.contains("local roles that do not exist here: clusteradmin"), "{out}");
    let (json, _) = doctor(&leaf, &["--format=json"]);
    let report: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(report["peer"], "root.example.com", "{json}");
    assert!(report["checks"].as_array().is_some_and(|c| c.iter().all(|c| c["ok"] == true)), "{json}");
    // The root's view of the leaf.
    let (out, ok) = doctor(&root, &[&format!("--leaf={LEAF}")]);
    assert!(ok, "{out}");
    assert!(line(&out, "✓", "status").contains("online, last heartbeat"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("✓ tunnel at proxy ")), "{out}");
    // A user whose roles do not see the leaf (its labels) learns nothing more than of a leaf
    // that does not exist.
    root.tctl(&["update", &format!("rc/{LEAF}"), "--set-labels=env=demo"]).ok();
    let run = root.as_user(&home, "tctl", &["trusted-cluster", "doctor", &format!("--leaf={LEAF}")], None);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(line(&run.stdout, "✗", "remote cluster").contains("this root has no remote_cluster"), "{}", run.stdout);
    root.tctl(&["update", &format!("rc/{LEAF}"), "--set-labels="]).ok();

    // A role map that matches nothing, and a local role that does not exist.
    let (out, ok) = doctor(&leaf, &["--roles=nobody"]);
    assert!(!ok);
    assert!(line(&out, "✗", "role map").contains("remote roles [nobody] match no rule"), "{out}");
    let (out, ok) = doctor(&leaf, &["--roles=cluster-ops"]);
    assert!(!ok);
    assert!(line(&out, "✗", "role map").contains("these local roles do not exist here: clusteradmin"), "{out}");
    let (out, ok) = doctor(&leaf, &["--roles=access"]);
    assert!(ok, "{out}");
    assert!(line(&out, "✓", "role map").contains("remote roles [access] map to [visitor]"), "{out}");

    // A wrong tunnel port (the root's web port) and a wrong web port (its tunnel port).
    let tok = token(&root, &["--type=trusted_cluster"]);
    let good = trusted_cluster_yaml(&root, &tok, true, ROLE_MAP);
    let wrong_tunnel = write(&dir, "wrong-tunnel.yaml", &good.replace(&root.tunnel_addr, &root.web_addr));
    let (out, ok) = doctor(&leaf, &["-f", wrong_tunnel.to_str().unwrap()]);
    assert!(!ok);
    assert!(line(&out, "✗", "tunnel ssh").contains("does not speak SSH"), "{out}");
    assert!(line(&out, "✓", "web tls").contains("answers TLS"), "{out}");
    let wrong_web = write(&dir, "wrong-web.yaml", &good.replace(&root.web_addr, &root.tunnel_addr));
    let (out, ok) = doctor(&leaf, &["-f", wrong_web.to_str().unwrap()]);
    assert!(!ok);
    assert!(line(&out, "✗", "web tls").contains("is an SSH server, not the root's HTTPS web address"), "{out}");

    // Trust disabled.
    let disabled = write(&dir, "disabled.yaml", &trusted_cluster_yaml(&root, &tok, false, ROLE_MAP));
    leaf.tctl(&["create", "--force", disabled.to_str().unwrap()]).ok();
    let (out, ok) = doctor(&leaf, &[]);
    assert!(!ok);
    assert!(line(&out, "✗", "trust").contains("is disabled (enabled: false)"), "{out}");
    assert!(out.contains("set enabled: true"), "{out}");
    let enabled = write(&dir, "enabled.yaml", &good);
    let out = leaf.tctl(&["create", "--force", enabled.to_str().unwrap()]).ok();
    // Creating it says what the role map names that does not exist here.
    assert!(
        out.contains(
            "warning: the role_map of trusted_cluster 'root.example.com' maps to roles that do not exist on \
                      this cluster: clusteradmin;"
        ),
        "{out}"
    );
    wait_for("the leaf back online", Duration::from_secs(30), || {
        let out = root.tctl(&["get", &format!("rc/{LEAF}")]);
        (!out.stdout.contains("connection: online")).then(|| out.stdout.clone())
    });

    // The remote cluster removed on the root: both sides say so.
    root.tctl(&["rm", &format!("rc/{LEAF}")]).ok();
    let (out, ok) = doctor(&leaf, &[]);
    assert!(!ok);
    assert!(line(&out, "✗", "root trust").contains("has no remote_cluster leaf.example.com"), "{out}");
    assert!(line(&out, "✗", "tunnel ssh").contains("the root refused this leaf's tunnel login"), "{out}");
    let (out, ok) = doctor(&root, &[&format!("--leaf={LEAF}")]);
    assert!(!ok);
    assert!(line(&out, "✗", "remote cluster").contains("this root has no remote_cluster"), "{out}");

    // The root down.
    root.stop();
    let (out, ok) = doctor(&leaf, &[]);
    assert!(!ok);
    assert!(line(&out, "✗", "web tcp").contains("cannot connect to"), "{out}");
    assert!(line(&out, "✗", "tunnel tcp").contains("cannot connect to"), "{out}");
    assert!(line(&out, "✗", "tunnels").contains("holds no tunnel to root.example.com"), "{out}");
}

#[test]
fn the_doctor_judges_the_roots_https_as_a_leaf_without_insecure_would() {
    let root = Cluster::start("root.example.com");
    // A leaf without --insecure accepts only certificates from public CAs.
    let leaf = Cluster::start(LEAF);
    let dir = root.dir.path().to_path_buf();
    let tok = token(&root, &["--type=trusted_cluster"]);
    let file = write(&dir, "tc.yaml", &trusted_cluster_yaml(&root, &tok, true, ROLE_MAP));
    let (out, ok) = doctor(&leaf, &["-f", file.to_str().unwrap()]);
    assert!(!ok);
    let tls = line(&out, "✗", "web tls");
    assert!(
        tls.contains("this leaf does not accept the root's HTTPS certificate") && tls.contains("self-signed"),
        "{out}"
    );
    assert!(out.contains("start this leaf's tether daemon with --insecure"), "{out}");
    assert!(!out.contains("✓ root trust"), "the web checks failed, so the root was not asked: {out}");

    // A root whose HTTPS certificate (given in https_keypairs) has expired.
    let ca = tether_shared::tls_cert::TlsCa::generate("expired.example.com").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let cert = ca
        .issue_server_cert(
            &["localhost".to_string()],
            &["127.0.0.1".parse().unwrap()],
            now - time::Duration::days(10),
            now - time::Duration::days(1),
        )
        .unwrap();
    let (cert_file, key_file) = (dir.join("expired.pem"), dir.join("expired.key"));
    std::fs::write(&cert_file, &cert.cert_pem).unwrap();
    std::fs::write(&key_file, cert.key_pem.as_bytes()).unwrap();
    // Indented: these lines continue the builder's proxy_service section.
    let expired = Cluster::builder("expired.example.com")
        .section(&format!(
            "  https_keypairs:\n  - key_file: {}\n    cert_file: {}\n",
            key_file.display(),
            cert_file.display()
        ))
        .start();
    // Its own admin identity cannot verify it either: --insecure for the token.
    let tok = token(&expired, &["--type=trusted_cluster", "--insecure"]);
    let file = write(&dir, "tc-expired.yaml", &trusted_cluster_yaml(&expired, &tok, true, ROLE_MAP));
    let (out, ok) = doctor(&leaf, &["-f", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(line(&out, "✗", "web tls").contains("the certificate expired at"), "{out}");
}
