//! Canonical URLs: one key for every spelling of the same article's address.
//!
//! A party publishes the same article under many URLs: its main feed links
//! `http://www.party.org/a/`, a category feed links `https://party.org/a`,
//! a newsletter adds `?utm_source=…`, a share button adds `#comments`.
//! [`canonical_url`] folds the spellings that name the same page into one
//! [`CanonicalUrl`], so deduplication can recognise them.
//!
//! The key is only ever compared, never shown or fetched: it drops the
//! scheme (`//host/path?query`), so it is not even a valid absolute URL.
//! Every rule errs towards keeping two URLs apart: a missed merge shows a
//! reader the same article twice, a wrong merge hides an article for good.
//! The rules, and the ones deliberately not applied, are listed on
//! [`canonical_url`].

use std::fmt;

use url::{Host, Url};

/// A URL in canonical form, used only as a deduplication key (never shown to users or fetched).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CanonicalUrl(String);

impl CanonicalUrl {
    /// The key, in the form `//host[:port]/path[?query]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CanonicalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Query parameters that only say how a reader arrived, never which page
/// they arrived at; [`canonical_url`] removes them (as well as any name
/// starting with [`TRACKING_PREFIX`]).
///
/// Names match exactly and case-sensitively, after percent-decoding of
/// unreserved characters (`utm%5Fsource` is `utm_source`). Only names whose
/// meaning is unambiguous belong here: a generic name such as `from`, `source`
/// or `id` selects content on some site, and removing it would merge pages.
pub const TRACKING_PARAMETERS: &[&str] = &[
    // Ad-click identifiers: Facebook, Google Ads (and its iOS variants), DoubleClick, Microsoft Ads, Yandex, Twitter, TikTok, Instagram.
    "fbclid",
    "gclid",
    "gbraid",
    "wbraid",
    "dclid",
    "msclkid",
    "yclid",
    "twclid",
    "ttclid",
    "igshid",
    // Newsletters: Mailchimp, HubSpot, Marketo.
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "mkt_tok",
    // Google Analytics cross-domain linking; Google Search result tagging.
    "_ga",
    "_gl",
    "srsltid",
    // Referrer, share-button and feed markers.
    "ref",
    "ref_src",
    "share",
    "rss",
    // Campaign tags: Alibaba, Adobe Analytics, AT Internet (Piano).
    "spm",
    "s_cid",
    "cmpid",
    "at_medium",
    "at_campaign",
];

/// Any parameter whose name starts with this is a Google Analytics campaign tag
/// (`utm_source`, `utm_medium`, `utm_campaign`, `utm_term`, `utm_content`, `utm_id`, …).
pub const TRACKING_PREFIX: &str = "utm_";

/// Last path segments that name a directory's default document; `/a/index.php`
/// is served for `/a/`. Compared ASCII-case-insensitively because the servers
/// that use `Default.aspx` (IIS) ignore case.
const INDEX_FILES: &[&str] = &["index.html", "index.htm", "index.shtml", "index.php", "default.aspx"];

/// Ports that [`canonical_url`] drops whatever the scheme, since `http` and
/// `https` share a key.
const DEFAULT_PORTS: &[u16] = &[80, 443];

/// The canonical form of an absolute http(s) URL; None for anything else (mailto:, javascript:, relative, garbage).
///
/// The URL is first parsed as a browser would (WHATWG, via the `url` crate),
/// which already lowercases the scheme and host, converts an internationalized
/// host to punycode (`bücher.example` → `xn--bcher-kva.example`), percent-encodes
/// non-ASCII path characters as UTF-8, resolves `.` and `..` segments, turns
/// `\` into `/`, and strips surrounding whitespace. Then:
///
/// - **The scheme is dropped.** Parties serve the same site over http and https,
///   and feeds often still link the http address years after the move.
/// - **A leading `www.` is dropped.** A site answers under both names (one usually
///   redirecting to the other), and its feeds and pages mix them. Other subdomains
///   (`m.`, `en.`, `inter.`) are kept: they often serve other editions or languages.
/// - **Ports 80 and 443 are dropped**, whatever the scheme (the scheme is gone
///   from the key, so "default" has to mean both); other ports are kept.
/// - **The host's trailing dot is dropped** (`example.org.` is the fully-qualified
///   spelling of `example.org`). **User info is dropped**: it does not select a page.
/// - **The fragment is dropped**: it points into a page (`#comments`), not to another.
/// - **Tracking parameters are removed** ([`TRACKING_PARAMETERS`], `utm_*`); every
///   other parameter is kept, since `?p=123` (WordPress), `?id=38&view=category`
///   (Joomla) or `?lang=en` select the page. Empty pieces (`a=1&&b=2`) are dropped.
/// - **The remaining parameters are sorted by name**, stably, so equal names keep
///   their values' order (`?id=1&id=2` may mean a list). An empty query leaves no `?`.
/// - **Percent-encoding is normalized** in path and query as RFC 3986 §6.2.2 allows:
///   encoded unreserved characters (`A-Za-z0-9-._~`) are decoded, other escapes get
///   uppercase hex, characters that must be encoded but were sent raw (`|`, `{`, a
///   stray `%`) are encoded. So `/%ce%9a`, `/%CE%9A` and `/Κ` share a key.
/// - **Empty path segments are dropped**: `//a///b/` is `/a/b`. Servers and CMSs
///   collapse duplicate slashes, and with or without a trailing slash is the same
///   page on the CMSs parties use (WordPress redirects one to the other).
/// - **A trailing directory index is dropped** (`/a/index.php` is `/a`), see
///   `INDEX_FILES`, but only when nothing follows it: not `index.php/pcm/slug`
///   (Joomla's URL for a page, which may or may not be the same page as `/pcm/slug`),
///   and not when a query remains (`index.php?option=com_content&id=38` is Joomla's
///   router, not a directory index).
///
/// Deliberately not done:
///
/// - paths are not lowercased (they are case-sensitive on most servers);
/// - query parameters are not dropped wholesale, nor by generic names (`from`,
///   `source`); tracking names are not matched case-insensitively;
/// - reserved characters stay as sent: `%2F` is not `/`, `%21` is not `!`, `+` is not
///   `%20` (RFC 3986 lets servers give them different meanings);
/// - subdomains other than `www` (`m.`, `amp.`) and path markers such as `/amp` are kept,
///   since whether they mirror the main site differs from site to site;
/// - fragments are not kept even for `#!` routes: a site that routed pages by fragment
///   would have them merged, a risk taken because feeds link real paths;
/// - no network: redirects and `<link rel="canonical">` belong to fetching, not here.
pub fn canonical_url(url: &str) -> Option<CanonicalUrl> {
    canonical_of(&Url::parse(url).ok()?)
}

/// [`canonical_url`] of a URL already parsed.
pub fn canonical_of(url: &Url) -> Option<CanonicalUrl> {
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }

    let mut key = String::with_capacity(url.as_str().len());
    key.push_str("//");
    key.push_str(&canonical_host(url)?);
    if let Some(port) = url.port().filter(|p| !DEFAULT_PORTS.contains(p)) {
        key.push(':');
        key.push_str(&port.to_string());
    }

    let query = canonical_query(url.query().unwrap_or(""));
    let mut segments: Vec<String> = url.path().split('/').filter(|s| !s.is_empty()).map(|s| normalize_percent(s, is_path_char)).collect();
    if query.is_empty() && segments.last().is_some_and(|last| INDEX_FILES.iter().any(|index| last.eq_ignore_ascii_case(index))) {
        segments.pop();
    }
    if segments.is_empty() {
        key.push('/');
    }
    for segment in &segments {
        key.push('/');
        key.push_str(segment);
    }

    if !query.is_empty() {
        key.push('?');
        key.push_str(&query);
    }
    Some(CanonicalUrl(key))
}

/// The host without a trailing dot or a leading `www.`; None when nothing is left.
fn canonical_host(url: &Url) -> Option<String> {
    match url.host()? {
        Host::Domain(domain) => {
            let domain = domain.trim_end_matches('.');
            let domain = domain.strip_prefix("www.").filter(|rest| !rest.is_empty()).unwrap_or(domain);
            (!domain.is_empty()).then(|| domain.to_string())
        }
        // IP addresses: `host_str` gives IPv6 its brackets.
        Host::Ipv4(_) | Host::Ipv6(_) => url.host_str().map(str::to_string),
    }
}

