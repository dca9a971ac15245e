//! `tsh login`, `tsh status`, `tsh logout`: getting certificates and showing what they allow.
//!
//! The password comes from a hidden prompt on a terminal, or from one line of stdin otherwise
//! (scripts, tests). The proxy's HTTPS certificate must verify: against the cluster's TLS CA
//! pinned by an earlier login, or the public web PKI; `--insecure` skips that (testing only).

use std::io::{BufRead, IsTerminal};

use anyhow::{Context, Result, bail};
use tether_cli::profile::{self, Keystore};
use tether_client::client::{ApiClient, ServerTrust};
use tether_client::credentials::Credentials;
use tether_shared::api::{LoginRequest, LoginResponse};
use tether_shared::duration::GoDuration;
use tether_shared::identity::Identity;

use crate::cli::Global;
use crate::context::credentials;

/// The web port when `--proxy` has none.
pub const DEFAULT_WEB_PORT: u16 = 3080;

/// `host` → `host:3080`; `host:port` unchanged.
pub fn proxy_addr(proxy: &str) -> String {
    let has_port = match proxy.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty() && port.parse::<u16>().is_ok() && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    };
    if has_port { proxy.to_string() } else { format!("{proxy}:{DEFAULT_WEB_PORT}") }
}

/// One line from stdin (scripts and tests answer prompts this way).
fn stdin_line(what: &str) -> Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).with_context(|| format!("cannot read the {what} from stdin"))?;
    let value = line.trim_end_matches(['\n', '\r']).to_string();
    if value.is_empty() {
        bail!("no {what} on stdin (give one line per prompt)");
    }
    Ok(value)
}

fn read_password(prompt: &str, confirm: bool) -> Result<String> {
    if std::io::stdin().is_terminal() {
        let mut p = dialoguer::Password::new().with_prompt(prompt);
        if confirm {
            p = p.with_confirmation("Confirm password", "the passwords do not match");
        }
        return p.interact().context("cannot read the password");
    }
    stdin_line("password")
}

fn read_otp() -> Result<String> {
    if std::io::stdin().is_terminal() {
        return dialoguer::Input::<String>::new()
            .with_prompt("Enter the one-time code from your authenticator app")
            .interact_text()
            .context("cannot read the one-time code");
    }
    stdin_line("one-time code")
}

/// `tsh login --cluster=LEAF` with a still-valid login to the same proxy: select the leaf only.
async fn select_only(global: &Global, cluster: &str) -> Result<bool> {
    let home = profile::home();
    let Ok(current) = profile::load_current(&home) else { return Ok(false) };
    if global.proxy.as_deref().is_some_and(|p| proxy_addr(p) != current.credentials.proxy)
        || global.user.as_deref().is_some_and(|u| u != current.credentials.user)
    {
        return Ok(false);
    }
    let cert = tether_shared::ssh_cert::cert_from_openssh(&current.credentials.ssh_cert)?;
    let id = tether_shared::ssh_cert::inspect_user_cert(&cert)?;
    if id.valid_before <= time::OffsetDateTime::now_utc() {
        return Ok(false);
    }
    let selected = select(global, &current.credentials, current.insecure || global.insecure, cluster).await?;
    print_profile(&current.credentials.proxy, &id);
    println!("  Selected cluster:   {selected}");
    Ok(true)
}

/// Checks that `cluster` is the root or a leaf the user may see, and selects it; returns the
/// name of the cluster selected.
async fn select(global: &Global, creds: &Credentials, insecure: bool, cluster: &str) -> Result<String> {
    let leaf = crate::context::target(global, creds, insecure, Some(cluster)).await?;
    // Get the certificate bound to the leaf now: a refusal shows at login, not at first use.
    if let Some(leaf) = &leaf {
        crate::context::bound(global, creds, insecure, &leaf.name).await?;
    }
    let name = leaf.as_ref().map_or_else(|| creds.cluster.clone(), |l| l.name.clone());
    profile::select_cluster(&profile::home(), &creds.proxy, leaf.map(|l| l.name))?;
    Ok(name)
}

