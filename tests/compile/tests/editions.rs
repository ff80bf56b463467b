//! Edition 2023 files lowered to proto2 and proto3 (tests/editions) keep protoc's wire format:
//! the generated prost messages encode to the same bytes as protoc itself encodes the same
//! text-format message with the edition 2023 descriptors, and decode protoc's bytes back to
//! the same values. protoc is the oracle here: it knows editions, prost-reflect 0.16 does not;
//! prost-reflect then reads protoc's bytes through the lowered descriptors and must agree on
//! the bytes and on which fields are present.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use prost::Message;
use prost_reflect::ReflectMessage;
use rs_svc_compile_test::edition2023::editions::v1 as ed;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../editions")
}

/// `protoc --encode=<message>`: the text-format `text` encoded with protoc's own descriptors.
fn protoc_encode(file: &str, message: &str, text: &str) -> Vec<u8> {
    let mut child = Command::new(protoc_bin_vendored::protoc_bin_path().unwrap())
        .arg("-I")
        .arg(fixtures())
        .arg("-I")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto"))
        .arg("-I")
        .arg(protoc_bin_vendored::include_path().unwrap())
        .arg(format!("--encode={message}"))
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "protoc --encode failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// prost-reflect's view of `bytes` through the lowered descriptors the plugin embeds: the
/// message re-encodes to the same bytes, and says which fields are present.
fn dynamic(message: &str, bytes: &[u8]) -> prost_reflect::DynamicMessage {
    let pool = prost_reflect::DescriptorPool::decode(
        rs_svc_compile_test::edition2023::FILE_DESCRIPTOR_SET,
    )
    .unwrap();
    let desc = pool.get_message_by_name(message).unwrap();
    let dynamic = prost_reflect::DynamicMessage::decode(desc, bytes).unwrap();
    assert_eq!(dynamic.encode_to_vec(), bytes, "{message}");
    dynamic
}

/// The names of the fields `message` holds, in field order.
fn present(message: &prost_reflect::DynamicMessage) -> Vec<String> {
    message.fields().map(|(f, _)| f.name().to_owned()).collect()
}

/// The field keys of an encoded message, in order: (number, wire type).
fn keys(mut bytes: &[u8]) -> Vec<(u32, u8)> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (tag, wire_type) = prost::encoding::decode_key(&mut bytes).unwrap();
        prost::encoding::skip_field(
            wire_type,
            tag,
            &mut bytes,
            prost::encoding::DecodeContext::default(),
        )
        .unwrap();
        out.push((tag, wire_type as u8));
    }
    out
}

#[test]
fn proto3_lowering_keeps_presence_packing_and_open_enums_on_the_wire() {
    let item = ed::Item {
        // Explicit presence: zeros that are set are sent.
        count: Some(0),
        label: Some(String::new()),
        color: Some(ed::Color::Unspecified as i32),
        // Implicit presence: zeros are not sent.
        total: 0,
        shade: 0,
        packed_numbers: vec![1, 2, 300],
        expanded_numbers: vec![-1, 5],
        // An open enum keeps a number it has no name for.
        colors: vec![ed::Color::Red as i32, 7],
        child: Some(Box::new(ed::Item {
            total: 9,
            ..Default::default()
        })),
        stock: [("a".to_owned(), 3)].into(),
        choice: Some(ed::item::Choice::Id(0)),
    };
    let text = "count: 0 label: \"\" color: COLOR_UNSPECIFIED total: 0 \
                shade: COLOR_UNSPECIFIED packed_numbers: [1, 2, 300] \
                expanded_numbers: [-1, 5] colors: [COLOR_RED, 7] child { total: 9 } id: 0 \
                stock { key: \"a\" value: 3 }";
    let oracle = protoc_encode("editions/v1/items.proto", "editions.v1.Item", text);
    assert_eq!(item.encode_to_vec(), oracle);
    assert_eq!(ed::Item::decode(oracle.as_slice()).unwrap(), item);
    // Not vacuous: explicit zeros present, implicit ones absent, field 6 packed (one
    // length-delimited record), field 7 expanded (one varint record per element).
    assert_eq!(
        keys(&oracle),
        [
            (1, 0),
            (2, 2),
            (3, 0),
            (6, 2),
            (7, 0),
            (7, 0),
            (8, 2),
            (9, 2),
            (11, 0),
            (12, 2)
        ]
    );
    let dynamic = dynamic("editions.v1.Item", &oracle);
    assert_eq!(
        present(&dynamic),
        [
            "count",
            "label",
            "color",
            "packed_numbers",
            "expanded_numbers",
            "colors",
            "child",
            "id",
            "stock"
        ]
    );
    // The map's entry keeps plain key and value fields (no synthetic oneofs).
    let entry = dynamic.descriptor().get_field_by_name("stock").unwrap();
    let prost_reflect::Kind::Message(entry) = entry.kind() else {
        panic!("a map field is a message of entries")
    };
    assert_eq!(entry.oneofs().count(), 0);
}

