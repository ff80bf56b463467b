//! The proto3 JSON mapping, as generated code uses it.
//!
//! Generated `Serialize`/`Deserialize` impls stay thin: for every field they name a codec, a
//! zero-sized marker such as [`codec::Int64`] or [`codec::Enum`], that knows how that proto kind
//! is written and read. The rules live here, tested once:
//! 64-bit integers as strings, bytes as base64, floats with `"NaN"`/`"Infinity"`, enums by name,
//! map keys as strings, range checks on every integer.
//!
//! Use [`to_string`] and [`from_str`] (or serde_json directly): [`from_str`] reports errors with
//! the JSON path of the bad value, e.g. `items[3].price: expected a number`.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer};
use serde::ser::{Serialize, Serializer};

mod object;
pub use object::{deserialize, Fields, Object};

/// A proto enum, as generated code describes it for JSON.
#[doc(hidden)]
pub trait ProtoEnum {
    /// The value's name, or `None` for a number without a name.
    fn name_of(number: i32) -> Option<&'static str>;
    /// The number of a value name.
    fn number_of(name: &str) -> Option<i32>;
}

/// How one proto field kind is written to and read from JSON.
#[doc(hidden)]
pub trait Codec<T> {
    fn serialize<S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error>;
    fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error>;
    /// Whether `value` is the proto3 default, which `json_omit_defaults` leaves out.
    fn is_default(value: &T) -> bool;
    /// Reads a value that may be skipped: `None` means "as if absent" (an unknown enum name
    /// when unknown input is ignored, as protobuf's `ignore_unknown_fields` specifies).
    fn deserialize_lenient<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        Self::deserialize(deserializer).map(Some)
    }
}

/// Serializes `value` with codec `C`: `map.serialize_entry("id", &With::<Int64, _>::new(&self.id))`.
#[doc(hidden)]
pub struct With<'a, C, T: ?Sized>(&'a T, PhantomData<C>);

impl<'a, C, T: ?Sized> With<'a, C, T> {
    pub fn new(value: &'a T) -> Self {
        With(value, PhantomData)
    }
}

impl<C: Codec<T>, T> Serialize for With<'_, C, T> {
    #[inline]
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        C::serialize(self.0, serializer)
    }
}

/// An owned value serialized with codec `C`. Generated routes wrap a whole response of a
/// well-known wrapper type in it (prost maps `google.protobuf.Int64Value` to a bare `i64`), so
/// it is written in its proto3 JSON form (`"123"`) rather than serde's (`123`).
#[doc(hidden)]
pub struct Owned<C, T>(pub T, PhantomData<C>);

impl<C, T> Owned<C, T> {
    pub fn new(value: T) -> Self {
        Owned(value, PhantomData)
    }
}

impl<C: Codec<T>, T> Serialize for Owned<C, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        C::serialize(&self.0, serializer)
    }
}

/// Read back the same way: the generated HTTP clients read a wrapper response through it.
impl<'de, C: Codec<T>, T> Deserialize<'de> for Owned<C, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        C::deserialize(deserializer).map(Owned::new)
    }
}

/// Deserializes a value with codec `C`: `map.next_value::<Option<De<Int64, i64>>>()`.
#[doc(hidden)]
pub struct De<C, T>(pub T, PhantomData<C>);

impl<'de, C: Codec<T>, T> Deserialize<'de> for De<C, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        C::deserialize(deserializer).map(|v| De(v, PhantomData))
    }
}

impl<C, T: fmt::Debug> fmt::Debug for De<C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Reads a field value with codec `C`, `None` when it is to be skipped (see
/// [`Codec::deserialize_lenient`]): `map.next_value::<Option<Field<Int64, i64>>>()`.
#[doc(hidden)]
pub struct Field<C, T>(pub Option<T>, PhantomData<C>);

impl<'de, C: Codec<T>, T> Deserialize<'de> for Field<C, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        C::deserialize_lenient(deserializer).map(|v| Field(v, PhantomData))
    }
}

impl<C, T> Field<C, T> {
    /// The value, `None` for JSON `null` or a skipped value.
    pub fn value(field: Option<Self>) -> Option<T> {
        field.and_then(|f| f.0)
    }
}

/// Reads the value of the current map entry with codec `C`: `None` for JSON `null` or a skipped
/// value, so the field keeps its default.
#[doc(hidden)]
pub fn next_field<'de, C, T, A>(map: &mut A) -> Result<Option<T>, A::Error>
where
    C: Codec<T>,
    A: de::MapAccess<'de>,
{
    map.next_value::<Option<Field<C, T>>>().map(Field::value)
}

/// A JSON object key, borrowed from the input when it has no escapes.
#[doc(hidden)]
pub struct Key<'de>(pub Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(V)
    }
}

/// Marks field `json_name` as read; a second time is an error (`{"a":1,"a":2}`, or a field given
/// under both its JSON and its proto name).
#[doc(hidden)]
pub fn first_time<E: de::Error>(seen: &mut bool, json_name: &str) -> Result<(), E> {
    if std::mem::replace(seen, true) {
        Err(E::custom(format_args!("duplicate field `{json_name}`")))
    } else {
        Ok(())
    }
}

/// Records that member `json_name` of oneof `oneof` is set; a second member is an error that
/// names both.
#[doc(hidden)]
pub fn oneof_member<E: de::Error>(
    set: &mut Option<&'static str>,
    oneof: &str,
    json_name: &'static str,
) -> Result<(), E> {
    match set.replace(json_name) {
        Some(previous) => Err(E::custom(format_args!(
            "oneof `{oneof}` has both `{previous}` and `{json_name}` set; send at most one"
        ))),
        None => Ok(()),
    }
}

