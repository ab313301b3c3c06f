//! Plain text for titles and names: entities decoded, markup removed,
//! whitespace collapsed, control characters dropped.

/// Cleans a plain-text field. Entities are decoded because many feeds
/// escape twice (`&amp;amp;`), and a title is never meant to show them.
pub fn plain(text: &str) -> String {
    collapse(&html_escape::decode_html_entities(text))
}

/// The text of an HTML fragment, as one line.
pub fn from_html(html: &str) -> String {
    if crate::extract::html::nesting_exceeds(html, crate::extract::html::MAX_NESTING) {
        return plain(&super::html::text_only(html));
    }
    // ammonia with no tags allowed drops markup (and script/style bodies)
    // but keeps the text, still entity-escaped.
    // (Building the empty allowlist costs more than most fragments: once per thread.)
    thread_local! {
        static NO_TAGS: ammonia::Builder<'static> = ammonia::Builder::empty();
    }
    let text = NO_TAGS.with(|builder| builder.clean(html).to_string());
    plain(&text)
}

/// The text of HTML that [`super::html::sanitize`] wrote, as one line.
///
/// [`from_html`] parses its input, which untrusted HTML needs; sanitized
/// HTML is html5ever's own serialization (comments, scripts and styles
/// gone, `<` escaped in text, attribute values double-quoted), so a scan
/// that skips tags and decodes entities reads it exactly, at a fraction of
/// the cost of a second parse. Block-level tags separate words; inline
/// ones do not (`wo<b>rd</b>` is one word).
pub fn from_sanitized(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let tag = &rest[open + 1..];
        // The tag ends at the first `>` outside a quoted attribute value.
        let mut quoted = false;
        let end = tag.char_indices().find(|&(_, c)| {
            if c == '"' {
                quoted = !quoted;
            }
            c == '>' && !quoted
        });
        let Some((end, _)) = end else { break };
        let name = tag.trim_start_matches('/');
        let name = &name[..name.bytes().position(|b| !b.is_ascii_alphanumeric()).unwrap_or(name.len())];
        if BLOCK_TAGS.iter().any(|block| block.eq_ignore_ascii_case(name)) {
            text.push(' ');
        }
        rest = &tag[end + 1..];
    }
    if !rest.contains('<') {
        text.push_str(rest);
    }
    plain(&text)
}

/// Tags that separate the words around them.
const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "iframe",
    "img",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// At most `max` characters, cut at a word boundary, with an ellipsis.
pub fn truncate_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end())
}

fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    // Kept characters are copied a run at a time, between the characters
    // that break a run: whitespace (one space between words) and those dropped.
    let flush = |out: &mut String, space: &mut bool, run: &str| {
        if !run.is_empty() {
            if std::mem::take(space) {
                out.push(' ');
            }
            out.push_str(run);
        }
    };
    let (bytes, mut start, mut i) = (text.as_bytes(), 0, 0);
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_graphic() {
            i += 1;
            continue;
        }
        if let Some(width) = always_kept(b) {
            i += width;
            continue;
        }
        let Some(c) = text.get(i..).and_then(|rest| rest.chars().next()) else { break };
        let white = c.is_whitespace();
        if white || c.is_control() || matches!(c, '\u{FEFF}' | '\u{200B}') {
            flush(&mut out, &mut space, &text[start..i]);
            start = i + c.len_utf8();
            space |= white && !out.is_empty();
        }
        i += c.len_utf8();
    }
    flush(&mut out, &mut space, &text[start..]);
    out
}

