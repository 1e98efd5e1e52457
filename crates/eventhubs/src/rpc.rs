//! Request/response over a node (`$cbs`, `$management`): one sender and one receiver
//! link, requests serialized, responses matched by correlation-id.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::message::{Body, Message, Properties};
use eventhubs_amqp::types::Value;
use eventhubs_amqp_io::{Receiver, Sender, Session};
use eventhubs_protocol::constants as k;
use tokio::sync::Mutex;

use crate::error::{Error, ErrorKind};

/// A request/response client for one node on one session.
#[derive(Debug)]
pub(crate) struct RpcClient {
    node: &'static str,
    reply_to: String,
    sender: Sender,
    receiver: Mutex<Receiver>,
    next_id: AtomicU64,
}

/// A successful response's body.
#[derive(Debug)]
pub(crate) struct Response {
    pub body: Value,
}

impl RpcClient {
    /// Attaches the two links of `node` on `session`.
    pub(crate) async fn open(session: &Session, node: &'static str) -> Result<Self, Error> {
        let reply_to = format!("{node}-client-{}", unique());
        let mut rx_config = LinkConfig::receiver(format!("{reply_to}-rx"), node);
        if let Some(t) = rx_config.target.as_mut() {
            t.address = Some(reply_to.clone());
        }
        let receiver = session.attach_receiver(rx_config, 50).await?;
        let sender = session
            .attach_sender(LinkConfig::sender(format!("{reply_to}-tx"), node))
            .await?;
        Ok(Self {
            node,
            reply_to,
            sender,
            receiver: Mutex::new(receiver),
            next_id: AtomicU64::new(1),
        })
    }

    /// Sends a request with these application properties and body; waits up to
    /// `timeout` for the response. Statuses outside 200–299 become errors carrying the
    /// response's error condition and description.
    pub(crate) async fn call(
        &self,
        properties: Vec<(String, Value)>,
        body: Value,
        timeout: Duration,
    ) -> Result<Response, Error> {
        let mut receiver = self.receiver.lock().await;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = Message {
            properties: Some(Properties {
                message_id: Some(Value::Ulong(id)),
                reply_to: Some(self.reply_to.clone()),
                ..Properties::default()
            }),
            application_properties: Some(properties),
            body: Body::Value(body),
            ..Message::default()
        };
        let node = self.node;
        let exchange = async {
            self.sender.send_encoded(request.to_bytes(), 0).await?;
            loop {
                let delivery = receiver.recv().await?;
                let reply = Message::decode(&delivery.payload).map_err(|e| {
                    Error::new(
                        ErrorKind::Service,
                        format!("{node} sent an undecodable response: {e}"),
                    )
                })?;
                let correlates = reply
                    .properties
                    .as_ref()
                    .and_then(|p| p.correlation_id.as_ref())
                    .is_some_and(|c| c == &Value::Ulong(id));
                if correlates {
                    return Ok(reply);
                }
                tracing::debug!(node, "dropping a response to an earlier request");
            }
        };
        let reply: Message = tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Timeout,
                    format!("{node} did not answer within {timeout:?}"),
                )
            })?
            .map_err(|e: Error| e)?;
        let prop = |name: &str| {
            reply
                .application_properties
                .as_ref()
                .and_then(|p| p.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        };
        let status = prop(k::STATUS_CODE)
            .and_then(|v| v.as_i64())
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Service,
                    format!("{node} response has no status-code"),
                )
            })? as i32;
        if !(200..300).contains(&status) {
            let description = prop(k::STATUS_DESCRIPTION)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let condition = prop(k::ERROR_CONDITION).and_then(|v| v.as_str().map(str::to_owned));
            let message = format!("{node} request failed with status {status}: {description}");
            return Err(match (condition, status) {
                (Some(c), _) => Error::from_condition(&c, message),
                (None, 401) => Error::new(ErrorKind::Unauthorized, message),
                (None, 404) => Error::new(ErrorKind::NotFound, message),
                (None, _) => Error::new(ErrorKind::Service, message),
            });
        }
        let body = match reply.body {
            Body::Value(v) => v,
            _ => Value::Null,
        };
        Ok(Response { body })
    }
}

/// A process-unique number for link names.
pub(crate) fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
