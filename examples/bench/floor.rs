//! `--floor`: what the design card's crates cost by themselves over the
//! corpus the polls read, in this process, with none of Plenum's code
//! around them. Set beside the first poll, it says how much of the poll is
//! the crates' own work, and so how far Plenum's own code could bring it.
//!
//! Each step runs on one thread (sled's flusher aside), with sled's cache at
//! Plenum's default, and is measured with
//! `getrusage(RUSAGE_SELF)`, so sled's background threads count:
//! - **feed-rs**: parse every feed document (as served, before gzip).
//! - **ammonia**: clean every item's body with its default allowlist,
//!   serialized to a string (Plenum's allowlist is stricter; its own passes
//!   for frames and pixels are not counted).
//! - **sled, Plenum's rows**: the rows Plenum writes for a new entry (the
//!   record, four index rows and the link alias), one transaction per feed
//!   over the six trees they go to, as `Store::upsert_batch` does, then a
//!   flush. A record is the item's text compressed with lz4, as Plenum
//!   compresses its records.
//! - **sled, Plenum's rows in one tree** (a variant, not summed): the same
//!   rows in one tree, a tag byte apart, one atomic `apply_batch` per feed:
//!   what a one-tree layout without a transaction would cost.
//! - **sled, the records alone** (a variant, not summed): only the records,
//!   one `apply_batch` per feed into one tree, then a flush: sled's own
//!   floor for these bytes, without any index.
//! - **atom_syndication**: one Atom document per party of its newest 100
//!   entries and one merged document of the newest 100 (content as HTML).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use atom_syndication as atom;
use sled::Transactional;

use super::corpus::{party_id, Corpus, LANGS};

/// One step's cost and what it did.
pub struct Step {
    pub name: &'static str,
    pub cpu: Duration,
    pub wall: Duration,
    /// Items, records or documents the step handled.
    pub count: usize,
    pub what: &'static str,
    /// A variant of another step (another way to do its work), not part of
    /// the crates' sum.
    pub variant: bool,
}

/// A new entry's rows: its key, its record, and its index rows (by time,
/// by party, its language, by language, its link's alias).
type Rows = (Vec<u8>, Vec<u8>, [Vec<u8>; 5]);

