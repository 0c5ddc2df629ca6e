//! Change 22 (vendor/README.md): a step generates at most about
//! `STEP_BYTES` (256 KB) of sync messages; the peers left are asked on the
//! hub's next tick. A large note owed to many phones goes out in slices,
//! not all at once, while small relays (a note to a room of readers) go to
//! everyone in one step, as before.
mod support;

use samod_core::DocumentId;
use support::{CLIENT_POLICY, Net, PeerIdx, doc_with, get, put};

const READERS: usize = 20;
/// `STEP_BYTES` in samod-core.
const STEP_BYTES: usize = 256 * 1024;

struct Room {
    net: Net,
    server: PeerIdx,
    writer: PeerIdx,
    readers: Vec<PeerIdx>,
    doc: DocumentId,
}

/// A writer and `READERS` readers with one document open through a server.
fn room() -> Room {
    let mut net = Net::new();
    let server = net.add_lazy_server();
    let writer = net.add_peer("writer", CLIENT_POLICY);
    net.connect(writer, server);
    let doc = net.create_doc(writer, doc_with("title", "a discussion"));
    let readers = (0..READERS)
        .map(|i| {
            let reader = net.add_peer(&format!("reader {i}"), CLIENT_POLICY);
            net.connect(reader, server);
            net.find(reader, &doc);
            reader
        })
        .collect();
    Room {
        net,
        server,
        writer,
        readers,
        doc,
    }
}

/// Text that deflate cannot shrink much, so the change is as large on the
/// wire as it is long.
fn noise(len: usize) -> String {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect()
}

fn readers_with(net: &Net, readers: &[PeerIdx], doc: &DocumentId, key: &str) -> usize {
    readers
        .iter()
        .filter(|&&r| get(net.peer(r).doc(doc).expect("document loaded"), key).is_some())
        .count()
}

fn bytes_sent(net: &Net, server: PeerIdx) -> usize {
    net.peer(server).sent.iter().map(|(_, msg)| msg.len()).sum()
}

#[test]
fn a_large_note_for_many_readers_goes_out_a_slice_per_tick() {
    let Room {
        mut net,
        server,
        writer,
        readers,
        doc,
    } = room();
    let before = bytes_sent(&net, server);
    // The readers' answers would step the server's document too, and
    // with it the next slice; held, only the hub's ticks do.
    for &reader in &readers {
        net.peer_mut(reader).hold_outbox = true;
    }
    // The writer's note leaves; its answers to ours wait, for the same reason.
    net.peer_mut(writer).outbox_budget = Some(1);
    // And the note's write stays running: its completion is a step too.
    net.peer_mut(server).hold_puts = true;

    // 40 KB for each of 20 readers: 800 KB owed at once.
    let long = noise(40 * 1024);
    net.change(writer, &doc, |d| put(d, "long", &long));
    let first_step = bytes_sent(&net, server) - before;
    let reached = readers_with(&net, &readers, &doc, "long");
    assert!(
        reached > 0 && reached < READERS,
        "one step should reach some readers, not all: {reached} of {READERS}"
    );
    assert!(
        first_step < STEP_BYTES + 64 * 1024,
        "{first_step} bytes went out before the next tick"
    );

    // Each tick sends the next slice, until everyone has it.
    let mut ticks = 0;
    while readers_with(&net, &readers, &doc, "long") < READERS {
        ticks += 1;
        assert!(ticks <= 10, "the slices stopped coming");
        let before = bytes_sent(&net, server);
        net.tick(server);
        assert!(bytes_sent(&net, server) - before < STEP_BYTES + 64 * 1024);
    }
    assert!(
        ticks >= 2,
        "800 KB should need several slices, took {ticks}"
    );
    for &reader in &readers {
        net.peer_mut(reader).hold_outbox = false;
    }
    net.peer_mut(writer).outbox_budget = None;
    net.peer_mut(server).hold_puts = false;
    net.release_puts(server);
    net.run();
    for &reader in &readers {
        assert_eq!(net.peer(reader).heads(&doc), net.peer(server).heads(&doc));
    }
}

#[test]
fn a_short_note_reaches_every_reader_in_one_step() {
    let Room {
        mut net,
        writer,
        readers,
        doc,
        ..
    } = room();
    net.change(writer, &doc, |d| put(d, "reply", "agreed, see paragraph 3"));
    assert_eq!(readers_with(&net, &readers, &doc, "reply"), READERS);
}
