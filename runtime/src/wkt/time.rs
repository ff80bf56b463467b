//! `Timestamp` and `Duration`.

use serde::de::Deserializer;
use serde::ser::{self, Serializer};
use serde::{Deserialize, Serialize};

use super::StrVisitor;

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

/// 0001-01-01T00:00:00Z
pub(super) const MIN_TIMESTAMP_SECONDS: i64 = -62_135_596_800;
/// 9999-12-31T23:59:59Z
pub(super) const MAX_TIMESTAMP_SECONDS: i64 = 253_402_300_799;
const TIMESTAMP_RANGE: &str = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z";

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
pub(super) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
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
pub(super) fn civil_from_days(days: i64) -> (i64, i64, i64) {
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
