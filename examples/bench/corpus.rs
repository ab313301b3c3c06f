//! The benchmark corpus: `feeds` feeds of `entries` entries each, mixed
//! RSS 2.0 and Atom, and one HTML listing page per feed, all decided by a
//! seed. Shared by the harness (`examples/bench/main.rs`) and the criterion
//! benches (`benches/stages.rs`, which include this file by path).
//!
//! What makes it realistic enough to measure: titles in the parties'
//! languages (Greek, Portuguese, Russian, Turkish, German, ...), bodies of
//! 1 to 3 KB of HTML with links, emphasis, lists, images and the odd embed
//! or script (for the sanitizer to remove), dates spread over 90 days,
//! two feeds per party (a main feed and a category feed), and a fraction of
//! entries syndicated across several feeds (joint statements).
#![allow(dead_code)] // each includer uses a part

use std::fmt::Write as _;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use plenum::config::Config;
use plenum::extract::{RawFeed, RawItem};
use plenum::store::Store;

/// splitmix64: small, fast, and the same on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }
}

/// A language of the corpus: its tag, a country that speaks it, and words.
pub struct Lang {
    pub code: &'static str,
    pub country: &'static str,
    pub words: &'static [&'static str],
}

pub const LANGS: [Lang; 8] = [
    Lang {
        code: "el",
        country: "GR",
        words: &[
            "εργατική",
            "τάξη",
            "απεργία",
            "συνδικάτα",
            "ειρήνη",
            "κόμμα",
            "αγώνας",
            "μισθοί",
            "νεολαία",
            "λαός",
            "κυβέρνηση",
            "ανακοίνωση",
            "αλληλεγγύη",
            "συλλαλητήριο",
            "Αθήνα",
            "Θεσσαλονίκη",
            "δικαιώματα",
            "ΝΑΤΟ",
            "πόλεμος",
            "εργαζόμενοι",
            "σοσιαλισμός",
            "υγεία",
            "παιδεία",
            "ακρίβεια",
        ],
    },
    Lang {
        code: "pt",
        country: "PT",
        words: &[
            "trabalhadores",
            "salários",
            "greve",
            "luta",
            "paz",
            "partido",
            "comunista",
            "juventude",
            "habitação",
            "saúde",
            "educação",
            "soberania",
            "solidariedade",
            "Lisboa",
            "Porto",
            "direitos",
            "governo",
            "orçamento",
            "manifestação",
            "emprego",
            "pensões",
            "democracia",
            "Abril",
            "produção",
        ],
    },
    Lang {
        code: "ru",
        country: "RU",
        words: &[
            "рабочие",
            "партия",
            "забастовка",
            "мир",
            "борьба",
            "зарплата",
            "молодёжь",
            "социализм",
            "заявление",
            "солидарность",
            "Москва",
            "правительство",
            "права",
            "пенсии",
            "трудящиеся",
            "съезд",
            "Октябрь",
            "народ",
            "экономика",
            "образование",
            "здравоохранение",
            "выборы",
            "профсоюз",
            "война",
        ],
    },
    Lang {
        code: "tr",
        country: "TR",
        words: &[
            "işçiler",
            "grev",
            "barış",
            "parti",
            "mücadele",
            "ücretler",
            "gençlik",
            "sosyalizm",
            "açıklama",
            "dayanışma",
            "İstanbul",
            "Ankara",
            "hükümet",
            "haklar",
            "emekçiler",
            "sendika",
            "halk",
            "ekonomi",
            "eğitim",
            "sağlık",
            "seçim",
            "savaş",
            "emperyalizm",
            "kadınlar",
        ],
    },
    Lang {
        code: "de",
        country: "DE",
        words: &[
            "Arbeiter",
            "Streik",
            "Frieden",
            "Partei",
            "Kampf",
            "Löhne",
            "Jugend",
            "Sozialismus",
            "Erklärung",
            "Solidarität",
            "Berlin",
            "Regierung",
            "Rechte",
            "Renten",
            "Gewerkschaft",
            "Mieten",
            "Aufrüstung",
            "Wirtschaft",
            "Bildung",
            "Gesundheit",
            "Wahlen",
            "Krieg",
            "Beschäftigte",
            "Kürzungen",
        ],
    },
    Lang {
        code: "es",
        country: "ES",
        words: &[
            "trabajadores",
            "huelga",
            "paz",
            "partido",
            "lucha",
            "salarios",
            "juventud",
            "socialismo",
            "declaración",
            "solidaridad",
            "Madrid",
            "gobierno",
            "derechos",
            "pensiones",
            "sindicato",
            "vivienda",
            "pueblo",
            "economía",
            "educación",
            "sanidad",
            "elecciones",
            "guerra",
            "campaña",
            "compañeros",
        ],
    },
    Lang {
        code: "fr",
        country: "FR",
        words: &[
            "travailleurs",
            "grève",
            "paix",
            "parti",
            "lutte",
            "salaires",
            "jeunesse",
            "socialisme",
            "déclaration",
            "solidarité",
            "Paris",
            "gouvernement",
            "droits",
            "retraites",
            "syndicat",
            "logement",
            "peuple",
            "économie",
            "éducation",
            "santé",
            "élections",
            "guerre",
            "congrès",
            "réforme",
        ],
    },
    Lang {
        code: "en",
        country: "GB",
        words: &[
            "workers",
            "strike",
            "peace",
            "party",
            "struggle",
            "wages",
            "youth",
            "socialism",
            "statement",
            "solidarity",
            "London",
            "government",
            "rights",
            "pensions",
            "union",
            "housing",
            "people",
            "economy",
            "education",
            "health",
            "elections",
            "war",
            "campaign",
            "congress",
        ],
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rss,
    Atom,
}

/// One entry as its feed publishes it.
#[derive(Debug, Clone)]
pub struct Item {
    pub id: String,
    pub link: String,
    pub title: String,
    /// Plain-text excerpt (the RSS `description`, the Atom `summary`).
    pub summary: String,
    /// 1 to 3 KB of HTML.
    pub body: String,
    pub author: String,
    pub published: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

/// One source feed: its party, format, language, and items newest first.
#[derive(Debug, Clone)]
pub struct Feed {
    pub index: usize,
    pub party: usize,
    pub format: Format,
    pub lang: usize,
    pub items: Vec<Item>,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Spec {
    pub feeds: usize,
    pub entries: usize,
    pub seed: u64,
    /// Share of entry slots filled with a syndicated (shared) entry.
    pub syndicated: f64,
    /// The newest possible date; entries go back 90 days from it.
    pub anchor: DateTime<Utc>,
    /// Put into every id and link, so two corpora never share an entry.
    pub namespace: String,
}

impl Spec {
    /// `feeds × entries` with the defaults: 10 % syndicated, anchored at
    /// today's midnight UTC (so dates are never in the future).
    pub fn new(feeds: usize, entries: usize, seed: u64) -> Spec {
        let anchor = Utc::now().date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
        Spec { feeds, entries, seed, syndicated: 0.10, anchor, namespace: String::new() }
    }
}

/// The generated feeds, and the generator's state for later changes.
pub struct Corpus {
    pub spec: Spec,
    pub feeds: Vec<Feed>,
    rng: Rng,
    serial: u64,
}

/// Two feeds per party: the main feed and a category feed.
pub const FEEDS_PER_PARTY: usize = 2;

pub fn party_id(party: usize) -> String {
    format!("party-{party:04}")
}

impl Corpus {
    pub fn generate(spec: Spec) -> Corpus {
        let mut corpus = Corpus { rng: Rng::new(spec.seed), serial: 0, feeds: Vec::new(), spec };
        let slots = corpus.spec.feeds * corpus.spec.entries;
        // Each shared entry appears in about three feeds.
        let pool_size = ((slots as f64 * corpus.spec.syndicated) / 3.0).ceil().max(1.0) as usize;
        let pool: Vec<(usize, Item)> = (0..pool_size)
            .map(|_| {
                let lang = corpus.rng.below(LANGS.len());
                (lang, corpus.item(usize::MAX, lang, None))
            })
            .collect();
        for index in 0..corpus.spec.feeds {
            let party = index / FEEDS_PER_PARTY;
            let lang = party % LANGS.len();
            let format = if corpus.rng.chance(0.5) { Format::Rss } else { Format::Atom };
            let mut items: Vec<Item> = Vec::with_capacity(corpus.spec.entries);
            while items.len() < corpus.spec.entries {
                let shared = corpus.rng.chance(corpus.spec.syndicated).then(|| corpus.rng.pick(&pool).1.clone());
                match shared {
                    Some(item) if !items.iter().any(|i| i.id == item.id) => items.push(item),
                    _ => items.push(corpus.item(party, lang, None)),
                }
            }
            items.sort_by_key(|i| std::cmp::Reverse(i.published));
            corpus.feeds.push(Feed { index, party, format, lang, items });
        }
        corpus
    }

    pub fn parties(&self) -> usize {
        self.spec.feeds.div_ceil(FEEDS_PER_PARTY)
    }

    pub fn entries(&self) -> usize {
        self.feeds.iter().map(|f| f.items.len()).sum()
    }

    /// A fresh item of `party` (`usize::MAX`: a joint statement) in `lang`,
    /// published at `at` or at a random time in the 90 days before the anchor.
    fn item(&mut self, party: usize, lang: usize, at: Option<DateTime<Utc>>) -> Item {
        self.serial += 1;
        let serial = format!("{}{}", self.spec.namespace, self.serial);
        let rng = &mut self.rng;
        let words = LANGS[lang].words;
        let site = if party == usize::MAX { "joint-statements.example".to_string() } else { format!("{}.example", party_id(party)) };
        let title_words = rng.range(5, 11);
        let mut title = String::new();
        for i in 0..title_words {
            if i > 0 {
                title.push(' ');
            }
            title.push_str(rng.word(words));
        }
        if rng.chance(0.2) {
            title.push_str(&format!(": {} {}", rng.below(100), rng.pick(words)));
        }
        let link = format!("https://{site}/{}/news/{serial}-{}", LANGS[lang].code, rng.below(1_000_000));
        let published = at.unwrap_or_else(|| self.spec.anchor - Duration::seconds(rng.below(90 * 86400) as i64));
        let updated =
            if rng.chance(0.2) { (published + Duration::hours(rng.range(1, 48) as i64)).min(self.spec.anchor) } else { published };
        let size = rng.range(1000, 3000);
        let body = body(rng, words, &site, size);
        let summary = sentence(rng, words, 30);
        let id = match rng.below(3) {
            0 => link.clone(),
            1 => format!("https://{site}/?p={serial}"),
            _ => format!("tag:{site},2025:{serial}"),
        };
        let author = format!("{} {}", rng.pick(words), rng.pick(words));
        Item { id, link, title, summary, body, author, published, updated }
    }

    /// Changes `fraction` of all entries: half edited in place (new title
    /// and body, `updated` moves), half replaced by a new entry at the top.
    /// Returns (edited, added).
    pub fn change(&mut self, fraction: f64) -> (usize, usize) {
        let (mut edited, mut added) = (0, 0);
        let now = self.spec.anchor;
        for f in 0..self.feeds.len() {
            let (party, lang) = (self.feeds[f].party, self.feeds[f].lang);
            let mut i = 0;
            while i < self.feeds[f].items.len() {
                if !self.rng.chance(fraction) {
                    i += 1;
                    continue;
                }
                if self.rng.chance(0.5) {
                    let words = LANGS[lang].words;
                    let extra = sentence(&mut self.rng, words, 8);
                    let item = &mut self.feeds[f].items[i];
                    item.title = format!("{} ({extra})", item.title);
                    item.body.push_str(&format!("<p><strong>{extra}</strong></p>"));
                    item.updated = now;
                    edited += 1;
                } else {
                    let fresh = self.item(party, lang, Some(now - Duration::seconds(added as i64)));
                    self.feeds[f].items.remove(i);
                    self.feeds[f].items.insert(0, fresh);
                    added += 1;
                }
                i += 1;
            }
        }
        (edited, added)
    }

    /// The feed document of feed `index`.
    pub fn feed_xml(&self, index: usize) -> String {
        let feed = &self.feeds[index];
        match feed.format {
            Format::Rss => rss(feed),
            Format::Atom => atom(feed),
        }
    }

    /// The listing page of feed `index`, for an html source (see [`HTML_RULES`]).
    pub fn listing_html(&self, index: usize) -> String {
        let feed = &self.feeds[index];
        let lang = &LANGS[feed.lang];
        let mut out = String::with_capacity(64 * 1024);
        let site = party_id(feed.party);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\"><title>{site} — {w}</title>\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <link rel=\"stylesheet\" href=\"/wp-content/themes/party/style.css?ver=6.4\">\
             <script src=\"/wp-includes/js/jquery/jquery.min.js?ver=3.7.1\"></script>\
             <script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}</script></head>\
             <body class=\"archive category\"><header class=\"site-header\"><nav class=\"main-menu\"><ul>",
            code = lang.code,
            w = lang.words[0],
        );
        for (n, word) in lang.words.iter().enumerate() {
            let _ = write!(out, "<li class=\"menu-item menu-item-{n}\"><a href=\"/category/{n}/\">{word}</a></li>");
        }
        out.push_str("</ul></nav></header><main id=\"content\" class=\"site-main\"><div class=\"posts\">");
        for item in &feed.items {
            let _ = writeln!(
                out,
                "<article class=\"post type-post status-publish format-standard has-post-thumbnail\">\
                 <div class=\"thumb\"><img src=\"/wp-content/uploads/{y}/thumb-{n}.jpg\" alt=\"\" width=\"300\" height=\"200\" loading=\"lazy\"></div>\
                 <h2 class=\"entry-title\"><a href=\"{link}\" rel=\"bookmark\">{title}</a></h2>\
                 <div class=\"entry-meta\"><time class=\"entry-date published\" datetime=\"{iso}\">{human}</time></div>\
                 <div class=\"entry-summary\"><p>{summary}</p></div>\
                 <a class=\"more-link\" href=\"{link}\">…</a></article>",
                y = item.published.format("%Y/%m"),
                n = item.link.len(),
                link = esc(&item.link),
                title = esc(&item.title),
                iso = item.published.to_rfc3339(),
                human = item.published.format("%d.%m.%Y"),
                summary = esc(&item.summary),
            );
        }
        out.push_str(
            "</div><nav class=\"pagination\"><a class=\"next page-numbers\" href=\"?page=2\">»</a></nav></main>\
             <footer class=\"site-footer\"><p>© Party</p><script>document.querySelectorAll('img').forEach(function(i){i.decoding='async'});</script></footer></body></html>\n",
        );
        out
    }

    /// Writes `feeds/<i>.xml` and `pages/<i>.html` under `dir`; returns the bytes written.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<u64> {
        std::fs::create_dir_all(dir.join("feeds"))?;
        std::fs::create_dir_all(dir.join("pages"))?;
        let mut total = 0u64;
        for index in 0..self.feeds.len() {
            let xml = self.feed_xml(index);
            let html = self.listing_html(index);
            total += (xml.len() + html.len()) as u64;
            std::fs::write(dir.join(feed_path(index).trim_start_matches('/')), xml)?;
            std::fs::write(dir.join(page_path(index).trim_start_matches('/')), html)?;
        }
        Ok(total)
    }
}

pub fn feed_path(index: usize) -> String {
    format!("/feeds/{index}.xml")
}

pub fn page_path(index: usize) -> String {
    format!("/pages/{index}.html")
}

/// The selectors of an html source reading [`Corpus::listing_html`].
pub const HTML_RULES: &str = "item = \"article.post\"\ntitle = \"h2.entry-title\"\nlink = \"h2.entry-title a\"\ndate = \"time.entry-date\"\nsummary = \".entry-summary\"\n";

/// The config: every party with its feeds (on `ports`, round-robin, one
/// "host" per port) and, for the first `html_sources` parties, an html
/// source reading the listing page of its first feed. Paths are relative
/// to the config file.
pub fn config_toml(corpus: &Corpus, ports: &[u16], listen_port: u16, html_sources: usize) -> String {
    let mut out = format!(
        "[daemon]\ndata_dir = \"data\"\noutput_dir = \"public\"\nlisten = \"127.0.0.1:{listen_port}\"\n\
         base_url = \"http://127.0.0.1:{listen_port}/\"\nfeed_size = 100\nmin_interval_secs = 0\nhost_gap_ms = 0\njitter_secs = 0\n\
         title = \"Plenum benchmark\"\n"
    );
    for party in 0..corpus.parties() {
        let lang = &LANGS[party % LANGS.len()];
        let id = party_id(party);
        let _ = write!(
            out,
            "\n[[party]]\nid = \"{id}\"\nname = \"Benchmark Party {party}\"\nabbreviation = \"BP{party}\"\ncountry = \"{}\"\n\
             languages = [\"{}\"]\nhomepage = \"https://{id}.example/\"\n",
            lang.country, lang.code
        );
        for feed in corpus.feeds.iter().filter(|f| f.party == party) {
            let port = ports[feed.index % ports.len()];
            let _ = write!(
                out,
                "\n[[party.source]]\nid = \"feed-{}\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:{port}{}\"\n",
                feed.index,
                feed_path(feed.index)
            );
        }
        if party < html_sources {
            let index = party * FEEDS_PER_PARTY;
            let port = ports[(index + 1) % ports.len()];
            let _ = write!(
                out,
                "\n[[party.source]]\nid = \"site\"\nkind = \"html\"\nurl = \"http://127.0.0.1:{port}{}\"\n{HTML_RULES}",
                page_path(index)
            );
        }
    }
    out
}

fn sentence(rng: &mut Rng, words: &[&'static str], n: usize) -> String {
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(rng.word(words));
    }
    out.push('.');
    out
}

/// About `target` bytes of article HTML, the way CMSs write it.
fn body(rng: &mut Rng, words: &[&'static str], site: &str, target: usize) -> String {
    let mut out = String::with_capacity(target + 512);
    while out.len() < target {
        match rng.below(12) {
            0 => {
                out.push_str("<ul>");
                for _ in 0..rng.range(2, 4) {
                    let _ = write!(out, "<li>{}</li>", sentence(rng, words, 6));
                }
                out.push_str("</ul>\n");
            }
            1 => {
                let _ = writeln!(
                    out,
                    "<figure class=\"wp-block-image size-large\"><img decoding=\"async\" width=\"1024\" height=\"576\" \
                     src=\"/wp-content/uploads/2025/{:02}/photo-{}.jpg\" alt=\"{}\" class=\"wp-image-{}\" style=\"max-width:100%\"/>\
                     <figcaption>{}</figcaption></figure>",
                    rng.range(1, 12),
                    rng.below(100_000),
                    rng.pick(words),
                    rng.below(100_000),
                    sentence(rng, words, 5)
                );
            }
            2 if rng.chance(0.3) => {
                let _ = writeln!(
                    out,
                    "<div class=\"embed\"><iframe width=\"560\" height=\"315\" src=\"https://www.youtube.com/embed/v{}\" frameborder=\"0\" allowfullscreen></iframe>\
                     <script async src=\"https://platform.example/widgets.js\"></script></div>",
                    rng.below(1_000_000)
                );
            }
            3 => {
                let _ = writeln!(out, "<blockquote><p>{}</p></blockquote>", sentence(rng, words, 14));
            }
            4 => {
                let _ = writeln!(out, "<h3>{}</h3>", sentence(rng, words, 4));
            }
            _ => {
                out.push_str("<p>");
                for _ in 0..rng.range(2, 4) {
                    let length = rng.range(8, 18);
                    let text = sentence(rng, words, length);
                    match rng.below(5) {
                        0 => {
                            let _ = write!(
                                out,
                                "<a href=\"https://{site}/{}/\" target=\"_blank\">{}</a> {text} ",
                                rng.below(10_000),
                                rng.pick(words)
                            );
                        }
                        1 => {
                            let _ = write!(out, "<strong>{}</strong> {text} ", rng.pick(words));
                        }
                        2 => {
                            let _ = write!(out, "<em>{}</em> {text} ", rng.pick(words));
                        }
                        3 => {
                            let _ = write!(out, "<span style=\"color:#c00\" onclick=\"track()\">{}</span> {text} ", rng.pick(words));
                        }
                        _ => {
                            let _ = write!(out, "{text} ");
                        }
                    }
                }
                out.push_str("</p>\n");
            }
        }
    }
    out
}

/// XML/HTML escaping of text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn rss(feed: &Feed) -> String {
    let lang = &LANGS[feed.lang];
    let site = format!("https://{}.example/", party_id(feed.party));
    let mut out = String::with_capacity(feed.items.len() * 3200 + 1024);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\n<channel>\n\
         <title>{} {}</title>\n<link>{site}</link>\n<description>{}</description>\n<language>{}</language>\n<lastBuildDate>{}</lastBuildDate>\n\
         <generator>https://wordpress.org/?v=6.4.2</generator>\n",
        party_id(feed.party),
        lang.words[feed.index % lang.words.len()],
        lang.words[1],
        lang.code,
        feed.items.first().map(|i| i.updated.to_rfc2822()).unwrap_or_default(),
    );
    for item in &feed.items {
        let permalink = item.id == item.link;
        let _ = write!(
            out,
            "<item>\n<title>{}</title>\n<link>{}</link>\n<guid isPermaLink=\"{permalink}\">{}</guid>\n<pubDate>{}</pubDate>\n\
             <dc:creator><![CDATA[{}]]></dc:creator>\n<category><![CDATA[{}]]></category>\n<description>{}</description>\n\
             <content:encoded><![CDATA[{}]]></content:encoded>\n</item>\n",
            esc(&item.title),
            esc(&item.link),
            esc(&item.id),
            item.published.to_rfc2822(),
            item.author,
            lang.words[2],
            esc(&item.summary),
            item.body,
        );
    }
    out.push_str("</channel>\n</rss>\n");
    out
}

