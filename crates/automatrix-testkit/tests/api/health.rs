//! Health probes.

use automatrix_testkit::{Backend, both_backends};
use reqwest::Method;

both_backends! {
    async fn the_probes_report_a_healthy_service(app) {
        let health = app.request(Method::GET, "/health", None, None).await;
        assert_eq!(health.status, 200);
        assert_eq!(health.body["status"], "ok");
        assert_eq!(health.body["database_ok"], true);
        let expected = if app.backend == Backend::Sqlite { "sqlite" } else { "postgres" };
        assert_eq!(health.body["database"], expected);
        assert_eq!(app.request(Method::GET, "/health/live", None, None).await.status, 200);
        assert_eq!(app.request(Method::GET, "/health/ready", None, None).await.status, 200);
    }
}
