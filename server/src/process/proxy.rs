//! Starting the proxy service: its four listeners (web API, auth API, SSH relay, tunnel), the
//! HTTPS and relay certificates, and the tasks that serve them until the shutdown signal.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context;
use tether_auth::AuthService;
use tether_edge::listen::{Listener, reachable};
use tether_shared::api::{PingAuth, PingProxy, PingProxySsh, PingResponse};
use tether_shared::current::Current;
use tether_web::WebState;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{AuthConfig, Config, ProxyConfig};

/// The proxy's sockets, bound before anything is served so that a taken port fails the start.
struct Listeners {
    web: TcpListener,
    auth: TcpListener,
    ssh: TcpListener,
    tunnel: TcpListener,
}

/// The addresses the proxy is reachable at, as clients dial them.
pub(super) struct Addresses {
    /// The web API (`web_listen_addr`).
    pub web: SocketAddr,
    /// The auth API (`auth_service.listen_addr`).
    pub auth: SocketAddr,
    /// The SSH relay (`proxy_service.listen_addr`).
    pub ssh: SocketAddr,
    /// The reverse-tunnel listener (`tunnel_listen_addr`).
    pub tunnel: SocketAddr,
}

/// A running proxy: where it listens and its tasks, each with a name for the log.
pub(super) struct Proxy {
    /// Where it listens.
    pub addrs: Addresses,
    /// Its tasks; they end after the shutdown signal.
    pub tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Listeners {
    async fn bind(auth_cfg: &AuthConfig, proxy_cfg: &ProxyConfig) -> anyhow::Result<(Listeners, Addresses)> {
        let bind = |addr: SocketAddr, key: &'static str| async move {
            tether_edge::listen::bind(addr).await.with_context(|| format!("cannot listen on {key} {addr}"))
        };
        let web = bind(proxy_cfg.web_listen_addr, "web_listen_addr").await?;
        // The auth API: the same routes on auth_service.listen_addr, for tctl --auth-server and nodes.
        let auth = bind(auth_cfg.listen_addr, "auth_service.listen_addr").await?;
        let ssh = bind(proxy_cfg.listen_addr, "proxy_service.listen_addr").await?;
        let tunnel = bind(proxy_cfg.tunnel_listen_addr, "proxy_service.tunnel_listen_addr").await?;
        let addrs = Addresses {
            web: reachable(web.local_addr()?),
            auth: reachable(auth.local_addr()?),
            ssh: reachable(ssh.local_addr()?),
            tunnel: reachable(tunnel.local_addr()?),
        };
        Ok((Listeners { web, auth, ssh, tunnel }, addrs))
    }
}

/// The host part of `host:port` (brackets of an IPv6 address removed).
fn host_of(addr: &str) -> &str {
    addr.rsplit_once(':').map_or(addr, |(h, _)| h).trim_matches(['[', ']'])
}

