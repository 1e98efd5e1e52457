//! Request/response over a node (`$cbs`, `$management`): one sender and one receiver
//! link; requests may be many at once, and a reader task hands each response to its
//! request by correlation-id, so no lock is held while a request waits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::message::{Body, Message, Properties};
use eventhubs_amqp::types::Value;
use eventhubs_amqp_io::{Sender, Session};
use eventhubs_protocol::cbs::CBS_NODE;
use eventhubs_protocol::response::{RequestParts, Response};
use tokio::sync::oneshot;

use crate::error::{Error, ErrorKind};

type Waiting = Arc<Mutex<HashMap<u64, oneshot::Sender<Message>>>>;

/// A request/response client for one node on one session.
#[derive(Debug)]
pub(crate) struct RpcClient {
    node: &'static str,
    reply_to: String,
    sender: Sender,
    waiting: Waiting,
    next_id: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for RpcClient {
    fn drop(&mut self) {
        // Dropping the reader drops its receiver, which detaches the reply link.
        self.reader.abort();
    }
}

impl RpcClient {
    /// Attaches the two links of `node` on `session`. Not bounded here: callers bound it.
    pub(crate) async fn open(session: &Session, node: &'static str) -> Result<Self, Error> {
        let reply_to = format!("{node}-client-{}", unique());
        let mut rx_config = LinkConfig::receiver(format!("{reply_to}-rx"), node);
        if let Some(t) = rx_config.target.as_mut() {
            t.address = Some(reply_to.clone());
        }
        let mut receiver = session.attach_receiver(rx_config, 50).await?;
        let sender = session
            .attach_sender(LinkConfig::sender(format!("{reply_to}-tx"), node))
            .await?;
        let waiting: Waiting = Arc::default();
        let dispatch = waiting.clone();
        let reader = tokio::spawn(async move {
            while let Ok(delivery) = receiver.recv().await {
                let Ok(reply) = Message::decode(&delivery.payload) else {
                    tracing::warn!(node, "undecodable response dropped");
                    continue;
                };
                let id = reply
                    .properties
                    .as_ref()
                    .and_then(|p| p.correlation_id.as_ref())
                    .and_then(Value::as_i64);
                let waiter = id.and_then(|id| {
                    dispatch
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&(id as u64))
                });
                match waiter {
                    Some(w) => {
                        let _ = w.send(reply);
                    }
                    None => tracing::debug!(node, "response to a request nobody waits for"),
                }
            }
            // The link is gone: waiting requests learn it from their dropped senders.
            dispatch.lock().unwrap_or_else(|p| p.into_inner()).clear();
        });
        Ok(Self {
            node,
            reply_to,
            sender,
            waiting,
            next_id: AtomicU64::new(1),
            reader,
        })
    }

    /// True while the reply link is alive.
    pub(crate) fn is_open(&self) -> bool {
        !self.reader.is_finished()
    }

    /// What this node's requests are, in a user's words (error messages never say `$cbs`).
    fn what(&self) -> &'static str {
        if self.node == CBS_NODE {
            "the authorization request (put-token)"
        } else {
            "the management request"
        }
    }

    /// Sends `request`; waits up to `timeout` for the response. Statuses outside 200–299
    /// become errors carrying the response's error condition and description.
    /// Cancel-safe: a cancelled request's response, if it comes, is dropped.
    pub(crate) async fn call(
        &self,
        request: RequestParts,
        timeout: Duration,
    ) -> Result<Response, Error> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let message = Message {
            properties: Some(Properties {
                message_id: Some(Value::Ulong(id)),
                reply_to: Some(self.reply_to.clone()),
                ..Properties::default()
            }),
            application_properties: Some(request.properties),
            body: Body::Value(request.body),
            ..Message::default()
        };
        let (tx, rx) = oneshot::channel();
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let _forget = Forget {
            waiting: &self.waiting,
            id,
        };
        let what = self.what();
        let exchange = async {
            self.sender.send_encoded(message.to_bytes(), 0).await?;
            rx.await.map_err(|_| {
                Error::new(
                    ErrorKind::ConnectionLost,
                    format!("the connection's reply link closed before {what} was answered"),
                )
            })
        };
        let reply: Message = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!("{what} got no answer within {timeout:?}"),
                )
            })??;
        let response = Response::from_message(reply)
            .map_err(|e| Error::new(ErrorKind::Service, format!("{what}: {e}")))?;
        if !response.is_success() {
            let status = response.status;
            let message = format!(
                "{what} failed with status {status}: {}",
                response.description
            );
            return Err(match (response.condition.as_deref(), status) {
                (Some(c), _) => Error::from_condition(c, message),
                (None, 401) => Error::new(ErrorKind::Unauthorized, message),
                (None, 404) => Error::new(ErrorKind::NotFound, message),
                (None, _) => Error::new(ErrorKind::Service, message),
            });
        }
        Ok(response)
    }
}

/// Removes a request's entry however the call ends (answered, timed out, cancelled).
struct Forget<'a> {
    waiting: &'a Waiting,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
    }
}

/// A process-unique number for link names.
pub(crate) fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