#[test]
fn proto2_lowering_keeps_closed_enums_defaults_required_and_packing_on_the_wire() {
    let legacy = ed::Legacy {
        size: Some(ed::Size::Large as i32),
        weight: None,
        code: "c".into(),
        packed_numbers: vec![1, 2],
        expanded_numbers: vec![7, 8],
        note: Some("n".into()),
    };
    let text = "size: SIZE_LARGE code: \"c\" packed_numbers: [1, 2] \
                expanded_numbers: [7, 8] note: \"n\"";
    let oracle = protoc_encode("editions/v1/legacy.proto", "editions.v1.Legacy", text);
    assert_eq!(legacy.encode_to_vec(), oracle);
    let decoded = ed::Legacy::decode(oracle.as_slice()).unwrap();
    assert_eq!(decoded, legacy);
    // The `[default = 7]` survives the lowering.
    assert_eq!(decoded.weight(), 7);
    assert_eq!(
        keys(&oracle),
        [(1, 0), (3, 2), (4, 2), (5, 5), (5, 5), (6, 2)]
    );
    let dynamic = dynamic("editions.v1.Legacy", &oracle);
    assert_eq!(
        present(&dynamic),
        ["size", "code", "packed_numbers", "expanded_numbers", "note"]
    );
    // Closed enums are proto2's: the lowered file is proto2, the open one's proto3.
    let pool = prost_reflect::DescriptorPool::decode(
        rs_svc_compile_test::edition2023::FILE_DESCRIPTOR_SET,
    )
    .unwrap();
    let syntax = |name: &str| pool.get_enum_by_name(name).unwrap().parent_file().syntax();
    assert_eq!(syntax("editions.v1.Size"), prost_reflect::Syntax::Proto2);
    assert_eq!(syntax("editions.v1.Color"), prost_reflect::Syntax::Proto3);
}

#[tokio::test]
async fn the_http_rule_survives_the_lowering_and_routes() {
    #[derive(Default)]
    struct Items;
    #[tonic::async_trait]
    impl ed::item_service_server::ItemService for Items {
        async fn get_item(
            &self,
            r: tonic::Request<ed::Item>,
        ) -> Result<tonic::Response<ed::Item>, tonic::Status> {
            Ok(tonic::Response::new(r.into_inner()))
        }
    }
    let addr = common::serve_http(ed::item_service_http::router(std::sync::Arc::new(Items))).await;
    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{addr}/v1/items/l:get"))
        .json(&serde_json::json!({"count": 0, "total": "5", "expandedNumbers": ["-1"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["label"], "l");
    assert_eq!(reply["count"], 0);
    assert_eq!(reply["total"], "5");
    assert_eq!(reply["expandedNumbers"], serde_json::json!(["-1"]));
}
