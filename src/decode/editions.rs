//! Lowers `edition = "2023"` files to an equivalent proto2 or proto3 file before anything else
//! reads them: prost-build 0.14 and prost-reflect 0.16 know only proto2 and proto3.
//!
//! Every edition 2023 feature we lower has a proto2 or proto3 spelling with the same wire format
//! and the same JSON:
//!
//! | feature | proto3 | proto2 |
//! |---|---|---|
//! | `field_presence = EXPLICIT` (singular scalar) | `optional` (synthetic oneof) | `optional` |
//! | `field_presence = IMPLICIT` | plain field | none |
//! | `field_presence = LEGACY_REQUIRED` | none | `required` |
//! | `enum_type = OPEN` / `CLOSED` | open / none | none / closed |
//! | `repeated_field_encoding = PACKED` / `EXPANDED` | default / `[packed = false]` | `[packed = true]` / default |
//! | `utf8_validation = VERIFY` / `NONE` | default / none | (prost checks anyway) / default |
//! | a field `[default = ...]` | none | the same |
//! | extension ranges, extensions of other than options | none | the same |
//!
//! A file needing both columns, or using `message_encoding = DELIMITED` (groups), cannot be
//! lowered: a located error names the elements. The file is edited as a dynamic message, so
//! options this code does not know (such as `google.api.http`) survive byte for byte.

use std::collections::HashSet;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage, Value};

/// `google.protobuf.Edition.EDITION_2023`, the only edition lowered.
pub const EDITION_2023: i32 = 1000;

// google.protobuf.FieldDescriptorProto.Type and .Label values.
const TYPE_GROUP: i32 = 10;
const TYPE_MESSAGE: i32 = 11;
const TYPE_STRING: i32 = 9;
const TYPE_BYTES: i32 = 12;
const TYPE_ENUM: i32 = 14;
const LABEL_REQUIRED: i32 = 2;
const LABEL_REPEATED: i32 = 3;

// FeatureSet values (google/protobuf/descriptor.proto).
const EXPLICIT: i32 = 1;
const IMPLICIT: i32 = 2;
const LEGACY_REQUIRED: i32 = 3;
const CLOSED: i32 = 2;
const EXPANDED: i32 = 2;
const UTF8_NONE: i32 = 3;
const DELIMITED: i32 = 2;

// Field numbers of the descriptor messages, for source paths and edits.
const FILE_MESSAGE_TYPE: i32 = 4;
const FILE_ENUM_TYPE: i32 = 5;
const FILE_EXTENSION: i32 = 7;
const MESSAGE_FIELD: i32 = 2;
const MESSAGE_NESTED_TYPE: i32 = 3;
const MESSAGE_ENUM_TYPE: i32 = 4;
const MESSAGE_EXTENSION: i32 = 6;

/// The resolved features of an element.
#[derive(Clone, Copy)]
struct Features {
    presence: i32,
    enum_type: i32,
    encoding: i32,
    utf8: i32,
    message_encoding: i32,
}

impl Features {
    /// Edition 2023's defaults.
    const EDITION_2023: Features = Features {
        presence: EXPLICIT,
        enum_type: 1,
        encoding: 1,
        utf8: 2,
        message_encoding: 1,
    };

    /// These features with the ones `element.options.features` sets on top.
    fn overlay(mut self, element: &DynamicMessage) -> Features {
        let Some(set) = feature_set(element) else {
            return self;
        };
        let pairs = [
            (&mut self.presence, set.field_presence),
            (&mut self.enum_type, set.enum_type),
            (&mut self.encoding, set.repeated_field_encoding),
            (&mut self.utf8, set.utf8_validation),
            (&mut self.message_encoding, set.message_encoding),
        ];
        for (feature, set) in pairs {
            if let Some(value) = set {
                *feature = value;
            }
        }
        self
    }
}

/// The `google.protobuf.FeatureSet` fields that lowering reads.
#[derive(Clone, PartialEq, Message)]
struct FeatureSet {
    #[prost(int32, optional, tag = "1")]
    field_presence: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    enum_type: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    repeated_field_encoding: Option<i32>,
    #[prost(int32, optional, tag = "4")]
    utf8_validation: Option<i32>,
    #[prost(int32, optional, tag = "5")]
    message_encoding: Option<i32>,
}