/// Binds the proxy's listeners and starts serving them.
pub(super) async fn start(
    cfg: &Config,
    auth_cfg: &AuthConfig,
    proxy_cfg: &ProxyConfig,
    auth: &Arc<AuthService>,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Proxy> {
    let (listeners, addrs) = Listeners::bind(auth_cfg, proxy_cfg).await?;
    let https = HttpsNames::of(cfg, proxy_cfg, auth, &addrs)?;
    let https_cert = https.issue(auth)?;
    let tls = tether_web::tls_config(https_cert.clone()).map_err(|e| anyhow::anyhow!(e))?;
    let admin_identity = cfg.data_dir.join("admin-identity.json");
    auth.authority()
        .write_admin_identity(&admin_identity, &addrs.web.to_string())
        .await
        .map_err(|e| anyhow::anyhow!("cannot write the admin identity: {}", e.chain()))?;

    // This proxy's tunnels from leaf clusters, and its status record.
    let proxy_id = format!("{}-{}", cfg.nodename, tether_shared::names::random_hex());
    let registry = tether_proxy::tunnel::registry::Registry::new(
        proxy_id,
        addrs.tunnel.to_string(),
        auth_cfg.keep_alive_interval,
        auth_cfg.offline_window(),
    );
    let relay = RelayIdentity::new(cfg, proxy_cfg, auth, &addrs)?;
    let (ssh_config, tunnel_config, signer) = relay.configs(auth)?;
    let (ssh_config, tunnel_config, signer) =
        (Arc::new(Current::new(ssh_config)), Arc::new(Current::new(tunnel_config)), Arc::new(Current::new(signer)));
    let state = Arc::new(WebState {
        auth: auth.clone(),
        ping: ping(auth_cfg, proxy_cfg, &addrs),
        tunnels: registry.clone(),
        leaves: Arc::new(tether_web::leaf::LeafCaller::new(auth.clone(), registry.clone())?),
        signer: signer.clone(),
        offline_window: auth_cfg.offline_window(),
        limits: cfg.limits.clone(),
        unauthenticated_rate: tether_web::ratelimit::RateLimiter::new(
            cfg.limits.unauthenticated_rate,
            cfg.limits.unauthenticated_burst,
        ),
    });

    let presented = Presented {
        https,
        https_cert,
        relay,
        ssh_config: ssh_config.clone(),
        tunnel_config: tunnel_config.clone(),
        signer: signer.clone(),
        admin_identity,
        web_addr: addrs.web.to_string(),
    };
    let ssh_limits = cfg.limits.listener.clone();
    let web_limits = cfg.limits.web_listener();
    let listener = |tcp, name| Listener::new(tcp, name, ssh_limits.clone());
    let tasks = vec![
        (
            "web",
            tokio::spawn(tether_web::serve(
                Listener::new(listeners.web, "web", web_limits.clone()),
                tls.clone(),
                state.clone(),
                stop.clone(),
            )),
        ),
        (
            "auth",
            tokio::spawn(tether_web::serve(
                Listener::new(listeners.auth, "auth api", web_limits),
                tls,
                state,
                stop.clone(),
            )),
        ),
        (
            "proxy ssh",
            tokio::spawn(tether_proxy::relay::serve(
                listener(listeners.ssh, "proxy ssh"),
                ssh_config,
                auth.clone(),
                registry.clone(),
                signer,
                stop.clone(),
            )),
        ),
        (
            "tunnel",
            tokio::spawn(tether_proxy::tunnel::server::serve(
                listener(listeners.tunnel, "tunnel"),
                tunnel_config,
                auth.clone(),
                registry.clone(),
                stop.clone(),
            )),
        ),
        ("tunnel status", tokio::spawn(registry.run_flusher(auth.clone(), stop.clone()))),
        ("ca follow", tokio::spawn(auth.authority().clone().follow(stop.clone()))),
        ("ca rotation", tokio::spawn(auth.authority().clone().drive(stop.clone()))),
        (
            "stale leaves",
            tokio::spawn(tether_auth::trust::sweep_stale_remote_clusters(
                auth.clone(),
                auth_cfg.offline_window(),
                stop.clone(),
            )),
        ),
        ("ca certificates", tokio::spawn(presented.follow(auth.clone(), stop.clone()))),
        (
            "tunnel agents",
            tokio::spawn(tether_proxy::tunnel::agent::run(
                auth.clone(),
                addrs.web.to_string(),
                cfg.limits.tunnel_recycle_after,
                stop.clone(),
            )),
        ),
    ];
    tracing::info!(web_addr = %addrs.web, auth_addr = %addrs.auth, ssh_addr = %addrs.ssh, tunnel_addr = %addrs.tunnel,
        "web proxy, auth API, SSH proxy and tunnel listening");
    Ok(Proxy { addrs, tasks })
}

/// Where the HTTPS certificates come from: the cluster's TLS CA, for every name and address
/// clients may use (renewed when the TLS CA rotates), and the operator's key pair if one is
/// given (reloaded when its files change), which browsers get; Tether's own clients keep
/// getting the cluster's ([`tether_web::HttpsCert`]).
struct HttpsNames {
    /// `https_keypairs`: certificate file, key file.
    operator: Option<(std::path::PathBuf, std::path::PathBuf)>,
    /// The names the cluster's certificate is for.
    names: Vec<String>,
    /// The addresses the cluster's certificate is for.
    ips: Vec<IpAddr>,
}

impl HttpsNames {
    fn of(cfg: &Config, proxy_cfg: &ProxyConfig, auth: &AuthService, addrs: &Addresses) -> anyhow::Result<Self> {
        let operator = proxy_cfg.https_keypairs.first().map(|pair| (pair.cert_file.clone(), pair.key_file.clone()));
        // The cluster's name too: users of a root reach this API through the tunnel by it.
        let mut names = vec!["localhost".to_string(), cfg.nodename.clone(), auth.cluster_name().to_string()];
        let mut ips: Vec<IpAddr> = vec![[127, 0, 0, 1].into(), IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])];
        for addr in proxy_cfg.public_addr.iter().chain(&proxy_cfg.ssh_public_addr) {
            match host_of(addr).parse::<IpAddr>() {
                Ok(ip) => ips.push(ip),
                Err(_) => names.push(host_of(addr).to_string()),
            }
        }
        for ip in [addrs.web.ip(), addrs.auth.ip()] {
            if !ip.is_loopback() && !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        Ok(HttpsNames { operator, names, ips })
    }

    /// The cluster's certificate, freshly issued.
    fn cluster_chain(&self, auth: &AuthService) -> anyhow::Result<tether_web::Chain> {
        auth.authority()
            .https_cert(&self.names, &self.ips)
            .map_err(|e| anyhow::anyhow!("cannot issue the HTTPS certificate: {}", e.chain()))
    }

    fn issue(&self, auth: &AuthService) -> anyhow::Result<Arc<tether_web::HttpsCert>> {
        let cert = tether_web::HttpsCert::new(self.cluster_chain(auth)?).map_err(|e| anyhow::anyhow!(e))?;
        if let Some((cert_file, key_file)) = &self.operator {
            cert.set_operator(load_keypair(cert_file, key_file)?).map_err(|e| anyhow::anyhow!(e))?;
        }
        Ok(cert)
    }
}

