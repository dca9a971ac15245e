//! Interop with real OpenSSH: an OpenSSH `sshd` that trusts the cluster's user CA (from `tctl
//! auth export --type=user`) accepts the certificate `tsh login` issued, and refuses one from
//! another cluster; OpenSSH's client reaches a node through `tsh config`, and agrees on
//! algorithms with every Tether SSH port.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tether_tests::Cluster;

const SSHD: &str = "/usr/sbin/sshd";

struct Sshd {
    child: Child,
    port: u16,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// Starts OpenSSH's sshd on 127.0.0.1 trusting `ca_file` for user certificates.
fn start_sshd(dir: &Path, ca_file: &Path) -> Sshd {
    assert!(Path::new(SSHD).exists(), "{SSHD} is missing: install openssh-server (.ci/run does)");
    std::fs::create_dir_all("/run/sshd").expect("privilege separation directory");
    let host_key = dir.join("ssh_host_ed25519_key");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&host_key)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    let port = free_port();
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nTrustedUserCAKeys {}\nPidFile {}\nAuthorizedKeysFile none\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nLogLevel VERBOSE\n",
            host_key.display(),
            ca_file.display(),
            dir.join("sshd.pid").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
    let child = Command::new(SSHD).arg("-D").arg("-e").arg("-f").arg(&config).stderr(log).spawn().expect("sshd starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "sshd did not listen: {}",
            std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Sshd { child, port }
}

fn ssh(key: &Path, cert: &Path, port: u16, command: &str) -> std::process::Output {
    ssh_with(key, cert, port, &[], command)
}

/// [`ssh`] with extra options before the destination (`-s` for a subsystem).
fn ssh_with(key: &Path, cert: &Path, port: u16, extra: &[&str], command: &str) -> std::process::Output {
    Command::new("ssh")
        .args([
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args(["-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i"])
        .arg(key)
        .arg("-o")
        .arg(format!("CertificateFile={}", cert.display()))
        .args(extra)
        .args(["-p", &port.to_string(), "root@127.0.0.1", command])
        .stdin(Stdio::null())
        .output()
        .expect("ssh runs")
}

#[test]
fn openssh_sshd_accepts_tsh_certificates() {
    let cluster = Cluster::start("root.example.com");
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    let ca_file = cluster.dir.path().join("user_ca.pub");
    std::fs::write(&ca_file, cluster.tctl(&["auth", "export", "--type=user"]).ok()).unwrap();
    let sshd = start_sshd(cluster.dir.path(), &ca_file);

    // tsh config writes the key and certificate where OpenSSH can use them.
    cluster.as_user(&home, "tsh", &["config"], None).ok();
    let key = home.join("openssh/root.example.com.key");
    let cert = home.join("openssh/root.example.com.key-cert.pub");
    let out = ssh(&key, &cert, sshd.port, "echo from-openssh");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-openssh\n", "{}", String::from_utf8_lossy(&out.stderr));

    // A certificate from another cluster's CA is refused.
    let other = Cluster::start("other.example.com");
    let other_home = other.add_user("alice", "access", "root", "correct-horse");
    other.as_user(&other_home, "tsh", &["config"], None).ok();
    let out = ssh(
        &other_home.join("openssh/other.example.com.key"),
        &other_home.join("openssh/other.example.com.key-cert.pub"),
        sshd.port,
        "echo should-not-run",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() != Some(0) && stderr.contains("Permission denied"),
        "another cluster's certificate: {stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("should-not-run"));
}

#[test]
fn openssh_client_reaches_a_tether_node_with_tsh_config() {
    let cluster = Cluster::builder("root.example.com").node(&[]).start();
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    let config = cluster.as_user(&home, "tsh", &["config"], None).ok();
    assert!(config.contains("Host *.root.example.com") && config.contains("ProxyCommand"), "{config}");
    let config_file = cluster.dir.path().join("ssh_config");
    std::fs::write(&config_file, &config).unwrap();
    let node = format!("{}-node.root.example.com", cluster.name);
    let out = Command::new("ssh")
        .arg("-F")
        .arg(&config_file)
        .args(["-v", "-o", "BatchMode=yes", &format!("root@{node}"), "echo via-openssh; exit 3"])
        .env("TSH_HOME", &home)
        .env("HOME", &home)
        .stdin(Stdio::null())
        .output()
        .expect("ssh runs");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "via-openssh\n", "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(3));
    // The config puts AES-GCM first, as Tether's own clients do.
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("cipher: aes128-gcm@openssh.com"), "{log}");
}

/// Every Tether SSH port (the proxy's relay, its tunnel listener, the node) offers only hardened
/// algorithms, and OpenSSH's client with its own defaults still agrees on all of them: the
/// handshake completes and the refusal is about the missing credentials, not the algorithms.
#[test]
fn openssh_client_negotiates_with_every_tether_port() {
    let cluster = Cluster::builder("algos").node(&[]).start();
    let ports = [
        ("relay", cluster.logged_addr("ssh_addr")),
        ("tunnel", cluster.tunnel_addr.parse().ok()),
        ("node", cluster.logged_addr("ssh_node_addr")),
    ];
    for (name, addr) in ports {
        let addr = addr.unwrap_or_else(|| panic!("the {name} address is not in the log:\n{}", cluster.log()));
        let out = Command::new("ssh")
            .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null"])
            .args(["-o", "ConnectTimeout=10", "-p", &addr.port().to_string(), "nobody@127.0.0.1", "true"])
            .stdin(Stdio::null())
            .output()
            .expect("ssh runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name}: ssh without credentials succeeded");
        assert!(!stderr.contains("no matching"), "{name}: OpenSSH found no common algorithm: {stderr}");
        assert!(stderr.contains("Permission denied (publickey)"), "{name}: {stderr}");
    }
}

/// The node's caps refuse with a reason OpenSSH prints: a forward past
/// `max_forwards_per_connection` on one `ssh -L` connection.
#[test]
fn openssh_prints_why_the_node_refused_a_forward() {
    let cluster = Cluster::builder("root.example.com").limits("    max_forwards_per_connection: 2\n").node(&[]).start();
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    let config_file = cluster.dir.path().join("ssh_config");
    std::fs::write(&config_file, cluster.as_user(&home, "tsh", &["config"], None).ok()).unwrap();
    let echo = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let echo_port = echo.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in echo.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut back = conn.try_clone().unwrap();
                let _ = std::io::copy(&mut &conn, &mut back);
            });
        }
    });
    let local = free_port();
    let node = format!("root@{}-node.root.example.com", cluster.name);
    let mut ssh = Command::new("ssh")
        .arg("-F")
        .arg(&config_file)
        .args(["-N", "-o", "BatchMode=yes", "-L", &format!("{local}:127.0.0.1:{echo_port}"), &node])
        .env("TSH_HOME", &home)
        .env("HOME", &home)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh runs");
    let mut open = Vec::new();
    for attempt in 0..100 {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", local)) {
            open.push(s);
            break;
        }
        assert!(attempt < 99, "ssh -L did not listen");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for _ in 0..2 {
        open.push(std::net::TcpStream::connect(("127.0.0.1", local)).unwrap());
    }
    // The first two forwards echo; the third is closed.
    use std::io::{Read, Write};
    for s in &mut open[..2] {
        s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        s.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        s.read_exact(&mut b).unwrap();
    }
    let mut rest = Vec::new();
    open[2].set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let _ = open[2].read_to_end(&mut rest);
    let _ = ssh.kill();
    let out = ssh.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("this connection already has 2 port forwards open (the node's max_forwards_per_connection)"),
        "{stderr}"
    );
}

