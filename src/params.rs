//! Plugin parameters, in protoc's form: `--rs-svc_opt=k,k=v,k=path=value`.
//!
//! protoc joins every `--rs-svc_opt` with `,`, so a comma inside a value is written `\,`
//! (and a backslash `\\`). A bare flag means `true`. Names follow protoc-gen-prost where the
//! meaning is the same, so a `buf.gen.yaml` moves over unchanged.

use std::fmt;

/// Every parameter the plugin understands, with the form it takes. The list is also what an
/// unknown parameter's error shows.
const KNOWN: &[(&str, &str)] = &[
    ("extern_path", "extern_path=<proto path>=<rust path>"),
    (
        "compile_well_known_types",
        "compile_well_known_types[=<bool>]",
    ),
    (
        "default_package_filename",
        "default_package_filename=<name>",
    ),
    ("flat_output_dir", "flat_output_dir[=<bool>]"),
    ("include_file", "include_file=<file name>"),
    ("no_include_file", "no_include_file[=<bool>]"),
    ("btree_map", "btree_map=<proto path>"),
    ("bytes", "bytes=<proto path>"),
    ("boxed", "boxed=<proto path>"),
    ("disable_comments", "disable_comments=<proto path>"),
    ("skip_debug", "skip_debug=<proto path>"),
    ("type_attribute", "type_attribute=<proto path>=<attribute>"),
    (
        "message_attribute",
        "message_attribute=<proto path>=<attribute>",
    ),
    ("enum_attribute", "enum_attribute=<proto path>=<attribute>"),
    (
        "field_attribute",
        "field_attribute=<proto path>=<attribute>",
    ),
    ("retain_enum_prefix", "retain_enum_prefix[=<bool>]"),
    ("enable_type_names", "enable_type_names[=<bool>]"),
    ("no_server", "no_server[=<bool>]"),
    ("no_client", "no_client[=<bool>]"),
    ("no_http", "no_http[=<bool>]"),
    ("no_http_client", "no_http_client[=<bool>]"),
    ("no_dial", "no_dial[=<bool>]"),
    ("generate_default_stubs", "generate_default_stubs[=<bool>]"),
    ("deny_get_body", "deny_get_body[=<bool>]"),
    ("strict_http_rules", "strict_http_rules[=<bool>]"),
    ("json_omit_defaults", "json_omit_defaults[=<bool>]"),
    ("json_proto_names", "json_proto_names[=<bool>]"),
    ("json_enum_numbers", "json_enum_numbers[=<bool>]"),
    ("json_reject_unknown", "json_reject_unknown[=<bool>]"),
    ("dial_port", "dial_port=<port>"),
    ("stream_envelope", "stream_envelope=<none|grpc_gateway>"),
    (
        "generate_unbound_methods",
        "generate_unbound_methods[=<bool>]",
    ),
    ("file_descriptor_set", "file_descriptor_set[=<bool>]"),
    ("no_openapi", "no_openapi[=<bool>]"),
    ("openapi_format", "openapi_format=<yaml|json>"),
    ("openapi_merge", "openapi_merge=<name>"),
    ("openapi_version", "openapi_version=<3.1|3.2>"),
    ("openapi_info_version", "openapi_info_version=<version>"),
    (
        "openapi_oauth_authorization_url",
        "openapi_oauth_authorization_url=<url>",
    ),
    ("openapi_oauth_token_url", "openapi_oauth_token_url=<url>"),
];

/// The OpenAPI Specification version the documents follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenApiVersion {
    /// 3.1.0: HTTP methods other than its eight are left out (and listed in the document).
    #[default]
    V3_1,
    /// 3.2.0: other HTTP methods under a path item's `additionalOperations`, QUERY as `query`.
    V3_2,
}

/// How OpenAPI documents are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenApiFormat {
    #[default]
    Yaml,
    Json,
}

