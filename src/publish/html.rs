//! The web page: the latest headlines as a news digest, server-rendered.
//!
//! `index.html` (all parties) and one page per party, country and
//! language, grouped by day, newest first: party abbreviation, headline
//! linking to the original article, time and language. A plain HTML form
//! filters by party, country, language and text (a GET to `/`, so it needs
//! no JavaScript); older headlines are one link away (the feed's RFC 5005
//! cursor). Each page links its feeds with `<link rel="alternate">` for
//! autodiscovery. The CSS is inline and small; the page reads well from a
//! phone's width up. Every text from a feed is escaped here: stored HTML
//! (summaries) is never put into the page.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::feed::{self, FeedDoc, Query, Scope};
use super::{Document, Format, PublishError};
use crate::config::Config;
use crate::store::Store;

const STYLE: &str = r#"
:root{--ink:#1d1d1f;--muted:#6b6b70;--line:#e4e1dc;--paper:#fbfaf7;--red:#b3121b;--chip:#f3e6e4}
*{box-sizing:border-box}
body{margin:0;background:var(--paper);color:var(--ink);font:16px/1.5 Georgia,"Noto Serif","DejaVu Serif",serif}
a{color:inherit}
header.site{background:var(--red);color:#fff;padding:.9rem 1rem}
header.site .wrap{display:flex;flex-wrap:wrap;align-items:baseline;gap:.25rem 1rem}
header.site h1{margin:0;font-size:1.6rem;letter-spacing:.02em}
header.site h1 a{text-decoration:none}
header.site p{margin:0;opacity:.9;font-size:.95rem}
.wrap{max-width:52rem;margin:0 auto}
main{padding:0 1rem 2rem}
form.filters{display:flex;flex-wrap:wrap;gap:.5rem;margin:1rem 0;padding:.75rem;background:#fff;border:1px solid var(--line);border-radius:8px;font-family:system-ui,sans-serif;font-size:.9rem}
form.filters label{display:flex;flex-direction:column;gap:.15rem;flex:1 1 9rem;color:var(--muted)}
form.filters select,form.filters input{font:inherit;padding:.35rem;border:1px solid #ccc;border-radius:4px;background:#fff;color:var(--ink)}
form.filters button{align-self:flex-end;font:inherit;padding:.4rem 1rem;border:0;border-radius:4px;background:var(--red);color:#fff;cursor:pointer}
h2.scope{font-size:1.35rem;margin:1.25rem 0 .25rem}
p.lede{margin:0 0 1rem;color:var(--muted);font-size:.95rem}
section.day h3{font:600 .8rem/1 system-ui,sans-serif;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);margin:1.5rem 0 .25rem;padding-bottom:.35rem;border-bottom:2px solid var(--ink)}
ol.headlines{list-style:none;margin:0;padding:0}
ol.headlines li{display:grid;grid-template-columns:4.5rem 1fr;gap:.1rem .75rem;padding:.6rem 0;border-bottom:1px solid var(--line)}
.party{font:700 .75rem/1.6 system-ui,sans-serif;text-align:center;background:var(--chip);color:var(--red);border-radius:4px;padding:.1rem .25rem;align-self:start;text-decoration:none;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.headline{font-size:1.08rem;line-height:1.35;text-decoration:none;overflow-wrap:anywhere}
.headline:hover{text-decoration:underline}
.meta{grid-column:2;font:.8rem/1.4 system-ui,sans-serif;color:var(--muted)}
.meta a{color:var(--muted)}
p.empty{padding:2rem 0;color:var(--muted)}
nav.pager{display:flex;justify-content:space-between;margin:1.5rem 0;font-family:system-ui,sans-serif}
nav.pager a{padding:.4rem .8rem;border:1px solid var(--line);border-radius:4px;background:#fff;text-decoration:none}
footer{border-top:1px solid var(--line);padding:1rem;font:.85rem/1.6 system-ui,sans-serif;color:var(--muted)}
footer h4{margin:.75rem 0 .25rem;color:var(--ink)}
footer ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem .9rem}
@media (max-width:30rem){ol.headlines li{grid-template-columns:3.6rem 1fr}.headline{font-size:1rem}header.site h1{font-size:1.35rem}}
"#;

/// What the filters and footer list: every party, country and language.
pub struct Nav {
    /// (id, abbreviation or name, full name, country code lowercase).
    parties: Vec<(String, String, String, String)>,
    countries: Vec<String>,
    languages: Vec<String>,
}

impl Nav {
    pub fn new(config: &Config, scopes: &[Scope]) -> Nav {
        let mut parties: Vec<(String, String, String, String)> = config
            .parties
            .iter()
            .map(|p| {
                let short = if p.abbreviation.is_empty() { p.name.clone() } else { p.abbreviation.clone() };
                (p.id.to_string(), short, p.display_name(), p.country.to_ascii_lowercase())
            })
            .collect();
        parties.sort_by_key(|p| p.1.to_lowercase());
        let mut countries = Vec::new();
        let mut languages = Vec::new();
        for scope in scopes {
            match scope {
                Scope::Country(cc) => countries.push(cc.clone()),
                Scope::Language(lang) => languages.push(lang.clone()),
                _ => {}
            }
        }
        // Readers look for a name, so the lists go by name, not by code.
        countries.sort_by_cached_key(|cc| super::feed::country_name(cc));
        languages.sort_by_cached_key(|lang| super::feed::language_name(lang));
        Nav { parties, countries, languages }
    }
}

/// Renders one page of headlines.
pub fn render(config: &Config, store: &Store, nav: &Nav, doc: &FeedDoc<'_>, query: &Query) -> Result<Document, PublishError> {
    let root = config.daemon.base_url.path().to_string();
    let href = |path: &str| format!("{root}{path}");
    let mut out = String::with_capacity(16 * 1024 + doc.stories.len() * 600);
    let page_title = if doc.scope == Scope::Merged { doc.title.clone() } else { format!("{} · Plenum", doc.title) };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<meta name=\"description\" content=\"{}\">\n",
        text(&page_title),
        attr(&doc.subtitle)
    );
    for format in Format::FEEDS {
        let name = match format {
            Format::Atom => "Atom",
            Format::Json => "JSON Feed",
            _ => "RSS",
        };
        let _ = writeln!(
            out,
            "<link rel=\"alternate\" type=\"{}\" title=\"{} ({name})\" href=\"{}{}\">",
            format.media_type(),
            attr(&doc.title),
            attr(&feed::absolute(config, &doc.scope.path(format))),
            attr(&query.to_query_string(None))
        );
    }
    let _ =
        writeln!(out, "<link rel=\"alternate\" type=\"text/x-opml\" title=\"All feeds (OPML)\" href=\"{}\">", attr(&href("feeds.opml")));
    if let Some(next) = &doc.links.next {
        let _ = writeln!(out, "<link rel=\"next\" href=\"{}\">", attr(next));
    }
    let _ = write!(out, "<style>{STYLE}</style>\n</head>\n<body>\n");
    let _ = write!(
        out,
        "<header class=\"site\"><div class=\"wrap\"><h1><a href=\"{}\">{}</a></h1><p>{}</p></div></header>\n<main class=\"wrap\">\n",
        attr(&href("")),
        text(&config.daemon.title),
        text("News and statements of the communist and workers' parties")
    );
    filters(&mut out, nav, &doc.scope, query, &href(""));
    // The front page's title is the site's: say it once, in the header.
    if doc.scope != Scope::Merged || !query.is_plain() {
        let _ = write!(out, "<h2 class=\"scope\">{}</h2>\n<p class=\"lede\">{}</p>\n", text(&doc.title), text(&doc.subtitle));
    }

    if doc.stories.is_empty() {
        out.push_str("<p class=\"empty\">No headlines here yet.</p>\n");
    }
    let mut day = String::new();
    for story in &doc.stories {
        let e = story.entry;
        let this_day = e.published.format("%A %-d %B %Y").to_string();
        if this_day != day {
            if !day.is_empty() {
                out.push_str("</ol></section>\n");
            }
            let _ = writeln!(out, "<section class=\"day\"><h3>{}</h3><ol class=\"headlines\">", text(&this_day));
            day = this_day;
        }
        let lang = store.language_of(&e.key)?.filter(|l| l != "und");
        let lang_attr = lang.as_deref().map(|l| format!(" lang=\"{}\"", attr(l))).unwrap_or_default();
        let party = config.party(e.party.as_str());
        let (short, full) = party.map_or_else(
            || (e.party.to_string(), e.party.to_string()),
            |p| (if p.abbreviation.is_empty() { p.name.clone() } else { p.abbreviation.clone() }, p.display_name()),
        );
        let _ = write!(
            out,
            "<li><a class=\"party\" href=\"{}\" title=\"{}\">{}</a>",
            attr(&href(&Scope::Party(e.party.clone()).path(Format::Html))),
            attr(&full),
            text(&short)
        );
        match &e.link {
            Some(link) => {
                let _ = write!(out, "<a class=\"headline\" href=\"{}\"{lang_attr} rel=\"noopener\">{}</a>", attr(link), text(&e.title));
            }
            None => {
                let _ = write!(out, "<span class=\"headline\"{lang_attr}>{}</span>", text(&e.title));
            }
        }
        let _ = write!(out, "<span class=\"meta\"><time datetime=\"{}\">{}</time>", e.published.to_rfc3339(), when(e.published));
        if let Some(lang) = &lang {
            let _ = write!(
                out,
                " · <a href=\"{}\">{}</a>",
                attr(&href(&Scope::Language(lang.clone()).path(Format::Html))),
                text(&feed::language_name(lang))
            );
        }
        let also: Vec<String> = story
            .also
            .iter()
            .map(|c| config.party(c.party.as_str()).map_or_else(|| c.party.to_string(), |p| p.abbreviation.clone()))
            .collect();
        if !also.is_empty() {
            let _ = write!(out, " · also {}", text(&also.join(", ")));
        }
        out.push_str("</span></li>\n");
    }
    if !day.is_empty() {
        out.push_str("</ol></section>\n");
    }
    if doc.links.previous.is_some() || doc.links.next.is_some() {
        out.push_str("<nav class=\"pager\">");
        match &doc.links.previous {
            Some(prev) => {
                let _ = write!(out, "<a rel=\"prev\" href=\"{}\">← Newer</a>", attr(&html_link(config, prev)));
            }
            None => out.push_str("<span></span>"),
        }
        if let Some(next) = &doc.links.next {
            let _ = write!(out, "<a rel=\"next\" href=\"{}\">Older →</a>", attr(&html_link(config, next)));
        }
        out.push_str("</nav>\n");
    }
    out.push_str("</main>\n");
    footer(&mut out, nav, doc, &href);
    out.push_str("</body>\n</html>\n");
    Ok(Document::new(out.into_bytes(), Format::Html.content_type(), doc.updated))
}

/// A page link made relative to the site root, so the page works under
/// any host name that reaches it.
fn html_link(config: &Config, absolute: &str) -> String {
    let base = config.daemon.base_url.as_str();
    match absolute.strip_prefix(base) {
        Some(rest) => format!("{}{rest}", config.daemon.base_url.path()),
        None => absolute.to_string(),
    }
}

fn when(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y, %H:%M UTC").to_string()
}

fn filters(out: &mut String, nav: &Nav, scope: &Scope, query: &Query, action: &str) {
    let selected_party: Option<String> = match scope {
        Scope::Party(id) => Some(id.to_string()),
        _ => query.parties.first().map(ToString::to_string),
    };
    let selected_country = match scope {
        Scope::Country(cc) => Some(cc.clone()),
        _ => query.country.clone(),
    };
    let selected_lang = match scope {
        Scope::Language(l) => Some(l.clone()),
        _ => query.lang.clone(),
    };
    let _ = write!(out, "<form class=\"filters\" method=\"get\" action=\"{}\" role=\"search\">", attr(action));
    out.push_str("<label>Party<select name=\"party\"><option value=\"\">All parties</option>");
    for (id, short, full, _) in &nav.parties {
        let sel = if selected_party.as_deref() == Some(id) { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{sel}>{} — {}</option>", attr(id), text(short), text(full));
    }
    out.push_str("</select></label><label>Country<select name=\"country\"><option value=\"\">All countries</option>");
    for cc in &nav.countries {
        let sel = if selected_country.as_deref() == Some(cc) { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{sel}>{}</option>", attr(cc), text(&feed::country_name(cc)));
    }
    out.push_str("</select></label><label>Language<select name=\"lang\"><option value=\"\">All languages</option>");
    for lang in nav.languages.iter().filter(|l| *l != "und") {
        let sel = if selected_lang.as_deref() == Some(lang) { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{sel}>{}</option>", attr(lang), text(&feed::language_name(lang)));
    }
    let _ = writeln!(
        out,
        "</select></label><label>Search<input type=\"search\" name=\"q\" value=\"{}\" placeholder=\"words in headlines\"></label><button type=\"submit\">Show</button></form>",
        attr(query.q.as_deref().unwrap_or(""))
    );
}

fn footer(out: &mut String, nav: &Nav, doc: &FeedDoc<'_>, href: &dyn Fn(&str) -> String) {
    out.push_str("<footer><div class=\"wrap\">");
    let _ = write!(
        out,
        "<h4>Subscribe to this page</h4><ul><li><a href=\"{}\">Atom</a></li><li><a href=\"{}\">JSON Feed</a></li><li><a href=\"{}\">RSS</a></li><li><a href=\"{}\">All feeds (OPML)</a></li></ul>",
        attr(&href(&doc.scope.path(Format::Atom))),
        attr(&href(&doc.scope.path(Format::Json))),
        attr(&href(&doc.scope.path(Format::Rss))),
        attr(&href("feeds.opml"))
    );
    out.push_str("<h4>Parties</h4><ul>");
    for (id, short, full, _) in &nav.parties {
        let _ =
            write!(out, "<li><a href=\"{}\" title=\"{}\">{}</a></li>", attr(&href(&format!("parties/{id}.html"))), attr(full), text(short));
    }
    out.push_str("</ul><h4>Countries</h4><ul>");
    for cc in &nav.countries {
        let _ = write!(out, "<li><a href=\"{}\">{}</a></li>", attr(&href(&format!("countries/{cc}.html"))), text(&feed::country_name(cc)));
    }
    out.push_str("</ul><h4>Languages</h4><ul>");
    for lang in &nav.languages {
        let _ =
            write!(out, "<li><a href=\"{}\">{}</a></li>", attr(&href(&format!("languages/{lang}.html"))), text(&feed::language_name(lang)));
    }
    let _ = writeln!(
        out,
        "</ul><p>Gathered by <a href=\"{}\">Plenum</a>. Headlines link to the parties' own sites.</p></div></footer>",
        env!("CARGO_PKG_REPOSITORY")
    );
}
