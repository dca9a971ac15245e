//! End-to-end test helpers: real `tether` processes on 127.0.0.1 with free ports and a temp
//! data dir, and the real `tctl` and `tsh` binaries.
//!
//! [`binary`] builds the three binaries once per test process (with the cargo that runs the
//! tests), so `cargo test --workspace` alone is enough on a fresh checkout. [`Cluster`] owns its
//! daemon and stops it (SIGTERM, then SIGKILL) when dropped; [`Cluster::builder`] configures one
//! (a node, a leaf, extra config) before it starts. [`fixtures`] holds what many tests share;
//! [`postgres`] starts a throwaway PostgreSQL server for the storage tests.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

pub mod browser;
pub mod fixtures;
pub mod forwarder;
pub mod postgres;
use std::time::{Duration, Instant};

/// How long a daemon may take to print its address.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace root.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."))
}

fn build_binaries() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    // `cargo test` runs this with the test crate's CARGO_* variables (CARGO_MANIFEST_DIR, …);
    // build scripts that watch them would then rebuild half the dependency tree each time.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        let keep = matches!(key.as_str(), "CARGO_HOME" | "CARGO_TARGET_DIR" | "CARGO_BUILD_JOBS");
        if (key.starts_with("CARGO_") && !keep) || key == "OUT_DIR" {
            command.env_remove(&key);
        }
    }
    let status = command
        .current_dir(workspace_root())
        .args(["build", "--quiet", "--bin", "tether", "--bin", "tctl", "--bin", "tsh"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo build of the binaries failed: {status}")) }
}

/// Path of a workspace binary (`tether`, `tctl`, `tsh`), built on first use.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = BUILT.get_or_init(build_binaries) {
        panic!("{e}");
    }
    // target/debug/deps/<test> -> target/debug/<name>
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().and_then(Path::parent).map(PathBuf::from).unwrap_or_default();
    dir.join(name)
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// What a finished child printed.
    pub fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Panics with the output unless the command succeeded; returns stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, 0, "command failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self.stdout
    }

    /// Panics unless the command failed; returns stderr.
    pub fn err(self) -> String {
        assert_ne!(self.code, 0, "command should have failed:\nstdout: {}", self.stdout);
        self.stderr
    }
}

/// Runs a binary with `args`, `env` and optional stdin.
pub fn run(name: &str, args: &[&str], env: &[(&str, &Path)], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(binary(name));
    cmd.args(args).stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    Run::from(child.wait_with_output().expect("wait"))
}

/// A host running only the ssh service, joined to a cluster with a node token.
pub struct RemoteNode {
    /// Holds its data dir and config.
    pub dir: tempfile::TempDir,
    /// What the daemon printed first (the address) or the error it exited with.
    pub first_line: String,
    child: Option<Child>,
}

impl RemoteNode {
    /// Starts `tether` with only `ssh_service`, joining `proxy` with `token`. Returns the node
    /// even when it failed to start (then `first_line` is empty and [`RemoteNode::log`] says why).
    pub fn start(proxy: &str, node_name: &str, token: &str, labels: &[(&str, &str)]) -> RemoteNode {
        RemoteNode::start_with(proxy, node_name, token, labels, "", true)
    }

    /// [`RemoteNode::start`] with more `teleport:` lines (indented by two spaces), and with or
    /// without `--insecure`.
    pub fn start_with(
        proxy: &str,
        node_name: &str,
        token: &str,
        labels: &[(&str, &str)],
        teleport_extra: &str,
        insecure: bool,
    ) -> RemoteNode {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = format!(
            "teleport:\n  nodename: {node_name}\n  data_dir: {data}\n  auth_token: {token}\n  proxy_server: {proxy}\n{teleport_extra}ssh_service:\n  listen_addr: 127.0.0.1:0\n",
            data = dir.path().join("data").display()
        );
        if !labels.is_empty() {
            config.push_str("  labels:\n");
            for (k, v) in labels {
                config.push_str(&format!("    {k}: {v}\n"));
            }
        }
        std::fs::write(dir.path().join("tether.yaml"), config).expect("write config");
        let log = std::fs::File::create(dir.path().join("tether.log")).expect("log file");
        let mut child = Command::new(binary("tether"))
            .arg("start")
            .args(insecure.then_some("--insecure"))
            .arg("-c")
            .arg(dir.path().join("tether.yaml"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start tether");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next().and_then(Result::ok).unwrap_or_default());
            for _ in lines {}
        });
        let first_line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        RemoteNode { dir, first_line, child: Some(child) }
    }

