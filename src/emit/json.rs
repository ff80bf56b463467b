//! proto3 JSON for every message and enum of a package: `serde::Serialize` and
//! `serde::Deserialize` impls that name, for each field, a codec of `rs_svc::json::codec`. The
//! rules themselves (64-bit strings, base64, NaN, enum names, ...) live in the runtime, and so
//! does the loop that reads a JSON object: a message only says what each member name means
//! (`rs_svc::json::Object`).
//!
//! Options are decided at generation time: `json_omit_defaults`, `json_proto_names`,
//! `json_enum_numbers`, `json_reject_unknown` (docs/reference.md section 3).
//!
//! The impls are the largest part of a package's file, so they are written as formatted text
//! directly rather than built as tokens, parsed and printed (most of generation's time went
//! there): [`Code`] lays them out exactly as prettyplease prints the same items, and an impl
//! with a line too long for that layout is printed by prettyplease itself. The golden tests
//! check that the file reads the same after prettyplease.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::paths;
use super::EmitError;
use crate::model::{Cardinality, Field, FieldType, Message, Model, Scalar, WellKnown};
use crate::naming;
use crate::params::Params;

/// prettyplease's margin: a line of at most this many characters is printed on one line.
const MARGIN: usize = 89;

/// Rust source written line by line at an indentation of four spaces per level.
struct Code {
    text: String,
    depth: usize,
}

impl Code {
    fn line(&mut self, line: std::fmt::Arguments<'_>) {
        for _ in 0..self.depth {
            self.text.push_str("    ");
        }
        self.text
            .write_fmt(line)
            .expect("writing to a String cannot fail");
        self.text.push('\n');
    }

    /// A line that opens a block (it ends with `{`, `(` or `[`).
    fn open(&mut self, line: std::fmt::Arguments<'_>) {
        self.line(line);
        self.depth += 1;
    }

    /// A line that closes a block.
    fn close(&mut self, line: &str) {
        self.depth -= 1;
        self.line(format_args!("{line}"));
    }

    /// Whether a line of `len` characters fits at the current depth.
    fn fits(&self, len: usize) -> bool {
        self.depth * 4 + len <= MARGIN
    }

    /// `{head} for {ty} {`, the head of an impl, broken before `for` as prettyplease does when
    /// it does not fit (a long nested type's path).
    fn open_impl(&mut self, head: &str, ty: &str) {
        if self.fits(head.len() + ty.len() + " for  {".len()) {
            self.open(format_args!("{head} for {ty} {{"));
        } else {
            self.line(format_args!("{head}"));
            self.open(format_args!("for {ty} {{"));
        }
    }
}

/// A Rust string literal of `text`.
fn lit(text: &str) -> String {
    format!("{text:?}")
}

struct Ctx<'a> {
    model: &'a Model,
    package: &'a str,
    params: &'a Params,
    externs: &'a [(String, String)],
    /// The block's alias of `::rs_svc::__codegen::json`.
    alias: &'a str,
}

impl Ctx<'_> {
    fn path(&self, full_name: &str) -> String {
        paths::rust_path(self.model, self.package, full_name, self.externs)
    }

    /// The codec of one value of `ty` (not counting repeated or map).
    fn value_codec(&self, ty: &FieldType) -> String {
        match ty {
            FieldType::Scalar(s) => scalar_codec(*s).to_owned(),
            // Written as `null` (docs/reference.md section 3); the runtime's NullValue is no
            // ProtoEnum.
            FieldType::Enum(e) if WellKnown::of(e) == Some(WellKnown::NullValue) => {
                "c::Null".to_owned()
            }
            FieldType::Enum(e) => {
                let path = self.path(e);
                let codec = match (
                    self.params.json_enum_numbers,
                    self.params.json_reject_unknown,
                ) {
                    (false, false) => "Enum",
                    (true, false) => "EnumNumber",
                    (false, true) => "EnumStrict",
                    (true, true) => "EnumNumberStrict",
                };
                format!("c::{codec}<{path}>")
            }
            // prost-build stores wrappers as `Option<primitive>` and Empty as `()`.
            FieldType::Message(m) => match wrapper_codec_name(m) {
                Some(codec) => format!("c::{codec}"),
                None if WellKnown::of(m) == Some(WellKnown::Empty) => "c::Empty".to_owned(),
                None => "c::Message".to_owned(),
            },
        }
    }

    fn codec(&self, field: &Field) -> String {
        let value = self.value_codec(&field.ty);
        match &field.cardinality {
            Cardinality::Repeated => format!("c::Repeated<{value}>"),
            Cardinality::Map { key } => format!("c::Map<{}, {value}>", scalar_codec(*key)),
            Cardinality::Singular | Cardinality::Optional => value,
        }
    }

    fn json_key(&self, field: &Field) -> String {
        lit(field.json_key(self.params.json_proto_names))
    }
}

