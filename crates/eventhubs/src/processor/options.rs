//! [`ProcessorOptions`]: how a processor balances, how long ownership lasts, where
//! partitions without a checkpoint start.

use std::collections::HashMap;
use std::time::Duration;

use super::load_balancer::LoadBalancingStrategy;
use crate::error::Error;
use crate::position::StartPosition;

/// Where a partition starts when it has no checkpoint.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StartPositions {
    /// For these partitions.
    pub per_partition: HashMap<String, StartPosition>,
    /// For every other partition (default: latest, as the official SDKs).
    pub default: StartPosition,
}

/// Options of a [`Processor`](super::Processor).
///
/// ```
/// use std::time::Duration;
/// use eventhubs::{LoadBalancingStrategy, ProcessorOptions, StartPosition};
/// let options = ProcessorOptions::default()
///     .strategy(LoadBalancingStrategy::Greedy)
///     .update_interval(Duration::from_secs(5))
///     .ownership_expiration(Duration::from_secs(30))
///     .default_start_position(StartPosition::earliest());
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "setters return the changed value: use it"]
pub struct ProcessorOptions {
    /// Balanced (default) or greedy.
    pub strategy: LoadBalancingStrategy,
    /// Time between load-balancing cycles (default 10 s), each stretched by a random factor
    /// in 0.8–1.3 so that processors started together drift apart.
    pub update_interval: Duration,
    /// How long an ownership that is not renewed stays valid (default 60 s); at least three
    /// update intervals.
    pub ownership_expiration: Duration,
    /// Where partitions without a checkpoint start.
    pub start_positions: StartPositions,
    /// Events each partition's receiver asks for ahead (default 300).
    pub prefetch: u32,
    /// The receivers' owner level (default 0, so a newer owner of a partition takes its link
    /// over at once); `None` for none.
    pub owner_level: Option<i64>,
    /// This processor's owner id in the store (default: random, unique per processor).
    pub owner_id: Option<String>,
}

impl Default for ProcessorOptions {
    fn default() -> Self {
        Self {
            strategy: LoadBalancingStrategy::Balanced,
            update_interval: Duration::from_secs(10),
            ownership_expiration: Duration::from_secs(60),
            start_positions: StartPositions::default(),
            prefetch: 300,
            owner_level: Some(0),
            owner_id: None,
        }
    }
}

impl ProcessorOptions {
    /// Sets the load-balancing strategy.
    pub fn strategy(mut self, strategy: LoadBalancingStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the time between load-balancing cycles.
    pub fn update_interval(mut self, interval: Duration) -> Self {
        self.update_interval = interval;
        self
    }

    /// Sets how long an unrenewed ownership stays valid.
    pub fn ownership_expiration(mut self, expiration: Duration) -> Self {
        self.ownership_expiration = expiration;
        self
    }

    /// Sets where partitions without a checkpoint or a position of their own start.
    pub fn default_start_position(mut self, position: StartPosition) -> Self {
        self.start_positions.default = position;
        self
    }

    /// Sets where `partition_id` starts when it has no checkpoint.
    pub fn partition_start_position(
        mut self,
        partition_id: impl Into<String>,
        position: StartPosition,
    ) -> Self {
        self.start_positions
            .per_partition
            .insert(partition_id.into(), position);
        self
    }

    /// Sets the receivers' prefetch.
    pub fn prefetch(mut self, prefetch: u32) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// Sets the receivers' owner level (`None`: no owner level).
    pub fn owner_level(mut self, level: Option<i64>) -> Self {
        self.owner_level = level;
        self
    }

    /// Sets this processor's owner id.
    pub fn owner_id(mut self, id: impl Into<String>) -> Self {
        self.owner_id = Some(id.into());
        self
    }

    /// Refuses settings that would make processors fight: an expiration under three update
    /// intervals lets a live owner's claim expire between two of its renewals.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.update_interval.is_zero() {
            return Err(Error::invalid("the processor's update interval is zero"));
        }
        // The longest jittered interval is 1.3 times the setting.
        if self.ownership_expiration < self.update_interval * 3 {
            return Err(Error::invalid(format!(
                "the ownership expiration ({:?}) must be at least three update intervals ({:?}): \
                 a live processor's claims would expire between its renewals",
                self.ownership_expiration, self.update_interval
            )));
        }
        self.start_positions.default.validate()?;
        for p in self.start_positions.per_partition.values() {
            p.validate()?;
        }
        Ok(())
    }
}
