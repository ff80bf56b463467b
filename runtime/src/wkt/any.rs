//! `Any`, and the registry of the message types it can write and read as JSON.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::sync::{OnceLock, PoisonError, RwLock};

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::ser::{self, SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::capture::{Capture, Json};
use super::{
    BoolValue, BytesValue, DoubleValue, Duration, Empty, FieldMask, FloatValue, Int32Value,
    Int64Value, ListValue, StringValue, Struct, Timestamp, UInt32Value, UInt64Value, Value,
};

/// A message of any type, packed as its type URL and encoded bytes.
///
/// JSON: the packed message's JSON object with an extra `"@type"` member holding the type URL;
/// when the packed message is a well-known type with its own JSON form (a [`Timestamp`], a
/// wrapper, a [`Struct`], ...), that form goes in a `"value"` member instead:
/// `{"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1.5s"}`. The packed type
/// must be known, see [`register`].
#[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
pub struct Any {
    /// `<prefix>/<full message name>`, e.g. `type.googleapis.com/google.protobuf.Duration`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The packed message, encoded.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

impl Any {
    /// Packs `message`, with the type URL of [`prost::Name::type_url`].
    pub fn from_msg<M: prost::Name>(message: &M) -> Result<Self, prost::EncodeError> {
        Ok(Any {
            type_url: M::type_url(),
            value: message.encode_to_vec(),
        })
    }

    /// Unpacks the message, checking that it is an `M` (by the full name after the last `/`).
    pub fn to_msg<M: prost::Name + Default>(&self) -> Result<M, prost::DecodeError> {
        // prost-types implements the type URL comparison and its error.
        prost_types::Any::from(self.clone()).to_msg()
    }
}

impl From<prost_types::Any> for Any {
    fn from(a: prost_types::Any) -> Self {
        Any {
            type_url: a.type_url,
            value: a.value,
        }
    }
}

impl From<Any> for prost_types::Any {
    fn from(a: Any) -> Self {
        prost_types::Any {
            type_url: a.type_url,
            value: a.value,
        }
    }
}

/// How `Any` writes and reads one message type.
#[derive(Clone, Copy)]
struct Entry {
    /// The JSON goes in a `"value"` member (well-known types with their own JSON form).
    value_form: bool,
    write: fn(&[u8]) -> Result<Json, String>,
    read: fn(serde_json::Value) -> Result<Vec<u8>, String>,
    /// The encoded message as a JSON document, and a JSON document as the encoded message, for
    /// the Connect protocol's JSON (see [`encoded_to_json`]).
    #[cfg_attr(not(feature = "connect"), allow(dead_code))]
    to_json: fn(&[u8]) -> Result<Vec<u8>, String>,
    #[cfg_attr(not(feature = "connect"), allow(dead_code))]
    from_json: fn(&[u8]) -> Result<Vec<u8>, String>,
}

/// The well-known types whose JSON is not a plain object of fields. `Empty` is not one of them:
/// its JSON is its (empty) object of fields, as in the reference C++ implementation.
const VALUE_FORM: &[&str] = &[
    "Any",
    "Timestamp",
    "Duration",
    "FieldMask",
    "Struct",
    "Value",
    "ListValue",
    "DoubleValue",
    "FloatValue",
    "Int64Value",
    "UInt64Value",
    "Int32Value",
    "UInt32Value",
    "BoolValue",
    "StringValue",
    "BytesValue",
];

/// How deeply `Any`s may nest. Each packed message is decoded on its own, so prost's recursion
/// limit does not bound the nesting; this keeps hostile input from overflowing the stack.
const MAX_ANY_DEPTH: u32 = 64;

thread_local! {
    static ANY_DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Counts one level of `Any` nesting while alive.
struct DepthGuard;

impl DepthGuard {
    fn enter() -> Result<DepthGuard, String> {
        ANY_DEPTH.with(|depth| {
            if depth.get() >= MAX_ANY_DEPTH {
                Err(format!(
                    "google.protobuf.Any nested more than {MAX_ANY_DEPTH} deep"
                ))
            } else {
                depth.set(depth.get() + 1);
                Ok(DepthGuard)
            }
        })
    }
}

impl Drop for DepthGuard {
    fn drop(&mut self) {
        ANY_DEPTH.with(|depth| depth.set(depth.get() - 1));
    }
}

/// Registers `T` so [`Any`] values holding it can be written and read as JSON.
///
/// The types of this module, the `google.rpc` error details and every generated message are
/// registered from the start, so this is only needed for hand-written prost messages (the
/// generated `register_json_types()` calls it too, and is harmless). Registering a type again
/// replaces the earlier registration: when two linked types share one full name (the same
/// package generated twice with different JSON options), the one registered last wins. `T` is found by its full name
/// (after the last `/` of `T::type_url()`), so any type URL prefix works, e.g.
/// `type.googleapis.com/` or `example.com/`.
pub fn register<T>()
where
    T: prost::Message + prost::Name + Default + Serialize + DeserializeOwned + 'static,
{
    let (name, entry) = entry::<T>();
    registry()
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(name, entry);
}

fn entry<T>() -> (String, Entry)
where
    T: prost::Message + prost::Name + Default + Serialize + DeserializeOwned + 'static,
{
    let url = T::type_url();
    let name = type_name(&url).unwrap_or(&url).to_owned();
    let value_form = name
        .strip_prefix("google.protobuf.")
        .is_some_and(|short| VALUE_FORM.contains(&short));
    let entry = Entry {
        value_form,
        write: write_packed::<T>,
        read: read_packed::<T>,
        to_json: to_json::<T>,
        from_json: from_json::<T>,
    };
    (name, entry)
}

fn write_packed<T: prost::Message + Default + Serialize>(bytes: &[u8]) -> Result<Json, String> {
    let message = T::decode(bytes).map_err(|e| format!("cannot decode the packed message: {e}"))?;
    message.serialize(Capture).map_err(|e| e.to_string())
}

fn read_packed<T: prost::Message + DeserializeOwned>(
    json: serde_json::Value,
) -> Result<Vec<u8>, String> {
    T::deserialize(json)
        .map(|message| message.encode_to_vec())
        .map_err(|e| e.to_string())
}

fn to_json<T: prost::Message + Default + Serialize>(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let message = T::decode(bytes).map_err(|e| format!("cannot decode the message: {e}"))?;
    serde_json::to_vec(&message).map_err(|e| e.to_string())
}

fn from_json<T: prost::Message + DeserializeOwned>(json: &[u8]) -> Result<Vec<u8>, String> {
    // What the HTTP/JSON routes read a JSON body with (docs/reference.md section 5).
    crate::json::from_slice::<T>(json)
        .map(|message| message.encode_to_vec())
        .map_err(|e| e.to_string())
}

/// The JSON of the message `name` (`acme.shop.v1.Order`) encoded in `bytes`, written by the
/// message's own serde impl, as the HTTP/JSON routes write it.
#[cfg(feature = "connect")]
pub(crate) fn encoded_to_json(name: &str, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let entry = lookup_name(name)?;
    (entry.to_json)(bytes)
}

/// The encoding of the message `name` read from the JSON document `json` by the message's own
/// serde impl, as the HTTP/JSON routes read a body.
#[cfg(feature = "connect")]
pub(crate) fn json_to_encoded(name: &str, json: &[u8]) -> Result<Vec<u8>, String> {
    let entry = lookup_name(name)?;
    (entry.from_json)(json)
}

#[cfg(feature = "connect")]
fn lookup_name(name: &str) -> Result<Entry, String> {
    registry()
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(name)
        .copied()
        .ok_or_else(|| format!("the message type {name} is not generated into this binary"))
}

/// A message type that [`Any`] knows with no registration call. Generated code submits one for
/// each message through `inventory` (see the crate's `__codegen` module), so a binary that links
/// the type knows it; the registry reads them all when it is first used.
#[doc(hidden)]
pub struct AnyType {
    entry: fn() -> (String, Entry),
    /// A type this crate provides (the `google` module's): no generated submission of the same
    /// name replaces it.
    builtin: bool,
}

impl AnyType {
    /// The submission for `T`.
    pub const fn of<T>() -> AnyType
    where
        T: prost::Message + prost::Name + Default + Serialize + DeserializeOwned + 'static,
    {
        AnyType {
            entry: entry::<T>,
            builtin: false,
        }
    }

    /// The submission for `T`, a type of this crate outside this module. The registry lists the
    /// well-known types itself; the crate's other modules submit theirs this way, so this module
    /// needs to know none of them.
    pub(crate) const fn builtin<T>() -> AnyType
    where
        T: prost::Message + prost::Name + Default + Serialize + DeserializeOwned + 'static,
    {
        AnyType {
            entry: entry::<T>,
            builtin: true,
        }
    }
}

inventory::collect!(AnyType);

fn registry() -> &'static RwLock<HashMap<String, Entry>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, Entry>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // Generated types first, so no submission can replace a well-known type or a type of
        // this crate (the `google.rpc` error details).
        let submitted = || inventory::iter::<AnyType>.into_iter();
        let generated = submitted()
            .filter(|s| !s.builtin)
            .map(|submitted| (submitted.entry)());
        let builtin = submitted()
            .filter(|s| s.builtin)
            .map(|submitted| (submitted.entry)());
        let entries = [
            entry::<Any>(),
            entry::<Timestamp>(),
            entry::<Duration>(),
            entry::<FieldMask>(),
            entry::<Struct>(),
            entry::<Value>(),
            entry::<ListValue>(),
            entry::<DoubleValue>(),
            entry::<FloatValue>(),
            entry::<Int64Value>(),
            entry::<UInt64Value>(),
            entry::<Int32Value>(),
            entry::<UInt32Value>(),
            entry::<BoolValue>(),
            entry::<StringValue>(),
            entry::<BytesValue>(),
            entry::<Empty>(),
        ];
        RwLock::new(generated.chain(entries).chain(builtin).collect())
    })
}

