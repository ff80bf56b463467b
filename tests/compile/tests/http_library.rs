//! The library fixture's routes over real HTTP: multi-segment variables, `**`, verbs, custom
//! and `*` kinds, the root template, `response_body`, `google.api.HttpBody` both ways and as a
//! client stream, PATCH field-mask inference, Empty requests and responses, and query parameters
//! of every type (docs/reference.md section 4).

mod common;

use std::sync::{Arc, Mutex};

use library::library_service_server::LibraryService;
use reqwest::{Method, StatusCode};
use rs_svc::google::api::HttpBody;
use rs_svc_compile_test::canonical::library::v1 as library;
use tonic::{Request, Response, Status};

/// Records the request each handler received, as `Method Debug`.
#[derive(Default)]
struct Library(Mutex<Vec<String>>, Mutex<Option<library::ListBooksRequest>>);

impl Library {
    fn record<T: std::fmt::Debug>(&self, method: &str, request: &Request<T>) {
        self.0
            .lock()
            .unwrap()
            .push(format!("{method} {:?}", request.get_ref()));
    }
}

fn book(name: &str) -> library::Book {
    library::Book {
        name: name.into(),
        author: "Ursula".into(),
        title: "The Dispossessed".into(),
        read: true,
    }
}

fn shelf(name: &str) -> library::Shelf {
    library::Shelf {
        name: name.into(),
        theme: String::new(),
    }
}

