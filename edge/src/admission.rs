//! Who may start authenticating: the count of unauthenticated connections per [`Source`], the
//! queue of those that wait for a slot of their source, and the [`Gate`] a connection holds
//! until it authenticates.
//!
//! A source holds at most `max_unauthenticated_per_source` slots. Past that, a new connection
//! of the same source *waits* (up to [`MAX_WAITING_PER_SLOT`] times as many, each within its
//! login grace time) instead of being refused: a burst of real handshakes from one host is
//! slowed, while a silent flood holds its slots until the grace time closes them and the
//! rest of it queues behind them, bounded (per source, and [`MAX_WAITING`] on the listener). A
//! connection a proxy relays counts under the user's
//! address it vouched for, apart from direct connections of that address ([`Source::proxied`]):
//! the proxy's own address is never one source, and a flood straight at the node from the
//! proxy's host cannot lock the proxy's users out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, watch};

/// How many connections per slot of a source may wait for one (so 64 slots queue 1,024).
pub const MAX_WAITING_PER_SLOT: usize = 16;
/// How many connections may wait for a slot on one listener, every source together: a few
/// flooding addresses cannot park the whole `max_connections` in queues (sources below their cap
/// never wait, so they are not affected).
pub const MAX_WAITING: usize = 4096;

/// What a connection is counted as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source {
    /// The client's address: the socket's, or the one a trusted proxy signed.
    pub ip: IpAddr,
    /// Relayed by a proxy that signed the address (counted apart from direct connections).
    pub proxied: bool,
}

impl Source {
    /// A connection straight from `ip`.
    pub fn direct(ip: IpAddr) -> Self {
        Source { ip, proxied: false }
    }
}

#[derive(Default)]
struct Slots {
    held: usize,
    waiting: usize,
    freed: Arc<Notify>,
}

/// Why a connection got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoSlot {
    /// Its source's queue is full.
    QueueFull,
    /// Its login grace time ran out while it waited.
    TimedOut,
}

/// Counts of unauthenticated connections, shared by a listener and its gates.
#[derive(Default)]
pub(crate) struct Unauthenticated {
    pub(crate) total: AtomicUsize,
    /// Connections waiting for a slot, every source together (at most [`MAX_WAITING`]).
    waiting: AtomicUsize,
    per_source: Mutex<HashMap<Source, Slots>>,
}

/// A place in a source's queue; leaving it (even by being dropped) uncounts it.
struct Queued<'a> {
    counts: &'a Unauthenticated,
    source: Source,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.counts.waiting.fetch_sub(1, Ordering::Relaxed);
        let mut map = self.counts.per_source();
        if let Some(slots) = map.get_mut(&self.source) {
            slots.waiting = slots.waiting.saturating_sub(1);
            if slots.held == 0 && slots.waiting == 0 {
                map.remove(&self.source);
            }
        }
    }
}

impl Unauthenticated {
    fn per_source(&self) -> MutexGuard<'_, HashMap<Source, Slots>> {
        self.per_source.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many unauthenticated connections `source` holds.
    pub(crate) fn held_by(&self, source: Source) -> usize {
        self.per_source().get(&source).map_or(0, |s| s.held)
    }

