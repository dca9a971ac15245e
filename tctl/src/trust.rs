//! `tctl trusted-cluster map-roles`: what a role_map does to given remote roles, rule by rule,
//! from a YAML file (no cluster needed) or from a stored trusted cluster. It changes nothing.
//! `tctl trusted-cluster doctor`: the daemon's checks of a trust, one line each.

use std::path::Path;

use anyhow::{Context, Result, bail};
use tether_client::client::ApiClient;
use tether_shared::resource::{Resource, parse_resources};
use tether_shared::rolemap::{RoleMap, RoleMapRule};

/// `--file`: the trusted_cluster in a YAML file.
pub fn map_roles_file(file: &Path, roles: &[String]) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let resources = parse_resources(&file.display().to_string(), &text).map_err(anyhow::Error::msg)?;
    let tc = resources
        .into_iter()
        .find_map(|r| match r {
            Resource::TrustedCluster(tc) => Some(tc),
            _ => None,
        })
        .with_context(|| format!("{}: no trusted_cluster resource in the file", file.display()))?;
    print_mapping(&tc.metadata.name, &tc.spec.role_map, roles)
}

/// `--name`: a stored trusted cluster (the only one when there is one and no name is given).
pub async fn map_roles_stored(client: &ApiClient, name: Option<&str>, roles: &[String]) -> Result<()> {
    let path = match name {
        Some(n) => format!("/webapi/resources/trusted_cluster/{n}"),
        None => "/webapi/resources/trusted_cluster".to_string(),
    };
    let found: Vec<Resource> = client.get(&path).await?;
    let tcs: Vec<_> = found
        .into_iter()
        .filter_map(|r| match r {
            Resource::TrustedCluster(tc) => Some(tc),
            _ => None,
        })
        .collect();
    let tc = match tcs.as_slice() {
        [one] => one,
        [] => bail!("no trusted cluster is stored here; test a file with --file=trusted_cluster.yaml"),
        _ => bail!("several trusted clusters are stored; say which with --name=NAME"),
    };
    print_mapping(&tc.metadata.name, &tc.spec.role_map, roles)
}

fn print_mapping(cluster: &str, rules: &[RoleMapRule], roles: &[String]) -> Result<()> {
    let map =
        RoleMap::compile(rules).map_err(|e| anyhow::anyhow!("trusted_cluster {cluster:?}: spec.role_map: {e}"))?;
    let mut rows = Vec::new();
    for role in roles {
        let hits = map.explain(role);
        if hits.is_empty() {
            rows.push(vec![role.clone(), "(none)".into(), "no rule matches".into()]);
        }
        for (index, locals) in hits {
            let rule = rules.get(index).map(ToString::to_string).unwrap_or_default();
            rows.push(vec![role.clone(), locals.join(", "), format!("#{} {rule}", index + 1)]);
        }
    }
    println!("Role map of trusted cluster {cluster}:");
    println!("{}", tether_cli::table::render(&["Remote Role", "Local Roles", "Rule"], rows));
    match map.map(roles) {
        Ok(mapped) => println!("Users with roles [{}] get: {}", roles.join(", "), mapped.join(", ")),
        Err(e) => println!("Users with roles [{}] get nothing: {e}", roles.join(", ")),
    }
    Ok(())
}

/// What `tctl trusted-cluster doctor` checks.
pub struct DoctorTarget {
    /// A stored trusted cluster (leaf side).
    pub root: Option<String>,
    /// A trusted_cluster file (leaf side, not stored).
    pub file: Option<std::path::PathBuf>,
    /// A remote cluster (root side).
    pub leaf: Option<String>,
}

/// Runs the doctor on the daemon and prints its report; fails when a check failed.
pub async fn doctor(
    client: &ApiClient,
    target: DoctorTarget,
    roles: Vec<String>,
    format: crate::cli::ReportFormat,
) -> Result<()> {
    use tether_shared::api::{DoctorReport, DoctorRequest};
    let report: DoctorReport = if let Some(leaf) = target.leaf {
        let req = DoctorRequest { name: Some(leaf), resource: None, roles };
        client.post("/webapi/remoteclusters/doctor", &req).await?
    } else {
        let resource = match &target.file {
            Some(file) => {
                let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
                let found = parse_resources(&file.display().to_string(), &text)
                    .map_err(anyhow::Error::msg)?
                    .into_iter()
                    .find_map(|r| match r {
                        Resource::TrustedCluster(tc) => Some(tc),
                        _ => None,
                    });
                Some(found.with_context(|| format!("{}: no trusted_cluster resource in the file", file.display()))?)
            }
            None => None,
        };
        let req = DoctorRequest { name: target.root, resource, roles };
        client.post("/webapi/trustedclusters/doctor", &req).await?
    };
    let failed = report.checks.iter().filter(|c| !c.ok).count();
    match format {
        crate::cli::ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        crate::cli::ReportFormat::Text => {
            println!("Trust between {} (here) and {}:", report.cluster, report.peer);
            for c in &report.checks {
                println!("{} {}: {}", if c.ok { "✓" } else { "✗" }, c.check, c.detail);
                if let Some(w) = &c.warning {
                    println!("    warning: {w}");
                }
                if let Some(fix) = &c.fix {
                    println!("    fix: {fix}");
                }
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} checks failed", report.checks.len());
    }
    Ok(())
}
