#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use automerge::{Automerge, ChangeHash};

use super::SpawnArgs;
// use super::driver::Driver;
use super::io::{DocumentIoResult, DocumentIoTask};
use crate::actors::document::load::{Load, LoadComplete};
use crate::actors::document::on_disk_state::OnDiskState;
use crate::actors::document::peer_doc_connection::{
    Generations, PeerDocConnection, SharePolicyState,
};
use crate::actors::document::phase::loading::Loading;
use crate::actors::document::phase::ready::Ready;
use crate::actors::document::phase::request::{Request, RequestOutcome};
use crate::actors::document::{ActorInput, DocActorResult, WithDocResult};
use crate::actors::messages::{Broadcast, DocMessage, DocToHubMsgPayload, SyncMessage};
use crate::actors::{DocToHubMsg, HubToDocMsg, RunState};
use crate::doc_search::DocSearchPhase;
use crate::io::{IoResult, IoTaskId};
use crate::network::PeerDocState;
use crate::{
    ConnectionId, DocumentActorId, DocumentChanged, DocumentId, PeerId, ShareConfig, StorageKey,
    SyncDirection, SyncMessageStat, UnixTimestamp,
};

use super::errors::DocumentError;

/// A document actor manages a single Automerge document.
///
/// Document actors are passive state machines that:
/// - Handle initialization and termination
/// - Can request I/O operations
/// - Process I/O completions
///
/// All I/O operations are requested through the sans-IO pattern,
/// returning tasks for the caller to execute.
pub struct DocumentActor {
    /// The document this actor manages
    document_id: DocumentId,
    /// The ID of this actor according to the main `Samod` instance
    id: DocumentActorId,
    local_peer_id: PeerId,
    /// Current load state
    load_state: Load,
    /// Sync states for each connected peer. Boxed: a map sized for a few
    /// entries of 512 bytes was 2 KB per document with one peer (§14).
    peer_connections: HashMap<ConnectionId, Box<PeerDocConnection>>,
    /// Bumped whenever a connection is added or removed, so callers can
    /// tell the set changed without cloning it (vendor/README.md §6).
    connections_version: u64,
    on_disk_state: OnDiskState,
    /// Ongoing policy check tasks
    check_policy_tasks: HashMap<IoTaskId, ConnectionId>,
    phase: Phase,
    run_state: RunState,
    doc: Automerge,
    last_status_update: Option<DocSearchPhase>,
    /// Which peers the next generation of sync messages asks (§13).
    asking: Asking,
    /// Peers asked for sync messages so far, for monitoring and tests.
    peers_asked: u64,
    /// Peers whose sync messages were copied from another peer's in the
    /// same state instead of generated (§24), for monitoring and tests.
    generations_copied: u64,
    /// Connections added since the last share policy checks were enqueued;
    /// only a new connection's policy is unknown (§16).
    unchecked: Vec<ConnectionId>,
    /// Connections with sync messages buffered while their share policy is
    /// pending, so counting them needn't walk every peer (§16).
    buffering: HashSet<ConnectionId>,
    /// The time this actor last asked the hub to step it at (§18): a
    /// peer's wait for an answer (§10) or hold on the others ends then,
    /// and nothing else may arrive to step it.
    step_at: Option<UnixTimestamp>,
    /// Peers in their connection's first catch-up (§18), so a step need not
    /// walk every peer to find whether one holds the others.
    catching_up: HashSet<ConnectionId>,
    /// The last step stopped at [`STEP_BYTES`] with peers still to ask
    /// (in `asking.peers`): the hub steps us again at its next tick (§22).
    deferred: bool,
    /// Whether each step sends the hub the states of the peers it changed
    /// (§23). Only connection info (`Repo::connected_peers`) and a handle's
    /// `peers()` read them. After a storm of phones back online a document
    /// has a head per phone (50 heads, 1.6 KB), and each state holds four
    /// sets of heads, cloned on every step for the hub and kept there: a
    /// tenth of a small server's peak memory, for nobody.
    report_peer_states: bool,
}

/// At most about this many bytes of sync messages per step (§22): the
/// peers left are asked on the next step, a hub tick (100 ms) later. After
/// a storm of phones back online each document owes every phone the whole
/// document (25 KB with 1,000 notes); generated at once, 50 phones times 10
/// documents were 12 MB waiting for the hub and the sockets on a server
/// that idles at 10. A step always asks its first peer, so each makes
/// progress; one phone opening the library, or a note relayed to 200
/// readers (under 100 KB), never waits.
const STEP_BYTES: usize = 256 * 1024;

/// Which peers have something new to say (vendor/README.md §13). A peer
/// whose sync state and document are unchanged since it was last asked has
/// nothing new: it was quiet then, or what it sent is still unanswered. So
/// after one peer's message only that peer is asked, not every peer of the
/// document: with 200 readers of a discussion, each reader's answer to a
/// note used to ask all 200. Everyone is asked when the document's heads
/// changed, when anything but a peer's message arrived (a completed write,
/// a policy decision, a connection, a local change), outside the ready
/// phase; and a peer whose changes wait for its reply (§10) is asked on
/// every step, as its timeout needs.
#[derive(Debug)]
struct Asking {
    everyone: bool,
    peers: HashSet<ConnectionId>,
    heads: Vec<ChangeHash>,
    /// Peers whose changes wait for their reply (§10) as of when they
    /// were last asked: asked on every step. Only asking a peer changes
    /// whether it waits, or a message from it (which marks it anyway).
    awaiting: HashSet<ConnectionId>,
}

