//! Dialling a node for a user: the TCP connection, then the signed PROXY header that tells the
//! node who the user really is (`tether_shared::proxy_header`), before a byte of SSH. Both ways
//! to a node go through here: the relay to a node of its own cluster, and a leaf's tunnel agent
//! to a node of the leaf (with the address the root's relay saw, carried over the tunnel).

use std::net::SocketAddr;
use std::time::SystemTime;

use tether_edge::listen::DIAL_TIMEOUT;
use tether_shared::proxy_header::Signer;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Connects to `node` at `addr` for the user at `client`, and writes the header signed by
/// `signer`. The error is the cause, for the user's message.
pub async fn node(addr: &str, node: &str, client: SocketAddr, signer: &Signer) -> Result<TcpStream, String> {
    let mut tcp = match tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err(format!("no answer within {DIAL_TIMEOUT:?}")),
    };
    let _ = tcp.set_nodelay(true);
    let server = tcp.peer_addr().map_err(|e| e.to_string())?;
    let header = signer.header(client, server, node, SystemTime::now()).map_err(|e| e.to_string())?;
    tcp.write_all(&header).await.map_err(|e| format!("cannot send the client's address: {e}"))?;
    Ok(tcp)
}
