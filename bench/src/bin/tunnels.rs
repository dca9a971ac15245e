//! Root-side cost of leaf tunnels: starts a real `tether` root, registers N leaf clusters through
//! the real validate endpoint, and connects N lightweight agents (tasks speaking the tunnel
//! protocol: host-certificate login, the `tether-tunnel@v1` control subsystem, heartbeats at the
//! root's interval). Reports the time to bring all N online, the root's resident memory per idle
//! tunnel, the agents' own memory per tunnel and the root's CPU spent on heartbeats.
//!
//! With `--rotate`, it then walks the root's user CA through every rotation phase and reports,
//! per phase, the time from the move (`POST /webapi/authorities/rotate`) to each leaf's agent
//! reading the root's CAs in that phase on its tunnel (`Control::Authorities`).
//!
//! With `--ls-all M`, every leaf's agent also answers the root's transports to its web API
//! (`@web`): TLS with a certificate from the leaves' TLS CA, the root user's leaf-bound client
//! certificate verified against the root's TLS CA and its binding checked, and `GET
//! /webapi/nodes` answered with M nodes. The bench then times `GET /webapi/nodes/all` (`tsh ls
//! --all`) for a user who may see every leaf: the first call (certificates issued per leaf) and
//! the next ones (certificates reused).
//!
//! Usage: `tunnels --bin target/release --n 10000` (`bench/versus.sh` and `bench/ha.sh` build
//! and run it; `bench/rotation.sh` runs `--n 1000 --rotate`). With `--postgres CONN --roots K`, K root hosts share one PostgreSQL database and
//! every leaf keeps a tunnel to each of them (N × K tunnels); the report adds the database's
//! write rate, which must stay flat per tunnel as hosts are added. The agents share one key and one host CA (each leaf name gets its own host
//! certificate): the root checks each login against the CA stored for that leaf, as for real
//! leaves. The agents do not verify the root's host certificate (they are load, not clients).

use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use russh::keys::{Certificate, PrivateKey};
use tether_client::client::{ApiClient, ServerTrust};
use tether_shared::api::{ValidateTrustedClusterRequest, ValidateTrustedClusterResponse};
use tether_shared::resource::{CaKeys, CaType, CertAuthority, CertAuthoritySpec};
use tether_shared::ssh_cert::{HostIdentity, SshCa};
use tether_shared::tunnel::{Control, SUBSYSTEM, read_line};
use tokio::io::AsyncWriteExt;

struct Args {
    bin: std::path::PathBuf,
    n: usize,
    roots: usize,
    postgres: Option<String>,
    rotate: bool,
    ls_all: Option<usize>,
}

fn args() -> Result<Args> {
    let mut bin = std::path::PathBuf::from("target/release");
    let mut n = 1000;
    let mut roots = 1;
    let mut postgres = None;
    let mut rotate = false;
    let mut ls_all = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bin" => bin = it.next().context("--bin DIR")?.into(),
            "--n" => n = it.next().context("--n N")?.parse()?,
            "--roots" => roots = it.next().context("--roots K")?.parse()?,
            "--postgres" => postgres = Some(it.next().context("--postgres CONN_STRING")?),
            "--rotate" => rotate = true,
            "--ls-all" => ls_all = Some(it.next().context("--ls-all NODES_PER_LEAF")?.parse()?),
            other => bail!("unknown argument {other}"),
        }
    }
    if roots > 1 && postgres.is_none() {
        bail!("several roots share state only through PostgreSQL: add --postgres CONN_STRING");
    }
    Ok(Args { bin, n, roots: roots.max(1), postgres, rotate, ls_all })
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

/// The agent's SSH client side: it trusts any root host key (load, not a client), and with
/// `--ls-all` serves the root's transports to the leaf's web API, each a task it owns.
struct Agent {
    leaf: String,
    web: Option<Arc<tether_bench::leaf_web::LeafWeb>>,
    transports: tokio::task::JoinSet<()>,
}

