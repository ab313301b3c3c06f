//! URL canonicalization. Must not panic; is deterministic; a key is always
//! of the form `//host...`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plenum::normalize::canonical::canonical_url;

fuzz_target!(|data: &[u8]| {
    let Ok(url) = std::str::from_utf8(data) else { return };
    let first = canonical_url(url);
    let second = canonical_url(url);
    assert_eq!(first, second, "canonical_url({url:?}) is not deterministic");
    if let Some(key) = &first {
        assert!(key.as_str().starts_with("//"), "canonical_url({url:?}) = {key:?} does not start with //");
    }
});