fn atom(feed: &Feed) -> String {
    let lang = &LANGS[feed.lang];
    let site = format!("https://{}.example/", party_id(feed.party));
    let mut out = String::with_capacity(feed.items.len() * 3400 + 1024);
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n\
         <title>{} {}</title>\n<id>{site}feed/{}</id>\n<updated>{}</updated>\n<link rel=\"alternate\" href=\"{site}\"/>\n\
         <link rel=\"self\" href=\"{site}feed/{}.atom\"/>\n<generator uri=\"https://www.drupal.org\">Drupal</generator>\n",
        lang.code,
        party_id(feed.party),
        lang.words[feed.index % lang.words.len()],
        feed.index,
        feed.items.first().map(|i| i.updated.to_rfc3339()).unwrap_or_default(),
        feed.index,
    );
    for item in &feed.items {
        let _ = write!(
            out,
            "<entry>\n<title type=\"text\">{}</title>\n<id>{}</id>\n<link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n\
             <published>{}</published>\n<updated>{}</updated>\n<author><name>{}</name></author>\n<summary type=\"text\">{}</summary>\n\
             <content type=\"html\">{}</content>\n</entry>\n",
            esc(&item.title),
            esc(&item.id),
            esc(&item.link),
            item.published.to_rfc3339(),
            item.updated.to_rfc3339(),
            esc(&item.author),
            esc(&item.summary),
            esc(&item.body),
        );
    }
    out.push_str("</feed>\n");
    out
}

