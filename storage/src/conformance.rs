//! The conformance suite every [`Backend`] must pass, written once against the trait.
//!
//! Each check is a `pub async fn` taking a fresh, empty backend; it panics on a violation. A
//! backend's tests run them all with [`conformance_tests!`], which expands to one `#[tokio::test]`
//! per check (so they run in parallel and fail independently):
//!
//! ```ignore
//! async fn fresh() -> (Arc<dyn Backend>, Guard) { /* a new, empty backend + what keeps it alive */ }
//! crate::conformance::conformance_tests!(fresh);
//! ```
//!
//! The checks assume nothing beyond the trait's contract, except timing: the backend must expire an
//! item (and announce it to watchers) within about [`EVENT_WAIT`] of its expiry time.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Backend, Event, EventKind, StorageError, WatchEvent, Watcher};

/// How long a check waits for an expected event.
pub const EVENT_WAIT: Duration = Duration::from_secs(3);

/// Expands to one `#[tokio::test]` per conformance check, in a module `conformance_suite`.
///
/// `$make` names an `async fn() -> (Arc<dyn Backend>, G)` returning a fresh, empty backend and a
/// guard kept alive for the test's duration (a temporary directory, a throwaway schema, …).
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance::conformance_tests!(@each $make;
            get_missing,
            put_then_get,
            put_overwrite_increases_revision,
            create_on_existing_fails,
            create_over_expired_item,
            compare_and_swap_success,
            compare_and_swap_conflict,
            compare_and_swap_missing,
            delete_existing_and_missing,
            range_by_prefix,
            ttl_expiry,
            watch_prefix,
            revisions_strictly_increase,
            concurrent_create,
            compare_and_swap_contention,
            range_excludes_expired_under_prefix,
            watch_sees_every_event_in_order,
            close_rejects_calls,
        );
    };
    (@each $make:path; $($check:ident),+ $(,)?) => {
        mod conformance_suite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    let (backend, _guard) = $make().await;
                    $crate::conformance::$check(backend.clone()).await;
                    backend.close().await;
                }
            )+
        }
    };
}
pub(crate) use conformance_tests;

fn secs_from_now(secs: i64) -> SystemTime {
    let now = SystemTime::now();
    let delta = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 { now + delta } else { now - delta }
}

/// Backends keep expiry times to the millisecond.
fn assert_same_time(actual: Option<SystemTime>, expected: Option<SystemTime>) {
    match (actual, expected) {
        (None, None) => {}
        (Some(a), Some(e)) => {
            let diff = a.duration_since(e).or_else(|_| e.duration_since(a)).unwrap();
            assert!(diff < Duration::from_millis(1), "expiry {a:?} differs from {e:?} by {diff:?}");
        }
        _ => panic!("expiry {actual:?}, expected {expected:?}"),
    }
}

/// The next event, failing the check on lag, end of stream or [`EVENT_WAIT`] without one.
async fn next_event(watcher: &mut Watcher) -> Event {
    match tokio::time::timeout(EVENT_WAIT, watcher.next()).await {
        Ok(Some(WatchEvent::Event(event))) => event,
        Ok(other) => panic!("expected an event under {:?}, got {other:?}", watcher.prefix()),
        Err(_) => panic!("no event under {:?} within {EVENT_WAIT:?}", watcher.prefix()),
    }
}

/// Asserts that no event arrives for a short while.
async fn assert_quiet(watcher: &mut Watcher) {
    if let Ok(got) = tokio::time::timeout(Duration::from_millis(200), watcher.next()).await {
        panic!("unexpected {got:?} under {:?}", watcher.prefix());
    }
}

/// Reading a missing key yields `None`.
pub async fn get_missing(b: Arc<dyn Backend>) {
    assert_eq!(b.get("/missing").await.unwrap(), None);
    assert!(b.range("/missing").await.unwrap().is_empty());
}

/// A put is read back with its value, expiry and revision.
pub async fn put_then_get(b: Arc<dyn Backend>) {
    let rev = b.put("/k/plain", b"hello".to_vec(), None).await.unwrap();
    let item = b.get("/k/plain").await.unwrap().expect("item after put");
    assert_eq!(item.key, "/k/plain");
    assert_eq!(item.value, b"hello");
    assert_eq!(item.revision, rev);
    assert_eq!(item.expires, None);

    let expires = secs_from_now(3600);
    let rev = b.put("/k/ttl", Vec::new(), Some(expires)).await.unwrap();
    let item = b.get("/k/ttl").await.unwrap().expect("item with a future expiry");
    assert_eq!((item.value.len(), item.revision), (0, rev));
    assert_same_time(item.expires, Some(expires));
}

