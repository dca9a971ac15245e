//! Closed pipes: `tctl get roles | head -1`, `tsh completion bash | head -1`. Rust ignores
//! SIGPIPE, so a write to a pipe whose reader has gone fails, and `println!` (and the completion
//! generator) panic on it, which ended the tools with a backtrace and exit 101. A closed pipe is
//! the reader saying it has enough: the tools end quietly with 0 instead, as Unix filters do.

/// Installs a panic hook that ends the process with exit 0 and no message when the panic is a
/// write to a closed pipe; every other panic goes to the default hook.
pub fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if is_closed_pipe(text) {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Whether a panic's message is a failed write to a closed pipe (`EPIPE`).
fn is_closed_pipe(message: &str) -> bool {
    message.contains("Broken pipe") || message.contains("os error 32")
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_closed_pipe_counts() {
        assert!(super::is_closed_pipe("failed printing to stdout: Broken pipe (os error 32)"));
        assert!(!super::is_closed_pipe("failed printing to stdout: No space left on device (os error 28)"));
    }
}
