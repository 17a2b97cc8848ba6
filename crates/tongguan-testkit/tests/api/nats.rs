//! Publication of the outbox to NATS JetStream (M15), tested when
//! `TONGGUAN_TEST_NATS_URL` is set (CI sets it; the machine runs NATS on 127.0.0.1:4222).

use tongguan_client::NewDeclaration;
use tongguan_domain::codes::Direction;
use tongguan_testkit::{Db, TestApp, test_config};

use crate::clearance::{content, world_on};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_events_are_published_to_jetstream() {
    let Some(url) = std::env::var("TONGGUAN_TEST_NATS_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        eprintln!("TONGGUAN_TEST_NATS_URL not set: NATS publication not tested");
        return;
    };
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut config = test_config();
    config.nats.enabled = true;
    config.nats.url = url.clone();
    config.nats.stream = format!("TGTEST_{tag}");
    config.nats.subject_prefix = format!("tgtest.{tag}");
    let w = world_on(TestApp::spawn_with(Db::Sqlite, config).await, "routine").await;
    let d = w
        .importer
        .create_declaration(&NewDeclaration {
            owner_id: None,
            content: content(&w.uscc, "COSU6400000001", &[], Direction::Import),
            submit: false,
        })
        .await
        .expect("draft");

    let js = async_nats::jetstream::new(async_nats::connect(url.as_str()).await.expect("connect"));
    let subject = format!("tgtest.{tag}.declaration.status");
    let mut found = None;
    for _ in 0..100 {
        if let Ok(stream) = js.get_stream(format!("TGTEST_{tag}")).await
            && let Ok(m) = stream.get_last_raw_message_by_subject(&subject).await
        {
            found = Some(m);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let m = found.expect("the draft's status event on JetStream within 10 s");
    let body: serde_json::Value = serde_json::from_slice(&m.payload).expect("json");
    assert_eq!(body["type"], "declaration.status");
    assert_eq!(body["data"]["declaration_id"], d.declaration.id.to_string());
    assert_eq!(body["data"]["to"], "draft");
    let msg_id = m
        .headers
        .get(async_nats::header::NATS_MESSAGE_ID)
        .map(|v| v.to_string())
        .unwrap_or_default();
    assert_eq!(
        msg_id.len(),
        36,
        "Nats-Msg-Id is the outbox message id: {msg_id}"
    );
    let _ = js.delete_stream(format!("TGTEST_{tag}")).await;
}
