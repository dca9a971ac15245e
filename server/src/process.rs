//! Starting and stopping the daemon's services: reads the configuration, opens storage, starts
//! auth and the proxy's web API, writes the local admin identity, and on SIGINT/SIGTERM stops
//! every task it started and closes storage before returning.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use tether_shared::api::{PingAuth, PingProxy, PingProxySsh, PingResponse};
use tokio::sync::watch;

use crate::audit::Audit;
use crate::auth::AuthService;
use crate::config::{self, Config, StorageConfig};
use crate::listen::{Listener, reachable};
use crate::node::identity::JoinVia;
use crate::node::service::{NodeService, NodeSettings};
use crate::storage::Backend;
use crate::storage::postgres::PostgresBackend;
use crate::storage::sqlite::SqliteBackend;
use crate::web::{self, WebState};

/// Runs `tether start` to completion.
pub fn start(config: Option<PathBuf>, data_dir: Option<PathBuf>, debug: bool, insecure: bool) -> anyhow::Result<()> {
    let cfg = match &config {
        Some(path) => config::load(path)?,
        None => Config::default_all_in_one(data_dir.clone()),
    }
    .with_overrides(data_dir, debug, insecure);
    init_logging(&cfg)?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(run(cfg))
}

/// Logs go to `teleport.log.output` (stderr, stdout or a file) at `log.severity`; `RUST_LOG`
/// overrides the level. Colours only on a terminal.
fn init_logging(cfg: &Config) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(cfg.log.severity.as_filter()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match &cfg.log.output {
        config::LogOutput::Stderr => {
            builder.with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr).try_init()
        }
        config::LogOutput::Stdout => {
            builder.with_ansi(std::io::stdout().is_terminal()).with_writer(std::io::stdout).try_init()
        }
        config::LogOutput::File(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            builder.with_ansi(false).with_writer(std::sync::Mutex::new(file)).try_init()
        }
    };
    Ok(())
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("cannot install signal handlers; stop with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
    }
}

