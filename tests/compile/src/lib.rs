//! Compile test: the generated code of every fixture builds as an ordinary crate, warning-free
//! under `cargo clippy -D warnings`, and behaves like prost code.

include!(concat!(env!("OUT_DIR"), "/mod.rs"));

/// The same code generated with `json_omit_defaults` (canonical proto3 JSON) and
/// `generate_default_stubs`, `generate_unbound_methods`.
pub mod canonical {
    include!(concat!(env!("OUT_DIR"), "/canonical/mod.rs"));
}

/// The same code generated with `json_proto_names,json_enum_numbers,json_reject_unknown`,
/// `generate_default_stubs` and `stream_envelope=grpc_gateway`.
pub mod alt {
    include!(concat!(env!("OUT_DIR"), "/alt/mod.rs"));
}

/// The edition 2023 fixtures of tests/editions, compiled by protoc and lowered to proto2 and
/// proto3 by the plugin.
pub mod edition2023 {
    include!(concat!(env!("OUT_DIR"), "/editions/mod.rs"));
}

/// protoc's own descriptors of the edition 2023 fixtures (editions intact).
pub const EDITIONS_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/editions_set.bin"));

/// The fixtures' FileDescriptorSet (imports included), for tests that need reflection.
pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor_set.bin"));

#[cfg(test)]
mod tests {
    use super::acme::shop::v1::{order, LineItem, Order};
    use super::library::v1::PutCoverRequest;
    use prost::Message;

    #[test]
    fn embedded_descriptor_set_holds_the_services_and_their_imports() {
        let pool = prost_reflect::DescriptorPool::decode(super::FILE_DESCRIPTOR_SET).unwrap();
        let shop = pool
            .get_service_by_name("acme.shop.v1.OrderService")
            .expect("the service");
        assert_eq!(shop.methods().count(), 9);
        assert!(pool
            .get_file_by_name("google/api/annotations.proto")
            .is_some());
        assert!(pool
            .get_file_by_name("google/protobuf/timestamp.proto")
            .is_some());
        // Source info is left out: reflection needs types, not comment positions.
        assert!(pool
            .file_descriptor_protos()
            .all(|f| f.source_code_info.is_none()));
    }

    #[test]
    fn generated_messages_round_trip_through_the_wire_format() {
        let order = Order {
            name: "orders/1".into(),
            customer: "customers/7".into(),
            items: vec![LineItem {
                sku: "A-1".into(),
                quantity: 2,
                unit_price: 9.5,
            }],
            state: order::State::Confirmed as i32,
            coupon: Some("WELCOME".into()),
            payment: Some(order::Payment::Invoice("INV-9".into())),
            labels: [("gift".to_owned(), "yes".to_owned())].into(),
            ..Default::default()
        };
        let bytes = order.encode_to_vec();
        assert_eq!(Order::decode(bytes.as_slice()).unwrap(), order);
    }

    #[test]
    fn http_body_comes_from_the_runtime_crate() {
        let request = PutCoverRequest {
            name: "shelves/1/books/2".into(),
            image: Some(rs_svc::google::api::HttpBody {
                content_type: "image/png".into(),
                data: vec![1, 2, 3],
                extensions: vec![],
            }),
        };
        let decoded = PutCoverRequest::decode(request.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded.image.unwrap().data, [1, 2, 3]);
    }
}