/// Asks peers, one at a time, for the sync messages they are due, with the
/// actor's fields it needs borrowed apart from its map of peers.
struct Asker<'a> {
    now: UnixTimestamp,
    heads: &'a [ChangeHash],
    phase: &'a mut Phase,
    doc: &'a mut Automerge,
    document_id: &'a DocumentId,
    awaiting: &'a mut HashSet<ConnectionId>,
    /// A peer is catching up (§18): the others' messages wait.
    hold: bool,
    /// Changes not yet on disk (§19): a peer that has one waits.
    unwritten: &'a HashSet<ChangeHash>,
    /// `OnDiskState::flushes` now (§19).
    flushes: u64,
    asked: &'a mut u64,
    /// Bytes of sync messages generated in this step (§22).
    generated: usize,
    /// Peers left for the next step once `generated` reaches [`STEP_BYTES`].
    deferred: &'a mut HashSet<ConnectionId>,
    /// What this step generated, by sync state (§24).
    generations: Generations,
    out: &'a mut DocActorResult,
}

impl Asker<'_> {
    fn peer(&mut self, conn_id: ConnectionId, peer_conn: &mut PeerDocConnection) {
        if self.generated >= STEP_BYTES {
            self.deferred.insert(conn_id);
            return;
        }
        *self.asked += 1;
        if peer_conn.waits_for_write(self.flushes, self.unwritten) {
            // Our heads would tell it that its change is safe (§3). Asked
            // again when the write completes, an input that asks everyone.
            return;
        }
        if self.hold && peer_conn.holdable() {
            // Asked again when the hold ends: the catching-up peer's
            // changes move the heads, and its timeout or departure is an
            // input other than a peer's message; both ask everyone.
            return;
        }
        let generated = match &mut *self.phase {
            Phase::Ready(ready) => ready.generate_sync_messages(
                self.now,
                self.doc,
                self.heads,
                peer_conn,
                &mut self.generations,
            ),
            Phase::Requesting(request) => request.generate_messages(self.now, self.doc, peer_conn),
            Phase::Loading(_) => Vec::new(),
        };
        if peer_conn.awaits_reply() {
            self.awaiting.insert(conn_id);
        } else {
            self.awaiting.remove(&conn_id);
        }
        for (msg, duration) in generated {
            let bytes = match &msg {
                SyncMessage::Request { data } | SyncMessage::Sync { data } => data.len(),
                SyncMessage::DocUnavailable => 0,
            };
            self.generated += bytes;
            if bytes > 0 {
                self.out.sync_message_stats.push(SyncMessageStat {
                    connection_id: conn_id,
                    direction: SyncDirection::Generated,
                    bytes,
                    duration,
                    queue_duration: Duration::ZERO,
                });
            }
            tracing::debug!(?conn_id, peer_id=?peer_conn.peer_id, ?msg, "sending sync msg");
            self.out
                .send_sync_message(conn_id, self.document_id.clone(), msg);
        }
    }
}

/// The peers one step looks at (vendor/README.md §16): everyone, or the
/// peers with news plus those awaiting a reply. Every input that changes a
/// peer's state marks that peer or everyone (`handle_input`), and a step
/// changes only the peers it asks, so the peers outside the scope have
/// nothing to send and no new state to report. With 200 readers of a
/// discussion, each reader's answer to a note is one peer's work, not 200.
enum Scope {
    Everyone,
    Peers(Vec<ConnectionId>),
}

impl Scope {
    /// Calls `f` for each connected peer in the scope.
    fn visit(
        &self,
        peers: &mut HashMap<ConnectionId, Box<PeerDocConnection>>,
        mut f: impl FnMut(ConnectionId, &mut PeerDocConnection),
    ) {
        match self {
            Scope::Everyone => {
                for (conn_id, peer) in peers.iter_mut() {
                    f(*conn_id, peer);
                }
            }
            Scope::Peers(conn_ids) => {
                for conn_id in conn_ids {
                    if let Some(peer) = peers.get_mut(conn_id) {
                        f(*conn_id, peer);
                    }
                }
            }
        }
    }

    /// How many peers the scope names, at most (some may have left).
    fn len(&self, peers: &HashMap<ConnectionId, Box<PeerDocConnection>>) -> usize {
        match self {
            Scope::Everyone => peers.len(),
            Scope::Peers(conn_ids) => conn_ids.len(),
        }
    }
}

#[derive(Debug)]
pub(crate) enum Phase {
    Loading(Loading),
    Requesting(Request),
    Ready(Ready),
}

