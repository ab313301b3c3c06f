//! The sanitizer. Must not panic, and what it returns must be safe to embed:
//! no `<script` anywhere; inside tags no event-handler attribute (`on` +
//! letters, e.g. `onerror=`), no `style` attribute, and no URL attribute
//! whose value is a `javascript:`, `vbscript:` or `data:` URL; none of the
//! tags the allowlist refuses (style, object, embed, form, base, meta).
//!
//! Text is allowed to *say* `javascript:` or `onclick=`: it is escaped text,
//! not markup, so those checks look only inside tags. The output is
//! html5ever's serialization, so tags are well formed and attribute values
//! are double-quoted with `"` written as `&quot;`.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use plenum::normalize::html::sanitize;
use url::Url;

const REFUSED_TAGS: &[&str] = &["script", "style", "object", "embed", "form", "base", "meta", "link", "applet", "frame", "frameset"];
const URL_ATTRIBUTES: &[&str] =
    &["href", "src", "srcset", "action", "formaction", "cite", "poster", "background", "longdesc", "xlink:href", "data", "codebase", "usemap"];
const BAD_SCHEMES: &[&str] = &["javascript:", "vbscript:", "data:"];

fn base() -> &'static Url {
    static BASE: OnceLock<Url> = OnceLock::new();
    BASE.get_or_init(|| Url::parse("https://www.kke.gr/articles/x/").unwrap())
}

/// `on` followed by at least one ASCII letter and nothing else.
fn is_event_handler(name: &str) -> bool {
    name.len() > 2 && name.starts_with("on") && name[2..].bytes().all(|b| b.is_ascii_lowercase())
}

/// What a browser reads as the scheme: leading spaces and C0 controls are
/// skipped, tabs and newlines anywhere are ignored.
fn url_start(value: &str) -> String {
    value.trim_start_matches(|c: char| c <= ' ').chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).take(16).collect()
}

fn check(input: &str, out: &str) {
    let lower = out.to_ascii_lowercase();
    let fail = |why: String| -> ! { panic!("{why}\ninput:  {input:?}\noutput: {out:?}") };
    if lower.contains("<script") {
        fail("`<script` in the output".into());
    }
    let bytes = lower.as_bytes();
    let len = bytes.len();
    let mut i = 0;
    while i < len {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let closing = j < len && bytes[j] == b'/';
        if closing {
            j += 1;
        }
        let name_start = j;
        while j < len && !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' && bytes[j] != b'/' {
            j += 1;
        }
        let tag = &lower[name_start..j];
        if REFUSED_TAGS.contains(&tag) {
            fail(format!("refused tag <{tag}> in the output"));
        }
        // Attributes, up to the end of the tag.
        loop {
            while j < len && (bytes[j].is_ascii_whitespace() || bytes[j] == b'/') {
                j += 1;
            }
            if j >= len {
                break;
            }
            if bytes[j] == b'>' {
                j += 1;
                break;
            }
            let attr_start = j;
            while j < len && !bytes[j].is_ascii_whitespace() && !matches!(bytes[j], b'=' | b'>' | b'/') {
                j += 1;
            }
            let attr = &lower[attr_start..j];
            if attr.is_empty() {
                j += 1;
                continue;
            }
            if is_event_handler(attr) {
                fail(format!("event handler attribute `{attr}` on <{tag}>"));
            }
            if attr == "style" {
                fail(format!("style attribute on <{tag}>"));
            }
            while j < len && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            if j < len && bytes[j] == b'=' {
                j += 1;
                while j < len && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                let value = if j < len && (bytes[j] == b'"' || bytes[j] == b'\'') {
                    let quote = bytes[j];
                    let start = j + 1;
                    let end = bytes[start..].iter().position(|b| *b == quote).map_or(len, |p| start + p);
                    j = (end + 1).min(len);
                    &lower[start..end]
                } else {
                    let start = j;
                    while j < len && !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' {
                        j += 1;
                    }
                    &lower[start..j]
                };
                if URL_ATTRIBUTES.contains(&attr) {
                    let start = url_start(&value.replace("&amp;", "&"));
                    if let Some(scheme) = BAD_SCHEMES.iter().find(|s| start.starts_with(**s)) {
                        fail(format!("{scheme} URL in {attr} of <{tag}>"));
                    }
                }
            }
        }
        i = j.max(i + 1);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(html) = std::str::from_utf8(data) else { return };
    let out = sanitize(html, base());
    check(html, &out);
});
