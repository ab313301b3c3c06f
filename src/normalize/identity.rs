//! Which story an item is: a key that stays the same across polls.
//!
//! In order of trust: the source's own id, else the item's link, else a
//! hash of its text. An id that is globally meaningful (it has a URI
//! scheme, such as WordPress's `https://site/?p=12` guids or `urn:` ids) is
//! scoped to the party, so a party's category feed and main feed yield one
//! entry; a bare id (`"12"`) only means something inside its source and is
//! scoped to that source.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::{PartyId, SourceId};

/// The store key of an entry: `<party>/<32 hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryKey(String);

impl EntryKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A key as stored (by the store's alias index).
    pub fn from_stored(key: &str) -> Self {
        EntryKey(key.to_string())
    }

    /// The party part of the key.
    pub fn party(&self) -> &str {
        self.0.split_once('/').map_or("", |(p, _)| p)
    }
}

impl fmt::Display for EntryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An item's identity: its key and the hash behind its published id.
#[derive(Debug, Clone)]
pub struct Identity {
    pub key: EntryKey,
    hash: [u8; 32],
}

impl Identity {
    /// A deterministic `urn:uuid:` (RFC 9562 version 8) from the identity.
    pub fn atom_id(&self) -> String {
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.hash[..16]);
        b[6] = (b[6] & 0x0f) | 0x80;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        format!("urn:uuid:{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    }
}

/// Identifies an item of `source` of `party`.
pub fn identify(
    party: &PartyId,
    source: &SourceId,
    id: Option<&str>,
    link: Option<&str>,
    title: &str,
    summary: Option<&str>,
    content: Option<&str>,
) -> Identity {
    let mut hasher = blake3::Hasher::new();
    hasher.update(party.as_str().as_bytes());
    match (id, link) {
        (Some(id), _) if has_scheme(id) => {
            hasher.update(b"\0id\0").update(id.as_bytes());
        }
        (Some(id), _) => {
            hasher.update(b"\0local-id\0").update(source.as_str().as_bytes()).update(b"\0").update(id.as_bytes());
        }
        (None, Some(link)) => {
            // http/https, www., tracking parameters and such do not make a new story.
            let canonical = super::canonical::canonical_url(link);
            hasher.update(b"\0link\0").update(canonical.as_ref().map_or(link, |c| c.as_str()).as_bytes());
        }
        (None, None) => {
            hasher.update(b"\0text\0").update(source.as_str().as_bytes());
            for part in [title, summary.unwrap_or(""), content.unwrap_or("")] {
                hasher.update(b"\0").update(part.as_bytes());
            }
        }
    }
    let hash: [u8; 32] = hasher.finalize().into();
    Identity { key: EntryKey(format!("{party}/{}", hex(&hash[..16]))), hash }
}

/// `bytes` in lowercase hex, two digits a byte (one allocation, where
/// formatting each byte made one per byte).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Hash of what a subscriber sees; when it changes, the entry was edited.
pub fn content_hash(title: &str, link: Option<&str>, summary: Option<&str>, content: Option<&str>) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in [title, link.unwrap_or(""), summary.unwrap_or(""), content.unwrap_or("")] {
        hasher.update(part.as_bytes()).update(b"\0");
    }
    hasher.finalize().to_hex()[..32].to_string()
}

fn has_scheme(id: &str) -> bool {
    match id.split_once(':') {
        Some((scheme, rest)) => {
            !rest.is_empty()
                && scheme.len() >= 2
                && scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (PartyId, SourceId, SourceId) {
        let p = PartyId::parse("kke").unwrap();
        (p.clone(), SourceId::new(&p, "main"), SourceId::new(&p, "category"))
    }

    #[test]
    fn uri_ids_are_shared_by_a_partys_sources_and_bare_ids_are_not() {
        let (p, main, cat) = ids();
        let a = identify(&p, &main, Some("https://kke.gr/?p=12"), None, "t", None, None);
        let b = identify(&p, &cat, Some("https://kke.gr/?p=12"), Some("https://kke.gr/x"), "other", None, None);
        assert_eq!(a.key, b.key);
        let a = identify(&p, &main, Some("12"), None, "t", None, None);
        let b = identify(&p, &cat, Some("12"), None, "t", None, None);
        assert_ne!(a.key, b.key);
    }

    #[test]
    fn the_same_story_of_two_parties_is_two_entries() {
        let (p, main, _) = ids();
        let q = PartyId::parse("pcp").unwrap();
        let a = identify(&p, &main, None, Some("https://solidnet.org/a"), "t", None, None);
        let b = identify(&q, &SourceId::new(&q, "main"), None, Some("https://solidnet.org/a"), "t", None, None);
        assert_ne!(a.key, b.key);
        assert_eq!(b.key.party(), "pcp");
    }

    #[test]
    fn links_are_compared_in_canonical_form() {
        let (p, main, _) = ids();
        let a = identify(&p, &main, None, Some("http://www.kke.gr/a/?utm_source=rss"), "t", None, None);
        let b = identify(&p, &main, None, Some("https://kke.gr/a"), "t", None, None);
        assert_eq!(a.key, b.key);
    }

    #[test]
    fn without_id_or_link_the_text_decides() {
        let (p, main, _) = ids();
        let a = identify(&p, &main, None, None, "Δήλωση", Some("<p>x</p>"), None);
        let b = identify(&p, &main, None, None, "Δήλωση", Some("<p>x</p>"), None);
        let c = identify(&p, &main, None, None, "Δήλωση", Some("<p>y</p>"), None);
        assert_eq!(a.key, b.key);
        assert_ne!(a.key, c.key);
    }

    #[test]
    fn atom_ids_are_version_8_uuids() {
        let (p, main, _) = ids();
        let id = identify(&p, &main, Some("x"), None, "", None, None).atom_id();
        assert_eq!(id.len(), "urn:uuid:".len() + 36);
        assert_eq!(&id["urn:uuid:".len() + 14..][..1], "8");
        assert_eq!(id, identify(&p, &main, Some("x"), None, "", None, None).atom_id());
    }

    #[test]
    fn scheme_detection() {
        for (id, want) in [
            ("https://a/?p=1", true),
            ("urn:uuid:1", true),
            ("tag:a,2020:x", true),
            ("12", false),
            ("a:", false),
            ("1x:y", false),
            ("C:\\x", false),
        ] {
            assert_eq!(has_scheme(id), want, "{id}");
        }
    }

    #[test]
    fn keys_and_ids_are_written_as_formatting_wrote_them() {
        // Keys and published ids are stored: their hex must not change.
        let every_byte: Vec<u8> = (0..=255).collect();
        let formatted: String = every_byte.iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(hex(&every_byte), formatted);
        let (party, source, _) = ids();
        let identity = identify(&party, &source, Some("https://kke.gr/?p=1"), None, "t", None, None);
        let formatted: String = identity.hash[..16].iter().map(|x| format!("{x:02x}")).collect();
        assert_eq!(identity.key.as_str(), format!("kke/{formatted}"));
        let id = identity.atom_id();
        assert!(id.starts_with("urn:uuid:") && id.len() == "urn:uuid:".len() + 36, "{id}");
        assert_eq!(id[9..].replace('-', "")[..12], formatted[..12], "{id}");
    }
}
