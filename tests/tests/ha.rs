//! High availability end to end: two root hosts (auth + proxy each) on one PostgreSQL database,
//! behind round-robin balancers for the web API and the tunnel port, and a leaf. Each host is
//! a separate `tether` process with its own data directory; they share only the database.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tether_tests::fixtures::{
    ROLE_MAP, VISITOR, ensure_visitor_account, token, trusted_cluster_yaml, tunnels_on, wait_for, write,
};
use tether_tests::forwarder::Forwarder;
use tether_tests::{Cluster, RemoteNode, Run, postgres};

const ROOT: &str = "root.example.com";
const LEAF: &str = "leaf.example.com";

fn host(conn: &str) -> Cluster {
    Cluster::builder(ROOT).postgresql(conn).start()
}

fn tsh(host: &Cluster, home: &Path, args: &[&str]) -> Run {
    host.as_user(home, "tsh", args, None)
}

/// Logs `myuser` in through `web_addr` into a tsh home of its own.
fn login(host: &Cluster, web_addr: &str, home: &Path, extra: &[&str]) -> Run {
    std::fs::create_dir_all(home).unwrap();
    let proxy = format!("--proxy={web_addr}");
    let mut args = vec!["login", &proxy, "--user=myuser", "--insecure", "--keystore=file"];
    args.extend_from_slice(extra);
    host.as_user(home, "tsh", &args, Some("correct-horse\n"))
}

fn ssh_echo(host: &Cluster, home: &Path) -> Run {
    tsh(host, home, &["ssh", &format!("--cluster={LEAF}"), "visitor@mynode", "echo via"])
}

fn leaf_tunnels(a: &Cluster, web_addr: &str) -> usize {
    tunnels_on(a, web_addr).get(LEAF).copied().unwrap_or(0)
}

