//! `eventhubs-http`: the project's HTTP/1.1 client for Azure Storage and identity endpoints —
//! `hyper` with a pooled `hyper-util` client on the project's rustls/ring TLS, every try
//! bounded, transient failures retried with backoff.
//!
//! - [`HttpClient`]: send a request, get the whole response.
//! - [`RetryPolicy`]: how often and how long to retry.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod client;
mod retry;

pub use client::{HttpClient, HttpError, Proxy, Response};
pub use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
pub use retry::RetryPolicy;

/// The crate README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
