//! Replacing the whole catalog with a document (a snapshot, the merged files).

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::{Arc, LazyLock};

use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};
use serde_json::Value;
use tollgate_enforcer::model::{Policy, PolicyKind, PolicyName};

use super::set::{Admitted, Candidate, Diff, Provenance, Uniqueness};
use super::{Catalog, EntitySet, KindFn, Sets, Stored, for_each_kind, is_builtin, policy_exists, with_kind};
use crate::dto::{Document, RawEntity};
use crate::kind::ByKind;
use crate::rejected::{EntityKind, Rejected};
use crate::validate::{Entity, EntityError, FieldError, Problem, ValidationSettings, decode, decode_text};

/// The order in which a document's kinds are validated: policies first, so that references
/// resolve against the new ones (they are replaced before the others, see
/// [`Catalog::replace`]); then the rest, which decides the order of the rejections.
const REPLACE_ORDER: [EntityKind; 6] = [
    EntityKind::Api,
    EntityKind::Application,
    EntityKind::Subscription,
    EntityKind::KeyMapping,
    EntityKind::KeyManager,
    EntityKind::RevokedToken,
];

/// What replacing the catalog with a document did.
#[derive(Debug)]
pub(crate) struct Replaced {
    /// Every rejection, the document's own `errors` first.
    pub(crate) rejected: Vec<Rejected>,
    /// What changed, by kind, against what the catalog held before.
    pub(crate) diff: ByKind<Diff>,
}

// === impl Catalog ===

impl Catalog {
    /// Replaces the desired state with `document`. Each entity is validated on its own; a
    /// rejected one keeps its previous version when it had one (and that version still
    /// fits). Policies come first, so references resolve against the new ones; a policy the
    /// document drops while a kept entity still references it stays, and is reported.
    /// Returns every rejection, the document's own `errors` first.
    pub fn replace(&mut self, document: &Document) -> Vec<Rejected> {
        self.replace_at(document, 0).rejected
    }

    /// [`Catalog::replace`] at `now` (Unix seconds), also counting what changed. Revocations
    /// that expired by `now` are left out before comparing: a set that still lists one is
    /// not a change.
    pub(crate) fn replace_at(&mut self, document: &Document, now: u64) -> Replaced {
        let mut rejected = document.errors.clone();
        let skipped_event_types = std::mem::take(&mut self.skipped_event_types);
        let mut next = Catalog { skipped_event_types, ..Catalog::with_settings(self.settings) };
        let any_policy = Known { policy: &|_, _| true, settings: self.settings };
        let policies = replace_set(self.set::<Policy>(), document, &any_policy, &mut rejected);
        let policy = |kind: PolicyKind, name: &str| policy_exists(&policies, kind, name);
        let known = Known { policy: &policy, settings: self.settings };
        let mut each = ReplaceKind {
            previous: &self.sets,
            next: &mut next.sets,
            document,
            known: &known,
            rejected: &mut rejected,
        };
        for_each_kind(&REPLACE_ORDER, &mut each);
        *next.set_mut::<Policy>() = policies;
        next.keep_referenced_policies(self.set::<Policy>(), &mut rejected);
        next.prune_revocations(now);
        let diff = ByKind::from_fn(|kind| {
            with_kind(kind, &mut Settle { next: &mut next.sets, previous: &self.sets }).unwrap_or_default()
        });
        next.outstanding = rejected.iter().map(|r| ((r.entity, r.id.clone()), r.clone())).collect();
        *self = next;
        Replaced { rejected, diff }
    }

    /// The first entity that references `policy`, as (kind, display id).
    pub(super) fn first_reference(&self, policy: &PolicyName) -> Option<(EntityKind, String)> {
        let other = |kind: PolicyKind, name: &str| kind != policy.kind || name != &*policy.name;
        let mut find = FirstReference { sets: &self.sets, other: &other };
        EntityKind::ENTITIES.into_iter().find_map(|kind| with_kind(kind, &mut find).flatten())
    }

    fn keep_referenced_policies(&mut self, previous: &EntitySet<Policy>, rejected: &mut Vec<Rejected>) {
        for old in previous.values() {
            let key = old.key();
            if self.set::<Policy>().contains(&key) || is_builtin(old.id.kind, &old.id.name) {
                continue;
            }
            if let Some((kind, id)) = self.first_reference(&old.id) {
                // Policies have no unique values besides their key: this cannot clash.
                self.set_mut::<Policy>().readmit(key.clone(), old.clone(), Provenance::default()).ok();
                let error = FieldError::entity(Problem::StillReferenced { kind, id });
                rejected.push(EntityError::new(EntityKind::Policy, key, error).into());
            }
        }
    }
}

