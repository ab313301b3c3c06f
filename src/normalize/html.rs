//! Safe HTML for summaries and content.
//!
//! An allowlist (ammonia): no scripts, styles, frames, forms, event
//! handlers or `javascript:` URLs survive; relative links and images are
//! made absolute against the article's address; links get
//! `rel="noopener noreferrer"`. The output is safe to embed as it is.

use std::sync::OnceLock;

use url::Url;

/// Sanitizes `html`, resolving relative URLs against `base`.
pub fn sanitize(html: &str, base: &Url) -> String {
    builder(base).clean(html).to_string()
}

fn builder(base: &Url) -> ammonia::Builder<'static> {
    static SCHEMES: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    let schemes = SCHEMES.get_or_init(|| ["http", "https", "mailto"].into_iter().collect());
    let mut builder = ammonia::Builder::default();
    builder
        .url_schemes(schemes.clone())
        .url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()))
        .link_rel(Some("noopener noreferrer"));
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> String {
        sanitize(html, &Url::parse("https://www.kke.gr/articles/x/").unwrap())
    }

    #[test]
    fn hostile_markup_is_removed() {
        let cases = [
            r#"<script>alert(1)</script>"#,
            r#"<img src="x.png" onerror="alert(1)">"#,
            r#"<a href="javascript:alert(1)">x</a>"#,
            r#"<iframe src="https://evil.example/"></iframe>"#,
            r#"<p style="background:url(javascript:alert(1))">x</p>"#,
            r#"<form action="/steal"><input name="p"></form>"#,
            r#"<object data="x.swf"></object><embed src="x.swf">"#,
            r#"<style>body{display:none}</style>"#,
            r#"<a href="data:text/html,<script>alert(1)</script>">x</a>"#,
            r#"<svg onload="alert(1)"><circle/></svg>"#,
        ];
        for html in cases {
            let out = clean(html).to_ascii_lowercase();
            for bad in ["<script", "onerror", "onload", "javascript:", "<iframe", "style=", "<form", "<object", "<embed", "<style", "data:"]
            {
                assert!(!out.contains(bad), "{html} -> {out}");
            }
        }
    }

    #[test]
    fn relative_urls_become_absolute_and_links_get_rel() {
        let out = clean(r#"<p>See <a href="../y/">this</a> <img src="/img/a.jpg" alt="a"></p>"#);
        assert_eq!(
            out,
            r#"<p>See <a href="https://www.kke.gr/articles/y/" rel="noopener noreferrer">this</a> <img src="https://www.kke.gr/img/a.jpg" alt="a"></p>"#
        );
    }

    #[test]
    fn ordinary_markup_is_kept() {
        let html = "<p>Τα <strong>μέτρα</strong> και <em>η</em> απάντηση:</p><ul><li>ένα</li></ul><blockquote>q</blockquote>";
        assert_eq!(clean(html), html);
    }
}
