//! The protobuf well-known types (`google.protobuf`) with their proto3 JSON mapping.
//!
//! Generated code points here with `extern_path`, e.g. `.google.protobuf.Timestamp` ->
//! `::rs_svc::wkt::Timestamp`. The types are prost messages with the upstream field numbers, so
//! the wire format is unchanged, and their `Serialize`/`Deserialize` impls write and read the
//! canonical JSON forms (<https://protobuf.dev/programming-guides/json/>):
//!
//! | type | JSON |
//! |---|---|
//! | [`Timestamp`] | `"2024-02-29T12:34:56.789Z"` (always UTC; any offset accepted on input) |
//! | [`Duration`] | `"1.500s"` |
//! | [`FieldMask`] | `"user.displayName,title"` |
//! | [`Struct`], [`Value`], [`ListValue`], [`NullValue`] | any JSON object, value, array, `null` |
//! | wrappers such as [`Int64Value`] | the wrapped value, e.g. `"9223372036854775807"` |
//! | [`Empty`] | `{}` |
//! | [`Any`] | `{"@type": "type.googleapis.com/pkg.Msg", ...fields}` |
//!
//! An [`Any`] can only be written or read as JSON when the type it holds is known: every type in
//! this module and every `google.rpc` error detail (such as [`crate::google::rpc::BadRequest`]) is
//! known from the start, other messages are added with [`register`].

use std::cell::Cell;
use std::collections::btree_map::Entry as MapEntry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{OnceLock, PoisonError, RwLock};

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use crate::json::{codec, Codec};

const PACKAGE: &str = "google.protobuf";

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// A point in time, independent of time zones: seconds and nanoseconds since
/// 1970-01-01T00:00:00Z.
///
/// JSON: an RFC 3339 string in UTC, e.g. `"2024-02-29T12:34:56.789Z"`, within
/// 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct Timestamp {
    /// Seconds since the Unix epoch (negative before 1970).
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds within the second, 0 to 999,999,999, counting forward also before 1970.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// A signed span of time.
///
/// JSON: seconds with an `s` suffix, e.g. `"1.500s"` or `"-0.000000001s"`, within
/// ±315,576,000,000 seconds (about 10,000 years).
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct Duration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds, -999,999,999 to 999,999,999, with the same sign as `seconds` when both are
    /// nonzero.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// A set of field paths, such as the fields an update request changes.
///
/// JSON: the paths in lowerCamelCase joined by commas, e.g. `"user.displayName,title"`; the
/// paths themselves are snake_case field names (`user.display_name`).
#[derive(Clone, PartialEq, Eq, Hash, ::prost::Message)]
pub struct FieldMask {
    /// The field paths, each a `.`-separated list of proto field names.
    #[prost(string, repeated, tag = "1")]
    pub paths: Vec<String>,
}

/// A JSON object.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Struct {
    /// The object's members.
    #[prost(btree_map = "string, message", tag = "1")]
    pub fields: BTreeMap<String, Value>,
}

/// Any JSON value. A `Value` with no kind set cannot be written as JSON.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Value {
    /// Which kind of value this is.
    #[prost(oneof = "value::Kind", tags = "1, 2, 3, 4, 5, 6")]
    pub kind: Option<value::Kind>,
}

/// Nested types of [`Value`].
pub mod value {
    /// The kinds of JSON value.
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Kind {
        /// `null` (the number is a [`NullValue`](super::NullValue), always 0).
        #[prost(enumeration = "super::NullValue", tag = "1")]
        NullValue(i32),
        /// A number; NaN and infinities cannot be written as JSON.
        #[prost(double, tag = "2")]
        NumberValue(f64),
        /// A string.
        #[prost(string, tag = "3")]
        StringValue(String),
        /// `true` or `false`.
        #[prost(bool, tag = "4")]
        BoolValue(bool),
        /// An object.
        #[prost(message, tag = "5")]
        StructValue(super::Struct),
        /// An array.
        #[prost(message, tag = "6")]
        ListValue(super::ListValue),
    }
}

/// A JSON array.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct ListValue {
    /// The elements.
    #[prost(message, repeated, tag = "1")]
    pub values: Vec<Value>,
}

/// JSON `null`, as an enum with the single value `NULL_VALUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum NullValue {
    /// `null`.
    NullValue = 0,
}

impl NullValue {
    /// The proto name of the value, `NULL_VALUE`.
    pub fn as_str_name(&self) -> &'static str {
        match self {
            Self::NullValue => "NULL_VALUE",
        }
    }

    /// The value with proto name `name`.
    pub fn from_str_name(name: &str) -> Option<Self> {
        match name {
            "NULL_VALUE" => Some(Self::NullValue),
            _ => None,
        }
    }
}

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

/// A message with no fields, e.g. as the request or response of a method that needs none.
/// JSON: `{}`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, ::prost::Message)]
pub struct Empty {}

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

macro_rules! names {
    ($($ty:ident),* $(,)?) => {$(
        impl prost::Name for $ty {
            const NAME: &'static str = stringify!($ty);
            const PACKAGE: &'static str = PACKAGE;

            fn type_url() -> String {
                format!("type.googleapis.com/{PACKAGE}.{}", stringify!($ty))
            }
        }
    )*};
}

names!(
    Timestamp,
    Duration,
    FieldMask,
    Struct,
    Value,
    ListValue,
    DoubleValue,
    FloatValue,
    Int64Value,
    UInt64Value,
    Int32Value,
    UInt32Value,
    BoolValue,
    StringValue,
    BytesValue,
    Empty,
    Any,
);

// Conversions to and from prost-types, for APIs that use those (e.g. `tonic`).

impl From<prost_types::Timestamp> for Timestamp {
    fn from(t: prost_types::Timestamp) -> Self {
        Timestamp {
            seconds: t.seconds,
            nanos: t.nanos,
        }
    }
}

impl From<Timestamp> for prost_types::Timestamp {
    fn from(t: Timestamp) -> Self {
        prost_types::Timestamp {
            seconds: t.seconds,
            nanos: t.nanos,
        }
    }
}

impl From<prost_types::Duration> for Duration {
    fn from(d: prost_types::Duration) -> Self {
        Duration {
            seconds: d.seconds,
            nanos: d.nanos,
        }
    }
}

impl From<Duration> for prost_types::Duration {
    fn from(d: Duration) -> Self {
        prost_types::Duration {
            seconds: d.seconds,
            nanos: d.nanos,
        }
    }
}

impl From<prost_types::FieldMask> for FieldMask {
    fn from(m: prost_types::FieldMask) -> Self {
        FieldMask { paths: m.paths }
    }
}

impl From<FieldMask> for prost_types::FieldMask {
    fn from(m: FieldMask) -> Self {
        prost_types::FieldMask { paths: m.paths }
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

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// Reads a JSON string with `parse`.
struct StrVisitor<T> {
    expecting: &'static str,
    parse: fn(&str) -> Result<T, String>,
}

impl<T> Visitor<'_> for StrVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.parse)(v).map_err(E::custom)
    }
}

/// The value of `text`, which must be all ASCII digits.
fn digits(text: &[u8]) -> Option<i64> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
}