/// How often the operator's `https_keypairs` files are checked for a change.
const KEYPAIR_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);
/// How often everything [`Presented`] holds is issued again without a CA change: its
/// certificates live a year (`NODE_CERT_TTL`) and the admin identity as long, and a daemon may run longer.
const RENEW_INTERVAL: std::time::Duration = std::time::Duration::from_secs(7 * 86400);

/// What this proxy presents and holds from the cluster's CAs, renewed after every rotation
/// phase: the HTTPS certificate, the relay's and tunnel listener's host certificate, the signer
/// of users' addresses, and the local admin identity.
struct Presented {
    https: HttpsNames,
    https_cert: Arc<tether_web::HttpsCert>,
    relay: RelayIdentity,
    ssh_config: Arc<Current<russh::server::Config>>,
    tunnel_config: Arc<Current<russh::server::Config>>,
    signer: Arc<Current<tether_shared::proxy_header::Signer>>,
    admin_identity: std::path::PathBuf,
    web_addr: String,
}

impl Presented {
    /// Renews everything after each change of the CAs, and every [`RENEW_INTERVAL`], until
    /// `stop` fires.
    /// Also reloads the operator's `https_keypairs` files when they change (an ACME client
    /// renewing them), checked every [`KEYPAIR_CHECK_INTERVAL`]; a pair that does not load is
    /// logged and the one in use kept.
    async fn follow(self, auth: Arc<AuthService>, mut stop: watch::Receiver<bool>) {
        let mut changes = auth.authority().changes();
        let mut check = tokio::time::interval(KEYPAIR_CHECK_INTERVAL);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut seen = self.operator_files();
        let mut periodic = tokio::time::interval_at(tokio::time::Instant::now() + RENEW_INTERVAL, RENEW_INTERVAL);
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                changed = changes.changed() => {
                    if changed.is_err() { return }
                    if let Err(e) = self.renew(&auth).await {
                        tracing::error!("cannot renew the proxy's certificates after a CA change: {e:#}");
                    }
                }
                _ = periodic.tick() => {
                    if let Err(e) = self.renew(&auth).await {
                        tracing::error!("cannot renew the proxy's certificates: {e:#}");
                    }
                }
                _ = check.tick() => {
                    let now = self.operator_files();
                    if now != seen {
                        seen = now;
                        self.reload_operator();
                    }
                }
            }
        }
    }

    /// A fingerprint of the operator's key pair files (`None` without them).
    fn operator_files(&self) -> Option<u64> {
        use std::hash::{Hash, Hasher};
        let (cert, key) = self.https.operator.as_ref()?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::fs::read(cert).ok().hash(&mut h);
        std::fs::read(key).ok().hash(&mut h);
        Some(h.finish())
    }

    fn reload_operator(&self) {
        let Some((cert, key)) = &self.https.operator else { return };
        match load_keypair(cert, key)
            .and_then(|pair| self.https_cert.set_operator(pair).map_err(|e| anyhow::anyhow!(e)))
        {
            Ok(()) => tracing::info!("reloaded the HTTPS key pair from https_keypairs"),
            Err(e) => tracing::warn!("https_keypairs changed but do not load; still serving the previous pair: {e:#}"),
        }
    }

    async fn renew(&self, auth: &AuthService) -> anyhow::Result<()> {
        self.https_cert.set(self.https.cluster_chain(auth)?).map_err(|e| anyhow::anyhow!(e))?;
        let (relay, tunnel, signer) = self.relay.configs(auth)?;
        self.ssh_config.set(relay);
        self.tunnel_config.set(tunnel);
        self.signer.set(signer);
        auth.authority()
            .write_admin_identity(&self.admin_identity, &self.web_addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot write the admin identity: {}", e.chain()))?;
        tracing::info!("renewed the proxy's certificates and the local admin identity");
        Ok(())
    }
}

