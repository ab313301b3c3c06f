//! Retention: removing old entries, with every index row that points at
//! them, in bounded batches, while polls go on writing.
//!
//! Two rules, either or both ([`RetentionPolicy`]):
//! - **age**: entries published before `now - max_age` go;
//! - **count**: a party keeps its newest `max_entries_per_party`.
//!
//! Each entry goes in one transaction over every tree that names it
//! (`entries`, `by_time`, `by_party`, `aliases`, `by_language`,
//! `entry_language`, `language_pending`), and only if it still sits where
//! the index said when the batch was read: an entry a poll re-dated
//! meanwhile is left for the next run. Nothing holds a lock across a
//! batch, so polls interleave with pruning.
//!
//! Sources keep listing items after Plenum has pruned them (a quiet
//! party's feed may span a year). So that they do not come back as new,
//! pruning leaves a mark the upsert checks: the age rule's cutoff (the
//! *fence*, in `meta`, honoured for [`FENCE_LIFETIME`] after the prune that
//! set it, so turning retention off lifts it), and for the count rule a
//! tombstone per entry (`pruned`), kept for [`TOMBSTONE_LIFETIME`].

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use super::{alias_key, decode_entry, party_key, sortable_time, time_key, Store, StoreError};
use crate::normalize::Entry;

/// Entries removed per batch: the most one pass holds in memory.
pub const PRUNE_BATCH: usize = 256;
/// How long the age rule's cutoff keeps old items out after the prune that set it.
pub const FENCE_LIFETIME: Duration = Duration::days(8);
/// How long an entry pruned by the count rule is kept out.
pub const TOMBSTONE_LIFETIME: Duration = Duration::days(90);

/// What to keep. The default keeps everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Entries published longer ago than this are removed.
    pub max_age: Option<Duration>,
    /// Each party keeps at most this many entries, the newest.
    pub max_entries_per_party: Option<usize>,
}

impl RetentionPolicy {
    /// True when the policy removes anything at all.
    pub fn is_active(&self) -> bool {
        self.max_age.is_some() || self.max_entries_per_party.is_some()
    }
}

/// What one [`Store::prune`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneReport {
    /// Entries removed for their age.
    pub by_age: usize,
    /// Entries removed because their party had too many.
    pub by_count: usize,
    /// Entries removed, per party id.
    pub per_party: BTreeMap<String, usize>,
    /// Index rows found pointing at no entry, removed.
    pub dangling_rows: usize,
    /// Tombstones past their lifetime, removed.
    pub tombstones_expired: usize,
    /// Transactions' batches run.
    pub batches: usize,
    /// Entries left in the store.
    pub remaining: usize,
}

impl PruneReport {
    /// Entries removed by either rule.
    pub fn pruned(&self) -> usize {
        self.by_age + self.by_count
    }
}

/// Why an entry is being removed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rule {
    Age,
    Count,
}