impl russh::client::Handler for Agent {
    type Error = russh::Error;
    async fn check_server_key(&mut self, _key: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        Ok(true)
    }

    async fn server_channel_open_direct_tcpip(
        &mut self,
        channel: russh::Channel<russh::client::Msg>,
        host_to_connect: &str,
        _port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: russh::client::ChannelOpenHandle,
        _session: &mut russh::client::Session,
    ) -> Result<(), Self::Error> {
        match &self.web {
            Some(web) if host_to_connect == tether_shared::tunnel::WEB_TARGET => {
                reply.accept().await;
                self.transports.spawn(web.clone().serve(self.leaf.clone(), channel));
            }
            _ => reply.reject(russh::ChannelOpenFailure::ConnectFailed).await,
        }
        while self.transports.try_join_next().is_some() {}
        Ok(())
    }
}

/// One leaf's agent: connect, log in, open the control channel, heartbeat; reconnect on loss.
/// The rotation phase the bench waits for, since when, and when each leaf saw it.
#[derive(Default)]
struct PhaseWatch {
    expect: std::sync::Mutex<Option<(String, Instant)>>,
    seen: std::sync::Mutex<Vec<Duration>>,
}

impl PhaseWatch {
    /// Records the root's user CA phase in an `Authorities` line, once per phase per agent.
    fn saw(&self, line: &str, last: &mut String) {
        let Ok(Control::Authorities { cas }) = serde_json::from_str::<Control>(line) else { return };
        let Some(user) = cas.iter().find(|c| c.spec.ca_type == CaType::User) else { return };
        let phase = user.spec.phase().as_str().to_string();
        let expect = self.expect.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some((want, since)) = expect
            && want == phase
            && *last != phase
        {
            *last = phase;
            self.seen.lock().unwrap_or_else(|p| p.into_inner()).push(since.elapsed());
        }
    }
}