/// The typed plugin parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// `extern_path=.pkg.Type=::crate::Type`: use an existing Rust type instead of generating one.
    pub extern_paths: Vec<(String, String)>,
    /// Generate `google.protobuf` types instead of using `prost-types`.
    pub compile_well_known_types: bool,
    /// File stem for files without a package (default `_`, giving `_.rs`).
    pub default_package_filename: String,
    /// Write `acme.shop.v1.rs` at the output root (default). `flat_output_dir=false` writes
    /// it under the package's directory, `acme/shop/v1/acme.shop.v1.rs`.
    pub flat_output_dir: bool,
    /// The include file that nests packages as modules; `None` when `no_include_file` is set.
    pub include_file: Option<String>,
    /// prost-build's `btree_map`: map fields as `BTreeMap`.
    pub btree_map: Vec<String>,
    /// prost-build's `bytes`: bytes fields as `bytes::Bytes`.
    pub bytes: Vec<String>,
    /// prost-build's `boxed`.
    pub boxed: Vec<String>,
    /// prost-build's `disable_comments`.
    pub disable_comments: Vec<String>,
    /// prost-build's `skip_debug`.
    pub skip_debug: Vec<String>,
    /// prost-build's `type_attribute` (path, attribute).
    pub type_attributes: Vec<(String, String)>,
    /// prost-build's `message_attribute` (path, attribute).
    pub message_attributes: Vec<(String, String)>,
    /// prost-build's `enum_attribute` (path, attribute).
    pub enum_attributes: Vec<(String, String)>,
    /// prost-build's `field_attribute` (path, attribute).
    pub field_attributes: Vec<(String, String)>,
    /// prost-build's `retain_enum_prefix`.
    pub retain_enum_prefix: bool,
    /// prost-build's `enable_type_names`, on by default: `prost::Name` impls are what lets
    /// `google.protobuf.Any` JSON find generated types (`register_json_types()`).
    /// `enable_type_names=false` turns both off.
    pub enable_type_names: bool,
    /// Skip gRPC servers.
    pub no_server: bool,
    /// Skip gRPC clients (and so their dial helpers).
    pub no_client: bool,
    /// Skip the `<service>_http` routers and the query schemas of their request messages: the
    /// output then needs no `http` feature of the runtime.
    pub no_http: bool,
    /// Skip the `<service>_http_client` HTTP/JSON clients: the output then needs no
    /// `http-client` feature of the runtime.
    pub no_http_client: bool,
    /// Skip the dial helpers (`SERVICE`, `dial()`, `dial_with()`) in the client modules: the
    /// output then needs no `dial` feature of the runtime.
    pub no_dial: bool,
    /// Server trait methods get default bodies that answer UNIMPLEMENTED.
    pub generate_default_stubs: bool,
    /// A `body` on a GET rule is an error instead of a warning.
    pub deny_get_body: bool,
    /// Two routes with one method and template, or a route that another always wins over, are
    /// errors instead of warnings.
    pub strict_http_rules: bool,
    /// JSON: leave out fields with default values (canonical proto3 JSON). By default they are
    /// written, as grpc-gateway does.
    pub json_omit_defaults: bool,
    /// JSON: write proto field names instead of lowerCamel json names (both are read).
    pub json_proto_names: bool,
    /// JSON: write enums as numbers instead of names (both are read).
    pub json_enum_numbers: bool,
    /// JSON: an unknown field in input is an error naming it, instead of being ignored.
    pub json_reject_unknown: bool,
    /// Port `dial()` uses when `google.api.default_host` names none (default 9090).
    pub dial_port: u16,
    /// Methods without an http rule get `POST /<package>.<Service>/<Method>` with `body: "*"`.
    pub generate_unbound_methods: bool,
    /// `stream_envelope=grpc_gateway`: streamed HTTP responses wrap each message as
    /// `{"result": ...}` and the final error as `{"error": ...}`, as grpc-gateway does.
    pub grpc_gateway_envelope: bool,
    /// Embed the request's FileDescriptorSet (imports included) in the include file as
    /// `FILE_DESCRIPTOR_SET`, for gRPC server reflection.
    pub file_descriptor_set: bool,
    /// Write no OpenAPI documents.
    pub no_openapi: bool,
    /// `openapi_format=json` writes `.openapi.json` documents instead of YAML.
    pub openapi_format: OpenApiFormat,
    /// `openapi_merge=NAME`: one document `NAME.openapi.yaml` for every file, instead of one
    /// per proto file with services.
    pub openapi_merge: Option<String>,
    /// `openapi_version=3.2`: the OpenAPI Specification version of the documents (default 3.1).
    pub openapi_version: OpenApiVersion,
    /// `info.version` of the documents; by default the package's version (`v1`).
    pub openapi_info_version: Option<String>,
    /// The OAuth 2.0 authorization endpoint, for services with `google.api.oauth_scopes`.
    pub openapi_oauth_authorization_url: Option<String>,
    /// The OAuth 2.0 token endpoint, for services with `google.api.oauth_scopes`.
    pub openapi_oauth_token_url: Option<String>,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            extern_paths: Vec::new(),
            compile_well_known_types: false,
            default_package_filename: "_".to_owned(),
            flat_output_dir: true,
            include_file: Some("mod.rs".to_owned()),
            btree_map: Vec::new(),
            bytes: Vec::new(),
            boxed: Vec::new(),
            disable_comments: Vec::new(),
            skip_debug: Vec::new(),
            type_attributes: Vec::new(),
            message_attributes: Vec::new(),
            enum_attributes: Vec::new(),
            field_attributes: Vec::new(),
            retain_enum_prefix: false,
            enable_type_names: true,
            no_server: false,
            no_client: false,
            no_http: false,
            no_http_client: false,
            no_dial: false,
            generate_default_stubs: false,
            deny_get_body: false,
            strict_http_rules: false,
            json_omit_defaults: false,
            json_proto_names: false,
            json_enum_numbers: false,
            json_reject_unknown: false,
            dial_port: 9090,
            generate_unbound_methods: false,
            grpc_gateway_envelope: false,
            file_descriptor_set: false,
            no_openapi: false,
            openapi_format: OpenApiFormat::Yaml,
            openapi_merge: None,
            openapi_version: OpenApiVersion::V3_1,
            openapi_info_version: None,
            openapi_oauth_authorization_url: None,
            openapi_oauth_token_url: None,
        }
    }
}

