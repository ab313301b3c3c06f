//! The hot stages of a poll and of serving, alone (issue 8), over the
//! benchmark corpus (`examples/bench/corpus.rs`, seed 1):
//!
//! - `extract/feed`: one RSS 2.0 and one Atom document of 50 entries (feed-rs).
//! - `extract/html`: one listing page of 50 items (scraper, selectors).
//! - `normalize/sanitize`: 50 raw items to entries (ammonia, identity, sketch),
//!   and one long article (ten bodies, about 20 KB).
//! - `store/insert`: 50 new entries upserted into sled.
//! - `publish/merged_atom` and `publish/every_feed` at 10 000 stored entries.
//! - `serve/merged_atom`: `GET /feed.atom` through the router, no socket.
//!
//! ```sh
//! cargo bench --bench stages -- --warm-up-time 1 --measurement-time 3
//! ```

#[path = "../examples/bench/corpus.rs"]
mod corpus;

use std::hint::black_box;
use std::sync::Arc;

use axum::body::Body;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use http::Request;
use tower::ServiceExt;

use corpus::{Corpus, Format, Spec};
use plenum::config::Config;
use plenum::extract;
use plenum::normalize::{self, EntryKey};
use plenum::publish::{self, Published, Query, Scope};
use plenum::store::Store;

// The stages run on the daemon's allocator (see src/ops/memory.rs).
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const ENTRIES: usize = 50;

/// A corpus of 200 feeds × 50 entries, its config (two html sources) in a temp dir.
fn fixture() -> (tempfile::TempDir, Config, Corpus) {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let corpus = Corpus::generate(Spec::new(200, ENTRIES, 1));
    let path = dir.path().join("plenum.toml");
    std::fs::write(&path, corpus::config_toml(&corpus, &[9], 8080, 2)).expect("write config");
    let config = plenum::config::load(&path).expect("the generated config is valid");
    (dir, config, corpus)
}

fn feed_of(corpus: &Corpus, format: Format) -> usize {
    corpus.feeds.iter().position(|f| f.format == format).expect("the corpus mixes formats")
}

fn extraction(c: &mut Criterion) {
    let (_dir, config, corpus) = fixture();
    let mut group = c.benchmark_group("extract");
    group.throughput(Throughput::Elements(ENTRIES as u64));
    for (name, format) in [("feed/rss2", Format::Rss), ("feed/atom", Format::Atom)] {
        let xml = corpus.feed_xml(feed_of(&corpus, format)).into_bytes();
        group.bench_function(name, |b| b.iter(|| extract::feed::extract(black_box(&xml)).expect("parses")));
    }
    let party = config.party(&corpus::party_id(0)).expect("party 0");
    let source = party.sources.iter().find(|s| s.html.is_some()).expect("party 0 has an html source");
    let rules = source.html.clone().expect("rules");
    let page = corpus.listing_html(0);
    let now = chrono::Utc::now();
    group.bench_function("html/listing", |b| {
        b.iter(|| {
            let read = extract::html::extract(black_box(&page), &source.url, &rules, Some("el"), now);
            assert_eq!(read.feed.items.len(), ENTRIES);
            read
        })
    });
    group.finish();
}

fn normalization(c: &mut Criterion) {
    let (_dir, config, corpus) = fixture();
    let index = feed_of(&corpus, Format::Rss);
    let raw = extract::feed::extract(corpus.feed_xml(index).as_bytes()).expect("parses");
    let party = config.party(&corpus::party_id(corpus.feeds[index].party)).expect("party");
    let source = party.sources.iter().find(|s| s.id.as_str().ends_with(&format!("/feed-{index}"))).expect("source");
    let now = normalize::now();
    let mut group = c.benchmark_group("normalize");
    group.throughput(Throughput::Elements(raw.items.len() as u64));
    group.bench_function("sanitize/50-items", |b| {
        b.iter(|| {
            for item in &raw.items {
                black_box(normalize::normalize(party, source, &raw, item, &source.url, now).expect("entry"));
            }
        })
    });
    // A long article (as many parties publish their statements in full):
    // ten of the corpus's bodies in one item, about 20 KB of markup.
    let mut long = raw.items[0].clone();
    long.content_html = Some(raw.items.iter().take(10).filter_map(|i| i.content_html.as_deref()).collect::<Vec<_>>().concat());
    group.throughput(Throughput::Bytes(long.content_html.as_ref().map_or(0, |h| h.len() as u64)));
    group.bench_function("sanitize/long-article", |b| {
        b.iter(|| black_box(normalize::normalize(party, source, &raw, &long, &source.url, now).expect("entry")))
    });
    group.finish();
}

