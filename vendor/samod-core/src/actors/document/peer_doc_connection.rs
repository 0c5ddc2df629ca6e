#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use automerge::{
    Asleep, Automerge, AutomergeError,
    sync::{self, SyncDoc},
};

use crate::actors::messages::SyncMessage;
use crate::{ConnectionId, PeerId, ShareConfig, UnixTimestamp, network::PeerDocState};

#[derive(Debug)]
pub(crate) struct PeerDocConnection {
    pub(super) connection_id: ConnectionId,
    pub(super) peer_id: PeerId,
    pub(super) sync_state: sync::State,
    // Remember inbound requests or sync attempts, even while denied/paused,
    // so that granting access can answer them without proactive announcement.
    pub(super) has_requested: bool,
    // Whether this state has changed since the last pop
    dirty: bool,
    state: PeerDocState,
    pub(super) share_policy: SharePolicyState,
    last_share_config: Option<ShareConfig>,
    // Preserve message ordering while the asynchronous policy lookup is pending.
    pub(super) pending_sync_messages: Vec<(SyncMessage, UnixTimestamp)>,
    // The document's heads when `generate_sync_messages` last found nothing
    // to send, with nothing about this peer changed since (every `&mut`
    // method but `generate_sync_messages` and `pop` clears it). Automerge's
    // `generate_sync_message` walks and hashes the changes since the peer's
    // last sync before it can tell there is nothing to say, and the actor
    // asks every peer after every input: with 200 readers of a discussion,
    // each reader's acknowledgement of a note made all 200 walk again.
    quiet_at: Option<Vec<automerge::ChangeHash>>,
    // Messages carrying changes this peer has not answered yet (about this
    // document). At `MAX_UNANSWERED`, newer changes wait for its answer and
    // go together in the next message (vendor/README.md §10). A peer that
    // applies changes always answers (its heads moved); any message from
    // it, or a reset of the exchange, clears this. A peer that already had
    // the changes (from elsewhere) may not answer: after `REPLY_TIMEOUT` the
    // next step sends regardless.
    unanswered: Option<Unanswered>,
    // Whether the peer's heads name changes we have not applied, while it
    // may write: it has changes for us (a phone back online with offline
    // notes), or some are in flight.
    lacking: bool,
    // This connection's first catch-up, which holds the document's relays
    // to the other peers (vendor/README.md §18).
    catch_up: CatchUp,
    // `OnDiskState::flushes` when this peer's message last added changes
    // to the document (§19).
    gave_changes_at: Option<u64>,
}

/// The sync messages one step of a document generated, by the sync state
/// each was generated from (vendor/README.md §24).
///
/// Generation is a function of the document and the peer's sync state
/// alone, and a step does not change the document. Readers of a discussion
/// that answered the last note are all in the same state, so when the next
/// note arrives, 200 readers need one generation and 199 copies: automerge
/// otherwise walks the changes since each reader's last sync, builds a
/// Bloom filter and packs the change, 200 times over, for the same bytes.
/// A peer in a state of its own (one that lags, or a phone writing) misses
/// and is generated for as before.
#[derive(Debug, Default)]
pub(crate) struct Generations {
    /// Off for a step that asks one peer: nothing to share, so no copies.
    enabled: bool,
    entries: Vec<Generation>,
    /// How many peers got a copy instead of a generation, for tests.
    copied: u64,
}

#[derive(Debug)]
struct Generation {
    before: sync::State,
    after: sync::State,
    message: Option<sync::Message>,
}

/// States remembered per step: readers that answered, readers one note
/// behind, and a few stragglers. Each is compared in full, so few.
const GENERATIONS: usize = 4;