impl DocumentActor {
    /// Creates a new document actor for the specified document.
    #[tracing::instrument(level = "debug", skip(initial_content, initial_connections))]
    pub fn new(
        now: UnixTimestamp,
        SpawnArgs {
            local_peer_id,
            actor_id,
            document_id,
            initial_content,
            initial_connections,
            report_peer_states,
        }: SpawnArgs,
    ) -> (Self, DocActorResult) {
        let mut out = DocActorResult::default();

        let (phase, doc) = if let Some(doc) = initial_content {
            (Phase::Ready(Ready::new()), doc)
        } else {
            (Phase::Loading(Loading::new()), Automerge::new())
        };

        // Enqueue initial load
        let mut load_state = Load::new(document_id.clone());
        load_state.begin();

        let mut actor = Self {
            document_id,
            doc,
            local_peer_id: local_peer_id.clone(),
            id: actor_id,
            load_state,
            check_policy_tasks: HashMap::new(),
            on_disk_state: OnDiskState::new(),
            peer_connections: HashMap::new(),
            connections_version: 0,
            run_state: RunState::Running,
            phase,
            last_status_update: None,
            asking: Asking {
                everyone: true,
                peers: HashSet::new(),
                heads: Vec::new(),
                awaiting: HashSet::new(),
            },
            peers_asked: 0,
            generations_copied: 0,
            unchecked: Vec::new(),
            buffering: HashSet::new(),
            step_at: None,
            catching_up: HashSet::new(),
            deferred: false,
            report_peer_states,
        };

        tracing::trace!(?initial_connections, "applying initial connections");
        for (conn_id, (peer_id, msg)) in initial_connections {
            actor.add_connection(conn_id, peer_id);
            if let Some(msg) = msg {
                actor.handle_input(
                    now,
                    ActorInput::HandleDocMessage {
                        connection_id: conn_id,
                        message: msg,
                        received_at: now,
                    },
                    &mut out,
                );
            }
        }

        actor.step(now, &mut out);
        (actor, out)
    }

    /// Processes a message from the hub actor and returns the result.
    pub fn handle_message(
        &mut self,
        now: UnixTimestamp,
        message: HubToDocMsg,
    ) -> Result<DocActorResult, DocumentError> {
        if self.run_state == RunState::Stopped {
            tracing::warn!(actor_id=%self.id, "ignoring message on stopped document actor");
            return Ok(DocActorResult {
                stopped: true,
                ..Default::default()
            });
        }
        let mut out = DocActorResult::default();
        self.handle_input(now, ActorInput::from(message.0), &mut out);
        Ok(out)
    }

