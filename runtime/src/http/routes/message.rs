//! [`JsonMessage`]: how a request message is read from JSON, path variables and the query.

use serde::de::DeserializeOwned;
use serde::Deserialize as _;
use serde_json::{Map, Value};

use crate::http::query::{self, QueryField, QuerySchema};

/// A request message as HTTP/JSON reads it: every generated message (through its `QuerySchema`
/// and serde impls), and `()`, which is how prost-build maps `google.protobuf.Empty`.
pub trait JsonMessage: Sized + Send + 'static {
    /// The fields query parameters and path variables can set.
    fn query_fields() -> &'static [QueryField];
    /// Reads the message from its JSON; errors name the path of the bad value.
    fn from_value(value: Value) -> Result<Self, String>;
    /// Reads the message from a JSON body.
    fn from_body(bytes: &[u8]) -> Result<Self, String>;
    /// The message an empty request body stands for: the default message, which is what `{}`
    /// reads as, also for a well-known type whose JSON is not an object (an empty body is a
    /// zero `Duration`, while `{}` is no duration).
    fn empty_body() -> Self;
    /// Sets the message's fields from top-level path variables and query parameters directly
    /// (see `query::Flat::set`, which moves path variables of text fields out of `bindings`);
    /// `None` when some value is not set that way ([`from_flat`] then reads it).
    ///
    /// [`from_flat`]: JsonMessage::from_flat
    fn set_flat(
        _query: &str,
        _bindings: &mut [(&'static str, String)],
        _reject_unknown: bool,
    ) -> Option<Self> {
        None
    }
    /// Reads the message from top-level path variables and query parameters; `None` when it
    /// does not read (the general way then explains why).
    fn from_flat(_flat: query::Flat<'_>) -> Option<Self> {
        None
    }
    /// Why the message cannot be read from `value`, without the path; `None` when it can.
    fn rejects(value: Value) -> Option<String>;
}

impl<T> JsonMessage for T
where
    T: QuerySchema + DeserializeOwned + Default + Send + 'static,
{
    fn query_fields() -> &'static [QueryField] {
        T::query_fields()
    }

    fn from_value(value: Value) -> Result<Self, String> {
        // Read at full speed first; track the path only to explain an error.
        T::deserialize(&value).map_err(|_| match serde_path_to_error::deserialize::<_, T>(&value) {
            Err(e) => {
                let path = e.path().to_string();
                format!("invalid request field `{path}`: {}", e.into_inner())
            }
            Ok(_) => "invalid request".to_owned(),
        })
    }

    fn from_body(bytes: &[u8]) -> Result<Self, String> {
        crate::json::from_slice(bytes).map_err(|e| format!("invalid JSON body: {e}"))
    }

    fn empty_body() -> Self {
        T::default()
    }

    fn set_flat(
        query: &str,
        bindings: &mut [(&'static str, String)],
        reject_unknown: bool,
    ) -> Option<Self> {
        query::Flat::set(query, bindings, reject_unknown)
    }

    fn from_flat(flat: query::Flat<'_>) -> Option<Self> {
        T::deserialize(flat).ok()
    }

    fn rejects(value: Value) -> Option<String> {
        T::deserialize(value).err().map(|e| e.to_string())
    }
}

impl JsonMessage for () {
    fn query_fields() -> &'static [QueryField] {
        &[]
    }

    fn from_value(_: Value) -> Result<Self, String> {
        Ok(())
    }

    fn from_body(bytes: &[u8]) -> Result<Self, String> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(_)) => Ok(()),
            Ok(_) => Err("invalid JSON body: google.protobuf.Empty is written {}".to_owned()),
            Err(e) => Err(format!("invalid JSON body: {e}")),
        }
    }

    fn empty_body() -> Self {}

    fn from_flat(_: query::Flat<'_>) -> Option<Self> {
        Some(())
    }

    fn rejects(_: Value) -> Option<String> {
        None
    }
}

/// The wrappers (`google.protobuf.Int64Value`, ...) as whole requests, which prost maps to the
/// bare value (`i64`): the body is the value's proto3 JSON (`"123"`), and an empty body (`{}`)
/// is the default value.
macro_rules! wrapper_request {
    ($($t:ty => $codec:ident),* $(,)?) => {$(
        impl JsonMessage for $t {
            fn query_fields() -> &'static [QueryField] {
                &[]
            }

            fn from_value(value: Value) -> Result<Self, String> {
                if value.as_object().is_some_and(Map::is_empty) {
                    return Ok(Self::default());
                }
                crate::json::De::<crate::json::codec::$codec, $t>::deserialize(value)
                    .map(|read| read.0)
                    .map_err(|e| format!("invalid request: {e}"))
            }

            fn from_body(bytes: &[u8]) -> Result<Self, String> {
                let value: Value = serde_json::from_slice(bytes)
                    .map_err(|e| format!("invalid JSON body: {e}"))?;
                Self::from_value(value)
            }

            fn empty_body() -> Self {
                Self::default()
            }

            fn rejects(value: Value) -> Option<String> {
                Self::from_value(value).err()
            }
        }
    )*};
}

wrapper_request!(
    f64 => Double,
    f32 => Float,
    i64 => Int64,
    u64 => Uint64,
    i32 => Int32,
    u32 => Uint32,
    bool => Bool,
    String => Str,
    Vec<u8> => Bytes,
);
