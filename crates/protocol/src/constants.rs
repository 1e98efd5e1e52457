//! Names of annotations, link properties, capabilities and request keys (docs/PROTOCOL.md §2–5).

#![allow(missing_docs)]

// Message annotations the service sets on every event.
pub const SEQUENCE_NUMBER: &str = "x-opt-sequence-number";
pub const OFFSET: &str = "x-opt-offset";
pub const ENQUEUED_TIME: &str = "x-opt-enqueued-time";
pub const PARTITION_KEY: &str = "x-opt-partition-key";

// Link properties and capabilities.
pub const EPOCH: &str = "com.microsoft:epoch";
pub const RECEIVER_NAME: &str = "com.microsoft:receiver-name";
pub const TIMEOUT: &str = "com.microsoft:timeout";
pub const ENTITY_TYPE: &str = "com.microsoft:entity-type";
pub const GEOREPLICATION: &str = "com.microsoft:georeplication";
pub const RUNTIME_METRIC: &str = "com.microsoft:enable-receiver-runtime-metric";

// Runtime-metric delivery annotations.
pub const LAST_ENQUEUED_SEQUENCE_NUMBER: &str = "last_enqueued_sequence_number";
pub const LAST_ENQUEUED_OFFSET: &str = "last_enqueued_offset";
pub const LAST_ENQUEUED_TIME_UTC: &str = "last_enqueued_time_utc";
pub const RUNTIME_INFO_RETRIEVAL_TIME_UTC: &str = "runtime_info_retrieval_time_utc";

// Request/response application properties ($cbs and $management).
pub const OPERATION: &str = "operation";
pub const TYPE: &str = "type";
pub const NAME: &str = "name";
pub const PARTITION: &str = "partition";
pub const EXPIRATION: &str = "expiration";
pub const SECURITY_TOKEN: &str = "security_token";
pub const STATUS_CODE: &str = "status-code";
pub const STATUS_DESCRIPTION: &str = "status-description";
pub const ERROR_CONDITION: &str = "error-condition";

// Operation and type values.
pub const PUT_TOKEN: &str = "put-token";
pub const READ: &str = "READ";
pub const SAS_TOKEN_TYPE: &str = "servicebus.windows.net:sastoken";
pub const JWT_TOKEN_TYPE: &str = "jwt";
pub const EVENTHUB_TYPE: &str = "com.microsoft:eventhub";
pub const PARTITION_TYPE: &str = "com.microsoft:partition";

// Service error conditions beyond the AMQP standard ones.
pub const SERVER_BUSY: &str = "com.microsoft:server-busy";
pub const ARGUMENT_ERROR: &str = "com.microsoft:argument-error";
pub const TIMEOUT_ERROR: &str = "com.microsoft:timeout";

/// `last_enqueued_time_utc` of an empty partition: 0001-01-01T00:00:00Z in Unix ms.
pub const YEAR_ONE_MILLIS: i64 = -62_135_596_800_000;