impl Store {
    /// Removes what `policy` does not keep, as of `now`, in batches of
    /// [`PRUNE_BATCH`]; safe while polls write. Cheap when nothing is due:
    /// one seek for the age rule, one count per party for the other.
    pub fn prune(&self, policy: &RetentionPolicy, now: DateTime<Utc>) -> Result<PruneReport, StoreError> {
        let mut report = PruneReport::default();
        let cutoff = policy.max_age.map(|age| now - age);
        match cutoff {
            Some(cutoff) => {
                let mut fence = sortable_time(cutoff).to_vec();
                fence.extend_from_slice(&sortable_time(now));
                self.meta.insert("retention_fence", fence)?;
                let end = sortable_time(cutoff).to_vec();
                let mut from: Vec<u8> = Vec::new();
                loop {
                    let batch: Vec<Vec<u8>> = self
                        .by_time
                        .range(from.clone()..end.clone())
                        .keys()
                        .take(PRUNE_BATCH)
                        .map(|k| k.map(|k| k.to_vec()))
                        .collect::<Result<_, _>>()?;
                    let Some(last) = batch.last() else { break };
                    from = last.clone();
                    from.push(0);
                    report.batches += 1;
                    for row in &batch {
                        self.remove_at(row, 0, Rule::Age, now, &mut report)?;
                    }
                }
            }
            None => {
                self.meta.remove("retention_fence")?;
            }
        }
        if let Some(keep) = policy.max_entries_per_party {
            for party in self.parties()? {
                let mut prefix = party.into_bytes();
                prefix.push(0);
                let excess = self.by_party.scan_prefix(&prefix).count().saturating_sub(keep);
                let mut done = 0;
                let mut from = prefix.clone();
                while done < excess {
                    let want = (excess - done).min(PRUNE_BATCH);
                    let batch: Vec<Vec<u8>> = self
                        .by_party
                        .range(from.clone()..)
                        .keys()
                        .take_while(|k| k.as_ref().map_or(true, |k| k.starts_with(&prefix)))
                        .take(want)
                        .map(|k| k.map(|k| k.to_vec()))
                        .collect::<Result<_, _>>()?;
                    let Some(last) = batch.last() else { break };
                    from = last.clone();
                    from.push(0);
                    report.batches += 1;
                    done += batch.len();
                    for row in &batch {
                        self.remove_at(row, prefix.len(), Rule::Count, now, &mut report)?;
                    }
                }
            }
        }
        self.expire_tombstones(cutoff, now, &mut report)?;
        self.sweep_dangling(&mut report)?;
        report.remaining = self.len();
        Ok(report)
    }

    /// True when `entry` (not stored under any key) was pruned and must not
    /// come back: behind a fresh age fence, or tombstoned.
    pub(super) fn was_pruned(&self, entry: &Entry, now: DateTime<Utc>) -> Result<bool, StoreError> {
        if let Some(fence) = self.meta.get("retention_fence")? {
            if let (Some(cutoff), Some(set_at)) = (fence.get(..8), fence.get(8..16)) {
                let fresh = set_at > sortable_time(now - FENCE_LIFETIME).as_slice();
                if fresh && sortable_time(entry.published).as_slice() < cutoff {
                    return Ok(true);
                }
            }
        }
        Ok(self.pruned.contains_key(entry.key.as_str())?)
    }

    /// Every party with at least one entry, by seeking from one to the next.
    fn parties(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(row) = self.by_party.range(from.clone()..).keys().next() {
            let row = row?;
            let Some(end) = row.iter().position(|b| *b == 0) else { break };
            let party = row[..end].to_vec();
            out.push(String::from_utf8_lossy(&party).into_owned());
            from = party;
            from.push(1);
        }
        Ok(out)
    }

