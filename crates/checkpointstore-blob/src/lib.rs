//! `eventhubs-checkpointstore-blob`: a [`CheckpointStore`](eventhubs::CheckpointStore) in
//! Azure Blob Storage for the [`eventhubs::Processor`], in the blob layout the official
//! SDKs share, so processors of every SDK can split one hub and resume each other's
//! checkpoints.
//!
//! - `store`: [`BlobCheckpointStore`].
//! - `connection_string`: [`StorageConnectionString`].
//! - `blob_client`: the Blob REST operations (list, put, set metadata, create container).
//! - `v3`: [`import_v3_checkpoints`], from the Go v3 Event Processor Host's lease blobs.
//! - `shared_key`: Shared Key request signing; `listing`: the List Blobs XML.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod blob_client;
mod connection_string;
mod listing;
mod shared_key;
mod store;
mod v3;

pub use connection_string::{ConnectionStringError, StorageConnectionString, DEVELOPMENT_ACCOUNT};
pub use store::BlobCheckpointStore;
pub use v3::{import_v3_checkpoints, V3ImportOptions, V3ImportReport, V3Lease};
