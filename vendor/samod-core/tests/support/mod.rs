//! A small deterministic driver for samod-core's sans-IO hub and document
//! actors, for the tests added in this vendored copy (the upstream
//! `samod-test-harness` crate is not published).
//!
//! Every peer has an in-memory storage, a static share policy and FIFO queues
//! for hub events and actor work. `Net::run` delivers wire messages between
//! linked connections, completes storage tasks and drains every queue until
//! nothing is left, so a test sees the state after the system went quiet.
//! Storage puts of a peer can be held back (`hold_puts`) to observe what is
//! sent while a write is not yet durable.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use automerge::{Automerge, ChangeHash};
use rand::SeedableRng;
use samod_core::{
    BackoffConfig, CommandId, CommandResult, ConnectionId, DialerConfig, DialerId, DocumentActorId,
    DocumentId, ListenerConfig, ListenerId, LoaderState, PeerId, ShareConfig, StorageKey,
    UnixTimestamp,
    actors::{
        HubToDocMsg,
        document::{
            DocActorResult, DocumentActor,
            io::{DocumentIoResult, DocumentIoTask},
        },
        hub::{Hub, HubEvent, HubResults, io::HubIoAction},
    },
    io::{IoResult, IoTask, IoTaskId, StorageResult, StorageTask},
    network::PeerDocState,
};

pub type PeerIdx = usize;

enum ActorWork {
    Msg(HubToDocMsg),
    Io(IoResult<DocumentIoResult>),
}

pub struct Peer {
    pub name: String,
    pub hub: Box<Hub>,
    pub actors: HashMap<DocumentActorId, DocumentActor>,
    pub storage: HashMap<StorageKey, Vec<u8>>,
    pub policy: ShareConfig,
    /// When set, storage puts are queued in `held_puts` instead of completing.
    pub hold_puts: bool,
    held_puts: Vec<(DocumentActorId, IoTaskId, StorageKey, Vec<u8>)>,
    /// When set, what this peer sends stays in its outbox (the network is
    /// slow in that direction) until cleared; it is then delivered in order.
    pub hold_outbox: bool,
    /// When set, only this many more messages leave the outbox; the rest
    /// wait there as with `hold_outbox` (a phone that stops answering
    /// halfway through an exchange).
    pub outbox_budget: Option<usize>,
    hub_queue: VecDeque<HubEvent>,
    actor_queue: VecDeque<(DocumentActorId, ActorWork)>,
    pub completed: HashMap<CommandId, CommandResult>,
    /// Every message the hub addressed to a document actor, as Debug text.
    pub actor_messages_log: Vec<String>,
    pub terminated: Vec<DocumentActorId>,
    /// `ConnectionEvent::StateChanged` events the hub emitted.
    pub state_changed_events: usize,
    /// Encoded wire messages sent on each connection.
    pub sent: Vec<(ConnectionId, Vec<u8>)>,
    /// Sent but not yet delivered (delivered by `Net::run`).
    outbox: VecDeque<(ConnectionId, Vec<u8>)>,
    listener: Option<ListenerId>,
}

impl Peer {
    pub fn count_actor_messages(&self, kind: &str) -> usize {
        self.actor_messages_log
            .iter()
            .filter(|m| m.contains(kind))
            .count()
    }

    pub fn actor_for(&self, doc: &DocumentId) -> Option<DocumentActorId> {
        self.actors
            .iter()
            .find(|(_, a)| a.document_id() == doc)
            .map(|(id, _)| *id)
    }

    pub fn doc(&self, doc: &DocumentId) -> Option<&Automerge> {
        self.actor_for(doc)
            .and_then(|id| self.actors.get(&id))
            .map(|a| a.document())
    }

    pub fn heads(&self, doc: &DocumentId) -> Vec<ChangeHash> {
        self.doc(doc).map(|d| d.get_heads()).unwrap_or_default()
    }

    /// This peer's sync bookkeeping for `doc` on connection `conn`.
    pub fn peer_state(&self, doc: &DocumentId, conn: ConnectionId) -> Option<PeerDocState> {
        let actor = self.actors.get(&self.actor_for(doc)?)?;
        actor.peers().get(&conn).cloned()
    }

