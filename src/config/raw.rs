//! The config as written (TOML with positions), and its checks.
//!
//! Deserialising keeps each value's byte span (`toml::Spanned`), so a value
//! that parses but is wrong (a bad id, a relative URL, a broken schedule)
//! is still reported at its line and column.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::error::{ConfigError, ConfigIssue};
use crate::extract::html::{self, HtmlRules};

use super::model::{is_slug, Config, DaemonConfig, Party, PartyId, Source, SourceId, SourceKind};

const DEFAULT_SCHEDULE: &str = "0 */30 * * * *";
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_TITLE: &str = "Plenum: news of the communist and workers' parties";
const DEFAULT_MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMain {
    #[serde(default)]
    include: Vec<Spanned<String>>,
    daemon: Option<RawDaemon>,
    #[serde(default)]
    host: std::collections::BTreeMap<String, RawHost>,
    #[serde(default)]
    party: Vec<RawParty>,
}

/// An included file holds parties only.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartyFile {
    #[serde(default)]
    party: Vec<RawParty>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDaemon {
    data_dir: Option<Spanned<String>>,
    output_dir: Option<Spanned<String>>,
    listen: Option<Spanned<String>>,
    base_url: Option<Spanned<String>>,
    schedule: Option<Spanned<String>>,
    feed_size: Option<Spanned<i64>>,
    title: Option<Spanned<String>>,
    contact: Option<Spanned<String>>,
    max_body_bytes: Option<Spanned<i64>>,
    timeout_secs: Option<Spanned<i64>>,
    connect_timeout_secs: Option<Spanned<i64>>,
    concurrency: Option<Spanned<i64>>,
    jitter_secs: Option<Spanned<i64>>,
    websub_hub: Option<Spanned<String>>,
    proxy: Option<Spanned<String>>,
    host_gap_ms: Option<Spanned<i64>>,
    min_interval_secs: Option<Spanned<i64>>,
    max_interval_secs: Option<Spanned<i64>>,
    backoff_cap_secs: Option<Spanned<i64>>,
    failing_after_days: Option<Spanned<i64>>,
    max_redirects: Option<Spanned<i64>>,
    stall_timeout_secs: Option<Spanned<i64>>,
    adaptive: Option<bool>,
    retention_days: Option<Spanned<i64>>,
    max_entries_per_party: Option<Spanned<i64>>,
    prune_schedule: Option<Spanned<String>>,
    metrics_listen: Option<Spanned<String>>,
    header_timeout_secs: Option<Spanned<i64>>,
    document_cache_mb: Option<Spanned<i64>>,
    store_cache_mb: Option<Spanned<i64>>,
}

/// `[host."name"]`: what differs for one host.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHost {
    gap_ms: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    id: Spanned<String>,
    name: Spanned<String>,
    abbreviation: Spanned<String>,
    country: Spanned<String>,
    languages: Spanned<Vec<Spanned<String>>>,
    homepage: Spanned<String>,
    #[serde(default)]
    source: Vec<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: Option<Spanned<String>>,
    kind: Spanned<String>,
    url: Spanned<String>,
    schedule: Option<Spanned<String>>,
    enabled: Option<bool>,
    ignore_validators: Option<bool>,
    language: Option<Spanned<String>>,
    // html sources only
    item: Option<Spanned<String>>,
    title: Option<Spanned<String>>,
    link: Option<Spanned<String>>,
    date: Option<Spanned<String>>,
    date_format: Option<Spanned<String>>,
    summary: Option<Spanned<String>>,
    detail: Option<Spanned<bool>>,
    pages: Option<Spanned<i64>>,
    next_page: Option<Spanned<String>>,
    #[serde(default)]
    include: Vec<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
}

/// One parsed file and its text, for locating spans.
struct FileText {
    path: PathBuf,
    text: String,
}

impl FileText {
    fn issue<T>(&self, spanned: &Spanned<T>, key: impl Into<String>, message: impl Into<String>) -> ConfigIssue {
        ConfigIssue::at(&self.path, &self.text, spanned.span().start, key, message)
    }
}

