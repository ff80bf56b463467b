//! The one handler behind both servers. The two generated modules have distinct (if identical)
//! message types and traits, so the trait impl is written once as a macro expanded for each
//! module, and the streaming work is a generic function both expansions call.

use tonic::Status;

/// A response message of either module: what [`numbered`] needs to number its copies.
pub trait Reply: Clone + Send + 'static {
    /// Sets the `sequence` field.
    fn set_sequence(&mut self, sequence: i64);
}

/// The messages of a `Stream` call, made as the server sends them.
#[derive(Debug)]
pub struct Numbered<T> {
    template: T,
    next: i64,
    end: i64,
}

impl<T: Reply> Iterator for Numbered<T> {
    type Item = Result<T, Status>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == self.end {
            return None;
        }
        let mut message = self.template.clone();
        message.set_sequence(self.next);
        self.next += 1;
        Some(Ok(message))
    }
}

/// `count` copies of `template`, numbered from 0.
pub fn numbered<T: Reply>(template: T, count: u32) -> tokio_stream::Iter<Numbered<T>> {
    tokio_stream::iter(Numbered {
        template,
        next: 0,
        end: i64::from(count),
    })
}

/// Implements `EchoService` of the module at `crate::$path` for a new unit struct `$name`.
macro_rules! echo_service {
    ($name:ident, $($path:ident)::+) => {
        #[doc = concat!("`EchoService` of `crate::", stringify!($($path)::+), "`.")]
        #[derive(Clone, Copy, Debug, Default)]
        pub struct $name;

        impl Reply for crate::$($path)::+::EchoResponse {
            fn set_sequence(&mut self, sequence: i64) {
                self.sequence = sequence;
            }
        }

        #[tonic::async_trait]
        impl crate::$($path)::+::echo_service_server::EchoService for $name {
            async fn echo(
                &self,
                request: tonic::Request<crate::$($path)::+::EchoRequest>,
            ) -> Result<tonic::Response<crate::$($path)::+::EchoResponse>, Status> {
                let request = request.into_inner();
                Ok(tonic::Response::new(crate::$($path)::+::EchoResponse {
                    text: request.text,
                    id: request.id,
                    values: request.values,
                    sequence: 0,
                }))
            }

            type StreamStream = tokio_stream::Iter<Numbered<crate::$($path)::+::EchoResponse>>;

            async fn stream(
                &self,
                request: tonic::Request<crate::$($path)::+::StreamRequest>,
            ) -> Result<tonic::Response<Self::StreamStream>, Status> {
                let request = request.into_inner();
                let template = request.template.unwrap_or_default();
                let template = crate::$($path)::+::EchoResponse {
                    text: template.text,
                    id: template.id,
                    values: template.values,
                    sequence: 0,
                };
                Ok(tonic::Response::new(numbered(template, request.count)))
            }

            async fn collect(
                &self,
                request: tonic::Request<tonic::Streaming<crate::$($path)::+::EchoRequest>>,
            ) -> Result<tonic::Response<crate::$($path)::+::EchoResponse>, Status> {
                let mut requests = request.into_inner();
                let mut reply = crate::$($path)::+::EchoResponse::default();
                while let Some(request) = requests.message().await? {
                    reply.text = request.text;
                    reply.id += request.id;
                    reply.sequence += 1;
                }
                Ok(tonic::Response::new(reply))
            }
        }
    };
}

echo_service!(OursEcho, ours::bench::v1);
echo_service!(PlainEcho, plain::bench::v1);
