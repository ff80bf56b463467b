//! Every Rust name the plugin emits comes from here, so emitters agree with each other and
//! with prost-build (whose conventions users already know).

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use proc_macro2::{Ident, Span};

/// Makes `s` a usable identifier: raw for keywords, `_` suffix for the few that cannot be raw,
/// `_` prefix for a leading digit. Matches prost-build, so module names line up.
pub fn sanitize(s: &str) -> String {
    match s {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" | "gen" => format!("r#{s}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{s}_"),
        s if s.starts_with(|c: char| c.is_ascii_digit()) => format!("_{s}"),
        s => s.to_owned(),
    }
}

/// A `syn`/`quote` identifier for a sanitized name (handles the `r#` form).
pub fn ident(sanitized: &str) -> Ident {
    match sanitized.strip_prefix("r#") {
        Some(raw) => Ident::new_raw(raw, Span::call_site()),
        None => Ident::new(sanitized, Span::call_site()),
    }
}

/// Module name for one part of a proto package: `acme.Shop.v1` -> `acme`, `shop`, `v1`.
pub fn package_module(part: &str) -> String {
    match part.to_snake_case() {
        // A part with no letter or digit, which protoc refuses but a raw request may carry
        // (the fuzzer sent a package named "\n"): a module name all the same, never a panic.
        snake if snake.is_empty() => "_x".to_owned(),
        snake => sanitize(&snake),
    }
}

/// The module path of a proto package, outermost first.
pub fn package_modules(package: &str) -> Vec<String> {
    package
        .split('.')
        .filter(|p| !p.is_empty())
        .map(package_module)
        .collect()
}

/// The file a package's Rust code goes to: `acme.shop.v1.rs`, or `<default>.rs` with no
/// package. The proto package name is used as written, as protoc-gen-prost does.
pub fn package_file(package: &str, default_stem: &str) -> String {
    if package.is_empty() {
        format!("{default_stem}.rs")
    } else {
        format!("{package}.rs")
    }
}

/// Rust type name of a message, enum or service: `order_service` -> `OrderService`.
pub fn type_name(proto_name: &str) -> String {
    sanitize(&proto_name.to_upper_camel_case())
}

/// The module tonic-build generates for a service (`server`, `client`), and our own modules
/// beside them (`http`), named the same way so the three line up:
/// `OrderService` -> `order_service_server`, `IAMPolicy` -> `i_a_m_policy_server`.
///
/// tonic-build does not use heck: it lower-cases each character and puts `_` before every
/// upper-case one that follows another character (its `naive_snake_case`), so acronyms come
/// apart letter by letter. Every reference to a tonic-build item goes through this function
/// and [`tonic_type`], or the generated crate does not compile.
pub fn tonic_module(service: &str, suffix: &str) -> String {
    let mut snake = String::with_capacity(service.len() + suffix.len() + 4);
    let mut chars = service.chars().peekable();
    while let Some(c) = chars.next() {
        snake.push(c.to_ascii_lowercase());
        if chars.peek().is_some_and(|next| next.is_uppercase()) {
            snake.push('_');
        }
    }
    format!("{snake}_{suffix}")
}

/// A type tonic-build generates for a service: the proto name as written plus a suffix,
/// `IAMPolicy`, `Server` -> `IAMPolicyServer`; an empty suffix gives the server trait.
pub fn tonic_type(service: &str, suffix: &str) -> String {
    format!("{service}{suffix}")
}

/// Rust field name, as prost-build writes it: `display_name` -> `display_name`, `type` -> `r#type`.
pub fn field_name(proto_name: &str) -> String {
    sanitize(&proto_name.to_snake_case())
}

/// Rust module that holds a message's nested types and oneofs: `OrderItem` -> `order_item`.
pub fn nested_module(message: &str) -> String {
    sanitize(&message.to_snake_case())
}

/// Rust method name of an RPC: `GetOrder` -> `get_order`.
pub fn method_name(rpc: &str) -> String {
    sanitize(&rpc.to_snake_case())
}

/// Environment variable that overrides a service's address: `OrderService` -> `ORDER_SERVICE_ADDR`.
pub fn address_env_var(service: &str) -> String {
    format!("{}_ADDR", service.to_shouty_snake_case())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_part_without_letters_still_names_a_module() {
        for part in ["\n", " ", "-"] {
            assert_eq!(package_module(part), "_x", "{part:?}");
            let _ = ident(&package_module(part));
        }
    }

    #[test]
    fn names_follow_prost_and_tonic_conventions() {
        let table = [
            (package_modules("acme.Shop.v1"), vec!["acme", "shop", "v1"]),
            (package_modules("a.type.b"), vec!["a", "r#type", "b"]),
            (package_modules("x.self"), vec!["x", "self_"]),
        ];
        for (got, want) in table {
            assert_eq!(got, want);
        }
        assert_eq!(type_name("order_service"), "OrderService");
        assert_eq!(type_name("Self"), "Self_");
        assert_eq!(
            tonic_module("OrderService", "server"),
            "order_service_server"
        );
        assert_eq!(method_name("GetOrder"), "get_order");
        assert_eq!(method_name("Move"), "r#move");
        assert_eq!(address_env_var("OrderService"), "ORDER_SERVICE_ADDR");
        assert_eq!(address_env_var("HTTPProxy"), "HTTP_PROXY_ADDR");
    }

    /// tonic-build 0.14's `naive_snake_case`, which names the `<svc>_server` and `<svc>_client`
    /// modules, splits acronyms letter by letter; heck would not.
    #[test]
    fn tonic_names_match_tonic_build_for_acronyms() {
        let rows = [
            ("OrderService", "order_service_server", "OrderServiceServer"),
            ("IAMPolicy", "i_a_m_policy_server", "IAMPolicyServer"),
            ("OSLogin", "o_s_login_server", "OSLoginServer"),
            ("HTTPProxy", "h_t_t_p_proxy_server", "HTTPProxyServer"),
            ("V1Service", "v1_service_server", "V1ServiceServer"),
            ("lower_case", "lower_case_server", "lower_caseServer"),
        ];
        for (service, module, server) in rows {
            assert_eq!(tonic_module(service, "server"), module, "{service}");
            assert_eq!(tonic_type(service, "Server"), server, "{service}");
        }
        assert_eq!(tonic_module("IAMPolicy", "client"), "i_a_m_policy_client");
        assert_eq!(tonic_type("IAMPolicy", ""), "IAMPolicy");
    }

    #[test]
    fn files_use_the_package_as_written() {
        assert_eq!(package_file("acme.Shop.v1", "_"), "acme.Shop.v1.rs");
        assert_eq!(package_file("", "_"), "_.rs");
    }

    #[test]
    fn raw_identifiers_print_with_their_prefix() {
        assert_eq!(ident("r#type").to_string(), "r#type");
        assert_eq!(ident("v1").to_string(), "v1");
    }

    #[test]
    fn leading_digits_get_an_underscore() {
        assert_eq!(sanitize("1abc"), "_1abc");
    }
}
