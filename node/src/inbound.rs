//! Client data coming into the node: taken off the connection at once, queued per channel, and
//! slowed at the source by shrinking the SSH window, never by pausing the connection.
//!
//! russh re-opens a channel's window as soon as data arrives; left to itself it slows a client
//! only by pausing the connection's event loop when a channel's queue is full. That loop also
//! carries the client's window adjustments for the *output*, so a program whose reading depends
//! on its output getting out (`cat`, a shell, an echo server behind a port forward) deadlocks as
//! soon as the client sends faster than the program reads while its output waits.
//!
//! So the loop never waits here: session data and forwarded bytes go into an unbounded queue
//! per channel whose size is accounted ([`Queue`]). A channel with more than [`QUEUE_BUDGET`]
//! waiting engages the connection's [`Throttle`], and the window russh re-opens shrinks to
//! [`TRICKLE_WINDOW`] bytes until every channel is back under budget. A client can then have at
//! most the window it was already granted (one and a half [`WINDOW_SIZE`]) beyond the budget in
//! flight, and the loop keeps reading the adjustments that let the output, and so the program,
//! move on. The throttle is per connection (russh's hook is), so while one channel is over
//! budget the others on that connection trickle too.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use russh::{Channel, ChannelMsg, ChannelWriteHalf};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

use tether_edge::ssh_config::WINDOW_SIZE;

/// Bytes of client data that may wait for one channel before the connection's window shrinks.
pub const QUEUE_BUDGET: usize = 2 * WINDOW_SIZE as usize;
/// The window a throttled connection re-opens at a time: at least 2, since russh re-opens once
/// the window falls below half its target and 1 / 2 is 0.
pub const TRICKLE_WINDOW: u32 = 2;

// russh re-opens once the window falls below target / 2: a trickle must still re-open.
const _: () = assert!(TRICKLE_WINDOW / 2 > 0);

/// One connection's brake: engaged while any of its channels is over [`QUEUE_BUDGET`].
#[derive(Debug, Default)]
pub struct Throttle {
    over: AtomicUsize,
}

impl Throttle {
    /// A released throttle.
    pub fn new() -> Arc<Throttle> {
        Arc::new(Throttle::default())
    }

    /// The window russh should re-open next (its `adjust_window` hook).
    pub fn window(&self) -> u32 {
        if self.over.load(Ordering::Acquire) > 0 { TRICKLE_WINDOW } else { WINDOW_SIZE }
    }
}

/// What waits for one channel, counted against [`QUEUE_BUDGET`].
#[derive(Debug)]
pub struct Queue {
    /// Bytes waiting, and whether that is over budget (and so counted in the throttle).
    state: Mutex<(usize, bool)>,
    throttle: Arc<Throttle>,
}

impl Queue {
    /// An empty queue of a channel on the connection with `throttle`.
    pub fn new(throttle: &Arc<Throttle>) -> Arc<Queue> {
        Arc::new(Queue { state: Mutex::new((0, false)), throttle: throttle.clone() })
    }

    fn adjust(&self, add: usize, sub: usize) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0 = (state.0 + add).saturating_sub(sub);
        let over = state.0 > QUEUE_BUDGET;
        if over != state.1 {
            state.1 = over;
            if over {
                self.throttle.over.fetch_add(1, Ordering::AcqRel);
            } else {
                self.throttle.over.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// `data`, counted until the returned chunk is dropped (written or discarded).
    pub fn chunk(self: &Arc<Self>, data: Vec<u8>) -> Chunk {
        self.adjust(data.len(), 0);
        Chunk { data, queue: self.clone() }
    }

    /// Bytes waiting now.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).0
    }
}

/// Client data on its way out of the node (to a process's stdin, or a forwarded socket).
#[derive(Debug)]
pub struct Chunk {
    /// The bytes.
    pub data: Vec<u8>,
    queue: Arc<Queue>,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.queue.adjust(0, self.data.len());
    }
}

/// Reads a forwarded channel's data the way sessions do: [`drain`] takes it off the channel at
/// once into a [`Queue`], and this reads it from there.
#[derive(Debug)]
pub struct ChunkReader {
    rx: mpsc::UnboundedReceiver<Chunk>,
    current: Option<(Chunk, usize)>,
}

/// Splits `channel`: its incoming data is drained into a queue on `throttle`'s connection (run
/// the returned future alongside the reader: it ends at the client's EOF or close); returns the
/// reader of that data and the channel's write half.
pub fn drain<S>(
    channel: Channel<S>,
    throttle: &Arc<Throttle>,
) -> (ChunkReader, ChannelWriteHalf<S>, impl Future<Output = ()> + Send + 'static)
where
    S: From<(russh::ChannelId, ChannelMsg)> + Send + Sync + 'static,
{
    let (mut read, write) = channel.split();
    let queue = Queue::new(throttle);
    let (tx, rx) = mpsc::unbounded_channel();
    let pump = async move {
        while let Some(msg) = read.wait().await {
            match msg {
                // A reader that is gone drops it; the data still comes off the connection.
                ChannelMsg::Data { data } => drop(tx.send(queue.chunk(data.to_vec()))),
                ChannelMsg::Eof | ChannelMsg::Close => break,
                _ => {}
            }
        }
    };
    (ChunkReader { rx, current: None }, write, pump)
}

impl AsyncRead for ChunkReader {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        loop {
            if let Some((chunk, at)) = self.current.as_mut() {
                let rest = chunk.data.get(*at..).unwrap_or_default();
                let n = rest.len().min(buf.remaining());
                buf.put_slice(rest.get(..n).unwrap_or_default());
                *at += n;
                if *at >= chunk.data.len() {
                    self.current = None;
                }
                return Poll::Ready(Ok(()));
            }
            match self.rx.poll_recv(cx) {
                Poll::Ready(Some(chunk)) => self.current = Some((chunk, 0)),
                // The client's EOF (or close): end of stream.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_engages_over_budget_and_releases_under_it() {
        let throttle = Throttle::new();
        let (a, b) = (Queue::new(&throttle), Queue::new(&throttle));
        let first = a.chunk(vec![0; QUEUE_BUDGET]);
        assert_eq!(throttle.window(), WINDOW_SIZE, "at the budget, not over it");
        let second = a.chunk(vec![0; 1]);
        assert_eq!(throttle.window(), TRICKLE_WINDOW);
        let third = b.chunk(vec![0; QUEUE_BUDGET + 1]);
        drop(first);
        assert_eq!(a.queued(), 1);
        assert_eq!(throttle.window(), TRICKLE_WINDOW, "the other channel is still over");
        drop(third);
        assert_eq!(throttle.window(), WINDOW_SIZE);
        drop(second);
        assert_eq!((a.queued(), b.queued()), (0, 0));
    }
}
