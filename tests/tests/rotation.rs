//! CA rotation end to end, with real root, leaf and node processes: the root's user CA walked
//! through every phase while a session through the tunnel stays open, the leaf following each
//! phase over the tunnel, a certificate from the old key refused once the rotation is over, a
//! rollback, and the TLS CA rotated by the automatic mode while `tsh` and `tctl` keep verifying
//! the proxy without `--insecure`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use tether_tests::fixtures::{Pair, trusted_pair, wait_for};
use tether_tests::{Cluster, Run, binary};

fn tsh(cluster: &Cluster, home: &Path, args: &[&str]) -> Run {
    cluster.as_user(home, "tsh", args, None)
}

/// The phase `cluster`'s `tctl status` shows for the `what` CA (`User CA`, `Host CA`, `TLS CA`)
/// of `of`.
fn phase_of(cluster: &Cluster, what: &str, of: &str) -> String {
    let status = cluster.tctl(&["status"]).ok();
    status
        .lines()
        .find(|l| l.starts_with(what) && l.split_whitespace().any(|w| w == of))
        .and_then(|l| l.split("phase ").nth(1))
        .map(|rest| rest.split([' ', ',']).next().unwrap_or_default().to_string())
        .unwrap_or_else(|| format!("(no {what} of {of} in: {status})"))
}

/// The profile's leaf-bound certificate for the leaf and the profile's key, written as files
/// OpenSSH takes.
fn leaf_cert_files(home: &Path, dir: &Path, leaf: &str) -> (PathBuf, PathBuf) {
    let profile = std::fs::read_dir(home.join("profiles"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json") && !p.to_string_lossy().ends_with(".leaves.json"))
        .expect("a profile");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&profile).unwrap()).unwrap();
    let cert = json["leaf_certs"][leaf]["ssh_cert"].as_str().expect("a leaf certificate in the profile").to_string();
    let key = std::fs::read_dir(home.join("keys")).unwrap().filter_map(Result::ok).next().expect("a key file").path();
    let cert_file = dir.join("old-leaf-cert.pub");
    std::fs::write(&cert_file, cert).unwrap();
    let key_file = dir.join("old-leaf-key");
    std::fs::copy(key, &key_file).unwrap();
    (key_file, cert_file)
}

/// OpenSSH straight to the leaf's node with the given key and certificate.
fn openssh_to(node_port: u16, key: &Path, cert: &Path) -> std::process::Output {
    Command::new("ssh")
        .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i"])
        .arg(key)
        .arg("-o")
        .arg(format!("CertificateFile={}", cert.display()))
        .args(["-p", &node_port.to_string(), "visitor@127.0.0.1", "id -un"])
        .stdin(Stdio::null())
        .output()
        .expect("ssh runs")
}

fn rotate(root: &Cluster, ca_type: &str, phase: &str) -> String {
    root.tctl(&["auth", "rotate", &format!("--type={ca_type}"), "--manual", &format!("--phase={phase}")]).ok()
}

