//! Dates as party sites print them: the one place where date *text* becomes a UTC instant.
//!
//! HTML sources (sites without feeds) print dates for people, in their own language:
//! `Δευτέρα 5 Μαρτίου 2018`, `22 de Novembro de 2026`, `11. 11. 2019`, `2/22/21 11:08 AM`,
//! `Mar 012024`, `πριν από 3 ώρες`. This module owns reading them. It knows twelve languages
//! (el, tr, pt, es, fr, de, it, ru, uk, pl, cs, en): long, short and genitive month names,
//! weekday names (skipped), ordinals, fillers such as `de`/`of`, relative forms and the words
//! for today and yesterday. Case and diacritics are folded away, so `Março`, `MARCO` and `mar.`
//! are one month, and so are `Νοεμβρίου`, `ΝΟΕΜΒΡΙΟΥ` and `Νοεμβριου`.
//!
//! [`parse_date`] tries, in this order, and the first reading wins:
//! 1. the source's configured `format` (chrono strftime syntax). Its `%B`/`%b`/`%A`/`%a` accept
//!    names in the page's language: the names in the text are translated to English before
//!    chrono reads it. The format may match anywhere in the text; when it matches nowhere the
//!    built-in patterns are tried;
//! 2. the whole text as a machine date ([`parse_machine_date`]);
//! 3. a complete date (day, month and year) in the page's language, or numeric (`22.11.2025`,
//!    `2025-11-22`), then with the month names of every other language;
//! 4. a relative date (`3 hours ago`, `hier`, `σήμερα`) in the page's language, then in the others;
//! 5. day and month without a year (`22 Nov`) in the page's language.
//!
//! Two steps are narrower than "every language", because short foreign words are too often
//! something else: the words for today and yesterday are read in the page's language and
//! English only (German `hier` means "here", not French "yesterday"), and yearless dates in the
//! page's language only (`Out 3`, `Set 5` would be Portuguese months). When the page's language
//! is unknown (`None`, or outside the twelve) every language is tried for both.
//!
//! Within one step the earliest date in the text wins, so a dateline followed by prose works.
//! A time next to the date (`14:30`, `2:05 PM`, `14h30`, `10:00:00+02:00`) is kept.
//!
//! Choices, and why:
//! - **No zone means UTC.** A page rarely says its zone, and guessing from the party's country
//!   would be wrong for exiled and international sites; UTC is at least predictable.
//! - **No time means 12:00 UTC**, not midnight: the calendar day printed on the page then stays
//!   the same day in every zone from UTC−12 to UTC+12. "Today" without a time is 12:00 or `now`,
//!   whichever is earlier, so it never lies into the future.
//! - **Day first, except US English slashes.** `a/b/y`, `a.b.y` and `a-b-y` are read day first.
//!   When the page language is `en` and the separator is `/`, month first (SolidNet prints
//!   `M/D/YY`). Either way, when the preferred order is impossible (a "month" above 12) the
//!   other order is used, so `22/2/21` and `2/22/21` are both 22 February everywhere.
//!   With no language given, numeric dates are day first.
//! - **Two-digit years**: 00–69 are 20xx, 70–99 are 19xx (chrono's rule too).
//! - **Missing year**: the year of `now`, unless that puts the date more than two days after
//!   `now`; then the year before (a news page does not print next December's date).
//! - **Never a guess**: a year alone, a month and year, `22.11` without a year, a time alone,
//!   an impossible date (31 February) or a phone number give `None`, never `now`.
//! - **Years 1000 to 9999 only.** A reading outside them (`%Y` reading `2`, `5000 years ago`,
//!   `0001-01-01`) is a typo, a version number or a hostile page, never an item's date: that
//!   reading is refused and the next rule is tried. Four-digit years also keep every date
//!   Plenum publishes valid RFC 3339 and RFC 2822.
//! - Words for today/yesterday count only in short texts (six words or fewer), so a headline
//!   saying "today" is not read as a date.
//!
//! Texts are read up to their first 2 KiB and 256 tokens; nothing here panics on input.
//!
//! Known limits: a dotted version such as `1.2.10` reads as 1 February 2010; an hour without
//! minutes (`14 Uhr`) and the dotted time `14.30` are not read as times; in a configured format
//! with both `%b` and `%a`, a word that is both a month and a weekday (Spanish `mar`) is taken
//! as the month; time zone names beyond UTC/GMT/Z, CET/CEST, EET/EEST, MSK, TRT and WIB are ignored.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::format::{Fixed, Item, Numeric, Parsed, StrftimeItems};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};

/// How a date was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateSource {
    /// A machine-readable attribute (`<time datetime>`, `article:published_time`, JSON-LD), read
    /// with [`parse_machine_date`]; the caller, which knows where the text came from, sets it.
    Attribute,
    /// The source's configured format.
    Format,
    /// A built-in pattern: month names, numeric dates, ISO 8601 or RFC 2822 in the text.
    Known,
    /// Counted back from `now`: "3 hours ago", "yesterday".
    Relative,
}

/// A date read from text, with how it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedDate {
    /// The instant, in UTC.
    pub at: DateTime<Utc>,
    /// Which rule produced it.
    pub source: DateSource,
}

/// Only the start of a text is read: a date buried deeper is not the item's date.
const MAX_TEXT_BYTES: usize = 2048;
const MAX_TOKENS: usize = 256;
/// How many places in the text a configured format is tried at.
const MAX_FORMAT_STARTS: usize = 64;
/// Above this many words, "today"/"yesterday" are prose, not a date.
const MAX_WORDS_FOR_DAY_WORDS: usize = 6;
/// "5 years ago" is plausible; "99999999 years ago" is not a date.
const MAX_RELATIVE_AMOUNT: u64 = 100_000;
/// Yearless dates may lie this far after `now` (time zones, clock skew) and still be this year's.
const YEARLESS_SLACK_DAYS: u64 = 2;
/// The years a date may have (see the module documentation).
const SUPPORTED_YEARS: std::ops::RangeInclusive<i32> = 1000..=9999;
const NOON: NaiveTime = match NaiveTime::from_hms_opt(12, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// Checks a strftime-style format (chrono syntax, e.g. `"%d %B %Y"`) at config load time.
///
/// The format must be valid chrono syntax and read at least a day and a month (or a day of the
/// year, a Unix timestamp, RFC 2822 or RFC 3339); the year may be left out (it is taken from
/// `now`). `%B`/`%b`/`%A`/`%a` accept names in the page's language when parsing.
pub fn check_format(format: &str) -> Result<(), String> {
    if format.trim().is_empty() {
        return Err("the date format is empty: leave it out to use the built-in patterns, or give one such as \"%d %B %Y\"".into());
    }
    let mut chars = format.char_indices();
    while let Some((pos, c)) = chars.next() {
        if c != '%' {
            continue;
        }
        let mut spec = String::from("%");
        loop {
            match chars.next() {
                None => {
                    return Err(format!(
                        "the date format ends with a lone `%` (character {}): write `%%` for a literal percent sign",
                        char_number(format, pos)
                    ))
                }
                Some((_, m)) if matches!(m, '-' | '_' | '0' | '#' | ':' | '.' | '1'..='9') && spec.len() < 6 => spec.push(m),
                Some((_, conversion)) => {
                    spec.push(conversion);
                    break;
                }
            }
        }
        if StrftimeItems::new(&spec).any(|item| matches!(item, Item::Error)) {
            return Err(format!(
                "`{spec}` (character {}) is not a strftime specifier chrono knows; use e.g. %d (day), %m or %B (month), %Y (year), %H:%M (time)",
                char_number(format, pos)
            ));
        }
    }
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return Err(
            "the date format is not valid chrono strftime syntax (see https://docs.rs/chrono/latest/chrono/format/strftime/)".into()
        );
    }
    let (mut day, mut month, mut whole) = (false, false, false);
    for item in &items {
        match item {
            Item::Numeric(Numeric::Day, _) => day = true,
            Item::Numeric(Numeric::Month, _) | Item::Fixed(Fixed::ShortMonthName | Fixed::LongMonthName) => month = true,
            Item::Numeric(Numeric::Ordinal | Numeric::Timestamp, _) | Item::Fixed(Fixed::RFC2822 | Fixed::RFC3339) => whole = true,
            _ => {}
        }
    }
    match (whole || (day && month), day, month) {
        (true, _, _) => Ok(()),
        (false, false, false) => {
            Err("the date format reads neither a day nor a month: add a day (%d or %e) and a month (%m, %b or %B)".into())
        }
        (false, false, true) => Err("the date format reads no day of the month: add %d or %e".into()),
        (false, _, _) => Err("the date format reads no month: add %m (number), %b (short name) or %B (full name)".into()),
    }
}

/// 1-based character position of byte offset `pos`, for messages.
fn char_number(text: &str, pos: usize) -> usize {
    text.get(..pos).map_or(0, |head| head.chars().count()) + 1
}

/// Parses `text` as printed on a page in language `lang` (BCP 47 primary tag such as `"el"`,
/// `"pt"`; `None` = try all languages). `format`, a configured format, is tried first.
/// `now` anchors relative dates and years missing from the text.
///
/// Returns `None` when nothing can be read (never `now` as a silent fallback).
/// See the module documentation for the order of preference and the rules.
pub fn parse_date(text: &str, lang: Option<&str>, format: Option<&str>, now: DateTime<Utc>) -> Option<ParsedDate> {
    let tokens = Tokens::new(text);
    if tokens.toks.is_empty() {
        return None;
    }
    let lang = lang.and_then(Lang::from_tag);
    let found = |at, source| Some(ParsedDate { at, source });

    if let Some(format) = format.filter(|f| !f.trim().is_empty()) {
        if let Some(at) = parse_with_format(&tokens, lang, format, now) {
            return found(at, DateSource::Format);
        }
    }
    if let Some(at) = parse_machine_date(text) {
        return found(at, DateSource::Known);
    }

    let first = lang.unwrap_or(Lang::En);
    let us_slashes = lang == Some(Lang::En);
    let others = || FALLBACK_ORDER.iter().copied().filter(move |l| *l != first);

    if let Some(at) = full_date(&tokens, Some(first), Some(us_slashes)).and_then(supported) {
        return found(at, DateSource::Known);
    }
    if let Some(at) = others().find_map(|l| full_date(&tokens, Some(l), None).and_then(supported)) {
        return found(at, DateSource::Known);
    }
    let loose_words_ok = |l: Lang| lang.is_none() || l == first || l == Lang::En;
    if let Some(at) =
        std::iter::once(first).chain(others()).find_map(|l| relative_date(&tokens, l, now, loose_words_ok(l)).and_then(supported))
    {
        return found(at, DateSource::Relative);
    }
    if let Some(at) = std::iter::once(first)
        .chain(others())
        .filter(|l| lang.is_none() || *l == first)
        .find_map(|l| yearless_date(&tokens, l, now).and_then(supported))
    {
        return found(at, DateSource::Known);
    }
    None
}

/// For `<time datetime="...">`, `article:published_time`, JSON-LD `datePublished`:
/// ISO 8601 / RFC 3339 (with or without time, with or without offset) and RFC 2822.
///
/// No offset means UTC; no time means 12:00 UTC (see the module documentation).
pub fn parse_machine_date(text: &str) -> Option<DateTime<Utc>> {
    machine_date(text.trim()).and_then(supported)
}

/// `at` if its year is in [`SUPPORTED_YEARS`].
fn supported(at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    SUPPORTED_YEARS.contains(&at.year()).then_some(at)
}

fn machine_date(s: &str) -> Option<DateTime<Utc>> {
    if s.len() < 8 || s.len() > 80 {
        return None;
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Some(at.with_timezone(&Utc));
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        const WITH_OFFSET: [&str; 4] = ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M%z"];
        if let Some(at) = WITH_OFFSET.iter().find_map(|f| DateTime::parse_from_str(s, f).ok()) {
            return Some(at.with_timezone(&Utc));
        }
        let naive = s.strip_suffix(['Z', 'z']).unwrap_or(s);
        const NAIVE: [&str; 4] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"];
        if let Some(at) = NAIVE.iter().find_map(|f| NaiveDateTime::parse_from_str(naive, f).ok()) {
            return Some(Utc.from_utc_datetime(&at));
        }
        if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            return Some(Utc.from_utc_datetime(&day.and_time(NOON)));
        }
    }
    DateTime::parse_from_rfc2822(s).ok().map(|at| at.with_timezone(&Utc))
}

// ---------------------------------------------------------------------------------------------
// Languages and their words

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    En,
    El,
    Tr,
    Pt,
    Es,
    Fr,
    De,
    It,
    Ru,
    Uk,
    Pl,
    Cs,
}

