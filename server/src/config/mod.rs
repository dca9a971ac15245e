//! The daemon's configuration file, `tether.yaml`, written with the key names of Teleport's
//! `teleport.yaml` (`teleport`, `auth_service`, `proxy_service`, `ssh_service`): this module
//! owns reading it ([`load`], [`parse`]) and the sample `tether configure` prints
//! ([`sample_config`]); the pieces live in one file per concern:
//!
//! - `schema.rs`: what the file looks like (the serde structs, values checked as they are read);
//! - `resolve.rs`: from the file as written to the settings (defaults, addresses, paths,
//!   checks spanning several keys);
//! - `settings.rs`: the resolved [`Config`] the daemon runs with, its defaults, and
//!   [`Config::default_all_in_one`] for when there is no file;
//! - `sample.yaml`: the commented sample, every key with its default (a test parses it).
//!
//! Reading is strict: an unknown key, a wrong type or an invalid value is one [`ConfigError`] that
//! names the file, line, column and key path, e.g. `tether.yaml:12:3: proxy_service.web_listen:
//! unknown field `web_listen` (known fields: ...)` (the YAML reading and the error's form are
//! `tether_shared::yaml`'s, shared with resource files). Values are checked where they are
//! written (addresses, severities, storage types, static tokens); checks that span several keys
//! run after reading and point at the key they concern.
//!
//! What is read becomes a resolved [`Config`]: every default applied, listen addresses parsed
//! into `SocketAddr`s (`:3025` means `0.0.0.0:3025`), relative file paths (`storage.path`, a log
//! file, HTTPS key pairs) joined to `data_dir`. Each service is an `Option`: `None` means the
//! service does not run. A service section present in the file runs unless it says
//! `enabled: false`; a section absent from the file does not run, except that a file with no
//! service section at all runs all three (so an empty file, like no file, gives a whole cluster
//! on one host).

use std::path::Path;

mod resolve;
mod schema;
mod settings;

pub use settings::*;

/// Why the configuration could not be loaded. Its `Display` is one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read the config file: {error}")]
    Read {
        /// The path as given.
        file: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file was read but is not a valid configuration.
    #[error("{0}")]
    Invalid(InvalidConfig),
}

impl ConfigError {
    /// True when the file does not exist (the daemon then falls back to
    /// [`Config::default_all_in_one`]).
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn is_not_found(&self) -> bool {
        matches!(self, ConfigError::Read { error, .. } if error.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The first problem found in a config file, with where it is: the same shape and one-line
/// form (`file:line:column: key.path: message`) as resource errors.
pub type InvalidConfig = tether_shared::yaml::ParseError;

/// Reads and resolves the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read { file: file.clone(), error })?;
    parse(&file, &text)
}

/// Parses and resolves config `text`; `file_name` names it in error messages.
pub fn parse(file_name: &str, text: &str) -> Result<Config, ConfigError> {
    let raw: Option<schema::RawFile> = tether_shared::yaml::from_str(file_name, text).map_err(ConfigError::Invalid)?;
    resolve::resolve(file_name, text, raw.unwrap_or_default()).map_err(ConfigError::Invalid)
}

/// The commented sample config printed by `tether configure` (`config/sample.yaml`). Every key
/// is shown; the values written are the defaults, and lines starting with `#key:` (no space after
/// `#`) are optional keys with an example value.
pub fn sample_config() -> &'static str {
    include_str!("sample.yaml")
}

#[cfg(test)]
mod tests;