/// The `features` of `element.options`, read from the options' bytes: the copy of
/// descriptor.proto that prost-reflect bundles does not declare it on every options message.
fn feature_set(element: &DynamicMessage) -> Option<FeatureSet> {
    let options = message_field(element, "options")?;
    let number = features_number(options.descriptor().name())?;
    let bytes = options.encode_to_vec();
    let mut set = None;
    for_each_field(&bytes, |tag, field| {
        if tag == number {
            // The key and length prefix come first; a repeated occurrence merges.
            let mut body = field;
            let _ = prost::encoding::decode_key(&mut body);
            let set = set.get_or_insert_with(FeatureSet::default);
            let _ = set.merge_length_delimited(body);
        }
    });
    set
}

/// The number of `features` in each options message of descriptor.proto.
fn features_number(options: &str) -> Option<u32> {
    Some(match options {
        "FileOptions" | "ExtensionRangeOptions" => 50,
        "MessageOptions" => 12,
        "FieldOptions" => 21,
        "OneofOptions" => 1,
        "EnumOptions" => 7,
        "EnumValueOptions" => 2,
        "ServiceOptions" => 34,
        "MethodOptions" => 35,
        _ => return None,
    })
}

/// Calls `f(number, bytes)` for each field of an encoded message, `bytes` being the whole
/// field (key included). Stops at the first malformed field.
fn for_each_field(bytes: &[u8], mut f: impl FnMut(u32, &[u8])) {
    use prost::encoding::{decode_key, skip_field, DecodeContext};
    let mut rest = bytes;
    while !rest.is_empty() {
        let start = rest;
        let Ok((tag, wire_type)) = decode_key(&mut rest) else {
            return;
        };
        if skip_field(wire_type, tag, &mut rest, DecodeContext::default()).is_err() {
            return;
        }
        f(tag, &start[..start.len() - rest.len()]);
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Syntax {
    Proto2,
    Proto3,
}

impl Syntax {
    fn name(self) -> &'static str {
        match self {
            Syntax::Proto2 => "proto2",
            Syntax::Proto3 => "proto3",
        }
    }
}

/// Why an element needs one syntax, with where it is.
struct Need {
    path: Vec<i32>,
    element: String,
    why: &'static str,
}

/// One walk over a file: first collecting what each element needs (`target` unset), then
/// rewriting it for `target`.
struct Walk<'a> {
    closed_enums: &'a HashSet<String>,
    target: Option<Syntax>,
    needs: [Vec<Need>; 2],
    errors: Vec<(Vec<i32>, String, String)>,
}

