//! The OpenAPI document lists every route with its methods, and `/docs` works offline.

use std::collections::BTreeSet;

use automatrix_testkit::{TestApp, both_backends};
use reqwest::Method;

/// Every route the API serves. Adding a route means adding it here; a route missing from the
/// OpenAPI document (or documented but not listed) fails the test.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/refresh"),
    ("post", "/api/auth/logout"),
    ("get", "/api/auth/me"),
    ("post", "/api/auth/change-password"),
    ("get", "/api/auth/sso/login"),
    ("get", "/api/auth/sso/callback"),
    ("get", "/api/orgs"),
    ("post", "/api/orgs"),
    ("get", "/api/orgs/{id}"),
    ("put", "/api/orgs/{id}"),
    ("post", "/api/orgs/{id}/leave"),
    ("get", "/api/orgs/{id}/sso"),
    ("put", "/api/orgs/{id}/sso"),
    ("get", "/api/orgs/{id}/members"),
    ("post", "/api/orgs/{id}/members"),
    ("put", "/api/orgs/{id}/members/{user_id}"),
    ("delete", "/api/orgs/{id}/members/{user_id}"),
    ("get", "/api/orgs/{id}/invitations"),
    ("post", "/api/orgs/{id}/invitations"),
    ("delete", "/api/orgs/{id}/invitations/{invitation_id}"),
    ("post", "/api/invitations/{token}/accept"),
    ("get", "/api/audit-log"),
    ("post", "/api/auth/mfa/setup"),
    ("post", "/api/auth/mfa/enable"),
    ("post", "/api/auth/mfa/verify"),
    ("post", "/api/auth/mfa/disable"),
    ("get", "/api/auth/sessions"),
    ("delete", "/api/auth/sessions/{id}"),
    ("get", "/api/workflows"),
    ("post", "/api/workflows"),
    ("get", "/api/workflows/{id}"),
    ("put", "/api/workflows/{id}"),
    ("delete", "/api/workflows/{id}"),
    ("post", "/api/workflows/{id}/execute"),
    ("get", "/api/workflows/{id}/executions"),
    ("get", "/api/workflows/{id}/versions"),
    ("get", "/api/workflows/{id}/versions/{version}"),
    ("get", "/api/workflows/{id}/versions/{version}/diff"),
    ("post", "/api/workflows/{id}/versions/{version}/restore"),
    ("get", "/api/workflows/{id}/export"),
    ("post", "/api/workflows/import"),
    ("post", "/api/workflows/validate"),
    ("get", "/api/executions"),
    ("get", "/api/executions/{id}"),
    ("get", "/api/executions/{id}/logs"),
    ("post", "/api/executions/{id}/cancel"),
    ("post", "/api/executions/{id}/retry"),
    ("post", "/api/executions/{id}/steps/{node_id}/approve"),
    ("post", "/api/executions/{id}/steps/{node_id}/reject"),
    ("get", "/api/metrics/summary"),
    ("get", "/api/credentials"),
    ("post", "/api/credentials"),
    ("get", "/api/credentials/{id}"),
    ("put", "/api/credentials/{id}"),
    ("delete", "/api/credentials/{id}"),
    ("get", "/api/credential-types"),
    ("get", "/api/api-keys"),
    ("post", "/api/api-keys"),
    ("delete", "/api/api-keys/{id}"),
    ("get", "/api/ai/routes"),
    ("get", "/api/ai/routes/{alias}"),
    ("put", "/api/ai/routes/{alias}"),
    ("delete", "/api/ai/routes/{alias}"),
    ("get", "/api/ai/usage"),
    ("get", "/api/ai/budget"),
    ("put", "/api/ai/budget"),
    ("post", "/api/ai/v1/chat/completions"),
    ("get", "/api/templates"),
    ("post", "/api/templates"),
    ("get", "/api/templates/{id}"),
    ("put", "/api/templates/{id}"),
    ("delete", "/api/templates/{id}"),
    ("post", "/api/templates/{id}/instantiate"),
    ("get", "/api/node-types"),
    ("post", "/api/auth/ws-ticket"),
    ("get", "/ws/executions/{id}"),
    ("get", "/ws/workflows/{id}/status"),
    ("get", "/ws/notifications"),
    ("get", "/ws/metrics"),
    ("get", "/health"),
    ("get", "/health/live"),
    ("get", "/health/ready"),
    ("get", "/metrics"),
    ("get", "/hooks/{token}"),
    ("post", "/hooks/{token}"),
    ("put", "/hooks/{token}"),
    ("patch", "/hooks/{token}"),
    ("delete", "/hooks/{token}"),
];

async fn documented(app: &TestApp) -> BTreeSet<(String, String)> {
    let doc = app
        .request(Method::GET, "/api/openapi.json", None, None)
        .await;
    assert_eq!(doc.status, 200);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut out = BTreeSet::new();
    for (path, item) in doc.body["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

both_backends! {
    async fn every_route_is_in_the_openapi_document(app) {
        let expected: BTreeSet<(String, String)> = ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
        assert_eq!(documented(&app).await, expected);
    }

    async fn every_listed_route_is_served(app) {
        for (method, path) in ROUTES {
            let concrete = path.replace("{id}", &uuid::Uuid::now_v7().to_string()).replace("{version}", "1").replace("{node_id}", "n").replace("{token}", "no-such-token").replace("{alias}", "no-such-route").replace("{user_id}", &uuid::Uuid::now_v7().to_string()).replace("{invitation_id}", &uuid::Uuid::now_v7().to_string());
            let res = app.request(method.to_uppercase().parse().unwrap(), &concrete, None, None).await;
            assert_ne!(res.status, 405, "{method} {path} is documented but not routed");
            if res.status == 404 && res.code() != "NOT_CONFIGURED" {
                assert!(!concrete.starts_with("/api/auth"), "{method} {path} is not routed");
            }
        }
    }

    async fn the_document_describes_the_error_shape_and_bearer_auth(app) {
        let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.body;
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        assert!(doc["components"]["schemas"]["Problem"].is_object());
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    }

    async fn the_interactive_docs_are_served_without_a_cdn(app) {
        let page = app.http.get(app.url("/docs/")).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("swagger"), "{html}");
        for cdn in ["unpkg.com", "jsdelivr", "cdnjs", "googleapis"] {
            assert!(!html.contains(cdn), "docs page references {cdn}");
        }
        let init = app.http.get(app.url("/docs/swagger-initializer.js")).send().await.unwrap();
        assert_eq!(init.status(), 200);
        assert!(init.text().await.unwrap().contains("/api/openapi.json"));
    }
}