/// Order of the all-languages fallback. English first: it is the language of the international
/// pages, and its "ago" must win over the Romance abbreviation of August (`ago`).
const FALLBACK_ORDER: [Lang; 12] =
    [Lang::En, Lang::El, Lang::Pt, Lang::Es, Lang::Fr, Lang::It, Lang::De, Lang::Ru, Lang::Uk, Lang::Pl, Lang::Cs, Lang::Tr];

impl Lang {
    /// The primary subtag of a BCP 47 tag; a few common mistakes (`gr`, `ua`, `cz`) are accepted.
    fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        Some(match primary.as_str() {
            "en" => Lang::En,
            "el" | "gr" => Lang::El,
            "tr" => Lang::Tr,
            "pt" => Lang::Pt,
            "es" => Lang::Es,
            "fr" => Lang::Fr,
            "de" => Lang::De,
            "it" => Lang::It,
            "ru" => Lang::Ru,
            "uk" | "ua" => Lang::Uk,
            "pl" => Lang::Pl,
            "cs" | "cz" => Lang::Cs,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

const UNITS: [Unit; 7] = [Unit::Second, Unit::Minute, Unit::Hour, Unit::Day, Unit::Week, Unit::Month, Unit::Year];

/// What a word means in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meaning {
    /// 1 = January.
    Month(u32),
    /// 0 = Monday.
    Weekday(u32),
    Today,
    Yesterday,
    DayBefore,
    /// The word before "yesterday" that makes it the day before: "avant-hier", "l'altro ieri".
    DayBeforeLead,
    /// Skipped after an "ago" prefix: "πριν από".
    AgoFiller,
    AgoSuffix,
    Unit(Unit),
    /// A word for the amount one: "an hour ago", "vor einem Tag".
    One,
    /// Allowed between day, month and year: "de", "of".
    Filler,
    /// After a day number: "1st", "1er", "1º".
    Ordinal,
}

/// The words of one language, spelled naturally; they are case- and accent-folded once at start.
struct LangWords {
    lang: Lang,
    months: [&'static [&'static str]; 12],
    weekdays: [&'static [&'static str]; 7],
    today: &'static [&'static str],
    yesterday: &'static [&'static str],
    day_before: &'static [&'static str],
    day_before_lead: &'static [&'static str],
    /// Word sequences before the amount: "il y a", "hace".
    ago_prefixes: &'static [&'static str],
    ago_fillers: &'static [&'static str],
    ago_suffixes: &'static [&'static str],
    /// In the order of [`UNITS`].
    units: [&'static [&'static str]; 7],
    one: &'static [&'static str],
    fillers: &'static [&'static str],
    ordinals: &'static [&'static str],
}

const LANG_WORDS: [LangWords; 12] = [
    LangWords {
        lang: Lang::En,
        months: [
            &["january", "jan"],
            &["february", "feb"],
            &["march", "mar"],
            &["april", "apr"],
            &["may"],
            &["june", "jun"],
            &["july", "jul"],
            &["august", "aug"],
            &["september", "sep", "sept"],
            &["october", "oct"],
            &["november", "nov"],
            &["december", "dec"],
        ],
        weekdays: [
            &["monday", "mon"],
            &["tuesday", "tue", "tues"],
            &["wednesday", "wed"],
            &["thursday", "thu", "thur", "thurs"],
            &["friday", "fri"],
            &["saturday", "sat"],
            &["sunday", "sun"],
        ],
        today: &["today"],
        yesterday: &["yesterday"],
        day_before: &[],
        day_before_lead: &["before"],
        ago_prefixes: &[],
        ago_fillers: &[],
        ago_suffixes: &["ago"],
        units: [
            &["second", "seconds", "sec", "secs"],
            &["minute", "minutes", "min", "mins"],
            &["hour", "hours", "hr", "hrs"],
            &["day", "days"],
            &["week", "weeks"],
            &["month", "months"],
            &["year", "years", "yr", "yrs"],
        ],
        one: &["a", "an", "one"],
        fillers: &["of", "the"],
        ordinals: &["st", "nd", "rd", "th"],
    },
    LangWords {
        lang: Lang::El,
        months: [
            &["Ιανουάριος", "Ιανουαρίου", "Ιανουάριο", "Γενάρη", "Ιαν"],
            &["Φεβρουάριος", "Φεβρουαρίου", "Φεβρουάριο", "Φλεβάρη", "Φεβ", "Φεβρ"],
            &["Μάρτιος", "Μαρτίου", "Μάρτιο", "Μάρτη", "Μαρ"],
            &["Απρίλιος", "Απριλίου", "Απρίλιο", "Απρίλη", "Απρ"],
            &["Μάιος", "Μαΐου", "Μάιο", "Μάη", "Μαΐ"],
            &["Ιούνιος", "Ιουνίου", "Ιούνιο", "Ιούνη", "Ιουν"],
            &["Ιούλιος", "Ιουλίου", "Ιούλιο", "Ιούλη", "Ιουλ"],
            &["Αύγουστος", "Αυγούστου", "Αύγουστο", "Αυγ"],
            &["Σεπτέμβριος", "Σεπτεμβρίου", "Σεπτέμβριο", "Σεπτέμβρη", "Σεπ", "Σεπτ"],
            &["Οκτώβριος", "Οκτωβρίου", "Οκτώβριο", "Οκτώβρη", "Οκτ"],
            &["Νοέμβριος", "Νοεμβρίου", "Νοέμβριο", "Νοέμβρη", "Νοε", "Νοέμ"],
            &["Δεκέμβριος", "Δεκεμβρίου", "Δεκέμβριο", "Δεκέμβρη", "Δεκ"],
        ],
        weekdays: [
            &["Δευτέρα", "Δευ"],
            &["Τρίτη", "Τρι"],
            &["Τετάρτη", "Τετ"],
            &["Πέμπτη", "Πεμ"],
            &["Παρασκευή", "Παρ"],
            &["Σάββατο", "Σαβ"],
            &["Κυριακή", "Κυρ"],
        ],
        today: &["σήμερα"],
        yesterday: &["χθες", "χτες"],
        day_before: &["προχθές", "προχτές"],
        day_before_lead: &[],
        ago_prefixes: &["πριν"],
        ago_fillers: &["από"],
        ago_suffixes: &["πριν"],
        units: [
            &["δευτερόλεπτο", "δευτερόλεπτα"],
            &["λεπτό", "λεπτά"],
            &["ώρα", "ώρες"],
            &["ημέρα", "ημέρες", "μέρα", "μέρες"],
            &["εβδομάδα", "εβδομάδες"],
            &["μήνα", "μήνες", "μήνας"],
            &["χρόνο", "χρόνια", "έτος", "έτη"],
        ],
        one: &["ένα", "μία", "μια", "έναν"],
        fillers: &[],
        ordinals: &["η"],
    },
    LangWords {
        lang: Lang::Tr,
        months: [
            &["Ocak", "Oca"],
            &["Şubat", "Şub"],
            &["Mart", "Mar"],
            &["Nisan", "Nis"],
            &["Mayıs", "May"],
            &["Haziran", "Haz"],
            &["Temmuz", "Tem"],
            &["Ağustos", "Ağu"],
            &["Eylül", "Eyl"],
            &["Ekim", "Eki"],
            &["Kasım", "Kas"],
            &["Aralık", "Ara"],
        ],
        weekdays: [
            &["Pazartesi", "Pzt"],
            &["Salı", "Sal"],
            &["Çarşamba", "Çar", "Çrş"],
            &["Perşembe", "Per", "Prş"],
            &["Cuma", "Cum"],
            &["Cumartesi", "Cmt"],
            &["Pazar", "Paz"],
        ],
        today: &["bugün"],
        yesterday: &["dün"],
        day_before: &[],
        day_before_lead: &[],
        ago_prefixes: &[],
        ago_fillers: &[],
        ago_suffixes: &["önce"],
        units: [&["saniye", "sn"], &["dakika", "dk"], &["saat"], &["gün"], &["hafta"], &["ay"], &["yıl", "sene"]],
        one: &["bir"],
        fillers: &[],
        ordinals: &[],
    },
    LangWords {
        lang: Lang::Pt,
        months: [
            &["janeiro", "jan"],
            &["fevereiro", "fev"],
            &["março", "mar"],
            &["abril", "abr"],
            &["maio", "mai"],
            &["junho", "jun"],
            &["julho", "jul"],
            &["agosto", "ago"],
            &["setembro", "set"],
            &["outubro", "out"],
            &["novembro", "nov"],
            &["dezembro", "dez"],
        ],
        weekdays: [
            &["segunda", "seg"],
            &["terça", "ter"],
            &["quarta", "qua"],
            &["quinta", "qui"],
            &["sexta", "sex"],
            &["sábado", "sáb"],
            &["domingo", "dom"],
        ],
        today: &["hoje"],
        yesterday: &["ontem"],
        day_before: &["anteontem"],
        day_before_lead: &[],
        ago_prefixes: &["há", "faz"],
        ago_fillers: &[],
        ago_suffixes: &["atrás"],
        units: [
            &["segundo", "segundos"],
            &["minuto", "minutos", "min"],
            &["hora", "horas"],
            &["dia", "dias"],
            &["semana", "semanas"],
            &["mês", "meses"],
            &["ano", "anos"],
        ],
        one: &["um", "uma"],
        fillers: &["de", "do"],
        ordinals: &["º", "ª"],
    },
    LangWords {
        lang: Lang::Es,
        months: [
            &["enero", "ene"],
            &["febrero", "feb"],
            &["marzo", "mar"],
            &["abril", "abr"],
            &["mayo", "may"],
            &["junio", "jun"],
            &["julio", "jul"],
            &["agosto", "ago"],
            &["septiembre", "setiembre", "sep", "sept", "set"],
            &["octubre", "oct"],
            &["noviembre", "nov"],
            &["diciembre", "dic"],
        ],
        weekdays: [
            &["lunes", "lun"],
            &["martes", "mar"],
            &["miércoles", "mié"],
            &["jueves", "jue"],
            &["viernes", "vie"],
            &["sábado", "sáb"],
            &["domingo", "dom"],
        ],
        today: &["hoy"],
        yesterday: &["ayer"],
        day_before: &["anteayer", "antier"],
        day_before_lead: &[],
        ago_prefixes: &["hace"],
        ago_fillers: &[],
        ago_suffixes: &["atrás"],
        units: [
            &["segundo", "segundos"],
            &["minuto", "minutos", "min"],
            &["hora", "horas"],
            &["día", "días"],
            &["semana", "semanas"],
            &["mes", "meses"],
            &["año", "años"],
        ],
        one: &["un", "una"],
        fillers: &["de", "del"],
        ordinals: &["º", "ª"],
    },
    LangWords {
        lang: Lang::Fr,
        months: [
            &["janvier", "janv", "jan"],
            &["février", "févr", "fév"],
            &["mars", "mar"],
            &["avril", "avr"],
            &["mai"],
            &["juin"],
            &["juillet", "juil"],
            &["août"],
            &["septembre", "sept", "sep"],
            &["octobre", "oct"],
            &["novembre", "nov"],
            &["décembre", "déc"],
        ],
        weekdays: [
            &["lundi", "lun"],
            &["mardi", "mar"],
            &["mercredi", "mer"],
            &["jeudi", "jeu"],
            &["vendredi", "ven"],
            &["samedi", "sam"],
            &["dimanche", "dim"],
        ],
        // "aujourd'hui" splits at the apostrophe; "aujourdhui" is the same word typed without it.
        today: &["aujourd", "aujourd'hui"],
        yesterday: &["hier"],
        day_before: &[],
        day_before_lead: &["avant"],
        ago_prefixes: &["il y a"],
        ago_fillers: &[],
        ago_suffixes: &[],
        units: [
            &["seconde", "secondes", "sec"],
            &["minute", "minutes", "min"],
            &["heure", "heures"],
            &["jour", "jours"],
            &["semaine", "semaines"],
            &["mois"],
            &["an", "ans", "année", "années"],
        ],
        one: &["un", "une"],
        fillers: &[],
        ordinals: &["er", "re", "ère"],
    },
    LangWords {
        lang: Lang::De,
        months: [
            &["Januar", "Jänner", "Jan", "Jän"],
            &["Februar", "Feber", "Feb"],
            &["März", "Maerz", "Mär", "Mrz"],
            &["April", "Apr"],
            &["Mai"],
            &["Juni", "Jun"],
            &["Juli", "Jul"],
            &["August", "Aug"],
            &["September", "Sept", "Sep"],
            &["Oktober", "Okt"],
            &["November", "Nov"],
            &["Dezember", "Dez"],
        ],
        weekdays: [
            &["Montag", "Mo"],
            &["Dienstag", "Di"],
            &["Mittwoch", "Mi"],
            &["Donnerstag", "Do"],
            &["Freitag", "Fr"],
            &["Samstag", "Sonnabend", "Sa"],
            &["Sonntag", "So"],
        ],
        today: &["heute"],
        yesterday: &["gestern"],
        day_before: &["vorgestern"],
        day_before_lead: &[],
        ago_prefixes: &["vor"],
        ago_fillers: &[],
        ago_suffixes: &[],
        units: [
            &["Sekunde", "Sekunden", "Sek"],
            &["Minute", "Minuten", "Min"],
            &["Stunde", "Stunden", "Std"],
            &["Tag", "Tagen", "Tage"],
            &["Woche", "Wochen"],
            &["Monat", "Monaten"],
            &["Jahr", "Jahren"],
        ],
        one: &["einem", "einer", "ein", "eine"],
        fillers: &[],
        ordinals: &[],
    },
    LangWords {
        lang: Lang::It,
        months: [
            &["gennaio", "gen"],
            &["febbraio", "feb"],
            &["marzo", "mar"],
            &["aprile", "apr"],
            &["maggio", "mag"],
            &["giugno", "giu"],
            &["luglio", "lug"],
            &["agosto", "ago"],
            &["settembre", "set", "sett"],
            &["ottobre", "ott"],
            &["novembre", "nov"],
            &["dicembre", "dic"],
        ],
        weekdays: [
            &["lunedì", "lun"],
            &["martedì", "mar"],
            &["mercoledì", "mer"],
            &["giovedì", "gio"],
            &["venerdì", "ven"],
            &["sabato", "sab"],
            &["domenica", "dom"],
        ],
        today: &["oggi"],
        yesterday: &["ieri"],
        day_before: &[],
        day_before_lead: &["altro"],
        ago_prefixes: &[],
        ago_fillers: &[],
        ago_suffixes: &["fa"],
        units: [
            &["secondo", "secondi"],
            &["minuto", "minuti", "min"],
            &["ora", "ore"],
            &["giorno", "giorni"],
            &["settimana", "settimane"],
            &["mese", "mesi"],
            &["anno", "anni"],
        ],
        one: &["un", "una", "uno"],
        fillers: &["di"],
        ordinals: &["º"],
    },
    LangWords {
        lang: Lang::Ru,
        months: [
            &["январь", "января", "янв"],
            &["февраль", "февраля", "фев", "февр"],
            &["март", "марта", "мар"],
            &["апрель", "апреля", "апр"],
            &["май", "мая"],
            &["июнь", "июня", "июн"],
            &["июль", "июля", "июл"],
            &["август", "августа", "авг"],
            &["сентябрь", "сентября", "сен", "сент"],
            &["октябрь", "октября", "окт"],
            &["ноябрь", "ноября", "ноя", "нояб"],
            &["декабрь", "декабря", "дек"],
        ],
        weekdays: [
            &["понедельник", "пн"],
            &["вторник", "вт"],
            &["среда", "ср"],
            &["четверг", "чт"],
            &["пятница", "пт"],
            &["суббота", "сб"],
            &["воскресенье", "вс"],
        ],
        today: &["сегодня"],
        yesterday: &["вчера"],
        day_before: &["позавчера"],
        day_before_lead: &[],
        ago_prefixes: &[],
        ago_fillers: &[],
        ago_suffixes: &["назад"],
        units: [
            &["секунду", "секунды", "секунд", "сек"],
            &["минуту", "минуты", "минут", "мин"],
            &["час", "часа", "часов"],
            &["день", "дня", "дней"],
            &["неделю", "недели", "недель"],
            &["месяц", "месяца", "месяцев"],
            &["год", "года", "лет"],
        ],
        one: &["один", "одна", "одну"],
        fillers: &[],
        ordinals: &[],
    },
    LangWords {
        lang: Lang::Uk,
        months: [
            &["січень", "січня", "січ"],
            &["лютий", "лютого", "лют"],
            &["березень", "березня", "бер"],
            &["квітень", "квітня", "квіт"],
            &["травень", "травня", "трав"],
            &["червень", "червня", "черв"],
            &["липень", "липня", "лип"],
            &["серпень", "серпня", "серп"],
            &["вересень", "вересня", "вер"],
            &["жовтень", "жовтня", "жовт"],
            &["листопад", "листопада", "лист"],
            &["грудень", "грудня", "груд"],
        ],
        weekdays: [
            &["понеділок", "пн"],
            &["вівторок", "вт"],
            &["середа", "ср"],
            &["четвер", "чт"],
            &["пʼятниця", "пт"],
            &["субота", "сб"],
            &["неділя", "нд"],
        ],
        today: &["сьогодні"],
        yesterday: &["вчора", "учора"],
        day_before: &["позавчора"],
        day_before_lead: &[],
        ago_prefixes: &[],
        ago_fillers: &[],
        ago_suffixes: &["тому"],
        units: [
            &["секунду", "секунди", "секунд"],
            &["хвилину", "хвилини", "хвилин", "хв"],
            &["годину", "години", "годин", "год"],
            &["день", "дні", "днів"],
            &["тиждень", "тижні", "тижнів"],
            &["місяць", "місяці", "місяців"],
            &["рік", "роки", "років"],
        ],
        one: &["один", "одна", "одну"],
        fillers: &[],
        ordinals: &[],
    },
    LangWords {
        lang: Lang::Pl,
        months: [
            &["styczeń", "stycznia", "sty"],
            &["luty", "lutego", "lut"],
            &["marzec", "marca", "mar"],
            &["kwiecień", "kwietnia", "kwi"],
            &["maj", "maja"],
            &["czerwiec", "czerwca", "cze"],
            &["lipiec", "lipca", "lip"],
            &["sierpień", "sierpnia", "sie"],
            &["wrzesień", "września", "wrz"],
            &["październik", "października", "paź"],
            &["listopad", "listopada", "lis"],
            &["grudzień", "grudnia", "gru"],
        ],
        weekdays: [
            &["poniedziałek", "pon"],
            &["wtorek", "wt"],
            &["środa", "śr"],
            &["czwartek", "czw"],
            &["piątek", "pt"],
            &["sobota", "sob"],
            &["niedziela", "niedz", "nd"],
        ],
        today: &["dzisiaj", "dziś"],
        yesterday: &["wczoraj"],
        day_before: &["przedwczoraj"],
        day_before_lead: &[],
        ago_prefixes: &[],
        ago_fillers: &[],
        ago_suffixes: &["temu"],
        units: [
            &["sekundę", "sekundy", "sekund"],
            &["minutę", "minuty", "minut", "min"],
            &["godzinę", "godziny", "godzin", "godz"],
            &["dzień", "dni"],
            &["tydzień", "tygodnie", "tygodni"],
            &["miesiąc", "miesiące", "miesięcy"],
            &["rok", "lata", "lat"],
        ],
        one: &["jeden", "jedną", "jedna"],
        fillers: &[],
        ordinals: &[],
    },
    LangWords {
        lang: Lang::Cs,
        months: [
            &["leden", "ledna", "led"],
            &["únor", "února", "úno"],
            &["březen", "března", "bře"],
            &["duben", "dubna", "dub"],
            &["květen", "května", "kvě"],
            &["červen", "června", "čvn"],
            &["červenec", "července", "čvc"],
            &["srpen", "srpna", "srp"],
            &["září", "zář"],
            &["říjen", "října", "říj"],
            &["listopad", "listopadu", "lis"],
            &["prosinec", "prosince", "pro"],
        ],
        weekdays: [
            &["pondělí", "po"],
            &["úterý", "út"],
            &["středa", "st"],
            &["čtvrtek", "čt"],
            &["pátek", "pá"],
            &["sobota", "so"],
            &["neděle", "ne"],
        ],
        today: &["dnes"],
        yesterday: &["včera"],
        day_before: &["předevčírem"],
        day_before_lead: &[],
        ago_prefixes: &["před"],
        ago_fillers: &[],
        ago_suffixes: &[],
        units: [
            &["sekundou", "sekundami"],
            &["minutou", "minutami", "min"],
            &["hodinou", "hodinami", "hod"],
            &["dnem", "dny"],
            &["týdnem", "týdny"],
            &["měsícem", "měsíci"],
            &["rokem", "lety", "roky"],
        ],
        one: &["jednou", "jedním"],
        fillers: &[],
        ordinals: &[],
    },
];