#[test]
fn two_root_hosts_on_one_postgresql_serve_users_and_a_leaf_through_either() {
    ensure_visitor_account();
    let pg = postgres::server();
    let conn = pg.conn_string(&pg.fresh_database());
    let mut a = host(&conn);
    let b = host(&conn);
    let web = Forwarder::start(&[&a.web_addr, &b.web_addr]);
    let tunnel = Forwarder::start(&[&a.tunnel_addr, &b.tunnel_addr]);
    let dir: PathBuf = a.dir.path().to_path_buf();

    // A user created through A logs in through B (their invite lives in the database).
    let out = a.tctl(&["users", "add", "myuser", "--roles=access", "--logins=visitor"]).ok();
    let invite = out.split_whitespace().find_map(|w| w.strip_prefix("--invite=")).expect("an invite").to_string();
    let home_b = dir.join("home-b");
    let invite_flag = format!("--invite={invite}");
    login(&b, &b.web_addr, &home_b, &[&invite_flag]).ok();

    // A token made on A validates a leaf through B; the leaf's agents dial the tunnel balancer.
    let leaf = Cluster::builder(LEAF).leaf().start();
    let node_token = token(&leaf, &["--type=node"]);
    let _node = RemoteNode::start(&leaf.web_addr, "mynode", &node_token, &[("env", "demo")]);
    leaf.tctl(&["create", write(&dir, "visitor.yaml", VISITOR).to_str().unwrap()]).ok();
    let tok = token(&a, &["--type=trusted_cluster"]);
    let tc = trusted_cluster_yaml(&a, &tok, true, ROLE_MAP)
        .replace(&a.web_addr, &b.web_addr)
        .replace(&a.tunnel_addr, &tunnel.addr());
    let tc_path = write(&dir, "tc.yaml", &tc);
    leaf.tctl(&["create", tc_path.to_str().unwrap()]).ok();

    // The leaf keeps a tunnel to both hosts.
    wait_for("a leaf tunnel on each root host", Duration::from_secs(30), || {
        let (on_a, on_b) = (leaf_tunnels(&a, &a.web_addr), leaf_tunnels(&a, &b.web_addr));
        (on_a == 0 || on_b == 0).then(|| format!("A {on_a}, B {on_b}"))
    });

    // tsh ssh --cluster works through either host.
    let home_a = dir.join("home-a");
    login(&a, &a.web_addr, &home_a, &[]).ok();
    for (host, home) in [(&a, &home_a), (&b, &home_b)] {
        let out = ssh_echo(host, home);
        assert_eq!(out.stdout.trim(), "via", "through {}: {}", host.web_addr, out.stderr);
    }

    // Disabling the trust on the leaf is effective at once, through either host.
    let disabled = write(&dir, "tc-off.yaml", &tc.replace("enabled: true", "enabled: false"));
    leaf.tctl(&["create", "-f", disabled.to_str().unwrap()]).ok();
    let err = ssh_echo(&b, &home_b).err();
    // Either the leaf's agents have already hung up, or the tunnel's last transport is refused.
    let offline = format!("cluster \"{LEAF}\" is offline: it has no tunnel to this proxy");
    let distrusted = format!("cluster {LEAF} no longer trusts cluster {ROOT}");
    assert!(err.contains(&offline) || err.contains(&distrusted), "refused at once: {err}");
    leaf.tctl(&["create", "-f", tc_path.to_str().unwrap()]).ok();
    wait_for("the trust back on both hosts", Duration::from_secs(30), || {
        (leaf_tunnels(&a, &a.web_addr) == 0 || leaf_tunnels(&a, &b.web_addr) == 0).then(String::new)
    });

    // kill -9 of A: users and the leaf keep working through B, with no manual step.
    a.kill_hard();
    let out = ssh_echo(&b, &home_b);
    assert_eq!(out.stdout.trim(), "via", "through B after A died: {}", out.stderr);
    let home_lb = dir.join("home-lb");
    login(&b, &web.addr(), &home_lb, &[]).ok();

    // A comes back (same ports) and the leaf's agents rejoin it.
    a.restart();
    wait_for("the leaf's tunnel back on A", Duration::from_secs(30), || {
        (leaf_tunnels(&b, &a.web_addr) == 0).then(|| format!("{:?}", tunnels_on(&b, &a.web_addr)))
    });

    // tctl rm rc/LEAF on A drops the leaf's tunnels on B within a second.
    a.tctl(&["rm", &format!("rc/{LEAF}")]).ok();
    let removed = Instant::now();
    wait_for("B dropping the removed leaf's tunnels", Duration::from_secs(5), || {
        (leaf_tunnels(&b, &b.web_addr) > 0).then(String::new)
    });
    let took = removed.elapsed();
    assert!(took < Duration::from_secs(1), "B dropped the tunnels after {took:?}");
}

#[test]
fn a_role_changed_through_one_host_reaches_a_node_of_the_other_within_a_second() {
    ensure_visitor_account();
    let pg = postgres::server();
    let conn = pg.conn_string(&pg.fresh_database());
    let a = host(&conn);
    let b = host(&conn);
    let dir: PathBuf = a.dir.path().to_path_buf();
    // A role of A's making lets myuser in as visitor; the node joins (and long-polls) through B.
    let ops = "kind: role\nversion: v5\nmetadata:\n  name: ops\nspec:\n  allow:\n    logins: [visitor]\n    node_labels:\n      '*': '*'\n";
    a.tctl(&["create", write(&dir, "ops.yaml", ops).to_str().unwrap()]).ok();
    let node_token = token(&a, &["--type=node"]);
    let node = RemoteNode::start(&b.web_addr, "hanode", &node_token, &[]);
    assert!(node.first_line.contains("ssh service listening"), "{}", node.log());
    let out = a.tctl(&["users", "add", "myuser", "--roles=ops"]).ok();
    let invite = out.split_whitespace().find_map(|w| w.strip_prefix("--invite=")).expect("an invite").to_string();
    let home = dir.join("home");
    login(&b, &b.web_addr, &home, &[&format!("--invite={invite}")]).ok();
    let ssh = || tsh(&b, &home, &["ssh", "visitor@hanode", "echo in"]);
    wait_for("the node reachable", Duration::from_secs(20), || {
        let out = ssh();
        (out.stdout.trim() != "in").then(|| out.stderr.clone())
    });

    // Through A, the role loses the login; the node, attached to B, refuses within a second.
    let changed = write(&dir, "ops-off.yaml", &ops.replace("logins: [visitor]", "logins: [nobody]"));
    a.tctl(&["create", "-f", changed.to_str().unwrap()]).ok();
    let since = Instant::now();
    let refused = loop {
        let out = ssh();
        if out.stdout.trim() != "in" {
            break out.stderr;
        }
        assert!(since.elapsed() < Duration::from_secs(10), "the node still lets visitor in");
    };
    let took = since.elapsed();
    assert!(refused.contains("access denied"), "{refused}");
    assert!(took < Duration::from_secs(1), "the node refused only after {took:?}");
    eprintln!("role change through A refused on B's node after {took:?}");
}

