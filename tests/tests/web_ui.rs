//! The web UI in real headless browsers (WebDriver), each test in Chromium and in Firefox,
//! against a real root and leaf: log in, see the leaf online and follow it going offline, list
//! the leaf's nodes through the root, a terminal, the audit log, trust admin, the keyboard alone.
//! The first test's root serves an operator's ECDSA P-256 key pair given in `https_keypairs`;
//! the leaf admin test's root and leaf serve their default certificates (ECDSA P-256 from the
//! cluster's TLS CA: Chromium completes no handshake with an Ed25519 one).

use std::time::Duration;

use tether_tests::browser::{Browser, Kind, keys};
use tether_tests::fixtures::{ROLE_MAP, VISITOR, ensure_visitor_account, token, trusted_cluster_yaml, wait_for, write};
use tether_tests::{Cluster, RemoteNode};

/// An ECDSA P-256 certificate for 127.0.0.1 and localhost, and its key: (cert file, key file).
fn ecdsa_pair(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    let cert = params.self_signed(&key).unwrap();
    let (c, k) = (dir.join("web.pem"), dir.join("web.key"));
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c, k)
}

/// Sets `user`'s password through the invite `tctl users add` printed, over the API (the
/// browser's invite page is driven by the leaf admin's test).
fn accept_invite(cluster: &Cluster, user: &str, roles: &str, password: &str) {
    let out = cluster.tctl(&["users", "add", user, &format!("--roles={roles}"), "--logins=visitor"]).ok();
    let invite = out.split_whitespace().find_map(|w| w.strip_prefix("--invite=")).expect("an invite").to_string();
    let key = tether_shared::ssh_cert::generate_ed25519_key().unwrap();
    let req = tether_shared::api::LoginRequest {
        user: user.into(),
        password: password.into(),
        otp: None,
        invite_token: Some(invite),
        public_key: key.public_key().to_openssh().unwrap(),
        ttl_secs: None,
    };
    let client =
        tether_client::client::ApiClient::new(&cluster.web_addr, &tether_client::client::ServerTrust::Insecure, None)
            .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(client.post::<_, serde_json::Value>("/webapi/login", &req)).expect("invite accepted");
}

#[test]
fn log_in_see_the_leaf_online_and_list_its_nodes_in_chromium() {
    log_in_see_the_leaf_online_and_list_its_nodes(Kind::Chromium);
}

#[test]
fn log_in_see_the_leaf_online_and_list_its_nodes_in_firefox() {
    log_in_see_the_leaf_online_and_list_its_nodes(Kind::Firefox);
}

