//! Parsing `-L`, `-R` and `-D` specs the way OpenSSH writes them (`[bind_address:]port:host:hostport`,
//! IPv6 in brackets) into the forwards a session asks for.

use std::path::PathBuf;

use anyhow::{Result, bail};

use super::DEFAULT_REMOTE_BIND;

/// `-L [bind_address:]port:host:hostport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalForward {
    /// Where tsh listens.
    pub bind: String,
    /// The local port (0: one the kernel picks, printed).
    pub port: u16,
    /// The target, as the node resolves it.
    pub host: String,
    /// The target's port.
    pub host_port: u16,
}

/// `-R [bind_address:]port:host:hostport`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteForward {
    /// The address sent to the node (it listens on loopback whatever this says).
    pub bind: String,
    /// The node's port (0: one the node picks, printed).
    pub port: u16,
    /// The target, as tsh resolves it.
    pub host: String,
    /// The target's port.
    pub host_port: u16,
}

/// `-D [bind_address:]port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicForward {
    /// Where the SOCKS5 proxy listens.
    pub bind: String,
    /// Its port (0: one the kernel picks, printed).
    pub port: u16,
}

/// Everything `tsh ssh` forwards, from its flags.
#[derive(Debug, Default)]
pub struct Forwarding {
    /// `-L`.
    pub local: Vec<LocalForward>,
    /// `-R`.
    pub remote: Vec<RemoteForward>,
    /// `-D`.
    pub dynamic: Vec<DynamicForward>,
    /// `-N`: no command; hold the forwards until interrupted.
    pub no_command: bool,
    /// `-A`: the local agent's socket.
    pub agent: Option<PathBuf>,
}

/// Splits a spec at the colons outside `[...]`, dropping the brackets; `None` if they do not pair.
pub(super) fn fields(spec: &str) -> Option<Vec<String>> {
    let mut out = vec![String::new()];
    let mut bracket = false;
    for c in spec.chars() {
        match c {
            '[' if !bracket => bracket = true,
            ']' if bracket => bracket = false,
            '[' | ']' => return None,
            ':' if !bracket => out.push(String::new()),
            c => out.last_mut()?.push(c),
        }
    }
    (!bracket).then_some(out)
}

/// A local bind address: empty or `*` means every interface, `localhost` the IPv4 loopback.
pub(super) fn local_bind(bind: &str) -> String {
    match bind {
        "" | "*" => "0.0.0.0".into(),
        "localhost" => "127.0.0.1".into(),
        other => other.to_string(),
    }
}

/// `host:port`, with brackets around an IPv6 host.
pub fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") }
}

/// `[bind:]port:host:hostport` → (bind, port, host, hostport).
pub(super) fn parse_forward(flag: &str, spec: &str) -> Result<(Option<String>, u16, String, u16)> {
    let bad = || anyhow::anyhow!("bad {flag} spec {spec:?}: expected [bind_address:]port:host:hostport");
    let parts = fields(spec).ok_or_else(bad)?;
    let (bind, port, host, target_port) = match parts.as_slice() {
        [port, host, target_port] => (None, port, host, target_port),
        [bind, port, host, target_port] => (Some(bind.clone()), port, host, target_port),
        _ => return Err(bad()),
    };
    let port = port.parse::<u16>().map_err(|_| bad())?;
    let host = host.clone();
    let target_port = target_port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?;
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    Ok((bind, port, host, target_port))
}

impl Forwarding {
    /// Reads the flags; `agent` needs `SSH_AUTH_SOCK`.
    pub fn parse(
        local: &[String],
        remote: &[String],
        dynamic: &[String],
        no_command: bool,
        agent: bool,
    ) -> Result<Forwarding> {
        let mut fwd = Forwarding { no_command, ..Forwarding::default() };
        for spec in local {
            let (bind, port, host, host_port) = parse_forward("-L", spec)?;
            let bind = bind.map_or_else(|| "127.0.0.1".into(), |b| local_bind(&b));
            fwd.local.push(LocalForward { bind, port, host, host_port });
        }
        for spec in remote {
            let (bind, port, host, host_port) = parse_forward("-R", spec)?;
            let bind = bind.filter(|b| !b.is_empty()).unwrap_or_else(|| DEFAULT_REMOTE_BIND.into());
            fwd.remote.push(RemoteForward { bind, port, host, host_port });
        }
        for spec in dynamic {
            let bad = || anyhow::anyhow!("bad -D spec {spec:?}: expected [bind_address:]port");
            let parts = fields(spec).ok_or_else(bad)?;
            let (bind, port) = match parts.as_slice() {
                [port] => ("127.0.0.1".to_string(), port),
                [bind, port] => (local_bind(bind), port),
                _ => return Err(bad()),
            };
            let port = port.parse::<u16>().map_err(|_| bad())?;
            fwd.dynamic.push(DynamicForward { bind, port });
        }
        if agent {
            match std::env::var_os("SSH_AUTH_SOCK").filter(|s| !s.is_empty()) {
                Some(sock) => fwd.agent = Some(PathBuf::from(sock)),
                None => bail!(
                    "-A forwards your SSH agent, but SSH_AUTH_SOCK is not set: start one (eval \"$(ssh-agent)\"; ssh-add) or drop -A"
                ),
            }
        }
        Ok(fwd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(l: &[&str], r: &[&str], d: &[&str]) -> Result<Forwarding> {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Forwarding::parse(&v(l), &v(r), &v(d), false, false)
    }

    #[test]
    fn specs_parse() {
        let f = parse(&["8080:db:5432", "0.0.0.0:1:[::1]:22"], &["0:localhost:80", "[::1]:9:h:1"], &["1080", "*:1081"])
            .unwrap();
        assert_eq!(
            f.local[0],
            LocalForward { bind: "127.0.0.1".into(), port: 8080, host: "db".into(), host_port: 5432 }
        );
        assert_eq!(f.local[1], LocalForward { bind: "0.0.0.0".into(), port: 1, host: "::1".into(), host_port: 22 });
        assert_eq!(f.remote[0].bind, "localhost");
        assert_eq!((f.remote[1].bind.as_str(), f.remote[1].port), ("::1", 9));
        assert_eq!(
            f.dynamic,
            vec![
                DynamicForward { bind: "127.0.0.1".into(), port: 1080 },
                DynamicForward { bind: "0.0.0.0".into(), port: 1081 }
            ]
        );
        assert_eq!(join_host_port("::1", 22), "[::1]:22");
    }

    #[test]
    fn bad_specs_say_what_is_expected() {
        for bad in ["x", "8080:db", "a:b:c:d:e", "70000:db:1", "1:db:0", "1:db:x", "1::2", "[::1:1:h:2", "1:h h:2"] {
            let e = parse(&[bad], &[], &[]).unwrap_err().to_string();
            assert_eq!(e, format!("bad -L spec {bad:?}: expected [bind_address:]port:host:hostport"));
        }
        let e = parse(&[], &["1:2"], &[]).unwrap_err().to_string();
        assert!(e.starts_with("bad -R spec \"1:2\""), "{e}");
        let e = parse(&[], &[], &["a:b:c"]).unwrap_err().to_string();
        assert_eq!(e, "bad -D spec \"a:b:c\": expected [bind_address:]port");
    }
}
