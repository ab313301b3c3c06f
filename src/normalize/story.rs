//! Is this the same story? The rule that joins one statement published by
//! several parties into one entry of the merged feed.
//!
//! Joint statements are common: a dozen parties publish the same text under
//! the same title within a day or two. The rule (see [`same_story`]):
//!
//! - the same canonical article link (several parties linking one SolidNet
//!   page), or
//! - the same title after normalization (case, punctuation, spacing) AND
//!   published within 48 hours AND
//!   - similar text (MinHash estimate of the Jaccard similarity of word
//!     3-shingles at least 0.5), or, when either has no text to compare,
//!   - a long title (8 words or more), which is specific enough on its own.
//!
//! Why not "same title, same day" alone: titles such as "Statement of the
//! Central Committee" or "Press release" are reused by many parties for
//! different texts on the same day. Why not text similarity alone: excerpts
//! are short and often missing. Why exact (normalized) titles rather than a
//! fuzzy title match: "Solidarity with Cuba" and "Solidarity with Venezuela"
//! differ by one word and are different stories; a wrong merge hides a
//! party's statement, a missed one shows it twice, and the first is worse.

use chrono::{DateTime, Duration, Utc};
use xxhash_rust::xxh3::xxh3_64;

/// Number of MinHash values kept per entry.
pub const SKETCH_LEN: usize = 16;
/// Shingles compared: the first this many words of the text.
const SKETCH_WORDS: usize = 300;
const WINDOW: Duration = Duration::hours(48);
const MIN_SIMILARITY: f64 = 0.5;
const LONG_TITLE_WORDS: usize = 8;

/// The title as compared: lowercase letters and digits, single spaces.
pub fn title_key(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for word in words(title) {
        if !out.is_empty() {
            out.push(' ');
        }
        push_lowercase(&mut out, word);
    }
    out
}

/// The words of `text`: runs of alphanumeric characters (`char::is_alphanumeric`).
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !is_alphanumeric(c)).filter(|w| !w.is_empty())
}

/// `char::is_alphanumeric`, answered from a table for the Basic
/// Multilingual Plane: std's answer for a letter of Greek or Cyrillic is a
/// search of its Unicode tables, and the words of every entry's text ask
/// it of each character (it was the single costliest function of a first
/// poll by instructions).
fn is_alphanumeric(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    match bmp_bit(&bmp().alphanumeric, c) {
        Some(bit) => bit,
        None => c.is_alphanumeric(),
    }
}

/// Appends `word` lowercased character by character (`char::to_lowercase`,
/// so a final Σ becomes σ, as stored sketches were made), looking up in a
/// table whether a character changes at all.
fn push_lowercase(out: &mut String, word: &str) {
    out.reserve(word.len());
    for c in word.chars() {
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase());
        } else if bmp_bit(&bmp().lowercase_differs, c) == Some(false) {
            out.push(c);
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// One bit per character of the Basic Multilingual Plane.
type BmpSet = [u64; 0x10000 / 64];

/// What [`is_alphanumeric`] and [`push_lowercase`] look up, computed once
/// from std itself (about a millisecond), so a lookup answers exactly what
/// std would.
struct Bmp {
    alphanumeric: BmpSet,
    lowercase_differs: BmpSet,
}

fn bmp() -> &'static Bmp {
    static BMP: std::sync::OnceLock<Box<Bmp>> = std::sync::OnceLock::new();
    BMP.get_or_init(|| {
        let mut bmp = Box::new(Bmp { alphanumeric: [0; 0x10000 / 64], lowercase_differs: [0; 0x10000 / 64] });
        for c in (0..0x10000u32).filter_map(char::from_u32) {
            let (word, bit) = ((c as u32 / 64) as usize, c as u32 % 64);
            bmp.alphanumeric[word] |= u64::from(c.is_alphanumeric()) << bit;
            let mut lower = c.to_lowercase();
            let unchanged = lower.next() == Some(c) && lower.next().is_none();
            bmp.lowercase_differs[word] |= u64::from(!unchanged) << bit;
        }
        bmp
    })
}

