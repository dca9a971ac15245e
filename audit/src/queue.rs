//! The bounded queue between emitters and the one writer thread: it counts what it accepted
//! and what the writer finished, so a reader can wait for earlier events to reach the file, and
//! it records drops for the writer to report.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::files::LogWriter;
use super::lock;

/// What [`Queue::push`] did with a line.
pub(super) enum Push {
    Queued,
    /// Dropped after waiting; the total dropped so far.
    Dropped(u64),
    /// The writer is gone: write it some other way.
    Closed(String),
}

/// A bounded multi-producer queue with one consumer, counting what it accepted and what the
/// consumer finished, so readers can wait for earlier events to reach the file.
#[derive(Debug)]
pub(super) struct Queue {
    pub(super) state: Mutex<QueueState>,
    /// Signalled when there is work for the writer (lines, a drop to report, or closing).
    pub(super) work: Condvar,
    /// Signalled when the writer took lines out (room for waiting emitters).
    pub(super) room: Condvar,
    /// Signalled when the writer finished a batch.
    pub(super) written: Condvar,
}

#[derive(Debug, Default)]
pub(super) struct QueueState {
    pub(super) lines: VecDeque<String>,
    pub(super) capacity: usize,
    /// Lines ever accepted.
    pub(super) accepted: u64,
    /// Accepted lines the writer has finished with (written or lost).
    pub(super) finished: u64,
    /// Drops not yet reported by an `audit.dropped` line.
    pub(super) unreported: u64,
    pub(super) dropped_total: u64,
    pub(super) closed: bool,
}

impl Queue {
    pub(super) fn new(capacity: usize) -> Self {
        Queue {
            state: Mutex::new(QueueState { capacity, ..Default::default() }),
            work: Condvar::new(),
            room: Condvar::new(),
            written: Condvar::new(),
        }
    }

    pub(super) fn state(&self) -> MutexGuard<'_, QueueState> {
        lock(&self.state)
    }

    pub(super) fn push(&self, line: String, wait: Duration) -> Push {
        let deadline = Instant::now() + wait;
        let mut state = self.state();
        loop {
            if state.closed {
                return Push::Closed(line);
            }
            if state.lines.len() < state.capacity {
                state.lines.push_back(line);
                state.accepted += 1;
                self.work.notify_one();
                return Push::Queued;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self.room.wait_timeout(state, deadline - now).map_or_else(|p| p.into_inner().0, |(g, _)| g);
        }
        state.unreported += 1;
        state.dropped_total += 1;
        let total = state.dropped_total;
        self.work.notify_one();
        Push::Dropped(total)
    }

    /// Counts `n` events lost after the writer stopped; returns the total dropped.
    pub(super) fn count_lost(&self, n: u64) -> u64 {
        let mut state = self.state();
        state.dropped_total += n;
        state.dropped_total
    }

    /// Waits for work; `None` once closed and empty. Returns the lines and the drops to report.
    pub(super) fn next_batch(&self) -> Option<(Vec<String>, u64)> {
        let mut state = self.state();
        while state.lines.is_empty() && state.unreported == 0 && !state.closed {
            state = self.work.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        if state.lines.is_empty() && state.unreported == 0 {
            return None;
        }
        let lines: Vec<String> = state.lines.drain(..).collect();
        let dropped = std::mem::take(&mut state.unreported);
        self.room.notify_all();
        Some((lines, dropped))
    }

    pub(super) fn take_all(&self) -> (Vec<String>, u64) {
        let mut state = self.state();
        let lines = state.lines.drain(..).collect();
        (lines, std::mem::take(&mut state.unreported))
    }

    /// The writer finished `n` lines, `lost` of them not written (counted as dropped, and
    /// reported in the log when a later write succeeds).
    pub(super) fn done(&self, n: usize, lost: u64) {
        let mut state = self.state();
        state.finished += n as u64;
        state.dropped_total += lost;
        state.unreported += lost;
        self.written.notify_all();
    }

    pub(super) fn close(&self) {
        let mut state = self.state();
        state.closed = true;
        self.work.notify_all();
        self.room.notify_all();
    }

    pub(super) fn wait_written(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut state = self.state();
        let target = state.accepted;
        while state.finished < target {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            state = self.written.wait_timeout(state, deadline - now).map_or_else(|p| p.into_inner().0, |(g, _)| g);
        }
        true
    }
}

/// The writer thread: batches until the queue is closed and empty, then hands the file back.
pub(super) fn drain(queue: Arc<Queue>, mut writer: LogWriter) -> LogWriter {
    while let Some((lines, dropped)) = queue.next_batch() {
        let lost = writer.write_batch(&lines, dropped);
        queue.done(lines.len(), lost);
    }
    writer
}
