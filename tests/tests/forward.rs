//! `tsh ssh` forwarding end to end: `-L`, `-R` (also through a trusted leaf), `-D` (with a
//! SOCKS5 client written here), `-N` held until SIGTERM, `-A` with a real `ssh-agent`, and the
//! node's refusals shown as one line naming the forward and the reason.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};
use tether_audit::{Event, Outcome};

use tether_tests::{Cluster, binary};

const WAIT: Duration = Duration::from_secs(30);

/// A `tsh` running in the background; its stderr is collected line by line.
struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Arc<Mutex<String>>,
}

impl Background {
    fn start(home: &Path, args: &[&str], env: &[(&str, &Path)]) -> Background {
        let mut cmd = Command::new(binary("tsh"));
        cmd.args(args).env("TSH_HOME", home).env("HOME", home).env_remove("SSH_AUTH_SOCK");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child =
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start tsh");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        let seen = Arc::new(Mutex::new(String::new()));
        let all = seen.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                all.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        Background { child, lines, seen }
    }

    /// The first stderr line containing `needle`.
    fn line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("tsh never printed {needle:?}; stderr: {}", self.stderr());
    }

    /// The port at the end of the line `tsh: PREFIX ...:PORT -> ...`.
    fn port(&mut self, prefix: &str) -> u16 {
        let line = self.line(prefix);
        let addr = line.trim_start_matches(prefix).split_whitespace().next().unwrap_or_default();
        addr.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("no port in {line:?}"))
    }

    fn stderr(&self) -> String {
        self.seen.lock().unwrap().clone()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().ok().flatten().is_none()
    }

    /// SIGTERM, then the exit code.
    fn terminate(mut self) -> (Option<i32>, String) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return (status.code(), self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("tsh did not stop on SIGTERM; stderr: {}", self.stderr());
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP echo server on 127.0.0.1; returns its port.
fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            std::thread::spawn(move || {
                let mut back = conn.try_clone().unwrap();
                let _ = std::io::copy(&mut conn, &mut back);
            });
        }
    });
    port
}

/// A server on 127.0.0.1 that greets each connection with `greeting` and closes; returns its port.
fn greeting_server(greeting: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().map_while(Result::ok) {
            let _ = conn.write_all(greeting.as_bytes());
        }
    });
    port
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect to {port}: {e}"));
    s.set_read_timeout(Some(WAIT)).unwrap();
    s
}

/// Sends `len` bytes through `stream` (to an echo) and checks they all come back, writing and
/// reading at once so both directions of the forward carry data together.
fn round_trip(stream: TcpStream, len: usize) {
    let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut writer = stream.try_clone().unwrap();
    let sent = data.clone();
    let send = std::thread::spawn(move || writer.write_all(&sent).unwrap());
    let mut back = vec![0u8; len];
    let mut reader = stream;
    reader.read_exact(&mut back).unwrap_or_else(|e| panic!("echo of {len} bytes: {e}"));
    send.join().unwrap();
    assert!(back == data, "the echo differs");
}

fn node_cluster() -> (Cluster, PathBuf, String) {
    let cluster = Cluster::builder("root.example.com").node(&[("env", "test")]).start();
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    let node = format!("root@{}-node", cluster.name);
    (cluster, home, node)
}

#[test]
fn local_forward_and_n_hold_until_sigterm() {
    let (cluster, home, node) = node_cluster();
    let echo = echo_server();
    let target = format!("0:127.0.0.1:{echo}");
    let mut tsh = Background::start(&home, &["ssh", "-N", "-L", &target, &node], &[]);
    let port = tsh.port("tsh: local port forwarded: ");

    let mut s = connect(port);
    s.write_all(b"hello through the node\n").unwrap();
    let mut buf = [0u8; 23];
    s.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello through the node\n");
    // Several MiB both ways at once, on two connections at the same time.
    let a = std::thread::spawn(move || round_trip(connect(port), 6 << 20));
    round_trip(connect(port), 6 << 20);
    a.join().unwrap();

    // -N: nothing runs, and tsh stays until told to stop; then it exits 0.
    std::thread::sleep(Duration::from_secs(2));
    assert!(tsh.running(), "tsh -N exited by itself: {}", tsh.stderr());
    let (code, stderr) = tsh.terminate();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "the listener is gone with tsh");
    let audit = cluster.audit_lines();
    assert!(
        audit
            .iter()
            .any(|l| l.contains("\"port\"") && l.contains("\"forward\":\"local\"") && l.contains(&echo.to_string())),
        "{audit:?}"
    );
}

