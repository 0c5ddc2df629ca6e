//! A quiet document without its operations (Glosa patch, vendor/README.md §17).
//!
//! A sync server keeps every document a connected phone has open, but most
//! of them are quiet: the phone has them, nobody writes. Their operations
//! (the op set's columns and indexes) are most of a loaded document's
//! memory, yet answering a quiet peer needs only the change graph: its
//! acknowledgement is checked against our heads and hashes, and a phone's
//! first sync gets the whole document as one compressed save.
//!
//! [`Automerge::sleep`] drops the op set and keeps that save; the change
//! graph and heads stay. Sync keeps working against the
//! sleeping document where it needs no operations: receiving a message
//! without changes, and generating a message that carries no changes or the
//! whole document. Where it would need them, [`Automerge::receive_sync_message`]
//! wakes the document itself (it has `&mut self`), and
//! [`Automerge::try_generate_sync_message`] returns [`Asleep`] so the
//! caller can [`Automerge::wake`] it and generate again; a failed attempt
//! leaves the sync state as it was.
//!
//! Everything else reads the op set: callers wake the document before any
//! other use. [`Automerge::save`] and [`Automerge::stats`] answer from the
//! sleeping state.

use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use crate::{op_set2::OpSet, types::TextEncoding, AutomergeError, ChangeHash, LoadOptions};

use super::{Actor, Automerge};

/// A document's op set, or nothing while it sleeps. Even an empty op set
/// allocates its columns' indexes (~5 KB), as much as a small document's
/// save: a sleeping document reads a shared empty one instead. Writing to
/// it gives it an empty op set of its own, as the document had none: only
/// a caller that did not wake the document can get there.
#[derive(Debug, Clone)]
pub(crate) enum Ops {
    // Boxed: an op set's columns are ~3 KB inline, which a sleeping
    // document would otherwise keep in its `Automerge`.
    Awake(Box<OpSet>),
    Asleep(TextEncoding),
}

impl From<OpSet> for Ops {
    fn from(ops: OpSet) -> Self {
        Ops::Awake(Box::new(ops))
    }
}

impl Deref for Ops {
    type Target = OpSet;

    fn deref(&self) -> &OpSet {
        static EMPTY: OnceLock<OpSet> = OnceLock::new();
        match self {
            Ops::Awake(ops) => ops,
            Ops::Asleep(encoding) => EMPTY.get_or_init(|| OpSet::new(*encoding)),
        }
    }
}

impl DerefMut for Ops {
    fn deref_mut(&mut self) -> &mut OpSet {
        if let Ops::Asleep(encoding) = self {
            *self = OpSet::new(*encoding).into();
        }
        match self {
            Ops::Awake(ops) => ops,
            Ops::Asleep(_) => unreachable!("replaced above"),
        }
    }
}

/// The state kept while a document sleeps.
#[derive(Debug, Clone)]
pub(crate) struct Sleeping {
    /// The whole document, saved at its current heads: what wakes it, and
    /// what a peer that lacks most of it is sent.
    pub(crate) saved: Vec<u8>,
    /// The op count, for `stats` while the op set is gone.
    pub(crate) num_ops: u64,
    /// The op set's text encoding, to load it back alike.
    encoding: TextEncoding,
}

/// The operation needs the document's operations: wake it and try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the document is asleep")]
pub struct Asleep;

impl Automerge {
    /// Drop the op set, keeping the change graph and a save of the whole
    /// document, until [`Automerge::wake`]. Returns whether the document
    /// sleeps now: one with queued changes (waiting for their dependencies)
    /// stays awake, as applying them needs the operations.
    pub fn sleep(&mut self) -> bool {
        if self.sleeping.is_some() {
            return true;
        }
        if !self.queue.is_empty() {
            return false;
        }
        let saved = self.save_for_sync();
        let num_ops = self.ops.len() as u64;
        let encoding = self.ops.text_encoding;
        // Our actor by id: its index is into the op set's actor table, and
        // a woken document's table may order actors differently.
        self.actor = Actor::Unused(self.get_actor().clone());
        self.ops = Ops::Asleep(encoding);
        self.sent_changes = Default::default();
        self.sleeping = Some(Box::new(Sleeping {
            saved,
            num_ops,
            encoding,
        }));
        true
    }

    /// Whether the document sleeps (see [`Automerge::sleep`]).
    pub fn is_asleep(&self) -> bool {
        self.sleeping.is_some()
    }

