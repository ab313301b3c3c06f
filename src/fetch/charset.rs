//! Bytes in any charset to UTF-8, the way RFC 7303 and browsers decide it.
//!
//! Order of authority: a byte-order mark, then the `charset` parameter of
//! the HTTP `Content-Type`, then the XML prolog's `encoding` (or an HTML
//! `<meta charset>`), then UTF-8. After transcoding, the prolog is rewritten
//! to say UTF-8, so the XML parser does not decode the text a second time.

use encoding_rs::{Encoding, UTF_8};

/// Returns `body` as UTF-8. Bytes that are invalid in the chosen charset
/// become U+FFFD rather than failing the whole document.
pub fn to_utf8(body: Vec<u8>, content_type: Option<&str>) -> Vec<u8> {
    if let Some(text) = utf32(&body) {
        return relabel_prolog(text).into_bytes();
    }
    let sniffed = match body.get(..4) {
        // XML 1.0 Appendix F: "<?" in UTF-16 without a byte-order mark.
        Some([0x00, 0x3C, 0x00, 0x3F]) => Some((encoding_rs::UTF_16BE, 0)),
        Some([0x3C, 0x00, 0x3F, 0x00]) => Some((encoding_rs::UTF_16LE, 0)),
        _ => None,
    };
    let (encoding, bom_len) = match Encoding::for_bom(&body).or(sniffed) {
        Some((enc, len)) => (enc, len),
        None => (declared(&body, content_type).unwrap_or(UTF_8), 0),
    };
    let text = &body[bom_len..];
    let decoded = if encoding == UTF_8 {
        if std::str::from_utf8(text).is_ok() && !declares_other_encoding(text) {
            return if bom_len == 0 { body } else { text.to_vec() };
        }
        String::from_utf8_lossy(text).into_owned()
    } else {
        encoding.decode_without_bom_handling(text).0.into_owned()
    };
    // The result is UTF-8 whatever the document said: the prolog must agree,
    // or the XML parser would decode it a second time.
    relabel_prolog(decoded).into_bytes()
}

/// UTF-32 (which encoding_rs does not cover), by BOM or by "<" in the
/// first four bytes; `None` when the body is not UTF-32.
fn utf32(body: &[u8]) -> Option<String> {
    let (big_endian, skip) = match body.get(..4)? {
        [0x00, 0x00, 0xFE, 0xFF] => (true, 4),
        [0xFF, 0xFE, 0x00, 0x00] => (false, 4),
        [0x00, 0x00, 0x00, 0x3C] => (true, 0),
        [0x3C, 0x00, 0x00, 0x00] => (false, 0),
        _ => return None,
    };
    let chars = body[skip..].chunks(4).map(|c| {
        let mut unit = [0u8; 4];
        unit[..c.len()].copy_from_slice(c);
        let n = if big_endian { u32::from_be_bytes(unit) } else { u32::from_le_bytes(unit) };
        char::from_u32(n).unwrap_or(char::REPLACEMENT_CHARACTER)
    });
    Some(chars.collect())
}

/// True when an XML prolog names an encoding other than UTF-8.
fn declares_other_encoding(text: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&text[..text.len().min(256)]);
    prolog_encoding(&head).is_some_and(|label| !label.eq_ignore_ascii_case("utf-8") && !label.eq_ignore_ascii_case("utf8"))
}

/// The charset the header or the document itself declares.
fn declared(body: &[u8], content_type: Option<&str>) -> Option<&'static Encoding> {
    if let Some(label) = content_type.and_then(header_charset) {
        if let Some(enc) = Encoding::for_label(label.as_bytes()) {
            return Some(enc);
        }
    }
    let head = &body[..body.len().min(1024)];
    let head = String::from_utf8_lossy(head);
    if let Some(label) = prolog_encoding(&head) {
        return Encoding::for_label(label.as_bytes());
    }
    meta_charset(&head).and_then(|label| Encoding::for_label(label.as_bytes()))
}

fn header_charset(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches('"').to_string())
    })
}

/// `encoding="..."` of `<?xml ...?>` at the start of the document.
fn prolog_encoding(head: &str) -> Option<String> {
    let start = head.trim_start();
    if !start.starts_with("<?xml") {
        return None;
    }
    let prolog = &start[..start.find("?>")?];
    let at = prolog.find("encoding")?;
    let rest = prolog[at + "encoding".len()..].trim_start().strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].to_string())
}