/// An operator widens the relay's and the node's key exchanges for an old client
/// (`teleport.kex_algorithms: ["+diffie-hellman-group14-sha256"]`); the tunnel port, which only
/// Tether's agents use, keeps its own narrow set.
#[test]
fn operators_widen_the_relay_and_node_sets_but_not_the_tunnel_ports() {
    let cluster = Cluster::builder("algos")
        .limits("    shutdown_grace: 3s\n  kex_algorithms: [\"+diffie-hellman-group14-sha256\"]\n")
        .node(&[])
        .start();
    let ports = [
        ("relay", cluster.logged_addr("ssh_addr"), true),
        ("node", cluster.logged_addr("ssh_node_addr"), true),
        ("tunnel", cluster.tunnel_addr.parse().ok(), false),
    ];
    for (name, addr, widened) in ports {
        let addr = addr.unwrap_or_else(|| panic!("the {name} address is not in the log:\n{}", cluster.log()));
        let out = Command::new("ssh")
            .args(["-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"])
            .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/dev/null"])
            .args(["-o", "KexAlgorithms=diffie-hellman-group14-sha256"])
            .args(["-o", "ConnectTimeout=10", "-p", &addr.port().to_string(), "nobody@127.0.0.1", "true"])
            .stdin(Stdio::null())
            .output()
            .expect("ssh runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        if widened {
            assert!(stderr.contains("Permission denied (publickey)"), "{name}: {stderr}");
        } else {
            assert!(stderr.contains("no matching key exchange method found"), "{name}: {stderr}");
        }
    }
}

