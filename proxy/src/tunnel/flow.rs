//! Per-transport flow control on the tunnel, so one reader that stops cannot stall the others.
//!
//! russh re-opens a channel's SSH window as soon as data arrives and slows a sender only by
//! pausing the connection's whole event loop once that channel's queue is full. The tunnel
//! carries every user's transport to a leaf on one connection, so with plain channels a single
//! user who stops reading (a paused pager, a command that never reads its input) would freeze
//! the tunnel for everyone, and its own session with it once the window adjustments it needs sit
//! behind the paused loop. Both ends of a transport are Tether, so they add a window of their
//! own on top, counted where the bytes are *consumed*:
//!
//! - data travels in frames of at most [`FRAME_MAX`] bytes (one SSH data message each);
//! - a sender keeps at most [`CREDIT`] of frame cost unacknowledged, each frame costing at least
//!   [`MIN_COST`], so at most `CREDIT / MIN_COST` frames wait in the receiver's channel queue —
//!   well below [`QUEUE`], the per-channel queue russh is configured with on both ends;
//! - the receiver returns credit once it has handed the bytes on to the local stream.
//!
//! So the event loop never pauses for a transport: a reader that stops holds up its own
//! direction of its own transport, and nothing else.
//!
//! Wire format, the same both ways: a 4-byte big-endian header. High bit clear: a data frame
//! of that many bytes follows, and a header of 0 means the sender has shut its side down. High
//! bit set: an acknowledgement returning the low 31 bits of credit.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use russh::{Channel, ChannelId, ChannelMsg, ChannelWriteHalf};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::sync::{Mutex, Semaphore};

// russh's per-channel message queue on both ends of the tunnel.
use tether_edge::ssh_config::CHANNEL_QUEUE as QUEUE;

/// The most data bytes in one frame: with its header, one SSH data message of at most
/// [`tether_edge::ssh_config::MAX_PACKET_SIZE`].
pub const FRAME_MAX: usize = tether_edge::ssh_config::MAX_PACKET_SIZE as usize - 256;
/// What a frame costs at least, whatever its size: bounds the number of frames in flight.
pub const MIN_COST: u32 = 32 * 1024;
/// Frame cost a sender may have unacknowledged.
pub const CREDIT: u32 = 2 * 1024 * 1024;
/// The receiver acknowledges once this much cost has been consumed.
pub const ACK_EVERY: u32 = CREDIT / 4;
/// The buffer between the pump and the stream's user, each way.
const LOCAL_BUF: usize = 256 * 1024;
const ACK_BIT: u32 = 1 << 31;
// Each frame may arrive as two messages; acknowledgements and the close come on top.
const _: () = assert!(2 * (CREDIT / MIN_COST) as usize + 8 <= QUEUE);
const _: () = assert!(FRAME_MAX + 4 <= tether_edge::ssh_config::MAX_PACKET_SIZE as usize);
const END: [u8; 4] = [0; 4];

/// One end of a flow-controlled transport: an ordinary byte stream for its user. The bytes move
/// while its [`Pump`] runs.
#[derive(Debug)]
pub struct FlowStream {
    io: DuplexStream,
}

/// Moves a transport's frames between its channel and its [`FlowStream`]; ends when the channel
/// closes, or once both directions have ended. Run it next to the stream's user, or owned by the
/// tunnel.
pub type Pump = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Wraps a transport channel.
pub fn wrap<S>(channel: Channel<S>) -> (FlowStream, Pump)
where
    S: From<(ChannelId, ChannelMsg)> + Send + Sync + 'static,
{
    let (user, local) = tokio::io::duplex(LOCAL_BUF);
    (FlowStream { io: user }, Box::pin(pump(channel, local)))
}

/// Why a peer's frames were refused.
#[derive(Debug, thiserror::Error)]
enum FrameError {
    #[error("a frame of {0} bytes is larger than {FRAME_MAX}")]
    TooLarge(u32),
    #[error("the peer returned more credit than it was given")]
    Overcredit,
}

/// Reassembles frames from a peer's data messages.
#[derive(Debug, Default)]
struct Frames {
    header: [u8; 4],
    have: usize,
    /// Data bytes still to come in the current frame, and that frame's cost.
    body: Option<(u32, u32)>,
}

/// What a piece of the peer's stream meant.
#[derive(Debug, PartialEq, Eq)]
enum Event<'a> {
    Data(&'a [u8]),
    /// A data frame of this cost is complete.
    FrameDone(u32),
    Ack(u32),
    End,
}