impl Walk<'_> {
    fn need(&mut self, syntax: Syntax, path: &[i32], element: &str, why: &'static str) {
        self.needs[syntax as usize].push(Need {
            path: path.to_vec(),
            element: element.to_owned(),
            why,
        });
    }

    fn message(&mut self, msg: &mut DynamicMessage, parent: Features, scope: &str, path: &[i32]) {
        let name = string_field(msg, "name");
        let full = format!("{scope}.{name}");
        let features = parent.overlay(msg);
        let mut synthetic = Vec::new();
        let mut taken: HashSet<String> = list(msg, "field")
            .iter()
            .chain(list(msg, "oneof_decl").iter())
            .filter_map(|v| v.as_message().map(|m| string_field(m, "name")))
            .collect();
        let oneofs = list(msg, "oneof_decl").len();
        if !list(msg, "extension_range").is_empty() {
            self.need(Syntax::Proto2, path, &full, "an extension range");
        }
        // A map's entry message keeps plain key and value fields, as protoc writes it in proto3.
        let map_entry = message_field(msg, "options")
            .and_then(|o| o.get_field_by_name("map_entry")?.as_bool())
            .unwrap_or(false);
        if let Some(fields) = list_mut(msg, "field").filter(|_| !map_entry) {
            for (i, field) in fields.iter_mut().enumerate() {
                let Some(field) = field.as_message_mut() else {
                    continue;
                };
                let field_path = [path, &[MESSAGE_FIELD, i as i32]].concat();
                if let Some(oneof) = self.field(field, features, &full, &field_path, false) {
                    // protoc names a synthetic oneof `_<field>`, prefixed with `X` until unique.
                    let mut oneof_name = format!("_{oneof}");
                    while taken.contains(&oneof_name) {
                        oneof_name.insert(0, 'X');
                    }
                    taken.insert(oneof_name.clone());
                    field.set_field_by_name(
                        "oneof_index",
                        Value::I32((oneofs + synthetic.len()) as i32),
                    );
                    field.set_field_by_name("proto3_optional", Value::Bool(true));
                    synthetic.push(oneof_name);
                }
            }
        }
        if !synthetic.is_empty() {
            let desc = oneof_descriptor();
            let decls = list_mut(msg, "oneof_decl").expect("a message has oneof_decl");
            for name in synthetic {
                let mut oneof = DynamicMessage::new(desc.clone());
                oneof.set_field_by_name("name", Value::String(name));
                decls.push(Value::Message(oneof));
            }
        }
        self.children(
            msg,
            features,
            &full,
            path,
            [MESSAGE_NESTED_TYPE, MESSAGE_ENUM_TYPE, MESSAGE_EXTENSION],
        );
    }

    /// Nested messages, enums and extensions of a file or message.
    fn children(
        &mut self,
        msg: &mut DynamicMessage,
        features: Features,
        scope: &str,
        path: &[i32],
        [messages, enums, extensions]: [i32; 3],
    ) {
        let names = ["nested_type", "enum_type", "extension"];
        let names = if path.is_empty() {
            ["message_type", "enum_type", "extension"]
        } else {
            names
        };
        if let Some(list) = list_mut(msg, names[0]) {
            for (i, m) in list.iter_mut().enumerate() {
                if let Some(m) = m.as_message_mut() {
                    self.message(m, features, scope, &[path, &[messages, i as i32]].concat());
                }
            }
        }
        if let Some(list) = list_mut(msg, names[1]) {
            for (i, e) in list.iter_mut().enumerate() {
                if let Some(e) = e.as_message() {
                    let full = format!("{scope}.{}", string_field(e, "name"));
                    let why = if features.overlay(e).enum_type == CLOSED {
                        (Syntax::Proto2, "a closed enum")
                    } else {
                        (Syntax::Proto3, "an open enum")
                    };
                    self.need(why.0, &[path, &[enums, i as i32]].concat(), &full, why.1);
                }
            }
        }
        if let Some(list) = list_mut(msg, names[2]) {
            for (i, f) in list.iter_mut().enumerate() {
                if let Some(f) = f.as_message_mut() {
                    let p = [path, &[extensions, i as i32]].concat();
                    self.field(f, features, scope, &p, true);
                }
            }
        }
    }

    /// Checks or rewrites one field; returns its name when it needs a synthetic oneof.
    fn field(
        &mut self,
        field: &mut DynamicMessage,
        parent: Features,
        scope: &str,
        path: &[i32],
        extension: bool,
    ) -> Option<String> {
        let name = string_field(field, "name");
        let full = format!("{scope}.{name}");
        let f = parent.overlay(field);
        let ty = int_field(field, "type");
        let repeated = int_field(field, "label") == LABEL_REPEATED;
        let in_oneof = field.has_field_by_name("oneof_index");
        let message = ty == TYPE_MESSAGE || ty == TYPE_GROUP;
        if ty == TYPE_GROUP || (message && f.message_encoding == DELIMITED) {
            self.errors.push((
                path.to_vec(),
                full.clone(),
                "`message_encoding = DELIMITED` (group encoding) cannot be lowered to proto2 or \
                 proto3 for prost; use the default LENGTH_PREFIXED"
                    .to_owned(),
            ));
            return None;
        }
        if ty == TYPE_ENUM {
            let enum_name = string_field(field, "type_name");
            if self
                .closed_enums
                .contains(enum_name.trim_start_matches('.'))
            {
                self.need(Syntax::Proto2, path, &full, "a field of a closed enum");
            }
        }
        if ty == TYPE_STRING && f.utf8 == UTF8_NONE {
            self.need(Syntax::Proto2, path, &full, "`utf8_validation = NONE`");
        }
        if field.has_field_by_name("default_value") {
            self.need(Syntax::Proto2, path, &full, "a `default` value");
        }
        if extension {
            // proto3 extends only the options messages (custom options).
            let extendee = string_field(field, "extendee");
            let options =
                extendee.starts_with(".google.protobuf.") && extendee.ends_with("Options");
            if !options {
                self.need(Syntax::Proto2, path, &full, "an extension of a message");
            }
        }
        let packable = repeated && !message && ty != TYPE_STRING && ty != TYPE_BYTES;
        let mut wants_oneof = false;
        if !repeated {
            match f.presence {
                LEGACY_REQUIRED => self.need(
                    Syntax::Proto2,
                    path,
                    &full,
                    "`field_presence = LEGACY_REQUIRED`",
                ),
                IMPLICIT if !message && !in_oneof && !extension => {
                    self.need(Syntax::Proto3, path, &full, "`field_presence = IMPLICIT`")
                }
                _ => wants_oneof = !message && !in_oneof && !extension,
            }
        }
        let target = self.target?;
        if f.presence == LEGACY_REQUIRED && !repeated {
            field.set_field_by_name("label", Value::EnumNumber(LABEL_REQUIRED));
        }
        if packable {
            // proto3 packs by default, proto2 does not.
            let packed = f.encoding != EXPANDED;
            if packed != (target == Syntax::Proto3) {
                let desc = field_options_descriptor();
                let options = field
                    .get_field_by_name_mut("options")
                    .and_then(Value::as_message_mut);
                match options {
                    Some(options) => options.set_field_by_name("packed", Value::Bool(packed)),
                    None => {
                        let mut options = DynamicMessage::new(desc);
                        options.set_field_by_name("packed", Value::Bool(packed));
                        field.set_field_by_name("options", Value::Message(options));
                    }
                }
            }
        }
        (wants_oneof && target == Syntax::Proto3).then_some(name)
    }
}

