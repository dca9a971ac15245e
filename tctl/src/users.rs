//! `tctl users add|ls|rm|reset`.

use anyhow::Result;
use tether_client::client::ApiClient;
use tether_shared::api::{CreateUserRequest, InviteResponse};
use tether_shared::resource::Resource;

use crate::cli::UsersCommand;
use crate::output::{print_invite, table};

/// Runs one users command.
pub async fn run(client: &ApiClient, cmd: UsersCommand) -> Result<()> {
    match cmd {
        UsersCommand::Add { name, roles, logins } => {
            let req = CreateUserRequest { name: name.clone(), roles, logins };
            let invite: InviteResponse = client.post("/webapi/users", &req).await?;
            println!("User {name:?} has been created but requires a password. Share this command with the user");
            print_invite(client.addr(), &invite);
        }
        UsersCommand::Reset { name } => {
            let invite: InviteResponse = client.post(&format!("/webapi/users/{name}/reset"), &()).await?;
            println!("User {name:?} has been reset. Share this command with the user to set a new password");
            print_invite(client.addr(), &invite);
        }
        UsersCommand::Ls => {
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
