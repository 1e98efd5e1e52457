//! [`BlobCheckpointStore`]: ownership and checkpoints as zero-length blobs with metadata, in
//! the layout every official SDK shares:
//! `{namespace}/{hub}/{consumer group}/ownership/{partition}` (metadata `ownerid`) and
//! `…/checkpoint/{partition}` (`sequencenumber`, `offset`), namespace, hub and group
//! lower-cased.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use eventhubs::{
    Checkpoint, CheckpointStore, Error, ErrorKind, Ownership, StoreFuture, TokenProvider,
};
use eventhubs_http::{HttpClient, RetryPolicy};
use futures_util::stream::{self, StreamExt};

use crate::blob_client::{quoted, Auth, Condition, ContainerClient, Failure, Written};
use crate::connection_string::{Secret, StorageConnectionString};
use crate::listing::ListedBlob;

/// How many claims of one cycle are written at once.
const CLAIMS_IN_FLIGHT: usize = 8;

/// A [`CheckpointStore`] in an Azure Storage blob container (or Azurite), shared with
/// processors of the other SDKs: they read each other's ownership and checkpoints.
///
/// Claims are conditional (`If-Match` on the listed ETag, or `If-None-Match: *` for a new
/// blob), so of two processors claiming one partition exactly one wins; a lost race is not an
/// error. Listings read the lower-cased names and, where they differ, the names as given
/// (what older SDKs wrote), the lower-cased winning. A blob whose metadata is unreadable is
/// skipped with a warning, never failing the whole listing. The container must exist
/// ([`create_container_if_missing`](Self::create_container_if_missing) makes it). Keys and
/// signatures never appear in `Debug`, logs or errors.
#[derive(Debug, Clone)]
pub struct BlobCheckpointStore {
    client: ContainerClient,
    /// PEM bundles trusted besides the web PKI roots and `SSL_CERT_FILE`.
    extra_roots: Vec<Vec<u8>>,
}

impl BlobCheckpointStore {
    /// From a storage connection string (`AccountName` + `AccountKey`, `BlobEndpoint`,
    /// `EndpointSuffix`, `SharedAccessSignature`, or `UseDevelopmentStorage=true`) and the
    /// container's name.
    pub fn from_connection_string(connection_string: &str, container: &str) -> Result<Self, Error> {
        let cs = StorageConnectionString::parse(connection_string)
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
        let auth = match cs.secret {
            Secret::SharedKey { account, key } => Auth::SharedKey { account, key },
            Secret::Sas(sas) => Auth::Sas(sas),
        };
        Self::build(&cs.blob_endpoint, container, auth)
    }

    /// From the account's blob URL (`https://account.blob.core.windows.net`) and a shared
    /// access signature for the container.
    pub fn with_sas(account_url: &str, sas: &str, container: &str) -> Result<Self, Error> {
        Self::build(
            account_url,
            container,
            Auth::Sas(sas.trim_start_matches('?').to_owned()),
        )
    }