/// Overwriting a key replaces value and expiry and yields a higher revision.
pub async fn put_overwrite_increases_revision(b: Arc<dyn Backend>) {
    let r1 = b.put("/k", b"one".to_vec(), Some(secs_from_now(3600))).await.unwrap();
    let r2 = b.put("/k", b"two".to_vec(), None).await.unwrap();
    assert!(r2 > r1, "overwrite revision {r2} must exceed {r1}");
    let item = b.get("/k").await.unwrap().unwrap();
    assert_eq!((item.value.as_slice(), item.revision, item.expires), (&b"two"[..], r2, None));
}

/// Creating a key that holds a live item fails and leaves the item alone.
pub async fn create_on_existing_fails(b: Arc<dyn Backend>) {
    let rev = b.create("/k", b"first".to_vec(), None).await.unwrap();
    match b.create("/k", b"second".to_vec(), None).await {
        Err(StorageError::AlreadyExists(key)) => assert_eq!(key, "/k"),
        other => panic!("create on an existing key: {other:?}"),
    }
    let item = b.get("/k").await.unwrap().unwrap();
    assert_eq!((item.value.as_slice(), item.revision), (&b"first"[..], rev));
}

/// An expired item is invisible at once and does not block a create.
pub async fn create_over_expired_item(b: Arc<dyn Backend>) {
    let old = b.put("/k", b"stale".to_vec(), Some(secs_from_now(-1))).await.unwrap();
    assert_eq!(b.get("/k").await.unwrap(), None, "an already-expired item must be invisible");
    let rev = b.create("/k", b"fresh".to_vec(), None).await.unwrap();
    assert!(rev > old);
    let item = b.get("/k").await.unwrap().unwrap();
    assert_eq!((item.value.as_slice(), item.revision, item.expires), (&b"fresh"[..], rev, None));
}

/// A compare-and-swap at the current revision writes and yields a higher revision.
pub async fn compare_and_swap_success(b: Arc<dyn Backend>) {
    let r1 = b.put("/k", b"one".to_vec(), None).await.unwrap();
    let expires = secs_from_now(600);
    let r2 = b.compare_and_swap("/k", r1, b"two".to_vec(), Some(expires)).await.unwrap();
    assert!(r2 > r1);
    let item = b.get("/k").await.unwrap().unwrap();
    assert_eq!((item.value.as_slice(), item.revision), (&b"two"[..], r2));
    assert_same_time(item.expires, Some(expires));
}

/// A compare-and-swap at a stale revision fails with the actual one and writes nothing.
pub async fn compare_and_swap_conflict(b: Arc<dyn Backend>) {
    let r1 = b.put("/k", b"one".to_vec(), None).await.unwrap();
    let r2 = b.put("/k", b"two".to_vec(), None).await.unwrap();
    match b.compare_and_swap("/k", r1, b"three".to_vec(), None).await {
        Err(StorageError::Conflict { key, expected, actual }) => {
            assert_eq!((key.as_str(), expected, actual), ("/k", r1, r2));
        }
        other => panic!("compare-and-swap at a stale revision: {other:?}"),
    }
    let item = b.get("/k").await.unwrap().unwrap();
    assert_eq!((item.value.as_slice(), item.revision), (&b"two"[..], r2));
}

/// A compare-and-swap on a missing (or expired) key fails with NotFound.
pub async fn compare_and_swap_missing(b: Arc<dyn Backend>) {
    match b.compare_and_swap("/nope", 1, b"x".to_vec(), None).await {
        Err(StorageError::NotFound(key)) => assert_eq!(key, "/nope"),
        other => panic!("compare-and-swap on a missing key: {other:?}"),
    }
    let rev = b.put("/expired", b"x".to_vec(), Some(secs_from_now(-1))).await.unwrap();
    match b.compare_and_swap("/expired", rev, b"y".to_vec(), None).await {
        Err(StorageError::NotFound(key)) => assert_eq!(key, "/expired"),
        other => panic!("compare-and-swap on an expired key: {other:?}"),
    }
    assert_eq!(b.get("/nope").await.unwrap(), None);
}

