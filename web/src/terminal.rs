//! The web UI's terminal: `GET /web/terminal?cluster=&node=&login=&cols=&rows=` upgraded to a
//! WebSocket, over which the proxy runs an interactive SSH session for the logged-in user, as
//! `tsh ssh` would. The browser holds no key: the proxy opens the session with its own key and a
//! certificate for the user (bound to the leaf for a leaf's node, issued only when the user's
//! `cluster_labels` allow it), checks the node's host certificate against the cluster's host
//! CAs, and reaches the node as the relay does (its inventory address with the user's signed
//! address, or the leaf's tunnel). The node checks the certificate and audits the session as
//! any other. Binary frames carry the session's bytes both ways; a text frame
//! `{"resize":[cols,rows]}` resizes the terminal. Closing the tab ends the session. A refusal is
//! written to the terminal before the socket closes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use russh::ChannelMsg;
use russh::keys::PublicKey;
use serde::Deserialize;
use tether_auth::AuthError;
use tether_shared::identity::Identity;
use tether_shared::resource::CaType;

use super::answer::{ApiError, Shared, caller};
use super::{Peer, WebState};

/// The largest WebSocket message taken from the browser.
const MAX_MESSAGE: usize = 64 * 1024;
/// The longest the SSH setup (route, handshake, login, shell) may take.
const SETUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// How long the closing handshake may take before the connection is dropped anyway.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// How long one write to the browser may wait (a tab that stops reading ends its session).
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The terminal's query.
#[derive(Deserialize)]
pub(crate) struct TerminalQuery {
    cluster: Option<String>,
    node: String,
    login: String,
    cols: Option<u32>,
    rows: Option<u32>,
}

/// Checks the node's host certificate against the cluster's host CAs and its name.
struct NodeCheck {
    cas: Vec<PublicKey>,
    name: String,
    refusal: Arc<std::sync::Mutex<Option<String>>>,
}

impl russh::client::Handler for NodeCheck {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        match tether_shared::ssh_cert::verify_server_key(key, &self.cas, &self.name, SystemTime::now()) {
            Ok(_) => Ok(true),
            Err(why) => {
                if let Ok(mut r) = self.refusal.lock() {
                    *r = Some(why);
                }
                Ok(false)
            }
        }
    }
}

/// `GET /web/terminal`: the WebSocket upgrade, for a logged-in user from this origin.
pub(crate) async fn terminal(
    State(state): Shared,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Query(query): Query<TerminalQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let who = caller(&peer)?.clone();
    if !super::session::same_origin(&headers) {
        return Err(ApiError(AuthError::Forbidden("a terminal from another origin".into())));
    }
    Ok(ws.max_message_size(MAX_MESSAGE).on_upgrade(move |socket| run(state, who, query, peer.addr, socket)))
}

/// Opens the session and moves bytes until either side ends.
async fn run(state: Arc<WebState>, who: Identity, query: TerminalQuery, client: SocketAddr, mut socket: WebSocket) {
    let opened = tokio::time::timeout(SETUP_TIMEOUT, open(&state, &who, &query, client)).await;
    let (handle, channel, pump) = match opened {
        Ok(Ok(opened)) => opened,
        Ok(Err(why)) => {
            let _ = socket.send(Message::Binary(format!("\r\ntether: {why}\r\n").into_bytes().into())).await;
            close(socket).await;
            return;
        }
        Err(_) => {
            let text = format!("\r\ntether: the session did not open within {}s\r\n", SETUP_TIMEOUT.as_secs());
            let _ = socket.send(Message::Binary(text.into_bytes().into())).await;
            close(socket).await;
            return;
        }
    };
    relay(socket, channel).await;
    let _ = handle.disconnect(russh::Disconnect::ByApplication, "", "en").await;
    if let Some(pump) = pump {
        pump.abort();
    }
}

