//! Every fixture document says exactly what its router accepts: schemathesis generates requests
//! from each OpenAPI document the build script wrote (the `canonical` and `alt` option sets),
//! sends them to that fixture's generated router served with stub handlers that answer OK, and
//! its `positive_data_acceptance` check fails on any request the document allows and the router
//! rejects (a 400 for an empty `Timestamp`, say). A file's services share one router, as its
//! document holds them all, and every document with operations must have one (a new fixture
//! cannot slip past).
//!
//! The tool comes from `RS_SVC_SCHEMATHESIS`, else from `~/.cache/rs-svc/tools/venv/bin/`
//! where `.ci/run` installs it; without it the test skips, unless
//! `RS_SVC_REQUIRE_OPENAPI_TOOLS=1` (set by CI) makes that a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use rs_svc::http::axum::Router;

/// Handlers that accept anything: unary methods answer the default message, streams one
/// default message, and client streams are read to the end first (so a bad message is still
/// the router's 400, not the stub's OK).
macro_rules! stubs {
    ($module:ident, $generated:path) => {
        mod $module {
            use generated::acme::shop::v1 as shop;
            use generated::acronyms::v1 as acronyms;
            use generated::interop::v1 as interop;
            use generated::library::v1 as library;
            use generated::prelude::v1 as prelude;
            use generated::shapes::v1 as shapes;
            use rs_svc::google::api::HttpBody;
            use tonic::codegen::BoxStream;
            use tonic::{Request, Response, Status, Streaming};
            use $generated as generated;

            pub struct Stub;

            fn ok<T: Default>() -> Result<Response<T>, Status> {
                Ok(Response::new(T::default()))
            }

            fn one<T: Default + Send + 'static>() -> Result<Response<BoxStream<T>>, Status> {
                Ok(Response::new(Box::pin(tokio_stream::iter([Ok(
                    T::default(),
                )]))))
            }

            async fn drain<T>(mut stream: Streaming<T>) -> Result<(), Status> {
                while stream.message().await?.is_some() {}
                Ok(())
            }

            #[tonic::async_trait]
            impl shop::order_service_server::OrderService for Stub {
                async fn get_order(
                    &self,
                    _: Request<shop::GetOrderRequest>,
                ) -> Result<Response<shop::Order>, Status> {
                    ok()
                }
                async fn list_orders(
                    &self,
                    _: Request<shop::ListOrdersRequest>,
                ) -> Result<Response<shop::ListOrdersResponse>, Status> {
                    ok()
                }
                async fn create_order(
                    &self,
                    _: Request<shop::CreateOrderRequest>,
                ) -> Result<Response<shop::Order>, Status> {
                    ok()
                }
                async fn update_order(
                    &self,
                    _: Request<shop::UpdateOrderRequest>,
                ) -> Result<Response<shop::Order>, Status> {
                    ok()
                }
                async fn cancel_order(
                    &self,
                    _: Request<shop::CancelOrderRequest>,
                ) -> Result<Response<shop::Order>, Status> {
                    ok()
                }
                async fn watch_order(
                    &self,
                    _: Request<shop::GetOrderRequest>,
                ) -> Result<Response<BoxStream<shop::OrderEvent>>, Status> {
                    one()
                }
                async fn import_orders(
                    &self,
                    r: Request<Streaming<shop::Order>>,
                ) -> Result<Response<shop::ImportOrdersResponse>, Status> {
                    drain(r.into_inner()).await?;
                    ok()
                }
                async fn chat(
                    &self,
                    r: Request<Streaming<shop::ChatMessage>>,
                ) -> Result<Response<BoxStream<shop::ChatMessage>>, Status> {
                    drain(r.into_inner()).await?;
                    one()
                }
                async fn legacy_get_order(
                    &self,
                    _: Request<shop::GetOrderRequest>,
                ) -> Result<Response<shop::Order>, Status> {
                    ok()
                }
            }

            #[tonic::async_trait]
            impl library::library_service_server::LibraryService for Stub {
                async fn create_shelf(
                    &self,
                    _: Request<library::CreateShelfRequest>,
                ) -> Result<Response<library::Shelf>, Status> {
                    ok()
                }
                async fn get_book(
                    &self,
                    _: Request<library::GetBookRequest>,
                ) -> Result<Response<library::Book>, Status> {
                    ok()
                }
                async fn list_books(
                    &self,
                    _: Request<library::ListBooksRequest>,
                ) -> Result<Response<library::ListBooksResponse>, Status> {
                    ok()
                }
                async fn move_book(
                    &self,
                    _: Request<library::MoveBookRequest>,
                ) -> Result<Response<library::Book>, Status> {
                    ok()
                }
                async fn update_book(
                    &self,
                    _: Request<library::UpdateBookRequest>,
                ) -> Result<Response<library::Book>, Status> {
                    ok()
                }
                async fn delete_book(
                    &self,
                    _: Request<library::DeleteBookRequest>,
                ) -> Result<Response<()>, Status> {
                    ok()
                }
                async fn get_book_title(
                    &self,
                    _: Request<library::GetBookRequest>,
                ) -> Result<Response<library::Book>, Status> {
                    ok()
                }
                async fn get_cover(
                    &self,
                    _: Request<library::GetBookRequest>,
                ) -> Result<Response<HttpBody>, Status> {
                    ok()
                }
                async fn put_cover(
                    &self,
                    _: Request<library::PutCoverRequest>,
                ) -> Result<Response<()>, Status> {
                    ok()
                }
                async fn get_archive_file(
                    &self,
                    _: Request<library::GetArchiveFileRequest>,
                ) -> Result<Response<HttpBody>, Status> {
                    ok()
                }
                async fn download_archive_file(
                    &self,
                    _: Request<library::GetArchiveFileRequest>,
                ) -> Result<Response<BoxStream<HttpBody>>, Status> {
                    one()
                }
                async fn upload_archive(
                    &self,
                    r: Request<Streaming<HttpBody>>,
                ) -> Result<Response<library::ArchiveSummary>, Status> {
                    drain(r.into_inner()).await?;
                    ok()
                }
                async fn describe(
                    &self,
                    _: Request<()>,
                ) -> Result<Response<library::Shelf>, Status> {
                    ok()
                }
                async fn head_book(
                    &self,
                    _: Request<library::GetBookRequest>,
                ) -> Result<Response<()>, Status> {
                    ok()
                }
                async fn root(&self, _: Request<()>) -> Result<Response<library::Shelf>, Status> {
                    ok()
                }
                async fn r#move(
                    &self,
                    _: Request<library::MoveBookRequest>,
                ) -> Result<Response<library::Shelf>, Status> {
                    ok()
                }
                async fn get_type(
                    &self,
                    _: Request<library::GetTypeRequest>,
                ) -> Result<Response<library::Shelf>, Status> {
                    ok()
                }
            }

            #[tonic::async_trait]
            impl generated::ops::v1::ops_service_server::OpsService for Stub {
                async fn replay(
                    &self,
                    _: Request<shop::GetOrderRequest>,
                ) -> Result<Response<shop::OrderEvent>, Status> {
                    ok()
                }
            }

            #[tonic::async_trait]
            impl acronyms::i_a_m_policy_server::IAMPolicy for Stub {
                async fn get_iam_policy(
                    &self,
                    _: Request<acronyms::GetIamPolicyRequest>,
                ) -> Result<Response<acronyms::Policy>, Status> {
                    ok()
                }
            }

            #[tonic::async_trait]
            impl acronyms::o_s_login_server::OSLogin for Stub {
                async fn get_login_profile(
                    &self,
                    _: Request<acronyms::GetLoginProfileRequest>,
                ) -> Result<Response<acronyms::LoginProfile>, Status> {
                    ok()
                }
            }

            #[tonic::async_trait]
            impl prelude::copier_server::Copier for Stub {
                async fn clone(
                    &self,
                    _: Request<prelude::Some>,
                ) -> Result<Response<prelude::Some>, Status> {
                    ok()
                }
                async fn as_ref(
                    &self,
                    _: Request<prelude::Holder>,
                ) -> Result<Response<prelude::Some>, Status> {
                    ok()
                }
            }

            #[tonic::async_trait]
            impl acronyms::h_t_t_p_proxy_server::HTTPProxy for Stub {
                async fn get_proxy(
                    &self,
                    _: Request<acronyms::GetProxyRequest>,
                ) -> Result<Response<acronyms::Proxy>, Status> {
                    ok()
                }
            }

            #[tonic::async_trait]
            impl interop::note_service_server::NoteService for Stub {
                async fn write_notes(
                    &self,
                    r: Request<Streaming<interop::Note>>,
                ) -> Result<Response<interop::Notes>, Status> {
                    drain(r.into_inner()).await?;
                    ok()
                }
                async fn echo_notes(
                    &self,
                    r: Request<Streaming<interop::Note>>,
                ) -> Result<Response<BoxStream<interop::Note>>, Status> {
                    drain(r.into_inner()).await?;
                    one()
                }
            }

            #[tonic::async_trait]
            impl interop::extension_service_server::ExtensionService for Stub {
                async fn import_notes(
                    &self,
                    r: Request<Streaming<interop::Note>>,
                ) -> Result<Response<interop::Notes>, Status> {
                    drain(r.into_inner()).await?;
                    ok()
                }
                async fn check_note(
                    &self,
                    _: Request<interop::Note>,
                ) -> Result<Response<interop::Note>, Status> {
                    ok()
                }
                async fn annotate_note(
                    &self,
                    _: Request<interop::AnnotateNoteRequest>,
                ) -> Result<Response<interop::AnnotateNoteRequest>, Status> {
                    ok()
                }
                async fn batch_get_notes(
                    &self,
                    _: Request<interop::BatchGetNotesRequest>,
                ) -> Result<Response<interop::BatchGetNotesRequest>, Status> {
                    ok()
                }
            }

            #[tonic::async_trait]
            impl interop::value_service_server::ValueService for Stub {
                async fn echo_int64(&self, _: Request<i64>) -> Result<Response<i64>, Status> {
                    ok()
                }
                async fn echo_duration(
                    &self,
                    _: Request<rs_svc::wkt::Duration>,
                ) -> Result<Response<rs_svc::wkt::Duration>, Status> {
                    ok()
                }
                async fn echo_status(
                    &self,
                    _: Request<interop::LegacyStatus>,
                ) -> Result<Response<interop::LegacyStatus>, Status> {
                    ok()
                }
            }

            #[tonic::async_trait]
            impl shapes::key_tracking_server::KeyTracking for Stub {
                async fn get_protected_resources_summary(
                    &self,
                    _: Request<shapes::GetProtectedResourcesSummaryRequest>,
                ) -> Result<Response<shapes::ProtectedResourcesSummary>, Status> {
                    ok()
                }
            }

            #[tonic::async_trait]
            impl shapes::big_query_read_server::BigQueryRead for Stub {
                async fn read_rows(
                    &self,
                    _: Request<shapes::ReadRowsRequest>,
                ) -> Result<Response<BoxStream<shapes::ReadRowsResponse>>, Status> {
                    one()
                }
                async fn split_read_stream(
                    &self,
                    _: Request<shapes::SplitReadStreamRequest>,
                ) -> Result<Response<shapes::SplitReadStreamResponse>, Status> {
                    ok()
                }
            }

            /// Each fixture file's router (all its services behind one matcher), by the file's
            /// document path under OUT_DIR.
            pub fn routers() -> Vec<(&'static str, rs_svc::http::axum::Router)> {
                let stub = std::sync::Arc::new(Stub);
                let options = rs_svc::http::Options::default;
                vec![
                    (
                        "acme/shop/v1/shop.openapi.yaml",
                        shop::order_service_http::router(stub.clone()),
                    ),
                    (
                        "library/v1/library.openapi.yaml",
                        library::library_service_http::router(stub.clone()),
                    ),
                    (
                        "ops/v1/ops.openapi.yaml",
                        generated::ops::v1::ops_service_http::router(stub.clone()),
                    ),
                    (
                        "acronyms/v1/acronyms.openapi.yaml",
                        acronyms::i_a_m_policy_http::routes(stub.clone(), options())
                            .merge(acronyms::o_s_login_http::routes(stub.clone(), options()))
                            .merge(acronyms::h_t_t_p_proxy_http::routes(
                                stub.clone(),
                                options(),
                            ))
                            .into_router(),
                    ),
                    (
                        "interop/v1/interop.openapi.yaml",
                        interop::note_service_http::routes(stub.clone(), options())
                            .merge(interop::extension_service_http::routes(
                                stub.clone(),
                                options(),
                            ))
                            .merge(interop::value_service_http::routes(stub.clone(), options()))
                            .into_router(),
                    ),
                    (
                        "prelude/v1/prelude.openapi.yaml",
                        prelude::copier_http::router(stub.clone()),
                    ),
                    (
                        "shapes/v1/shapes.openapi.yaml",
                        shapes::key_tracking_http::routes(stub.clone(), options())
                            .merge(shapes::big_query_read_http::routes(stub, options()))
                            .into_router(),
                    ),
                ]
            }
        }
    };
}

