//! `user-client`: creates a user and reads it back with the generated client, dialed with
//! `user_service_client::dial()`. Set `USER_SERVICE_ADDR` (e.g. `http://127.0.0.1:9090`) when
//! `user-service:9090` does not resolve, as outside Kubernetes.

use tonic::Code;
use user_service_example::user::v1::user_service_client;
use user_service_example::user::v1::{CreateUserRequest, GetUserRequest, ListUsersRequest, User};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut client = user_service_client::dial().await?;
    let created = client
        .create_user(CreateUserRequest {
            user_id: "ada".into(),
            user: Some(User {
                display_name: "Ada Lovelace".into(),
                email: "ada@example.com".into(),
                ..Default::default()
            }),
        })
        .await;
    match created {
        Ok(user) => println!("created {}", serde_json::to_string(user.get_ref())?),
        Err(status) if status.code() == Code::AlreadyExists => println!("{}", status.message()),
        Err(status) => return Err(status.into()),
    }
    let user = client
        .get_user(GetUserRequest {
            name: "users/ada".into(),
        })
        .await?
        .into_inner();
    println!("got {}", serde_json::to_string(&user)?);
    let page = client
        .list_users(ListUsersRequest::default())
        .await?
        .into_inner();
    println!("listed {}", serde_json::to_string(&page)?);
    Ok(())
}
