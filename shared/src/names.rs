//! Validation of resource names: what a role, user, token, node or cluster may be called.
//!
//! Every resource name must be non-empty, at most 253 bytes, and free of whitespace, control
//! characters and `/` (names appear in `KIND/NAME` references and storage keys). Cluster names
//! are stricter and DNS-like, because they appear in host names (`node.CLUSTER`) and certificates.

/// The host ID in the host certificate of `cluster`'s proxies. It starts with `@`, which no
/// node name may, so a node can never be issued a proxy's certificate.
pub fn proxy_host_id(cluster: &str) -> String {
    format!("@proxy.{cluster}")
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid name {name:?}: {reason}")]
pub struct NameError {
    /// The refused name.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

fn refuse(name: &str, reason: impl Into<String>) -> NameError {
    NameError { name: name.to_string(), reason: reason.into() }
}

/// Checks the rules every resource name follows.
pub fn validate_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(refuse(name, "a name cannot be empty"));
    }
    if name.len() > 253 {
        return Err(refuse(name, "a name is at most 253 characters"));
    }
    if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control() || *c == '/') {
        return Err(refuse(name, format!("it contains the character {c:?}")));
    }
    if name == "." || name == ".." {
        return Err(refuse(name, "`.` and `..` are not names (they would name a path, not a resource)"));
    }
    Ok(())
}

/// Checks a Unix login a user may be given (`--logins`, a user's `traits.logins`): it becomes a
/// certificate principal and a user name on nodes, so it is non-empty, at most 32 characters,
/// without whitespace, control characters, `,` or `/`, and does not start with `-` (which
/// commands would read as an option).
pub fn validate_login(login: &str) -> Result<(), NameError> {
    let refuse = |reason: &str| NameError { name: login.to_string(), reason: reason.to_string() };
    if login.is_empty() {
        return Err(refuse("a login cannot be empty"));
    }
    if login.chars().count() > 32 {
        return Err(refuse("a login is at most 32 characters"));
    }
    if login.starts_with('-') {
        return Err(refuse("a login cannot start with '-'"));
    }
    if login.chars().any(|c| c.is_whitespace() || c.is_control() || c == ',' || c == '/') {
        return Err(refuse("a login cannot contain whitespace, control characters, ',' or '/'"));
    }
    Ok(())
}

/// Checks a cluster name: dot-separated labels of ASCII letters, digits, `-` and `_`, each 1–63
/// characters and not starting or ending with `-`.
pub fn validate_cluster_name(name: &str) -> Result<(), NameError> {
    validate_name(name)?;
    for label in name.split('.') {
        if label.is_empty() {
            return Err(refuse(name, "a cluster name cannot have an empty part between dots"));
        }
        if label.len() > 63 {
            return Err(refuse(name, "each dot-separated part of a cluster name is at most 63 characters"));
        }
        if let Some(c) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_')) {
            return Err(refuse(
                name,
                format!("a cluster name is DNS-like (letters, digits, '-', '_', '.'); it contains {c:?}"),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(refuse(name, "a part of a cluster name cannot start or end with '-'"));
        }
    }
    Ok(())
}

/// Eight random hex digits: tells one process's proxy, or one LISTEN channel, from another's.
pub fn random_hex() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 4];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_names() {
        for n in ["visitor", "demo-cluster-access", "alice@example.com", "node_1"] {
            validate_name(n).unwrap();
        }
        for n in ["rootcluster.example.com", "leaf", "leaf-1.example.com", "a_b.c"] {
            validate_cluster_name(n).unwrap();
        }
    }

    #[test]
    fn logins_that_would_misbehave_as_principals_or_arguments_are_refused() {
        for ok in ["root", "visitor", "web-admin", "user_1", "alice.smith"] {
            assert_eq!(validate_login(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("", "a login cannot be empty"),
            ("-foo", "cannot start with '-'"),
            ("a b", "cannot contain whitespace"),
            ("a,b", "cannot contain whitespace, control characters, ','"),
            ("x".repeat(33).as_str(), "at most 32 characters"),
        ] {
            let err = validate_login(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn refuses_bad_names() {
        for n in ["", "a b", "role/x", "tab\tname", ".", ".."] {
            assert!(validate_name(n).is_err(), "{n:?}");
        }
        for n in ["root..com", "-root", "root-.com", "root cluster", "root:3080", "röot", ".root"] {
            assert!(validate_cluster_name(n).is_err(), "{n:?}");
        }
        assert!(validate_name(&"x".repeat(254)).is_err());
    }
}