    /// Takes a slot of `source` if it holds fewer than `cap`.
    #[cfg(test)]
    pub(crate) fn try_add(&self, source: Source, cap: usize) -> bool {
        let mut map = self.per_source();
        let slots = map.entry(source).or_default();
        if slots.held < cap {
            slots.held += 1;
            self.total.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        if slots.held == 0 && slots.waiting == 0 {
            map.remove(&source);
        }
        false
    }

    /// Takes a slot of `source`, waiting for one (behind at most `cap` ×
    /// [`MAX_WAITING_PER_SLOT`] others) for at most `patience`.
    ///
    /// Every slot given back while others wait wakes one of them ([`Self::remove`]): `notify_one`
    /// picks a waiter registered (under the lock) and not yet woken, in turn, so slots freed
    /// together wake as many waiters, and one woken but gone passes its wake-up on.
    pub(crate) async fn acquire(&self, source: Source, cap: usize, patience: Duration) -> Result<(), NoSlot> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut queued: Option<Queued<'_>> = None;
        loop {
            let notified = {
                let mut map = self.per_source();
                let slots = map.entry(source).or_default();
                if slots.held < cap {
                    slots.held += 1;
                    self.total.fetch_add(1, Ordering::Relaxed);
                    drop(map);
                    drop(queued);
                    return Ok(());
                }
                if queued.is_none() {
                    let waiting_everywhere = self.waiting.load(Ordering::Relaxed);
                    if slots.waiting >= cap.saturating_mul(MAX_WAITING_PER_SLOT) || waiting_everywhere >= MAX_WAITING {
                        if slots.held == 0 && slots.waiting == 0 {
                            map.remove(&source);
                        }
                        return Err(NoSlot::QueueFull);
                    }
                    slots.waiting += 1;
                    self.waiting.fetch_add(1, Ordering::Relaxed);
                    queued = Some(Queued { counts: self, source });
                }
                // Registered while the lock is held, so a release after it is let go wakes it.
                let mut notified = Box::pin(slots.freed.clone().notified_owned());
                notified.as_mut().enable();
                notified
            };
            // A wake-up this waiter got but did not use (it timed out, or its task was dropped)
            // is not lost: tokio hands it to the next waiter when `notified` is dropped.
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(NoSlot::TimedOut);
            }
        }
    }

    /// Gives back a slot of `source`, waking the next connection waiting for one.
    pub(crate) fn remove(&self, source: Source) {
        let mut map = self.per_source();
        if let Some(slots) = map.get_mut(&source) {
            if slots.held == 0 {
                return;
            }
            slots.held -= 1;
            self.total.fetch_sub(1, Ordering::Relaxed);
            if slots.waiting > 0 {
                slots.freed.notify_one();
            } else if slots.held == 0 {
                map.remove(&source);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn sources(&self) -> usize {
        self.per_source().len()
    }
}

struct GateInner {
    passed: AtomicBool,
    /// Set when the deadline no longer applies (passed, or the handler disarmed it).
    disarmed: watch::Sender<bool>,
    counts: Arc<Unauthenticated>,
    source: Source,
}

impl Drop for GateInner {
    fn drop(&mut self) {
        if !self.passed.swap(true, Ordering::AcqRel) {
            self.counts.remove(self.source);
        }
    }
}

/// A connection's authentication gate: until [`Gate::pass`], the connection counts as
/// unauthenticated and the pre-authentication deadline runs. Cheap to clone.
#[derive(Clone)]
pub struct Gate(Arc<GateInner>);

impl Gate {
    /// The gate of a connection holding one slot of `source` in `counts`.
    pub(crate) fn new(counts: Arc<Unauthenticated>, source: Source) -> Self {
        Gate(Arc::new(GateInner {
            passed: AtomicBool::new(false),
            disarmed: watch::Sender::new(false),
            counts,
            source,
        }))
    }

    /// The connection authenticated: it stops counting against the unauthenticated limits and
    /// the deadline stops. Idempotent.
    pub fn pass(&self) {
        if !self.0.passed.swap(true, Ordering::AcqRel) {
            self.0.counts.remove(self.0.source);
        }
        self.0.disarmed.send_replace(true);
    }

    /// Stops the deadline while the connection keeps counting as unauthenticated (an
    /// anonymous web client whose first request arrived in time; its later requests have
    /// their own timeouts).
    pub fn disarm(&self) {
        self.0.disarmed.send_replace(true);
    }

    /// Whether [`Gate::pass`] was called.
    pub fn passed(&self) -> bool {
        self.0.passed.load(Ordering::Acquire)
    }

    /// Resolves when `grace` has run out while the gate is still armed; never otherwise.
    pub(crate) async fn expired(&self, grace: Duration) {
        let mut disarmed = self.0.disarmed.subscribe();
        let wait = disarmed.wait_for(|d| *d);
        if tokio::time::timeout(grace, wait).await.is_err() {
            return;
        }
        std::future::pending().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        [127, 0, 0, last].into()
    }

    #[test]
    fn unauthenticated_counts_per_source() {
        let c = Unauthenticated::default();
        let (a, b) = (Source::direct(ip(2)), Source::direct(ip(3)));
        assert!(c.try_add(a, 2) && c.try_add(a, 2));
        assert!(!c.try_add(a, 2), "third from one source refused");
        assert!(c.try_add(b, 2), "another source still admitted");
        assert!(c.try_add(Source { proxied: true, ..a }, 2), "the same address relayed by a proxy counts apart");
        assert_eq!(c.total.load(Ordering::Relaxed), 4);
        c.remove(a);
        c.remove(a);
        c.remove(b);
        c.remove(Source { proxied: true, ..a });
        c.remove(b);
        assert_eq!(c.total.load(Ordering::Relaxed), 0);
        assert_eq!(c.sources(), 0, "no entry outlives its connections");
    }

    #[tokio::test]
    async fn a_full_source_waits_for_a_slot_within_its_patience_and_its_queue() {
        let c = Arc::new(Unauthenticated::default());
        let a = Source::direct(ip(2));
        assert!(c.try_add(a, 1));
        // One waits; it gets the slot as soon as the holder lets go.
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move { c.acquire(a, 1, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.remove(a);
        assert_eq!(waiter.await.unwrap(), Ok(()));
        assert_eq!(c.held_by(a), 1);
        // Nobody lets go: the wait ends with the patience.
        assert_eq!(c.acquire(a, 1, Duration::from_millis(50)).await, Err(NoSlot::TimedOut));
        // The queue holds 16 per slot; the 17th is refused at once.
        let mut waiting = Vec::new();
        for _ in 0..MAX_WAITING_PER_SLOT {
            let c = c.clone();
            // Each authenticates at once and so lets the next one in.
            waiting.push(tokio::spawn(async move {
                let got = c.acquire(a, 1, Duration::from_secs(5)).await;
                c.remove(a);
                got
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(c.acquire(a, 1, Duration::from_secs(5)).await, Err(NoSlot::QueueFull));
        c.remove(a);
        for w in waiting {
            assert_eq!(w.await.unwrap(), Ok(()), "every waiter got its slot in turn");
        }
        assert_eq!((c.total.load(Ordering::Relaxed), c.sources()), (0, 0));
    }

    #[tokio::test]
    async fn slots_freed_together_wake_as_many_waiters() {
        let c = Arc::new(Unauthenticated::default());
        let a = Source::direct(ip(2));
        assert!(c.try_add(a, 2) && c.try_add(a, 2));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let c = c.clone();
                tokio::spawn(async move { c.acquire(a, 2, Duration::from_secs(2)).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        c.remove(a);
        c.remove(a);
        for w in waiters {
            assert_eq!(w.await.unwrap(), Ok(()), "a waiter missed a slot freed at the same time as another");
        }
    }

    #[tokio::test]
    async fn the_listener_wide_queue_is_bounded() {
        let c = Arc::new(Unauthenticated::default());
        let per_source = MAX_WAITING_PER_SLOT;
        let sources = MAX_WAITING / per_source;
        let mut waiting = Vec::new();
        for i in 0..sources {
            let s = Source::direct(IpAddr::from([10, 0, (i / 256) as u8, (i % 256) as u8]));
            assert!(c.try_add(s, 1));
            for _ in 0..per_source {
                let c = c.clone();
                waiting.push(tokio::spawn(async move { c.acquire(s, 1, Duration::from_secs(5)).await }));
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let another = Source::direct(ip(9));
        assert!(c.try_add(another, 1), "a source below its cap does not wait, so it is not refused");
        assert_eq!(c.acquire(another, 1, Duration::from_secs(5)).await, Err(NoSlot::QueueFull));
        assert_eq!(c.held_by(another), 1, "the refusal dropped the slot the source holds");
        c.remove(another);
        assert_eq!(c.held_by(another), 0);
        for w in &waiting {
            w.abort();
        }
        for w in waiting {
            let _ = w.await;
        }
        assert_eq!(c.waiting.load(Ordering::Relaxed), 0, "aborted waiters are uncounted");
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_no_count_behind() {
        let c = Arc::new(Unauthenticated::default());
        let a = Source::direct(ip(2));
        assert!(c.try_add(a, 1));
        let waiter = {
            let c = c.clone();
            tokio::spawn(async move { c.acquire(a, 1, Duration::from_secs(60)).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        waiter.abort();
        let _ = waiter.await;
        c.remove(a);
        assert_eq!(c.sources(), 0, "an aborted waiter is uncounted");
    }

    /// Polls `f` once, as a task would, without a runtime's scheduling in between.
    fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> std::task::Poll<F::Output> {
        f.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    }

    /// Waiters polled by hand, so that the order is exact: one leaves the queue while the slot
    /// given back is on its way to another; the queue and the wake-ups of the rest hold.
    #[tokio::test]
    async fn a_waiter_leaving_while_a_slot_is_handed_on_keeps_the_queue_whole() {
        let c = Unauthenticated::default();
        let a = Source::direct(ip(2));
        assert!(c.try_add(a, 1));
        let patience = Duration::from_secs(5);
        let mut w1 = Box::pin(c.acquire(a, 1, patience));
        let mut w2 = Box::pin(c.acquire(a, 1, patience));
        let mut w3 = Box::pin(c.acquire(a, 1, patience));
        for w in [w1.as_mut(), w2.as_mut(), w3.as_mut()] {
            assert!(poll_once(w).is_pending());
        }
        c.remove(a);
        drop(w2);
        let first = [poll_once(w1.as_mut()), poll_once(w3.as_mut())];
        assert_eq!(first.iter().filter(|p| p.is_ready()).count(), 1, "{first:?}");
        assert_eq!(c.held_by(a), 1);
        c.remove(a);
        let last = if first[0].is_ready() { poll_once(w3.as_mut()) } else { poll_once(w1.as_mut()) };
        assert_eq!(last, std::task::Poll::Ready(Ok(())), "the last waiter was never woken");
        c.remove(a);
        assert_eq!((c.total.load(Ordering::Relaxed), c.sources()), (0, 0));
    }

    /// A waiter woken for a slot that gives up before it takes it (its grace ran out, its task
    /// was dropped) hands the wake-up to the next in line.
    #[tokio::test]
    async fn a_wake_up_not_used_goes_to_the_next_waiter() {
        let c = Unauthenticated::default();
        let a = Source::direct(ip(2));
        assert!(c.try_add(a, 1));
        let patience = Duration::from_secs(5);
        let (mut w1, mut w2) = (Box::pin(c.acquire(a, 1, patience)), Box::pin(c.acquire(a, 1, patience)));
        assert!(poll_once(w1.as_mut()).is_pending() && poll_once(w2.as_mut()).is_pending());
        c.remove(a);
        drop(w1);
        assert_eq!(poll_once(w2.as_mut()), std::task::Poll::Ready(Ok(())));
        c.remove(a);
        assert_eq!((c.total.load(Ordering::Relaxed), c.sources()), (0, 0));
    }

    /// With no slot per source at all (possible through the library, not the config, which
    /// asks for at least 1), every connection is refused and no entry is kept.
    #[tokio::test]
    async fn a_cap_of_zero_refuses_and_keeps_nothing() {
        let c = Unauthenticated::default();
        let a = Source::direct(ip(2));
        assert_eq!(c.acquire(a, 0, Duration::from_secs(1)).await, Err(NoSlot::QueueFull));
        assert_eq!((c.total.load(Ordering::Relaxed), c.sources()), (0, 0));
    }

    /// A gate gives its slot back once: when passed, or when dropped unpassed; `disarm` stops
    /// the deadline without giving the slot back.
    #[tokio::test]
    async fn a_gate_gives_its_slot_back_once_and_disarming_stops_the_deadline() {
        let c = Arc::new(Unauthenticated::default());
        let a = Source::direct(ip(2));
        assert!(c.try_add(a, 3) && c.try_add(a, 3) && c.try_add(a, 3));
        // Dropped unpassed: its slot is free.
        drop(Gate::new(c.clone(), a));
        assert_eq!(c.held_by(a), 2);
        // Passed, then dropped (with a clone): one slot, given back once.
        let gate = Gate::new(c.clone(), a);
        assert!(!gate.passed());
        gate.clone().pass();
        assert!(gate.passed());
        assert_eq!(c.held_by(a), 1);
        gate.pass();
        drop(gate);
        assert_eq!(c.held_by(a), 1, "a passed gate gave its slot back twice");
        // Armed, the deadline comes; disarmed, it never does, and the slot is still held.
        let gate = Gate::new(c.clone(), a);
        let grace = Duration::from_millis(50);
        assert!(tokio::time::timeout(Duration::from_secs(5), gate.expired(grace)).await.is_ok());
        gate.disarm();
        assert!(tokio::time::timeout(Duration::from_millis(300), gate.expired(grace)).await.is_err());
        assert!(!gate.passed());
        assert_eq!(c.held_by(a), 1);
        drop(gate);
        assert_eq!((c.total.load(Ordering::Relaxed), c.sources()), (0, 0));
    }
}
