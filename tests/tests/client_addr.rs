//! The user's address reaches the node, signed by the proxy (PROXY v2 with Tether's signed
//! TLV), on the trusted path (root relay → tunnel → leaf agent → leaf node) and inside one
//! cluster: the node's `SSH_CLIENT` names the user's host, a silent flood at the node from the
//! proxy's own address leaves the proxy's users working, and a header written by anyone else
//! is refused and audited.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tether_audit::{Event, Outcome};
use tether_tests::fixtures::{ensure_visitor_account, token, trust, wait_for};
use tether_tests::{Cluster, RemoteNode, Run};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// The address the users' host has in these tests: tsh reaches the root's relay through a
/// forwarder that dials from it, so the relay sees it as the client.
const USER_HOST: [u8; 4] = [127, 0, 0, 7];

/// A forwarder from `127.0.0.1:PORT` to the relay, dialling from [`USER_HOST`]; it records the
/// source port of every connection it makes.
struct UserHost {
    port: u16,
    backend: Arc<OnceLock<SocketAddr>>,
    ports: Arc<Mutex<Vec<u16>>>,
    task: tokio::task::JoinHandle<()>,
}

impl UserHost {
    async fn start() -> UserHost {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let backend: Arc<OnceLock<SocketAddr>> = Arc::default();
        let ports: Arc<Mutex<Vec<u16>>> = Arc::default();
        let (b, p) = (backend.clone(), ports.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let Some(&to) = b.get() else { continue };
                let p = p.clone();
                tokio::spawn(async move {
                    let socket = TcpSocket::new_v4().unwrap();
                    socket.bind(SocketAddr::from((USER_HOST, 0))).unwrap();
                    let Ok(mut out) = socket.connect(to).await else { return };
                    p.lock().unwrap().push(out.local_addr().unwrap().port());
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                });
            }
        });
        UserHost { port, backend, ports, task }
    }
}

fn tsh(root: &Cluster, home: &Path, args: &[&str]) -> Run {
    root.as_user(home, "tsh", args, None)
}

