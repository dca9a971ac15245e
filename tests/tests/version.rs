//! The three binaries run and agree on their version.

use std::process::Command;

#[test]
fn binaries_print_their_version() {
    for name in ["tether", "tctl", "tsh"] {
        let out = Command::new(tether_tests::binary(name)).arg("version").output().expect("binary runs");
        assert!(out.status.success(), "{name} version failed");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.trim(), format!("Tether v{}", tether_shared::VERSION), "{name}");
    }
}