/// A short ASCII text built on the stack: timestamps and durations are written on every
/// response, and allocating for each showed up against pbjson in the benchmark.
struct Text {
    bytes: [u8; 40],
    len: usize,
}

impl Text {
    fn new() -> Self {
        Text {
            bytes: [0; 40],
            len: 0,
        }
    }

    fn push(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    fn push_str(&mut self, text: &str) {
        for b in text.bytes() {
            self.push(b);
        }
    }

    /// `value` as exactly `width` digits, zero-padded.
    fn digits(&mut self, mut value: u64, width: usize) {
        for i in (0..width).rev() {
            self.bytes[self.len + i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
        self.len += width;
    }

    /// Fractional seconds with 0, 3, 6 or 9 digits: the fewest that show `nanos` exactly.
    fn fraction(&mut self, nanos: u32) {
        let nanos = u64::from(nanos);
        let (value, width) = match nanos {
            0 => return,
            n if n % 1_000_000 == 0 => (n / 1_000_000, 3),
            n if n % 1_000 == 0 => (n / 1_000, 6),
            n => (n, 9),
        };
        self.push(b'.');
        self.digits(value, width);
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("only ASCII is pushed")
    }
}

/// Nanoseconds from the 1 to 9 digits after the decimal point (checked by the caller).
fn parse_fraction(text: &[u8]) -> i32 {
    let value = digits(text).unwrap_or(0);
    (value * 10i64.pow(9 - text.len() as u32)) as i32
}

// ---------------------------------------------------------------------------------------------
// Timestamp
// ---------------------------------------------------------------------------------------------

/// 0001-01-01T00:00:00Z
const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
/// 9999-12-31T23:59:59Z
const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;
const TIMESTAMP_RANGE: &str = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z";

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    // Months counted from March, so the leap day is the last day of the year.
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date (year, month, day) `days` after 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn format_timestamp(t: &Timestamp) -> Result<Text, String> {
    if !(0..=999_999_999).contains(&t.nanos) {
        return Err(format!(
            "nanos {} is outside 0 to 999999999 (seconds {})",
            t.nanos, t.seconds
        ));
    }
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&t.seconds) {
        return Err(format!(
            "seconds {} is outside {TIMESTAMP_RANGE}",
            t.seconds
        ));
    }
    let (year, month, day) = civil_from_days(t.seconds.div_euclid(86_400));
    let second_of_day = t.seconds.rem_euclid(86_400) as u64;
    let mut text = Text::new();
    text.digits(year as u64, 4);
    text.push(b'-');
    text.digits(month as u64, 2);
    text.push(b'-');
    text.digits(day as u64, 2);
    text.push(b'T');
    text.digits(second_of_day / 3600, 2);
    text.push(b':');
    text.digits(second_of_day / 60 % 60, 2);
    text.push(b':');
    text.digits(second_of_day % 60, 2);
    text.fraction(t.nanos as u32);
    text.push(b'Z');
    Ok(text)
}

fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    let error = |why: &str| format!("invalid timestamp `{text}`: {why}");
    let shape = "expected RFC 3339 like `1972-01-01T10:00:20.021Z`";
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(error(shape));
    }
    let number = |from: usize, to: usize| digits(&b[from..to]).ok_or_else(|| error(shape));
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    if year == 0 {
        return Err(error(&format!("year 0 is outside {TIMESTAMP_RANGE}")));
    }
    if !(1..=12).contains(&month) {
        return Err(error(&format!("month {month} does not exist")));
    }
    if !(1..=days_in_month(year, month)).contains(&day) {
        return Err(error(&format!("{year:04}-{month:02} has no day {day}")));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(error("the time of day is out of range"));
    }

    let mut rest = &b[19..];
    let mut nanos = 0;
    if let Some(after_dot) = rest.strip_prefix(b".") {
        let count = after_dot.iter().take_while(|c| c.is_ascii_digit()).count();
        if count == 0 {
            return Err(error("expected digits after `.`"));
        }
        if count > 9 {
            return Err(error("more than 9 fractional digits"));
        }
        nanos = parse_fraction(&after_dot[..count]);
        rest = &after_dot[count..];
    }
    let offset_seconds = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = match (digits(&[*h1, *h2]), digits(&[*m1, *m2])) {
                (Some(h), Some(m)) if h <= 23 && m <= 59 => (h, m),
                _ => return Err(error("invalid UTC offset")),
            };
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'-' {
                -offset
            } else {
                offset
            }
        }
        _ => return Err(error("expected `Z` or an offset like `+01:00` at the end")),
    };

    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_seconds;
    if !(MIN_TIMESTAMP_SECONDS..=MAX_TIMESTAMP_SECONDS).contains(&seconds) {
        return Err(error(&format!("outside {TIMESTAMP_RANGE} in UTC")));
    }
    Ok(Timestamp { seconds, nanos })
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = format_timestamp(self).map_err(|e| {
            ser::Error::custom(format_args!(
                "cannot write google.protobuf.Timestamp as JSON: {e}"
            ))
        })?;
        s.serialize_str(text.as_str())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: "an RFC 3339 timestamp string",
            parse: parse_timestamp,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Duration
// ---------------------------------------------------------------------------------------------

/// 10,000 years of 365.25 days.
const MAX_DURATION_SECONDS: i64 = 315_576_000_000;

