//! Users, password login, sessions and API tokens.

use tongguan_client::{NewToken, NewUser};
use tongguan_testkit::{Db, TestApp, on_both_databases};

async fn tokens_and_sessions(db: Db) {
    let t = TestApp::spawn(db).await;
    let e = t.enterprise("Token Co", 61, "routine", &[]).await;
    let session = t
        .user("clerk.t", "enterprise_user", Some(e.id), None, &[])
        .await;
    assert_eq!(session.me().await.expect("me").username, "clerk.t");

    // Wrong password: 401, no session.
    assert_eq!(
        t.client
            .login("clerk.t", "not-the-password")
            .await
            .expect_err("bad login")
            .status(),
        Some(401)
    );
    assert_eq!(
        t.client
            .login("nobody", "whatever-pw")
            .await
            .expect_err("no user")
            .status(),
        Some(401)
    );

    // An API token is shown once; a replay of the call does not reveal it again.
    let keyed = session.keyed("token-1");
    let created = keyed
        .create_token(&NewToken {
            name: "ERP integration".into(),
            expires_in_days: Some(90),
        })
        .await
        .expect("token");
    let secret = created.secret.clone().expect("secret shown once");
    let replay = keyed
        .create_token(&NewToken {
            name: "ERP integration".into(),
            expires_in_days: Some(90),
        })
        .await
        .expect("replay");
    assert_eq!(replay.credential.id, created.credential.id);
    assert_eq!(replay.secret, None);

    let erp = t.client.with_token(&secret);
    assert_eq!(erp.me().await.expect("token works").username, "clerk.t");
    let listed = session.tokens().await.expect("tokens");
    assert!(
        listed
            .iter()
            .any(|c| c.id == created.credential.id && c.kind == "api_token")
    );

    // Revoked: the token stops working at once.
    session
        .revoke_token(created.credential.id)
        .await
        .expect("revoke");
    assert_eq!(erp.me().await.expect_err("revoked").status(), Some(401));

    // Logout ends the session.
    session.logout().await.expect("logout");
    assert_eq!(
        session.me().await.expect_err("logged out").status(),
        Some(401)
    );

    // A user cannot revoke another user's token.
    let other = t
        .user("clerk.u", "enterprise_user", Some(e.id), None, &[])
        .await;
    let theirs = other
        .create_token(&NewToken {
            name: "theirs".into(),
            expires_in_days: None,
        })
        .await
        .expect("token");
    let third = t
        .user("clerk.v", "enterprise_user", Some(e.id), None, &[])
        .await;
    assert_eq!(
        third
            .revoke_token(theirs.credential.id)
            .await
            .expect_err("not yours")
            .status(),
        Some(404)
    );
}

async fn user_bindings_are_checked(db: Db) {
    let t = TestApp::spawn(db).await;
    let admin = t.admin();
    let bad = NewUser {
        username: "Bad Name".into(),
        display_name: "".into(),
        password: "short".into(),
        role: "officer".into(),
        enterprise_id: None,
        district: Some("9999".into()),
        terminals: vec!["XXNOPE-T1".into()],
    };
    let err = admin.create_user(&bad).await.expect_err("bad user");
    assert_eq!(err.status(), Some(422));
    let rules = err.rules();
    for r in [
        "username.format",
        "text.required",
        "password.too_short",
        "customs_district.unknown",
        "terminal.unknown_port",
        "user.district_binding",
        "user.terminal_binding",
    ] {
        assert!(rules.iter().any(|x| x == r), "missing {r} in {rules:?}");
    }
    assert!(
        admin
            .users()
            .await
            .expect("users")
            .iter()
            .all(|u| u.username != "Bad Name")
    );

    let ok = admin
        .create_user(&NewUser {
            username: "officer.5301".into(),
            display_name: "Huanggang officer".into(),
            password: "long-enough-password".into(),
            role: "officer".into(),
            enterprise_id: None,
            district: Some("5301".into()),
            terminals: vec![],
        })
        .await
        .expect("officer");
    assert_eq!(ok.district.as_deref(), Some("5301"));
    let dup = admin
        .create_user(&NewUser {
            username: "officer.5301".into(),
            display_name: "again".into(),
            password: "long-enough-password".into(),
            role: "admin".into(),
            enterprise_id: None,
            district: None,
            terminals: vec![],
        })
        .await
        .expect_err("duplicate username");
    assert_eq!(dup.rules(), vec!["username.unique"]);
}

/// The web sign-in form posted from another site's page is refused and sets no session
/// (login CSRF); from this site's own page it signs in.
async fn sign_in_from_another_site(db: Db) {
    let t = TestApp::spawn(db).await;
    let e = t.enterprise("Form Co", 62, "routine", &[]).await;
    t.user("clerk.f", "enterprise_user", Some(e.id), None, &[])
        .await;
    let addr = t.base.trim_start_matches("http://").to_string();
    let post = |extra: String| {
        let t = &t;
        async move {
            t.raw_http(
                &format!(
                    "POST /login HTTP/1.1\r\n{extra}Content-Type: application/x-www-form-urlencoded\r\n"
                ),
                "username=clerk.f&password=clerk.f-password",
            )
            .await
        }
    };
    let sets_session = |out: &str| out.to_ascii_lowercase().contains("set-cookie:");

    for foreign in [
        "Origin: https://evil.example\r\n".to_string(),
        "Origin: null\r\n".to_string(),
        format!("Origin: http://{addr}\r\nSec-Fetch-Site: cross-site\r\n"),
    ] {
        let (status, out) = post(foreign.clone()).await;
        assert_eq!(status, 403, "{foreign}: {out}");
        assert!(!sets_session(&out), "{foreign}: {out}");
        assert!(out.contains("another site"), "{out}");
    }
    for own in [
        format!("Origin: http://{addr}\r\nSec-Fetch-Site: same-origin\r\n"),
        String::new(),
    ] {
        let (status, out) = post(own.clone()).await;
        assert_eq!(status, 303, "{own}: {out}");
        assert!(sets_session(&out), "{own}: {out}");
    }
}

on_both_databases! {
    tokens_sessions_and_revocation => tokens_and_sessions,
    user_roles_need_their_bindings => user_bindings_are_checked,
    the_sign_in_form_is_refused_from_another_site => sign_in_from_another_site,
}
