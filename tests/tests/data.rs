//! Data paths, as SSH users move data: bytes pushed through `cat` on a node and back over
//! `tsh ssh`, inside one cluster and on the trusted path (tsh → root proxy → tunnel → leaf →
//! node), every byte checked; and a session whose reader stops must stall its own direction only,
//! never the other sessions that share the leaf's tunnel.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tether_tests::Cluster;
use tether_tests::fixtures::trusted_pair;

const MIB: u64 = 1024 * 1024;
/// How long an echo may go without a byte coming back before it counts as stalled.
const STALL: Duration = Duration::from_secs(30);

/// A deterministic byte stream (xorshift64), so the reader checks every byte without storing any.
struct Pattern(u64);

impl Pattern {
    fn new(seed: u64) -> Pattern {
        Pattern(seed | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// The next `buf.len()` bytes of the stream (byte `i` of the stream is byte `i % 8` of word
    /// `i / 8`; `pos` is where `buf` starts).
    fn fill(&mut self, pos: u64, buf: &mut [u8], word: &mut u64) {
        for (i, b) in buf.iter_mut().enumerate() {
            let at = pos + i as u64;
            if at.is_multiple_of(8) {
                *word = self.next();
            }
            *b = word.to_le_bytes()[(at % 8) as usize];
        }
    }
}

fn tsh_command(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(tether_tests::binary("tsh"));
    cmd.args(args).env("TSH_HOME", home).env("HOME", home);
    cmd
}

/// Pushes `total` bytes through `tsh ARGS` (a command that echoes its stdin, like `cat`) in
/// writes of the sizes `chunk` picks, and checks every byte that comes back. Returns why not.
fn echo(home: &Path, args: &[&str], total: u64, chunk: impl FnMut() -> usize + Send + 'static) -> Result<(), String> {
    let mut child = tsh_command(home, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start tsh: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let sent = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));

    let writer = {
        let sent = sent.clone();
        let mut chunk = chunk;
        std::thread::spawn(move || {
            let (mut pattern, mut word, mut pos) = (Pattern::new(7), 0u64, 0u64);
            let mut buf = vec![0u8; 256 * 1024];
            while pos < total {
                let n = (chunk().clamp(1, buf.len()) as u64).min(total - pos) as usize;
                pattern.fill(pos, &mut buf[..n], &mut word);
                if stdin.write_all(&buf[..n]).is_err() {
                    return;
                }
                pos += n as u64;
                sent.store(pos, Ordering::Relaxed);
            }
            // Dropping stdin sends EOF.
        })
    };
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    {
        let received = received.clone();
        std::thread::spawn(move || {
            let (mut pattern, mut word, mut pos) = (Pattern::new(7), 0u64, 0u64);
            let mut buf = vec![0u8; 256 * 1024];
            let mut want = vec![0u8; 256 * 1024];
            let verdict = loop {
                match stdout.read(&mut buf) {
                    Ok(0) => {
                        break if pos == total {
                            Ok(())
                        } else {
                            Err(format!("output ended after {pos} of {total} bytes"))
                        };
                    }
                    Ok(n) => {
                        pattern.fill(pos, &mut want[..n], &mut word);
                        if let Some(i) = (0..n).find(|&i| buf[i] != want[i]) {
                            break Err(format!("byte {} differs from what was sent", pos + i as u64));
                        }
                        pos += n as u64;
                        received.store(pos, Ordering::Relaxed);
                        if pos > total {
                            break Err(format!("more bytes came back ({pos}) than were sent ({total})"));
                        }
                    }
                    Err(e) => break Err(format!("reading tsh's output: {e}")),
                }
            };
            let _ = done_tx.send(verdict);
        });
    }
    let (mut last, mut moved) = (0, Instant::now());
    let verdict = loop {
        match done_rx.recv_timeout(Duration::from_secs(1)) {
            Ok(verdict) => break verdict,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break Err("the reader thread died".into()),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        let now = received.load(Ordering::Relaxed);
        if now != last {
            (last, moved) = (now, Instant::now());
        } else if moved.elapsed() > STALL {
            break Err(format!(
                "stalled: {} of {total} bytes sent and {now} back, nothing for {STALL:?}",
                sent.load(Ordering::Relaxed)
            ));
        }
    };
    if verdict.is_err() {
        let _ = child.kill();
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = writer.join();
    let mut errors = String::new();
    let _ = stderr.read_to_string(&mut errors);
    verdict.map_err(|e| format!("{e}; tsh said: {errors}"))?;
    if !status.success() {
        return Err(format!("tsh exited with {status}: {errors}"));
    }
    Ok(())
}

/// Chunk sizes from a small xorshift: 1 to `max` bytes.
fn small_writes(max: usize) -> impl FnMut() -> usize + Send + 'static {
    let mut rng = Pattern::new(99);
    move || 1 + (rng.next() % max as u64) as usize
}

fn local_cluster() -> (Cluster, std::path::PathBuf) {
    tether_tests::fixtures::ensure_visitor_account();
    let cluster = Cluster::builder("main.example.com").node(&[]).start();
    let home = cluster.add_user("alice", "access", "visitor", "correct-horse");
    (cluster, home)
}

#[test]
fn a_quarter_gibibyte_goes_through_cat_and_back_inside_one_cluster() {
    let (_cluster, home) = local_cluster();
    let args = ["ssh", "visitor@main.example.com-node", "cat"];
    echo(&home, &args, 256 * MIB, || 64 * 1024).unwrap();
    echo(&home, &args, 32 * MIB, small_writes(1500)).unwrap();
}

#[test]
fn openssh_keeps_sending_while_its_own_reader_sleeps() {
    // OpenSSH stops granting window for output nobody reads, but goes on sending input: the
    // node's `cat` stops reading, its input piles up, and the node must keep reading the client's
    // window adjustments all the same, or the session deadlocks once the reader wakes.
    let (cluster, home) = local_cluster();
    let config = cluster.as_user(&home, "tsh", &["config"], None).ok();
    let config_file = cluster.dir.path().join("ssh_config");
    std::fs::write(&config_file, &config).unwrap();
    let script = format!(
        "head -c 200M /dev/urandom | timeout 120 ssh -F {} -o BatchMode=yes visitor@main.example.com-node.main.example.com cat | (sleep 12; wc -c)",
        config_file.display()
    );
    let out = Command::new("sh").args(["-c", &script]).env("TSH_HOME", &home).env("HOME", &home).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        (200 * MIB).to_string(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_quarter_gibibyte_goes_through_cat_and_back_on_the_trusted_path() {
    let (_pair, home) = trusted_pair();
    let args = ["ssh", "--cluster=leaf.example.com", "visitor@mynode", "cat"];
    echo(&home, &args, 256 * MIB, || 64 * 1024).unwrap();
    echo(&home, &args, 32 * MIB, small_writes(1500)).unwrap();
}

/// A tsh session that does not read its output, or whose command does not read its input.
struct Stuck(Child);

impl Drop for Stuck {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `tsh ARGS` and returns its stdout, or why it did not finish within `deadline`.
fn run_within(home: &Path, args: &[&str], deadline: Duration) -> Result<String, String> {
    let mut child = tsh_command(home, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let start = Instant::now();
    while start.elapsed() < deadline {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            let out = child.wait_with_output().map_err(|e| e.to_string())?;
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!("tsh {args:?} did not finish within {deadline:?}"))
}

#[test]
fn a_reader_that_stops_stalls_only_its_own_session() {
    let (_pair, home) = trusted_pair();
    fn with(cmd: &str) -> Vec<&str> {
        vec!["ssh", "--cluster=leaf.example.com", "visitor@mynode", cmd]
    }

    // Output nobody reads: the node keeps producing, tsh's stdout pipe is full. (Random bytes:
    // zeros would shrink to nothing under SSH compression.)
    let _output = Stuck(
        tsh_command(&home, &with("head -c 400M /dev/urandom"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Input nobody reads: tsh keeps sending, the command never reads its stdin.
    let mut input = Stuck(
        tsh_command(&home, &with("sleep 120"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut pipe = input.0.stdin.take().unwrap();
    let pushed = Arc::new(AtomicU64::new(0));
    {
        let pushed = pushed.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            Pattern::new(3).fill(0, &mut buf, &mut 0);
            while pushed.load(Ordering::Relaxed) < 400 * MIB && pipe.write_all(&buf).is_ok() {
                pushed.fetch_add(buf.len() as u64, Ordering::Relaxed);
            }
        });
    }
    // Let both fill every buffer on the way.
    std::thread::sleep(Duration::from_secs(8));
    assert!(pushed.load(Ordering::Relaxed) < 400 * MIB, "all 400 MiB went into a command that reads nothing");

    for i in 0..3 {
        let cmd = format!("echo other-{i}");
        let out = run_within(&home, &with(&cmd), Duration::from_secs(20)).unwrap();
        assert_eq!(out.trim(), format!("other-{i}"), "another session through the same tunnel");
    }
    echo(&home, &with("cat"), 16 * MIB, || 32 * 1024).unwrap();
}

/// A TCP stream whose reading can be stopped for good: a client that stops reading its socket.
struct Pausable {
    tcp: tokio::net::TcpStream,
    paused: Arc<std::sync::atomic::AtomicBool>,
}

impl tokio::io::AsyncRead for Pausable {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.paused.load(Ordering::Relaxed) {
            return std::task::Poll::Pending;
        }
        std::pin::Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Pausable {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.tcp).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}

/// Accepts any host key: this client attacks, it does not need to trust.
struct AnyHost;

impl russh::client::Handler for AnyHost {
    type Error = russh::Error;
    async fn check_server_key(&mut self, _key: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }
}

/// Logs in with the user's tsh credentials and a window of 1 GiB (as any client may ask).
async fn login<S>(stream: S, creds: &tether_client::credentials::Credentials) -> russh::client::Handle<AnyHost>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let config = russh::client::Config { window_size: 1 << 30, ..Default::default() };
    let mut handle = russh::client::connect_stream(Arc::new(config), stream, AnyHost).await.unwrap();
    let key = russh::keys::PrivateKey::from_openssh(&creds.private_key).unwrap();
    let cert = russh::keys::Certificate::from_openssh(&creds.ssh_cert).unwrap();
    let auth = handle.authenticate_openssh_cert("visitor", Arc::new(key), cert).await.unwrap();
    assert!(auth.success(), "the certificate was refused");
    handle
}

#[test]
fn a_client_that_stops_reading_its_socket_stalls_no_other_session() {
    let (pair, home) = trusted_pair();
    // The leaf takes only a certificate the root bound to it: tsh gets one (and keeps it).
    let out = pair.root.as_user(&home, "tsh", &["ssh", "--cluster=leaf.example.com", "visitor@mynode", "true"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let profile = tether_cli::profile::load_current(&home).unwrap();
    let bound = profile.leaf_certs.get("leaf.example.com").expect("a certificate bound to the leaf").clone();
    let creds = profile.credentials;
    let bound = tether_client::credentials::Credentials { ssh_cert: bound.ssh_cert, ..creds.clone() };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let paused = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (_proxy, _node, _session) = runtime.block_on(async {
        // Through the root's relay to the leaf's node, then `cat /dev/urandom` with a 1 GiB window.
        let tcp = tokio::net::TcpStream::connect(&creds.ssh_proxy).await.unwrap();
        let proxy = login(Pausable { tcp, paused: paused.clone() }, &creds).await;
        let channel = proxy.channel_open_session().await.unwrap();
        channel.request_subsystem(true, "proxy:mynode@leaf.example.com").await.unwrap();
        let node = login(channel.into_stream(), &bound).await;
        let mut session = node.channel_open_session().await.unwrap();
        session.exec(true, "cat /dev/urandom").await.unwrap();
        // The output flows; then this client stops reading its socket for good.
        let mut got = 0;
        while got < 4 * MIB as usize {
            match session.wait().await {
                Some(russh::ChannelMsg::Data { data }) => got += data.len(),
                Some(russh::ChannelMsg::ExtendedData { data, .. }) => {
                    panic!("the node said: {}", String::from_utf8_lossy(&data))
                }
                Some(_) => {}
                None => panic!("the node closed the session after {got} bytes"),
            }
        }
        paused.store(true, Ordering::Relaxed);
        (proxy, node, session)
    });
    // Every buffer between the node and this client fills up.
    std::thread::sleep(Duration::from_secs(8));
    for i in 0..3 {
        let cmd = format!("echo other-{i}");
        let args = ["ssh", "--cluster=leaf.example.com", "visitor@mynode", cmd.as_str()];
        let out = run_within(&home, &args, Duration::from_secs(20));
        assert_eq!(out.as_deref().map(str::trim), Ok(format!("other-{i}").as_str()), "another session on the tunnel");
    }
    drop(pair);
}