impl Generations {
    pub(crate) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            ..Self::default()
        }
    }

    /// The message `generate` would give for `state`, and the state it
    /// would leave, from an earlier peer of this step if one was in the
    /// same state.
    fn generate(
        &mut self,
        state: &mut sync::State,
        generate: impl FnOnce(&mut sync::State) -> Option<sync::Message>,
    ) -> Option<sync::Message> {
        if !self.enabled {
            return generate(state);
        }
        if let Some(seen) = self.entries.iter().find(|g| g.before == *state) {
            state.clone_from(&seen.after);
            self.copied += 1;
            return seen.message.clone();
        }
        let before = state.clone();
        let message = generate(state);
        if self.entries.len() == GENERATIONS {
            self.entries.remove(0);
        }
        self.entries.push(Generation {
            before,
            after: state.clone(),
            message: message.clone(),
        });
        message
    }

    /// How many peers of this step got a copy of another's generation.
    pub(crate) fn copied(&self) -> u64 {
        self.copied
    }
}

/// Where a connection is in its first catch-up (§18). A connection holds
/// the other peers' relays at most once, for at most [`HOLD_AT_MOST`]: a
/// member who keeps advertising changes it never sends cannot stall a
/// discussion for longer than that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CatchUp {
    NotYet,
    Since(UnixTimestamp),
    Over,
}

#[derive(Debug, Clone, Copy)]
struct Unanswered {
    messages: u8,
    since: UnixTimestamp,
}

/// How long changes for a peer wait for its answer to the previous ones
/// before they are sent anyway (see `unanswered`).
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages carrying changes a peer may have unanswered before newer
/// changes wait for its answer.
const MAX_UNANSWERED: u8 = 2;

/// How long a peer catching up (§18) may hold the document's relays to the
/// others: normally it sends its changes one round trip after it asked.
pub(crate) const HOLD_AT_MOST: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SharePolicyState {
    Unknown,
    Loading,
    Ready(ShareConfig),
}

impl PeerDocConnection {
    pub(super) fn new(peer_id: PeerId, connection_id: ConnectionId) -> Self {
        Self {
            connection_id,
            peer_id,
            sync_state: sync::State::new_read_only().with_their_changes_first(),
            has_requested: false,
            state: PeerDocState::empty(),
            dirty: false,
            share_policy: SharePolicyState::Unknown,
            last_share_config: None,
            pending_sync_messages: Vec::new(),
            quiet_at: None,
            unanswered: None,
            lacking: false,
            catch_up: CatchUp::NotYet,
            gave_changes_at: None,
        }
    }

    /// Forget that the peer was quiet (§8) or behind on answers (§10): the
    /// next step generates for it whatever the document's heads.
    fn ask_again(&mut self) {
        self.quiet_at = None;
        self.unanswered = None;
    }

    pub(super) fn reset_sync_state(&mut self) {
        self.ask_again();
        // A peer's own changes come first (vendor/README.md §11): a phone
        // back online gets its offline notes to us before it downloads.
        self.sync_state = if self.can_write() {
            sync::State::new()
        } else {
            sync::State::new_read_only()
        }
        .with_their_changes_first();
    }

    pub(super) fn prepare_request(&mut self) {
        self.ask_again();
        // Initial requests already have a fresh state. Automerge has no explicit
        // API to restart synchronization, so for retries we force a read-only to
        // read-write transition. This resets local bookkeeping and tells the
        // remote to resend changes; replacing the state alone would not do that.
        if self.state.last_sent.is_some() || self.state.last_received.is_some() {
            self.sync_state.set_read_only(true);
            self.sync_state.set_read_only(false);
            self.state.shared_heads = Some(self.sync_state.shared_heads.clone());
            self.state.their_heads = self.sync_state.their_heads.clone();
            self.state.peer_read_only = self.sync_state.is_peer_read_only();
            self.dirty = true;
        }
    }

    pub(super) fn mark_requested(&mut self) {
        self.quiet_at = None;
        if !self.has_requested {
            self.has_requested = true;
            self.dirty = true; // Mark as dirty since the request status changed
        }
    }

