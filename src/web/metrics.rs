//! `GET /metrics`: the server's vital signs in Prometheus' text format, for
//! a volunteer's monitoring (or a curl in a terminal). Cheap to serve: it
//! reads counters and sizes, never a document.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::store::Health;

pub async fn metrics(State(state): State<AppState>) -> Response {
    let sync = state.sync_metrics.snapshot();
    let mut out = Exposition::default();
    out.gauge(
        "glosa_sync_connections",
        "Open /sync WebSocket connections.",
        sync.open,
    );
    out.counter(
        "glosa_sync_connections_total",
        "/sync connections accepted since start.",
        sync.opened,
    );
    out.counter(
        "glosa_sync_connections_refused_total",
        "Connections closed by the server for breaking the protocol or a limit.",
        sync.refused,
    );
    out.counter(
        "glosa_sync_messages_received_total",
        "Messages received from clients.",
        sync.messages_in,
    );
    out.counter(
        "glosa_sync_messages_sent_total",
        "Messages sent to clients.",
        sync.messages_out,
    );
    out.counter(
        "glosa_sync_received_bytes_total",
        "Bytes of messages received from clients.",
        sync.bytes_in,
    );
    out.counter(
        "glosa_sync_sent_bytes_total",
        "Bytes of messages sent to clients.",
        sync.bytes_out,
    );
    out.counter(
        "glosa_sync_unknown_documents_total",
        "Requests for documents the server does not serve, answered doc-unavailable.",
        sync.unknown_answered,
    );
    out.gauge(
        "glosa_documents_loaded",
        &format!(
            "Documents in memory now (idle ones are unloaded after {} s).",
            crate::server::IDLE_UNLOAD.as_secs()
        ),
        state.repo.loaded_documents() as u64,
    );
    out.gauge(
        "glosa_documents_asleep",
        &format!(
            "Loaded documents nobody used for {} ms, kept without their operations until needed.",
            crate::server::IDLE_SLEEP.as_millis()
        ),
        state.repo.sleeping_documents() as u64,
    );
    let catalog = state.catalog();
    out.gauge(
        "glosa_articles",
        "Articles listed in the library.",
        catalog.listed().len() as u64,
    );
    out.gauge(
        "glosa_notes_documents_full",
        "Notes documents at their size limit, refusing new notes.",
        state.policy.full_notes() as u64,
    );
    if let Some(notes) = state.note_count.notes() {
        out.gauge(
            "glosa_notes",
            "Notes not deleted, across every article (counted from the data dir every 5 minutes).",
            notes,
        );
    }
    out.counter(
        "glosa_storage_errors_total",
        "Failed writes to the data dir since start.",
        state.store.error_count(),
    );
    out.gauge(
        "glosa_storage_healthy",
        "1 while the data dir accepts writes, 0 while it does not (see /healthz).",
        u64::from(matches!(state.store.health(), Health::Ok)),
    );
    if let Some(rss) = resident_bytes() {
        out.gauge(
            "process_resident_memory_bytes",
            "Resident memory size in bytes.",
            rss,
        );
    }
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out.text,
    )
        .into_response()
}

/// The text format: a HELP and a TYPE line, then the sample.
#[derive(Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn sample(&mut self, name: &str, kind: &str, help: &str, value: u64) {
        // Writing to a String cannot fail.
        let _ = write!(
            self.text,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    }

    fn gauge(&mut self, name: &str, help: &str, value: u64) {
        self.sample(name, "gauge", help, value);
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.sample(name, "counter", help, value);
    }
}

/// From /proc/self/statm (Linux); None elsewhere.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}
