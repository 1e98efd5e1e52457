//! A one-way import of the Go library v3 Event Processor Host's checkpoints: its JSON
//! lease blobs (`{prefix}{partition}`: partition, epoch, owner, checkpoint with offset and
//! sequence number, state, lease token) become modern checkpoints in any
//! [`CheckpointStore`]. Leases are never touched.

use eventhubs::{Checkpoint, CheckpointStore, Error, ErrorKind};

use crate::store::BlobCheckpointStore;

/// One v3 lease blob as read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct V3Lease {
    /// The blob's name.
    pub blob: String,
    /// Its partition.
    pub partition_id: String,
    /// The checkpoint's offset (`-1` and `@latest` are v3's start and end markers).
    pub offset: String,
    /// The checkpoint's sequence number.
    pub sequence_number: i64,
    /// Whether the blob is under an active blob lease: a v3 host is still running.
    pub leased: bool,
}

/// What [`import_v3_checkpoints`] does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct V3ImportOptions {
    /// Import even while v3 hosts hold leases (their later checkpoints are then lost).
    pub force: bool,
    /// Read and report, write nothing.
    pub dry_run: bool,
}

impl V3ImportOptions {
    /// Sets whether to import while v3 hosts hold leases.
    #[must_use]
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Sets whether to only report.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }
}

/// What an import did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct V3ImportReport {
    /// The checkpoints written: partition, sequence number, offset.
    pub imported: Vec<(String, i64, String)>,
    /// Blobs not imported, and why.
    pub skipped: Vec<(String, String)>,
}

impl BlobCheckpointStore {
    /// Reads the v3 lease blobs under `prefix` in this store's container (a blob that is
    /// not a v3 lease record is an error naming it: the prefix is probably wrong).
    pub async fn read_v3_leases(&self, prefix: &str) -> Result<Vec<V3Lease>, Error> {
        let mut leases = Vec::new();
        for blob in self
            .client()
            .list(prefix)
            .await
            .map_err(crate::store::store_error)?
        {
            let body = self
                .client()
                .get(&blob.name)
                .await
                .map_err(crate::store::store_error)?;
            let record: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!("blob {} is not a v3 lease record (JSON: {e})", blob.name),
                )
            })?;
            let field = |path: &[&str]| {
                path.iter()
                    .try_fold(&record, |v, k| v.get(*k))
                    .cloned()
                    .unwrap_or(serde_json::Value::Null)
            };
            let partition_id = field(&["partitionID"])
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "blob {} has no partitionID: not a v3 lease record",
                            blob.name
                        ),
                    )
                })?;
            let offset = match field(&["checkpoint", "offset"]) {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            leases.push(V3Lease {
                blob: blob.name.clone(),
                partition_id,
                offset,
                sequence_number: field(&["checkpoint", "sequenceNumber"])
                    .as_i64()
                    .unwrap_or(0),
                leased: blob.lease_state.as_deref() == Some("leased"),
            });
        }
        Ok(leases)
    }
}

/// Imports the v3 checkpoints under `prefix` in `source`'s container into `destination`
/// for the namespace, hub and consumer group given. Offsets `-1`, `@latest` and empty are
/// v3's markers, not checkpoints, and are skipped. Refused while any blob is under an
/// active lease (a v3 host still running) unless `options.force`.
pub async fn import_v3_checkpoints(
    source: &BlobCheckpointStore,
    prefix: &str,
    destination: &dyn CheckpointStore,
    scope: (&str, &str, &str),
    options: &V3ImportOptions,
) -> Result<V3ImportReport, Error> {
    let leases = source.read_v3_leases(prefix).await?;
    let held: Vec<&str> = leases
        .iter()
        .filter(|l| l.leased)
        .map(|l| l.partition_id.as_str())
        .collect();
    if !held.is_empty() && !options.force {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "v3 hosts still hold the leases of partitions {held:?}: stop them first, or force \
                 the import (their later checkpoints would be lost)"
            ),
        ));
    }
    let (ns, hub, group) = scope;
    let mut report = V3ImportReport::default();
    for lease in leases {
        if matches!(lease.offset.as_str(), "" | "-1" | "@latest") {
            report.skipped.push((
                lease.blob,
                format!("offset {:?} is a v3 marker, not a checkpoint", lease.offset),
            ));
            continue;
        }
        if !options.dry_run {
            let mut c = Checkpoint::new(ns, hub, group, lease.partition_id.clone());
            c.sequence_number = Some(lease.sequence_number);
            c.offset = Some(lease.offset.clone());
            destination.update_checkpoint(c).await?;
        }
        report
            .imported
            .push((lease.partition_id, lease.sequence_number, lease.offset));
    }
    Ok(report)
}
