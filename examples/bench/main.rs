//! The benchmark harness of issue 8: the real `plenum poll-once` over a
//! generated corpus served from loopback, measured from outside.
//!
//! ```sh
//! cargo build --release && cargo run --release --example bench -- --scaling 1000,10000,100000 --wrk
//! cargo build && cargo run --example bench -- --quick      # seconds: proves the tooling works
//! cargo run --release --example bench -- generate --out /tmp/corpus --feeds 200 --entries 50
//! ```
//!
//! Steps: generate the corpus ([`corpus`]), serve it on `--hosts` loopback
//! ports ([`server`]), write a config (`min_interval_secs = 0`,
//! `host_gap_ms = 0`, `jitter_secs = 0`), then run `plenum poll-once`
//! three times: first poll, nothing changed (all 304), 5 % of entries
//! changed. Each run is measured with `wait4(2)`: wall time, user and
//! system CPU, peak RSS. Then the scaling series (a store pre-filled with
//! N entries in-process, the publish time at N, and the first poll of the
//! corpus on top of it), and with `--wrk` the daemon's `/feed.atom` against
//! nginx serving the same file. Nothing leaves 127.0.0.1.

#[path = "corpus.rs"]
mod corpus;
#[path = "floor.rs"]
mod floor;
#[path = "server.rs"]
mod server;

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use corpus::{Corpus, Spec};
use server::Site;

