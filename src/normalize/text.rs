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
    for word in text.split(|c: char| c.is_whitespace()).filter(|w| !w.is_empty()) {
        let word: String = word.chars().filter(|c| !c.is_control() && !matches!(c, '\u{FEFF}' | '\u{200B}')).collect();
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
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

    #[test]
    fn html_titles_lose_their_markup() {
        assert_eq!(from_html("<b>ΚΚΕ</b>: <i>statement</i> &amp; more"), "ΚΚΕ: statement & more");
        assert_eq!(from_html("<script>alert(1)</script>Hi"), "Hi");
    }

    #[test]
    fn truncation_cuts_at_words() {
        assert_eq!(truncate_words("uma nota breve do partido", 12), "uma nota…");
        assert_eq!(truncate_words("curta", 12), "curta");
    }
}