    /// Documents the hub has attached `conn` to.
    pub fn attached_docs(&self, conn: ConnectionId) -> HashSet<DocumentId> {
        self.hub
            .connections()
            .into_iter()
            .find(|c| c.id == conn)
            .map(|c| c.docs.into_keys().collect())
            .unwrap_or_default()
    }

    pub fn held_put_count(&self) -> usize {
        self.held_puts.len()
    }

    /// Messages waiting in the outbox (see `hold_outbox`).
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }
}

pub struct Net {
    pub peers: Vec<Peer>,
    links: HashMap<(PeerIdx, ConnectionId), (PeerIdx, ConnectionId)>,
    pending_dials: HashMap<(PeerIdx, DialerId), PeerIdx>,
    rng: rand::rngs::StdRng,
    /// How far this network's clock runs ahead of the real one (`advance`).
    ahead: Duration,
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

/// A server's share policy: read-write, never announcing its documents (the
/// JS sync server's `sharePolicy: false`, and Glosa's).
pub const SERVER_POLICY: ShareConfig = ShareConfig::read_write().with_announce(false);
/// A phone's share policy: read-write, announcing its documents.
pub const CLIENT_POLICY: ShareConfig = ShareConfig::read_write().with_announce(true);

impl Net {
    pub fn new() -> Self {
        Self {
            peers: Vec::new(),
            links: HashMap::new(),
            pending_dials: HashMap::new(),
            rng: rand::rngs::StdRng::seed_from_u64(7),
            ahead: Duration::ZERO,
        }
    }

    /// A server named "server" as Glosa runs one: it attaches an accepted
    /// connection to a document only once the peer asks for it.
    pub fn add_lazy_server(&mut self) -> PeerIdx {
        let server = self.add_peer("server", SERVER_POLICY);
        self.peer_mut(server).hub.set_lazy_incoming_attachment(true);
        server
    }

    pub fn add_peer(&mut self, name: &str, policy: ShareConfig) -> PeerIdx {
        let peer_id = PeerId::from(name);
        let mut storage = HashMap::new();
        let mut loader = Hub::load(peer_id);
        let hub = loop {
            match loader.step(&mut self.rng, UnixTimestamp::now() + self.ahead) {
                LoaderState::Loaded(hub) => break hub,
                LoaderState::NeedIo(tasks) => {
                    for task in tasks {
                        let payload = run_storage(&mut storage, task.action);
                        loader.provide_io_result(IoResult {
                            task_id: task.task_id,
                            payload,
                        });
                    }
                }
            }
        };
        self.peers.push(Peer {
            name: name.to_string(),
            hub,
            actors: HashMap::new(),
            storage,
            policy,
            hold_puts: false,
            held_puts: Vec::new(),
            hold_outbox: false,
            outbox_budget: None,
            hub_queue: VecDeque::new(),
            actor_queue: VecDeque::new(),
            completed: HashMap::new(),
            actor_messages_log: Vec::new(),
            terminated: Vec::new(),
            state_changed_events: 0,
            sent: Vec::new(),
            outbox: VecDeque::new(),
            listener: None,
        });
        self.peers.len() - 1
    }

    pub fn peer(&self, idx: PeerIdx) -> &Peer {
        &self.peers[idx]
    }

    pub fn peer_mut(&mut self, idx: PeerIdx) -> &mut Peer {
        &mut self.peers[idx]
    }

    /// Process one hub event on a peer now and return what it produced
    /// (after routing it), so tests can inspect per-event work.
    pub fn hub_event(&mut self, idx: PeerIdx, event: HubEvent) -> HubResultsSummary {
        let now = self.now();
        let results = self.peers[idx].hub.handle_event(&mut self.rng, now, event);
        let summary = HubResultsSummary {
            actor_messages: results.actor_messages.len(),
            spawned: results.spawn_actors.len(),
        };
        self.apply_hub_results(idx, results);
        summary
    }

    fn command(
        &mut self,
        idx: PeerIdx,
        cmd: samod_core::actors::hub::DispatchedCommand,
    ) -> CommandResult {
        let id = cmd.command_id;
        self.hub_event(idx, cmd.event);
        self.run();
        self.peers[idx]
            .completed
            .remove(&id)
            .expect("command did not complete")
    }

