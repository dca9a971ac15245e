//! The checked-in shell completion scripts match what `tctl completion` and `tsh completion`
//! generate from the current command lines. Regenerate with
//! `TETHER_BLESS=1 cargo test -p tether-tests --test completions`.

use tether_tests::{run, workspace_root};

#[test]
fn completion_scripts_are_in_sync() {
    let bless = std::env::var_os("TETHER_BLESS").is_some();
    let mut stale = Vec::new();
    for binary in ["tctl", "tsh"] {
        for (shell, ext) in [("bash", "bash"), ("zsh", "zsh"), ("fish", "fish"), ("powershell", "ps1")] {
            let generated = run(binary, &["completion", shell], &[], None).ok();
            assert!(generated.len() > 100, "{binary} {shell}: empty script");
            let path = workspace_root().join("completions").join(format!("{binary}.{ext}"));
            let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
            if checked_in != generated {
                if bless {
                    std::fs::write(&path, &generated).expect("write completion script");
                } else {
                    stale.push(path.display().to_string());
                }
            }
        }
    }
    assert!(
        stale.is_empty(),
        "completion scripts drifted from the CLI: {stale:?}; regenerate with TETHER_BLESS=1 cargo test -p tether-tests --test completions"
    );
}

#[test]
fn completions_offer_values_and_kinds() {
    let tctl = run("tctl", &["completion", "bash"], &[], None).ok();
    assert!(tctl.contains("yaml json text"), "--format values");
    assert!(tctl.contains("trusted_cluster node"), "--type values");
    assert!(tctl.contains("role user token trusted_cluster tc remote_cluster rc cert_authority cas node"), "kinds");
    let tsh = run("tsh", &["completion", "bash"], &[], None).ok();
    assert!(tsh.contains("auto keyring file"), "--keystore values");
}

#[test]
fn a_closed_pipe_ends_the_tools_quietly() {
    // The reader is gone before the tool writes: every write fails with EPIPE.
    for (tool, args) in
        [("tctl", &["completion", "bash"][..]), ("tsh", &["completion", "bash"][..]), ("tsh", &["version"][..])]
    {
        let mut child = std::process::Command::new(tether_tests::binary(tool))
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the tool runs");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        assert_eq!(out.status.code(), Some(0), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stderr.is_empty(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
