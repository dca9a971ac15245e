//! Sessions: exec and shell with and without a PTY, stdin and output streaming, exit status and
//! signal, the environment, running as the login, and shutdown.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::{ChannelMsg, Sig};
use serde_json::json;
use tether_shared::labels::Labels;
use tether_shared::resource::RoleOptions;
use tether_shared::ssh_cert::SshCa;
use tokio::io::AsyncWriteExt;

use super::{CLUSTER, Harness, Ran, TestTrust, WAIT, collect, exec, me, role};

#[tokio::test]
async fn exec_streams_and_reports_exit_status() {
    let h = Harness::start().await;
    let client = h.login().await;
    let ran = exec(&client, "echo hi", None).await;
    assert_eq!(ran.out(), "hi\n");
    assert_eq!(ran.status, Some(0));
    let ran = exec(&client, "exit 7", None).await;
    assert_eq!(ran.status, Some(7));
    let ran = exec(&client, "echo oops >&2; exit 3", None).await;
    assert_eq!((ran.err().as_str(), ran.status), ("oops\n", Some(3)));
    // 1 MiB through stdin, counted on the far side.
    let input = vec![b'x'; 1 << 20];
    let ran = exec(&client, "wc -c", Some(&input)).await;
    assert_eq!(ran.out().trim(), "1048576");
    assert_eq!(ran.status, Some(0));
    // The environment is the login's.
    let ran = exec(&client, "echo $USER:$LOGNAME:$HOME:$(pwd)", None).await;
    let user = nix::unistd::User::from_name(&me()).unwrap().unwrap();
    let home = user.dir.display().to_string();
    let cwd = if user.dir.is_dir() { home.clone() } else { "/".to_string() };
    assert_eq!(ran.out().trim(), format!("{0}:{0}:{home}:{cwd}", me()));
    // A process killed by a signal reports exit-signal.
    let ran = exec(&client, "kill -TERM $$", None).await;
    assert!(matches!(ran.signal, Some(Sig::TERM)), "{ran:?}");
    assert_eq!(ran.status, None);

    let starts = h.events("session.start");
    assert_eq!(starts.len(), 6, "{starts:?}");
    assert_eq!(starts[0].2, "alice");
    assert_eq!(starts[0].4["login"], me());
    assert_eq!(starts[0].4["node"], "node1");
    assert_eq!(starts[0].4["roles"], json!(["dev"]));
    assert!(starts[0].4["remote_addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    let deadline = tokio::time::Instant::now() + WAIT;
    while h.events("session.end").len() < 6 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let codes: Vec<serde_json::Value> = h.events("session.end").iter().map(|e| e.4["exit_code"].clone()).collect();
    assert!(codes.contains(&json!(7)) && codes.contains(&json!(143)), "{codes:?}");
    drop(client);
    h.stop().await;
}

#[tokio::test]
async fn echo_of_bulk_data_does_not_deadlock() {
    // stdin → cat → stdout with more data in flight than every buffer on the path holds.
    let h = Harness::start().await;
    let client = h.login().await;
    let mut channel = client.channel_open_session().await.unwrap();
    channel.exec(true, "cat").await.unwrap();
    let input: Vec<u8> = (0..32u32 << 20).map(|i| (i % 251) as u8).collect();
    let writer = channel.make_writer();
    let sent = input.clone();
    let feeder = tokio::spawn(async move {
        let mut writer = writer;
        writer.write_all(&sent).await.unwrap();
        writer.shutdown().await.unwrap();
    });
    let mut ran = Ran::default();
    loop {
        let Ok(msg) = tokio::time::timeout(WAIT, channel.wait()).await else {
            panic!("stalled after {} bytes; feeder finished: {}", ran.stdout.len(), feeder.is_finished())
        };
        let Some(msg) = msg else { break };
        match msg {
            ChannelMsg::Data { data } => ran.stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, ext: 1 } => ran.stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => ran.status = Some(exit_status),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    // A session that ended early (refused, say) fails here, not in a feeder blocked for good.
    assert_eq!(ran.status, Some(0), "{}", ran.err());
    tokio::time::timeout(WAIT, feeder).await.expect("the feeder is still blocked").unwrap();
    assert_eq!(ran.stdout.len(), input.len());
    assert!(ran.stdout == input);
    h.stop().await;
}

#[tokio::test]
async fn client_signal_and_env() {
    // A daemon started as a script's background job has SIGINT ignored (and under `nohup`,
    // SIGHUP), and the disposition survives exec: the session must still die of the client's
    // signal. Ignoring it in this test process makes that case hold on every run (it used to
    // fail only when the suite ran in the background).
    // SAFETY: SIG_IGN installs no handler; no test in this binary relies on SIGINT.
    #[allow(unsafe_code)]
    let _ = unsafe { nix::sys::signal::signal(nix::sys::signal::Signal::SIGINT, nix::sys::signal::SigHandler::SigIgn) };
    let h = Harness::start().await;
    let client = h.login().await;
    let mut channel = client.channel_open_session().await.unwrap();
    channel.set_env(true, "LANG", "C.UTF-8").await.unwrap();
    channel.set_env(true, "LD_PRELOAD", "/evil.so").await.unwrap();
    channel.exec(true, "echo \"$LANG|$LD_PRELOAD\"; exec sleep 30").await.unwrap();
    // Wait for the output, then interrupt.
    let mut out = Vec::new();
    while !out.ends_with(b"\n") {
        match tokio::time::timeout(WAIT, channel.wait()).await.unwrap() {
            Some(ChannelMsg::Data { data }) => out.extend_from_slice(&data),
            Some(_) => {}
            None => panic!("channel closed early"),
        }
    }
    assert_eq!(String::from_utf8_lossy(&out), "C.UTF-8|\n");
    channel.signal(Sig::INT).await.unwrap();
    let ran = collect(&mut channel).await;
    assert!(matches!(ran.signal, Some(Sig::INT)), "{ran:?}");
    drop(client);
    h.stop().await;
}

#[tokio::test]
async fn pty_sessions() {
    let h = Harness::start().await;
    let client = h.login().await;
    let mut channel = client.channel_open_session().await.unwrap();
    channel.request_pty(true, "xterm-256color", 80, 24, 0, 0, &[]).await.unwrap();
    // The resize reaches the shell as SIGWINCH; no timing involved.
    let script = "trap 'stty size; exit 0' WINCH; tty; echo $TERM; stty size; while :; do sleep 0.05; done";
    channel.exec(true, script).await.unwrap();
    let mut out = String::new();
    while !out.contains("24 80") {
        match tokio::time::timeout(WAIT, channel.wait()).await.unwrap() {
            Some(ChannelMsg::Data { data }) => out.push_str(&String::from_utf8_lossy(&data)),
            Some(_) => {}
            None => panic!("channel closed early: {out:?}"),
        }
    }
    channel.window_change(100, 30, 0, 0).await.unwrap();
    let ran = collect(&mut channel).await;
    out.push_str(&ran.out());
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(lines.get(1..4), Some(&["xterm-256color", "24 80", "30 100"][..]), "{out:?}");
    assert_eq!(ran.status, Some(0));

    // An interactive login shell on a PTY.
    let mut channel = client.channel_open_session().await.unwrap();
    channel.request_pty(true, "xterm", 80, 24, 0, 0, &[]).await.unwrap();
    channel.request_shell(true).await.unwrap();
    channel.data_bytes(b"echo \"shell:$0\"; exit 5\n".to_vec()).await.unwrap();
    let ran = collect(&mut channel).await;
    assert!(ran.out().contains("shell:-"), "{:?}", ran.out());
    assert_eq!(ran.status, Some(5));
    drop(client);
    h.stop().await;
}

/// Removes the temporary account and group of `sessions_run_as_the_login`, even on failure.
struct TempAccount(String);

impl Drop for TempAccount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("userdel").arg(&self.0).status();
        let _ = std::process::Command::new("groupdel").arg(&self.0).status();
    }
}

/// As root, a session for another login runs with that login's uid, primary gid and its
/// supplementary groups (initgroups), in its home. Creates a temporary account and group
/// (root only; a non-root daemon can only run as itself, tested above).
#[tokio::test]
async fn sessions_run_as_the_login() {
    if !nix::unistd::geteuid().is_root() {
        return;
    }
    let name = format!("tethert{}", std::process::id() % 100_000);
    let _cleanup = TempAccount(name.clone());
    let ok = |cmd: &mut std::process::Command| cmd.status().map(|s| s.success()).unwrap_or(false);
    assert!(ok(std::process::Command::new("groupadd").arg(&name)), "groupadd");
    assert!(
        ok(std::process::Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", "-G", &name, "-U"])
            .arg(format!("{name}u"))),
        "useradd"
    );
    let login = format!("{name}u");
    let _cleanup_user = TempAccount(login.clone());
    let user = nix::unistd::User::from_name(&login).unwrap().expect("the account exists");
    let extra = nix::unistd::Group::from_name(&name).unwrap().expect("the group exists").gid;
    let ca = SshCa::generate().unwrap();
    let trust = Arc::new(TestTrust {
        cas: vec![(CLUSTER.to_string(), ca.public_key().clone())],
        roles: vec![role("other", &[&login], "test", RoleOptions::default())],
        labels: Labels::from([("env".to_string(), "test".to_string())]),
        events: Mutex::new(Vec::new()),
    });
    let h = Harness::start_with(ca, trust).await;
    let client = h.connect(&["other"], &[&login], &login).await.unwrap();
    let ran = exec(&client, "id -u; id -g; id -G; pwd", None).await;
    let out = ran.out();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out} {}", ran.err());
    assert_eq!(lines[0], user.uid.to_string());
    assert_eq!(lines[1], user.gid.to_string());
    let groups: Vec<&str> = lines[2].split_whitespace().collect();
    assert!(groups.contains(&extra.to_string().as_str()), "supplementary group applied: {groups:?}");
    assert!(!groups.contains(&"0"), "root's groups are dropped: {groups:?}");
    assert_eq!(lines[3], user.dir.display().to_string());
    drop(client);
    h.stop().await;
    let _ = std::process::Command::new("rm").arg("-rf").arg(&user.dir).status();
}

