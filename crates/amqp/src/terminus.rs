//! Link terminus types: `source` and `target` (part 3 §3.5).

use crate::delivery_state::DeliveryState;
use crate::types::{Fields, Symbol};

composite! {
    /// The source of a link: where messages come from. Event Hubs receivers put the
    /// partition address here and the position selector in `filter`.
    pub struct Source("amqp:source:list", 0x28) {
        /// Address of the source node.
        address: Option<String> = optional,
        /// Terminus durability (0 = none).
        durable: u32 = default(0),
        /// Expiry policy (default `session-end`).
        expiry_policy: Option<Symbol> = optional,
        /// Seconds the terminus survives after the link closes.
        timeout: u32 = default(0),
        /// Ask the peer to create the node.
        dynamic: bool = default(false),
        /// Properties of a dynamically created node.
        dynamic_node_properties: Option<Fields> = optional,
        /// Distribution mode (`move` or `copy`).
        distribution_mode: Option<Symbol> = optional,
        /// Filter set: filter name to described filter value.
        filter: Option<Fields> = optional,
        /// Default outcome for unsettled transfers.
        default_outcome: Option<DeliveryState> = optional,
        /// Outcomes supported.
        outcomes: Option<Vec<Symbol>> = optional,
        /// Capabilities.
        capabilities: Option<Vec<Symbol>> = optional,
    }
}

composite! {
    /// The target of a link: where messages go.
    pub struct Target("amqp:target:list", 0x29) {
        /// Address of the target node.
        address: Option<String> = optional,
        /// Terminus durability (0 = none).
        durable: u32 = default(0),
        /// Expiry policy (default `session-end`).
        expiry_policy: Option<Symbol> = optional,
        /// Seconds the terminus survives after the link closes.
        timeout: u32 = default(0),
        /// Ask the peer to create the node.
        dynamic: bool = default(false),
        /// Properties of a dynamically created node.
        dynamic_node_properties: Option<Fields> = optional,
        /// Capabilities.
        capabilities: Option<Vec<Symbol>> = optional,
    }
}

impl Source {
    /// A source with only an address.
    pub fn with_address(address: impl Into<String>) -> Self {
        Self {
            address: Some(address.into()),
            ..Self::default()
        }
    }
}

impl Target {
    /// A target with only an address.
    pub fn with_address(address: impl Into<String>) -> Self {
        Self {
            address: Some(address.into()),
            ..Self::default()
        }
    }
}