/// The length of the UTF-8 sequence that `lead` starts, when no character
/// starting with it is whitespace, a control or dropped: from U+00C0 to
/// U+07FF (Latin letters with accents, Greek, Cyrillic, Hebrew, Arabic),
/// U+0800 to U+0FFF, U+4000 to U+EFFF, and beyond U+FFFF. Whitespace,
/// controls and dropped characters other than ASCII are all in U+0080 to
/// U+00BF, U+1000 to U+3FFF and U+F000 to U+FFFF; in valid UTF-8 a lead
/// byte is followed by its whole sequence.
fn always_kept(lead: u8) -> Option<usize> {
    match lead {
        0xC3..=0xDF => Some(2),
        0xE0 | 0xE4..=0xEE => Some(3),
        0xF0..=0xF4 => Some(4),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_table() {
        let cases = [
            ("  Δήλωση  του\tΚΚΕ \n", "Δήλωση του ΚΚΕ"),
            ("Paz &amp;amp; pão", "Paz &amp; pão"),
            ("Paz &amp; pão", "Paz & pão"),
            ("&#8220;Quoted&#8221; &eacute;", "\u{201C}Quoted\u{201D} é"),
            ("a\u{0}b\u{7}c\u{FEFF}", "abc"),
            ("", ""),
        ];
        for (input, want) in cases {
            assert_eq!(plain(input), want, "{input:?}");
        }
    }

    /// `collapse` copies runs of kept characters whole: what it keeps, drops
    /// and joins is still the character-by-character rule.
    #[test]
    fn collapsing_is_the_character_rule() {
        fn by_char(text: &str) -> String {
            let mut out = String::new();
            let mut space = false;
            for c in text.chars() {
                if c.is_whitespace() {
                    space = !out.is_empty();
                } else if !c.is_control() && !matches!(c, '\u{FEFF}' | '\u{200B}') {
                    if space {
                        out.push(' ');
                    }
                    space = false;
                    out.push(c);
                }
            }
            out
        }
        // Every character of the Basic Multilingual Plane, and a sample beyond.
        for c in (0..0x10000u32).chain((0x10000..0x110000).step_by(61)).filter_map(char::from_u32) {
            for text in [format!("{c}"), format!(" a{c}b {c} c{c}{c} "), format!("{c}Ω {c}\t~{c}")] {
                assert_eq!(collapse(&text), by_char(&text), "{c:?} in {text:?}");
            }
        }
    }

    #[test]
    fn html_titles_lose_their_markup() {
        assert_eq!(from_html("<b>ΚΚΕ</b>: <i>statement</i> &amp; more"), "ΚΚΕ: statement & more");
        assert_eq!(from_html("<script>alert(1)</script>Hi"), "Hi");
    }

    #[test]
    fn sanitized_html_reads_as_the_parser_reads_it() {
        let base = url::Url::parse("https://www.pcp.pt/").unwrap();
        let cases = [
            r#"<p>Δήλωση <b>του</b> ΚΚΕ &amp; <a href="/x?a=1&amp;b=2" title="a > b">σύνδεσμος</a></p><p>Next</p>"#,
            "<ul><li>one</li><li>two&lt;three&gt;</li></ul>wo<em>rd</em>",
            r#"<p>x<img src="/i.png" alt="1 > 0">y</p><script>alert(1)</script><!-- note -->"#,
            "plain &eacute;t&eacute; &nbsp; text",
            "",
        ];
        for raw in cases {
            let clean = crate::normalize::html::sanitize(raw, &base);
            let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>().join(" ");
            let parsed = from_html(&clean.replace("</p>", " </p>").replace("</li>", " </li>").replace("<img", " <img"));
            assert_eq!(words(&from_sanitized(&clean)), words(&parsed), "{raw:?} sanitized to {clean:?}");
        }
        assert_eq!(from_sanitized("<p>uma</p><p>duas</p>"), "uma duas");
        assert_eq!(from_sanitized("<p>wo<b>rd</b></p>"), "word");
        assert_eq!(from_sanitized(r#"<a title="x>y">link</a> &lt;b&gt;"#), "link <b>");
    }

    #[test]
    fn truncation_cuts_at_words() {
        assert_eq!(truncate_words("uma nota breve do partido", 12), "uma nota…");
        assert_eq!(truncate_words("curta", 12), "curta");
    }
}
