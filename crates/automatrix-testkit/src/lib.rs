//! Test-only support: [`TestApp`] runs the real HTTP server on port 0 against a fresh SQLite
//! file or a fresh PostgreSQL database, with a worker the test drives by hand
//! ([`TestApp::run_jobs`]) instead of sleeping; typed request helpers; a local mock HTTP server
//! and a local SMTP server ([`SmtpSink`]); local AI providers ([`AiStandIn`]: OpenAI and
//! Anthropic wire formats); a PostgreSQL server of a test's own to stop and start
//! ([`PrivateCluster`]).

pub mod ai;
mod app;
mod client;
mod mock;
pub mod oidc;
mod pg_cluster;
mod smtp;
mod ws;

pub use ai::{AiStandIn, RecordedRequest, Reply};
pub use app::{Backend, TEST_SECRET, TestApp, test_gateway_config};
pub use client::{Res, Session};
pub use mock::MockServer;
pub use oidc::{Fault, IdpUser, OidcStandIn};
pub use pg_cluster::PrivateCluster;
pub use smtp::{ReceivedMail, SmtpSink, SmtpSinkBuilder};
pub use ws::{WS_BOUND, WsClient, WsEnd, WsRefused};

/// Declares each test once and runs it against SQLite and against PostgreSQL. The PostgreSQL
/// variant returns early (and says so) when `AUTOMATRIX_TEST_POSTGRES_URL` is unset.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let Some($app) = $crate::TestApp::spawn($crate::Backend::Sqlite).await else { return };
                    $body
                    $app.stop().await;
                }
            )*
        }
        mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let Some($app) = $crate::TestApp::spawn($crate::Backend::Postgres).await else { return };
                    $body
                    $app.stop().await;
                }
            )*
        }
    };
}
