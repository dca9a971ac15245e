//! The reverse tunnel's control channel: newline-delimited JSON `Control` messages read with
//! the same bounded line reader both ends use, then decoded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether_shared::tunnel::{Control, read_line};

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread().build();
    let Ok(runtime) = runtime else { return };
    runtime.block_on(async {
        let mut reader = data;
        while let Ok(Some(line)) = read_line(&mut reader).await {
            if let Ok(message) = serde_json::from_str::<Control>(line.trim_end()) {
                let _ = message.line();
            }
        }
    });
});
