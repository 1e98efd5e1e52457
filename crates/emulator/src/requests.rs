//! The request/response nodes: `$cbs` put-token and `$management` READ (docs/PROTOCOL.md §2.4,
//! §3), read and answered with the protocol crate's typed messages. Responses echo the
//! request's message-id as correlation-id with the same AMQP type.

use eventhubs_amqp::definitions::condition;
use eventhubs_amqp::message::Message;
use eventhubs_amqp::types::Value;
use eventhubs_protocol::cbs::PutToken;
use eventhubs_protocol::constants as k;
use eventhubs_protocol::management::{EventHubInfo, PartitionInfo, ReadRequest};
use eventhubs_protocol::response::Response;

use crate::auth::{self, Grants};
use crate::clock;
use crate::namespace::Namespace;

/// Handles a `$cbs` request: validates the token and records the grant.
pub(crate) fn put_token(ns: &Namespace, grants: &Grants, request: &Message) -> Message {
    let put = match PutToken::from_message(request) {
        Ok(put) => put,
        Err(e) => return Response::error(400, k::ARGUMENT_ERROR, e.0).to_message(request),
    };
    let response = match auth::validate(
        &ns.config,
        &put.token_type,
        &put.token,
        &put.audience,
        put.expiration_ms,
    ) {
        Ok((path, expiry)) => {
            tracing::debug!(audience = %put.audience, r#type = %put.token_type, %path, expiry, "token accepted");
            grants.grant(path, expiry);
            Response::ok(202, "Accepted", Value::Null)
        }
        Err(refusal) => {
            tracing::info!(audience = %put.audience, status = refusal.status, description = %refusal.description, "token refused");
            let cond = if refusal.status == 401 {
                condition::UNAUTHORIZED_ACCESS
            } else {
                k::ARGUMENT_ERROR
            };
            Response::error(refusal.status, cond, refusal.description)
        }
    };
    response.to_message(request)
}

/// Handles a `$management` request (READ of a hub or a partition).
pub(crate) fn management(ns: &Namespace, request: &Message) -> Message {
    let response = match ReadRequest::from_message(request) {
        Ok(read) => read_response(ns, &read),
        Err(e) => Response::error(400, k::ARGUMENT_ERROR, e.0),
    };
    response.to_message(request)
}

fn read_response(ns: &Namespace, read: &ReadRequest) -> Response {
    let Some(hub) = ns.hub(&read.hub) else {
        return Response::error(
            404,
            condition::NOT_FOUND,
            format!(
                "The messaging entity '{}:eventhub:{}' could not be found.",
                ns.config.namespace, read.hub
            ),
        );
    };
    let Some(id) = &read.partition else {
        let info = EventHubInfo {
            name: hub.name.clone(),
            created_at_ms: Some(hub.created_ms),
            partition_ids: hub.partitions.iter().map(|p| p.id.clone()).collect(),
        };
        return Response::ok(200, "OK", info.to_value());
    };
    let Some(p) = hub.partition(id) else {
        return Response::error(
            404,
            condition::NOT_FOUND,
            format!(
                "The messaging entity '{}:eventhub:{}/partitions/{id}' could not be found.",
                ns.config.namespace, hub.name
            ),
        );
    };
    let stats = p.lock().info();
    let info = PartitionInfo {
        hub: hub.name.clone(),
        partition: id.clone(),
        begin_sequence_number: stats.begin_sequence_number,
        last_enqueued_sequence_number: stats.last_sequence_number,
        last_enqueued_offset: stats.last_offset.to_string(),
        last_enqueued_time_ms: stats.last_enqueued_ms,
        is_empty: stats.is_empty,
        retrieval_time_ms: Some(clock::now_ms()),
    };
    Response::ok(200, "OK", info.to_value())
}
