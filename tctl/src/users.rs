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
        UsersCommand::Rm { name } => {
            let _: Vec<String> = client.delete(&format!("/webapi/resources/user/{name}")).await?;
            println!("User {name:?} has been deleted");
        }
    }
    Ok(())
}
