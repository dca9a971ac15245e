//! `cluster_labels` cannot be bypassed: a leaf accepts a root user's certificate only when the
//! root bound it to that leaf, which the root does only for users whose roles allow the leaf's
//! labels. Tried on every path a user could take: through the root, straight to the leaf's node
//! with OpenSSH, straight to the leaf proxy's SSH port, and at the leaf's API with the TLS
//! certificate.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tether_tests::fixtures::{token, trust, trusted_pair, trusted_pair_with, wait_for, write};
use tether_tests::{Cluster, RemoteNode};

const PROD_ACCESS: &str = "kind: role
version: v5
metadata:
  name: prod-access
spec:
  allow:
    cluster_labels:
      'env': 'prod'
";

/// The `tsh config` files of a user: (key, root certificate, certificate bound to the leaf, if any).
fn openssh_files(home: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let dir = home.join("openssh");
    (
        dir.join("root.example.com.key"),
        dir.join("root.example.com.key-cert.pub"),
        dir.join("leaf.example.com.leaf-cert.pub"),
    )
}

/// OpenSSH straight to `addr` (no proxy, no tsh) as `login` with `key` and `cert`.
fn ssh_direct(addr: std::net::SocketAddr, login: &str, key: &Path, cert: &Path, args: &[&str]) -> Output {
    Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR"])
        .arg("-i")
        .arg(key)
        .arg("-o")
        .arg(format!("CertificateFile={}", cert.display()))
        .args(["-p", &addr.port().to_string(), &format!("{login}@{}", addr.ip())])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ssh runs")
}

/// GET `path` on the leaf's API with the TLS certificate `tls_cert` and the user's key.
fn leaf_api(leaf_web: &str, home: &Path, tls_cert: &str, path: &str) -> Result<String, String> {
    let creds = tether_cli::profile::load_current(home).unwrap().credentials;
    let creds = tether_client::credentials::Credentials { tls_cert: tls_cert.to_string(), ..creds };
    let identity = creds.client_identity().unwrap();
    let client =
        tether_client::client::ApiClient::new(leaf_web, &tether_client::client::ServerTrust::Insecure, Some(&identity))
            .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(client.get::<serde_json::Value>(path)).map(|v| v.to_string()).map_err(|e| e.to_string())
}