pub(super) fn load(path: &Path) -> Result<Config, ConfigError> {
    let mut issues = Vec::new();
    let main = read(path).map_err(|issue| ConfigError { issues: vec![issue] })?;
    let raw: RawMain = parse(&main).map_err(|issue| ConfigError { issues: vec![issue] })?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();

    let mut daemon = check_daemon(&main, raw.daemon.unwrap_or_default(), &base_dir, &mut issues);
    let host_gaps = check_hosts(&main, &raw.host, &mut issues);
    if let Some(daemon) = daemon.as_mut() {
        daemon.host_gaps = host_gaps;
    }

    // Parties from the main file first, then from each include in order.
    let mut files: Vec<(FileText, Vec<RawParty>)> = vec![];
    let mut included = Vec::new();
    for inc in &raw.include {
        let inc_path = base_dir.join(inc.get_ref());
        match read(&inc_path) {
            Ok(file) => match parse::<RawPartyFile>(&file) {
                Ok(parsed) => included.push((file, parsed.party)),
                Err(issue) => issues.push(issue),
            },
            Err(_) => issues.push(main.issue(inc, "include", format!("cannot read included file {}", inc_path.display()))),
        }
    }
    files.push((main, raw.party));
    files.extend(included);

    let mut parties = Vec::new();
    let mut seen_ids: HashMap<String, String> = HashMap::new();
    let mut index = 0;
    for (file, raw_parties) in &files {
        for raw_party in raw_parties {
            let key = format!("party[{index}]");
            index += 1;
            if let Some(party) = check_party(file, raw_party, &key, &mut issues) {
                let here = file.issue(&raw_party.id, "", "").to_string();
                let here = here.trim_end_matches(": ").to_string();
                if let Some(first) = seen_ids.get(party.id.as_str()) {
                    issues.push(file.issue(
                        &raw_party.id,
                        format!("{key}.id"),
                        format!("duplicate party id `{}` (first defined at {first})", party.id),
                    ));
                } else {
                    seen_ids.insert(party.id.to_string(), here);
                    parties.push(party);
                }
            }
        }
    }

    if issues.is_empty() {
        if let Some(daemon) = daemon {
            return Ok(Config { path: path.to_path_buf(), daemon, parties });
        }
    }
    Err(ConfigError { issues })
}

fn read(path: &Path) -> Result<FileText, ConfigIssue> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(FileText { path: path.to_path_buf(), text }),
        Err(e) => Err(ConfigIssue::file(path, format!("cannot read the config file: {e}"))),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(file: &FileText) -> Result<T, ConfigIssue> {
    toml::from_str(&file.text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let key = key_at(&file.text, offset);
        ConfigIssue::at(&file.path, &file.text, offset, key, e.message().trim().to_string())
    })
}

/// The key written on the line of `offset` (`key = value`), or the table header.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[start..end].trim();
    if let Some((key, _)) = line.split_once('=') {
        key.trim().to_string()
    } else {
        line.trim_matches(|c| c == '[' || c == ']').trim().to_string()
    }
}

