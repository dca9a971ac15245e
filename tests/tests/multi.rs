//! `tsh ssh LOGIN@key=value COMMAND`: one command on every node with those labels, each output
//! line prefixed with its node, failures summed up and reflected in the exit code.

use std::time::{Duration, Instant};

use tether_tests::{Cluster, RemoteNode};

#[test]
fn commands_run_on_every_node_with_the_labels() {
    let cluster = Cluster::builder("root.example.com").node(&[("env", "prod")]).start();
    let home = cluster.add_user("alice", "access", "root", "correct-horse");
    let token = tether_tests::fixtures::token(&cluster, &["--type=node"]);
    let web = RemoteNode::start(&cluster.web_addr, "web2", &token, &[("env", "prod"), ("team", "web")]);
    assert!(web.first_line.contains("ssh service listening"), "{}", web.log());
    let db = RemoteNode::start(&cluster.web_addr, "db1", &token, &[("env", "staging")]);
    assert!(db.first_line.contains("ssh service listening"), "{}", db.log());
    let tsh = |args: &[&str]| cluster.as_user(&home, "tsh", args, None);
    let first = format!("{}-node", cluster.name);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ls = tsh(&["ls"]).ok();
        if ls.contains("web2") && ls.contains("db1") && ls.contains(&first) {
            break;
        }
        assert!(Instant::now() < deadline, "the nodes never showed up: {ls}");
        std::thread::sleep(Duration::from_millis(300));
    }

    // Two nodes match env=prod; each line carries its node, stdout and stderr apart.
    let out = tsh(&["ssh", "root@env=prod", "echo hello; echo oops >&2"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort();
    assert_eq!(lines, vec![format!("[{first}] hello").as_str(), "[web2] hello"], "{}", out.stdout);
    let mut errs: Vec<&str> = out.stderr.lines().collect();
    errs.sort();
    assert_eq!(errs, vec![format!("[{first}] oops").as_str(), "[web2] oops"]);

    // Every pair must match; a partial last line is printed whole, with a newline.
    let out = tsh(&["ssh", "root@env=prod,team=web", "printf 'a\\nb'"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "[web2] a\n[web2] b\n"), "{}", out.stderr);

    // One node fails (the first to create the directory): exit 1 and a summary naming it.
    let marker = tempfile::tempdir().unwrap();
    let dir = marker.path().join("first");
    let script = format!("if mkdir {} 2>/dev/null; then echo failing; exit 3; fi; echo fine", dir.display());
    let out = tsh(&["ssh", "--max-parallel=1", "root@env=prod", &script]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let failing = out.stdout.lines().find(|l| l.ends_with("] failing")).expect("one node failed").to_string();
    let name = failing.trim_start_matches('[').split(']').next().unwrap().to_string();
    assert!(out.stdout.lines().any(|l| l.ends_with("] fine") && !l.contains(&name)), "{}", out.stdout);
    assert!(out.stderr.contains(&format!("tsh: 1 of 2 nodes failed: {name} (exit code 3)")), "{}", out.stderr);

    // No node matches: the selector and the cluster are named.
    let err = tsh(&["ssh", "root@env=nowhere", "true"]).err();
    assert!(err.contains("no node you may log in to in cluster root.example.com has the labels env=nowhere"), "{err}");
    // No command: no interactive shell on many nodes.
    let err = tsh(&["ssh", "root@env=prod"]).err();
    assert!(err.contains("there is no interactive shell on many nodes"), "{err}");
    let err = tsh(&["ssh", "root@env=prod,bad", "true"]).err();
    assert!(err.contains("bad label selector \"env=prod,bad\""), "{err}");
}

#[test]
fn label_selectors_honour_the_cluster() {
    let (pair, home) = tether_tests::fixtures::trusted_pair();
    let tsh = |args: &[&str]| pair.root.as_user(&home, "tsh", args, None);
    let out = tsh(&["ssh", "--cluster=leaf.example.com", "visitor@env=demo", "whoami"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "[mynode] visitor\n"), "{}", out.stderr);
    // The root has no node labelled env=demo: the error names the root.
    let err = tsh(&["ssh", "visitor@env=demo", "whoami"]).err();
    assert!(err.contains("in cluster root.example.com has the labels env=demo"), "{err}");
    let err = tsh(&["ssh", "--cluster=leaf.example.com", "visitor@env=nowhere", "true"]).err();
    assert!(
        err.contains("in cluster leaf.example.com has the labels env=nowhere (tsh ls --cluster=leaf.example.com"),
        "{err}"
    );
    // Forwarding and a PTY make no sense on many nodes.
    let err = tsh(&["ssh", "-L", "0:127.0.0.1:1", "visitor@env=demo", "true"]).err();
    assert!(err.contains("-L cannot be used with a label selector"), "{err}");
}
