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
//!
//! A connection may hold hundreds of port forwards, each with its own window in flight, so the
//! throttle also counts what waits across all of its channels: past [`CONNECTION_BUDGET`] the
//! window trickles, and past [`CONNECTION_CEILING`] its forwarded channels stop taking data off
//! the connection until the queues drain (russh then holds the rest; a session's stdin never
//! waits). Each chunk counts [`CHUNK_OVERHEAD`] bytes beyond its data, so a client sending one
//! byte at a time cannot queue far more memory than the budgets say.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use russh::{Channel, ChannelMsg, ChannelWriteHalf};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::{Notify, mpsc};

use tether_edge::ssh_config::WINDOW_SIZE;

/// Bytes of client data that may wait for one channel before the connection's window shrinks.
pub const QUEUE_BUDGET: usize = 2 * WINDOW_SIZE as usize;
/// The window a throttled connection re-opens at a time: at least 2, since russh re-opens once
/// the window falls below half its target and 1 / 2 is 0.
pub const TRICKLE_WINDOW: u32 = 2;

/// Bytes (with [`CHUNK_OVERHEAD`]) that may wait across all of one connection's channels before
/// its window shrinks.
pub const CONNECTION_BUDGET: usize = 2 * QUEUE_BUDGET;
/// Past this many bytes waiting on one connection, its forwarded channels stop reading until the
/// queues drain: the last bound on a connection's memory.
pub const CONNECTION_CEILING: usize = 8 * CONNECTION_BUDGET;
/// What one queued chunk costs beyond its bytes (its allocation and its place in a queue).
pub const CHUNK_OVERHEAD: usize = 64;

// russh re-opens once the window falls below target / 2: a trickle must still re-open.
const _: () = assert!(TRICKLE_WINDOW / 2 > 0);

/// One connection's brake: engaged while any of its channels is over [`QUEUE_BUDGET`], or all of
/// them together over [`CONNECTION_BUDGET`].
#[derive(Debug, Default)]
pub struct Throttle {
    over: AtomicUsize,
    /// Bytes waiting across the connection's channels, with [`CHUNK_OVERHEAD`] per chunk.
    total: AtomicUsize,
    /// Woken when `total` falls to [`CONNECTION_CEILING`] or below.
    drained: Notify,
}

impl Throttle {
    /// A released throttle.
    pub fn new() -> Arc<Throttle> {
        Arc::new(Throttle::default())
    }

    /// The window russh should re-open next (its `adjust_window` hook).
    pub fn window(&self) -> u32 {
        let braked = self.over.load(Ordering::Acquire) > 0 || self.total.load(Ordering::Acquire) > CONNECTION_BUDGET;
        if braked { TRICKLE_WINDOW } else { WINDOW_SIZE }
    }

    /// Waits until the connection's queues are at [`CONNECTION_CEILING`] or below.
    pub async fn room(&self) {
        // The common case costs one load: no waiter is registered unless the ceiling is passed.
        if self.total.load(Ordering::Acquire) <= CONNECTION_CEILING {
            return;
        }
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            // Registered before the check, so a drain between the two is not missed.
            drained.as_mut().enable();
            if self.total.load(Ordering::Acquire) <= CONNECTION_CEILING {
                return;
            }
            drained.await;
        }
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
        if add > 0 {
            self.throttle.total.fetch_add(add, Ordering::AcqRel);
        }
        if sub > 0 {
            let before = self.throttle.total.fetch_sub(sub, Ordering::AcqRel);
            // Waiters exist only above the ceiling: wake them when it is crossed going down.
            if before > CONNECTION_CEILING && before.saturating_sub(sub) <= CONNECTION_CEILING {
                self.throttle.drained.notify_waiters();
            }
        }
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
        self.adjust(data.len() + CHUNK_OVERHEAD, 0);
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
        self.queue.adjust(0, self.data.len() + CHUNK_OVERHEAD);
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
    let throttle = throttle.clone();
    let (tx, rx) = mpsc::unbounded_channel();
    let pump = async move {
        loop {
            // Past the connection's ceiling, leave the data with russh until the queues drain.
            throttle.room().await;
            let Some(msg) = read.wait().await else { break };
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
        let first = a.chunk(vec![0; QUEUE_BUDGET - CHUNK_OVERHEAD]);
        assert_eq!(throttle.window(), WINDOW_SIZE, "at the budget, not over it");
        let second = a.chunk(vec![0; 1]);
        assert_eq!(throttle.window(), TRICKLE_WINDOW);
        let third = b.chunk(vec![0; QUEUE_BUDGET]);
        drop(first);
        assert_eq!(a.queued(), 1 + CHUNK_OVERHEAD);
        assert_eq!(throttle.window(), TRICKLE_WINDOW, "the other channel is still over");
        drop(third);
        assert_eq!(throttle.window(), WINDOW_SIZE);
        drop(second);
        assert_eq!((a.queued(), b.queued()), (0, 0));
    }

    /// Many channels each under their own budget still brake the connection together, and past
    /// the ceiling a forward's reader waits until the queues drain.
    #[tokio::test]
    async fn the_connection_brakes_on_what_all_its_channels_hold() {
        let throttle = Throttle::new();
        let queues: Vec<_> = (0..8).map(|_| Queue::new(&throttle)).collect();
        // Eight quarters of a channel's budget, overhead included: exactly the connection's.
        let quarter = QUEUE_BUDGET / 4 - CHUNK_OVERHEAD;
        let mut held: Vec<Chunk> = queues.iter().map(|q| q.chunk(vec![0; quarter])).collect();
        assert_eq!(throttle.window(), WINDOW_SIZE, "at the connection's budget, not over it");
        held.push(queues[0].chunk(vec![0; 1]));
        assert_eq!(throttle.window(), TRICKLE_WINDOW, "over the connection's budget, no channel over its own");

        // One-byte chunks count their overhead: a million of them is 64 MiB, not 1 MiB.
        let small = Queue::new(&throttle);
        let crumbs: Vec<Chunk> = (0..1_000_000).map(|_| small.chunk(vec![0])).collect();
        assert_eq!(small.queued(), 1_000_000 * (1 + CHUNK_OVERHEAD));

        // Past the ceiling: room() waits, and returns once enough has drained.
        let big = Queue::new(&throttle);
        let mut flood: Vec<Chunk> =
            (0..CONNECTION_CEILING / QUEUE_BUDGET).map(|_| big.chunk(vec![0; QUEUE_BUDGET])).collect();
        assert!(tokio::time::timeout(std::time::Duration::from_millis(100), throttle.room()).await.is_err());
        let waiter = tokio::spawn({
            let throttle = throttle.clone();
            async move { throttle.room().await }
        });
        drop(crumbs);
        flood.truncate(flood.len() / 2);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.expect("room after the drain").unwrap();
        drop((held, flood));
        assert_eq!(throttle.window(), WINDOW_SIZE);
    }
}