#[test]
fn dynamic_forward_speaks_socks5() {
    let (_cluster, home, node) = node_cluster();
    let echo = echo_server();
    let mut tsh = Background::start(&home, &["ssh", "-N", "-D", "0", &node], &[]);
    let port = tsh.port("tsh: SOCKS5 proxy listening on ");

    // CONNECT by IPv4 address, then by name.
    for (atyp, addr) in [(1u8, vec![127, 0, 0, 1]), (3u8, [&[9u8][..], b"localhost"].concat())] {
        let mut s = connect(port);
        s.write_all(&[5, 1, 0]).unwrap();
        let mut method = [0u8; 2];
        s.read_exact(&mut method).unwrap();
        assert_eq!(method, [5, 0], "no authentication chosen");
        let mut req = vec![5, 1, 0, atyp];
        req.extend_from_slice(&addr);
        req.extend_from_slice(&echo.to_be_bytes());
        s.write_all(&req).unwrap();
        let mut reply = [0u8; 10];
        s.read_exact(&mut reply).unwrap();
        assert_eq!(reply[..2], [5, 0], "CONNECT succeeded (address type {atyp})");
        s.write_all(b"socks ping").unwrap();
        let mut buf = [0u8; 10];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"socks ping");
    }

    // A closed port on the node: reply 5 (connection refused) and one line saying why.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut s = connect(port);
    s.write_all(&[5, 1, 0]).unwrap();
    let mut method = [0u8; 2];
    s.read_exact(&mut method).unwrap();
    let mut req = vec![5, 1, 0, 1, 127, 0, 0, 1];
    req.extend_from_slice(&closed.to_be_bytes());
    s.write_all(&req).unwrap();
    let mut reply = [0u8; 10];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(reply[..2], [5, 5], "connection refused");
    let line = tsh.line("dynamic forward");
    assert!(
        line.contains(&format!("-> 127.0.0.1:{closed} failed: the node cannot connect to 127.0.0.1:{closed}")),
        "{line}"
    );
    // Not SOCKS5 at all: closed without a reply.
    let mut s = connect(port);
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    assert_eq!(tsh.terminate().0, Some(0));
}

#[test]
fn remote_forward_through_a_trusted_leaf() {
    let (pair, home) = tether_tests::fixtures::trusted_pair();
    let greeting = greeting_server("hello from the tsh side\n");
    let spec = format!("0:127.0.0.1:{greeting}");
    let mut tsh =
        Background::start(&home, &["ssh", "--cluster=leaf.example.com", "-N", "-R", &spec, "visitor@mynode"], &[]);
    let line = tsh.line("tsh: remote port forwarded: ");
    assert!(line.starts_with("tsh: remote port forwarded: mynode:"), "{line}");
    assert!(line.ends_with(&format!(" -> 127.0.0.1:{greeting}")), "{line}");
    let port: u16 = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("mynode:"))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));

    // A program on the node connects to its loopback port and reaches the server here.
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{port}; cat <&3");
    let out = pair.root.as_user(
        &home,
        "tsh",
        &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "bash", "-c", &script],
        None,
    );
    assert_eq!(out.stdout, "hello from the tsh side\n", "{}", out.stderr);
    // The node listens on loopback only.
    let mut s = connect(port);
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello from the tsh side\n");
    assert_eq!(tsh.terminate().0, Some(0));
    // The leaf's node (its own data dir) audits the remote forward.
    let events = pair.node.dir.path().join("data/log/events.log");
    tether_tests::fixtures::wait_for("the remote forward audited", Duration::from_secs(10), || {
        let audit = std::fs::read_to_string(&events).unwrap_or_default();
        let found = audit
            .lines()
            .any(|l| l.contains("\"forward\":\"remote\"") && l.contains(Event::Port.code(Outcome::Success)));
        (!found).then_some(audit)
    });
    // With tsh gone the node stopped listening.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(Instant::now() < deadline, "the node still listens on {port} after tsh left");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn local_forward_through_a_trusted_leaf_and_remote_forward_with_a_command() {
    let (pair, home) = tether_tests::fixtures::trusted_pair();
    let echo = echo_server();
    let spec = format!("0:127.0.0.1:{echo}");
    let mut tsh =
        Background::start(&home, &["ssh", "--cluster=leaf.example.com", "-N", "-L", &spec, "visitor@mynode"], &[]);
    let port = tsh.port("tsh: local port forwarded: ");
    round_trip(connect(port), 1 << 20);
    assert_eq!(tsh.terminate().0, Some(0));

    // -R alongside a command on a fixed port: the command itself uses the forward.
    let greeting = greeting_server("fixed port works\n");
    let fixed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let spec = format!("{fixed}:127.0.0.1:{greeting}");
    let script = format!("exec 3<>/dev/tcp/127.0.0.1/{fixed}; cat <&3");
    let out = pair.root.as_user(
        &home,
        "tsh",
        &["ssh", "--cluster=leaf.example.com", "-R", &spec, "visitor@mynode", "bash", "-c", &script],
        None,
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, "fixed port works\n"), "{}", out.stderr);
}

