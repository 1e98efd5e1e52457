//! `eventhubs-protocol`: the Event Hubs conventions on top of AMQP 1.0 that the client and
//! the emulator share, so that they cannot disagree: if one changes, both change.
//!
//! # Layout
//! - [`address`]: entity addresses in every SDK's form.
//! - [`cbs`]: the `$cbs` put-token request.
//! - [`connection_string`]: connection strings.
//! - [`constants`]: annotation, property and request-key names.
//! - [`hash`]: partition-key hashing (lookup3, docs/PROTOCOL.md §8).
//! - [`management`]: `$management` READ requests and answers.
//! - [`response`]: the status envelope of every `$cbs` and `$management` response.
//! - [`sas`]: SAS token signing, parsing and verification.
//! - [`selector`]: the start-position selector filter.
//! - [`url`]: percent-encoding as the SDKs do it.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
pub mod cbs;
pub mod connection_string;
pub mod constants;
pub mod hash;
pub mod management;
pub mod response;
pub mod sas;
pub mod selector;
pub mod url;

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