fn check_daemon(file: &FileText, raw: RawDaemon, base_dir: &Path, issues: &mut Vec<ConfigIssue>) -> Option<DaemonConfig> {
    let n = issues.len();
    let dir = |value: &Option<Spanned<String>>, default: &str| base_dir.join(value.as_ref().map_or(default, |v| v.get_ref().as_str()));
    let data_dir = dir(&raw.data_dir, "data");
    let output_dir = dir(&raw.output_dir, "public");

    let listen_text = raw.listen.as_ref().map_or(DEFAULT_LISTEN, |v| v.get_ref().as_str());
    let listen = match listen_text.parse::<SocketAddr>() {
        Ok(addr) => Some(addr),
        Err(_) => {
            if let Some(v) = &raw.listen {
                issues.push(file.issue(
                    v,
                    "daemon.listen",
                    format!("`{listen_text}` is not an address and port such as \"127.0.0.1:8080\" or \"[::]:8080\""),
                ));
            }
            None
        }
    };

    let base_url = match &raw.base_url {
        Some(v) => match http_url(v.get_ref()) {
            Ok(mut url) => {
                if !url.path().ends_with('/') {
                    url.set_path(&format!("{}/", url.path()));
                }
                Some(url)
            }
            Err(why) => {
                issues.push(file.issue(v, "daemon.base_url", why));
                None
            }
        },
        None => listen.and_then(|addr| Url::parse(&format!("http://{addr}/")).ok()),
    };

    let schedule = match &raw.schedule {
        Some(v) => {
            if let Err(why) = crate::schedule::check_cron(v.get_ref()) {
                issues.push(file.issue(v, "daemon.schedule", why));
            }
            v.get_ref().clone()
        }
        None => DEFAULT_SCHEDULE.to_string(),
    };

    let mut number = |value: &Option<Spanned<i64>>, key: &str, default: i64, min: i64, max: i64| -> i64 {
        match value {
            Some(v) if (min..=max).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => {
                issues.push(file.issue(v, format!("daemon.{key}"), format!("must be between {min} and {max}, not {}", v.get_ref())));
                default
            }
            None => default,
        }
    };
    let feed_size = number(&raw.feed_size, "feed_size", 100, 1, 10_000) as usize;
    let max_body_bytes = number(&raw.max_body_bytes, "max_body_bytes", DEFAULT_MAX_BODY_BYTES as i64, 1024, 1 << 30) as u64;
    let timeout = Duration::from_secs(number(&raw.timeout_secs, "timeout_secs", 60, 1, 3600) as u64);
    let connect_timeout = Duration::from_secs(number(&raw.connect_timeout_secs, "connect_timeout_secs", 10, 1, 600) as u64);
    let concurrency = number(&raw.concurrency, "concurrency", 8, 1, 256) as usize;
    let jitter = Duration::from_secs(number(&raw.jitter_secs, "jitter_secs", 30, 0, 3600) as u64);
    let host_gap = Duration::from_millis(number(&raw.host_gap_ms, "host_gap_ms", 2000, 0, 600_000) as u64);
    let min_interval = Duration::from_secs(number(&raw.min_interval_secs, "min_interval_secs", 900, 0, 7 * 86400) as u64);
    let max_interval = Duration::from_secs(number(&raw.max_interval_secs, "max_interval_secs", 86400, 60, 30 * 86400) as u64);
    let backoff_cap = Duration::from_secs(number(&raw.backoff_cap_secs, "backoff_cap_secs", 6 * 3600, 60, 7 * 86400) as u64);
    let failing_after = Duration::from_secs(86400 * number(&raw.failing_after_days, "failing_after_days", 7, 1, 365) as u64);
    let max_redirects = number(&raw.max_redirects, "max_redirects", 10, 0, 30) as usize;
    let stall_timeout = Duration::from_secs(number(&raw.stall_timeout_secs, "stall_timeout_secs", 30, 1, 3600) as u64);
    let header_timeout = Duration::from_secs(number(&raw.header_timeout_secs, "header_timeout_secs", 10, 1, 600) as u64);
    let document_cache_bytes = number(&raw.document_cache_mb, "document_cache_mb", 8, 0, 64 * 1024) as usize * 1024 * 1024;
    let default_store_cache_mb = (crate::store::DEFAULT_CACHE_BYTES / (1024 * 1024)) as i64;
    let store_cache_bytes = number(&raw.store_cache_mb, "store_cache_mb", default_store_cache_mb, 1, 64 * 1024) as u64 * 1024 * 1024;
    let retention_days = raw.retention_days.as_ref().map(|_| number(&raw.retention_days, "retention_days", 365, 1, 100 * 365) as u32);
    let max_entries_per_party = raw
        .max_entries_per_party
        .as_ref()
        .map(|_| number(&raw.max_entries_per_party, "max_entries_per_party", 10_000, 10, 10_000_000) as usize);
    if min_interval > max_interval {
        if let Some(v) = &raw.min_interval_secs {
            issues.push(file.issue(v, "daemon.min_interval_secs", "must not be larger than max_interval_secs"));
        }
    }
    let mut url_key = |value: &Option<Spanned<String>>, key: &str, schemes: &[&str]| -> Option<Url> {
        let v = value.as_ref()?;
        match Url::parse(v.get_ref().trim()) {
            Ok(url) if schemes.contains(&url.scheme()) && url.host().is_some() => Some(url),
            _ => {
                issues.push(file.issue(
                    v,
                    format!("daemon.{key}"),
                    format!("`{}` must be an absolute {} URL", v.get_ref(), schemes.join(" or ")),
                ));
                None
            }
        }
    };
    let websub_hub = url_key(&raw.websub_hub, "websub_hub", &["http", "https"]);
    let proxy = url_key(&raw.proxy, "proxy", &["http", "https", "socks5", "socks5h"]);
    let prune_schedule = match &raw.prune_schedule {
        Some(v) => {
            if let Err(why) = crate::schedule::check_cron(v.get_ref()) {
                issues.push(file.issue(v, "daemon.prune_schedule", why));
            }
            v.get_ref().clone()
        }
        None => "0 17 3 * * *".to_string(),
    };
    let metrics_listen = match &raw.metrics_listen {
        Some(v) => match v.get_ref().parse::<SocketAddr>() {
            Ok(addr) => Some(addr),
            Err(_) => {
                issues.push(file.issue(
                    v,
                    "daemon.metrics_listen",
                    format!("`{}` is not an address and port such as \"127.0.0.1:9090\"", v.get_ref()),
                ));
                None
            }
        },
        None => None,
    };

    let title = raw.title.map_or_else(|| DEFAULT_TITLE.to_string(), |t| t.into_inner());
    let contact = raw.contact.map(|c| c.into_inner());

    if issues.len() > n {
        return None;
    }
    Some(DaemonConfig {
        data_dir,
        output_dir,
        listen: listen?,
        base_url: base_url?,
        schedule,
        feed_size,
        title,
        contact,
        max_body_bytes,
        timeout,
        connect_timeout,
        concurrency,
        jitter,
        websub_hub,
        proxy,
        host_gap,
        host_gaps: std::collections::BTreeMap::new(),
        min_interval,
        max_interval,
        backoff_cap,
        failing_after,
        max_redirects,
        stall_timeout,
        adaptive: raw.adaptive.unwrap_or(false),
        retention_days,
        max_entries_per_party,
        prune_schedule,
        metrics_listen,
        header_timeout,
        document_cache_bytes,
        store_cache_bytes,
    })
}