    pub(super) fn receive_sync_message(
        &mut self,
        now: UnixTimestamp,
        doc: &mut Automerge,
        msg: sync::Message,
    ) -> Result<Duration, AutomergeError> {
        self.ask_again();
        let start = Instant::now();
        let advertised = self.sync_state.last_sent_heads.clone();
        doc.receive_sync_message(&mut self.sync_state, msg)?;
        let duration = start.elapsed();
        // Automerge, given a message without changes whose heads equal our
        // current heads, records those heads as sent to the peer, assuming
        // it already learned them from us. It may not have: we withhold sync
        // messages while a put is in flight (vendor/README.md §3), so the
        // peer's change can be applied here, then its reply to an older
        // message of ours arrive carrying the merged heads, and we would never
        // send the peer heads that include its change — the acknowledgement
        // automerge-repo clients wait for. Keep `last_sent_heads` as what we
        // really advertised, so the next generation tells the peer (once).
        // The "peer lost its data" reset (empty heads) is left as automerge
        // does it.
        if self.sync_state.last_sent_heads != advertised
            && !self.sync_state.last_sent_heads.is_empty()
        {
            self.sync_state.last_sent_heads = advertised;
        }
        self.dirty = true;
        self.state.last_received = Some(now);
        self.state.last_acked_heads = self.sync_state.their_heads.clone();
        self.state.shared_heads = Some(self.sync_state.shared_heads.clone());
        self.state.their_heads = self.sync_state.their_heads.clone();
        self.state.peer_read_only = self.sync_state.is_peer_read_only();
        self.lacking = self.can_write() && self.their_heads_name(|hash| !doc.has_change(hash));
        self.catch_up = match (self.catch_up, self.lacking) {
            (CatchUp::NotYet, true) => CatchUp::Since(now),
            (CatchUp::Since(_), false) => CatchUp::Over,
            (state, _) => state,
        };
        Ok(duration)
    }

    /// Generate messages in wire order, with timing for each message.
    pub(super) fn generate_sync_messages(
        &mut self,
        now: UnixTimestamp,
        doc: &Automerge,
    ) -> Vec<(sync::Message, Duration)> {
        self.generate_with(now, &doc.get_heads(), |state| {
            doc.generate_sync_message(state)
        })
    }

    /// [`Self::generate_sync_messages`] with the document's current heads,
    /// which a caller walking every peer computes once rather than per peer
    /// (vendor/README.md §12). A sleeping document (§17) answers what it can
    /// without its operations and is woken for the rest.
    ///
    /// `generations` remembers what this step generated for each sync state
    /// (§24): a peer whose state equals one already seen gets the same
    /// message and moves to the same state without asking automerge again.
    pub(super) fn generate_sync_messages_at(
        &mut self,
        now: UnixTimestamp,
        doc: &mut Automerge,
        heads: &[automerge::ChangeHash],
        generations: &mut Generations,
    ) -> Vec<(sync::Message, Duration)> {
        let connection_id = self.connection_id;
        self.generate_with(now, heads, |state| {
            generations.generate(state, |state| {
                match doc.try_generate_sync_message(state) {
                    Ok(message) => message,
                    Err(Asleep) => {
                        // The state is as it was; generate again, awake.
                        if let Err(e) = doc.wake() {
                            tracing::error!(?connection_id, err=?e, "could not wake a sleeping document");
                            return None;
                        }
                        doc.generate_sync_message(state)
                    }
                }
            })
        })
    }

