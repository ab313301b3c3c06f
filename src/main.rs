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

    /// Log format on stderr: human-readable text, or JSON lines for log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "PLENUM_LOG_FORMAT")]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: poll on schedule, publish, serve, until SIGTERM/SIGINT.
    Run,
    /// Poll every enabled source once, store, publish, print one line per source.
    ///
    /// Sources waiting for a server's Retry-After or for backoff after
    /// failures are skipped, and their lines say until when.
    PollOnce {
        /// Poll them all the same (and sources disabled by a 410 Gone).
        #[arg(long)]
        force: bool,
    },
    /// Clear a source's failure state: backoff, 410 Gone, a moved or discovered address.
    Reset {
        /// The source's id, as `list` shows it (such as `pcp/rss`).
        source: String,
    },
    /// Check the config and report every error with file:line:column.
    CheckConfig,
    /// Each source's health, from the running daemon (or the store when it is stopped).
    Status,
    /// List parties and sources with their state.
    List,
    /// Add the feeds of an OPML file as sources of configured parties.
    ///
    /// Each feed goes to the party named by --party, else to the party an
    /// enclosing OPML folder is named after (id, abbreviation or name). The
    /// config file defining the party is edited in place (comments kept) and
    /// checked; addresses already configured are skipped.
    ImportOpml {
        /// The OPML file.
        file: PathBuf,
        /// Add every feed to this party.
        #[arg(long)]
        party: Option<String>,
    },
    /// Write every entry and source state as JSON Lines (by entry key), to FILE or stdout.
    ///
    /// Stop the daemon first. The file is written beside FILE and renamed
    /// when complete. `plenum import` loads it into an empty store.
    Export {
        /// Where to write; default stdout.
        file: Option<PathBuf>,
    },
    /// Load a `plenum export` file into an empty store (data_dir), rebuilding every index.
    Import {
        /// The export file.
        file: PathBuf,
    },
    /// Rewrite the store offline (export, import into a fresh directory, swap): gives back the space sled keeps after deletes.
    Compact,
    /// Fetch one source once and show what Plenum would read from it; stores nothing.
    ///
    /// This is how to write selectors for a new html source: edit the config,
    /// run test-source, read the items, dates and warnings, repeat.
    TestSource {
        /// The party's id.
        party: String,
        /// Which of its sources: its number (1-based, as `list` shows) or its id. Default: the first.
        source: Option<String>,
    },
}