/// The fingerprint of the CA that signed the SSH certificate of the identity `tctl auth sign`
/// wrote at `path`.
fn signer_of(path: &Path) -> String {
    let creds = tether_client::credentials::Credentials::load(path).expect("an identity file");
    let cert = tether_shared::ssh_cert::cert_from_openssh(&creds.ssh_cert).expect("a certificate");
    tether_shared::ssh_cert::ca_fingerprint(&cert).to_string()
}

/// The fingerprint `tctl status` shows as the user CA's signing key.
fn user_signing_key(host: &Cluster) -> String {
    let status = host.tctl(&["status"]).ok();
    status
        .lines()
        .skip_while(|l| !l.starts_with(&format!("User CA  {ROOT}")))
        .nth(1)
        .and_then(|l| l.trim().strip_prefix("signing  "))
        .unwrap_or_else(|| panic!("no signing key in {status}"))
        .to_string()
}

#[test]
fn a_rotation_started_on_one_host_is_obeyed_by_the_other_and_survives_its_driver() {
    let pg = postgres::server();
    let conn = pg.conn_string(&pg.fresh_database());
    let mut a = host(&conn);
    let b = host(&conn);
    let dir: PathBuf = a.dir.path().to_path_buf();
    a.tctl(&["users", "add", "myuser", "--roles=access", "--logins=visitor"]).ok();
    let old = user_signing_key(&b);

    // A moves the user CA to update_clients: B signs users with the new key within a second.
    for phase in ["init", "update_clients"] {
        a.tctl(&["auth", "rotate", "--type=user", "--manual", &format!("--phase={phase}")]).ok();
    }
    let new = user_signing_key(&a);
    assert_ne!(old, new, "update_clients signs with the new key");
    let since = Instant::now();
    let out = dir.join("b.identity");
    loop {
        b.tctl(&["auth", "sign", "--user=myuser", &format!("--out={}", out.display())]).ok();
        if signer_of(&out) == new {
            break;
        }
        assert!(since.elapsed() < Duration::from_secs(5), "B still signs with {} after 5 s", signer_of(&out));
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("B signed with the new key {:?} after the move on A", since.elapsed());
    assert!(since.elapsed() < Duration::from_secs(1), "B took {:?}", since.elapsed());
    a.tctl(&["auth", "rotate", "--type=user", "--manual", "--phase=rollback"]).ok();
    a.tctl(&["auth", "rotate", "--type=user", "--manual", "--phase=standby"]).ok();

    // An automatic rotation whose driver dies halfway is finished by the other host (the lease
    // passes to it), each phase exactly once.
    a.tctl(&["auth", "rotate", "--type=host", "--grace-period=6s"]).ok();
    std::thread::sleep(Duration::from_secs(3));
    a.kill_hard();
    wait_for("B to finish the host CA's rotation", Duration::from_secs(40), || {
        let status = b.tctl(&["status"]).ok();
        let line = status.lines().find(|l| l.starts_with(&format!("Host CA  {ROOT}"))).unwrap_or_default().to_string();
        (!line.contains("phase standby, last rotated")).then_some(status)
    });
    let moves: Vec<String> = a
        .audit_lines()
        .into_iter()
        .chain(b.audit_lines())
        .filter(|l| l.contains("\"event\":\"ca.rotate\"") && l.contains("\"ca_type\":\"host\"") && l.contains("TCA01I"))
        .collect();
    for phase in ["init", "update_clients", "update_servers", "standby"] {
        let n = moves.iter().filter(|l| l.contains(&format!("\"phase\":\"{phase}\""))).count();
        assert_eq!(n, 1, "{phase} moved {n} times: {moves:#?}");
    }
}