    fn listener(&mut self, idx: PeerIdx) -> ListenerId {
        if let Some(l) = self.peers[idx].listener {
            return l;
        }
        let url = url::Url::parse(&format!("ws://{}/", self.peers[idx].name)).unwrap();
        let CommandResult::AddListener { listener_id } =
            self.command(idx, HubEvent::add_listener(ListenerConfig { url }))
        else {
            panic!("unexpected result for add_listener")
        };
        self.peers[idx].listener = Some(listener_id);
        listener_id
    }

    /// `client` dials `server`. Returns (client's connection, server's connection)
    /// once the handshake has completed and the system is quiet.
    pub fn connect(&mut self, client: PeerIdx, server: PeerIdx) -> (ConnectionId, ConnectionId) {
        let listener_id = self.listener(server);
        let url = url::Url::parse(&format!("ws://{}/", self.peers[server].name)).unwrap();
        let add = HubEvent::add_dialer(DialerConfig {
            url,
            backoff: BackoffConfig::default(),
        });
        let add_id = add.command_id;
        // The dial request is answered in apply_hub_results via pending_dials,
        // so register the target before the event is processed.
        let now = self.now();
        let results = self.peers[client]
            .hub
            .handle_event(&mut self.rng, now, add.event);
        let Some(CommandResult::AddDialer { dialer_id }) =
            results.completed_commands.get(&add_id).cloned()
        else {
            panic!("unexpected result for add_dialer")
        };
        self.apply_hub_results(client, results);
        let CommandResult::CreateConnection {
            connection_id: client_conn,
        } = self.command_now(client, HubEvent::create_dialer_connection(dialer_id, None))
        else {
            panic!("unexpected result for create_dialer_connection")
        };
        let CommandResult::CreateConnection {
            connection_id: server_conn,
        } = self.command_now(
            server,
            HubEvent::create_listener_connection(listener_id, None),
        )
        else {
            panic!("unexpected result for create_listener_connection")
        };
        self.links
            .insert((client, client_conn), (server, server_conn));
        self.links
            .insert((server, server_conn), (client, client_conn));
        self.run();
        (client_conn, server_conn)
    }

    /// Process a command without running the network afterwards.
    fn command_now(
        &mut self,
        idx: PeerIdx,
        cmd: samod_core::actors::hub::DispatchedCommand,
    ) -> CommandResult {
        let id = cmd.command_id;
        self.hub_event(idx, cmd.event);
        self.peers[idx]
            .completed
            .remove(&id)
            .expect("command did not complete synchronously")
    }

    /// The transport under `conn` of peer `idx` is lost (both ends notice).
    pub fn drop_connection(&mut self, idx: PeerIdx, conn: ConnectionId) {
        if let Some((other, other_conn)) = self.links.remove(&(idx, conn)) {
            self.links.remove(&(other, other_conn));
            self.peers[other]
                .hub_queue
                .push_back(HubEvent::connection_lost(other_conn));
        }
        self.peers[idx]
            .hub_queue
            .push_back(HubEvent::connection_lost(conn));
        self.run();
    }

    pub fn create_doc(&mut self, idx: PeerIdx, doc: Automerge) -> DocumentId {
        match self.command(idx, HubEvent::create_document(doc)) {
            CommandResult::CreateDocument { document_id, .. } => document_id,
            other => panic!("unexpected result {other:?}"),
        }
    }

    /// Start a search for `doc` on `idx` (like `Repo::find`) and run until quiet.
    pub fn find(&mut self, idx: PeerIdx, doc: &DocumentId) -> DocumentActorId {
        match self.command(idx, HubEvent::search_for_doc(doc.clone())) {
            CommandResult::SearchForDoc { actor_id, .. } => actor_id,
            other => panic!("unexpected result {other:?}"),
        }
    }

    /// Change a document on a peer through its actor, then run until quiet.
    pub fn change<F: FnOnce(&mut Automerge)>(&mut self, idx: PeerIdx, doc: &DocumentId, f: F) {
        let now = self.now();
        let actor_id = self.peers[idx].actor_for(doc).expect("document not loaded");
        let actor = self.peers[idx].actors.get_mut(&actor_id).unwrap();
        let result = actor.with_document(now, f).expect("document not ready");
        self.apply_actor_result(idx, actor_id, result.actor_result);
        self.run();
    }

