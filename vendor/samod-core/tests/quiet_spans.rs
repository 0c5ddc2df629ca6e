//! Change 15 (vendor/README.md): the spans samod-core and automerge open
//! for every hub event, actor input, load and save are at debug level, so a
//! server logging at info (Glosa's default) opens none while it relays a
//! note. At info they cost ~5 % of a server's CPU relaying a discussion to
//! 200 readers.
mod support;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use support::{CLIENT_POLICY, Net, doc_with, put};
use tracing_subscriber::{Layer, filter::LevelFilter, layer::Context, layer::SubscriberExt};

struct CountSpans(Arc<AtomicUsize>);

impl<S: tracing::Subscriber> Layer<S> for CountSpans {
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Spans opened at `level` while a writer's note reaches three readers
/// through a server.
fn spans_while_relaying_a_note(level: LevelFilter) -> usize {
    let count = Arc::new(AtomicUsize::new(0));
    let subscriber =
        tracing_subscriber::registry().with(CountSpans(count.clone()).with_filter(level));
    tracing::subscriber::with_default(subscriber, || {
        let mut net = Net::new();
        let server = net.add_lazy_server();
        let writer = net.add_peer("writer", CLIENT_POLICY);
        net.connect(writer, server);
        let doc = net.create_doc(writer, doc_with("note", "first"));
        let readers: Vec<_> = (0..3)
            .map(|i| {
                let reader = net.add_peer(&format!("reader{i}"), CLIENT_POLICY);
                net.connect(reader, server);
                net.find(reader, &doc);
                reader
            })
            .collect();
        net.change(writer, &doc, |d| put(d, "note", "second"));
        let heads = net.peer(writer).heads(&doc);
        for reader in readers {
            assert_eq!(net.peer(reader).heads(&doc), heads, "a reader missed it");
        }
    });
    count.load(Ordering::Relaxed)
}

#[test]
fn relaying_a_note_opens_no_span_at_info() {
    assert_eq!(spans_while_relaying_a_note(LevelFilter::INFO), 0);
    // The counter does count: the same spans are there at debug.
    assert!(spans_while_relaying_a_note(LevelFilter::DEBUG) > 0);
}