    /// From the account's blob URL and a token provider, asked for the scope
    /// `https://storage.azure.com/.default`. Every `eventhubs::identity` credential answers
    /// with a token for that scope, so one credential can serve the clients and the store:
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), eventhubs::Error> {
    /// use std::sync::Arc;
    /// use eventhubs::identity::{CredentialOptions, EnvironmentCredential};
    /// use eventhubs::{ClientOptions, ConsumerClient, DEFAULT_CONSUMER_GROUP};
    /// use eventhubs_checkpointstore_blob::BlobCheckpointStore;
    /// let credential = Arc::new(EnvironmentCredential::from_env(CredentialOptions::default())?);
    /// let store = BlobCheckpointStore::with_token_provider(
    ///     "https://myaccount.blob.core.windows.net", credential.clone(), "checkpoints")?;
    /// let consumer = ConsumerClient::new(
    ///     "my-namespace", "my-hub", DEFAULT_CONSUMER_GROUP, credential, ClientOptions::default())?;
    /// # let _ = (store, consumer); Ok(()) }
    /// ```
    pub fn with_token_provider(
        account_url: &str,
        provider: Arc<dyn TokenProvider>,
        container: &str,
    ) -> Result<Self, Error> {
        Self::build(account_url, container, Auth::Token(provider))
    }

    fn build(endpoint: &str, container: &str, auth: Auth) -> Result<Self, Error> {
        if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("the blob endpoint {endpoint:?} is not an http(s) URL"),
            ));
        }
        if container.is_empty() || container.contains('/') {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("{container:?} is not a container name"),
            ));
        }
        let http = http_client(&[])?;
        Ok(Self {
            client: ContainerClient::new(http, endpoint, container, auth),
            extra_roots: Vec::new(),
        })
    }

    /// Also trusts the certificates of this PEM bundle (a private CA, a TLS-inspecting
    /// proxy's, a local Azurite's). The web PKI roots and the bundle `SSL_CERT_FILE` names
    /// are always trusted; verification is always on.
    ///
    /// # Errors
    /// `InvalidArgument` when the bundle holds no readable certificate, or `SSL_CERT_FILE`
    /// cannot be read.
    pub fn add_root_certificates(mut self, pem: &[u8]) -> Result<Self, Error> {
        self.extra_roots.push(pem.to_vec());
        self.client = self.client.with_http(http_client(&self.extra_roots)?);
        Ok(self)
    }

    /// Lists at most `n` blobs per request (default: the service's 5,000); small pages are
    /// for tests of paging.
    #[must_use]
    pub fn page_size(mut self, n: u32) -> Self {
        self.client.page_size = Some(n.max(1));
        self
    }

    pub(crate) fn client(&self) -> &ContainerClient {
        &self.client
    }

    /// Creates the container unless it exists.
    pub async fn create_container_if_missing(&self) -> Result<(), Error> {
        self.client.create_container().await.map_err(store_error)
    }

    async fn list_kind(
        &self,
        ns: &str,
        hub: &str,
        group: &str,
        kind: &str,
    ) -> Result<Vec<(ListedBlob, bool)>, Error> {
        let lower = format!("{}/{}/{}/{kind}/", ns, hub, group).to_ascii_lowercase();
        let verbatim = format!("{ns}/{hub}/{group}/{kind}/");
        let mut found: BTreeMap<String, (ListedBlob, bool)> = BTreeMap::new();
        if verbatim != lower {
            for b in self.client.list(&verbatim).await.map_err(store_error)? {
                found.insert(partition_of(&b.name).to_owned(), (b, true));
            }
        }
        for b in self.client.list(&lower).await.map_err(store_error)? {
            found.insert(partition_of(&b.name).to_owned(), (b, false));
        }
        Ok(found.into_values().collect())
    }

    async fn claim_one(&self, mut o: Ownership) -> Option<Ownership> {
        let name = blob_name(&o, "ownership");
        let meta = [("ownerid", o.owner_id.as_str())];
        let result = match o.etag.as_deref() {
            Some(etag) => match self
                .client
                .set_metadata(&name, &meta, Condition::IfMatch(etag))
                .await
            {
                // Gone since it was listed: create it, unless someone else just did.
                Err(f) if f.is_not_found() => {
                    self.client
                        .put_empty(&name, &meta, Condition::IfNoneExists)
                        .await
                }
                other => other,
            },
            None => {
                self.client
                    .put_empty(&name, &meta, Condition::IfNoneExists)
                    .await
            }
        };
        match result {
            Ok(Written {
                etag,
                last_modified,
            }) => {
                o.etag = etag;
                o.last_modified_time = last_modified.unwrap_or_else(|| self.client.now());
                Some(o)
            }
            Err(f) if f.is_conflict() => {
                tracing::debug!(partition = %o.partition_id, "claim lost a race");
                None
            }
            Err(f) => {
                tracing::warn!(partition = %o.partition_id, error = %f.message, "claim failed");
                None
            }
        }
    }
}