stubs!(canonical, rs_svc_compile_test::canonical);
stubs!(alt, rs_svc_compile_test::alt);

fn schemathesis() -> Option<PathBuf> {
    let path = match std::env::var_os("RS_SVC_SCHEMATHESIS") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(std::env::var_os("HOME")?)
            .join(".cache/rs-svc/tools/venv/bin/schemathesis"),
    };
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("RS_SVC_REQUIRE_OPENAPI_TOOLS").as_deref() != Ok("1"),
        "{} not found (set RS_SVC_SCHEMATHESIS); .ci/run installs it",
        path.display()
    );
    eprintln!(
        "skipping: {} not found (set RS_SVC_SCHEMATHESIS)",
        path.display()
    );
    None
}

/// The documents under `dir` (paths relative to it) that have operations: every one of them
/// needs a router in the list above.
fn documents_with_operations(dir: &Path, base: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            documents_with_operations(&path, base, out);
        } else if path.to_string_lossy().ends_with(".openapi.yaml")
            && std::fs::read_to_string(&path)
                .unwrap()
                .contains("operationId:")
        {
            let relative = path.strip_prefix(base).unwrap();
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn every_document_with_operations_has_a_router() {
    let out_dir = PathBuf::from(env!("OUT_DIR"));
    for (set, routers) in [("canonical", canonical::routers()), ("alt", alt::routers())] {
        let mut documents = Vec::new();
        documents_with_operations(&out_dir.join(set), &out_dir.join(set), &mut documents);
        documents.sort();
        let mut served: Vec<String> = routers.iter().map(|(d, _)| (*d).to_owned()).collect();
        served.sort();
        assert_eq!(
            documents, served,
            "[{set}] documents with operations vs routers"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_document_accepts_what_it_allows() {
    let Some(tool) = schemathesis() else {
        return;
    };
    // The documents' Any lists their messages as types the runtime knows; the canonical
    // module's registration serves both sets (its JSON reader accepts either field name).
    rs_svc_compile_test::canonical::register_json_types();
    let out_dir = PathBuf::from(env!("OUT_DIR"));
    let sets: [(&str, Vec<(&str, Router)>); 2] =
        [("canonical", canonical::routers()), ("alt", alt::routers())];
    let seed = std::env::var("RS_SVC_SCHEMATHESIS_SEED").unwrap_or_else(|_| "1".to_owned());
    let mut failures = Vec::new();
    for (set, routers) in sets {
        for (document, router) in routers {
            let addr = common::serve_http(router).await;
            // schemathesis keeps its hypothesis database in the working directory.
            let dir =
                std::env::temp_dir().join(format!("rs-svc-schemathesis-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let mut command = Command::new(&tool);
            command
                .arg("--config-file")
                .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemathesis.toml"))
                .arg("run")
                .arg(out_dir.join(set).join(document))
                .arg("--url")
                .arg(format!("http://{addr}"))
                .args(["--checks", "positive_data_acceptance"])
                .args(["--mode", "positive"])
                .args(["--max-examples", "50"])
                // Requests from the document alone: the stateful phase would feed the stubs'
                // default answers (empty names) back in as path parameters.
                .args(["--phases", "examples,coverage,fuzzing"])
                // Fixed: CI runs the same cases every time, and a failure replays
                // (`RS_SVC_SCHEMATHESIS_SEED` explores others).
                .args(["--seed", &seed])
                .arg("--no-color")
                .current_dir(&dir);
            let shown = format!("{command:?}");
            let output = tokio::task::spawn_blocking(move || command.output())
                .await
                .unwrap()
                .unwrap_or_else(|e| panic!("{shown}: {e}"));
            let stdout = String::from_utf8_lossy(&output.stdout);
            // It did test every operation of the document.
            let operations = std::fs::read_to_string(out_dir.join(set).join(document))
                .unwrap()
                .matches("operationId:")
                .count();
            let tested = format!("Tested: {operations}");
            if !output.status.success() || !stdout.contains(&tested) {
                failures.push(format!(
                    "[{set}] {document}: {shown}\n{stdout}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            let summary: Vec<&str> = stdout
                .lines()
                .filter(|l| l.contains("Tested:") || l.contains(" generated"))
                .map(str::trim)
                .collect();
            eprintln!("[{set}] {document}: {}", summary.join("; "));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
