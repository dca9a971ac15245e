//! A throwaway PostgreSQL server for tests, started once per test process by [`server`].
//!
//! It runs Debian's binaries (`/usr/lib/postgresql/*/bin`, the highest version; or the directory in
//! `TETHER_POSTGRES_BIN`) from a fresh `initdb` in a temporary directory, as the `postgres` user when
//! the tests run as root (initdb refuses root). It listens on 127.0.0.1 only, on a free port, with
//! its Unix socket in the temporary directory; TLS is on with a certificate for `localhost` from a
//! test CA ([`Postgres::ca_file`]); TCP logins use SCRAM passwords, except the role
//! [`CERT_USER`], which logs in with a client certificate ([`Postgres::client_cert`]).
//!
//! The server runs under a small `sh` watchdog that stops it (fast shutdown) and deletes the
//! directory once the test process is gone, however that process ends (a panic, a kill), since a
//! test process cannot run code at exit. Durability settings are off (`fsync`, `full_page_writes`):
//! the server is thrown away, and that keeps the tests fast.
//!
//! When PostgreSQL is not installed, [`server`] panics with a message saying to install it: the
//! tests that need it fail rather than skip.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The role that logs in with a client certificate (its certificate's common name).
pub const CERT_USER: &str = "tether_cert";

/// The superuser of the throwaway server.
pub const SUPERUSER: &str = "postgres";

/// A running throwaway server.
#[derive(Debug)]
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    password: String,
    next_db: AtomicUsize,
    /// The watchdog (kept so that it is not reaped; it ends on its own).
    _watchdog: Mutex<Child>,
}

/// The server of this test process, started on first use. Panics (failing the test) when
/// PostgreSQL is not installed or does not start.
#[allow(clippy::panic, reason = "a test helper: failing the test is the point")]
pub fn server() -> &'static Postgres {
    static SERVER: OnceLock<Result<Postgres, String>> = OnceLock::new();
    match SERVER.get_or_init(start) {
        Ok(server) => server,
        Err(e) => panic!("{e}"),
    }
}

