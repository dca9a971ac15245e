//! The byte relay between an SSH channel and a local socket, shared by port forwards (a TCP
//! connection) and agent forwarding (a Unix socket). The client's data is taken off the
//! connection at once and queued against the connection's throttle (`inbound.rs`), never by
//! pausing the connection.

use std::sync::Arc;

use russh::{Channel, ChannelId};

use crate::inbound;
use crate::session;

/// Relays bytes between a forwarded channel and a local socket until both directions end; the
/// client's data is drained off the connection at once (inbound.rs).
pub(super) async fn relay_channel<S, L>(channel: Channel<S>, throttle: &Arc<inbound::Throttle>, local: &mut L)
where
    S: From<(ChannelId, russh::ChannelMsg)> + Send + Sync + 'static,
    L: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut reader, writer, pump) = inbound::drain(channel, throttle);
    let (mut local_r, mut local_w) = tokio::io::split(local);
    let outward = async {
        let _ = tokio::io::copy(&mut reader, &mut local_w).await;
        let _ = local_w.shutdown().await;
    };
    let inward = async {
        let mut buf = vec![0u8; session::READ_CHUNK];
        while let Ok(n) = local_r.read(&mut buf).await {
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else { break };
            if writer.data_bytes(chunk.to_vec()).await.is_err() {
                return;
            }
        }
        let _ = writer.eof().await;
    };
    tokio::join!(outward, inward, pump);
}