#[test]
fn the_roots_user_ca_rotates_through_every_phase_without_breaking_a_session() {
    let (Pair { root, leaf, node }, home) = trusted_pair();
    let dir = root.dir.path().to_path_buf();
    let node_port: u16 = node
        .first_line
        .split_whitespace()
        .find_map(|w| w.parse::<std::net::SocketAddr>().ok())
        .map(|a| a.port())
        .unwrap_or_else(|| panic!("no address in {:?}", node.first_line));
    let cluster = "--cluster=leaf.example.com";
    let out = tsh(&root, &home, &["ssh", cluster, "visitor@mynode", "id -un"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "visitor"), "{}", out.stderr);
    let (old_key, old_cert) = leaf_cert_files(&home, &dir, "leaf.example.com");
    let status = root.tctl(&["status"]).ok();
    let old_ca = status
        .lines()
        .skip_while(|l| !l.starts_with("User CA  root.example.com"))
        .nth(1)
        .and_then(|l| l.trim().strip_prefix("signing  "))
        .unwrap_or_else(|| panic!("no user CA key in {status}"))
        .to_string();
    let straight = openssh_to(node_port, &old_key, &old_cert);
    assert_eq!(String::from_utf8_lossy(&straight.stdout).trim(), "visitor", "{straight:?}");

    // A session through the tunnel that prints a line every 200 ms for the whole rotation.
    let mut session = Command::new(binary("tsh"))
        .args(["ssh", cluster, "visitor@mynode", "for i in $(seq 1 1000); do echo tick $i; sleep 0.2; done"])
        .env("TSH_HOME", &home)
        .env("HOME", &home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = session.stdout.take().unwrap();
    let (tx, ticks) = std::sync::mpsc::channel::<usize>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut total = 0;
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += buf[..n].iter().filter(|b| **b == b'\n').count();
            let _ = tx.send(total);
        }
    });
    let ticked = |at_least: usize| {
        let mut last = 0;
        while let Ok(n) = ticks.recv_timeout(Duration::from_secs(5)) {
            last = n;
            if n >= at_least {
                return n;
            }
        }
        panic!("the session stopped printing at {last} lines");
    };
    let mut seen = ticked(3);

    for phase in ["init", "update_clients", "update_servers", "standby"] {
        let moved = rotate(&root, "user", phase);
        assert!(moved.contains(&format!("user CA of root.example.com: phase {phase}")), "{moved}");
        // The leaf follows over the tunnel.
        wait_for(&format!("the leaf to store the root's user CA in {phase}"), Duration::from_secs(10), || {
            let at = phase_of(&leaf, "User CA", "root.example.com");
            (at != phase).then_some(at)
        });
        // New sessions work in every phase, and the open one goes on.
        let out = tsh(&root, &home, &["ssh", cluster, "visitor@mynode", "echo new-session"]);
        assert_eq!((out.code, out.stdout.trim()), (0, "new-session"), "phase {phase}: {}", out.stderr);
        seen = ticked(seen + 3);
        if phase == "update_servers" {
            // The certificate from the old key still works straight at the node before standby.
            let straight = openssh_to(node_port, &old_key, &old_cert);
            assert_eq!(String::from_utf8_lossy(&straight.stdout).trim(), "visitor", "{straight:?}");
        }
    }
    // After standby the old key's certificate is refused at the leaf's node.
    let refused = openssh_to(node_port, &old_key, &old_cert);
    assert_ne!(refused.status.code(), Some(0), "the old key's certificate still works: {refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("Permission denied"), "{refused:?}");
    let status = root.tctl(&["status"]).ok();
    assert!(status.contains("User CA  root.example.com  phase standby, last rotated"), "{status}");
    // Through the root too: after standby the root's relay refused the old key's certificate
    // (tsh then renewed its certificates and went on).
    let refused_at_root = root
        .audit_lines()
        .into_iter()
        .any(|l| l.contains("auth.failure") && l.contains(&format!("untrusted certificate authority ({old_ca})")));
    assert!(refused_at_root, "the root never refused the old key's certificate: {:#?}", root.audit_lines());
    assert!(session.try_wait().unwrap().is_none(), "the session ended during the rotation");
    ticked(seen + 3);
    let _ = session.kill();
    let _ = session.wait();

    // Every move was audited on the root, and every copy on the leaf.
    let audit = root.audit_lines().join("\n");
    for phase in ["init", "update_clients", "update_servers", "standby"] {
        assert!(
            audit.contains(&format!("\"phase\":\"{phase}\"")) && audit.contains("\"event\":\"ca.rotate\""),
            "{phase} not audited: {audit}"
        );
    }
    let leaf_audit = leaf.audit_lines().join("\n");
    assert!(leaf_audit.contains("\"event\":\"ca.sync\""), "{leaf_audit}");

    // A rollback keeps the key in use, and a move out of order says what comes next.
    let before = root.tctl(&["auth", "export", "--type=user"]).ok();
    rotate(&root, "user", "init");
    let wrong = root.tctl(&["auth", "rotate", "--type=user", "--manual", "--phase=standby"]).err();
    assert!(
        wrong.contains("the user CA cannot go from init to standby: the next phase is update_clients, or rollback"),
        "{wrong}"
    );
    rotate(&root, "user", "rollback");
    rotate(&root, "user", "standby");
    assert_eq!(root.tctl(&["auth", "export", "--type=user"]).ok(), before, "the rollback changed the key");
    let out = tsh(&root, &home, &["ssh", cluster, "visitor@mynode", "echo after-rollback"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "after-rollback"), "{}", out.stderr);

    // The root's host CA: tsh's profile trusts both keys while the rotation runs and drops the
    // old one after standby, from its listings alone.
    let held = || {
        let profile = std::fs::read_dir(home.join("profiles"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "json") && !p.to_string_lossy().ends_with(".leaves.json"))
            .unwrap();
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
        let keys = json["credentials"]["host_cas"].as_array().cloned().unwrap_or_default();
        keys.iter()
            .filter_map(|k| k["public_key"].as_str())
            .map(|k| k.split_whitespace().nth(1).unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    for phase in ["init", "update_clients", "update_servers", "standby"] {
        rotate(&root, "host", phase);
        tsh(&root, &home, &["clusters"]).ok();
        let want = if phase == "standby" { 1 } else { 2 };
        assert_eq!(held().len(), want, "host CA keys in the profile in {phase}: {:?}", held());
    }
    let export = root.tctl(&["auth", "export", "--type=host"]).ok();
    assert!(held().iter().all(|k| export.contains(k.as_str())), "the profile kept the retired key: {export}");
}

#[test]
fn the_leafs_host_ca_rotates_by_itself_and_the_root_still_reaches_and_verifies_it() {
    let (Pair { mut root, leaf, node }, home) = trusted_pair();
    let cluster = "--cluster=leaf.example.com";
    let out = tsh(&root, &home, &["ssh", cluster, "visitor@mynode", "id -un"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "visitor"), "{}", out.stderr);

    let started = leaf.tctl(&["auth", "rotate", "--type=host", "--grace-period=9s"]).ok();
    assert!(started.contains("host CA of leaf.example.com: phase init (automatic; next phase at"), "{started}");
    // The automatic mode walks every phase; tsh reaches and verifies the leaf's node all along
    // (its cached copy of the leaf's host CAs refreshes on the first mismatch).
    let mut phases = Vec::new();
    let mut config_lines = Vec::new();
    wait_for("the automatic rotation to finish", Duration::from_secs(40), || {
        let at = phase_of(&leaf, "Host CA", "leaf.example.com");
        if phases.last() != Some(&at) {
            phases.push(at.clone());
            // tsh config's @cert-authority lines follow: both keys while the rotation runs.
            tsh(&root, &home, &["config"]).ok();
            let known = std::fs::read_to_string(home.join("openssh/known_hosts")).unwrap_or_default();
            config_lines.push((at.clone(), known.lines().filter(|l| l.contains(",leaf.example.com ")).count()));
        }
        let out = tsh(&root, &home, &["ssh", cluster, "visitor@mynode", "echo still"]);
        assert_eq!((out.code, out.stdout.trim()), (0, "still"), "in phase {at}: {}", out.stderr);
        let done = at == "standby" && phases.len() > 1;
        (!done).then(|| format!("{phases:?}"))
    });
    assert!(phases.contains(&"update_servers".to_string()), "{phases:?}");
    assert!(
        config_lines.iter().any(|(phase, lines)| phase.starts_with("update_") && *lines == 2),
        "tsh config did not trust both keys during the rotation: {config_lines:?}"
    );
    // The root follows; the node and the leaf's agents renewed their certificates.
    wait_for("the root to store the leaf's host CA in standby", Duration::from_secs(10), || {
        let at = phase_of(&root, "Host CA", "leaf.example.com");
        (at != "standby").then_some(at)
    });
    assert!(node.log().contains("renewed the node's certificates"), "{}", node.log());
    tsh(&root, &home, &["config"]).ok();
    let known = std::fs::read_to_string(home.join("openssh/known_hosts")).unwrap_or_default();
    assert_eq!(known.lines().filter(|l| l.contains(",leaf.example.com ")).count(), 1, "after standby: {known}");
    // A fresh tunnel logs in with the renewed certificate (the root trusts only the new key now).
    root.restart();
    wait_for("the leaf online again", Duration::from_secs(30), || {
        let out = root.tctl(&["get", "rc/leaf.example.com"]);
        (!out.stdout.contains("connection: online")).then(|| out.stdout.clone())
    });
    let refused = root.audit_lines().into_iter().filter(|l| l.contains("tunnel.refused")).collect::<Vec<_>>();
    assert!(refused.is_empty(), "{refused:?}");
}

#[test]
fn the_tls_ca_rotates_while_tsh_and_tctl_verify_the_proxy() {
    let cluster = Cluster::builder("root.example.com").node(&[]).start();
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    // From here on tsh verifies the proxy against the CAs in its profile.
    let profiles = home.join("profiles");
    for entry in std::fs::read_dir(&profiles).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains("\"insecure\": true") {
            std::fs::write(&path, text.replace("\"insecure\": true", "\"insecure\": false")).unwrap();
        }
    }
    let ls = tsh(&cluster, &home, &["clusters"]).ok();
    assert!(ls.contains("root.example.com"), "{ls}");
    let before = cluster.tctl(&["status"]).ok();
    for phase in ["init", "update_clients", "update_servers", "standby"] {
        let moved = rotate(&cluster, "tls", phase);
        assert!(moved.contains(&format!("tls CA of root.example.com: phase {phase}")), "{moved}");
        // Every auth host's proxy presents what the phase says a moment after the move.
        std::thread::sleep(Duration::from_millis(300));
        let out = tsh(&cluster, &home, &["clusters"]);
        assert_eq!(out.code, 0, "tsh clusters in phase {phase}: {}", out.stderr);
        let status = cluster.tctl(&["status"]);
        assert_eq!(status.code, 0, "tctl status in phase {phase}: {}", status.stderr);
        assert!(status.stdout.contains(&format!("TLS CA   root.example.com  phase {phase}")), "{}", status.stdout);
        if phase != "standby" {
            assert!(status.stdout.contains("trusted  SHA256:"), "two keys in {phase}: {}", status.stdout);
        }
    }
    let after = cluster.tctl(&["status"]).ok();
    let signing = |s: &str| s.lines().skip_while(|l| !l.starts_with("TLS CA")).nth(1).unwrap_or_default().to_string();
    assert_ne!(signing(&before), signing(&after), "the TLS CA's key did not change:\n{before}\n{after}");
    let ls = tsh(&cluster, &home, &["ls"]).ok();
    assert!(ls.starts_with("Node Name"), "{ls}");
    let node = ls.lines().nth(2).and_then(|l| l.split_whitespace().next()).unwrap_or_default().to_string();
    let out = tsh(&cluster, &home, &["ssh", &format!("root@{node}"), "echo ok"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "ok"), "{}", out.stderr);
}

#[test]
fn a_leaf_away_for_a_whole_rotation_catches_up_when_it_reconnects() {
    let (Pair { root, mut leaf, node: _node }, home) = trusted_pair();
    let cluster = "--cluster=leaf.example.com";
    leaf.stop();
    // While the leaf is away: the root's host CA rotates all the way (its proxies present a
    // certificate from a key the leaf never saw), and its user CA starts a rotation.
    for phase in ["init", "update_clients", "update_servers", "standby"] {
        rotate(&root, "host", phase);
    }
    rotate(&root, "user", "init");
    leaf.restart();
    // The old host key's endorsement lets the leaf's agents in; the tunnel then brings the CAs.
    wait_for("the leaf to store the root's new host CA and its user CA in init", Duration::from_secs(30), || {
        let (host, user) =
            (phase_of(&leaf, "Host CA", "root.example.com"), phase_of(&leaf, "User CA", "root.example.com"));
        let status = leaf.tctl(&["status"]).ok();
        let root_status = root.tctl(&["status"]).ok();
        let root_host_key =
            root_status.lines().skip_while(|l| !l.starts_with("Host CA")).nth(1).unwrap_or("?").trim().to_string();
        let same = status.contains(&root_host_key);
        (!(host == "standby" && user == "init" && same))
            .then(|| format!("{status}\nroot:\n{root_status}\n{}", leaf.log()))
    });
    wait_for("the leaf online", Duration::from_secs(30), || {
        let out = root.tctl(&["get", "rc/leaf.example.com"]);
        (!out.stdout.contains("connection: online")).then(|| out.stdout.clone())
    });
    let out = tsh(&root, &home, &["ssh", cluster, "visitor@mynode", "echo caught-up"]);
    assert_eq!((out.code, out.stdout.trim()), (0, "caught-up"), "{}", out.stderr);
}
