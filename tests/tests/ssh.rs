//! SSH access inside one cluster: nodes join and heartbeat, `tsh ls` shows what the roles allow,
//! and `tsh ssh` reaches nodes through the proxy relay with every certificate checked.

use std::time::{Duration, Instant};

use tether_tests::{Cluster, RemoteNode};

fn tsh(cluster: &Cluster, home: &std::path::Path, args: &[&str], stdin: Option<&str>) -> tether_tests::Run {
    cluster.as_user(home, "tsh", args, stdin)
}

#[test]
fn ls_and_ssh_through_the_proxy() {
    let cluster = Cluster::builder("root.example.com").node(&[("env", "test")]).start();
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    let node = format!("{}-node", cluster.name);

    let ls = tsh(&cluster, &home, &["ls"], None).ok();
    assert!(ls.starts_with("Node Name"), "{ls}");
    assert!(ls.contains(&node) && ls.contains("env=test") && ls.contains("hostname="), "{ls}");
    let filtered = tsh(&cluster, &home, &["ls", "env=prod"], None).ok();
    assert!(!filtered.contains(&node), "{filtered}");

    let out = tsh(&cluster, &home, &["ssh", &format!("root@{node}"), "echo", "hi"], None);
    assert_eq!((out.code, out.stdout.as_str()), (0, "hi\n"), "{}", out.stderr);
    // --debug tells each step, with the time since start.
    let out = tsh(&cluster, &home, &["--debug", "ssh", &format!("root@{node}"), "true"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for step in ["relay to ", &format!("node {node}: authenticated"), "exit status 0"] {
        assert!(out.stderr.contains(step), "no {step:?} in {}", out.stderr);
    }
    let out = tsh(&cluster, &home, &["ssh", &format!("root@{node}"), "exit 7"], None);
    assert_eq!(out.code, 7, "{}", out.stderr);
    let out = tsh(&cluster, &home, &["ssh", &format!("root@{node}"), "wc -c"], Some("hello world"));
    assert_eq!(out.stdout.trim(), "11", "stdin streams: {}", out.stderr);
    let out = tsh(&cluster, &home, &["ssh", &format!("root@{node}"), "echo out; echo err >&2"], None);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("out\n", "err\n"));

    // -t asks for a PTY on the node.
    let out = tsh(&cluster, &home, &["ssh", "-t", &format!("root@{node}"), "tty; exit 5"], None);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stdout.contains("/dev/pts/"), "{}", out.stdout);

    // A login the certificate does not carry is refused before dialing, with what it carries.
    let err = tsh(&cluster, &home, &["ssh", &format!("nobody@{node}"), "true"], None).err();
    assert!(err.contains("login \"nobody\" is not in your certificate (it allows [root]"), "{err}");
    // An unknown node has its own message.
    let err = tsh(&cluster, &home, &["ssh", "root@no-such-node", "true"], None).err();
    assert!(err.contains("node \"no-such-node\" not found"), "{err}");
    let audit = cluster.audit_lines();
    assert!(audit.iter().any(|l| l.contains("session.start") && l.contains("alice")), "{audit:?}");
}

#[test]
fn roles_hide_and_refuse_nodes_by_label() {
    let cluster = Cluster::builder("root.example.com").node(&[("env", "test")]).start();
    let role = cluster.dir.path().join("prod-only.yaml");
    std::fs::write(
        &role,
        "kind: role\nversion: v5\nmetadata:\n  name: prod-only\nspec:\n  allow:\n    logins: [root]\n    node_labels:\n      env: prod\n    rules:\n    - resources: [node]\n      verbs: [list, read]\n",
    )
    .unwrap();
    cluster.tctl(&["create", role.to_str().unwrap()]).ok();
    let home = cluster.add_user("bob", "prod-only", "root", "correct-horse");
    let node = format!("{}-node", cluster.name);
    let ls = tsh(&cluster, &home, &["ls"], None).ok();
    assert!(!ls.contains(&node), "the node is invisible: {ls}");
    let err = tsh(&cluster, &home, &["ssh", &format!("root@{node}"), "true"], None).err();
    assert!(err.contains("access denied") && err.contains("env=test does not match"), "{err}");
}