/// `[host."name"]` tables: per-host gaps, keyed by lowercase host name.
fn check_hosts(
    file: &FileText,
    hosts: &std::collections::BTreeMap<String, RawHost>,
    issues: &mut Vec<ConfigIssue>,
) -> std::collections::BTreeMap<String, Duration> {
    let mut out = std::collections::BTreeMap::new();
    for (name, host) in hosts {
        if let Some(gap) = &host.gap_ms {
            if (0..=600_000).contains(gap.get_ref()) {
                out.insert(name.to_ascii_lowercase(), Duration::from_millis(*gap.get_ref() as u64));
            } else {
                issues.push(file.issue(
                    gap,
                    format!("host.\"{name}\".gap_ms"),
                    format!("must be between 0 and 600000, not {}", gap.get_ref()),
                ));
            }
        }
    }
    out
}

fn check_party(file: &FileText, raw: &RawParty, key: &str, issues: &mut Vec<ConfigIssue>) -> Option<Party> {
    let n = issues.len();
    let id = PartyId::parse(raw.id.get_ref()).map_err(|why| issues.push(file.issue(&raw.id, format!("{key}.id"), why))).ok();
    let nonempty = |v: &Spanned<String>, field: &str, issues: &mut Vec<ConfigIssue>| {
        if v.get_ref().trim().is_empty() {
            issues.push(file.issue(v, format!("{key}.{field}"), "must not be empty"));
        }
    };
    nonempty(&raw.name, "name", issues);
    nonempty(&raw.abbreviation, "abbreviation", issues);

    let country = raw.country.get_ref();
    if !(country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase())) {
        issues.push(file.issue(
            &raw.country,
            format!("{key}.country"),
            format!("`{country}` is not an ISO 3166-1 alpha-2 code such as \"PT\" (two capital letters)"),
        ));
    }
    for lang in raw.languages.get_ref() {
        if !is_language_tag(lang.get_ref()) {
            issues.push(file.issue(
                lang,
                format!("{key}.languages"),
                format!("`{}` is not a language tag such as \"pt\" or \"pt-BR\"", lang.get_ref()),
            ));
        }
    }
    let homepage =
        http_url(raw.homepage.get_ref()).map_err(|why| issues.push(file.issue(&raw.homepage, format!("{key}.homepage"), why))).ok();

    let mut sources = Vec::new();
    if let Some(party_id) = &id {
        let mut names: HashMap<String, ()> = HashMap::new();
        for (i, raw_source) in raw.source.iter().enumerate() {
            let key = format!("{key}.source[{i}]");
            if let Some(source) = check_source(file, raw_source, party_id, &key, issues) {
                if names.insert(source.id.to_string(), ()).is_some() {
                    let at = raw_source.id.as_ref().unwrap_or(&raw_source.url);
                    issues.push(file.issue(
                        at,
                        key,
                        format!("two sources of party `{party_id}` have the id `{}` (the same URL twice?)", source.id),
                    ));
                } else {
                    sources.push(source);
                }
            }
        }
    }

    if issues.len() > n {
        return None;
    }
    Some(Party {
        id: id?,
        name: raw.name.get_ref().trim().to_string(),
        abbreviation: raw.abbreviation.get_ref().trim().to_string(),
        country: country.clone(),
        languages: raw.languages.get_ref().iter().map(|l| l.get_ref().clone()).collect(),
        homepage: homepage?,
        sources,
    })
}

