//! The load balancer's rules, on a model store with compare-and-swap claims and seeded
//! random numbers: convergence from many start states, expiry, released ownerships, no
//! steal from an owner within its share, and uniform picks.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::{plan, Cycle, LoadBalancingStrategy, Plan};
use crate::checkpoint_store::Ownership;

const INTERVAL: Duration = Duration::from_secs(10);
const EXPIRATION: Duration = Duration::from_secs(60);
const SCOPE: (&str, &str, &str) = ("ns.example", "hub", "$default");

/// A store with Azure's claim semantics: a claim wins only if it names the current etag.
#[derive(Default)]
struct Model {
    blobs: BTreeMap<String, Ownership>,
    next_etag: u64,
}

impl Model {
    fn list(&self) -> Vec<Ownership> {
        self.blobs.values().cloned().collect()
    }

    /// Applies a claim if its etag is current; true when it won.
    fn claim(&mut self, mut o: Ownership, now: SystemTime) -> bool {
        let current = self.blobs.get(&o.partition_id).and_then(|b| b.etag.clone());
        if current != o.etag {
            return false;
        }
        self.next_etag += 1;
        o.etag = Some(self.next_etag.to_string());
        o.last_modified_time = now;
        self.blobs.insert(o.partition_id.clone(), o);
        true
    }

    fn set(&mut self, partition: &str, owner: &str, written: SystemTime) {
        let mut o = Ownership::new(SCOPE.0, SCOPE.1, SCOPE.2, partition, owner, None);
        o.etag = self.blobs.get(partition).and_then(|b| b.etag.clone());
        self.claim(o, written);
    }

    /// Partition counts of the live processors, if every partition has a live, unexpired
    /// owner.
    fn counts(&self, live: &[String], partitions: usize, now: SystemTime) -> Option<Vec<usize>> {
        let mut counts = vec![0; live.len()];
        let mut owned = 0;
        for o in self.blobs.values() {
            let fresh = now.duration_since(o.last_modified_time).unwrap_or_default() <= EXPIRATION;
            if let Some(i) = live.iter().position(|p| *p == o.owner_id) {
                if fresh {
                    counts[i] += 1;
                    owned += 1;
                }
            }
        }
        (owned == partitions).then_some(counts)
    }
}

fn partitions(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

fn cycle<'a>(
    listed: &'a [Ownership],
    partitions: &'a [String],
    me: &'a str,
    now: SystemTime,
    strategy: LoadBalancingStrategy,
) -> Cycle<'a> {
    Cycle {
        ownerships: listed,
        partitions,
        me,
        now,
        expiration: EXPIRATION,
        strategy,
        scope: SCOPE,
    }
}

/// One round of cycles. Sequential: the processors run one after another in a random order,
/// each listing what the previous ones wrote (cycles of different processors are seconds
/// apart, while a list and its claims take milliseconds). Simultaneous: all list the same
/// snapshot and their writes land in a random order, so their claims contend. Returns the
/// claims that won.
fn round(
    model: &mut Model,
    live: &[String],
    strategies: &[LoadBalancingStrategy],
    ids: &[String],
    now: SystemTime,
    rng: &mut fastrand::Rng,
    simultaneous: bool,
) -> usize {
    let mut order: Vec<usize> = (0..live.len()).collect();
    rng.shuffle(&mut order);
    let snapshot = model.list();
    let mut writes: Vec<(Ownership, bool)> = Vec::new();
    let mut won = 0;
    for i in order {
        let listed = if simultaneous {
            snapshot.clone()
        } else {
            model.list()
        };
        let Plan { renew, claim } = plan(&cycle(&listed, ids, &live[i], now, strategies[i]), rng);
        writes.extend(renew.into_iter().map(|o| (o, false)));
        writes.extend(claim.into_iter().map(|o| (o, true)));
        if !simultaneous {
            won += apply(model, &mut writes, now);
        }
    }
    rng.shuffle(&mut writes);
    won + apply(model, &mut writes, now)
}

/// Writes `writes` (draining it) and counts the claims that won.
fn apply(model: &mut Model, writes: &mut Vec<(Ownership, bool)>, now: SystemTime) -> usize {
    writes
        .drain(..)
        .filter(|(o, is_claim)| model.claim(o.clone(), now) && *is_claim)
        .count()
}

/// Start states for `n` live processors on `p` partitions.
fn start_states(
    p: usize,
    live: &[String],
    rng: &mut fastrand::Rng,
    t0: SystemTime,
) -> Vec<(&'static str, Model)> {
    let ids = partitions(p);
    let long_ago = t0 - EXPIRATION * 3;
    let mut states = vec![("empty", Model::default())];
    let mut all_to_one = Model::default();
    for id in &ids {
        all_to_one.set(id, &live[0], t0);
    }
    states.push(("all owned by one", all_to_one));
    let mut random_live = Model::default();
    for id in &ids {
        random_live.set(id, &live[rng.usize(..live.len())], t0);
    }
    states.push(("random among the live", random_live));
    let mut dead = Model::default();
    for id in &ids {
        if rng.bool() {
            dead.set(id, "dead-processor", long_ago);
        } else {
            dead.set(id, &live[rng.usize(..live.len())], t0);
        }
    }
    states.push(("half held by an expired owner", dead));
    let mut released = Model::default();
    for id in &ids {
        released.set(id, if rng.bool() { "" } else { &live[0] }, t0);
    }
    states.push(("half released", released));
    states
}