const ENGLISH_MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const ENGLISH_WEEKDAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// Every language's words, folded, built once.
struct Vocab {
    /// Folded word → its meanings, per language.
    words: HashMap<String, Vec<(Lang, Meaning)>>,
    /// "Ago" prefixes as folded word sequences ("il y a" → ["il", "y", "a"]).
    prefixes: Vec<(Lang, Vec<String>)>,
}

fn vocab() -> &'static Vocab {
    static VOCAB: OnceLock<Vocab> = OnceLock::new();
    VOCAB.get_or_init(build_vocab)
}

fn build_vocab() -> Vocab {
    let mut words: HashMap<String, Vec<(Lang, Meaning)>> = HashMap::new();
    let mut add = |lang: Lang, list: &[&str], meaning: Meaning| {
        for word in list {
            let meanings = words.entry(fold(word)).or_default();
            if !meanings.contains(&(lang, meaning)) {
                meanings.push((lang, meaning));
            }
        }
    };
    let mut prefixes = Vec::new();
    for lw in &LANG_WORDS {
        let lang = lw.lang;
        for (month, names) in (1..).zip(lw.months) {
            add(lang, names, Meaning::Month(month));
        }
        for (weekday, names) in (0..).zip(lw.weekdays) {
            add(lang, names, Meaning::Weekday(weekday));
        }
        for (unit, names) in UNITS.into_iter().zip(lw.units) {
            add(lang, names, Meaning::Unit(unit));
        }
        add(lang, lw.today, Meaning::Today);
        add(lang, lw.yesterday, Meaning::Yesterday);
        add(lang, lw.day_before, Meaning::DayBefore);
        add(lang, lw.day_before_lead, Meaning::DayBeforeLead);
        add(lang, lw.ago_fillers, Meaning::AgoFiller);
        add(lang, lw.ago_suffixes, Meaning::AgoSuffix);
        add(lang, lw.one, Meaning::One);
        add(lang, lw.fillers, Meaning::Filler);
        add(lang, lw.ordinals, Meaning::Ordinal);
        for prefix in lw.ago_prefixes {
            prefixes.push((lang, prefix.split_whitespace().map(fold).collect()));
        }
    }
    Vocab { words, prefixes }
}

// ---------------------------------------------------------------------------------------------
// Folding and tokens

fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        push_folded(c, &mut out);
    }
    out
}

/// Lower case without diacritics: `Ä`→`a`, `ί`→`ι`, `ς`→`σ`, `ё`→`е`, `İ`→`i`; marks and apostrophes vanish.
fn push_folded(c: char, out: &mut String) {
    for lower in c.to_lowercase() {
        match lower {
            'ß' => out.push_str("ss"),
            'æ' => out.push_str("ae"),
            'œ' => out.push_str("oe"),
            _ => {
                if let Some(base) = base_letter(lower) {
                    out.push(base);
                }
            }
        }
    }
}

fn base_letter(c: char) -> Option<char> {
    if c.is_ascii() {
        return (c != '\'').then_some(c);
    }
    if is_combining(c) || is_apostrophe(c) || is_invisible(c) {
        return None;
    }
    Some(match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' | 'ĉ' | 'ċ' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ğ' | 'ĝ' => 'g',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => 'i',
        'ĺ' | 'ľ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ň' | 'ņ' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ŕ' | 'ř' => 'r',
        'ś' | 'š' | 'ş' | 'ș' => 's',
        'ť' | 'ţ' | 'ț' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        'ά' => 'α',
        'έ' => 'ε',
        'ή' => 'η',
        'ί' | 'ϊ' | 'ΐ' => 'ι',
        'ό' => 'ο',
        'ύ' | 'ϋ' | 'ΰ' => 'υ',
        'ώ' => 'ω',
        'ς' => 'σ',
        'ё' => 'е',
        'ї' => 'і',
        'ґ' => 'г',
        other => other,
    })
}

fn is_combining(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{0483}'..='\u{0489}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02BC}')
}

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}')
}

fn is_word_char(c: char) -> bool {
    c.is_alphabetic() || is_combining(c)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Num,
    Word,
    Sep(char),
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    /// Byte range in the (truncated) original text.
    start: usize,
    end: usize,
    /// Byte range of a word in [`Tokens::folded`].
    folded: (usize, usize),
    /// A number's value (saturating) and its count of digits.
    value: u64,
    digits: usize,
    /// Whitespace came before this token.
    spaced: bool,
    /// A word's meanings in every language.
    vocab: &'static [(Lang, Meaning)],
}

