//! The web UI's browser sessions, over raw HTTPS (the browser tests drive the pages): a password
//! login sets an `HttpOnly; Secure; SameSite=Strict` cookie that acts as the user on the API;
//! state changes need the session's CSRF token and this origin; logout ends the session for
//! good; a wrong password is locked out like `tsh login`; sessions live in storage, so another
//! proxy host sharing it resolves them.

use std::sync::Arc;
use std::time::Duration;

use tether_tests::Cluster;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A TLS connection to the proxy at `addr` that accepts its self-signed certificate (these
/// tests are about sessions, not PKI) and asks for no certificate in particular, as a browser.
async fn connect(addr: &str) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let trust = tether_client::client::ServerTrust::Insecure;
    let config = tether_client::client::tls_config(&trust, None).unwrap();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap()
}

/// One request: (status, head lower-cased, body).
async fn request(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String, String) {
    let mut tls = connect(addr).await;
    let mut text =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    tls.write_all(text.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut raw)).await;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

/// Logs in through the UI: the cookie pair (`name=value`) and the CSRF token.
async fn login(addr: &str, user: &str, password: &str) -> (String, String) {
    let body = format!(r#"{{"user":"{user}","password":"{password}"}}"#);
    let (status, head, body) = request(addr, "POST", "/web/login", &[JSON], &body).await;
    assert_eq!(status, 200, "{head}\n{body}");
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .unwrap_or_else(|| panic!("no cookie: {head}"))
        .to_string();
    for attribute in ["httponly", "secure", "samesite=strict", "path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // The answer holds the CSRF token (and after an invite a TOTP secret): no cache keeps it.
    assert!(head.lines().any(|l| l == "cache-control: no-store"), "{head}");
    let pair = cookie.split(';').next().unwrap().to_string();
    assert!(pair.starts_with("__host-tether_session="), "{cookie}");
    // The head was lower-cased; the value is hex, so the pair is the cookie as sent.
    let pair = pair.replacen("__host-tether_session", "__Host-tether_session", 1);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    (pair, info["csrf_token"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_acts_as_the_user_needs_its_csrf_token_for_changes_and_ends_at_logout() {
    let cluster = tokio::task::spawn_blocking(|| {
        let c = Cluster::start("root.example.com");
        c.add_user("ed", "editor", "", "correct-horse");
        c
    })
    .await
    .unwrap();
    let addr = cluster.web_addr.clone();
    let (cookie, csrf) = login(&addr, "ed", "correct-horse").await;
    let origin = format!("https://{addr}");

    // Reads act as the user.
    let (status, _, body) = request(&addr, "GET", "/webapi/whoami", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"user\":\"ed\""), "{body}");
    let (status, _, body) = request(&addr, "GET", "/web/session", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&csrf), "the page gets the same token back: {body}");

    // A cross-site form post with the cookie: refused.
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let evil = ("Origin", "https://evil.example");
    let token_req = r#"{"type":"node","ttl_secs":600}"#;
    let (status, _, body) =
        request(&addr, "POST", "/webapi/tokens", &[("Cookie", &cookie), form, evil], "type=node").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("lacks this session's CSRF token"), "{body}");
    // The token from another origin: refused too.
    let headers = [("Cookie", cookie.as_str()), JSON, evil, ("X-CSRF-Token", csrf.as_str())];
    let (status, _, body) = request(&addr, "POST", "/webapi/tokens", &headers, token_req).await;
    assert_eq!(status, 403, "{body}");
    // The page's own request: allowed, and audited as the user.
    let headers = [("Cookie", cookie.as_str()), JSON, ("Origin", origin.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let (status, _, body) = request(&addr, "POST", "/webapi/tokens", &headers, token_req).await;
    assert_eq!(status, 200, "{body}");
    let audit = cluster.audit_lines();
    assert!(audit.iter().any(|l| l.contains("join_token.create") && l.contains("\"user\":\"ed\"")), "{audit:#?}");

    // A login posted as a form (what a cross-site page can send) is refused.
    let (status, _, _) = request(&addr, "POST", "/web/login", &[form], "user=ed&password=correct-horse").await;
    assert!(status == 400 || status == 415, "{status}");

    // Logout ends the session: the old cookie no longer works.
    let (status, _, body) = request(&addr, "POST", "/web/logout", &headers, "").await;
    assert_eq!(status, 204, "{body}");
    let (status, _, body) = request(&addr, "GET", "/webapi/whoami", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 401, "{body}");
    let (status, _, _) = request(&addr, "GET", "/web/session", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 401);
    // Both ends of the session are audited: the login as a web session, the logout as its own.
    let audit = cluster.audit_lines();
    let logins: Vec<_> =
        audit.iter().filter(|l| l.contains("\"user.login\"") && l.contains("\"user\":\"ed\"")).collect();
    assert!(logins.iter().any(|l| l.contains("\"session\":\"web\"")), "{logins:#?}");
    assert!(logins.iter().any(|l| !l.contains("\"session\"")), "tsh's login has no session field: {logins:#?}");
    assert!(
        audit.iter().any(|l| l.contains("\"user.logout\"") && l.contains("T1001I") && l.contains("\"user\":\"ed\"")),
        "{audit:#?}"
    );
    // A second logout with the ended cookie: 401, and no second event.
    let (status, _, _) = request(&addr, "POST", "/web/logout", &headers, "").await;
    assert_eq!(status, 401);
    assert_eq!(cluster.audit_lines().iter().filter(|l| l.contains("\"user.logout\"")).count(), 1);

    // A wrong password is locked out as tsh login's is.
    let mut last = (0, String::new(), String::new());
    for _ in 0..6 {
        last = request(&addr, "POST", "/web/login", &[JSON], r#"{"user":"ed","password":"wrong"}"#).await;
    }
    assert_eq!(last.0, 429, "{}", last.2);
    assert!(last.2.contains("too many failed logins for ed"), "{}", last.2);
    drop(cluster);
}

/// The certificate the proxy at `addr` presents now (DER).
async fn presented(addr: &str) -> Vec<u8> {
    let tls = connect(addr).await;
    tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default()
}

/// The default HTTPS certificate is one browsers take: a client that verifies only ECDSA
/// P-256 signatures (as Chromium and Firefox do not take Ed25519) completes the handshake and
/// verifies the chain against the cluster's TLS CA, as `tctl auth export --type=tls` prints it
/// for an operator to trust.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_certificate_is_ecdsa_p256_from_the_exported_cluster_ca() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::builder("root.example.com").start()).await.unwrap();
    let pem = cluster.tctl(&["auth", "export", "--type=tls"]).ok();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    // ring's verifiers, cut down to ECDSA P-256 with SHA-256.
    let mut provider = rustls::crypto::ring::default_provider();
    let algorithms = provider.signature_verification_algorithms;
    let mapping: Vec<_> = algorithms
        .mapping
        .iter()
        .filter(|(scheme, _)| *scheme == rustls::SignatureScheme::ECDSA_NISTP256_SHA256)
        .copied()
        .collect();
    assert_eq!(mapping.len(), 1);
    let all: Vec<_> = mapping.iter().flat_map(|(_, algs)| algs.iter().copied()).collect();
    provider.signature_verification_algorithms = rustls::crypto::WebPkiSupportedAlgorithms {
        all: Box::leak(all.into_boxed_slice()),
        mapping: Box::leak(mapping.into_boxed_slice()),
    };
    let provider = Arc::new(provider);
    let verifier =
        rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_webpki_verifier(verifier)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let (host, _) = cluster.web_addr.rsplit_once(':').unwrap();
    let name = rustls::pki_types::ServerName::try_from(host.to_string()).unwrap();
    let tcp = tokio::net::TcpStream::connect(&cluster.web_addr).await.unwrap();
    let tls = connector.connect(name, tcp).await.expect("an ECDSA-only client verifies the default certificate");
    assert_eq!(tls.get_ref().1.negotiated_cipher_suite().map(|s| s.version()), Some(&rustls::version::TLS13));
    drop(cluster);
}

/// An ECDSA P-256 certificate for localhost: (PEM, DER, key PEM).
fn ecdsa_cert() -> (String, Vec<u8>, String) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), cert.der().to_vec(), key.serialize_pem())
}

/// An operator's ECDSA pair written under `dir`: (cert file, key file, certificate DER, the
/// proxy_service lines naming them).
fn operator_pair(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, Vec<u8>, String) {
    let (cert_file, key_file) = (dir.join("web.pem"), dir.join("web.key"));
    let (pem, der, key) = ecdsa_cert();
    std::fs::write(&cert_file, pem).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let section =
        format!("  https_keypairs:\n  - key_file: {}\n    cert_file: {}\n", key_file.display(), cert_file.display());
    (cert_file, key_file, der, section)
}

/// The operator's `https_keypairs` are reloaded when the files change (an ACME client renewing
/// them), without a restart; a pair that does not load leaves the one in use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_key_pair_is_reloaded_when_its_files_change() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file, first, section) = operator_pair(dir.path());
    let cluster = tokio::task::spawn_blocking(move || Cluster::builder("root.example.com").section(&section).start())
        .await
        .unwrap();
    assert_eq!(presented(&cluster.web_addr).await, first);
    // A broken pair: still the first one.
    std::fs::write(&cert_file, "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(presented(&cluster.web_addr).await, first, "a pair that does not load is not used");
    assert!(cluster.log().contains("https_keypairs changed but do not load"), "{}", cluster.log());
    // The renewed pair: served within seconds.
    let (pem, second, key) = ecdsa_cert();
    std::fs::write(&key_file, key).unwrap();
    std::fs::write(&cert_file, pem).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while presented(&cluster.web_addr).await != second {
        assert!(std::time::Instant::now() < deadline, "the new key pair was not served within 15s");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    drop(cluster);
}

/// With an operator's key pair, a browser gets the operator's certificate, while Tether's own
/// clients, which trust the cluster's TLS CA, still get the cluster's: the invite line's
/// `--ca-pin`, a pinned `tsh`, the admin's `tctl` and the node all work without `--insecure`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tether_clients_keep_pinning_the_cluster_ca_behind_an_operators_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, operator, section) = operator_pair(dir.path());
    let cluster = tokio::task::spawn_blocking(move || {
        Cluster::builder("root.example.com").section(&section).node(&[("env", "op")]).start()
    })
    .await
    .unwrap();
    assert_eq!(presented(&cluster.web_addr).await, operator, "a browser gets the operator's certificate");
    let (status, cluster) = tokio::task::spawn_blocking(move || {
        // tsh login with the printed --ca-pin (no --insecure), then a pinned listing.
        let home = cluster.add_user("pat", "access", "visitor", "correct-horse");
        let listed = cluster.as_user(&home, "tsh", &["ls"], None);
        // The admin's tctl, pinned to the cluster CA by its identity.
        let status = cluster.tctl(&["status"]).ok();
        assert!(listed.code == 0 && listed.stdout.contains("env=op"), "{listed:?}");
        (status, cluster)
    })
    .await
    .unwrap();
    assert!(status.contains("root.example.com"), "{status}");
    assert!(
        !cluster.log().contains("does not verify"),
        "the node in the same process verified the proxy: {}",
        cluster.log()
    );
    drop(cluster);
}

/// Two hosts on one PostgreSQL: a session made through A works through B, and a logout through
/// B ends it on A too (sessions live in storage, not in a host's memory).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_host_works_and_ends_on_another() {
    let (a, b) = tokio::task::spawn_blocking(|| {
        let pg = tether_tests::postgres::server();
        let conn = pg.conn_string(&pg.fresh_database());
        let a = Cluster::builder("root.example.com").postgresql(&conn).start();
        let b = Cluster::builder("root.example.com").postgresql(&conn).start();
        a.add_user("ed", "editor", "", "correct-horse");
        (a, b)
    })
    .await
    .unwrap();
    let (cookie, csrf) = login(&a.web_addr, "ed", "correct-horse").await;
    let (status, _, body) = request(&b.web_addr, "GET", "/webapi/whoami", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"user\":\"ed\""), "{body}");
    let origin = format!("https://{}", b.web_addr);
    let headers = [("Cookie", cookie.as_str()), ("Origin", origin.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let (status, _, body) = request(&b.web_addr, "POST", "/web/logout", &headers, "").await;
    assert_eq!(status, 204, "{body}");
    let (status, _, _) = request(&a.web_addr, "GET", "/webapi/whoami", &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 401, "ended on A too");
    drop((a, b));
}
