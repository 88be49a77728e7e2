//! The trigger index: connector type → hashed equality values → residual predicates.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt,
    hash::{BuildHasher, BuildHasherDefault, Hasher},
    sync::{Arc, Mutex},
};

use arc_swap::ArcSwap;
use herald_core::Segment;
use serde_json::Value;

use crate::{
    compile::{Cmp, CompiledFilter, Leaf, Node, Test, lookup},
    value::{self, Kind, Scalar},
};

/// A trigger's id, as the registry contract numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TriggerId(pub u64);

impl fmt::Display for TriggerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The paths (and how to read them) whose values form an index key.
type Signature = Arc<[(Arc<[Segment]>, Kind)]>;

/// One trigger as the index holds it.
#[derive(Debug)]
struct Entry {
    id: TriggerId,
    connector: Arc<str>,
    /// What is left to check once the key matched (or the whole filter, for unkeyed triggers).
    residual: Node,
    /// The signature and key it is filed under; `None` when it has no equality predicate to key on.
    key: Option<(Signature, Box<[Scalar]>)>,
    paused: bool,
}

impl Entry {
    fn has_key(&self, key: &[&Scalar]) -> bool {
        self.key
            .as_ref()
            .is_some_and(|(_, k)| k.len() == key.len() && k.iter().zip(key).all(|(a, b)| a == *b))
    }
}

/// Hashing for keys: fast, and seeded the same in every process so shard choice is reproducible.
type KeyHasher = foldhash::fast::FixedState;

/// The shard maps are keyed by the key's 64-bit foldhash, which is already well mixed.
#[derive(Default)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 hashes are ever written; fold anything else in rather than lose it.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Shard = HashMap<u64, Bucket, BuildHasherDefault<PreHashed>>;

/// Number of shards per signature. An update copies one shard, so 64 shards make an update cost
/// about 1/64 of the signature's triggers, while a lookup stays one hash and one probe.
const SHARDS: usize = 64;

/// Triggers whose keys hash alike, in ascending id order; each entry carries its own key, which is
/// compared on lookup (so a hash collision costs a comparison, never a wrong match). Most keys name
/// one trigger, which is kept inline: one pointer hop fewer on the hot path.
#[derive(Clone, Debug)]
enum Bucket {
    One(Arc<Entry>),
    Many(Arc<[Arc<Entry>]>),
}

impl Bucket {
    fn entries(&self) -> &[Arc<Entry>] {
        match self {
            Bucket::One(entry) => std::slice::from_ref(entry),
            Bucket::Many(entries) => entries,
        }
    }

    fn from_vec(mut entries: Vec<Arc<Entry>>) -> Option<Self> {
        match entries.len() {
            0 => None,
            1 => entries.pop().map(Bucket::One),
            _ => Some(Bucket::Many(entries.into())),
        }
    }
}

/// Triggers of one signature, by key hash, in copy-on-write shards.
#[derive(Clone, Debug)]
struct Keyed {
    signature: Signature,
    /// For each path of the signature, its index in the connector's shared reads.
    slots: Box<[usize]>,
    shards: Vec<Arc<Shard>>,
    len: usize,
}

impl Keyed {
    fn new(signature: Signature) -> Self {
        let empty = Arc::new(Shard::default());
        Self {
            signature,
            slots: Box::new([]),
            shards: vec![empty; SHARDS],
            len: 0,
        }
    }

    /// Hashes like `[Scalar]` whether given owned or borrowed scalars (slices hash their length,
    /// then each element, and `&T` hashes as `T`).
    fn hash<K: std::hash::Hash + ?Sized>(key: &K) -> u64 {
        KeyHasher::default().hash_one(key)
    }

    fn get(&self, key: &[&Scalar]) -> Option<&Bucket> {
        let hash = Self::hash(key);
        self.shards[(hash % SHARDS as u64) as usize].get(&hash)
    }

