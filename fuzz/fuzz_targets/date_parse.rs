//! The date parser in each of its twelve languages and without one, the
//! machine-date parser, and format checking. Must not panic; a date read
//! must lie within years 1000..=9999.
//!
//! Input: UTF-8 text. It is parsed as it is; and when it holds a newline,
//! the first line is a configured `date_format` (used only if
//! `check_format` accepts it, as at config load) and the rest the text.
#![no_main]

use chrono::{DateTime, Datelike, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use plenum::extract::date::{check_format, parse_date, parse_machine_date};

const LANGS: [Option<&str>; 13] =
    [Some("el"), Some("tr"), Some("pt"), Some("es"), Some("fr"), Some("de"), Some("it"), Some("ru"), Some("uk"), Some("pl"), Some("cs"), Some("en"), None];

fn in_range(at: DateTime<Utc>, what: &str, text: &str) {
    assert!((1000..=9999).contains(&at.year()), "{what} read {text:?} as {at}, outside years 1000..=9999");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    for lang in LANGS {
        if let Some(parsed) = parse_date(text, lang, None, now) {
            in_range(parsed.at, &format!("parse_date({lang:?})"), text);
        }
    }
    if let Some(at) = parse_machine_date(text) {
        in_range(at, "parse_machine_date", text);
    }
    let _ = check_format(text);
    if let Some((format, rest)) = text.split_once('\n') {
        if check_format(format).is_ok() {
            for lang in LANGS {
                if let Some(parsed) = parse_date(rest, lang, Some(format), now) {
                    in_range(parsed.at, &format!("parse_date({lang:?}, format {format:?})"), rest);
                }
            }
        }
    }
});
