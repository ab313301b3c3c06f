//! Entries to documents: every feed in every format, the HTML pages and
//! the OPML list, in memory and as static files.
//!
//! A publish files new entries under their language ([`language`]), then
//! for every [`Scope`] (merged, each party, each country, each language)
//! selects the first page from the store's indexes ([`paging`]) and renders
//! it as Atom ([`atom`]), JSON Feed 1.1 ([`json`]), RSS 2.0 ([`rss`]) and
//! an HTML page ([`html`]); [`opml`] lists every feed. Each document is
//! written under `output_dir` atomically ([`files`]) and handed to the
//! HTTP server's in-memory copy ([`Published`]), so the server and the
//! static files always show the same thing. Requests with options (other
//! pages, filters) are rendered on demand by [`render_request`] from the
//! same code. Feeds that changed are announced to a WebSub hub ([`websub`]).
//! Publishing never fetches and never changes stored entries.
//!
//! - [`feed`]: `Scope`, `Format`, `Query` (request options), `FeedDoc`.
//! - [`paging`]: one page of a scope, RFC 5005 cursors.

pub mod atom;
pub mod feed;
pub mod files;
pub mod html;
pub mod json;
pub mod language;
pub mod opml;
pub mod paging;
pub mod rss;
pub mod websub;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::normalize::{story, Entry};

use crate::config::Config;
use crate::store::{Changes, Position, Store, StoreError};
pub use feed::{Format, Query, QueryError, Scope};

/// One rendered document, ready to serve.
#[derive(Debug, Clone)]
pub struct Document {
    /// Shared, so an answer sends them without copying.
    pub bytes: Bytes,
    pub content_type: &'static str,
    /// Strong validator: a hash of the bytes.
    pub etag: String,
    /// The feed's `updated`: moves only when its content changes.
    pub last_modified: DateTime<Utc>,
    /// The validators as header values, made with the document: an answer
    /// from memory only copies them (one read back from its file makes them
    /// again, with the rest of the document).
    pub headers: Arc<ValidatorHeaders>,
    /// The bytes gzip- and brotli-compressed, made on the first request that
    /// asks for them and kept with the document (a document never changes:
    /// a publish replaces it), so compressed answers cost no CPU after that.
    gzip: Arc<std::sync::OnceLock<Bytes>>,
    brotli: Arc<std::sync::OnceLock<Bytes>>,
    /// Kept in memory to serve ([`Document::sealed`]): its compressed
    /// copies are sealed too.
    sealed: bool,
}

impl Document {
    pub fn new(mut bytes: Vec<u8>, content_type: &'static str, last_modified: DateTime<Utc>) -> Self {
        let etag = format!("\"{}\"", &blake3::hash(&bytes).to_hex()[..32]);
        // Rendering grows the buffer by doubling: do not keep the slack.
        bytes.shrink_to_fit();
        let headers = Arc::new(ValidatorHeaders::new(&etag, last_modified));
        Document {
            bytes: Bytes::from(bytes),
            content_type,
            etag,
            last_modified,
            headers,
            gzip: Arc::default(),
            brotli: Arc::default(),
            sealed: false,
        }
    }

    /// The document with its bytes in sealed memory, sent with `sendfile`
    /// ([`crate::serve::sealed`]): for documents kept in memory to serve.
    fn sealed(mut self) -> Self {
        self.bytes = crate::serve::sealed::bytes(Vec::from(self.bytes));
        self.sealed = true;
        self
    }

    /// A compressed copy as kept: sealed when the document is; on the heap
    /// (without its slack) for one read back from its file or rendered for
    /// one request.
    fn copy(&self, mut bytes: Vec<u8>) -> Bytes {
        if self.sealed {
            return crate::serve::sealed::bytes(bytes);
        }
        bytes.shrink_to_fit();
        Bytes::from(bytes)
    }

    /// The bytes, gzip-compressed (level 6), made once.
    pub fn gzip(&self) -> Bytes {
        self.gzip
            .get_or_init(|| {
                use std::io::Write;
                let mut encoder = flate2::write::GzEncoder::new(Vec::with_capacity(self.bytes.len() / 4), flate2::Compression::new(6));
                let done = encoder.write_all(&self.bytes).and_then(|()| encoder.finish());
                self.copy(done.unwrap_or_default())
            })
            .clone()
    }

    /// The bytes, brotli-compressed (quality 5), made once.
    pub fn brotli(&self) -> Bytes {
        self.brotli
            .get_or_init(|| {
                let mut out = Vec::with_capacity(self.bytes.len() / 5);
                let params = brotli::enc::BrotliEncoderParams { quality: 5, lgwin: 22, ..Default::default() };
                match brotli::BrotliCompress(&mut self.bytes.as_ref(), &mut out, &params) {
                    Ok(_) => self.copy(out),
                    Err(_) => Bytes::new(),
                }
            })
            .clone()
    }

    /// The document's compressed copies (made or not yet), to keep
    /// without the bytes they were made from.
    fn copies(&self) -> Copies {
        Copies { etag: self.etag.clone(), gzip: self.gzip.clone(), brotli: self.brotli.clone() }
    }
}

/// A document's `ETag` (strong, and weak for its compressed copies, which
/// are other representations: RFC 9110 8.8.3) and `Last-Modified`, as
/// header values.
#[derive(Debug)]
pub struct ValidatorHeaders {
    pub etag: http::HeaderValue,
    pub weak_etag: http::HeaderValue,
    pub last_modified: http::HeaderValue,
}

impl ValidatorHeaders {
    pub fn new(etag: &str, last_modified: DateTime<Utc>) -> Self {
        // The ETag is a quoted hash and the date an HTTP date: both always
        // valid, but an empty value is still better than a panic.
        let value = |text: &str| http::HeaderValue::from_str(text).unwrap_or_else(|_| http::HeaderValue::from_static(""));
        ValidatorHeaders {
            etag: value(etag),
            weak_etag: value(&format!("W/{etag}")),
            last_modified: value(&httpdate::fmt_http_date(last_modified.into())),
        }
    }
}

