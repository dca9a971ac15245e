//! One transport on a leaf's agent: the root asked for a node of this cluster (or its web API)
//! for a user. It checks that the trust is still active, finds the node, dials it with the
//! user's address signed (`dial.rs`), answers the root with a status line, then relays bytes.

use russh::Channel;
use tether_auth::AuthService;
use tether_edge::listen::DIAL_TIMEOUT;
use tether_shared::proxy_header::Signer;
use tether_shared::tunnel::{STATUS_OK, WEB_TARGET};
use tokio::io::AsyncWriteExt;

/// The user's address from a transport's originator fields. A root from before signed
/// addresses sends `127.0.0.1` port 0: no address then, and the node counts the connection by
/// this proxy's socket, as before.
pub(super) fn originator(address: &str, port: u32) -> Option<std::net::SocketAddr> {
    let ip = address.parse::<std::net::IpAddr>().ok().filter(|ip| !ip.is_unspecified())?;
    let port = u16::try_from(port).ok().filter(|p| *p != 0)?;
    Some(std::net::SocketAddr::new(ip, port))
}

/// What a transport asks for: a node (or [`WEB_TARGET`]) for a user.
pub(super) struct Wanted<'a> {
    pub(super) name: &'a str,
    pub(super) port: u16,
    /// The user's address, from the root.
    pub(super) client: Option<std::net::SocketAddr>,
    pub(super) signer: &'a Signer,
}

/// Dials a transport's target inside this leaf, reports the outcome, relays bytes.
pub(super) async fn run(
    channel: Channel<russh::client::Msg>,
    auth: &AuthService,
    (root, leaf): (&str, &str),
    web_addr: &str,
    to: Wanted<'_>,
) {
    let Wanted { name: target, port, client, signer } = to;
    let (mut stream, pump) = super::flow::wrap(channel);
    // The frames move while the transport runs, and until both directions have ended.
    let relay = async move {
        // The tunnel may outlive a trust disabled a moment ago: every transport checks it first,
        // so a root no longer trusted learns nothing of this cluster's nodes, not even by timing.
        // (address, the node's name when it is a node)
        let addr = if !auth.trust().trust_active(root).await {
            Err(format!("cluster {leaf} no longer trusts cluster {root} (the trust is disabled or removed)"))
        } else if target == WEB_TARGET {
            Ok((web_addr.to_string(), None))
        } else {
            match auth.nodes().find_node(target, (port != 0).then_some(port)).await {
                Ok(Some(node)) => Ok((node.spec.addr, Some(node.metadata.name))),
                Ok(None) => Err(format!("node {target:?} not found in cluster {leaf}")),
                Err(e) => Err(format!("cluster {leaf}: {e}")),
            }
        };
        let dialled = match (addr, client) {
            (Ok((addr, Some(node))), Some(client)) => crate::dial::node(&addr, &node, client, signer)
                .await
                .map_err(|e| format!("node {target:?} at {addr} in cluster {leaf} is unreachable: {e}")),
            (Ok((addr, _)), _) => match tokio::time::timeout(DIAL_TIMEOUT, tokio::net::TcpStream::connect(&addr)).await
            {
                Ok(Ok(tcp)) => Ok(tcp),
                Ok(Err(e)) => Err(format!("node {target:?} at {addr} in cluster {leaf} is unreachable: {e}")),
                Err(_) => {
                    Err(format!("node {target:?} at {addr} in cluster {leaf} did not answer within {DIAL_TIMEOUT:?}"))
                }
            },
            (Err(e), _) => Err(e),
        };
        match dialled {
            Ok(mut tcp) => {
                let _ = tcp.set_nodelay(true);
                if stream.write_all(format!("{STATUS_OK}\n").as_bytes()).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional_with_sizes(&mut stream, &mut tcp, 64 * 1024, 64 * 1024).await;
                }
            }
            Err(why) => {
                tracing::info!("tunnel: transport refused: {why}");
                let _ = stream.write_all(format!("ERR {why}\n").as_bytes()).await;
                let _ = stream.shutdown().await;
            }
        }
    };
    tokio::join!(relay, pump);
}

#[cfg(test)]
mod tests {
    use super::originator;

    #[test]
    fn only_a_real_address_and_port_from_the_root_is_signed_on() {
        assert_eq!(originator("192.0.2.7", 50123), Some("192.0.2.7:50123".parse().unwrap()));
        assert_eq!(originator("2001:db8::7", 22), Some("[2001:db8::7]:22".parse().unwrap()));
        assert_eq!(originator("127.0.0.1", 0), None, "an older root's placeholder");
        assert_eq!(originator("0.0.0.0", 22), None);
        assert_eq!(originator("localhost", 22), None, "not an address");
        assert_eq!(originator("192.0.2.7", 70_000), None, "not a port");
    }
}