/// A parameter string that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError(String);

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParamError {}

/// One `k`, `k=v` or `k=path=value` item, unescaped.
#[derive(Debug, PartialEq, Eq)]
struct Item {
    key: String,
    value: Option<String>,
}

/// Splits on unescaped commas, then unescapes `\,` and `\\`. Empty items (`a,,b`) are skipped,
/// as protoc produces them when an option is empty.
fn split_items(s: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars();
    let mut push = |current: &mut String| {
        let text = std::mem::take(current);
        let text = text.trim();
        if text.is_empty() {
            return;
        }
        let (key, value) = match text.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), Some(v.to_owned())),
            None => (text.to_owned(), None),
        };
        items.push(Item { key, value });
    };
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next @ (',' | '\\')) => current.push(next),
                Some(other) => {
                    current.push('\\');
                    current.push(other);
                }
                None => current.push('\\'),
            },
            ',' => push(&mut current),
            c => current.push(c),
        }
    }
    push(&mut current);
    items
}

fn parse_bool(key: &str, value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(format!(
            "parameter `{key}` takes true or false, not `{other}` (a bare `{key}` means true)"
        )),
    }
}

fn required<'a>(key: &str, value: Option<&'a str>) -> Result<&'a str, String> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(format!("parameter `{key}` needs a value: {}", usage(key))),
    }
}

