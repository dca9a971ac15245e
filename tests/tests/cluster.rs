//! One running cluster, driven through the real binaries: first start, users and invites,
//! logins, tokens, resources, RBAC, restarts and bad input.

use std::os::unix::fs::PermissionsExt;

use tether_client::client::{ApiClient, ServerTrust};
use tether_tests::Cluster;
use tether_tests::fixtures::VISITOR;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

#[test]
fn first_start_answers_ping_and_keeps_secrets_private() {
    let cluster = Cluster::start("root.example.com");
    let client = ApiClient::new(&cluster.web_addr, &ServerTrust::Insecure, None).unwrap();
    let ping = runtime().block_on(client.ping()).unwrap();
    assert_eq!(ping.cluster_name, "root.example.com");
    assert_eq!(ping.auth.second_factor, "off");
    assert_eq!(ping.proxy.ssh.public_addr, cluster.web_addr);
    assert!(!ping.proxy.tls_routing_enabled);
    // Without trusting the cluster's CA, the self-signed certificate is refused, with the cause.
    let strict = ApiClient::new(&cluster.web_addr, &ServerTrust::WebPki, None).unwrap();
    let err = runtime().block_on(strict.ping()).unwrap_err().to_string();
    assert!(err.contains("does not verify") && err.contains("--insecure"), "{err}");
    assert_eq!(mode(&cluster.data_dir().join("admin-identity.json")), 0o600);
    assert_eq!(mode(&cluster.data_dir().join("backend.db")), 0o600);
    let status = cluster.tctl(&["status"]).ok();
    assert!(status.contains("Cluster  root.example.com") && status.contains("User CA"), "{status}");
    let roles = cluster.tctl(&["get", "role", "--format=text"]).ok();
    for preset in ["access", "editor", "auditor"] {
        assert!(roles.contains(preset), "{roles}");
    }
}

#[test]
fn invite_login_status_and_password_checks() {
    let cluster = Cluster::start("root.example.com");
    let home = cluster.add_user("alice", "access,editor", "root,ubuntu", "correct-horse");
    let status = cluster.as_user(&home, "tsh", &["status"], None).ok();
    assert!(status.contains("Logged in as:       alice"), "{status}");
    assert!(status.contains("Roles:              access, editor"), "{status}");
    assert!(status.contains("Logins:             root, ubuntu"), "{status}");
    assert!(status.contains("permit-agent-forwarding, permit-port-forwarding, permit-pty"), "{status}");
    assert_eq!(mode(&home.join("keys")), 0o700);
    for entry in std::fs::read_dir(home.join("keys")).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600, "private keys are 0600");
    }
    // Logging in again needs no --insecure: the profile pinned the cluster's TLS CA.
    let proxy = format!("--proxy={}", cluster.web_addr);
    cluster.as_user(&home, "tsh", &["login", &proxy, "--user=alice", "--keystore=file"], Some("correct-horse\n")).ok();
    // A wrong password is refused and audited; the invite cannot be used twice.
    let err = cluster
        .as_user(&home, "tsh", &["login", &proxy, "--user=alice", "--keystore=file"], Some("wrong-horse\n"))
        .err();
    assert!(err.contains("invalid user name or password"), "{err}");
    let audit = cluster.audit_lines();
    assert!(audit.iter().any(|l| l.contains("\"user.login\"") && l.contains("\"success\":false")), "{audit:?}");
    assert!(audit.iter().any(|l| l.contains("\"user.create\"") && l.contains("alice")), "{audit:?}");
    let audit_ls = cluster.tctl(&["audit", "ls", "--since=1h"]).ok();
    assert!(audit_ls.contains("user.login") && audit_ls.contains("failed"), "{audit_ls}");
    // Logout removes every profile and key, also the copies `tsh config` wrote for OpenSSH.
    cluster.as_user(&home, "tsh", &["config"], None).ok();
    let openssh = home.join("openssh");
    let files = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(dir).map_or_else(
            |_| Vec::new(),
            |d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        )
    };
    assert!(files(&openssh).iter().any(|f| f.ends_with(".key")), "{:?}", files(&openssh));
    let out = cluster.as_user(&home, "tsh", &["logout"], None).ok();
    assert!(out.contains(&cluster.web_addr), "{out}");
    assert!(!home.join("keys").exists());
    assert_eq!(files(&openssh), ["known_hosts"], "tsh logout left OpenSSH's copies of a key or certificate");
    let err = cluster.as_user(&home, "tsh", &["status"], None).err();
    assert!(err.contains("not logged in"), "{err}");
}

