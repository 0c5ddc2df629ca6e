//! Glosa: a community's articles and shared notes, served as Automerge documents.
//!
//! See ARCHITECTURE.md for the map of modules and how data flows.

pub mod bundle;
pub mod cli;
pub mod compress;
pub mod content;
pub mod import;
pub mod memory;
pub mod note_count;
pub mod render;
pub mod schema;
pub mod server;
pub mod store;
pub mod sync;
pub mod web;