fn scalar_codec(s: Scalar) -> &'static str {
    match s {
        Scalar::Int32 | Scalar::Sint32 | Scalar::Sfixed32 => "c::Int32",
        Scalar::Uint32 | Scalar::Fixed32 => "c::Uint32",
        Scalar::Int64 | Scalar::Sint64 | Scalar::Sfixed64 => "c::Int64",
        Scalar::Uint64 | Scalar::Fixed64 => "c::Uint64",
        Scalar::Float => "c::Float",
        Scalar::Double => "c::Double",
        Scalar::Bool => "c::Bool",
        Scalar::String => "c::Str",
        Scalar::Bytes => "c::Bytes",
    }
}

/// `google.protobuf.Value` reads JSON `null` as a value, not as "unset".
fn is_value(field: &Field) -> bool {
    field.ty.well_known() == Some(WellKnown::Value)
}

/// Is the field stored as `Option<T>` by prost (message fields and explicit presence)?
fn is_option(field: &Field) -> bool {
    field.oneof.is_none()
        && matches!(
            field.cardinality,
            Cardinality::Singular | Cardinality::Optional
        )
        && (matches!(field.ty, FieldType::Message(_)) || field.cardinality == Cardinality::Optional)
}

/// The oneof enum's path and a member's variant, as prost-build names them.
fn oneof_path(message_path: &str, oneof: &str) -> String {
    let module = match message_path.rsplit_once("::") {
        Some((parent, name)) => format!("{parent}::{}", naming::nested_module(name)),
        None => naming::nested_module(message_path),
    };
    format!("{module}::{}", naming::type_name(oneof))
}

/// Writes one member of a message's JSON object. Key and value go in separate calls rather than
/// `serialize_entry`, whose default body is an out-of-line call per field: serde_json's
/// `serialize_key` and `serialize_value` inline into the message's `serialize`, about a tenth
/// of a small message's encode (README, "JSON" benchmark).
fn entry(code: &mut Code, key: &str, value: &str) {
    code.line(format_args!("map.serialize_key({key})?;"));
    // prettyplease's break of a call too long for one line: one argument per line.
    if code.fits("map.serialize_value()?;".len() + value.len()) {
        code.line(format_args!("map.serialize_value({value})?;"));
    } else {
        code.open(format_args!("map.serialize_value("));
        code.line(format_args!("{value},"));
        code.close(")?;");
    }
}

/// An entry whose value is field `ident` written with `codec`; the field is bound to `v` first
/// when naming it in the call would not fit on a line.
fn field_entry(code: &mut Code, key: &str, codec: &str, ident: &str) {
    let value = format!("&With::<{codec}, _>::new(&self.{ident})");
    if code.fits("map.serialize_value()?;".len() + value.len()) || code.fits(value.len() + 4) {
        entry(code, key, &value);
    } else {
        code.line(format_args!("let v = &self.{ident};"));
        entry(code, key, &format!("&With::<{codec}, _>::new(v)"));
    }
}