    fn insert(&mut self, key: &[Scalar], entry: Arc<Entry>) {
        let hash = Self::hash(key);
        let shard = Arc::make_mut(&mut self.shards[(hash % SHARDS as u64) as usize]);
        let mut entries: Vec<Arc<Entry>> = shard
            .get(&hash)
            .map(|b| {
                b.entries()
                    .iter()
                    .filter(|e| e.id != entry.id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let at = entries.partition_point(|e| e.id < entry.id);
        entries.insert(at, entry);
        if let Some(bucket) = Bucket::from_vec(entries) {
            shard.insert(hash, bucket);
        }
        self.len += 1;
    }

    fn remove(&mut self, key: &[Scalar], id: TriggerId) {
        let hash = Self::hash(key);
        let shard = Arc::make_mut(&mut self.shards[(hash % SHARDS as u64) as usize]);
        if let Some(bucket) = shard.get(&hash) {
            let entries: Vec<Arc<Entry>> = bucket
                .entries()
                .iter()
                .filter(|e| e.id != id)
                .cloned()
                .collect();
            if entries.len() != bucket.entries().len() {
                self.len -= 1;
            }
            match Bucket::from_vec(entries) {
                Some(bucket) => shard.insert(hash, bucket),
                None => shard.remove(&hash),
            };
        }
    }
}

/// The index of one connector type.
#[derive(Clone, Debug, Default)]
struct ConnectorIndex {
    keyed: Vec<Keyed>,
    /// Every distinct (path, kind) the signatures use, read once per event and shared by them.
    reads: Vec<(Arc<[Segment]>, Kind)>,
    /// Triggers with no equality predicate at the top level: checked for every event.
    unkeyed: imbl::OrdMap<TriggerId, Arc<Entry>>,
}

impl ConnectorIndex {
    /// Recomputes the shared reads after the set of signatures changed (rare: signatures are few).
    fn reindex_reads(&mut self) {
        self.reads.clear();
        for keyed in &mut self.keyed {
            keyed.slots = keyed
                .signature
                .iter()
                .map(|read| match self.reads.iter().position(|r| r == read) {
                    Some(i) => i,
                    None => {
                        self.reads.push(read.clone());
                        self.reads.len() - 1
                    }
                })
                .collect();
        }
    }
}

/// An immutable view of every trigger, which readers match against while writers publish the next.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    connectors: imbl::HashMap<Arc<str>, ConnectorIndex>,
    triggers: imbl::HashMap<TriggerId, Arc<Entry>>,
}

impl Snapshot {
    /// The active triggers of `connector` that `data` satisfies, in ascending id order.
    pub fn matches(&self, connector: &str, data: &Value) -> Vec<TriggerId> {
        let mut out = Vec::new();
        self.matches_into(connector, data, &mut out);
        out
    }

    /// Like [`Snapshot::matches`], appending to a caller's buffer to spare the allocation.
    pub fn matches_into(&self, connector: &str, data: &Value, out: &mut Vec<TriggerId>) {
        let start = out.len();
        let Some(index) = self.connectors.get(connector) else {
            return;
        };
        let values: Vec<Option<Scalar>> = index
            .reads
            .iter()
            .map(|(path, kind)| lookup(data, path).and_then(|v| value::read(v, *kind)))
            .collect();
        let mut key: Vec<&Scalar> = Vec::with_capacity(4);
        for keyed in &index.keyed {
            key.clear();
            let complete = keyed.slots.iter().all(|&slot| match &values[slot] {
                Some(scalar) => {
                    key.push(scalar);
                    true
                }
                None => false,
            });
            if !complete {
                continue;
            }
            if let Some(bucket) = keyed.get(&key) {
                out.extend(
                    bucket
                        .entries()
                        .iter()
                        .filter(|e| !e.paused && e.has_key(&key) && e.residual.eval(data))
                        .map(|e| e.id),
                );
            }
        }
        out.extend(
            index
                .unkeyed
                .values()
                .filter(|e| !e.paused && e.residual.eval(data))
                .map(|e| e.id),
        );
        // Each trigger sits in exactly one place, so sorting is all determinism needs.
        out[start..].sort_unstable();
    }

    /// How many triggers are indexed (paused ones included).
    pub fn len(&self) -> usize {
        self.triggers.len()
    }

    /// Whether no trigger is indexed.
    pub fn is_empty(&self) -> bool {
        self.triggers.is_empty()
    }

    /// Whether the trigger is indexed and paused.
    pub fn is_paused(&self, id: TriggerId) -> Option<bool> {
        self.triggers.get(&id).map(|e| e.paused)
    }

    fn insert(&mut self, entry: Arc<Entry>) {
        self.remove(entry.id);
        let index = self.connectors.entry(entry.connector.clone()).or_default();
        match &entry.key {
            None => {
                index.unkeyed.insert(entry.id, entry.clone());
            }
            Some((signature, key)) => {
                let keyed = match index.keyed.iter().position(|k| k.signature == *signature) {
                    Some(i) => &mut index.keyed[i],
                    None => {
                        index.keyed.push(Keyed::new(signature.clone()));
                        index.reindex_reads();
                        index.keyed.last_mut().expect("just pushed")
                    }
                };
                keyed.insert(key, entry.clone());
            }
        }
        self.triggers.insert(entry.id, entry);
    }

    fn remove(&mut self, id: TriggerId) -> Option<Arc<Entry>> {
        let entry = self.triggers.remove(&id)?;
        if let Some(index) = self.connectors.get_mut(&entry.connector) {
            match &entry.key {
                None => {
                    index.unkeyed.remove(&id);
                }
                Some((signature, key)) => {
                    if let Some(i) = index.keyed.iter().position(|k| k.signature == *signature) {
                        let keyed = &mut index.keyed[i];
                        keyed.remove(key, id);
                        if keyed.len == 0 {
                            index.keyed.remove(i);
                            index.reindex_reads();
                        }
                    }
                }
            }
            if index.keyed.is_empty() && index.unkeyed.is_empty() {
                self.connectors.remove(&entry.connector);
            }
        }
        Some(entry)
    }
}

/// The live trigger set: cheap snapshots for readers, serialised updates for writers.
#[derive(Default)]
pub struct Matcher {
    current: ArcSwap<Snapshot>,
    /// Held by writers; also the table of interned paths (distinct paths are few, so it only grows
    /// with new paths, never with new triggers).
    writer: Mutex<HashSet<Arc<[Segment]>>>,
}

impl Matcher {
    /// An empty matcher.
    pub fn new() -> Self {
        Self::default()
    }

    /// The current snapshot; hold it for as long as a consistent view is needed.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Adds a trigger, or replaces the one with the same id.
    pub fn insert(&self, id: TriggerId, connector: &str, filter: &CompiledFilter) {
        self.update(|s, paths| s.insert(Arc::new(entry(id, connector.into(), filter, paths))));
    }

    /// Removes a trigger; returns whether it was there.
    pub fn remove(&self, id: TriggerId) -> bool {
        let mut found = false;
        self.update(|s, _| found = s.remove(id).is_some());
        found
    }

    /// Pauses or resumes a trigger; returns whether it was there.
    pub fn set_paused(&self, id: TriggerId, paused: bool) -> bool {
        let mut found = false;
        self.update(|s, _| {
            if let Some(old) = s.triggers.get(&id).cloned() {
                found = true;
                if old.paused != paused {
                    s.insert(Arc::new(Entry {
                        id,
                        connector: old.connector.clone(),
                        residual: old.residual.clone(),
                        key: old.key.clone(),
                        paused,
                    }));
                }
            }
        });
        found
    }

    /// Applies many changes and publishes them as one snapshot (for loading a trigger set).
    pub fn insert_all<'a>(
        &self,
        triggers: impl IntoIterator<Item = (TriggerId, &'a str, &'a CompiledFilter)>,
    ) {
        self.update(|s, paths| {
            for (id, connector, filter) in triggers {
                s.insert(Arc::new(entry(id, connector.into(), filter, paths)));
            }
        });
    }

    fn update(&self, change: impl FnOnce(&mut Snapshot, &mut HashSet<Arc<[Segment]>>)) {
        let mut paths = self
            .writer
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut next = Snapshot::clone(&self.current.load());
        change(&mut next, &mut paths);
        self.current.store(Arc::new(next));
    }
}

/// Files a trigger under the equality predicates of its top-level conjunction, if it has any.
fn entry(
    id: TriggerId,
    connector: Arc<str>,
    filter: &CompiledFilter,
    paths: &mut HashSet<Arc<[Segment]>>,
) -> Entry {
    let paused = false;
    let root = filter.root.intern(paths);
    let mut anchors: BTreeMap<(Arc<[Segment]>, KindOrder), Scalar> = BTreeMap::new();
    let mut rest = Vec::new();
    let children: Vec<&Node> = match &root {
        Node::All(items) => items.iter().collect(),
        other => vec![other],
    };
    for child in children {
        match child {
            Node::Leaf(Leaf {
                path,
                test: Test::Cmp(Cmp::Eq, scalar),
                ..
            }) if !anchors.contains_key(&(path.clone(), KindOrder(scalar.kind()))) => {
                anchors.insert((path.clone(), KindOrder(scalar.kind())), scalar.clone());
            }
            other => rest.push(other.clone()),
        }
    }
    if anchors.is_empty() {
        return Entry {
            id,
            connector,
            residual: root,
            key: None,
            paused,
        };
    }
    let signature: Signature = anchors
        .keys()
        .map(|(path, kind)| (path.clone(), kind.0))
        .collect();
    let key: Box<[Scalar]> = anchors.into_values().collect();
    Entry {
        id,
        connector,
        residual: Node::All(rest),
        key: Some((signature, key)),
        paused,
    }
}

/// Orders kinds so that signatures are canonical (the same paths and kinds in the same order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct KindOrder(Kind);

impl Ord for KindOrder {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.0 as u8).cmp(&(other.0 as u8))
    }
}

impl PartialOrd for KindOrder {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