/// Runs every step over `corpus`; `feeds` are its documents as served.
pub fn measure(corpus: &Corpus, feeds: &[String]) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();

    steps.push(timed("feed-rs: parse", "entries", || {
        let mut entries = 0;
        for xml in feeds {
            let feed = feed_rs::parser::parse(xml.as_bytes()).map_err(|e| format!("feed-rs: {e}"))?;
            entries += feed.entries.len();
        }
        Ok(entries)
    })?);

    steps.push(timed("ammonia: clean bodies", "bodies", || {
        let builder = ammonia::Builder::default();
        let mut cleaned = 0;
        for item in corpus.feeds.iter().flat_map(|f| &f.items) {
            let html = builder.clean(&item.body).to_string();
            cleaned += usize::from(!html.is_empty());
        }
        Ok(cleaned)
    })?);

    let records: Vec<Vec<Rows>> = corpus
        .feeds
        .iter()
        .map(|feed| {
            let party = party_id(feed.party);
            let lang = LANGS[feed.lang].code;
            feed.items
                .iter()
                .map(|item| {
                    let key = format!("{party}/{:032x}", xxhash_rust::xxh3::xxh3_128(item.id.as_bytes())).into_bytes();
                    let text = [item.title.as_str(), item.link.as_str(), item.summary.as_str(), item.body.as_str()].join("\0");
                    let record = lz4_flex::compress_prepend_size(text.as_bytes());
                    let time = item.published.timestamp_millis().to_be_bytes();
                    let row = |prefix: &str| [prefix.as_bytes(), &[0], &time, &key].concat();
                    let rows = [
                        [&time[..], &key].concat(),
                        row(&party),
                        row(lang),
                        row(lang),
                        [party.as_bytes(), &[0], item.link.as_bytes()].concat(),
                    ];
                    (key, record, rows)
                })
                .collect()
        })
        .collect();

    let dir = tempfile::TempDir::new().map_err(|e| e.to_string())?;
    let open = |name: &str| {
        sled::Config::new()
            .path(dir.path().join(name))
            .cache_capacity(plenum::store::DEFAULT_CACHE_BYTES)
            .flush_every_ms(Some(1000))
            .open()
            .map_err(|e| e.to_string())
    };

    let db = open("rows")?;
    let tree = |name: &str| db.open_tree(name).map_err(|e| e.to_string());
    let trees = (tree("entries")?, tree("by_time")?, tree("by_party")?, tree("entry_language")?, tree("by_language")?, tree("aliases")?);
    steps.push(timed("sled: Plenum's rows, a transaction per feed", "records", || {
        let mut stored = 0;
        for feed in &records {
            let added: Result<usize, sled::transaction::TransactionError<()>> = (
                &trees.0, &trees.1, &trees.2, &trees.3, &trees.4, &trees.5,
            )
                .transaction(|(entries, by_time, by_party, entry_language, by_language, aliases)| {
                    let mut added = 0;
                    for (key, record, [time, party, language, language_row, alias]) in feed {
                        added += usize::from(entries.insert(key.as_slice(), record.as_slice())?.is_none());
                        by_time.insert(time.as_slice(), &[])?;
                        by_party.insert(party.as_slice(), &[])?;
                        entry_language.insert(key.as_slice(), language.as_slice())?;
                        by_language.insert(language_row.as_slice(), &[])?;
                        if aliases.get(alias.as_slice())?.is_none() {
                            aliases.insert(alias.as_slice(), key.as_slice())?;
                        }
                    }
                    Ok(added)
                });
            stored += added.map_err(|e| format!("sled: {e:?}"))?;
        }
        db.flush().map_err(|e| e.to_string())?;
        Ok(stored)
    })?);
    drop((trees, db));

    let db = open("layout")?;
    steps.push(timed("sled: Plenum's rows in one tree, a batch per feed", "records", || {
        let mut stored = 0;
        for feed in &records {
            let mut batch = sled::Batch::default();
            for (key, record, [time, party, language, language_row, alias]) in feed {
                // One tree, a tag byte per kind of row; an atomic batch,
                // where Plenum's seven trees need a transaction.
                let tagged = |tag: u8, row: &[u8]| [&[tag], row].concat();
                stored += usize::from(db.get(tagged(b'e', key)).map_err(|e| e.to_string())?.is_none());
                batch.insert(tagged(b'e', key), record.as_slice());
                batch.insert(tagged(b't', time), &[]);
                batch.insert(tagged(b'p', party), &[]);
                batch.insert(tagged(b'l', key), language.as_slice());
                batch.insert(tagged(b'L', language_row), &[]);
                if db.get(tagged(b'a', alias)).map_err(|e| e.to_string())?.is_none() {
                    batch.insert(tagged(b'a', alias), key.as_slice());
                }
            }
            db.apply_batch(batch).map_err(|e| e.to_string())?;
        }
        db.flush().map_err(|e| e.to_string())?;
        Ok(stored)
    })?);
    drop(db);

    let db = open("one")?;
    steps.push(timed("sled: the records alone, one tree, a batch per feed", "records", || {
        for feed in &records {
            let mut batch = sled::Batch::default();
            for (key, record, _) in feed {
                batch.insert(key.as_slice(), record.as_slice());
            }
            db.apply_batch(batch).map_err(|e| e.to_string())?;
        }
        db.flush().map_err(|e| e.to_string())?;
        Ok(db.len())
    })?);
    drop(db);

    steps.push(timed("atom_syndication: party and merged documents", "documents", || {
        let mut by_party: HashMap<usize, Vec<&super::corpus::Item>> = HashMap::new();
        for feed in &corpus.feeds {
            by_party.entry(feed.party).or_default().extend(&feed.items);
        }
        let mut all: Vec<&super::corpus::Item> = corpus.feeds.iter().flat_map(|f| &f.items).collect();
        all.sort_by_key(|i| std::cmp::Reverse(i.published));
        all.dedup_by_key(|i| i.id.as_str());
        all.truncate(100);
        let mut documents = 0;
        for items in by_party.into_values().map(Some).chain([Some(all)]).flatten() {
            let mut items = items;
            items.sort_by_key(|i| std::cmp::Reverse(i.published));
            items.truncate(100);
            let feed = atom::FeedBuilder::default()
                .title("Plenum")
                .id("urn:plenum")
                .entries(items.iter().map(|item| atom_entry(item)).collect::<Vec<_>>())
                .build();
            let bytes = feed.write_to(Vec::with_capacity(300_000)).map_err(|e| e.to_string())?;
            documents += usize::from(!bytes.is_empty());
        }
        Ok(documents)
    })?);
    Ok(steps)
}

fn atom_entry(item: &super::corpus::Item) -> atom::Entry {
    atom::EntryBuilder::default()
        .id(item.id.clone())
        .title(item.title.clone())
        .updated(item.updated)
        .published(Some(item.published.into()))
        .links(vec![atom::LinkBuilder::default().href(item.link.clone()).build()])
        .summary(Some(atom::Text::plain(item.summary.clone())))
        .content(Some(atom::ContentBuilder::default().value(Some(item.body.clone())).content_type(Some("html".to_string())).build()))
        .build()
}

/// CPU (user + system, every thread of this process) and wall time of `step`.
fn timed(name: &'static str, what: &'static str, step: impl FnOnce() -> Result<usize, String>) -> Result<Step, String> {
    let (cpu, wall) = (process_cpu(), Instant::now());
    let count = step()?;
    Ok(Step { name, cpu: process_cpu().saturating_sub(cpu), wall: wall.elapsed(), count, what, variant: name.contains("one tree") })
}

fn process_cpu() -> Duration {
    // SAFETY: an all-zero rusage is a valid value; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a pointer to a live local.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}
