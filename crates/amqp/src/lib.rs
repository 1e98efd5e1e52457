//! `eventhubs-amqp`: the project's own AMQP 1.0 engine, sans-IO.
//!
//! This crate holds everything about AMQP 1.0 that does not need a socket or a clock:
//! the type system and codec, frames, performatives, SASL frames, message sections, batch
//! messages, and the connection/session/link state machines for both the client and the
//! server role. Time is passed in as an argument, so two peers can be driven against each
//! other in memory, deterministically. `eventhubs-amqp-io` drives it over tokio sockets.
//!
//! # Layout
//! - [`codec`]: format codes, [`codec::Reader`], the [`codec::Encode`]/[`codec::Decode`] traits.
//! - [`types`]: primitive types and the dynamic [`types::Value`].
//! - [`definitions`], [`terminus`], [`delivery_state`]: shared composite types.
//! - [`performatives`], [`sasl`]: frame bodies; [`frame`]: framing and protocol headers.
//! - [`message`]: message sections, lazy parsing, batch messages.
//! - [`connection`]: the sans-IO connection / session / link state machine.
//!
//! # Stability
//! This crate is the engine of the `eventhubs` crates. It follows semver, but its API is
//! shaped for its sibling crates first; items marked `#[doc(hidden)]` (such as `id_map`) are
//! internal and may change in any release.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[macro_use]
mod macros;

pub mod codec;
pub mod connection;
pub mod definitions;
pub mod delivery_state;
pub mod descriptors;
pub mod frame;
#[doc(hidden)]
pub mod id_map;
pub mod message;
pub mod performatives;
pub mod sasl;
pub mod terminus;
pub mod types;

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