/// The start of `fn serialize` of `::serde::Serialize`, as prettyplease breaks it.
fn serialize_signature(code: &mut Code) {
    code.open(format_args!("fn serialize<S: ::serde::Serializer>("));
    code.line(format_args!("&self,"));
    code.line(format_args!("serializer: S,"));
    code.close(") -> ::core::result::Result<S::Ok, S::Error> {");
    code.depth += 1;
}

/// The start of `fn deserialize` of `::serde::Deserialize`, as prettyplease breaks it.
fn deserialize_signature(code: &mut Code) {
    code.open(format_args!(
        "fn deserialize<D: ::serde::Deserializer<'de>>("
    ));
    code.line(format_args!("deserializer: D,"));
    code.close(") -> ::core::result::Result<Self, D::Error> {");
    code.depth += 1;
}

fn serialize_impl(code: &mut Code, ctx: &Ctx<'_>, message: &Message, ty: &str) {
    let omit = ctx.params.json_omit_defaults;
    let j = ctx.alias;
    code.open_impl("impl ::serde::Serialize", ty);
    serialize_signature(code);
    code.line(format_args!("use ::serde::ser::SerializeMap as _;"));
    if !message.fields.is_empty() {
        code.line(format_args!("use {j}::{{codec as c, Codec, With}};"));
    }
    // `mut` only when there is an entry to write (clippy: unused_mut).
    let map = if message.fields.is_empty() {
        "map"
    } else {
        "mut map"
    };
    // `Some` and `None` are the prelude's: prost's messages and enums are types, which live in
    // the other namespace, so one named `Some` hides nothing here (testdata/prelude).
    code.line(format_args!("let {map} = serializer.serialize_map(None)?;"));
    for field in message.fields.iter().filter(|f| f.oneof.is_none()) {
        let ident = naming::field_name(&field.name);
        let key = ctx.json_key(field);
        let codec = ctx.codec(field);
        if is_option(field) {
            if code.fits(format!("if let Some(v) = &self.{ident} {{").len()) {
                code.open(format_args!("if let Some(v) = &self.{ident} {{"));
            } else {
                code.line(format_args!("let v = &self.{ident};"));
                code.open(format_args!("if let Some(v) = v {{"));
            }
            entry(code, &key, &format!("&With::<{codec}, _>::new(v)"));
            // Unset message fields are `null` when unpopulated fields are emitted (as
            // protojson's EmitUnpopulated does); unset proto3 optionals are left out.
            if !omit && field.cardinality != Cardinality::Optional {
                code.close("} else {");
                code.depth += 1;
                entry(code, &key, "&()");
            }
            code.close("}");
        } else if omit {
            code.open(format_args!(
                "if !<{codec} as Codec<_>>::is_default(&self.{ident}) {{"
            ));
            field_entry(code, &key, &codec, &ident);
            code.close("}");
        } else {
            field_entry(code, &key, &codec, &ident);
        }
    }
    for oneof in &message.oneofs {
        let ident = naming::field_name(oneof);
        let enum_path = oneof_path(ty, oneof);
        code.open(format_args!("match &self.{ident} {{"));
        for field in message
            .fields
            .iter()
            .filter(|f| f.oneof.as_deref() == Some(oneof))
        {
            let variant = naming::type_name(&field.name);
            code.open(format_args!("Some({enum_path}::{variant}(v)) => {{"));
            let codec = ctx.codec(field);
            entry(
                code,
                &ctx.json_key(field),
                &format!("&With::<{codec}, _>::new(v)"),
            );
            code.close("}");
        }
        code.line(format_args!("None => {{}}"));
        code.close("}");
    }
    code.line(format_args!("map.end()"));
    code.close("}");
    code.close("}");
}

