//! Sessions over HTTP: each login is a session (a refresh-token family) the user can list,
//! tell apart from the current one, and end.

use automatrix_testkit::{Res, TestApp, both_backends};
use reqwest::Method;
use serde_json::{Value, json};

async fn post_anon(app: &TestApp, path: &str, body: Value) -> Res {
    app.request(Method::POST, path, None, Some(&body)).await
}

fn ids(res: &Res) -> Vec<String> {
    res.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

fn current(res: &Res) -> Vec<bool> {
    res.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["current"].as_bool().unwrap())
        .collect()
}

both_backends! {
    async fn a_login_is_a_session_listed_with_the_current_one_marked(app) {
        let s = app.signup().await;
        let list = app.get("/api/auth/sessions", &s.access_token).await;
        assert_eq!(list.status, 200, "{}", list.body);
        assert_eq!(ids(&list).len(), 1);
        assert_eq!(current(&list), vec![true]);
        let item = &list.body["items"][0];
        for field in ["created_at", "refreshed_at", "expires_at"] {
            assert!(item[field].is_string(), "{field}: {item}");
        }

        let second = post_anon(&app, "/api/auth/login", json!({"email": s.email, "password": s.password})).await;
        let second_access = second.body["access_token"].as_str().unwrap().to_owned();
        let list = app.get("/api/auth/sessions", &s.access_token).await;
        let first_id = ids(&list)[1].clone();
        assert_eq!(ids(&list).len(), 2);
        assert_eq!(current(&list), vec![false, true], "newest login first; the caller's is the first login");
        assert_eq!(current(&app.get("/api/auth/sessions", &second_access).await), vec![true, false]);

        // A refresh keeps the session (same id) and the new access token names it.
        let refreshed = post_anon(&app, "/api/auth/refresh", json!({"refresh_token": s.refresh_token})).await;
        let access = refreshed.body["access_token"].as_str().unwrap();
        let list = app.get("/api/auth/sessions", access).await;
        assert_eq!(ids(&list)[1], first_id);
        assert_eq!(current(&list), vec![false, true]);

        let other_user = app.signup().await;
        assert_eq!(ids(&app.get("/api/auth/sessions", &other_user.access_token).await).len(), 1, "only the caller's sessions");
        app.request(Method::GET, "/api/auth/sessions", None, None).await.assert_error(401, "UNAUTHORIZED");
    }

    async fn a_session_is_ended_by_its_user_only(app) {
        let s = app.signup().await;
        let second = post_anon(&app, "/api/auth/login", json!({"email": s.email, "password": s.password})).await;
        let list = app.get("/api/auth/sessions", &s.access_token).await;
        let second_id = ids(&list)[0].clone();

        let other_user = app.signup().await;
        app.delete(&format!("/api/auth/sessions/{second_id}"), &other_user.access_token).await.assert_error(404, "NOT_FOUND");
        app.delete(&format!("/api/auth/sessions/{}", uuid::Uuid::now_v7()), &s.access_token).await.assert_error(404, "NOT_FOUND");
        app.delete("/api/auth/sessions/not-a-uuid", &s.access_token).await.assert_error(404, "NOT_FOUND");

        let res = app.delete(&format!("/api/auth/sessions/{second_id}"), &s.access_token).await;
        assert_eq!(res.status, 204, "{}", res.body);
        post_anon(&app, "/api/auth/refresh", json!({"refresh_token": second.body["refresh_token"]})).await.assert_error(401, "UNAUTHORIZED");
        assert_eq!(ids(&app.get("/api/auth/sessions", &s.access_token).await).len(), 1);
        app.delete(&format!("/api/auth/sessions/{second_id}"), &s.access_token).await.assert_error(404, "NOT_FOUND");
        assert_eq!(post_anon(&app, "/api/auth/refresh", json!({"refresh_token": s.refresh_token})).await.status, 200, "the caller's session stays");
    }

    async fn changing_the_password_keeps_only_the_callers_session(app) {
        let s = app.signup().await;
        let b = post_anon(&app, "/api/auth/login", json!({"email": s.email, "password": s.password})).await;
        let c = post_anon(&app, "/api/auth/login", json!({"email": s.email, "password": s.password})).await;
        let b_access = b.body["access_token"].as_str().unwrap();
        let res = app.post("/api/auth/change-password", b_access, &json!({"current_password": s.password, "new_password": "another good one"})).await;
        assert_eq!(res.status, 204, "{}", res.body);
        let list = app.get("/api/auth/sessions", b_access).await;
        assert_eq!(current(&list), vec![true], "only the caller's session is left");
        for gone in [s.refresh_token.as_str(), c.body["refresh_token"].as_str().unwrap()] {
            post_anon(&app, "/api/auth/refresh", json!({"refresh_token": gone})).await.assert_error(401, "UNAUTHORIZED");
        }
        assert_eq!(post_anon(&app, "/api/auth/refresh", json!({"refresh_token": b.body["refresh_token"]})).await.status, 200);
    }
}