/// Deleting reports whether a live item went away.
pub async fn delete_existing_and_missing(b: Arc<dyn Backend>) {
    b.put("/k", b"v".to_vec(), None).await.unwrap();
    assert!(b.delete("/k").await.unwrap());
    assert_eq!(b.get("/k").await.unwrap(), None);
    assert!(!b.delete("/k").await.unwrap(), "second delete");
    assert!(!b.delete("/never").await.unwrap(), "delete of a key never written");
    // A deleted key can be created again.
    b.create("/k", b"again".to_vec(), None).await.unwrap();
}

/// A range holds exactly the live items under the prefix, sorted by key.
pub async fn range_by_prefix(b: Arc<dyn Backend>) {
    for key in ["/users/carol", "/users/alice", "/users/bob", "/user", "/usersx", "/roles/admin", "/users/zz/deep"] {
        b.put(key, key.as_bytes().to_vec(), None).await.unwrap();
    }
    b.put("/users/dave", b"gone".to_vec(), Some(secs_from_now(-1))).await.unwrap();
    b.put("/users/erin", b"later".to_vec(), Some(secs_from_now(3600))).await.unwrap();

    let items = b.range("/users/").await.unwrap();
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(keys, ["/users/alice", "/users/bob", "/users/carol", "/users/erin", "/users/zz/deep"]);
    assert_eq!(items[0].value, b"/users/alice");
    assert!(items.iter().all(|i| i.revision > 0));

    let all = b.range("").await.unwrap();
    assert_eq!(all.len(), 8);
    assert!(all.windows(2).all(|w| w[0].key < w[1].key), "range must be sorted by key");
    assert!(b.range("/groups/").await.unwrap().is_empty());
}

/// An item disappears once its expiry passes, and watchers get a Delete for it.
pub async fn ttl_expiry(b: Arc<dyn Backend>) {
    let mut watcher = b.watch("/ttl/");
    let rev = b.put("/ttl/short", b"v".to_vec(), Some(secs_from_now(1))).await.unwrap();
    b.put("/ttl/long", b"v".to_vec(), Some(secs_from_now(3600))).await.unwrap();
    assert!(b.get("/ttl/short").await.unwrap().is_some());
    for key in ["/ttl/short", "/ttl/long"] {
        let put = next_event(&mut watcher).await;
        assert_eq!((put.kind, put.item.key.as_str()), (EventKind::Put, key));
    }

    let deleted = next_event(&mut watcher).await;
    assert_eq!(
        (deleted.kind, deleted.item.key.as_str(), deleted.item.revision),
        (EventKind::Delete, "/ttl/short", rev)
    );
    assert!(deleted.item.value.is_empty());
    assert_eq!(b.get("/ttl/short").await.unwrap(), None);
    let keys: Vec<String> = b.range("/ttl/").await.unwrap().into_iter().map(|i| i.key).collect();
    assert_eq!(keys, ["/ttl/long"]);
    assert!(!b.delete("/ttl/short").await.unwrap());
}

/// A watcher gets the Put and Delete events of its prefix only, in order, after it was created.
pub async fn watch_prefix(b: Arc<dyn Backend>) {
    b.put("/a/before", b"x".to_vec(), None).await.unwrap();
    let mut watcher = b.watch("/a/");
    let mut everything = b.watch("");

    let r1 = b.put("/a/1", b"one".to_vec(), None).await.unwrap();
    b.put("/b/1", b"other".to_vec(), None).await.unwrap();
    assert!(b.delete("/a/1").await.unwrap());
    b.delete("/b/1").await.unwrap();
    let r2 = b.create("/a/2", b"two".to_vec(), None).await.unwrap();
    let r3 = b.compare_and_swap("/a/2", r2, b"three".to_vec(), None).await.unwrap();
    assert!(!b.delete("/a/missing").await.unwrap());

    let e = next_event(&mut watcher).await;
    assert_eq!(
        (e.kind, e.item.key.as_str(), e.item.value.as_slice(), e.item.revision),
        (EventKind::Put, "/a/1", &b"one"[..], r1)
    );
    let e = next_event(&mut watcher).await;
    assert_eq!((e.kind, e.item.key.as_str(), e.item.revision), (EventKind::Delete, "/a/1", r1));
    assert!(e.item.value.is_empty());
    let e = next_event(&mut watcher).await;
    assert_eq!((e.kind, e.item.key.as_str(), e.item.revision), (EventKind::Put, "/a/2", r2));
    let e = next_event(&mut watcher).await;
    assert_eq!(
        (e.kind, e.item.key.as_str(), e.item.value.as_slice(), e.item.revision),
        (EventKind::Put, "/a/2", &b"three"[..], r3)
    );
    assert_quiet(&mut watcher).await;

    let mut seen = Vec::new();
    for _ in 0..6 {
        let e = next_event(&mut everything).await;
        seen.push((e.kind, e.item.key));
    }
    let expected = [
        (EventKind::Put, "/a/1"),
        (EventKind::Put, "/b/1"),
        (EventKind::Delete, "/a/1"),
        (EventKind::Delete, "/b/1"),
        (EventKind::Put, "/a/2"),
        (EventKind::Put, "/a/2"),
    ];
    assert_eq!(seen, expected.map(|(k, key)| (k, key.to_owned())));
    assert_quiet(&mut everything).await;
}