/// The error for a field this message does not have, under `json_reject_unknown`.
#[doc(hidden)]
pub fn unknown_field<E: de::Error>(key: &str, message: &str) -> E {
    E::custom(format_args!("unknown field `{key}` in {message}"))
}

/// Serializes `value` as proto3 JSON.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    serde_json::to_string(value)
}

/// An error reading JSON, with the path of the bad value.
#[derive(Debug)]
pub struct Error {
    path: String,
    inner: serde_json::Error,
}

impl Error {
    /// Where in the document the error is, e.g. `items[3].price` (empty at the top level).
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() || self.path == "." {
            write!(f, "{}", self.inner)
        } else {
            write!(f, "{}: {}", self.path, self.inner)
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.inner)
    }
}

/// Parses proto3 JSON. Errors name the JSON path; nesting is bounded by serde_json's recursion
/// limit, so hostile input is an error, never a stack overflow.
///
/// The path is only needed when parsing fails, so the document is read at full speed first and
/// read again with path tracking only to explain an error.
pub fn from_str<'de, T: Deserialize<'de>>(json: &'de str) -> Result<T, Error> {
    serde_json::from_str(json)
        .map_err(|fast| explain::<T, _>(serde_json::Deserializer::from_str(json), fast))
}

/// Parses proto3 JSON from bytes (see [`from_str`]).
pub fn from_slice<'de, T: Deserialize<'de>>(json: &'de [u8]) -> Result<T, Error> {
    serde_json::from_slice(json)
        .map_err(|fast| explain::<T, _>(serde_json::Deserializer::from_slice(json), fast))
}

/// Re-reads a document that failed, tracking the path of the error.
fn explain<'de, T, R>(
    mut deserializer: serde_json::Deserializer<R>,
    fast: serde_json::Error,
) -> Error
where
    T: Deserialize<'de>,
    R: serde_json::de::Read<'de>,
{
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Err(e) => Error {
            path: e.path().to_string(),
            inner: e.into_inner(),
        },
        // The error is after the value (trailing characters): no path to give.
        Ok(_) => Error {
            path: String::new(),
            inner: deserializer.end().err().unwrap_or(fast),
        },
    }
}

#[doc(hidden)]
pub mod codec {
    //! One marker per proto field kind. Generated code names them; users rarely need to.

    use std::collections::{BTreeMap, HashMap};
    use std::fmt;
    use std::hash::Hash;
    use std::marker::PhantomData;

    use base64::Engine as _;
    use serde::de::{self, Deserialize, Deserializer, Visitor};
    use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

    use super::{Codec, ProtoEnum, With};

    /// `int32`, `sint32`, `sfixed32`: a JSON number; numeric strings and integral floats in.
    pub struct Int32;
    /// `uint32`, `fixed32`.
    pub struct Uint32;
    /// `int64`, `sint64`, `sfixed64`: a JSON string out; strings or numbers in.
    pub struct Int64;
    /// `uint64`, `fixed64`.
    pub struct Uint64;
    /// `float`: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
    pub struct Float;
    /// `double`.
    pub struct Double;
    /// `bool`.
    pub struct Bool;
    /// `string`.
    pub struct Str;
    /// `bytes`: standard base64 with padding out; standard or URL-safe, padded or not, in.
    pub struct Bytes;
    /// An enum field (stored as `i32`), written as `NUMBERS` says and read by name or number.
    /// Unless `STRICT`, an unknown name reads as "absent" (unknown input is ignored).
    pub struct EnumCodec<E, const NUMBERS: bool, const STRICT: bool>(PhantomData<E>);
    /// Enum by name; unknown names ignored on input (the default).
    pub type Enum<E> = EnumCodec<E, false, false>;
    /// Enum by number (`json_enum_numbers`); unknown names ignored on input.
    pub type EnumNumber<E> = EnumCodec<E, true, false>;
    /// Enum by name; unknown names are errors (`json_reject_unknown`).
    pub type EnumStrict<E> = EnumCodec<E, false, true>;
    /// Enum by number; unknown names are errors.
    pub type EnumNumberStrict<E> = EnumCodec<E, true, true>;
    /// A message field: the message's own Serialize/Deserialize.
    pub struct Message;
    /// `google.protobuf.Empty`, which prost-build stores as `()`: `{}`.
    pub struct Empty;
    /// A `google.protobuf.NullValue` field (stored as `i32`, always 0): `null` out; `null`,
    /// `"NULL_VALUE"` or `0` in.
    pub struct Null;
    /// A repeated field of codec `C`.
    pub struct Repeated<C>(PhantomData<C>);
    /// A map field with key codec `K` and value codec `V`.
    pub struct Map<K, V>(PhantomData<(K, V)>);

    fn custom<E: de::Error>(args: fmt::Arguments<'_>) -> E {
        E::custom(args)
    }

    /// Visits a JSON integer given as a number or a string, checked against `[min, max]`.
    struct IntVisitor {
        what: &'static str,
        min: i128,
        max: i128,
    }

    impl IntVisitor {
        fn check<E: de::Error>(&self, v: i128) -> Result<i128, E> {
            if v < self.min || v > self.max {
                Err(custom(format_args!(
                    "{v} is out of range for {}",
                    self.what
                )))
            } else {
                Ok(v)
            }
        }

        fn check_f64<E: de::Error>(&self, v: f64) -> Result<i128, E> {
            // Integral floats like 1e3 are integers in JSON.
            if !v.is_finite() || v.fract() != 0.0 {
                return Err(custom(format_args!(
                    "expected an integer for {}, found {v}",
                    self.what
                )));
            }
            // Far outside every integer type; keeps the cast to i128 exact.
            if v.abs() > 1e30 {
                return Err(custom(format_args!(
                    "{v} is out of range for {}",
                    self.what
                )));
            }
            self.check(v as i128)
        }
    }

