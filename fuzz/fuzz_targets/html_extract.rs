//! A listing page read with a fixed selector set, as a `kind = "html"`
//! source would be. Must not panic; every item it yields has a title and an
//! absolute http(s) link; dates stay within years 1000..=9999.
//!
//! Input: the first byte picks the page language (one of the twelve, or
//! none); the rest, when it is UTF-8, is the page.
#![no_main]

use std::sync::OnceLock;

use chrono::{Datelike, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use plenum::extract::html::{extract, nesting_exceeds, selector, HtmlRules, MAX_NESTING};
use url::Url;

const LANGS: [Option<&str>; 13] =
    [Some("el"), Some("tr"), Some("pt"), Some("es"), Some("fr"), Some("de"), Some("it"), Some("ru"), Some("uk"), Some("pl"), Some("cs"), Some("en"), None];

fn rules() -> &'static (HtmlRules, Url) {
    static RULES: OnceLock<(HtmlRules, Url)> = OnceLock::new();
    RULES.get_or_init(|| {
        let rules = HtmlRules {
            item: selector("article, li, .views-row").unwrap(),
            title: selector("h2, a").unwrap(),
            link: selector("a").unwrap(),
            date: Some(selector("time, .date").unwrap()),
            date_format: None,
            summary: Some(selector("p").unwrap()),
            next_page: Some(selector("a[rel=next], .pager-next a").unwrap()),
            pages: 1,
            detail: false,
            include: Vec::new(),
            exclude: Vec::new(),
        };
        (rules, Url::parse("https://www.pcp.pt/actualidade/").unwrap())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(body) = std::str::from_utf8(rest) else { return };
    let lang = LANGS[usize::from(pick) % LANGS.len()];
    let (rules, page_url) = rules();
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();

    // The depth check is a linear scan and monotonic in its limit.
    let limit = usize::from(pick % 16);
    if nesting_exceeds(body, limit + 1) {
        assert!(nesting_exceeds(body, limit), "deeper than {} but not deeper than {limit}", limit + 1);
    }
    let too_deep = nesting_exceeds(body, MAX_NESTING);

    let page = extract(body, page_url, rules, lang, now);
    if too_deep {
        assert!(page.feed.items.is_empty());
    }
    for item in &page.feed.items {
        assert!(item.title.as_deref().is_some_and(|t| !t.is_empty()), "item without title: {item:?}");
        let link = item.link.as_deref().expect("item without link");
        let url = Url::parse(link).expect("item link is not absolute");
        assert!(matches!(url.scheme(), "http" | "https"), "item link is not http(s): {link}");
        if let Some(at) = item.published {
            assert!((1000..=9999).contains(&at.year()), "date out of range: {at} ({:?})", item.date_note);
        }
    }
    if let Some(next) = &page.next_page {
        assert!(matches!(next.scheme(), "http" | "https") && next != page_url);
    }
});
