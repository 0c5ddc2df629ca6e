//! The `/sync` WebSocket: the automerge-repo protocol through samod, with
//! what samod leaves to us — who may read or write what (`policy`), and a
//! socket that pings, enforces limits and notices dead phones (`socket`),
//! checks on messages and chunks before automerge sees them (`limits`,
//! `chunks`), answers for documents we do not serve (`unknown`),
//! counters for `/metrics` (`metrics`), and the change feed that spares
//! a reconnecting phone syncing what did not change (`feed`).

pub mod cbor;
pub mod chunks;
pub mod feed;
pub mod limits;
pub mod metrics;
pub mod policy;
pub mod quota;
pub mod socket;
pub mod unknown;

pub use policy::Policy;