/// `tsh login`.
pub async fn login(
    global: &Global,
    ttl: &str,
    invite: Option<String>,
    keystore: &str,
    cluster: Option<&str>,
    ca_pin: Option<&str>,
) -> Result<()> {
    if let Some(cluster) = cluster
        && invite.is_none()
        && global.identity.is_none()
        && select_only(global, cluster).await?
    {
        return Ok(());
    }
    let home = profile::home();
    let proxy = match &global.proxy {
        Some(p) => proxy_addr(p),
        None => match profile::load_current(&home) {
            Ok(p) => p.credentials.proxy,
            Err(_) => bail!("say which cluster: tsh login --proxy=HOST[:PORT] --user=NAME"),
        },
    };
    let user = global.user.clone().or_else(|| std::env::var("USER").ok()).context("say who you are: --user=NAME")?;
    let ttl: GoDuration = ttl.parse().context("--ttl")?;
    let keystore: Keystore = keystore.parse().map_err(anyhow::Error::msg)?;
    // How the proxy's HTTPS certificate is checked: not at all (--insecure); against the CA the
    // pin names; against the CAs of an earlier login (the profile's, or remembered across a
    // logout); or the public web PKI.
    let trust = if global.insecure {
        ServerTrust::Insecure
    } else if let Some(pin) = ca_pin {
        tether_client::client::pinned_trust(&proxy, pin).await?
    } else {
        match profile::load(&home, &proxy) {
            Ok(p) => ServerTrust::Cas(p.credentials.tls_cas),
            Err(_) => profile::known_cas(&home, &proxy).map_or(ServerTrust::WebPki, ServerTrust::Cas),
        }
    };
    let client = ApiClient::new(&proxy, &trust, None)?;
    let ping = client.ping().await?;
    let password = if invite.is_some() {
        read_password("Choose a password (at least 8 characters)", true)?
    } else {
        read_password(&format!("Enter password for Tether user {user}"), false)?
    };
    let otp = if ping.auth.second_factor == "otp" && invite.is_none() { Some(read_otp()?) } else { None };
    let key = tether_shared::ssh_cert::generate_ed25519_key()?;
    let req = LoginRequest {
        user: user.clone(),
        password,
        otp,
        invite_token: invite,
        public_key: key.public_key().to_openssh()?,
        ttl_secs: Some(ttl.0.as_secs()),
    };
    let resp: LoginResponse = client.post("/webapi/login", &req).await?;
    let creds = Credentials {
        proxy: proxy.clone(),
        ssh_proxy: if ping.proxy.ssh.ssh_public_addr.is_empty() {
            ping.proxy.ssh.listen_addr.clone()
        } else {
            ping.proxy.ssh.ssh_public_addr.clone()
        },
        cluster: resp.cluster_name.clone(),
        user,
        private_key: key.to_openssh(russh::keys::ssh_key::LineEnding::LF)?.to_string(),
        ssh_cert: resp.ssh_cert,
        tls_cert: resp.tls_cert,
        tls_cas: resp.tls_cas,
        host_cas: resp.host_cas,
    };
    let used = profile::save(&home, &creds, keystore, global.insecure)?;
    let selected = match cluster {
        Some(cluster) => Some(select(global, &creds, global.insecure, cluster).await?),
        None => None,
    };
    print_profile(&creds.proxy, &resp.identity);
    if let Some(selected) = selected {
        println!("  Selected cluster:   {selected}");
    }
    let left = resp.identity.valid_before - time::OffsetDateTime::now_utc();
    if left < time::Duration::minutes(1) {
        eprintln!(
            "tsh: warning: this certificate is valid for only {}s (--ttl, or the roles' max_session_ttl); commands fail once it expires",
            left.whole_seconds().max(0)
        );
    }
    if let Some(uri) = &resp.totp_enrollment {
        println!();
        println!("This cluster requires a one-time code at every login. Add this to your authenticator app now;");
        println!("it is shown only once:");
        println!();
        println!("  {uri}");
    }
    if keystore == Keystore::Auto {
        let place = match used {
            Keystore::Keyring => "the OS keyring".to_string(),
            _ => format!("a 0600 file under {} (no usable OS keyring)", home.join("keys").display()),
        };
        eprintln!("\nYour private key is kept in {place}.");
    }
    Ok(())
}

