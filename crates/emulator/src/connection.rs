//! One client connection: accepts or refuses each link the client attaches and starts the
//! task that serves it ($cbs, $management, producer or consumer).

use std::sync::{Arc, Mutex};

use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig, SessionId};
use eventhubs_amqp::definitions::{condition, AmqpError, Role};
use eventhubs_amqp::message::Message;
use eventhubs_amqp_io::{accept, IncomingLink, Receiver, Sender};
use eventhubs_protocol::address::EntityAddress;
use eventhubs_protocol::constants as k;
use eventhubs_protocol::selector::StartPosition;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use crate::auth::{Grants, LinkAuth};
use crate::delivery::{self, Consumer};
use crate::epochs::Epochs;
use crate::namespace::Namespace;
use crate::{ingest, requests};

/// State shared by every connection.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Hubs and partitions.
    pub ns: Arc<Namespace>,
    /// Receiver ownership.
    pub epochs: Arc<Epochs>,
    /// Open connections (handshake done), when limited.
    pub open_connections: Option<Arc<tokio::sync::Semaphore>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Cbs,
    Management,
}

/// A client's receiver link on `$cbs` or `$management`, where responses go.
#[derive(Debug)]
struct ReplyLink {
    name: String,
    target: Option<String>,
    session: SessionId,
    node: Node,
    sender: Sender,
}

#[derive(Debug, Default)]
struct ConnState {
    grants: Arc<Grants>,
    replies: Mutex<Vec<ReplyLink>>,
    /// `$management` requests so far (for the delay fault).
    management_requests: std::sync::atomic::AtomicU64,
}

impl ConnState {
    /// docs/PROTOCOL.md §3.1: by reply-to (target address, then link name), else the node's
    /// reply link on the same session.
    fn reply_link(&self, reply_to: Option<&str>, session: SessionId, node: Node) -> Option<Sender> {
        let replies = self.replies.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = reply_to {
            let by_target = replies
                .iter()
                .rev()
                .find(|l| l.target.as_deref() == Some(r));
            if let Some(l) = by_target.or_else(|| replies.iter().rev().find(|l| l.name == r)) {
                return Some(l.sender.clone());
            }
        }
        replies
            .iter()
            .rev()
            .find(|l| l.session == session && l.node == node)
            .map(|l| l.sender.clone())
    }
}

/// Serves one accepted stream until the client closes it or the emulator shuts down.
pub(crate) async fn serve<S>(stream: S, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let cfg = &shared.ns.config;
    let config =
        ConnectionConfig::server(format!("eventhubs-emulator-{}", shared.ns.config.namespace))
            .max_frame_size(cfg.max_frame_size)
            .max_message_size(cfg.max_message_size)
            .handshake_timeout(Some(cfg.handshake_timeout));
    let (conn, mut links) = match accept(stream, config).await {
        Ok(x) => x,
        Err(e) => {
            tracing::debug!(error = %e, "handshake failed");
            return;
        }
    };
    // The limit counts open connections only: sockets still in their handshake (bounded
    // by the accept loop and the handshake timeout) cannot fill it.
    let _slot = match &shared.open_connections {
        None => None,
        Some(limit) => match limit.clone().try_acquire_owned() {
            Ok(slot) => Some(slot),
            Err(_) => {
                let error = AmqpError::new(
                    condition::RESOURCE_LIMIT_EXCEEDED,
                    format!(
                        "the emulator's connection limit ({}) is reached",
                        cfg.max_connections
                    ),
                );
                tracing::info!(%error, "refusing connection");
                let _ = conn.close(Some(error)).await;
                return;
            }
        },
    };
    tracing::debug!(container = %conn.remote_open().container_id, "connection open");
    let state = Arc::new(ConnState::default());
    let mut count = 0usize;
    loop {
        tokio::select! {
            link = links.recv() => match link {
                Some(link) => {
                    count += 1;
                    if count > shared.ns.config.max_links_per_connection {
                        refuse(link, condition::RESOURCE_LIMIT_EXCEEDED, "too many links on this connection".into()).await;
                        continue;
                    }
                    attach(link, &shared, &state).await;
                }
                None => break,
            },
            _ = shutdown.changed() => {
                let _ = conn.close(Some(AmqpError::new(condition::CONNECTION_FORCED, "the emulator is shutting down"))).await;
                break;
            }
        }
    }
    tracing::debug!("connection closed");
}

async fn refuse(link: IncomingLink, cond: &'static str, description: String) {
    refuse_with(link, AmqpError::new(cond, description)).await
}

async fn refuse_with(link: IncomingLink, error: AmqpError) {
    tracing::info!(link = %link.attach().name, %error, "refusing link");
    let _ = link.refuse(error).await;
}

fn not_found(ns: &Namespace, what: &str) -> String {
    format!(
        "The messaging entity '{}:{what}' could not be found.",
        ns.config.namespace
    )
}

