use std::collections::HashSet;

use crate::{
    ConnectionId, DocumentActorId, DocumentId, UnixTimestamp, actors::messages::DocMessage,
    doc_search::DocSearchPhase,
};

use super::super::CommandId;

#[derive(Debug, Clone)]
pub(crate) struct ActorInfo {
    pub(crate) actor_id: DocumentActorId,
    pub(crate) document_id: DocumentId,
    pub(crate) search_phase: DocSearchPhase,
    /// The connections this actor has been told about (via its initial
    /// connections or `NewConnection`). Kept here so that closing a connection
    /// or unloading a document touches only the actors and connections
    /// concerned, rather than every loaded document.
    pub(crate) connections: HashSet<ConnectionId>,
    /// Last time a peer or the local application used this document, for
    /// idle unloading.
    pub(crate) last_active: UnixTimestamp,
    /// Set once the hub has asked the actor to terminate because it was idle.
    /// Work for the document that arrives meanwhile is deferred and replayed
    /// on a fresh actor once this one has flushed and terminated.
    pub(crate) unloading: Option<Deferred>,
    /// `last_active` when the hub last asked the actor to sleep (§17): it is
    /// asked again only after it has been used since.
    pub(crate) slept_at: Option<UnixTimestamp>,
}

/// Work for a document whose actor is being unloaded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Deferred {
    pub(crate) messages: Vec<(ConnectionId, DocMessage)>,
    pub(crate) searches: Vec<CommandId>,
}

impl Deferred {
    pub(crate) fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.searches.is_empty()
    }
}

impl ActorInfo {
    pub fn new_with_id(
        actor_id: DocumentActorId,
        document_id: DocumentId,
        now: UnixTimestamp,
    ) -> Self {
        Self {
            actor_id,
            document_id,
            search_phase: DocSearchPhase::Loading,
            connections: HashSet::new(),
            last_active: now,
            unloading: None,
            slept_at: None,
        }
    }
}