impl Frames {
    /// Parses the next event out of `data`, returning it and how many bytes it used; `None`
    /// once `data` is used up.
    fn next<'a>(&mut self, data: &'a [u8]) -> Result<Option<(Event<'a>, usize)>, FrameError> {
        if let Some((left, cost)) = self.body {
            if left == 0 {
                self.body = None;
                return Ok(Some((Event::FrameDone(cost), 0)));
            }
            if data.is_empty() {
                return Ok(None);
            }
            let take = data.len().min(left as usize);
            self.body = Some((left - take as u32, cost));
            return Ok(Some((Event::Data(data.get(..take).unwrap_or_default()), take)));
        }
        let take = data.len().min(4 - self.have);
        if take == 0 {
            return Ok(None);
        }
        if let (Some(to), Some(from)) = (self.header.get_mut(self.have..self.have + take), data.get(..take)) {
            to.copy_from_slice(from);
        }
        self.have += take;
        if self.have < 4 {
            return Ok(Some((Event::Data(&[]), take)));
        }
        self.have = 0;
        let word = u32::from_be_bytes(self.header);
        if word & ACK_BIT != 0 {
            return Ok(Some((Event::Ack(word & !ACK_BIT), take)));
        }
        if word == 0 {
            return Ok(Some((Event::End, take)));
        }
        if word as usize > FRAME_MAX {
            return Err(FrameError::TooLarge(word));
        }
        self.body = Some((word, word.max(MIN_COST)));
        Ok(Some((Event::Data(&[]), take)))
    }
}

async fn pump<S>(channel: Channel<S>, local: DuplexStream)
where
    S: From<(ChannelId, ChannelMsg)> + Send + Sync + 'static,
{
    let (mut rx, tx) = channel.split();
    // One writer at a time, so a frame and an acknowledgement never interleave.
    let tx = Arc::new(Mutex::new(tx));
    // However the pump ends, even dropped half-way, the channel is closed.
    let _close = CloseOnDrop(tx.clone());
    let credit = Arc::new(Semaphore::new(CREDIT as usize));
    let (mut local_r, mut local_w) = tokio::io::split(local);

    let send = {
        let (tx, credit) = (tx.clone(), credit.clone());
        async move {
            loop {
                // The bytes are read straight behind the frame's header: no zeroing, no second
                // copy, at most FRAME_MAX.
                let mut frame = Vec::with_capacity(4 + FRAME_MAX);
                frame.extend_from_slice(&[0; 4]);
                let n: usize = (&mut local_r).take(FRAME_MAX as u64).read_buf(&mut frame).await.unwrap_or_default();
                if n == 0 {
                    let _ = tx.lock().await.data_bytes(END.to_vec()).await;
                    return;
                }
                let cost = (n as u32).max(MIN_COST);
                match credit.acquire_many(cost).await {
                    Ok(permit) => permit.forget(),
                    Err(_) => return,
                }
                if let Some(header) = frame.get_mut(..4) {
                    header.copy_from_slice(&(n as u32).to_be_bytes());
                }
                // A small frame (a keystroke) does not keep a whole frame's buffer while it
                // waits in the queue.
                if n < FRAME_MAX / 2 {
                    frame.shrink_to_fit();
                }
                if tx.lock().await.data_bytes(frame).await.is_err() {
                    return;
                }
            }
        }
    };

    let (peer_done, mut peer_ended) = tokio::sync::oneshot::channel::<()>();
    let peer_done = Some(peer_done);
    let recv = {
        let (tx, credit) = (tx.clone(), credit.clone());
        async move {
            let mut peer_done = peer_done;
            let mut frames = Frames::default();
            let mut consumed = 0u32;
            while let Some(msg) = rx.wait().await {
                let ChannelMsg::Data { data } = msg else {
                    if matches!(msg, ChannelMsg::Close) {
                        break;
                    }
                    continue;
                };
                let mut rest: &[u8] = &data;
                loop {
                    let (event, used) = match frames.next(rest) {
                        Ok(Some(step)) => step,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::warn!("tunnel: closing a transport: {e}");
                            return;
                        }
                    };
                    rest = rest.get(used..).unwrap_or_default();
                    match event {
                        Event::Data(bytes) => {
                            // A user that is gone still gets credit returned, so the peer finishes.
                            let _ = local_w.write_all(bytes).await;
                        }
                        Event::FrameDone(cost) => {
                            consumed += cost;
                            if consumed >= ACK_EVERY {
                                let ack = (ACK_BIT | consumed).to_be_bytes().to_vec();
                                if tx.lock().await.data_bytes(ack).await.is_err() {
                                    return;
                                }
                                consumed = 0;
                            }
                        }
                        Event::Ack(amount) => {
                            let outstanding = CREDIT as usize - credit.available_permits();
                            if amount as usize > outstanding {
                                tracing::warn!("tunnel: closing a transport: {}", FrameError::Overcredit);
                                return;
                            }
                            credit.add_permits(amount as usize);
                        }
                        Event::End => {
                            let _ = local_w.shutdown().await;
                            if let Some(done) = peer_done.take() {
                                let _ = done.send(());
                            }
                        }
                    }
                }
            }
        }
    };

    tokio::pin!(send, recv);
    // Once both directions have ended nothing more will travel: the channel is closed.
    let (mut sent_all, mut peer_finished) = (false, false);
    loop {
        tokio::select! {
            () = &mut send, if !sent_all => {
                sent_all = true;
                if peer_finished {
                    break;
                }
            }
            () = &mut recv => break,
            ended = &mut peer_ended, if !peer_finished => {
                peer_finished = ended.is_ok();
                if peer_finished && sent_all {
                    break;
                }
            }
        }
    }
    // Closed, broken or finished: a sender still waiting for credit gives up.
    credit.close();
}

