//! Webhooks (M15): signed deliveries to a real HTTP receiver, retries after 500 answers,
//! the delivery log and redelivery, secret rotation, isolation between enterprises,
//! terminals' container messages, giving up and re-enabling, and SSRF refusals.

use std::collections::BTreeSet;

use tongguan_client::{
    Client, NewDeclaration, NewSubscription, SubscriptionFilter, TerminalEventInput,
    TerminalEventKind,
};
use tongguan_domain::codes::Direction;
use tongguan_domain::lifecycle::Status;

use tongguan_testkit::receiver::{Receiver, valid_signatures};
use tongguan_testkit::{Db, TestApp, on_both_databases, test_config};

use crate::clearance::{CONTAINER, arrival, content, manifest, submit, world, world_on};

on_both_databases! {
    webhook_delivery => delivery_scenario,
    webhook_gives_up => gives_up_scenario,
}

fn hook(url: &str) -> NewSubscription {
    NewSubscription {
        url: url.into(),
        secret: None,
        filter: SubscriptionFilter::default(),
        terminal: None,
        description: "test receiver".into(),
    }
}

/// A delivery once its last attempt is recorded (at most 10 s).
async fn settled(c: &Client, sub: uuid::Uuid, delivery: uuid::Uuid) -> tongguan_client::Delivery {
    for _ in 0..100 {
        let d = c.delivery(sub, delivery).await.expect("delivery");
        if d.status != "pending" {
            return d;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("delivery {delivery} still pending after 10 s");
}

async fn draft(c: &Client, uscc: &str, bill: &str) -> uuid::Uuid {
    c.create_declaration(&NewDeclaration {
        owner_id: None,
        content: content(uscc, bill, &[], Direction::Import),
        submit: false,
    })
    .await
    .expect("draft")
    .declaration
    .id
}

/// Everything an enterprise's declaration goes through reaches its endpoint once (after
/// de-duplication by webhook-id), signed, retried after 500s; nothing reaches another
/// enterprise; terminals learn of released containers and their gate decisions.
async fn delivery_scenario(db: Db) {
    let w = world(db, "routine").await;
    let b = w.t.enterprise("Other Importer", 102, "routine", &[]).await;
    let ub =
        w.t.user("clerk.b", "enterprise_user", Some(b.id), None, &[])
            .await;
    let ra = Receiver::start().await;
    let rb = Receiver::start().await;
    let rt = Receiver::start().await;
    ra.fail_first(2);

    // Loopback is refused until an admin allows it.
    let err = w
        .importer
        .create_subscription(&hook(&ra.url))
        .await
        .expect_err("loopback refused");
    assert_eq!(err.status(), Some(422));
    assert_eq!(err.rules(), ["webhook.url.forbidden_address"]);
    w.t.admin()
        .set_network("127.0.0.1/32", "test receivers on this machine", true)
        .await
        .expect("allow loopback");

    let sa = w
        .importer
        .create_subscription(&hook(&ra.url))
        .await
        .expect("subscribe A");
    let secret = sa.secret.clone().expect("secret shown at creation");
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(sa.status, "active");
    let sb = ub
        .create_subscription(&hook(&rb.url))
        .await
        .expect("subscribe B");
    let st = w
        .terminal
        .create_subscription(&hook(&rt.url))
        .await
        .expect("subscribe terminal");
    assert_eq!(st.terminal.as_deref(), Some("CNYTN-YICT"));

    manifest(&w.importer, "COSU6200000001", &[CONTAINER]).await;
    let d = w
        .importer
        .create_declaration(&submit(content(
            &w.uscc,
            "COSU6200000001",
            &[CONTAINER],
            Direction::Import,
        )))
        .await
        .expect("declare");
    w.terminal
        .report_arrival(&arrival(Some("COSU6200000001"), &[]))
        .await
        .expect("arrival");
    let id = d.declaration.id.to_string();
    let events = w
        .importer
        .declaration_events(d.declaration.id)
        .await
        .expect("events");
    let mine = |r: &tongguan_testkit::receiver::Received| {
        r.answered < 300
            && r.kind() == "declaration.status"
            && r.json["data"]["declaration_id"] == id.as_str()
    };
    ra.wait_until(20, |rs| {
        rs.iter()
            .filter(|r| mine(r))
            .map(|r| r.webhook_id.clone())
            .collect::<BTreeSet<_>>()
            .len()
            == events.len()
    })
    .await;

    // Every request verifies with the secret; every message was answered 500 twice first.
    let all = ra.received();
    assert!(all.iter().all(|r| valid_signatures(&secret, r) == 1));
    let accepted = ra.accepted();
    for mid in accepted.keys() {
        let tries: Vec<u16> = all
            .iter()
            .filter(|r| &r.webhook_id == mid)
            .map(|r| r.answered)
            .collect();
        assert_eq!(tries, [500, 500, 204], "message {mid}");
    }
    // Each status change of the declaration arrived once (webhooks do not promise order).
    let mut got: Vec<String> = accepted
        .values()
        .filter(|r| mine(r))
        .map(|r| {
            r.json["data"]["to"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    got.sort();
    let mut want: Vec<String> = events.iter().map(|e| e.to.as_str().to_string()).collect();
    want.sort();
    assert_eq!(got, want);
    assert!(
        accepted.values().any(|r| r.kind() == "manifest.filed"),
        "the manifest filed is announced too"
    );

    // The delivery log shows the three attempts; redelivery sends the same webhook-id.
    // (The receiver answers before the server records the answer: wait for the record.)
    let log = w.importer.deliveries(sa.id, None).await.expect("log");
    let first = log.last().expect("a delivery");
    let one = settled(&w.importer, sa.id, first.id).await;
    assert_eq!(one.status, "delivered");
    assert_eq!(
        one.log.iter().map(|a| a.status_code).collect::<Vec<_>>(),
        [Some(500), Some(500), Some(204)]
    );
    let mid = one.message_id.to_string();
    w.importer
        .redeliver(sa.id, first.id)
        .await
        .expect("redeliver");
    ra.wait_until(10, |rs| {
        rs.iter().filter(|r| r.webhook_id == mid).count() == 4
    })
    .await;

    // The terminal heard of the released container and of its gate decision, nothing else.
    w.terminal
        .terminal_event(&TerminalEventInput {
            terminal: "CNYTN-YICT".into(),
            container_no: CONTAINER.into(),
            kind: TerminalEventKind::GateOut,
        })
        .await
        .expect("gate out");
    let got = rt
        .wait_until(10, |rs| rs.iter().any(|r| r.kind() == "gate.decision"))
        .await;
    let kinds: BTreeSet<&str> = got.iter().map(|r| r.kind()).collect();
    assert_eq!(
        kinds,
        ["arrival.reported", "container.status", "gate.decision"].into()
    );
    let released = got
        .iter()
        .find(|r| r.kind() == "container.status")
        .expect("container message");
    assert_eq!(released.json["data"]["status"], "released");
    assert_eq!(released.json["data"]["containers"][0], CONTAINER);
    let st_secret = st.secret.clone().expect("terminal secret");
    assert!(got.iter().all(|r| valid_signatures(&st_secret, r) == 1));

    // B heard nothing of A; B's own draft reaches B.
    let b_draft = draft(&ub, b.uscc.as_str(), "COSU6200000002").await;
    let got = rb
        .wait_until(10, |rs| {
            rs.iter()
                .any(|r| r.json["data"]["declaration_id"] == b_draft.to_string().as_str())
        })
        .await;
    assert!(
        got.iter().all(
            |r| r.json["data"]["declaration_id"] != id.as_str() && r.kind() != "manifest.filed"
        ),
        "another enterprise's message reached B"
    );
    assert_eq!(
        ub.subscription(sa.id).await.err().and_then(|e| e.status()),
        Some(404)
    );
    assert_eq!(
        ub.deliveries(sa.id, None)
            .await
            .err()
            .and_then(|e| e.status()),
        Some(404)
    );
    assert_eq!(sb.enterprise_id, Some(b.id));

    // Rotation: for a while both secrets sign.
    let rotated = w.importer.rotate_secret(sa.id, None).await.expect("rotate");
    let new_secret = rotated.secret.clone().expect("new secret");
    assert_ne!(new_secret, secret);
    assert_eq!(rotated.previous_secrets_expire.len(), 1);
    let a_draft = draft(&w.importer, &w.uscc, "COSU6200000003").await;
    let got = ra
        .wait_until(10, |rs| {
            rs.iter().any(|r| {
                r.answered < 300 && r.json["data"]["declaration_id"] == a_draft.to_string().as_str()
            })
        })
        .await;
    let r = got
        .iter()
        .rfind(|r| r.json["data"]["declaration_id"] == a_draft.to_string().as_str())
        .expect("draft message");
    assert_eq!(valid_signatures(&secret, r), 1, "old secret still signs");
    assert_eq!(valid_signatures(&new_secret, r), 1, "new secret signs");
    assert_eq!(d.declaration.status, Status::AwaitingArrival);
}

/// An endpoint that keeps failing is given up and disabled; its owner re-enables it and
/// recovers what failed, including messages written while it was disabled.
async fn gives_up_scenario(db: Db) {
    let mut config = test_config();
    config.webhooks.give_up_after_ms = 400;
    let w = world_on(TestApp::spawn_with(db, config).await, "routine").await;
    w.t.admin()
        .set_network("127.0.0.0/8", "test receivers", true)
        .await
        .expect("allow");
    let r = Receiver::start().await;
    r.fail_all(true);
    let mut sub = hook(&r.url);
    sub.filter.event_types = vec!["declaration.status".into()];
    let s = w
        .importer
        .create_subscription(&sub)
        .await
        .expect("subscribe");
    let since = chrono::Utc::now();
    let first = draft(&w.importer, &w.uscc, "COSU6300000001").await;

    let mut disabled = None;
    for _ in 0..100 {
        let now = w.importer.subscription(s.id).await.expect("read");
        if now.status == "disabled" {
            disabled = Some(now);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let disabled = disabled.expect("disabled after persistent failure");
    assert!(
        disabled
            .disabled_reason
            .as_deref()
            .unwrap_or_default()
            .contains("failed"),
        "{disabled:?}"
    );
    let failed = w
        .importer
        .deliveries(s.id, Some("failed"))
        .await
        .expect("failed");
    assert_eq!(failed.len(), 1);
    assert!(failed[0].attempts >= 2, "{:?}", failed[0]);

    // Written while disabled: kept as failed, not sent.
    let second = draft(&w.importer, &w.uscc, "COSU6300000002").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let tried = r.received().len();

    r.fail_all(false);
    w.importer
        .set_subscription_active(s.id, true, "receiver fixed")
        .await
        .expect("re-enable");
    let recovered = w.importer.recover(s.id, since).await.expect("recover");
    assert_eq!(recovered.scheduled, 2);
    let got = r
        .wait_until(10, |rs| {
            let ok: BTreeSet<String> = rs
                .iter()
                .filter(|x| x.answered < 300)
                .map(|x| {
                    x.json["data"]["declaration_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                })
                .collect();
            ok.contains(&first.to_string()) && ok.contains(&second.to_string())
        })
        .await;
    assert!(got.len() > tried);
    for d in w.importer.deliveries(s.id, None).await.expect("log") {
        assert_eq!(settled(&w.importer, s.id, d.id).await.status, "delivered");
    }
}

/// Webhook URLs that reach loopback, private, link-local or reserved addresses are refused
/// unless an admin allows the network; only admins may allow; bad URLs are named.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_ssrf_refusals() {
    let w = world(Db::Sqlite, "routine").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://172.16.0.1/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ] {
        let err = w
            .importer
            .create_subscription(&hook(url))
            .await
            .expect_err(url);
        assert_eq!(err.rules(), ["webhook.url.forbidden_address"], "{url}");
    }
    for (url, rule) in [
        ("ftp://example.com/hook", "webhook.url.scheme"),
        ("not a url", "webhook.url.syntax"),
        ("http://user:pw@203.0.113.1/hook", "webhook.url.credentials"),
    ] {
        let err = w
            .importer
            .create_subscription(&hook(url))
            .await
            .expect_err(url);
        assert_eq!(err.rules(), [rule], "{url}");
    }
    let mut bad = hook("http://127.0.0.1:9/hook");
    bad.secret = Some("secret".into());
    bad.filter.container_no = Some("CSQU3054384".into());
    bad.filter.event_types = vec!["everything".into()];
    let err = w.importer.create_subscription(&bad).await.expect_err("bad");
    let paths: BTreeSet<String> = err
        .problem()
        .map(|p| p.violations.iter().map(|v| v.path.clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        paths,
        ["filter.container_no", "filter.event_types[0]"]
            .map(String::from)
            .into(),
        "filter errors are named together"
    );

    // Only admins allow networks; officers do not subscribe.
    let err = w
        .importer
        .set_network("127.0.0.1/32", "mine", true)
        .await
        .expect_err("not admin");
    assert_eq!(err.status(), Some(403));
    let err = w
        .officer
        .create_subscription(&hook("http://127.0.0.1:9/hook"))
        .await
        .expect_err("officer");
    assert_eq!(err.status(), Some(403));
    let err =
        w.t.admin()
            .set_network("127.0.0.1/33", "bad", true)
            .await
            .expect_err("bad cidr");
    assert_eq!(err.rules(), ["network.cidr"]);

    let admin = w.t.admin();
    admin
        .set_network("127.0.0.1", "this machine only", true)
        .await
        .expect("allow");
    assert_eq!(
        admin.allowed_networks().await.expect("list")[0].cidr,
        "127.0.0.1/32"
    );
    w.importer
        .create_subscription(&hook("http://127.0.0.1:9/hook"))
        .await
        .expect("allowed now");
    let err = w
        .importer
        .create_subscription(&hook("http://127.0.0.2:9/hook"))
        .await
        .expect_err("outside the allowance");
    assert_eq!(err.rules(), ["webhook.url.forbidden_address"]);
    admin
        .set_network("127.0.0.1/32", "done testing", false)
        .await
        .expect("withdraw");
    let err = w
        .importer
        .create_subscription(&hook("http://127.0.0.1:9/hook"))
        .await
        .expect_err("withdrawn");
    assert_eq!(err.rules(), ["webhook.url.forbidden_address"]);
}