/// A document's compressed copies, shared with the documents read back
/// from the same file: a copy made for one request serves the next ones.
struct Copies {
    etag: String,
    gzip: Arc<std::sync::OnceLock<Bytes>>,
    brotli: Arc<std::sync::OnceLock<Bytes>>,
}

impl Copies {
    /// Bytes kept in memory, copies made since included.
    fn weight(&self) -> usize {
        64 + self.etag.len() + self.gzip.get().map_or(0, Bytes::len) + self.brotli.get().map_or(0, Bytes::len)
    }
}

/// A published document that lives in its static file: what serving it
/// needs besides the bytes.
#[derive(Debug, Clone)]
struct OnDisk {
    file: PathBuf,
    content_type: &'static str,
    etag: String,
    last_modified: DateTime<Utc>,
    headers: Arc<ValidatorHeaders>,
}

/// The compressed copies of documents read back from their files, the
/// most recently requested first, within a budget of bytes. Only the
/// copies are kept: the bytes themselves are in the operating system's
/// page cache and cost a read, whereas a copy costs a compression.
struct ReadBack {
    copies: lru::LruCache<String, Copies>,
    budget: usize,
}

impl Default for ReadBack {
    fn default() -> Self {
        ReadBack { copies: lru::LruCache::unbounded(), budget: 8 * 1024 * 1024 }
    }
}

impl ReadBack {
    /// Keeps `doc`'s copies (those made later included), dropping the
    /// least recently requested documents' while the whole is over budget.
    fn keep(&mut self, path: &str, doc: &Document) {
        self.copies.put(path.to_string(), doc.copies());
        self.enforce();
    }

    /// Drops the least recently requested documents' copies while the
    /// whole is over budget: copies are made after [`ReadBack::keep`], as
    /// requests ask for them, so every read back checks again.
    fn enforce(&mut self) {
        let mut total: usize = self.copies.iter().map(|(_, c)| c.weight()).sum();
        while total > self.budget {
            match self.copies.pop_lru() {
                Some((_, dropped)) => total -= dropped.weight(),
                None => break,
            }
        }
    }
}

/// What requests with options need: the config and the store the
/// published documents came from.
pub struct Context {
    pub config: Arc<Config>,
    pub store: Store,
    /// `Cache-Control: max-age`: the interval of the default poll schedule,
    /// between one minute and one hour.
    pub max_age: Duration,
    /// What the documents were rendered from besides the entries (the
    /// config and the list of scopes): while it stays the same, a publish
    /// renders only the scopes whose entries changed.
    fingerprint: blake3::Hash,
}

/// The published documents by URL path (`feed.atom`, `parties/pcp.json`,
/// `index.html`), and the context to render variants of them.
#[derive(Clone, Default)]
pub struct Published {
    /// Documents served from memory: the merged feed's, the OPML list,
    /// and any whose file could not be written.
    docs: Arc<RwLock<BTreeMap<String, Document>>>,
    /// Every other document: in its static file, read back on request
    /// through `read_back`, so memory does not grow with the parties.
    on_disk: Arc<RwLock<BTreeMap<String, OnDisk>>>,
    read_back: Arc<Mutex<ReadBack>>,
    context: Arc<RwLock<Option<Arc<Context>>>>,
    /// Feed paths whose content changed at the last publish, for WebSub.
    changed: Arc<Mutex<Vec<String>>>,
    /// Write the files but keep no documents in memory (`poll-once`): memory
    /// stays at the few scopes' documents being rendered at once.
    files_only: bool,
    /// Set once every document has been published: until then a document
    /// not yet in memory is rendered on request ([`Published::render_missing`]).
    complete: Arc<std::sync::atomic::AtomicBool>,
    /// A published file could not be read back: the next publish renders all.
    lost_files: Arc<std::sync::atomic::AtomicBool>,
    /// Held by a publish from start to end: two at once (a reload beside
    /// the poller's) would stage the same temporary files.
    publishing: Arc<Mutex<()>>,
    /// The marker of the last publish when it wrote every file it rendered
    /// (see [`Published::files_marker`]), `None` after one that failed.
    written_marker: Arc<Mutex<Option<[u8; 32]>>>,
}

impl Published {
    /// A publisher that writes the static files and keeps nothing to serve:
    /// memory stays at the few scopes' documents being rendered at once,
    /// however many there are.
    pub fn files_only() -> Published {
        Published { files_only: true, ..Published::default() }
    }

    /// Whether this publisher only writes files (`poll-once`).
    pub fn is_files_only(&self) -> bool {
        self.files_only
    }

