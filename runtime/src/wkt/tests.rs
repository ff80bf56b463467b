use serde::de::{DeserializeOwned, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::struct_value::kind;
use super::time::{civil_from_days, days_from_civil, MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS};
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
             type.googleapis.com/test.v1.Unknown is not known"
        ),
        "{err}"
    );
    assert!(err.contains("rs_svc::wkt::register::<T>()"), "{err}");
    let err = read::<Any>(r#"{"@type":"example.com/test.v1.Unknown","a":1}"#).unwrap_err();
    assert!(
        err.starts_with(
            "cannot read google.protobuf.Any from JSON: type \
             example.com/test.v1.Unknown is not known"
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
