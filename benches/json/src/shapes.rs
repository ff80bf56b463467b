//! The benchmark's messages, shared by `benches/json.rs` and `examples/count.rs`.

use crate::ours::acme::shop::v1 as ours;
use rs_svc::wkt::{value::Kind, Duration, Struct, Timestamp, Value};

pub fn small() -> ours::LineItem {
    ours::LineItem {
        sku: "SKU-12345".into(),
        quantity: 3,
        unit_price: 19.99,
    }
}

pub fn nested() -> ours::Order {
    ours::Order {
        name: "orders/8d1f0c2e".into(),
        customer: "customers/42".into(),
        items: (0..20)
            .map(|i| ours::LineItem {
                sku: format!("SKU-{i:05}"),
                quantity: i,
                unit_price: 1.5 * i as f32,
            })
            .collect(),
        state: ours::order::State::Confirmed as i32,
        labels: (0..10)
            .map(|i| (format!("label{i}"), format!("value {i}")))
            .collect(),
        total_minor: 123_456_789_012,
        reserved_by_warehouse: (0..10).map(|i| (i, (i as u64) << 40)).collect(),
        attachment: vec![7; 64],
        payment: Some(ours::order::Payment::CardToken("tok_abcdef".into())),
        history: vec![1, 2, 3],
        ..Default::default()
    }
}

pub fn wkt() -> ours::Order {
    let s = |v: &str| Value {
        kind: Some(Kind::StringValue(v.into())),
    };
    ours::Order {
        name: "orders/1".into(),
        create_time: Some(Timestamp {
            seconds: 1_700_000_000,
            nanos: 123_000_000,
        }),
        delivery_window: Some(Duration {
            seconds: 86_400,
            nanos: 500_000_000,
        }),
        attributes: Some(Struct {
            fields: [
                ("color".to_owned(), s("red")),
                (
                    "size".to_owned(),
                    Value {
                        kind: Some(Kind::NumberValue(42.0)),
                    },
                ),
                (
                    "gift".to_owned(),
                    Value {
                        kind: Some(Kind::BoolValue(true)),
                    },
                ),
                ("note".to_owned(), s("leave at the door")),
            ]
            .into(),
        }),
        // No FieldMask: pbjson-types reads it only as an object, not the canonical string.
        stock_left: Some(17),
        gift_note: Some("happy birthday".into()),
        ..Default::default()
    }
}
