//! Reading the log backwards: the live and rotated files newest first, in fixed-size chunks from
//! their ends, so a read costs what it returns, not the size of the log.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::files::LogFiles;
use super::{MAX_LINE_BYTES, ORDER_SLACK, READ_CHUNK_BYTES};

impl LogFiles {
    /// The live file and the rotated ones, newest first, each with its length now. Opened
    /// newest first, so a rotation in between shows up as a file already seen (skipped).
    pub(super) fn open_for_reading(&self) -> std::io::Result<Vec<(File, u64)>> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for path in std::iter::once(self.live()).chain((1..=self.keep_rotated).map(|n| self.rotated(n))) {
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let meta = file.metadata()?;
            let id = (meta.dev(), meta.ino());
            if !seen.contains(&id) {
                seen.push(id);
                out.push((file, meta.len()));
            }
        }
        Ok(out)
    }

    /// The newest `limit` events at or after `since`, oldest first, and how many bytes were
    /// read to find them.
    #[cfg(test)]
    pub(super) fn read_newest(
        &self,
        since: Option<OffsetDateTime>,
        limit: usize,
    ) -> std::io::Result<(Vec<Map<String, Value>>, u64)> {
        self.read_matching(&Filter { since, ..Filter::default() }, limit)
    }

    /// The newest `limit` events `filter` keeps, oldest first, and how many bytes were read. A
    /// filter that keeps few events stops after [`MAX_FILTERED_SCAN_BYTES`].
    pub(super) fn read_matching(
        &self,
        filter: &Filter,
        limit: usize,
    ) -> std::io::Result<(Vec<Map<String, Value>>, u64)> {
        let mut newest_first = Vec::new();
        let mut bytes = 0;
        if limit == 0 {
            return Ok((newest_first, bytes));
        }
        let stop_before = filter.since.map(|s| s - ORDER_SLACK);
        'files: for (file, len) in self.open_for_reading()? {
            let mut lines = BackwardLines::new(file, len);
            while let Some(line) = lines.next_line()? {
                if bytes + lines.bytes_read > MAX_FILTERED_SCAN_BYTES && filter.narrows() {
                    bytes += lines.bytes_read;
                    break 'files;
                }
                let Ok(event) = serde_json::from_slice::<Map<String, Value>>(&line) else { continue };
                if filter.since.is_some() || filter.until.is_some() {
                    let Some(t) =
                        event.get("time").and_then(Value::as_str).and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                    else {
                        continue;
                    };
                    if let Some(stop_before) = stop_before
                        && t < stop_before
                    {
                        bytes += lines.bytes_read;
                        break 'files;
                    }
                    if filter.since.is_some_and(|since| t < since) || filter.until.is_some_and(|until| t >= until) {
                        continue;
                    }
                }
                if !filter.keeps(&event) {
                    continue;
                }
                newest_first.push(event);
                if newest_first.len() >= limit {
                    bytes += lines.bytes_read;
                    break 'files;
                }
            }
            bytes += lines.bytes_read;
        }
        newest_first.reverse();
        Ok((newest_first, bytes))
    }
}

/// The most bytes of the log a filtered read scans (a filter that keeps few events would
/// otherwise read the whole log).
pub const MAX_FILTERED_SCAN_BYTES: u64 = 64 * 1024 * 1024;

/// Which events a read keeps (`tctl audit ls`, the web UI's audit viewer).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// At or after this time.
    pub since: Option<OffsetDateTime>,
    /// Before this time (the next page of a newest-first listing).
    pub until: Option<OffsetDateTime>,
    /// This event name (`role.mapping`).
    pub event: Option<String>,
    /// This user.
    pub user: Option<String>,
    /// A cluster the event names: its own, the user's, or the leaf it is about.
    pub cluster: Option<String>,
}

impl Filter {
    /// Whether the filter looks at fields (rather than only times).
    fn narrows(&self) -> bool {
        self.event.is_some() || self.user.is_some() || self.cluster.is_some() || self.until.is_some()
    }

    /// Whether `event` passes the field filters.
    fn keeps(&self, event: &Map<String, Value>) -> bool {
        let field = |name: &str| event.get(name).and_then(Value::as_str);
        self.event.as_deref().is_none_or(|want| field("event") == Some(want))
            && self.user.as_deref().is_none_or(|want| field("user") == Some(want))
            && self.cluster.as_deref().is_none_or(|want| {
                ["cluster", "user_cluster", "leaf_cluster", "peer"].iter().any(|f| field(f) == Some(want))
            })
    }
}

/// Lines of a file from the end backwards, read in [`READ_CHUNK_BYTES`] chunks.
pub(super) struct BackwardLines {
    pub(super) file: File,
    /// Bytes before this offset are not read yet.
    pub(super) pos: u64,
    /// Read bytes not yet returned: the tail of the unread region's last line and whole lines.
    pub(super) pending: Vec<u8>,
    /// Inside a line longer than [`MAX_LINE_BYTES`]: drop bytes up to the previous newline.
    pub(super) skipping: bool,
    pub(super) bytes_read: u64,
}

impl BackwardLines {
    pub(super) fn new(file: File, len: u64) -> Self {
        BackwardLines { file, pos: len, pending: Vec::new(), skipping: false, bytes_read: 0 }
    }

    pub(super) fn next_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            if !self.skipping
                && let Some(i) = self.pending.iter().rposition(|&b| b == b'\n')
            {
                let line = self.pending.split_off(i + 1);
                self.pending.truncate(i);
                if line.is_empty() {
                    continue;
                }
                if line.len() > MAX_LINE_BYTES {
                    tracing::warn!("audit log: skipping a line longer than {MAX_LINE_BYTES} bytes");
                    continue;
                }
                return Ok(Some(line));
            }
            if self.pos == 0 {
                if self.skipping || self.pending.is_empty() || self.pending.len() > MAX_LINE_BYTES {
                    return Ok(None);
                }
                return Ok(Some(std::mem::take(&mut self.pending)));
            }
            let n = READ_CHUNK_BYTES.min(usize::try_from(self.pos).unwrap_or(READ_CHUNK_BYTES));
            self.pos -= n as u64;
            let mut chunk = vec![0u8; n];
            self.file.read_exact_at(&mut chunk, self.pos)?;
            self.bytes_read += n as u64;
            if self.skipping {
                // Still inside the overlong line: keep only what precedes its start.
                match chunk.iter().rposition(|&b| b == b'\n') {
                    Some(i) => {
                        chunk.truncate(i + 1);
                        self.pending = chunk;
                        self.skipping = false;
                    }
                    None => continue,
                }
            } else {
                chunk.extend_from_slice(&self.pending);
                self.pending = chunk;
                if self.pending.len() > MAX_LINE_BYTES && !self.pending.contains(&b'\n') {
                    tracing::warn!("audit log: skipping a line longer than {MAX_LINE_BYTES} bytes");
                    self.pending.clear();
                    self.skipping = true;
                }
            }
        }
    }
}
