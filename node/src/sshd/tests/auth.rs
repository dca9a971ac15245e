//! Authentication over the network: every refusal is audited with its own kind, a genuine
//! certificate that RBAC turns away is told why and runs nothing, and what russh refuses before
//! Tether's checks is audited at the connection's end.

use std::sync::Arc;

use russh::{Disconnect, client};
use tether_shared::ssh_cert::{HostIdentity, SshCa, generate_ed25519_key};
use time::OffsetDateTime;

use super::{CLUSTER, Harness, TestClient, exec, identity, me};

#[tokio::test]
async fn refusals_are_audited_with_distinct_reasons() {
    let h = Harness::start().await;
    let login = me();
    let key = generate_ed25519_key().unwrap();

    // Signed by a CA the node does not trust.
    let other = SshCa::generate().unwrap();
    let cert = other.issue_user_cert(key.public_key(), &identity(&["dev"], &[&login]), 1).unwrap();
    assert!(h.connect_with(&login, &key, cert).await.is_err());
    let e = h.refusal("untrusted_ca").await;
    assert_eq!(
        (e.1.as_str(), e.2.as_str(), e.3),
        (tether_audit::Event::AuthFailure.code(tether_audit::Outcome::Failure), "alice", false)
    );
    assert!(e.4["reason"].as_str().unwrap().contains("untrusted certificate authority"), "{e:?}");

    // A host certificate from the trusted CA presented as a user certificate.
    let now = OffsetDateTime::now_utc();
    let host = HostIdentity {
        host_id: "alice".into(),
        principals: vec![login.clone()],
        cluster: CLUSTER.into(),
        valid_after: now - time::Duration::minutes(1),
        valid_before: now + time::Duration::hours(1),
    };
    let cert = h.ca.issue_host_cert(key.public_key(), &host, 2).unwrap();
    assert!(h.connect_with(&login, &key, cert).await.is_err());
    h.refusal("wrong_cert_type").await;

    // A login outside the principals.
    assert!(h.connect(&["dev"], &["someone"], &login).await.is_err());
    let e = h.refusal("login_not_a_principal").await;
    assert_eq!(e.4["login"], login);

    // Roles that do not allow the login, or do not match the node's labels, or do not exist:
    // a genuine certificate gets in far enough to read why, and nothing runs.
    // A path of this run's own, so that a file left by another run (a mutant's, say) can
    // neither fail this test nor hide a command that ran.
    let marker = std::env::temp_dir().join(format!("tether-must-not-run-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let touch = &format!("touch {}", marker.display());
    let denied = |client: client::Handle<TestClient>| async move {
        let ran = exec(&client, touch, None).await;
        assert_eq!(ran.status, Some(1));
        assert!(ran.err().starts_with("tether: access denied to "), "{:?}", ran.err());
        ran.err()
    };
    let why = denied(h.connect(&["other-login"], &[&login], &login).await.expect("let in to be told")).await;
    assert!(why.contains("allow.logins"), "{why}");
    let denied_login = h.refusal("access_denied").await;
    assert!(denied_login.4["reason"].as_str().unwrap().contains("allow.logins"), "{denied_login:?}");
    h.trust.events.lock().unwrap().clear();
    let why = denied(h.connect(&["prod-only"], &[&login], &login).await.expect("let in to be told")).await;
    assert!(why.contains("node_labels"), "{why}");
    let denied_labels = h.refusal("access_denied").await;
    assert!(denied_labels.4["reason"].as_str().unwrap().contains("node_labels"), "{denied_labels:?}");
    denied(h.connect(&["ghost"], &[&login], &login).await.expect("let in to be told")).await;
    h.refusal("no_roles").await;
    assert!(h.events("exec").is_empty() && h.events("session.start").is_empty(), "nothing ran");
    assert!(!marker.exists(), "a denied command ran: {} exists", marker.display());

    // A plain key (no certificate).
    let config = Arc::new(client::Config::default());
    let mut plain = client::connect(config, h.addr, TestClient { refusals: h.refusals.clone() }).await.unwrap();
    let auth = plain
        .authenticate_publickey(&login, russh::keys::PrivateKeyWithHashAlg::new(Arc::new(key.clone()), None))
        .await
        .unwrap();
    assert!(!auth.success());
    h.refusal("plain_key").await;
    drop(plain);

    // An expired certificate: russh refuses it before Tether's handler sees it; the
    // connection's end is audited.
    let mut expired = identity(&["dev"], &[&login]);
    expired.valid_after = now - time::Duration::hours(2);
    expired.valid_before = now - time::Duration::hours(1);
    let cert = h.ca.issue_user_cert(key.public_key(), &expired, 3).unwrap();
    let config = Arc::new(client::Config::default());
    let mut handle = client::connect(config, h.addr, TestClient { refusals: h.refusals.clone() }).await.unwrap();
    let auth = handle.authenticate_openssh_cert(&login, Arc::new(key.clone()), cert).await.unwrap();
    assert!(!auth.success());
    let _ = handle.disconnect(Disconnect::ByApplication, "", "").await;
    drop(handle);
    h.refusal("refused_by_ssh_library").await;

    // No session ever started.
    assert!(h.events("session.start").is_empty());
    h.stop().await;
}
