//! Agent forwarding and port forwarding (local and remote) as the roles allow, counted against
//! the connection's channel cap.

use std::time::Duration;

use russh::ChannelMsg;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Harness, TEST_MAX_FORWARDS, WAIT, collect, me};
use crate::sshd::policy::MAX_SESSIONS_PER_CONNECTION;

#[tokio::test]
async fn agent_forwarding_when_roles_allow_it() {
    let h = Harness::start().await;
    let client = h.login().await;
    let mut channel = client.channel_open_session().await.unwrap();
    channel.agent_forward(true).await.unwrap();
    channel.exec(true, "test -S \"$SSH_AUTH_SOCK\" && ssh-add -l; echo rc=$?").await.unwrap();
    let ran = collect(&mut channel).await;
    assert!(ran.out().contains("no identities"), "{ran:?} {}", ran.err());
    assert!(ran.out().ends_with("rc=1\n"), "{ran:?}");

    // A role without forward_agent: refused, no socket.
    let login = me();
    let client = h.connect(&["no-fwd"], &[&login], &login).await.unwrap();
    let mut channel = client.channel_open_session().await.unwrap();
    channel.agent_forward(true).await.unwrap();
    channel.exec(true, "echo \"[$SSH_AUTH_SOCK]\"").await.unwrap();
    let mut refused = false;
    let mut out = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, channel.wait()).await.unwrap() {
            Some(ChannelMsg::Failure) => refused = true,
            Some(ChannelMsg::Data { data }) => out.extend_from_slice(&data),
            None | Some(ChannelMsg::Close) => break,
            Some(_) => {}
        }
    }
    assert!(refused);
    assert_eq!(String::from_utf8_lossy(&out), "[]\n");
    h.stop().await;
}

#[tokio::test]
async fn port_forwarding_follows_the_roles() {
    let h = Harness::start().await;
    let echo = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = echo.local_addr().unwrap().port();
    let echo_task = tokio::spawn(async move {
        while let Ok((mut s, _)) = echo.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    let client = h.login().await;
    let channel = client.channel_open_direct_tcpip("127.0.0.1", port.into(), "127.0.0.1", 5555).await.unwrap();
    let mut stream = channel.into_stream();
    stream.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    tokio::time::timeout(WAIT, stream.read_exact(&mut buf)).await.unwrap().unwrap();
    assert_eq!(&buf, b"ping");
    assert_eq!(h.events("port").len(), 1);

    // Forwards have a cap of their own, well past the sessions' 10 (a browser through -D opens
    // dozens); the refusal says why.
    let mut held = vec![stream];
    for _ in 1..TEST_MAX_FORWARDS {
        let ch = client.channel_open_direct_tcpip("127.0.0.1", port.into(), "127.0.0.1", 5555).await.unwrap();
        held.push(ch.into_stream());
    }
    assert!(
        client.channel_open_direct_tcpip("127.0.0.1", port.into(), "127.0.0.1", 5555).await.is_err(),
        "forward {} past the cap was accepted",
        TEST_MAX_FORWARDS + 1
    );
    let full = format!("this connection already has {TEST_MAX_FORWARDS} port forwards open");
    assert!(h.last_refusal().starts_with(&full), "{:?}", h.last_refusal());
    // Sessions are counted apart: all 10 still open beside the forwards, the 11th is refused
    // with the reason.
    let mut sessions = Vec::new();
    for _ in 0..MAX_SESSIONS_PER_CONNECTION {
        sessions.push(client.channel_open_session().await.expect("a session beside the forwards"));
    }
    assert!(client.channel_open_session().await.is_err(), "a session past the cap was accepted");
    assert!(h.last_refusal().starts_with("this connection already has 10 sessions open"), "{:?}", h.last_refusal());
    drop(held);
    drop(sessions);

    let login = me();
    let denied = h.connect(&["no-fwd"], &[&login], &login).await.unwrap();
    assert!(denied.channel_open_direct_tcpip("127.0.0.1", port.into(), "127.0.0.1", 5555).await.is_err());
    echo_task.abort();
    h.stop().await;
}

#[tokio::test]
async fn remote_forwards_listen_on_loopback_and_count() {
    let h = Harness::start().await;
    let client = h.login().await;
    // Port 0: the node picks one and says which; it listens on loopback whatever was asked.
    let port = client.tcpip_forward("0.0.0.0", 0).await.unwrap();
    let port = u16::try_from(port).unwrap();
    assert_ne!(port, 0);
    let read = |port: u16| async move {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut got = String::new();
        tokio::time::timeout(WAIT, s.read_to_string(&mut got)).await.unwrap().unwrap();
        got
    };
    assert_eq!(read(port).await, format!("forwarded:0.0.0.0:{port}"));
    let remote: Vec<_> = h.events("port").into_iter().filter(|e| e.4["forward"] == "remote").collect();
    assert_eq!(remote.len(), 1);
    assert_eq!(
        (remote[0].1.as_str(), remote[0].4["listen"].as_str()),
        (tether_audit::Event::Port.code(tether_audit::Outcome::Success), Some(&*format!("127.0.0.1:{port}")))
    );

    // The listener counts against the forward cap: 11 more listeners fill it (once the forwarded
    // connection above has wound down on the node); sessions do not count.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let session = client.channel_open_session().await.unwrap();
    let mut held = Vec::new();
    for _ in 1..TEST_MAX_FORWARDS {
        held.push(client.tcpip_forward("localhost", 0).await.unwrap());
    }
    assert!(client.tcpip_forward("localhost", 0).await.is_err(), "a listener past the cap was accepted");
    assert_eq!(read(port).await, "", "a forwarded connection past the cap is closed");
    for listening in held {
        client.cancel_tcpip_forward("localhost", listening).await.unwrap();
    }
    session.close().await.unwrap();
    // (A channel object keeps the client's session running: let it go.)
    drop(session);

    // Cancelled: the port closes; an unknown forward cannot be cancelled.
    client.cancel_tcpip_forward("0.0.0.0", u32::from(port)).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "still listening after cancel");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(client.cancel_tcpip_forward("0.0.0.0", u32::from(port)).await.is_err());

    // A fixed port, then the connection ends: the listener goes with it.
    let fixed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    assert_eq!(client.tcpip_forward("localhost", u32::from(fixed)).await.unwrap(), 0, "no port in the reply");
    assert_eq!(read(fixed).await, format!("forwarded:localhost:{fixed}"));
    drop(client);
    while tokio::net::TcpStream::connect(("127.0.0.1", fixed)).await.is_ok() {
        assert!(std::time::Instant::now() < deadline, "still listening after the connection ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Roles that turn port forwarding off: refused, and audited with the reason.
    let login = me();
    let denied = h.connect(&["no-fwd"], &[&login], &login).await.unwrap();
    assert!(denied.tcpip_forward("localhost", 0).await.is_err());
    let refused: Vec<String> = h
        .events("port")
        .into_iter()
        .filter(|e| e.1 == tether_audit::Event::Port.code(tether_audit::Outcome::Failure))
        .map(|e| e.4["error"].as_str().unwrap_or_default().to_string())
        .collect();
    let cap = format!(
        "this connection already has {TEST_MAX_FORWARDS} port forwards open (the node's max_forwards_per_connection)"
    );
    assert_eq!(refused, vec![cap, "port forwarding is not allowed by your roles".to_string()]);
    h.stop().await;
}
