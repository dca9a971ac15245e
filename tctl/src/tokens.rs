//! `tctl tokens add|ls|rm`, printed the way the guide shows them.

use anyhow::{Context, Result};
use tether_client::client::ApiClient;
use tether_shared::api::{CreateTokenRequest, TokenInfo};
use tether_shared::duration::GoDuration;
use tether_shared::labels::{format_labels, parse_label_list};
use tether_shared::resource::TokenType;

use crate::cli::{TokenTypeArg, TokensCommand};
use crate::output::{expiry_cell, table};

/// Runs one tokens command.
pub async fn run(client: &ApiClient, cmd: TokensCommand) -> Result<()> {
    match cmd {
        TokensCommand::Add { token_type, ttl, labels } => {
            let ttl: GoDuration = ttl.parse().context("--ttl")?;
            let labels = labels.as_deref().map(parse_label_list).transpose().map_err(anyhow::Error::msg)?;
            let token_type = match token_type {
                TokenTypeArg::TrustedCluster => TokenType::TrustedCluster,
                TokenTypeArg::Node => TokenType::Node,
            };
            let req = CreateTokenRequest { token_type, ttl_secs: ttl.0.as_secs(), labels: labels.unwrap_or_default() };
            let info: TokenInfo = client.post("/webapi/tokens", &req).await?;
            match token_type {
                TokenType::TrustedCluster => {
                    println!("The cluster invite token: {}", info.token);
                    println!("This token will expire in {}", ttl.human());
                    println!("It is stored hashed: copy it now, it cannot be shown again.");
                    println!();
                    println!("Use this token when defining a trusted cluster resource on a remote cluster.");
                }
                TokenType::Node => {
                    println!("The invite token: {}", info.token);
                    println!("This token will expire in {}", ttl.human());
                    println!("It is stored hashed: copy it now, it cannot be shown again.");
                    println!();
                    println!("Put it in the new node's tether.yaml and start it:");
                    println!("  teleport:\n    auth_token: {}\n    proxy_server: {}", info.token, client.addr());
                    // The CA pin lets the node verify the proxy at its join, without --insecure.
                    if let Ok(ping) = client.ping().await {
                        let pins: Vec<String> =
                            ping.tls_cas.iter().filter_map(|pem| tether_shared::tls_cert::ca_pin(pem)).collect();
                        if !pins.is_empty() {
                            println!("    ca_pin: {}", pins.join(","));
                        }
                    }
                }
            }
        }
        TokensCommand::Ls { format: crate::cli::ReportFormat::Json } => {
            let tokens: Vec<TokenInfo> = client.get("/webapi/tokens").await?;
            println!("{}", serde_json::to_string_pretty(&tokens)?);
        }
        TokensCommand::Ls { .. } => {
            let tokens: Vec<TokenInfo> = client.get("/webapi/tokens").await?;
            let rows = tokens
                .iter()
                .map(|t| {
                    vec![t.token.clone(), t.token_type.to_string(), format_labels(&t.labels), expiry_cell(t.expires)]
                })
                .collect();
            println!("{}", table(&["Token", "Type", "Labels", "Expiry Time (UTC)"], rows));
        }
        TokensCommand::Rm { token } => {
            let info: TokenInfo = client.delete(&format!("/webapi/tokens/{token}")).await?;
            println!("Token {} has been deleted", info.token);
        }
    }
    Ok(())
}
