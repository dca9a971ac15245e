//! The reverse tunnel's control channel: newline-delimited JSON `Control` messages read with
//! the same bounded line reader both ends use, then decoded.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tether_shared::tunnel::{Control, read_line};

/// One runtime for every input (making one per input cost most of each run).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| tokio::runtime::Builder::new_current_thread().build().unwrap_or_else(|_| std::process::abort()))
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        let mut reader = data;
        while let Ok(Some(line)) = read_line(&mut reader).await {
            if let Ok(message) = serde_json::from_str::<Control>(line.trim_end()) {
                let _ = message.line();
            }
        }
    });
});
