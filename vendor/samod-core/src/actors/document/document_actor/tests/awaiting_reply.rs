//! An actor asks a peer whose changes wait for its reply (§10) on every
//! step, also a step that only another peer's message caused (§16): once
//! `REPLY_TIMEOUT` has passed, the waiting changes go to the silent peer.
use super::*;
use crate::actors::document::peer_doc_connection::REPLY_TIMEOUT;
use crate::io::{StorageResult, StorageTask};

/// One actor, its storage tasks (on an empty store) and share policy
/// checks completed as they are issued, and the sync messages it sent, by connection.
struct Driver {
    actor: DocumentActor,
    sent: Vec<(ConnectionId, sync::Message)>,
}

impl Driver {
    fn absorb(&mut self, now: UnixTimestamp, mut result: DocActorResult) {
        loop {
            for msg in result.outgoing_messages.drain(..) {
                if let DocToHubMsgPayload::SendSyncMessage {
                    connection_id,
                    message: SyncMessage::Sync { data },
                    ..
                } = msg.0
                {
                    self.sent
                        .push((connection_id, sync::Message::decode(&data).unwrap()));
                }
            }
            let Some(task) = result.io_tasks.pop() else {
                return;
            };
            let payload = match task.action {
                DocumentIoTask::Storage(StorageTask::Put { .. }) => {
                    DocumentIoResult::Storage(StorageResult::Put)
                }
                DocumentIoTask::Storage(StorageTask::Delete { .. }) => {
                    DocumentIoResult::Storage(StorageResult::Delete)
                }
                DocumentIoTask::CheckSharePolicy { .. } => {
                    DocumentIoResult::CheckSharePolicy(ShareConfig::read_write())
                }
                // Nothing stored yet.
                DocumentIoTask::Storage(StorageTask::Load { .. }) => {
                    DocumentIoResult::Storage(StorageResult::Load { value: None })
                }
                DocumentIoTask::Storage(StorageTask::LoadRange { .. }) => {
                    DocumentIoResult::Storage(StorageResult::LoadRange {
                        values: HashMap::new(),
                    })
                }
            };
            let next = self
                .actor
                .handle_io_complete(
                    now,
                    IoResult {
                        task_id: task.task_id,
                        payload,
                    },
                )
                .unwrap();
            result.outgoing_messages.extend(next.outgoing_messages);
            result.io_tasks.extend(next.io_tasks);
        }
    }

    fn note(&mut self, now: UnixTimestamp, value: i64) {
        let changed = self
            .actor
            .with_document(now, |doc| {
                doc.transact::<_, _, automerge::AutomergeError>(|tx| tx.put(ROOT, "note", value))
                    .unwrap();
            })
            .unwrap();
        self.absorb(now, changed.actor_result);
    }

    fn receive(&mut self, now: UnixTimestamp, conn: ConnectionId, msg: sync::Message) {
        let result = self
            .actor
            .handle_message(
                now,
                HubToDocMsg(HubToDocMsgPayload::HandleDocMessage {
                    connection_id: conn,
                    message: DocMessage::Sync(SyncMessage::Sync { data: msg.encode() }),
                    received_at: now,
                }),
            )
            .unwrap();
        self.absorb(now, result);
    }

    /// Messages sent to `conn` since the last call, applied to `peer`;
    /// returns how many carried changes.
    fn deliver(
        &mut self,
        conn: ConnectionId,
        peer: &mut Automerge,
        state: &mut sync::State,
    ) -> usize {
        let mut with_changes = 0;
        self.sent.retain(|(to, msg)| {
            if *to != conn {
                return true;
            }
            with_changes += usize::from(!msg.changes.is_empty());
            peer.receive_sync_message(state, msg.clone()).unwrap();
            false
        });
        with_changes
    }
}

#[test]
fn a_silent_peer_gets_waiting_changes_on_another_peers_step_after_the_timeout() {
    let (silent, talker) = (ConnectionId::new(), ConnectionId::new());
    let args = SpawnArgs {
        local_peer_id: "server".into(),
        actor_id: DocumentActorId::new(),
        document_id: DocumentId::new(&mut rand::rng()),
        initial_content: Some(Automerge::new()),
        initial_connections: HashMap::from([
            (silent, ("silent".into(), None)),
            (talker, ("talker".into(), None)),
        ]),
        report_peer_states: true,
    };
    let start = UnixTimestamp::now();
    let (actor, result) = DocumentActor::new(start, args);
    let mut server = Driver {
        actor,
        sent: Vec::new(),
    };
    server.absorb(start, result);
    let (mut silent_doc, mut silent_state) = (Automerge::new(), sync::State::new());
    let (mut talker_doc, mut talker_state) = (Automerge::new(), sync::State::new());
    // Both peers ask for the document, as readers opening it do.
    for (conn, doc, state) in [
        (silent, &mut silent_doc, &mut silent_state),
        (talker, &mut talker_doc, &mut talker_state),
    ] {
        let hello = doc.generate_sync_message(state).unwrap();
        server.receive(start, conn, hello);
    }

    // Notes until the silent peer has two messages of changes unanswered:
    // the next note waits for its reply. The talker answers everything.
    let mut value = 0;
    let mut unanswered = 0;
    while unanswered < 2 {
        value += 1;
        assert!(value < 10, "the silent peer is never sent changes");
        server.note(start, value);
        unanswered += server.deliver(silent, &mut silent_doc, &mut silent_state);
        server.deliver(talker, &mut talker_doc, &mut talker_state);
        while let Some(reply) = talker_doc.generate_sync_message(&mut talker_state) {
            server.receive(start, talker, reply);
            server.deliver(talker, &mut talker_doc, &mut talker_state);
        }
    }
    value += 1;
    server.note(start, value);
    assert_eq!(
        server.deliver(silent, &mut silent_doc, &mut silent_state),
        0,
        "a third message of changes went out unanswered"
    );
    let ours = server.actor.document().get_heads();
    assert_ne!(silent_doc.get_heads(), ours);

    // Past the timeout, a message from the talker that changes nothing
    // (it reconnected) steps the actor; that step must ask the silent
    // peer too.
    let later = start + REPLY_TIMEOUT + Duration::from_millis(1);
    let hello = talker_doc
        .generate_sync_message(&mut sync::State::new())
        .unwrap();
    assert!(hello.changes.is_empty());
    server.receive(later, talker, hello);
    assert_eq!(server.actor.document().get_heads(), ours);
    assert!(server.deliver(silent, &mut silent_doc, &mut silent_state) > 0);
    assert_eq!(silent_doc.get_heads(), ours);
}