fn deserialize_impls(code: &mut Code, ctx: &Ctx<'_>, message: &Message, ty: &str) {
    let j = ctx.alias;
    code.open_impl("impl<'de> ::serde::Deserialize<'de>", ty);
    deserialize_signature(code);
    code.line(format_args!("{j}::deserialize(deserializer)"));
    code.close("}");
    code.close("}");

    let (n, k) = (message.fields.len(), message.oneofs.len());
    code.open_impl(&format!("impl {j}::Object<{n}, {k}>"), ty);
    code.line(format_args!(
        "const NAME: &'static str = {};",
        lit(&message.full_name)
    ));
    let fields: Vec<String> = message.fields.iter().map(|f| lit(&f.json_name)).collect();
    let oneofs: Vec<String> = message.oneofs.iter().map(|o| lit(o)).collect();
    const_array(code, "FIELDS", &fields);
    const_array(code, "ONEOFS", &oneofs);
    code.open(format_args!(
        "fn read_field<'de, A: ::serde::de::MapAccess<'de>>("
    ));
    code.line(format_args!("&mut self,"));
    // Without fields every name is unknown and the key is only read under
    // `json_reject_unknown` (a lone `_` arm would trip clippy in the consuming crate).
    let key = if n == 0 && !ctx.params.json_reject_unknown {
        "_key"
    } else {
        "key"
    };
    code.line(format_args!("{key}: &str,"));
    code.line(format_args!("r: &mut {j}::Fields<A, Self, {n}, {k}>,"));
    code.close(") -> ::core::result::Result<(), A::Error> {");
    code.depth += 1;
    let unknown = if ctx.params.json_reject_unknown {
        "r.unknown(key)"
    } else {
        "r.skip()"
    };
    if n == 0 {
        code.line(format_args!("{unknown}"));
    } else {
        code.line(format_args!("use {j}::codec as c;"));
        code.open(format_args!("match key {{"));
        for (i, field) in message.fields.iter().enumerate() {
            let json = lit(&field.json_name);
            // Both names are accepted, whichever option writes them.
            let pattern = if field.json_name == field.name {
                json
            } else {
                format!("{json} | {}", lit(&field.name))
            };
            let codec = ctx.codec(field);
            let ident = naming::field_name(&field.name);
            if let Some(oneof) = &field.oneof {
                let o = message
                    .oneofs
                    .iter()
                    .position(|name| name == oneof)
                    .expect("a field's oneof is one of its message's");
                let enum_path = oneof_path(ty, oneof);
                let variant = naming::type_name(&field.name);
                let member = naming::field_name(oneof);
                arm(
                    code,
                    &pattern,
                    &member,
                    &format!(
                        "r.read_oneof::<{codec}, _, _>({i}, {o}, FIELD, {enum_path}::{variant})"
                    ),
                );
            } else {
                let read = if is_value(field) && field.cardinality == Cardinality::Singular {
                    "read_value"
                } else if is_option(field) {
                    "read_option"
                } else {
                    "read"
                };
                arm(
                    code,
                    &pattern,
                    &ident,
                    &format!("r.{read}::<{codec}, _>({i}, FIELD)"),
                );
            }
        }
        code.line(format_args!("_ => {unknown},"));
        code.close("}");
    }
    code.close("}");
    code.close("}");
}

/// A match arm reading field `ident`: `read` with `FIELD` standing for `&mut self.{ident}`. The
/// expression goes in a block of its own when the arm does not fit on one line, and the field
/// is bound first when even that does not fit.
fn arm(code: &mut Code, pattern: &str, ident: &str, read: &str) {
    let expr = read.replace("FIELD", &format!("&mut self.{ident}"));
    // prettyplease does not count the arm's comma.
    if code.fits(pattern.len() + " => ".len() + expr.len()) {
        code.line(format_args!("{pattern} => {expr},"));
        return;
    }
    match pattern.split_once(" | ") {
        // Alternatives that do not fit on one line go one per line.
        Some((first, rest)) if !code.fits(pattern.len() + " => {".len()) => {
            code.line(format_args!("{first}"));
            code.open(format_args!("| {rest} => {{"));
        }
        _ => code.open(format_args!("{pattern} => {{")),
    }
    if code.fits(expr.len()) {
        code.line(format_args!("{expr}"));
    } else {
        code.line(format_args!("let field = &mut self.{ident};"));
        code.line(format_args!("{}", read.replace("FIELD", "field")));
    }
    code.close("}");
}