/// Text cut into numbers, words (folded) and single separator characters; whitespace is only
/// remembered as [`Token::spaced`].
struct Tokens<'a> {
    text: &'a str,
    folded: String,
    toks: Vec<Token>,
    words: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Tokens<'a> {
        let mut end = text.len().min(MAX_TEXT_BYTES);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let text = text.get(..end).unwrap_or_default();
        let vocab = vocab();
        let mut tokens = Tokens { text, folded: String::with_capacity(text.len()), toks: Vec::new(), words: 0 };
        let mut chars = text.char_indices().peekable();
        let mut spaced = false;
        while let Some(&(start, c)) = chars.peek() {
            if tokens.toks.len() >= MAX_TOKENS {
                break;
            }
            if c.is_whitespace() || is_invisible(c) {
                spaced |= c.is_whitespace();
                chars.next();
                continue;
            }
            let mut token =
                Token { kind: Kind::Sep(c), start, end: start + c.len_utf8(), folded: (0, 0), value: 0, digits: 0, spaced, vocab: &[] };
            if c.is_ascii_digit() {
                token.kind = Kind::Num;
                while let Some(&(i, d)) = chars.peek() {
                    let Some(digit) = d.to_digit(10).filter(|_| d.is_ascii_digit()) else { break };
                    token.value = token.value.saturating_mul(10).saturating_add(u64::from(digit));
                    token.digits += 1;
                    token.end = i + 1;
                    chars.next();
                }
            } else if is_word_char(c) {
                token.kind = Kind::Word;
                let folded_start = tokens.folded.len();
                let mut previous_cyrillic = false;
                while let Some(&(i, d)) = chars.peek() {
                    if is_word_char(d) {
                        push_folded(d, &mut tokens.folded);
                        previous_cyrillic = is_cyrillic(d);
                    } else if is_invisible(d) {
                        // soft hyphens and zero-width joiners inside a word are dropped
                    } else if is_apostrophe(d) && previous_cyrillic {
                        // Ukrainian "п'ятниця" is one word; elsewhere the apostrophe separates ("l'altro")
                        let mut ahead = chars.clone();
                        ahead.next();
                        if !ahead.peek().is_some_and(|&(_, e)| is_cyrillic(e)) {
                            break;
                        }
                    } else {
                        break;
                    }
                    token.end = i + d.len_utf8();
                    chars.next();
                }
                token.folded = (folded_start, tokens.folded.len());
                let word = tokens.folded.get(folded_start..).unwrap_or_default();
                token.vocab = vocab.words.get(word).map_or(&[], Vec::as_slice);
                tokens.words += 1;
            } else {
                chars.next();
            }
            tokens.toks.push(token);
            spaced = false;
        }
        tokens
    }

    fn len(&self) -> usize {
        self.toks.len()
    }

    fn num(&self, i: usize) -> Option<(u64, usize)> {
        self.toks.get(i).filter(|t| t.kind == Kind::Num).map(|t| (t.value, t.digits))
    }

    fn sep(&self, i: usize) -> Option<char> {
        match self.toks.get(i)?.kind {
            Kind::Sep(c) => Some(c),
            _ => None,
        }
    }

    fn word(&self, i: usize) -> Option<&str> {
        let t = self.toks.get(i).filter(|t| t.kind == Kind::Word)?;
        self.folded.get(t.folded.0..t.folded.1)
    }

    fn spaced(&self, i: usize) -> bool {
        self.toks.get(i).is_some_and(|t| t.spaced)
    }

    fn meanings(&self, i: usize, lang: Lang) -> impl Iterator<Item = Meaning> + '_ {
        self.toks.get(i).map_or(&[][..], |t| t.vocab).iter().filter(move |(l, _)| *l == lang).map(|(_, m)| *m)
    }

    fn has(&self, i: usize, lang: Lang, meaning: Meaning) -> bool {
        self.meanings(i, lang).any(|m| m == meaning)
    }

    fn month(&self, i: usize, lang: Lang) -> Option<u32> {
        self.meanings(i, lang).find_map(|m| if let Meaning::Month(n) = m { Some(n) } else { None })
    }

    fn unit(&self, i: usize, lang: Lang) -> Option<Unit> {
        self.meanings(i, lang).find_map(|m| if let Meaning::Unit(u) = m { Some(u) } else { None })
    }

    /// A month or weekday name in `lang`, else in any language.
    fn name(&self, i: usize, lang: Option<Lang>, want: fn(Meaning) -> Option<u32>) -> Option<u32> {
        let vocab = self.toks.get(i).map_or(&[][..], |t| t.vocab);
        lang.and_then(|lang| vocab.iter().filter(|(l, _)| *l == lang).find_map(|(_, m)| want(*m)))
            .or_else(|| vocab.iter().find_map(|(_, m)| want(*m)))
    }
}

// ---------------------------------------------------------------------------------------------
// Clock times

/// A time of day read next to a date, with its offset from UTC in seconds when one was printed.
#[derive(Debug, Clone, Copy)]
struct Clock {
    time: NaiveTime,
    offset: Option<i32>,
}

/// `14:30`, `2:05 PM`, `14h30`, `10:00:00.5+02:00`, `11:08 a.m.`, `10:15 π.μ.`, `14:30 CET`.
fn clock_at(t: &Tokens, i: usize) -> Option<(Clock, usize)> {
    let (hour, hour_digits) = t.num(i)?;
    if hour_digits > 2 || (i > 0 && t.sep(i - 1) == Some(':') && !t.spaced(i)) {
        return None;
    }
    let colon = t.sep(i + 1) == Some(':');
    if !(colon || t.word(i + 1) == Some("h")) || t.spaced(i + 1) || t.spaced(i + 2) {
        return None;
    }
    let (minute, minute_digits) = t.num(i + 2)?;
    if minute_digits != 2 || minute > 59 {
        return None;
    }
    let mut j = i + 3;
    let (mut second, mut nanos, mut with_seconds) = (0, 0, false);
    if colon && t.sep(j) == Some(':') && !t.spaced(j) && !t.spaced(j + 1) {
        if let Some((s, 2)) = t.num(j + 1).filter(|(s, _)| *s <= 60) {
            second = s.min(59);
            with_seconds = true;
            j += 2;
            if matches!(t.sep(j), Some('.' | ',')) && !t.spaced(j) && !t.spaced(j + 1) {
                if let Some((fraction, digits)) = t.num(j + 1) {
                    nanos = if digits <= 9 { fraction.saturating_mul(10u64.pow(9 - digits as u32)) } else { 0 };
                    j += 2;
                }
            }
        }
    }
    let mut hour = hour;
    if let Some((pm, after)) = am_pm_at(t, j) {
        if (1..=12).contains(&hour) {
            hour = hour % 12 + if pm { 12 } else { 0 };
            j = after;
        }
    }
    if hour > 23 {
        return None;
    }
    let time = NaiveTime::from_hms_nano_opt(small(hour)?, small(minute)?, small(second)?, small(nanos)?)?;
    let (offset, j) = match zone_at(t, j, with_seconds) {
        Some((offset, after)) => (Some(offset), after),
        None => (None, j),
    };
    Some((Clock { time, offset }, j))
}

/// `AM`, `pm`, `a.m.`, `p. m.`, and Greek `π.μ.`/`μ.μ.`: `Some(is_pm, end)`.
fn am_pm_at(t: &Tokens, j: usize) -> Option<(bool, usize)> {
    let pm = |w: &str| match w {
        "am" | "πμ" => Some(false),
        "pm" | "μμ" => Some(true),
        _ => None,
    };
    if let Some(pm) = t.word(j).and_then(pm) {
        return Some((pm, j + 1 + usize::from(t.sep(j + 1) == Some('.'))));
    }
    let first = t.word(j)?;
    let second = t.word(j + 2)?;
    if t.sep(j + 1) != Some('.') {
        return None;
    }
    let pm = match (first, second) {
        ("a", "m") | ("π", "μ") => false,
        ("p", "m") | ("μ", "μ") => true,
        _ => return None,
    };
    Some((pm, j + 3 + usize::from(t.sep(j + 3) == Some('.'))))
}

/// `Z`, `UTC`, `GMT+2`, `+0200`, `+02:00`, `-05:00` (a minus only after seconds, where it cannot
/// be a range such as `10:00-11:00`), and a few European zone names.
fn zone_at(t: &Tokens, j: usize, with_seconds: bool) -> Option<(i32, usize)> {
    const NAMED: [(&str, i32); 7] =
        [("cet", 3600), ("cest", 7200), ("eet", 7200), ("eest", 10800), ("msk", 10800), ("trt", 10800), ("wib", 25200)];
    if let Some(word) = t.word(j) {
        return match word {
            "z" if !t.spaced(j) => Some((0, j + 1)),
            "utc" | "gmt" => Some(numeric_offset(t, j + 1).filter(|_| !t.spaced(j + 1)).unwrap_or((0, j + 1))),
            _ => NAMED.iter().find(|(name, _)| *name == word).map(|(_, offset)| (*offset, j + 1)),
        };
    }
    match t.sep(j)? {
        '+' => numeric_offset(t, j),
        '-' if with_seconds => numeric_offset(t, j),
        _ => None,
    }
}

fn numeric_offset(t: &Tokens, j: usize) -> Option<(i32, usize)> {
    let sign = match t.sep(j)? {
        '+' => 1,
        '-' | '\u{2212}' => -1,
        _ => return None,
    };
    if t.spaced(j + 1) {
        return None;
    }
    let (value, digits) = t.num(j + 1)?;
    let (hours, minutes, end) = match digits {
        4 => (value / 100, value % 100, j + 2),
        1 | 2 => match t.num(j + 3).filter(|(_, d)| *d == 2 && t.sep(j + 2) == Some(':') && !t.spaced(j + 2) && !t.spaced(j + 3)) {
            Some((minutes, _)) => (value, minutes, j + 4),
            None => (value, 0, j + 2),
        },
        _ => return None,
    };
    if hours > 14 || minutes > 59 {
        return None;
    }
    Some((sign * i32::try_from(hours * 3600 + minutes * 60).ok()?, end))
}

/// A clock within a few tokens after the date (`28 May 2022, 14:30`), or else just before it
/// (`10:55 | 12 Nov 2025`).
fn clock_near(t: &Tokens, start: usize, end: usize) -> Option<Clock> {
    for j in end..(end + 5).min(t.len()) {
        if let Some((clock, _)) = clock_at(t, j) {
            return Some(clock);
        }
        if t.num(j).is_some() {
            break;
        }
    }
    (start.saturating_sub(6)..start).rev().find_map(|j| clock_at(t, j).filter(|(_, after)| *after <= start).map(|(c, _)| c))
}

// ---------------------------------------------------------------------------------------------
// Dates

fn small(value: u64) -> Option<u32> {
    u32::try_from(value).ok()
}

fn ymd(year: i32, month: u64, day: u64) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, small(month)?, small(day)?)
}

/// Two-digit years: 00–69 are 20xx, 70–99 are 19xx.
fn pivot_year(two_digits: u64) -> i32 {
    let y = i32::try_from(two_digits % 100).unwrap_or_default();
    if y < 70 {
        2000 + y
    } else {
        1900 + y
    }
}

fn instant(date: NaiveDate, clock: Option<Clock>) -> Option<DateTime<Utc>> {
    let Some(clock) = clock else {
        return Some(Utc.from_utc_datetime(&date.and_time(NOON)));
    };
    let local = date.and_time(clock.time);
    let utc = local.checked_sub_signed(TimeDelta::try_seconds(i64::from(clock.offset.unwrap_or(0)))?)?;
    Some(Utc.from_utc_datetime(&utc))
}

/// Day, month and maybe year read around a month name.
#[derive(Debug, Clone, Copy)]
struct NamedDate {
    day: u64,
    month: u64,
    year: Option<i32>,
    /// A number followed the day and month that could not be the year (`5 March 20255`): not
    /// safe to read as a yearless date either.
    blocked: bool,
    start: usize,
    end: usize,
}

fn skip_fillers(t: &Tokens, mut j: usize, lang: Lang) -> usize {
    for _ in 0..2 {
        if t.has(j, lang, Meaning::Filler) {
            j += 1;
        }
    }
    j
}

