//! Which partitions a processor claims in one load-balancing cycle: a pure function of the
//! ownerships the store listed, the hub's partitions, this processor's id, the time, the
//! strategy and a random source — no I/O, so every rule is tested directly.
//!
//! The rules (docs/PROCESSOR.md in the repository tells the story): an ownership is *active*
//! when it names an owner and was written within the expiration; each of the `N` active
//! owners (this processor included) is due `P / N` partitions, and `P % N` of them one more.
//! A processor renews everything it owns, claims what nobody actively owns, and steals only
//! from owners above their share — one partition per cycle when balanced, up to its share
//! when greedy, each pick uniformly at random.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use crate::checkpoint_store::Ownership;

/// How fast a processor takes partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoadBalancingStrategy {
    /// At most one new partition per cycle (the default): processors joining together
    /// spread the partitions evenly, with few contested claims.
    #[default]
    Balanced,
    /// As many partitions as its share in one cycle: faster to start, more contention.
    Greedy,
}

/// What a cycle decided.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Plan {
    /// Ownerships this processor holds and renews (as listed, with their etags).
    pub renew: Vec<Ownership>,
    /// Ownerships to take over: unowned, expired, released, or stolen (as listed, with the
    /// etag to replace; a partition with no ownership yet has none).
    pub claim: Vec<Ownership>,
}

/// The view of the world one cycle works from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cycle<'a> {
    /// Everything the store listed for the consumer group.
    pub ownerships: &'a [Ownership],
    /// The hub's partition ids.
    pub partitions: &'a [String],
    /// This processor's owner id.
    pub me: &'a str,
    /// Now, by the store's clock.
    pub now: SystemTime,
    /// How long an unrenewed ownership stays active.
    pub expiration: Duration,
    /// The strategy.
    pub strategy: LoadBalancingStrategy,
    /// Names for ownerships of partitions that have none yet: namespace, hub, group.
    pub scope: (&'a str, &'a str, &'a str),
}

impl Cycle<'_> {
    /// Active ownerships of known partitions, by partition.
    fn active(&self) -> BTreeMap<&str, &Ownership> {
        let known: BTreeSet<&str> = self.partitions.iter().map(String::as_str).collect();
        self.ownerships
            .iter()
            .filter(|o| known.contains(o.partition_id.as_str()))
            .filter(|o| !o.owner_id.is_empty())
            .filter(|o| {
                // A claim written "in the future" (clock skew) counts as fresh.
                self.now
                    .duration_since(o.last_modified_time)
                    .map_or(true, |age| age <= self.expiration)
            })
            .map(|o| (o.partition_id.as_str(), o))
            .collect()
    }

    /// The ownership to claim `partition` with: the listed record (its etag) or a new one.
    fn claim_of(&self, partition: &str) -> Ownership {
        let listed = self
            .ownerships
            .iter()
            .find(|o| o.partition_id == partition)
            .cloned();
        let (ns, hub, group) = self.scope;
        let mut o = listed.unwrap_or_else(|| Ownership::new(ns, hub, group, partition, "", None));
        o.owner_id = self.me.to_owned();
        o
    }
}

/// Plans one cycle. `rng` makes every random choice, so a seeded one gives a reproducible
/// plan.
pub(crate) fn plan(cycle: &Cycle<'_>, rng: &mut fastrand::Rng) -> Plan {
    let active = cycle.active();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    counts.insert(cycle.me, 0);
    for o in active.values() {
        *counts.entry(o.owner_id.as_str()).or_default() += 1;
    }
    let renew: Vec<Ownership> = active
        .values()
        .filter(|o| o.owner_id == cycle.me)
        .map(|o| (*o).clone())
        .collect();
    let partitions = cycle.partitions.len();
    let owners = counts.len();
    let share = partitions / owners;
    let extra = partitions % owners;
    let mine = renew.len();
    // One more than the share only for a processor that already has its share; whether one
    // of the `extra` slots is free shows in what is claimable or held above the maximum.
    let max_allowed = if extra > 0 && mine >= share {
        share + 1
    } else {
        share
    };
    let wanted = max_allowed.saturating_sub(mine);
    let mut plan = Plan {
        renew,
        claim: Vec::new(),
    };
    if wanted == 0 {
        return plan;
    }
    let mut claimable: Vec<&str> = cycle
        .partitions
        .iter()
        .map(String::as_str)
        .filter(|p| !active.contains_key(p))
        .collect();
    let budget = match cycle.strategy {
        LoadBalancingStrategy::Balanced => 1,
        LoadBalancingStrategy::Greedy => wanted,
    };
    while plan.claim.len() < budget {
        let pick = if claimable.is_empty() {
            // Steal: only from an owner still above the maximum after earlier steals.
            let victims: Vec<&str> = active
                .values()
                .filter(|o| o.owner_id != cycle.me && counts[o.owner_id.as_str()] > max_allowed)
                .filter(|o| !plan.claim.iter().any(|c| c.partition_id == o.partition_id))
                .map(|o| o.partition_id.as_str())
                .collect();
            if victims.is_empty() {
                break;
            }
            let victim = victims[rng.usize(..victims.len())];
            if let Some(count) = counts.get_mut(active[victim].owner_id.as_str()) {
                *count -= 1;
            }
            victim
        } else {
            claimable.swap_remove(rng.usize(..claimable.len()))
        };
        plan.claim.push(cycle.claim_of(pick));
    }
    plan
}

#[cfg(test)]
mod tests;
