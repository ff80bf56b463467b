//! `const` builders of [`Rule`], so a generated route table names only what differs from the
//! default: `Rule::new().body_field("shelf", "shelf").status(201)`.

use super::{BodyRule, Rule};

impl Rule {
    /// The rule of a route with no option set: no body, the whole response message as JSON,
    /// status 200.
    pub const DEFAULT: Rule = Rule::new();

    /// [`Rule::DEFAULT`], to change with the methods below.
    pub const fn new() -> Self {
        Rule {
            body: BodyRule::None,
            response_body: None,
            http_body_request: false,
            http_body_response: false,
            infer_field_mask: None,
            grpc_gateway_envelope: false,
            success_status: 200,
        }
    }

    /// `body: "*"`: the whole request message is the body.
    pub const fn body_all(mut self) -> Self {
        self.body = BodyRule::All;
        self
    }

    /// `body: "field"`: that field (by proto and JSON name, dotted for a nested one) is the body.
    pub const fn body_field(mut self, proto_name: &'static str, json_name: &'static str) -> Self {
        self.body = BodyRule::Field {
            proto_name,
            json_name,
        };
        self
    }

    /// `response_body: "field"`: that response field (by JSON name) is sent instead of the
    /// whole message.
    pub const fn response_body(mut self, json_name: &'static str) -> Self {
        self.response_body = Some(json_name);
        self
    }

    /// The request body is a `google.api.HttpBody`.
    pub const fn http_body_request(mut self) -> Self {
        self.http_body_request = true;
        self
    }

    /// The response is a `google.api.HttpBody`.
    pub const fn http_body_response(mut self) -> Self {
        self.http_body_response = true;
        self
    }

    /// The request's `FieldMask` field (by JSON name) is inferred from the body when unset.
    pub const fn infer_field_mask(mut self, json_name: &'static str) -> Self {
        self.infer_field_mask = Some(json_name);
        self
    }

    /// Streamed responses use grpc-gateway's `{"result": ..}` envelope.
    pub const fn grpc_gateway_envelope(mut self) -> Self {
        self.grpc_gateway_envelope = true;
        self
    }

    /// The status of a successful response.
    pub const fn status(mut self, status: u16) -> Self {
        self.success_status = status;
        self
    }
}

impl Default for Rule {
    fn default() -> Self {
        Rule::new()
    }
}

#[cfg(test)]
mod tests {
    use super::{BodyRule, Rule};

    const fn literal() -> Rule {
        Rule {
            body: BodyRule::None,
            response_body: None,
            http_body_request: false,
            http_body_response: false,
            infer_field_mask: None,
            grpc_gateway_envelope: false,
            success_status: 200,
        }
    }

    #[test]
    fn each_builder_method_sets_one_option_of_the_default_rule() {
        let cases = [
            (Rule::new(), literal()),
            (Rule::DEFAULT, literal()),
            (Rule::default(), literal()),
            (
                Rule::new().body_all(),
                Rule {
                    body: BodyRule::All,
                    ..literal()
                },
            ),
            (
                Rule::new().body_field("book.cover", "book.cover"),
                Rule {
                    body: BodyRule::Field {
                        proto_name: "book.cover",
                        json_name: "book.cover",
                    },
                    ..literal()
                },
            ),
            (
                Rule::new().response_body("title"),
                Rule {
                    response_body: Some("title"),
                    ..literal()
                },
            ),
            (
                Rule::new().http_body_request(),
                Rule {
                    http_body_request: true,
                    ..literal()
                },
            ),
            (
                Rule::new().http_body_response(),
                Rule {
                    http_body_response: true,
                    ..literal()
                },
            ),
            (
                Rule::new().infer_field_mask("updateMask"),
                Rule {
                    infer_field_mask: Some("updateMask"),
                    ..literal()
                },
            ),
            (
                Rule::new().grpc_gateway_envelope(),
                Rule {
                    grpc_gateway_envelope: true,
                    ..literal()
                },
            ),
            (
                Rule::new().status(204),
                Rule {
                    success_status: 204,
                    ..literal()
                },
            ),
        ];
        for (built, want) in cases {
            assert_eq!(format!("{built:?}"), format!("{want:?}"));
        }
    }
}