    /// Ask a peer's hub to unload idle documents (nothing pinned).
    pub fn unload_idle(&mut self, idx: PeerIdx, idle_for: Duration) {
        self.peers[idx]
            .hub_queue
            .push_back(HubEvent::unload_idle(idle_for, HashSet::new()));
        self.run();
    }

    /// Ask a peer's hub to unload documents as `policy` says (nothing
    /// pinned).
    pub fn unload_with(&mut self, idx: PeerIdx, policy: samod_core::UnloadPolicy) {
        self.peers[idx]
            .hub_queue
            .push_back(HubEvent::unload_idle_with(policy, HashSet::new()));
        self.run();
    }

    /// Complete every held storage put of a peer, then run until quiet.
    pub fn release_puts(&mut self, idx: PeerIdx) {
        let held = std::mem::take(&mut self.peers[idx].held_puts);
        for (actor_id, task_id, key, value) in held {
            self.peers[idx].storage.insert(key, value);
            self.peers[idx].actor_queue.push_back((
                actor_id,
                ActorWork::Io(IoResult {
                    task_id,
                    payload: DocumentIoResult::Storage(StorageResult::Put),
                }),
            ));
        }
        self.run();
    }

    /// Drain every queue of every peer until nothing is left to do.
    /// The network's clock: the real one, moved on by `advance`.
    pub fn now(&self) -> UnixTimestamp {
        UnixTimestamp::now() + self.ahead
    }

    /// Moves every peer's clock on by `by`, so timeouts can be tested
    /// without waiting for them.
    pub fn advance(&mut self, by: Duration) {
        self.ahead += by;
    }

    /// One of the hub's periodic ticks (samod sends one every 100 ms).
    pub fn tick(&mut self, idx: PeerIdx) {
        self.hub_event(idx, HubEvent::tick());
        self.run();
    }

    pub fn run(&mut self) {
        for _round in 0..1_000_000 {
            let mut busy = false;
            for idx in 0..self.peers.len() {
                while !self.peers[idx].hold_outbox
                    && self.peers[idx].outbox_budget != Some(0)
                    && let Some((conn, msg)) = self.peers[idx].outbox.pop_front()
                {
                    if let Some(budget) = &mut self.peers[idx].outbox_budget {
                        *budget -= 1;
                    }
                    busy = true;
                    if let Some((other, other_conn)) = self.links.get(&(idx, conn)) {
                        let cmd = HubEvent::receive(*other_conn, msg);
                        self.peers[*other].hub_queue.push_back(cmd.event);
                    }
                }
                while let Some(event) = self.peers[idx].hub_queue.pop_front() {
                    busy = true;
                    self.hub_event(idx, event);
                }
                while let Some((actor_id, work)) = self.peers[idx].actor_queue.pop_front() {
                    busy = true;
                    let now = self.now();
                    let Some(actor) = self.peers[idx].actors.get_mut(&actor_id) else {
                        continue;
                    };
                    let result = match work {
                        ActorWork::Msg(msg) => actor.handle_message(now, msg),
                        ActorWork::Io(io) => actor.handle_io_complete(now, io),
                    }
                    .expect("actor error");
                    self.apply_actor_result(idx, actor_id, result);
                }
            }
            if !busy {
                return;
            }
        }
        panic!("network did not go quiet");
    }