/// The query without tracking parameters, its pieces normalized and sorted by name.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, Option<String>)> = query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| match piece.split_once('=') {
            Some((name, value)) => (normalize_percent(name, is_query_char), Some(normalize_percent(value, is_query_char))),
            None => (normalize_percent(piece, is_query_char), None),
        })
        .filter(|(name, _)| !is_tracking_parameter(name))
        .collect();
    // `sort_by` is stable: equal names keep their values' order.
    pairs.sort_by(|(a, _), (b, _)| a.cmp(b));

    let mut out = String::with_capacity(query.len());
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&name);
        if let Some(value) = value {
            out.push('=');
            out.push_str(&value);
        }
    }
    out
}

fn is_tracking_parameter(name: &str) -> bool {
    name.starts_with(TRACKING_PREFIX) || TRACKING_PARAMETERS.contains(&name)
}

/// `text` with percent-encoding normalized: escapes of unreserved characters
/// decoded, other escapes in uppercase hex, a `%` that starts no escape encoded
/// as `%25`, and every byte that `allowed_raw` refuses encoded.
fn normalize_percent(text: &str, allowed_raw: fn(u8) -> bool) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        let escaped = match (byte, bytes.get(i + 1).copied().and_then(hex_value), bytes.get(i + 2).copied().and_then(hex_value)) {
            (b'%', Some(high), Some(low)) => Some(high << 4 | low),
            _ => None,
        };
        match escaped {
            Some(decoded) if is_unreserved(decoded) => out.push(char::from(decoded)),
            Some(decoded) => push_escape(&mut out, decoded),
            None if byte != b'%' && allowed_raw(byte) => out.push(char::from(byte)),
            None => push_escape(&mut out, byte),
        }
        i += if escaped.is_some() { 3 } else { 1 };
    }
    out
}

fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0F)]));
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// RFC 3986 unreserved characters: encoding them never changes meaning.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 sub-delimiters: meaningful to some servers, so kept as sent.
fn is_sub_delim(byte: u8) -> bool {
    matches!(byte, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=')
}

/// Bytes RFC 3986 allows raw in a path segment (`pchar`).
fn is_path_char(byte: u8) -> bool {
    is_unreserved(byte) || is_sub_delim(byte) || matches!(byte, b':' | b'@')
}

/// Bytes RFC 3986 allows raw in a query.
fn is_query_char(byte: u8) -> bool {
    is_path_char(byte) || matches!(byte, b'/' | b'?')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn key(url: &str) -> String {
        match canonical_url(url) {
            Some(key) => key.to_string(),
            None => panic!("{url:?} has no canonical form"),
        }
    }

    fn assert_same_key(rows: &[(&str, &str)]) {
        for (a, b) in rows {
            assert_eq!(key(a), key(b), "{a:?} and {b:?} should share a key");
        }
    }

    #[test]
    fn keys_have_the_documented_form() {
        let rows = [
            ("https://www.pcp.pt/", "//pcp.pt/"),
            ("https://www.pcp.pt", "//pcp.pt/"),
            ("http://www.cpusa.org/?utm_source=rss&p=123#respond", "//cpusa.org/?p=123"),
            ("https://bücher.example/", "//xn--bcher-kva.example/"),
            ("https://inter.kke.gr:8443/en/articles/", "//inter.kke.gr:8443/en/articles"),
            ("https://inter.kke.gr/ΚΚΕ", "//inter.kke.gr/%CE%9A%CE%9A%CE%95"),
            ("http://192.168.0.1:80/a", "//192.168.0.1/a"),
            ("http://[2001:DB8::1]:8080/a/", "//[2001:db8::1]:8080/a"),
            (
                "https://www.iraqicp.com/index.php?option=com_content&view=category&id=38",
                "//iraqicp.com/index.php?id=38&option=com_content&view=category",
            ),
            ("https://www.pcp.pt/?amp", "//pcp.pt/?amp"),
            ("https://www.pcp.pt/a%2fb", "//pcp.pt/a%2Fb"),
        ];
        for (url, want) in rows {
            assert_eq!(key(url), want, "{url:?}");
        }
        let canonical = canonical_url("https://www.pcp.pt/").unwrap();
        assert_eq!(canonical.as_str(), canonical.to_string());
    }

    #[test]
    fn scheme_host_port_userinfo_and_fragment_variants_share_a_key() {
        assert_same_key(&[
            ("http://www.pcp.pt/index.php/actualidade", "https://pcp.pt/index.php/actualidade"),
            ("HTTPS://WWW.PCP.PT/actualidade", "https://pcp.pt/actualidade"),
            ("https://www.pcp.pt:443/actualidade", "https://pcp.pt/actualidade"),
            ("http://www.pcp.pt:80/actualidade", "https://pcp.pt/actualidade"),
            ("http://pcp.pt:443/actualidade", "https://pcp.pt/actualidade"),
            ("https://pcp.pt:80/actualidade", "https://pcp.pt/actualidade"),
            ("https://inter.kke.gr./en/articles/", "https://inter.kke.gr/en/articles"),
            ("https://www.kke.gr./", "https://kke.gr"),
            ("https://user:secret@www.cpusa.org/article/", "https://cpusa.org/article"),
            ("https://www.pcp.pt/actualidade#comentarios", "https://pcp.pt/actualidade"),
            ("  https://www.pcp.pt/actualidade \n", "https://pcp.pt/actualidade"),
            ("https://bücher.example/", "https://xn--bcher-kva.example/"),
            ("https://КПРФ.рф/news/", "https://www.кпрф.рф/news"),
            ("https://b%C3%BCcher.example/", "https://BÜCHER.example"),
            ("https://www.solidnet.org\\article\\kke", "https://solidnet.org/article/kke"),
        ]);
    }

    #[test]
    fn tracking_parameters_are_removed_and_the_rest_sorted() {
        assert_same_key(&[
            ("https://www.cpusa.org/?p=123&utm_source=rss", "https://cpusa.org/?p=123"),
            ("https://www.cpusa.org/?utm_medium=feed&p=123&utm_campaign=x&utm_content=y&utm_id=7", "https://www.cpusa.org/?p=123"),
            ("https://www.pcp.pt/actualidade?fbclid=IwAR0abc", "https://www.pcp.pt/actualidade"),
            ("https://www.pcp.pt/actualidade?gclid=x&dclid=y&msclkid=z&yclid=w", "https://www.pcp.pt/actualidade"),
            ("https://www.cpusa.org/article/?mc_cid=5f&mc_eid=a1", "https://www.cpusa.org/article"),
            ("https://inter.kke.gr/en/articles/Statement/?ref=twitter&ref_src=twsrc", "https://inter.kke.gr/en/articles/Statement"),
            ("https://www.pcp.pt/a?_ga=2.1234&_gl=1*abc*_ga*MTA", "https://www.pcp.pt/a"),
            ("https://www.pcp.pt/a?igshid=xyz&spm=a2g0o&share=facebook&rss=1", "https://www.pcp.pt/a"),
            ("https://www.pcf.fr/actualite?s_cid=nl&cmpid=7&at_medium=RSS&at_campaign=KLEAN", "https://www.pcf.fr/actualite"),
            (
                "https://www.iraqicp.com/index.php?option=com_content&view=category&id=38&utm_source=x",
                "https://www.iraqicp.com/index.php?option=com_content&view=category&id=38",
            ),
            (
                "https://www.iraqicp.com/index.php?id=38&view=category&option=com_content",
                "https://www.iraqicp.com/index.php?option=com_content&view=category&id=38",
            ),
            ("https://www.cpusa.org/article/?utm_source=rss", "https://www.cpusa.org/article/"),
            ("https://www.cpusa.org/article/?", "https://www.cpusa.org/article/"),
            ("https://www.pcp.pt/?p=1&&x=2&", "https://www.pcp.pt/?x=2&p=1"),
            ("https://www.pcp.pt/?utm%5Fsource=x&p=1", "https://www.pcp.pt/?p=1"),
            ("https://www.pcp.pt/?tag=a&p=1&tag=b", "https://www.pcp.pt/?p=1&tag=a&tag=b"),
            ("https://kprf.ru/?q=%d0%ba", "https://kprf.ru/?q=к"),
            ("https://kprf.ru/?q={x}", "https://kprf.ru/?q=%7Bx%7D"),
        ]);
    }

    #[test]
    fn path_spellings_share_a_key() {
        assert_same_key(&[
            ("https://inter.kke.gr/%CE%9A%CE%9A%CE%95", "https://inter.kke.gr/ΚΚΕ"),
            ("https://inter.kke.gr/%ce%9a%ce%9a%ce%95", "https://inter.kke.gr/ΚΚΕ"),
            (
                "https://www.kke.gr/article/%CE%94%CE%AE%CE%BB%CF%89%CF%83%CE%B7-%CF%84%CE%BF%CF%85-%CE%9A%CE%9A%CE%95/",
                "https://kke.gr/article/Δήλωση-του-ΚΚΕ",
            ),
            ("https://kprf.ru/party-live/cknews/новости/", "https://kprf.ru/party-live/cknews/%D0%BD%D0%BE%D0%B2%D0%BE%D1%81%D1%82%D0%B8"),
            ("https://kprf.ru/party-live/%7Earchive/%61%2D%5F%2E", "https://kprf.ru/party-live/~archive/a-_."),
            ("https://www.pcp.pt/a/b/", "https://www.pcp.pt/a/b"),
            ("https://www.pcp.pt//a///b//", "https://www.pcp.pt/a/b"),
            ("https://www.pcp.pt/a/./c/../b", "https://www.pcp.pt/a/b"),
            ("https://www.pcp.pt/a/%2e/c/%2E%2e/b", "https://www.pcp.pt/a/b"),
            ("https://www.pcp.pt/a/index.php", "https://www.pcp.pt/a"),
            ("https://www.pcp.pt/a/index.html", "https://www.pcp.pt/a/"),
            ("https://www.pcp.pt/a/index.htm", "https://www.pcp.pt/a"),
            ("https://www.pcp.pt/a/index.shtml", "https://www.pcp.pt/a"),
            ("https://www.pcp.pt/a/Default.aspx", "https://www.pcp.pt/a"),
            ("https://www.iraqicp.com/index.php", "https://www.iraqicp.com/"),
            ("https://www.iraqicp.com/index.php?utm_source=rss", "https://iraqicp.com"),
            ("https://www.pcp.pt/a|b", "https://www.pcp.pt/a%7cb"),
            ("https://www.pcp.pt/a%zz", "https://www.pcp.pt/a%25zz"),
            ("https://www.pcp.pt/50%", "https://www.pcp.pt/50%25"),
        ]);
    }

    #[test]
    fn different_pages_keep_different_keys() {
        let rows = [
            ("https://akel.org.cy/statement/?lang=en", "https://akel.org.cy/statement/?lang=el"),
            (
                "https://www.iraqicp.com/index.php?option=com_content&view=category&id=38",
                "https://www.iraqicp.com/index.php?option=com_content&view=category&id=39",
            ),
            (
                "https://www.iraqicp.com/index.php?option=com_content&view=category&id=38",
                "https://www.iraqicp.com/?option=com_content&view=category&id=38",
            ),
            ("https://www.cpusa.org/?p=123", "https://www.cpusa.org/?p=124"),
            ("https://www.cpusa.org/?p=123", "https://www.cpusa.org/"),
            ("https://www.pcp.pt/rss?channel=Top", "https://www.pcp.pt/rss"),
            ("https://inter.kke.gr/en/Articles/", "https://inter.kke.gr/en/articles/"),
            ("https://inter.kke.gr/en/articles/", "https://kke.gr/en/articles/"),
            ("https://m.kke.gr/article/1", "https://kke.gr/article/1"),
            ("https://www.pcp.pt:8080/a", "https://www.pcp.pt/a"),
            ("https://www.pcp.pt/index.php/pcm/slug", "https://www.pcp.pt/pcm/slug"),
            ("https://www.pcp.pt/a/index.php5", "https://www.pcp.pt/a"),
            ("https://www.pcp.pt/a%2Fb", "https://www.pcp.pt/a/b"),
            ("https://www.pcp.pt/a%21", "https://www.pcp.pt/a!"),
            ("https://www.pcp.pt/?tag=a&tag=b", "https://www.pcp.pt/?tag=b&tag=a"),
            ("https://www.kke.gr/άρθρο", "https://www.kke.gr/αρθρο"),
            ("https://kprf.ru/новости", "https://kprf.ru/Новости"),
            ("https://www.pcp.pt/agenda?from=rss", "https://www.pcp.pt/agenda"),
            ("https://www.pcp.pt/a?Ref=x", "https://www.pcp.pt/a"),
            ("https://www.pcp.pt/a?q=a%26b", "https://www.pcp.pt/a?q=a&b"),
            ("http://[::1]:8080/a", "http://[::1]/a"),
        ];
        for (a, b) in rows {
            assert_ne!(key(a), key(b), "{a:?} and {b:?} should keep different keys");
        }
    }

    #[test]
    fn non_http_relative_and_garbage_are_rejected() {
        let rows = [
            "javascript:alert(1)",
            "mailto:a@b",
            "/relative",
            "relative/path",
            "//www.pcp.pt/protocol-relative",
            "www.pcp.pt/no-scheme",
            "ftp://x",
            "file:///etc/passwd",
            "data:text/html,<p>x</p>",
            "",
            "   ",
            "http://",
            "https:",
            "https://",
            "http://[::1",
            "http://./",
            "http://exa mple.org/",
        ];
        for url in rows {
            assert_eq!(canonical_url(url), None, "{url:?}");
        }
    }

    #[test]
    fn huge_inputs_neither_panic_nor_take_long() {
        let started = Instant::now();
        assert_eq!(canonical_url(&"/".repeat(10_000)), None);
        assert_eq!(canonical_url(&format!("https:{}", "/".repeat(10_000))), None);
        assert_eq!(key(&format!("https://www.pcp.pt{}a{}", "/".repeat(100_000), "/".repeat(100_000))), "//pcp.pt/a");
        assert_eq!(key(&format!("https://www.pcp.pt/a/{}b", "../".repeat(100_000))), "//pcp.pt/b");
        assert_eq!(key(&format!("https://www.pcp.pt/a?p=1{}", "&utm_source=x&&".repeat(100_000))), "//pcp.pt/a?p=1");
        assert_eq!(key(&format!("https://www.pcp.pt/{}", "%".repeat(100_000))), format!("//pcp.pt/{}", "%25".repeat(100_000)));
        // Generous: a quadratic step would take minutes on these sizes, linear ones take milliseconds.
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    }
}
