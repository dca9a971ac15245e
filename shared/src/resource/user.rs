//! The `user` resource (v2): a local user's roles and traits. Traits (`logins`,
//! `kubernetes_groups`, …, and any external ones) feed the `{{internal.*}}` / `{{external.*}}`
//! templates of roles. Passwords are not part of the resource.

use serde::{Deserialize, Serialize};

use super::{Kind, NoStatus, Spec, fields};
use crate::identity::Traits;

/// A user's spec.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Names of the user's roles.
    #[serde(default, deserialize_with = "fields::name_list")]
    pub roles: Vec<String>,
    /// Trait name to values.
    #[serde(default, skip_serializing_if = "Traits::is_empty")]
    pub traits: Traits,
}

impl Spec for UserSpec {
    const KIND: Kind = Kind::User;
    const VERSION: &'static str = "v2";
    type Status = NoStatus;

    fn validate(&self, _metadata: &super::Metadata) -> Result<(), (String, String)> {
        for key in self.traits.keys() {
            if key.is_empty() || key.chars().any(char::is_whitespace) {
                return Err(("spec.traits".into(), format!("invalid trait name {key:?}")));
            }
        }
        Ok(())
    }
}

impl UserSpec {
    /// The user's Unix logins (`traits.logins`).
    pub fn logins(&self) -> &[String] {
        self.traits.get("logins").map_or(&[], Vec::as_slice)
    }
}