#[test]
fn expired_certificates_are_refused() {
    let cluster = Cluster::builder("root.example.com").node(&[]).start();
    let home = cluster.add_user("carol", "access", "root", "correct-horse");
    let proxy = format!("--proxy={}", cluster.web_addr);
    tsh(&cluster, &home, &["login", &proxy, "--user=carol", "--ttl=2s", "--keystore=file"], Some("correct-horse\n"))
        .ok();
    std::thread::sleep(Duration::from_secs(3));
    let node = format!("{}-node", cluster.name);
    // tsh says so before it dials (the node's own refusal of an expired certificate is
    // `shared/src/ssh_cert.rs`'s validity check, tested there and in `node/src/sshd/tests`).
    let err = tsh(&cluster, &home, &["ssh", &format!("root@{node}"), "true"], None).err();
    assert!(err.contains("your certificate for carol at") && err.contains("expired at"), "{err}");
}

#[test]
fn a_remote_node_joins_with_a_token_and_leaves_when_it_stops() {
    let cluster = Cluster::start("root.example.com");
    let home = cluster.add_user("alice", "access", "root", "correct-horse");

    // A bad token is a clear error at start.
    let mut bad = RemoteNode::start(&cluster.web_addr, "bad-node", "0123456789abcdef0123456789abcdef", &[]);
    assert_eq!(bad.wait_exit(Duration::from_secs(20)), Some(1), "{}", bad.log());
    let log = bad.log();
    assert!(log.contains("join token is unknown or has expired"), "{log}");

    // A trusted_cluster token does not let a node in.
    let out = cluster.tctl(&["tokens", "add", "--type=trusted_cluster", "--ttl=5m"]).ok();
    let tc_token = out.lines().next().unwrap().rsplit(' ').next().unwrap().to_string();
    let mut wrong_type = RemoteNode::start(&cluster.web_addr, "tc-node", &tc_token, &[]);
    assert_eq!(wrong_type.wait_exit(Duration::from_secs(20)), Some(1), "{}", wrong_type.log());
    let log = wrong_type.log();
    assert!(log.contains("is a trusted_cluster token, not a node token"), "{log}");

    let out = cluster.tctl(&["tokens", "add", "--type=node", "--ttl=5m"]).ok();
    let token = out.lines().next().unwrap().rsplit(' ').next().unwrap().to_string();
    let mut node = RemoteNode::start(&cluster.web_addr, "edge-1", &token, &[("site", "lab")]);
    assert!(node.first_line.contains("ssh service listening"), "{}\n{}", node.first_line, node.log());
    let ls = tsh(&cluster, &home, &["ls"], None).ok();
    assert!(ls.contains("edge-1") && ls.contains("site=lab"), "{ls}");
    let out = tsh(&cluster, &home, &["ssh", "root@edge-1", "echo", "remote"], None);
    assert_eq!(out.stdout, "remote\n", "{}", out.stderr);

    node.kill();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let ls = tsh(&cluster, &home, &["ls"], None).ok();
        if !ls.contains("edge-1") {
            break;
        }
        assert!(Instant::now() < deadline, "the dead node is still listed: {ls}");
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn certificates_and_host_keys_from_the_wrong_cluster_are_refused() {
    let cluster = Cluster::builder("root.example.com").node(&[]).start();
    let other = Cluster::start("other.example.com");
    let node = format!("{}-node", cluster.name);
    cluster.add_user("alice", "access", "root", "correct-horse");
    other.add_user("alice", "access", "root", "correct-horse");

    // A user certificate from another cluster's CA, presented to this cluster's proxy.
    let foreign = other.dir.path().join("alice.identity");
    other.tctl(&["auth", "sign", "--user=alice", &format!("--out={}", foreign.display())]).ok();
    let mut creds = tether_client::credentials::Credentials::load(&foreign).unwrap();
    let ours = cluster.dir.path().join("ours.identity");
    cluster.tctl(&["auth", "sign", "--user=alice", &format!("--out={}", ours.display())]).ok();
    let ours_creds = tether_client::credentials::Credentials::load(&ours).unwrap();
    creds.proxy = ours_creds.proxy.clone();
    creds.ssh_proxy = ours_creds.ssh_proxy.clone();
    assert!(!creds.ssh_proxy.is_empty(), "tctl auth sign records the SSH proxy address");
    creds.host_cas = ours_creds.host_cas.clone();
    creds.tls_cas = ours_creds.tls_cas.clone();
    let forged = cluster.dir.path().join("foreign.identity");
    creds.save(&forged).unwrap();
    let err =
        tether_tests::run("tsh", &["-i", forged.to_str().unwrap(), "ssh", &format!("root@{node}"), "true"], &[], None)
            .err();
    assert!(err.contains("refused the certificate"), "{err}");
    let audit = cluster.audit_lines();
    assert!(audit.iter().any(|l| l.contains("auth.failure") && l.contains("untrusted")), "{audit:?}");

    // Our own certificate, but trusting another cluster's host CA: tsh refuses the proxy.
    let mut creds = ours_creds.clone();
    let other_creds = tether_client::credentials::Credentials::load(&foreign).unwrap();
    creds.host_cas = other_creds.host_cas;
    let wrong_ca = cluster.dir.path().join("wrong-host-ca.identity");
    creds.save(&wrong_ca).unwrap();
    let err = tether_tests::run(
        "tsh",
        &["-i", wrong_ca.to_str().unwrap(), "ssh", &format!("root@{node}"), "true"],
        &[],
        None,
    )
    .err();
    assert!(err.contains("host certificate is not trusted"), "{err}");
    // With the right CAs the same identity works.
    let ok = tether_tests::run(
        "tsh",
        &["-i", ours.to_str().unwrap(), "ssh", &format!("root@{node}"), "echo", "ok"],
        &[],
        None,
    )
    .ok();
    assert_eq!(ok, "ok\n");
}

/// The sockets in `/proc/net/tcp` text that are established, as (local, remote) `ip:port`
/// strings (IPv4 only, which is what the tests bind).
fn established(proc_net_tcp: &str) -> Vec<(String, String)> {
    let addr = |hex: &str| {
        let (ip, port) = hex.split_once(':')?;
        let ip = u32::from_str_radix(ip, 16).ok()?;
        let port = u16::from_str_radix(port, 16).ok()?;
        Some(format!("{}:{port}", std::net::Ipv4Addr::from(ip.swap_bytes())))
    };
    proc_net_tcp
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [_, local, remote, "01", ..] => Some((addr(local)?, addr(remote)?)),
                _ => None,
            }
        })
        .collect()
}

