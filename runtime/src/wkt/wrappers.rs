//! The wrappers (`Int64Value`, `StringValue`, ...): a scalar that can be absent.

use serde::de::Deserializer;
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::json::{codec, Codec};

/// A `double` that can be absent. JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct DoubleValue {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
}

/// A `float` that can be absent. JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
#[derive(Clone, Copy, PartialEq, ::prost::Message)]
pub struct FloatValue {
    /// The value.
    #[prost(float, tag = "1")]
    pub value: f32,
}

/// An `int64` that can be absent. JSON: a decimal string; numbers are accepted too.
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct Int64Value {
    /// The value.
    #[prost(int64, tag = "1")]
    pub value: i64,
}

/// A `uint64` that can be absent. JSON: a decimal string; numbers are accepted too.
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct UInt64Value {
    /// The value.
    #[prost(uint64, tag = "1")]
    pub value: u64,
}

/// An `int32` that can be absent. JSON: a number; numeric strings are accepted too.
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct Int32Value {
    /// The value.
    #[prost(int32, tag = "1")]
    pub value: i32,
}

/// A `uint32` that can be absent. JSON: a number; numeric strings are accepted too.
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct UInt32Value {
    /// The value.
    #[prost(uint32, tag = "1")]
    pub value: u32,
}

/// A `bool` that can be absent. JSON: `true` or `false`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct BoolValue {
    /// The value.
    #[prost(bool, tag = "1")]
    pub value: bool,
}

/// A `string` that can be absent. JSON: a string.
#[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
pub struct StringValue {
    /// The value.
    #[prost(string, tag = "1")]
    pub value: String,
}

/// A `bytes` value that can be absent. JSON: standard base64 with padding; on input also
/// URL-safe base64, padded or not.
#[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
pub struct BytesValue {
    /// The value.
    #[prost(bytes = "vec", tag = "1")]
    pub value: Vec<u8>,
}

/// Wrappers are their wrapped value in the proto3 JSON form of its kind: the same codecs as
/// generated fields, so the rules live in one place (`crate::json::codec`).
macro_rules! wrapper {
    ($ty:ident, $codec:ty) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <$codec as Codec<_>>::serialize(&self.value, s)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <$codec as Codec<_>>::deserialize(d).map(|value| $ty { value })
            }
        }
    };
}

wrapper!(Int64Value, codec::Int64);
wrapper!(UInt64Value, codec::Uint64);
wrapper!(Int32Value, codec::Int32);
wrapper!(UInt32Value, codec::Uint32);
wrapper!(DoubleValue, codec::Double);
wrapper!(FloatValue, codec::Float);
wrapper!(BoolValue, codec::Bool);
wrapper!(StringValue, codec::Str);
wrapper!(BytesValue, codec::Bytes);