#[test]
fn failed_logins_are_rate_limited_across_auth_hosts() {
    // Two auth+proxy processes on one storage: failures through either count for both.
    let cluster = Cluster::start("root.example.com");
    let second = cluster.another_proxy();
    let home = cluster.add_user("bob", "access", "bob", "correct-horse");
    for (i, host) in [&cluster, &second, &cluster, &second, &cluster].into_iter().enumerate() {
        let proxy = format!("--proxy={}", host.web_addr);
        let err = cluster
            .as_user(
                &home,
                "tsh",
                &["login", &proxy, "--user=bob", "--insecure", "--keystore=file"],
                Some("nope-nope\n"),
            )
            .err();
        assert!(err.contains("invalid user name or password"), "failure {i}: {err}");
    }
    let proxy = format!("--proxy={}", second.web_addr);
    let err = cluster
        .as_user(
            &home,
            "tsh",
            &["login", &proxy, "--user=bob", "--insecure", "--keystore=file"],
            Some("correct-horse\n"),
        )
        .err();
    assert!(err.contains("too many failed logins for bob"), "{err}");
}

#[test]
fn tokens_add_list_remove_and_expire() {
    let cluster = Cluster::start("root.example.com");
    let out = cluster.tctl(&["tokens", "add", "--type=trusted_cluster", "--ttl=15m"]).ok();
    assert!(out.contains("The cluster invite token: "), "{out}");
    assert!(out.contains("This token will expire in 15 minutes"), "{out}");
    assert!(out.contains("It is stored hashed: copy it now, it cannot be shown again."), "{out}");
    let token = out.lines().next().unwrap().rsplit(' ').next().unwrap().to_string();
    assert_eq!(token.len(), 32);
    cluster.tctl(&["tokens", "add", "--type=node", "--ttl=1s"]).ok();
    let ls = cluster.tctl(&["tokens", "ls"]).ok();
    assert!(ls.starts_with("Token"), "{ls}");
    let as_resources = cluster.tctl(&["get", "tokens"]).ok();
    assert!(as_resources.contains("kind: token") && as_resources.contains("type: trusted_cluster"), "{as_resources}");
    assert!(!as_resources.contains(&token), "{as_resources}");
    assert!(ls.contains("Expiry Time (UTC)") && ls.contains("trusted_cluster") && ls.contains("node"), "{ls}");
    assert!(!ls.contains(&token), "listings never show the whole secret: {ls}");
    assert!(ls.contains(&token[..8]), "{ls}");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let ls = cluster.tctl(&["tokens", "ls"]).ok();
    assert!(!ls.contains(" node "), "an expired token is gone: {ls}");
    cluster.tctl(&["tokens", "rm", &token]).ok();
    assert!(!cluster.tctl(&["tokens", "ls"]).ok().contains("trusted_cluster"));
    let err = cluster.tctl(&["tokens", "rm", &token]).err();
    assert!(err.contains("token not found"), "{err}");
    let audit = cluster.audit_lines();
    assert!(
        audit.iter().any(|l| l.contains("join_token.create")) && audit.iter().any(|l| l.contains("join_token.delete"))
    );
}

#[test]
fn create_get_update_and_remove_resources() {
    let cluster = Cluster::start("root.example.com");
    let file = cluster.dir.path().join("visitor.yaml");
    std::fs::write(&file, VISITOR).unwrap();
    let f = file.to_str().unwrap();
    assert_eq!(cluster.tctl(&["create", f]).ok().trim(), "role 'visitor' has been created");
    let err = cluster.tctl(&["create", f]).err();
    assert!(err.contains("already exists; use tctl create -f"), "{err}");
    assert_eq!(cluster.tctl(&["create", "-f", f]).ok().trim(), "role 'visitor' has been updated");
    let yaml = cluster.tctl(&["get", "role/visitor"]).ok();
    assert!(yaml.contains("kind: role") && yaml.contains("- visitor") && yaml.contains("'*': '*'"), "{yaml}");
    let json = cluster.tctl(&["get", "role/visitor", "--format=json"]).ok();
    assert!(json.contains("\"kind\": \"role\""), "{json}");
    // One shape for scripts: an array, also for one resource.
    let parsed: Vec<serde_json::Value> = serde_json::from_str(&json).expect("a JSON array");
    assert_eq!(parsed.len(), 1, "{json}");

    // The guide: get the user, add a login, create -f, and the change is there.
    cluster.add_user("myuser", "access,editor,auditor", "ubuntu,root", "correct-horse");
    let user_file = cluster.dir.path().join("user.yaml");
    let original = cluster.tctl(&["get", "user/myuser"]).ok();
    std::fs::write(&user_file, original.replace("    logins:\n", "    logins:\n    - visitor\n")).unwrap();
    cluster.tctl(&["create", "-f", user_file.to_str().unwrap()]).ok();
    let updated = cluster.tctl(&["get", "user/myuser"]).ok();
    assert!(updated.contains("- visitor\n    - ubuntu\n    - root"), "{updated}");
    // Written back unchanged, a resource re-creates to the same thing.
    std::fs::write(&user_file, &updated).unwrap();
    cluster.tctl(&["create", "-f", user_file.to_str().unwrap()]).ok();
    let again = cluster.tctl(&["get", "user/myuser"]).ok();
    let strip_id = |s: &str| s.lines().filter(|l| !l.trim_start().starts_with("id:")).collect::<Vec<_>>().join("\n");
    assert_eq!(strip_id(&again), strip_id(&updated));

    assert!(cluster.tctl(&["rm", "role/visitor"]).ok().contains("role 'visitor' has been deleted"));
    let err = cluster.tctl(&["get", "role/visitor"]).err();
    assert!(err.contains("role \"visitor\" not found"), "{err}");
    let err = cluster.tctl(&["rm", "role/visitor"]).err();
    assert!(err.contains("not found"), "{err}");
    let users = cluster.tctl(&["users", "ls"]).ok();
    assert!(users.contains("myuser") && users.contains("access,editor,auditor"), "{users}");
    cluster.tctl(&["users", "rm", "myuser"]).ok();
    assert!(!cluster.tctl(&["users", "ls"]).ok().contains("myuser"));
}