    /// Processes the completion of an I/O operation.
    ///
    /// This forwards IO completions to the appropriate async operation
    /// waiting for the result.
    #[tracing::instrument(
        level = "debug",
        skip(self, io_result),
        fields(
            local_peer_id=%self.local_peer_id(),
            document_id=%self.document_id,
            actor_id=%self.id
        )
    )]
    pub fn handle_io_complete(
        &mut self,
        now: UnixTimestamp,
        io_result: IoResult<DocumentIoResult>,
    ) -> Result<DocActorResult, DocumentError> {
        if self.run_state == RunState::Stopped {
            tracing::warn!(actor_id=%self.id, "ignoring IO completion on stopped document actor");
            let mut result = DocActorResult::new();
            result.stopped = true;
            return Ok(result);
        }
        let mut result = DocActorResult::new();
        let input = ActorInput::IoComplete(io_result);
        self.handle_input(now, input, &mut result);
        Ok(result)
    }

    /// Returns the document ID this actor manages.
    pub fn document_id(&self) -> &DocumentId {
        &self.document_id
    }

    fn local_peer_id(&self) -> PeerId {
        self.local_peer_id.clone()
    }

    /// The document as it is: while it sleeps (§17) only its heads, change
    /// graph and [`Automerge::stats`] are there. [`Self::document_awake`]
    /// for anything else.
    pub fn document(&self) -> &Automerge {
        &self.doc
    }

    /// The document, woken first if it sleeps (vendor/README.md §17).
    pub fn document_awake(&mut self) -> &Automerge {
        self.wake();
        &self.doc
    }

    /// Load a sleeping document's operations back. The kept save is our own
    /// document at our heads, so this fails only on a bug; the document then
    /// stays asleep, answering what needs no operations, and says so.
    fn wake(&mut self) {
        if let Err(e) = self.doc.wake() {
            tracing::error!(document_id=%self.document_id, err=?e, "could not wake a sleeping document");
        }
    }

    /// Drop the document's operations while no peer needs them (§17): only
    /// when it is ready, everything is written, and no message waits for a
    /// share policy. Peers keep their sync states; whatever needs the
    /// operations again wakes it.
    fn sleep(&mut self) {
        if self.run_state == RunState::Running
            && matches!(self.phase, Phase::Ready(_))
            && self.on_disk_state.is_flushed()
            && self.on_disk_state.saved_heads() == Some(self.doc.get_heads().as_slice())
            && self.buffering.is_empty()
            && self.doc.sleep()
        {
            tracing::debug!(document_id=%self.document_id, "document sleeps");
        }
    }

    fn document_mut(&mut self) -> &mut Automerge {
        &mut self.doc
    }

    /// Provides mutable access to the document with automatic side effect handling.
    ///
    /// The closure receives a mutable reference to the Automerge document. Any modifications
    /// will be detected and appropriate side effects will be generated and returned in the
    /// `WithDocResult`.
    ///
    /// Returns an error if the document is not yet loaded or if there's an internal error.
    ///
    /// # Example
    ///
    /// ```rust,no_run
    /// use automerge::{AutomergeError, ObjId, transaction::Transactable, ObjType};
    /// use samod_core::UnixTimestamp;
    /// # let mut actor: samod_core::actors::document::DocumentActor = todo!(); // DocumentActor instance
    /// let now = UnixTimestamp::now();
    /// let result = actor.with_document::<_, ObjId>(now, |doc| {
    ///     doc.transact::<_, _, AutomergeError>(|tx| {
    ///         tx.put_object(automerge::ROOT, "key", ObjType::Text)
    ///     }).unwrap().result
    /// }).unwrap();
    ///
    /// // Get the closure result
    /// let object_id = result.value;
    ///
    /// // Execute any side effects
    /// for io_task in result.actor_result.io_tasks {
    ///     // storage.execute_document_io(io_task);
    /// }
    /// ```
    #[tracing::instrument(level = "debug", skip(self, f), fields(local_peer_id=tracing::field::Empty))]
    pub fn with_document<F, R>(
        &mut self,
        now: UnixTimestamp,
        f: F,
    ) -> Result<WithDocResult<R>, DocumentError>
    where
        F: FnOnce(&mut Automerge) -> R,
    {
        let mut guard = self.begin_modification()?;

        let closure_result = f(guard.doc());

        let actor_result = guard.commit(now);

        Ok(WithDocResult::with_side_effects(
            closure_result,
            actor_result,
        ))
    }

    /// Begin a modification of the document, returning a guard for safe access.
    ///
    /// In some scenarios it's not possible to express the modifications that
    /// you need to make to a document using the `with_document` method. In
    /// these cases you can use this method to obtain a guard that allows you to
    /// modify the document directly. Once you have finished you _must_ call
    /// `commit` on the guard to apply the changes and generate any necessary
    /// side effects. Failure to do so will result in a panic when the guard is
    /// dropped.
    ///
    /// # Example
    ///
    /// ```rust,no_run
    /// use automerge::{ROOT, AutomergeError, transaction::Transactable};
    /// # use std::error::Error;
    /// # use samod_core::UnixTimestamp;
    /// # fn example() -> Result<(), Box<dyn Error>> {
    /// # let mut actor: samod_core::actors::document::DocumentActor = todo!(); // DocumentActor instance
    ///
    /// let mut guard = actor.begin_modification()?;
    ///
    /// // Make multiple modifications to the document
    /// guard.doc().transact::<_, _, AutomergeError>(|tx| {
    ///     let list_id = tx.put_object(ROOT, "items", automerge::ObjType::List)?;
    ///     tx.insert(&list_id, 0, "first item")?;
    ///     tx.insert(&list_id, 1, "second item")?;
    ///     Ok(())
    /// }).unwrap();
    ///
    /// // Commit the changes and get the side effects
    /// let now = UnixTimestamp::now();
    /// let result = guard.commit(now);
    ///
    /// // Handle any I/O tasks that were generated
    /// for io_task in result.io_tasks {
    ///     // Execute the I/O task with your storage system
    ///     // storage.execute_document_io(io_task);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn begin_modification(&mut self) -> Result<WithDocGuard<'_>, DocumentError> {
        // Try to access the internal document
        tracing::Span::current().record("local_peer_id", self.local_peer_id.to_string());
        if !self.is_document_ready() {
            return Err(DocumentError::InvalidState(
                "document is not ready".to_string(),
            ));
        }
        // The application reads and writes the operations.
        self.wake();
        Ok(WithDocGuard::new(self))
    }

    pub fn broadcast(&mut self, _now: UnixTimestamp, msg: Vec<u8>) -> DocActorResult {
        let mut result = DocActorResult::new();
        let broadcast_targets = self
            .peer_connections
            .iter()
            .filter_map(|(id, conn)| conn.can_send().then_some(*id))
            .collect();
        result
            .outgoing_messages
            .push(DocToHubMsg(DocToHubMsgPayload::Broadcast {
                connections: broadcast_targets,
                msg: Broadcast::New { msg },
            }));
        result
    }

    /// Returns true if the document is loaded and ready for operations.
    pub fn is_document_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready(_))
    }

    #[tracing::instrument(level = "debug", skip(self, input, out), fields(local_peer_id=%self.local_peer_id))]
    fn handle_input(&mut self, now: UnixTimestamp, input: ActorInput, out: &mut DocActorResult) {
        match &input {
            ActorInput::HandleDocMessage { connection_id, .. } => {
                self.asking.peers.insert(*connection_id);
            }
            // Nothing about the document or a peer changes: asking anyone
            // would only risk waking it.
            ActorInput::Sleep => return self.sleep(),
            ActorInput::ReportPeerStates => {
                self.report_peer_states = true;
                return out.emit_peer_state_changes(self.peers());
            }
            _ => self.asking.everyone = true,
        }
        match input {
            ActorInput::UpdateSharePolicy { peer_id, config } => {
                let connections: HashSet<_> = self
                    .peer_connections
                    .iter()
                    .filter_map(|(id, conn)| (conn.peer_id == peer_id).then_some(*id))
                    .collect();
                // A delayed initial check must not overwrite a pushed update.
                self.check_policy_tasks
                    .retain(|_, conn| !connections.contains(conn));
                for conn in connections {
                    self.apply_share_policy(now, out, conn, config);
                }
            }
            ActorInput::Sleep | ActorInput::ReportPeerStates => {} // handled (and returned) above
            ActorInput::Terminate => {
                if self.run_state == RunState::Running {
                    self.run_state = RunState::Stopping;
                }
            }
            ActorInput::HandleDocMessage {
                connection_id,
                message,
                received_at,
            } => {
                match message {
                    DocMessage::Ephemeral(msg) => {
                        // Ephemera are best-effort: drop them while policy is
                        // pending or denied. Read-only peers may send presence.
                        if !self
                            .peer_connections
                            .get(&connection_id)
                            .is_some_and(|conn| conn.can_read())
                        {
                            return;
                        }
                        out.emit_ephemeral_message(msg.data.clone());
                        // Forward the message to all other connections
                        let targets = self
                            .peer_connections
                            .iter()
                            .filter_map(|(c, conn)| {
                                if conn.peer_id != msg.sender_id && conn.can_send() {
                                    Some(*c)
                                } else {
                                    None
                                }
                            })
                            .collect();
                        out.send_broadcast(targets, Broadcast::Gossip { msg });
                    }
                    DocMessage::Sync(msg) => {
                        self.handle_sync_message(now, out, connection_id, msg, received_at)
                    }
                };
            }
            ActorInput::NewConnection {
                connection_id,
                peer_id,
            } => {
                self.add_connection(connection_id, peer_id);
            }
            ActorInput::ConnectionClosed { connection_id } => {
                self.remove_connection(connection_id);
            }
            ActorInput::IoComplete(io_result) => {
                match io_result.payload {
                    DocumentIoResult::Storage(storage_result) => {
                        if self.load_state.has_task(io_result.task_id) {
                            self.load_state
                                .handle_result(io_result.task_id, storage_result);
                        } else if self.on_disk_state.has_task(io_result.task_id) {
                            self.on_disk_state
                                .task_complete(io_result.task_id, storage_result);
                        } else {
                            panic!("unexpected storage result");
                        }
                    }
                    DocumentIoResult::CheckSharePolicy(config) => {
                        let Some(conn_id) = self.check_policy_tasks.remove(&io_result.task_id)
                        else {
                            // A pushed update or closed connection superseded this lookup.
                            return;
                        };
                        self.apply_share_policy(now, out, conn_id, config);
                    }
                }
                if let Some(LoadComplete {
                    snapshots,
                    incrementals,
                }) = self.load_state.take_complete()
                {
                    self.handle_load(now, out, &snapshots, &incrementals);
                    self.on_disk_state
                        .add_keys(snapshots.into_keys().chain(incrementals.into_keys()));
                }
            }
            // The hub stepped us as asked (or a local change did): ask
            // again below if still due.
            ActorInput::Tick => self.step_at = None,
        }
        self.step(now, out);
        self.ask_to_step_at(now, out);
    }

    fn step(&mut self, now: UnixTimestamp, out: &mut DocActorResult) {
        if self.run_state == RunState::Stopped {
            return;
        }
        if self.run_state == RunState::Stopping {
            if self.on_disk_state.is_flushed() {
                self.run_state = RunState::Stopped;
                out.send_terminated();
                out.stopped = true;
            }
            return;
        }
        if let Phase::Requesting(request) = &mut self.phase
            && let RequestOutcome::Found = request.outcome(&self.doc)
        {
            self.phase = Phase::Ready(Ready::new());
        }
        self.enqueue_share_policy_checks(out);
        // Write new changes first, and tell peers about our state only once
        // every write has completed: a sync message carries our heads, and a
        // peer takes heads that include its change as the acknowledgement
        // that we have it. Sending before the put completed would let a crash
        // lose a change the peer believes is safe (and then never resends).
        // Messages are generated on the step in which the last put completes.
        // A sleeping document has nothing unsaved (it sleeps only once all
        // is written, and any change wakes it), and finding that out would
        // read its operations.
        if !self.doc.is_asleep() {
            self.on_disk_state
                .save_new_changes(out, &self.document_id, &self.doc);
        }
        // Once per step, not once per peer: with 200 readers on a document
        // every answer from one of them steps the actor (vendor/README.md §12).
        let heads = self.doc.get_heads();
        let scope = self.scope(&heads);
        // While a write runs, a peer that has a change not yet on disk
        // (its author, or whoever got it since) gets nothing: our heads
        // would acknowledge it. The others are answered: a phone opening the
        // document, or one back online asking to send its own notes, need
        // not wait for a burst of other phones' writes (vendor/README.md §19).
        let unwritten = if self.on_disk_state.is_flushed() {
            Some(HashSet::new())
        } else {
            self.on_disk_state
                .written_heads()
                .map(|written| self.doc.change_hashes_since(written).into_iter().collect())
        };
        if let Some(unwritten) = unwritten {
            self.generate_sync_messages_in(now, out, &scope, &heads, &unwritten);
        }
        out.io_tasks.extend(
            self.load_state
                .step()
                .into_iter()
                .map(|s| s.map(DocumentIoTask::Storage)),
        );
        let status = self.doc_status();
        if Some(&status) != self.last_status_update.as_ref() {
            out.update_search_state(status.clone());
            self.last_status_update = Some(status);
        }
        if self.report_peer_states
            && let Some(new_peer_states) = self.new_peer_states(&scope)
        {
            out.emit_peer_state_changes(new_peer_states);
        }
    }

    /// Tells the hub when to step this actor though nothing arrives, if
    /// that changed: the earliest time a peer's wait for an answer (§10)
    /// or hold on the others (§18) ends.
    fn ask_to_step_at(&mut self, now: UnixTimestamp, out: &mut DocActorResult) {
        if self.run_state != RunState::Running {
            return;
        }
        // Only peers waiting for an answer (§10) or catching up (§18) have
        // a time; both are tracked, so this does not walk every peer.
        let due = self
            .asking
            .awaiting
            .iter()
            .chain(&self.catching_up)
            .filter_map(|conn_id| self.peer_connections.get(conn_id))
            .filter_map(|peer| peer.step_due_at(now))
            .chain(self.deferred.then_some(now))
            .min();
        if due != self.step_at {
            self.step_at = due;
            out.ask_to_step_at(due);
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.run_state == RunState::Stopped
    }

    /// How many times a peer was asked whether it has sync messages to send
    /// (vendor/README.md §13).
    pub fn peers_asked(&self) -> u64 {
        self.peers_asked
    }

    /// How many times a peer's sync message was copied from another
    /// peer's in the same sync state instead of generated
    /// (vendor/README.md §24).
    pub fn generations_copied(&self) -> u64 {
        self.generations_copied
    }

    /// How many connections this document has, without cloning their state.
    pub fn peer_count(&self) -> usize {
        self.peer_connections.len()
    }

    /// Changes whenever a connection is added to or removed from this
    /// document; equal values mean the same set of connections.
    pub fn connections_version(&self) -> u64 {
        self.connections_version
    }

    /// The peer ids of this document's connections.
    pub fn connected_peer_ids(&self) -> impl Iterator<Item = &PeerId> {
        self.peer_connections.values().map(|pc| &pc.peer_id)
    }

    /// Report peers' states from now on (§23): something reads them.
    pub fn report_peer_states(&mut self) {
        self.report_peer_states = true;
    }

    pub fn peers(&self) -> HashMap<ConnectionId, PeerDocState> {
        self.peer_connections
            .iter()
            .map(|(k, v)| (*k, v.state().clone()))
            .collect()
    }

    pub fn conn_peer_id(&self, conn_id: ConnectionId) -> Option<PeerId> {
        self.peer_connections
            .get(&conn_id)
            .map(|pc| pc.peer_id.clone())
    }

    fn apply_share_policy(
        &mut self,
        now: UnixTimestamp,
        out: &mut DocActorResult,
        conn_id: ConnectionId,
        config: ShareConfig,
    ) {
        let Some(peer_conn) = self.peer_connections.get_mut(&conn_id) else {
            return;
        };
        let previous = peer_conn.set_share_config(config);
        let pending = std::mem::take(&mut peer_conn.pending_sync_messages);
        self.buffering.remove(&conn_id);
        if let Phase::Requesting(request) = &mut self.phase {
            request.share_policy_changed(conn_id, previous, config);
        }
        for (msg, received_at) in pending {
            self.handle_sync_message(now, out, conn_id, msg, received_at);
        }
    }

    fn enqueue_share_policy_checks(&mut self, out: &mut DocActorResult) {
        for conn_id in std::mem::take(&mut self.unchecked) {
            let Some(peer_conn) = self.peer_connections.get_mut(&conn_id) else {
                continue;
            };
            if peer_conn.share_policy == SharePolicyState::Unknown {
                let task_id = out.check_share_policy(peer_conn.peer_id.clone());
                self.check_policy_tasks
                    .insert(task_id, peer_conn.connection_id);
                peer_conn.share_policy = SharePolicyState::Loading;
            }
        }
    }

    fn handle_sync_message(
        &mut self,
        now: UnixTimestamp,
        out: &mut DocActorResult,
        connection_id: ConnectionId,
        msg: SyncMessage,
        received_at: UnixTimestamp,
    ) {
        let Some(peer_conn) = self.peer_connections.get_mut(&connection_id) else {
            tracing::warn!(?connection_id, "no sync state found for message");
            return;
        };
        tracing::debug!(?connection_id, peer_id=?peer_conn.peer_id, ?msg, "received msg");

        if matches!(msg, SyncMessage::Request { .. } | SyncMessage::Sync { .. }) {
            peer_conn.mark_requested();
        }
        let Some(config) = peer_conn.share_config() else {
            if peer_conn.buffer_sync_message(msg, received_at) {
                self.buffering.insert(connection_id);
            } else {
                self.remove_connection(connection_id);
                out.outgoing_messages
                    .push(DocToHubMsg(DocToHubMsgPayload::Disconnect {
                        connection_id,
                        reason: "too many sync messages waiting for share policy".into(),
                    }));
            }
            return;
        };
        if !config.can_read() {
            // Do not reveal whether the document exists, and let requestors
            // finish their search rather than waiting indefinitely.
            if !matches!(msg, SyncMessage::DocUnavailable) {
                out.send_sync_message(
                    connection_id,
                    self.document_id.clone(),
                    SyncMessage::DocUnavailable,
                );
            }
            return;
        }

        let bytes = match &msg {
            SyncMessage::Request { data } | SyncMessage::Sync { data } => data.len(),
            SyncMessage::DocUnavailable => 0,
        };

        let heads_before = self.doc.get_heads();
        let duration = match &mut self.phase {
            Phase::Loading(loading) => {
                loading.receive_sync_message(connection_id, msg);
                None
            }
            Phase::Requesting(request) => {
                request.receive_message(now, &mut self.doc, peer_conn, msg)
            }
            Phase::Ready(ready) => ready.receive_sync_message(now, &mut self.doc, peer_conn, msg),
        };
        let heads_after = self.doc.get_heads();
        if heads_before != heads_after {
            peer_conn.gave_changes(self.on_disk_state.flushes());
            if matches!(self.phase, Phase::Ready(_)) {
                out.emit_doc_changed(heads_after);
            }
        }
        // A peer's catch-up starts and ends only with its messages (§18).
        if peer_conn.in_catch_up() {
            self.catching_up.insert(connection_id);
        } else {
            self.catching_up.remove(&connection_id);
        }

        if let Some(duration) = duration {
            let queue_duration = if now >= received_at {
                now - received_at
            } else {
                Duration::ZERO
            };
            if bytes > 0 {
                out.sync_message_stats.push(SyncMessageStat {
                    connection_id,
                    direction: SyncDirection::Received,
                    bytes,
                    duration,
                    queue_duration,
                });
            }
        }
    }

    pub fn handle_load(
        &mut self,
        now: UnixTimestamp,
        out: &mut DocActorResult,
        snapshots: &HashMap<StorageKey, Vec<u8>>,
        incrementals: &HashMap<StorageKey, Vec<u8>>,
    ) {
        tracing::trace!("handling load");
        for (key, snapshot) in snapshots {
            if let Err(e) = self.doc.load_incremental(snapshot) {
                tracing::warn!(err=?e, %key, "error loading snapshot chunk");
            }
        }
        for (key, incremental) in incrementals {
            if let Err(e) = self.doc.load_incremental(incremental) {
                tracing::warn!(err=?e, %key, "error loading incremental chunk");
            }
        }
        // What we just loaded is on disk; don't write it again.
        self.on_disk_state.mark_saved(self.doc.get_heads());

        if let Phase::Loading(loading) = &mut self.phase {
            let pending_sync_messages = loading.take_pending_sync_messages();
            if self.doc.get_heads().is_empty() {
                tracing::debug!("no data found on disk, requesting document");
                let request = Request::new(
                    self.document_id.clone(),
                    self.peer_connections.values().map(|c| &**c),
                );
                self.phase = Phase::Requesting(request);
            } else {
                tracing::trace!("load complete, transitioning to ready");
                self.phase = Phase::Ready(Ready::new())
            };

            for (conn_id, msgs) in pending_sync_messages {
                for msg in msgs {
                    self.handle_sync_message(now, out, conn_id, msg, now);
                }
            }
        }
    }

    pub fn generate_sync_messages(&mut self, now: UnixTimestamp, out: &mut DocActorResult) {
        let heads = self.doc.get_heads();
        let scope = self.scope(&heads);
        self.generate_sync_messages_in(now, out, &scope, &heads, &HashSet::new());
        self.ask_to_step_at(now, out);
    }

    /// Which peers a step with the document at `heads` looks at (§13, §16).
    fn scope(&self, heads: &[ChangeHash]) -> Scope {
        if self.asking.everyone
            || self.asking.heads != heads
            || !matches!(self.phase, Phase::Ready(_))
        {
            Scope::Everyone
        } else {
            Scope::Peers(
                self.asking
                    .peers
                    .union(&self.asking.awaiting)
                    .copied()
                    .collect(),
            )
        }
    }

    fn generate_sync_messages_in(
        &mut self,
        now: UnixTimestamp,
        out: &mut DocActorResult,
        scope: &Scope,
        heads: &[ChangeHash],
        unwritten: &HashSet<ChangeHash>,
    ) {
        out.pending_sync_messages = self.buffered_messages();
        if let Phase::Loading(loading) = &self.phase {
            out.pending_sync_messages += loading.pending_msg_count();
            return;
        }
        self.asking.everyone = false;
        self.asking.peers.clear();
        self.asking.heads.clear();
        self.asking.heads.extend_from_slice(heads);
        let hold = self
            .catching_up
            .iter()
            .filter_map(|conn_id| self.peer_connections.get(conn_id))
            .any(|peer| peer.holds_others(now));
        let mut ask = Asker {
            hold,
            unwritten,
            flushes: self.on_disk_state.flushes(),
            now,
            heads,
            phase: &mut self.phase,
            doc: &mut self.doc,
            document_id: &self.document_id,
            awaiting: &mut self.asking.awaiting,
            asked: &mut self.peers_asked,
            generated: 0,
            deferred: &mut self.asking.peers,
            generations: Generations::new(scope.len(&self.peer_connections) > 1),
            out,
        };
        scope.visit(&mut self.peer_connections, |conn_id, peer_conn| {
            ask.peer(conn_id, peer_conn)
        });
        self.generations_copied += ask.generations.copied();
        // The deferred peers are in `asking.peers`, the next step's scope.
        self.deferred = !self.asking.peers.is_empty();
    }

    /// Sync messages buffered while share policies are pending.
    fn buffered_messages(&self) -> usize {
        self.buffering
            .iter()
            .filter_map(|conn_id| self.peer_connections.get(conn_id))
            .map(|conn| conn.pending_sync_messages.len())
            .sum()
    }

    fn doc_status(&self) -> DocSearchPhase {
        match &self.phase {
            Phase::Loading(_) => DocSearchPhase::Loading,
            Phase::Requesting(request) => {
                let peer_states = request.peer_states().clone();
                DocSearchPhase::Searching(peer_states)
            }
            Phase::Ready(_) => DocSearchPhase::Ready,
        }
    }

    fn new_peer_states(&mut self, scope: &Scope) -> Option<HashMap<ConnectionId, PeerDocState>> {
        let mut new_states = HashMap::new();
        scope.visit(&mut self.peer_connections, |conn_id, peer| {
            if let Some(new_state) = peer.pop() {
                new_states.insert(conn_id, new_state);
            }
        });
        if new_states.is_empty() {
            None
        } else {
            Some(new_states)
        }
    }

    fn add_connection(&mut self, conn_id: ConnectionId, peer_id: PeerId) {
        assert!(
            !self.peer_connections.contains_key(&conn_id),
            "Connection ID already exists"
        );
        self.peer_connections
            .insert(conn_id, Box::new(PeerDocConnection::new(peer_id, conn_id)));
        self.unchecked.push(conn_id);
        self.connections_version += 1;
        if let Phase::Requesting(request) = &mut self.phase
            && let Some(conn) = self.peer_connections.get(&conn_id)
        {
            request.add_connection(conn);
        }
    }

    fn remove_connection(&mut self, conn_id: ConnectionId) {
        if self.peer_connections.remove(&conn_id).is_some() {
            self.connections_version += 1;
        }
        self.asking.awaiting.remove(&conn_id);
        self.catching_up.remove(&conn_id);
        self.buffering.remove(&conn_id);
        self.check_policy_tasks.retain(|_, id| *id != conn_id);
        if let Phase::Requesting(request) = &mut self.phase {
            request.remove_connection(conn_id);
        }
    }
}