/// `<meta charset="...">` or `<meta http-equiv content="...; charset=...">`.
fn meta_charset(head: &str) -> Option<String> {
    let lower = head.to_ascii_lowercase();
    let at = lower.find("charset=")?;
    if !lower[..at].contains("<meta") {
        return None;
    }
    let value = lower[at + "charset=".len()..].trim_start_matches(['"', '\'']);
    let end = value.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))?;
    Some(value[..end].to_string())
}

/// Rewrites the prolog's encoding declaration to UTF-8 after transcoding.
fn relabel_prolog(text: String) -> String {
    let trimmed = text.trim_start();
    if !trimmed.starts_with("<?xml") {
        return text;
    }
    let offset = text.len() - trimmed.len();
    let Some(end) = trimmed.find("?>") else { return text };
    let prolog = &trimmed[..end];
    let Some(at) = prolog.find("encoding") else { return text };
    let rest = &prolog[at..];
    let Some(eq) = rest.find('=') else { return text };
    let after = rest[eq + 1..].trim_start();
    let Some(quote) = after.chars().next().filter(|c| *c == '"' || *c == '\'') else { return text };
    let Some(close) = after[1..].find(quote) else { return text };
    let value_start = offset + at + eq + 1 + (rest[eq + 1..].len() - after.len());
    let value_end = value_start + 1 + close + 1;
    format!("{}\"utf-8\"{}", &text[..value_start], &text[value_end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf8(body: &[u8], content_type: Option<&str>) -> String {
        String::from_utf8(to_utf8(body.to_vec(), content_type)).unwrap()
    }

    #[test]
    fn header_charset_wins_over_prolog() {
        // "Γεια" in windows-1253, with a prolog that lies.
        let mut body = b"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>".to_vec();
        body.extend_from_slice(&[0xC3, 0xE5, 0xE9, 0xE1]);
        body.extend_from_slice(b"</t>");
        let text = utf8(&body, Some("application/xml; charset=windows-1253"));
        assert_eq!(text, "<?xml version=\"1.0\" encoding=\"utf-8\"?><t>Γεια</t>");
    }

    #[test]
    fn prolog_encoding_is_used_without_a_header_charset() {
        // "Türkiye" in ISO-8859-9.
        let body = b"<?xml version='1.0' encoding='ISO-8859-9'?><t>T\xFCrkiye \xDE</t>";
        assert_eq!(utf8(body, Some("text/xml")), "<?xml version='1.0' encoding=\"utf-8\"?><t>Türkiye Ş</t>");
    }

    #[test]
    fn bom_wins_and_is_removed() {
        let mut body = vec![0xFF, 0xFE];
        for unit in "<t>ноября</t>".encode_utf16() {
            body.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(utf8(&body, Some("text/xml; charset=iso-8859-1")), "<t>ноября</t>");
        assert_eq!(utf8(b"\xEF\xBB\xBF<t/>", None), "<t/>");
    }

    #[test]
    fn utf16_and_utf32_without_bom_are_sniffed() {
        let doc = "<?xml version=\"1.0\" encoding=\"utf-16\"?><t>Κόμμα</t>";
        let be: Vec<u8> = doc.encode_utf16().flat_map(|u| u.to_be_bytes()).collect();
        let le: Vec<u8> = doc.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        let want = doc.replace("utf-16", "utf-8");
        assert_eq!(utf8(&be, None), want);
        assert_eq!(utf8(&le, None), want);
        let doc32 = doc.replace("utf-16", "utf-32");
        let be32: Vec<u8> = doc32.chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        let mut le32 = vec![0xFF, 0xFE, 0, 0];
        le32.extend(doc32.chars().flat_map(|c| (c as u32).to_le_bytes()));
        assert_eq!(utf8(&be32, None), want);
        assert_eq!(utf8(&le32, None), want);
    }

    #[test]
    fn html_meta_charset_and_koi8() {
        // "Правда" in KOI8-R.
        let body = b"<html><head><meta charset=\"koi8-r\"></head><body>\xF0\xD2\xC1\xD7\xC4\xC1</body></html>";
        assert!(utf8(body, Some("text/html")).contains("Правда"));
    }

    #[test]
    fn a_prolog_that_lies_about_utf8_text_is_relabelled() {
        let body = "<?xml version=\"1.0\" encoding=\"windows-1252\"?><t>ação</t>";
        assert_eq!(
            utf8(body.as_bytes(), None),
            "<?xml version=\"1.0\" encoding=\"windows-1252\"?><t>aÃ§Ã£o</t>".replace("windows-1252", "utf-8")
        );
        let honest = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><t>ação</t>";
        assert_eq!(utf8(honest.as_bytes(), None), honest);
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(utf8(b"<t>a\xFFb</t>", None), "<t>a\u{FFFD}b</t>");
    }
}