#[test]
fn rbac_denies_a_user_with_only_access() {
    let cluster = Cluster::start("root.example.com");
    let home = cluster.add_user("bob", "access", "bob", "correct-horse");
    let err = cluster.as_user(&home, "tctl", &["get", "role"], None).err();
    assert!(err.contains("access denied: none of the roles [access] allows list on role"), "{err}");
    assert!(!err.contains("access denied: access denied"), "the reason says it twice: {err}");
    let err = cluster.as_user(&home, "tctl", &["users", "add", "mallory", "--roles=editor"], None).err();
    assert!(err.contains("access denied") && err.contains("create on user"), "{err}");
    let err = cluster.as_user(&home, "tctl", &["tokens", "add", "--type=node"], None).err();
    assert!(err.contains("access denied"), "{err}");
    let audit = cluster.audit_lines();
    assert!(audit.iter().any(|l| l.contains("access.denied") && l.contains("\"bob\"")), "{audit:?}");
    // An editor may manage roles, but may not mint certificates for others.
    let ed = cluster.add_user("ed", "editor", "", "correct-horse");
    cluster.as_user(&ed, "tctl", &["get", "role"], None).ok();
    // Nor may an editor hand out the built-in admin role, by either path.
    let err = cluster.as_user(&ed, "tctl", &["users", "add", "mallory", "--roles=@admin"], None).err();
    assert!(err.contains("built in and cannot be given to users"), "{err}");
    let evil = cluster.dir.path().join("evil.yaml");
    std::fs::write(&evil, "kind: user\nversion: v2\nmetadata:\n  name: ed\nspec:\n  roles: ['@admin', editor]\n")
        .unwrap();
    let err = cluster.as_user(&ed, "tctl", &["create", "-f", evil.to_str().unwrap()], None).err();
    assert!(err.contains("built in and cannot be given to users"), "{err}");
    let roles = cluster.tctl(&["get", "user/ed"]).ok();
    assert!(!roles.contains("@admin"), "nothing was stored: {roles}");
    let out = cluster.dir.path().join("bob.identity");
    let err =
        cluster.as_user(&ed, "tctl", &["auth", "sign", "--user=bob", &format!("--out={}", out.display())], None).err();
    assert!(err.contains("access denied"), "{err}");
    assert!(!out.exists());
}

#[test]
fn identity_files_work_for_tctl() {
    let cluster = Cluster::start("root.example.com");
    cluster.add_user("ed", "editor", "", "correct-horse");
    let out = cluster.dir.path().join("ed.identity");
    let msg = cluster.tctl(&["auth", "sign", "--user=ed", &format!("--out={}", out.display()), "--ttl=1h"]).ok();
    assert!(msg.contains("has been written"), "{msg}");
    assert_eq!(mode(&out), 0o600);
    let roles =
        tether_tests::run("tctl", &["-i", out.to_str().unwrap(), "get", "role", "--format=text"], &[], None).ok();
    assert!(roles.contains("editor"), "{roles}");
    let export = cluster.tctl(&["auth", "export", "--type=user"]).ok();
    assert!(export.starts_with("ssh-ed25519 ") && export.trim().ends_with("root.example.com"), "{export}");
    let hosts = cluster.tctl(&["auth", "export", "--type=host"]).ok();
    assert!(hosts.starts_with("@cert-authority *.root.example.com,root.example.com ssh-ed25519 "), "{hosts}");
}