impl Postgres {
    /// The TCP port (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The test CA that signed the server's certificate (PEM), for `sslrootcert`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The client certificate and key (PEM) of [`CERT_USER`], for `sslcert` and `sslkey`.
    pub fn client_cert(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("client.crt"), self.dir.join("client.key"))
    }

    /// Restarts the server (a fast shutdown: sessions are cut, committed work stays) and waits
    /// until it accepts connections again. Every test of this process shares the server: only a
    /// test alone in its test binary may call this.
    #[allow(clippy::panic, reason = "a test helper: failing the test is the point")]
    pub fn restart(&self) {
        write(&self.dir.join("restart"), "").unwrap_or_else(|e| panic!("{e}"));
        let pid = std::fs::read_to_string(self.dir.join("data/postmaster.pid")).unwrap_or_default();
        let pid = pid.lines().next().unwrap_or_default().trim().to_string();
        let killed = Command::new("kill").args(["-INT", &pid]).status().is_ok_and(|s| s.success());
        assert!(killed, "cannot stop postgres (pid {pid:?})");
        // Down first, then up again.
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.dir.join("restart").exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        while !self.ready() {
            assert!(Instant::now() < deadline, "postgres did not come back within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ready(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .arg("-h")
            .arg(self.dir.join("sock"))
            .args(["-p", &self.port.to_string(), "-q"])
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Creates a new, empty database owned by `owner` and returns its name.
    pub fn database_owned_by(&self, owner: &str) -> String {
        let name = format!("t{}", self.next_db.fetch_add(1, Ordering::SeqCst));
        self.psql("postgres", &format!("CREATE DATABASE {name} OWNER {owner}"));
        name
    }

    /// Creates a new, empty database (owned by the superuser) and returns its name.
    pub fn fresh_database(&self) -> String {
        self.database_owned_by(SUPERUSER)
    }

    /// A connection string for `db` as the superuser, over TCP without TLS (loopback).
    pub fn conn_string(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}:{}@127.0.0.1:{}/{db}?sslmode=disable", self.password, self.port)
    }

    /// A connection string for `db` as the superuser, over TLS with the server's name verified.
    pub fn tls_conn_string(&self, db: &str) -> String {
        format!(
            "postgres://{SUPERUSER}:{}@localhost:{}/{db}?sslmode=verify-full&sslrootcert={}",
            self.password,
            self.port,
            self.ca_file().display()
        )
    }

    /// Runs SQL through `psql` on the Unix socket as the superuser; returns its unaligned output.
    /// Panics when psql fails.
    #[allow(clippy::panic, reason = "a test helper: failing the test is the point")]
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", SUPERUSER, "-d", db, "-h"])
            .arg(self.dir.join("sock"))
            .args(["-p", &self.port.to_string(), "-c", sql])
            .output()
            .unwrap_or_else(|e| panic!("cannot run psql: {e}"));
        assert!(out.status.success(), "psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Postgres {
    /// Everything in `db` as `pg_dump` writes it (plain SQL; `bytea` values in hex).
    #[allow(clippy::panic, reason = "a test helper: failing the test is the point")]
    pub fn dump(&self, db: &str) -> Vec<u8> {
        let out = Command::new(self.bin.join("pg_dump"))
            .args(["-U", SUPERUSER, "-h"])
            .arg(self.dir.join("sock"))
            .args(["-p", &self.port.to_string(), db])
            .output()
            .unwrap_or_else(|e| panic!("cannot run pg_dump: {e}"));
        assert!(out.status.success(), "pg_dump failed: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }
}

/// Where the PostgreSQL binaries are, or why the tests cannot run.
fn find_bin() -> Result<PathBuf, String> {
    const INSTALL: &str = "the storage tests start a throwaway server; install the `postgresql` package \
                           (`apt-get install postgresql`, as .ci/run does)";
    if let Some(dir) = std::env::var_os("TETHER_POSTGRES_BIN") {
        let dir = PathBuf::from(dir);
        if !dir.join("postgres").is_file() {
            return Err(format!("PostgreSQL is not installed (no postgres in {}): {INSTALL}", dir.display()));
        }
        return Ok(dir);
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("postgres").is_file() && bin.join("initdb").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| format!("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): {INSTALL}"))
}

fn command_output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("cannot run {program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// `initdb` and start the server under its watchdog.
fn start() -> Result<Postgres, String> {
    let bin = find_bin()?;
    let as_root = command_output("id", &["-u"])? == "0";
    let dir = tempfile::Builder::new()
        .prefix("tether-pg-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?
        .keep();
    std::fs::create_dir(dir.join("sock")).map_err(|e| format!("{}: {e}", dir.display()))?;
    let password = format!(
        "pw{}x{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos())
    );
    write(&dir.join("pwfile"), &password)?;
    write_certs(&dir)?;
    if as_root {
        command_output("chown", &["-R", &format!("{SUPERUSER}:"), &dir.to_string_lossy()])?;
    }
    let run_as = |program: &Path| {
        let mut command = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", SUPERUSER, "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command.stdin(Stdio::null());
        command
    };

    let data = dir.join("data");
    let out = run_as(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-U", SUPERUSER, "-E", "UTF8", "--no-locale", "--no-sync", "--auth-local=trust"])
        .args(["--auth-host=scram-sha-256", "--pwfile"])
        .arg(dir.join("pwfile"))
        .output()
        .map_err(|e| format!("cannot run initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let hba = format!(
        "local all all trust\n\
         hostssl all {CERT_USER} 127.0.0.1/32 cert\n\
         host all all 127.0.0.1/32 scram-sha-256\n"
    );
    write(&data.join("pg_hba.conf"), &hba)?;
    if as_root {
        command_output("chown", &[&format!("{SUPERUSER}:"), &data.join("pg_hba.conf").to_string_lossy()])?;
    }

    let port = free_port()?;
    // $1 parent pid, $2 bin, $3 data, $4 port, $5 dir. Stops the server and removes the directory
    // once the parent is gone (or the server died), and starts it again when `Postgres::restart`
    // asked for it (the file `$5/restart`).
    let script = r#"
        while :; do
            "$2/postgres" -D "$3" -p "$4" -k "$5/sock" -c listen_addresses=127.0.0.1 \
                -c fsync=off -c full_page_writes=off -c max_connections=400 \
                -c ssl=on -c ssl_cert_file="$5/server.crt" -c ssl_key_file="$5/server.key" \
                -c ssl_ca_file="$5/ca.crt" >>"$5/server.log" 2>&1 &
            pg=$!
            while [ -d "/proc/$1" ] && kill -0 "$pg" 2>/dev/null; do sleep 0.1; done
            if [ -d "/proc/$1" ] && [ -e "$5/restart" ]; then
                wait "$pg"
                rm -f "$5/restart"
                continue
            fi
            break
        done
        kill -INT "$pg" 2>/dev/null
        wait "$pg"
        rm -rf "$5"
    "#;
    let watchdog = run_as(Path::new("/bin/sh"))
        .args(["-c", script, "sh", &std::process::id().to_string()])
        .arg(&bin)
        .arg(&data)
        .arg(port.to_string())
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start postgres: {e}"))?;
    let server = Postgres { bin, dir, port, password, next_db: AtomicUsize::new(0), _watchdog: Mutex::new(watchdog) };

    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if server.ready() {
            break;
        }
        let log = std::fs::read_to_string(server.dir.join("server.log")).unwrap_or_default();
        if Instant::now() > deadline || !server.dir.exists() {
            return Err(format!("PostgreSQL did not start on port {port}: {log}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    server.psql("postgres", &format!("CREATE ROLE {CERT_USER} LOGIN"));
    Ok(server)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// A test CA, the server's certificate (localhost, 127.0.0.1) and [`CERT_USER`]'s client
/// certificate, as PEM files in `dir`.
fn write_certs(dir: &Path) -> Result<(), String> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let err = |e: rcgen::Error| format!("making test certificates: {e}");
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "tether test PostgreSQL CA");
    let ca_cert = ca_params.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(err)?;
    let mut server_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).map_err(err)?;
    server_params.distinguished_name.push(DnType::CommonName, "localhost");
    let server_cert = server_params.signed_by(&server_key, &issuer).map_err(err)?;

    let client_key = KeyPair::generate().map_err(err)?;
    let mut client_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    client_params.distinguished_name.push(DnType::CommonName, CERT_USER);
    let client_cert = client_params.signed_by(&client_key, &issuer).map_err(err)?;

    write(&dir.join("ca.crt"), &ca_cert.pem())?;
    write(&dir.join("server.crt"), &server_cert.pem())?;
    write(&dir.join("server.key"), &server_key.serialize_pem())?;
    write(&dir.join("client.crt"), &client_cert.pem())?;
    write(&dir.join("client.key"), &client_key.serialize_pem())?;
    Ok(())
}

/// A port free on 127.0.0.1 now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}