fn format_duration(d: &Duration) -> Result<Text, String> {
    if d.seconds.unsigned_abs() > MAX_DURATION_SECONDS as u64 {
        return Err(format!(
            "seconds {} is outside ±{MAX_DURATION_SECONDS}",
            d.seconds
        ));
    }
    if d.nanos.unsigned_abs() > 999_999_999 {
        return Err(format!(
            "nanos {} is outside ±999999999 (seconds {})",
            d.nanos, d.seconds
        ));
    }
    if (d.seconds > 0 && d.nanos < 0) || (d.seconds < 0 && d.nanos > 0) {
        return Err(format!(
            "seconds {} and nanos {} have different signs",
            d.seconds, d.nanos
        ));
    }
    let sign = if d.seconds < 0 || d.nanos < 0 {
        "-"
    } else {
        ""
    };
    let mut text = Text::new();
    text.push_str(sign);
    text.push_str(itoa::Buffer::new().format(d.seconds.unsigned_abs()));
    text.fraction(d.nanos.unsigned_abs());
    text.push(b's');
    Ok(text)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let error = |why: &str| format!("invalid duration `{text}`: {why}");
    let shape = "expected seconds with up to 9 fractional digits and an `s`, like `1.5s`";
    let body = text.strip_suffix('s').ok_or_else(|| error(shape))?;
    let (negative, body) = match body.strip_prefix('-') {
        Some(body) => (true, body),
        None => (false, body),
    };
    let (whole, fractional) = match body.split_once('.') {
        Some((whole, fractional)) => (whole, Some(fractional)),
        None => (body, None),
    };
    if whole.is_empty() || !whole.bytes().all(|c| c.is_ascii_digit()) {
        return Err(error(shape));
    }
    let seconds = match whole.parse::<i64>() {
        Ok(s) if s <= MAX_DURATION_SECONDS => s,
        _ => return Err(error(&format!("outside ±{MAX_DURATION_SECONDS} seconds"))),
    };
    let nanos = match fractional.map(str::as_bytes) {
        None => 0,
        Some(f) if f.is_empty() || !f.iter().all(u8::is_ascii_digit) => return Err(error(shape)),
        Some(f) if f.len() > 9 => return Err(error("more than 9 fractional digits")),
        Some(f) => parse_fraction(f),
    };
    Ok(if negative {
        Duration {
            seconds: -seconds,
            nanos: -nanos,
        }
    } else {
        Duration { seconds, nanos }
    })
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = format_duration(self).map_err(|e| {
            ser::Error::custom(format_args!(
                "cannot write google.protobuf.Duration as JSON: {e}"
            ))
        })?;
        s.serialize_str(text.as_str())
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: "a duration string like \"1.5s\"",
            parse: parse_duration,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// FieldMask
// ---------------------------------------------------------------------------------------------

/// Whether `path` is `.`-separated identifiers (letters, digits, `_`; not starting with a
/// digit).
fn is_field_path(path: &str) -> bool {
    path.split('.').all(|name| {
        let mut chars = name.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// A FieldMask path in its JSON form: `author.display_name` -> `author.displayName`.
pub(crate) fn field_path_json(path: &str) -> String {
    to_lower_camel(path)
}

/// `display_name` -> `displayName`: drops `_` and capitalizes a lowercase letter after it.
fn to_lower_camel(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut after_underscore = false;
    for c in path.chars() {
        if c == '_' {
            after_underscore = true;
            continue;
        }
        out.push(if after_underscore {
            c.to_ascii_uppercase()
        } else {
            c
        });
        after_underscore = false;
    }
    out
}

/// `displayName` -> `display_name`.
fn to_snake(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 4);
    for c in path.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn format_field_mask(mask: &FieldMask) -> Result<String, String> {
    let mut out = String::new();
    for (i, path) in mask.paths.iter().enumerate() {
        let camel = to_lower_camel(path);
        // The JSON form only works for paths that come back unchanged: no uppercase, and every
        // `_` followed by a lowercase letter.
        if !is_field_path(path) || to_snake(&camel) != *path {
            return Err(format!(
                "path `{path}` has no JSON form (expected snake_case field names separated by \
                 `.`, each `_` followed by a lowercase letter)"
            ));
        }
        if i > 0 {
            out.push(',');
        }
        out.push_str(&camel);
    }
    Ok(out)
}

fn parse_field_mask(text: &str) -> Result<FieldMask, String> {
    if text.is_empty() {
        return Ok(FieldMask::default());
    }
    let paths = text
        .split(',')
        .map(|path| {
            if path.contains('_') || !is_field_path(path) {
                Err(format!(
                    "invalid field mask `{text}`: `{path}` is not a lowerCamelCase field path"
                ))
            } else {
                Ok(to_snake(path))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(FieldMask { paths })
}

impl Serialize for FieldMask {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = format_field_mask(self).map_err(|e| {
            ser::Error::custom(format_args!(
                "cannot write google.protobuf.FieldMask as JSON: {e}"
            ))
        })?;
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for FieldMask {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor {
            expecting: "a field mask string like \"user.displayName,title\"",
            parse: parse_field_mask,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Struct, Value, ListValue, NullValue
// ---------------------------------------------------------------------------------------------

impl Serialize for Struct {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (key, value) in &self.fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Serialize for ListValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.values.len()))?;
        for value in &self.values {
            seq.serialize_element(value)?;
        }
        seq.end()
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use value::Kind;
        match &self.kind {
            None => Err(ser::Error::custom(
                "cannot write google.protobuf.Value as JSON: no kind is set",
            )),
            Some(Kind::NullValue(_)) => s.serialize_unit(),
            Some(Kind::NumberValue(n)) if n.is_finite() => codec::write_number(*n, s),
            Some(Kind::NumberValue(n)) => Err(ser::Error::custom(format_args!(
                "cannot write google.protobuf.Value as JSON: {n} is not a JSON number"
            ))),
            Some(Kind::StringValue(v)) => s.serialize_str(v),
            Some(Kind::BoolValue(v)) => s.serialize_bool(*v),
            Some(Kind::StructValue(v)) => v.serialize(s),
            Some(Kind::ListValue(v)) => v.serialize(s),
        }
    }
}

impl Serialize for NullValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

fn read_struct<'de, A: MapAccess<'de>>(mut map: A) -> Result<Struct, A::Error> {
    let mut fields = BTreeMap::new();
    while let Some(key) = map.next_key::<String>()? {
        match fields.entry(key) {
            MapEntry::Occupied(e) => {
                return Err(de::Error::custom(format_args!(
                    "duplicate key `{}` in object",
                    e.key()
                )))
            }
            MapEntry::Vacant(e) => {
                e.insert(map.next_value::<Value>()?);
            }
        }
    }
    Ok(Struct { fields })
}

fn read_list<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<ListValue, A::Error> {
    let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
    while let Some(value) = seq.next_element::<Value>()? {
        values.push(value);
    }
    Ok(ListValue { values })
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(kind(value::Kind::NullValue(NullValue::NullValue as i32)))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(kind(value::Kind::BoolValue(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(kind(value::Kind::NumberValue(v as f64)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(kind(value::Kind::NumberValue(v as f64)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(kind(value::Kind::NumberValue(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(kind(value::Kind::StringValue(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(kind(value::Kind::StringValue(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Value, A::Error> {
        read_list(seq).map(|list| kind(value::Kind::ListValue(list)))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Value, A::Error> {
        read_struct(map).map(|s| kind(value::Kind::StructValue(s)))
    }
}

fn kind(kind: value::Kind) -> Value {
    Value { kind: Some(kind) }
}

impl<'de> Deserialize<'de> for Value {
    /// Reads any JSON value; `null` is a [`NullValue`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Struct {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Struct;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Struct, A::Error> {
                read_struct(map)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for ListValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ListValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<ListValue, A::Error> {
                read_list(seq)
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'de> Deserialize<'de> for NullValue {
    /// Reads `null`; also the enum's name `"NULL_VALUE"` and number `0`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NullValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<NullValue, E> {
                Ok(NullValue::NullValue)
            }
            fn visit_none<E: de::Error>(self) -> Result<NullValue, E> {
                Ok(NullValue::NullValue)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NullValue, E> {
                NullValue::from_str_name(v)
                    .ok_or_else(|| E::custom(format_args!("unknown NullValue `{v}`")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NullValue, E> {
                match v {
                    0 => Ok(NullValue::NullValue),
                    _ => Err(E::custom(format_args!("unknown NullValue {v}"))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NullValue, E> {
                match v {
                    0 => Ok(NullValue::NullValue),
                    _ => Err(E::custom(format_args!("unknown NullValue {v}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------------
// Wrappers and Empty
// ---------------------------------------------------------------------------------------------

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

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Empty;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an empty JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Empty, A::Error> {
                match map.next_key::<String>()? {
                    Some(key) => Err(de::Error::custom(format_args!(
                        "unknown field `{key}` in google.protobuf.Empty"
                    ))),
                    None => Ok(Empty {}),
                }
            }
        }
        d.deserialize_map(V)
    }
}

// ---------------------------------------------------------------------------------------------
// Any and the type registry
// ---------------------------------------------------------------------------------------------

/// How `Any` writes and reads one message type.
#[derive(Clone, Copy)]
struct Entry {
    /// The JSON goes in a `"value"` member (well-known types with their own JSON form).
    value_form: bool,
    write: fn(&[u8]) -> Result<Json, String>,
    read: fn(serde_json::Value) -> Result<Vec<u8>, String>,
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
/// The types of this module and the `google.rpc` error details are registered from the start.
/// Registering a type again replaces the earlier registration. `T` is found by its full name
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

fn registry() -> &'static RwLock<HashMap<String, Entry>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, Entry>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
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
        RwLock::new(entries.into_iter().chain(error_details()).collect())
    })
}

/// The `google.rpc` error details, nested messages included (as generated code registers
/// them), so `grpc-status-details-bin` from tonic-types renders as JSON with no set-up.
fn error_details() -> [(String, Entry); 14] {
    use crate::google::rpc::*;
    [
        entry::<ErrorInfo>(),
        entry::<RetryInfo>(),
        entry::<DebugInfo>(),
        entry::<QuotaFailure>(),
        entry::<quota_failure::Violation>(),
        entry::<PreconditionFailure>(),
        entry::<precondition_failure::Violation>(),
        entry::<BadRequest>(),
        entry::<bad_request::FieldViolation>(),
        entry::<RequestInfo>(),
        entry::<ResourceInfo>(),
        entry::<Help>(),
        entry::<help::Link>(),
        entry::<LocalizedMessage>(),
    ]
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
            "{doing}: type {type_url} is not registered; call \
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

// ---------------------------------------------------------------------------------------------
// Capturing a message's JSON
// ---------------------------------------------------------------------------------------------

/// JSON as a message's `Serialize` wrote it, kept in order and with the original number types,
/// so `Any` can add `@type` and pass it on to the real serializer unchanged. (`serde_json::Value`
/// would sort the fields and turn `f32`s into `f64`s, which print with more digits.)
enum Json {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Str(String),
    Seq(Vec<Json>),
    Map(Vec<(String, Json)>),
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(v) => s.serialize_bool(*v),
            Json::I64(v) => s.serialize_i64(*v),
            Json::U64(v) => s.serialize_u64(*v),
            Json::F32(v) => s.serialize_f32(*v),
            Json::F64(v) => s.serialize_f64(*v),
            Json::Str(v) => s.serialize_str(v),
            Json::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// A serializer that produces [`Json`].
struct Capture;

type CaptureError = serde_json::Error;

fn unsupported(what: &str) -> CaptureError {
    ser::Error::custom(format_args!(
        "{what} cannot be packed in google.protobuf.Any"
    ))
}

impl Serializer for Capture {
    type Ok = Json;
    type Error = CaptureError;
    type SerializeSeq = CaptureSeq;
    type SerializeTuple = CaptureSeq;
    type SerializeTupleStruct = CaptureSeq;
    type SerializeTupleVariant = ser::Impossible<Json, CaptureError>;
    type SerializeMap = CaptureMap;
    type SerializeStruct = CaptureMap;
    type SerializeStructVariant = ser::Impossible<Json, CaptureError>;

    fn serialize_bool(self, v: bool) -> Result<Json, CaptureError> {
        Ok(Json::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Json, CaptureError> {
        Ok(Json::I64(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Json, CaptureError> {
        Ok(Json::I64(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Json, CaptureError> {
        Ok(Json::I64(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Json, CaptureError> {
        Ok(Json::I64(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Json, CaptureError> {
        Ok(Json::U64(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Json, CaptureError> {
        Ok(Json::U64(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Json, CaptureError> {
        Ok(Json::U64(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Json, CaptureError> {
        Ok(Json::U64(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Json, CaptureError> {
        Ok(Json::F32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Json, CaptureError> {
        Ok(Json::F64(v))
    }
    fn serialize_char(self, v: char) -> Result<Json, CaptureError> {
        Ok(Json::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Json, CaptureError> {
        Ok(Json::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Json, CaptureError> {
        // As serde_json writes bytes: an array of numbers.
        Ok(Json::Seq(
            v.iter().map(|b| Json::U64((*b).into())).collect(),
        ))
    }
    fn serialize_none(self) -> Result<Json, CaptureError> {
        Ok(Json::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Json, CaptureError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Json, CaptureError> {
        Ok(Json::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Json, CaptureError> {
        Ok(Json::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Json, CaptureError> {
        Ok(Json::Str(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Json, CaptureError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Json, CaptureError> {
        Ok(Json::Map(vec![(
            variant.to_owned(),
            value.serialize(Capture)?,
        )]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<CaptureSeq, CaptureError> {
        Ok(CaptureSeq(Vec::with_capacity(len.unwrap_or(0).min(4096))))
    }
    fn serialize_tuple(self, len: usize) -> Result<CaptureSeq, CaptureError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<CaptureSeq, CaptureError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, CaptureError> {
        Err(unsupported("a tuple variant"))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<CaptureMap, CaptureError> {
        Ok(CaptureMap {
            entries: Vec::with_capacity(len.unwrap_or(0).min(4096)),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<CaptureMap, CaptureError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, CaptureError> {
        Err(unsupported("a struct variant"))
    }
}

struct CaptureSeq(Vec<Json>);

impl SerializeSeq for CaptureSeq {
    type Ok = Json;
    type Error = CaptureError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), CaptureError> {
        self.0.push(value.serialize(Capture)?);
        Ok(())
    }
    fn end(self) -> Result<Json, CaptureError> {
        Ok(Json::Seq(self.0))
    }
}

impl ser::SerializeTuple for CaptureSeq {
    type Ok = Json;
    type Error = CaptureError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), CaptureError> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Json, CaptureError> {
        SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for CaptureSeq {
    type Ok = Json;
    type Error = CaptureError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), CaptureError> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Json, CaptureError> {
        SerializeSeq::end(self)
    }
}

struct CaptureMap {
    entries: Vec<(String, Json)>,
    key: Option<String>,
}

impl SerializeMap for CaptureMap {
    type Ok = Json;
    type Error = CaptureError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), CaptureError> {
        match key.serialize(Capture)? {
            Json::Str(key) => {
                self.key = Some(key);
                Ok(())
            }
            _ => Err(unsupported("a map key that is not a string")),
        }
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), CaptureError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| unsupported("a map value without a key"))?;
        self.entries.push((key, value.serialize(Capture)?));
        Ok(())
    }
    fn end(self) -> Result<Json, CaptureError> {
        Ok(Json::Map(self.entries))
    }
}

impl SerializeStruct for CaptureMap {
    type Ok = Json;
    type Error = CaptureError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CaptureError> {
        self.entries
            .push((key.to_owned(), value.serialize(Capture)?));
        Ok(())
    }
    fn end(self) -> Result<Json, CaptureError> {
        Ok(Json::Map(self.entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::{Message, Name};

    fn write<T: Serialize>(value: &T) -> Result<String, String> {
        serde_json::to_string(value).map_err(|e| e.to_string())
    }

    fn read<T: DeserializeOwned>(json: &str) -> Result<T, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    fn ts(seconds: i64, nanos: i32) -> Timestamp {
        Timestamp { seconds, nanos }
    }

    fn dur(seconds: i64, nanos: i32) -> Duration {
        Duration { seconds, nanos }
    }

    fn mask(paths: &[&str]) -> FieldMask {
        FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn quoted(text: &str) -> String {
        format!("\"{text}\"")
    }

    #[test]
    fn timestamps_are_utc_rfc3339_with_0_3_6_or_9_fraction_digits() {
        let cases = [
            (ts(0, 0), "1970-01-01T00:00:00Z"),
            (ts(1_709_210_096, 789_000_000), "2024-02-29T12:34:56.789Z"),
            (ts(-62_135_596_800, 0), "0001-01-01T00:00:00Z"),
            (
                ts(253_402_300_799, 999_999_999),
                "9999-12-31T23:59:59.999999999Z",
            ),
            (ts(0, 1), "1970-01-01T00:00:00.000000001Z"),
            (ts(0, 10_000_000), "1970-01-01T00:00:00.010Z"),
            (ts(0, 123_456_000), "1970-01-01T00:00:00.123456Z"),
            (ts(0, 100_000), "1970-01-01T00:00:00.000100Z"),
            (ts(-1, 500_000_000), "1969-12-31T23:59:59.500Z"),
            (ts(951_782_400, 0), "2000-02-29T00:00:00Z"),
        ];
        for (t, text) in cases {
            assert_eq!(write(&t), Ok(quoted(text)), "{t:?}");
            assert_eq!(read::<Timestamp>(&quoted(text)), Ok(t), "{text}");
        }
    }

    #[test]
    fn timestamps_accept_any_offset_and_0_to_9_fraction_digits() {
        let cases = [
            ("2024-01-01T01:00:00+01:00", ts(1_704_067_200, 0)),
            ("2023-12-31T18:30:00-05:30", ts(1_704_067_200, 0)),
            ("2024-01-01T00:00:00z", ts(1_704_067_200, 0)),
            ("2024-01-01T00:00:00+00:00", ts(1_704_067_200, 0)),
            ("2024-01-01T00:00:00.5Z", ts(1_704_067_200, 500_000_000)),
            (
                "2024-01-01T00:00:00.123456789Z",
                ts(1_704_067_200, 123_456_789),
            ),
            ("2024-01-01T00:00:00.12Z", ts(1_704_067_200, 120_000_000)),
            // Before 1970 the nanos still count forward.
            ("1969-12-31T23:59:59.25Z", ts(-1, 250_000_000)),
            ("0001-01-01T01:00:00+01:00", ts(-62_135_596_800, 0)),
        ];
        for (text, t) in cases {
            assert_eq!(read::<Timestamp>(&quoted(text)), Ok(t), "{text}");
        }
    }

    #[test]
    fn timestamps_outside_rfc3339_or_the_range_are_rejected() {
        let cases = [
            "0000-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-00-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-01T00:00:00.1234567890Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01 00:00:00Z",
            "2024-01-0100:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:60Z",
            "2024-01-01T00:00:00+1:00",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00Z ",
            "2024-1-01T00:00:00Z",
            "０2024-01-01T00:00:00Z",
            "0001-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
            "",
        ];
        for text in cases {
            let err = read::<Timestamp>(&format!("{text:?}")).unwrap_err();
            assert!(err.starts_with("invalid timestamp"), "{text}: {err}");
        }
        assert!(read::<Timestamp>("0").is_err());
    }

    #[test]
    fn timestamps_out_of_range_are_not_written() {
        let cases = [
            ts(0, -1),
            ts(0, 1_000_000_000),
            ts(-62_135_596_801, 0),
            ts(253_402_300_800, 0),
            ts(i64::MIN, 0),
        ];
        for t in cases {
            let err = write(&t).unwrap_err();
            assert!(
                err.starts_with("cannot write google.protobuf.Timestamp as JSON"),
                "{t:?}: {err}"
            );
        }
    }

    #[test]
    fn timestamps_round_trip_across_the_whole_range() {
        // A step coprime with 86400 visits every time of day and many dates.
        let mut seconds = MIN_TIMESTAMP_SECONDS;
        while seconds <= MAX_TIMESTAMP_SECONDS {
            let t = ts(seconds, 7_000);
            let text = write(&t).unwrap();
            assert_eq!(read::<Timestamp>(&text), Ok(t), "{text}");
            seconds += 7_777_777;
        }
    }

    #[test]
    fn civil_dates_match_day_counts() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        for days in (-719_162..=2_932_896).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn durations_are_seconds_with_0_3_6_or_9_fraction_digits() {
        let cases = [
            (dur(0, 0), "0s"),
            (dur(3, 0), "3s"),
            (dur(1, 500_000_000), "1.500s"),
            (dur(0, -500_000_000), "-0.500s"),
            (dur(0, -1), "-0.000000001s"),
            (dur(1, 10_000), "1.000010s"),
            (dur(-3, -100), "-3.000000100s"),
            (dur(-60, 0), "-60s"),
            (dur(315_576_000_000, 999_999_999), "315576000000.999999999s"),
            (dur(-315_576_000_000, 0), "-315576000000s"),
        ];
        for (d, text) in cases {
            assert_eq!(write(&d), Ok(quoted(text)), "{d:?}");
            assert_eq!(read::<Duration>(&quoted(text)), Ok(d), "{text}");
        }
    }

    #[test]
    fn durations_accept_up_to_9_fraction_digits() {
        let cases = [
            ("1.5s", dur(1, 500_000_000)),
            ("-0.5s", dur(0, -500_000_000)),
            ("-1.000000001s", dur(-1, -1)),
            ("0.000000001s", dur(0, 1)),
            ("-0s", dur(0, 0)),
            ("007s", dur(7, 0)),
        ];
        for (text, d) in cases {
            assert_eq!(read::<Duration>(&quoted(text)), Ok(d), "{text}");
        }
    }

    #[test]
    fn durations_malformed_or_out_of_range_are_rejected() {
        let cases = [
            "1",
            "s",
            "-s",
            "1.s",
            ".5s",
            "+1s",
            "1.0000000001s",
            "315576000001s",
            "-315576000001s",
            "99999999999999999999s",
            "1e3s",
            " 1s",
            "1 s",
            "1.5S",
            "--1s",
            "1.-5s",
        ];
        for text in cases {
            let err = read::<Duration>(&quoted(text)).unwrap_err();
            assert!(err.starts_with("invalid duration"), "{text}: {err}");
        }
        let unwritable = [
            dur(315_576_000_001, 0),
            dur(i64::MIN, 0),
            dur(1, -1),
            dur(-1, 1),
            dur(0, 1_000_000_000),
            dur(0, i32::MIN),
        ];
        for d in unwritable {
            let err = write(&d).unwrap_err();
            assert!(
                err.starts_with("cannot write google.protobuf.Duration"),
                "{d:?}: {err}"
            );
        }
    }

    #[test]
    fn field_masks_are_lower_camel_paths_joined_by_commas() {
        let cases = [
            (mask(&[]), ""),
            (mask(&["title"]), "title"),
            (
                mask(&["user.display_name", "foo_bar_baz"]),
                "user.displayName,fooBarBaz",
            ),
            (mask(&["a.b.c", "x1", "ab_c2"]), "a.b.c,x1,abC2"),
        ];
        for (m, text) in cases {
            assert_eq!(write(&m), Ok(quoted(text)), "{m:?}");
            assert_eq!(read::<FieldMask>(&quoted(text)), Ok(m), "{text}");
        }
    }

    #[test]
    fn field_mask_paths_that_cannot_round_trip_are_rejected() {
        let unwritable = [
            "fooBar", "foo_1", "foo__bar", "foo_", "_", "a,b", "", "a..b", "a.", "1a", "a-b",
            "foo_.bar",
        ];
        for path in unwritable {
            let err = write(&mask(&["ok", path])).unwrap_err();
            assert!(
                err.starts_with("cannot write google.protobuf.FieldMask"),
                "{path}: {err}"
            );
        }
        let unreadable = ["foo_bar", "a..b", "a,,b", "a,", "1a", "a b", "a.b.", "ä"];
        for text in unreadable {
            let err = read::<FieldMask>(&quoted(text)).unwrap_err();
            assert!(err.starts_with("invalid field mask"), "{text}: {err}");
        }
    }

    fn number(n: f64) -> Value {
        kind(value::Kind::NumberValue(n))
    }

    fn string(s: &str) -> Value {
        kind(value::Kind::StringValue(s.into()))
    }

    fn null() -> Value {
        kind(value::Kind::NullValue(0))
    }

    #[test]
    fn struct_value_and_list_value_are_plain_json() {
        let inner = Struct {
            fields: [(
                "c".to_string(),
                kind(value::Kind::ListValue(ListValue::default())),
            )]
            .into(),
        };
        let list = ListValue {
            values: vec![
                number(1.0),
                string("x"),
                kind(value::Kind::BoolValue(true)),
                null(),
                kind(value::Kind::StructValue(inner)),
            ],
        };
        let object = Struct {
            fields: [
                ("a".to_string(), null()),
                ("b".to_string(), kind(value::Kind::ListValue(list.clone()))),
                ("d".to_string(), number(-1.5)),
                ("e".to_string(), number(1e300)),
            ]
            .into(),
        };
        let json = r#"{"a":null,"b":[1,"x",true,null,{"c":[]}],"d":-1.5,"e":1e+300}"#;
        assert_eq!(write(&object).as_deref(), Ok(json));
        assert_eq!(read::<Struct>(json), Ok(object.clone()));
        assert_eq!(
            read::<Value>(json),
            Ok(kind(value::Kind::StructValue(object)))
        );
        assert_eq!(read::<ListValue>(r#"[1,"x",true,null,{"c":[]}]"#), Ok(list));
        assert_eq!(read::<Value>("null"), Ok(null()));
        assert_eq!(read::<Value>("\"s\""), Ok(string("s")));
        assert_eq!(
            read::<Value>("18446744073709551615"),
            Ok(number(1.8446744073709552e19))
        );
        assert_eq!(write(&null()).as_deref(), Ok("null"));
        assert_eq!(write(&NullValue::NullValue).as_deref(), Ok("null"));
        assert_eq!(read::<NullValue>("null"), Ok(NullValue::NullValue));
        assert_eq!(write(&number(0.5)).as_deref(), Ok("0.5"));
        assert_eq!(write(&number(-0.0)).as_deref(), Ok("-0.0"));
    }

    #[test]
    fn values_without_json_form_are_errors() {
        let cases = [
            (Value::default(), "no kind is set"),
            (number(f64::NAN), "NaN is not a JSON number"),
            (number(f64::INFINITY), "inf is not a JSON number"),
        ];
        for (v, message) in cases {
            let err = write(&v).unwrap_err();
            assert!(err.contains(message), "{v:?}: {err}");
        }
        let nested = Struct {
            fields: [("x".to_string(), Value::default())].into(),
        };
        assert!(write(&nested).is_err());
        assert!(read::<Struct>(r#"{"a":1,"a":2}"#)
            .unwrap_err()
            .contains("duplicate key `a`"));
        assert!(read::<Struct>("[]").is_err());
        assert!(read::<ListValue>("{}").is_err());
    }

    #[test]
    fn sixty_four_bit_wrappers_are_strings_out_and_strings_or_numbers_in() {
        let max = Int64Value { value: i64::MAX };
        assert_eq!(write(&max), Ok(quoted("9223372036854775807")));
        assert_eq!(read::<Int64Value>("\"9223372036854775807\""), Ok(max));
        assert_eq!(read::<Int64Value>("9223372036854775807"), Ok(max));
        assert_eq!(read::<Int64Value>("\"-12\""), Ok(Int64Value { value: -12 }));
        assert_eq!(read::<Int64Value>("1e3"), Ok(Int64Value { value: 1000 }));
        assert_eq!(
            read::<Int64Value>("\"1e3\""),
            Ok(Int64Value { value: 1000 })
        );
        let umax = UInt64Value { value: u64::MAX };
        assert_eq!(write(&umax), Ok(quoted("18446744073709551615")));
        assert_eq!(read::<UInt64Value>("\"18446744073709551615\""), Ok(umax));
        let rejected = [
            ("-1", "out of range for uint64"),
            ("\"-1\"", "out of range for uint64"),
            ("\"18446744073709551616\"", "out of range for uint64"),
            ("1.5", "expected an integer"),
            ("\"1.5\"", "expected an integer"),
            ("\"+1\"", "invalid uint64"),
            ("\" 1\"", "invalid uint64"),
            ("\"\"", "invalid uint64"),
            ("\"inf\"", "invalid uint64"),
            ("1e30", "out of range for uint64"),
            ("true", "invalid type"),
        ];
        for (json, message) in rejected {
            let err = read::<UInt64Value>(json).unwrap_err();
            assert!(err.contains(message), "{json}: {err}");
        }
        assert!(read::<Int64Value>("\"9223372036854775808\"").is_err());
    }

    #[test]
    fn thirty_two_bit_wrappers_are_numbers_out_and_numbers_or_strings_in() {
        assert_eq!(write(&Int32Value { value: -5 }).as_deref(), Ok("-5"));
        assert_eq!(
            write(&UInt32Value { value: u32::MAX }).as_deref(),
            Ok("4294967295")
        );
        assert_eq!(read::<Int32Value>("\"7\""), Ok(Int32Value { value: 7 }));
        assert_eq!(read::<Int32Value>("1.0"), Ok(Int32Value { value: 1 }));
        assert_eq!(
            read::<UInt32Value>("4294967295"),
            Ok(UInt32Value { value: u32::MAX })
        );
        for json in ["1.5", "2147483648", "-2147483649", "\"x\"", "null", "[]"] {
            assert!(read::<Int32Value>(json).is_err(), "{json}");
        }
        assert!(read::<UInt32Value>("-1").is_err());
        assert!(read::<UInt32Value>("4294967296").is_err());
    }

    #[test]
    fn float_wrappers_use_strings_for_nan_and_infinities() {
        let writes = [
            (write(&DoubleValue { value: f64::NAN }), "\"NaN\""),
            (
                write(&DoubleValue {
                    value: f64::INFINITY,
                }),
                "\"Infinity\"",
            ),
            (
                write(&DoubleValue {
                    value: f64::NEG_INFINITY,
                }),
                "\"-Infinity\"",
            ),
            (write(&FloatValue { value: f32::NAN }), "\"NaN\""),
            (
                write(&FloatValue {
                    value: f32::NEG_INFINITY,
                }),
                "\"-Infinity\"",
            ),
            (write(&DoubleValue { value: 1.5 }), "1.5"),
            (write(&DoubleValue { value: 2.0 }), "2"),
            (write(&FloatValue { value: 1.1 }), "1.1"),
            (write(&FloatValue { value: 3.0 }), "3"),
        ];
        for (written, json) in writes {
            assert_eq!(written.as_deref(), Ok(json));
        }
        assert!(read::<DoubleValue>("\"NaN\"").unwrap().value.is_nan());
        assert!(read::<FloatValue>("\"NaN\"").unwrap().value.is_nan());
        assert_eq!(
            read::<FloatValue>("\"-Infinity\""),
            Ok(FloatValue {
                value: f32::NEG_INFINITY
            })
        );
        assert_eq!(
            read::<DoubleValue>("\"Infinity\""),
            Ok(DoubleValue {
                value: f64::INFINITY
            })
        );
        assert_eq!(
            read::<DoubleValue>("\"2.5\""),
            Ok(DoubleValue { value: 2.5 })
        );
        assert_eq!(read::<DoubleValue>("3"), Ok(DoubleValue { value: 3.0 }));
        assert_eq!(
            read::<FloatValue>("3.4028235e38"),
            Ok(FloatValue { value: f32::MAX })
        );
        assert!(read::<FloatValue>("1e39")
            .unwrap_err()
            .contains("out of range for float"));
        assert!(read::<FloatValue>("-1e39")
            .unwrap_err()
            .contains("out of range for float"));
        for json in [
            "\"inf\"",
            "\"nan\"",
            "\"infinity\"",
            "\"+1\"",
            "\"\"",
            "true",
        ] {
            assert!(read::<DoubleValue>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn bool_string_and_bytes_wrappers() {
        assert_eq!(write(&BoolValue { value: true }).as_deref(), Ok("true"));
        assert_eq!(read::<BoolValue>("false"), Ok(BoolValue { value: false }));
        assert!(read::<BoolValue>("\"true\"").is_err());
        let s = StringValue {
            value: "a\"b".into(),
        };
        assert_eq!(write(&s).as_deref(), Ok(r#""a\"b""#));
        assert_eq!(read::<StringValue>(r#""a\"b""#), Ok(s));
        assert!(read::<StringValue>("1").is_err());

        let bytes = BytesValue {
            value: vec![0xfb, 0xff],
        };
        assert_eq!(write(&bytes).as_deref(), Ok("\"+/8=\""));
        for json in ["\"+/8=\"", "\"+/8\"", "\"-_8=\"", "\"-_8\""] {
            assert_eq!(read::<BytesValue>(json), Ok(bytes.clone()), "{json}");
        }
        assert_eq!(read::<BytesValue>("\"\""), Ok(BytesValue::default()));
        for json in ["\"!!\"", "\"+_8=\"", "\"A\"", "1"] {
            assert!(read::<BytesValue>(json).is_err(), "{json}");
        }
    }

    #[test]
    fn empty_is_an_empty_object() {
        assert_eq!(write(&Empty {}).as_deref(), Ok("{}"));
        assert_eq!(read::<Empty>("{}"), Ok(Empty {}));
        assert!(read::<Empty>(r#"{"a":1}"#)
            .unwrap_err()
            .contains("unknown field `a` in google.protobuf.Empty"));
        assert!(read::<Empty>("[]").is_err());
    }

    /// A user message, with hand-written JSON as generated code would have.
    #[derive(Clone, PartialEq, Message)]
    struct Point {
        #[prost(int32, tag = "1")]
        zeta: i32,
        #[prost(float, tag = "2")]
        alpha: f32,
    }

    impl Name for Point {
        const NAME: &'static str = "Point";
        const PACKAGE: &'static str = "test.v1";
        fn type_url() -> String {
            "type.googleapis.com/test.v1.Point".into()
        }
    }

    impl Serialize for Point {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            // Not alphabetical, to check that Any keeps the order.
            let mut map = s.serialize_map(Some(2))?;
            map.serialize_entry("zeta", &self.zeta)?;
            map.serialize_entry("alpha", &self.alpha)?;
            map.end()
        }
    }

    impl<'de> Deserialize<'de> for Point {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let json = serde_json::Map::deserialize(d)?;
            let mut point = Point::default();
            for (key, value) in json {
                match (key.as_str(), value.as_f64()) {
                    ("zeta", Some(v)) => point.zeta = v as i32,
                    ("alpha", Some(v)) => point.alpha = v as f32,
                    _ => return Err(de::Error::custom(format_args!("bad field `{key}`"))),
                }
            }
            Ok(point)
        }
    }

    #[test]
    fn any_with_a_registered_message_inlines_its_fields_after_type() {
        register::<Point>();
        let point = Point {
            zeta: 7,
            alpha: 1.1,
        };
        let any = Any::from_msg(&point).unwrap();
        let json = r#"{"@type":"type.googleapis.com/test.v1.Point","zeta":7,"alpha":1.1}"#;
        assert_eq!(write(&any).as_deref(), Ok(json));
        assert_eq!(read::<Any>(json), Ok(any.clone()));
        assert_eq!(any.to_msg::<Point>(), Ok(point.clone()));

        // `@type` may come last; any prefix works and is kept as given.
        let other =
            read::<Any>(r#"{"alpha":1.1,"zeta":7,"@type":"example.com/x/test.v1.Point"}"#).unwrap();
        assert_eq!(other.type_url, "example.com/x/test.v1.Point");
        assert_eq!(other.to_msg::<Point>(), Ok(point));
        assert!(
            read::<Any>(r#"{"@type":"type.googleapis.com/test.v1.Point","bad":1}"#)
                .unwrap_err()
                .contains("bad field `bad`")
        );
    }

    #[test]
    fn any_with_a_well_known_type_puts_its_json_in_value() {
        let url = |name: &str| format!("type.googleapis.com/google.protobuf.{name}");
        let struct_value = Struct {
            fields: [("a".to_string(), number(1.0))].into(),
        };
        let cases = [
            (
                Any::from_msg(&ts(0, 0)).unwrap(),
                r#""1970-01-01T00:00:00Z""#,
            ),
            (Any::from_msg(&dur(1, 500_000_000)).unwrap(), r#""1.500s""#),
            (Any::from_msg(&mask(&["a_b"])).unwrap(), r#""aB""#),
            (Any::from_msg(&struct_value).unwrap(), r#"{"a":1}"#),
            (Any::from_msg(&string("s")).unwrap(), r#""s""#),
            (Any::from_msg(&null()).unwrap(), "null"),
            (Any::from_msg(&ListValue::default()).unwrap(), "[]"),
            (Any::from_msg(&Int64Value { value: 5 }).unwrap(), r#""5""#),
            (Any::from_msg(&FloatValue { value: 1.1 }).unwrap(), "1.1"),
            (
                Any::from_msg(&BytesValue { value: vec![1] }).unwrap(),
                r#""AQ==""#,
            ),
            (Any::from_msg(&BoolValue { value: false }).unwrap(), "false"),
            (
                Any::from_msg(&Any::from_msg(&Int32Value { value: 3 }).unwrap()).unwrap(),
                r#"{"@type":"type.googleapis.com/google.protobuf.Int32Value","value":3}"#,
            ),
        ];
        for (any, value) in cases {
            let json = format!(r#"{{"@type":"{}","value":{value}}}"#, any.type_url);
            assert_eq!(write(&any), Ok(json.clone()), "{}", any.type_url);
            assert_eq!(read::<Any>(&json), Ok(any));
        }
        // Empty's JSON is its (empty) object of fields; protobuf-go's `value` form is read too.
        let empty = Any::from_msg(&Empty {}).unwrap();
        let json = format!(r#"{{"@type":"{}"}}"#, url("Empty"));
        assert_eq!(write(&empty), Ok(json.clone()));
        assert_eq!(read::<Any>(&json), Ok(empty.clone()));
        let go_form = format!(r#"{{"@type":"{}","value":{{}}}}"#, url("Empty"));
        assert_eq!(read::<Any>(&go_form), Ok(empty));

        let bad = [
            (
                format!(r#"{{"@type":"{}"}}"#, url("Timestamp")),
                "missing `value`",
            ),
            (
                format!(r#"{{"@type":"{}","value":"0s","x":1}}"#, url("Duration")),
                "unknown field `x`",
            ),
            (
                format!(r#"{{"@type":"{}","value":"x"}}"#, url("Duration")),
                "invalid duration `x`",
            ),
            (
                format!(
                    r#"{{"@type":"{}","@type":"{}"}}"#,
                    url("Empty"),
                    url("Empty")
                ),
                "duplicate field `@type`",
            ),
        ];
        for (json, message) in bad {
            let err = read::<Any>(&json).unwrap_err();
            assert!(err.contains(message), "{json}: {err}");
        }
    }

    #[test]
    fn any_with_an_unregistered_type_says_how_to_register_it() {
        let any = Any {
            type_url: "type.googleapis.com/test.v1.Unknown".into(),
            value: vec![],
        };
        let err = write(&any).unwrap_err();
        assert!(
            err.starts_with(
                "cannot write google.protobuf.Any as JSON: type \
                 type.googleapis.com/test.v1.Unknown is not registered"
            ),
            "{err}"
        );
        assert!(err.contains("rs_svc::wkt::register::<T>()"), "{err}");
        let err = read::<Any>(r#"{"@type":"example.com/test.v1.Unknown","a":1}"#).unwrap_err();
        assert!(
            err.starts_with(
                "cannot read google.protobuf.Any from JSON: type \
                 example.com/test.v1.Unknown is not registered"
            ),
            "{err}"
        );
        let no_slash = Any {
            type_url: "google.protobuf.Empty".into(),
            value: vec![],
        };
        assert!(write(&no_slash)
            .unwrap_err()
            .contains("does not end in `/`"));
        assert!(read::<Any>(r#"{"a":1}"#)
            .unwrap_err()
            .contains("missing `@type`"));
    }

    #[test]
    fn default_any_is_an_empty_object() {
        assert_eq!(write(&Any::default()).as_deref(), Ok("{}"));
        assert_eq!(read::<Any>("{}"), Ok(Any::default()));
    }

    #[test]
    fn any_with_undecodable_bytes_is_an_error() {
        let any = Any {
            type_url: Timestamp::type_url(),
            value: vec![0xff],
        };
        assert!(write(&any).unwrap_err().contains("cannot decode"));
    }

    #[test]
    fn deeply_nested_any_is_an_error_not_a_crash() {
        let mut any = Any::from_msg(&Empty {}).unwrap();
        for _ in 0..200 {
            any = Any::from_msg(&any).unwrap();
        }
        assert!(write(&any).unwrap_err().contains("nested more than"));
        let mut shallow = Any::from_msg(&Empty {}).unwrap();
        for _ in 0..10 {
            shallow = Any::from_msg(&shallow).unwrap();
        }
        let json = write(&shallow).unwrap();
        assert_eq!(read::<Any>(&json), Ok(shallow));
    }

    #[test]
    fn wire_format_matches_prost_types() {
        let t = ts(1_709_210_096, 789);
        assert_eq!(
            t.encode_to_vec(),
            prost_types::Timestamp::from(t).encode_to_vec()
        );
        let d = dur(-1, -5);
        assert_eq!(
            d.encode_to_vec(),
            prost_types::Duration::from(d).encode_to_vec()
        );
        let m = mask(&["a", "b.c"]);
        assert_eq!(
            m.encode_to_vec(),
            prost_types::FieldMask::from(m.clone()).encode_to_vec()
        );
        let any = Any::from_msg(&t).unwrap();
        assert_eq!(
            any.encode_to_vec(),
            prost_types::Any::from(any.clone()).encode_to_vec()
        );

        let value: Value = read(r#"{"a":[1,"x",true,null,{}],"b":-2.5}"#).unwrap();
        let theirs = prost_types::Value::decode(value.encode_to_vec().as_slice()).unwrap();
        assert_eq!(theirs.encode_to_vec(), value.encode_to_vec());
        let prost_types::value::Kind::StructValue(s) = theirs.kind.unwrap() else {
            panic!("not a struct");
        };
        assert_eq!(
            s.fields["b"].kind,
            Some(prost_types::value::Kind::NumberValue(-2.5))
        );

        // Wrappers: field 1 of the wrapped kind.
        assert_eq!(Int64Value { value: 1 }.encode_to_vec(), vec![0x08, 0x01]);
        assert_eq!(DoubleValue { value: 1.0 }.encode_to_vec()[0], 0x09);
        assert_eq!(FloatValue { value: 1.0 }.encode_to_vec()[0], 0x0d);
        assert_eq!(
            StringValue { value: "a".into() }.encode_to_vec(),
            vec![0x0a, 0x01, b'a']
        );
    }

    #[test]
    fn names_are_the_upstream_ones() {
        assert_eq!(
            Timestamp::type_url(),
            "type.googleapis.com/google.protobuf.Timestamp"
        );
        assert_eq!(UInt64Value::full_name(), "google.protobuf.UInt64Value");
        assert_eq!(Any::full_name(), "google.protobuf.Any");
        assert_eq!(Empty::NAME, "Empty");
        assert_eq!(ListValue::PACKAGE, "google.protobuf");
        assert!(Any::from_msg(&ts(0, 0))
            .unwrap()
            .to_msg::<Duration>()
            .is_err());
    }
}