    fn generate_with(
        &mut self,
        now: UnixTimestamp,
        heads: &[automerge::ChangeHash],
        mut generate: impl FnMut(&mut sync::State) -> Option<sync::Message>,
    ) -> Vec<(sync::Message, Duration)> {
        if let Some(Unanswered { messages, since }) = self.unanswered
            && messages >= MAX_UNANSWERED
        {
            let waited = now.as_millis().saturating_sub(since.as_millis());
            if waited < REPLY_TIMEOUT.as_millis() {
                return Vec::new();
            }
            self.unanswered = None;
        }
        if self.quiet_at.as_deref() == Some(heads) {
            return Vec::new();
        }
        let mut messages = Vec::new();
        loop {
            let start = Instant::now();
            let Some(msg) = generate(&mut self.sync_state) else {
                break;
            };
            let duration = start.elapsed();
            let follow_up = msg.heads != heads;
            if follow_up {
                // Automerge 0.12's fallback reset advertises empty heads but
                // records the real heads as sent. An empty peer may not reply.
                // Correct the bookkeeping to what we actually advertised, then
                // immediately generate the real-heads follow-up in this batch.
                self.sync_state.last_sent_heads.clone_from(&msg.heads);
            }
            if !msg.changes.is_empty() {
                let unanswered = self.unanswered.get_or_insert(Unanswered {
                    messages: 0,
                    since: now,
                });
                unanswered.messages = unanswered.messages.saturating_add(1);
            }
            self.state.last_sent = Some(now);
            self.state.last_sent_heads = Some(msg.heads.clone());
            self.state.shared_heads = Some(self.sync_state.shared_heads.clone());
            self.dirty = true;
            messages.push((msg, duration));
            if !follow_up {
                break;
            }
        }
        self.quiet_at = messages.is_empty().then(|| heads.to_vec());
        messages
    }

    /// Whether changes for this peer wait for its answer (§10). The actor
    /// asks such a peer on every step (§13), so they go once the answer
    /// comes or `REPLY_TIMEOUT` has passed.
    pub(super) fn awaits_reply(&self) -> bool {
        self.unanswered
            .is_some_and(|u| u.messages >= MAX_UNANSWERED)
    }

    /// Whether this peer is catching up (§18): it has changes for us, this
    /// is its connection's first catch-up, and it began less than
    /// [`HOLD_AT_MOST`] ago. While one is, the document's changes wait
    /// for the peers that are already caught up ([`Self::holdable`]).
    pub(super) fn holds_others(&self, now: UnixTimestamp) -> bool {
        self.hold_ends_at().is_some_and(|end| now < end)
    }

    /// Whether this connection's first catch-up is under way (§18), its
    /// time bound passed or not.
    pub(super) fn in_catch_up(&self) -> bool {
        self.hold_ends_at().is_some()
    }

    /// When this peer's hold on the others ends at the latest.
    fn hold_ends_at(&self) -> Option<UnixTimestamp> {
        match self.catch_up {
            CatchUp::Since(since) if self.lacking => Some(since + HOLD_AT_MOST),
            _ => None,
        }
    }

    /// Whether messages for this peer may wait while another catches up
    /// (§18): it is not catching up itself, and it has had its answer to
    /// what it last said (we know its heads and have sent it something),
    /// so a phone opening the document is served at once.
    pub(super) fn holdable(&self) -> bool {
        !self.lacking && self.sync_state.their_heads.is_some() && self.state.last_sent.is_some()
    }

    /// The next time the actor must step for this peer though nothing
    /// arrives: when its wait for an answer times out (§10), or its hold
    /// on the others ends (§18).
    pub(super) fn step_due_at(&self, now: UnixTimestamp) -> Option<UnixTimestamp> {
        let reply_due = self
            .unanswered
            .filter(|u| u.messages >= MAX_UNANSWERED)
            .map(|u| u.since + REPLY_TIMEOUT);
        let hold_ends = self.hold_ends_at().filter(|&end| now < end);
        reply_due.into_iter().chain(hold_ends).min()
    }

    /// Records that the peer's message added changes to the document, when
    /// `flushes` writes had completed (§19).
    pub(super) fn gave_changes(&mut self, flushes: u64) {
        self.gave_changes_at = Some(flushes);
    }

