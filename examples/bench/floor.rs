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
//! - **sled, Plenum's rows**: what `Store::upsert_batch` does for a new
//!   entry whose language is decided: the reads before its transaction
//!   (the entry, the link's holder, the retention fence, the pruned list),
//!   then one transaction per feed over its seven trees writing six rows
//!   (the record, by time, by party, the entry's language, by language,
//!   the link's alias, read first), then a flush. A record is the item's
//!   text compressed with lz4, as Plenum compresses its records (Plenum's
//!   hold postcard, not the raw text, so sizes differ a little).
//! - **sled, Plenum's rows in one tree** (a variant, not summed): the same
//!   reads and rows in one tree, a tag byte apart, one atomic `apply_batch`
//!   per feed: what a one-tree layout without a transaction would cost.
//! - **sled, the records alone** (a variant, not summed): only the records,
//!   one `apply_batch` per feed into one tree, then a flush: sled's own
//!   floor for these bytes, without any index.
//! - **atom_syndication**: one Atom document per party of its newest 100
//!   entries and one merged document of the newest 100 (content as HTML).

use std::collections::HashMap;
use std::path::Path;
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
/// sled's files go in a temporary directory under `work`, beside the
/// polls' store (not in a `/tmp` that may be in memory).
pub fn measure(corpus: &Corpus, feeds: &[String], work: &Path) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();

    steps.push(timed("feed-rs: parse", "entries", false, || {
        let mut entries = 0;
        for xml in feeds {
            let feed = feed_rs::parser::parse(xml.as_bytes()).map_err(|e| format!("feed-rs: {e}"))?;
            entries += feed.entries.len();
        }
        Ok(entries)
    })?);

    steps.push(timed("ammonia: clean bodies", "bodies", false, || {
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

    std::fs::create_dir_all(work).map_err(|e| e.to_string())?;
    let dir = tempfile::TempDir::new_in(work).map_err(|e| e.to_string())?;
    let sled_error = |e: sled::Error| e.to_string();
    let open = |name: &str| {
        sled::Config::new()
            .path(dir.path().join(name))
            .cache_capacity(plenum::store::DEFAULT_CACHE_BYTES)
            .flush_every_ms(Some(1000))
            .open()
            .map_err(sled_error)
    };

    let db = open("rows")?;
    let tree = |name: &str| db.open_tree(name).map_err(sled_error);
    let (meta, pruned) = (tree("meta")?, tree("pruned")?);
    let trees = (
        tree("entries")?,
        tree("by_time")?,
        tree("by_party")?,
        tree("aliases")?,
        tree("language_pending")?,
        tree("entry_language")?,
        tree("by_language")?,
    );
    steps.push(timed("sled: Plenum's rows, a transaction per feed", "records", false, || {
        let mut stored = 0;
        for feed in &records {
            // What Plenum reads of each item before its transaction: the
            // entry, the link's holder, whether retention pruned it.
            for (key, _, [.., alias]) in feed {
                trees.0.get(key).map_err(sled_error)?;
                trees.3.get(alias).map_err(sled_error)?;
                meta.get("retention_fence").map_err(sled_error)?;
                pruned.contains_key(key).map_err(sled_error)?;
            }
            let added: Result<usize, sled::transaction::TransactionError<()>> = (
                &trees.0, &trees.1, &trees.2, &trees.3, &trees.4, &trees.5, &trees.6,
            )
                .transaction(|(entries, by_time, by_party, aliases, _language_pending, entry_language, by_language)| {
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
        db.flush().map_err(sled_error)?;
        Ok(stored)
    })?);
    drop((trees, meta, pruned, db));

    let db = open("layout")?;
    steps.push(timed("sled: Plenum's rows in one tree, a batch per feed", "records", true, || {
        let mut stored = 0;
        for feed in &records {
            let mut batch = sled::Batch::default();
            for (key, record, [time, party, language, language_row, alias]) in feed {
                // One tree, a tag byte per kind of row; an atomic batch,
                // where Plenum's seven trees need a transaction. The same
                // reads first, as in the step above.
                let tagged = |tag: u8, row: &[u8]| [&[tag], row].concat();
                stored += usize::from(db.get(tagged(b'e', key)).map_err(sled_error)?.is_none());
                let alias_free = db.get(tagged(b'a', alias)).map_err(sled_error)?.is_none();
                db.get(tagged(b'm', b"retention_fence")).map_err(sled_error)?;
                db.contains_key(tagged(b'x', key)).map_err(sled_error)?;
                batch.insert(tagged(b'e', key), record.as_slice());
                batch.insert(tagged(b't', time), &[]);
                batch.insert(tagged(b'p', party), &[]);
                batch.insert(tagged(b'l', key), language.as_slice());
                batch.insert(tagged(b'L', language_row), &[]);
                if alias_free {
                    batch.insert(tagged(b'a', alias), key.as_slice());
                }
            }
            db.apply_batch(batch).map_err(sled_error)?;
        }
        db.flush().map_err(sled_error)?;
        Ok(stored)
    })?);
    drop(db);

    let db = open("one")?;
    steps.push(timed("sled: the records alone, one tree, a batch per feed", "records", true, || {
        for feed in &records {
            let mut batch = sled::Batch::default();
            for (key, record, _) in feed {
                batch.insert(key.as_slice(), record.as_slice());
            }
            db.apply_batch(batch).map_err(sled_error)?;
        }
        db.flush().map_err(sled_error)?;
        Ok(db.len())
    })?);
    drop(db);

    steps.push(timed("atom_syndication: party and merged documents", "documents", false, || {
        let mut by_party: HashMap<usize, Vec<&super::corpus::Item>> = HashMap::new();
        for feed in &corpus.feeds {
            by_party.entry(feed.party).or_default().extend(&feed.items);
        }
        let mut all: Vec<&super::corpus::Item> = corpus.feeds.iter().flat_map(|f| &f.items).collect();
        all.sort_by_key(|i| std::cmp::Reverse(i.published));
        all.dedup_by_key(|i| i.id.as_str());
        all.truncate(100);
        let mut documents = 0;
        for mut items in by_party.into_values().chain([all]) {
            items.sort_by_key(|i| std::cmp::Reverse(i.published));
            items.truncate(100);
            let feed = atom::FeedBuilder::default()
                .title("Plenum")
                .id("urn:plenum")
                .entries(items.iter().map(|item| atom_entry(item)).collect::<Vec<_>>())
                .build();
            let entries = feed.entries().len();
            feed.write_to(Vec::with_capacity(300_000)).map_err(|e| e.to_string())?;
            documents += usize::from(entries > 0);
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
fn timed(name: &'static str, what: &'static str, variant: bool, step: impl FnOnce() -> Result<usize, String>) -> Result<Step, String> {
    let (cpu, wall) = (process_cpu(), Instant::now());
    let count = step()?;
    Ok(Step { name, cpu: process_cpu().saturating_sub(cpu), wall: wall.elapsed(), count, what, variant })
}

fn process_cpu() -> Duration {
    // SAFETY: an all-zero rusage is a valid value; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a pointer to a live local.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    Duration::from_micros(super::micros(usage.ru_utime) + super::micros(usage.ru_stime))
}