#[tonic::async_trait]
impl LibraryService for Library {
    async fn get_book(
        &self,
        r: Request<library::GetBookRequest>,
    ) -> Result<Response<library::Book>, Status> {
        self.record("GetBook", &r);
        Ok(Response::new(book(&r.into_inner().name)))
    }
    async fn get_book_title(
        &self,
        r: Request<library::GetBookRequest>,
    ) -> Result<Response<library::Book>, Status> {
        self.record("GetBookTitle", &r);
        Ok(Response::new(book(&r.into_inner().name)))
    }
    async fn move_book(
        &self,
        r: Request<library::MoveBookRequest>,
    ) -> Result<Response<library::Book>, Status> {
        self.record("MoveBook", &r);
        Ok(Response::new(book("moved")))
    }
    async fn update_book(
        &self,
        r: Request<library::UpdateBookRequest>,
    ) -> Result<Response<library::Book>, Status> {
        self.record("UpdateBook", &r);
        Ok(Response::new(r.into_inner().book.unwrap_or_default()))
    }
    async fn create_shelf(
        &self,
        r: Request<library::CreateShelfRequest>,
    ) -> Result<Response<library::Shelf>, Status> {
        self.record("CreateShelf", &r);
        let shelf = r.into_inner().shelf.unwrap_or_default();
        // The handler's choice per response wins over the method's declared 201.
        let choice = match shelf.theme.as_str() {
            "queued" => Some(rs_svc::http::SuccessStatus::ACCEPTED),
            "nothing" => Some(rs_svc::http::SuccessStatus::NO_CONTENT),
            _ => None,
        };
        let mut response = Response::new(shelf);
        if let Some(choice) = choice {
            response.extensions_mut().insert(choice);
        }
        Ok(response)
    }
    async fn delete_book(
        &self,
        r: Request<library::DeleteBookRequest>,
    ) -> Result<Response<()>, Status> {
        self.record("DeleteBook", &r);
        Ok(Response::new(()))
    }
    async fn get_cover(
        &self,
        r: Request<library::GetBookRequest>,
    ) -> Result<Response<HttpBody>, Status> {
        self.record("GetCover", &r);
        Ok(Response::new(HttpBody {
            content_type: "image/png".into(),
            data: vec![0x89, b'P', b'N', b'G', 0],
            extensions: vec![],
        }))
    }
    async fn put_cover(
        &self,
        r: Request<library::PutCoverRequest>,
    ) -> Result<Response<()>, Status> {
        self.record("PutCover", &r);
        Ok(Response::new(()))
    }
    async fn get_archive_file(
        &self,
        r: Request<library::GetArchiveFileRequest>,
    ) -> Result<Response<HttpBody>, Status> {
        self.record("GetArchiveFile", &r);
        Ok(Response::new(HttpBody {
            content_type: "text/plain".into(),
            data: b"archived".to_vec(),
            extensions: vec![],
        }))
    }
    async fn download_archive_file(
        &self,
        r: Request<library::GetArchiveFileRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<HttpBody>>, Status> {
        self.record("DownloadArchiveFile", &r);
        let chunk = |data: &[u8]| {
            Ok(HttpBody {
                content_type: "application/octet-stream".into(),
                data: data.to_vec(),
                extensions: vec![],
            })
        };
        let chunks = vec![chunk(b"abc"), chunk(b"def"), chunk(b"\x00\xff")];
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }
    async fn list_books(
        &self,
        r: Request<library::ListBooksRequest>,
    ) -> Result<Response<library::ListBooksResponse>, Status> {
        // Kept whole: its maps have no stable Debug order.
        *self.1.lock().unwrap() = Some(r.into_inner());
        Ok(Response::new(library::ListBooksResponse::default()))
    }
    async fn upload_archive(
        &self,
        r: Request<tonic::Streaming<HttpBody>>,
    ) -> Result<Response<library::ArchiveSummary>, Status> {
        let mut chunks = r.into_inner();
        let mut summary = library::ArchiveSummary::default();
        let mut small = Vec::new();
        let mut largest = 0;
        while let Some(chunk) = chunks.message().await? {
            summary.chunks += 1;
            summary.bytes += chunk.data.len() as i64;
            largest = largest.max(chunk.data.len());
            summary.content_type = chunk.content_type.clone();
            if summary.bytes <= 64 {
                small.push(chunk);
            }
        }
        let seen = if summary.bytes <= 64 {
            format!("UploadArchive {small:?}")
        } else {
            format!(
                "UploadArchive {} bytes, largest chunk {largest}",
                summary.bytes
            )
        };
        self.0.lock().unwrap().push(seen);
        Ok(Response::new(summary))
    }
    async fn describe(&self, r: Request<()>) -> Result<Response<library::Shelf>, Status> {
        self.record("Describe", &r);
        Ok(Response::new(shelf("described")))
    }
    async fn head_book(&self, r: Request<library::GetBookRequest>) -> Result<Response<()>, Status> {
        self.record("HeadBook", &r);
        Ok(Response::new(()))
    }
    async fn root(&self, r: Request<()>) -> Result<Response<library::Shelf>, Status> {
        self.record("Root", &r);
        Ok(Response::new(shelf("root")))
    }
    async fn r#move(
        &self,
        r: Request<library::MoveBookRequest>,
    ) -> Result<Response<library::Shelf>, Status> {
        self.record("Move", &r);
        Ok(Response::new(shelf("moved")))
    }
    async fn get_type(
        &self,
        r: Request<library::GetTypeRequest>,
    ) -> Result<Response<library::Shelf>, Status> {
        self.record("GetType", &r);
        Ok(Response::new(shelf("typed")))
    }
}

struct Server {
    base: String,
    library: Arc<Library>,
    client: reqwest::Client,
}

async fn start() -> Server {
    start_with(rs_svc::http::Options::default()).await
}

async fn start_with(options: rs_svc::http::Options) -> Server {
    let library = Arc::new(Library::default());
    let router = library::library_service_http::router_with(library.clone(), options);
    let base = format!("http://{}", common::serve_http(router).await);
    Server {
        base,
        library,
        client: reqwest::Client::new(),
    }
}