    impl<'de> Visitor<'de> for IntVisitor {
        type Value = i128;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an integer ({})", self.what)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i128, E> {
            self.check(v.into())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i128, E> {
            self.check(v.into())
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i128, E> {
            self.check_f64(v)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<i128, E> {
            // Rust's parsers take a leading `+`; JSON numbers do not.
            if v.trim() != v || v.is_empty() || v.starts_with('+') {
                return Err(custom(format_args!("invalid {} `{v}`", self.what)));
            }
            match v.parse::<i128>() {
                Ok(n) => self.check(n),
                // "1e3" and "1.0" are integral too
                // Rust's float parser also takes "inf" and "nan"; JSON numbers do not.
                Err(_) if v.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E') => {
                    Err(custom(format_args!("invalid {} `{v}`", self.what)))
                }
                Err(_) => match v.parse::<f64>() {
                    Ok(f) => self.check_f64(f),
                    Err(_) => Err(custom(format_args!("invalid {} `{v}`", self.what))),
                },
            }
        }
    }

    macro_rules! integer {
        ($marker:ty, $t:ty, $what:literal, $as_string:literal) => {
            impl Codec<$t> for $marker {
                #[inline]
                fn serialize<S: Serializer>(v: &$t, s: S) -> Result<S::Ok, S::Error> {
                    if $as_string {
                        s.serialize_str(itoa::Buffer::new().format(*v))
                    } else {
                        v.serialize(s)
                    }
                }
                fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<$t, D::Error> {
                    let v = d.deserialize_any(IntVisitor {
                        what: $what,
                        min: <$t>::MIN as i128,
                        max: <$t>::MAX as i128,
                    })?;
                    Ok(v as $t)
                }
                #[inline]
                fn is_default(v: &$t) -> bool {
                    *v == 0
                }
            }
        };
    }
    integer!(Int32, i32, "int32", false);
    integer!(Uint32, u32, "uint32", false);
    integer!(Int64, i64, "int64", true);
    integer!(Uint64, u64, "uint64", true);

    struct FloatVisitor(&'static str);

    impl<'de> Visitor<'de> for FloatVisitor {
        type Value = f64;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(
                f,
                "a number ({}), or \"NaN\", \"Infinity\" or \"-Infinity\"",
                self.0
            )
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                // Rust also parses "inf" and "nan"; proto3 JSON does not allow them.
                _ if v.trim() != v
                    || v.is_empty()
                    || v.starts_with('+')
                    || v.contains(['i', 'I', 'n', 'N']) =>
                {
                    Err(custom(format_args!("invalid {} `{v}`", self.0)))
                }
                _ => v
                    .parse::<f64>()
                    .map_err(|_| custom(format_args!("invalid {} `{v}`", self.0))),
            }
        }
    }

    fn special<S: Serializer>(v: f64, s: S) -> Option<Result<S::Ok, S::Error>> {
        if v.is_nan() {
            Some(s.serialize_str("NaN"))
        } else if v == f64::INFINITY {
            Some(s.serialize_str("Infinity"))
        } else if v == f64::NEG_INFINITY {
            Some(s.serialize_str("-Infinity"))
        } else {
            None
        }
    }

    /// `v` as an integer when it is one and below 2^53 in magnitude (where f64 is exact), but
    /// not -0. A cast round trip: `f64::fract` is a libm call on baseline x86-64.
    #[inline]
    pub(crate) fn exact_integer(v: f64) -> Option<i64> {
        let i = v as i64; // saturates; NaN becomes 0
        (i as f64 == v && i.unsigned_abs() < 1 << 53 && !(i == 0 && v.is_sign_negative()))
            .then_some(i)
    }

    /// Writes a finite number. Integral values are written as integers (`3`, not `3.0`), as
    /// protobuf's C++ and Go implementations (and so grpc-gateway) write them.
    #[inline]
    pub(crate) fn write_number<S: Serializer>(v: f64, s: S) -> Result<S::Ok, S::Error> {
        match exact_integer(v) {
            Some(i) => s.serialize_i64(i),
            None => s.serialize_f64(v),
        }
    }

