//! `tctl users add|ls|rm|reset`.

use anyhow::Result;
use tether_client::client::ApiClient;
use tether_shared::api::{CreateUserRequest, InviteResponse};
use tether_shared::resource::Resource;

use crate::cli::UsersCommand;
use crate::output::{print_invite, table};

/// The pins of the cluster's TLS CAs, as the proxy lists them (over tctl's verified connection).
async fn ca_pins(client: &ApiClient) -> Vec<String> {
    match client.ping().await {
        Ok(ping) => ping.tls_cas.iter().filter_map(|pem| tether_shared::tls_cert::ca_pin(pem)).collect(),
        Err(_) => Vec::new(),
    }
}

/// Runs one users command.
pub async fn run(client: &ApiClient, cmd: UsersCommand) -> Result<()> {
    match cmd {
        UsersCommand::Add { name, roles, logins } => {
            let req = CreateUserRequest { name: name.clone(), roles, logins };
            let invite: InviteResponse = client.post("/webapi/users", &req).await?;
            println!("User {name:?} has been created but requires a password. Share this command with the user");
            print_invite(client.addr(), &invite, &ca_pins(client).await);
        }
        UsersCommand::Reset { name } => {
            let invite: InviteResponse = client.post(&format!("/webapi/users/{name}/reset"), &()).await?;
            println!("User {name:?} has been reset. Share this command with the user to set a new password");
            print_invite(client.addr(), &invite, &ca_pins(client).await);
        }
        UsersCommand::Ls { format: crate::cli::ReportFormat::Json } => {
            let users: Vec<Resource> = client.get("/webapi/resources/user").await?;
            println!("{}", serde_json::to_string_pretty(&users)?);
        }
        UsersCommand::Ls { .. } => {
            let users: Vec<Resource> = client.get("/webapi/resources/user").await?;
            let rows = users
                .iter()
                .filter_map(|r| match r {
                    Resource::User(u) => Some(vec![u.metadata.name.clone(), u.spec.roles.join(",")]),
                    _ => None,
                })
                .collect();
            println!("{}", table(&["User", "Roles"], rows));
        }
        UsersCommand::Expand { name, format } => {
            let x: tether_shared::api::UserExpansion = client.get(&format!("/webapi/users/{name}/expand")).await?;
            if format == crate::cli::ReportFormat::Json {
                println!("{}", serde_json::to_string_pretty(&x)?);
                return Ok(());
            }
            print_expansion(&x);
        }
        UsersCommand::Rm { name } => {
            let _: Vec<String> = client.delete(&format!("/webapi/resources/user/{name}")).await?;
            println!("User {name:?} has been deleted");
        }
    }
    Ok(())
}

/// `tctl users expand` as text.
fn print_expansion(x: &tether_shared::api::UserExpansion) {
    let traits: Vec<String> = x.traits.iter().map(|(k, v)| format!("{k}=[{}]", v.join(", "))).collect();
    println!("User:     {}", x.user);
    println!("Roles:    {}", x.roles.join(", "));
    println!("Traits:   {}", if traits.is_empty() { "none".to_string() } else { traits.join(" ") });
    println!("Logins:   {}", if x.logins.is_empty() { "none".to_string() } else { x.logins.join(", ") });
    for (login, why) in &x.dropped_logins {
        println!("Left out: {login:?} ({why})");
    }
    let selectors = |s: &[(String, Vec<String>)]| -> String {
        s.iter()
            .map(|(k, v)| {
                let key = if k.is_empty() { "(a key template with no value: matches nothing)" } else { k };
                format!("{key}=[{}]", v.join(", "))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    for role in &x.expanded {
        println!();
        println!("Role {}:", role.role);
        for (side, s) in [("allow", &role.allow), ("deny", &role.deny)] {
            if !s.logins.is_empty() {
                println!("  {side}.logins:         {}", s.logins.join(", "));
            }
            if !s.node_labels.is_empty() {
                println!("  {side}.node_labels:    {}", selectors(&s.node_labels));
            }
            if !s.cluster_labels.is_empty() {
                println!("  {side}.cluster_labels: {}", selectors(&s.cluster_labels));
            }
        }
    }
}
