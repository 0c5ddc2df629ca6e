//! Who may read or write which document.
//!
//! - The library and the articles are read-only for every client: samod
//!   keeps sending them our changes and drops theirs.
//! - Notes documents are writable — until the store cannot write, then
//!   read-only until it can again, so no change is accepted that cannot be
//!   stored. The client keeps its change and sends it again later.
//! - Any other document id is denied: clients cannot park data here.
//!
//! The server never announces a document a client did not ask for.

use std::sync::{Arc, RwLock};

use futures::{Stream, StreamExt};
use samod::{DocumentId, PeerId, ShareConfig};

use tokio::sync::watch;

use super::quota::Full;
use crate::import::Catalog;
use crate::store::Store;

#[derive(Clone)]
pub struct Policy {
    catalog: Arc<RwLock<Arc<Catalog>>>,
    store: Store,
    full: watch::Receiver<Full>,
    /// Benchmarks only: documents not in the catalog are writable.
    open: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Denied,
    ReadOnly,
    ReadWrite,
}

impl Policy {
    pub fn new(
        catalog: Arc<RwLock<Arc<Catalog>>>,
        store: Store,
        full: watch::Receiver<Full>,
    ) -> Self {
        Policy {
            catalog,
            store,
            full,
            open: false,
        }
    }

    /// Lets clients create and write documents the server does not know,
    /// as the reference sync server does; for benchmarks only.
    pub fn with_open_documents(mut self, open: bool) -> Self {
        self.open = open;
        self
    }

    /// Notes documents at their size limit, made read-only (`quota`).
    pub fn full_notes(&self) -> usize {
        self.full.borrow().len()
    }

    /// Whether clients may see `doc` at all: the catalog's documents (and,
    /// in benchmark mode, any). Other ids never reach samod (`unknown`).
    /// Asked for every incoming message, so only the catalog is read: not
    /// the size-limit set, whose keys would cost an id encoding each time.
    pub fn serves(&self, doc: &DocumentId) -> bool {
        self.open
            || self
                .catalog
                .read()
                .is_ok_and(|c| c.read_only.contains(doc) || c.writable.contains(doc))
    }

    /// The access a client has to `doc` now.
    fn access(&self, doc: &DocumentId, store_writable: bool) -> Access {
        let catalog = match self.catalog.read() {
            Ok(c) => Arc::clone(&c),
            // A poisoned lock means a panic elsewhere; deny rather than guess.
            Err(_) => return Access::Denied,
        };
        let may_grow = store_writable && !self.full.borrow().contains(&doc.to_string());
        match access(&catalog, doc, may_grow) {
            Access::Denied if self.open && may_grow => Access::ReadWrite,
            other => other,
        }
    }
}

/// The rule itself, apart from where the catalog and the store's state come
/// from. `may_grow` is false while the store cannot write or the document
/// is at its size limit.
pub fn access(catalog: &Catalog, doc: &DocumentId, may_grow: bool) -> Access {
    if catalog.writable.contains(doc) {
        if may_grow {
            Access::ReadWrite
        } else {
            Access::ReadOnly
        }
    } else if catalog.read_only.contains(doc) {
        Access::ReadOnly
    } else {
        Access::Denied
    }
}

fn config(access: Access) -> ShareConfig {
    let config = match access {
        Access::Denied => ShareConfig::none(),
        Access::ReadOnly => ShareConfig::read_only(),
        Access::ReadWrite => ShareConfig::read_write(),
    };
    config.with_announce(false)
}

impl samod::SharePolicy for Policy {
    fn share(
        &self,
        doc: DocumentId,
        _peer: PeerId,
    ) -> impl Stream<Item = ShareConfig> + Send + 'static {
        // One decision now, and a new one whenever the store's writability
        // or the set of full documents changes; samod ignores repeats.
        let policy = self.clone();
        let full_changes = futures::stream::unfold(self.full.clone(), |mut rx| async move {
            rx.changed().await.ok()?;
            Some(((), rx))
        });
        let writable = self.store.writable_updates().map(Some);
        let events = futures::stream::select(writable, full_changes.map(|()| None));
        events
            .scan(true, |last, ev| {
                if let Some(w) = ev {
                    *last = w;
                }
                futures::future::ready(Some(*last))
            })
            .map(move |writable| config(policy.access(&doc, writable)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> DocumentId {
        DocumentId::try_from(vec![n; 16]).expect("16 bytes make an id")
    }

    #[test]
    fn articles_are_read_only_notes_writable_others_denied() {
        let mut c = Catalog::default();
        c.read_only.insert(id(1));
        c.writable.insert(id(2));
        assert_eq!(access(&c, &id(1), true), Access::ReadOnly);
        assert_eq!(access(&c, &id(2), true), Access::ReadWrite);
        assert_eq!(access(&c, &id(3), true), Access::Denied);
    }

    #[test]
    fn notes_turn_read_only_while_the_store_cannot_write() {
        let mut c = Catalog::default();
        c.writable.insert(id(2));
        assert_eq!(access(&c, &id(2), false), Access::ReadOnly);
        assert!(!config(Access::ReadOnly).announce);
    }
}
