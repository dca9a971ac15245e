//! Files to and from nodes with OpenSSH's own tools through `tsh config`: `scp` (SFTP mode, the
//! default of OpenSSH 9), `sftp` and `rsync -e "tsh ssh"`, on a node of the cluster logged in to
//! and on a leaf's node through the trusted path; what the SFTP subsystem audits; and the
//! errors a user sees.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tether_tests::Cluster;
use tether_tests::fixtures::{ensure_visitor_account, trusted_pair};

/// `tsh config` written to a file in `dir`.
fn openssh_config(cluster: &Cluster, home: &Path, dir: &Path) -> PathBuf {
    let out = cluster.as_user(home, "tsh", &["config"], None);
    assert_eq!(out.code, 0, "tsh config: {}", out.stderr);
    let file = dir.join("ssh_config");
    std::fs::write(&file, &out.stdout).unwrap();
    file
}

/// Runs an OpenSSH tool (or rsync) with the user's tsh home; returns its output.
fn tool(home: &Path, program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env("TSH_HOME", home)
        .env("HOME", home)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Pseudo-random bytes (incompressible enough to be honest about transfer).
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A tree to copy: `top.bin` (1 MiB), `sub/notes.txt` (0640), `sub/deeper/run.sh` (0750).
fn tree(dir: &Path) -> PathBuf {
    let root = dir.join("tree");
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::write(root.join("top.bin"), bytes(1 << 20, 5)).unwrap();
    std::fs::write(root.join("sub/notes.txt"), "notes\n").unwrap();
    std::fs::set_permissions(root.join("sub/notes.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::write(root.join("sub/deeper/run.sh"), "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(root.join("sub/deeper/run.sh"), std::fs::Permissions::from_mode(0o750)).unwrap();
    root
}

/// The node's view, through `tsh ssh`.
fn on_node(cluster: &Cluster, home: &Path, tsh_args: &[&str], command: &str) -> String {
    let mut args = vec!["ssh"];
    args.extend_from_slice(tsh_args);
    args.push(command);
    let out = cluster.as_user(home, "tsh", &args, None);
    assert_eq!(out.code, 0, "tsh ssh {command}: {}", out.stderr);
    out.stdout
}

/// Copies a file and a tree there and back with `scp`, `sftp` and `rsync`; `host` is the node as
/// OpenSSH names it, `tsh_node` how `tsh ssh` reaches it, and `tag` keeps the tests' files apart
/// in the shared home of `visitor`.
fn round_trip(cluster: &Cluster, home: &Path, host: &str, tsh_node: &[&str], tag: &str) {
    let work = tempfile::tempdir().unwrap();
    let config = openssh_config(cluster, home, work.path());
    let cfg = config.to_str().unwrap();
    let tree = tree(work.path());
    let remote = |path: &str| format!("visitor@{host}:{tag}/{path}");
    on_node(cluster, home, tsh_node, &format!("rm -rf {tag} && mkdir {tag}"));

    // scp (SFTP protocol) there and back.
    let top = tree.join("top.bin");
    ok(tool(home, "scp", &["-F", cfg, "-o", "BatchMode=yes", top.to_str().unwrap(), &remote("top.bin")]), "scp upload");
    let back = work.path().join("back.bin");
    ok(
        tool(home, "scp", &["-F", cfg, "-o", "BatchMode=yes", &remote("top.bin"), back.to_str().unwrap()]),
        "scp download",
    );
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&top).unwrap(), "the file came back changed");

    // A tree, keeping modes.
    ok(
        tool(home, "scp", &["-F", cfg, "-o", "BatchMode=yes", "-rp", tree.to_str().unwrap(), &remote("copied")]),
        "scp -rp",
    );
    let modes = on_node(
        cluster,
        home,
        tsh_node,
        &format!("stat -c '%a %n' {tag}/copied/sub/notes.txt {tag}/copied/sub/deeper/run.sh"),
    );
    assert!(modes.contains("640 ") && modes.contains("750 "), "modes on the node: {modes}");

    // sftp, in batch mode.
    let batch = work.path().join("batch");
    let got = work.path().join("got.bin");
    std::fs::write(
        &batch,
        format!(
            "mkdir {tag}/d\nput {} {tag}/d/x\nrename {tag}/d/x {tag}/d/y\nls {tag}/d\nget {tag}/d/y {}\nrm {tag}/d/y\nrmdir {tag}/d\n",
            top.display(),
            got.display()
        ),
    )
    .unwrap();
    let listing = ok(
        tool(
            home,
            "sftp",
            &["-F", cfg, "-o", "BatchMode=yes", "-b", batch.to_str().unwrap(), &format!("visitor@{host}")],
        ),
        "sftp -b",
    );
    assert!(listing.contains(&format!("{tag}/d/y")), "sftp ls: {listing}");
    assert_eq!(std::fs::read(&got).unwrap(), std::fs::read(&top).unwrap(), "sftp get changed the file");
    let gone = on_node(cluster, home, tsh_node, &format!("test -e {tag}/d && echo still-there || echo removed"));
    assert_eq!(gone.trim(), "removed");

    // rsync over tsh ssh (the exec path, both directions at once).
    let tsh = tether_tests::binary("tsh");
    let mut transport = tsh.display().to_string() + " ssh";
    for arg in tsh_node.iter().filter(|a| a.starts_with("--")) {
        transport = format!("{transport} {arg}");
    }
    let node_name = tsh_node.last().and_then(|n| n.split_once('@')).map_or("", |(_, n)| n).to_string();
    ok(
        tool(
            home,
            "rsync",
            &["-a", "-e", &transport, &format!("{}/", tree.display()), &format!("visitor@{node_name}:{tag}/rsynced/")],
        ),
        "rsync -e tsh ssh",
    );
    let run = on_node(
        cluster,
        home,
        tsh_node,
        &format!("{tag}/rsynced/sub/deeper/run.sh && cmp {tag}/rsynced/top.bin {tag}/top.bin && echo same"),
    );
    assert_eq!(run.trim(), "ran\nsame");
}

/// `tsh scp` there and back: a file, and a tree with `-r` keeping modes; `cluster` is the
/// `--cluster` flag or none.
fn tsh_scp_round_trip(cluster: &Cluster, home: &Path, flags: &[&str], node: &str, tag: &str) {
    let work = tempfile::tempdir().unwrap();
    let tree = tree(work.path());
    let scp = |args: &[&str]| {
        let mut all = vec!["scp"];
        all.extend_from_slice(flags);
        all.extend_from_slice(args);
        cluster.as_user(home, "tsh", &all, None)
    };
    let remote = |path: &str| format!("visitor@{node}:{tag}/{path}");
    let top = tree.join("top.bin");
    let target = format!("visitor@{node}");
    let mut on = flags.to_vec();
    on.push(&target);
    on_node(cluster, home, &on, &format!("rm -rf {tag} top-{tag}.bin && mkdir {tag}"));
    // NODE: alone is the login's home.
    let to_home = scp(&[top.to_str().unwrap(), &format!("visitor@{node}:top-{tag}.bin")]);
    assert_eq!(to_home.code, 0, "tsh scp to the home: {}", to_home.stderr);
    let size = on_node(cluster, home, &on, &format!("stat -c %s ~/top-{tag}.bin"));
    assert_eq!(size.trim(), (1 << 20).to_string());

    let up = scp(&[top.to_str().unwrap(), &remote("one.bin")]);
    assert_eq!(up.code, 0, "tsh scp upload: {}", up.stderr);
    assert_eq!(up.stderr, "", "no progress bar when stderr is not a terminal");
    let back = work.path().join("one-back.bin");
    let down = scp(&[&remote("one.bin"), back.to_str().unwrap()]);
    assert_eq!(down.code, 0, "tsh scp download: {}", down.stderr);
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&top).unwrap(), "tsh scp changed the file");

    let up = scp(&["-r", tree.to_str().unwrap(), &remote("")]);
    assert_eq!(up.code, 0, "tsh scp -r upload: {}", up.stderr);
    let copy = work.path().join("copy");
    let down = scp(&["-r", &remote("tree"), copy.to_str().unwrap()]);
    assert_eq!(down.code, 0, "tsh scp -r download: {}", down.stderr);
    let mode = |p: &str| std::fs::metadata(copy.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!((mode("sub/notes.txt"), mode("sub/deeper/run.sh")), (0o640, 0o750), "modes kept both ways");
    assert_eq!(std::fs::read(copy.join("top.bin")).unwrap(), std::fs::read(&top).unwrap());

    // Errors name the path.
    let missing = scp(&[&remote("missing.txt"), work.path().to_str().unwrap()]);
    assert!(
        missing.code != 0 && missing.stderr.contains(&format!("{tag}/missing.txt: No such file")),
        "{}",
        missing.stderr
    );
    let no_r = scp(&[tree.to_str().unwrap(), &remote("")]);
    assert!(no_r.code != 0 && no_r.stderr.contains("is a directory (use -r"), "{}", no_r.stderr);
}