#[tokio::test]
async fn missing_login_is_reported_not_hung() {
    let h = Harness::start().await;
    let client = h.connect(&["dev"], &["nosuchuser"], "nosuchuser").await.expect("RBAC allows nosuchuser");
    let ran = exec(&client, "true", None).await;
    assert_eq!(ran.status, Some(1));
    assert_eq!(ran.err(), "tether: login \"nosuchuser\" does not exist on node node1\n");
    assert_eq!(h.events("exec").len(), 1);
    drop(client);
    h.stop().await;
}

#[tokio::test]
async fn shutdown_stops_running_sessions() {
    let h = Harness::start().await;
    let client = h.login().await;
    let mut channel = client.channel_open_session().await.unwrap();
    // A unique command line, so the check below finds only this test's process.
    let marker = format!("sleep 6{}.25", std::process::id() % 1000);
    channel.exec(true, marker.as_str()).await.unwrap();
    let running =
        || std::process::Command::new("pgrep").args(["-f", &marker]).output().is_ok_and(|o| o.status.success());
    let deadline = std::time::Instant::now() + WAIT;
    while !running() {
        assert!(std::time::Instant::now() < deadline, "the session never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let begun = std::time::Instant::now();
    h.stop().await;
    assert!(begun.elapsed() < Duration::from_secs(8));
    // The client sees the connection go, and the process is gone.
    tokio::time::timeout(WAIT, async { while channel.wait().await.is_some() {} }).await.unwrap();
    while running() {
        assert!(std::time::Instant::now() < deadline, "the session's process outlived the server");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