/// The enums of `file` that are closed, by full name (no leading dot).
fn closed_enums(file: &DynamicMessage, out: &mut HashSet<String>) {
    let syntax = string_field(file, "syntax");
    let base = match syntax.as_str() {
        "editions" => Features::EDITION_2023.overlay(file),
        "proto3" => return,
        _ => Features {
            enum_type: CLOSED,
            ..Features::EDITION_2023
        },
    };
    fn walk(
        msg: &DynamicMessage,
        enums: &str,
        nested: &str,
        f: Features,
        scope: &str,
        out: &mut HashSet<String>,
    ) {
        for e in list(msg, enums).iter().filter_map(Value::as_message) {
            if f.overlay(e).enum_type == CLOSED {
                let name = format!("{scope}.{}", string_field(e, "name"));
                out.insert(name.trim_start_matches('.').to_owned());
            }
        }
        for m in list(msg, nested).iter().filter_map(Value::as_message) {
            let scope = format!("{scope}.{}", string_field(m, "name"));
            walk(m, "enum_type", "nested_type", f.overlay(m), &scope, out);
        }
    }
    let package = string_field(file, "package");
    let scope = if package.is_empty() {
        String::new()
    } else {
        format!(".{package}")
    };
    walk(file, "enum_type", "message_type", base, &scope, out);
}

/// `FileDescriptorProto.syntax` alone: decoding it skips the rest of the file unread.
#[derive(Clone, PartialEq, prost::Message)]
struct SyntaxOnly {
    #[prost(string, optional, tag = "12")]
    syntax: Option<String>,
}