/// `SSH_CLIENT` as the node set it: (address, port).
fn ssh_client(out: &str) -> (String, u16) {
    let mut words = out.split_whitespace();
    let addr = words.next().unwrap_or_default().to_string();
    let port = words.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (addr, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_address_reaches_the_node_through_every_hop_and_a_flood_from_the_proxys_address_locks_nobody_out() {
    let user_host = UserHost::start().await;
    let forwarder = format!("  ssh_public_addr: 127.0.0.1:{}\n", user_host.port);
    let relay = user_host.backend.clone();
    let (root, leaf, node, home_path) = tokio::task::spawn_blocking(move || {
        ensure_visitor_account();
        // The root has a node of its own (the one-cluster case); the leaf's node runs apart.
        let root = Cluster::builder("root.example.com").section(&forwarder).node(&[]).start();
        relay.set(root.logged_addr("ssh_addr").expect("the relay's address")).unwrap();
        let leaf = Cluster::builder("leaf.example.com").leaf().start();
        let node = RemoteNode::start(&leaf.web_addr, "mynode", &token(&leaf, &["--type=node"]), &[("env", "demo")]);
        assert!(node.first_line.contains("ssh service listening"), "{}", node.log());
        trust(&root, &leaf);
        let home = root.add_user("myuser", "access", "visitor,root", "correct-horse");
        wait_for("the leaf online", Duration::from_secs(30), || {
            let out = root.tctl(&["get", "rc/leaf.example.com"]);
            (!out.stdout.contains("connection: online")).then(|| out.stdout.clone())
        });
        (root, leaf, node, home)
    })
    .await
    .unwrap();
    let root = Arc::new(root);

    // 500 silent connections at the leaf node from 127.0.0.1, the proxies' own address.
    let node_addr: SocketAddr =
        node.first_line.rsplit(' ').next().and_then(|a| a.parse().ok()).expect("the node's address");
    let mut flood = Vec::new();
    for _ in 0..500 {
        flood.push(TcpStream::connect(node_addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // 10 of 10 sessions through the trusted path work, and the node saw the user's host.
    for i in 0..10 {
        let (root, home) = (root.clone(), home_path.clone());
        let out = tokio::task::spawn_blocking(move || {
            tsh(
                &root,
                &home,
                &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "echo $SSH_CLIENT; echo $SSH_CONNECTION"],
            )
        })
        .await
        .unwrap();
        assert_eq!(out.code, 0, "session {i} of 10 failed during the flood: {}", out.stderr);
        let (addr, port) = ssh_client(&out.stdout);
        assert_eq!(addr, "127.0.0.7", "SSH_CLIENT does not name the user's host: {}", out.stdout);
        assert!(
            user_host.ports.lock().unwrap().contains(&port),
            "SSH_CLIENT's port {port} is not the user's: {}",
            out.stdout
        );
        let connection = out.stdout.lines().nth(1).unwrap_or_default();
        assert!(
            connection.starts_with(&format!("127.0.0.7 {port} "))
                && connection.ends_with(&format!(" {}", node_addr.port())),
            "{connection}"
        );
    }
    drop(flood);

    // Inside one cluster: the root's relay to the root's node.
    let (r, h) = (root.clone(), home_path.clone());
    let out =
        tokio::task::spawn_blocking(move || tsh(&r, &h, &["ssh", "root@root.example.com-node", "echo $SSH_CLIENT"]))
            .await
            .unwrap();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (addr, port) = ssh_client(&out.stdout);
    assert_eq!(addr, "127.0.0.7", "{}", out.stdout);
    assert!(user_host.ports.lock().unwrap().contains(&port), "{}", out.stdout);
    // The root node's audit names the user's address and the proxy that relayed it.
    let audit = root.audit_lines();
    let start = audit
        .iter()
        .find(|l| l.contains("\"session.start\"") && l.contains(&format!("\"remote_addr\":\"127.0.0.7:{port}\"")))
        .unwrap_or_else(|| panic!("no session.start from 127.0.0.7:{port}: {audit:#?}"));
    assert!(start.contains("\"proxy_addr\":\"127.0.0.1:"), "{start}");

    user_host.task.abort();
    drop((leaf, node));
}

/// Writes `header` at the node as a client would, and whether the node answered with its
/// banner (it believed the header) or closed.
async fn answered(node: SocketAddr, header: &[u8]) -> bool {
    let mut s = TcpStream::connect(node).await.unwrap();
    s.write_all(header).await.unwrap();
    let mut buf = [0u8; 8];
    matches!(tokio::time::timeout(Duration::from_secs(3), s.read_exact(&mut buf)).await, Ok(Ok(_)) if &buf == b"SSH-2.0-")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_only_a_client_wrote_is_refused_and_audited() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::builder("forge").node(&[]).start()).await.unwrap();
    let node = cluster.node_addr();

    // What a load balancer would send: the addresses, no signature.
    let mut plain = tether_shared::proxy_header::SIGNATURE.to_vec();
    plain.extend_from_slice(&[0x21, 0x11, 0, 12, 192, 0, 2, 1, 127, 0, 0, 1, 0x30, 0x39, 0, 22]);
    assert!(!answered(node, &plain).await, "an unsigned header was believed");

    // A header signed by a proxy certificate of a CA this cluster does not know.
    let ca = tether_shared::ssh_cert::SshCa::generate().unwrap();
    let key = tether_shared::ssh_cert::generate_ed25519_key().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let host = tether_shared::ssh_cert::HostIdentity {
        host_id: tether_shared::names::proxy_host_id("forge"),
        principals: vec!["forge".into()],
        cluster: "forge".into(),
        valid_after: now - time::Duration::minutes(1),
        valid_before: now + time::Duration::hours(1),
    };
    let cert = ca.issue_host_cert(key.public_key(), &host, 1).unwrap();
    let signer = tether_shared::proxy_header::Signer::new(&key, &cert).unwrap();
    let forged =
        signer.header("192.0.2.2:4242".parse().unwrap(), node, "forge-node", std::time::SystemTime::now()).unwrap();
    assert!(!answered(node, &forged).await, "a header signed by a stranger's CA was believed");

    // A plain SSH client is still served.
    assert!(answered(node, b"SSH-2.0-OpenSSH_9.6\r\n").await, "a direct SSH client was not served");

    let audit = tokio::task::spawn_blocking(move || (cluster.audit_lines(), cluster)).await.unwrap().0;
    let refused: Vec<&String> = audit.iter().filter(|l| l.contains("\"proxy_header.refused\"")).collect();
    let code = Event::ProxyHeaderRefused.code(Outcome::Failure);
    assert!(
        refused.iter().any(|l| l.contains(code)
            && l.contains("\"claimed_addr\":\"192.0.2.1:12345\"")
            && l.contains("PROXY header without a signed claim")),
        "{audit:#?}"
    );
    assert!(
        refused.iter().any(|l| l.contains("\"claimed_addr\":\"192.0.2.2:4242\"")
            && l.contains("\"signer\":\"@proxy.forge\"")
            && l.contains("untrusted certificate authority")),
        "{audit:#?}"
    );
}