/// `const NAME: [&'static str; N] = [...];`, one item per line when they do not fit on one.
fn const_array(code: &mut Code, name: &str, items: &[String]) {
    let n = items.len();
    let one_line = format!(
        "const {name}: [&'static str; {n}] = [{}];",
        items.join(", ")
    );
    if code.depth * 4 + one_line.len() <= MARGIN {
        code.line(format_args!("{one_line}"));
    } else {
        code.open(format_args!("const {name}: [&'static str; {n}] = ["));
        for item in items {
            code.line(format_args!("{item},"));
        }
        code.close("];");
    }
}

fn enum_impls(code: &mut Code, j: &str, ty: &str) {
    code.open_impl(&format!("impl {j}::ProtoEnum"), ty);
    code.open(format_args!(
        "fn name_of(number: i32) -> ::core::option::Option<&'static str> {{"
    ));
    code.line(format_args!(
        "Self::try_from(number).ok().map(|v| v.as_str_name())"
    ));
    code.close("}");
    code.open(format_args!(
        "fn number_of(name: &str) -> ::core::option::Option<i32> {{"
    ));
    code.line(format_args!("Self::from_str_name(name).map(|v| v as i32)"));
    code.close("}");
    code.close("}");
    code.open_impl("impl ::serde::Serialize", ty);
    serialize_signature(code);
    code.line(format_args!(
        "{j}::codec::serialize_enum::<Self, S>(*self as i32, serializer)"
    ));
    code.close("}");
    code.close("}");
    code.open_impl("impl<'de> ::serde::Deserialize<'de>", ty);
    deserialize_signature(code);
    code.line(format_args!(
        "{j}::codec::deserialize_enum_type(deserializer)"
    ));
    code.close("}");
    code.close("}");
}

/// Appends the items `code.text[from..]` to `out` as prettyplease prints them inside the
/// package's `const _` block: as written when every line fits its margin, else printed by
/// prettyplease (a long type path, a long field name).
fn push_items(out: &mut String, code: &mut Code, what: &str) -> Result<(), EmitError> {
    // An arm's comma is not counted (`arm`), and prettyplease cannot break a line that only
    // names a message (`const NAME`).
    let fits = |line: &str| {
        line.strip_suffix(',').unwrap_or(line).len() <= MARGIN
            || line
                .trim_start()
                .starts_with("const NAME: &'static str = \"")
    };
    if code.text.lines().all(fits) {
        out.push_str(&code.text);
    } else {
        let block = format!("const _: () = {{\n{}}};\n", code.text);
        let printed = super::format_rust(&block, what)?;
        let inner = printed
            .strip_prefix("const _: () = {\n")
            .and_then(|s| s.strip_suffix("};\n"))
            .expect("prettyplease prints the block as it was given");
        out.push_str(inner);
    }
    code.text.clear();
    Ok(())
}