    /// Load the operations back from the kept save. The loaded document must
    /// have the heads the sleeping one has; if not (or the save does not
    /// load), the document stays asleep and the error is returned.
    pub fn wake(&mut self) -> Result<(), AutomergeError> {
        let Some(sleeping) = self.sleeping.take() else {
            return Ok(());
        };
        let options = LoadOptions::new().text_encoding(sleeping.encoding);
        let loaded = match Automerge::load_with_options(&sleeping.saved, options) {
            Ok(loaded) => loaded,
            Err(e) => {
                self.sleeping = Some(sleeping);
                return Err(e);
            }
        };
        let heads = self.get_heads();
        if loaded.get_heads() != heads {
            self.sleeping = Some(sleeping);
            return Err(AutomergeError::Fail);
        }
        let actor = self.get_actor().clone();
        // The loaded op set, change graph and authors index actors alike
        // (sorted), so they replace ours together.
        self.ops = loaded.ops;
        self.change_graph = loaded.change_graph;
        self.authors = loaded.authors;
        self.deps = loaded.deps;
        self.set_actor(actor);
        self.sent_changes.keep_saved(&heads, &sleeping.saved);
        tracing::debug!(num_ops = sleeping.num_ops, "document woken");
        Ok(())
    }

    pub(crate) fn sleeping_save(&self) -> Option<&[u8]> {
        self.sleeping.as_ref().map(|s| s.saved.as_slice())
    }

    pub(crate) fn sleeping_num_ops(&self) -> Option<u64> {
        self.sleeping.as_ref().map(|s| s.num_ops)
    }