    /// The published document at `path`: from memory, or read back from
    /// its static file (kept for later requests within the budget of
    /// `document_cache_mb`).
    pub fn get(&self, path: &str) -> Option<Document> {
        if let Some(doc) = self.docs.read().ok()?.get(path) {
            return Some(doc.clone());
        }
        let on_disk = self.on_disk.read().ok()?.get(path).cloned()?;
        let bytes = match std::fs::read(&on_disk.file) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(path = %on_disk.file.display(), error = %e, "a published file cannot be read; it is written again at the next publish");
                self.lost(path);
                return None;
            }
        };
        let mut doc = Document::new(bytes, on_disk.content_type, on_disk.last_modified);
        // While a publish puts its files in place, a file may be newer than what is served.
        if doc.etag != on_disk.etag && self.publishing.try_lock().is_ok() {
            tracing::warn!(path = %on_disk.file.display(), "a published file was changed by something other than Plenum; serving it as it is now");
        }
        let mut read_back = self.read_back.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match read_back.copies.get(path).filter(|c| c.etag == doc.etag) {
            Some(copies) => {
                doc.gzip = copies.gzip.clone();
                doc.brotli = copies.brotli.clone();
                read_back.enforce();
            }
            None => read_back.keep(path, &doc),
        }
        Some(doc)
    }

    /// A file that vanished: the next publish renders everything again.
    fn lost(&self, path: &str) {
        if let Ok(mut on_disk) = self.on_disk.write() {
            on_disk.remove(path);
        }
        self.lost_files.store(true, std::sync::atomic::Ordering::Release);
    }

    /// The ETag of the document at `path`, without reading it.
    fn etag(&self, path: &str) -> Option<String> {
        self.validators(path).map(|(etag, _, _)| etag)
    }

    /// The ETag and last modification of the published document at `path`,
    /// and its validator headers, without reading it: enough to answer a
    /// conditional request.
    pub fn validators(&self, path: &str) -> Option<(String, DateTime<Utc>, Arc<ValidatorHeaders>)> {
        if let Some(doc) = self.docs.read().ok()?.get(path) {
            return Some((doc.etag.clone(), doc.last_modified, doc.headers.clone()));
        }
        self.on_disk.read().ok()?.get(path).map(|d| (d.etag.clone(), d.last_modified, d.headers.clone()))
    }

    pub fn is_empty(&self) -> bool {
        self.docs.read().map(|d| d.is_empty()).unwrap_or(true) && self.on_disk.read().map(|d| d.is_empty()).unwrap_or(true)
    }

    /// Whether every document has been published at least once.
    pub fn is_complete(&self) -> bool {
        self.complete.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Before the first full publish (at start-up), a document of `scope`
    /// that exists but is not published yet, rendered now from the store (or
    /// the published one, if that publish finished meanwhile); `None` when
    /// the scope has no documents.
    pub fn render_missing(&self, scope: &Scope, format: Format) -> Option<Result<Document, PublishError>> {
        // The full publish may have finished since the caller looked.
        if let Some(doc) = self.get(&scope.path(format)) {
            return Some(Ok(doc));
        }
        if self.is_complete() {
            return None;
        }
        let context = self.context()?;
        let exists = match scopes(&context.config, &context.store) {
            Ok(scopes) => scopes.contains(scope),
            Err(e) => return Some(Err(e.into())),
        };
        exists.then(|| render_request(&context, scope, format, &Query::default()))
    }

    /// The config and store of the last publish; `None` before the first.
    pub fn context(&self) -> Option<Arc<Context>> {
        self.context.read().ok()?.clone()
    }

    /// The last publish's marker, when every file it rendered was written:
    /// what [`write_stamp`] puts beside the files and the store keeps
    /// ([`Store::mark_published`]) once they show every change. A marker
    /// names this build and the config and scopes the files were rendered for.
    pub fn files_marker(&self) -> Option<[u8; 32]> {
        *self.written_marker.lock().ok()?
    }

    /// Takes the paths of the feeds that changed at the last publish.
    pub fn take_changed(&self) -> Vec<String> {
        self.changed.lock().map(|mut c| std::mem::take(&mut *c)).unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot render {path}: {cause}")]
    Render { path: String, cause: String },
    #[error("cannot write {path}: {cause}")]
    Write { path: String, cause: String },
}

/// The merged feed's documents only, into memory, and the context to
/// render the rest on request: what start-up serves within milliseconds,
/// before [`publish_all`] renders and writes every document. Writes no
/// file and leaves the store's changes for that publish.
pub fn publish_merged(config: &Config, store: &Store, published: &Published) -> Result<usize, PublishError> {
    let scopes = scopes(config, store)?;
    let nav = html::Nav::new(config, &scopes);
    let mut docs: BTreeMap<String, Document> = render_scope(config, store, &nav, &Scope::Merged)?.into_iter().collect();
    docs.insert(opml::PATH.to_string(), opml::render(config, &scopes, store.created())?);
    let count = docs.len();
    if let Ok(mut current) = published.docs.write() {
        current.extend(docs.into_iter().map(|(path, doc)| (path, doc.sealed())));
    }
    // A fingerprint no publish has: the next publish renders everything.
    let fingerprint = blake3::Hash::from_bytes([0; 32]);
    if let Ok(mut context) = published.context.write() {
        *context =
            Some(Arc::new(Context { config: Arc::new(config.clone()), store: store.clone(), max_age: max_age(config), fingerprint }));
    }
    Ok(count)
}

/// `Cache-Control: max-age`: the default schedule's interval, within one minute and one hour.
fn max_age(config: &Config) -> Duration {
    crate::schedule::interval(&config.daemon.schedule, Utc::now())
        .unwrap_or(Duration::from_secs(1800))
        .clamp(Duration::from_secs(60), Duration::from_secs(3600))
}

/// Renders the documents from the store and writes them out; returns how
/// many were rendered. The first publish of a process, or after the config
/// or the list of scopes changed, renders every document; later ones only
/// those of scopes whose entries changed since (see [`Store::take_changes`]):
/// a poll of one party rewrites that party's, its country's and its
/// languages' documents and the merged ones, whatever the store holds. The
/// in-memory copy is replaced even when a file cannot be written, so the
/// server keeps serving what the store holds; the first write error is
/// returned.
///
/// A files-only publisher (`poll-once`) keeps nothing between processes,
/// so it renders only the changed scopes when the store's
/// [`Store::published_marker`] and the stamp beside the files
/// ([`STAMP_FILE`]) agree that the files showed everything before (same
/// build, config and scopes) and every file is still there.
pub fn publish_all(config: &Config, store: &Store, published: &Published) -> Result<usize, PublishError> {
    let _one_at_a_time = published.publishing.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // Entries whose language is still queued (an import, an older store) are filed first.
    language::sync(config, store)?;
    let changes = store.take_changes();
    let outcome = publish_changes(config, store, published, &changes);
    if outcome.is_err() {
        store.restore_changes(changes);
    }
    outcome
}

fn publish_changes(config: &Config, store: &Store, published: &Published, changes: &Changes) -> Result<usize, PublishError> {
    let scopes = scopes(config, store)?;
    let fingerprint = blake3::hash(format!("{config:?}\n{scopes:?}").as_bytes());
    let lost_files = published.lost_files.load(std::sync::atomic::Ordering::Acquire);
    let previous =
        published.context().filter(|c| c.fingerprint == fingerprint && !published.files_only && !published.is_empty() && !lost_files);
    let marker = files_marker(&fingerprint);
    let dir = &config.daemon.output_dir;
    let files_stand = published.files_only && stamped(dir, store, &marker) && all_files_exist(dir, &scopes);
    let incremental = (previous.is_some() || files_stand) && !changes.all;
    let affected: Vec<&Scope> =
        if incremental { scopes.iter().filter(|scope| affected(config, scope, changes)).collect() } else { scopes.iter().collect() };
    let nav = html::Nav::new(config, &scopes);
    // Each document's file is staged as soon as it is rendered; only a
    // publisher that serves keeps the documents.
    let mut files = files::Batch::default();
    let mut docs = BTreeMap::new();
    let mut etags = BTreeMap::new();
    let mut keep = |path: String, doc: Document, files: &mut files::Batch| {
        files.stage(&dir.join(&path), &doc.bytes);
        etags.insert(path.clone(), doc.etag.clone());
        if !published.files_only {
            docs.insert(path, doc);
        }
    };
    render_scopes(config, store, &nav, &affected, &mut |path, doc| keep(path, doc, &mut files))?;
    if !incremental {
        keep(opml::PATH.to_string(), opml::render(config, &scopes, store.created())?, &mut files);
    }
    // Everything rendered was read from the store before this flush began, so
    // after it every entry in these documents is on disk, including entries
    // that concurrent polls stored after the caller's own flush. Only then
    // are the documents written or served.
    store.flush_blocking()?;
    // Files written from here on are no longer the ones the stamp names.
    if let Err(e) = std::fs::remove_file(dir.join(STAMP_FILE)) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %dir.join(STAMP_FILE).display(), error = %e, "cannot remove the stamp of the last publish");
        }
    }
    let before: BTreeMap<String, String> = etags.keys().filter_map(|k| Some((k.clone(), published.etag(k)?))).collect();
    let (written, rewritten, unwritten) = commit(dir, files);
    // A feed changed when its file did, or (file not writable) its bytes in memory did.
    let changed: Vec<String> = etags
        .iter()
        .filter(|(path, etag)| {
            let is_feed = Format::FEEDS.iter().any(|f| path.ends_with(&format!(".{}", f.extension())));
            is_feed && (rewritten.contains(*path) || (written.is_err() && before.get(*path).is_some_and(|old| old != *etag)))
        })
        .map(|(path, _)| path.clone())
        .collect();
    let count = etags.len();
    if let Ok(mut last) = published.written_marker.lock() {
        *last = written.is_ok().then_some(marker);
    }
    if !published.files_only {
        // The merged feed's documents and the OPML list stay in memory; the
        // others are served from their files, unless those could not be written.
        let (mut memory, mut on_disk) = (BTreeMap::new(), BTreeMap::new());
        for (path, doc) in docs {
            let hot = path == opml::PATH || Format::FEEDS.into_iter().chain([Format::Html]).any(|f| Scope::Merged.path(f) == path);
            if hot || unwritten.contains(&path) {
                memory.insert(path, doc.sealed());
            } else {
                let file = dir.join(&path);
                on_disk.insert(
                    path,
                    OnDisk { file, content_type: doc.content_type, etag: doc.etag, last_modified: doc.last_modified, headers: doc.headers },
                );
            }
        }
        if let (Ok(mut current), Ok(mut current_on_disk)) = (published.docs.write(), published.on_disk.write()) {
            if previous.is_none() {
                current.clear();
                current_on_disk.clear();
            }
            for path in memory.keys() {
                current_on_disk.remove(path);
            }
            for path in on_disk.keys() {
                current.remove(path);
            }
            current.extend(memory);
            current_on_disk.extend(on_disk);
        }
        if let Ok(mut read_back) = published.read_back.lock() {
            read_back.budget = config.daemon.document_cache_bytes;
        }
    }
    if let Ok(mut context) = published.context.write() {
        *context =
            Some(Arc::new(Context { config: Arc::new(config.clone()), store: store.clone(), max_age: max_age(config), fingerprint }));
    }
    published.complete.store(true, std::sync::atomic::Ordering::Release);
    if lost_files {
        published.lost_files.store(false, std::sync::atomic::Ordering::Release);
    }
    if let Ok(mut c) = published.changed.lock() {
        *c = changed;
    }
    written.map(|()| count)
}