#[derive(Parser)]
#[command(about = "Plenum's benchmark harness (issue 8)")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the corpus (feeds/<i>.xml, pages/<i>.html) under --out and exit.
    Generate {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 200)]
        feeds: usize,
        #[arg(long, default_value_t = 50)]
        entries: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// Feeds in the corpus (two per party).
    #[arg(long, default_value_t = 200)]
    feeds: usize,
    /// Entries per feed.
    #[arg(long, default_value_t = 50)]
    entries: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Loopback ports the feeds are spread over ("hosts").
    #[arg(long, default_value_t = 4)]
    hosts: usize,
    /// Parties that also get an html source (their listing page).
    #[arg(long, default_value_t = 0)]
    html: usize,
    /// Share of entries changed before the third poll.
    #[arg(long, default_value_t = 0.05)]
    change: f64,
    /// Stored-entry counts for the scaling series, e.g. 1000,10000,100000.
    #[arg(long, value_delimiter = ',')]
    scaling: Vec<usize>,
    /// Also compare `/feed.atom` served by `plenum run` with nginx (needs wrk and nginx).
    #[arg(long)]
    wrk: bool,
    /// Also measure the design card's crates alone over the first poll's
    /// corpus (feed-rs, ammonia, sled, atom_syndication), in this process.
    #[arg(long)]
    floor: bool,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 5)]
    wrk_secs: u32,
    /// wrk runs per server and encoding, plenum and nginx taking turns; the median is reported.
    #[arg(long, default_value_t = 5)]
    wrk_rounds: usize,
    /// The plenum binary (default: `plenum` beside this example's target directory).
    #[arg(long)]
    plenum: Option<PathBuf>,
    /// Work directory (kept); default: a temporary one, removed at the end.
    #[arg(long)]
    work: Option<PathBuf>,
    /// Also run `plenum run` through this many polls of a smaller corpus
    /// (`--day-feeds`), 5 s apart, 2 % of entries changed before each, and
    /// report its resident memory: a day of polling, compressed.
    #[arg(long, default_value_t = 0)]
    day_cycles: usize,
    /// Feeds of the `--day-cycles` corpus (72: the default config's 36 parties, two feeds each).
    #[arg(long, default_value_t = 72)]
    day_feeds: usize,
    /// A tiny corpus and checks that every step did what it should: for CI.
    #[arg(long)]
    quick: bool,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(MEASURE) {
        return measure_child(&args[2..]);
    }
    let cli = Cli::parse();
    if let Some(Cmd::Generate { out, feeds, entries, seed }) = cli.command {
        let corpus = Corpus::generate(Spec::new(feeds, entries, seed));
        return match corpus.write_to(&out) {
            Ok(bytes) => {
                println!("wrote {feeds} feeds × {entries} entries and {feeds} listing pages ({}) under {}", mb(bytes), out.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot write the corpus under {}: {e}", out.display());
                ExitCode::FAILURE
            }
        };
    }
    let mut args = cli.run;
    if args.quick {
        args.feeds = 8;
        args.entries = 10;
        args.html = 2;
        args.scaling = vec![200];
        args.floor = true;
    }
    match run(&args) {
        Ok(problems) if problems.is_empty() => ExitCode::SUCCESS,
        Ok(problems) => {
            for p in problems {
                eprintln!("bench: FAILED: {p}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

type Fallible<T> = Result<T, String>;

/// One measured child process.
struct Usage {
    wall: Duration,
    user: Duration,
    sys: Duration,
    max_rss_kb: u64,
    success: bool,
    stdout: String,
    stderr: String,
}

impl Usage {
    fn cpu(&self) -> Duration {
        self.user + self.sys
    }
}

/// Runs `cmd` to the end and measures it with `wait4(2)`: its own rusage,
/// not this process's nor its other children's.
///
/// The child is started by a fresh, small copy of this program
/// ([`MEASURE`]), not by this process: a child's peak RSS (`ru_maxrss`)
/// counts the memory of the process that started it as it was at the
/// exec, and this one holds the whole corpus.
fn measure(cmd: Command) -> Fallible<Usage> {
    let report = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut wrapped = Command::new(exe);
    wrapped.arg(MEASURE).arg(report.path()).arg(cmd.get_program()).args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => wrapped.env(name, value),
            None => wrapped.env_remove(name),
        };
    }
    let started = Instant::now();
    let output = wrapped.output().map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    let wall = started.elapsed();
    let text = std::fs::read_to_string(report.path()).map_err(|e| e.to_string())?;
    let fields: Vec<u64> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    let [user_us, sys_us, max_rss_kb, code] = fields[..] else {
        return Err(format!("{cmd:?} was not measured: {}", String::from_utf8_lossy(&output.stderr)));
    };
    Ok(Usage {
        wall,
        user: Duration::from_micros(user_us),
        sys: Duration::from_micros(sys_us),
        max_rss_kb,
        success: code == 0,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// `bench __measure REPORT PROGRAM ARGS...`: runs PROGRAM with this
/// process's stdio, and writes `user_us sys_us max_rss_kb exit_code` of it
/// to REPORT.
const MEASURE: &str = "__measure";

fn measure_child(args: &[String]) -> ExitCode {
    let [report, program, rest @ ..] = args else { return ExitCode::FAILURE };
    let child = match Command::new(program).args(rest).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("cannot start {program}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value, and wait4 writes only into `status` and `usage`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: `pid` is our own child, not yet reaped; the pointers are to live locals.
    if unsafe { libc::wait4(pid, &mut status, 0, &mut usage) } != pid {
        eprintln!("wait4 failed: {}", std::io::Error::last_os_error());
        return ExitCode::FAILURE;
    }
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) as u64 } else { 255 };
    let line = format!("{} {} {} {code}\n", micros(usage.ru_utime), micros(usage.ru_stime), usage.ru_maxrss);
    match std::fs::write(report, line) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write {report}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A `timeval` of `rusage` in microseconds.
fn micros(t: libc::timeval) -> u64 {
    t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64
}

/// What one `poll-once` did, from its output and the store it left.
struct PollFigures {
    label: String,
    usage: Usage,
    statuses: Vec<(String, usize)>,
    new: usize,
    updated: usize,
    publish_ms: Option<u64>,
    stored: usize,
    store_bytes: u64,
    fetched: (u64, u64, u64, u64),
}

impl PollFigures {
    fn status(&self, name: &str) -> usize {
        self.statuses.iter().find(|(s, _)| s == name).map_or(0, |(_, n)| *n)
    }

    fn print(&self) {
        let statuses: Vec<String> = self.statuses.iter().map(|(s, n)| format!("{s}={n}")).collect();
        println!(
            "{:<28} wall {:>7.3} s  cpu {:>7.3} s (user {:.3} + sys {:.3})  peak RSS {:>6.1} MB  new {:>6} updated {:>5}  stored {:>6}  store {:>8}  publish {:>6}  [{}]  server: 200×{} 304×{} ({})",
            self.label,
            self.usage.wall.as_secs_f64(),
            self.usage.cpu().as_secs_f64(),
            self.usage.user.as_secs_f64(),
            self.usage.sys.as_secs_f64(),
            self.usage.max_rss_kb as f64 / 1024.0,
            self.new,
            self.updated,
            self.stored,
            mb(self.store_bytes),
            self.publish_ms.map_or("-".to_string(), |ms| format!("{ms} ms")),
            statuses.join(" "),
            self.fetched.0,
            self.fetched.1,
            mb(self.fetched.3),
        );
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_048_576.0)
}

fn plenum_binary(args: &RunArgs) -> Fallible<PathBuf> {
    let path = match &args.plenum {
        Some(p) => p.clone(),
        None => {
            let exe = std::env::current_exe().map_err(|e| e.to_string())?;
            // target/<profile>/examples/bench -> target/<profile>/plenum
            exe.parent().and_then(Path::parent).map(|d| d.join("plenum")).ok_or("cannot locate the plenum binary; pass --plenum")?
        }
    };
    if !path.is_file() {
        return Err(format!("{} does not exist: build it first (`cargo build --release`), or pass --plenum", path.display()));
    }
    Ok(path)
}

fn poll_once(plenum: &Path, config: &Path, label: &str, site: &Site) -> Fallible<PollFigures> {
    site.counts();
    // BENCH_WRAP="perf record -g -o /tmp/perf.data --" runs the first poll under a profiler
    // (or the poll whose label starts with BENCH_WRAP_POLL, "poll 2" say).
    let mut cmd = wrapped(plenum, "BENCH_WRAP", label.starts_with(std::env::var("BENCH_WRAP_POLL").as_deref().unwrap_or("poll 1")));
    cmd.arg("--config").arg(config).arg("poll-once").env_remove("RUST_LOG").env("NO_COLOR", "1");

    let usage = measure(cmd)?;
    if !usage.success {
        return Err(format!("`plenum poll-once` failed ({label}):\n{}", usage.stderr));
    }
    let mut statuses: Vec<(String, usize)> = Vec::new();
    let (mut new, mut updated) = (0, 0);
    for line in usage.stdout.lines() {
        let field = |name: &str| line.split(' ').find_map(|f| f.strip_prefix(name)).map(str::to_string);
        let Some(status) = field("status=") else { continue };
        match statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, n)) => *n += 1,
            None => statuses.push((status, 1)),
        }
        new += field("new=").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        updated += field("updated=").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
    }
    let publish_ms = usage
        .stderr
        .lines()
        .filter(|l| l.contains(" published"))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("elapsed_ms=")).and_then(|v| v.parse().ok()))
        .next_back();
    let data = config.parent().expect("config dir").join("data");
    // Another build's store may have another layout: opening it here would migrate it.
    let stored = if std::env::var_os("BENCH_OTHER_BUILD").is_some() {
        0
    } else {
        plenum::store::Store::open(&data).map_err(|e| e.to_string())?.len()
    };
    Ok(PollFigures {
        label: label.to_string(),
        usage,
        statuses,
        new,
        updated,
        publish_ms,
        stored,
        store_bytes: dir_size(&data),
        fetched: site.counts(),
    })
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(read) = std::fs::read_dir(dir) else { return 0 };
    read.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn publish_corpus(site: &Site, corpus: &Corpus) -> u64 {
    let mut bytes = 0;
    for index in 0..corpus.feeds.len() {
        let xml = corpus.feed_xml(index).into_bytes();
        let html = corpus.listing_html(index).into_bytes();
        bytes += xml.len() as u64;
        site.put(&corpus::feed_path(index), xml, "application/rss+xml; charset=utf-8");
        site.put(&corpus::page_path(index), html, "text/html; charset=utf-8");
    }
    bytes
}

fn free_port() -> Fallible<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Writes the config (and an empty data dir) under `dir`.
fn setup(dir: &Path, corpus: &Corpus, site: &Site, listen: u16, html: usize) -> Fallible<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let config = dir.join("plenum.toml");
    std::fs::write(&config, corpus::config_toml(corpus, &site.ports, listen, html)).map_err(|e| e.to_string())?;
    Ok(config)
}

fn run(args: &RunArgs) -> Fallible<Vec<String>> {
    let plenum = plenum_binary(args)?;
    let temp = tempfile::TempDir::new().map_err(|e| e.to_string())?;
    let work = args.work.clone().unwrap_or_else(|| temp.path().to_path_buf());
    let mut problems = Vec::new();

    let started = Instant::now();
    let mut corpus = Corpus::generate(Spec::new(args.feeds, args.entries, args.seed));
    let site = Site::start(args.hosts).map_err(|e| format!("cannot start the loopback server: {e}"))?;
    let bytes = publish_corpus(&site, &corpus);
    println!(
        "corpus: {} feeds × {} entries = {} entries ({} of feeds, {} parties, {} html sources), seed {}, served on 127.0.0.1 ports {:?}; generated in {:.2} s",
        args.feeds,
        args.entries,
        corpus.entries(),
        mb(bytes),
        corpus.parties(),
        args.html.min(corpus.parties()),
        args.seed,
        site.ports,
        started.elapsed().as_secs_f64()
    );
    println!("plenum: {}", plenum.display());

    let main_dir = work.join("main");
    let listen = free_port()?;
    let config = setup(&main_dir, &corpus, &site, listen, args.html)?;
    let first = poll_once(&plenum, &config, "poll 1 (first)", &site)?;
    first.print();
    let second = poll_once(&plenum, &config, "poll 2 (unchanged)", &site)?;
    second.print();
    let (edited, added) = corpus.change(args.change);
    publish_corpus(&site, &corpus);
    let third = poll_once(&plenum, &config, &format!("poll 3 ({edited} edited, {added} new)"), &site)?;
    third.print();

    let sources = corpus.feeds.len() + args.html.min(corpus.parties());
    if first.status("ok") != sources {
        problems.push(format!("first poll: {} of {sources} sources ok", first.status("ok")));
    }
    if second.status("not-modified") != sources {
        problems.push(format!("second poll: {} of {sources} sources not modified", second.status("not-modified")));
    }
    if third.new + third.updated == 0 {
        problems.push("third poll: nothing new or updated".into());
    }
    if args.html == 0 && third.updated > edited {
        // Only an entry's own source rewrites it, so at most the edited items are updated
        // (an html source beside a feed may also fill what the feed lacks).
        problems.push(format!("third poll: {} entries updated, but only {edited} items were edited", third.updated));
    }
    if first.stored == 0 {
        problems.push("nothing stored".into());
    }

    if args.floor {
        problems.extend(print_floor(args, &first)?);
    }

    if !args.scaling.is_empty() {
        println!("\nscaling: the first poll of the same corpus on a store already holding N entries (pre-filled in-process)");
        let fresh = Corpus::generate(Spec::new(args.feeds, args.entries, args.seed));
        site.counts();
        publish_corpus(&site, &fresh);
        for &n in &args.scaling {
            let dir = work.join(format!("scale-{n}"));
            let config = setup(&dir, &fresh, &site, free_port()?, args.html)?;
            let Prefilled { stored: prefilled, fill_secs, reopen, publish } = prefill(&config, &fresh, n)?;
            let figures = poll_once(&plenum, &config, &format!("first poll over {prefilled} stored"), &site)?;
            println!(
                "N = {n:>6}: pre-filled {prefilled} in {fill_secs:.1} s, opened again in {:.0} ms (sled replaying the pre-fill's log); \
                 publish in-process at N: every document {:.1} ms, nothing changed {:.1} ms, after a one-party poll {:.1} ms",
                reopen.as_secs_f64() * 1000.0,
                publish.0.as_secs_f64() * 1000.0,
                publish.1.as_secs_f64() * 1000.0,
                publish.2.as_secs_f64() * 1000.0
            );
            figures.print();
            if figures.status("ok") != sources {
                problems.push(format!("scaling {n}: {} of {sources} sources ok", figures.status("ok")));
            }
            match startup(&plenum, &config, time_to_first_feed_limit()) {
                Ok(ready) => println!("N = {n:>6}: `plenum run` served /feed.atom {:.0} ms after start", ready.as_secs_f64() * 1000.0),
                Err(e) => problems.push(format!("scaling {n}: {e}")),
            }
        }
    }

    if args.day_cycles > 0 {
        println!();
        match daemon_day(&plenum, &site, &work, args) {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => problems.push(format!("daemon day: {e}")),
        }
    }

    if args.wrk {
        println!();
        match compare_with_nginx(&plenum, &config, &main_dir, args.wrk_secs, args.wrk_rounds) {
            Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
            Err(e) => problems.push(format!("wrk: {e}")),
        }
    }
    if args.work.is_some() {
        println!("\nwork directory kept: {}", work.display());
    }
    Ok(problems)
}

fn time_to_first_feed_limit() -> Duration {
    Duration::from_secs(60)
}

/// What [`prefill`] did and measured.
struct Prefilled {
    stored: usize,
    fill_secs: f64,
    /// Opening the store again afterwards.
    reopen: Duration,
    /// Publishing at that size: every document, again with nothing changed,
    /// after one new entry of one party.
    publish: (Duration, Duration, Duration),
}

/// Pre-fills the store of `config` with about `n` entries of another
/// corpus (same parties, older dates, other ids), files their languages,
/// times publishing at that size, and opens the store once more.
fn prefill(config_path: &Path, like: &Corpus, n: usize) -> Fallible<Prefilled> {
    let config = plenum::config::load(config_path).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let per_feed = n.div_ceil(like.feeds.len()).max(1);
    let mut spec = Spec::new(like.feeds.len(), per_feed, like.spec.seed + 1000);
    spec.syndicated = 0.0;
    spec.anchor = like.spec.anchor - chrono::Duration::days(91);
    spec.namespace = "old".into();
    let mut old = Corpus::generate(spec);
    // Exactly n: trim the last feeds' surplus.
    let mut surplus = old.entries().saturating_sub(n);
    for feed in old.feeds.iter_mut().rev() {
        let cut = surplus.min(feed.items.len());
        feed.items.truncate(feed.items.len() - cut);
        surplus -= cut;
    }
    let store = plenum::store::Store::open(&config.daemon.data_dir).map_err(|e| e.to_string())?;
    let stored = corpus::fill_store(&config, &store, &old);
    plenum::publish::language::sync(&config, &store).map_err(|e| e.to_string())?;
    store.flush_blocking().map_err(|e| e.to_string())?;
    let fill = started.elapsed().as_secs_f64();
    let published = plenum::publish::Published::default();
    let t = Instant::now();
    plenum::publish::publish_all(&config, &store, &published).map_err(|e| e.to_string())?;
    let first = t.elapsed();
    let t = Instant::now();
    plenum::publish::publish_all(&config, &store, &published).map_err(|e| e.to_string())?;
    let again = t.elapsed();
    // What the daemon does after a poll that brought one party one entry.
    let party = &config.parties[0];
    let mut entry = store.newest_of_party(&party.id, 1).map_err(|e| e.to_string())?.pop().ok_or("no entry to copy")?;
    entry.key = plenum::normalize::EntryKey::from_stored(&format!("{}-next", entry.key.as_str()));
    entry.published = chrono::Utc::now();
    let language = |_: &plenum::normalize::Entry| party.languages.first().cloned().unwrap_or_default();
    store.upsert_batch(vec![(entry, false)], chrono::Utc::now(), Some(&language)).map_err(|e| e.to_string())?;
    let t = Instant::now();
    plenum::publish::publish_all(&config, &store, &published).map_err(|e| e.to_string())?;
    let after_poll = t.elapsed();
    store.flush_blocking().map_err(|e| e.to_string())?;
    // Every handle goes (the published documents' context holds one).
    drop((published, store));
    // sled replays at open the log written since the last open: all of the
    // pre-fill's here. Paid once, by whatever opens the store next (a daemon
    // restarted after a long run does the same), so it is measured here and
    // not left in the first poll.
    let t = Instant::now();
    let reopened = plenum::store::Store::open(&config.daemon.data_dir).map_err(|e| e.to_string())?;
    let reopen = t.elapsed();
    drop(reopened);
    Ok(Prefilled { stored, fill_secs: fill, reopen, publish: (first, again, after_poll) })
}

/// `--floor`: the crates alone over the first poll's corpus, set beside the
/// first poll. Returns what did not handle the whole corpus.
fn print_floor(args: &RunArgs, first: &PollFigures) -> Fallible<Vec<String>> {
    let corpus = Corpus::generate(Spec::new(args.feeds, args.entries, args.seed));
    let feeds: Vec<String> = (0..corpus.feeds.len()).map(|i| corpus.feed_xml(i)).collect();
    println!("\nfloor: the design card's crates alone over the first poll's corpus, in this process (see examples/bench/floor.rs)");
    let work = args.work.clone().unwrap_or_else(std::env::temp_dir);
    let steps = floor::measure(&corpus, &feeds, &work)?;
    let mut problems = Vec::new();
    for step in &steps {
        println!(
            "{:<55} cpu {:>7.3} s  wall {:>7.3} s  {:>6} {}",
            step.name,
            step.cpu.as_secs_f64(),
            step.wall.as_secs_f64(),
            step.count,
            step.what
        );
        let expected = match step.what {
            "documents" => corpus.parties() + 1,
            // A syndicated item in two feeds of one party is one record.
            "records" => {
                corpus.feeds.iter().flat_map(|f| f.items.iter().map(move |i| (f.party, i.id.as_str()))).collect::<HashSet<_>>().len()
            }
            _ => corpus.entries(),
        };
        if step.count != expected {
            problems.push(format!("floor: {} handled {} {}, expected {expected}", step.name, step.count, step.what));
        }
    }
    let crates: Duration = steps.iter().filter(|s| !s.variant).map(|s| s.cpu).sum();
    println!(
        "{:<55} cpu {:>7.3} s  (the first poll: {:.3} s, {:.1}× the crates alone)",
        "feed-rs + ammonia + sled (Plenum's rows) + atom",
        crates.as_secs_f64(),
        first.usage.cpu().as_secs_f64(),
        first.usage.cpu().as_secs_f64() / crates.as_secs_f64().max(1e-9)
    );
    Ok(problems)
}

/// A `plenum run` that is stopped (SIGTERM) and reaped when dropped.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

fn listen_port(config: &Path) -> Fallible<u16> {
    let text = std::fs::read_to_string(config).map_err(|e| e.to_string())?;
    text.lines()
        .find_map(|l| l.strip_prefix("listen = \"127.0.0.1:"))
        .and_then(|rest| rest.trim_end_matches('"').parse().ok())
        .ok_or_else(|| "no listen port in the config".to_string())
}

/// Starts `plenum run`; returns it once `/feed.atom` answers 200, and how long that took.
fn start_daemon(plenum: &Path, config: &Path, limit: Duration) -> Fallible<(Daemon, Duration)> {
    let port = listen_port(config)?;
    let started = Instant::now();
    // BENCH_DAEMON_WRAP="heaptrack -o /tmp/day" runs `plenum run` under a profiler.
    let mut command = wrapped(plenum, "BENCH_DAEMON_WRAP", true);
    let child = command
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start plenum run: {e}"))?;
    let daemon = Daemon(child);
    while started.elapsed() < limit {
        if http_status(port, "/feed.atom") == Some(200) {
            return Ok((daemon, started.elapsed()));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(format!("`plenum run` did not serve /feed.atom within {limit:?}"))
}

/// `plenum`, or, when `wrap` and the variable `var` names a command (a
/// profiler and its options), that command running `plenum`.
fn wrapped(plenum: &Path, var: &str, wrap: bool) -> Command {
    let prefix: Vec<String> =
        std::env::var(var).ok().filter(|_| wrap).map(|w| w.split_whitespace().map(str::to_string).collect()).unwrap_or_default();
    match prefix.split_first() {
        Some((program, rest)) => {
            let mut command = Command::new(program);
            command.args(rest).arg(plenum);
            command
        }
        None => Command::new(plenum),
    }
}

fn startup(plenum: &Path, config: &Path, limit: Duration) -> Fallible<Duration> {
    start_daemon(plenum, config, limit).map(|(_, ready)| ready)
}

/// `plenum run` polling a corpus of `--day-feeds` feeds every 5 seconds
/// for `--day-cycles` polls, 2 % of the entries changed before each, with
/// a reader fetching every feed (gzip) after each: its resident memory
/// (`VmRSS`) along the way and its peak (`VmHWM`). `BENCH_DAEMON_CONFIG`
/// adds its lines to the config's `[daemon]` table (`document_cache_mb = 0`, say).
fn daemon_day(plenum: &Path, site: &Site, work: &Path, args: &RunArgs) -> Fallible<Vec<String>> {
    const EVERY: Duration = Duration::from_secs(6);
    let mut corpus = Corpus::generate(Spec::new(args.day_feeds, args.entries, args.seed + 7));
    site.counts();
    publish_corpus(site, &corpus);
    let dir = work.join("day");
    let port = free_port()?;
    let config = setup(&dir, &corpus, site, port, 0)?;
    let text = std::fs::read_to_string(&config).map_err(|e| e.to_string())?;
    let extra = std::env::var("BENCH_DAEMON_CONFIG").map(|v| format!("{v}\n")).unwrap_or_default();
    std::fs::write(&config, text.replacen("[daemon]\n", &format!("[daemon]\nschedule = \"*/6 * * * * *\"\n{extra}"), 1))
        .map_err(|e| e.to_string())?;
    let (daemon, _) = start_daemon(plenum, &config, Duration::from_secs(60))?;
    let pid = daemon.0.id();
    let status = |field: &str| -> Option<f64> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = text.lines().find(|l| l.starts_with(field))?;
        Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
    };
    let paths: Vec<String> = std::iter::once("/feed.atom".to_string())
        .chain((0..corpus.parties()).map(|p| format!("/parties/{}.atom", corpus::party_id(p))))
        .collect();
    let mut samples = Vec::new();
    let started = Instant::now();
    // Polls start at every sixth second of the clock: sample at the fifth,
    // when the poll and its publish are done, then read every feed and
    // change the corpus for the next poll.
    let phase = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as u64 % 6000;
    for _ in 0..args.day_cycles {
        std::thread::sleep(Duration::from_millis((5000 + 6000 - phase()) % 6000).max(Duration::from_millis(1000)));
        samples.push(status("VmRSS:").unwrap_or(0.0));
        for path in &paths {
            http_get_gzip(port, path);
        }
        corpus.change(0.02);
        publish_corpus(site, &corpus);
    }
    let stored = plenum_status_entries(plenum, &config);
    let cpu = process_cpu_seconds(pid);
    let rss = samples.iter().copied().fold(0.0, f64::max);
    Ok(vec![
        format!(
            "daemon: {} parties × 2 feeds × {} entries, {} polls {EVERY:?} apart ({:.0} s), every feed fetched (gzip) after each, 2 % of entries changed before each; {stored}",
            corpus.parties(),
            args.entries,
            args.day_cycles,
            started.elapsed().as_secs_f64()
        ),
        format!(
            "daemon: VmRSS between polls: after the first {:.1} MB, after the last {:.1} MB, highest {rss:.1} MB; VmHWM (peak, during a publish) {:.1} MB; CPU {}",
            samples.first().copied().unwrap_or(0.0),
            samples.last().copied().unwrap_or(0.0),
            status("VmHWM:").unwrap_or(0.0),
            cpu.map_or_else(|| "unknown".to_string(), |s| format!("{s:.2} s (user+sys, start-up and every poll)"))
        ),
        format!("daemon: VmRSS between polls, MB: {}", samples.iter().map(|m| format!("{m:.0}")).collect::<Vec<_>>().join(" ")),
    ])
}

/// The CPU time (user + sys) process `pid` has used so far, from `/proc`.
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_second > 0).then(|| ticks / per_second as f64)
}