/// Every write, whatever the key, gets a revision above all earlier ones.
pub async fn revisions_strictly_increase(b: Arc<dyn Backend>) {
    let mut last = 0;
    let mut check = |rev: u64| {
        assert!(rev > last, "revision {rev} after {last}");
        last = rev;
        rev
    };
    let a = check(b.put("/a", b"1".to_vec(), None).await.unwrap());
    check(b.put("/b", b"1".to_vec(), None).await.unwrap());
    let a = check(b.compare_and_swap("/a", a, b"2".to_vec(), None).await.unwrap());
    check(b.create("/c", b"1".to_vec(), None).await.unwrap());
    b.delete("/a").await.unwrap();
    // Recreating a deleted key never reuses a revision.
    let again = check(b.create("/a", b"3".to_vec(), None).await.unwrap());
    assert!(again > a);
    for i in 0..20 {
        check(b.put(&format!("/many/{i}"), Vec::new(), None).await.unwrap());
    }
}

/// Of 16 concurrent creates of one key, exactly one wins and its value is stored.
pub async fn concurrent_create(b: Arc<dyn Backend>) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..16u8 {
        let b = b.clone();
        tasks.spawn(async move { (i, b.create("/race", vec![i], None).await) });
    }
    let mut winners = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.unwrap() {
            (i, Ok(rev)) => winners.push((i, rev)),
            (_, Err(StorageError::AlreadyExists(key))) => assert_eq!(key, "/race"),
            (_, Err(e)) => panic!("concurrent create: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let (i, rev) = winners[0];
    let item = b.get("/race").await.unwrap().unwrap();
    assert_eq!((item.value, item.revision), (vec![i], rev));
}

/// Read-modify-write increments of a decimal counter at `key` by compare-and-swap, from `tasks`
/// concurrent tasks making `attempts` tries each; returns how many succeeded. Every failure must be
/// a [`StorageError::Conflict`].
pub async fn cas_increments(b: Arc<dyn Backend>, key: &str, tasks: usize, attempts: usize) -> u64 {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        let b = b.clone();
        let key = key.to_owned();
        set.spawn(async move {
            let mut won = 0u64;
            for _ in 0..attempts {
                let item = b.get(&key).await.unwrap().expect("the counter exists");
                let n: u64 = std::str::from_utf8(&item.value).unwrap().parse().unwrap();
                match b.compare_and_swap(&key, item.revision, (n + 1).to_string().into_bytes(), None).await {
                    Ok(rev) => {
                        assert!(rev > item.revision);
                        won += 1;
                    }
                    Err(StorageError::Conflict { expected, actual, .. }) => {
                        assert_eq!(expected, item.revision);
                        assert!(actual > expected, "conflict with an older revision {actual} < {expected}");
                    }
                    Err(e) => panic!("compare-and-swap: {e}"),
                }
            }
            won
        });
    }
    let mut total = 0;
    while let Some(won) = set.join_next().await {
        total += won.unwrap();
    }
    total
}

/// The decimal counter at `key`.
pub async fn counter(b: &Arc<dyn Backend>, key: &str) -> u64 {
    let item = b.get(key).await.unwrap().expect("the counter exists");
    std::str::from_utf8(&item.value).unwrap().parse().unwrap()
}

/// Many concurrent compare-and-swap increments of one key: the final value is the number that
/// succeeded, and some did.
pub async fn compare_and_swap_contention(b: Arc<dyn Backend>) {
    b.put("/counter", b"0".to_vec(), None).await.unwrap();
    let won = cas_increments(b.clone(), "/counter", 8, 25).await;
    assert!(won >= 25, "only {won} of 200 increments succeeded");
    assert_eq!(counter(&b, "/counter").await, won);
}

