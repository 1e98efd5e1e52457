//! The request/response nodes: `$cbs` put-token and `$management` READ (docs/PROTOCOL.md §2.4,
//! §3). Responses echo the request's message-id as correlation-id with the same AMQP type.

use eventhubs_amqp::message::{ApplicationProperties, Body, Message, Properties};
use eventhubs_amqp::types::{Timestamp, Value};
use eventhubs_protocol::constants as k;

use crate::auth::{self, Grants};
use crate::clock;
use crate::namespace::Namespace;

fn app_prop<'a>(m: &'a Message, key: &str) -> Option<&'a Value> {
    m.application_properties
        .as_ref()?
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn app_str<'a>(m: &'a Message, key: &str) -> Option<&'a str> {
    app_prop(m, key).and_then(Value::as_str)
}

/// A response to `request` with a status, description, optional error condition and body.
fn response(
    request: &Message,
    status: i32,
    description: &str,
    condition: Option<&str>,
    body: Value,
) -> Message {
    let mut props: ApplicationProperties = vec![
        (k::STATUS_CODE.into(), Value::Int(status)),
        (k::STATUS_DESCRIPTION.into(), Value::from(description)),
    ];
    if let Some(c) = condition {
        props.push((k::ERROR_CONDITION.into(), Value::Symbol(c.into())));
    }
    let correlation_id = request
        .properties
        .as_ref()
        .and_then(|p| p.message_id.clone());
    Message {
        properties: Some(Properties {
            correlation_id,
            ..Properties::default()
        }),
        application_properties: Some(props),
        body: Body::Value(body),
        ..Message::default()
    }
}

/// Handles a `$cbs` request: validates the token and records the grant.
pub(crate) fn put_token(ns: &Namespace, grants: &Grants, request: &Message) -> Message {
    if app_str(request, k::OPERATION) != Some(k::PUT_TOKEN) {
        return response(
            request,
            400,
            "unsupported $cbs operation",
            Some(k::ARGUMENT_ERROR),
            Value::Null,
        );
    }
    let token_type = app_str(request, k::TYPE).unwrap_or_default();
    let audience = app_str(request, k::NAME).unwrap_or_default();
    let expiration = app_prop(request, k::EXPIRATION).and_then(Value::as_i64);
    let token = match &request.body {
        Body::Value(Value::String(s)) => s.as_str(),
        _ => {
            return response(
                request,
                400,
                "put-token body must be an amqp-value string",
                Some(k::ARGUMENT_ERROR),
                Value::Null,
            )
        }
    };
    match auth::validate(&ns.config, token_type, token, audience, expiration) {
        Ok((path, expiry)) => {
            tracing::debug!(%audience, %path, expiry, "token accepted");
            grants.grant(path, expiry);
            response(request, 202, "Accepted", None, Value::Null)
        }
        Err(refusal) => {
            tracing::info!(%audience, status = refusal.status, description = %refusal.description, "token refused");
            let cond = if refusal.status == 401 {
                "amqp:unauthorized-access"
            } else {
                k::ARGUMENT_ERROR
            };
            response(
                request,
                refusal.status,
                &refusal.description,
                Some(cond),
                Value::Null,
            )
        }
    }
}

fn entry(key: &str, v: Value) -> (Value, Value) {
    (Value::String(key.into()), v)
}

/// Handles a `$management` request (READ of a hub or a partition).
pub(crate) fn management(ns: &Namespace, request: &Message) -> Message {
    if app_str(request, k::OPERATION) != Some(k::READ) {
        return response(
            request,
            400,
            "only READ is supported",
            Some(k::ARGUMENT_ERROR),
            Value::Null,
        );
    }
    let name = app_str(request, k::NAME).unwrap_or_default();
    let Some(hub) = ns.hub(name) else {
        let d = format!(
            "The messaging entity '{}:eventhub:{name}' could not be found.",
            ns.config.namespace
        );
        return response(request, 404, &d, Some("amqp:not-found"), Value::Null);
    };
    match app_str(request, k::TYPE) {
        Some(k::EVENTHUB_TYPE) => {
            let ids = hub
                .partitions
                .iter()
                .map(|p| Value::String(p.id.clone()))
                .collect();
            let body = Value::Map(vec![
                entry("name", Value::from(hub.name.as_str())),
                entry("type", Value::from(k::EVENTHUB_TYPE)),
                entry("created_at", Value::Timestamp(Timestamp(hub.created_ms))),
                entry("partition_count", Value::Int(hub.partitions.len() as i32)),
                entry("partition_ids", Value::Array(ids)),
                entry("georeplication_factor", Value::Int(1)),
            ]);
            response(request, 200, "OK", None, body)
        }
        Some(k::PARTITION_TYPE) => {
            let id = app_str(request, k::PARTITION).unwrap_or_default();
            let Some(p) = hub.partition(id) else {
                let d = format!(
                    "The messaging entity '{}:eventhub:{}/partitions/{id}' could not be found.",
                    ns.config.namespace, hub.name
                );
                return response(request, 404, &d, Some("amqp:not-found"), Value::Null);
            };
            let info = p.lock().info();
            let time = info.last_enqueued_ms.unwrap_or(k::YEAR_ONE_MILLIS);
            let body = Value::Map(vec![
                entry("name", Value::from(hub.name.as_str())),
                entry("type", Value::from(k::PARTITION_TYPE)),
                entry("partition", Value::from(id)),
                entry(
                    "begin_sequence_number",
                    Value::Long(info.begin_sequence_number),
                ),
                entry(
                    "last_enqueued_sequence_number",
                    Value::Long(info.last_sequence_number),
                ),
                entry(
                    "last_enqueued_offset",
                    Value::String(info.last_offset.to_string()),
                ),
                entry("last_enqueued_time_utc", Value::Timestamp(Timestamp(time))),
                entry("is_partition_empty", Value::Bool(info.is_empty)),
                entry("begin_sequence_number_epoch", Value::Int(0)),
                entry("last_enqueued_sequence_number_epoch", Value::Int(0)),
                entry("last_enqueued_replicationgroupepoch", Value::Int(0)),
                entry(
                    "runtime_info_retrieval_time_utc",
                    Value::Timestamp(Timestamp(clock::now_ms())),
                ),
            ]);
            response(request, 200, "OK", None, body)
        }
        other => response(
            request,
            400,
            &format!("unsupported type {other:?}"),
            Some(k::ARGUMENT_ERROR),
            Value::Null,
        ),
    }
}