/// The marker of files rendered by this build ([`crate::build_id`]) for a
/// config and scopes with `fingerprint` (see [`Published::files_marker`]).
fn files_marker(fingerprint: &blake3::Hash) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&crate::build_id().to_le_bytes());
    hasher.update(fingerprint.as_bytes());
    *hasher.finalize().as_bytes()
}

/// The file in the output directory naming the publish that wrote every
/// document there: `poll-once` writes it, with the same bytes in the store
/// ([`Store::mark_published`]), once its publish wrote every file; every
/// publish removes it before writing. The files stand for the store only
/// when both agree: not after `plenum run` wrote them, nor when another
/// store's `poll-once` shares the directory, nor when an older copy of the
/// directory was put back.
pub const STAMP_FILE: &str = ".plenum-published";

/// Whether the stamp in `dir` is the store's, for files with `marker`.
fn stamped(dir: &Path, store: &Store, marker: &[u8; 32]) -> bool {
    let Some(stored) = store.published_marker() else { return false };
    stored.starts_with(marker) && std::fs::read(dir.join(STAMP_FILE)).is_ok_and(|stamp| stamp == stored)
}

/// Writes the stamp of a publish whose files carry `marker` (see
/// [`STAMP_FILE`]) and returns what the store must hold to match it: the
/// marker and a nonce of this publish.
pub fn write_stamp(dir: &Path, marker: &[u8; 32]) -> std::io::Result<Vec<u8>> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let nonce = blake3::hash(format!("{} {} {}", now.as_nanos(), std::process::id(), dir.display()).as_bytes());
    let mut stamp = marker.to_vec();
    stamp.extend_from_slice(&nonce.as_bytes()[..16]);
    let temporary = dir.join(format!("{STAMP_FILE}.tmp-{}", std::process::id()));
    std::fs::write(&temporary, &stamp)?;
    std::fs::rename(&temporary, dir.join(STAMP_FILE))?;
    Ok(stamp)
}