async fn run(cfg: Config) -> anyhow::Result<()> {
    let (Some(auth_cfg), Some(proxy_cfg)) = (&cfg.auth, &cfg.proxy) else {
        if cfg.ssh.is_some() && cfg.auth.is_none() && cfg.proxy.is_none() {
            return run_node_only(&cfg).await;
        }
        bail!(
            "run auth_service and proxy_service together (with or without ssh_service), or ssh_service alone with teleport.proxy_server or auth_server"
        );
    };
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let backend: Arc<dyn Backend> = match &cfg.storage {
        StorageConfig::Sqlite { path } => {
            SqliteBackend::open(path).await.with_context(|| format!("cannot open storage {}", path.display()))?
        }
        // The error is one line naming the server and the cause (`cannot connect to PostgreSQL at
        // db.example.com:5432: connection refused`).
        StorageConfig::Postgres { conn_string } => {
            PostgresBackend::open(conn_string).await.map_err(|e| anyhow::anyhow!("storage: {}", e.detail()))?
        }
    };
    let cluster = auth_cfg.cluster_name.clone();
    let audit = Arc::new(
        Audit::open_with(&cfg.data_dir.join("log"), &cluster, cfg.audit.clone())
            .context("cannot open the audit log in data_dir/log")?,
    );
    let require_otp = matches!(auth_cfg.second_factor, config::SecondFactor::Otp);
    let auth = AuthService::init(backend.clone(), &cluster, audit.clone(), require_otp)
        .await
        .map_err(|e| anyhow::anyhow!("auth: {e}"))?;
    auth.set_insecure(cfg.insecure);
    auth.set_leaf_cert_ttl(auth_cfg.leaf_cert_ttl);

    for token in &auth_cfg.tokens {
        let token_type = match token.kind {
            config::TokenKind::Node => tether_shared::resource::TokenType::Node,
            config::TokenKind::TrustedCluster => tether_shared::resource::TokenType::TrustedCluster,
        };
        auth.store_token(&token.token, token_type, Default::default(), None)
            .await
            .map_err(|e| anyhow::anyhow!("static token: {e}"))?;
    }

    let web_listener = crate::listen::bind(proxy_cfg.web_listen_addr)
        .await
        .with_context(|| format!("cannot listen on web_listen_addr {}", proxy_cfg.web_listen_addr))?;
    let web_addr = reachable(web_listener.local_addr()?);
    // The auth API: the same routes on auth_service.listen_addr, for tctl --auth-server and nodes.
    let auth_listener = crate::listen::bind(auth_cfg.listen_addr)
        .await
        .with_context(|| format!("cannot listen on auth_service.listen_addr {}", auth_cfg.listen_addr))?;
    let auth_addr = reachable(auth_listener.local_addr()?);
    let ssh_listener = crate::listen::bind(proxy_cfg.listen_addr)
        .await
        .with_context(|| format!("cannot listen on proxy_service.listen_addr {}", proxy_cfg.listen_addr))?;
    let ssh_addr = reachable(ssh_listener.local_addr()?);
    let tunnel_listener = crate::listen::bind(proxy_cfg.tunnel_listen_addr).await.with_context(|| {
        format!("cannot listen on proxy_service.tunnel_listen_addr {}", proxy_cfg.tunnel_listen_addr)
    })?;
    let tunnel_addr = reachable(tunnel_listener.local_addr()?);
    let public_addr = proxy_cfg.public_addr.first().cloned().unwrap_or_else(|| web_addr.to_string());
    let host = public_addr.rsplit_once(':').map_or(public_addr.as_str(), |(h, _)| h).to_string();
    let tunnel_public =
        proxy_cfg.tunnel_public_addr.first().cloned().unwrap_or_else(|| format!("{host}:{}", tunnel_addr.port()));

    // The HTTPS certificate: the operator's key pair, or one from the cluster's TLS CA.
    let (chain, key) = match proxy_cfg.https_keypairs.first() {
        Some(pair) => load_keypair(&pair.cert_file, &pair.key_file)?,
        None => {
            // The cluster's name too: users of a root reach this API through the tunnel by it.
            let mut names = vec!["localhost".to_string(), cfg.nodename.clone(), cluster.clone()];
            let mut ips: Vec<IpAddr> = vec![[127, 0, 0, 1].into(), IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])];
            for addr in proxy_cfg.public_addr.iter().chain(&proxy_cfg.ssh_public_addr) {
                let h = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h).trim_matches(['[', ']']);
                match h.parse::<IpAddr>() {
                    Ok(ip) => ips.push(ip),
                    Err(_) => names.push(h.to_string()),
                }
            }
            for ip in [web_addr.ip(), auth_addr.ip()] {
                if !ip.is_loopback() && !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
            let now = time::OffsetDateTime::now_utc();
            let cert = auth
                .tls_ca()
                .issue_server_cert(&names, &ips, now - time::Duration::minutes(5), now + time::Duration::days(365))
                .map_err(|e| anyhow::anyhow!("cannot issue the HTTPS certificate: {e}"))?;
            (vec![cert.cert_der], cert.key_der.into())
        }
    };
    let tls = web::tls_config(chain, key).map_err(|e| anyhow::anyhow!(e))?;
    let ping = PingResponse {
        cluster_name: cluster.clone(),
        server_version: tether_shared::VERSION.to_string(),
        auth: PingAuth { auth_type: "local".into(), second_factor: auth_cfg.second_factor.as_str().into() },
        proxy: PingProxy {
            ssh: PingProxySsh {
                listen_addr: ssh_addr.to_string(),
                ssh_public_addr: proxy_cfg.ssh_public_addr.first().cloned().unwrap_or_else(|| ssh_addr.to_string()),
                public_addr: public_addr.clone(),
                ssh_tunnel_public_addr: tunnel_public,
                tunnel_listen_addr: tunnel_addr.to_string(),
            },
            tls_routing_enabled: false,
        },
    };
    let admin_path = cfg.data_dir.join("admin-identity.json");
    auth.write_admin_identity(&admin_path, &web_addr.to_string())
        .await
        .map_err(|e| anyhow::anyhow!("cannot write the admin identity: {e}"))?;

    let (stop_tx, stop_rx) = watch::channel(false);
    // This proxy's tunnels from leaf clusters, and its status record.
    let proxy_id = format!("{}-{}", cfg.nodename, crate::random_hex());
    let registry = crate::tunnel::registry::Registry::new(
        proxy_id,
        tunnel_addr.to_string(),
        auth_cfg.keep_alive_interval,
        auth_cfg.offline_window(),
    );
    let state = Arc::new(WebState {
        auth: auth.clone(),
        ping,
        tunnels: registry.clone(),
        offline_window: auth_cfg.offline_window(),
        limits: cfg.limits.clone(),
        unauthenticated_rate: web::ratelimit::RateLimiter::new(
            cfg.limits.unauthenticated_rate,
            cfg.limits.unauthenticated_burst,
        ),
    });
    // The SSH relay presents a host certificate for every name users may dial it by.
    let relay_key = tether_shared::ssh_cert::generate_ed25519_key()?;
    let mut relay_names = vec![cfg.nodename.clone(), "localhost".to_string(), cluster.clone()];
    relay_names.push(ssh_addr.ip().to_string());
    for addr in proxy_cfg.public_addr.iter().chain(&proxy_cfg.ssh_public_addr) {
        let h = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h).trim_matches(['[', ']']).to_string();
        if !relay_names.contains(&h) {
            relay_names.push(h);
        }
    }
    let relay_cert = auth
        .proxy_host_cert(relay_key.public_key(), relay_names)
        .map_err(|e| anyhow::anyhow!("cannot issue the proxy's host certificate: {e}"))?;
    let ssh_limits = cfg.limits.listener.clone();
    let web_limits = cfg.limits.web_listener();
    let listener = |tcp, name| Listener::new(tcp, name, ssh_limits.clone());
    let relay_config = Arc::new(crate::ssh_config::server_config(relay_key.clone(), relay_cert.clone(), &cfg.limits));
    let relay_task = tokio::spawn(crate::proxy::relay::serve(
        listener(ssh_listener, "proxy ssh"),
        relay_config,
        auth.clone(),
        registry.clone(),
        stop_rx.clone(),
    ));
    let tunnel_config = Arc::new(crate::ssh_config::server_config(relay_key, relay_cert, &cfg.limits));
    let tunnel_task = tokio::spawn(crate::tunnel::server::serve(
        listener(tunnel_listener, "tunnel"),
        tunnel_config,
        auth.clone(),
        registry.clone(),
        stop_rx.clone(),
    ));
    let flusher_task = tokio::spawn(registry.clone().run_flusher(auth.clone(), stop_rx.clone()));
    let agents_task = tokio::spawn(crate::tunnel::agent::run(
        auth.clone(),
        web_addr.to_string(),
        cfg.limits.tunnel_recycle_after,
        stop_rx.clone(),
    ));
    let auth_task = tokio::spawn(web::serve(
        Listener::new(auth_listener, "auth api", web_limits.clone()),
        tls.clone(),
        state.clone(),
        stop_rx.clone(),
    ));
    let web_task =
        tokio::spawn(web::serve(Listener::new(web_listener, "web", web_limits), tls, state, stop_rx.clone()));
    tracing::info!(%web_addr, %auth_addr, %ssh_addr, %tunnel_addr, "web proxy, auth API, SSH proxy and tunnel listening");

    let node = match &cfg.ssh {
        Some(ssh_cfg) => Some(
            NodeService::start(
                NodeSettings {
                    data_dir: &cfg.data_dir,
                    node_name: &cfg.nodename,
                    hostname: &config::hostname(),
                    api_addr: &web_addr.to_string(),
                    join: JoinVia::Local(&auth),
                    listen_addr: ssh_cfg.listen_addr,
                    labels: ssh_cfg.labels.clone().into_iter().collect(),
                    limits: &cfg.limits,
                    audit: &cfg.audit,
                },
                stop_rx.clone(),
            )
            .await?,
        ),
        None => None,
    };
    if let Some(node) = &node {
        tracing::info!(ssh_node_addr = %node.addr, "ssh service listening");
    }

    // Machine-readable first line for scripts and tests, then the human guide.
    println!("tether: web proxy listening on {web_addr}");
    println!("tether: reverse tunnel listening on {tunnel_addr}");
    println!(
        "Cluster {cluster:?} is running. Data in {}.\n\
         Next: tctl --data-dir {} users add alice --roles=access,editor --logins=$USER\n\
         then:  tsh login --proxy={web_addr} --user=alice --insecure   (the HTTPS certificate is self-signed)",
        cfg.data_dir.display(),
        cfg.data_dir.display()
    );

    shutdown_signal().await;
    let _ = stop_tx.send(true);
    if let Some(node) = node {
        node.wait().await;
    }
    for (name, task) in [
        ("web", web_task),
        ("auth", auth_task),
        ("proxy ssh", relay_task),
        ("tunnel", tunnel_task),
        ("tunnel status", flusher_task),
        ("tunnel agents", agents_task),
    ] {
        if let Err(e) = task.await {
            tracing::error!("{name} task failed: {e}");
        }
    }
    // Every event the services emitted is on disk before the process ends.
    audit.close();
    backend.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// A host running only the ssh service: it joins a remote cluster (or loads its identity).
