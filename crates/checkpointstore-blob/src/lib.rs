//! `eventhubs-checkpointstore-blob`: a [`CheckpointStore`](eventhubs::CheckpointStore) in
//! Azure Blob Storage for the [`eventhubs::Processor`], in the blob layout the official
//! SDKs share, so processors of every SDK can split one hub and resume each other's
//! checkpoints.
//!
//! - `store`: [`BlobCheckpointStore`].
//! - `connection_string`: [`StorageConnectionString`].
//! - `blob_client`: the Blob REST operations (list, put, set metadata, create container).
//! - `shared_key`: Shared Key request signing; `listing`: the List Blobs XML.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod blob_client;
mod connection_string;
mod listing;
mod shared_key;
mod store;

pub use connection_string::{ConnectionStringError, StorageConnectionString, DEVELOPMENT_ACCOUNT};
pub use store::BlobCheckpointStore;
