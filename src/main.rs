//! The `plenum` command line: parse arguments, call the library, map
//! outcomes to exit codes (0 done, 1 could not work, 2 bad config).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use plenum::config::{self, Config};
use plenum::daemon;
use plenum::store::Store;
use tracing_subscriber::EnvFilter;

/// Plenum: a news wire of the world's communist and workers' parties.
///
/// Polls each party's feeds on a schedule, keeps every entry once in a
/// store on disk, and republishes them as a merged Atom feed and one feed
/// per party, over HTTP and as static files.
#[derive(Parser)]
#[command(name = "plenum", version, about, long_about)]
struct Cli {
    /// The config file; relative paths inside it are relative to its folder.
    #[arg(long, short, global = true, default_value = "config/plenum.toml", env = "PLENUM_CONFIG")]
    config: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: poll on schedule, publish, serve, until SIGTERM/SIGINT.
    Run,
    /// Poll every enabled source once, store, publish, print one line per source.
    PollOnce,
    /// Check the config and report every error with file:line:column.
    CheckConfig,
    /// List parties and sources with their state.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tokio_cron_scheduler=warn")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();

    let config = match config::load(&cli.config) {
        Ok(config) => config,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::CheckConfig => {
            let sources = config.sources().count();
            let enabled = config.sources().filter(|(_, s)| s.enabled).count();
            println!("{}: valid ({} parties, {sources} sources, {enabled} enabled)", cli.config.display(), config.parties.len());
            ExitCode::SUCCESS
        }
        Command::List => list(&config),
        Command::PollOnce => with_runtime(|| async {
            match daemon::poll_once(config).await {
                Ok(reports) => {
                    for report in &reports {
                        println!("{}", report.line());
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("plenum: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
        Command::Run => with_runtime(|| async {
            match daemon::run(config).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("plenum: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
    }
}

fn with_runtime<F, Fut>(f: F) -> ExitCode
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(f()),
        Err(e) => {
            eprintln!("plenum: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

fn list(config: &Config) -> ExitCode {
    let store = match Store::open(&config.daemon.data_dir) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("plenum: {e}");
            return ExitCode::FAILURE;
        }
    };
    for party in &config.parties {
        println!("{}  {}  [{}]  {} entries", party.id, party.display_name(), party.country, store.count_of_party(&party.id));
        for source in &party.sources {
            let state = store.source_state(&source.id).unwrap_or_default();
            let status = match (state.last_status, state.last_http_status) {
                (Some(s), Some(code)) => format!("{} ({code})", s.as_str()),
                (Some(s), None) => s.as_str().to_string(),
                (None, _) => "never polled".to_string(),
            };
            let last = state.last_poll.map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string());
            let enabled = if source.enabled { "" } else { "  (disabled)" };
            println!(
                "  {}  {}  status={}  last_poll={}  entries={}  {}{enabled}",
                source.id,
                source.kind,
                status.replace(' ', "-"),
                last,
                state.entries_added,
                source.url
            );
            if let Some(error) = &state.last_error {
                println!("      last error: {error} ({} in a row)", state.consecutive_failures);
            }
        }
    }
    ExitCode::SUCCESS
}