/// Replaces the set of one kind with the document's.
struct ReplaceKind<'a> {
    previous: &'a Sets,
    next: &'a mut Sets,
    document: &'a Document,
    known: &'a Known<'a>,
    rejected: &'a mut Vec<Rejected>,
}

impl KindFn for ReplaceKind<'_> {
    type Output = ();
    fn call<T: Stored>(&mut self) {
        *T::set_mut(self.next) = replace_set(T::set(self.previous), self.document, self.known, self.rejected);
    }
}

/// Settles the new set of one kind against the one it replaces; counts what changed.
struct Settle<'a> {
    next: &'a mut Sets,
    previous: &'a Sets,
}

impl KindFn for Settle<'_> {
    type Output = Diff;
    fn call<T: Stored>(&mut self) -> Diff {
        T::set_mut(self.next).settle_against(T::set(self.previous))
    }
}

/// The first entity of one kind that references a policy `other` does not accept.
struct FirstReference<'a> {
    sets: &'a Sets,
    other: &'a dyn Fn(PolicyKind, &str) -> bool,
}

impl KindFn for FirstReference<'_> {
    type Output = Option<(EntityKind, String)>;
    fn call<T: Stored>(&mut self) -> Self::Output {
        first_reference(T::set(self.sets), self.other)
    }
}

/// What an entity is checked against besides itself, shared by the validating threads: which
/// policies exist, and the gateway's side of validation.
pub(super) struct Known<'a> {
    pub(super) policy: &'a (dyn Fn(PolicyKind, &str) -> bool + Sync + 'a),
    pub(super) settings: ValidationSettings,
}

/// Documents with at least this many entities of a kind are validated on several threads.
const PARALLEL_THRESHOLD: usize = 512;
const MAX_WORKERS: usize = 4;

/// The validating threads: long-lived, so that the memory they allocate entities from is
/// reused by the next build (threads spawned per build each started an empty allocator
/// heap: fresh pages, and heaps left behind). `None` if the threads cannot be started.
static VALIDATORS: LazyLock<Option<ThreadPool>> = LazyLock::new(|| {
    let workers = std::thread::available_parallelism().map_or(1, NonZeroUsize::get).min(MAX_WORKERS);
    let pool = ThreadPoolBuilder::new().num_threads(workers).thread_name(|i| format!("tollgate-validate-{i}")).build();
    pool.inspect_err(|error| tracing::warn!(%error, "validating on one thread")).ok().filter(|_| workers > 1)
});

/// Builds the new set of one kind from the document, in document order.
fn replace_set<T: Stored>(
    previous: &EntitySet<T>,
    document: &Document,
    known: &Known<'_>,
    rejected: &mut Vec<Rejected>,
) -> EntitySet<T> {
    let raws = document.entities(T::KIND);
    let mut next = EntitySet::with_capacity(raws.len());
    let mut seen = HashSet::with_capacity_and_hasher(raws.len(), foldhash::fast::RandomState::default());
    for (i, (raw, (claimed, checked))) in raws.iter().zip(check_all(previous, raws, known)).enumerate() {
        let duplicate = claimed.as_ref().is_some_and(|key| !seen.insert(key.clone()));
        let result = match (duplicate, checked) {
            (true, _) => Err(FieldError::entity(Problem::Duplicate)),
            (false, Checked::Unchanged(key, entity)) => match check_against(&*entity, known) {
                Ok(()) => next.readmit(key, entity, provenance(raw)),
                Err(error) => Err(error),
            },
            (false, Checked::Decoded(result)) => result
                .and_then(|candidate| next.admit(candidate, Uniqueness::Strict))
                .map(|admitted| next.upsert_from(admitted, previous, provenance(raw))),
        };
        let Err(error) = result else { continue };
        let locator = || format!("{}[{i}]", T::KIND.array_name());
        rejected.push(rejection::<T>(claimed.as_deref(), locator, error, raw.origin.as_deref()));
        if let (false, Some(key)) = (duplicate, claimed) {
            keep_previous(&mut next, previous, key);
        }
    }
    next
}

fn provenance(raw: &RawEntity) -> Provenance {
    Provenance { source: raw.source(), origin: raw.origin.clone() }
}