/// The year after a day and month: `, 2021`, ` de 2026`, `-24` (two digits only after `-`, `/`
/// or an apostrophe). Returns (year, blocked, end).
fn year_after(t: &Tokens, mut j: usize, lang: Lang, mut two_digits_ok: bool) -> (Option<i32>, bool, usize) {
    let end_without_year = j;
    if t.sep(j) == Some('.') {
        j += 1;
    }
    match t.sep(j) {
        Some(',') => j += 1,
        Some('-' | '/' | '\'' | '\u{2019}') => {
            two_digits_ok = true;
            j += 1;
        }
        _ => {}
    }
    j = skip_fillers(t, j, lang);
    match t.num(j) {
        _ if clock_at(t, j).is_some() => (None, false, end_without_year),
        Some((year, 4)) => (i32::try_from(year).ok(), false, j + 1),
        Some((year, 2)) if two_digits_ok => (Some(pivot_year(year)), false, j + 1),
        Some(_) => (None, true, end_without_year),
        None => (None, false, end_without_year),
    }
}

/// `5 March 2018`, `2ND June 2021`, `1er mars`, `22 de Novembro de 2026`, `5. März 2018`,
/// `05-Mar-24`, `12 Νοεμβρίου 2025`.
fn named_day_month(t: &Tokens, i: usize, lang: Lang) -> Option<NamedDate> {
    let (day, digits) = t.num(i)?;
    if digits > 2 || !(1..=31).contains(&day) {
        return None;
    }
    // "1.5 March", "10:30 March": the number belongs to something else.
    if i >= 2 && matches!(t.sep(i - 1), Some('.' | ':' | ',')) && t.num(i - 2).is_some() && !t.spaced(i) && !t.spaced(i - 1) {
        return None;
    }
    let mut j = i + 1;
    if !t.spaced(j) && t.has(j, lang, Meaning::Ordinal) {
        j += 1;
    }
    if t.sep(j) == Some('.') {
        j += 1;
    }
    let mut joined = false;
    if matches!(t.sep(j), Some('-' | '/')) {
        joined = true;
        j += 1;
    }
    j = skip_fillers(t, j, lang);
    let month = t.month(j, lang)?;
    let (year, blocked, end) = year_after(t, j + 1, lang, joined);
    Some(NamedDate { day, month: u64::from(month), year, blocked, start: i, end })
}

/// `September 19, 2021`, `Nov. 7, 2017`, `March 5 2018`, and `Mar 012024` (a badge that runs
/// day and year together).
fn named_month_day(t: &Tokens, i: usize, lang: Lang) -> Option<NamedDate> {
    let month = u64::from(t.month(i, lang)?);
    let mut j = i + 1;
    if t.sep(j) == Some('.') {
        j += 1;
    }
    let (value, digits) = t.num(j)?;
    if digits == 5 || digits == 6 {
        let (day, year) = (value / 10_000, value % 10_000);
        if !(1..=31).contains(&day) || year < 1000 {
            return None;
        }
        return Some(NamedDate { day, month, year: i32::try_from(year).ok(), blocked: false, start: i, end: j + 1 });
    }
    if digits > 2 || !(1..=31).contains(&value) || clock_at(t, j).is_some() {
        return None;
    }
    j += 1;
    if !t.spaced(j) && t.has(j, lang, Meaning::Ordinal) {
        j += 1;
    }
    let (year, blocked, end) = year_after(t, j, lang, false);
    Some(NamedDate { day: value, month, year, blocked, start: i, end })
}

/// `22.11.2025`, `11. 11. 2019`, `16-11-2025`, `2/22/21`, `2025-11-22`, `2025/11/22`.
fn numeric_date(t: &Tokens, i: usize, us_slashes: bool) -> Option<(NaiveDate, usize)> {
    let (a, a_digits) = t.num(i)?;
    let separator = t.sep(i + 1).filter(|c| matches!(c, '.' | '/' | '-'))?;
    let (b, b_digits) = t.num(i + 2)?;
    if b_digits > 2 || t.sep(i + 3) != Some(separator) {
        return None;
    }
    let (c, c_digits) = t.num(i + 4)?;
    // Part of a longer run such as a version, an IP address or a phone number.
    let glued = |k: usize| !t.spaced(k);
    let chain = |sep: Option<char>| matches!(sep, Some('.' | '/' | '-' | ':'));
    if i >= 2 && chain(t.sep(i - 1)) && t.num(i - 2).is_some() && glued(i) && glued(i - 1) {
        return None;
    }
    if chain(t.sep(i + 5)) && t.num(i + 6).is_some() && glued(i + 5) && glued(i + 6) {
        return None;
    }
    let date = match a_digits {
        4 if c_digits <= 2 => ymd(i32::try_from(a).ok()?, b, c)?,
        1 | 2 => {
            let year = match c_digits {
                4 => i32::try_from(c).ok()?,
                2 => pivot_year(c),
                _ => return None,
            };
            // (day, month), in the order this page's convention prefers
            let (preferred, other) = if us_slashes && separator == '/' { ((b, a), (a, b)) } else { ((a, b), (b, a)) };
            ymd(year, preferred.1, preferred.0).or_else(|| ymd(year, other.1, other.0))?
        }
        _ => return None,
    };
    Some((date, i + 5))
}

/// The earliest complete date: month names of `lang` when given, numeric dates when
/// `numeric` is given (`Some(us_slashes)`).
fn full_date(t: &Tokens, lang: Option<Lang>, numeric: Option<bool>) -> Option<DateTime<Utc>> {
    for i in 0..t.len() {
        if let Some(lang) = lang {
            if let Some(named) = named_day_month(t, i, lang).or_else(|| named_month_day(t, i, lang)) {
                let date = named.year.and_then(|year| ymd(year, named.month, named.day));
                if let Some(at) = date.and_then(|date| instant(date, clock_near(t, named.start, named.end))) {
                    return Some(at);
                }
            }
        }
        if let Some(us_slashes) = numeric {
            if let Some(at) = numeric_date(t, i, us_slashes).and_then(|(date, end)| instant(date, clock_near(t, i, end))) {
                return Some(at);
            }
        }
    }
    None
}

/// `22 Nov`, `Nov 22`, `12 Νοεμβρίου`: the year of `now`, or the year before when that would be
/// more than [`YEARLESS_SLACK_DAYS`] after `now`.
fn yearless_date(t: &Tokens, lang: Lang, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let latest = now.date_naive().checked_add_days(Days::new(YEARLESS_SLACK_DAYS))?;
    (0..t.len()).find_map(|i| {
        let named = named_day_month(t, i, lang).or_else(|| named_month_day(t, i, lang))?;
        if named.year.is_some() || named.blocked {
            return None;
        }
        let date =
            [now.year(), now.year() - 1].into_iter().filter_map(|year| ymd(year, named.month, named.day)).find(|date| *date <= latest)?;
        instant(date, clock_near(t, named.start, named.end))
    })
}

// ---------------------------------------------------------------------------------------------
// Relative dates

/// `day_words`: whether "today"/"yesterday" may be read in this language (see the module docs).
fn relative_date(t: &Tokens, lang: Lang, now: DateTime<Utc>, day_words: bool) -> Option<DateTime<Utc>> {
    let day_words = day_words && t.words <= MAX_WORDS_FOR_DAY_WORDS;
    (0..t.len()).find_map(|i| counted_back(t, i, lang, now).or_else(|| day_words.then(|| named_day(t, i, lang, now)).flatten()))
}

/// `hace 2 días`, `il y a 3 heures`, `πριν από 3 ώρες`, `vor einem Tag`, `před hodinou`
/// (prefix), or `2 hours ago`, `un'ora fa`, `час назад`, `3 saat önce` (suffix).
fn counted_back(t: &Tokens, i: usize, lang: Lang, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let amount_at = |j: usize| match t.num(j) {
        Some((n, _)) => Some((n, j + 1)),
        None if t.has(j, lang, Meaning::One) => Some((1, j + 1)),
        None => None,
    };
    if let Some(mut j) = prefix_end(t, i, lang) {
        while t.has(j, lang, Meaning::AgoFiller) {
            j += 1;
        }
        let (amount, j) = amount_at(j).unwrap_or((1, j));
        if let Some(unit) = t.unit(j, lang) {
            return count_back(now, amount, unit);
        }
    }
    let unit = t.unit(i, lang)?;
    if !t.has(i + 1, lang, Meaning::AgoSuffix) {
        return None;
    }
    // the amount before the unit; "un'ora": skip the apostrophe
    let before = match i.checked_sub(1) {
        Some(p) if t.sep(p).is_some_and(is_apostrophe) => p.checked_sub(1),
        p => p,
    };
    let amount = before.and_then(amount_at).map_or(1, |(n, _)| n);
    count_back(now, amount, unit)
}

fn prefix_end(t: &Tokens, i: usize, lang: Lang) -> Option<usize> {
    vocab()
        .prefixes
        .iter()
        .filter(|(l, _)| *l == lang)
        .find(|(_, words)| words.iter().enumerate().all(|(k, w)| t.word(i + k) == Some(w.as_str())))
        .map(|(_, words)| i + words.len())
}

fn count_back(now: DateTime<Utc>, amount: u64, unit: Unit) -> Option<DateTime<Utc>> {
    if amount > MAX_RELATIVE_AMOUNT {
        return None;
    }
    let n = i64::try_from(amount).ok()?;
    let delta = match unit {
        Unit::Second => TimeDelta::try_seconds(n),
        Unit::Minute => TimeDelta::try_minutes(n),
        Unit::Hour => TimeDelta::try_hours(n),
        Unit::Day => TimeDelta::try_days(n),
        Unit::Week => TimeDelta::try_weeks(n),
        Unit::Month => return now.checked_sub_months(Months::new(small(amount)?)),
        Unit::Year => return now.checked_sub_months(Months::new(small(amount.checked_mul(12)?)?)),
    };
    now.checked_sub_signed(delta?)
}

/// `today`, `yesterday`, `avant-hier`, `вчера, 14:30`.
fn named_day(t: &Tokens, i: usize, lang: Lang, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let days_back = if t.has(i, lang, Meaning::Today) {
        0
    } else if t.has(i, lang, Meaning::DayBefore) {
        2
    } else if t.has(i, lang, Meaning::Yesterday) {
        // "avant-hier", "day before yesterday", "l'altro ieri"
        let previous_word = (i.saturating_sub(3)..i).rev().find(|&k| t.word(k).is_some());
        if previous_word.is_some_and(|k| t.has(k, lang, Meaning::DayBeforeLead)) {
            2
        } else {
            1
        }
    } else {
        return None;
    };
    let date = now.date_naive().checked_sub_days(Days::new(days_back))?;
    match clock_near(t, i, i + 1) {
        Some(clock) => instant(date, Some(clock)),
        None if days_back == 0 => instant(date, None).map(|noon| noon.min(now)),
        None => instant(date, None),
    }
}

// ---------------------------------------------------------------------------------------------
// Configured formats

/// Which English name forms the format's `%B`/`%b` and `%A`/`%a` want (`Some(short)`).
#[derive(Debug, Clone, Copy)]
struct NameStyle {
    months: Option<bool>,
    weekdays: Option<bool>,
}

impl NameStyle {
    fn of(items: &[Item<'_>]) -> NameStyle {
        let has = |fixed: Fixed| items.iter().any(|item| *item == Item::Fixed(fixed.clone()));
        let style = |long: Fixed, short: Fixed| {
            if has(long) {
                Some(false)
            } else if has(short) {
                Some(true)
            } else {
                None
            }
        };
        NameStyle {
            months: style(Fixed::LongMonthName, Fixed::ShortMonthName),
            weekdays: style(Fixed::LongWeekdayName, Fixed::ShortWeekdayName),
        }
    }
}

fn parse_with_format(t: &Tokens, lang: Option<Lang>, format: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let items: Vec<Item<'_>> = StrftimeItems::new(format).collect();
    if items.is_empty() || items.iter().any(|item| matches!(item, Item::Error)) {
        return None;
    }
    let (text, starts) = translate_names(t, lang, NameStyle::of(&items));
    starts.into_iter().take(MAX_FORMAT_STARTS).find_map(|start| {
        let mut parsed = Parsed::new();
        let rest = chrono::format::parse_and_remainder(&mut parsed, text.get(start..)?, items.iter()).ok()?;
        if rest.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        resolve_parsed(&parsed, now).and_then(supported)
    })
}

/// The text with localized month and weekday names replaced by the English ones chrono reads,
/// and where each token starts in it.
fn translate_names(t: &Tokens, lang: Option<Lang>, style: NameStyle) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(t.text.len() + 16);
    let mut starts = Vec::with_capacity(t.len());
    let mut copied = 0;
    let mut skip = 0;
    for (i, tok) in t.toks.iter().enumerate() {
        if skip > 0 {
            skip -= 1;
            copied = tok.end;
            continue;
        }
        out.push_str(t.text.get(copied..tok.start).unwrap_or_default());
        starts.push(out.len());
        let month = style.months.zip(t.name(i, lang, |m| if let Meaning::Month(n) = m { Some(n) } else { None }));
        let weekday = style.weekdays.zip(t.name(i, lang, |m| if let Meaning::Weekday(n) = m { Some(n) } else { None }));
        let english = if let Some((short, n)) = month {
            english_name(&ENGLISH_MONTHS, n.checked_sub(1), short)
        } else if let Some((short, n)) = weekday {
            // Portuguese "segunda-feira": the "-feira" goes with the name
            if t.sep(i + 1) == Some('-') && t.word(i + 2) == Some("feira") {
                skip = 2;
            }
            english_name(&ENGLISH_WEEKDAYS, Some(n), short)
        } else {
            None
        };
        out.push_str(english.unwrap_or_else(|| t.text.get(tok.start..tok.end).unwrap_or_default()));
        copied = tok.end;
    }
    out.push_str(t.text.get(copied..).unwrap_or_default());
    (out, starts)
}