#[test]
fn the_node_sets_ssh_client_ssh_connection_and_ssh_tty_like_sshd() {
    let cluster = Cluster::builder("root.example.com").node(&[]).start();
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    let node = format!("{}-node", cluster.name);
    let ls = tsh(&cluster, &home, &["ls", "--format=json"], None).ok();
    let nodes: serde_json::Value = serde_json::from_str(&ls).unwrap();
    let node_addr = nodes[0]["spec"]["addr"].as_str().unwrap().to_string();
    let node_port = node_addr.rsplit_once(':').unwrap().1.to_string();

    let out = tsh(
        &cluster,
        &home,
        &["ssh", &format!("root@{node}"), "echo \"$SSH_CLIENT\"; echo \"$SSH_CONNECTION\"; cat /proc/net/tcp"],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut lines = out.stdout.lines();
    let client = lines.next().unwrap().to_string();
    let connection = lines.next().unwrap().to_string();
    let sockets = established(&lines.collect::<Vec<_>>().join("\n"));
    // SSH_CONNECTION: the user's end (tsh's socket to the relay, which the relay signed for the
    // node) and the node's end, as sshd writes it.
    let parts: Vec<&str> = connection.split(' ').collect();
    let [peer_ip, peer_port, node_ip, port] = parts.as_slice() else {
        panic!("SSH_CONNECTION is not \"CLIENT_IP CLIENT_PORT SERVER_IP SERVER_PORT\": {connection:?}")
    };
    assert_eq!((*peer_ip, *node_ip, *port), ("127.0.0.1", "127.0.0.1", node_port.as_str()), "{connection}");
    assert_eq!(client, format!("{peer_ip} {peer_port} {port}"), "SSH_CLIENT is \"CLIENT_IP CLIENT_PORT SERVER_PORT\"");
    // The ports are those of live connections: tsh's to the relay, and the relay's to the node.
    let relay = cluster.logged_addr("ssh_addr").expect("the relay's address").to_string();
    let (user_end, node_end) = (format!("{peer_ip}:{peer_port}"), format!("{node_ip}:{port}"));
    assert!(sockets.contains(&(user_end.clone(), relay.clone())), "no socket {user_end} → {relay}: {sockets:?}");
    assert!(sockets.contains(&(relay.clone(), user_end.clone())), "no socket {relay} → {user_end}: {sockets:?}");
    assert!(sockets.iter().any(|(local, _)| *local == node_end), "no socket at {node_end}: {sockets:?}");

    // With a PTY, SSH_TTY names the terminal the shell runs on.
    let out = tsh(&cluster, &home, &["ssh", "-t", &format!("root@{node}"), "echo \"tty=$SSH_TTY\"; tty"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout.replace('\r', "");
    let mut lines = text.lines();
    let ssh_tty = lines.next().unwrap().strip_prefix("tty=").unwrap().to_string();
    assert!(ssh_tty.starts_with("/dev/pts/"), "{text}");
    assert_eq!(lines.next(), Some(ssh_tty.as_str()), "SSH_TTY is the session's terminal: {text}");
    // Without one, it is unset.
    let out = tsh(&cluster, &home, &["ssh", &format!("root@{node}"), "echo \"tty=${SSH_TTY-unset}\""], None).ok();
    assert_eq!(out, "tty=unset\n");
}

#[test]
fn tsh_leaves_shared_pipes_as_it_found_them() {
    let cluster = Cluster::builder("root.example.com").node(&[]).start();
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    let node = format!("{}-node", cluster.name);
    let tsh = tether_tests::binary("tsh");
    let shell = |script: &str| {
        std::process::Command::new("bash")
            .args(["-c", script, "bash"])
            .arg(&tsh)
            .arg(format!("root@{node}"))
            .env("TSH_HOME", &home)
            .env("HOME", &home)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    };
    // stdout and stderr share one pipe (2>&1) whose reader is slow: tsh drives stdout through
    // the reactor without making stderr's writes fail, and every byte arrives.
    let out = shell("\"$1\" ssh \"$2\" 'head -c 3000000 /dev/zero; echo done >&2' 2>&1 | (sleep 1; wc -c)");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3000005", "{}", String::from_utf8_lossy(&out.stderr));
    // The pipe tsh read its stdin from, and wrote its stdout to, is still blocking for the next
    // process that shares it (the subshell here), even after tsh is killed. (bash gives a
    // background job /dev/null for stdin unless told otherwise: `<&0`.)
    let script = "sleep 3 | ( \"$1\" ssh \"$2\" 'sleep 5' <&0 & pid=$!; sleep 2; kill -9 $pid; wait $pid; \
                  grep ^flags /proc/self/fdinfo/0; grep ^flags /proc/self/fdinfo/1 )";
    let out = shell(script);
    let text = String::from_utf8_lossy(&out.stdout);
    let flags: Vec<u32> =
        text.lines().filter_map(|l| u32::from_str_radix(l.trim_start_matches("flags:").trim(), 8).ok()).collect();
    assert_eq!(flags.len(), 2, "{text} {}", String::from_utf8_lossy(&out.stderr));
    const O_NONBLOCK: u32 = 0o4000;
    assert!(flags.iter().all(|f| f & O_NONBLOCK == 0), "O_NONBLOCK left set on a shared pipe: {text}");
}

/// A login the certificate does not carry is refused before dialling, with the logins it does
/// carry and what to run; a login given since is used after `tsh login`.
#[test]
fn a_login_outside_the_certificate_says_what_it_allows_and_how_to_get_more() {
    let cluster = Cluster::builder("root.example.com").node(&[]).start();
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    let node = format!("{}-node", cluster.name);
    let err = tsh(&cluster, &home, &["ssh", &format!("nobody@{node}"), "true"], None).err();
    assert!(err.contains("login \"nobody\" is not in your certificate (it allows [root], until "), "{err}");
    assert!(err.contains(&format!("run tsh login --proxy={} again", cluster.web_addr)), "{err}");
}