/// The root's pages in `kind`: login, the leaf online and offline, its nodes, a terminal on
/// one, its audit log, logout, and a user hidden from the leaf.
fn log_in_see_the_leaf_online_and_list_its_nodes(kind: Kind) {
    ensure_visitor_account();
    let keys = tempfile::tempdir().unwrap();
    let (cert, key) = ecdsa_pair(keys.path());
    // Indented: these lines continue the builder's proxy_service section.
    let root = Cluster::builder("root.example.com")
        .section(&format!("  https_keypairs:\n  - key_file: {}\n    cert_file: {}\n", key.display(), cert.display()))
        .start();
    let mut leaf = Cluster::builder("leaf.example.com").leaf().start();
    let node_token = token(&leaf, &["--type=node"]);
    let _node = RemoteNode::start(&leaf.web_addr, "mynode", &node_token, &[("env", "demo")]);
    leaf.tctl(&["create", write(root.dir.path(), "visitor.yaml", VISITOR).to_str().unwrap()]).ok();
    // On the leaf, root users with a cluster-* role (the fixtures' role map) may read its audit.
    let admin = "kind: role\nversion: v5\nmetadata:\n  name: clusteradmin\nspec:\n  allow:\n    rules:\n    - resources: [event]\n      verbs: [list]\n";
    leaf.tctl(&["create", write(root.dir.path(), "clusteradmin.yaml", admin).to_str().unwrap()]).ok();
    let ops = "kind: role\nversion: v5\nmetadata:\n  name: cluster-ops\nspec:\n  allow:\n    logins: [visitor]\n";
    root.tctl(&["create", write(root.dir.path(), "cluster-ops.yaml", ops).to_str().unwrap()]).ok();
    let tok = token(&root, &["--type=trusted_cluster"]);
    let tc = write(root.dir.path(), "tc.yaml", &trusted_cluster_yaml(&root, &tok, true, ROLE_MAP));
    leaf.tctl(&["create", tc.to_str().unwrap()]).ok();
    accept_invite(&root, "alice", "access,cluster-ops", "correct-horse-battery");
    wait_for("the leaf online", Duration::from_secs(30), || {
        let out = root.tctl(&["get", "rc/leaf.example.com"]);
        (!out.stdout.contains("connection: online")).then(|| format!("{}{}", out.stdout, out.stderr))
    });

    let browser = Browser::start_kind(kind);
    browser.go(&format!("https://{}/", root.web_addr));
    let user = browser.find("#user").unwrap_or_else(|| {
        panic!("no login form; the page: {}", browser.script("return document.documentElement.outerHTML"))
    });
    browser.type_into(&user, "alice");
    let password = browser.find("#password").expect("the password field");
    browser.type_into(&password, "wrong-password");
    browser.click(&browser.find("#login-button").expect("the button"));
    let error = browser.wait_text("#login-error", Duration::from_secs(10), |t| !t.is_empty());
    assert!(error.contains("invalid") || error.contains("password"), "{error}");
    let password = browser.find("#password").expect("the password field");
    browser.script("document.querySelector('#password').value = ''");
    browser.type_into(&password, "correct-horse-battery");
    browser.click(&browser.find("#login-button").expect("the button"));
    browser.wait_text("#whoami", Duration::from_secs(10), |t| t == "alice @ root.example.com");
    let status = r#"tr[data-cluster="leaf.example.com"] td[data-status]"#;
    browser.wait_text(status, Duration::from_secs(10), |t| t == "online");
    // The leaf's last heartbeat, as a UTC time and its age; the root has none.
    let beat = r#"tr[data-cluster="leaf.example.com"] td[data-heartbeat]"#;
    let shown = browser.wait_text(beat, Duration::from_secs(10), |t| t.ends_with(" ago)"));
    assert!(shown.contains(" UTC (") && shown.starts_with("20"), "{shown}");
    let root_beat = browser.text(&browser.find(r#"tr[data-cluster="root.example.com"] td[data-heartbeat]"#).unwrap());
    assert_eq!(root_beat, "—");
    browser.screenshot("clusters");

    // The leaf's nodes, through the root.
    let row = browser.find(r#"tr[data-cluster="leaf.example.com"] button"#).expect("a Nodes button");
    browser.click(&row);
    let node = browser.wait_text(r#"tr[data-node="mynode"]"#, Duration::from_secs(15), |t| t.contains("mynode"));
    assert!(node.contains("env=demo") && node.contains("tsh ssh --cluster=leaf.example.com LOGIN@mynode"), "{node}");
    browser.screenshot("nodes");

    // A terminal on the leaf's node, through the root: type whoami, read the login back.
    browser.click(&browser.find(r#"tr[data-node="mynode"] button"#).expect("a Terminal button"));
    browser.wait_text("#terminal-title", Duration::from_secs(10), |t| t == "visitor@mynode (leaf.example.com)");
    let keys = browser.find(".xterm-helper-textarea").expect("the terminal's input");
    let rows = ".xterm-rows";
    browser.wait_text(rows, Duration::from_secs(20), |t| t.contains('$') || t.contains('#'));
    browser.type_into(&keys, "whoami\n");
    let shown = browser.wait_text(rows, Duration::from_secs(20), |t| t.lines().any(|l| l.trim() == "visitor"));
    assert!(shown.contains("whoami"), "{shown}");
    browser.screenshot("terminal");
    browser.click(&browser.find("#terminal-close").expect("the Close button"));

    // The leaf's audit log, read through the root: the role mapping of the listing above.
    browser.click(&browser.find("#to-audit").expect("the Audit button"));
    browser.wait_text(r#"#audit-cluster option[value="leaf.example.com"]"#, Duration::from_secs(10), |t| !t.is_empty());
    browser.script("document.querySelector('#audit-cluster').value = 'leaf.example.com'");
    let event = browser.find("#audit-event").expect("the event filter");
    browser.type_into(&event, "role.mapping");
    browser.click(&browser.find("#audit-search").expect("the Show button"));
    let mapping = browser
        .wait_text(r#"#audit-body tr[data-event="role.mapping"]"#, Duration::from_secs(15), |t| t.contains("alice"));
    assert!(mapping.contains("access, cluster-ops → visitor, clusteradmin"), "{mapping}");
    assert!(browser.find(r#"#audit-body tr:not([data-event="role.mapping"])"#).is_none(), "only role.mapping rows");
    browser.screenshot("audit");

    // The leaf stops: the clusters page follows without a reload.
    browser.click(&browser.find("#to-clusters").expect("the Clusters button"));
    leaf.stop();
    browser.wait_text(status, Duration::from_secs(40), |t| t == "offline");

    // Log out: the page is back at the login form, and the old cookie no longer works.
    browser.click(&browser.find("#logout").expect("the Log out button"));
    browser.wait_text("#login-title", Duration::from_secs(10), |t| t == "Log in");
    browser.screenshot("login");
    let after = browser.script("return fetch('/web/session', {credentials: 'same-origin'}).then(r => r.status)");
    assert_eq!(after, serde_json::json!(401), "the session ended");

    // A user whose roles' cluster_labels do not match the leaf sees it nowhere in the UI, and
    // can neither list its nodes nor open a terminal there by asking directly.
    root.tctl(&["update", "rc/leaf.example.com", "--set-labels=env=prod"]).ok();
    accept_invite(&root, "hidden", "access", "hidden-user-pass");
    log_in(&browser, &format!("https://{}/", root.web_addr), "hidden", "hidden-user-pass");
    browser.wait_text(r#"tr[data-cluster="root.example.com"]"#, Duration::from_secs(10), |t| !t.is_empty());
    assert!(browser.find(r#"tr[data-cluster="leaf.example.com"]"#).is_none(), "the leaf is hidden");
    let listed = browser.script(
        "return fetch('/webapi/clusters/leaf.example.com/webapi/nodes', {credentials: 'same-origin'}) \
         .then(r => r.text().then(t => r.status + ' ' + t))",
    );
    let listed = listed.as_str().unwrap_or_default();
    assert!(
        listed.starts_with("403") && listed.contains("your roles do not allow cluster leaf.example.com"),
        "{listed}"
    );
    let terminal = browser.script(
        "return new Promise(done => { \
           const ws = new WebSocket(`wss://${location.host}/web/terminal?cluster=leaf.example.com&node=mynode&login=visitor`); \
           ws.binaryType = 'arraybuffer'; let text = ''; \
           ws.onmessage = e => { text += new TextDecoder().decode(e.data); }; \
           ws.onclose = () => done(text); ws.onerror = () => done(text || 'error'); })",
    );
    let terminal = terminal.as_str().unwrap_or_default();
    assert!(terminal.contains("your roles do not allow cluster leaf.example.com"), "{terminal}");
}

/// Fills the input `css` with `text` (clearing it first).
fn fill(browser: &Browser, css: &str, text: &str) {
    browser.script(&format!("document.querySelector({css:?}).value = ''"));
    let el = browser.find(css).unwrap_or_else(|| panic!("no {css}"));
    browser.type_into(&el, text);
}

/// Logs `user` in on the page at `url`.
fn log_in(browser: &Browser, url: &str, user: &str, password: &str) {
    browser.go(url);
    fill(browser, "#user", user);
    fill(browser, "#password", password);
    browser.click(&browser.find("#login-button").expect("the button"));
    browser.wait_text("#whoami", Duration::from_secs(10), |t| t.starts_with(user));
}

#[test]
fn a_leaf_admin_adds_a_trust_from_the_form_previews_its_role_map_and_disables_it() {
    a_leaf_admin_adds_a_trust(Kind::Chromium);
}

#[test]
fn a_leaf_admin_adds_a_trust_from_the_form_in_firefox() {
    a_leaf_admin_adds_a_trust(Kind::Firefox);
}

/// The admin pages in `kind`: on the leaf, set a password from the invite, preview a role map,
/// a bad token's error, trust the root, add and remove a join token, disable the trust and see
/// the root show the leaf offline; on the root, label the leaf and remove it.
fn a_leaf_admin_adds_a_trust(kind: Kind) {
    ensure_visitor_account();
    let root = Cluster::builder("root.example.com").start();
    let leaf = Cluster::builder("leaf.example.com").leaf().start();
    leaf.tctl(&["--insecure", "create", write(root.dir.path(), "visitor.yaml", VISITOR).to_str().unwrap()]).ok();
    accept_invite(&root, "alice", "access", "correct-horse-battery");
    // The leaf's admin sets their password in the browser, from the link tctl printed.
    let out = leaf.tctl(&["--insecure", "users", "add", "lea", "--roles=editor", "--logins=visitor"]).ok();
    let link = out
        .split_whitespace()
        .find(|w| w.starts_with("https://") && w.contains("#invite="))
        .unwrap_or_else(|| panic!("no browser link in: {out}"))
        .to_string();
    let browser = Browser::start_kind(kind);
    browser.go(&link);
    browser.wait_text("#login-title", Duration::from_secs(10), |t| t == "Set your password");
    let user = browser.find("#user").expect("the user field");
    assert_eq!(browser.script("return document.querySelector('#user').value"), serde_json::json!("lea"), "{user}");
    fill(&browser, "#password", "leaf-admin-pass");
    browser.click(&browser.find("#login-button").expect("the button"));
    browser.wait_text("#whoami", Duration::from_secs(10), |t| t == "lea @ leaf.example.com");
    browser.click(&browser.find("#to-admin").expect("the Trust button"));

    // The role map's preview, from the engine the leaf uses.
    fill(&browser, "#tc-rolemap", "access => visitor\n^dev-(.*)$ => team-$1");
    fill(&browser, "#tc-preview-roles", "access, dev-web");
    browser.wait_text("#tc-preview", Duration::from_secs(10), |t| t == "maps to: visitor, team-web");

    // A bad token: the same error line as tctl create.
    fill(&browser, "#tc-name", "root.example.com");
    fill(&browser, "#tc-token", "0123456789abcdef0123");
    fill(&browser, "#tc-web", &root.web_addr);
    fill(&browser, "#tc-tunnel", &root.tunnel_addr);
    fill(&browser, "#tc-rolemap", "access => visitor");
    browser.click(&browser.find("#tc-add").expect("the Add button"));
    let error = browser.wait_text("#tc-error", Duration::from_secs(15), |t| !t.is_empty());
    assert!(error.contains("unknown or has expired"), "{error}");
    assert!(leaf.tctl(&["--insecure", "get", "tc/root.example.com"]).code != 0, "nothing stored");

    // The right token: trusted, and the leaf comes online at the root.
    let tok = token(&root, &["--type=trusted_cluster", "--insecure"]);
    fill(&browser, "#tc-token", &tok);
    browser.click(&browser.find("#tc-add").expect("the Add button"));
    let done = browser.wait_text("#tc-result", Duration::from_secs(15), |t| !t.is_empty());
    assert!(done.contains("trusted_cluster 'root.example.com' has been created"), "{done}");
    let enabled = r#"tr[data-tc="root.example.com"] td[data-enabled]"#;
    browser.wait_text(enabled, Duration::from_secs(10), |t| t == "yes");
    browser.screenshot("trust");
    wait_for("the leaf online", Duration::from_secs(30), || {
        let out = root.tctl(&["--insecure", "get", "rc/leaf.example.com"]);
        (!out.stdout.contains("connection: online")).then(|| format!("{}{}", out.stdout, out.stderr))
    });

    // Join tokens: one added with a TTL is shown once, listed, and removed.
    let count = |b: &Browser| b.script("return document.querySelectorAll('#token-body tr').length");
    let before = count(&browser);
    fill(&browser, "#token-ttl", "5");
    browser.click(&browser.find("#token-add").expect("the token Add button"));
    let shown = browser.wait_text("#token-new", Duration::from_secs(10), |t| t.starts_with("New token (shown once): "));
    let secret = shown.trim_start_matches("New token (shown once): ").to_string();
    assert!(secret.len() >= 16, "{shown}");
    let listed = leaf.tctl(&["--insecure", "tokens", "ls"]).ok();
    assert!(listed.contains("node"), "{listed}");
    wait_for("the new token listed", Duration::from_secs(10), || {
        (count(&browser) != serde_json::json!(before.as_u64().unwrap_or(0) + 1))
            .then(|| format!("{:?}", count(&browser)))
    });
    browser.click_css("#token-body tr:last-child button", Duration::from_secs(10));
    wait_for("the token removed", Duration::from_secs(10), || {
        (count(&browser) != before).then(|| format!("{:?}", count(&browser)))
    });

    // Disable it from the form: the root's page shows the leaf offline.
    browser.click_css(r#"tr[data-tc="root.example.com"] button"#, Duration::from_secs(10));
    browser.wait_text(enabled, Duration::from_secs(10), |t| t == "no");
    log_in(&browser, &format!("https://{}/", root.web_addr), "alice", "correct-horse-battery");
    let status = r#"tr[data-cluster="leaf.example.com"] td[data-status]"#;
    browser.wait_text(status, Duration::from_secs(40), |t| t == "offline");

    // The root's admin labels the leaf from its page, then removes it.
    // Labelled leaves show only to roles whose cluster_labels match them, admins' too.
    let viewer = "kind: role\nversion: v5\nmetadata:\n  name: leaf-viewer\nspec:\n  allow:\n    cluster_labels:\n      '*': '*'\n";
    root.tctl(&["create", write(root.dir.path(), "leaf-viewer.yaml", viewer).to_str().unwrap()]).ok();
    accept_invite(&root, "ron", "editor,leaf-viewer", "root-admin-pass");
    browser.click(&browser.find("#logout").expect("the logout button"));
    browser.wait_text("#login-title", Duration::from_secs(10), |t| t == "Log in");
    log_in(&browser, &format!("https://{}/", root.web_addr), "ron", "root-admin-pass");
    browser.click(&browser.find("#to-admin").expect("the Trust button"));
    let labels = r#"tr[data-rc="leaf.example.com"] input"#;
    browser.wait_text(r#"tr[data-rc="leaf.example.com"]"#, Duration::from_secs(10), |t| t.contains("leaf.example.com"));
    fill(&browser, labels, "env=prod,team=web");
    browser.click_css(r#"tr[data-rc="leaf.example.com"] button"#, Duration::from_secs(10));
    wait_for("the labels saved", Duration::from_secs(10), || {
        let out = root.tctl(&["get", "rc/leaf.example.com"]).ok();
        (!(out.contains("env: prod") && out.contains("team: web"))).then_some(out)
    });
    // The page re-reads the list after a save: the row comes back with the labels.
    let remove = r#"tr[data-rc="leaf.example.com"] button:last-child"#;
    wait_for("the row back with its labels", Duration::from_secs(10), || {
        let value = browser.script(&format!("const i = document.querySelector({labels:?}); return i && i.value"));
        (value != serde_json::json!("env=prod,team=web")).then(|| format!("{value:?}"))
    });
    browser.click_css(remove, Duration::from_secs(10));
    wait_for("the leaf removed", Duration::from_secs(10), || {
        let out = root.tctl(&["get", "rc/leaf.example.com"]);
        (out.code == 0).then_some(out.stdout)
    });
}

/// The UI with the keyboard alone (WebDriver key actions, no clicks): the login form has the
/// focus, Tab reaches every control, Enter works them, a page change puts the focus on its
/// heading, and Shift+F10 leaves the terminal (which takes Tab itself) for its Close button.
/// On the way, a smaller window resizes the shell's terminal (`stty size`).
#[test]
fn the_ui_works_with_the_keyboard_alone() {
    keyboard_alone(Kind::Chromium);
}

#[test]
fn the_ui_works_with_the_keyboard_alone_in_firefox() {
    keyboard_alone(Kind::Firefox);
}

fn keyboard_alone(kind: Kind) {
    ensure_visitor_account();
    let root = Cluster::builder("root.example.com").node(&[("env", "kb")]).start();
    accept_invite(&root, "kim", "access", "correct-horse-battery");
    let browser = Browser::start_kind(kind);
    browser.go(&format!("https://{}/", root.web_addr));
    browser.wait_text("#login-title", Duration::from_secs(10), |t| t == "Log in");
    assert_eq!(browser.focused(), "user", "the login form's first field has the focus");
    browser.keys("kim");
    browser.keys(keys::TAB);
    browser.keys("correct-horse-battery");
    browser.keys(keys::ENTER);
    browser.wait_text("#whoami", Duration::from_secs(10), |t| t == "kim @ root.example.com");
    browser.wait_text(r#"tr[data-cluster="root.example.com"]"#, Duration::from_secs(10), |t| t.contains("online"));
    assert_eq!(browser.focused(), "h2.", "the clusters page's heading has the focus");

    browser.tab_to("root.example.com:Nodes");
    browser.keys(keys::ENTER);
    let node = browser.wait_text("tr[data-node]", Duration::from_secs(15), |t| t.contains("env=kb"));
    let name = node.split_whitespace().next().unwrap_or_default().to_string();
    browser.tab_to(&format!("{name}:Terminal"));
    browser.keys(keys::ENTER);
    browser.wait_text("#terminal-title", Duration::from_secs(10), |t| t.starts_with("visitor@"));
    assert_eq!(browser.focused(), "textarea.xterm-helper-textarea", "the terminal has the focus");
    browser.wait_text(".xterm-rows", Duration::from_secs(20), |t| t.contains('$') || t.contains('#'));
    browser.keys("whoami");
    browser.keys(keys::ENTER);
    browser.wait_text(".xterm-rows", Duration::from_secs(20), |t| t.lines().any(|l| l.trim() == "visitor"));
    // Resize reaches the shell: `stty size` before and after the window shrinks.
    let sizes = |text: &str| -> Vec<(u32, u32)> {
        text.lines()
            .filter_map(|l| l.trim().split_once(' '))
            .filter_map(|(r, c)| Some((r.parse().ok()?, c.parse().ok()?)))
            .collect()
    };
    browser.keys("stty size");
    browser.keys(keys::ENTER);
    let shown = browser.wait_text(".xterm-rows", Duration::from_secs(20), |t| sizes(t).len() == 1);
    let (rows, cols) = sizes(&shown)[0];
    browser.set_window_size(900, 700);
    std::thread::sleep(Duration::from_millis(500));
    browser.keys("stty size");
    browser.keys(keys::ENTER);
    let shown = browser.wait_text(".xterm-rows", Duration::from_secs(20), |t| sizes(t).len() == 2);
    let (rows2, cols2) = sizes(&shown)[1];
    assert!(rows2 < rows && cols2 < cols, "{rows}x{cols} then {rows2}x{cols2}");
    // Tab stays in the terminal (the shell completes with it); Shift+F10 leaves.
    browser.keys(keys::TAB);
    assert_eq!(browser.focused(), "textarea.xterm-helper-textarea");
    browser.chord(keys::SHIFT, keys::F10);
    assert_eq!(browser.focused(), "terminal-close");
    browser.keys(keys::ENTER);
    browser.wait_text("#nodes h2", Duration::from_secs(10), |t| t.starts_with("Nodes of"));
    assert_eq!(browser.focused(), "h2.", "back on the nodes page, at its heading");
    drop(browser);
    drop(root);
}

#[test]
fn an_invited_user_enrolls_a_one_time_code_in_chromium() {
    one_time_code_enrollment(Kind::Chromium);
}

#[test]
fn an_invited_user_enrolls_a_one_time_code_in_firefox() {
    one_time_code_enrollment(Kind::Firefox);
}

/// On a cluster that asks for one-time codes, the invite page sets the password and shows the
/// new TOTP secret once; the next login needs a code from it, and a wrong one is refused.
fn one_time_code_enrollment(kind: Kind) {
    let root = Cluster::builder("otp.example.com").auth("  authentication:\n    second_factor: otp\n").start();
    let out = root.tctl(&["users", "add", "olga", "--roles=access", "--logins=visitor"]).ok();
    let link =
        out.split_whitespace().find(|w| w.starts_with("https://") && w.contains("#invite=")).unwrap().to_string();
    let browser = Browser::start_kind(kind);
    browser.go(&link);
    browser.wait_text("#login-title", Duration::from_secs(10), |t| t == "Set your password");
    fill(&browser, "#password", "correct-horse-battery");
    browser.click(&browser.find("#login-button").expect("the button"));
    let secret = browser.wait_text("#totp-secret", Duration::from_secs(10), |t| !t.is_empty());
    let uri = browser.text(&browser.find("#totp-uri").expect("the URI"));
    assert!(uri.starts_with("otpauth://totp/") && uri.contains(&secret), "{uri}");
    browser.click(&browser.find("#totp-done").expect("the done button"));
    browser.wait_text("#whoami", Duration::from_secs(10), |t| t == "olga @ otp.example.com");
    assert!(browser.text(&browser.find("#totp-secret").unwrap()).is_empty(), "shown once");
    browser.click(&browser.find("#logout").expect("the logout button"));

    let url = format!("https://{}/", root.web_addr);
    browser.go(&url);
    fill(&browser, "#user", "olga");
    fill(&browser, "#password", "correct-horse-battery");
    browser.click(&browser.find("#login-button").expect("the button"));
    let error = browser.wait_text("#login-error", Duration::from_secs(10), |t| !t.is_empty());
    assert!(error.contains("one-time code"), "{error}");
    let key = tether_shared::totp::base32_decode(&secret).expect("a base32 secret");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    fill(&browser, "#otp", &tether_shared::totp::code(&key, now));
    fill(&browser, "#password", "correct-horse-battery");
    browser.click(&browser.find("#login-button").expect("the button"));
    browser.wait_text("#whoami", Duration::from_secs(10), |t| t == "olga @ otp.example.com");
}