async fn run_node_only(cfg: &Config) -> anyhow::Result<()> {
    let Some(ssh_cfg) = &cfg.ssh else { bail!("ssh_service is not enabled") };
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let api = cfg
        .proxy_server
        .clone()
        .or_else(|| cfg.auth_server.clone())
        .context("set teleport.proxy_server (or auth_server) to the cluster's address")?;
    let token = cfg.auth_token.clone().unwrap_or_default();
    let (stop_tx, stop_rx) = watch::channel(false);
    let node = NodeService::start(
        NodeSettings {
            data_dir: &cfg.data_dir,
            node_name: &cfg.nodename,
            hostname: &config::hostname(),
            api_addr: &api,
            join: JoinVia::Remote { addr: &api, token: &token, insecure: cfg.insecure },
            listen_addr: ssh_cfg.listen_addr,
            labels: ssh_cfg.labels.clone().into_iter().collect(),
            limits: &cfg.limits,
            audit: &cfg.audit,
        },
        stop_rx,
    )
    .await?;
    println!("tether: ssh service listening on {}", node.addr);
    println!("Node {:?} joined the cluster through {api}.", cfg.nodename);
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    node.wait().await;
    tracing::info!("stopped");
    Ok(())
}

fn load_keypair(
    cert_file: &std::path::Path,
    key_file: &std::path::Path,
) -> anyhow::Result<(Vec<rustls_pki_types::CertificateDer<'static>>, rustls_pki_types::PrivateKeyDer<'static>)> {
    use rustls_pki_types::pem::PemObject;
    let chain = rustls_pki_types::CertificateDer::pem_file_iter(cert_file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{}: cannot read certificate: {e}", cert_file.display()))?;
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| anyhow::anyhow!("{}: cannot read private key: {e}", key_file.display()))?;
    Ok((chain, key))
}
