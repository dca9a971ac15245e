//! `tctl status`, `tctl auth sign|export`, `tctl audit ls`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use tether_client::client::ApiClient;
use tether_client::credentials::Credentials;
use tether_shared::api::{AuditEvent, LoginResponse, RotateRequest, SignRequest};
use tether_shared::duration::GoDuration;
use tether_shared::resource::{CaType, Resource, RotationMode, RotationPhase};

use crate::cli::{AuditListing, CaTypeArg, Format, RotateType};
use crate::output::table;

async fn cert_authorities(client: &ApiClient) -> Result<Vec<tether_shared::resource::CertAuthority>> {
    let all: Vec<Resource> = client.get("/webapi/resources/cert_authority").await?;
    Ok(all
        .into_iter()
        .filter_map(|r| match r {
            Resource::CertAuthority(ca) => Some(ca),
            _ => None,
        })
        .collect())
}

/// `tctl status`: the cluster, and for each of its CAs (then those of its trusted and remote
/// clusters) the rotation phase and the fingerprints of the keys that sign and of those only
/// trusted, and when the automatic mode moves next.
pub async fn status(client: &ApiClient, format: crate::cli::ReportFormat) -> Result<()> {
    let ping = client.ping().await?;
    if format == crate::cli::ReportFormat::Json {
        let mut cas = cert_authorities(client).await?;
        cas.sort_by_key(|ca| {
            (ca.spec.cluster_name != ping.cluster_name, ca.spec.cluster_name.clone(), ca.spec.ca_type)
        });
        let doc = serde_json::json!({
            "cluster": ping.cluster_name,
            "version": ping.server_version,
            "proxy": client.addr(),
            "cert_authorities": cas,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("Cluster  {}", ping.cluster_name);
    println!("Version  {}", ping.server_version);
    println!("Proxy    {}", client.addr());
    let mut cas = cert_authorities(client).await?;
    // This cluster's CAs first.
    cas.sort_by_key(|ca| (ca.spec.cluster_name != ping.cluster_name, ca.spec.cluster_name.clone(), ca.spec.ca_type));
    for ca in cas {
        let what = match ca.spec.ca_type {
            CaType::User => "User CA",
            CaType::Host => "Host CA",
            CaType::Tls => "TLS CA ",
        };
        let spec = &ca.spec;
        let mut line = format!("{what}  {}  phase {}", spec.cluster_name, spec.phase());
        if let Some(rotation) = &spec.rotation {
            if rotation.mode == RotationMode::Auto && spec.phase() != RotationPhase::Standby {
                line.push_str(" (automatic");
                if let Some(next) = rotation.next_phase_at {
                    let secs = (next - time::OffsetDateTime::now_utc()).whole_seconds().max(0);
                    line.push_str(&format!(
                        ", next phase in {}",
                        GoDuration(std::time::Duration::from_secs(secs as u64))
                    ));
                }
                line.push(')');
            }
            if let Some(last) =
                rotation.last_rotated.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
            {
                line.push_str(&format!(", last rotated {last}"));
            }
        }
        println!("{line}");
        for key in spec.active_keys.fingerprints() {
            println!("         signing  {key}");
        }
        for key in spec.additional_trusted_keys.fingerprints() {
            println!("         trusted  {key}");
        }
    }
    Ok(())
}

/// `tctl auth rotate`.
pub async fn rotate(
    client: &ApiClient,
    ca_type: Option<RotateType>,
    manual: bool,
    phase: Option<&str>,
    grace_period: Option<&str>,
) -> Result<()> {
    let phase = phase.map(|p| p.parse::<RotationPhase>().map_err(|e| anyhow::anyhow!("--phase: {e}"))).transpose()?;
    let grace_period = grace_period.map(|g| g.parse::<GoDuration>().context("--grace-period")).transpose()?;
    let ca_type = ca_type.map(|t| match t {
        RotateType::User => CaType::User,
        RotateType::Host => CaType::Host,
        RotateType::Tls => CaType::Tls,
    });
    let mode = if manual { RotationMode::Manual } else { RotationMode::Auto };
    let req = RotateRequest { ca_type, mode, phase, grace_period };
    let cas: Vec<Resource> = client.post("/webapi/authorities/rotate", &req).await?;
    for ca in cas {
        let Resource::CertAuthority(ca) = ca else { continue };
        if ca_type.is_some_and(|t| t != ca.spec.ca_type) {
            continue;
        }
        let mut line = format!("{} CA of {}: phase {}", ca.spec.ca_type, ca.spec.cluster_name, ca.spec.phase());
        if let Some(rotation) = ca.spec.rotation.as_ref().filter(|r| r.mode == RotationMode::Auto)
            && let Some(next) =
                rotation.next_phase_at.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        {
            line.push_str(&format!(" (automatic; next phase at {next})"));
        }
        println!("{line}");
    }
    Ok(())
}

/// `tctl auth export --type=user|host|tls`: lines for sshd's TrustedUserCAKeys, or known_hosts;
/// or this cluster's TLS CA certificates (the current one, and the next during a rotation), PEM.
pub async fn export(client: &ApiClient, ca_type: CaTypeArg) -> Result<()> {
    if ca_type == CaTypeArg::Tls {
        let ping = client.ping().await?;
        anyhow::ensure!(!ping.tls_cas.is_empty(), "the proxy lists no TLS CA (is it older than tctl?)");
        for pem in ping.tls_cas {
            print!("{pem}");
        }
        return Ok(());
    }
    for ca in cert_authorities(client).await? {
        for key in &ca.spec.trusted().ssh {
            let key = key.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            match (ca_type, ca.spec.ca_type) {
                (CaTypeArg::User, CaType::User) => println!("{key} {}", ca.spec.cluster_name),
                (CaTypeArg::Host, CaType::Host) => {
                    println!("@cert-authority *.{0},{0} {key} type=host", ca.spec.cluster_name)
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// `tctl auth sign --user --out [--ttl]`.
pub async fn sign(client: &ApiClient, creds: &Credentials, user: &str, out: &Path, ttl: &str) -> Result<()> {
    let ttl: GoDuration = ttl.parse().context("--ttl")?;
    let key = tether_shared::ssh_cert::generate_ed25519_key()?;
    let public_key = key.public_key().to_openssh()?;
    let req = SignRequest { user: user.to_string(), public_key, ttl_secs: ttl.0.as_secs() };
    let issued: LoginResponse = client.post("/webapi/auth/sign", &req).await?;
    let ping = client.ping().await?;
    let ssh_proxy = if ping.proxy.ssh.ssh_public_addr.is_empty() {
        ping.proxy.ssh.listen_addr
    } else {
        ping.proxy.ssh.ssh_public_addr
    };
    let identity = Credentials {
        proxy: creds.proxy.clone(),
        ssh_proxy,
        cluster: issued.cluster_name,
        user: user.to_string(),
        private_key: key.to_openssh(russh::keys::ssh_key::LineEnding::LF)?.to_string(),
        ssh_cert: issued.ssh_cert,
        tls_cert: issued.tls_cert,
        tls_cas: issued.tls_cas,
        host_cas: issued.host_cas,
    };
    identity.save(out)?;
    println!("The identity of {user} has been written to {}", out.display());
    Ok(())
}

fn parse_since(since: &str) -> Result<time::OffsetDateTime> {
    if let Ok(d) = since.parse::<GoDuration>() {
        return Ok(time::OffsetDateTime::now_utc() - d.0);
    }
    time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339)
        .map_err(|_| anyhow::anyhow!("--since {since:?}: give a duration (1h) or an RFC 3339 time"))
}

/// The query of `GET /webapi/events` for `--since` and `--limit`.
fn events_path(since: Option<&str>, limit: Option<u32>) -> Result<String> {
    let mut query = Vec::new();
    if let Some(since) = since {
        let t = parse_since(since)?.format(&time::format_description::well_known::Rfc3339)?;
        query.push(format!("since={}", t.replace('+', "%2B").replace(':', "%3A")));
    }
    if let Some(limit) = limit {
        query.push(format!("limit={limit}"));
    }
    Ok(if query.is_empty() { "/webapi/events".into() } else { format!("/webapi/events?{}", query.join("&")) })
}

/// `tctl audit ls [--since] [--limit]`: the newest events (the server's default number when no
/// `--limit`), oldest first.
pub async fn audit(client: &ApiClient, since: Option<&str>, listing: AuditListing) -> Result<()> {
    let AuditListing { format, limit } = listing;
    let path = events_path(since, limit)?;
    let events: Vec<AuditEvent> = client.get(&path).await?;
    let asked = limit.map_or(tether_shared::api::EVENTS_DEFAULT_LIMIT, |l| l as usize);
    if events.len() >= asked && format == Format::Text {
        eprintln!("(the newest {} events; ask for more with --limit or narrow with --since)", events.len());
    }
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&events)?),
        Format::Yaml => print!("{}", serde_yaml_ng::to_string(&events)?),
        Format::Text => {
            let field = |e: &AuditEvent, k: &str| e.get(k).map(|v| v.as_str().map_or(v.to_string(), str::to_string));
            let rows = events
                .iter()
                .map(|e| {
                    let detail: Vec<String> = e
                        .iter()
                        .filter(|(k, _)| !["time", "event", "code", "cluster", "user", "success"].contains(&k.as_str()))
                        .map(|(k, v)| format!("{k}={}", v.as_str().map_or(v.to_string(), str::to_string)))
                        .collect();
                    vec![
                        field(e, "time").unwrap_or_default(),
                        field(e, "event").unwrap_or_default(),
                        field(e, "user").unwrap_or_default(),
                        if e.get("success").and_then(|v| v.as_bool()) == Some(true) { "ok" } else { "failed" }.into(),
                        detail.join(" "),
                    ]
                })
                .collect();
            println!("{}", table(&["Time", "Event", "User", "Outcome", "Details"], rows));
        }
    }
    if events.is_empty() && since.is_none() {
        bail!("the audit log is empty");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{AuditCommand, AuditListing, Cli, Command, Format};

    #[test]
    fn events_query_carries_since_and_limit() {
        assert_eq!(super::events_path(None, None).unwrap(), "/webapi/events");
        assert_eq!(super::events_path(None, Some(100)).unwrap(), "/webapi/events?limit=100");
        let path = super::events_path(Some("2026-01-02T03:04:05Z"), Some(5)).unwrap();
        assert_eq!(path, "/webapi/events?since=2026-01-02T03%3A04%3A05Z&limit=5");
        assert!(super::events_path(Some("yesterday"), None).is_err());
    }

    #[test]
    fn audit_ls_limit_is_checked() {
        let parse = |args: &[&str]| Cli::try_parse_from([&["tctl", "audit", "ls"], args].concat());
        let Command::Audit(AuditCommand::Ls { since, format }) =
            parse(&["--limit", "100", "--since=1h"]).unwrap().command
        else {
            panic!("not audit ls");
        };
        assert_eq!(since.as_deref(), Some("1h"));
        assert_eq!(format, AuditListing { format: Format::Text, limit: Some(100) });
        assert!(parse(&[]).is_ok());
        for bad in ["0", "10001", "-1", "many"] {
            assert!(parse(&["--limit", bad]).is_err(), "--limit {bad}");
        }
        assert!(parse(&["--limit", "10000", "--format=json"]).is_ok());
    }
}