/// Prints a profile the way the guide shows it.
pub fn print_profile(proxy: &str, id: &Identity) {
    let left = id.valid_before - time::OffsetDateTime::now_utc();
    let left = std::time::Duration::from_secs(left.whole_seconds().max(0) as u64);
    let until = id
        .valid_before
        .format(&time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC"))
        .unwrap_or_default();
    let kube =
        ["kubernetes_groups", "kubernetes_users"].iter().any(|t| id.traits.get(*t).is_some_and(|v| !v.is_empty()));
    let logins: Vec<&str> = id.logins.iter().map(String::as_str).filter(|l| !l.starts_with('-')).collect();
    println!("> Profile URL:        https://{proxy}");
    println!("  Logged in as:       {}", id.user);
    println!("  Cluster:            {}", id.cluster);
    println!("  Roles:              {}", id.roles.join(", "));
    println!("  Logins:             {}", logins.join(", "));
    println!("  Kubernetes:         {}", if kube { "enabled" } else { "disabled" });
    if left.is_zero() {
        println!("  Valid until:        {until} [EXPIRED]");
    } else {
        println!("  Valid until:        {until} [valid for {}]", GoDuration(left));
    }
    println!("  Extensions:         {}", id.permit_extensions().into_iter().collect::<Vec<_>>().join(", "));
}

/// `tsh status`; for a selected leaf, also the roles the user's roles map to there. With
/// `--format json`, one object with the same facts.
pub async fn status(global: &Global, format: &str) -> Result<()> {
    let (creds, insecure) = credentials(global)?;
    let cert = tether_shared::ssh_cert::cert_from_openssh(&creds.ssh_cert)?;
    let id = tether_shared::ssh_cert::inspect_user_cert(&cert)?;
    let selected = crate::context::selected(global);
    let mapped = match &selected {
        Some(selected) => Some(
            async {
                let leaf = crate::context::target(global, &creds, insecure, Some(selected))
                    .await?
                    .context("the selected cluster is the root")?;
                let bound = crate::context::bound(global, &creds, insecure, &leaf.name).await?;
                crate::context::leaf_get::<tether_shared::api::WhoAmI>(&bound, insecure, &leaf, "/webapi/whoami").await
            }
            .await,
        ),
        None => None,
    };
    if format == "json" {
        let logins: Vec<&String> = id.logins.iter().filter(|l| !l.starts_with('-')).collect();
        let leaf = match &mapped {
            Some(Ok(who)) => {
                serde_json::json!({"roles": who.roles, "mapped_from": who.cert_roles, "logins": who.logins})
            }
            Some(Err(e)) => serde_json::json!({"error": format!("{e:#}")}),
            None => serde_json::Value::Null,
        };
        let doc = serde_json::json!({
            "proxy": creds.proxy,
            "user": id.user,
            "cluster": id.cluster,
            "roles": id.roles,
            "logins": logins,
            "valid_until": id.valid_before.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            "expired": id.valid_before <= time::OffsetDateTime::now_utc(),
            "extensions": id.permit_extensions(),
            "selected_cluster": selected,
            "on_selected_cluster": leaf,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    print_profile(&creds.proxy, &id);
    if let (Some(selected), Some(mapped)) = (selected, mapped) {
        println!("  Selected cluster:   {selected}");
        match mapped {
            Ok(who) => {
                println!(
                    "  Roles on {selected}:  {} (mapped from {})",
                    who.roles.join(", "),
                    who.cert_roles.join(", ")
                );
                println!("  Logins on {selected}: {}", who.logins.join(", "));
            }
            Err(e) => println!("  Roles on {selected}:  unknown ({e:#})"),
        }
    }
    Ok(())
}

/// `tsh logout`.
pub fn logout() -> Result<()> {
    let proxies = profile::remove_all(&profile::home())?;
    if proxies.is_empty() {
        println!("Not logged in.");
    } else {
        println!("Logged out of {}.", proxies.join(", "));
    }
    Ok(())
}
