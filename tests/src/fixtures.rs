//! Shared test fixtures: files and waits, join tokens, the guide's `visitor` role and account,
//! and a leaf that trusts a root with the guide's role map (with or without a node).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::{Cluster, RemoteNode};

/// The guide's `visitor` role on the leaf: login `visitor` on every node.
pub const VISITOR: &str = "kind: role
version: v5
metadata:
  name: visitor
spec:
  allow:
    logins:
    - visitor
    node_labels:
      '*': '*'
";

/// The role map the leaf's trusted_cluster resource uses: root `access` → leaf `visitor`.
pub const ROLE_MAP: &str = "  - remote: \"access\"\n    local: [\"visitor\"]\n  - remote: 'cluster-*'\n    local: [clusteradmin]\n  - remote: \"^remote-(.*)$\"\n    local: [local-$1]\n";

/// The guide's node logs in as `visitor`: make sure the account exists (tests run as root).
pub fn ensure_visitor_account() {
    let exists = std::process::Command::new("id").arg("visitor").output().is_ok_and(|o| o.status.success());
    if !exists {
        let out = std::process::Command::new("useradd").args(["--create-home", "visitor"]).output();
        assert!(out.is_ok_and(|o| o.status.success()), "cannot create the visitor account (run the tests as root)");
    }
    // A home left by an earlier account of that name (useradd keeps an existing directory as it
    // is) would refuse the new account's writes: hand it over.
    if let Ok(Some(user)) = nix::unistd::User::from_name("visitor") {
        use std::os::unix::fs::MetadataExt;
        if std::fs::metadata(&user.dir).is_ok_and(|m| m.uid() != user.uid.as_raw()) {
            let owner = format!("{}:{}", user.uid, user.gid);
            let out = std::process::Command::new("chown").arg("-R").arg(&owner).arg(&user.dir).output();
            assert!(out.is_ok_and(|o| o.status.success()), "cannot hand {} to visitor", user.dir.display());
        }
    }
}

/// Writes `text` to `dir/name`.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Polls `check` every 200 ms until it returns `None`; panics with its last answer after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<String>) {
    let start = Instant::now();
    let mut last = String::new();
    while start.elapsed() < timeout {
        match check() {
            None => return,
            Some(state) => last = state,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{what} did not happen within {timeout:?}; last: {last}");
}

/// `tctl tokens add --type=X`, returning the token.
pub fn token(cluster: &Cluster, args: &[&str]) -> String {
    let mut all = vec!["tokens", "add"];
    all.extend_from_slice(args);
    let out = cluster.tctl(&all).ok();
    out.lines()
        .find_map(|l| l.split_once("token: ").map(|(_, t)| t.trim().to_string()))
        .unwrap_or_else(|| panic!("no token in: {out}"))
}

/// The leaf's trusted_cluster resource for `root`.
pub fn trusted_cluster_yaml(root: &Cluster, token: &str, enabled: bool, role_map: &str) -> String {
    format!(
        "# trusted_cluster.yaml\nkind: trusted_cluster\nversion: v2\nmetadata:\n  name: {name}\nspec:\n  enabled: {enabled}\n  token: {token}\n  tunnel_addr: {tunnel}\n  web_proxy_addr: {web}\n  role_map:\n{role_map}",
        name = root.name,
        tunnel = root.tunnel_addr,
        web = root.web_addr,
    )
}

/// The leaf gets the visitor role and trusts the root with [`ROLE_MAP`] and a fresh token.
pub fn trust(root: &Cluster, leaf: &Cluster) {
    let dir = root.dir.path();
    leaf.tctl(&["create", write(dir, "visitor.yaml", VISITOR).to_str().unwrap()]).ok();
    let tok = token(root, &["--type=trusted_cluster"]);
    leaf.tctl(&["create", write(dir, "tc.yaml", &trusted_cluster_yaml(root, &tok, true, ROLE_MAP)).to_str().unwrap()])
        .ok();
}

/// A root, and a leaf (started with `--insecure`, as the guide allows for testing) whose node
/// `mynode` is labelled `env=demo`.
pub struct Pair {
    /// The root cluster.
    pub root: Cluster,
    /// The leaf cluster.
    pub leaf: Cluster,
    /// The leaf's node `mynode`.
    pub node: RemoteNode,
}

/// Starts a [`Pair`] (not yet trusting each other).
pub fn pair() -> Pair {
    pair_with("")
}

/// [`pair`] with extra `auth_service` lines for the root.
pub fn pair_with(root_auth_extra: &str) -> Pair {
    let root = Cluster::builder("root.example.com").auth(root_auth_extra).start();
    let leaf = Cluster::builder("leaf.example.com").leaf().start();
    let node_token = token(&leaf, &["--type=node"]);
    let node = RemoteNode::start(&leaf.web_addr, "mynode", &node_token, &[("env", "demo")]);
    assert!(node.first_line.contains("ssh service listening"), "{}", node.log());
    Pair { root, leaf, node }
}

/// A [`Pair`] that trusts each other, a root user `myuser` (role `access`, mapped to the leaf's
/// `visitor`) logged in, and the leaf online: returns the pair and the user's tsh home.
pub fn trusted_pair() -> (Pair, PathBuf) {
    trusted_pair_with("")
}

/// [`trusted_pair`] with extra `auth_service` lines for the root.
pub fn trusted_pair_with(root_auth_extra: &str) -> (Pair, PathBuf) {
    ensure_visitor_account();
    let pair = pair_with(root_auth_extra);
    trust(&pair.root, &pair.leaf);
    let home = pair.root.add_user("myuser", "access", "visitor", "correct-horse");
    let leaf = pair.leaf.name.clone();
    wait_for("the leaf online", Duration::from_secs(30), || {
        let out = pair.root.tctl(&["get", &format!("rc/{leaf}")]);
        (!out.stdout.contains("connection: online")).then(|| out.stdout.clone())
    });
    (pair, home)
}

/// The leaf tunnels the root proxy at `web_addr` holds (by leaf name), asked with `root`'s admin
/// identity; empty when the proxy does not answer.
pub fn tunnels_on(root: &Cluster, web_addr: &str) -> std::collections::BTreeMap<String, usize> {
    let Ok(creds) = tether_client::credentials::Credentials::load(&root.data_dir().join("admin-identity.json")) else {
        return Default::default();
    };
    let Ok(identity) = creds.client_identity() else { return Default::default() };
    let trust = tether_client::client::ServerTrust::Insecure;
    let Ok(client) = tether_client::client::ApiClient::new(web_addr, &trust, Some(&identity)) else {
        return Default::default();
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return Default::default() };
    rt.block_on(client.get::<tether_shared::api::TunnelsInfo>("/webapi/tunnels")).map(|t| t.tunnels).unwrap_or_default()
}
