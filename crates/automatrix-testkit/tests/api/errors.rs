//! Bad input always gets a 4xx in the one error shape.

use automatrix_testkit::both_backends;
use reqwest::Method;

both_backends! {
    async fn malformed_json_is_a_bad_request(app) {
        let s = app.signup().await;
        app.raw(Method::POST, "/api/workflows", Some(&s.access_token), "application/json", "{\"name\": ").await.assert_error(400, "BAD_REQUEST");
        app.raw(Method::POST, "/api/auth/login", None, "application/json", "not json").await.assert_error(400, "BAD_REQUEST");
    }

    async fn a_wrongly_typed_body_is_a_validation_error(app) {
        let s = app.signup().await;
        let res = app.raw(Method::POST, "/api/workflows", Some(&s.access_token), "application/json", r#"{"name": 5, "definition": {}}"#).await;
        res.assert_error(422, "VALIDATION_ERROR");
    }

    async fn a_body_that_is_not_json_is_an_unsupported_media_type(app) {
        let s = app.signup().await;
        app.raw(Method::POST, "/api/workflows", Some(&s.access_token), "text/plain", "hello").await.assert_error(415, "UNSUPPORTED_MEDIA_TYPE");
    }

    async fn an_oversized_body_is_rejected(app) {
        let s = app.signup().await;
        let big = format!(r#"{{"name": "x", "description": "{}", "definition": {{}}}}"#, "a".repeat(3 * 1024 * 1024));
        app.raw(Method::POST, "/api/workflows", Some(&s.access_token), "application/json", big).await.assert_error(413, "PAYLOAD_TOO_LARGE");
    }

    async fn unknown_routes_and_wrong_methods_use_the_error_shape(app) {
        app.request(Method::GET, "/api/nothing-here", None, None).await.assert_error(404, "NOT_FOUND");
        app.request(Method::PATCH, "/api/auth/login", None, None).await.assert_error(405, "METHOD_NOT_ALLOWED");
    }

    async fn every_response_carries_a_request_id(app) {
        let res = app.request(Method::GET, "/health/live", None, None).await;
        assert!(res.headers.contains_key("x-request-id"));
    }
}