    /// The changes named by `hashes` need the operations unless every one
    /// is in the sync cache.
    pub(crate) fn check_awake_for(&self, hashes: &[ChangeHash]) -> Result<(), Asleep> {
        if self.sleeping.is_some() && !self.sent_changes.has_all(hashes) {
            return Err(Asleep);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{State, SyncDoc};
    use crate::transaction::Transactable;
    use crate::{AutoCommit, ObjType, ReadDoc, ROOT};

    /// A server's document with an article and a few notes, in several
    /// changes.
    fn article() -> Automerge {
        let mut doc = AutoCommit::new();
        let body = doc.put_object(ROOT, "body", ObjType::Text).unwrap();
        doc.splice_text(&body, 0, 0, "Solidarity is a verb. 👋 ")
            .unwrap();
        doc.commit();
        let notes = doc.put_object(ROOT, "notes", ObjType::Map).unwrap();
        for i in 0..5 {
            doc.put(&notes, format!("n{i}"), format!("note {i}"))
                .unwrap();
            doc.commit();
        }
        doc.document().clone()
    }

    /// Sync the server and a peer until both are quiet. The server may wake
    /// only if `may_wake`; returns how often it had to.
    fn exchange(
        server: &mut Automerge,
        peer: &mut AutoCommit,
        at_server: &mut State,
        at_peer: &mut State,
        may_wake: bool,
    ) -> usize {
        let mut wakes = 0;
        for _ in 0..10 {
            let before = at_server.clone();
            let to_peer = match server.try_generate_sync_message(at_server) {
                Ok(msg) => msg,
                Err(Asleep) => {
                    assert!(may_wake, "the server needed its operations");
                    assert_eq!(*at_server, before, "a failed attempt changed the state");
                    server.wake().unwrap();
                    wakes += 1;
                    server.generate_sync_message(at_server)
                }
            };
            let to_server = peer.sync().generate_sync_message(at_peer);
            if to_peer.is_none() && to_server.is_none() {
                return wakes;
            }
            if let Some(msg) = to_peer {
                peer.sync().receive_sync_message(at_peer, msg).unwrap();
            }
            if let Some(msg) = to_server {
                server.receive_sync_message(at_server, msg).unwrap();
            }
        }
        panic!("no convergence in 10 rounds");
    }

    #[test]
    fn a_sleeping_document_drops_its_operations_and_keeps_its_heads() {
        let mut doc = article();
        let (heads, stats) = (doc.get_heads(), doc.stats());
        assert!(doc.sleep());
        assert!(doc.is_asleep());
        assert_eq!(doc.ops.len(), 0, "the op set is gone");
        assert_eq!(doc.get_heads(), heads);
        assert_eq!(doc.stats().num_ops, stats.num_ops);
        assert_eq!(Automerge::load(&doc.save()).unwrap().get_heads(), heads);
        doc.wake().unwrap();
        assert!(!doc.is_asleep());
        assert_eq!(doc.get_heads(), heads);
        assert_eq!(doc.save(), article_like(&doc));
    }

    /// What saving an awake copy gives (the kept save must be the same).
    fn article_like(doc: &Automerge) -> Vec<u8> {
        doc.save_with_options(crate::SaveOptions::default())
    }

    #[test]
    fn a_first_sync_and_its_acknowledgement_need_no_operations() {
        let mut server = article();
        let awake = server.clone();
        assert!(server.sleep());
        let mut phone = AutoCommit::new();
        let (mut at_server, mut at_phone) = (State::new(), State::new());
        let wakes = exchange(
            &mut server,
            &mut phone,
            &mut at_server,
            &mut at_phone,
            false,
        );
        assert_eq!(wakes, 0);
        assert!(server.is_asleep());
        assert_eq!(phone.get_heads(), awake.get_heads());
        let body = phone.get(ROOT, "body").unwrap().unwrap().1;
        assert_eq!(phone.text(&body).unwrap(), "Solidarity is a verb. 👋 ");

        // The same phone again, nothing changed: still asleep.
        let wakes = exchange(
            &mut server,
            &mut phone,
            &mut at_server,
            &mut at_phone,
            false,
        );
        assert_eq!(wakes, 0);
        assert!(server.is_asleep());
    }

    #[test]
    fn a_change_from_a_phone_wakes_the_document_and_is_kept() {
        let mut server = article();
        let mut phone = AutoCommit::new();
        let (mut at_server, mut at_phone) = (State::new(), State::new());
        exchange(
            &mut server,
            &mut phone,
            &mut at_server,
            &mut at_phone,
            false,
        );
        assert!(server.sleep());

        phone.put(ROOT, "from", "the bus").unwrap();
        phone.commit();
        exchange(
            &mut server,
            &mut phone,
            &mut at_server,
            &mut at_phone,
            false,
        );
        assert!(!server.is_asleep(), "applying the change woke it");
        assert_eq!(server.get_heads(), phone.get_heads());
        let from = server.get(ROOT, "from").unwrap().unwrap().0;
        assert_eq!(from.into_string().unwrap(), "the bus");
        let body = server.get(ROOT, "body").unwrap().unwrap().1;
        assert_eq!(server.text(&body).unwrap(), "Solidarity is a verb. 👋 ");
    }

    #[test]
    fn a_peer_missing_a_few_changes_gets_them_after_a_wake() {
        let mut server = article();
        let (mut reader, mut writer) = (AutoCommit::new(), AutoCommit::new());
        let (mut r_server, mut r_peer) = (State::new(), State::new());
        let (mut w_server, mut w_peer) = (State::new(), State::new());
        exchange(&mut server, &mut reader, &mut r_server, &mut r_peer, false);
        exchange(&mut server, &mut writer, &mut w_server, &mut w_peer, false);

        // A small change the reader lacks; sleeping forgets its encoding, so
        // sending it needs the operations.
        writer.put(ROOT, "late", "note").unwrap();
        writer.commit();
        exchange(&mut server, &mut writer, &mut w_server, &mut w_peer, false);
        assert!(server.sleep());
        let wakes = exchange(&mut server, &mut reader, &mut r_server, &mut r_peer, true);
        assert_eq!(wakes, 1);
        assert_eq!(reader.get_heads(), server.get_heads());
        assert!(reader.get(ROOT, "late").unwrap().is_some());
    }

    #[test]
    fn local_changes_after_a_wake_continue_the_same_actor() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "a", 1).unwrap();
        doc.commit();
        let mut doc = doc.document().clone();
        let actor = doc.get_actor().clone();
        assert!(doc.sleep());
        doc.wake().unwrap();
        assert_eq!(doc.get_actor(), &actor);
        let mut tx = doc.transaction();
        tx.put(ROOT, "b", 2).unwrap();
        tx.commit();
        let last = doc.get_last_local_change().unwrap();
        assert_eq!(last.actor_id(), &actor);
        assert_eq!(last.seq(), 2);
    }

    #[test]
    fn a_document_with_queued_changes_stays_awake() {
        let mut source = AutoCommit::new();
        source.put(ROOT, "a", 1).unwrap();
        source.commit();
        source.put(ROOT, "b", 2).unwrap();
        source.commit();
        let second = source.get_last_local_change().unwrap();
        let mut doc = Automerge::new();
        // Its dependency is missing: the change waits in the queue.
        doc.apply_changes([second]).unwrap();
        assert!(!doc.sleep());
        assert!(!doc.is_asleep());
    }
}