/// The bit of `c` in `set`; `None` outside the Basic Multilingual Plane.
fn bmp_bit(set: &BmpSet, c: char) -> Option<bool> {
    let n = c as u32;
    (n < 0x10000).then(|| set[(n / 64) as usize] >> (n % 64) & 1 == 1)
}

/// A MinHash sketch of the text's word 3-shingles; empty when the text has
/// fewer than three words.
///
/// Each word is hashed once (xxh3, lowercased), a shingle's hash is xxh3 of
/// its three word hashes, and the [`SKETCH_LEN`] hash functions are that
/// hash mixed with a different constant each (splitmix64's finalizer).
/// Stored sketches are compared with new ones, so this function is part of
/// the store's format: changing it needs a migration that recomputes them
/// (see `store::schema`).
pub fn text_sketch(text: &str) -> Vec<u32> {
    let mut lowered = String::new();
    let mut words: Vec<u64> = Vec::with_capacity(SKETCH_WORDS.min(text.len() / 4 + 1));
    for word in self::words(text).take(SKETCH_WORDS) {
        if word.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
            words.push(xxh3_64(word.as_bytes()));
        } else {
            lowered.clear();
            push_lowercase(&mut lowered, word);
            words.push(xxh3_64(lowered.as_bytes()));
        }
    }
    if words.len() < 3 {
        return Vec::new();
    }
    let mut mins = [u32::MAX; SKETCH_LEN];
    for shingle in words.windows(3) {
        let mut bytes = [0u8; 24];
        for (slot, word) in bytes.chunks_exact_mut(8).zip(shingle) {
            slot.copy_from_slice(&word.to_le_bytes());
        }
        let hash = xxh3_64(&bytes);
        for (i, min) in mins.iter_mut().enumerate() {
            *min = (*min).min((mix(hash ^ SEEDS[i]) >> 32) as u32);
        }
    }
    mins.to_vec()
}

/// The sketch of sanitized HTML: [`text_sketch`] of its text (see
/// [`super::text::from_sanitized`]), reading only as much of a long
/// article as its first [`SKETCH_WORDS`] words need.
pub fn html_sketch(html: &str) -> Vec<u32> {
    text_sketch(&leading_text(html, SKETCH_WORDS))
}

/// The text of sanitized `html`, or of a prefix of it whose words begin
/// with the first `words` words of the whole. A prefix ends before a tag;
/// in sanitized HTML no entity is cut there (a bare `&` is written
/// `&amp;`), so its text is a prefix of the whole text, except that its
/// last word may continue (`wo<b>rd</b>`): a prefix that reads as more than
/// `words` words has them all. Prefixes start at 16 bytes a word (enough
/// for most texts) and double while they stay within half of the markup;
/// then all of it is read. The prefixes tried add up to about the whole,
/// so a text sparse in words costs about twice a single reading, at most.
fn leading_text(html: &str, words: usize) -> String {
    let mut cut = words.saturating_mul(16).max(64);
    while cut.saturating_mul(2) <= html.len() {
        let Some(tag) = html.as_bytes()[cut..].iter().position(|&b| b == b'<') else { break };
        let text = super::text::from_sanitized(&html[..cut + tag]);
        if self::words(&text).nth(words).is_some() {
            return text;
        }
        cut = cut.saturating_mul(2);
    }
    super::text::from_sanitized(html)
}

/// One constant per hash function of the sketch (the fractional digits of
/// the golden ratio, stepped).
const SEEDS: [u64; SKETCH_LEN] = {
    let mut seeds = [0u64; SKETCH_LEN];
    let mut i = 0;
    while i < SKETCH_LEN {
        seeds[i] = 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1);
        i += 1;
    }
    seeds
};

/// splitmix64's finalizer: a bijective mix of 64 bits.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Estimated Jaccard similarity of two sketches (0 when either is empty).
pub fn similarity(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

/// What the rule looks at in an entry.
#[derive(Debug, Clone, Copy)]
pub struct StoryFacts<'a> {
    pub title_key: &'a str,
    pub canonical_link: Option<&'a str>,
    pub published: DateTime<Utc>,
    pub sketch: &'a [u32],
}