fn check_source(file: &FileText, raw: &RawSource, party: &PartyId, key: &str, issues: &mut Vec<ConfigIssue>) -> Option<Source> {
    let n = issues.len();
    let kind = match raw.kind.get_ref().as_str() {
        "feed" => Some(SourceKind::Feed),
        "html" => Some(SourceKind::Html),
        other => {
            issues.push(file.issue(
                &raw.kind,
                format!("{key}.kind"),
                format!("unknown source kind `{other}`; expected \"feed\" or \"html\""),
            ));
            None
        }
    };
    let html = match kind {
        Some(SourceKind::Html) => check_html(file, raw, key, issues).map(std::sync::Arc::new),
        Some(SourceKind::Feed) => {
            for (name, at) in html_keys(raw) {
                issues.push(ConfigIssue::at(
                    &file.path,
                    &file.text,
                    at,
                    format!("{key}.{name}"),
                    "only html sources take this key (this source is kind = \"feed\")",
                ));
            }
            None
        }
        None => None,
    };
    if let Some(lang) = &raw.language {
        if !is_language_tag(lang.get_ref()) {
            issues.push(file.issue(
                lang,
                format!("{key}.language"),
                format!("`{}` is not a language tag such as \"el\" or \"pt-BR\"", lang.get_ref()),
            ));
        }
    }
    let url = http_url(raw.url.get_ref()).map_err(|why| issues.push(file.issue(&raw.url, format!("{key}.url"), why))).ok();
    if let Some(schedule) = &raw.schedule {
        if let Err(why) = crate::schedule::check_cron(schedule.get_ref()) {
            issues.push(file.issue(schedule, format!("{key}.schedule"), why));
        }
    }
    if let Some(id) = &raw.id {
        if !is_slug(id.get_ref()) {
            issues.push(file.issue(
                id,
                format!("{key}.id"),
                format!("`{}` is not a valid id: use lowercase letters a-z, digits and '-'", id.get_ref()),
            ));
        }
    }
    if issues.len() > n {
        return None;
    }
    let url = url?;
    let id = match &raw.id {
        Some(name) => SourceId::new(party, name.get_ref()),
        None => SourceId::from_url(party, &url),
    };
    Some(Source {
        id,
        party: party.clone(),
        kind: kind?,
        url,
        schedule: raw.schedule.as_ref().map(|s| s.get_ref().clone()),
        enabled: raw.enabled.unwrap_or(true),
        ignore_validators: raw.ignore_validators.unwrap_or(false),
        language: raw.language.as_ref().map(|l| l.get_ref().clone()),
        html,
    })
}