    /// Removes the entry an index row (`skip` bytes of prefix, then
    /// `published ‖ key`) points at, with all its rows, if it is still there.
    fn remove_at(&self, row: &[u8], skip: usize, rule: Rule, now: DateTime<Utc>, report: &mut PruneReport) -> Result<(), StoreError> {
        let Some(position) = row.get(skip..) else { return Ok(()) };
        let Some(key) = position.get(8..) else { return Ok(()) };
        self.unmark_published()?;
        let mut count = self.lock_entry_count();
        let trees = (
            &self.entries,
            &self.by_time,
            &self.by_party,
            &self.aliases,
            &self.by_language,
            &self.entry_language,
            &self.language_pending,
            &self.pruned,
        );
        let outcome: Result<Option<(Entry, Option<sled::IVec>)>, TransactionError<StoreError>> =
            trees.transaction(|(entries, by_time, by_party, aliases, by_language, entry_language, pending, pruned)| {
                let Some(bytes) = entries.get(key)? else {
                    // A row for an entry that is gone: drop the row.
                    if skip == 0 {
                        by_time.remove(row)?;
                    } else {
                        by_party.remove(row)?;
                    }
                    return Ok(None);
                };
                let entry: Entry = decode_entry(&bytes, &String::from_utf8_lossy(key)).map_err(ConflictableTransactionError::Abort)?;
                if time_key(&entry).as_slice() != position {
                    return Ok(None); // re-dated since the batch was read
                }
                entries.remove(key)?;
                by_time.remove(time_key(&entry))?;
                by_party.remove(party_key(&entry))?;
                if let Some(link) = &entry.canonical_link {
                    let alias = alias_key(entry.party.as_str(), link);
                    if aliases.get(alias.as_slice())?.is_some_and(|holder| holder.as_ref() == key) {
                        aliases.remove(alias)?;
                    }
                }
                let language_row = entry_language.remove(key)?;
                if let Some(row) = &language_row {
                    by_language.remove(row)?;
                }
                pending.remove(key)?;
                if rule == Rule::Count {
                    let mut stone = sortable_time(entry.published).to_vec();
                    stone.extend_from_slice(&sortable_time(now));
                    pruned.insert(key, stone)?;
                }
                Ok(Some((entry, language_row)))
            });
        let removed = outcome.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => StoreError::Io(e),
        })?;
        if let (Some(n), Some(_)) = (count.as_mut(), &removed) {
            *n = n.saturating_sub(1);
        }
        drop(count);
        match removed {
            Some((entry, language_row)) => {
                self.changes.note_party(&entry.party);
                if let Some(row) = language_row {
                    self.changes.note_language_row(&row);
                }
                match rule {
                    Rule::Age => report.by_age += 1,
                    Rule::Count => report.by_count += 1,
                }
                *report.per_party.entry(entry.party.to_string()).or_default() += 1;
            }
            None if self.entries.get(key)?.is_none() => report.dangling_rows += 1,
            None => {}
        }
        Ok(())
    }

    /// Drops tombstones older than [`TOMBSTONE_LIFETIME`], or behind the age
    /// cutoff (the fence keeps those entries out now).
    fn expire_tombstones(&self, cutoff: Option<DateTime<Utc>>, now: DateTime<Utc>, report: &mut PruneReport) -> Result<(), StoreError> {
        let expired_before = sortable_time(now - TOMBSTONE_LIFETIME);
        let cutoff = cutoff.map(sortable_time);
        let mut expired = Vec::new();
        for row in self.pruned.iter() {
            let (key, stone) = row?;
            let published = stone.get(..8).unwrap_or_default();
            let pruned_at = stone.get(8..16).unwrap_or_default();
            if pruned_at < expired_before.as_slice() || cutoff.is_some_and(|c| published < c.as_slice()) {
                expired.push(key);
            }
        }
        for batch in expired.chunks(PRUNE_BATCH) {
            let mut removal = sled::Batch::default();
            for key in batch {
                removal.remove(key);
            }
            self.pruned.apply_batch(removal)?;
            report.tombstones_expired += batch.len();
        }
        Ok(())
    }

    /// Link and language rows whose entry is gone (the publisher can file a
    /// language just after pruning removed its entry). Compare-and-swap, so
    /// a row a poll just re-pointed stays.
    fn sweep_dangling(&self, report: &mut PruneReport) -> Result<(), StoreError> {
        for row in self.aliases.iter() {
            let (alias, holder) = row?;
            if !self.entries.contains_key(&holder)? && self.aliases.compare_and_swap(&alias, Some(&holder), None as Option<&[u8]>)?.is_ok()
            {
                report.dangling_rows += 1;
            }
        }
        for row in self.entry_language.iter() {
            let (key, language_row) = row?;
            if !self.entries.contains_key(&key)?
                && self.entry_language.compare_and_swap(&key, Some(&language_row), None as Option<&[u8]>)?.is_ok()
            {
                self.by_language.remove(&language_row)?;
                report.dangling_rows += 1;
            }
        }
        Ok(())
    }
}