async fn attach(link: IncomingLink, shared: &Arc<Shared>, state: &Arc<ConnState>) {
    let a = link.attach();
    let address = match link.peer_role() {
        Role::Sender => a.target.as_ref().and_then(|t| t.address.clone()),
        Role::Receiver => a.source.as_ref().and_then(|s| s.address.clone()),
    };
    let Some(address) = address else {
        return refuse(
            link,
            condition::INVALID_FIELD,
            "the link has no address".into(),
        )
        .await;
    };
    let entity = match EntityAddress::parse(&address) {
        Ok(e) => e,
        Err(e) => return refuse(link, condition::NOT_FOUND, e.to_string()).await,
    };
    match (link.peer_role(), entity) {
        (Role::Sender, EntityAddress::Cbs) => requests_link(link, shared, state, Node::Cbs).await,
        (Role::Sender, EntityAddress::Management) => {
            requests_link(link, shared, state, Node::Management).await
        }
        (Role::Receiver, EntityAddress::Cbs) => reply_link(link, state, Node::Cbs).await,
        (Role::Receiver, EntityAddress::Management) => {
            reply_link(link, state, Node::Management).await
        }
        (Role::Sender, EntityAddress::Hub { hub }) => {
            producer(link, shared, state, &hub, None).await
        }
        (Role::Sender, EntityAddress::Partition { hub, partition }) => {
            producer(link, shared, state, &hub, Some(&partition)).await
        }
        (
            Role::Receiver,
            EntityAddress::ConsumerPartition {
                hub,
                consumer_group,
                partition,
            },
        ) => consumer(link, shared, state, &hub, &consumer_group, &partition).await,
        (role, other) => {
            let what = if role == Role::Sender {
                "send to"
            } else {
                "receive from"
            };
            refuse(
                link,
                condition::NOT_ALLOWED,
                format!("cannot {what} {}", other.to_address()),
            )
            .await
        }
    }
}

async fn reply_link(link: IncomingLink, state: &Arc<ConnState>, node: Node) {
    let name = link.attach().name.clone();
    let target = link
        .attach()
        .target
        .as_ref()
        .and_then(|t| t.address.clone());
    let session = link.session();
    if let Ok(sender) = link.accept_sender(LinkConfig::default()).await {
        state
            .replies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ReplyLink {
                name,
                target,
                session,
                node,
                sender,
            });
    }
}

async fn requests_link(
    link: IncomingLink,
    shared: &Arc<Shared>,
    state: &Arc<ConnState>,
    node: Node,
) {
    let session = link.session();
    let Ok(rx) = link.accept_receiver(LinkConfig::default(), 50).await else {
        return;
    };
    tokio::spawn(serve_requests(
        rx,
        session,
        node,
        shared.ns.clone(),
        state.clone(),
    ));
}

async fn serve_requests(
    mut rx: Receiver,
    session: SessionId,
    node: Node,
    ns: Arc<Namespace>,
    state: Arc<ConnState>,
) {
    while let Ok(d) = rx.recv().await {
        if !d.settled && rx.accept(&d).await.is_err() {
            return;
        }
        let request = match Message::decode(&d.payload) {
            Ok(m) => m,
            Err(e) => {
                tracing::info!(error = %e, ?node, "undecodable request ignored");
                continue;
            }
        };
        let mut delay = None;
        let response = match node {
            Node::Cbs => requests::put_token(&ns, &state.grants, &request),
            Node::Management => {
                let n = state
                    .management_requests
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    + 1;
                delay = ns.config.faults.management_delay(n);
                requests::management(&ns, &request)
            }
        };
        let reply_to = request
            .properties
            .as_ref()
            .and_then(|p| p.reply_to.as_deref());
        match state.reply_link(reply_to, session, node) {
            Some(tx) => {
                let bytes = eventhubs_amqp::codec::Encode::to_bytes(&response);
                match delay {
                    None => drop(tx.send_settled(bytes, 0).await),
                    // The delay fault: this reply comes late, the requests after it do not.
                    Some(delay) => drop(tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let _ = tx.send_settled(bytes, 0).await;
                    })),
                }
            }
            None => tracing::info!(
                ?node,
                ?reply_to,
                "no reply link for a request; response dropped"
            ),
        }
    }
}

