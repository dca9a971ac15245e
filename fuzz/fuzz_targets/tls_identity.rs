//! TLS client certificates as the web API reads them: the identity extension read without
//! verification, the full chain, window and usage checks against a CA, the holder's Ed25519
//! key, and a CA pin of PEM text.
#![no_main]

use std::sync::OnceLock;
use std::time::SystemTime;

use libfuzzer_sys::fuzz_target;
use tether_shared::tls_cert::{TlsCa, ca_pin, identity_from_client_cert, subject_ed25519_key, verify_client_cert};

fn ca() -> &'static TlsCa {
    static CA: OnceLock<TlsCa> = OnceLock::new();
    CA.get_or_init(|| TlsCa::generate("root.example.com").unwrap_or_else(|_| std::process::abort()))
}

fuzz_target!(|data: &[u8]| {
    let _ = identity_from_client_cert(data);
    let _ = subject_ed25519_key(data);
    let _ = verify_client_cert(data, std::slice::from_ref(ca().cert_der()), SystemTime::now());
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ca_pin(text);
    }
});
