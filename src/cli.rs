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

    /// Threads that run the sync protocol and HTTP; storage reads and
    /// writes have their own. One is the cheapest per message: the
    /// protocol's hub takes one lock per event anyway, and a second thread
    /// mostly adds wake-ups (relaying a discussion to 200 readers took 12 %
    /// less CPU on one than on two, see bench/README.md). Raise it only if
    /// `glosa` keeps a core busy.
    #[arg(long, env = "GLOSA_THREADS", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: u16,

    /// Benchmarks only: let clients create and write any document, as the
    /// reference sync server does, so syncbench's workloads can run. Never
    /// use it in production: anyone could store anything.
    #[arg(long, hide = true)]
    pub bench_open_documents: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_protocol_thread_unless_asked() {
        let cli = Cli::try_parse_from(["glosa"]).unwrap();
        assert_eq!(cli.serve.threads, 1);
        let cli = Cli::try_parse_from(["glosa", "serve", "--threads", "4"]).unwrap();
        let Some(Command::Serve(args)) = cli.command else {
            panic!("expected serve");
        };
        assert_eq!(args.threads, 4);
    }

    #[test]
    fn zero_threads_is_refused_with_the_range() {
        let err = Cli::try_parse_from(["glosa", "--threads", "0"]).unwrap_err();
        assert!(err.to_string().contains("1..=256"), "{err}");
    }
}