fn pair(key: &str, value: Option<&str>) -> Result<(String, String), String> {
    let value = required(key, value)?;
    match value.split_once('=') {
        Some((path, rest)) if !path.is_empty() && !rest.is_empty() => {
            Ok((path.to_owned(), rest.to_owned()))
        }
        _ => Err(format!(
            "parameter `{key}` needs a path and a value: {}",
            usage(key)
        )),
    }
}

/// `extern_path=.pkg.Type=::crate::Type`: a fully-qualified proto name (or `.` for every
/// package) and a Rust path, checked here so that emitters can rely on both.
fn extern_path(key: &str, value: Option<&str>) -> Result<(String, String), String> {
    let (proto, rust) = pair(key, value)?;
    let proto_name = proto == "."
        || proto.strip_prefix('.').is_some_and(|rest| {
            rest.split('.').all(|name| {
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        });
    if !proto_name {
        return Err(format!(
            "parameter `{key}`: `{proto}` is not a fully-qualified proto name; write it with a leading dot, like `.google.protobuf` or `.acme.v1.Order`"
        ));
    }
    if syn::parse_str::<syn::Path>(&rust).is_err() {
        return Err(format!(
            "parameter `{key}`: `{rust}` is not a Rust path; write one like `::pbjson_types` or `crate::types::Order`"
        ));
    }
    Ok((proto, rust))
}

fn usage(key: &str) -> &'static str {
    KNOWN
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, u)| *u)
        .unwrap_or("")
}

impl Params {
    /// Parses the `parameter` field of a CodeGeneratorRequest. Every problem is reported, one
    /// per line.
    pub fn parse(s: &str) -> Result<Params, ParamError> {
        let mut params = Params::default();
        let mut errors = Vec::new();
        for Item { key, value } in split_items(s) {
            if let Err(e) = params.set(&key, value.as_deref()) {
                errors.push(e);
            }
        }
        errors.extend(params.extern_path_problems());
        if params.file_descriptor_set && params.include_file.is_none() {
            errors.push(
                "parameter `file_descriptor_set` writes FILE_DESCRIPTOR_SET into the include file, \
                 so it cannot be combined with `no_include_file`"
                    .to_owned(),
            );
        }
        if errors.is_empty() {
            Ok(params)
        } else {
            Err(ParamError(errors.join("\n")))
        }
    }

