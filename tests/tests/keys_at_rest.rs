//! CA private keys never sit in storage in clear: sealed under a key-encryption key
//! (`auth/src/sealed.rs`). A fresh cluster generates `DATA_DIR/ca.kek` (0600) and says so; the
//! SQLite file and a PostgreSQL dump hold no private key; a wrong key stops start-up with one
//! line, and the right one starts it again. With `ca_key_params.pkcs11` (SoftHSM2 here) the
//! keys are made and used in the token, and the cluster cannot start without it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use tether_tests::{Cluster, binary, postgres};

/// Whether `bytes` hold a PEM private key, in clear or hex-encoded (how `pg_dump` writes bytea).
fn holds_a_private_key(bytes: &[u8]) -> bool {
    let hex: String = b"PRIVATE KEY".iter().map(|b| format!("{b:02x}")).collect();
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle));
    has(b"PRIVATE KEY") || has(hex.as_bytes()) || has(b"openssh-key-v1") || has(b"b3BlbnNzaC1rZXktdjE")
}

/// Starts the daemon of `cluster` once more, expecting it to stop; what it printed on stderr.
fn failed_start(cluster: &Cluster) -> String {
    let out = Command::new(binary("tether"))
        .args(["start", "-c"])
        .arg(cluster.config())
        .envs(cluster.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .expect("tether runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "it started: {stderr}");
    stderr
}

/// Every file in `dir` (the SQLite database and its WAL), concatenated.
fn files_in(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_file() && entry.file_name().to_string_lossy().starts_with("backend.db") {
            all.extend(std::fs::read(entry.path()).unwrap());
        }
    }
    all
}

#[test]
fn no_private_key_in_the_sqlite_file_and_the_generated_kek_is_0600() {
    let mut cluster = Cluster::start("sealed.example.com");
    cluster.add_user("alice", "access", "root", "correct-horse");
    let data = cluster.data_dir();
    let kek = data.join("ca.kek");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&kek).expect("ca.kek").permissions());
    assert_eq!(mode & 0o777, 0o600, "ca.kek is mode {mode:o}");
    assert!(
        cluster.log().contains("generated the key-encryption key of this cluster's CA keys at"),
        "{}",
        cluster.log()
    );
    let audit = cluster.audit_lines();
    assert!(
        audit
            .iter()
            .any(|l| l.contains("\"ca.keys\"") && l.contains("\"action\":\"generated\"") && l.contains("TC010I")),
        "{audit:#?}"
    );
    cluster.stop();
    let stored = files_in(&data);
    assert!(stored.len() > 4096, "no database read");
    assert!(!holds_a_private_key(&stored), "a CA private key is in the SQLite file in clear");
    // The check itself finds a key in clear.
    assert!(holds_a_private_key(b"x-----BEGIN OPENSSH PRIVATE KEY-----x"));
    // The same key starts it again, and nothing new is generated.
    cluster.restart();
    assert!(cluster.tctl(&["users", "ls"]).ok().contains("alice"));
    assert!(!cluster.log().contains("generated the key-encryption key"), "a second key was generated");
    assert!(cluster.audit_lines().iter().any(|l| l.contains("\"ca.keys\"") && l.contains("\"action\":\"opened\"")));
}

