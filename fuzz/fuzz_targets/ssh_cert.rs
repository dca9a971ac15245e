//! SSH certificates from outside: the OpenSSH text form and the wire form, read, inspected as
//! user and host certificates, and verified against a CA (which they will rarely be signed by:
//! the point is that no input makes a check panic or pass wrongly cheaply).
#![no_main]

use std::sync::OnceLock;
use std::time::SystemTime;

use libfuzzer_sys::fuzz_target;
use russh::keys::{Certificate, PublicKey};
use tether_shared::ssh_cert::{
    SshCa, cert_from_openssh, inspect_host_cert, inspect_user_cert, verify_host_cert, verify_user_cert,
};

fn ca() -> &'static PublicKey {
    static CA: OnceLock<PublicKey> = OnceLock::new();
    CA.get_or_init(|| SshCa::generate().map(|ca| ca.public_key().clone()).unwrap_or_else(|_| std::process::abort()))
}

fn check(cert: &Certificate) {
    let now = SystemTime::now();
    let _ = inspect_user_cert(cert);
    let _ = inspect_host_cert(cert);
    let _ = verify_user_cert(cert, std::slice::from_ref(ca()), Some("alice"), now);
    // Against its own signer too: the signature then verifies, and every later check runs.
    let signer = PublicKey::from(cert.signature_key().clone());
    let _ = verify_user_cert(cert, std::slice::from_ref(&signer), None, now);
    let _ = verify_host_cert(cert, std::slice::from_ref(ca()), "node.example.com", now);
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cert) = cert_from_openssh(text)
    {
        check(&cert);
    }
    if let Ok(cert) = Certificate::from_bytes(data) {
        check(&cert);
    }
});
