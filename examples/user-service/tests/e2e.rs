//! The generated client against the generated server, served by `rs_svc::serve` on
//! 127.0.0.1: all four method kinds, deadlines, metadata both ways, and rich error details.

mod common;

use std::time::Duration;

use tokio_stream::StreamExt;
use tonic::{Code, Request};
use tonic_types::StatusExt;
use user_service_example::user::v1::user_service_client::{self, UserServiceClient};
use user_service_example::user::v1::{
    CreateUserRequest, GetUserRequest, ListUsersRequest, User, WatchUsersRequest,
};
use user_service_example::REQUEST_ID;

fn new_user(id: &str) -> CreateUserRequest {
    CreateUserRequest {
        user_id: id.into(),
        user: Some(User {
            display_name: id.to_uppercase(),
            email: format!("{id}@example.com"),
            ..Default::default()
        }),
    }
}

async fn client() -> (common::Running, UserServiceClient<rs_svc::dial::Channel>) {
    let running = common::start().await;
    let options = rs_svc::dial::Options::new().target(format!("http://{}", running.addr));
    let client = user_service_client::dial_with(options).await.unwrap();
    (running, client)
}

#[tokio::test]
async fn unary_calls_create_read_and_page() {
    let (_server, mut client) = client().await;
    for id in ["ada", "bob", "cy"] {
        let user = client.create_user(new_user(id)).await.unwrap().into_inner();
        assert_eq!(user.name, format!("users/{id}"));
        assert!(user.create_time.is_some());
    }
    let user = client
        .get_user(GetUserRequest {
            name: "users/bob".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(user.email, "bob@example.com");

    let page = client
        .list_users(ListUsersRequest {
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = page.users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["users/ada", "users/bob"]);
    let rest = client
        .list_users(ListUsersRequest {
            page_size: 2,
            page_token: page.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.users.len(), 1);
    assert!(rest.next_page_token.is_empty());
}

#[tokio::test]
async fn server_streaming_sends_existing_users_then_new_ones() {
    let (_server, mut client) = client().await;
    client.create_user(new_user("ada")).await.unwrap();
    let mut events = client
        .watch_users(WatchUsersRequest {})
        .await
        .unwrap()
        .into_inner();
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(first.user.unwrap().name, "users/ada");
    client.create_user(new_user("bob")).await.unwrap();
    let second = events.next().await.unwrap().unwrap();
    assert_eq!(second.user.unwrap().name, "users/bob");
}

#[tokio::test]
async fn client_streaming_imports_every_user_of_the_stream() {
    let (_server, mut client) = client().await;
    let users = tokio_stream::iter(["a1", "a2", "a3"].map(new_user));
    let response = client.import_users(users).await.unwrap().into_inner();
    assert_eq!(response.created, 3);
    let page = client
        .list_users(ListUsersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.users.len(), 3);
}

#[tokio::test]
async fn bidi_streaming_answers_each_lookup_in_turn() {
    let (_server, mut client) = client().await;
    client.create_user(new_user("ada")).await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut answers = client
        .lookup_users(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    // Each answer arrives before the next question is sent: the stream is truly interleaved.
    for (asked, found) in [
        ("users/ada", "users/ada"),
        ("users/nobody", ""),
        ("users/ada", "users/ada"),
    ] {
        tx.send(GetUserRequest { name: asked.into() })
            .await
            .unwrap();
        let user = answers.next().await.unwrap().unwrap();
        assert_eq!(user.name, found);
    }
    drop(tx);
    assert!(answers.next().await.is_none());
}

#[tokio::test]
async fn deadlines_reach_the_server() {
    let (server, mut client) = client().await;
    let mut request = Request::new(ListUsersRequest::default());
    request.set_timeout(Duration::from_millis(1500));
    client.list_users(request).await.unwrap();
    let micros = seen_timeout_micros(&server);
    assert!(micros > 0 && micros <= 1_500_000, "{micros}");

    // Without one of its own, a unary call carries the dial default (30 s).
    client
        .list_users(ListUsersRequest::default())
        .await
        .unwrap();
    let micros = seen_timeout_micros(&server);
    assert!(micros > 29_000_000 && micros <= 30_000_000, "{micros}");
}

/// The `grpc-timeout` of the last call the server received, in microseconds (how the dial
/// channel writes it).
fn seen_timeout_micros(server: &common::Running) -> u64 {
    let seen = server.last_timeout.lock().unwrap().clone();
    let seen = seen.expect("grpc-timeout");
    seen.strip_suffix('u')
        .expect("microseconds")
        .parse()
        .unwrap()
}

#[tokio::test]
async fn metadata_travels_both_ways() {
    let (_server, mut client) = client().await;
    client.create_user(new_user("ada")).await.unwrap();
    let mut request = Request::new(GetUserRequest {
        name: "users/ada".into(),
    });
    request
        .metadata_mut()
        .insert(REQUEST_ID, "req-42".parse().unwrap());
    let response = client.get_user(request).await.unwrap();
    assert_eq!(response.metadata().get(REQUEST_ID).unwrap(), "req-42");

    let mut request = Request::new(tokio_stream::iter([new_user("bob")]));
    request
        .metadata_mut()
        .insert(REQUEST_ID, "req-43".parse().unwrap());
    let response = client.import_users(request).await.unwrap();
    assert_eq!(response.metadata().get(REQUEST_ID).unwrap(), "req-43");
}

#[tokio::test]
async fn rich_error_details_round_trip() {
    let (_server, mut client) = client().await;
    let mut bad = new_user("Not Valid");
    bad.user.as_mut().unwrap().email = "nowhere".into();
    let status = client.create_user(bad).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let violations = &details
        .bad_request()
        .expect("a BadRequest detail")
        .field_violations;
    let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
    assert_eq!(fields, ["user_id", "user.email"]);

    let status = client
        .get_user(GetUserRequest {
            name: "users/ghost".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let info = status
        .get_details_resource_info()
        .expect("a ResourceInfo detail");
    assert_eq!(info.resource_name, "users/ghost");
}