/// A prefix range holds the live items only, even those that expired a moment ago and may not
/// have been swept yet, and prefixes ending in any character bound the range exactly.
pub async fn range_excludes_expired_under_prefix(b: Arc<dyn Backend>) {
    let soon = SystemTime::now() + Duration::from_millis(300);
    for i in 0..10 {
        let expires = if i % 2 == 0 { Some(soon) } else { Some(secs_from_now(3600)) };
        b.put(&format!("/p/{i}"), vec![i], expires).await.unwrap();
    }
    for key in ["/p", "/p0", "/p/", "/p/\u{e9}t\u{e9}", "/p/\u{10ffff}", "/q/1"] {
        b.put(key, key.as_bytes().to_vec(), None).await.unwrap();
    }
    let keys = |items: Vec<super::Item>| items.into_iter().map(|i| i.key).collect::<Vec<_>>();
    assert_eq!(b.range("/p/").await.unwrap().len(), 13);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let live = keys(b.range("/p/").await.unwrap());
    assert_eq!(live, ["/p/", "/p/1", "/p/3", "/p/5", "/p/7", "/p/9", "/p/\u{e9}t\u{e9}", "/p/\u{10ffff}"]);
    assert_eq!(keys(b.range("/p/\u{e9}").await.unwrap()), ["/p/\u{e9}t\u{e9}"]);
    assert_eq!(keys(b.range("/p/\u{10ffff}").await.unwrap()), ["/p/\u{10ffff}"]);
    assert_eq!(keys(b.range("/p").await.unwrap()).len(), 10);
    assert_eq!(b.get("/p/0").await.unwrap(), None);
}

/// A watcher sees every event of many concurrent writers, once each, in revision order.
pub async fn watch_sees_every_event_in_order(b: Arc<dyn Backend>) {
    let mut watcher = b.watch("/w/");
    let mut writers = tokio::task::JoinSet::new();
    for t in 0..4 {
        let b = b.clone();
        writers.spawn(async move {
            let mut revisions = Vec::new();
            for i in 0..50 {
                revisions.push(b.put(&format!("/w/{t}/{i}"), vec![t], None).await.unwrap());
                b.put(&format!("/other/{t}/{i}"), Vec::new(), None).await.unwrap();
            }
            revisions
        });
    }
    let mut written = Vec::new();
    while let Some(revisions) = writers.join_next().await {
        written.extend(revisions.unwrap());
    }
    written.sort_unstable();
    let mut seen = Vec::new();
    while seen.len() < written.len() {
        let e = next_event(&mut watcher).await;
        assert_eq!(e.kind, EventKind::Put);
        assert!(e.item.key.starts_with("/w/"));
        seen.push(e.item.revision);
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "events out of revision order");
    assert_eq!(seen, written);
    // Deletes follow in order too.
    for t in 0..4 {
        assert!(b.delete(&format!("/w/{t}/0")).await.unwrap());
    }
    for t in 0..4u8 {
        let e = next_event(&mut watcher).await;
        assert_eq!((e.kind, e.item.key), (EventKind::Delete, format!("/w/{t}/0")));
    }
    assert_quiet(&mut watcher).await;
}

/// After close every call fails with Closed and watchers end (after draining earlier events).
pub async fn close_rejects_calls(b: Arc<dyn Backend>) {
    let mut watcher = b.watch("/");
    b.put("/k", b"v".to_vec(), None).await.unwrap();
    b.close().await;

    let e = next_event(&mut watcher).await;
    assert_eq!((e.kind, e.item.key.as_str()), (EventKind::Put, "/k"));
    assert_eq!(tokio::time::timeout(EVENT_WAIT, watcher.next()).await.expect("watcher must end"), None);
    assert_eq!(tokio::time::timeout(EVENT_WAIT, b.watch("/").next()).await.expect("new watcher must end"), None);

    fn closed<T: std::fmt::Debug>(what: &str, result: Result<T, StorageError>) {
        assert!(matches!(result, Err(StorageError::Closed)), "{what} after close: {result:?}");
    }
    closed("get", b.get("/k").await);
    closed("put", b.put("/k", Vec::new(), None).await);
    closed("create", b.create("/new", Vec::new(), None).await);
    closed("compare_and_swap", b.compare_and_swap("/k", 1, Vec::new(), None).await);
    closed("delete", b.delete("/k").await);
    closed("range", b.range("").await);
    // Closing again is harmless.
    b.close().await;
}