/// The html-only keys a source sets, with their offsets.
fn html_keys(raw: &RawSource) -> Vec<(&'static str, usize)> {
    let mut keys = Vec::new();
    let mut add = |name, span: Option<std::ops::Range<usize>>| {
        if let Some(span) = span {
            keys.push((name, span.start));
        }
    };
    add("item", raw.item.as_ref().map(Spanned::span));
    add("title", raw.title.as_ref().map(Spanned::span));
    add("link", raw.link.as_ref().map(Spanned::span));
    add("date", raw.date.as_ref().map(Spanned::span));
    add("date_format", raw.date_format.as_ref().map(Spanned::span));
    add("summary", raw.summary.as_ref().map(Spanned::span));
    add("detail", raw.detail.as_ref().map(Spanned::span));
    add("pages", raw.pages.as_ref().map(Spanned::span));
    add("next_page", raw.next_page.as_ref().map(Spanned::span));
    add("include", raw.include.first().map(Spanned::span));
    add("exclude", raw.exclude.first().map(Spanned::span));
    keys
}

/// Compiles an html source's selectors and patterns; every problem is an issue.
fn check_html(file: &FileText, raw: &RawSource, key: &str, issues: &mut Vec<ConfigIssue>) -> Option<HtmlRules> {
    let n = issues.len();
    let selector = |value: &Option<Spanned<String>>, name: &str, required: bool, issues: &mut Vec<ConfigIssue>| match value {
        Some(v) => html::selector(v.get_ref()).map_err(|why| issues.push(file.issue(v, format!("{key}.{name}"), why))).ok(),
        None if required => {
            issues.push(file.issue(&raw.kind, format!("{key}.{name}"), format!("html sources need `{name}`, a CSS selector")));
            None
        }
        None => None,
    };
    let item = selector(&raw.item, "item", true, issues);
    let title = selector(&raw.title, "title", true, issues);
    let link = selector(&raw.link, "link", true, issues);
    let date = selector(&raw.date, "date", false, issues);
    let summary = selector(&raw.summary, "summary", false, issues);
    let next_page = selector(&raw.next_page, "next_page", false, issues);
    if let Some(format) = &raw.date_format {
        if let Err(why) = crate::extract::date::check_format(format.get_ref()) {
            issues.push(file.issue(format, format!("{key}.date_format"), why));
        }
    }
    let pages = match &raw.pages {
        Some(p) if (1..=50).contains(p.get_ref()) => *p.get_ref() as u32,
        Some(p) => {
            issues.push(file.issue(p, format!("{key}.pages"), format!("must be between 1 and 50, not {}", p.get_ref())));
            1
        }
        None => 1,
    };
    if pages > 1 && raw.next_page.is_none() {
        if let Some(p) = &raw.pages {
            issues.push(file.issue(
                p,
                format!("{key}.pages"),
                "following pages needs `next_page`, a CSS selector for the link to the next page",
            ));
        }
    }
    let patterns = |list: &[Spanned<String>], name: &str, issues: &mut Vec<ConfigIssue>| -> Vec<regex::Regex> {
        list.iter()
            .filter_map(|p| {
                regex::Regex::new(p.get_ref())
                    .map_err(|e| {
                        let why = e.to_string().lines().last().unwrap_or_default().trim_start_matches("error: ").to_string();
                        issues.push(file.issue(
                            p,
                            format!("{key}.{name}"),
                            format!("`{}` is not a valid regular expression: {why}", p.get_ref()),
                        ))
                    })
                    .ok()
            })
            .collect()
    };
    let include = patterns(&raw.include, "include", issues);
    let exclude = patterns(&raw.exclude, "exclude", issues);
    if issues.len() > n {
        return None;
    }
    Some(HtmlRules {
        item: item?,
        title: title?,
        link: link?,
        date,
        date_format: raw.date_format.as_ref().map(|f| f.get_ref().clone()),
        summary,
        next_page,
        pages,
        detail: raw.detail.as_ref().is_some_and(|d| *d.get_ref()),
        include,
        exclude,
    })
}

