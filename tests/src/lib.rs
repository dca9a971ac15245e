//! End-to-end test helpers: building and locating the real `tether`, `tctl` and `tsh` binaries.
//!
//! The tests under `tests/tests/` start real processes on 127.0.0.1 and drive the real CLIs.
//! [`binary`] builds the three binaries once per test process (with the same cargo and profile
//! that runs the tests) so `cargo test --workspace` alone is enough on a fresh checkout.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."))
}

fn build_binaries() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(workspace_root())
        .args(["build", "--quiet", "--bin", "tether", "--bin", "tctl", "--bin", "tsh"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo build of the binaries failed: {status}")) }
}

/// Path of a workspace binary (`tether`, `tctl`, `tsh`), built on first use.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    if let Err(e) = BUILT.get_or_init(build_binaries) {
        panic!("{e}");
    }
    // target/debug/deps/<test> -> target/debug/<name>
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().and_then(Path::parent).map(PathBuf::from).unwrap_or_default();
    dir.join(name)
}