async fn producer(
    link: IncomingLink,
    shared: &Arc<Shared>,
    state: &Arc<ConnState>,
    hub: &str,
    partition: Option<&str>,
) {
    let ns = &shared.ns;
    let Some(hub_index) = ns.hub_index(hub) else {
        return refuse(
            link,
            condition::NOT_FOUND,
            not_found(ns, &format!("eventhub:{hub}")),
        )
        .await;
    };
    let h = &ns.hubs[hub_index];
    let partition_index = match partition {
        None => None,
        Some(id) => match h.partitions.iter().position(|p| p.id == id) {
            Some(i) => Some(i),
            None => {
                return refuse(
                    link,
                    condition::NOT_FOUND,
                    not_found(ns, &format!("eventhub:{}/partitions/{id}", h.name)),
                )
                .await
            }
        },
    };
    let path = match partition {
        Some(id) => format!("{}/partitions/{id}", h.name.to_ascii_lowercase()),
        None => h.name.to_ascii_lowercase(),
    };
    let starved = ns.config.faults.starves(&path);
    let Some(auth) = LinkAuth::check(&state.grants, path) else {
        return refuse(link, condition::UNAUTHORIZED_ACCESS, "Unauthorized access. 'Send' claim(s) are required to perform this operation. Put a token on $cbs first.".into()).await;
    };
    let config = LinkConfig::default().max_message_size(ns.config.max_message_size);
    if starved {
        // Fault: attached, never given credit; held until the client detaches it.
        if let Ok(mut rx) = link.accept_receiver(config, 0).await {
            tokio::spawn(async move { while rx.recv().await.is_ok() {} });
        }
        return;
    }
    let Ok(rx) = link.accept_receiver(config, 1000).await else {
        return;
    };
    tokio::spawn(ingest::serve(
        rx,
        ns.clone(),
        hub_index,
        partition_index,
        auth,
    ));
}

async fn consumer(
    link: IncomingLink,
    shared: &Arc<Shared>,
    state: &Arc<ConnState>,
    hub: &str,
    cg: &str,
    partition: &str,
) {
    let ns = &shared.ns;
    let Some(hub_index) = ns.hub_index(hub) else {
        return refuse(
            link,
            condition::NOT_FOUND,
            not_found(ns, &format!("eventhub:{hub}")),
        )
        .await;
    };
    let h = &ns.hubs[hub_index];
    if !h.has_consumer_group(cg) {
        return refuse(
            link,
            condition::NOT_FOUND,
            not_found(ns, &format!("eventhub:{}/consumergroups/{cg}", h.name)),
        )
        .await;
    }
    let Some(partition_index) = h.partitions.iter().position(|p| p.id == partition) else {
        return refuse(
            link,
            condition::NOT_FOUND,
            not_found(
                ns,
                &format!(
                    "eventhub:{}/consumergroups/{cg}/partitions/{partition}",
                    h.name
                ),
            ),
        )
        .await;
    };
    let path =
        format!("{}/consumergroups/{}/partitions/{partition}", h.name, cg).to_ascii_lowercase();
    let Some(auth) = LinkAuth::check(&state.grants, path) else {
        return refuse(link, condition::UNAUTHORIZED_ACCESS, "Unauthorized access. 'Listen' claim(s) are required to perform this operation. Put a token on $cbs first.".into()).await;
    };
    let a = link.attach();
    let position =
        match StartPosition::from_filter(a.source.as_ref().and_then(|s| s.filter.as_deref())) {
            Ok(p) => p.unwrap_or(StartPosition::Earliest),
            Err(e) => return refuse(link, condition::NOT_ALLOWED, e.to_string()).await,
        };
    if let StartPosition::Offset { offset, .. } = &position {
        if offset.parse::<i64>().is_err() {
            let why = format!("The offset '{offset}' is not valid: offsets on this hub are decimal numbers, as events carry them.");
            return refuse(link, k::ARGUMENT_ERROR, why).await;
        }
    }
    let prop = |key: &str| {
        a.properties
            .as_ref()
            .and_then(|p| p.iter().find(|(k, _)| k.as_str() == key))
            .map(|(_, v)| v.clone())
    };
    let epoch = prop(k::EPOCH).and_then(|v| v.as_i64());
    let name = prop(k::RECEIVER_NAME).and_then(|v| v.as_str().map(str::to_owned));
    let runtime_metric = a
        .desired_capabilities
        .as_ref()
        .is_some_and(|c| c.iter().any(|s| s.as_str() == k::RUNTIME_METRIC));
    let (registration, stolen) = match shared.epochs.register(&h.name, cg, partition, epoch, name) {
        Ok(r) => r,
        Err(e) => return refuse_with(link, e).await,
    };
    let next = h.partitions[partition_index].lock().resolve(&position);
    let mut config = LinkConfig::default().max_message_size(ns.config.max_message_size);
    if runtime_metric {
        config.offered_capabilities = Some(vec![k::RUNTIME_METRIC.into()]);
    }
    let Ok(sender) = link.accept_sender(config).await else {
        return;
    };
    let consumer = Consumer {
        sender: sender.clone(),
        hub: hub_index,
        partition: partition_index,
        next,
        stolen,
        registration,
        runtime_metric,
    };
    let ns = ns.clone();
    let mut auth = auth;
    tokio::spawn(async move {
        tokio::select! {
            _ = delivery::serve(ns.clone(), consumer) => {}
            _ = auth.lapsed() => {
                tracing::info!("consumer link detached: token expired");
                ns.links_expired.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let _ = sender.close(Some(AmqpError::new(condition::UNAUTHORIZED_ACCESS, "the token authorizing this link expired"))).await;
            }
        }
    });
}