#[test]
fn restart_keeps_all_state() {
    let mut cluster = Cluster::start("root.example.com");
    let file = cluster.dir.path().join("visitor.yaml");
    std::fs::write(&file, VISITOR).unwrap();
    cluster.tctl(&["create", file.to_str().unwrap()]).ok();
    let home = cluster.add_user("alice", "access,editor", "root", "correct-horse");
    let ca_before = cluster.tctl(&["auth", "export", "--type=user"]).ok();
    cluster.restart();
    assert!(cluster.tctl(&["get", "role/visitor"]).ok().contains("visitor"));
    assert_eq!(cluster.tctl(&["auth", "export", "--type=user"]).ok(), ca_before, "CAs survive a restart");
    // The user's certificates and pinned CA still work against the restarted daemon.
    let proxy = format!("--proxy={}", cluster.web_addr);
    let roles = cluster.as_user(&home, "tctl", &["get", "role", "--format=text", &proxy], None).ok();
    assert!(roles.contains("visitor"), "{roles}");
    cluster.as_user(&home, "tsh", &["login", &proxy, "--user=alice", "--keystore=file"], Some("correct-horse\n")).ok();
}

#[test]
fn bad_input_is_refused_clearly_and_stores_nothing() {
    let cluster = Cluster::start("root.example.com");
    let before = cluster.tctl(&["get", "role", "--format=json"]).ok();
    let bad = cluster.dir.path().join("bad.yaml");
    let cases = [
        ("kind: role\nversion: v5\nmetadata:\n  name: visitor\nspec:\n  allow:\n    logins: visitor\n", "bad.yaml:7:"),
        ("kind: rolez\nversion: v5\nmetadata:\n  name: x\n", "unknown value `rolez`"),
        ("kind: role\n  version: v5\n bad: [\n", "bad.yaml:2:"),
        (
            &format!(
                "{VISITOR}---\nkind: role\nversion: v5\nmetadata:\n  name: second\nspec:\n  allow:\n    logins: [x]\n    rules: [{{resources: [widget], verbs: [list]}}]\n"
            ),
            "unknown resource \"widget\"",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(&bad, text).unwrap();
        let err = cluster.tctl(&["create", "-f", bad.to_str().unwrap()]).err();
        assert!(err.contains(want), "want {want:?} in {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    assert_eq!(cluster.tctl(&["get", "role", "--format=json"]).ok(), before, "nothing was stored");
    let err = cluster.tctl(&["get", "widgets"]).err();
    assert!(err.contains("unknown resource kind"), "{err}");

    // The server checks too, and refuses oversized bodies.
    let creds = tether_client::credentials::Credentials::load(&cluster.data_dir().join("admin-identity.json")).unwrap();
    let client = creds.api_client(false).unwrap();
    let rt = runtime();
    let err = rt
        .block_on(
            client.post_text::<Vec<String>>("/webapi/resources", "kind: role\nversion: v9\nmetadata: {name: x}\n"),
        )
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("unsupported version"), "{err}");
    let huge = format!("{VISITOR}# {}\n", "x".repeat(300 * 1024));
    let err = rt.block_on(client.post_text::<Vec<String>>("/webapi/resources", &huge)).unwrap_err();
    assert_eq!(err.status(), Some(413), "{err}");
    // The client refuses it before sending (the server would answer 413 and close mid-body).
    assert!(err.to_string().contains("the web API takes at most 256 KiB per request"), "{err}");
    // The server's own limit, for a client that sends anyway.
    let huge = serde_json::json!({"name": "x".repeat(300 * 1024), "roles": ["access"], "logins": []});
    let err = rt.block_on(client.post::<_, serde_json::Value>("/webapi/users", &huge)).unwrap_err();
    assert_eq!(err.status(), Some(413), "{err}");
    assert!(err.to_string().contains("larger than the 256 KiB limit"), "{err}");
    let err = rt
        .block_on(client.post_text::<Vec<String>>(
            "/webapi/resources",
            "kind: cert_authority\nversion: v2\nmetadata: {name: evil}\nspec: {type: user, cluster_name: evil}\n",
        ))
        .unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    // Not YAML or JSON at all, and a route called with the wrong method: said so, in the body.
    let err = rt.block_on(client.post_typed::<Vec<String>>("/webapi/resources", "image/png", VISITOR)).unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("Content-Type \"image/png\": send resources as YAML or JSON"), "{err}");
    let err = rt.block_on(client.post::<_, Vec<String>>("/webapi/ping", &serde_json::json!({}))).unwrap_err();
    assert_eq!(err.status(), Some(405), "{err}");
    assert!(err.to_string().contains("POST is not allowed on /webapi/ping"), "{err}");
    // 100,000 nested levels in 200 KB: the YAML scanner would spend minutes of CPU on them; the
    // server refuses them at once.
    let deep = format!("{VISITOR}  labels: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    // The fastest of three round trips, so that one scheduling hiccup on a busy machine does not
    // count; each is the whole request (body upload included).
    let mut fastest = std::time::Duration::MAX;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let err = rt.block_on(client.post_text::<Vec<String>>("/webapi/resources", &deep)).unwrap_err();
        fastest = fastest.min(start.elapsed());
        assert_eq!(err.status(), Some(400), "{err}");
        assert!(err.to_string().contains("collections nested deeper than 64 levels"), "{err}");
    }
    assert!(fastest < std::time::Duration::from_millis(100), "the deep document took {fastest:?} to refuse");
    assert_eq!(cluster.tctl(&["get", "role", "--format=json"]).ok(), before, "nothing was stored");

    // An unauthenticated caller gets 401 with a hint, not data.
    let anon = ApiClient::new(&cluster.web_addr, &ServerTrust::Insecure, None).unwrap();
    let err = rt.block_on(anon.get::<serde_json::Value>("/webapi/resources/role")).unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
}

#[test]
fn second_factor_otp_is_enrolled_at_invite_and_required_after() {
    let cluster = Cluster::builder("otp.example.com").auth("  authentication:\n    second_factor: otp\n").start();
    let (home, printed) = cluster.add_user_output("carol", "access", "carol", "correct-horse");
    let uri = printed
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("otpauth://totp/"))
        .unwrap_or_else(|| panic!("{printed}"));
    let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap();
    let secret = tether_shared::totp::base32_decode(secret).unwrap();
    let proxy = format!("--proxy={}", cluster.web_addr);
    let login =
        |stdin: &str| cluster.as_user(&home, "tsh", &["login", &proxy, "--user=carol", "--keystore=file"], Some(stdin));
    let err = login("correct-horse\n").err();
    assert!(err.contains("no one-time code on stdin"), "{err}");
    let err = login("correct-horse\n000000\n").err();
    assert!(err.contains("invalid one-time code") || err.contains("already used"), "{err}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let code = tether_shared::totp::code(&secret, now);
    let out = login(&format!("correct-horse\n{code}\n")).ok();
    assert!(out.contains("Logged in as:       carol"), "{out}");
    let err = login(&format!("correct-horse\n{code}\n")).err();
    assert!(err.contains("already used"), "a code works once: {err}");
}

#[test]
fn keystore_auto_probes_and_says_where_the_key_went() {
    let cluster = Cluster::start("root.example.com");
    let home = cluster.add_user("dave", "access", "dave", "correct-horse");
    let proxy = format!("--proxy={}", cluster.web_addr);
    let run =
        cluster.as_user(&home, "tsh", &["login", &proxy, "--user=dave", "--keystore=auto"], Some("correct-horse\n"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let keyring = tether_cli::profile::keyring_works();
    if keyring {
        assert!(run.stderr.contains("kept in the OS keyring"), "{}", run.stderr);
    } else {
        assert!(run.stderr.contains("0600 file") && run.stderr.contains("no usable OS keyring"), "{}", run.stderr);
    }
    // Either way the profile works afterwards, and logout removes the key.
    assert!(cluster.as_user(&home, "tsh", &["status"], None).ok().contains("dave"));
    cluster.as_user(&home, "tsh", &["logout"], None).ok();
    assert!(cluster.as_user(&home, "tsh", &["status"], None).err().contains("not logged in"));
}

#[test]
fn names_logins_and_roles_that_could_not_work_are_refused() {
    let cluster = Cluster::start("root.example.com");
    let dir = cluster.dir.path().to_path_buf();
    // Logins become certificate principals and node user names.
    for (logins, why) in [
        ("--logins=", "--logins: invalid name \"\": a login cannot be empty"),
        ("--logins=-foo", "a login cannot start with '-'"),
        ("--logins=a b", "a login cannot contain whitespace"),
    ] {
        let err = cluster.tctl(&["users", "add", "bob", "--roles=access", logins]).err();
        assert!(err.contains(why), "{logins}: {err}");
    }
    // `.` and `..` name a path, not a resource; they used to be stored and then stuck.
    let dots = std::fs::write(dir.join("dots.yaml"), "kind: role\nversion: v5\nmetadata:\n  name: ..\nspec: {}\n");
    dots.unwrap();
    let err = cluster.tctl(&["create", dir.join("dots.yaml").to_str().unwrap()]).err();
    assert!(err.contains("metadata.name") && err.contains("`.` and `..` are not names"), "{err}");
    // A user naming a role that does not exist is refused; with the role in the same file it works.
    let user = "kind: user\nversion: v2\nmetadata:\n  name: carol\nspec:\n  roles: [nosuch]\n";
    std::fs::write(dir.join("user.yaml"), user).unwrap();
    let err = cluster.tctl(&["create", dir.join("user.yaml").to_str().unwrap()]).err();
    assert!(err.contains("user/carol: spec.roles: role \"nosuch\" does not exist"), "{err}");
    let both = format!("kind: role\nversion: v5\nmetadata:\n  name: nosuch\nspec: {{}}\n---\n{user}");
    std::fs::write(dir.join("both.yaml"), both).unwrap();
    cluster.tctl(&["create", dir.join("both.yaml").to_str().unwrap()]).ok();
    let stored = cluster.tctl(&["get", "user/carol"]).ok();
    assert!(stored.contains("nosuch"), "{stored}");
}

#[test]
fn an_expired_login_says_so_and_how_to_renew_it() {
    let cluster = Cluster::start("root.example.com");
    let home = cluster.add_user("dave", "access", "root", "correct-horse");
    let proxy = format!("--proxy={}", cluster.web_addr);
    let login = cluster.as_user(
        &home,
        "tsh",
        &["login", &proxy, "--user=dave", "--insecure", "--keystore=file", "--ttl=2s"],
        Some("correct-horse\n"),
    );
    assert_eq!(login.code, 0, "{}", login.stderr);
    assert!(login.stderr.contains("warning: this certificate is valid for only"), "{}", login.stderr);
    std::thread::sleep(std::time::Duration::from_secs(3));
    for args in [&["ls"][..], &["ssh", "root@anywhere", "true"][..], &["clusters"][..]] {
        let err = cluster.as_user(&home, "tsh", args, None).err();
        assert!(err.contains("your certificate for dave at") && err.contains("expired at"), "{args:?}: {err}");
        assert!(err.contains(&format!("run tsh login --proxy={} --user=dave", cluster.web_addr)), "{args:?}: {err}");
    }
}

#[test]
fn a_request_of_several_resources_stores_all_or_none() {
    let cluster = Cluster::start("root.example.com");
    let dir = cluster.dir.path().to_path_buf();
    let role = |name: &str| format!("kind: role\nversion: v5\nmetadata:\n  name: {name}\nspec: {{}}\n");
    std::fs::write(dir.join("first.yaml"), role("existing")).unwrap();
    cluster.tctl(&["create", dir.join("first.yaml").to_str().unwrap()]).ok();
    // A new role, then one that exists (no --force): the second fails to store, the first is
    // taken back, and the message says so.
    std::fs::write(dir.join("both.yaml"), format!("{}---\n{}", role("fresh"), role("existing"))).unwrap();
    let err = cluster.tctl(&["create", dir.join("both.yaml").to_str().unwrap()]).err();
    assert!(err.contains("role/existing: role \"existing\" already exists"), "{err}");
    assert!(err.contains("nothing was stored (the 1 resource(s) before it in the request were taken back)"), "{err}");
    let gone = cluster.tctl(&["get", "role/fresh"]).err();
    assert!(gone.contains("not found"), "the first role stayed: {gone}");
    // Nothing audited as created either.
    assert!(!cluster.audit_lines().iter().any(|l| l.contains("resource.create") && l.contains("\"fresh\"")));
    // The invite line reads as a duration.
    let out = cluster.tctl(&["users", "add", "erin", "--roles=access"]).ok();
    assert!(out.contains("the invite is valid for 1h0m0s and works once"), "{out}");
}

#[test]
fn the_invite_line_works_as_printed_and_a_logout_keeps_the_proxy_pinned() {
    let cluster = Cluster::start("root.example.com");
    let out = cluster.tctl(&["users", "add", "frank", "--roles=access", "--logins=root"]).ok();
    let line = out.lines().map(str::trim).find(|l| l.starts_with("tsh login")).expect("an invite line").to_string();
    assert!(line.contains(" --ca-pin=sha256:") && !line.contains("--insecure"), "{line}");
    // Exactly as printed, on a machine that never saw this proxy: no --insecure.
    let home = cluster.dir.path().join("home-frank");
    std::fs::create_dir_all(&home).unwrap();
    let mut args: Vec<&str> = line.split_whitespace().skip(1).collect();
    args.push("--keystore=file");
    let login = cluster.as_user(&home, "tsh", &args, Some("correct-horse\n"));
    assert_eq!(login.code, 0, "{}", login.stderr);
    let profile = std::fs::read_dir(home.join("profiles"))
        .unwrap()
        .flatten()
        .find(|e| {
            e.file_name().to_string_lossy().ends_with(".json") && !e.file_name().to_string_lossy().contains("leaves")
        })
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .unwrap();
    assert!(profile.contains("\"insecure\": false"), "{profile}");
    cluster.as_user(&home, "tsh", &["ls"], None).ok();
    // After a logout the proxy's CA is still known: the next login needs no --insecure either.
    cluster.as_user(&home, "tsh", &["logout"], None).ok();
    let proxy = format!("--proxy={}", cluster.web_addr);
    let again =
        cluster.as_user(&home, "tsh", &["login", &proxy, "--user=frank", "--keystore=file"], Some("correct-horse\n"));
    assert_eq!(again.code, 0, "{}", again.stderr);
    // A pin the proxy does not match is refused before any password is sent.
    let other = cluster.dir.path().join("home-other");
    std::fs::create_dir_all(&other).unwrap();
    let pin = format!("--ca-pin=sha256:{}", "0".repeat(64));
    let err = cluster.as_user(&other, "tsh", &["login", &proxy, "--user=frank", &pin], Some("correct-horse\n")).err();
    assert!(err.contains("offers no TLS CA with pin sha256:000"), "{err}");
}

#[test]
fn a_node_joins_with_the_printed_ca_pin_and_no_insecure() {
    let cluster = Cluster::start("root.example.com");
    let out = cluster.tctl(&["tokens", "add", "--type=node"]).ok();
    let field = |name: &str| out.lines().find_map(|l| l.trim().strip_prefix(name)).map(str::trim).map(str::to_string);
    let (token, pin) = (field("auth_token:").expect("auth_token"), field("ca_pin:").expect("ca_pin"));
    assert!(pin.starts_with("sha256:"), "{out}");
    let node = tether_tests::RemoteNode::start_with(
        &cluster.web_addr,
        "pinned",
        &token,
        &[],
        &format!("  ca_pin: {pin}\n"),
        false,
    );
    assert!(node.first_line.contains("ssh service listening"), "{}", node.log());
    // Another cluster's pin: the join is refused, and says why.
    let token = cluster.tctl(&["tokens", "add", "--type=node"]).ok();
    let token = token.lines().find_map(|l| l.trim().strip_prefix("auth_token:")).unwrap().trim().to_string();
    let wrong = format!("  ca_pin: sha256:{}\n", "0".repeat(64));
    let mut refused = tether_tests::RemoteNode::start_with(&cluster.web_addr, "stranger", &token, &[], &wrong, false);
    assert_ne!(refused.wait_exit(std::time::Duration::from_secs(20)), Some(0));
    assert!(refused.log().contains("offers no TLS CA with pin sha256:000"), "{}", refused.log());
}

/// `tctl` in a directory holding `./tether-data` (the default data dir) with a `tsh` profile
/// logged in: the profile is used, and tctl says so and how to pick the admin identity instead;
/// `--data-dir` picks it without a note; an expired profile falls back to it, saying so.
#[test]
fn tctl_prefers_the_tsh_profile_and_says_which_identity_it_used() {
    let cluster = Cluster::start("root.example.com");
    let home = cluster.add_user("bob", "access", "bob", "correct-horse");
    let host = cluster.dir.path().join("auth-host");
    std::fs::create_dir_all(host.join("tether-data")).unwrap();
    std::fs::copy(cluster.data_dir().join("admin-identity.json"), host.join("tether-data/admin-identity.json"))
        .unwrap();
    let tctl = |args: &[&str]| {
        let out = std::process::Command::new(tether_tests::binary("tctl"))
            .args(args)
            .current_dir(&host)
            .env("TSH_HOME", &home)
            .env("HOME", &home)
            .output()
            .expect("tctl");
        tether_tests::Run::from(out)
    };
    let run = tctl(&["get", "role"]);
    assert!(run.stderr.contains("access denied: none of the roles [access] allows list on role"), "{}", run.stderr);
    assert!(
        run.stderr.contains("tctl: acting as bob on cluster root.example.com (tsh profile at ")
            && run.stderr.contains("pass --data-dir=./tether-data to use this host's admin identity instead"),
        "{}",
        run.stderr
    );
    let run = tctl(&["--data-dir=./tether-data", "get", "role"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("name: access") && !run.stderr.contains("tctl: acting as"), "{}", run.stderr);
    // The profile's certificate expires: the host's admin identity, said so.
    let proxy = format!("--proxy={}", cluster.web_addr);
    let args = ["login", &proxy, "--user=bob", "--insecure", "--keystore=file", "--ttl=2s"];
    cluster.as_user(&home, "tsh", &args, Some("correct-horse\n")).ok();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let run = tctl(&["get", "role"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("tctl: the tsh profile of bob at")
            && run.stderr.contains("has expired; acting as this host's admin identity (./tether-data)"),
        "{}",
        run.stderr
    );
}

/// `--format json` on the listings and status of both CLIs: always the documented shape.
#[test]
fn listings_and_status_take_format_json() {
    let cluster = Cluster::start("root.example.com");
    let home = cluster.add_user("bob", "access", "bob", "correct-horse");
    tether_tests::fixtures::token(&cluster, &["--type=node"]);
    let parse =
        |text: String| -> serde_json::Value { serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")) };
    let tokens = parse(cluster.tctl(&["tokens", "ls", "--format=json"]).ok());
    assert!(tokens.as_array().is_some_and(|a| a.len() == 1 && a[0]["type"] == "node"), "{tokens}");
    let users = parse(cluster.tctl(&["users", "ls", "--format=json"]).ok());
    assert!(users.as_array().is_some_and(|a| a.iter().any(|u| u["metadata"]["name"] == "bob")), "{users}");
    let status = parse(cluster.tctl(&["status", "--format=json"]).ok());
    assert_eq!(status["cluster"], "root.example.com", "{status}");
    assert_eq!(status["cert_authorities"].as_array().map(Vec::len), Some(3), "{status}");
    let mine = parse(cluster.as_user(&home, "tsh", &["status", "--format=json"], None).ok());
    assert_eq!((mine["user"].as_str(), mine["expired"].as_bool()), (Some("bob"), Some(false)), "{mine}");
    assert_eq!(mine["logins"], serde_json::json!(["bob"]), "{mine}");
}

/// A file past the web API's request limit is refused by tctl with the limit, before sending
/// (sending it ended in "Broken pipe"); plain HTTP to the HTTPS port is told to use HTTPS.
#[test]
fn an_oversized_create_and_plain_http_are_told_why() {
    use std::io::{Read, Write};
    let cluster = Cluster::start("root.example.com");
    let logins: Vec<String> = (0..60_000).map(|i| format!("login{i}")).collect();
    let text = format!(
        "kind: role\nversion: v5\nmetadata:\n  name: big\nspec:\n  allow:\n    logins: [{}]\n",
        logins.join(",")
    );
    let file = cluster.dir.path().join("big.yaml");
    std::fs::write(&file, text).unwrap();
    let err = cluster.tctl(&["create", file.to_str().unwrap()]).err();
    assert!(
        err.contains("big.yaml is ") && err.contains("KiB: the web API takes at most 256 KiB per request"),
        "{err}"
    );
    assert!(cluster.tctl(&["get", "role/big"]).code != 0, "nothing stored");

    let mut tcp = std::net::TcpStream::connect(&cluster.web_addr).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
    tcp.write_all(b"GET /webapi/ping HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut answer = String::new();
    let _ = tcp.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request"), "{answer:?}");
    assert!(answer.contains(&format!("this is an HTTPS port: use https://{}/", cluster.web_addr)), "{answer:?}");
}

/// PostgreSQL connection strings that cannot work say what is wrong and where: a port that is
/// not a number (tokio-postgres says only "invalid connection string"), and a missing
/// sslrootcert file, named with its config field.
#[test]
fn postgresql_connection_strings_that_cannot_work_say_where_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let start = |conn: &str| {
        let config = format!(
            "teleport:\n  data_dir: {}\n  storage:\n    type: postgresql\n    conn_string: \"{conn}\"\nauth_service:\n  cluster_name: pg.example.com\n  listen_addr: 127.0.0.1:0\nproxy_service:\n  web_listen_addr: 127.0.0.1:0\n  listen_addr: 127.0.0.1:0\n  tunnel_listen_addr: 127.0.0.1:0\n",
            dir.path().join("data").display()
        );
        let file = dir.path().join("tether.yaml");
        std::fs::write(&file, config).unwrap();
        tether_tests::run("tether", &["start", "-c", file.to_str().unwrap()], &[], None)
    };
    let err = start("postgresql://tether@127.0.0.1:notaport/tether?sslrootcert=/x").err();
    assert!(
        err.contains("tether.yaml:5:5: teleport.storage.conn_string: invalid PostgreSQL connection string"),
        "{err}"
    );
    assert!(err.contains(r#"port "notaport" is not a number from 1 to 65535"#), "{err}");
    let err =
        start("postgresql://tether@127.0.0.1:5432/tether?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem").err();
    assert!(
        err.contains("teleport.storage.conn_string: sslrootcert=/nonexistent/ca.pem: cannot read certificates from it"),
        "{err}"
    );
}