// jemalloc, with the settings compiled in by `plenum::ops::memory`.
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    plenum::build_id();
    let cli = Cli::parse();
    init_logging(cli.log_format);

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
        Command::Status => status(&config),
        Command::ImportOpml { file, party } => import_opml(&config, &file, party.as_deref()),
        Command::TestSource { party, source } => with_runtime(|| async {
            match daemon::test_source(&config, &party, source.as_deref()).await {
                Ok(test) => {
                    print_source_test(&test);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("plenum: {e}");
                    ExitCode::FAILURE
                }
            }
        }),
        Command::Reset { source } => reset(&config, &source),
        Command::Export { file } => backup_command(plenum::ops::backup::export(&config, file.as_deref()).map(|s| {
            let to = file.as_deref().map_or("stdout".to_string(), |f| f.display().to_string());
            format!("exported {} entries and {} sources to {to}", s.entries, s.sources)
        })),
        Command::Import { file } => backup_command(
            plenum::ops::backup::import(&config, &file)
                .map(|s| format!("imported {} entries and {} sources into {}", s.entries, s.sources, config.daemon.data_dir.display())),
        ),
        Command::Compact => backup_command(plenum::ops::backup::compact(&config).map(|r| {
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            format!(
                "compacted {} entries and {} sources: {:.1} MiB -> {:.1} MiB",
                r.entries,
                r.sources,
                mib(r.bytes_before),
                mib(r.bytes_after)
            )
        })),
        Command::PollOnce { force } => with_runtime(|| async {
            match daemon::poll_once(config, force).await {
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

/// `plenum import-opml`: one line per feed outline, then a summary.
fn import_opml(config: &Config, file: &std::path::Path, party: Option<&str>) -> ExitCode {
    use plenum::publish::opml::{self, ImportError, Imported};
    match opml::import(config, file, party) {
        Ok(lines) => {
            let added = lines.iter().filter(|l| matches!(l, Imported::Added { .. })).count();
            for line in &lines {
                match line {
                    Imported::Added { party, url, file } => println!("added party={party} url={url} file={}", file.display()),
                    Imported::Skipped { url, reason } => println!("skipped url={url} reason=\"{reason}\""),
                }
            }
            println!("{added} source(s) added; run `plenum check-config && plenum poll-once` to read them");
            ExitCode::SUCCESS
        }
        Err(e @ ImportError::Invalid(_)) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Logs on stderr: `RUST_LOG` sets the levels; JSON on request; under
/// systemd (journald adds its own timestamps) no time and no colours.
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,tokio_cron_scheduler=warn"));
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match (format, under_journald) {
        (LogFormat::Json, _) => builder.json().flatten_event(true).with_current_span(true).init(),
        (LogFormat::Text, true) => builder.without_time().with_ansi(false).init(),
        (LogFormat::Text, false) => builder.with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()).init(),
    }
}

/// `plenum status`: asks the running daemon; if none answers, reads the store.
fn status(config: &Config) -> ExitCode {
    let addr = std::fs::read_to_string(daemon::listening_file(config))
        .ok()
        .and_then(|a| a.trim().parse::<std::net::SocketAddr>().ok())
        .unwrap_or(config.daemon.listen);
    let from_daemon = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).ok().and_then(|mut stream| {
        use std::io::{Read, Write};
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        stream.write_all(format!("GET /status HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let (head, body) = response.split_once("\r\n\r\n")?;
        head.contains(" 200 ").then(|| body.to_string())
    });
    if let Some(body) = from_daemon {
        print!("{body}");
        return ExitCode::SUCCESS;
    }
    match Store::open(&config.daemon.data_dir) {
        Ok(store) => {
            print!("{}", plenum::ops::health::status_report(config, &store));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("plenum: no daemon answers on {addr}, and {e}");
            ExitCode::FAILURE
        }
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

fn humantime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

fn print_source_test(test: &daemon::SourceTest) {
    let r = &test.reading;
    println!("{}, {} source {}: {}", test.party.display_name(), test.source.kind, test.source.id, test.source.url);
    println!(
        "HTTP {} · {} bytes · {} · {} in {} ms",
        test.http,
        test.bytes,
        test.content_type.as_deref().unwrap_or("no content type"),
        match r.pages {
            1 => "1 page".to_string(),
            n => format!("{n} pages"),
        },
        test.elapsed.as_millis()
    );
    if let Some(found) = &r.discovered {
        println!("the address is a web page; it names the feed {found}, which was read instead");
    }
    println!(
        "read as {}: {} items{}",
        r.feed.format,
        r.feed.items.len(),
        if r.details > 0 { format!(", {} article pages fetched", r.details) } else { String::new() }
    );
    println!();
    for (i, item) in r.feed.items.iter().enumerate() {
        println!("{:>3}. {}", i + 1, item.title.as_deref().map(|t| t.trim()).unwrap_or("(no title)"));
        println!("     link: {}", item.link.as_deref().unwrap_or("(none)"));
        match (item.published.or(item.updated), &item.date_note) {
            (Some(at), Some(note)) => println!("     date: {} ({note})", at.format("%Y-%m-%d %H:%M UTC")),
            (Some(at), None) => println!("     date: {}", at.format("%Y-%m-%d %H:%M UTC")),
            (None, Some(note)) => println!("     date: none, would use first-seen time ({note})"),
            (None, None) => println!("     date: none, would use first-seen time"),
        }
        if let Some(summary) = item.summary_html.as_deref().or(item.content_html.as_deref()) {
            let text = plenum::normalize::text::from_html(summary);
            println!("     summary: {}", plenum::normalize::text::truncate_words(&text, 100));
        }
    }
    let dated = r.feed.items.iter().filter(|i| i.published.or(i.updated).is_some()).count();
    println!();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    println!(
        "{}, {dated} with dates, {} unreadable, {}",
        plural(r.feed.items.len(), "item"),
        plural(r.dates_unreadable, "date"),
        plural(r.warnings.len(), "warning")
    );
    for warning in &r.warnings {
        println!("warning: {warning}");
    }
}

/// `export`, `import`, `compact`: the summary on stderr (stdout may be the
/// export itself), exit 1 on failure.
fn backup_command(outcome: Result<String, plenum::ops::backup::OpsBackupError>) -> ExitCode {
    match outcome {
        Ok(summary) => {
            eprintln!("plenum: {summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("plenum: {e}");
            ExitCode::FAILURE
        }
    }
}

fn reset(config: &Config, source: &str) -> ExitCode {
    let Some((_, found)) = config.sources().find(|(_, s)| s.id.as_str() == source) else {
        eprintln!("plenum: no source `{source}` in {}; `plenum list` shows the ids", config.path.display());
        return ExitCode::from(2);
    };
    let store = match Store::open(&config.daemon.data_dir) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("plenum: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut state = store.source_state(&found.id).unwrap_or_default();
    state.gone = false;
    state.not_before = None;
    state.next_poll_at = None;
    state.consecutive_failures = 0;
    state.failing_since = None;
    state.url = None;
    state.url_reason = None;
    state.moving_to = None;
    state.moving_seen = 0;
    match store.put_source_state(&found.id, &state).and_then(|()| store.flush_blocking()) {
        Ok(()) => {
            println!("{source}: reset; the next poll uses {}", found.url);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("plenum: {e}");
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
                (Some(s), Some(code)) => format!("{} http={code}", s.as_str()),
                (Some(s), None) => format!("{} http=-", s.as_str()),
                (None, _) => "never-polled".to_string(),
            };
            let last = state.last_poll.map_or("-".to_string(), |t| t.format("%Y-%m-%d %H:%M:%SZ").to_string());
            let enabled = if source.enabled { "" } else { "  (disabled)" };
            println!(
                "  {}  {}  status={}  last_poll={}  entries={}  {}{enabled}",
                source.id, source.kind, status, last, state.entries_added, source.url
            );
            if state.dates_unreadable > 0 {
                let n = state.dates_unreadable;
                println!(
                    "      {n} date{} unreadable at the last read: those entries are dated by first sight",
                    if n == 1 { "" } else { "s" }
                );
            }
            let now = chrono::Utc::now();
            if state.failing(now, config.daemon.failing_after) {
                let since = state.failing_since.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_default();
                println!("      FAILING since {since}: still retried every {} at most", humantime(config.daemon.backoff_cap));
            }
            if let Some(reason) = state.wait_reason(now, false, false) {
                println!("      waiting: {reason}");
            }
            if let Some(url) = &state.url {
                let how = state.url_reason.as_deref().unwrap_or("moved");
                println!("      polled at {url} ({how}; `plenum reset {}` returns to the configured address)", source.id);
            }
            if let Some(at) = state.next_poll_at {
                println!("      next poll not before {}", at.format("%Y-%m-%d %H:%M:%SZ"));
            }
            if let Some(error) = &state.last_error {
                println!("      last error: {error} ({} in a row)", state.consecutive_failures);
            }
        }
    }
    ExitCode::SUCCESS
}