    fn apply_hub_results(&mut self, idx: PeerIdx, results: HubResults) {
        let HubResults {
            new_tasks,
            completed_commands,
            spawn_actors,
            actor_messages,
            dial_requests,
            terminated_actors,
            connection_events,
            ..
        } = results;
        self.peers[idx].state_changed_events += connection_events
            .iter()
            .filter(|e| matches!(e, samod_core::network::ConnectionEvent::StateChanged { .. }))
            .count();
        for args in spawn_actors {
            let actor_id = args.actor_id();
            let (actor, result) = DocumentActor::new(self.now(), args);
            self.peers[idx].actors.insert(actor_id, actor);
            self.apply_actor_result(idx, actor_id, result);
        }
        self.peers[idx].completed.extend(completed_commands);
        for (actor_id, msg) in actor_messages {
            self.peers[idx].actor_messages_log.push(format!("{msg:?}"));
            self.peers[idx]
                .actor_queue
                .push_back((actor_id, ActorWork::Msg(msg)));
        }
        for task in new_tasks {
            match task.action {
                HubIoAction::Send { connection_id, msg } => {
                    self.peers[idx].sent.push((connection_id, msg.clone()));
                    self.peers[idx].outbox.push_back((connection_id, msg));
                }
                HubIoAction::Disconnect { connection_id } => {
                    if let Some((other, other_conn)) = self.links.remove(&(idx, connection_id)) {
                        self.links.remove(&(other, other_conn));
                        self.peers[other]
                            .hub_queue
                            .push_back(HubEvent::connection_lost(other_conn));
                    }
                }
            }
        }
        // Dial requests are satisfied by `connect`, which creates the
        // connection itself; nothing to do for them here.
        let _ = dial_requests;
        for actor_id in terminated_actors {
            self.peers[idx].actors.remove(&actor_id);
            self.peers[idx].terminated.push(actor_id);
        }
    }

    fn apply_actor_result(
        &mut self,
        idx: PeerIdx,
        actor_id: DocumentActorId,
        result: DocActorResult,
    ) {
        for task in result.io_tasks {
            self.run_actor_io(idx, actor_id, task);
        }
        for msg in result.outgoing_messages {
            self.peers[idx]
                .hub_queue
                .push_back(HubEvent::actor_message(actor_id, msg));
        }
    }

    fn run_actor_io(
        &mut self,
        idx: PeerIdx,
        actor_id: DocumentActorId,
        task: IoTask<DocumentIoTask>,
    ) {
        let peer = &mut self.peers[idx];
        let payload = match task.action {
            DocumentIoTask::CheckSharePolicy { .. } => {
                DocumentIoResult::CheckSharePolicy(peer.policy)
            }
            DocumentIoTask::Storage(StorageTask::Put { key, value }) if peer.hold_puts => {
                peer.held_puts.push((actor_id, task.task_id, key, value));
                return;
            }
            DocumentIoTask::Storage(storage_task) => {
                DocumentIoResult::Storage(run_storage(&mut peer.storage, storage_task))
            }
        };
        peer.actor_queue.push_back((
            actor_id,
            ActorWork::Io(IoResult {
                task_id: task.task_id,
                payload,
            }),
        ));
    }
}

pub struct HubResultsSummary {
    pub actor_messages: usize,
    pub spawned: usize,
}

fn run_storage(storage: &mut HashMap<StorageKey, Vec<u8>>, task: StorageTask) -> StorageResult {
    match task {
        StorageTask::Load { key } => StorageResult::Load {
            value: storage.get(&key).cloned(),
        },
        StorageTask::LoadRange { prefix } => StorageResult::LoadRange {
            values: storage
                .iter()
                .filter(|(k, _)| prefix.is_prefix_of(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        },
        StorageTask::Put { key, value } => {
            storage.insert(key, value);
            StorageResult::Put
        }
        StorageTask::Delete { key } => {
            storage.remove(&key);
            StorageResult::Delete
        }
    }
}

/// A document with a text field, as a client would create one.
pub fn doc_with(key: &str, value: &str) -> Automerge {
    use automerge::{ROOT, transaction::Transactable};
    let mut doc = Automerge::new();
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, key, value)?;
        Ok(())
    })
    .unwrap();
    doc
}

pub fn put(doc: &mut Automerge, key: &str, value: &str) {
    use automerge::{ROOT, transaction::Transactable};
    doc.transact::<_, _, automerge::AutomergeError>(|tx| {
        tx.put(ROOT, key, value)?;
        Ok(())
    })
    .unwrap();
}

pub fn get(doc: &Automerge, key: &str) -> Option<String> {
    use automerge::ReadDoc;
    match doc.get(automerge::ROOT, key).ok().flatten() {
        Some((automerge::Value::Scalar(s), _)) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}
