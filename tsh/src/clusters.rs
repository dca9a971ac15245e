//! `tsh clusters`: the root and the leaf clusters the user's roles may see (`cluster_labels`),
//! marking the one commands target. Choosing that cluster and reaching a leaf's web API are
//! context.rs's.

use anyhow::Result;
use tether_shared::api::ClusterInfo;

use crate::cli::Global;
use crate::context::{fetch, live_credentials, selected};

/// `tsh clusters`.
pub async fn list(global: &Global, format: &str) -> Result<()> {
    let (creds, insecure) = live_credentials(global)?;
    let clusters = fetch(global, &creds, insecure).await?;
    let chosen = selected(global).unwrap_or_else(|| creds.cluster.clone());
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&rows_json(&clusters, &chosen))?),
        "yaml" => print!("{}", serde_yaml_ng::to_string(&rows_json(&clusters, &chosen))?),
        _ => {
            let rows = clusters
                .iter()
                .map(|c| {
                    let mark = if c.name == chosen { "*" } else { "" };
                    vec![c.name.clone(), c.status.clone(), c.cluster_type.clone(), mark.to_string()]
                })
                .collect();
            println!("{}", tether_cli::table::render(&["Cluster Name", "Status", "Cluster Type", "Selected"], rows));
        }
    }
    Ok(())
}

fn rows_json(clusters: &[ClusterInfo], chosen: &str) -> Vec<serde_json::Value> {
    clusters
        .iter()
        .map(|c| {
            serde_json::json!({
                "cluster_name": c.name,
                "status": c.status,
                "cluster_type": c.cluster_type,
                "selected": c.name == chosen,
            })
        })
        .collect()
}