/// Every fleet of 1–5 processors on 1–32 partitions, balanced, greedy and mixed, from every
/// start state above: balanced (share within one) within ⌈P/N⌉ + 2 rounds, and stable for 3
/// more rounds (no claims at all).
#[test]
fn converges_from_every_start_state() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut rng = fastrand::Rng::with_seed(7);
    let mut worst = 0.0f64;
    for p in 1..=32 {
        let ids = partitions(p);
        for n in 1..=5 {
            let live: Vec<String> = (0..n).map(|i| format!("processor-{i}")).collect();
            let mixes = [
                vec![LoadBalancingStrategy::Balanced; n],
                vec![LoadBalancingStrategy::Greedy; n],
                (0..n)
                    .map(|i| {
                        if i % 2 == 0 {
                            LoadBalancingStrategy::Balanced
                        } else {
                            LoadBalancingStrategy::Greedy
                        }
                    })
                    .collect(),
            ];
            for strategies in &mixes {
                for (state, mut model) in start_states(p, &live, &mut rng, t0) {
                    let bound = p.div_ceil(n) + 2;
                    let mut now = t0;
                    let mut converged_at = None;
                    for r in 1..=bound {
                        now += INTERVAL;
                        round(&mut model, &live, strategies, &ids, now, &mut rng, false);
                        let balanced = model.counts(&live, p, now).is_some_and(|c| {
                            c.iter().max().unwrap() - c.iter().min().unwrap() <= 1
                        });
                        if balanced {
                            converged_at = Some(r);
                            break;
                        }
                    }
                    let at = converged_at.unwrap_or_else(|| {
                        panic!(
                            "{p} partitions, {n} processors {strategies:?}, start {state:?}: \
                             not balanced after {bound} rounds: {:?}",
                            model.counts(&live, p, now)
                        )
                    });
                    worst = worst.max(at as f64 / bound as f64);
                    for _ in 0..3 {
                        now += INTERVAL;
                        let claims =
                            round(&mut model, &live, strategies, &ids, now, &mut rng, false);
                        assert_eq!(
                            claims, 0,
                            "{p}/{n} {strategies:?} {state:?}: churn after balance"
                        );
                    }
                }
            }
        }
    }
    assert!(worst <= 1.0);
}

/// Processors that start at the same moment list the same snapshot, so their first claims
/// contend: compare-and-swap lets exactly one win each partition, and the fleet still
/// balances within ⌈P/N⌉ + 2 rounds (the first simultaneous, then their cycles drift
/// apart, as jittered intervals make them).
#[test]
fn simultaneous_starters_never_share_a_partition() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut rng = fastrand::Rng::with_seed(5);
    for (p, n) in [(1, 5), (4, 4), (16, 3), (32, 5), (7, 2)] {
        let ids = partitions(p);
        let live: Vec<String> = (0..n).map(|i| format!("processor-{i}")).collect();
        for strategy in [
            LoadBalancingStrategy::Balanced,
            LoadBalancingStrategy::Greedy,
        ] {
            let strategies = vec![strategy; n];
            let mut model = Model::default();
            let mut now = t0;
            let bound = p.div_ceil(n) + 2;
            let mut balanced = false;
            for r in 0..bound {
                now += INTERVAL;
                round(&mut model, &live, &strategies, &ids, now, &mut rng, r == 0);
                // One blob per partition, so never two owners of one partition.
                assert!(model.blobs.len() <= p);
                if let Some(c) = model.counts(&live, p, now) {
                    if c.iter().max().unwrap() - c.iter().min().unwrap() <= 1 {
                        balanced = true;
                        break;
                    }
                }
            }
            assert!(
                balanced,
                "{p}/{n} {strategy:?}: {:?}",
                model.counts(&live, p, now)
            );
        }
    }
}

/// An ownership is claimable once it is older than the expiration, not before.
#[test]
fn expired_ownerships_are_claimable() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let ids = partitions(2);
    let mut model = Model::default();
    model.set("0", "other", now - EXPIRATION - Duration::from_secs(1));
    model.set("1", "other", now - EXPIRATION + Duration::from_secs(1));
    let listed = model.list();
    let mut rng = fastrand::Rng::with_seed(1);
    let p = plan(
        &cycle(&listed, &ids, "me", now, LoadBalancingStrategy::Greedy),
        &mut rng,
    );
    let claimed: Vec<&str> = p.claim.iter().map(|o| o.partition_id.as_str()).collect();
    assert_eq!(
        claimed,
        ["0"],
        "only the expired one (the live owner holds its share)"
    );
    assert_eq!(
        p.claim[0].etag, listed[0].etag,
        "the claim replaces the listed version"
    );
    assert_eq!(p.claim[0].owner_id, "me");
}

