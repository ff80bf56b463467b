//! The generated HTTP/JSON client on the shapes the router reads and writes in their own forms
//! (docs/reference.md section 1.1): `google.protobuf.Empty` and wrapper requests and responses
//! (prost's `()` and bare primitives), a custom `*` rule, a 204 answer, a HEAD rule; and the
//! server streams of a service generated with `stream_envelope=grpc_gateway`. Each call gives
//! what the same implementation gives in process.

mod common;

use std::sync::Arc;

use rs_svc_compile_test::canonical::library::v1 as library;
use rs_svc_compile_test::interop::v1 as interop;
use tonic::{Request, Response, Status};

struct Values;

#[tonic::async_trait]
impl interop::value_service_server::ValueService for Values {
    async fn echo_int64(&self, request: Request<i64>) -> Result<Response<i64>, Status> {
        Ok(Response::new(request.into_inner()))
    }

    async fn echo_duration(
        &self,
        request: Request<rs_svc::wkt::Duration>,
    ) -> Result<Response<rs_svc::wkt::Duration>, Status> {
        Ok(Response::new(request.into_inner()))
    }

    async fn echo_status(
        &self,
        request: Request<interop::LegacyStatus>,
    ) -> Result<Response<interop::LegacyStatus>, Status> {
        Ok(Response::new(request.into_inner()))
    }
}

/// A wrapper goes out as its proto3 JSON (`"9223372036854775807"`) and comes back the same way:
/// every `i64` round-trips exactly, as in process.
#[tokio::test]
async fn wrapper_requests_and_responses_round_trip_through_the_http_client() {
    use interop::value_service_api::ValueServiceApi;
    let router = interop::value_service_http::router(Arc::new(Values));
    let base = format!("http://{}", common::serve_http(router).await);
    let client = interop::value_service_http_client::ValueServiceHttpClient::new(&base).unwrap();
    let apis: [&dyn ValueServiceApi; 2] = [&Values, &client];
    for value in [0, -4, i64::MAX, i64::MIN, 1 << 53 | 1] {
        for api in apis {
            let echoed = api.echo_int64(Request::new(value)).await.unwrap();
            assert_eq!(echoed.into_inner(), value);
        }
    }
    let duration = rs_svc::wkt::Duration {
        seconds: 1,
        nanos: 500_000_000,
    };
    // Through the `<Svc>Api` trait (the server trait, in scope too, has the same names).
    let echoed = ValueServiceApi::echo_duration(&client, Request::new(duration))
        .await
        .unwrap();
    assert_eq!(echoed.into_inner(), duration);
}

/// Only the methods these tests call; the rest answer UNIMPLEMENTED (default stubs).
struct Library;

fn shelf(name: &str) -> library::Shelf {
    library::Shelf {
        name: name.into(),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl library::library_service_server::LibraryService for Library {
    async fn delete_book(
        &self,
        request: Request<library::DeleteBookRequest>,
    ) -> Result<Response<()>, Status> {
        if request.get_ref().name.ends_with("/missing") {
            return Err(Status::not_found("no such book"));
        }
        Ok(Response::new(()))
    }

    async fn describe(&self, _: Request<()>) -> Result<Response<library::Shelf>, Status> {
        Ok(Response::new(shelf("described")))
    }

    async fn head_book(&self, _: Request<library::GetBookRequest>) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }

    async fn root(&self, _: Request<()>) -> Result<Response<library::Shelf>, Status> {
        Ok(Response::new(shelf("root")))
    }
}

/// `google.protobuf.Empty` requests (`Describe` on a `*` rule, `Root` on `GET /`) and responses
/// (`DeleteBook`, answered 204 with no body; `HeadBook` on a HEAD rule) through the HTTP client,
/// as in process.
#[tokio::test]
async fn empty_requests_and_responses_through_the_http_client() {
    use library::library_service_api::LibraryServiceApi;
    let router = library::library_service_http::router(Arc::new(Library));
    let base = format!("http://{}", common::serve_http(router).await);
    let client =
        library::library_service_http_client::LibraryServiceHttpClient::new(&base).unwrap();
    let apis: [&dyn LibraryServiceApi; 2] = [&Library, &client];
    let mut transcripts = Vec::new();
    for api in apis {
        let delete = |name: &str| Request::new(library::DeleteBookRequest { name: name.into() });
        let outcomes = [
            format!(
                "{:?}",
                api.describe(Request::new(()))
                    .await
                    .map(Response::into_inner)
            ),
            format!(
                "{:?}",
                api.root(Request::new(())).await.map(Response::into_inner)
            ),
            format!(
                "{:?}",
                api.delete_book(delete("shelves/1/books/2"))
                    .await
                    .map(Response::into_inner)
            ),
            format!(
                "{:?}",
                api.delete_book(delete("shelves/1/books/missing"))
                    .await
                    .map(Response::into_inner)
                    .map_err(|e| (e.code(), e.message().to_owned()))
            ),
            format!(
                "{:?}",
                api.head_book(Request::new(library::GetBookRequest {
                    name: "shelves/1/books/2".into(),
                }))
                .await
                .map(Response::into_inner)
            ),
        ];
        transcripts.push(outcomes);
    }
    assert_eq!(
        transcripts[1], transcripts[0],
        "over HTTP (left), in process (right)"
    );
    assert!(
        transcripts[0][0].contains("described"),
        "{:?}",
        transcripts[0]
    );
    assert_eq!(transcripts[0][2], "Ok(())");
}