/// One raw entity, checked on its own.
enum Checked<T> {
    /// The previous set holds an entity validated from this very value: no decoding.
    Unchanged(String, Arc<T>),
    /// Decoded and validated (the rules that need no other entity of its kind), with its
    /// key and unique values.
    Decoded(Result<Candidate<T>, FieldError>),
}

/// Checks every raw entity on its own, returning the key each claims. This is the bulk of a
/// build and independent per entity, so large documents are spread over the
/// [`VALIDATORS`]; results keep document order.
fn check_all<T: Stored>(
    previous: &EntitySet<T>,
    raws: &[RawEntity],
    known: &Known<'_>,
) -> Vec<(Option<String>, Checked<T>)> {
    let check = |raw: &RawEntity| check(previous, raw, known);
    // The threshold first: a small document never starts the threads.
    let pool = (raws.len() >= PARALLEL_THRESHOLD).then(|| VALIDATORS.as_ref()).flatten();
    match pool {
        Some(pool) => pool.install(|| raws.par_iter().with_min_len(PARALLEL_THRESHOLD / 8).map(check).collect()),
        None => raws.iter().map(check).collect(),
    }
}

fn check<T: Stored>(previous: &EntitySet<T>, raw: &RawEntity, known: &Known<'_>) -> (Option<String>, Checked<T>) {
    // A text decodes straight into its wire type. Anything else (values, and a text that
    // fails to decode or validate, to name what failed) goes through a value, parsed here on
    // the validating thread and dropped right after.
    if let Some(Ok(entity)) = raw.text().and_then(|text| decode_text::<T>(text)) {
        let candidate = Candidate::new(entity);
        let key = candidate.key().to_owned();
        return (Some(key), Checked::Decoded(check_against(candidate.entity(), known).map(|()| candidate)));
    }
    let value = match raw.value() {
        Ok(value) => value,
        Err(error) => return (None, Checked::Decoded(Err(FieldError::entity(Problem::Decode(error.to_string()))))),
    };
    let claimed = T::raw_key(&value);
    let unchanged = claimed.as_deref().and_then(|key| previous.built_from(key, raw));
    let checked = match (unchanged, &claimed) {
        (Some(entity), Some(key)) => Checked::Unchanged(key.clone(), entity.clone()),
        (Some(_) | None, _) => Checked::Decoded(validate(&value, known).map(Candidate::new)),
    };
    (claimed, checked)
}

fn validate<T: Stored>(raw: &Value, known: &Known<'_>) -> Result<T, FieldError> {
    let entity: T = decode(raw)?;
    check_against(&entity, known)?;
    Ok(entity)
}

/// The checks of `entity` that need more than itself: the gateway's settings, then its policy
/// references.
fn check_against<T: Entity>(entity: &T, known: &Known<'_>) -> Result<(), FieldError> {
    entity.check_settings(&known.settings)?;
    entity.check_policies(known.policy)
}

/// Decodes, validates and checks one entity against the set it would join.
pub(super) fn admit<T: Stored>(
    set: &EntitySet<T>,
    raw: &Value,
    known: &Known<'_>,
    uniqueness: Uniqueness,
) -> Result<Admitted<T>, FieldError> {
    set.admit(Candidate::new(validate(raw, known)?), uniqueness)
}

/// The rejection of one entity, named by its key or else by `locator` (`apis[3]`), its
/// message prefixed by the file it came from.
pub(super) fn rejection<T: Entity>(
    key: Option<&str>,
    locator: impl FnOnce() -> String,
    error: FieldError,
    origin: Option<&str>,
) -> Rejected {
    let id = key.map_or_else(locator, T::display_key);
    let rejected = Rejected::from(EntityError::new(T::KIND, id, error));
    match origin {
        Some(origin) => rejected.located(origin),
        None => rejected,
    }
}

/// Keeps the previous version of a rejected entity, unless an earlier entity of the
/// document now holds its key or one of its unique values (then it goes too).
fn keep_previous<T: Entity>(next: &mut EntitySet<T>, previous: &EntitySet<T>, key: String) {
    let Some(old) = previous.get(&key) else { return };
    if !next.contains(&key) {
        next.readmit(key, old.clone(), Provenance::default()).ok();
    }
}

fn first_reference<T: Entity>(
    set: &EntitySet<T>,
    other: &dyn Fn(PolicyKind, &str) -> bool,
) -> Option<(EntityKind, String)> {
    let entity = set.values().find(|entity| entity.check_policies(other).is_err())?;
    Some((T::KIND, T::display_key(&entity.key())))
}
