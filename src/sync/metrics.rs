//! Counters for the `/sync` sockets, read by `GET /metrics`.
//!
//! Plain atomics, updated by each connection's pump: no lock on the hot
//! path, and nothing here knows about Prometheus (`web::metrics` formats).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct SyncMetrics {
    opened: AtomicU64,
    closed: AtomicU64,
    refused: AtomicU64,
    messages_in: AtomicU64,
    messages_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    unknown_answered: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// Connections open now.
    pub open: u64,
    /// Connections accepted since start.
    pub opened: u64,
    /// Connections the server closed for breaking the protocol or a limit.
    pub refused: u64,
    pub messages_in: u64,
    pub messages_out: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Requests for documents we do not serve, answered without samod.
    pub unknown_answered: u64,
}

impl SyncMetrics {
    /// A new connection; its number names it in the logs.
    pub fn opened(&self) -> u64 {
        self.opened.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn closed(&self, refused: bool) {
        self.closed.fetch_add(1, Ordering::Relaxed);
        if refused {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn received(&self, bytes: usize) {
        self.messages_in.fetch_add(1, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn sent(&self, bytes: usize) {
        self.messages_out.fetch_add(1, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn unknown_answered(&self) {
        self.unknown_answered.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let opened = get(&self.opened);
        Snapshot {
            open: opened.saturating_sub(get(&self.closed)),
            opened,
            refused: get(&self.refused),
            messages_in: get(&self.messages_in),
            messages_out: get(&self.messages_out),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
            unknown_answered: get(&self.unknown_answered),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_connections_messages_and_bytes() {
        let m = SyncMetrics::default();
        assert_eq!(m.opened(), 1);
        assert_eq!(m.opened(), 2);
        m.received(100);
        m.sent(40);
        m.sent(2);
        m.unknown_answered();
        m.closed(true);
        let s = m.snapshot();
        assert_eq!(
            s,
            Snapshot {
                open: 1,
                opened: 2,
                refused: 1,
                messages_in: 1,
                messages_out: 2,
                bytes_in: 100,
                bytes_out: 42,
                unknown_answered: 1,
            }
        );
    }
}