/// Closes a transport channel when dropped (a split russh channel does not close by itself).
struct CloseOnDrop<S: From<(ChannelId, ChannelMsg)> + Send + Sync + 'static>(Arc<Mutex<ChannelWriteHalf<S>>>);

impl<S: From<(ChannelId, ChannelMsg)> + Send + Sync + 'static> Drop for CloseOnDrop<S> {
    fn drop(&mut self) {
        let tx = self.0.clone();
        // Drop cannot wait: the close is one message to the session, sent from a short task
        // (outside a runtime the session is gone anyway).
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = tx.lock().await.close().await;
            });
        }
    }
}

impl AsyncRead for FlowStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for FlowStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// What a peer's stream means, read as it arrives in `chunks` by the same reader the pump uses:
/// the data as one event per frame's bytes (`data` with the bytes in hex, joined across chunk
/// boundaries), `done COST`, `ack N` and `end`; or why the stream was refused. However the
/// stream is cut, the answer is the same (the `tunnel_flow` fuzz target checks it).
pub fn read_stream(chunks: &[&[u8]]) -> Result<Vec<String>, String> {
    let mut frames = Frames::default();
    let mut out: Vec<String> = Vec::new();
    for chunk in chunks {
        let mut data = *chunk;
        while let Some((event, used)) = frames.next(data).map_err(|e| e.to_string())? {
            data = data.get(used..).unwrap_or_default();
            let line = match event {
                Event::Data([]) => continue,
                Event::Data(bytes) => {
                    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                    match out.last_mut() {
                        Some(last) if last.starts_with("data ") => {
                            last.push_str(&hex);
                            continue;
                        }
                        _ => format!("data {hex}"),
                    }
                }
                Event::FrameDone(cost) => format!("done {cost}"),
                Event::Ack(n) => format!("ack {n}"),
                Event::End => "end".into(),
            };
            out.push(line);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames read the same whole and cut anywhere in two (data joined across the cut), and a
    /// frame past [`FRAME_MAX`] is refused.
    #[test]
    fn a_stream_reads_the_same_however_it_is_cut() {
        for (payload, ack) in [(&b"abc"[..], 7u32), (&b"hello"[..], 1234)] {
            let mut wire = Vec::new();
            wire.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            wire.extend_from_slice(payload);
            wire.extend_from_slice(&(ACK_BIT | ack).to_be_bytes());
            wire.extend_from_slice(&END);
            let whole = read_stream(&[&wire]).unwrap();
            let hex: String = payload.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(whole, [format!("data {hex}"), format!("done {MIN_COST}"), format!("ack {ack}"), "end".into()]);
            for cut in 0..=wire.len() {
                assert_eq!(read_stream(&[&wire[..cut], &wire[cut..]]).unwrap(), whole, "cut at {cut}");
            }
        }
        let too_big = ((FRAME_MAX + 1) as u32).to_be_bytes();
        assert!(read_stream(&[&too_big]).unwrap_err().contains("larger than"));
    }

    #[test]
    fn oversized_frames_are_refused() {
        let wire = ((FRAME_MAX + 1) as u32).to_be_bytes();
        assert!(matches!(Frames::default().next(&wire), Err(FrameError::TooLarge(_))));
    }
}