/// Whether every document of `scopes` has its file in `dir`.
fn all_files_exist(dir: &std::path::Path, scopes: &[Scope]) -> bool {
    let formats = || Format::FEEDS.into_iter().chain([Format::Html]);
    dir.join(opml::PATH).is_file() && scopes.iter().all(|scope| formats().all(|format| dir.join(scope.path(format)).is_file()))
}

/// Whether `scope`'s documents show entries of what `changes` names.
fn affected(config: &Config, scope: &Scope, changes: &Changes) -> bool {
    match scope {
        Scope::Merged => !changes.is_empty(),
        Scope::Party(id) => changes.parties.contains(id),
        Scope::Country(cc) => {
            changes.parties.iter().any(|id| config.party(id.as_str()).is_some_and(|p| p.country.eq_ignore_ascii_case(cc)))
        }
        Scope::Language(lang) => changes.languages.contains(lang),
    }
}

/// One item of a published feed: an entry, and the same story as other
/// parties published it (merged feed only; see [`crate::normalize::story`]).
#[derive(Debug, Clone)]
pub struct Story<'a> {
    /// The copy stored first: its id, title and link represent the story,
    /// so the story's `atom:id` does not change when more parties publish it.
    pub entry: &'a Entry,
    /// The other parties' copies, in the order they were stored.
    pub also: Vec<&'a Entry>,
}

impl Story<'_> {
    /// Every copy, the representative first.
    pub fn copies(&self) -> impl Iterator<Item = &Entry> {
        std::iter::once(self.entry).chain(self.also.iter().copied())
    }
}

/// Every scope that has documents: the merged feed, each party, each
/// country of a configured party, each language with filed entries.
pub fn scopes(config: &Config, store: &Store) -> Result<Vec<Scope>, StoreError> {
    let mut scopes = vec![Scope::Merged];
    scopes.extend(config.parties.iter().map(|p| Scope::Party(p.id.clone())));
    let countries: BTreeSet<String> = config.parties.iter().map(|p| p.country.to_ascii_lowercase()).collect();
    scopes.extend(countries.into_iter().map(Scope::Country));
    scopes.extend(store.languages()?.into_iter().map(Scope::Language));
    Ok(scopes)
}

/// Every document, by URL path (what a first publish renders).
pub fn render_all(config: &Config, store: &Store) -> Result<BTreeMap<String, Document>, PublishError> {
    language::sync(config, store)?;
    let scopes = scopes(config, store)?;
    let nav = html::Nav::new(config, &scopes);
    let mut docs = BTreeMap::new();
    render_scopes(config, store, &nav, &scopes.iter().collect::<Vec<_>>(), &mut |path, doc| {
        docs.insert(path, doc);
    })?;
    docs.insert(opml::PATH.to_string(), opml::render(config, &scopes, store.created())?);
    Ok(docs)
}

/// Renders the document `scope`, `format` and `query` ask for: a page of
/// a feed, a filtered feed, a filtered HTML page. Bounded: `limit` is
/// capped and filters examine at most [`paging::SCAN_CAP`] entries.
pub fn render_request(context: &Context, scope: &Scope, format: Format, query: &Query) -> Result<Document, PublishError> {
    let (config, store) = (context.config.as_ref(), &context.store);
    let scopes = scopes(config, store)?;
    let nav = html::Nav::new(config, &scopes);
    let page = paging::select(config, store, scope, query)?;
    render_page(config, store, &nav, scope, format, query, (&page, page.stories()))
}

