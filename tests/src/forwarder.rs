//! A round-robin TCP forwarder for tests: one loopback port in front of several backends, each
//! new connection going to the next backend that accepts it — what a plain layer-4 load
//! balancer in front of several proxies does. A backend that is down is skipped.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long the forwarder waits for one backend before trying the next.
const DIAL_TIMEOUT: Duration = Duration::from_millis(500);

/// A running forwarder; dropping it stops accepting (open connections run to their end).
pub struct Forwarder {
    addr: SocketAddr,
    backends: Arc<Mutex<Vec<SocketAddr>>>,
    counts: Arc<Mutex<HashMap<SocketAddr, usize>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl Forwarder {
    /// Listens on a free loopback port and forwards to `backends` (`HOST:PORT` each).
    pub fn start(backends: &[&str]) -> Forwarder {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the forwarder");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let addr = listener.local_addr().expect("forwarder address");
        let backends = Arc::new(Mutex::new(backends.iter().map(|b| b.parse().expect("backend address")).collect()));
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let accept = {
            let (backends, counts, stop) = (Arc::clone(&backends), Arc::clone(&counts), Arc::clone(&stop));
            std::thread::spawn(move || accept_loop(&listener, &backends, &counts, &stop))
        };
        Forwarder { addr, backends, counts, stop, accept: Some(accept) }
    }

    /// The forwarder's own address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// How many connections went to `backend` (`HOST:PORT`).
    pub fn connections_to(&self, backend: &str) -> usize {
        let backend: SocketAddr = backend.parse().expect("backend address");
        self.counts.lock().unwrap().get(&backend).copied().unwrap_or(0)
    }

    /// Replaces the backends (a host that came back on another port, say).
    pub fn set_backends(&self, backends: &[&str]) {
        *self.backends.lock().unwrap() = backends.iter().map(|b| b.parse().expect("backend address")).collect();
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(
    listener: &TcpListener,
    backends: &Mutex<Vec<SocketAddr>>,
    counts: &Mutex<HashMap<SocketAddr, usize>>,
    stop: &AtomicBool,
) {
    let next = AtomicUsize::new(0);
    while !stop.load(Ordering::Relaxed) {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            Err(_) => continue,
        };
        let _ = client.set_nonblocking(false);
        let candidates = backends.lock().unwrap().clone();
        let start = next.fetch_add(1, Ordering::Relaxed);
        let upstream = (0..candidates.len())
            .map(|i| candidates[(start + i) % candidates.len()])
            .find_map(|addr| TcpStream::connect_timeout(&addr, DIAL_TIMEOUT).ok().map(|s| (addr, s)));
        if let Some((addr, upstream)) = upstream {
            *counts.lock().unwrap().entry(addr).or_default() += 1;
            splice(client, upstream);
        }
    }
}

/// Copies both ways on two threads; each direction passes on the end of its stream.
fn splice(client: TcpStream, upstream: TcpStream) {
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let (Ok(client2), Ok(upstream2)) = (client.try_clone(), upstream.try_clone()) else { return };
    std::thread::spawn(move || pipe(client, upstream));
    std::thread::spawn(move || pipe(upstream2, client2));
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    use super::Forwarder;

    /// A backend that answers every connection with its own name.
    fn named(name: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let _ = conn.write_all(name.as_bytes());
            }
        });
        addr
    }

    fn ask(addr: &str) -> String {
        let mut out = String::new();
        TcpStream::connect(addr).unwrap().read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn connections_take_turns_and_skip_a_backend_that_is_down() {
        let (a, b) = (named("a"), named("b"));
        let down = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let fwd = Forwarder::start(&[&a, &down, &b]);
        let answers: Vec<String> = (0..6).map(|_| ask(&fwd.addr())).collect();
        // Every connection is answered; the turn that falls on the dead backend goes on to b.
        assert_eq!(answers, ["a", "b", "b", "a", "b", "b"]);
        assert_eq!((fwd.connections_to(&a), fwd.connections_to(&b), fwd.connections_to(&down)), (2, 4, 0));
        fwd.set_backends(&[&b]);
        assert_eq!(ask(&fwd.addr()), "b");
    }
}