#[test]
fn agent_forwarding_serves_the_local_agent() {
    let (_cluster, home, node) = node_cluster();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&sock)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ssh-agent");
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        if let Ok(Some(_)) = agent.try_wait() {
            panic!("ssh-agent exited");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _agent = Kill(agent);
    let key = dir.path().join("id_test");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "forwarded-test-key", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let added = Command::new("ssh-add").arg(&key).env("SSH_AUTH_SOCK", &sock).output().unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let fingerprint = String::from_utf8(Command::new("ssh-keygen").arg("-lf").arg(&key).output().unwrap().stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");

    let out = tether_tests::run(
        "tsh",
        &["ssh", "-A", &node, "ssh-add -l"],
        &[("TSH_HOME", &home), ("HOME", &home), ("SSH_AUTH_SOCK", &sock)],
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(&fingerprint) && out.stdout.contains("forwarded-test-key"),
        "the node lists the local agent's key: {}",
        out.stdout
    );

    // Without -A the node has no agent.
    let out = tether_tests::run(
        "tsh",
        &["ssh", &node, "echo \"[$SSH_AUTH_SOCK]\""],
        &[("TSH_HOME", &home), ("HOME", &home), ("SSH_AUTH_SOCK", &sock)],
        None,
    );
    assert_eq!(out.stdout, "[]\n", "{}", out.stderr);

    // -A without a local agent: a clear error, before connecting.
    let mut cmd = Command::new(binary("tsh"));
    cmd.args(["ssh", "-A", &node, "true"]).env("TSH_HOME", &home).env("HOME", &home).env_remove("SSH_AUTH_SOCK");
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("SSH_AUTH_SOCK is not set"), "{err}");
}

/// A SOCKS CONNECT to 127.0.0.1:`port` through the `-D` listener at `socks`; the open stream.
fn socks_connect(socks: u16, port: u16) -> TcpStream {
    let mut s = connect(socks);
    s.write_all(&[5, 1, 0]).unwrap();
    let mut method = [0u8; 2];
    s.read_exact(&mut method).unwrap();
    let mut req = vec![5, 1, 0, 1, 127, 0, 0, 1];
    req.extend_from_slice(&port.to_be_bytes());
    s.write_all(&req).unwrap();
    let mut reply = [0u8; 10];
    s.read_exact(&mut reply).unwrap();
    assert_eq!(reply[..2], [5, 0], "CONNECT refused");
    s
}