/// What `plenum status` says about the store, while the daemon runs.
fn plenum_status_entries(plenum: &Path, config: &Path) -> String {
    let out = Command::new(plenum).arg("--config").arg(config).arg("status").output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    text.lines().find(|l| l.contains("entries")).map_or_else(|| "status unavailable".to_string(), |l| l.trim().to_string())
}

/// GETs `path` as a feed reader would (gzip), reading the whole answer.
fn http_get_gzip(port: u16, path: &str) -> usize {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return 0 };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n").is_err() {
        return 0;
    }
    let mut body = Vec::new();
    let _ = stream.read_to_end(&mut body);
    body.len()
}

fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// One wrk run's figures.
#[derive(Clone)]
struct WrkRun {
    requests: f64,
    transfer: String,
    latency: String,
}

/// `wrk -t2 -c32` on `/feed.atom` at `port` for `secs` seconds, with `header`.
fn wrk(port: u16, header: Option<&str>, secs: u32) -> Fallible<WrkRun> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t2", "-c32", &format!("-d{secs}s")]);
    if let Some(h) = header {
        cmd.args(["-H", h]);
    }
    cmd.arg(format!("http://127.0.0.1:{port}/feed.atom"));
    let out = cmd.output().map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let pick = |key: &str| text.lines().find_map(|l| l.trim().strip_prefix(key).map(|v| v.trim().to_string()));
    let requests = pick("Requests/sec:").and_then(|r| r.parse::<f64>().ok()).ok_or_else(|| format!("wrk printed no rate: {text}"))?;
    let latency =
        text.lines().find(|l| l.trim_start().starts_with("Latency")).unwrap_or("").split_whitespace().nth(1).unwrap_or("?").to_string();
    Ok(WrkRun { requests, transfer: pick("Transfer/sec:").unwrap_or_default(), latency })
}

