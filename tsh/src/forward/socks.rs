//! The SOCKS5 side of `-D` (RFC 1928: no authentication, CONNECT only): the handshake that
//! names a target, and the replies for each way it can fail.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Result;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::spec::join_host_port;
use super::{Opener, SOCKS_HANDSHAKE_TIMEOUT, relay};

// SOCKS5 (RFC 1928): no authentication, CONNECT only.
pub(super) const SOCKS_VERSION: u8 = 5;
pub(super) const SOCKS_NO_AUTH: u8 = 0;
pub(super) const SOCKS_NO_METHOD: u8 = 0xFF;
pub(super) const SOCKS_CONNECT: u8 = 1;
pub(super) const SOCKS_IPV4: u8 = 1;
pub(super) const SOCKS_DOMAIN: u8 = 3;
pub(super) const SOCKS_IPV6: u8 = 4;
pub(super) const SOCKS_OK: u8 = 0;
pub(super) const SOCKS_FAILURE: u8 = 1;
pub(super) const SOCKS_NOT_ALLOWED: u8 = 2;
pub(super) const SOCKS_REFUSED: u8 = 5;
pub(super) const SOCKS_BAD_COMMAND: u8 = 7;
pub(super) const SOCKS_BAD_ADDRESS: u8 = 8;

/// Why a SOCKS5 handshake ended without a target.
#[derive(Debug)]
pub(super) struct SocksRefusal(&'static str);

/// Reads a SOCKS5 greeting and CONNECT request; replies to failures itself.
pub(super) async fn socks_target<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S) -> Result<(String, u16), SocksRefusal> {
    let io = |_| SocksRefusal("the client went away during the handshake");
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await.map_err(io)?;
    if head[0] != SOCKS_VERSION {
        return Err(SocksRefusal("not a SOCKS5 client"));
    }
    let mut methods = vec![0u8; usize::from(head[1])];
    s.read_exact(&mut methods).await.map_err(io)?;
    if !methods.contains(&SOCKS_NO_AUTH) {
        let _ = s.write_all(&[SOCKS_VERSION, SOCKS_NO_METHOD]).await;
        return Err(SocksRefusal("the client offers no method without authentication"));
    }
    s.write_all(&[SOCKS_VERSION, SOCKS_NO_AUTH]).await.map_err(io)?;
    let mut request = [0u8; 4];
    s.read_exact(&mut request).await.map_err(io)?;
    if request[0] != SOCKS_VERSION {
        return Err(SocksRefusal("not a SOCKS5 request"));
    }
    if request[1] != SOCKS_CONNECT {
        socks_reply(s, SOCKS_BAD_COMMAND).await;
        return Err(SocksRefusal("only CONNECT is supported"));
    }
    let host = match request[3] {
        SOCKS_IPV4 => {
            let mut a = [0u8; 4];
            s.read_exact(&mut a).await.map_err(io)?;
            Ipv4Addr::from(a).to_string()
        }
        SOCKS_IPV6 => {
            let mut a = [0u8; 16];
            s.read_exact(&mut a).await.map_err(io)?;
            Ipv6Addr::from(a).to_string()
        }
        SOCKS_DOMAIN => {
            let mut len = [0u8; 1];
            s.read_exact(&mut len).await.map_err(io)?;
            let mut name = vec![0u8; usize::from(len[0])];
            s.read_exact(&mut name).await.map_err(io)?;
            match String::from_utf8(name) {
                Ok(name) if !name.is_empty() => name,
                _ => {
                    socks_reply(s, SOCKS_BAD_ADDRESS).await;
                    return Err(SocksRefusal("the host name is not valid text"));
                }
            }
        }
        _ => {
            socks_reply(s, SOCKS_BAD_ADDRESS).await;
            return Err(SocksRefusal("unknown address type"));
        }
    };
    let mut port = [0u8; 2];
    s.read_exact(&mut port).await.map_err(io)?;
    Ok((host, u16::from_be_bytes(port)))
}

/// A SOCKS5 reply with `code` and an unspecified bound address.
pub(super) async fn socks_reply<S: AsyncWrite + Unpin>(s: &mut S, code: u8) {
    let _ = s.write_all(&[SOCKS_VERSION, code, 0, SOCKS_IPV4, 0, 0, 0, 0, 0, 0]).await;
}

/// One `-D` connection: the handshake (within [`SOCKS_HANDSHAKE_TIMEOUT`]), then a channel.
pub(super) async fn socks(mut tcp: TcpStream, origin: SocketAddr, bound: SocketAddr, opener: &Opener) {
    let (host, port) = match tokio::time::timeout(SOCKS_HANDSHAKE_TIMEOUT, socks_target(&mut tcp)).await {
        Ok(Ok(target)) => target,
        Ok(Err(SocksRefusal(why))) => {
            tracing::debug!("SOCKS5 client {origin}: {why}");
            return;
        }
        Err(_) => {
            tracing::debug!("SOCKS5 client {origin}: no request within {SOCKS_HANDSHAKE_TIMEOUT:?}");
            return;
        }
    };
    match opener.direct(&host, port, origin).await {
        Ok(channel) => {
            socks_reply(&mut tcp, SOCKS_OK).await;
            relay(channel, tcp).await;
        }
        Err(e) => {
            e.show(&format!("dynamic forward {bound} -> {}", join_host_port(&host, port)));
            socks_reply(&mut tcp, e.socks_code()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn socks_handshake() {
        // Domain name request.
        let (mut client, mut server) = tokio::io::duplex(1024);
        let task = tokio::spawn(async move { socks_target(&mut server).await.map_err(|e| e.0) });
        client.write_all(&[5, 2, 2, 0]).await.unwrap();
        let mut reply = [0u8; 2];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, [5, 0]);
        client.write_all(&[5, 1, 0, 3, 2, b'd', b'b', 0x15, 0x38]).await.unwrap();
        assert_eq!(task.await.unwrap(), Ok(("db".to_string(), 5432)));

        // IPv6, and a BIND command refused with code 7.
        let (mut client, mut server) = tokio::io::duplex(1024);
        let task = tokio::spawn(async move { socks_target(&mut server).await.map_err(|e| e.0) });
        client.write_all(&[5, 1, 0]).await.unwrap();
        let mut reply = [0u8; 2];
        client.read_exact(&mut reply).await.unwrap();
        client.write_all(&[5, 2, 0, 4]).await.unwrap();
        let mut refused = [0u8; 10];
        client.read_exact(&mut refused).await.unwrap();
        assert_eq!(refused[..2], [5, SOCKS_BAD_COMMAND]);
        assert_eq!(task.await.unwrap(), Err("only CONNECT is supported"));

        // Authentication required by the client: no acceptable method.
        let (mut client, mut server) = tokio::io::duplex(1024);
        let task = tokio::spawn(async move { socks_target(&mut server).await.map_err(|e| e.0) });
        client.write_all(&[5, 1, 2]).await.unwrap();
        let mut reply = [0u8; 2];
        client.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, [5, SOCKS_NO_METHOD]);
        assert!(task.await.unwrap().is_err());
    }
}
