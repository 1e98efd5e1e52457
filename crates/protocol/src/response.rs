//! The status envelope every `$cbs` and `$management` response carries (docs/PROTOCOL.md
//! §2.4, §3): a status code, a description, an optional error condition and a body.

use eventhubs_amqp::message::{ApplicationProperties, Body, Message, Properties};
use eventhubs_amqp::types::Value;

use crate::constants as k;

/// A request message that does not say what it is: a property missing or of the wrong type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedMessage(pub String);

/// An application property of `message` by name.
pub fn application_property<'a>(message: &'a Message, name: &str) -> Option<&'a Value> {
    message
        .application_properties
        .as_ref()?
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, v)| v)
}

/// A string application property (string or symbol) of `message` by name.
pub fn string_property<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    application_property(message, name).and_then(Value::as_str)
}

/// A response from a request/response node.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// HTTP-like status: 200 OK, 202 accepted (put-token), 400, 401, 404, 500 …
    pub status: i32,
    /// The service's words about the status.
    pub description: String,
    /// The AMQP error condition when the request failed (e.g. `amqp:not-found`).
    pub condition: Option<String>,
    /// The body (a map for a management READ, null otherwise).
    pub body: Value,
}

impl Response {
    /// A success with `body`.
    pub fn ok(status: i32, description: &str, body: Value) -> Self {
        Self {
            status,
            description: description.to_owned(),
            condition: None,
            body,
        }
    }

    /// A failure with a status, an error condition and a description.
    pub fn error(status: i32, condition: &str, description: impl Into<String>) -> Self {
        Self {
            status,
            description: description.into(),
            condition: Some(condition.to_owned()),
            body: Value::Null,
        }
    }

    /// True for statuses 200–299.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The response message to `request`: its message-id comes back as the correlation-id,
    /// with the same AMQP type (the SDKs match on both).
    pub fn to_message(&self, request: &Message) -> Message {
        let mut props: ApplicationProperties = vec![
            (k::STATUS_CODE.into(), Value::Int(self.status)),
            (
                k::STATUS_DESCRIPTION.into(),
                Value::from(self.description.as_str()),
            ),
        ];
        if let Some(c) = &self.condition {
            props.push((k::ERROR_CONDITION.into(), Value::Symbol(c.as_str().into())));
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
            body: Body::Value(self.body.clone()),
            ..Message::default()
        }
    }

    /// Reads a response message. The status may come as any integer type (the service
    /// sends an int; some peers a long).
    pub fn from_message(message: Message) -> Result<Self, MalformedMessage> {
        let status = application_property(&message, k::STATUS_CODE)
            .and_then(Value::as_i64)
            .and_then(|s| i32::try_from(s).ok())
            .ok_or_else(|| MalformedMessage("the response has no status-code".into()))?;
        let description = string_property(&message, k::STATUS_DESCRIPTION)
            .unwrap_or_default()
            .to_owned();
        let condition = string_property(&message, k::ERROR_CONDITION).map(str::to_owned);
        let body = match message.body {
            Body::Value(v) => v,
            _ => Value::Null,
        };
        Ok(Self {
            status,
            description,
            condition,
            body,
        })
    }
}

/// A request as it goes on the wire: application properties and an `amqp-value` body.
/// The sender adds the message-id and reply-to.
#[derive(Clone, PartialEq)]
pub struct RequestParts {
    /// The application properties (`operation`, `name`, `type` …).
    pub properties: ApplicationProperties,
    /// The body.
    pub body: Value,
}

impl std::fmt::Debug for RequestParts {
    // The body may be a token: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestParts")
            .field("properties", &self.properties)
            .finish_non_exhaustive()
    }
}
