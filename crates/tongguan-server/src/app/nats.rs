//! Optional publication of the outbox to NATS JetStream (M15), behind `[nats] enabled`.
//!
//! Each message goes to `{subject_prefix}.{type}` (e.g. `tongguan.declaration.status`) with
//! the Standard Webhooks payload as body and its message id as `Nats-Msg-Id`, so JetStream
//! drops a re-publication within its duplicate window. The position is committed after the
//! acknowledgements of a page: a crash publishes the page again, never skips it.

use std::sync::Arc;
use std::time::Duration;

use tongguan_store::{Changeset, Op};

use super::App;
use crate::config::NatsConfig;

const CURSOR: &str = "nats";
const PAGE: i64 = 500;

#[derive(Debug, thiserror::Error)]
#[error("NATS: {0}")]
pub struct NatsError(String);

fn nats_err(e: impl std::fmt::Display) -> NatsError {
    NatsError(e.to_string())
}

/// Connects and makes sure the stream exists over the configured subjects.
async fn connect(cfg: &NatsConfig) -> Result<async_nats::jetstream::Context, NatsError> {
    let client = async_nats::connect(cfg.url.as_str())
        .await
        .map_err(nats_err)?;
    let js = async_nats::jetstream::new(client);
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: cfg.stream.clone(),
        subjects: vec![format!("{}.>", cfg.subject_prefix)],
        ..Default::default()
    })
    .await
    .map_err(nats_err)?;
    Ok(js)
}

impl App {
    /// Publishes the outbox after the stored position until it is empty; the number sent.
    async fn publish_pending(
        &self,
        js: &async_nats::jetstream::Context,
    ) -> Result<usize, NatsError> {
        let cfg = &self.config.nats;
        let mut cursor = self
            .store
            .outbox_cursor(CURSOR)
            .await
            .map_err(nats_err)?
            .unwrap_or(0);
        let mut sent = 0;
        loop {
            let page = self
                .store
                .outbox_after(cursor, PAGE)
                .await
                .map_err(nats_err)?;
            let Some(last) = page.last().map(|m| m.seq) else {
                return Ok(sent);
            };
            let mut acks = Vec::with_capacity(page.len());
            for m in &page {
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(
                    async_nats::header::NATS_MESSAGE_ID,
                    m.id.to_string().as_str(),
                );
                headers.insert("Tongguan-Sequence", m.seq.to_string().as_str());
                let subject = format!("{}.{}", cfg.subject_prefix, m.kind);
                let body = super::webhooks::payload(m);
                acks.push(
                    js.publish_with_headers(subject, headers, body.into())
                        .await
                        .map_err(nats_err)?,
                );
            }
            for ack in acks {
                ack.await.map_err(nats_err)?;
            }
            self.store
                .commit(Changeset {
                    ops: vec![Op::SetOutboxCursor {
                        name: CURSOR.into(),
                        seq: last,
                    }],
                    audit: Vec::new(),
                    idempotency: None,
                    urgent: false,
                })
                .await
                .map_err(nats_err)?;
            sent += page.len();
            cursor = last;
        }
    }
}

/// The publisher: (re)connects with backoff, then publishes after every commit.
pub async fn run(app: Arc<App>) {
    let mut commits = app.feed.subscribe();
    let mut backoff = Duration::from_millis(200);
    while !app.stopping.load(std::sync::atomic::Ordering::SeqCst) {
        let js = match connect(&app.config.nats).await {
            Ok(js) => js,
            Err(e) => {
                tracing::warn!(error = %e, url = %app.config.nats.url, "cannot reach NATS; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        backoff = Duration::from_millis(200);
        loop {
            if app.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            commits.borrow_and_update();
            match app.publish_pending(&js).await {
                Ok(n) => {
                    if n > 0 {
                        metrics::counter!("tongguan_nats_published_total").increment(n as u64);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "NATS publication failed; reconnecting");
                    tokio::time::sleep(backoff).await;
                    break;
                }
            }
            tokio::select! {
                r = commits.changed() => if r.is_err() { return },
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}