/// The full message name in a type URL: everything after the last `/`.
fn type_name(type_url: &str) -> Option<&str> {
    let (_, name) = type_url.rsplit_once('/')?;
    (!name.is_empty()).then_some(name)
}

/// The registration for `type_url`; `doing` starts the error message.
fn lookup<'a>(type_url: &'a str, doing: &str) -> Result<(&'a str, Entry), String> {
    let name = type_name(type_url).ok_or_else(|| {
        format!(
            "{doing}: type URL `{type_url}` does not end in `/` and a message name, like \
             `type.googleapis.com/google.protobuf.Duration`"
        )
    })?;
    // Copied out so the lock is not held while nested Anys look up their own types.
    let entry = registry()
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .get(name)
        .copied();
    match entry {
        Some(entry) => Ok((name, entry)),
        None => Err(format!(
            "{doing}: type {type_url} is not known: it is neither a well-known type nor a \
             message generated into this binary; for a hand-written message call \
             `rs_svc::wkt::register::<T>()` with the Rust type of {name} first"
        )),
    }
}

impl Serialize for Any {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const DOING: &str = "cannot write google.protobuf.Any as JSON";
        // The default Any (nothing packed) is `{}`, as in other implementations.
        if self.type_url.is_empty() && self.value.is_empty() {
            return s.serialize_map(Some(0))?.end();
        }
        let (name, entry) = lookup(&self.type_url, DOING).map_err(ser::Error::custom)?;
        let json = {
            let _depth = DepthGuard::enter()
                .map_err(|e| ser::Error::custom(format_args!("{DOING}: {e}")))?;
            (entry.write)(&self.value)
                .map_err(|e| ser::Error::custom(format_args!("{DOING} (holding {name}): {e}")))?
        };
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("@type", &self.type_url)?;
        if entry.value_form {
            map.serialize_entry("value", &json)?;
        } else if let Json::Map(fields) = &json {
            for (key, value) in fields {
                map.serialize_entry(key, value)?;
            }
        } else {
            return Err(ser::Error::custom(format_args!(
                "{DOING}: the JSON of {name} is not an object"
            )));
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Any {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(AnyVisitor)
    }
}

struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
    type Value = Any;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with \"@type\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Any, A::Error> {
        const DOING: &str = "cannot read google.protobuf.Any from JSON";
        // `@type` may come after the fields, so the fields are kept until the type is known.
        let mut type_url: Option<String> = None;
        let mut fields = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if key == "@type" {
                if type_url.is_some() {
                    return Err(de::Error::custom("duplicate field `@type`"));
                }
                type_url = Some(map.next_value()?);
            } else {
                let value = map.next_value::<serde_json::Value>()?;
                if fields.contains_key(&key) {
                    return Err(de::Error::custom(format_args!("duplicate field `{key}`")));
                }
                fields.insert(key, value);
            }
        }
        let Some(type_url) = type_url else {
            if fields.is_empty() {
                return Ok(Any::default());
            }
            return Err(de::Error::custom(format_args!("{DOING}: missing `@type`")));
        };
        let (name, entry) = lookup(&type_url, DOING).map_err(de::Error::custom)?;

        let json = if entry.value_form {
            let mut value = None;
            for (key, v) in fields {
                if key != "value" {
                    return Err(de::Error::custom(format_args!(
                        "{DOING}: unknown field `{key}` next to a {name} (its JSON goes in \
                         `value`)"
                    )));
                }
                value = Some(v);
            }
            value.ok_or_else(|| {
                de::Error::custom(format_args!("{DOING}: missing `value` for a {name}"))
            })?
        } else {
            // protobuf-go writes Empty in the `value` form: accept that too.
            if name == "google.protobuf.Empty"
                && fields.len() == 1
                && fields
                    .get("value")
                    .and_then(serde_json::Value::as_object)
                    .is_some_and(serde_json::Map::is_empty)
            {
                fields.clear();
            }
            serde_json::Value::Object(fields)
        };

        let value = {
            let _depth =
                DepthGuard::enter().map_err(|e| de::Error::custom(format_args!("{DOING}: {e}")))?;
            (entry.read)(json)
                .map_err(|e| de::Error::custom(format_args!("{DOING} (holding {name}): {e}")))?
        };
        Ok(Any { type_url, value })
    }
}