/// Lowers every edition 2023 file of `files` (raw `FileDescriptorProto`s, in the request's
/// order) in place. Files in proto2 or proto3 are left byte for byte. Errors are located
/// (`file:line:col: element: message`).
pub fn lower(files: &mut [Vec<u8>]) -> Result<(), Vec<String>> {
    // Most requests hold no edition file: then there is nothing to lower, and reading every
    // proto2 file dynamically for its closed enums (descriptor.proto is a large one) is wasted.
    let is_edition = |raw: &Vec<u8>| {
        SyntaxOnly::decode(raw.as_slice()).is_ok_and(|f| f.syntax.as_deref() == Some("editions"))
    };
    if !files.iter().any(is_edition) {
        return Ok(());
    }
    let desc = file_descriptor();
    let mut closed = HashSet::new();
    let mut errors = Vec::new();
    for raw in files.iter_mut() {
        // Cheap test first: only edition files are decoded dynamically.
        let Ok(plain) = prost_types::FileDescriptorProto::decode(raw.as_slice()) else {
            continue;
        };
        if plain.syntax() != "editions" {
            if plain.syntax() != "proto3" {
                let file = DynamicMessage::decode(desc.clone(), raw.as_slice());
                if let Ok(file) = file {
                    closed_enums(&file, &mut closed);
                }
            }
            continue;
        }
        let Ok(mut file) = DynamicMessage::decode(desc.clone(), raw.as_slice()) else {
            continue;
        };
        let locate = |path: &[i32]| location(&plain, path);
        let edition = int_field(&file, "edition");
        if edition != EDITION_2023 {
            errors.push(format!(
                "{}: {}: edition {} is not supported: protoc-gen-rs-svc lowers edition 2023 \
                 files to proto2 or proto3, and no later edition",
                locate(&[]),
                plain.package(),
                edition_name(edition)
            ));
            continue;
        }
        closed_enums(&file, &mut closed);
        let mut walk = Walk {
            closed_enums: &closed,
            target: None,
            needs: [Vec::new(), Vec::new()],
            errors: Vec::new(),
        };
        let features = Features::EDITION_2023.overlay(&file);
        let scope = if plain.package().is_empty() {
            String::new()
        } else {
            plain.package().to_owned()
        };
        walk.children(
            &mut file,
            features,
            &scope,
            &[],
            [FILE_MESSAGE_TYPE, FILE_ENUM_TYPE, FILE_EXTENSION],
        );
        let [proto2, proto3] = std::mem::take(&mut walk.needs);
        for (path, element, message) in walk.errors.drain(..) {
            errors.push(format!("{}: {}: {message}", locate(&path), strip(&element)));
        }
        if let (Some(a), Some(b)) = (proto2.first(), proto3.first()) {
            errors.push(format!(
                "{}: {}: {} has no proto2 or proto3 equivalent together with {} ({} at {}): \
                 this edition 2023 file can be lowered to proto2 or proto3 only when all its \
                 features exist in one of them",
                locate(&a.path),
                strip(&a.element),
                a.why,
                b.why,
                strip(&b.element),
                locate(&b.path),
            ));
            continue;
        }
        if !errors.is_empty() {
            continue;
        }
        let target = if proto2.is_empty() {
            Syntax::Proto3
        } else {
            Syntax::Proto2
        };
        walk.target = Some(target);
        walk.children(
            &mut file,
            features,
            &scope,
            &[],
            [FILE_MESSAGE_TYPE, FILE_ENUM_TYPE, FILE_EXTENSION],
        );
        file.set_field_by_name("syntax", Value::String(target.name().to_owned()));
        file.clear_field_by_name("edition");
        strip_features(&mut file);
        *raw = file.encode_to_vec();
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn strip(element: &str) -> &str {
    element.trim_start_matches('.')
}

fn edition_name(edition: i32) -> String {
    match edition {
        998 => "PROTO2".to_owned(),
        999 => "PROTO3".to_owned(),
        1001 => "2024".to_owned(),
        n => n.to_string(),
    }
}

/// Removes `features` from every options message: proto2 and proto3 files may not set them.
/// The field is cut from the options' bytes, known to prost-reflect's descriptor.proto or not.
fn strip_features(msg: &mut DynamicMessage) {
    if let Some(number) = features_number(msg.descriptor().name()) {
        let mut bytes = Vec::new();
        for_each_field(&msg.encode_to_vec(), |tag, field| {
            if tag != number {
                bytes.extend_from_slice(field);
            }
        });
        if let Ok(stripped) = DynamicMessage::decode(msg.descriptor(), bytes.as_slice()) {
            *msg = stripped;
        }
        return;
    }
    for (field, value) in msg.fields_mut() {
        if field.name() == "source_code_info" {
            continue;
        }
        match value {
            Value::Message(m) => strip_features(m),
            Value::List(items) => {
                for item in items {
                    if let Value::Message(m) = item {
                        strip_features(m);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `file:line:col` of the element at `path`, or the file alone without source info.
fn location(file: &prost_types::FileDescriptorProto, path: &[i32]) -> String {
    let span = file
        .source_code_info
        .as_ref()
        .and_then(|info| info.location.iter().find(|l| l.path == path))
        .map(|l| l.span.clone());
    match span.as_deref() {
        Some([line, col, ..]) => format!("{}:{}:{}", file.name(), line + 1, col + 1),
        _ => file.name().to_owned(),
    }
}

fn file_descriptor() -> MessageDescriptor {
    DescriptorPool::global()
        .get_message_by_name("google.protobuf.FileDescriptorProto")
        .expect("prost-reflect bundles descriptor.proto")
}

fn oneof_descriptor() -> MessageDescriptor {
    DescriptorPool::global()
        .get_message_by_name("google.protobuf.OneofDescriptorProto")
        .expect("prost-reflect bundles descriptor.proto")
}

fn field_options_descriptor() -> MessageDescriptor {
    DescriptorPool::global()
        .get_message_by_name("google.protobuf.FieldOptions")
        .expect("prost-reflect bundles descriptor.proto")
}

fn message_field<'a>(msg: &'a DynamicMessage, name: &str) -> Option<&'a DynamicMessage> {
    let field = msg.descriptor().get_field_by_name(name)?;
    if !msg.has_field(&field) {
        return None;
    }
    msg.fields()
        .find(|(f, _)| f.number() == field.number())
        .and_then(|(_, v)| v.as_message())
}

fn string_field(msg: &DynamicMessage, name: &str) -> String {
    msg.get_field_by_name(name)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn int_field(msg: &DynamicMessage, name: &str) -> i32 {
    msg.get_field_by_name(name)
        .and_then(|v| v.as_enum_number().or_else(|| v.as_i32()))
        .unwrap_or_default()
}

fn list<'a>(msg: &'a DynamicMessage, name: &str) -> &'a [Value] {
    let Some(field) = msg.descriptor().get_field_by_name(name) else {
        return &[];
    };
    msg.fields()
        .find(|(f, _)| f.number() == field.number())
        .and_then(|(_, v)| v.as_list())
        .unwrap_or(&[])
}

fn list_mut<'a>(msg: &'a mut DynamicMessage, name: &str) -> Option<&'a mut Vec<Value>> {
    msg.get_field_by_name_mut(name)?.as_list_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::FileDescriptorProto;

    /// A file in `syntax` with `edition` (field 14) appended on the wire, as prost-types 0.14
    /// has no such field.
    fn file(syntax: &str, edition: Option<u64>) -> Vec<u8> {
        let mut bytes = FileDescriptorProto {
            name: Some("a.proto".into()),
            package: Some("a".into()),
            syntax: Some(syntax.into()),
            ..Default::default()
        }
        .encode_to_vec();
        if let Some(edition) = edition {
            prost::encoding::uint64::encode(14, &edition, &mut bytes);
        }
        bytes
    }

    #[test]
    fn proto2_and_proto3_files_are_left_byte_for_byte() {
        let mut files = vec![file("proto2", None), file("proto3", None)];
        let before = files.clone();
        lower(&mut files).unwrap();
        assert_eq!(files, before);
    }

    #[test]
    fn an_edition_2023_file_becomes_proto3_without_its_edition() {
        let mut files = vec![file("editions", Some(EDITION_2023 as u64))];
        lower(&mut files).unwrap();
        let lowered = FileDescriptorProto::decode(files[0].as_slice()).unwrap();
        assert_eq!(lowered.syntax(), "proto3");
        assert_eq!(files[0], file("proto3", None));
    }

    #[test]
    fn extension_ranges_lower_to_proto2() {
        let mut bytes = FileDescriptorProto {
            name: Some("a.proto".into()),
            package: Some("a".into()),
            syntax: Some("editions".into()),
            message_type: vec![prost_types::DescriptorProto {
                name: Some("Extendable".into()),
                extension_range: vec![prost_types::descriptor_proto::ExtensionRange {
                    start: Some(100),
                    end: Some(200),
                    options: None,
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
        .encode_to_vec();
        prost::encoding::uint64::encode(14, &(EDITION_2023 as u64), &mut bytes);
        let mut files = vec![bytes];
        lower(&mut files).unwrap();
        let lowered = FileDescriptorProto::decode(files[0].as_slice()).unwrap();
        assert_eq!(lowered.syntax(), "proto2");
    }

    #[test]
    fn a_later_edition_is_an_error_naming_it() {
        let mut files = vec![file("editions", Some(1001))];
        let errors = lower(&mut files).unwrap_err();
        assert_eq!(
            errors,
            [
                "a.proto: a: edition 2024 is not supported: protoc-gen-rs-svc lowers edition 2023 \
              files to proto2 or proto3, and no later edition"
            ]
        );
    }
}