/// Renders the documents of `scopes` (see [`render_scope`]) on up to one
/// thread per core, handing each to `each` as its scope is done (in no
/// particular order). Finished scopes wait for `each` in a queue of one
/// per thread, so memory stays at a few scopes' documents however many
/// there are. Stops at the first error.
fn render_scopes(
    config: &Config,
    store: &Store,
    nav: &html::Nav,
    scopes: &[&Scope],
    each: &mut dyn FnMut(String, Document),
) -> Result<(), PublishError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(scopes.len());
    if threads <= 1 {
        for scope in scopes {
            render_scope(config, store, nav, scope)?.into_iter().for_each(|(path, doc)| each(path, doc));
        }
        return Ok(());
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|threads_scope| {
        let (done, finished) = std::sync::mpsc::sync_channel(threads);
        for _ in 0..threads {
            let (done, next) = (done.clone(), &next);
            threads_scope.spawn(move || {
                while let Some(scope) = scopes.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                    // A send fails once the receiver gave up after an error.
                    if done.send(render_scope(config, store, nav, scope)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        for rendered in finished {
            match rendered {
                Ok(docs) => docs.into_iter().for_each(|(path, doc)| each(path, doc)),
                Err(e) => {
                    next.store(scopes.len(), std::sync::atomic::Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(())
    })
}

/// The documents of one scope's first page, one per format, by URL path.
fn render_scope(config: &Config, store: &Store, nav: &html::Nav, scope: &Scope) -> Result<Vec<(String, Document)>, PublishError> {
    let query = Query::default();
    let page = paging::select(config, store, scope, &query)?;
    // Grouped once for the four formats.
    let stories = page.stories();
    Format::FEEDS
        .into_iter()
        .chain([Format::Html])
        .map(|format| Ok((scope.path(format), render_page(config, store, nav, scope, format, &query, (&page, stories.clone()))?)))
        .collect()
}

fn render_page(
    config: &Config,
    store: &Store,
    nav: &html::Nav,
    scope: &Scope,
    format: Format,
    query: &Query,
    (page, stories): (&paging::Page, Vec<Story<'_>>),
) -> Result<Document, PublishError> {
    let path = scope.path(format);
    let url = feed::absolute(config, if format == Format::Html && *scope == Scope::Merged { "" } else { &path });
    let with = |page: Option<(&str, &Position)>| format!("{url}{}", query.to_query_string(page));
    let current = match (&query.before, &query.after) {
        (Some(p), _) => Some(("before", p)),
        (_, Some(p)) => Some(("after", p)),
        _ => None,
    };
    let origin = Position::origin();
    let doc = feed::FeedDoc {
        title: scope.title(config),
        subtitle: scope.subtitle(config),
        id: with(None),
        self_url: with(current),
        html_url: atom::html_url(config, scope),
        lang: scope.language(config),
        updated: stories.iter().flat_map(Story::copies).map(|e| e.updated).max().unwrap_or_else(|| store.created()),
        stories,
        links: feed::PageLinks {
            first: Some(with(None)),
            last: Some(with(Some(("after", &origin)))),
            next: page.older.as_ref().map(|p| with(Some(("before", p)))),
            previous: page.newer.as_ref().map(|p| with(Some(("after", p)))),
        },
        hub: config.daemon.websub_hub.as_ref().filter(|_| current.is_none()).map(|u| u.to_string()),
        scope: scope.clone(),
        format,
    };
    match format {
        Format::Atom => atom::render_doc(config, &doc),
        Format::Json => json::render(config, &doc),
        Format::Rss => rss::render(config, &doc),
        Format::Html => html::render(config, store, nav, &doc, query),
    }
}

/// Groups entries (newest first) of different parties that tell the same
/// story; at most `limit` stories, newest first.
pub fn merge_stories<'a>(entries: impl IntoIterator<Item = &'a Entry>, limit: usize) -> Vec<Story<'a>> {
    group(entries, limit, false).0
}

/// Like [`merge_stories`], but stops before the entry that would start
/// story `limit + 1`: returns the stories and how many entries they used,
/// so a paged feed's next page starts exactly where this one ended.
pub fn merge_page<'a>(entries: impl IntoIterator<Item = &'a Entry>, limit: usize) -> (Vec<Story<'a>>, usize) {
    group(entries, limit, true)
}

fn group<'a>(entries: impl IntoIterator<Item = &'a Entry>, limit: usize, stop_at_limit: bool) -> (Vec<Story<'a>>, usize) {
    let mut used = 0;
    let mut stories: Vec<Story> = Vec::new();
    let mut by_title: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_link: HashMap<&str, Vec<usize>> = HashMap::new();
    // Each story's representative title, as compared (made once, not per candidate).
    let mut title_keys: Vec<String> = Vec::new();
    for (position, entry) in entries.into_iter().enumerate() {
        used = position + 1;
        let title_key = story::title_key(&entry.title);
        let candidates: Vec<usize> = by_title
            .get(&title_key)
            .into_iter()
            .flatten()
            .chain(entry.canonical_link.as_deref().and_then(|l| by_link.get(l)).into_iter().flatten())
            .copied()
            .collect();
        let mine = story::StoryFacts {
            title_key: &title_key,
            canonical_link: entry.canonical_link.as_deref(),
            published: entry.published,
            sketch: &entry.sketch,
        };
        let found = candidates.into_iter().find(|&i| {
            let s = &stories[i];
            let theirs = story::StoryFacts {
                title_key: &title_keys[i],
                canonical_link: s.entry.canonical_link.as_deref(),
                published: s.entry.published,
                sketch: &s.entry.sketch,
            };
            s.copies().all(|c| c.party != entry.party) && story::same_story(&mine, &theirs)
        });
        match found {
            Some(i) => {
                let s = &mut stories[i];
                if (entry.first_seen, &entry.key) < (s.entry.first_seen, &s.entry.key) {
                    s.also.push(s.entry);
                    s.entry = entry;
                    title_keys[i] = title_key;
                } else {
                    s.also.push(entry);
                }
                s.also.sort_by(|a, b| (a.first_seen, &a.key).cmp(&(b.first_seen, &b.key)));
            }
            None => {
                if stories.len() >= limit {
                    if stop_at_limit {
                        used = position;
                        break;
                    }
                    continue;
                }
                let i = stories.len();
                stories.push(Story { entry, also: Vec::new() });
                title_keys.push(title_key.clone());
                by_title.entry(title_key).or_default().push(i);
                if let Some(link) = entry.canonical_link.as_deref() {
                    by_link.entry(link).or_default().push(i);
                }
            }
        }
    }
    (stories, used)
}

/// Puts the staged files in place (see [`files::Batch`]); returns the
/// first error, and the paths (relative to `dir`) whose content changed
/// and those that could not be written.
fn commit(dir: &Path, files: files::Batch) -> (Result<(), PublishError>, BTreeSet<String>, BTreeSet<String>) {
    let outcome = files.commit();
    let relative = |p: &Path| p.strip_prefix(dir).ok().map(|p| p.to_string_lossy().into_owned());
    let rewritten = outcome.written.iter().filter_map(|p| relative(p)).collect();
    let mut unwritten = BTreeSet::new();
    let mut first_error = None;
    for (path, e) in outcome.failed {
        tracing::error!(path = %path.display(), error = %e, "cannot write a static file; the server keeps serving it from memory");
        unwritten.extend(relative(&path));
        first_error.get_or_insert(PublishError::Write { path: path.display().to_string(), cause: e.to_string() });
    }
    (first_error.map_or(Ok(()), Err), rewritten, unwritten)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PartyId;
    use crate::normalize::{identity, Origin};
    use crate::store::Upsert;

    /// What the daemon keeps in memory to serve is sealed with its
    /// compressed copies; a document read back from its file, or rendered
    /// for one request, stays on the heap with its copies, so requests
    /// never make sealed files.
    #[test]
    fn only_documents_kept_to_serve_are_sealed_with_their_copies() {
        use crate::serve::sealed::is_sealed;
        crate::serve::sealed::enable();
        // Letters at random: the compressed copies stay large.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let text: String = (0..200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                char::from(b'a' + (x % 26) as u8)
            })
            .collect();
        let document = || Document::new(text.clone().into_bytes(), "application/atom+xml", Utc::now());
        let kept = document().sealed();
        assert_eq!(kept.bytes, text.as_bytes(), "sealing keeps the bytes");
        assert!(is_sealed(&kept.bytes), "the document kept is sealed");
        assert!(is_sealed(&kept.gzip()) && is_sealed(&kept.brotli()), "so are its copies");
        let read_back = document();
        assert!(!is_sealed(&read_back.bytes), "a document read back is not sealed");
        assert!(!is_sealed(&read_back.gzip()) && !is_sealed(&read_back.brotli()), "nor are its copies");
        assert!(read_back.brotli().len() > crate::serve::sealed::MIN_SEALED_BYTES, "the copies are large enough to seal");
    }

    const CONFIG: &str = r#"[daemon]
data_dir = "data"
output_dir = "public"
base_url = "http://127.0.0.1:8080/"
title = "TITLE"

[[party]]
id = "pcp"
name = "Portuguese Communist Party"
abbreviation = "PCP"
country = "PT"
languages = ["pt"]
homepage = "https://www.pcp.pt/"
[[party.source]]
id = "feed"
kind = "feed"
url = "https://www.pcp.pt/rss.xml"

[[party]]
id = "kke"
name = "Communist Party of Greece"
abbreviation = "KKE"
country = "GR"
languages = ["el"]
homepage = "https://www.kke.gr/"
[[party.source]]
id = "feed"
kind = "feed"
url = "https://www.kke.gr/rss.xml"
"#;

    fn load(dir: &Path, title: &str) -> Config {
        let path = dir.join("plenum.toml");
        std::fs::write(&path, CONFIG.replace("TITLE", title)).unwrap();
        crate::config::load(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn store_one(config: &Config, store: &Store, party: &str, title: &str, hour: i64) {
        let party = config.party(party).unwrap();
        let source = &party.sources[0];
        let published = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(hour);
        let ident = identity::identify(&party.id, &source.id, Some(title), None, title, None, None);
        let entry = Entry {
            atom_id: ident.atom_id(),
            key: ident.key,
            party: party.id.clone(),
            source: source.id.clone(),
            sources: vec![source.id.clone()],
            canonical_link: None,
            sketch: vec![],
            title: title.into(),
            link: None,
            summary: None,
            content: None,
            authors: vec![],
            language: None,
            published,
            date_guessed: false,
            updated: published,
            first_seen: published,
            content_hash: title.into(),
            source_hash: title.into(),
            origin: Origin { feed_url: source.url.to_string(), feed_id: None, title: None, link: None },
        };
        let lang = party.languages[0].clone();
        let outcome = store.upsert_batch(vec![(entry, false)], published, Some(&|_: &Entry| lang.clone())).unwrap();
        assert_eq!(outcome[0].0, Upsert::New);
    }

    /// A config of two parties in `dir`, its store holding one entry of each.
    fn two_parties(dir: &Path) -> (Config, Store) {
        let config = load(dir, "Wire");
        let store = Store::open(&config.daemon.data_dir).unwrap();
        store_one(&config, &store, "pcp", "Avante first", 1);
        store_one(&config, &store, "kke", "Rizospastis first", 2);
        (config, store)
    }

    fn text(published: &Published, path: &str) -> String {
        String::from_utf8(published.get(path).unwrap_or_else(|| panic!("{path} is not served")).bytes.to_vec()).unwrap()
    }

    #[test]
    fn a_publish_renders_only_what_changed_and_everything_after_a_config_change() {
        let dir = tempfile::tempdir().unwrap();
        let (config, store) = two_parties(dir.path());
        let published = Published::default();
        // merged, 2 parties, 2 countries, 2 languages: 7 scopes × 4 formats, and the OPML list.
        assert_eq!(publish_all(&config, &store, &published).unwrap(), 29);
        let kke_file = config.daemon.output_dir.join("parties/kke.atom");
        let kke_before = (std::fs::read(&kke_file).unwrap(), std::fs::metadata(&kke_file).unwrap().modified().unwrap());
        assert_eq!(publish_all(&config, &store, &published).unwrap(), 0, "nothing changed, nothing rendered");

        store_one(&config, &store, "pcp", "Avante second", 3);
        // merged, pcp, pt and the language pt.
        assert_eq!(publish_all(&config, &store, &published).unwrap(), 16);
        for path in ["feed.atom", "parties/pcp.atom", "countries/pt.atom", "languages/pt.atom", "index.html"] {
            assert!(text(&published, path).contains("Avante second"), "{path} shows the new entry");
            let file = std::fs::read_to_string(config.daemon.output_dir.join(path)).unwrap();
            assert!(file.contains("Avante second"), "the file {path} shows the new entry");
        }
        assert!(text(&published, "parties/kke.atom").contains("Rizospastis first"), "untouched documents are still served");
        let kke_after = (std::fs::read(&kke_file).unwrap(), std::fs::metadata(&kke_file).unwrap().modified().unwrap());
        assert_eq!(kke_before, kke_after, "another party's file is not rewritten");

        // A new title shows in every document: everything is rendered again.
        let renamed = load(dir.path(), "Red Wire");
        assert_eq!(publish_all(&renamed, &store, &published).unwrap(), 29);
        assert!(text(&published, "parties/kke.atom").contains("Rizospastis first"));
        assert!(text(&published, "countries/gr.atom").contains("Red Wire"));
    }

    #[test]
    fn a_merged_page_reads_on_until_its_stories_are_whole_and_the_next_page_starts_after_them() {
        let dir = tempfile::tempdir().unwrap();
        let config = load(dir.path(), "Wire");
        let store = Store::open(&config.daemon.data_dir).unwrap();
        // Three joint statements, each published by both parties an hour apart, newest first.
        let titles = ["first", "second", "third"].map(|n| format!("Joint statement number {n} of the parties on the war"));
        for (i, title) in titles.iter().enumerate() {
            let hour = 100 - 10 * i as i64;
            store_one(&config, &store, "pcp", title, hour);
            store_one(&config, &store, "kke", title, hour - 1);
        }
        let copies = |page: &paging::Page| -> Vec<(String, usize)> {
            page.stories().iter().map(|s| (s.entry.title.clone(), s.copies().count())).collect()
        };
        // Two stories a page: the first three entries hold only one and a half.
        let query = Query { limit: Some(2), ..Query::default() };
        let first = paging::select(&config, &store, &Scope::Merged, &query).unwrap();
        assert_eq!(copies(&first), vec![(titles[0].clone(), 2), (titles[1].clone(), 2)]);
        let next = Query { before: first.older.clone(), ..query };
        assert!(next.before.is_some(), "a third story is left for the next page");
        let second = paging::select(&config, &store, &Scope::Merged, &next).unwrap();
        assert_eq!(copies(&second), vec![(titles[2].clone(), 2)], "the next page starts after the second story's copies");
        assert!(second.older.is_none(), "nothing is left after the third story");
    }

    #[test]
    fn at_start_up_the_merged_feed_comes_first_and_the_rest_is_rendered_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let (config, store) = two_parties(dir.path());
        let published = Published::default();
        assert_eq!(publish_merged(&config, &store, &published).unwrap(), 5);
        assert!(text(&published, "feed.atom").contains("Rizospastis first"));
        assert!(published.get("parties/kke.atom").is_none() && !config.daemon.output_dir.join("feed.atom").exists());
        let kke = PartyId::parse("kke").unwrap();
        let rendered = published.render_missing(&Scope::Party(kke.clone()), Format::Atom).unwrap().unwrap();
        assert!(String::from_utf8_lossy(&rendered.bytes).contains("Rizospastis first"));
        let unknown = PartyId::parse("nobody").unwrap();
        assert!(published.render_missing(&Scope::Party(unknown), Format::Atom).is_none(), "no such party: nothing to render");
        assert!(published.render_missing(&Scope::Language("fr".into()), Format::Rss).is_none(), "no entry in French");
        // The full publish that follows renders and writes everything.
        assert_eq!(publish_all(&config, &store, &published).unwrap(), 29);
        assert!(published.is_complete());
        // A request that missed the document just before the publish finished gets the published one.
        let late = published.render_missing(&Scope::Party(kke), Format::Atom).unwrap().unwrap();
        assert_eq!(Some(late.etag), published.get("parties/kke.atom").map(|d| d.etag));
        assert!(published.render_missing(&Scope::Party(PartyId::parse("nobody").unwrap()), Format::Atom).is_none());
        assert!(config.daemon.output_dir.join("parties/kke.atom").exists());
    }

    #[test]
    fn party_documents_are_served_from_their_files_within_a_memory_budget() {
        let dir = tempfile::tempdir().unwrap();
        let (mut config, store) = two_parties(dir.path());
        let published = Published::default();
        publish_all(&config, &store, &published).unwrap();
        assert!(published.docs.read().unwrap().contains_key("feed.atom"), "the merged feed is in memory");
        assert!(!published.docs.read().unwrap().contains_key("parties/kke.atom"), "a party's feed is not");
        let file = std::fs::read(config.daemon.output_dir.join("parties/kke.atom")).unwrap();
        let served = published.get("parties/kke.atom").unwrap();
        assert_eq!(served.bytes.as_ref(), file.as_slice(), "served as written");
        assert_eq!(Some(served.etag.clone()), published.etag("parties/kke.atom"), "with the ETag of the publish");
        let gzip = served.gzip();
        // The compressed copy is kept for the next request; the bytes are not.
        let again = published.get("parties/kke.atom").unwrap();
        assert_eq!(again.gzip.get(), Some(&gzip), "the next request finds the compressed copy made");
        assert_eq!(again.bytes.as_ref(), file.as_slice());
        let read_back = published.read_back.lock().unwrap();
        assert_eq!(read_back.copies.len(), 1);
        assert!(read_back.copies.iter().map(|(_, c)| c.weight()).sum::<usize>() < gzip.len() + 200, "only the copy is held");
        drop(read_back);

        // A budget of nothing keeps nothing, and still serves everything.
        config.daemon.document_cache_bytes = 0;
        store_one(&config, &store, "kke", "Rizospastis second", 3);
        publish_all(&config, &store, &published).unwrap();
        assert!(String::from_utf8_lossy(&published.get("parties/kke.atom").unwrap().bytes).contains("Rizospastis second"));
        assert!(String::from_utf8_lossy(&published.get("parties/kke.json").unwrap().bytes).contains("Rizospastis second"));
        assert_eq!(published.read_back.lock().unwrap().copies.len(), 0);

        // A file removed behind Plenum's back: not found now, written again at the next publish.
        std::fs::remove_file(config.daemon.output_dir.join("parties/pcp.rss")).unwrap();
        assert!(published.get("parties/pcp.rss").is_none());
        publish_all(&config, &store, &published).unwrap();
        assert!(published.get("parties/pcp.rss").is_some() && config.daemon.output_dir.join("parties/pcp.rss").exists());
    }

    #[test]
    fn changes_a_failed_publish_took_are_published_next_time() {
        let dir = tempfile::tempdir().unwrap();
        let config = load(dir.path(), "Wire");
        let store = Store::open(&config.daemon.data_dir).unwrap();
        store_one(&config, &store, "pcp", "Avante first", 1);
        let published = Published::default();
        publish_all(&config, &store, &published).unwrap();
        store_one(&config, &store, "kke", "Rizospastis first", 2);
        // The output directory cannot be written: the documents are still served from memory…
        std::fs::rename(&config.daemon.output_dir, dir.path().join("moved")).unwrap();
        std::fs::write(&config.daemon.output_dir, "a file where the directory was").unwrap();
        assert!(publish_all(&config, &store, &published).is_err());
        assert!(text(&published, "parties/kke.atom").contains("Rizospastis first"));
        // …and once it can, nothing is missing from the files.
        std::fs::remove_file(&config.daemon.output_dir).unwrap();
        std::fs::rename(dir.path().join("moved"), &config.daemon.output_dir).unwrap();
        publish_all(&config, &store, &published).unwrap();
        let file = std::fs::read_to_string(config.daemon.output_dir.join("parties/kke.atom")).unwrap();
        assert!(file.contains("Rizospastis first"), "{file}");
    }
}