impl CheckpointStore for BlobCheckpointStore {
    fn list_ownership<'a>(
        &'a self,
        ns: &'a str,
        hub: &'a str,
        group: &'a str,
    ) -> StoreFuture<'a, Vec<Ownership>> {
        Box::pin(async move {
            Ok(self
                .list_kind(ns, hub, group, "ownership")
                .await?
                .into_iter()
                .map(|(b, legacy)| {
                    let mut o = Ownership::new(
                        ns,
                        hub,
                        group,
                        partition_of(&b.name),
                        b.metadata.get("ownerid").cloned().unwrap_or_default(),
                        // A claim of a legacy-named blob creates the lower-cased one.
                        if legacy {
                            None
                        } else {
                            b.etag.as_deref().map(quoted)
                        },
                    );
                    o.last_modified_time = b.last_modified.unwrap_or(SystemTime::UNIX_EPOCH);
                    o
                })
                .collect())
        })
    }

    fn claim_ownership<'a>(
        &'a self,
        ownerships: Vec<Ownership>,
    ) -> StoreFuture<'a, Vec<Ownership>> {
        Box::pin(async move {
            Ok(stream::iter(ownerships)
                .map(|o| self.claim_one(o))
                .buffer_unordered(CLAIMS_IN_FLIGHT)
                .filter_map(|o| async move { o })
                .collect()
                .await)
        })
    }

    fn list_checkpoints<'a>(
        &'a self,
        ns: &'a str,
        hub: &'a str,
        group: &'a str,
    ) -> StoreFuture<'a, Vec<Checkpoint>> {
        Box::pin(async move {
            let mut checkpoints = Vec::new();
            for (b, _) in self.list_kind(ns, hub, group, "checkpoint").await? {
                let sequence_number = b
                    .metadata
                    .get("sequencenumber")
                    .and_then(|s| s.trim().parse::<i64>().ok());
                // .NET writes "" (or once "no offset") when it has only a sequence number.
                let offset = b
                    .metadata
                    .get("offset")
                    .filter(|o| !o.is_empty() && o.as_str() != "no offset")
                    .cloned();
                if sequence_number.is_none() && offset.is_none() {
                    tracing::warn!(blob = %b.name, "checkpoint blob without a sequence number or offset skipped");
                    continue;
                }
                let mut c = Checkpoint::new(ns, hub, group, partition_of(&b.name));
                c.sequence_number = sequence_number;
                c.offset = offset;
                checkpoints.push(c);
            }
            Ok(checkpoints)
        })
    }

    fn update_checkpoint<'a>(&'a self, checkpoint: Checkpoint) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let Some(sequence_number) = checkpoint.sequence_number else {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "the checkpoint of partition {} has no sequence number",
                        checkpoint.partition_id
                    ),
                ));
            };
            let name = format!(
                "{}/{}/{}/checkpoint/{}",
                checkpoint.fully_qualified_namespace.to_ascii_lowercase(),
                checkpoint.eventhub_name.to_ascii_lowercase(),
                checkpoint.consumer_group.to_ascii_lowercase(),
                checkpoint.partition_id
            );
            let seq = sequence_number.to_string();
            let meta = [
                ("sequencenumber", seq.as_str()),
                ("offset", checkpoint.offset.as_deref().unwrap_or("")),
            ];
            match self
                .client
                .set_metadata(&name, &meta, Condition::None)
                .await
            {
                Err(f) if f.is_not_found() => {
                    self.client.put_empty(&name, &meta, Condition::None).await
                }
                other => other,
            }
            .map(|_| ())
            .map_err(store_error)
        })
    }

    fn now(&self) -> SystemTime {
        self.client.now()
    }
}

/// The lower-cased name of `o`'s `kind` blob.
fn blob_name(o: &Ownership, kind: &str) -> String {
    format!(
        "{}/{}/{}/{kind}/{}",
        o.fully_qualified_namespace.to_ascii_lowercase(),
        o.eventhub_name.to_ascii_lowercase(),
        o.consumer_group.to_ascii_lowercase(),
        o.partition_id
    )
}

/// The partition id: the name's last segment.
fn partition_of(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

pub(crate) fn store_error(f: Failure) -> Error {
    let kind = match f.status {
        Some(401 | 403) => ErrorKind::Unauthorized,
        Some(404) if f.code.as_deref() == Some("ContainerNotFound") => ErrorKind::NotFound,
        _ => ErrorKind::Checkpoint,
    };
    let hint = match kind {
        ErrorKind::Unauthorized => {
            ". Check the storage account key or SAS, and that it allows reading and writing \
             blobs; with Entra ID, that the identity has a data role such as Storage Blob Data \
             Contributor on the container"
        }
        ErrorKind::NotFound => ". Create the container first (create_container_if_missing)",
        _ => "",
    };
    Error::new(kind, format!("blob checkpoint store: {}{hint}", f.message))
}

/// The HTTP client for the store's requests, trusting the web PKI roots, `extra` and
/// `SSL_CERT_FILE`.
fn http_client(extra: &[Vec<u8>]) -> Result<HttpClient, Error> {
    let labelled = extra
        .iter()
        .map(|pem| (pem.as_slice(), "the store's root certificates"));
    let tls = eventhubs_amqp_io::TlsConfig::webpki_extra_and_env(labelled)
        .map_err(|e| Error::new(ErrorKind::InvalidArgument, e.to_string()))?;
    Ok(HttpClient::new(&tls, RetryPolicy::default()))
}