/// A browser through `-D` opens dozens of connections at once: 100 forwards held open together
/// on one SSH connection all work (forwards are not sessions, and not capped at 10).
#[test]
fn a_hundred_socks_connections_at_once_through_one_tsh() {
    let (_cluster, home, node) = node_cluster();
    let echo = echo_server();
    let mut tsh = Background::start(&home, &["ssh", "-N", "-D", "0", &node], &[]);
    let socks = tsh.port("tsh: SOCKS5 proxy listening on ");
    let all_open = std::sync::Arc::new(std::sync::Barrier::new(100));
    let clients: Vec<_> = (0..100u32)
        .map(|i| {
            let all_open = all_open.clone();
            std::thread::spawn(move || {
                let mut s = socks_connect(socks, echo);
                all_open.wait();
                let msg = format!("ping {i:03}");
                s.write_all(msg.as_bytes()).unwrap();
                let mut back = vec![0u8; msg.len()];
                s.read_exact(&mut back).unwrap();
                assert_eq!(back, msg.as_bytes());
            })
        })
        .collect();
    let failed = clients.into_iter().map(std::thread::JoinHandle::join).filter(Result::is_err).count();
    assert_eq!(failed, 0, "{failed} of 100 SOCKS connections failed: {}", tsh.stderr());
    assert_eq!(tsh.terminate().0, Some(0));
}

#[test]
fn refusals_name_the_forward_and_the_reason() {
    let cluster = Cluster::builder("root.example.com").node(&[("env", "test")]).start();
    let role = cluster.dir.path().join("nofwd.yaml");
    std::fs::write(
        &role,
        "kind: role\nversion: v5\nmetadata:\n  name: nofwd\nspec:\n  options:\n    port_forwarding: false\n    forward_agent: false\n  allow:\n    logins: [root]\n    node_labels:\n      '*': '*'\n    rules:\n    - resources: [node]\n      verbs: [list, read]\n",
    )
    .unwrap();
    cluster.tctl(&["create", role.to_str().unwrap()]).ok();
    let home = cluster.add_user("bob", "nofwd", "root", "correct-horse");
    let node = format!("root@{}-node", cluster.name);
    let echo = echo_server();

    // -L: the listener is up, each connection is refused by the node with the reason.
    let spec = format!("0:127.0.0.1:{echo}");
    let mut tsh = Background::start(&home, &["ssh", "-N", "-L", &spec, &node], &[]);
    let port = tsh.port("tsh: local port forwarded: ");
    let mut s = connect(port);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.is_empty(), "nothing got through: {rest:?}");
    let line = tsh.line("refused");
    assert_eq!(
        line,
        format!(
            "tsh: the node refused local forward 127.0.0.1:{port} -> 127.0.0.1:{echo}: port forwarding is not allowed by your roles"
        )
    );
    drop(tsh);

    // -R: refused at the start; tsh stops with the reason.
    let spec = format!("0:127.0.0.1:{echo}");
    let err = cluster.as_user(&home, "tsh", &["ssh", "-R", &spec, &node, "true"], None).err();
    assert!(
        err.contains(&format!("the node refused remote forward localhost:0 -> 127.0.0.1:{echo}: port forwarding is not allowed by your roles")),
        "{err}"
    );

    // -A: a warning line, and the command still runs, without an agent.
    let sock = cluster.dir.path().join("no-agent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let out = tether_tests::run(
        "tsh",
        &["ssh", "-A", &node, "echo \"[$SSH_AUTH_SOCK]\""],
        &[("TSH_HOME", &home), ("HOME", &home), ("SSH_AUTH_SOCK", &sock)],
        None,
    );
    assert_eq!((out.code, out.stdout.as_str()), (0, "[]\n"), "{}", out.stderr);
    assert!(
        out.stderr.contains("tsh: the node refused agent forwarding: agent forwarding is not allowed by your roles"),
        "{}",
        out.stderr
    );

    // The node audited the refusals.
    let audit = cluster.audit_lines();
    assert!(
        audit.iter().any(|l| l.contains("\"port\"")
            && l.contains(Event::Port.code(Outcome::Failure))
            && l.contains("not allowed by your roles")),
        "{audit:?}"
    );

    // Specs are checked before anything else.
    let err = cluster.as_user(&home, "tsh", &["ssh", "-L", "8080:db", &node, "true"], None).err();
    assert!(err.contains("bad -L spec \"8080:db\": expected [bind_address:]port:host:hostport"), "{err}");
}