/// One request: method, path, content type and body (if any).
struct Call(Method, &'static str, Option<(&'static str, &'static [u8])>);

/// What must come back: status, content type, body, and the start of what the handler got.
struct Expect(u16, &'static str, &'static [u8], &'static str);

#[tokio::test]
async fn every_rule_shape_routes_binds_and_answers() {
    let server = start().await;
    let rows: &[(Call, Expect)] = &[
        (
            Call(Method::GET, "/v1/shelves/s1/books/b1", None),
            Expect(200, "application/json", br#"{"name":"shelves/s1/books/b1","author":"Ursula","title":"The Dispossessed","read":true}"#, r#"GetBook GetBookRequest { name: "shelves/s1/books/b1" }"#),
        ),
        (
            Call(Method::GET, "/v1/books/a/b/c", None),
            Expect(200, "application/json", b"", r#"GetBook GetBookRequest { name: "a/b/c" }"#),
        ),
        (
            Call(Method::GET, "/v1/shelves/s1/books/b1:title", None),
            Expect(200, "application/json", br#""The Dispossessed""#, "GetBookTitle"),
        ),
        (
            Call(Method::POST, "/v1/shelves/s1/books/b1:move", Some(("application/json", br#"{"otherShelfName": "shelves/s2"}"#))),
            Expect(200, "application/json", b"", r#"MoveBook MoveBookRequest { name: "shelves/s1/books/b1", other_shelf_name: "shelves/s2" }"#),
        ),
        (
            Call(Method::POST, "/v1/shelves/s1:moveShelf", Some(("application/json", b"{}"))),
            Expect(200, "application/json", br#"{"name":"moved"}"#, r#"Move MoveBookRequest { name: "shelves/s1""#),
        ),
        (
            Call(Method::PATCH, "/v1/shelves/s1/books/b1", Some(("application/json", br#"{"title": "New", "read": false}"#))),
            Expect(200, "application/json", br#"{"name":"shelves/s1/books/b1","title":"New"}"#, r#"UpdateBook UpdateBookRequest { book: Some(Book { name: "shelves/s1/books/b1", author: "", title: "New", read: false }), update_mask: Some(FieldMask { paths: ["read", "title"] }) }"#),
        ),
        (
            Call(Method::PATCH, "/v1/shelves/s1/books/b1?updateMask=author", Some(("application/json", br#"{"title": "New"}"#))),
            Expect(200, "application/json", b"", r#"UpdateBook UpdateBookRequest { book: Some(Book { name: "shelves/s1/books/b1", author: "", title: "New", read: false }), update_mask: Some(FieldMask { paths: ["author"] }) }"#),
        ),
        // `rs_svc.api.http_response` declares the success status: 204 sends no body.
        (
            Call(Method::DELETE, "/v1/shelves/s1/books/b1", None),
            Expect(204, "", b"", r#"DeleteBook DeleteBookRequest { name: "shelves/s1/books/b1" }"#),
        ),
        (
            Call(Method::POST, "/v1/shelves", Some(("application/json", br#"{"name": "shelves/s9"}"#))),
            Expect(201, "application/json", br#"{"name":"shelves/s9"}"#, r#"CreateShelf CreateShelfRequest { shelf: Some(Shelf { name: "shelves/s9", theme: "" })"#),
        ),
        // ...and a handler chooses another per response.
        (
            Call(Method::POST, "/v1/shelves", Some(("application/json", br#"{"theme": "queued"}"#))),
            Expect(202, "application/json", br#"{"theme":"queued"}"#, "CreateShelf"),
        ),
        (
            Call(Method::POST, "/v1/shelves", Some(("application/json", br#"{"theme": "nothing"}"#))),
            Expect(204, "", b"", "CreateShelf"),
        ),
        (
            Call(Method::GET, "/v1/shelves/s1/books/b1/cover", None),
            Expect(200, "image/png", b"\x89PNG\x00", "GetCover"),
        ),
        (
            Call(Method::PUT, "/v1/shelves/s1/books/b1/cover", Some(("image/jpeg", b"\xff\xd8raw"))),
            Expect(200, "application/json", b"{}", r#"PutCover PutCoverRequest { name: "shelves/s1/books/b1", image: Some(HttpBody { content_type: "image/jpeg", data: [255, 216, 114, 97, 119], extensions: [] }) }"#),
        ),
        (
            Call(Method::GET, "/v1/shelves/s1/archive/2024/a%2Fb.txt", None),
            Expect(200, "text/plain", b"archived", r#"GetArchiveFile GetArchiveFileRequest { shelf: "shelves/s1", path: "2024/a%2Fb.txt" }"#),
        ),
        (
            Call(Method::GET, "/v1/shelves/s1/download/big.bin", None),
            Expect(200, "application/octet-stream", b"abcdef\x00\xff", r#"DownloadArchiveFile GetArchiveFileRequest { shelf: "shelves/s1", path: "big.bin" }"#),
        ),
        (
            Call(Method::GET, "/v1/shelves/s1/archive", None),
            Expect(404, "application/json", b"", ""),
        ),
        (
            Call(Method::DELETE, "/v1/describe", None),
            Expect(200, "application/json", br#"{"name":"described"}"#, "Describe ()"),
        ),
        (
            Call(Method::OPTIONS, "/v1/describe", None),
            Expect(200, "application/json", br#"{"name":"described"}"#, "Describe ()"),
        ),
        (
            Call(Method::HEAD, "/v1/shelves/s1/books/b1", None),
            Expect(200, "application/json", b"", r#"HeadBook GetBookRequest { name: "shelves/s1/books/b1" }"#),
        ),
        (
            Call(Method::GET, "/", None),
            Expect(200, "application/json", br#"{"name":"root"}"#, "Root ()"),
        ),
        (
            Call(Method::GET, "/people:getType", None),
            Expect(200, "application/json", br#"{"name":"typed"}"#, r#"GetType GetTypeRequest { resource: "people" }"#),
        ),
        (
            Call(Method::GET, "/a/b/c:getType", None),
            Expect(200, "application/json", b"", r#"GetType GetTypeRequest { resource: "a/b/c" }"#),
        ),
        // A client stream of HttpBody: the raw body, whatever its type, as messages of data.
        (
            Call(Method::POST, "/v1/archives:upload", Some(("application/zip", b"PK\x03\x04zip"))),
            Expect(200, "application/json", br#"{"bytes":"7","chunks":1,"contentType":"application/zip"}"#, r#"UploadArchive [HttpBody { content_type: "application/zip", data: [80, 75, 3, 4, 122, 105, 112], extensions: [] }]"#),
        ),
        (
            Call(Method::POST, "/v1/archives:upload", Some(("application/json", b"[1,"))),
            Expect(200, "application/json", br#"{"bytes":"3","chunks":1,"contentType":"application/json"}"#, r#"UploadArchive [HttpBody { content_type: "application/json", data: [91, 49, 44], extensions: [] }]"#),
        ),
        // An empty body is one message holding only the content type, as Envoy sends it.
        (
            Call(Method::POST, "/v1/archives:upload", Some(("text/plain", b""))),
            Expect(200, "application/json", br#"{"chunks":1,"contentType":"text/plain"}"#, r#"UploadArchive [HttpBody { content_type: "text/plain", data: [], extensions: [] }]"#),
        ),
        (
            Call(Method::POST, "/v1/archives:upload", None),
            Expect(200, "application/json", br#"{"chunks":1}"#, r#"UploadArchive [HttpBody { content_type: "", data: [], extensions: [] }]"#),
        ),
    ];
    for (Call(method, path, body), Expect(status, content_type, expected_body, received)) in rows {
        let before = server.library.0.lock().unwrap().len();
        let mut request = server
            .client
            .request(method.clone(), format!("{}{path}", server.base));
        if let Some((content_type, bytes)) = body {
            request = request
                .header("content-type", *content_type)
                .body(bytes.to_vec());
        }
        let response = request.send().await.unwrap();
        let what = format!("{method} {path}");
        assert_eq!(
            response.status(),
            StatusCode::from_u16(*status).unwrap(),
            "{what}"
        );
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        if content_type.is_empty() {
            // No body: no content type and no length either (RFC 9110 section 8.6).
            assert!(bytes.is_empty(), "{what}: {bytes:?}");
            for name in ["content-type", "content-length"] {
                assert!(!headers.contains_key(name), "{what}: {name} {headers:?}");
            }
        } else {
            assert_eq!(headers["content-type"], *content_type, "{what}");
        }
        if !expected_body.is_empty() {
            assert_eq!(
                &bytes[..],
                *expected_body,
                "{what}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let calls = server.library.0.lock().unwrap();
        if received.is_empty() {
            assert_eq!(calls.len(), before, "{what}: no handler runs");
        } else {
            let last = calls.last().cloned().unwrap_or_default();
            assert!(
                last.starts_with(received),
                "{what}\n got: {last}\nwant: {received}"
            );
        }
    }
}

#[tokio::test]
async fn an_http_body_upload_streams_past_the_body_limit_in_bounded_chunks() {
    let server = start_with(rs_svc::http::Options::new().max_body_bytes(1024)).await;
    let size: usize = 5 * 1024 * 1024 + 3;
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    // Sent with a Content-Length, then chunked as it is made (1 MiB pieces, no length).
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(1 << 20).map(|c| Ok(c.to_vec())).collect();
    let bodies = [
        reqwest::Body::from(data),
        reqwest::Body::wrap_stream(tokio_stream::iter(pieces)),
    ];
    let piece = rs_svc::http::client_stream::RAW_PIECE_BYTES;
    for body in bodies {
        let url = format!("{}/v1/archives:upload", server.base);
        let upload = server.client.post(url).body(body);
        let sent = upload.header("content-type", "application/octet-stream");
        let response = sent.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let summary: serde_json::Value = response.json().await.unwrap();
        assert_eq!(summary["bytes"], size.to_string());
        assert_eq!(summary["contentType"], "application/octet-stream");
        let chunks = summary["chunks"].as_u64().unwrap();
        assert!(chunks as usize >= size.div_ceil(piece), "{chunks} chunks");
        let seen = server.library.0.lock().unwrap().last().cloned().unwrap();
        let largest: usize = seen.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(largest <= piece, "{seen}");
    }
}

fn all_of_a_kind() -> library::ListBooksRequest {
    use std::collections::HashMap;
    library::ListBooksRequest {
        parent: "shelves/s1".into(),
        page_size: 10,
        page_token: "next page".into(),
        include_read: true,
        labels: HashMap::from([("tier".into(), "gold".into()), ("lang".into(), "en".into())]),
        authors: vec!["a".into(), "b c".into()],
        genre: library::Genre::Fiction as i32,
        any_genre: vec![
            library::Genre::History as i32,
            library::Genre::Poetry as i32,
        ],
        published_after: Some(rs_svc::wkt::Timestamp {
            seconds: 1_704_164_645,
            nanos: 0,
        }),
        max_reading_time: Some(rs_svc::wkt::Duration {
            seconds: 90,
            nanos: 0,
        }),
        read_mask: Some(rs_svc::wkt::FieldMask {
            paths: vec!["title".into(), "author".into()],
        }),
        min_pages: Some(100),
        language: Some("en".into()),
        filter: Some(library::BookFilter {
            min_rating: 4.5,
            max_rating: f32::NEG_INFINITY,
            min_copies: -3,
            max_copies: u64::MAX,
            min_edition: i32::MIN,
            isbn_prefix: 978,
            shelf_row: u32::MAX,
            signed: true,
            title_prefix: "The Left".into(),
            cover_hash: vec![0xfb, 0xff, 0xfe],
            max_edition: u32::MAX,
            year_offset: -7,
            price_cents: i64::MIN,
            min_year: -500,
            max_year: i64::MAX,
        }),
        shelf_rows: HashMap::from([(3, true), (-1, false)]),
    }
}

#[tokio::test]
async fn query_parameters_of_every_type_bind_exactly() {
    let server = start().await;
    let proto_names = concat!(
        "page_size=10&page_token=next+page&include_read=true",
        "&labels[tier]=gold&labels[lang]=en&shelf_rows[3]=1&shelf_rows[-1]=false",
        "&authors=a&authors=b+c&genre=FICTION&any_genre=2&any_genre=POETRY",
        "&published_after=2024-01-02T03:04:05Z&max_reading_time=90s&read_mask=title,author",
        "&min_pages=100&language=en",
        "&filter.min_rating=4.5&filter.max_rating=-Infinity&filter.min_copies=-3",
        "&filter.max_copies=18446744073709551615&filter.min_edition=-2147483648",
        "&filter.isbn_prefix=978&filter.shelf_row=4294967295&filter.signed=1",
        "&filter.title_prefix=The+Left&filter.cover_hash=-__-&filter.max_edition=4294967295",
        "&filter.year_offset=-7&filter.price_cents=-9223372036854775808&filter.min_year=-500",
        "&filter.max_year=9223372036854775807",
    );
    let json_names = concat!(
        "pageSize=10&pageToken=next%20page&includeRead=true",
        "&labels%5Btier%5D=gold&labels[lang]=en&shelfRows[3]=true&shelfRows[-1]=0",
        "&authors=a&authors=b%20c&genre=1&anyGenre=HISTORY&anyGenre=3",
        "&publishedAfter=2024-01-02T04:04:05%2B01:00&maxReadingTime=90.000s",
        "&readMask=title%2Cauthor&minPages=100&language=en",
        "&filter.minRating=4.5&filter.maxRating=-Infinity&filter.minCopies=-3",
        "&filter.maxCopies=18446744073709551615&filter.minEdition=-2147483648",
        "&filter.isbnPrefix=978&filter.shelfRow=4294967295&filter.signed=true",
        "&filter.titlePrefix=The%20Left&filter.coverHash=%2B%2F%2F%2B&filter.maxEdition=4294967295",
        "&filter.yearOffset=-7&filter.priceCents=-9223372036854775808&filter.minYear=-500",
        "&filter.maxYear=9223372036854775807",
    );
    let only_path = library::ListBooksRequest {
        parent: "shelves/s2".into(),
        ..Default::default()
    };
    // (query, the message the handler receives)
    let rows = [
        ("/v1/shelves/s1/books?", proto_names, all_of_a_kind()),
        ("/v1/shelves/s1/books?", json_names, all_of_a_kind()),
        // The path wins over the query; empty values are the field's zero or empty.
        (
            "/v1/shelves/s2/books?",
            "parent=shelves/s9&language=",
            library::ListBooksRequest {
                language: Some(String::new()),
                ..only_path.clone()
            },
        ),
        ("/v1/shelves/s2/books", "", only_path),
    ];
    for (path, query, expected) in rows {
        *server.library.1.lock().unwrap() = None;
        let url = format!("{}{path}{query}", server.base);
        let response = server.client.get(&url).send().await.unwrap();
        let status = response.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "{query}: {}",
            response.text().await.unwrap()
        );
        let received = server.library.1.lock().unwrap().take();
        assert_eq!(received.as_ref(), Some(&expected), "{query}");
    }
}

#[tokio::test]
async fn a_bad_query_parameter_is_a_400_naming_it() {
    let server = start().await;
    // (query, the error message); values only the message's reader can judge (ranges,
    // timestamps, durations, base64, map keys) are blamed on the parameter as sent, too.
    let rows = [
        ("include_read=yes", "query parameter `include_read`: `yes` is not a bool (true, false, 1 or 0)"),
        ("filter.signed=TRUE", "query parameter `filter.signed`: `TRUE` is not a bool (true, false, 1 or 0)"),
        ("shelf_rows[x]=1", "query parameter `shelf_rows[x]`: invalid int32 map key `x`"),
        ("shelfRows[3]=maybe", "query parameter `shelfRows[3]`: `maybe` is not a bool (true, false, 1 or 0)"),
        ("genre=EPIC", "query parameter `genre`: `EPIC` is not a value of the enum"),
        ("any_genre=POETRY&any_genre=fiction", "query parameter `any_genre`: `fiction` is not a value of the enum"),
        ("page_size=2147483648", "query parameter `page_size`: 2147483648 is out of range for int32"),
        ("filter.max_copies=18446744073709551616", "query parameter `filter.max_copies`: 18446744073709551616 is out of range for uint64"),
        ("filter.shelfRow=-1", "query parameter `filter.shelfRow`: -1 is out of range for uint32"),
        ("filter.min_rating=fast", "query parameter `filter.min_rating`: `fast` is not a number"),
        ("published_after=yesterday", "query parameter `published_after`: invalid timestamp `yesterday`: expected RFC 3339 like `1972-01-01T10:00:20.021Z`"),
        ("max_reading_time=90", "query parameter `max_reading_time`: invalid duration `90`: expected seconds with up to 9 fractional digits and an `s`, like `1.5s`"),
        ("filter.cover_hash=%25%25", "query parameter `filter.cover_hash`: invalid base64 `%%`: Invalid symbol 37, offset 0."),
        ("min_pages=many", "query parameter `min_pages`: `many` is not an integer"),
        ("language=en&language=fr", "query parameter `language` is given twice but the field is not repeated"),
    ];
    for (query, message) in rows {
        let url = format!("{}/v1/shelves/s1/books?{query}", server.base);
        let response = server.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], 3, "{query}: {body}");
        assert_eq!(body["message"], message, "{query}");
    }
}