/// The JSON impls for every message and enum of `package` (all its files, as its Rust module
/// holds them all), in `shares` shares that several threads can make: share `share` holds the
/// impls of a run of the package's messages, the last one also the enums' and the registration.
/// Put one after another, the shares are all the impls, formatted.
pub fn impls_share(
    model: &Model,
    package: &str,
    params: &Params,
    share: usize,
    shares: usize,
) -> Result<String, EmitError> {
    let messages: Vec<_> = model
        .messages
        .values()
        .filter(|m| m.package == package && !m.map_entry && !paths::is_extern(model, &m.full_name))
        .map(|m| (m, paths::rust_path(model, package, &m.full_name, &[])))
        .collect();
    let enums: Vec<_> = model
        .enums
        .values()
        .filter(|e| e.package == package && !paths::is_extern(model, &e.full_name))
        .map(|e| paths::rust_path(model, package, &e.full_name, &[]))
        .collect();
    // The alias must not hide the module prost-build makes for a message `J`'s nested types
    // and oneofs.
    let modules: BTreeSet<String> = messages
        .iter()
        .map(|(_, path)| path.as_str())
        .chain(enums.iter().map(String::as_str))
        .filter_map(|path| path.split("::").next())
        .map(naming::nested_module)
        .collect();
    let alias = ["j", "js", "rs_svc_json"]
        .into_iter()
        .find(|alias| !modules.contains(*alias))
        .unwrap_or("rs_svc_json");
    let ctx = Ctx {
        model,
        package,
        params,
        externs: paths::resolution_paths(model, params),
        alias,
    };
    let what = format!("the JSON impls of package `{package}`");
    let run = &messages[share * messages.len() / shares..(share + 1) * messages.len() / shares];
    let last = share + 1 == shares;
    let mut out = String::new();
    if !run.is_empty() || (last && !enums.is_empty()) {
        // One block per share of the package's impls, so their lint levels and the runtime's
        // path are stated once (the file is `include!`d: no inner attributes). Deprecated
        // fields are read and written like the others; each impl imports the codecs it may use.
        out.push_str("#[allow(deprecated, unused_imports)]\nconst _: () = {\n");
        out.push_str(&format!("    use ::rs_svc::__codegen::json as {alias};\n"));
        let mut code = Code {
            text: String::new(),
            depth: 1,
        };
        for (message, path) in run {
            serialize_impl(&mut code, &ctx, message, path);
            deserialize_impls(&mut code, &ctx, message, path);
            push_items(&mut out, &mut code, &what)?;
        }
        if last {
            for path in &enums {
                enum_impls(&mut code, alias, path);
                push_items(&mut out, &mut code, &what)?;
            }
        }
        out.push_str("};\n");
    }
    if last && params.enable_type_names {
        // Link-time registration: any binary that links these types knows them in `Any` JSON
        // and in error details, with no call to forget. Small, so prettyplease lays it out.
        let types: Vec<&str> = messages.iter().map(|(_, path)| path.as_str()).collect();
        let mut text = format!("::rs_svc::__codegen::any_types!({});\n", types.join(", "));
        text.push_str(concat!(
            "/// Registers every message of this package with `rs_svc::wkt::register`. Not needed:\n",
            "/// `google.protobuf.Any` JSON knows every generated message linked into the binary\n",
            "/// from the start. Kept so code that calls it still compiles; calling it is harmless.\n",
            "pub fn register_json_types() {\n",
        ));
        for ty in &types {
            text.push_str(&format!("::rs_svc::__codegen::register::<{ty}>();\n"));
        }
        text.push_str("}\n");
        out.push_str(&super::format_rust(&text, &what)?);
    }
    Ok(out)
}

/// The runtime's JSON codec (`rs_svc::json::codec::<this>`) of a `google.protobuf` wrapper,
/// which prost-build stores as its bare primitive.
pub(crate) fn wrapper_codec_name(message: &str) -> Option<&'static str> {
    let codec = match WellKnown::of(message)?.wrapped()? {
        Scalar::Double => "Double",
        Scalar::Float => "Float",
        Scalar::Int64 => "Int64",
        Scalar::Uint64 => "Uint64",
        Scalar::Int32 => "Int32",
        Scalar::Uint32 => "Uint32",
        Scalar::Bool => "Bool",
        Scalar::String => "Str",
        Scalar::Bytes => "Bytes",
        _ => return None,
    };
    Some(codec)
}

/// [`wrapper_codec_name`] as an identifier.
pub(crate) fn wrapper_codec(message: &str) -> Option<proc_macro2::Ident> {
    wrapper_codec_name(message).map(|codec| quote::format_ident!("{codec}"))
}
