//! The log's files on the writer's side: the live file (0600, a torn last line ended first),
//! batched writes, size rotation under an advisory lock, and reopening when another writer
//! rotated first.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{DROPPED, LOCK_FILE_NAME, LOG_FILE_NAME, now_rfc3339};

/// The log's directory and file names, shared by the writer and readers.
#[derive(Debug)]
pub(super) struct LogFiles {
    pub(super) dir: PathBuf,
    pub(super) keep_rotated: usize,
}

impl LogFiles {
    pub(super) fn live(&self) -> PathBuf {
        self.dir.join(LOG_FILE_NAME)
    }

    pub(super) fn rotated(&self, n: usize) -> PathBuf {
        self.dir.join(format!("{LOG_FILE_NAME}.{n}"))
    }

    pub(super) fn open_live(&self) -> std::io::Result<File> {
        std::fs::OpenOptions::new().create(true).read(true).append(true).mode(0o600).open(self.live())
    }
}

/// The writer's side: the open live file and the rotation lock.
#[derive(Debug)]
pub(super) struct LogWriter {
    pub(super) files: Arc<LogFiles>,
    pub(super) cluster: String,
    pub(super) max_file_bytes: u64,
    /// `None` after a failed reopen; retried at the next batch.
    pub(super) file: Option<File>,
    pub(super) lock: Option<File>,
}

impl LogWriter {
    pub(super) fn open(files: Arc<LogFiles>, cluster: &str, max_file_bytes: u64) -> std::io::Result<Self> {
        let file = files.open_live()?;
        // A line torn by a crash would swallow the next one: end it first.
        let len = file.metadata()?.len();
        let mut last = [0u8; 1];
        if len > 0 && file.read_exact_at(&mut last, len - 1).is_ok() && last[0] != b'\n' {
            (&file).write_all(b"\n")?;
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(files.dir.join(LOCK_FILE_NAME))
            .inspect_err(|e| tracing::warn!("audit log: no rotation lock file ({e}); rotating without it"))
            .ok();
        Ok(LogWriter { files, cluster: cluster.to_string(), max_file_bytes, file: Some(file), lock })
    }

    /// Writes `lines` (each ending in a newline), then an `audit.dropped` line when `dropped` > 0,
    /// rotating as needed. Returns how many events were lost to write errors (the report line
    /// counts as the events it reports).
    pub(super) fn write_batch(&mut self, lines: &[String], dropped: u64) -> u64 {
        let lost = self.write_lines(lines);
        if dropped > 0 {
            let mut report = Map::new();
            report.insert("time".into(), json!(now_rfc3339()));
            report.insert("event".into(), json!(DROPPED.name()));
            report.insert("code".into(), json!(DROPPED.code(super::Outcome::Failure)));
            report.insert("cluster".into(), json!(self.cluster));
            report.insert("user".into(), json!(""));
            report.insert("success".into(), json!(false));
            report.insert("count".into(), json!(dropped));
            let mut text = Value::Object(report).to_string();
            text.push('\n');
            tracing::error!(dropped, "audit events were dropped; recorded in the audit log");
            if self.write_lines(&[text]) > 0 {
                // The drops themselves are already counted.
                tracing::error!(dropped, "cannot record the dropped audit events in the log");
            }
        }
        lost
    }

    /// Writes lines, rotating before the file would pass its size. Returns how many were lost.
    pub(super) fn write_lines(&mut self, lines: &[String]) -> u64 {
        if self.file.is_none() {
            match self.files.open_live() {
                Ok(f) => self.file = Some(f),
                Err(e) => {
                    tracing::error!(path = %self.files.live().display(), "cannot open the audit log: {e}");
                    return lines.len() as u64;
                }
            }
        }
        // Other writers append too: start from the file's real size.
        let mut size = self.file.as_ref().and_then(|f| f.metadata().ok()).map_or(0, |m| m.len());
        let mut buf = String::new();
        let mut in_buf = 0u64;
        let mut lost = 0u64;
        for line in lines {
            let pending = size + buf.len() as u64;
            if pending > 0 && pending + line.len() as u64 > self.max_file_bytes {
                lost += self.write_out(&mut buf, &mut in_buf, &mut size);
                size = match self.rotate() {
                    Ok(size) => size,
                    Err(e) => {
                        tracing::error!(path = %self.files.live().display(), "cannot rotate the audit log: {e}");
                        self.file.as_ref().and_then(|f| f.metadata().ok()).map_or(0, |m| m.len())
                    }
                };
            }
            buf.push_str(line);
            in_buf += 1;
        }
        lost + self.write_out(&mut buf, &mut in_buf, &mut size)
    }

    pub(super) fn write_out(&mut self, buf: &mut String, in_buf: &mut u64, size: &mut u64) -> u64 {
        let n = std::mem::take(in_buf);
        if buf.is_empty() {
            return 0;
        }
        let result = match &mut self.file {
            Some(file) => file.write_all(buf.as_bytes()),
            None => Err(std::io::Error::other("the log file is not open")),
        };
        let lost = match result {
            Ok(()) => {
                *size += buf.len() as u64;
                0
            }
            Err(e) => {
                tracing::error!(path = %self.files.live().display(), lines = n, "cannot write the audit log: {e}");
                n
            }
        };
        buf.clear();
        lost
    }

    /// Shifts the rotated files, renames the live one to `.1` and opens a new one, under the
    /// rotation lock; reopens instead when another writer already rotated. Returns the new
    /// live file's size.
    pub(super) fn rotate(&mut self) -> std::io::Result<u64> {
        let locked = self.lock.as_ref().is_some_and(|l| l.lock().is_ok());
        let result = self.rotate_locked();
        if locked && let Some(l) = &self.lock {
            let _ = l.unlock();
        }
        result
    }

    pub(super) fn rotate_locked(&mut self) -> std::io::Result<u64> {
        let live = self.files.live();
        let ours = self.file.as_ref().and_then(|f| f.metadata().ok()).map(|m| (m.dev(), m.ino()));
        let current = match std::fs::metadata(&live) {
            Ok(m) => Some((m.dev(), m.ino())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if ours.is_some() && current == ours {
            if self.files.keep_rotated == 0 {
                std::fs::remove_file(&live)?;
            } else {
                for n in (1..self.files.keep_rotated).rev() {
                    match std::fs::rename(self.files.rotated(n), self.files.rotated(n + 1)) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                        _ => {}
                    }
                }
                std::fs::rename(&live, self.files.rotated(1))?;
            }
        }
        // Rotated now, or by another writer before us: continue in the live file.
        let file = self.files.open_live()?;
        let size = file.metadata()?.len();
        self.file = Some(file);
        Ok(size)
    }

    pub(super) fn sync(&self) {
        if let Some(file) = &self.file
            && let Err(e) = file.sync_data()
        {
            tracing::error!(path = %self.files.live().display(), "cannot sync the audit log: {e}");
        }
    }
}