fn english_name(names: &[&'static str], index: Option<u32>, short: bool) -> Option<&'static str> {
    let name = *names.get(usize::try_from(index?).ok()?)?;
    if short {
        name.get(..3)
    } else {
        Some(name)
    }
}

fn resolve_parsed(parsed: &Parsed, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if let Some(seconds) = parsed.timestamp() {
        return DateTime::from_timestamp(seconds, 0);
    }
    let has_year = parsed.year().is_some()
        || parsed.year_mod_100().is_some()
        || parsed.year_div_100().is_some()
        || parsed.isoyear().is_some()
        || parsed.isoyear_mod_100().is_some();
    let date = if has_year {
        parsed.to_naive_date().ok()?
    } else {
        let latest = now.date_naive().checked_add_days(Days::new(YEARLESS_SLACK_DAYS))?;
        [now.year(), now.year() - 1].into_iter().find_map(|year| {
            let mut with_year = parsed.clone();
            with_year.set_year(i64::from(year)).ok()?;
            with_year.to_naive_date().ok().filter(|date| *date <= latest)
        })?
    };
    let time = if parsed.hour_div_12().is_some() || parsed.hour_mod_12().is_some() {
        match parsed.to_naive_time() {
            Ok(time) => time,
            Err(_) => {
                let mut on_the_hour = parsed.clone();
                on_the_hour.set_minute(0).ok()?;
                on_the_hour.to_naive_time().ok()?
            }
        }
    } else {
        NOON
    };
    let local = date.and_time(time);
    let utc = local.checked_sub_signed(TimeDelta::try_seconds(i64::from(parsed.offset().unwrap_or(0)))?)?;
    Some(Utc.from_utc_datetime(&utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thursday 20 November 2025, 15:00 UTC: the `now` of every table.
    fn now() -> DateTime<Utc> {
        at("2025-11-20T15:00:00Z")
    }

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339).map(|d| d.with_timezone(&Utc)).unwrap_or_else(|e| panic!("bad test date {rfc3339}: {e}"))
    }

    /// Input, page language, expected instant (None = not a date).
    type Row = (&'static str, Option<&'static str>, Option<&'static str>);

    /// Runs a table through `parse_date` and reports every row that disagrees, not just the first.
    fn check(rows: &[Row], source: DateSource) {
        let mut failures = Vec::new();
        for &(input, lang, expected) in rows {
            let got = parse_date(input, lang, None, now());
            let expected = expected.map(|e| ParsedDate { at: at(e), source });
            if got != expected {
                failures.push(format!("{input:?} ({lang:?}): expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
    }

    /// Found by the `date_parse` fuzz target: `%Y` read "2" as the year 2.
    #[test]
    fn years_outside_1000_to_9999_are_never_a_date() {
        let greek = "5 Μαρτίου 2 \x00\x00\x00018";
        // The format's reading is refused; what the built-in patterns make of the text is theirs.
        let parsed = parse_date(greek, Some("el"), Some("%d %B %Y"), now());
        assert!(parsed.is_none_or(|p| p.source != DateSource::Format && SUPPORTED_YEARS.contains(&p.at.year())), "{parsed:?}");
        for (text, lang) in
            [("5000 years ago", Some("en")), ("2000 years ago", None), ("vor 1500 Jahren", Some("de")), ("5 March 0999", Some("en"))]
        {
            assert_eq!(parse_date(text, lang, None, now()), None, "{text}");
        }
        for text in ["0001-01-01", "0999-12-31T23:59:59Z", "Mon, 01 Jan 0900 00:00:00 +0000"] {
            assert_eq!(parse_machine_date(text), None, "{text}");
            assert_eq!(parse_date(text, None, None, now()), None, "{text}");
        }
        // The edges themselves are dates, and a refused format reading leaves the built-in ones.
        assert_eq!(parse_machine_date("1000-01-01"), Some(at("1000-01-01T12:00:00Z")));
        assert_eq!(parse_machine_date("9999-12-31T23:59:59Z"), Some(at("9999-12-31T23:59:59Z")));
        let parsed = parse_date("5 Μαρτίου 2, 5/3/2018", Some("el"), Some("%d %B %Y"), now());
        assert_eq!(parsed, Some(ParsedDate { at: at("2018-03-05T12:00:00Z"), source: DateSource::Known }));
    }

    #[test]
    fn reads_english_dates_as_party_sites_print_them() {
        check(
            &[
                ("Monday, March 5, 2018", Some("en"), Some("2018-03-05T12:00:00Z")),
                ("(February 25, 2025)", Some("en"), Some("2025-02-25T12:00:00Z")),
                ("Posted on September 19, 2021", Some("en"), Some("2021-09-19T12:00:00Z")),
                ("28 May 2022, AKEL C.C. Press Office, Nicosia", Some("en"), Some("2022-05-28T12:00:00Z")),
                ("2ND June 2021, AKEL C.C. Press Office", Some("en"), Some("2021-06-02T12:00:00Z")),
                ("10 August 2022. 'Dialogos' portal", Some("en"), Some("2022-08-10T12:00:00Z")),
                ("5 March 2018", Some("en"), Some("2018-03-05T12:00:00Z")),
                ("26 November 2012", Some("en"), Some("2012-11-26T12:00:00Z")),
                ("Mar 012024", Some("en"), Some("2024-03-01T12:00:00Z")),
                ("Nov. 7, 2017", Some("en"), Some("2017-11-07T12:00:00Z")),
                ("1st May 2024", Some("en"), Some("2024-05-01T12:00:00Z")),
                ("22nd April 2023", Some("en"), Some("2023-04-22T12:00:00Z")),
                ("the 5th of March 2018", Some("en"), Some("2018-03-05T12:00:00Z")),
                ("MARCH 8, 2024", Some("en"), Some("2024-03-08T12:00:00Z")),
                ("September 19, 2021 at 2:05 PM", Some("en"), Some("2021-09-19T14:05:00Z")),
                ("2/22/21 11:08 AM", Some("en"), Some("2021-02-22T11:08:00Z")),
                ("11/17/17 11:31 AM", Some("en"), Some("2017-11-17T11:31:00Z")),
                ("11/1/15, 10:19 AM", Some("en"), Some("2015-11-01T10:19:00Z")),
                ("12/2/24, 10:55 AM", Some("en"), Some("2024-12-02T10:55:00Z")),
                ("Tue, 01 Mar 2022 10:00:00 +0000", Some("en"), Some("2022-03-01T10:00:00Z")),
                ("Date: Tue, 1 Mar 2022 10:00:00 GMT (archived)", Some("en"), Some("2022-03-01T10:00:00Z")),
                ("Published 2024-03-01T10:00:00+02:00 by admin", Some("en"), Some("2024-03-01T08:00:00Z")),
                ("Updated: 2024-03-01", Some("en"), Some("2024-03-01T12:00:00Z")),
                ("10:55 | 12 Nov 2025", Some("en"), Some("2025-11-12T10:55:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_greek_dates_with_and_without_tonos() {
        check(
            &[
                ("Δευτέρα 5 Μαρτίου 2018", Some("el"), Some("2018-03-05T12:00:00Z")),
                ("Δημοσιεύτηκε στις 12 Νοεμβρίου 2025", Some("el"), Some("2025-11-12T12:00:00Z")),
                ("12 ΝΟΕΜΒΡΙΟΥ 2025", Some("el"), Some("2025-11-12T12:00:00Z")),
                ("12 Νοεμβριου 2025", Some("el"), Some("2025-11-12T12:00:00Z")),
                ("1η Μαΐου 2024", Some("el"), Some("2024-05-01T12:00:00Z")),
                ("1 ΜΑΪΟΥ 2024", Some("el"), Some("2024-05-01T12:00:00Z")),
                ("Τρίτη, 7 Οκτωβρίου 2025 14:30", Some("el"), Some("2025-10-07T14:30:00Z")),
                ("25 Μαρ 2023", Some("el"), Some("2023-03-25T12:00:00Z")),
                ("17 Νοέμβρη 2023", Some("el"), Some("2023-11-17T12:00:00Z")),
                ("3 Ιουλίου 2024, 10:15 π.μ.", Some("el"), Some("2024-07-03T10:15:00Z")),
                ("30 Αυγούστου 2022", Some("el"), Some("2022-08-30T12:00:00Z")),
                ("Σάββατο, 20 Δεκεμβρίου 2025", Some("el"), Some("2025-12-20T12:00:00Z")),
                ("Δημοσιεύτηκε στις 12 Νοεμβρίου 2025", Some("en"), Some("2025-11-12T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_turkish_dates_with_dotless_i() {
        check(
            &[
                ("5 Kasım 2025", Some("tr"), Some("2025-11-05T12:00:00Z")),
                ("5 KASIM 2025", Some("tr"), Some("2025-11-05T12:00:00Z")),
                ("5 Kasim 2025", Some("tr"), Some("2025-11-05T12:00:00Z")),
                ("12 Şubat 2024 Pazartesi", Some("tr"), Some("2024-02-12T12:00:00Z")),
                ("1 Mayıs 2025", Some("tr"), Some("2025-05-01T12:00:00Z")),
                ("30 Ağustos 2023", Some("tr"), Some("2023-08-30T12:00:00Z")),
                ("23 Nisan 2024 Salı 14:30", Some("tr"), Some("2024-04-23T14:30:00Z")),
                ("07.11.2025", Some("tr"), Some("2025-11-07T12:00:00Z")),
                ("19 Ekim 2025", Some("tr"), Some("2025-10-19T12:00:00Z")),
                ("3 ARALIK 2024", Some("tr"), Some("2024-12-03T12:00:00Z")),
                ("15 Temmuz 2016", Some("tr"), Some("2016-07-15T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_portuguese_dates_with_de_and_without_cedilla() {
        check(
            &[
                ("22 de Novembro de 2026", Some("pt"), Some("2026-11-22T12:00:00Z")),
                ("22 Novembro 2026", Some("pt"), Some("2026-11-22T12:00:00Z")),
                ("22 de MARCO de 2025", Some("pt"), Some("2025-03-22T12:00:00Z")),
                ("22 de Março de 2025", Some("pt"), Some("2025-03-22T12:00:00Z")),
                ("1 mar. 2025", Some("pt"), Some("2025-03-01T12:00:00Z")),
                ("Segunda-feira, 5 de Março de 2018", Some("pt"), Some("2018-03-05T12:00:00Z")),
                ("7 de Abril de 2024", Some("pt"), Some("2024-04-07T12:00:00Z")),
                ("1º de Maio de 2025", Some("pt"), Some("2025-05-01T12:00:00Z")),
                ("25 Abr 2024", Some("pt"), Some("2024-04-25T12:00:00Z")),
                ("15/03/2024", Some("pt"), Some("2024-03-15T12:00:00Z")),
                ("3 de fevereiro de 2021, 18h30", Some("pt"), Some("2021-02-03T18:30:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_spanish_dates() {
        check(
            &[
                ("22 de noviembre de 2026", Some("es"), Some("2026-11-22T12:00:00Z")),
                ("16-11-2025", Some("es"), Some("2025-11-16T12:00:00Z")),
                ("Basta de blanquear el fascismo. Ni un euro para la guerra 16-11-2025", Some("es"), Some("2025-11-16T12:00:00Z")),
                ("lunes, 5 de marzo de 2018", Some("es"), Some("2018-03-05T12:00:00Z")),
                ("7 de octubre del 2024", Some("es"), Some("2024-10-07T12:00:00Z")),
                ("1 de mayo de 2025", Some("es"), Some("2025-05-01T12:00:00Z")),
                ("12 SEPTIEMBRE 2023", Some("es"), Some("2023-09-12T12:00:00Z")),
                ("9 sept. 2024", Some("es"), Some("2024-09-09T12:00:00Z")),
                ("20/11/2025", Some("es"), Some("2025-11-20T12:00:00Z")),
                ("23 de abril de 2024 a las 14:30", Some("es"), Some("2024-04-23T14:30:00Z")),
                ("mar, 05 mar 2024", Some("es"), Some("2024-03-05T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_french_dates_with_1er() {
        check(
            &[
                ("1er mars 2024", Some("fr"), Some("2024-03-01T12:00:00Z")),
                ("5 mars 2018", Some("fr"), Some("2018-03-05T12:00:00Z")),
                ("lundi 5 mars 2018", Some("fr"), Some("2018-03-05T12:00:00Z")),
                ("12 février 2025", Some("fr"), Some("2025-02-12T12:00:00Z")),
                ("12 FEVRIER 2025", Some("fr"), Some("2025-02-12T12:00:00Z")),
                ("24 août 2023", Some("fr"), Some("2023-08-24T12:00:00Z")),
                ("3 déc. 2024", Some("fr"), Some("2024-12-03T12:00:00Z")),
                ("17 octobre 2025 à 14h30", Some("fr"), Some("2025-10-17T14:30:00Z")),
                ("20/11/2025", Some("fr"), Some("2025-11-20T12:00:00Z")),
                ("Publié le 1er mai 2025", Some("fr"), Some("2025-05-01T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_german_dates_with_umlaut_or_ae() {
        check(
            &[
                ("5. März 2018", Some("de"), Some("2018-03-05T12:00:00Z")),
                ("5. Maerz 2018", Some("de"), Some("2018-03-05T12:00:00Z")),
                ("5. MÄRZ 2018", Some("de"), Some("2018-03-05T12:00:00Z")),
                ("Montag, 5. März 2018", Some("de"), Some("2018-03-05T12:00:00Z")),
                ("12. November 2025", Some("de"), Some("2025-11-12T12:00:00Z")),
                ("22.11.2025", Some("de"), Some("2025-11-22T12:00:00Z")),
                ("1. Mai 2024, 14:30 Uhr", Some("de"), Some("2024-05-01T14:30:00Z")),
                ("3. Okt. 2024", Some("de"), Some("2024-10-03T12:00:00Z")),
                ("24. Dezember 2023", Some("de"), Some("2023-12-24T12:00:00Z")),
                ("7. Jänner 2025", Some("de"), Some("2025-01-07T12:00:00Z")),
                ("22.11.2025 um 14:30 Uhr", Some("de"), Some("2025-11-22T14:30:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_italian_dates() {
        check(
            &[
                ("5 marzo 2018", Some("it"), Some("2018-03-05T12:00:00Z")),
                ("lunedì 5 marzo 2018", Some("it"), Some("2018-03-05T12:00:00Z")),
                ("1º maggio 2025", Some("it"), Some("2025-05-01T12:00:00Z")),
                ("25 aprile 2024", Some("it"), Some("2024-04-25T12:00:00Z")),
                ("12 nov 2025", Some("it"), Some("2025-11-12T12:00:00Z")),
                ("7 ottobre 2024 alle 14:30", Some("it"), Some("2024-10-07T14:30:00Z")),
                ("20/11/2025", Some("it"), Some("2025-11-20T12:00:00Z")),
                ("3 GIUGNO 2023", Some("it"), Some("2023-06-03T12:00:00Z")),
                ("5 ago 2024", Some("it"), Some("2024-08-05T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_russian_genitive_months() {
        check(
            &[
                ("5 ноября 2025", Some("ru"), Some("2025-11-05T12:00:00Z")),
                ("7 ноября 2017 г.", Some("ru"), Some("2017-11-07T12:00:00Z")),
                ("5 марта 2018 года", Some("ru"), Some("2018-03-05T12:00:00Z")),
                ("понедельник, 5 марта 2018", Some("ru"), Some("2018-03-05T12:00:00Z")),
                ("22.04.2024", Some("ru"), Some("2024-04-22T12:00:00Z")),
                ("9 мая 2025, 10:00", Some("ru"), Some("2025-05-09T10:00:00Z")),
                ("1 сент. 2024", Some("ru"), Some("2024-09-01T12:00:00Z")),
                ("31 декабря 2024", Some("ru"), Some("2024-12-31T12:00:00Z")),
                ("12 ИЮНЯ 2023", Some("ru"), Some("2023-06-12T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_ukrainian_genitive_months() {
        check(
            &[
                ("5 листопада 2025", Some("uk"), Some("2025-11-05T12:00:00Z")),
                ("24 серпня 2023 р.", Some("uk"), Some("2023-08-24T12:00:00Z")),
                ("понеділок, 5 березня 2018", Some("uk"), Some("2018-03-05T12:00:00Z")),
                ("1 травня 2024", Some("uk"), Some("2024-05-01T12:00:00Z")),
                ("9 травня 2025, 10:00", Some("uk"), Some("2025-05-09T10:00:00Z")),
                ("22.04.2024", Some("uk"), Some("2024-04-22T12:00:00Z")),
                ("п'ятниця, 7 листопада 2025", Some("uk"), Some("2025-11-07T12:00:00Z")),
                ("30 грудня 2023", Some("uk"), Some("2023-12-30T12:00:00Z")),
                ("7 ЛИСТОПАДА 2017", Some("uk"), Some("2017-11-07T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_polish_genitive_months() {
        check(
            &[
                ("5 listopada 2025", Some("pl"), Some("2025-11-05T12:00:00Z")),
                ("01.12.2017: Pikieta PCPE przed ambasadą", Some("pl"), Some("2017-12-01T12:00:00Z")),
                ("11 listopada 2024 r.", Some("pl"), Some("2024-11-11T12:00:00Z")),
                ("poniedziałek, 5 marca 2018", Some("pl"), Some("2018-03-05T12:00:00Z")),
                ("1 maja 2025", Some("pl"), Some("2025-05-01T12:00:00Z")),
                ("22 lipca 2024, 14:30", Some("pl"), Some("2024-07-22T14:30:00Z")),
                ("5 LISTOPADA 2025", Some("pl"), Some("2025-11-05T12:00:00Z")),
                ("7 października 2024", Some("pl"), Some("2024-10-07T12:00:00Z")),
                ("7 pazdziernika 2024", Some("pl"), Some("2024-10-07T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_czech_dates_with_spaced_dots() {
        check(
            &[
                ("11. 11. 2019", Some("cs"), Some("2019-11-11T12:00:00Z")),
                ("11. listopadu 2019", Some("cs"), Some("2019-11-11T12:00:00Z")),
                ("1. května 2025", Some("cs"), Some("2025-05-01T12:00:00Z")),
                ("pondělí 5. března 2018", Some("cs"), Some("2018-03-05T12:00:00Z")),
                ("21.8.2024", Some("cs"), Some("2024-08-21T12:00:00Z")),
                ("17. listopadu 2023 14:30", Some("cs"), Some("2023-11-17T14:30:00Z")),
                ("28. října 2025", Some("cs"), Some("2025-10-28T12:00:00Z")),
                ("3. 3. 2024", Some("cs"), Some("2024-03-03T12:00:00Z")),
                ("5. cervna 2024", Some("cs"), Some("2024-06-05T12:00:00Z")),
                ("5. července 2024", Some("cs"), Some("2024-07-05T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_any_language_when_none_is_given() {
        check(
            &[
                ("Δευτέρα 5 Μαρτίου 2018", None, Some("2018-03-05T12:00:00Z")),
                ("22 de Novembro de 2026", None, Some("2026-11-22T12:00:00Z")),
                ("5 Kasım 2025", None, Some("2025-11-05T12:00:00Z")),
                ("11. listopadu 2019", None, Some("2019-11-11T12:00:00Z")),
                ("5 ноября 2025", None, Some("2025-11-05T12:00:00Z")),
                ("5 листопада 2025", None, Some("2025-11-05T12:00:00Z")),
                ("5 listopada 2025", None, Some("2025-11-05T12:00:00Z")),
                ("5. März 2018", None, Some("2018-03-05T12:00:00Z")),
                ("5 ago 2024", None, Some("2024-08-05T12:00:00Z")),
                // a language outside the twelve falls back to all of them
                ("5 March 2018", Some("ar"), Some("2018-03-05T12:00:00Z")),
                // a page in one language may print dates in another (PAME's English pages)
                ("12 Νοεμβρίου 2025", Some("en-GB"), Some("2025-11-12T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn reads_relative_dates_against_now() {
        check(
            &[
                ("2 hours ago", Some("en"), Some("2025-11-20T13:00:00Z")),
                ("5 minutes ago", Some("en"), Some("2025-11-20T14:55:00Z")),
                ("an hour ago", Some("en"), Some("2025-11-20T14:00:00Z")),
                ("3 days ago", Some("en"), Some("2025-11-17T15:00:00Z")),
                ("1 month ago", Some("en"), Some("2025-10-20T15:00:00Z")),
                ("yesterday", Some("en"), Some("2025-11-19T12:00:00Z")),
                ("today", Some("en"), Some("2025-11-20T12:00:00Z")),
                ("Posted yesterday at 2:05 PM", Some("en"), Some("2025-11-19T14:05:00Z")),
                ("day before yesterday", Some("en"), Some("2025-11-18T12:00:00Z")),
                ("σήμερα", Some("el"), Some("2025-11-20T12:00:00Z")),
                ("χθες", Some("el"), Some("2025-11-19T12:00:00Z")),
                ("ΧΘΕΣ", Some("el"), Some("2025-11-19T12:00:00Z")),
                ("προχθές", Some("el"), Some("2025-11-18T12:00:00Z")),
                ("πριν από 3 ώρες", Some("el"), Some("2025-11-20T12:00:00Z")),
                ("πριν 5 λεπτά", Some("el"), Some("2025-11-20T14:55:00Z")),
                ("Σήμερα, 10:15", Some("el"), Some("2025-11-20T10:15:00Z")),
                ("hoy", Some("es"), Some("2025-11-20T12:00:00Z")),
                ("ayer", Some("es"), Some("2025-11-19T12:00:00Z")),
                ("hace 2 días", Some("es"), Some("2025-11-18T15:00:00Z")),
                ("hace 3 horas", Some("es"), Some("2025-11-20T12:00:00Z")),
                ("anteayer", Some("es"), Some("2025-11-18T12:00:00Z")),
                ("hoje", Some("pt"), Some("2025-11-20T12:00:00Z")),
                ("ontem", Some("pt"), Some("2025-11-19T12:00:00Z")),
                ("há 3 horas", Some("pt"), Some("2025-11-20T12:00:00Z")),
                ("há 2 dias", Some("pt"), Some("2025-11-18T15:00:00Z")),
                ("aujourd'hui", Some("fr"), Some("2025-11-20T12:00:00Z")),
                ("Aujourd’hui à 09h15", Some("fr"), Some("2025-11-20T09:15:00Z")),
                ("hier", Some("fr"), Some("2025-11-19T12:00:00Z")),
                ("avant-hier", Some("fr"), Some("2025-11-18T12:00:00Z")),
                ("il y a 2 jours", Some("fr"), Some("2025-11-18T15:00:00Z")),
                ("il y a 3 heures", Some("fr"), Some("2025-11-20T12:00:00Z")),
                ("heute", Some("de"), Some("2025-11-20T12:00:00Z")),
                ("gestern", Some("de"), Some("2025-11-19T12:00:00Z")),
                ("vorgestern", Some("de"), Some("2025-11-18T12:00:00Z")),
                ("vor 3 Stunden", Some("de"), Some("2025-11-20T12:00:00Z")),
                ("vor einem Tag", Some("de"), Some("2025-11-19T15:00:00Z")),
                ("Heute, 10:15 Uhr", Some("de"), Some("2025-11-20T10:15:00Z")),
                ("oggi", Some("it"), Some("2025-11-20T12:00:00Z")),
                ("ieri", Some("it"), Some("2025-11-19T12:00:00Z")),
                ("l'altro ieri", Some("it"), Some("2025-11-18T12:00:00Z")),
                ("2 ore fa", Some("it"), Some("2025-11-20T13:00:00Z")),
                ("un'ora fa", Some("it"), Some("2025-11-20T14:00:00Z")),
                ("сегодня", Some("ru"), Some("2025-11-20T12:00:00Z")),
                ("вчера", Some("ru"), Some("2025-11-19T12:00:00Z")),
                ("вчера, 14:30", Some("ru"), Some("2025-11-19T14:30:00Z")),
                ("3 часа назад", Some("ru"), Some("2025-11-20T12:00:00Z")),
                ("5 минут назад", Some("ru"), Some("2025-11-20T14:55:00Z")),
                ("час назад", Some("ru"), Some("2025-11-20T14:00:00Z")),
                ("сьогодні", Some("uk"), Some("2025-11-20T12:00:00Z")),
                ("вчора", Some("uk"), Some("2025-11-19T12:00:00Z")),
                ("3 години тому", Some("uk"), Some("2025-11-20T12:00:00Z")),
                ("2 дні тому", Some("uk"), Some("2025-11-18T15:00:00Z")),
                ("dzisiaj", Some("pl"), Some("2025-11-20T12:00:00Z")),
                ("dziś", Some("pl"), Some("2025-11-20T12:00:00Z")),
                ("wczoraj", Some("pl"), Some("2025-11-19T12:00:00Z")),
                ("3 godziny temu", Some("pl"), Some("2025-11-20T12:00:00Z")),
                ("2 dni temu", Some("pl"), Some("2025-11-18T15:00:00Z")),
                ("dnes", Some("cs"), Some("2025-11-20T12:00:00Z")),
                ("včera", Some("cs"), Some("2025-11-19T12:00:00Z")),
                ("před 3 hodinami", Some("cs"), Some("2025-11-20T12:00:00Z")),
                ("před 2 dny", Some("cs"), Some("2025-11-18T15:00:00Z")),
                ("před hodinou", Some("cs"), Some("2025-11-20T14:00:00Z")),
                ("bugün", Some("tr"), Some("2025-11-20T12:00:00Z")),
                ("dün", Some("tr"), Some("2025-11-19T12:00:00Z")),
                ("3 saat önce", Some("tr"), Some("2025-11-20T12:00:00Z")),
                ("2 gün önce", Some("tr"), Some("2025-11-18T15:00:00Z")),
                // without a language, every language is tried
                ("πριν από 3 ώρες", None, Some("2025-11-20T12:00:00Z")),
                ("2 ore fa", None, Some("2025-11-20T13:00:00Z")),
                ("vor 3 Stunden", None, Some("2025-11-20T12:00:00Z")),
            ],
            DateSource::Relative,
        );
    }

    #[test]
    fn today_without_a_time_never_lies_in_the_future() {
        let early = at("2025-11-20T08:00:00Z");
        assert_eq!(parse_date("today", Some("en"), None, early).map(|p| p.at), Some(early));
    }

    #[test]
    fn day_words_in_long_prose_or_another_language_are_not_dates() {
        check(
            &[
                ("Workers across the country are striking today against the new labour law", Some("en"), None),
                // German "hier" is "here", not French "yesterday"
                ("Mehr hier", Some("de"), None),
                // English is always read: international pages mix it in
                ("Posted today", Some("el"), Some("2025-11-20T12:00:00Z")),
            ],
            DateSource::Relative,
        );
        check(&[("hier", None, Some("2025-11-19T12:00:00Z"))], DateSource::Relative);
    }

    #[test]
    fn numeric_order_is_day_first_except_us_english_slashes() {
        check(
            &[
                // ambiguous: English slashes are month first, everything else day first
                ("2/3/21", Some("en"), Some("2021-02-03T12:00:00Z")),
                ("2/3/21", Some("fr"), Some("2021-03-02T12:00:00Z")),
                ("2/3/21", None, Some("2021-03-02T12:00:00Z")),
                ("02.03.2021", Some("en"), Some("2021-03-02T12:00:00Z")),
                ("02-03-2021", Some("en"), Some("2021-03-02T12:00:00Z")),
                // unambiguous: the only possible order wins whatever the language
                ("22/2/21", Some("en"), Some("2021-02-22T12:00:00Z")),
                ("2/22/21", None, Some("2021-02-22T12:00:00Z")),
                ("2/22/21", Some("de"), Some("2021-02-22T12:00:00Z")),
                ("13/13/2021", Some("en"), None),
                // two-digit years pivot at 70
                ("1/2/69", Some("fr"), Some("2069-02-01T12:00:00Z")),
                ("1/2/70", Some("fr"), Some("1970-02-01T12:00:00Z")),
                // year first is never ambiguous
                ("2025/11/22", Some("en"), Some("2025-11-22T12:00:00Z")),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn yearless_dates_take_the_most_recent_year() {
        check(
            &[
                ("18 Nov", Some("en"), Some("2025-11-18T12:00:00Z")),
                ("Nov 18, 14:30", Some("en"), Some("2025-11-18T14:30:00Z")),
                ("22 Nov", Some("en"), Some("2025-11-22T12:00:00Z")),
                ("25 Dec", Some("en"), Some("2024-12-25T12:00:00Z")),
                ("12 Νοεμβρίου", Some("el"), Some("2025-11-12T12:00:00Z")),
                ("5 mars", Some("fr"), Some("2025-03-05T12:00:00Z")),
                ("12 Νοεμβρίου", None, Some("2025-11-12T12:00:00Z")),
                // in another language than the page's, short words are not read as yearless months
                ("Out 3 days", Some("en"), None),
                ("Set 5 of the tournament", Some("en"), None),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn rejects_what_is_not_a_complete_date() {
        check(
            &[
                ("", None, None),
                ("   ", Some("en"), None),
                ("garbage", Some("en"), None),
                ("2025", Some("en"), None),
                ("November 2025", Some("en"), None),
                ("Νοέμβριος 2025", Some("el"), None),
                ("31 February 2025", Some("en"), None),
                ("30.02.2024", Some("de"), None),
                ("29 February 2025", Some("en"), None),
                ("Tel: 210 1234567", Some("el"), None),
                ("Tel: 210-123-4567", Some("en"), None),
                ("Read more »", Some("en"), None),
                ("14:30", Some("en"), None),
                ("22.11", Some("de"), None),
                ("version 1.2.3.4", Some("en"), None),
                ("5 March 20255", Some("en"), None),
                ("Continue reading »", None, None),
                ("ΚΚΕ", Some("el"), None),
                ("hace", Some("es"), None),
                ("99999999 years ago", Some("en"), None),
            ],
            DateSource::Known,
        );
    }

    #[test]
    fn hostile_input_returns_none_quickly_without_panicking() {
        let digits = "9".repeat(10_000);
        let marks = "\u{0301}".repeat(5_000);
        let dots = "1.".repeat(5_000);
        let mixed = "31 Μαρτίου ".repeat(1_000);
        let words = "il y a ".repeat(2_000);
        let inputs: Vec<&str> = vec![
            "",
            "99999999999999",
            &digits,
            "\u{0301}",
            &marks,
            &dots,
            "%%%",
            "\u{FEFF}\u{200B}\u{00AD}",
            "İİİ ıı ßß",
            "ⅫⅫ 12 Ⅻ 2024",
            "١٢ نوفمبر ٢٠٢٥",
            "12:99 99:12",
            "+99:99 -99",
            "Mar 999999",
            &words,
        ];
        let started = std::time::Instant::now();
        for input in &inputs {
            assert_eq!(parse_date(input, None, None, now()), None, "{:?}", input.get(..40));
            assert_eq!(parse_date(input, Some("el"), Some("%d %B %Y"), now()), None);
            assert_eq!(parse_machine_date(input), None);
        }
        // A long text still finds a date at its start, and reading it stays fast.
        assert!(parse_date(&mixed, Some("el"), None, now()).is_some());
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    }

    #[test]
    fn configured_format_comes_first_and_reads_localized_names() {
        // input, page language, configured format, expected instant, expected source
        type FormatRow = (&'static str, Option<&'static str>, &'static str, Option<&'static str>, DateSource);
        let rows: &[FormatRow] = &[
            ("Δευτέρα, 5 Μαρτίου 2018", Some("el"), "%A, %d %B %Y", Some("2018-03-05T12:00:00Z"), DateSource::Format),
            ("22 de Novembro de 2026", Some("pt"), "%d de %B de %Y", Some("2026-11-22T12:00:00Z"), DateSource::Format),
            ("Segunda-feira, 5 de Março de 2018", Some("pt"), "%A, %d de %B de %Y", Some("2018-03-05T12:00:00Z"), DateSource::Format),
            ("05 Nov 2025 14:30", None, "%d %b %Y %H:%M", Some("2025-11-05T14:30:00Z"), DateSource::Format),
            ("05 Νοε 2025 14:30", Some("el"), "%d %b %Y %H:%M", Some("2025-11-05T14:30:00Z"), DateSource::Format),
            ("5. Maerz 2018", Some("de"), "%d. %B %Y", Some("2018-03-05T12:00:00Z"), DateSource::Format),
            ("Posted: 22/11/2025", Some("en"), "%d/%m/%Y", Some("2025-11-22T12:00:00Z"), DateSource::Format),
            ("2/22/21 11:08 AM", Some("en"), "%m/%d/%y %I:%M %p", Some("2021-02-22T11:08:00Z"), DateSource::Format),
            ("5 Kasım", Some("tr"), "%d %B", Some("2025-11-05T12:00:00Z"), DateSource::Format),
            ("2025-11-05 14:30 +0200", None, "%Y-%m-%d %H:%M %z", Some("2025-11-05T12:30:00Z"), DateSource::Format),
            // a format that does not match falls through to the known patterns
            ("5 March 2018", Some("en"), "%d/%m/%Y", Some("2018-03-05T12:00:00Z"), DateSource::Known),
            ("not a date", Some("en"), "%d/%m/%Y", None, DateSource::Format),
        ];
        let mut failures = Vec::new();
        for &(input, lang, format, expected, source) in rows {
            let got = parse_date(input, lang, Some(format), now());
            let expected = expected.map(|e| ParsedDate { at: at(e), source });
            if got != expected {
                failures.push(format!("{input:?} with {format:?}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn check_format_accepts_chrono_formats_that_read_a_day_and_month() {
        for format in [
            "%d %B %Y",
            "%d.%m.%Y",
            "%B %e, %Y",
            "%m/%d/%y, %I:%M %p",
            "%Y-%m-%dT%H:%M:%S%:z",
            "%d %b",
            "%A, %d %B %Y %H:%M",
            "%-d/%-m/%Y",
            "%F",
            "%d de %B de %Y",
            "100%% %d.%m.%Y",
        ] {
            assert_eq!(check_format(format), Ok(()), "{format}");
        }
    }

    #[test]
    fn check_format_explains_what_is_wrong() {
        for (format, needle) in [
            ("%Q", "`%Q`"),
            ("%d %B %Q", "character 7"),
            ("%", "lone `%`"),
            ("%d %B %", "lone `%`"),
            ("", "empty"),
            ("   ", "empty"),
            ("%Y", "neither a day nor a month"),
            ("%B %Y", "no day"),
            ("%d %Y", "no month"),
        ] {
            match check_format(format) {
                Ok(()) => panic!("{format:?} should be rejected"),
                Err(message) => assert!(message.contains(needle), "{format:?}: {message:?} should mention {needle:?}"),
            }
        }
    }

    #[test]
    fn machine_dates_read_iso_8601_rfc_3339_and_rfc_2822() {
        let rows: &[(&str, Option<&str>)] = &[
            ("2024-03-01T10:00:00+02:00", Some("2024-03-01T08:00:00Z")),
            ("2024-03-01T10:00:00Z", Some("2024-03-01T10:00:00Z")),
            (" 2024-03-01T10:00:00.123Z ", Some("2024-03-01T10:00:00.123Z")),
            ("2024-03-01T10:00:00+0200", Some("2024-03-01T08:00:00Z")),
            ("2024-03-01 10:00:00+02:00", Some("2024-03-01T08:00:00Z")),
            ("2024-03-01T10:00", Some("2024-03-01T10:00:00Z")),
            ("2024-03-01T10:00:00", Some("2024-03-01T10:00:00Z")),
            ("2024-03-01 10:00:00", Some("2024-03-01T10:00:00Z")),
            ("2024-03-01", Some("2024-03-01T12:00:00Z")),
            ("Tue, 01 Mar 2022 10:00:00 +0000", Some("2022-03-01T10:00:00Z")),
            ("Tue, 1 Mar 2022 10:00:00 GMT", Some("2022-03-01T10:00:00Z")),
            ("01 Mar 2022 10:00:00 +0100", Some("2022-03-01T09:00:00Z")),
            ("2024-02-30", None),
            ("2024-03-01T25:00:00Z", None),
            ("garbage", None),
            ("", None),
            ("March 5, 2018", None),
        ];
        for &(input, expected) in rows {
            assert_eq!(parse_machine_date(input), expected.map(at), "{input:?}");
        }
    }

    #[test]
    fn machine_dates_in_free_text_are_known_not_attribute() {
        let got = parse_date("2024-03-01T10:00:00Z", Some("en"), None, now());
        assert_eq!(got, Some(ParsedDate { at: at("2024-03-01T10:00:00Z"), source: DateSource::Known }));
    }
}
