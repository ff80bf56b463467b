//! The generated messages write and read proto3 JSON with only the runtime's `json` feature.

use rs_svc::wkt::{value, Any, Duration, Timestamp, Value};
use rs_svc_json_only::acme::shop::v1::{order, LineItem, Order};
use serde_json::json;

fn order() -> Order {
    Order {
        name: "orders/1".into(),
        customer: "ada".into(),
        items: vec![LineItem::default()],
        state: order::State::Shipped as i32,
        create_time: Some(Timestamp {
            seconds: 1_709_210_096,
            nanos: 789_000_000,
        }),
        delivery_window: Some(Duration {
            seconds: 1,
            nanos: 500_000_000,
        }),
        total_minor: i64::MAX,
        payment: Some(order::Payment::Invoice("INV-7".into())),
        stock_left: Some(3),
        provider_detail: Some(Any::from_msg(&LineItem::default()).unwrap()),
        // Set: an unset Value is written `null`, which reads back as the null Value.
        extra: Some(Value {
            kind: Some(value::Kind::StringValue("x".into())),
        }),
        ..Order::default()
    }
}

#[test]
fn messages_write_proto3_json_and_read_it_back() {
    let order = order();
    let text = rs_svc::json::to_string(&order).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (member, want) in [
        ("state", json!("SHIPPED")),
        ("createTime", json!("2024-02-29T12:34:56.789Z")),
        ("deliveryWindow", json!("1.500s")),
        ("totalMinor", json!("9223372036854775807")),
        ("invoice", json!("INV-7")),
        ("stockLeft", json!("3")),
    ] {
        assert_eq!(value[member], want, "{member} in {text}");
    }
    // A generated message inside an Any is known without registering it.
    assert_eq!(
        value["providerDetail"]["@type"],
        "type.googleapis.com/acme.shop.v1.LineItem"
    );
    let back: Order = rs_svc::json::from_str(&text).unwrap();
    assert_eq!(back, order);
}
