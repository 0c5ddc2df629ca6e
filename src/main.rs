//! The binary's edge: parse flags, set up logging, run a command, and turn
//! errors into a message and an exit code.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use glosa::cli::{Cli, Command};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log.as_deref());
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("glosa: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(flag: Option<&str>) {
    let filter = match flag {
        Some(f) => EnvFilter::new(f),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    // Colour only on a terminal: journald and log files get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => serve(cli.serve, cli.data),
        Some(Command::Serve(args)) => serve(args, cli.data),
        Some(Command::Check) => {
            let report = glosa::store::check(&cli.data)
                .with_context(|| format!("checking {}", cli.data.display()))?;
            print!("{report}");
            Ok(if report.is_healthy() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(Command::Backup { file }) => {
            let summary = glosa::store::backup(&cli.data, &file).with_context(|| {
                format!("backing up {} to {}", cli.data.display(), file.display())
            })?;
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Restore { file }) => {
            let summary = glosa::store::restore(&file, &cli.data).with_context(|| {
                format!("restoring {} into {}", file.display(), cli.data.display())
            })?;
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// See `serve`.
const MAX_STORAGE_THREADS: usize = 16;

fn serve(args: glosa::cli::ServeArgs, data: std::path::PathBuf) -> anyhow::Result<ExitCode> {
    glosa::memory::tune();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(usize::from(args.threads))
        // Every storage read and write is a blocking task. tokio's default
        // of up to 512 threads let a first install of 1,000 documents start
        // 96, each keeping ~90 KB resident until it idled out 10 s later
        // (9 MB on a 10 MB server). The disk, not the thread count, bounds
        // storage work; 16 keep enough writes in flight for the file
        // system to batch their fsyncs, and they go when the burst is over,
        // as its documents do.
        .max_blocking_threads(MAX_STORAGE_THREADS)
        .thread_keep_alive(glosa::server::STORAGE_THREAD_IDLE)
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(glosa::server::run(glosa::server::Config {
        addr: args.addr,
        data,
        content: args.content,
        open_documents: args.bench_open_documents,
    }))?;
    Ok(ExitCode::SUCCESS)
}