/// True when two entries (of different parties) tell the same story.
pub fn same_story(a: &StoryFacts<'_>, b: &StoryFacts<'_>) -> bool {
    if let (Some(x), Some(y)) = (a.canonical_link, b.canonical_link) {
        if x == y {
            return true;
        }
    }
    if a.title_key.is_empty() || a.title_key != b.title_key || (a.published - b.published).abs() > WINDOW {
        return false;
    }
    if !a.sketch.is_empty() && !b.sketch.is_empty() {
        return similarity(a.sketch, b.sketch) >= MIN_SIMILARITY;
    }
    a.title_key.split(' ').count() >= LONG_TITLE_WORDS
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const JOINT: &str = "Joint Statement of Communist and Workers' Parties on the escalation of imperialist war in the Middle East";
    const JOINT_TEXT: &str = "The Communist and Workers' Parties that sign this statement denounce the new escalation of the \
        imperialist war in the Middle East, the bombing of civilians, the blockade of Gaza and the plans of the \
        USA, NATO and the EU to redraw the borders of the region for the profits of the monopolies. We call on the \
        working class and the peoples to intensify the struggle against war, for peace and socialism.";

    fn facts<'a>(title_key: &'a str, hours: i64, sketch: &'a [u32], link: Option<&'a str>) -> StoryFacts<'a> {
        StoryFacts {
            title_key,
            canonical_link: link,
            published: Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap() + Duration::hours(hours),
            sketch,
        }
    }

    #[test]
    fn a_joint_statement_published_by_several_parties_is_one_story() {
        let t = title_key(JOINT);
        let kke = text_sketch(JOINT_TEXT);
        // Another party republishes it a day later with an introduction and a signature list.
        let pcp = text_sketch(&format!("Published by the PCP. {JOINT_TEXT} Signed: KKE, PCP, TKP, PCPE."));
        assert!(similarity(&kke, &pcp) >= 0.5, "{}", similarity(&kke, &pcp));
        assert!(same_story(&facts(&t, 0, &kke, None), &facts(&t, 26, &pcp, None)));
        // Titles differing only in case, quotes and spacing are the same title.
        assert_eq!(
            title_key("«Joint  Statement» of Communist and Workers’ Parties"),
            title_key("joint statement of communist and workers parties")
        );
    }

    #[test]
    fn generic_titles_with_different_texts_stay_apart() {
        let t = title_key("Statement of the Central Committee");
        let a = text_sketch("The Central Committee of the KKE met on Saturday and discussed the strike of the dock workers of Piraeus.");
        let b = text_sketch("The Central Committee of the PCP analysed the state budget and the cuts to the national health service.");
        assert!(!same_story(&facts(&t, 0, &a, None), &facts(&t, 2, &b, None)));
        // Without texts, a short generic title is not enough.
        assert!(!same_story(&facts(&t, 0, &[], None), &facts(&t, 2, &[], None)));
    }

    #[test]
    fn similar_titles_are_different_stories() {
        let cuba = title_key("Solidarity with the people of Cuba against the blockade and aggression");
        let venezuela = title_key("Solidarity with the people of Venezuela against the blockade and aggression");
        assert!(!same_story(&facts(&cuba, 0, &[], None), &facts(&venezuela, 0, &[], None)));
    }

    #[test]
    fn the_same_title_weeks_apart_is_a_different_story() {
        let t = title_key(JOINT);
        let s = text_sketch(JOINT_TEXT);
        assert!(!same_story(&facts(&t, 0, &s, None), &facts(&t, 24 * 20, &s, None)));
        // ... and a long identical title within the window is enough without texts.
        assert!(same_story(&facts(&t, 0, &[], None), &facts(&t, 30, &[], None)));
    }

    #[test]
    fn the_same_link_is_the_same_story_whatever_the_titles() {
        let link = Some("//solidnet.org/article/joint-statement");
        assert!(same_story(&facts("a", 0, &[], link), &facts("b", 500, &[], link)));
    }

    /// The tables answer what std answers, for every character.
    #[test]
    fn word_characters_and_lowercase_are_stds() {
        for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
            let mut mine = String::new();
            push_lowercase(&mut mine, c.encode_utf8(&mut [0; 4]));
            assert_eq!(mine, c.to_lowercase().collect::<String>(), "{c:?}");
        }
    }

    /// Sketches and title keys are stored: the words and lowercase of the
    /// table lookups are those of the std calls they replaced.
    #[test]
    fn sketches_and_title_keys_are_those_std_made() {
        fn std_words(text: &str) -> Vec<String> {
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(|w| w.chars().flat_map(char::to_lowercase).collect())
                .collect()
        }
        let texts = [
            JOINT_TEXT,
            "ΚΚΕ: Η ΑΠΕΡΓΙΑ ΤΩΝ ΛΙΜΕΝΕΡΓΑΤΩΝ ΣΥΝΕΧΙΖΕΤΑΙ· ΟΔΥΣΣΕΑΣ ΣΤΗ ΘΕΣΣΑΛΟΝΙΚΗ, 12η Νοεμβρίου",
            "Коммунистическая партия Российской Федерации (КПРФ) — заявление Президиума ЦК № 15",
            "Türkiye Komünist Partisi: İŞÇİ SINIFININ ÖRGÜTLÜLÜĞÜ İÇİN ÇAĞRI ½ ² ١٢٣ 𝐀𝐁𝐂 𐐀𐐁",
            "Komunistická strana Čech a Moravy · ŽIVOTNÍ ÚROVEŇ · Straße ǅ ẞ İ Ω K Å",
        ];
        for text in texts {
            assert_eq!(title_key(text), std_words(text).join(" "), "{text}");
            let mine = words(text).collect::<Vec<_>>();
            assert_eq!(mine, text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>());
        }
        // A Greek text's sketch, as this build's predecessors stored it.
        let greek = texts[1].repeat(3);
        let hashes: Vec<u64> = std_words(&greek).iter().map(|w| xxh3_64(w.as_bytes())).collect();
        let mut mins = [u32::MAX; SKETCH_LEN];
        for shingle in hashes.windows(3) {
            let bytes: Vec<u8> = shingle.iter().flat_map(|h| h.to_le_bytes()).collect();
            let hash = xxh3_64(&bytes);
            for (i, min) in mins.iter_mut().enumerate() {
                *min = (*min).min((mix(hash ^ SEEDS[i]) >> 32) as u32);
            }
        }
        assert_eq!(text_sketch(&greek), mins.to_vec());
    }

    /// A long article's sketch reads only its beginning, and is the sketch
    /// of its whole text: cut before tags, inside words (inline tags),
    /// around entities and block tags.
    #[test]
    fn a_prefix_has_the_words_of_the_whole() {
        let paragraph = "<p>Η <b>απεργία</b> συνε<i>χίζεται</i> &amp; wo<em>rd</em> caf&eacute; &lt;b&gt;             <a href=\"https://kke.gr/?a=1&amp;b=2\" title=\"1 < 2 > 0\">σύνδεσμος</a><br>τέλος</p>";
        let html = paragraph.repeat(160);
        let whole = crate::normalize::text::from_sanitized(&html);
        let all: Vec<&str> = words(&whole).collect();
        assert!(all.len() > 1200, "{}", all.len());
        for n in 1..400 {
            let text = leading_text(&html, n);
            let mine: Vec<&str> = words(&text).take(n).collect();
            assert_eq!(mine, all[..n], "first {n} words");
            assert!(text.len() < whole.len(), "read all of it for {n} words");
        }
        assert_eq!(html_sketch(&html), text_sketch(&whole));
        assert_eq!(leading_text("<p>short</p>", 300), "short");
        // Markup with few words (a gallery) is read whole.
        let sparse = format!("<p>{}</p><p>λίγες λέξεις μόνο</p>", r#"<img src="https://kke.gr/i.png" alt="">"#.repeat(600));
        assert_eq!(leading_text(&sparse, 300), crate::normalize::text::from_sanitized(&sparse));
    }

    #[test]
    fn sketches_of_short_texts_are_empty() {
        assert!(text_sketch("two words").is_empty());
        assert_eq!(text_sketch(JOINT_TEXT).len(), SKETCH_LEN);
        assert_eq!(text_sketch(JOINT_TEXT), text_sketch(&JOINT_TEXT.to_uppercase()));
    }
}