    /// Whether a message to this peer must wait for the running writes
    /// (§3, §19): our heads would tell it that a change it has is safe. It
    /// has one if it gave us changes since every write last completed
    /// (`flushes`), or if the heads it told us name one of `unwritten`
    /// (it got it from us since).
    pub(super) fn waits_for_write(
        &self,
        flushes: u64,
        unwritten: &HashSet<automerge::ChangeHash>,
    ) -> bool {
        !unwritten.is_empty()
            && (self.gave_changes_at == Some(flushes)
                || self.their_heads_name(|hash| unwritten.contains(hash)))
    }

    /// Whether one of the heads this peer last told us is such a `hash`.
    fn their_heads_name(&self, hash: impl Fn(&automerge::ChangeHash) -> bool) -> bool {
        self.sync_state.their_heads.iter().flatten().any(hash)
    }

    pub(super) fn their_heads(&self) -> Option<Vec<automerge::ChangeHash>> {
        self.sync_state.their_heads.clone()
    }

    pub(super) fn pop(&mut self) -> Option<PeerDocState> {
        if self.dirty {
            self.dirty = false;
            Some(self.state.clone())
        } else {
            None
        }
    }

    pub(super) fn state(&self) -> &PeerDocState {
        &self.state
    }

    /// Bound buffering while an application-provided policy future is pending.
    /// Permit one oversized message so a legitimate full-document sync is not
    /// limited by this queue's byte budget; transports should bound frame size.
    pub(super) fn buffer_sync_message(
        &mut self,
        msg: SyncMessage,
        received_at: UnixTimestamp,
    ) -> bool {
        const MAX_MESSAGES: usize = 64;
        const MAX_BYTES: usize = 16 * 1024 * 1024;
        let message_bytes = |msg: &SyncMessage| match msg {
            SyncMessage::Sync { data } | SyncMessage::Request { data } => data.len(),
            SyncMessage::DocUnavailable => 0,
        };
        let queued_bytes = self
            .pending_sync_messages
            .iter()
            .fold(0usize, |bytes, (msg, _)| {
                bytes.saturating_add(message_bytes(msg))
            });
        if self.pending_sync_messages.len() >= MAX_MESSAGES
            || (!self.pending_sync_messages.is_empty()
                && queued_bytes.saturating_add(message_bytes(&msg)) > MAX_BYTES)
        {
            return false;
        }
        self.pending_sync_messages.push((msg, received_at));
        true
    }

    pub(super) fn share_config(&self) -> Option<ShareConfig> {
        match self.share_policy {
            SharePolicyState::Ready(config) => Some(config),
            _ => None,
        }
    }

    pub(super) fn can_read(&self) -> bool {
        self.share_config().is_some_and(|config| config.can_read())
    }

    pub(super) fn can_write(&self) -> bool {
        self.share_config().is_some_and(|config| config.can_write())
    }

    pub(super) fn can_send(&self) -> bool {
        self.can_read()
            && (self.has_requested
                || self.sync_state.their_heads.is_some()
                || self.share_config().is_some_and(|config| config.announce))
    }

    pub(super) fn set_share_config(&mut self, config: ShareConfig) -> Option<ShareConfig> {
        self.ask_again();
        let previous = self.last_share_config.replace(config);
        self.share_policy = SharePolicyState::Ready(config);
        if self.state.last_sent.is_none() && self.state.last_received.is_none() {
            // Initialize sessions which have not exchanged any sync messages yet.
            self.reset_sync_state();
        } else {
            if previous.is_some_and(|old| !old.can_read()) && config.can_read() {
                // Denial may have dropped messages; restart the exchange on re-grant.
                self.sync_state.set_read_only(false);
            }
            self.sync_state.set_read_only(!config.can_write());
            self.state.shared_heads = Some(self.sync_state.shared_heads.clone());
            self.state.their_heads = self.sync_state.their_heads.clone();
            self.state.peer_read_only = self.sync_state.is_peer_read_only();
        }
        self.state.share_config = Some(config);
        self.dirty = true;
        previous
    }
}