enum DocGuardState<'a> {
    Modifying {
        actor: &'a mut DocumentActor,
        old_heads: Vec<ChangeHash>,
    },
    Complete,
}

/// The guard returned by [`DocumentActor::begin_modification`]
///
/// This guard provides mutable access to the document. Once you have finished
/// modifying you MUST call [`commit`](WithDocGuard::commit), otherwise a panic
/// will occur when the guard is dropped.
pub struct WithDocGuard<'a> {
    state: DocGuardState<'a>,
}

impl<'a> WithDocGuard<'a> {
    fn new(doc: &'a mut DocumentActor) -> Self {
        let old_heads = doc.document().get_heads();
        Self {
            state: DocGuardState::Modifying {
                actor: doc,
                old_heads,
            },
        }
    }

    /// Returns a mutable reference to the Automerge document.
    pub fn doc(&mut self) -> &mut Automerge {
        match &mut self.state {
            DocGuardState::Modifying {
                actor,
                old_heads: _,
            } => actor.document_mut(),
            DocGuardState::Complete => panic!("Document is already committed"),
        }
    }

    /// Commits the modifications made to the document and returns any side effects.
    pub fn commit(mut self, now: UnixTimestamp) -> DocActorResult {
        let mut out = DocGuardState::Complete;
        std::mem::swap(&mut self.state, &mut out);
        let (actor, old_heads) = match out {
            DocGuardState::Modifying { actor, old_heads } => (actor, old_heads),
            DocGuardState::Complete => {
                // Should never happen as this method takes ownership of the guard
                unreachable!()
            }
        };
        // Check if document was modified and generate side effects
        let new_heads = actor.document().get_heads();

        // Make sure there's one turn of the loop
        let mut actor_result = DocActorResult::new();
        actor.handle_input(now, ActorInput::Tick, &mut actor_result);

        if old_heads != new_heads {
            tracing::debug!(doc_id=%actor.document_id(), "document was modified in actor");
            // Notify main hub that document changed
            actor_result
                .change_events
                .push(DocumentChanged { new_heads });
        }
        actor_result
    }
}

impl<'a> Drop for WithDocGuard<'a> {
    fn drop(&mut self) {
        if let DocGuardState::Modifying { .. } = &mut self.state {
            panic!("WithDocGuard dropped without comitting");
        }
    }
}
