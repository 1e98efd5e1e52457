//! Entity addresses in every form the SDKs send (docs/PROTOCOL.md §4.1, §5.1):
//! `amqps://host/eh1/Partitions/0` (Python), `eh1/Partitions/0` (JS), `/eh1/Partitions/0`
//! (.NET), and for consumers `…/eh1/ConsumerGroups/$Default/Partitions/0`. The
//! `ConsumerGroups` and `Partitions` segments are matched case-insensitively.

use crate::cbs::CBS_NODE;
use crate::management::MANAGEMENT_NODE;

/// What an address names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityAddress {
    /// `$cbs`: the claims-based security node.
    Cbs,
    /// `$management`: the management node.
    Management,
    /// A hub: the gateway link of a producer.
    Hub {
        /// Hub name.
        hub: String,
    },
    /// One partition of a hub, for sending.
    Partition {
        /// Hub name.
        hub: String,
        /// Partition id.
        partition: String,
    },
    /// A consumer-group partition, for receiving.
    ConsumerPartition {
        /// Hub name.
        hub: String,
        /// Consumer group name as sent.
        consumer_group: String,
        /// Partition id.
        partition: String,
    },
}

/// Why an address is not an Event Hubs entity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an Event Hubs entity address")]
pub struct AddressError(pub String);

impl EntityAddress {
    /// Parses any address form.
    pub fn parse(address: &str) -> Result<Self, AddressError> {
        let err = || AddressError(address.to_owned());
        // Drop a scheme and host: amqps://host[:port]/path
        let path = match address.split_once("://") {
            Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
            None => address,
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        match segments.as_slice() {
            [CBS_NODE] => Ok(Self::Cbs),
            [hub, MANAGEMENT_NODE] | [MANAGEMENT_NODE, hub] if !hub.is_empty() => {
                Ok(Self::Management)
            }
            [MANAGEMENT_NODE] => Ok(Self::Management),
            [hub] => Ok(Self::Hub {
                hub: (*hub).to_owned(),
            }),
            [hub, p, id] if p.eq_ignore_ascii_case("partitions") => Ok(Self::Partition {
                hub: (*hub).to_owned(),
                partition: (*id).to_owned(),
            }),
            [hub, cgs, cg, p, id]
                if cgs.eq_ignore_ascii_case("consumergroups")
                    && p.eq_ignore_ascii_case("partitions") =>
            {
                Ok(Self::ConsumerPartition {
                    hub: (*hub).to_owned(),
                    consumer_group: (*cg).to_owned(),
                    partition: (*id).to_owned(),
                })
            }
            _ => Err(err()),
        }
    }

    /// The address our client sends (the JS form: relative, no scheme).
    pub fn to_address(&self) -> String {
        match self {
            Self::Cbs => CBS_NODE.to_owned(),
            Self::Management => MANAGEMENT_NODE.to_owned(),
            Self::Hub { hub } => hub.clone(),
            Self::Partition { hub, partition } => partition_address(hub, partition),
            Self::ConsumerPartition {
                hub,
                consumer_group,
                partition,
            } => {
                format!("{hub}/ConsumerGroups/{consumer_group}/Partitions/{partition}")
            }
        }
    }
}

/// The address of `partition` of `hub` for sending, as [`EntityAddress::to_address`] writes
/// it, without building an `EntityAddress` (a producer computes it on every send).
pub fn partition_address(hub: &str, partition: &str) -> String {
    format!("{hub}/Partitions/{partition}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every SDK's spelling of the same entity parses to the same value.
    #[test]
    fn all_forms() {
        let part = EntityAddress::Partition {
            hub: "eh1".into(),
            partition: "1".into(),
        };
        for a in [
            "amqps://localhost/eh1/Partitions/1",
            "eh1/Partitions/1",
            "/eh1/Partitions/1",
            "amqp://h:5672/eh1/partitions/1",
        ] {
            assert_eq!(EntityAddress::parse(a).unwrap(), part, "{a}");
        }
        let cp = EntityAddress::ConsumerPartition {
            hub: "eh1".into(),
            consumer_group: "$Default".into(),
            partition: "0".into(),
        };
        for a in [
            "amqps://localhost/eh1/ConsumerGroups/$Default/Partitions/0",
            "eh1/ConsumerGroups/$Default/Partitions/0",
            "/eh1/consumergroups/$Default/partitions/0",
        ] {
            assert_eq!(EntityAddress::parse(a).unwrap(), cp, "{a}");
        }
        assert_eq!(
            EntityAddress::parse("amqps://localhost/eh1").unwrap(),
            EntityAddress::Hub { hub: "eh1".into() }
        );
        assert_eq!(EntityAddress::parse("$cbs").unwrap(), EntityAddress::Cbs);
        assert_eq!(
            EntityAddress::parse("$management").unwrap(),
            EntityAddress::Management
        );
        assert_eq!(EntityAddress::parse(&cp.to_address()).unwrap(), cp);
        assert!(EntityAddress::parse("eh1/Nope/0").is_err());
        assert!(EntityAddress::parse("").is_err());
    }
}