    /// The daemon's log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tether.log")).unwrap_or_default()
    }

    /// Waits for the daemon to exit (for start failures) and returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Kills the daemon at once (SIGKILL): its heartbeats stop.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RemoteNode {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child);
        }
    }
}

/// Stops a daemon with SIGTERM and waits for it, with SIGKILL after 10 s.
fn terminate(mut child: Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).stderr(Stdio::null()).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The connection limits of test clusters: running sessions get 3 s to finish at shutdown
/// (the default 30 s would outlast the harness's SIGKILL after 10 s).
pub const TEST_LIMITS: &str = "    shutdown_grace: 3s\n";

/// The key-encryption key every host of a test cluster on PostgreSQL shares (base64 of 32 bytes).
pub const TEST_KEK: &str = "dGV0aGVyLXRlc3Qta2V5LWVuY3J5cHRpb24ta2V5ISE=";

/// One running all-in-one cluster (auth + proxy) in a temp directory.
pub struct Cluster {
    /// Holds the data dir, config and the tsh home.
    pub dir: tempfile::TempDir,
    /// The cluster's name.
    pub name: String,
    /// The proxy's web address.
    pub web_addr: String,
    /// The proxy's reverse tunnel address.
    pub tunnel_addr: String,
    /// Extra `tether start` arguments (e.g. `--insecure`).
    pub args: Vec<String>,
    /// Extra environment of the daemon (e.g. `SOFTHSM2_CONF`).
    pub env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Cluster {
    /// Writes a config for `name` with every port 0 and starts the daemon (auth + proxy).
    pub fn start(name: &str) -> Cluster {
        Cluster::builder(name).start()
    }

    /// A cluster to configure before starting: `Cluster::builder(NAME).node(&[..]).start()`.
    pub fn builder(name: &str) -> ClusterBuilder {
        ClusterBuilder {
            name: name.to_string(),
            limits: TEST_LIMITS.to_string(),
            storage: String::new(),
            shared_kek: false,
            auth_extra: String::new(),
            sections: String::new(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// A second auth+proxy process of the same cluster, sharing this one's storage (the SQLite
    /// file in its data dir) on ports of its own: another proxy behind a load balancer.
    pub fn another_proxy(&self) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = std::fs::read_to_string(self.config()).expect("read config");
        std::fs::write(dir.path().join("tether.yaml"), config).expect("write config");
        let mut cluster = Cluster {
            dir,
            name: self.name.clone(),
            web_addr: String::new(),
            tunnel_addr: String::new(),
            args: self.args.clone(),
            env: self.env.clone(),
            child: None,
        };
        cluster.launch();
        cluster
    }

    /// The config file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("tether.yaml")
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn launch(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("tether.log")).expect("log file");
        let mut child = Command::new(binary("tether"))
            .arg("start")
            .args(&self.args)
            .arg("-c")
            .arg(self.config())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start tether");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            // The web address, then the tunnel address.
            for _ in 0..2 {
                if let Some(Ok(line)) = lines.next() {
                    let _ = tx.send(line);
                }
            }
            // Keep draining so the daemon never blocks on a full pipe.
            for _ in lines {}
        });
        self.child = Some(child);
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => {
                self.web_addr = line.rsplit(' ').next().unwrap_or_default().to_string();
                let tunnel = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
                self.tunnel_addr = tunnel.rsplit(' ').next().unwrap_or_default().to_string();
            }
            Err(_) => {
                let log = std::fs::read_to_string(self.dir.path().join("tether.log")).unwrap_or_default();
                panic!("tether did not start within {START_TIMEOUT:?}; log:\n{log}");
            }
        }
    }

    /// Stops the daemon with SIGTERM and waits for it (SIGKILL after 10 s).
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            terminate(child);
        }
    }

    /// Kills the daemon with SIGKILL (a crash: no drain, no flush) and reaps it.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops and starts the daemon on the same data directory and web address, as an operator
    /// restarting a service would.
    pub fn restart(&mut self) {
        self.stop();
        let config = std::fs::read_to_string(self.config()).expect("read config");
        let pinned = config
            .replace("web_listen_addr: 127.0.0.1:0", &format!("web_listen_addr: {}", self.web_addr))
            .replace("tunnel_listen_addr: 127.0.0.1:0", &format!("tunnel_listen_addr: {}", self.tunnel_addr));
        std::fs::write(self.config(), pinned).expect("write config");
        self.launch();
    }

    /// Whether the daemon process has exited, and with what status.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Runs `tctl` as the local admin (`--data-dir`).
    pub fn tctl(&self, args: &[&str]) -> Run {
        let data = self.data_dir();
        let mut all = vec!["--data-dir", data.to_str().unwrap_or_default()];
        all.extend_from_slice(args);
        run("tctl", &all, &[], None)
    }

    /// Runs a client binary as a user whose tsh profiles live in `home`.
    pub fn as_user(&self, home: &Path, name: &str, args: &[&str], stdin: Option<&str>) -> Run {
        run(name, args, &[("TSH_HOME", home), ("HOME", home)], stdin)
    }

    /// Creates `user` with `roles`, logs them in with `password` (through the invite) under
    /// their own tsh home, and returns that home.
    pub fn add_user(&self, user: &str, roles: &str, logins: &str, password: &str) -> PathBuf {
        self.add_user_output(user, roles, logins, password).0
    }

    /// [`Cluster::add_user`], also returning what the invite login printed.
    pub fn add_user_output(&self, user: &str, roles: &str, logins: &str, password: &str) -> (PathBuf, String) {
        let mut args = vec!["users", "add", user];
        let roles_flag = format!("--roles={roles}");
        let logins_flag = format!("--logins={logins}");
        args.push(&roles_flag);
        if !logins.is_empty() {
            args.push(&logins_flag);
        }
        let out = self.tctl(&args).ok();
        let invite = out
            .split_whitespace()
            .find_map(|w| w.strip_prefix("--invite="))
            .unwrap_or_else(|| panic!("no invite in: {out}"))
            .to_string();
        // The first login verifies the proxy with the CA pin the invite line carries, as a user
        // following it would: no --insecure.
        let pin = out
            .split_whitespace()
            .find(|w| w.starts_with("--ca-pin="))
            .unwrap_or_else(|| panic!("no --ca-pin in: {out}"))
            .to_string();
        let home = self.dir.path().join(format!("home-{user}"));
        std::fs::create_dir_all(&home).expect("home");
        let proxy = format!("--proxy={}", self.web_addr);
        let user_flag = format!("--user={user}");
        let invite_flag = format!("--invite={invite}");
        let printed = self
            .as_user(
                &home,
                "tsh",
                &["login", &proxy, &user_flag, &pin, &invite_flag, "--keystore=file"],
                Some(&format!("{password}\n")),
            )
            .ok();
        (home, printed)
    }

    /// The daemon's process ID, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// What the daemon has logged so far (its stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tether.log")).unwrap_or_default()
    }

    /// The address logged as `key=ADDR` at start (`ssh_addr`, `auth_addr`, `ssh_node_addr`, …).
    pub fn logged_addr(&self, key: &str) -> Option<std::net::SocketAddr> {
        let log = self.log();
        let needle = format!("{key}=");
        log.split_whitespace().find_map(|w| w.strip_prefix(needle.as_str())?.parse().ok())
    }

    /// The address of the cluster's own node (`ssh_node_addr=` in the log), waiting up to 5 s
    /// for the node to log it.
    #[allow(clippy::panic, reason = "a test helper: failing the test is the point")]
    pub fn node_addr(&self) -> std::net::SocketAddr {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(addr) = self.logged_addr("ssh_node_addr") {
                return addr;
            }
            if Instant::now() > deadline {
                panic!("no ssh_node_addr= in the daemon's log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The audit log's lines, once its writer has caught up (events are written by a writer
    /// thread a moment after the call that emitted them: wait until the file stops growing).
    pub fn audit_lines(&self) -> Vec<String> {
        let path = self.data_dir().join("log/events.log");
        let size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(2);
        let mut last = size();
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            let now = size();
            if now == last {
                break;
            }
            last = now;
        }
        std::fs::read_to_string(&path).unwrap_or_default().lines().map(str::to_string).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How a test [`Cluster`] is configured before it starts; see [`Cluster::builder`].
pub struct ClusterBuilder {
    name: String,
    limits: String,
    storage: String,
    /// Whether the CA keys' key-encryption key is the shared [`TEST_KEK`] (hosts of one cluster
    /// on PostgreSQL need the same one) instead of the data dir's own `ca.kek`.
    shared_kek: bool,
    auth_extra: String,
    sections: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl ClusterBuilder {
    /// Extra lines in the `auth_service` section (indented by two spaces).
    pub fn auth(mut self, lines: &str) -> Self {
        self.auth_extra.push_str(lines);
        self
    }

    /// Runs the ssh service too (a node named `NAME-node`) with these labels.
    pub fn node(mut self, labels: &[(&str, &str)]) -> Self {
        self.sections.push_str("ssh_service:\n  listen_addr: 127.0.0.1:0\n");
        if !labels.is_empty() {
            self.sections.push_str("  labels:\n");
            for (k, v) in labels {
                self.sections.push_str(&format!("    {k}: {v}\n"));
            }
        }
        self
    }

    /// Keeps the cluster's state in PostgreSQL (`teleport.storage`) instead of the SQLite file in
    /// its data dir.
    pub fn postgresql(mut self, conn_string: &str) -> Self {
        self.storage = format!("  storage:\n    type: postgresql\n    conn_string: \"{conn_string}\"\n");
        self.shared_kek = true;
        self
    }

    /// Extra top-level sections of the config file.
    pub fn section(mut self, yaml: &str) -> Self {
        self.sections.push_str(yaml);
        self
    }

    /// `teleport.connection_limits` lines of the test's own (indented by four spaces) instead
    /// of [`TEST_LIMITS`].
    pub fn limits(mut self, lines: &str) -> Self {
        self.limits = lines.to_string();
        self
    }

    /// An environment variable for the daemon.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// A leaf: `tether start --insecure`, so it accepts its root's self-signed HTTPS
    /// certificate when it establishes trust.
    pub fn leaf(mut self) -> Self {
        self.args.push("--insecure".into());
        self
    }

    /// Writes the config and starts the daemon.
    pub fn start(mut self) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        if self.shared_kek {
            let file = dir.path().join("shared.kek");
            std::fs::write(&file, format!("{TEST_KEK}\n")).expect("write the shared key-encryption key");
            std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("chmod the shared key-encryption key");
            self.auth_extra.push_str(&format!("  ca_key_params:\n    key_file: {}\n", file.display()));
        }
        let config = format!(
            "teleport:\n  nodename: {name}-node\n  data_dir: {data}\n  connection_limits:\n{limits}{storage}auth_service:\n  cluster_name: {name}\n  listen_addr: 127.0.0.1:0\n{auth}proxy_service:\n  web_listen_addr: 127.0.0.1:0\n  listen_addr: 127.0.0.1:0\n  tunnel_listen_addr: 127.0.0.1:0\n{sections}",
            name = self.name,
            data = dir.path().join("data").display(),
            limits = self.limits,
            storage = self.storage,
            auth = self.auth_extra,
            sections = self.sections,
        );
        std::fs::write(dir.path().join("tether.yaml"), config).expect("write config");
        let mut cluster = Cluster {
            dir,
            name: self.name,
            web_addr: String::new(),
            tunnel_addr: String::new(),
            args: self.args,
            env: self.env,
            child: None,
        };
        cluster.launch();
        cluster
    }
}