#[test]
fn openssh_scp_sftp_and_rsync_reach_a_node_of_this_cluster() {
    ensure_visitor_account();
    let cluster = Cluster::builder("main.example.com").node(&[]).start();
    let home = cluster.add_user("alice", "access", "visitor", "correct-horse");
    let host = "main.example.com-node.main.example.com";
    round_trip(&cluster, &home, host, &["visitor@main.example.com-node"], "sftp-local");
    tsh_scp_round_trip(&cluster, &home, &[], "main.example.com-node", "tsh-scp-local");

    // Every file operation is audited with its path and the login.
    let events: Vec<String> = cluster.audit_lines().into_iter().filter(|l| l.contains("\"event\":\"sftp\"")).collect();
    let upload = events.iter().find(|e| e.contains("sftp-local/top.bin") && e.contains("\"op\":\"open\"")).cloned();
    let upload = upload.unwrap_or_else(|| panic!("no sftp open event for the upload in {events:#?}"));
    assert!(upload.contains("\"login\":\"visitor\"") && upload.contains("create"), "{upload}");
    assert!(events.iter().any(|e| e.contains("\"op\":\"rename\"") && e.contains("sftp-local/d/y")), "{events:#?}");

    // Errors name the path and the reason, and SFTP runs with the login's permissions only.
    let work = tempfile::tempdir().unwrap();
    let config = openssh_config(&cluster, &home, work.path());
    // A file only root may read.
    let secret = work.path().join("secret.txt");
    std::fs::write(&secret, "root only").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = tool(
        &home,
        "scp",
        &[
            "-F",
            config.to_str().unwrap(),
            "-o",
            "BatchMode=yes",
            &format!("visitor@{host}:{}", secret.display()),
            work.path().join("stolen").to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("secret.txt") && stderr.contains("ermission denied"), "{stderr}");
    let out = tool(
        &home,
        "scp",
        &[
            "-F",
            config.to_str().unwrap(),
            "-o",
            "BatchMode=yes",
            &format!("visitor@{host}:no-such-file"),
            work.path().to_str().unwrap(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("no-such-file") && stderr.contains("No such file"), "{stderr}");
}

#[test]
fn openssh_scp_sftp_and_rsync_reach_a_leaf_node_through_the_tunnel() {
    let (pair, home) = trusted_pair();
    round_trip(
        &pair.root,
        &home,
        "mynode.leaf.example.com",
        &["--cluster=leaf.example.com", "visitor@mynode"],
        "sftp-leaf",
    );
    let leaf_audit = std::fs::read_to_string(pair.node.dir.path().join("data/log/events.log")).unwrap_or_default();
    assert!(
        leaf_audit.lines().any(|l| l.contains("\"event\":\"sftp\"") && l.contains("sftp-leaf/top.bin")),
        "the leaf node audits the root user's file operations: {leaf_audit}"
    );
}