/// `/feed.atom` from `plenum run` and from nginx (a copy of the same file,
/// with a gzip copy beside it for `gzip_static`), with wrk, taking turns.
fn compare_with_nginx(plenum: &Path, config: &Path, dir: &Path, secs: u32, rounds: usize) -> Fallible<Vec<String>> {
    for tool in ["wrk", "nginx"] {
        if Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().map(|o| !o.status.success()).unwrap_or(true) {
            return Err(format!("{tool} is not installed (apt-get install -y wrk nginx)"));
        }
    }
    let (daemon, ready) = start_daemon(plenum, config, Duration::from_secs(60))?;
    let plenum_port = listen_port(config)?;
    let nginx_dir = dir.join("nginx");
    let root = nginx_dir.join("root");
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    let feed = std::fs::read(dir.join("public/feed.atom")).map_err(|e| format!("public/feed.atom: {e}"))?;
    std::fs::write(root.join("feed.atom"), &feed).map_err(|e| e.to_string())?;
    let gz = Command::new("gzip").arg("-9").arg("-k").arg("-f").arg(root.join("feed.atom")).status().map_err(|e| e.to_string())?;
    if !gz.success() {
        return Err("gzip failed".into());
    }
    let nginx_port = free_port()?;
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 { "user root;\n" } else { "" };
    let d = nginx_dir.display();
    let conf = format!(
        "{user}worker_processes 2;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 1024; }}\n\
         http {{\n access_log off;\n sendfile on;\n tcp_nopush on;\n keepalive_requests 100000;\n gzip_static on;\n etag on;\n\
         types {{ application/atom+xml atom; }}\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n server {{ listen 127.0.0.1:{nginx_port}; root {}; }}\n}}\n",
        root.display()
    );
    std::fs::write(nginx_dir.join("nginx.conf"), conf).map_err(|e| e.to_string())?;
    let nginx = Daemon(
        Command::new("nginx")
            .arg("-p")
            .arg(&nginx_dir)
            .arg("-e")
            .arg(nginx_dir.join("error.log"))
            .arg("-c")
            .arg(nginx_dir.join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start nginx: {e}"))?,
    );
    let t = Instant::now();
    while http_status(nginx_port, "/feed.atom") != Some(200) {
        if t.elapsed() > Duration::from_secs(10) {
            return Err(format!("nginx did not start; see {d}/error.log"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut lines = vec![format!(
        "wrk: /feed.atom ({}), `plenum run` ready after {:.0} ms; wrk -t2 -c32 -d{secs}s, {rounds} rounds each, plenum on :{plenum_port}, nginx (2 workers, sendfile, gzip_static) on :{nginx_port}",
        mb(feed.len() as u64),
        ready.as_secs_f64() * 1000.0
    )];
    // The machine also runs wrk, and its speed drifts: the servers take
    // turns, round after round, and each is reported by its median round.
    for (encoding, header) in [("identity", None), ("gzip", Some("Accept-Encoding: gzip")), ("br", Some("Accept-Encoding: br"))] {
        // Debian's nginx has no brotli module.
        let servers: &[(&str, u16)] =
            if encoding == "br" { &[("plenum", plenum_port)] } else { &[("plenum", plenum_port), ("nginx", nginx_port)] };
        let mut runs: Vec<Vec<WrkRun>> = vec![Vec::new(); servers.len()];
        for _ in 0..rounds.max(1) {
            for ((name, port), runs) in servers.iter().zip(&mut runs) {
                match wrk(*port, header, secs) {
                    Ok(run) => runs.push(run),
                    Err(e) => lines.push(format!("  {name:<6} {encoding:<8} a round failed: {e}")),
                }
            }
        }
        for ((name, _), runs) in servers.iter().zip(&runs) {
            let mut sorted: Vec<&WrkRun> = runs.iter().collect();
            sorted.sort_by(|a, b| a.requests.total_cmp(&b.requests));
            let Some(median) = sorted.get(sorted.len() / 2) else { continue };
            lines.push(format!(
                "  {name:<6} {encoding:<8} {:>10.0} req/s (rounds in order: {})  {:>9}/s  mean latency {}",
                median.requests,
                runs.iter().map(|r| format!("{:.0}", r.requests)).collect::<Vec<_>>().join(", "),
                median.transfer,
                median.latency
            ));
        }
        if let [plenum, nginx] = &runs[..] {
            // Rounds are pairs run back to back: their ratios cancel most of the drift.
            let mut ratios: Vec<f64> = plenum.iter().zip(nginx).map(|(p, n)| p.requests / n.requests).collect();
            ratios.sort_by(f64::total_cmp);
            if let Some(ratio) = ratios.get(ratios.len() / 2) {
                lines.push(format!("  plenum/nginx {encoding:<8} {:.0} % (median of the rounds' ratios)", 100.0 * ratio));
            }
        }
    }
    drop(nginx);
    drop(daemon);
    Ok(lines)
}