async fn agent(
    addr: String,
    leaf: String,
    key: Arc<PrivateKey>,
    cert: Certificate,
    online: Arc<AtomicUsize>,
    phases: Arc<PhaseWatch>,
    web: Option<Arc<tether_bench::leaf_web::LeafWeb>>,
) {
    let mut last = String::new();
    loop {
        let run = async {
            let tcp = tokio::net::TcpStream::connect(&addr).await?;
            let config = russh::client::Config {
                inactivity_timeout: None,
                preferred: tether_shared::ssh_algorithms::client_preferred(),
                ..Default::default()
            };
            let handler = Agent { leaf: leaf.clone(), web: web.clone(), transports: tokio::task::JoinSet::new() };
            let mut handle = russh::client::connect_stream(Arc::new(config), tcp, handler).await?;
            if !handle.authenticate_openssh_cert(&leaf, key.clone(), cert.clone()).await?.success() {
                anyhow::bail!("login refused");
            }
            let channel = handle.channel_open_session().await?;
            channel.request_subsystem(true, SUBSYSTEM).await?;
            let (read, mut write) = tokio::io::split(channel.into_stream());
            let mut read = tokio::io::BufReader::new(read);
            let hello = read_line(&mut read).await?.context("no hello")?;
            let Control::Hello { heartbeat_ms, .. } = serde_json::from_str(&hello)? else {
                anyhow::bail!("the root's first control message is not a hello: {hello}");
            };
            online.fetch_add(1, Ordering::Relaxed);
            let beat = Control::Heartbeat { version: "bench".into() }.line();
            let mut tick = tokio::time::interval(Duration::from_millis(heartbeat_ms));
            let result = loop {
                tokio::select! {
                    _ = tick.tick() => if let Err(e) = write.write_all(beat.as_bytes()).await { break Err(e.into()) },
                    line = read_line(&mut read) => match line {
                        Ok(Some(line)) => phases.saw(&line, &mut last),
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e.into()),
                    },
                }
            };
            online.fetch_sub(1, Ordering::Relaxed);
            drop(handle);
            result
        };
        let _: Result<()> = Box::pin(run).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One root host: its process, data dir and addresses.
struct Root {
    child: std::process::Child,
    dir: std::path::PathBuf,
    web: String,
    tunnel: String,
}

impl Root {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn start_root(args: &Args, dir: &std::path::Path) -> Result<Root> {
    std::fs::create_dir_all(dir)?;
    let storage = args
        .postgres
        .as_ref()
        .map(|conn| format!("  storage:\n    type: postgresql\n    conn_string: \"{conn}\"\n"))
        .unwrap_or_default();
    // Every simulated leaf dials from 127.0.0.1, where real leaves come from addresses of their
    // own: the per-source limits (and the validate endpoint's rate limit) are lifted here.
    let config = format!(
        "teleport:\n  nodename: bench-root\n  data_dir: {d}/data\n{storage}  log:\n    severity: WARN\n  connection_limits:\n    max_unauthenticated_per_source: 100000\n    max_startups: \"50000:30:100000\"\n    max_connections: 100000\n    unauthenticated_rate: 100000\n    unauthenticated_burst: 100000\nauth_service:\n  cluster_name: root.bench\n  listen_addr: 127.0.0.1:0\nproxy_service:\n  web_listen_addr: 127.0.0.1:0\n  listen_addr: 127.0.0.1:0\n  tunnel_listen_addr: 127.0.0.1:0\n",
        d = dir.display()
    );
    std::fs::write(dir.join("tether.yaml"), config)?;
    let mut child = std::process::Command::new(args.bin.join("tether"))
        .args(["start", "-c"])
        .arg(dir.join("tether.yaml"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.join("tether.log"))?)
        .spawn()
        .context("start tether")?;
    let mut out = std::io::BufReader::new(child.stdout.take().context("stdout")?).lines();
    let web = out.next().context("no web line")??.rsplit(' ').next().unwrap_or_default().to_string();
    let tunnel = out.next().context("no tunnel line")??.rsplit(' ').next().unwrap_or_default().to_string();
    std::thread::spawn(move || for _ in out {});
    Ok(Root { child, dir: dir.to_path_buf(), web, tunnel })
}

fn main() -> Result<()> {
    let args = args()?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let base = std::env::temp_dir().join(format!("tether-tunnels-{}", std::process::id()));
    let mut roots = Vec::new();
    let mut result = Ok(());
    for i in 0..args.roots {
        match start_root(&args, &base.join(format!("root-{i}"))) {
            Ok(root) => roots.push(root),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if result.is_ok() {
        result = rt.block_on(measure(&args, &roots));
    }
    for mut root in roots {
        let _ = std::process::Command::new("kill").arg(root.pid().to_string()).status();
        let _ = root.child.wait();
    }
    let _ = std::fs::remove_dir_all(&base);
    result
}

/// The database's write counter: every write takes one revision, so the difference between two
/// probes (less the probe itself) is what the roots wrote in between.
async fn revision_probe(backend: &Option<Arc<dyn tether_storage::Backend>>) -> Result<Option<u64>> {
    match backend {
        Some(b) => Ok(Some(b.put("/bench/probe", Vec::new(), None).await?)),
        None => Ok(None),
    }
}

async fn measure(args: &Args, roots: &[Root]) -> Result<()> {
    let n = args.n;
    let k = roots.len();
    let first = roots.first().context("no root")?;
    let (dir, web) = (first.dir.as_path(), first.web.as_str());
    let db: Option<Arc<dyn tether_storage::Backend>> = match &args.postgres {
        Some(conn) => Some(tether_storage::postgres::PostgresBackend::open(conn).await?),
        None => None,
    };
    let tctl = |a: &[&str]| {
        std::process::Command::new(args.bin.join("tctl")).arg("--data-dir").arg(dir.join("data")).args(a).output()
    };
    let out = tctl(&["tokens", "add", "--type=trusted_cluster", "--ttl=1h"])?;
    let text = String::from_utf8_lossy(&out.stdout);
    let token =
        text.lines().find_map(|l| l.split_once("token: ").map(|(_, t)| t.trim().to_string())).context("token")?;

    // One set of CAs for every fake leaf; each leaf name gets its own host certificate.
    let user_ca = SshCa::generate()?;
    let host_ca = SshCa::generate()?;
    let tls_ca = tether_shared::tls_cert::TlsCa::generate("bench-leaves")?;
    let key = Arc::new(tether_shared::ssh_cert::generate_ed25519_key()?);
    let ca = |leaf: &str, ca_type, keys| {
        CertAuthority::new(
            leaf,
            CertAuthoritySpec { ca_type, cluster_name: leaf.to_string(), active_keys: keys, ..Default::default() },
        )
    };
    let client = ApiClient::new(web, &ServerTrust::Insecure, None)?;
    let started = Instant::now();
    let names: Vec<String> = (0..n).map(|i| format!("leaf-{i:05}.leaves.bench")).collect();
    let slots = Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = tokio::task::JoinSet::new();
    for leaf in names.clone() {
        let req = ValidateTrustedClusterRequest {
            token: token.clone(),
            leaf_cluster: leaf.clone(),
            cas: vec![
                ca(&leaf, CaType::User, CaKeys { ssh: vec![user_ca.public_key_openssh()?], tls: vec![] }),
                ca(&leaf, CaType::Host, CaKeys { ssh: vec![host_ca.public_key_openssh()?], tls: vec![] }),
                ca(&leaf, CaType::Tls, CaKeys { ssh: vec![], tls: vec![tls_ca.cert_pem()] }),
            ],
        };
        let (client, slots) = (client.clone(), slots.clone());
        tasks.spawn(async move {
            let _permit = slots.acquire_owned().await;
            client.post::<_, ValidateTrustedClusterResponse>("/webapi/trustedclusters/validate", &req).await
        });
    }
    let mut root_tls = None;
    while let Some(r) = tasks.join_next().await {
        let answer = r??;
        if root_tls.is_none() {
            root_tls = answer
                .cas
                .iter()
                .find(|c| c.spec.ca_type == CaType::Tls)
                .and_then(|c| c.spec.active_keys.tls.first().cloned());
        }
    }
    let leaf_web = match args.ls_all {
        Some(nodes) => Some(Arc::new(tether_bench::leaf_web::LeafWeb::new(
            &tls_ca,
            &root_tls.context("the root sent no TLS CA")?,
            nodes,
        )?)),
        None => None,
    };
    let registered = started.elapsed();
    eprintln!("registered {n} leaves in {registered:.1?}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_before: Vec<u64> = roots.iter().map(|r| rss_kib(r.pid())).collect();
    let self_before = rss_kib(std::process::id());

    let now = time::OffsetDateTime::now_utc();
    let online = Arc::new(AtomicUsize::new(0));
    let phases = Arc::new(PhaseWatch::default());
    let started = Instant::now();
    let mut agents = tokio::task::JoinSet::new();
    for (i, leaf) in names.iter().enumerate() {
        let host = HostIdentity {
            host_id: format!("@proxy.{leaf}"),
            principals: vec![leaf.clone()],
            cluster: leaf.clone(),
            valid_after: now - time::Duration::minutes(1),
            valid_before: now + time::Duration::hours(2),
        };
        let cert = host_ca.issue_host_cert(key.public_key(), &host, i as u64 + 1)?;
        for root in roots {
            agents.spawn(agent(
                root.tunnel.clone(),
                leaf.clone(),
                key.clone(),
                cert.clone(),
                online.clone(),
                phases.clone(),
                leaf_web.clone(),
            ));
        }
    }
    let tunnels = n * k;
    while online.load(Ordering::Relaxed) < tunnels {
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {} of {tunnels} tunnels online after 10 minutes", online.load(Ordering::Relaxed));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_online = started.elapsed();
    eprintln!("{tunnels} tunnels online in {all_online:.2?}");

    // Idle: let heartbeats and status writes settle, then measure memory, CPU and writes.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss_after: Vec<u64> = roots.iter().map(|r| rss_kib(r.pid())).collect();
    let self_after = rss_kib(std::process::id());
    let window = Duration::from_secs(20);
    let c0: Vec<u64> = roots.iter().map(|r| cpu_ticks(r.pid())).collect();
    let (t0, r0) = (Instant::now(), revision_probe(&db).await?);
    tokio::time::sleep(window).await;
    let r1 = revision_probe(&db).await?;
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu: Vec<f64> =
        roots.iter().zip(&c0).map(|(r, c)| (cpu_ticks(r.pid()) - c) as f64 / 100.0 / elapsed * 100.0).collect();
    let writes = r0.zip(r1).map(|(a, b)| b.saturating_sub(a).saturating_sub(1) as f64 / elapsed);
    let still = online.load(Ordering::Relaxed);

    // The first root's own view: remote clusters online.
    let creds = tether_client::credentials::Credentials::load(&dir.join("data/admin-identity.json"))?;
    let admin = ApiClient::new(web, &ServerTrust::Insecure, Some(&creds.client_identity()?))?;
    let rcs: Vec<tether_shared::resource::Resource> = admin.get("/webapi/resources/remote_cluster").await?;
    let root_online = rcs
        .iter()
        .filter(|r| matches!(r, tether_shared::resource::Resource::RemoteCluster(rc) if rc.status.as_ref().is_some_and(|s| s.connection == tether_shared::resource::Connection::Online)))
        .count();
    let rotation = if args.rotate { rotate_phases(&admin, &phases, tunnels).await? } else { Vec::new() };
    let listed = match args.ls_all {
        Some(_) => Some(ls_all(&tctl, dir, web).await?),
        None => None,
    };
    agents.shutdown().await;

    let per_root: Vec<f64> =
        rss_before.iter().zip(&rss_after).map(|(b, a)| a.saturating_sub(*b) as f64 / n as f64).collect();
    let per_tunnel = per_root.iter().sum::<f64>() / k as f64;
    let agent_per = (self_after.saturating_sub(self_before)) as f64 / tunnels as f64;
    let storage = if args.postgres.is_some() { "PostgreSQL" } else { "SQLite" };
    println!("| leaves (N), root hosts (K), storage | {n}, {k}, {storage} |");
    println!("|---|---|");
    println!("| register N leaves through `/webapi/trustedclusters/validate` | {:.1} s |", registered.as_secs_f64());
    println!(
        "| bring N × K tunnels online (connect, host-cert login, control channel) | {:.2} s |",
        all_online.as_secs_f64()
    );
    for (i, (b, a)) in rss_before.iter().zip(&rss_after).enumerate() {
        println!("| root {i} RSS before tunnels / with N idle tunnels | {} MiB / {} MiB |", b / 1024, a / 1024);
    }
    println!("| **root memory per idle tunnel** | **{per_tunnel:.1} KiB** |");
    println!("| agent-side memory per tunnel (bench process) | {agent_per:.1} KiB |");
    let cpu_text: Vec<String> = cpu.iter().map(|c| format!("{c:.1} %")).collect();
    println!("| each root's CPU for heartbeats and status writes (of one core) | {} |", cpu_text.join(" / "));
    if let Some(w) = writes {
        println!("| database writes, all roots, idle | {w:.2}/s ({:.5}/s per tunnel) |", w / tunnels as f64);
    }
    println!(
        "| tunnels still up after {}s idle (agents / root's `remote_cluster` status online) | {still} / {root_online} |",
        10 + window.as_secs()
    );
    if let Some((cold, warm, leaves, nodes)) = listed {
        println!(
            "| `GET /webapi/nodes/all` (`tsh ls --all`): {leaves} leaves answered, {nodes} nodes | first call (a certificate per leaf) **{:.0} ms**, next calls (certificates reused) median **{:.0} ms** |",
            cold.as_secs_f64() * 1000.0,
            warm.as_secs_f64() * 1000.0
        );
    }
    for (phase, p50, p99, max, reached) in rotation {
        println!(
            "| user CA rotation: `{phase}` from the move to every leaf's tunnel ({reached}/{tunnels}): p50 / p99 / max | {:.0} ms / **{:.0} ms** / {:.0} ms |",
            p50.as_secs_f64() * 1000.0,
            p99.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

/// `GET /webapi/nodes/all` as a user who may see every leaf: (first call, median of the next
/// five, leaves that answered online, nodes listed in the leaves).
async fn ls_all(
    tctl: &dyn Fn(&[&str]) -> std::io::Result<std::process::Output>,
    dir: &std::path::Path,
    web: &str,
) -> Result<(Duration, Duration, usize, usize)> {
    let out = tctl(&["users", "add", "benchuser", "--roles=access", "--logins=bench"])?;
    anyhow::ensure!(out.status.success(), "tctl users add: {}", String::from_utf8_lossy(&out.stderr));
    let file = dir.join("benchuser.identity");
    let out = tctl(&["auth", "sign", "--user=benchuser", "--ttl=1h", &format!("--out={}", file.display())])?;
    anyhow::ensure!(out.status.success(), "tctl auth sign: {}", String::from_utf8_lossy(&out.stderr));
    let creds = tether_client::credentials::Credentials::load(&file)?;
    let user = ApiClient::new(web, &ServerTrust::Insecure, Some(&creds.client_identity()?))?;
    let mut times = Vec::new();
    let mut last = (0, 0);
    for _ in 0..6 {
        let t = Instant::now();
        let all: Vec<tether_shared::api::ClusterNodes> = user.get("/webapi/nodes/all").await?;
        times.push(t.elapsed());
        let leaves: Vec<_> = all.iter().skip(1).collect();
        last = (leaves.iter().filter(|c| c.status == "online").count(), leaves.iter().map(|c| c.nodes.len()).sum());
        if let Some(bad) = leaves.iter().find(|c| c.status != "online") {
            eprintln!("ls --all: {} is {}: {:?}", bad.cluster, bad.status, bad.error);
        }
    }
    let cold = times.first().copied().unwrap_or_default();
    let mut warm: Vec<Duration> = times.into_iter().skip(1).collect();
    warm.sort();
    Ok((cold, warm.get(warm.len() / 2).copied().unwrap_or_default(), last.0, last.1))
}

/// Walks the root's user CA through every phase; per phase, when each tunnel's agent read the
/// root's CAs in it: (phase, p50, p99, max, tunnels reached).
async fn rotate_phases(
    admin: &ApiClient,
    phases: &PhaseWatch,
    tunnels: usize,
) -> Result<Vec<(String, Duration, Duration, Duration, usize)>> {
    let mut out = Vec::new();
    for phase in ["init", "update_clients", "update_servers", "standby"] {
        phases.seen.lock().unwrap_or_else(|p| p.into_inner()).clear();
        *phases.expect.lock().unwrap_or_else(|p| p.into_inner()) = Some((phase.to_string(), Instant::now()));
        let req = tether_shared::api::RotateRequest {
            ca_type: Some(CaType::User),
            mode: tether_shared::resource::RotationMode::Manual,
            phase: Some(phase.parse().map_err(|e: String| anyhow::anyhow!(e))?),
            grace_period: None,
        };
        let _: Vec<tether_shared::resource::Resource> = admin.post("/webapi/authorities/rotate", &req).await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while phases.seen.lock().unwrap_or_else(|p| p.into_inner()).len() < tunnels && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut seen = phases.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        seen.sort();
        let at =
            |q: f64| seen.get(((seen.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or_default();
        out.push((phase.to_string(), at(0.5), at(0.99), seen.last().copied().unwrap_or_default(), seen.len()));
        eprintln!("{phase}: {} of {tunnels} tunnels, p99 {:.0?}", seen.len(), at(0.99));
        // The next move waits for the automatic renewals of this one to settle.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Ok(out)
}
