//! The daemon on PostgreSQL storage (a throwaway server from `tether_tests::postgres`): state kept
//! in the database, shared by two daemons of one cluster, and a one-line error when the database
//! cannot be reached.

use std::time::{Duration, Instant};

use tether_tests::{Cluster, fixtures, postgres, run};

#[test]
fn two_daemons_share_one_postgresql_database() {
    let server = postgres::server();
    let db = server.fresh_database();
    let conn = server.tls_conn_string(&db);
    let mut a = Cluster::builder("pg.example.com").postgresql(&conn).start();
    a.add_user("alice", "access", "root", "correct-horse");
    assert!(!a.data_dir().join("backend.db").exists(), "no SQLite file with PostgreSQL storage");
    let stored = server.psql(&db, "SELECT count(*) FROM tether_items WHERE key = '/resources/user/alice'");
    assert_eq!(stored, "1");

    // Another host of the cluster (its own data dir) sees the user made through the first, and a
    // token made through it is seen by the first.
    let b = Cluster::builder("pg.example.com").postgresql(&conn).start();
    assert!(b.tctl(&["users", "ls"]).ok().contains("alice"));
    let token = fixtures::token(&b, &["--type=node"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let shown = token.get(..8).unwrap_or(&token);
    while !a.tctl(&["tokens", "ls"]).ok().contains(shown) {
        assert!(Instant::now() < deadline, "a token made through the second host never reached the first");
        std::thread::sleep(Duration::from_millis(200));
    }

    // The first restarts on the same database and still has its user.
    a.restart();
    assert!(a.tctl(&["users", "ls"]).ok().contains("alice"));
}

#[test]
fn unreachable_postgresql_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = fixtures::write(
        dir.path(),
        "tether.yaml",
        &format!(
            "teleport:\n  data_dir: {}\n  storage:\n    type: postgresql\n    conn_string: \
             postgres://tether:pw@127.0.0.1:{port}/tether?sslmode=disable\n",
            dir.path().join("data").display()
        ),
    );
    let out = run("tether", &["start", "-c", config.to_str().unwrap()], &[], None);
    let stderr = out.err();
    let expected = format!(
        "error: teleport.storage.conn_string: cannot connect to PostgreSQL at 127.0.0.1:{port}: connection refused"
    );
    assert_eq!(stderr.lines().filter(|l| l.contains("PostgreSQL")).collect::<Vec<_>>(), [expected.as_str()]);

    // sslmode=disable for a remote host is a config error, before any connection.
    let remote = fixtures::write(
        dir.path(),
        "remote.yaml",
        "teleport:\n  storage:\n    type: postgresql\n    conn_string: postgres://tether@db.example.com/tether?sslmode=disable\n",
    );
    let stderr = run("tether", &["start", "-c", remote.to_str().unwrap()], &[], None).err();
    assert!(stderr.contains("sslmode=disable is allowed only for a loopback host, not db.example.com"), "{stderr}");
}
