//! Acknowledged writes survive a crash: a steady stream of resource writes through the web API,
//! `kill -9` of the daemon in the middle of it (and with PostgreSQL, of one of two hosts and a
//! restart of PostgreSQL itself), and every write the API had acknowledged is there, intact,
//! counted. This file's PostgreSQL test is the only one in its process: it restarts the server.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tether_tests::{Cluster, postgres};

fn role(name: &str) -> String {
    format!("kind: role\nversion: v5\nmetadata:\n  name: {name}\nspec:\n  allow:\n    logins: [{name}]\n")
}

/// The web API as the host's local admin.
fn admin_client(host: &Cluster) -> tether_client::client::ApiClient {
    let creds = tether_client::credentials::Credentials::load(&host.data_dir().join("admin-identity.json")).unwrap();
    creds.api_client(false).unwrap()
}

/// Every acknowledged `PREFIX-N` role is stored, and whole: it parsed, and says its own name.
fn assert_all_stored(host: &Cluster, prefix: &str, acked: &[String]) {
    let stored = host.tctl(&["get", "roles", "--format=json"]).ok();
    let stored: Vec<serde_json::Value> = serde_json::from_str(&stored).unwrap();
    let names: std::collections::HashSet<String> =
        stored.iter().filter_map(|r| r["metadata"]["name"].as_str().map(str::to_string)).collect();
    let lost: Vec<&String> = acked.iter().filter(|n| !names.contains(*n)).collect();
    assert!(lost.is_empty(), "{} of {} acknowledged writes lost: {lost:?}", lost.len(), acked.len());
    for r in &stored {
        let name = r["metadata"]["name"].as_str().unwrap_or_default();
        if name.starts_with(&format!("{prefix}-")) {
            assert_eq!(r["spec"]["allow"]["logins"][0].as_str(), Some(name), "{r}");
        }
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let mut cluster = Cluster::start("root.example.com");
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = write_load(vec![admin_client(&cluster)], "durable", acked.clone(), stop.clone());
    // Let writes flow, then crash the daemon in the middle of them.
    wait_acked(&acked, 50);
    cluster.kill_hard();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let failures = writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(failures > 0, "the writer saw the crash");

    cluster.restart();
    assert_all_stored(&cluster, "durable", &acked);
    eprintln!("durability: {} acknowledged writes, 0 lost, {failures} refused during the crash", acked.len());
}

/// Writes roles `PREFIX-N` through the hosts in turn until `stop`; returns the acknowledged
/// names and how many writes were refused.
fn write_load(
    hosts: Vec<tether_client::client::ApiClient>,
    prefix: &'static str,
    acked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<usize> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut refused = 0;
        for i in 0.. {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let name = format!("{prefix}-{i}");
            let host = &hosts[i % hosts.len()];
            match rt.block_on(host.post_text::<Vec<String>>("/webapi/resources", &role(&name))) {
                Ok(_) => acked.lock().unwrap().push(name),
                Err(_) => {
                    refused += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
        refused
    })
}

fn wait_acked(acked: &Mutex<Vec<String>>, at_least: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < at_least {
        assert!(std::time::Instant::now() < deadline, "writes stalled at {}", acked.lock().unwrap().len());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn acknowledged_writes_survive_a_host_kill_and_a_postgresql_restart() {
    let pg = postgres::server();
    let conn = pg.conn_string(&pg.fresh_database());
    let mut a = Cluster::builder("root.example.com").postgresql(&conn).start();
    let b = Cluster::builder("root.example.com").postgresql(&conn).start();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = write_load(vec![admin_client(&a), admin_client(&b)], "ha", acked.clone(), stop.clone());

    wait_acked(&acked, 40);
    a.kill_hard();
    let after_kill = acked.lock().unwrap().len();
    wait_acked(&acked, after_kill + 20);
    pg.restart();
    let after_restart = acked.lock().unwrap().len();
    // Writes go on once PostgreSQL is back (through B; A is dead).
    wait_acked(&acked, after_restart + 20);
    stop.store(true, Ordering::Relaxed);
    let refused = writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();

    assert_all_stored(&b, "ha", &acked);
    eprintln!(
        "durability (PostgreSQL, two hosts): {} acknowledged writes, 0 lost, {refused} refused (host killed, PostgreSQL restarted)",
        acked.len()
    );
}