#[test]
fn a_wrong_key_encryption_key_stops_start_up_with_one_line() {
    let mut cluster = Cluster::start("wrongkey.example.com");
    cluster.stop();
    let kek = cluster.data_dir().join("ca.kek");
    let right = std::fs::read_to_string(&kek).unwrap();
    std::fs::write(&kek, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n").unwrap();
    let stderr = failed_start(&cluster);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("key-encryption key")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let audit = cluster.audit_lines();
    assert!(
        audit.iter().any(|l| l.contains("\"ca.keys\"") && l.contains("TC010E") && l.contains("does not open")),
        "the failure to open the keys is not audited: {audit:#?}"
    );
    assert!(
        lines[0].contains(&format!(
            "the key-encryption key from {} does not open the CA keys in storage: start with the key this \
             cluster's keys were sealed with",
            kek.display()
        )),
        "{stderr}"
    );
    // A missing one: named too.
    std::fs::remove_file(&kek).unwrap();
    let stderr = failed_start(&cluster);
    assert!(
        stderr.contains("the CA keys in storage are sealed, and no key-encryption key was given: set TETHER_CA_KEK"),
        "{stderr}"
    );
    // The right one, back in place: it starts (and not while every user can read it).
    std::fs::write(&kek, right).unwrap();
    std::fs::set_permissions(&kek, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let stderr = failed_start(&cluster);
    assert!(stderr.contains("can be read by every user (mode 644): chmod 600 it"), "{stderr}");
    std::fs::set_permissions(&kek, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    cluster.restart();
    std::thread::sleep(Duration::from_millis(100));
    assert!(cluster.tctl(&["status"]).ok().contains("wrongkey.example.com"));
}

#[test]
fn no_private_key_in_a_postgresql_dump() {
    let server = postgres::server();
    let db = server.fresh_database();
    let conn = server.conn_string(&db);
    let a = Cluster::builder("pgsealed.example.com").postgresql(&conn).start();
    // A second host with the same key opens the same sealed keys.
    let b = Cluster::builder("pgsealed.example.com").postgresql(&conn).start();
    assert!(b.tctl(&["status"]).ok().contains("pgsealed.example.com"));
    let dump = server.dump(&db);
    assert!(
        dump.len() > 1024 && String::from_utf8_lossy(&dump).contains("/secrets/ca/sealed"),
        "the dump holds no CA record"
    );
    assert!(!holds_a_private_key(&dump), "a CA private key is in the PostgreSQL dump in clear");
    drop((a, b));
}

/// The SoftHSM2 module Debian's `softhsm2` installs.
const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// A SoftHSM2 configuration with its own token directory under `dir`, and (when `label` is
/// given) an initialised token; returns the configuration file.
fn softhsm_token(dir: &Path, label: Option<&str>) -> std::path::PathBuf {
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(&conf, format!("directories.tokendir = {}\nobjectstore.backend = file\n", tokens.display()))
        .unwrap();
    if let Some(label) = label {
        let out = Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", label, "--pin", "1234", "--so-pin", "5678"])
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .expect("softhsm2-util runs (apt-get install softhsm2)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    conf
}

#[test]
fn with_an_hsm_the_ca_keys_are_made_and_used_in_the_token_and_never_leave_it() {
    let dir = tempfile::tempdir().unwrap();
    let conf = softhsm_token(&dir.path().join("hsm"), Some("tether"));
    let pkcs11 = format!(
        "  ca_key_params:\n    pkcs11:\n      module_path: {SOFTHSM}\n      token_label: tether\n      pin: \"1234\"\n"
    );
    let mut cluster = Cluster::builder("root.example.com")
        .auth(&pkcs11)
        .env("SOFTHSM2_CONF", conf.to_str().unwrap())
        .node(&[])
        .start();
    // Users and nodes get certificates signed in the token, and log in with them.
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    let node = cluster.as_user(&home, "tsh", &["ls"], None).ok();
    let node = node.lines().nth(2).and_then(|l| l.split_whitespace().next()).unwrap_or_default().to_string();
    let out = cluster.as_user(&home, "tsh", &["ssh", &format!("root@{node}"), "echo signed-in-the-token"], None);
    assert_eq!((out.code, out.stdout.trim()), (0, "signed-in-the-token"), "{}", out.stderr);
    // The record names the keys; neither it nor the data dir holds one.
    assert!(!holds_a_private_key(&files_in(&cluster.data_dir())), "a private key in the data dir");
    // A rotation makes its new key in the token too.
    let moved = cluster.tctl(&["auth", "rotate", "--type=user", "--manual", "--phase=init"]).ok();
    assert!(moved.contains("phase init"), "{moved}");
    let audit = cluster.audit_lines().join("\n");
    assert!(audit.contains("\"event\":\"ca.rotate\"") && audit.contains("TCA01I"), "{audit}");

    // Without the token (another, empty one of the same label), the cluster does not start.
    cluster.stop();
    let empty = softhsm_token(&dir.path().join("empty"), Some("tether"));
    cluster.env = vec![("SOFTHSM2_CONF".into(), empty.to_str().unwrap().into())];
    let err = failed_start(&cluster);
    assert!(err.contains("no such key in the token"), "{err}");
    let audited = cluster.audit_lines().join("\n");
    assert!(audited.contains("TC010E") && audited.contains("no such key in the token"), "{audited}");
    assert_eq!(err.trim().lines().filter(|l| l.contains("Error") || l.contains("error")).count(), 1, "{err}");
    // A wrong PIN or a missing token says so in one line too.
    cluster.env = vec![("SOFTHSM2_CONF".into(), conf.to_str().unwrap().into())];
    let config = std::fs::read_to_string(cluster.config()).unwrap();
    std::fs::write(cluster.config(), config.replace("pin: \"1234\"", "pin: \"9999\"")).unwrap();
    let err = failed_start(&cluster);
    assert!(err.contains("PKCS#11 token \"tether\"") && err.contains("check ca_key_params.pkcs11.pin"), "{err}");
    std::fs::write(cluster.config(), config.replace("token_label: tether", "token_label: nothere")).unwrap();
    let err = failed_start(&cluster);
    assert!(err.contains("no PKCS#11 token labelled \"nothere\""), "{err}");
    // With its token back, it starts, and the users' certificates still verify.
    std::fs::write(cluster.config(), &config).unwrap();
    cluster.restart();
    let again = cluster.as_user(&home, "tsh", &["ls"], None).ok();
    assert!(again.contains(&node), "{again}");
}
