//! Feed bytes as a source might send them: charset detection, then the feed
//! parser. Must not panic; `to_utf8` must always return UTF-8.
//!
//! Input: the whole input is a body fetched without a `Content-Type`; and
//! when the first line (up to 128 bytes) is UTF-8, it is also read as the
//! `Content-Type` header of the body that follows it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plenum::extract::feed;
use plenum::fetch::charset::to_utf8;

fn extract(body: Vec<u8>, content_type: Option<&str>) {
    let utf8 = to_utf8(body, content_type);
    assert!(std::str::from_utf8(&utf8).is_ok(), "to_utf8 returned invalid UTF-8 (content type {content_type:?})");
    if let Ok(raw) = feed::extract(&utf8) {
        for item in &raw.items {
            // What extract promises about ids: never invented, never blank.
            assert!(item.id.as_deref().is_none_or(|id| !id.trim().is_empty() && id.trim() == id));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    extract(data.to_vec(), None);
    if let Some(newline) = data.iter().take(128).position(|b| *b == b'\n') {
        if let Ok(content_type) = std::str::from_utf8(&data[..newline]) {
            extract(data[newline + 1..].to_vec(), Some(content_type));
        }
    }
});