    /// What prost-build would refuse in the `extern_path` table, found here so it is a
    /// parameter error: `.` alone, a proto path given twice, and (unless
    /// `compile_well_known_types`) a path prost-build maps itself (`.google.protobuf`, the
    /// wrappers, `Empty`).
    fn extern_path_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let builtin: Vec<String> = crate::model::externs::prost_builtin()
            .map(|(proto, _)| proto)
            .collect();
        for (proto, _) in &self.extern_paths {
            if proto == "." {
                problems.push(
                    "parameter `extern_path`: `.` (every package) is not accepted by prost-build;                      map each package, like `.acme.v1=::acme_types::v1`"
                        .to_owned(),
                );
            } else if !seen.insert(proto.as_str()) {
                problems.push(format!(
                    "parameter `extern_path`: `{proto}` is mapped twice; keep one of the two"
                ));
            } else if !self.compile_well_known_types && builtin.contains(proto) {
                problems.push(format!(
                    "parameter `extern_path`: `{proto}` is mapped by prost-build itself (to                      prost-types, or a wrapper to its primitive); add `compile_well_known_types`                      to map google.protobuf types yourself"
                ));
            }
        }
        problems
    }

    fn set(&mut self, key: &str, value: Option<&str>) -> Result<(), String> {
        let list = |v: Option<&str>, target: &mut Vec<String>| -> Result<(), String> {
            target.push(required(key, v)?.to_owned());
            Ok(())
        };
        match key {
            "extern_path" => self.extern_paths.push(extern_path(key, value)?),
            "compile_well_known_types" => self.compile_well_known_types = parse_bool(key, value)?,
            "default_package_filename" => {
                self.default_package_filename = required(key, value)?.to_owned()
            }
            "flat_output_dir" => self.flat_output_dir = parse_bool(key, value)?,
            "include_file" => self.include_file = Some(required(key, value)?.to_owned()),
            "no_include_file" => {
                if parse_bool(key, value)? {
                    self.include_file = None;
                }
            }
            "btree_map" => list(value, &mut self.btree_map)?,
            "bytes" => list(value, &mut self.bytes)?,
            "boxed" => list(value, &mut self.boxed)?,
            "disable_comments" => list(value, &mut self.disable_comments)?,
            "skip_debug" => list(value, &mut self.skip_debug)?,
            "type_attribute" => self.type_attributes.push(pair(key, value)?),
            "message_attribute" => self.message_attributes.push(pair(key, value)?),
            "enum_attribute" => self.enum_attributes.push(pair(key, value)?),
            "field_attribute" => self.field_attributes.push(pair(key, value)?),
            "retain_enum_prefix" => self.retain_enum_prefix = parse_bool(key, value)?,
            "enable_type_names" => self.enable_type_names = parse_bool(key, value)?,
            "no_server" => self.no_server = parse_bool(key, value)?,
            "no_client" => self.no_client = parse_bool(key, value)?,
            "no_http" => self.no_http = parse_bool(key, value)?,
            "no_http_client" => self.no_http_client = parse_bool(key, value)?,
            "no_dial" => self.no_dial = parse_bool(key, value)?,
            "generate_default_stubs" => self.generate_default_stubs = parse_bool(key, value)?,
            "deny_get_body" => self.deny_get_body = parse_bool(key, value)?,
            "strict_http_rules" => self.strict_http_rules = parse_bool(key, value)?,
            "json_omit_defaults" => self.json_omit_defaults = parse_bool(key, value)?,
            "json_proto_names" => self.json_proto_names = parse_bool(key, value)?,
            "json_enum_numbers" => self.json_enum_numbers = parse_bool(key, value)?,
            "json_reject_unknown" => self.json_reject_unknown = parse_bool(key, value)?,
            "dial_port" => {
                let v = required(key, value)?;
                self.dial_port = v.parse().ok().filter(|p| *p != 0).ok_or_else(|| {
                    format!("parameter `dial_port` takes a port from 1 to 65535, not `{v}`")
                })?;
            }
            "file_descriptor_set" => self.file_descriptor_set = parse_bool(key, value)?,
            "no_openapi" => self.no_openapi = parse_bool(key, value)?,
            "openapi_format" => {
                self.openapi_format = match required(key, value)? {
                    "yaml" => OpenApiFormat::Yaml,
                    "json" => OpenApiFormat::Json,
                    other => {
                        return Err(format!(
                            "parameter `openapi_format` takes `yaml` or `json`, not `{other}`"
                        ))
                    }
                }
            }
            "openapi_merge" => {
                let name = required(key, value)?;
                if name.contains(['/', '\\']) || name.starts_with('.') {
                    return Err(format!(
                        "parameter `openapi_merge` takes a file name without directories, not `{name}`"
                    ));
                }
                self.openapi_merge = Some(name.to_owned());
            }
            "openapi_version" => {
                self.openapi_version = match required(key, value)? {
                    "3.1" | "3.1.0" => OpenApiVersion::V3_1,
                    "3.2" | "3.2.0" => OpenApiVersion::V3_2,
                    other => {
                        return Err(format!(
                            "parameter `openapi_version` takes the OpenAPI Specification version, \
                             `3.1` or `3.2`, not `{other}`; the API's own version (`info.version`) \
                             is `openapi_info_version`"
                        ))
                    }
                }
            }
            "openapi_info_version" => {
                self.openapi_info_version = Some(required(key, value)?.to_owned())
            }
            "openapi_oauth_authorization_url" => {
                self.openapi_oauth_authorization_url = Some(required(key, value)?.to_owned())
            }
            "openapi_oauth_token_url" => {
                self.openapi_oauth_token_url = Some(required(key, value)?.to_owned())
            }
            "generate_unbound_methods" => self.generate_unbound_methods = parse_bool(key, value)?,
            "stream_envelope" => {
                self.grpc_gateway_envelope = match required(key, value)? {
                    "grpc_gateway" => true,
                    "none" => false,
                    other => {
                        return Err(format!(
                        "parameter `stream_envelope` takes `none` or `grpc_gateway`, not `{other}`"
                    ))
                    }
                }
            }
            _ => {
                let valid: Vec<&str> = KNOWN.iter().map(|(_, u)| *u).collect();
                return Err(format!(
                    "unknown parameter `{key}`; valid parameters are: {}",
                    valid.join(", ")
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_string_gives_defaults() {
        assert_eq!(Params::parse("").unwrap(), Params::default());
        assert_eq!(Params::default().include_file.as_deref(), Some("mod.rs"));
        assert_eq!(Params::default().default_package_filename, "_");
    }

    #[test]
    fn bare_flag_means_true_and_explicit_bools_parse() {
        let p = Params::parse("no_server,no_client=true,compile_well_known_types=false").unwrap();
        assert!(p.no_server);
        assert!(p.no_client);
        let p = Params::parse("no_http,no_dial=true").unwrap();
        assert!(p.no_http && p.no_dial);
        assert!(!Params::default().no_http && !Params::default().no_dial);
        assert!(Params::parse("no_http_client").unwrap().no_http_client);
        assert!(!Params::default().no_http_client);
        assert!(!p.compile_well_known_types);
    }

    #[test]
    fn strict_http_rules_is_an_opt_in_flag() {
        assert!(!Params::default().strict_http_rules);
        assert!(
            Params::parse("strict_http_rules")
                .unwrap()
                .strict_http_rules
        );
        assert!(
            !Params::parse("strict_http_rules=false")
                .unwrap()
                .strict_http_rules
        );
        assert!(Params::parse("strict_http_rules=maybe").is_err());
    }

    #[test]
    fn key_path_value_form_keeps_the_rest_of_the_value() {
        let p =
            Params::parse("extern_path=.google.protobuf=::pbjson_types,compile_well_known_types")
                .unwrap();
        assert_eq!(
            p.extern_paths,
            vec![(".google.protobuf".into(), "::pbjson_types".into())]
        );
        // A value may itself contain '=': only the first one after the path splits.
        let p = Params::parse(r#"type_attribute=.a.B=#[serde(rename = "b")]"#).unwrap();
        assert_eq!(
            p.type_attributes,
            vec![(".a.B".into(), r#"#[serde(rename = "b")]"#.into())]
        );
    }

    #[test]
    fn escaped_comma_stays_in_the_value() {
        let p = Params::parse(r"type_attribute=.a.B=#[derive(Eq\, Hash)],no_server").unwrap();
        assert_eq!(
            p.type_attributes,
            vec![(".a.B".into(), "#[derive(Eq, Hash)]".into())]
        );
        assert!(p.no_server);
    }

    #[test]
    fn escaped_backslash_unescapes_once() {
        let items = split_items(r"a=x\\,b");
        assert_eq!(
            items,
            vec![
                Item {
                    key: "a".into(),
                    value: Some(r"x\".into())
                },
                Item {
                    key: "b".into(),
                    value: None
                }
            ]
        );
    }

    #[test]
    fn repeated_list_parameters_accumulate() {
        let p = Params::parse("bytes=.a,bytes=.b,btree_map=.").unwrap();
        assert_eq!(p.bytes, vec![".a", ".b"]);
        assert_eq!(p.btree_map, vec!["."]);
    }

    #[test]
    fn include_file_can_be_renamed_or_turned_off() {
        let p = Params::parse("include_file=lib.rs").unwrap();
        assert_eq!(p.include_file.as_deref(), Some("lib.rs"));
        let p = Params::parse("no_include_file").unwrap();
        assert_eq!(p.include_file, None);
    }

    #[test]
    fn empty_items_are_skipped() {
        let p = Params::parse(",no_server,,").unwrap();
        assert!(p.no_server);
    }

    #[test]
    fn unknown_parameter_lists_the_valid_ones() {
        let err = Params::parse("no_sever").unwrap_err().to_string();
        assert!(err.contains("unknown parameter `no_sever`"), "{err}");
        for (key, _) in KNOWN {
            assert!(err.contains(key), "{key} missing from: {err}");
        }
    }

    #[test]
    fn every_problem_is_reported() {
        let err = Params::parse("nope,no_server=maybe,extern_path=.a")
            .unwrap_err()
            .to_string();
        assert_eq!(err.lines().count(), 3, "{err}");
        assert!(err.contains("`no_server` takes true or false, not `maybe`"));
        assert!(err.contains("`extern_path` needs a path and a value"));
    }

    /// What prost-build would refuse in the extern path table, order of parameters aside.
    #[test]
    fn extern_paths_prost_build_refuses_are_parameter_errors() {
        for (parameter, problem) in [
            ("extern_path=.=::x", Some("`.` (every package)")),
            (
                "extern_path=.a.B=::x,extern_path=.a.B=::y",
                Some("`.a.B` is mapped twice"),
            ),
            (
                "extern_path=.google.protobuf=::pbjson_types",
                Some("mapped by prost-build itself"),
            ),
            (
                "extern_path=.google.protobuf.Empty=::x::Empty",
                Some("mapped by prost-build itself"),
            ),
            (
                "extern_path=.google.protobuf=::pbjson_types,compile_well_known_types",
                None,
            ),
            (
                "compile_well_known_types,extern_path=.google.protobuf.BoolValue=bool",
                None,
            ),
            (
                "extern_path=.google.protobuf.Timestamp=::x::Timestamp",
                None,
            ),
            ("extern_path=.a=::x,extern_path=.a.B=::y", None),
        ] {
            match (Params::parse(parameter), problem) {
                (Ok(_), None) => {}
                (Err(e), Some(problem)) => {
                    let e = e.to_string();
                    assert!(e.starts_with("parameter `extern_path`: "), "{e}");
                    assert!(e.contains(problem), "{parameter}: {e}");
                }
                (other, _) => panic!("{parameter}: {other:?}"),
            }
        }
    }

    #[test]
    fn value_parameters_require_a_value() {
        for key in ["include_file", "bytes", "default_package_filename"] {
            let err = Params::parse(key).unwrap_err().to_string();
            assert!(err.contains("needs a value"), "{key}: {err}");
        }
    }

    #[test]
    fn dial_port_is_a_nonzero_port() {
        assert_eq!(Params::parse("").unwrap().dial_port, 9090);
        assert_eq!(Params::parse("dial_port=50051").unwrap().dial_port, 50051);
        for bad in ["dial_port=0", "dial_port=65536", "dial_port=http"] {
            let err = Params::parse(bad).unwrap_err().to_string();
            assert!(err.contains("takes a port from 1 to 65535"), "{bad}: {err}");
        }
    }

    #[test]
    fn file_descriptor_set_needs_the_include_file() {
        assert!(
            Params::parse("file_descriptor_set")
                .unwrap()
                .file_descriptor_set
        );
        let err = Params::parse("file_descriptor_set,no_include_file")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot be combined with `no_include_file`"),
            "{err}"
        );
    }

    #[test]
    fn stream_envelope_is_none_or_grpc_gateway() {
        assert!(!Params::parse("").unwrap().grpc_gateway_envelope);
        assert!(
            Params::parse("stream_envelope=grpc_gateway")
                .unwrap()
                .grpc_gateway_envelope
        );
        let err = Params::parse("stream_envelope=sse")
            .unwrap_err()
            .to_string();
        assert!(err.contains("takes `none` or `grpc_gateway`"), "{err}");
    }
}