/// A released ownership (`ownerid` empty) is claimable at once, and its owner does not
/// count as a processor.
#[test]
fn released_ownerships_are_claimable() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let ids = partitions(4);
    let mut model = Model::default();
    for id in &ids {
        model.set(id, "", now);
    }
    let listed = model.list();
    let mut rng = fastrand::Rng::with_seed(2);
    let p = plan(
        &cycle(&listed, &ids, "me", now, LoadBalancingStrategy::Greedy),
        &mut rng,
    );
    assert_eq!(p.claim.len(), 4, "alone, it takes all four");
}

/// Settled at 6/5/5 on 16 partitions, nobody claims: the processors at 5 may not steal from
/// the one at 6 (its share plus the one extra), nor anyone from a peer at or under its share.
#[test]
fn no_steal_from_an_owner_within_its_share() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let ids = partitions(16);
    let assign = |layout: &[(&str, usize)]| {
        let mut model = Model::default();
        let mut next = 0;
        for (owner, n) in layout {
            for _ in 0..*n {
                model.set(&ids[next], owner, now);
                next += 1;
            }
        }
        model
    };
    let mut rng = fastrand::Rng::with_seed(3);
    let settled = assign(&[("a", 6), ("b", 5), ("c", 5)]).list();
    for me in ["a", "b", "c"] {
        for strategy in [
            LoadBalancingStrategy::Balanced,
            LoadBalancingStrategy::Greedy,
        ] {
            let p = plan(&cycle(&settled, &ids, me, now, strategy), &mut rng);
            assert!(
                p.claim.is_empty(),
                "{me} {strategy:?} claimed {:?}",
                p.claim
            );
            assert_eq!(p.renew.len(), if me == "a" { 6 } else { 5 });
        }
    }
    // At 7/5/4, "a" is above the most anyone may hold (6): the others take one each from
    // it, never from each other.
    let uneven = assign(&[("a", 7), ("b", 5), ("c", 4)]).list();
    for strategy in [
        LoadBalancingStrategy::Balanced,
        LoadBalancingStrategy::Greedy,
    ] {
        for me in ["b", "c"] {
            let p = plan(&cycle(&uneven, &ids, me, now, strategy), &mut rng);
            assert_eq!(p.claim.len(), 1, "{me} {strategy:?}");
            let victim = &p.claim[0].partition_id;
            assert!(uneven
                .iter()
                .any(|o| o.partition_id == *victim && o.owner_id == "a"));
        }
        let a = plan(&cycle(&uneven, &ids, "a", now, strategy), &mut rng);
        assert!(a.claim.is_empty());
    }
}

/// Picks are uniform: 32,000 first claims on 32 free partitions, and 28,000 steals among
/// 28 partitions of an over-share owner, each pass a chi-square test at p = 0.001 (Go's
/// `rand.Perm(limit)` prefix bias would fail the first badly).
#[test]
fn picks_are_uniform() {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let mut rng = fastrand::Rng::with_seed(11);

    let ids = partitions(32);
    let mut hits = vec![0u32; 32];
    for _ in 0..32_000 {
        let p = plan(
            &cycle(&[], &ids, "me", now, LoadBalancingStrategy::Balanced),
            &mut rng,
        );
        hits[p.claim[0].partition_id.parse::<usize>().unwrap()] += 1;
    }
    assert_uniform(&hits, 61.1); // chi-square, 31 degrees of freedom, p = 0.001

    // "hog" holds 28 of 30; "me" holds 2, so it steals (share 15 < 28).
    let ids = partitions(30);
    let mut model = Model::default();
    for (i, id) in ids.iter().enumerate() {
        model.set(id, if i < 2 { "me" } else { "hog" }, now);
    }
    let listed = model.list();
    let mut hits = vec![0u32; 28];
    for _ in 0..28_000 {
        let p = plan(
            &cycle(&listed, &ids, "me", now, LoadBalancingStrategy::Balanced),
            &mut rng,
        );
        hits[p.claim[0].partition_id.parse::<usize>().unwrap() - 2] += 1;
    }
    assert_uniform(&hits, 55.5); // 27 degrees of freedom
}

fn assert_uniform(hits: &[u32], critical: f64) {
    let expected = f64::from(hits.iter().sum::<u32>()) / hits.len() as f64;
    let chi2: f64 = hits
        .iter()
        .map(|&h| (f64::from(h) - expected).powi(2) / expected)
        .sum();
    assert!(
        chi2 < critical,
        "chi-square {chi2:.1} >= {critical}: {hits:?}"
    );
}