/// Browser ⇄ SSH channel.
async fn relay(mut socket: WebSocket, mut channel: russh::Channel<russh::client::Msg>) {
    loop {
        tokio::select! {
            from_browser = socket.recv() => match from_browser {
                Some(Ok(Message::Binary(data))) => {
                    if channel.data(&data[..]).await.is_err() { break }
                }
                Some(Ok(Message::Text(text))) => {
                    if let Ok(resize) = serde_json::from_str::<serde_json::Value>(&text)
                        && let Some([cols, rows]) = resize.get("resize").and_then(|r| r.as_array()).map(|a| {
                            [a.first().and_then(serde_json::Value::as_u64), a.get(1).and_then(serde_json::Value::as_u64)]
                        })
                    {
                        let (cols, rows) = (cols.unwrap_or(80).clamp(1, 1000) as u32, rows.unwrap_or(24).clamp(1, 1000) as u32);
                        let _ = channel.window_change(cols, rows, 0, 0).await;
                    } else if channel.data(text.as_bytes()).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            from_node = channel.wait() => match from_node {
                Some(ChannelMsg::Data { data }) | Some(ChannelMsg::ExtendedData { data, .. }) => {
                    if !to_browser(&mut socket, &data, SEND_TIMEOUT).await { break }
                }
                Some(ChannelMsg::Eof) | Some(ChannelMsg::Close) | None => break,
                Some(_) => {}
            },
        }
    }
    let _ = channel.close().await;
    close(socket).await;
}

/// Sends `data` to the browser, waiting at most `bound`: a tab that stops reading ends its
/// session. Whether it went.
async fn to_browser(socket: &mut WebSocket, data: &[u8], bound: std::time::Duration) -> bool {
    matches!(tokio::time::timeout(bound, socket.send(Message::Binary(data.to_vec().into()))).await, Ok(Ok(())))
}

/// The closing handshake: our Close, then the browser's answer (or [`CLOSE_TIMEOUT`]) before
/// the connection goes. Dropping it at once can reset the TCP connection under data the browser
/// has not read yet, and Firefox then loses the last message (a refusal's reason).
async fn close(mut socket: WebSocket) {
    // The whole handshake is bounded: a browser that reads nothing cannot hold the task.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        if socket.send(Message::Close(None)).await.is_err() {
            return;
        }
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// The session: its connection, its channel, and the task moving a tunnel transport's frames.
type Opened =
    (russh::client::Handle<NodeCheck>, russh::Channel<russh::client::Msg>, Option<tokio::task::JoinHandle<()>>);

/// The SSH session: route, host certificate, the user's certificate, pty and shell.
async fn open(state: &WebState, who: &Identity, q: &TerminalQuery, client: SocketAddr) -> Result<Opened, String> {
    let auth = &state.auth;
    let local = auth.cluster_name().to_string();
    let cluster = q.cluster.clone().filter(|c| !c.is_empty()).unwrap_or_else(|| local.clone());
    let delegation = auth.trust().delegation(who).await.map_err(|e| e.to_string())?;
    let (key, public) = state.leaves.ssh_key();
    let (stream, pump, cas, cert): (Box<dyn tether_proxy::relay::Upstream>, _, Vec<String>, _) = if cluster == local {
        let node = auth
            .nodes()
            .find_node(&q.node, None)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("node {:?} not found in cluster {local}", q.node))?;
        let decision = delegation.checker().check_login(&q.login, &node.metadata.labels);
        if !decision.allowed {
            auth.audit().emit(
                tether_audit::Event::AccessDenied,
                tether_audit::Outcome::Failure,
                &who.user,
                serde_json::json!({"node": node.metadata.name, "login": q.login, "reason": decision.reason}),
            );
            return Err(format!("access denied to {}@{}: {}", q.login, q.node, decision.reason));
        }
        let tcp = tether_proxy::dial::node(&node.spec.addr, &node.metadata.name, client, &state.signer.get())
            .await
            .map_err(|e| format!("node {:?} is unreachable: {e}", q.node))?;
        let cas =
            auth.authority().host_cas_trusted().map_err(|e| e.to_string())?.into_iter().map(|k| k.public_key).collect();
        let cert = auth.trust().delegated_local_cert(&delegation, public).map_err(|e| e.to_string())?;
        (Box::new(tcp), None, cas, cert)
    } else {
        let action = format!("terminal {}@{}", q.login, q.node);
        let cert = auth.trust().delegated_cert(&delegation, &cluster, public, &action).map_err(|e| e.to_string())?;
        let transport = state.leaves.tunnels().open(&cluster, &q.node, 0, client).await.map_err(|e| e.to_string())?;
        let cas = match auth.trust().ca_of(&cluster, CaType::Host).await {
            Ok(Some(ca)) => ca.spec.trusted().ssh,
            _ => Vec::new(),
        };
        (Box::new(transport.stream), Some(transport.pump), cas, cert)
    };
    let cas: Vec<PublicKey> = cas.iter().filter_map(|k| PublicKey::from_openssh(k).ok()).collect();
    let refusal = Arc::new(std::sync::Mutex::new(None));
    let check = NodeCheck { cas, name: q.node.clone(), refusal: refusal.clone() };
    let config = Arc::new(russh::client::Config {
        preferred: tether_shared::ssh_algorithms::client_preferred(),
        inactivity_timeout: None,
        ..Default::default()
    });
    // The tunnel's frames must move while the handshake runs, and until the session ends; the
    // task is aborted then (or now, if the setup fails).
    let pump = pump.map(tokio::spawn);
    let setup = async {
        let mut handle = russh::client::connect_stream(config, stream, check).await.map_err(|e| {
            match refusal.lock().ok().and_then(|r| r.clone()) {
                Some(why) => format!("node {:?}'s host certificate is not trusted: {why}", q.node),
                None => format!("SSH with node {:?} failed: {e}", q.node),
            }
        })?;
        let ssh_cert = tether_shared::ssh_cert::cert_from_openssh(&cert.ssh_cert).map_err(|e| e.to_string())?;
        let authed = handle.authenticate_openssh_cert(&q.login, key, ssh_cert).await.map_err(|e| e.to_string())?;
        if !authed.success() {
            return Err(format!("node {:?} refused login {:?}", q.node, q.login));
        }
        let channel = handle.channel_open_session().await.map_err(|e| e.to_string())?;
        let (cols, rows) = (q.cols.unwrap_or(80).clamp(1, 1000), q.rows.unwrap_or(24).clamp(1, 1000));
        channel.request_pty(false, "xterm-256color", cols, rows, 0, 0, &[]).await.map_err(|e| e.to_string())?;
        channel.request_shell(false).await.map_err(|e| e.to_string())?;
        Ok::<_, String>((handle, channel))
    };
    match setup.await {
        Ok((handle, channel)) => Ok((handle, channel, pump)),
        Err(e) => {
            if let Some(pump) = pump {
                pump.abort();
            }
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// Serves `app` on loopback until the test's runtime ends.
    async fn serve(app: axum::Router) -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    }

    /// A server whose one route upgrades and runs [`super::close`] at once.
    async fn closing_server() -> std::net::SocketAddr {
        serve(
            axum::Router::new()
                .route("/ws", get(|ws: super::WebSocketUpgrade| async move { ws.on_upgrade(super::close) })),
        )
        .await
    }

    /// A connection that has asked for the WebSocket upgrade of `/ws` (nothing read yet).
    async fn asked_to_upgrade(addr: std::net::SocketAddr) -> TcpStream {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(
            b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
        s
    }

    /// Upgrades, then reads the server's Close frame; the stream is left open.
    async fn upgraded(addr: std::net::SocketAddr) -> TcpStream {
        let mut s = asked_to_upgrade(addr).await;
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.unwrap();
            head.push(b[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
        let mut frame = [0u8; 2];
        s.read_exact(&mut frame).await.unwrap();
        assert_eq!(frame, [0x88, 0], "the server's Close frame, without a payload");
        s
    }

    /// How long until the server closes the connection (reads EOF or an error).
    async fn until_closed(s: &mut TcpStream) -> Duration {
        let started = Instant::now();
        let mut buf = [0u8; 64];
        loop {
            match tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
                Ok(Ok(_)) => {}
                Err(_) => panic!("the server kept the connection 10 s after its Close"),
            }
        }
    }

    /// A browser that stops reading is given up on after the send bound, not waited for.
    #[tokio::test]
    async fn a_browser_that_stops_reading_is_given_up_on() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, Duration)>(1);
        let app = axum::Router::new().route(
            "/ws",
            get(move |ws: super::WebSocketUpgrade| async move {
                ws.on_upgrade(move |mut socket| async move {
                    let chunk = vec![b'x'; 64 * 1024];
                    let mut sent = 0;
                    let mut last = Instant::now();
                    while super::to_browser(&mut socket, &chunk, Duration::from_millis(300)).await {
                        sent += 1;
                        last = Instant::now();
                    }
                    let _ = tx.send((sent, last.elapsed())).await;
                })
            }),
        );
        let s = asked_to_upgrade(serve(app).await).await;
        // Nothing more is read: the server's buffers fill, and its next send waits.
        let (sent, waited) = tokio::time::timeout(Duration::from_secs(20), rx.recv())
            .await
            .expect("the server still waits on a browser that reads nothing")
            .unwrap();
        assert!(sent > 0, "nothing went before the buffers filled");
        assert!(waited >= Duration::from_millis(250) && waited < Duration::from_secs(2), "gave up after {waited:?}");
        drop(s);
    }

    /// The closing handshake waits for the browser's answer, so that the last message is not
    /// lost to a reset, but no longer than [`super::CLOSE_TIMEOUT`] for a browser that never
    /// answers; one that answers is let go at once.
    #[tokio::test]
    async fn the_closing_handshake_waits_for_the_answer_within_its_bound() {
        let addr = closing_server().await;
        let mut silent = upgraded(addr).await;
        let waited = until_closed(&mut silent).await;
        assert!(
            waited >= super::CLOSE_TIMEOUT - Duration::from_millis(300),
            "closed after {waited:?}, without waiting"
        );
        assert!(waited < super::CLOSE_TIMEOUT + Duration::from_secs(1), "closed after {waited:?}");
        let mut polite = upgraded(addr).await;
        // A masked Close frame without a payload, as a browser answers.
        polite.write_all(&[0x88, 0x80, 1, 2, 3, 4]).await.unwrap();
        let waited = until_closed(&mut polite).await;
        assert!(waited < Duration::from_millis(1000), "an answered close took {waited:?}");
    }
}