#[test]
fn openssh_pointed_at_the_proxy_itself_is_told_what_to_do_at_once() {
    let cluster = Cluster::start("root.example.com");
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    // The key and certificate tsh config writes for OpenSSH.
    cluster.as_user(&home, "tsh", &["config"], None).ok();
    let key = home.join("openssh/root.example.com.key");
    let cert = home.join("openssh/root.example.com.key-cert.pub");
    let port = cluster.logged_addr("ssh_addr").expect("the proxy's SSH address").port();
    let started = std::time::Instant::now();
    let out = ssh(&key, &cert, port, "true");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("this is a Tether proxy: it relays to nodes and runs no commands itself"), "{stderr}");
    assert!(stderr.contains("tsh ssh LOGIN@NODE"), "{stderr}");
    assert!(took < Duration::from_secs(5), "it took {took:?}");
}

/// OpenSSH asking the root's relay for a leaf node its roles may not reach (`cluster_labels`)
/// prints the relay's reason, not only "subsystem request failed".
#[test]
fn openssh_refused_a_route_by_cluster_labels_prints_why() {
    let (tether_tests::fixtures::Pair { root, leaf: _leaf, node: _node }, home) =
        tether_tests::fixtures::trusted_pair();
    root.tctl(&["update", "rc/leaf.example.com", "--set-labels=env=demo"]).ok();
    root.as_user(&home, "tsh", &["config"], None).ok();
    let key = home.join("openssh/root.example.com.key");
    let cert = home.join("openssh/root.example.com.key-cert.pub");
    let port = root.logged_addr("ssh_addr").expect("the proxy's SSH address").port();
    let out = ssh_with(&key, &cert, port, &["-s"], "proxy:mynode:3022@leaf.example.com");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("leaf.example.com") && stderr.contains("env"), "the reason, with the labels: {stderr}");
    assert!(!stderr.contains("subsystem request failed"), "{stderr}");
    assert!(!stderr.contains("your roles changed"), "{stderr}");
    // An admin grants a role that allows the leaf: the old certificate is still refused, and
    // the user is told to log in again.
    let role =
        "kind: role\nversion: v5\nmetadata:\n  name: demo\nspec:\n  allow:\n    cluster_labels:\n      env: demo\n";
    let file = root.dir.path().join("demo.yaml");
    std::fs::write(&file, role).unwrap();
    root.tctl(&["create", file.to_str().unwrap()]).ok();
    let user = root.tctl(&["get", "user/myuser"]).ok().replace("  - access\n", "  - access\n  - demo\n");
    let file = root.dir.path().join("myuser.yaml");
    std::fs::write(&file, user).unwrap();
    root.tctl(&["create", "-f", file.to_str().unwrap()]).ok();
    let out = ssh_with(&key, &cert, port, &["-s"], "proxy:mynode:3022@leaf.example.com");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("your roles changed since you logged in and now allow this: run tsh login again"),
        "{stderr}"
    );
}

/// The root's certificate, not bound to the leaf, offered by OpenSSH at the leaf proxy's SSH
/// port: the user reads why and what to run, not a bare "Permission denied (publickey)".
#[test]
fn openssh_with_an_unbound_root_certificate_at_the_leaf_proxy_is_told_what_to_run() {
    let (tether_tests::fixtures::Pair { root, leaf, node: _node }, home) = tether_tests::fixtures::trusted_pair();
    root.as_user(&home, "tsh", &["config"], None).ok();
    let key = home.join("openssh/root.example.com.key");
    let cert = home.join("openssh/root.example.com.key-cert.pub");
    let port = leaf.logged_addr("ssh_addr").expect("the leaf proxy's SSH address").port();
    for (extra, what) in [(&["-s"][..], "proxy:mynode:3022@leaf.example.com"), (&[][..], "true")] {
        let out = ssh_with(&key, &cert, port, extra, what);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{stderr}");
        assert!(stderr.contains("tsh login --cluster=leaf.example.com"), "{what}: {stderr}");
        assert!(!stderr.contains("Permission denied"), "{stderr}");
    }
}