/// What `/webapi/ping` answers: the cluster, its second factor and the proxy's addresses.
fn ping(auth_cfg: &AuthConfig, proxy_cfg: &ProxyConfig, addrs: &Addresses) -> PingResponse {
    let public_addr = proxy_cfg.public_addr.first().cloned().unwrap_or_else(|| addrs.web.to_string());
    let tunnel_public = proxy_cfg
        .tunnel_public_addr
        .first()
        .cloned()
        .unwrap_or_else(|| format!("{}:{}", host_of(&public_addr), addrs.tunnel.port()));
    PingResponse {
        cluster_name: auth_cfg.cluster_name.clone(),
        server_version: tether_shared::VERSION.to_string(),
        auth: PingAuth { auth_type: "local".into(), second_factor: auth_cfg.second_factor.as_str().into() },
        proxy: PingProxy {
            ssh: PingProxySsh {
                listen_addr: addrs.ssh.to_string(),
                ssh_public_addr: proxy_cfg.ssh_public_addr.first().cloned().unwrap_or_else(|| addrs.ssh.to_string()),
                public_addr,
                ssh_tunnel_public_addr: tunnel_public,
                tunnel_listen_addr: addrs.tunnel.to_string(),
            },
            tls_routing_enabled: false,
        },
        tls_cas: Vec::new(),
    }
}

/// The relay's host key and the names its host certificate covers; with them, the SSH server
/// configs of the relay (the operator's algorithm sets) and of the tunnel listener (the agents'
/// own), and the signer of the users' addresses the relay passes to nodes.
struct RelayIdentity {
    key: russh::keys::PrivateKey,
    names: Vec<String>,
    limits: tether_edge::limits::ConnectionLimits,
    preferred: russh::Preferred,
}

impl RelayIdentity {
    fn new(cfg: &Config, proxy_cfg: &ProxyConfig, auth: &AuthService, addrs: &Addresses) -> anyhow::Result<Self> {
        let key = tether_shared::ssh_cert::generate_ed25519_key()?;
        let mut names = vec![cfg.nodename.clone(), "localhost".to_string(), auth.cluster_name().to_string()];
        names.push(addrs.ssh.ip().to_string());
        for addr in proxy_cfg.public_addr.iter().chain(&proxy_cfg.ssh_public_addr) {
            let host = host_of(addr).to_string();
            if !names.contains(&host) {
                names.push(host);
            }
        }
        Ok(RelayIdentity { key, names, limits: cfg.limits.clone(), preferred: cfg.ssh_algorithms.server_preferred() })
    }

    /// A host certificate from the key that signs servers now, and the configs and signer with it.
    fn configs(
        &self,
        auth: &AuthService,
    ) -> anyhow::Result<(russh::server::Config, russh::server::Config, tether_shared::proxy_header::Signer)> {
        let cert = auth
            .authority()
            .proxy_host_cert(self.key.public_key(), self.names.clone())
            .map_err(|e| anyhow::anyhow!("cannot issue the proxy's host certificate: {}", e.chain()))?;
        let signer = tether_shared::proxy_header::Signer::new(&self.key, &cert)?;
        let relay = tether_edge::ssh_config::server_config(
            self.key.clone(),
            cert.clone(),
            &self.limits,
            self.preferred.clone(),
        );
        let tunnel = tether_edge::ssh_config::server_config(
            self.key.clone(),
            cert,
            &self.limits,
            tether_shared::ssh_algorithms::tunnel_preferred(),
        );
        Ok((relay, tunnel, signer))
    }
}

fn load_keypair(cert_file: &std::path::Path, key_file: &std::path::Path) -> anyhow::Result<tether_web::Chain> {
    use rustls_pki_types::pem::PemObject;
    let chain = rustls_pki_types::CertificateDer::pem_file_iter(cert_file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("{}: cannot read certificate: {e}", cert_file.display()))?;
    let key = rustls_pki_types::PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| anyhow::anyhow!("{}: cannot read private key: {e}", key_file.display()))?;
    Ok((chain, key))
}
