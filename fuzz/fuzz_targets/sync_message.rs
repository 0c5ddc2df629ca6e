//! An incoming `/sync` message on arbitrary bytes, along the path the server
//! takes: our envelope check and per-connection limits (`glosa::sync::limits`),
//! then automerge's sync-message decoder (with our guard against inputs it
//! would panic on), then applying the sync message to a document as samod
//! does. Nothing may panic.
#![no_main]

use std::time::Instant;

use automerge::sync::{State, SyncDoc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        // libfuzzer-sys's panic hook aborts on every panic, even one that the
        // server catches on purpose (limits::decode_sync loads each change
        // under catch_unwind because automerge can panic on bad ones). An
        // uncaught panic still aborts: libfuzzer-sys runs each input under
        // catch_unwind and aborts if it unwound.
        std::panic::set_hook(Box::new(|info| eprintln!("{info}")));
    },
    |data: &[u8]| {
    let mut limits = glosa::sync::limits::Limits::new(Instant::now());
    let checked = limits.check(data, Instant::now());
    if let Ok(env) = glosa::sync::limits::validate(data) {
        assert!(checked.is_ok(), "validate accepted what check refused");
        if let Some(sync) = env.data {
            apply(sync);
        }
    }
    // The raw bytes as a sync message too: the fuzzer reaches the decoder
    // faster without having to build a CBOR envelope first.
    apply(data);
    }
);

/// What samod does with a sync message that got past the socket's checks.
fn apply(bytes: &[u8]) {
    if let Ok(msg) = glosa::sync::limits::decode_sync(bytes) {
        let mut doc = automerge::Automerge::new();
        let mut state = State::new();
        let _ = doc.receive_sync_message(&mut state, msg);
        let _ = doc.generate_sync_message(&mut state);
    }
}
