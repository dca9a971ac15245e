//! Where the daemon's log lines go: `teleport.log.output` (stderr, stdout or a file) at
//! `log.severity`, with `RUST_LOG` overriding the level and colours only on a terminal.

use anyhow::Context;

use crate::config::{self, Config};

/// Installs the global `tracing` subscriber the config asks for.
pub(super) fn init(cfg: &Config) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(cfg.log.severity.as_filter()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match &cfg.log.output {
        config::LogOutput::Stderr => {
            builder.with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr).try_init()
        }
        config::LogOutput::Stdout => {
            builder.with_ansi(std::io::stdout().is_terminal()).with_writer(std::io::stdout).try_init()
        }
        config::LogOutput::File(path) => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot open the log file {}", path.display()))?;
            builder.with_ansi(false).with_writer(std::sync::Mutex::new(file)).try_init()
        }
    };
    Ok(())
}
