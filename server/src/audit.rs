//! The audit log: one JSON line per security-relevant event in `DATA_DIR/log/events.log`, with
//! the time, event name and code, cluster, user and outcome.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{Map, Value, json};

/// Appends audit events to a file.
#[derive(Debug)]
pub struct Audit {
    path: PathBuf,
    cluster: String,
    file: Mutex<Option<std::fs::File>>,
}

impl Audit {
    /// Opens (creating) `dir/events.log`.
    pub fn open(dir: &Path, cluster: &str) -> std::io::Result<Self> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::create_dir_all(dir)?;
        let path = dir.join("events.log");
        let file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(&path)?;
        Ok(Audit { path, cluster: cluster.to_string(), file: Mutex::new(Some(file)) })
    }

    /// Records one event. `success` is the outcome; `fields` adds event-specific detail.
    pub fn emit(&self, event: &str, code: &str, user: &str, success: bool, fields: Value) {
        let mut line = Map::new();
        line.insert("time".into(), json!(now_rfc3339()));
        line.insert("event".into(), json!(event));
        line.insert("code".into(), json!(code));
        line.insert("cluster".into(), json!(self.cluster));
        line.insert("user".into(), json!(user));
        line.insert("success".into(), json!(success));
        if let Value::Object(extra) = fields {
            line.extend(extra);
        }
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        let mut guard = match self.file.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(file) = guard.as_mut()
            && let Err(e) = file.write_all(text.as_bytes())
        {
            tracing::error!(path = %self.path.display(), "cannot write the audit log: {e}");
        }
    }
}

impl Audit {
    /// Reads events at or after `since` (all when `None`), oldest first. Lines that are not
    /// JSON objects (a torn write at a crash) are skipped.
    pub fn read(&self, since: Option<time::OffsetDateTime>) -> std::io::Result<Vec<Map<String, Value>>> {
        let text = std::fs::read_to_string(&self.path)?;
        let rfc = time::format_description::well_known::Rfc3339;
        Ok(text
            .lines()
            .filter_map(|line| serde_json::from_str::<Map<String, Value>>(line).ok())
            .filter(|event| match (since, event.get("time").and_then(Value::as_str)) {
                (None, _) => true,
                (Some(since), Some(t)) => time::OffsetDateTime::parse(t, &rfc).is_ok_and(|t| t >= since),
                (Some(_), None) => false,
            })
            .collect())
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
