//! The `$cbs` put-token request (claims-based security, docs/PROTOCOL.md §2.4): how a
//! connection proves it may send to or receive from an entity.

use std::fmt;

use eventhubs_amqp::message::{Body, Message};
use eventhubs_amqp::types::{Timestamp, Value};

use crate::constants as k;
use crate::response::{application_property, string_property, MalformedMessage, RequestParts};

/// The node put-token requests go to.
pub const CBS_NODE: &str = "$cbs";

/// A put-token request: `token` (of `token_type`) authorizes `audience`.
#[derive(Clone, PartialEq, Eq)]
pub struct PutToken {
    /// [`SAS_TOKEN_TYPE`](k::SAS_TOKEN_TYPE) or [`JWT_TOKEN_TYPE`](k::JWT_TOKEN_TYPE).
    pub token_type: String,
    /// The entity URI the token is for (`sb://host/hub`…).
    pub audience: String,
    /// When the token expires, Unix milliseconds (sent as an AMQP timestamp; a JWT's
    /// expiry is only known from this).
    pub expiration_ms: Option<i64>,
    /// The token itself. Never printed by `Debug`.
    pub token: String,
}

impl fmt::Debug for PutToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutToken")
            .field("token_type", &self.token_type)
            .field("audience", &self.audience)
            .field("expiration_ms", &self.expiration_ms)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl PutToken {
    /// The request's properties and body.
    pub fn into_parts(self) -> RequestParts {
        let mut properties = vec![
            (k::OPERATION.to_owned(), Value::from(k::PUT_TOKEN)),
            (k::TYPE.to_owned(), Value::from(self.token_type.as_str())),
            (k::NAME.to_owned(), Value::from(self.audience.as_str())),
        ];
        if let Some(ms) = self.expiration_ms {
            properties.push((k::EXPIRATION.to_owned(), Value::Timestamp(Timestamp(ms))));
        }
        RequestParts {
            properties,
            body: Value::String(self.token),
        }
    }

    /// Reads a put-token request (the emulator's side).
    pub fn from_message(message: &Message) -> Result<Self, MalformedMessage> {
        if string_property(message, k::OPERATION) != Some(k::PUT_TOKEN) {
            return Err(MalformedMessage(format!(
                "unsupported {CBS_NODE} operation {:?}",
                string_property(message, k::OPERATION).unwrap_or_default()
            )));
        }
        let token = match &message.body {
            Body::Value(Value::String(s)) => s.clone(),
            _ => {
                return Err(MalformedMessage(
                    "put-token body must be an amqp-value string".into(),
                ))
            }
        };
        Ok(Self {
            token_type: string_property(message, k::TYPE)
                .unwrap_or_default()
                .to_owned(),
            audience: string_property(message, k::NAME)
                .unwrap_or_default()
                .to_owned(),
            expiration_ms: application_property(message, k::EXPIRATION).and_then(Value::as_i64),
            token,
        })
    }
}