fn store_insert(c: &mut Criterion) {
    let (dir, config, corpus) = fixture();
    let store = Store::open(&dir.path().join("insert-store")).expect("store");
    let feed = &corpus.feeds[0];
    let party = config.party(&corpus::party_id(feed.party)).expect("party");
    let source = &party.sources[0];
    let raw = extract::RawFeed { format: "RSS 2.0", ..Default::default() };
    let now = normalize::now();
    let entries: Vec<normalize::Entry> = feed
        .items
        .iter()
        .map(|item| normalize::normalize(party, source, &raw, &corpus::raw_item(item), &source.url, now).expect("entry"))
        .collect();
    let mut round = 0u64;
    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements(entries.len() as u64));
    group.bench_function("insert/50-new", |b| {
        b.iter_batched(
            || {
                // New identities and links each round, so every upsert stores a new entry.
                round += 1;
                entries
                    .iter()
                    .map(|e| {
                        let mut e = e.clone();
                        e.key = EntryKey::from_stored(&format!("{}-{round}", e.key.as_str()));
                        e.canonical_link = e.canonical_link.map(|l| format!("{l}-{round}"));
                        e
                    })
                    .collect::<Vec<_>>()
            },
            |batch| {
                // As a poll stores a document's entries: one batch, languages filed with them.
                let batch = batch.into_iter().map(|e| (e, true)).collect();
                store.upsert_batch(batch, now, Some(&|_: &normalize::Entry| "en".to_string())).expect("upsert");
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// A store holding the whole corpus (10 000 entries), languages filed.
fn filled() -> (tempfile::TempDir, Arc<Config>, Store) {
    let (dir, config, corpus) = fixture();
    let store = Store::open(&config.daemon.data_dir).expect("store");
    corpus::fill_store(&config, &store, &corpus);
    publish::language::sync(&config, &store).expect("languages");
    (dir, Arc::new(config), store)
}

fn publishing(c: &mut Criterion) {
    let (_dir, config, store) = filled();
    let published = Published::files_only();
    publish::publish_all(&config, &store, &published).expect("publishes");
    let context = published.context().expect("published");
    let mut group = c.benchmark_group("publish");
    group.bench_function("merged_atom/10k-stored", |b| {
        b.iter(|| publish::render_request(&context, &Scope::Merged, publish::Format::Atom, &Query::default()).expect("renders"))
    });
    group.sample_size(10);
    group.bench_function("every_feed/10k-stored", |b| b.iter(|| publish::render_all(&config, &store).expect("renders")));
    // What the daemon does after a poll of one party that brought one entry:
    // the party's, its country's and language's and the merged documents.
    let serving = Published::default();
    publish::publish_all(&config, &store, &serving).expect("publishes");
    let party = config.parties[0].clone();
    let mut round = 0u32;
    group.bench_function("after_one_party_poll/10k-stored", |b| {
        b.iter_batched(
            || {
                round += 1;
                let mut entry = store.newest_of_party(&party.id, 1).expect("read").pop().expect("an entry");
                entry.key = EntryKey::from_stored(&format!("{}-new{round}", entry.key.as_str()));
                entry.title = format!("{} {round}", entry.title);
                entry.published += chrono::Duration::seconds(1);
                store
                    .upsert_batch(vec![(entry, false)], chrono::Utc::now(), Some(&|_: &normalize::Entry| "en".to_string()))
                    .expect("upsert");
                // As the daemon does: the poll's entries are flushed before it publishes.
                store.flush_blocking().expect("flush");
            },
            |()| publish::publish_all(&config, &store, &serving).expect("publishes"),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn serving(c: &mut Criterion) {
    let (_dir, config, store) = filled();
    let published = Published::default();
    publish::publish_all(&config, &store, &published).expect("publishes");
    let router = plenum::serve::router(published);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut group = c.benchmark_group("serve");
    for (name, encoding) in [("merged_atom/identity", None), ("merged_atom/gzip", Some("gzip")), ("merged_atom/br", Some("br"))] {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    let mut request = Request::get("/feed.atom");
                    if let Some(encoding) = encoding {
                        request = request.header("accept-encoding", encoding);
                    }
                    let response = router.clone().oneshot(request.body(Body::empty()).expect("request")).await.expect("response");
                    assert_eq!(response.status(), 200);
                    axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body").len()
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, extraction, normalization, store_insert, publishing, serving);
criterion_main!(benches);