/// Stores every entry of `corpus` straight into `store`, the way a poll
/// would (normalize with sanitizing, then upsert), without XML or HTTP:
/// the fast way to give a store `n` entries. `config` must be the config
/// of a corpus with the same number of feeds. Returns the entries stored.
pub fn fill_store(config: &Config, store: &Store, corpus: &Corpus) -> usize {
    let now = plenum::normalize::now();
    let mut stored = 0;
    for feed in &corpus.feeds {
        let party = config.party(&party_id(feed.party)).expect("the config has every party of the corpus");
        let suffix = format!("/feed-{}", feed.index);
        let source = party.sources.iter().find(|s| s.id.as_str().ends_with(&suffix)).expect("the config has every feed");
        let raw = RawFeed {
            title: Some(party_id(feed.party)),
            language: Some(LANGS[feed.lang].code.to_string()),
            format: "RSS 2.0",
            ..RawFeed::default()
        };
        for item in &feed.items {
            let raw_item = raw_item(item);
            let entry =
                plenum::normalize::normalize(party, source, &raw, &raw_item, &source.url, now).expect("generated items are never empty");
            if store.upsert(entry, now, true).expect("store insert") == (plenum::store::Upsert::New, plenum::store::Matched::Identity) {
                stored += 1;
            }
        }
    }
    stored
}

/// `item` as a feed parser would hand it over.
pub fn raw_item(item: &Item) -> RawItem {
    RawItem {
        id: Some(item.id.clone()),
        link: Some(item.link.clone()),
        title: Some(item.title.clone()),
        title_is_html: false,
        summary_html: Some(esc(&item.summary)),
        content_html: Some(item.body.clone()),
        published: Some(item.published),
        updated: Some(item.updated),
        authors: vec![item.author.clone()],
        language: None,
        date_note: None,
    }
}