    impl Codec<f64> for Double {
        #[inline]
        fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
            if v.is_finite() {
                write_number(*v, s)
            } else {
                special(*v, s).expect("non-finite")
            }
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
            d.deserialize_any(FloatVisitor("double"))
        }
        #[inline]
        fn is_default(v: &f64) -> bool {
            v.to_bits() == 0 // +0.0 only: -0.0 is written
        }
    }

    /// [`exact_integer`] for an `f32` without widening it first (two conversions instead of
    /// four), on the path of every `float` field.
    #[inline]
    pub(crate) fn exact_integer_f32(v: f32) -> Option<i64> {
        let i = v as i64; // saturates; NaN becomes 0
        (i as f32 == v && i.unsigned_abs() < 1 << 53 && (i != 0 || v.to_bits() == 0)).then_some(i)
    }

    impl Codec<f32> for Float {
        #[inline]
        fn serialize<S: Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
            if let Some(i) = exact_integer_f32(*v) {
                s.serialize_i64(i)
            } else if v.is_finite() {
                // The shortest digits of the f32 (`1.1`, not `1.100000023841858`).
                s.serialize_f32(*v)
            } else {
                special(f64::from(*v), s).expect("non-finite")
            }
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f32, D::Error> {
            let v = d.deserialize_any(FloatVisitor("float"))?;
            // Round first: `3.4028235e38` (f32::MAX as printed) is a little above it as f64.
            let rounded = v as f32;
            if v.is_finite() && rounded.is_infinite() {
                return Err(custom(format_args!("{v} is out of range for float")));
            }
            Ok(rounded)
        }
        #[inline]
        fn is_default(v: &f32) -> bool {
            v.to_bits() == 0 // +0.0 only: -0.0 is written
        }
    }

    impl Codec<bool> for Bool {
        #[inline]
        fn serialize<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bool(*v)
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
            bool::deserialize(d)
        }
        #[inline]
        fn is_default(v: &bool) -> bool {
            !*v
        }
    }

    impl Codec<String> for Str {
        #[inline]
        fn serialize<S: Serializer>(v: &String, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(v)
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
            String::deserialize(d)
        }
        #[inline]
        fn is_default(v: &String) -> bool {
            v.is_empty()
        }
    }

    /// Decodes base64 in any of the forms proto3 JSON allows: standard or URL-safe alphabet, with
    /// or without padding.
    pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
        use base64::alphabet;
        use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

        // Other implementations do not insist that unused trailing bits are zero; neither do we.
        const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true);
        const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
        const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);

        let engine = if text.contains(['-', '_']) {
            &URL_SAFE
        } else {
            &STANDARD
        };
        engine
            .decode(text)
            .map_err(|e| format!("invalid base64 `{text}`: {e}"))
    }

    struct BytesVisitor;

    impl<'de> Visitor<'de> for BytesVisitor {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a base64 string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
            decode_base64(v).map_err(E::custom)
        }
    }

    impl<B> Codec<B> for Bytes
    where
        B: AsRef<[u8]> + From<Vec<u8>>,
    {
        #[inline]
        fn serialize<S: Serializer>(v: &B, s: S) -> Result<S::Ok, S::Error> {
            use base64::engine::general_purpose::STANDARD;
            // Short values are encoded on the stack, longer ones into a String.
            let mut buf = [0u8; 256];
            match STANDARD.encode_slice(v.as_ref(), &mut buf) {
                Ok(n) => s.serialize_str(std::str::from_utf8(&buf[..n]).expect("base64 is ASCII")),
                Err(_) => s.serialize_str(&STANDARD.encode(v.as_ref())),
            }
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<B, D::Error> {
            d.deserialize_str(BytesVisitor).map(B::from)
        }
        #[inline]
        fn is_default(v: &B) -> bool {
            v.as_ref().is_empty()
        }
    }

    /// Reads an enum value: `Some(number)`, or `None` for a name `E` does not have.
    struct EnumVisitor<E>(PhantomData<E>);

    impl<'de, E: ProtoEnum> Visitor<'de> for EnumVisitor<E> {
        type Value = Result<i32, String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an enum value name or number")
        }
        fn visit_str<Er: de::Error>(self, v: &str) -> Result<Self::Value, Er> {
            Ok(E::number_of(v).ok_or_else(|| v.to_owned()))
        }
        fn visit_i64<Er: de::Error>(self, v: i64) -> Result<Self::Value, Er> {
            i32::try_from(v)
                .map(Ok)
                .map_err(|_| custom(format_args!("enum number {v} is out of range")))
        }
        fn visit_u64<Er: de::Error>(self, v: u64) -> Result<Self::Value, Er> {
            i32::try_from(v)
                .map(Ok)
                .map_err(|_| custom(format_args!("enum number {v} is out of range")))
        }
    }

    fn unknown_enum<E: de::Error>(name: &str) -> E {
        custom(format_args!("unknown enum value `{name}`"))
    }

    impl<E: ProtoEnum, const NUMBERS: bool, const STRICT: bool> Codec<i32>
        for EnumCodec<E, NUMBERS, STRICT>
    {
        #[inline]
        fn serialize<S: Serializer>(v: &i32, s: S) -> Result<S::Ok, S::Error> {
            match E::name_of(*v) {
                Some(name) if !NUMBERS => s.serialize_str(name),
                _ => s.serialize_i32(*v),
            }
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
            d.deserialize_any(EnumVisitor::<E>(PhantomData))?
                .map_err(|name| unknown_enum(&name))
        }
        fn deserialize_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
            match d.deserialize_any(EnumVisitor::<E>(PhantomData))? {
                Ok(n) => Ok(Some(n)),
                Err(_) if !STRICT => Ok(None),
                Err(name) => Err(unknown_enum(&name)),
            }
        }
        #[inline]
        fn is_default(v: &i32) -> bool {
            *v == 0
        }
    }

    // Also covers `Box<M>` (prost boxes recursive fields): serde, Default and PartialEq all
    // see through the box.
    impl<M> Codec<M> for Message
    where
        M: Serialize + for<'de> Deserialize<'de> + Default + PartialEq,
    {
        #[inline]
        fn serialize<S: Serializer>(v: &M, s: S) -> Result<S::Ok, S::Error> {
            v.serialize(s)
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<M, D::Error> {
            M::deserialize(d)
        }
        #[inline]
        fn is_default(v: &M) -> bool {
            *v == M::default()
        }
    }

    impl Codec<i32> for Null {
        #[inline]
        fn serialize<S: Serializer>(_: &i32, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_unit()
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = i32;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("null")
                }
                fn visit_unit<E: de::Error>(self) -> Result<i32, E> {
                    Ok(0)
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<i32, E> {
                    match v {
                        "NULL_VALUE" => Ok(0),
                        _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                    }
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<i32, E> {
                    match v {
                        0 => Ok(0),
                        _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                    }
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<i32, E> {
                    match v {
                        0 => Ok(0),
                        _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
                    }
                }
            }
            d.deserialize_any(V)
        }
        #[inline]
        fn is_default(v: &i32) -> bool {
            *v == 0
        }
    }

    impl Codec<()> for Empty {
        #[inline]
        fn serialize<S: Serializer>(_: &(), s: S) -> Result<S::Ok, S::Error> {
            s.serialize_map(Some(0))?.end()
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = ();
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an empty JSON object")
                }
                fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                    // Like any message, unknown fields are skipped.
                    while map
                        .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                        .is_some()
                    {}
                    Ok(())
                }
            }
            d.deserialize_map(V)
        }
        #[inline]
        fn is_default(_: &()) -> bool {
            true
        }
    }

    impl<C: Codec<T>, T> Codec<Vec<T>> for Repeated<C> {
        #[inline]
        fn serialize<S: Serializer>(v: &Vec<T>, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(v.len()))?;
            for item in v {
                seq.serialize_element(&With::<C, T>::new(item))?;
            }
            seq.end()
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<T>, D::Error> {
            struct V<C, T>(PhantomData<(C, T)>);
            impl<'de, C: Codec<T>, T> Visitor<'de> for V<C, T> {
                type Value = Vec<T>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON array")
                }
                fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                    // Skipped values (unknown enum names) are dropped, as protobuf does.
                    while let Some(item) = seq.next_element::<super::Field<C, T>>()? {
                        out.extend(item.0);
                    }
                    Ok(out)
                }
            }
            d.deserialize_seq(V::<C, T>(PhantomData))
        }
        #[inline]
        fn is_default(v: &Vec<T>) -> bool {
            v.is_empty()
        }
    }

    /// A map key: written as a JSON object key (a string) and parsed back from one.
    pub trait MapKey<K> {
        fn write<S: Serializer>(key: &K, s: S) -> Result<S::Ok, S::Error>;
        fn read(key: &str) -> Result<K, String>;
        /// A number that orders keys as `K: Ord` does wherever two ranks differ (equal ranks
        /// are compared in full), so sorting a map's keys is mostly integer comparisons.
        fn rank(key: &K) -> u64;
    }

    /// Serializes a map key with `KC`, without allocating.
    struct KeyOut<'a, KC, K>(&'a K, PhantomData<KC>);

    impl<KC: MapKey<K>, K> Serialize for KeyOut<'_, KC, K> {
        #[inline]
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            KC::write(self.0, s)
        }
    }

    impl MapKey<String> for Str {
        fn write<S: Serializer>(key: &String, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(key)
        }
        fn read(key: &str) -> Result<String, String> {
            Ok(key.to_owned())
        }
        /// The first 8 bytes, big-endian, zero-padded: byte order wherever two prefixes differ.
        #[inline]
        fn rank(key: &String) -> u64 {
            let mut prefix = [0u8; 8];
            let n = key.len().min(8);
            prefix[..n].copy_from_slice(&key.as_bytes()[..n]);
            u64::from_be_bytes(prefix)
        }
    }

    impl MapKey<bool> for Bool {
        fn write<S: Serializer>(key: &bool, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(if *key { "true" } else { "false" })
        }
        fn read(key: &str) -> Result<bool, String> {
            match key {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(format!("invalid bool map key `{key}`")),
            }
        }
        #[inline]
        fn rank(key: &bool) -> u64 {
            u64::from(*key)
        }
    }

    macro_rules! int_key {
        ($marker:ty, $t:ty, $what:literal, $rank:expr) => {
            impl MapKey<$t> for $marker {
                fn write<S: Serializer>(key: &$t, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_str(itoa::Buffer::new().format(*key))
                }
                fn read(key: &str) -> Result<$t, String> {
                    if key.starts_with('+') {
                        return Err(format!("invalid {} map key `{key}`", $what));
                    }
                    key.parse()
                        .map_err(|_| format!("invalid {} map key `{key}`", $what))
                }
                #[inline]
                fn rank(key: &$t) -> u64 {
                    $rank(*key)
                }
            }
        };
    }
    /// Signed keys offset by their minimum, so negative numbers rank below positive ones.
    fn rank_i32(key: i32) -> u64 {
        u64::from(key.wrapping_sub(i32::MIN) as u32)
    }
    fn rank_i64(key: i64) -> u64 {
        key.wrapping_sub(i64::MIN) as u64
    }
    int_key!(Int32, i32, "int32", rank_i32);
    int_key!(Uint32, u32, "uint32", u64::from);
    int_key!(Int64, i64, "int64", rank_i64);
    int_key!(Uint64, u64, "uint64", u64::from);

    /// The map types prost generates (`HashMap` by default, `BTreeMap` with `btree_map`).
    pub trait ProtoMap: Default {
        type Key;
        type Value;
        /// Calls `f` on every entry in key order (`KC` ranks the keys), so the same map always
        /// writes the same JSON; stops at the first error.
        fn for_each_sorted<KC, E, F>(&self, f: F) -> Result<(), E>
        where
            KC: MapKey<Self::Key>,
            F: FnMut(&Self::Key, &Self::Value) -> Result<(), E>;
        /// Inserts; false if the key was already there.
        fn put(&mut self, key: Self::Key, value: Self::Value) -> bool;
        fn count(&self) -> usize;
    }

    /// Maps up to this many entries are sorted on the stack, without allocating.
    const SORT_ON_STACK: usize = 16;

    impl<K: Ord + Hash + Eq, V, St: std::hash::BuildHasher + Default> ProtoMap for HashMap<K, V, St> {
        type Key = K;
        type Value = V;
        fn for_each_sorted<KC, E, F>(&self, mut f: F) -> Result<(), E>
        where
            KC: MapKey<K>,
            F: FnMut(&K, &V) -> Result<(), E>,
        {
            // Sorting references ranked by a number: most comparisons are integer ones.
            fn order<K: Ord, V>(a: &(u64, &K, &V), b: &(u64, &K, &V)) -> std::cmp::Ordering {
                a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1))
            }
            let ranked = self.iter().map(|(k, v)| (KC::rank(k), k, v));
            if self.len() <= SORT_ON_STACK {
                let mut ranked = ranked;
                let Some(first) = ranked.next() else {
                    return Ok(());
                };
                let mut buf = [first; SORT_ON_STACK];
                let mut n = 1;
                for (slot, entry) in buf[1..].iter_mut().zip(ranked) {
                    *slot = entry;
                    n += 1;
                }
                let entries = &mut buf[..n];
                entries.sort_unstable_by(order);
                entries.iter().try_for_each(|(_, k, v)| f(k, v))
            } else {
                let mut entries: Vec<_> = ranked.collect();
                entries.sort_unstable_by(order);
                entries.iter().try_for_each(|(_, k, v)| f(k, v))
            }
        }
        fn put(&mut self, key: K, value: V) -> bool {
            self.insert(key, value).is_none()
        }
        fn count(&self) -> usize {
            self.len()
        }
    }

    impl<K: Ord, V> ProtoMap for BTreeMap<K, V> {
        type Key = K;
        type Value = V;
        fn for_each_sorted<KC, E, F>(&self, mut f: F) -> Result<(), E>
        where
            KC: MapKey<K>,
            F: FnMut(&K, &V) -> Result<(), E>,
        {
            self.iter().try_for_each(|(k, v)| f(k, v))
        }
        fn put(&mut self, key: K, value: V) -> bool {
            self.insert(key, value).is_none()
        }
        fn count(&self) -> usize {
            self.len()
        }
    }

    impl<KC, VC, M> Codec<M> for Map<KC, VC>
    where
        M: ProtoMap,
        KC: MapKey<M::Key>,
        VC: Codec<M::Value>,
    {
        #[inline]
        fn serialize<S: Serializer>(v: &M, s: S) -> Result<S::Ok, S::Error> {
            let mut map = s.serialize_map(Some(v.count()))?;
            // Key and value in separate calls, as generated messages write fields (they
            // inline where `serialize_entry` is a call per entry).
            v.for_each_sorted::<KC, _, _>(|key, value| {
                map.serialize_key(&KeyOut::<KC, M::Key>(key, PhantomData))?;
                map.serialize_value(&With::<VC, M::Value>::new(value))
            })?;
            map.end()
        }
        fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<M, D::Error> {
            struct Vis<KC, VC, M>(PhantomData<(KC, VC, M)>);
            impl<'de, KC, VC, M> Visitor<'de> for Vis<KC, VC, M>
            where
                M: ProtoMap,
                KC: MapKey<M::Key>,
                VC: Codec<M::Value>,
            {
                type Value = M;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: de::MapAccess<'de>>(self, mut access: A) -> Result<M, A::Error> {
                    let mut out = M::default();
                    while let Some(key) = access.next_key::<super::Key<'de>>()? {
                        let parsed = KC::read(&key.0).map_err(de::Error::custom)?;
                        let Some(value) = access.next_value::<super::Field<VC, M::Value>>()?.0
                        else {
                            continue; // a skipped value drops its entry
                        };
                        if !out.put(parsed, value) {
                            return Err(custom(format_args!("duplicate map key `{}`", key.0)));
                        }
                    }
                    Ok(out)
                }
            }
            d.deserialize_map(Vis::<KC, VC, M>(PhantomData))
        }
        #[inline]
        fn is_default(v: &M) -> bool {
            v.count() == 0
        }
    }

    /// Serializes an enum type on its own (`impl Serialize for MyEnum`).
    pub fn serialize_enum<E: ProtoEnum, S: Serializer>(v: i32, s: S) -> Result<S::Ok, S::Error> {
        <Enum<E> as Codec<i32>>::serialize(&v, s)
    }

    /// Deserializes an enum type on its own, by name or number.
    pub fn deserialize_enum<'de, E: ProtoEnum, D: Deserializer<'de>>(
        d: D,
    ) -> Result<i32, D::Error> {
        <Enum<E> as Codec<i32>>::deserialize(d)
    }

    /// Deserializes an enum type on its own, by name or number, as the Rust enum: a number
    /// without a name is an error, as the Rust type cannot hold it.
    pub fn deserialize_enum_type<'de, E, D>(d: D) -> Result<E, D::Error>
    where
        E: ProtoEnum + TryFrom<i32>,
        D: Deserializer<'de>,
    {
        let number = deserialize_enum::<E, D>(d)?;
        E::try_from(number).map_err(|_| {
            de::Error::custom(format_args!(
                "enum value {number} has no name, so it cannot be held by this type"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::codec::*;
    use super::*;
    use std::collections::{BTreeMap, HashMap};

    fn out<C: Codec<T>, T>(v: T) -> String {
        serde_json::to_string(&With::<C, T>::new(&v)).unwrap()
    }

    fn inp<C: Codec<T>, T>(json: &str) -> Result<T, String> {
        serde_json::from_str::<De<C, T>>(json)
            .map(|d| d.0)
            .map_err(|e| e.to_string())
    }

    /// A `google.protobuf.NullValue` field is JSON `null` (aiplatform's `PartialArg.null_value`
    /// in a oneof): written as `null`, read from `null`, its name or 0, nothing else.
    #[test]
    fn null_value_fields_are_json_null() {
        assert_eq!(out::<Null, i32>(0), "null");
        for json in ["null", "\"NULL_VALUE\"", "0"] {
            assert_eq!(inp::<Null, i32>(json), Ok(0), "{json}");
        }
        for json in ["1", "\"x\"", "{}", "false"] {
            assert!(inp::<Null, i32>(json).is_err(), "{json}");
        }
        assert!(<Null as Codec<i32>>::is_default(&0));
    }

    #[test]
    fn sixty_four_bit_integers_are_strings_out_and_either_in() {
        assert_eq!(out::<Int64, _>(i64::MIN), "\"-9223372036854775808\"");
        assert_eq!(out::<Uint64, _>(u64::MAX), "\"18446744073709551615\"");
        assert_eq!(inp::<Int64, i64>("\"-12\""), Ok(-12));
        assert_eq!(inp::<Int64, i64>("-12"), Ok(-12));
        assert_eq!(inp::<Int64, i64>("\"1e3\""), Ok(1000));
        assert_eq!(inp::<Uint64, u64>("\"18446744073709551615\""), Ok(u64::MAX));
        assert!(inp::<Uint64, u64>("-1")
            .unwrap_err()
            .contains("out of range"));
        assert!(inp::<Int64, i64>("\"9223372036854775808\"").is_err());
        assert!(inp::<Int64, i64>("1.5").is_err());
        assert!(inp::<Int64, i64>("\" 1\"").is_err());
    }

    #[test]
    fn thirty_two_bit_integers_are_numbers_and_range_checked() {
        assert_eq!(out::<Int32, _>(-5i32), "-5");
        assert_eq!(inp::<Int32, i32>("\"7\""), Ok(7));
        assert_eq!(inp::<Int32, i32>("1.0"), Ok(1));
        assert!(inp::<Int32, i32>("2147483648").is_err());
        assert!(inp::<Uint32, u32>("-1").is_err());
        assert!(inp::<Int32, i32>("true").is_err());
    }

    #[test]
    fn floats_write_special_values_as_strings() {
        assert_eq!(out::<Double, _>(f64::NAN), "\"NaN\"");
        assert_eq!(out::<Double, _>(f64::NEG_INFINITY), "\"-Infinity\"");
        assert_eq!(out::<Float, _>(1.1f32), "1.1");
        assert_eq!(out::<Double, _>(0.5f64), "0.5");
        assert_eq!(out::<Double, _>(3.0f64), "3");
        assert_eq!(out::<Double, _>(-0.0f64), "-0.0");
        assert_eq!(out::<Double, _>(1e300), "1e+300");
        assert_eq!(out::<Float, _>(2.0f32), "2");
        assert!(inp::<Double, f64>("\"NaN\"").unwrap().is_nan());
        assert_eq!(inp::<Double, f64>("\"Infinity\""), Ok(f64::INFINITY));
        assert_eq!(inp::<Double, f64>("\"2.5\""), Ok(2.5));
        assert!(inp::<Double, f64>("\"inf\"").is_err());
        assert!(inp::<Float, f32>("1e39")
            .unwrap_err()
            .contains("out of range"));
    }

    #[test]
    fn bytes_are_base64_in_every_form() {
        assert_eq!(out::<Bytes, _>(vec![0xfbu8, 0xff]), "\"+/8=\"");
        for form in ["\"+/8=\"", "\"+/8\"", "\"-_8=\"", "\"-_8\""] {
            assert_eq!(inp::<Bytes, Vec<u8>>(form), Ok(vec![0xfb, 0xff]), "{form}");
        }
        assert!(inp::<Bytes, Vec<u8>>("\"!!\"").is_err());
    }

    struct Color;
    impl ProtoEnum for Color {
        fn name_of(n: i32) -> Option<&'static str> {
            ["COLOR_UNSPECIFIED", "RED"].get(n as usize).copied()
        }
        fn number_of(name: &str) -> Option<i32> {
            ["COLOR_UNSPECIFIED", "RED"]
                .iter()
                .position(|n| *n == name)
                .map(|p| p as i32)
        }
    }

    #[test]
    fn enums_by_name_or_number() {
        assert_eq!(out::<Enum<Color>, _>(1), "\"RED\"");
        assert_eq!(out::<Enum<Color>, _>(7), "7");
        assert_eq!(out::<EnumNumber<Color>, _>(1), "1");
        assert_eq!(inp::<Enum<Color>, i32>("\"RED\""), Ok(1));
        assert_eq!(inp::<Enum<Color>, i32>("9"), Ok(9));
        assert!(inp::<Enum<Color>, i32>("\"BLUE\"")
            .unwrap_err()
            .contains("unknown enum value `BLUE`"));
        let lenient =
            |json: &str| serde_json::from_str::<Field<Enum<Color>, i32>>(json).map(|f| f.0);
        assert_eq!(lenient("\"BLUE\"").unwrap(), None);
        assert_eq!(lenient("\"RED\"").unwrap(), Some(1));
        let strict = serde_json::from_str::<Field<EnumStrict<Color>, i32>>("\"BLUE\"");
        assert!(strict.is_err());
        assert_eq!(
            inp::<Repeated<Enum<Color>>, Vec<i32>>(r#"["RED","BLUE",0]"#),
            Ok(vec![1, 0])
        );
    }

    #[test]
    fn maps_use_string_keys_sorted() {
        let m: HashMap<i32, i64> = [(10, 1), (2, 2)].into();
        assert_eq!(out::<Map<Int32, Int64>, _>(m), r#"{"2":"2","10":"1"}"#);
        let m: BTreeMap<bool, String> = [(true, "y".to_owned())].into();
        assert_eq!(out::<Map<Bool, Str>, _>(m.clone()), r#"{"true":"y"}"#);
        assert_eq!(
            inp::<Map<Bool, Str>, BTreeMap<bool, String>>(r#"{"true":"y"}"#),
            Ok(m)
        );
        assert!(inp::<Map<Int32, Int64>, HashMap<i32, i64>>(r#"{"x":"1"}"#).is_err());
        assert!(
            inp::<Map<Int32, Int64>, HashMap<i32, i64>>(r#"{"1":"1","1":"2"}"#)
                .unwrap_err()
                .contains("duplicate map key")
        );
    }

    #[test]
    fn map_keys_sort_in_full_beyond_their_ranked_prefix() {
        // The object a map of these keys must write: keys in byte order.
        fn sorted_object<V: Serialize>(mut entries: Vec<(String, V)>) -> String {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let body: Vec<String> = entries
                .iter()
                .map(|(k, v)| {
                    let (k, v) = (serde_json::to_string(k), serde_json::to_string(v));
                    format!("{}:{}", k.unwrap(), v.unwrap())
                })
                .collect();
            format!("{{{}}}", body.join(","))
        }
        // String keys rank by their first 8 bytes: ties, prefixes and NULs are compared in full.
        let keys = [
            "label", "label10", "label9", "labels", "labelsA", "labelsAB", "a\u{0}b", "a", "",
            "\u{0}", "é", "z",
        ];
        let entries: Vec<(String, String)> = keys
            .iter()
            .map(|k| (k.to_string(), k.to_uppercase()))
            .collect();
        let m: HashMap<String, String> = entries.iter().cloned().collect();
        assert_eq!(out::<Map<Str, Str>, _>(m), sorted_object(entries));
        // Past the on-stack size: the same order from the heap.
        let entries: Vec<(String, i32)> = (0..40).map(|i| (format!("key{i}"), i)).collect();
        let m: HashMap<String, i32> = entries.iter().cloned().collect();
        assert_eq!(out::<Map<Str, Int32>, _>(m), sorted_object(entries));
    }

    #[test]
    fn map_integer_keys_sort_numerically_signed_and_unsigned() {
        let m: HashMap<i32, bool> = [
            (i32::MIN, true),
            (-1, true),
            (0, true),
            (7, true),
            (i32::MAX, true),
        ]
        .into();
        assert_eq!(
            out::<Map<Int32, Bool>, _>(m),
            r#"{"-2147483648":true,"-1":true,"0":true,"7":true,"2147483647":true}"#
        );
        let m: HashMap<i64, bool> =
            [(i64::MAX, true), (-3, true), (i64::MIN, true), (2, true)].into();
        assert_eq!(
            out::<Map<Int64, Bool>, _>(m),
            r#"{"-9223372036854775808":true,"-3":true,"2":true,"9223372036854775807":true}"#
        );
        let m: HashMap<u64, bool> = [(u64::MAX, true), (0, true), (1 << 40, true)].into();
        assert_eq!(
            out::<Map<Uint64, Bool>, _>(m),
            r#"{"0":true,"1099511627776":true,"18446744073709551615":true}"#
        );
        let m: HashMap<u32, bool> = [(u32::MAX, true), (9, true), (10, true)].into();
        assert_eq!(
            out::<Map<Uint32, Bool>, _>(m),
            r#"{"9":true,"10":true,"4294967295":true}"#
        );
        let m: HashMap<bool, i32> = [(true, 1), (false, 0)].into();
        assert_eq!(out::<Map<Bool, Int32>, _>(m), r#"{"false":0,"true":1}"#);
        let m: HashMap<i32, i32> = HashMap::new();
        assert_eq!(out::<Map<Int32, Int32>, _>(m), "{}");
    }

    #[test]
    fn float_integer_check_agrees_with_the_f64_rule() {
        // The f32 check skips widening to f64; it must agree with the f64 rule on every value.
        let edges = [
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -0.5,
            3.0,
            1.5,
            8388607.5,
            8388608.0,
            16777217.0,
            9007199254740992.0,
            -9007199254740992.0,
            4503599627370496.0,
            1e10,
            -1e10,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            f32::EPSILON,
            1e-45,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        let strided = (0..=u32::MAX).step_by(4099).map(f32::from_bits);
        for v in edges.into_iter().chain(strided) {
            assert_eq!(
                exact_integer_f32(v),
                exact_integer(f64::from(v)),
                "{v:e} ({:#010x})",
                v.to_bits()
            );
        }
    }

    #[test]
    fn bytes_are_the_same_base64_short_or_long() {
        use base64::Engine as _;
        for len in [0usize, 1, 2, 3, 64, 191, 192, 193, 1000] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let want = format!(
                "\"{}\"",
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            );
            assert_eq!(out::<Bytes, _>(bytes), want, "{len} bytes");
        }
    }

    #[test]
    fn repeated_fields_are_arrays() {
        assert_eq!(out::<Repeated<Int64>, _>(vec![1i64, 2]), r#"["1","2"]"#);
        assert_eq!(
            inp::<Repeated<Int64>, Vec<i64>>(r#"[1,"2"]"#),
            Ok(vec![1, 2])
        );
    }

    #[test]
    fn errors_name_the_json_path() {
        let err = from_str::<Vec<De<Int32, i32>>>("[1, 2, \"x\"]").unwrap_err();
        assert_eq!(err.path(), "[2]");
        assert!(
            err.to_string().starts_with("[2]: invalid int32 `x`"),
            "{err}"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000);
        assert!(from_str::<serde_json::Value>(&deep).is_err());
    }
}
