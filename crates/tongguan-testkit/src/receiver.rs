//! A real HTTP webhook receiver for tests: records every request with its Standard
//! Webhooks headers, answers 500 when told to, and checks signatures independently of the
//! server's code.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub webhook_id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub json: serde_json::Value,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    /// The message type (`declaration.status`, …).
    pub fn kind(&self) -> &str {
        self.json["type"].as_str().unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    log: Mutex<Vec<Received>>,
    seen: Mutex<HashMap<String, usize>>,
    fail_first: AtomicUsize,
    fail_all: AtomicBool,
    delay_ms: AtomicU64,
    changed: tokio::sync::Notify,
}

/// A receiver listening on 127.0.0.1 until dropped.
pub struct Receiver {
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let delay = inner.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let id = h("webhook-id");
    let attempt = {
        let mut seen = inner.seen.lock().unwrap_or_else(|p| p.into_inner());
        let n = seen.entry(id.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let fail =
        inner.fail_all.load(Ordering::SeqCst) || attempt <= inner.fail_first.load(Ordering::SeqCst);
    let status = if fail {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    };
    let text = String::from_utf8_lossy(&body).to_string();
    inner
        .log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(Received {
            webhook_id: id,
            timestamp: h("webhook-timestamp"),
            signature: h("webhook-signature"),
            json: serde_json::from_str(&text).unwrap_or_default(),
            body: text,
            answered: status.as_u16(),
        });
    inner.changed.notify_waiters();
    status
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Inner::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Receiver {
            url: format!("http://{addr}/hook"),
            inner,
            task,
        }
    }

    /// Every message's first `n` attempts are answered 500.
    pub fn fail_first(&self, n: usize) {
        self.inner.fail_first.store(n, Ordering::SeqCst);
    }

    /// Answer 500 to everything (or stop doing so).
    pub fn fail_all(&self, on: bool) {
        self.inner.fail_all.store(on, Ordering::SeqCst);
    }

    /// Wait this long before answering.
    pub fn delay(&self, ms: u64) {
        self.inner.delay_ms.store(ms, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Accepted messages, de-duplicated by `webhook-id` as a receiver should.
    pub fn accepted(&self) -> BTreeMap<String, Received> {
        self.received()
            .into_iter()
            .filter(|r| r.answered < 300)
            .map(|r| (r.webhook_id.clone(), r))
            .collect()
    }

    /// Waits (at most `secs`) until `done` holds for the requests received so far.
    pub async fn wait_until(&self, secs: u64, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let notified = self.inner.changed.notified();
            let now = self.received();
            if done(&now) {
                return now;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let now = self.received();
                assert!(
                    done(&now),
                    "receiver: condition not met within {secs} s; got {} requests: {:?}",
                    now.len(),
                    now.iter()
                        .map(|r| (r.kind().to_string(), r.answered))
                        .collect::<Vec<_>>()
                );
                return now;
            }
        }
    }
}

/// How many of the `v1,` signatures in `header` verify for `secret` (Standard Webhooks:
/// HMAC-SHA256 over "{id}.{timestamp}.{body}" keyed by the base64 after `whsec_`).
pub fn valid_signatures(secret: &str, r: &Received) -> usize {
    use hmac::{KeyInit, Mac};
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| B64.decode(k).ok())
    else {
        return 0;
    };
    r.signature
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|s| B64.decode(s).ok())
        .filter(|sig| {
            let Ok(mut mac) = hmac::Hmac::<sha2_011::Sha256>::new_from_slice(&key) else {
                return false;
            };
            mac.update(format!("{}.{}.", r.webhook_id, r.timestamp).as_bytes());
            mac.update(r.body.as_bytes());
            mac.verify_slice(sig).is_ok()
        })
        .count()
}
