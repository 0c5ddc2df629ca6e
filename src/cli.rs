//! Command-line flags and subcommands. This layer only parses and wires;
//! the work happens in `server`, `store` and `content`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Glosa serves a community's articles and its members' shared notes to
/// phones that keep everything offline.
#[derive(Debug, Parser)]
#[command(name = "glosa", version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Flags for the default command, `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,

    /// Where documents are stored.
    #[arg(long, global = true, env = "GLOSA_DATA", default_value = "data")]
    pub data: PathBuf,

    /// Log filter, e.g. `info` or `glosa=debug,tower_http=debug`.
    /// Overrides `RUST_LOG`.
    #[arg(long, global = true)]
    pub log: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the library (the default).
    Serve(ServeArgs),
    /// Check every stored document and report damage; exits 1 if any.
    Check,
    /// Write one consistent archive of the data dir, while the server runs.
    Backup {
        /// The archive to write.
        file: PathBuf,
    },
    /// Rebuild an empty data dir from an archive made by `glosa backup`.
    Restore {
        /// The archive to read.
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on. Use 0.0.0.0:8080 to serve phones on the LAN.
    #[arg(long, env = "GLOSA_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Folder of articles, one Markdown file with front matter each.
    #[arg(long, env = "GLOSA_CONTENT", default_value = "content")]
    pub content: PathBuf,

    /// Benchmarks only: let clients create and write any document, as the
    /// reference sync server does, so syncbench's workloads can run. Never
    /// use it in production: anyone could store anything.
    #[arg(long, hide = true)]
    pub bench_open_documents: bool,
}
