use crate::{ConnectionId, UnixTimestamp};

use super::DocMessage;

/// Messages sent from the hub to document actors.
#[derive(Debug, Clone)]
pub struct HubToDocMsg(pub(crate) HubToDocMsgPayload);

impl HubToDocMsg {
    /// Install a sharing decision on all current connections to this peer,
    /// superseding any pending initial policy checks.
    pub fn update_share_policy(peer_id: crate::PeerId, config: crate::ShareConfig) -> Self {
        Self(HubToDocMsgPayload::UpdateSharePolicy { peer_id, config })
    }
}

#[derive(Debug, Clone)]
pub(crate) enum HubToDocMsgPayload {
    /// Request the actor to terminate gracefully.
    Terminate,

    /// The document has been idle with peers attached: drop its operations
    /// until it is needed (vendor/README.md §17).
    Sleep,

    /// The time the actor asked to be stepped at has come (§18).
    Tick,

    /// Something now reads connection info: report every peer's state, and
    /// each change from now on (§23).
    ReportPeerStates,

    UpdateSharePolicy {
        peer_id: crate::PeerId,
        config: crate::ShareConfig,
    },

    NewConnection {
        connection_id: crate::ConnectionId,
        peer_id: crate::PeerId,
    },

    /// Notify the actor that a connection has been closed.
    ConnectionClosed { connection_id: crate::ConnectionId },

    HandleDocMessage {
        connection_id: ConnectionId,
        message: DocMessage,
        received_at: UnixTimestamp,
    },
}