#[test]
fn a_leaf_refuses_root_users_its_labels_do_not_allow_on_every_path() {
    let (mut pair, _home) = trusted_pair();
    let (allowed, node_addr) = every_path(&pair);

    // A certificate already bound keeps working straight at the leaf while the root is down
    // (until it expires).
    pair.root.stop();
    let (key, _, bound_cert) = openssh_files(&allowed);
    let out = ssh_direct(node_addr, "visitor", &key, &bound_cert, &["echo still"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "still", "{}", String::from_utf8_lossy(&out.stderr));
}

/// The paths, for a user the leaf's labels allow and one they do not; returns the allowed
/// user's tsh home and the leaf node's address.
fn every_path(pair: &tether_tests::fixtures::Pair) -> (PathBuf, std::net::SocketAddr) {
    let (root, leaf) = (&pair.root, &pair.leaf);
    let dir = root.dir.path().to_path_buf();
    root.tctl(&["update", "rc/leaf.example.com", "--set-labels=env=prod"]).ok();
    root.tctl(&["create", write(&dir, "prod-access.yaml", PROD_ACCESS).to_str().unwrap()]).ok();
    let allowed = root.add_user("allowed", "access,prod-access", "visitor", "correct-horse");
    let limited = root.add_user("limited", "access", "visitor", "correct-horse");
    let node_addr = pair.node.first_line.rsplit(' ').next().and_then(|a| a.parse().ok()).expect("the node's address");
    let leaf_ssh = leaf.logged_addr("ssh_addr").expect("the leaf proxy's SSH address");
    let tsh = |home: &Path, args: &[&str]| root.as_user(home, "tsh", args, None);

    // Through the root.
    let out = tsh(&allowed, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo in"]);
    assert_eq!(out.stdout.trim(), "in", "{}", out.stderr);
    let out = tsh(&limited, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo in"]);
    assert!(out.code != 0 && out.stderr.contains("leaf.example.com"), "{}", out.stderr);
    let out = tsh(&limited, &["login", "--cluster=leaf.example.com"]);
    assert!(
        out.code != 0 && out.stderr.contains("is not a leaf of root.example.com that you may see"),
        "tsh login --cluster refuses a leaf the roles do not allow: {}",
        out.stderr
    );

    // The root refuses to bind a certificate to a leaf the roles do not allow, and says why.
    let creds = tether_cli::profile::load_current(&limited).unwrap().credentials;
    let key = russh::keys::PrivateKey::from_openssh(&creds.private_key).unwrap();
    let req = tether_shared::api::LeafCertRequest {
        cluster: "leaf.example.com".into(),
        public_key: key.public_key().to_openssh().unwrap(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let refused = runtime
        .block_on(creds.api_client(true).unwrap().post::<_, serde_json::Value>("/webapi/certs/leaf", &req))
        .map(|_| ())
        .map_err(|e| e.to_string());
    let err = refused.expect_err("no leaf-bound certificate for limited");
    assert!(err.contains("your roles do not allow cluster leaf.example.com"), "{err}");

    // Straight to the leaf's node with OpenSSH: the root certificate is not enough.
    for home in [&allowed, &limited] {
        assert_eq!(tsh(home, &["config"]).code, 0);
    }
    let (key, root_cert, _) = openssh_files(&limited);
    let out = ssh_direct(node_addr, "visitor", &key, &root_cert, &["echo in"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("this certificate is not issued for cluster leaf.example.com; run `tsh login --cluster=leaf.example.com`"),
        "limited, root certificate, straight to the node: {stderr}"
    );
    let (key, root_cert, bound_cert) = openssh_files(&allowed);
    let out = ssh_direct(node_addr, "visitor", &key, &root_cert, &["echo in"]);
    assert!(!out.status.success(), "even an allowed user's unbound root certificate is refused");
    let out = ssh_direct(node_addr, "visitor", &key, &bound_cert, &["echo in"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "in", "{}", String::from_utf8_lossy(&out.stderr));
    let audit = std::fs::read_to_string(pair.node.dir.path().join("data/log/events.log")).unwrap_or_default();
    assert!(
        audit.contains("not_bound") || audit.contains("not issued for cluster"),
        "the node audits the refusal: {audit}"
    );

    // Straight to the leaf proxy's SSH port: the leaf's relay takes only its own users.
    let (key, root_cert, _) = openssh_files(&limited);
    let out = ssh_direct(leaf_ssh, "visitor", &key, &root_cert, &["-s", "proxy:mynode"]);
    assert!(!out.status.success(), "limited at the leaf proxy");
    // Told why and what to run (it was a bare "Permission denied" before).
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("run `tsh login --cluster=leaf.example.com`"), "{stderr}");

    // The leaf's API: the root TLS certificate is refused, the bound one accepted.
    let limited_creds = tether_cli::profile::load_current(&limited).unwrap().credentials;
    let err = leaf_api(&leaf.web_addr, &limited, &limited_creds.tls_cert, "/webapi/nodes")
        .expect_err("limited at the leaf API");
    assert!(err.contains("not issued for cluster leaf.example.com"), "{err}");
    let profile = tether_cli::profile::load_current(&allowed).unwrap();
    let bound = profile.leaf_certs.get("leaf.example.com").expect("allowed holds a certificate bound to the leaf");
    let nodes = leaf_api(&leaf.web_addr, &allowed, &bound.tls_cert, "/webapi/nodes").expect("allowed at the leaf API");
    assert!(nodes.contains("mynode"), "{nodes}");
    let err = leaf_api(&leaf.web_addr, &allowed, &profile.credentials.tls_cert, "/webapi/nodes").expect_err("unbound");
    assert!(err.contains("not issued for cluster leaf.example.com"), "{err}");
    // A bound certificate cannot be traded for another: the root asks for the root login.
    let with_bound =
        tether_client::credentials::Credentials { tls_cert: bound.tls_cert.clone(), ..profile.credentials.clone() };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let traded = runtime
        .block_on(with_bound.api_client(true).unwrap().post::<_, serde_json::Value>("/webapi/certs/leaf", &req))
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert!(traded.is_err_and(|e| e.contains("a leaf-bound certificate cannot ask for another")), "bound for bound");

    // Labels changed away from the user: the root issues no new bound certificate.
    root.tctl(&["update", "rc/leaf.example.com", "--set-labels=env=staging"]).ok();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let creds = profile.credentials.clone();
    // Someone else's public key (limited's) is never certified in this caller's name.
    let refused = runtime
        .block_on(creds.api_client(true).unwrap().post::<_, serde_json::Value>("/webapi/certs/leaf", &req))
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("public_key is not the key of your certificate")),
        "{refused:?}"
    );
    let own = russh::keys::PrivateKey::from_openssh(&creds.private_key).unwrap().public_key().to_openssh().unwrap();
    let req = tether_shared::api::LeafCertRequest { cluster: "leaf.example.com".into(), public_key: own };
    let refused = runtime
        .block_on(creds.api_client(true).unwrap().post::<_, serde_json::Value>("/webapi/certs/leaf", &req))
        .map(|_| ())
        .map_err(|e| e.to_string());
    assert!(refused.is_err_and(|e| e.contains("your roles do not allow cluster leaf.example.com")));
    // (tsh takes the leaf from its profile's cache and a bound certificate it still holds, so the
    // refusal comes from the root's relay itself.)
    let out = tsh(&allowed, &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo in"]);
    assert!(
        out.code != 0
            && out.stderr.contains(
                "access to cluster \"leaf.example.com\" denied: no role allows a cluster labelled env=staging"
            ),
        "the root's relay checks the labels again: {}",
        out.stderr
    );
    (allowed, node_addr)
}

#[test]
fn a_bound_certificate_dies_with_its_short_life_once_the_labels_change() {
    let (pair, home) = trusted_pair_with("  leaf_cert_ttl: 8s\n");
    let node_addr: std::net::SocketAddr =
        pair.node.first_line.rsplit(' ').next().and_then(|a| a.parse().ok()).expect("the node's address");
    let config = pair.root.as_user(&home, "tsh", &["config"], None);
    assert_eq!(config.code, 0, "{}", config.stderr);
    let (key, _, bound_cert) = openssh_files(&home);
    let text = std::fs::read_to_string(&bound_cert).unwrap();
    let cert = tether_shared::ssh_cert::cert_from_openssh(&text).unwrap();
    let expires = std::time::UNIX_EPOCH + std::time::Duration::from_secs(cert.valid_before());
    let left = expires.duration_since(std::time::SystemTime::now()).unwrap_or_default();
    assert!(left <= std::time::Duration::from_secs(8), "leaf_cert_ttl bounds the bound certificate: {left:?}");
    let out = ssh_direct(node_addr, "visitor", &key, &bound_cert, &["echo in"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "in", "{}", String::from_utf8_lossy(&out.stderr));

    // The admin labels the leaf away from the user: the certificate in hand dies at its expiry
    // and no new one comes, so OpenSSH through tsh config is refused too.
    pair.root.tctl(&["update", "rc/leaf.example.com", "--set-labels=env=prod"]).ok();
    std::thread::sleep(left + std::time::Duration::from_secs(1));
    let out = ssh_direct(node_addr, "visitor", &key, &bound_cert, &["echo in"]);
    assert!(!out.status.success(), "an expired bound certificate: {}", String::from_utf8_lossy(&out.stdout));
    let renew = pair.root.as_user(&home, "tsh", &["proxy", "cert", "--cluster=leaf.example.com"], None);
    assert!(renew.code != 0 && renew.stderr.contains("leaf.example.com"), "{}", renew.stderr);
    let config_file = home.join("ssh_config");
    std::fs::write(&config_file, &config.stdout).unwrap();
    let out = Command::new("ssh")
        .arg("-F")
        .arg(&config_file)
        .args(["-o", "BatchMode=yes", "visitor@mynode.leaf.example.com", "echo in"])
        .env("TSH_HOME", &home)
        .env("HOME", &home)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "OpenSSH through tsh config: {}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn a_certificate_bound_to_one_leaf_is_refused_by_another() {
    let (pair, home) = trusted_pair();
    let other = Cluster::builder("other.example.com").leaf().start();
    let node_token = token(&other, &["--type=node"]);
    let other_node = RemoteNode::start(&other.web_addr, "othernode", &node_token, &[]);
    assert!(other_node.first_line.contains("ssh service listening"), "{}", other_node.log());
    trust(&pair.root, &other);
    wait_for("the second leaf online", std::time::Duration::from_secs(30), || {
        let out = pair.root.tctl(&["get", "rc/other.example.com"]);
        (!out.stdout.contains("connection: online")).then(|| out.stdout.clone())
    });
    let tsh = |args: &[&str]| pair.root.as_user(&home, "tsh", args, None);
    for (cluster, node) in [("leaf.example.com", "mynode"), ("other.example.com", "othernode")] {
        let out = tsh(&["ssh", &format!("--cluster={cluster}"), &format!("visitor@{node}"), "echo in"]);
        assert_eq!(out.stdout.trim(), "in", "{cluster}: {}", out.stderr);
    }
    assert_eq!(tsh(&["config"]).code, 0);
    let (key, _, bound_to_leaf) = openssh_files(&home);
    let other_addr: std::net::SocketAddr =
        other_node.first_line.rsplit(' ').next().and_then(|a| a.parse().ok()).expect("the node's address");
    let out = ssh_direct(other_addr, "visitor", &key, &bound_to_leaf, &["echo in"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && stderr.contains("this certificate is issued for cluster leaf.example.com, not other.example.com"),
        "a certificate bound to leaf.example.com at other.example.com's node: {stderr}"
    );
    let bound_to_other = home.join("openssh").join("other.example.com.leaf-cert.pub");
    let out = ssh_direct(other_addr, "visitor", &key, &bound_to_other, &["echo in"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "in", "{}", String::from_utf8_lossy(&out.stderr));
}