fn http_url(text: &str) -> Result<Url, String> {
    match Url::parse(text.trim()) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        Ok(url) => Err(format!("`{text}` must be an http or https URL, not {}:", url.scheme())),
        Err(e) => Err(format!("`{text}` is not an absolute URL ({e}); write it in full, such as \"https://www.pcp.pt/rss.xml\"")),
    }
}

/// A BCP 47 tag, loosely: a 2-3 letter primary language and optional subtags.
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or("");
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_lowercase())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plenum.toml");
        std::fs::write(&path, text).unwrap();
        load(&path)
    }

    const PARTY: &str = r#"
[[party]]
id = "pcp"
name = "Portuguese Communist Party"
abbreviation = "PCP"
country = "PT"
languages = ["pt", "en"]
homepage = "https://www.pcp.pt"

[[party.source]]
kind = "feed"
url = "https://www.pcp.pt/rss.xml"
"#;

    #[test]
    fn a_minimal_config_takes_defaults_and_resolves_paths_against_its_file() {
        let config = load_text(PARTY).unwrap();
        assert!(config.daemon.data_dir.ends_with("data"));
        assert!(config.daemon.data_dir.is_absolute() || config.daemon.data_dir.starts_with(std::env::temp_dir()));
        assert_eq!(config.daemon.feed_size, 100);
        assert_eq!(config.daemon.base_url.as_str(), "http://127.0.0.1:8080/");
        let (party, source) = config.sources().next().unwrap();
        assert_eq!(party.display_name(), "Portuguese Communist Party (PCP)");
        assert!(source.id.as_str().starts_with("pcp/"));
        assert_eq!(source.id.as_str().len(), "pcp/".len() + 8);
    }

    #[test]
    fn errors_name_line_column_key_and_cause() {
        let text = PARTY.replace("id = \"pcp\"", "id = \"PCP!\"").replace("url = \"https://www.pcp.pt/rss.xml\"", "url = \"rss.xml\"");
        let err = load_text(&text).unwrap_err();
        let lines: Vec<String> = err.issues.iter().map(|i| format!("{}:{} {}", i.line, i.column, i.key)).collect();
        assert_eq!(lines, ["3:6 party[0].id"], "party errors stop before its sources: {err}");
        let err = load_text(&PARTY.replace("https://www.pcp.pt/rss.xml", "rss.xml")).unwrap_err();
        assert_eq!(err.issues[0].key, "party[0].source[0].url");
        assert_eq!((err.issues[0].line, err.issues[0].column), (12, 7));
        assert!(err.issues[0].message.contains("not an absolute URL"), "{err}");
    }

    #[test]
    fn unknown_keys_and_html_sources_are_refused() {
        let err = load_text(&PARTY.replace("kind = \"feed\"", "kind = \"feed\"\ncolour = \"red\"")).unwrap_err();
        assert_eq!(err.issues[0].key, "colour");
        assert_eq!(err.issues[0].line, 12);
        assert!(err.issues[0].message.contains("unknown field"), "{err}");
        let err = load_text(&PARTY.replace("kind = \"feed\"", "kind = \"html\"")).unwrap_err();
        let keys: Vec<&str> = err.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["party[0].source[0].item", "party[0].source[0].title", "party[0].source[0].link"], "{err}");
        let err = load_text(&PARTY.replace("kind = \"feed\"", "kind = \"feed\"\nitem = \"li\"")).unwrap_err();
        assert!(err.issues[0].message.contains("only html sources"), "{err}");
    }

    #[test]
    fn store_cache_defaults_to_8_mb_and_refuses_zero_at_its_line() {
        assert_eq!(load_text(PARTY).unwrap().daemon.store_cache_bytes, 8 * 1024 * 1024);
        let config = load_text(&format!("[daemon]\nstore_cache_mb = 32\n{PARTY}")).unwrap();
        assert_eq!(config.daemon.store_cache_bytes, 32 * 1024 * 1024);
        let err = load_text(&format!("[daemon]\nstore_cache_mb = 0\n{PARTY}")).unwrap_err();
        assert_eq!(err.issues[0].key, "daemon.store_cache_mb");
        assert_eq!(err.issues[0].line, 2);
    }

    #[test]
    fn duplicate_parties_and_bad_schedules_are_all_reported() {
        let text = format!("[daemon]\nschedule = \"every day\"\nfeed_size = 0\n{PARTY}{PARTY}");
        let err = load_text(&text).unwrap_err();
        let keys: Vec<&str> = err.issues.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["daemon.schedule", "daemon.feed_size", "party[1].id"], "{err}");
        assert!(err.issues[2].message.contains("first defined at"), "{err}");
    }

    #[test]
    fn includes_add_parties_and_locate_their_errors_in_their_own_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("parties.toml"), PARTY.replace("\"PT\"", "\"Portugal\"")).unwrap();
        let main = dir.path().join("plenum.toml");
        std::fs::write(&main, "include = [\"parties.toml\"]\n").unwrap();
        let err = load(&main).unwrap_err();
        assert!(err.issues[0].file.ends_with("parties.toml"));
        assert_eq!(err.issues[0].key, "party[0].country");
        std::fs::write(dir.path().join("parties.toml"), PARTY).unwrap();
        assert_eq!(load(&main).unwrap().parties.len(), 1);
    }

    #[test]
    fn html_sources_compile_their_selectors_and_locate_bad_ones() {
        let html = PARTY.replace(
            "kind = \"feed\"",
            "kind = \"html\"\nitem = \".views-row\"\ntitle = \".corpo a\"\nlink = \".corpo a\"\ndate = \".date-display-single\"\nlanguage = \"pt\"",
        );
        let config = load_text(&html).unwrap();
        let source = &config.parties[0].sources[0];
        assert_eq!(source.kind, SourceKind::Html);
        assert!(source.html.as_ref().unwrap().date.is_some());
        assert_eq!(source.language.as_deref(), Some("pt"));

        let bad = html.replace("\".corpo a\"\nlink", "\"h2 >> a[\"\nlink").replace("language = \"pt\"", "pages = 3\nexclude = [\"(\"]");
        let err = load_text(&bad).unwrap_err();
        assert!(err.issues[0].message.contains("not a valid CSS selector (DanglingCombinator)"), "{err}");
        assert!(err.issues[2].message.ends_with("is not a valid regular expression: unclosed group"), "{err}");
        let found: Vec<(usize, &str)> = err.issues.iter().map(|i| (i.line, i.key.as_str())).collect();
        assert_eq!(
            found,
            [(13, "party[0].source[0].title"), (16, "party[0].source[0].pages"), (17, "party[0].source[0].exclude")],
            "{err}"
        );
    }

    #[test]
    fn language_tags() {
        for ok in ["pt", "el", "pt-BR", "zh-Hant-TW", "fil"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "P", "Portuguese", "pt_BR", "pt-", "EN"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }
}
