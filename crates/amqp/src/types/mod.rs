//! The AMQP 1.0 type system: primitive types and the dynamically typed [`Value`].

mod primitive;
mod value;

pub use primitive::{Decimal128, Decimal32, Decimal64, Symbol, Timestamp, Uuid};
pub use value::{Described, MixedArray, Value};

/// An AMQP map in wire order (duplicates are the sender's problem; order is kept).
pub type Map = Vec<(Value, Value)>;
/// Annotations: a map whose keys are symbols or ulongs.
pub type Annotations = Vec<(Value, Value)>;
/// Fields: a map with symbol keys.
pub type Fields = Vec<(Symbol, Value)>;
