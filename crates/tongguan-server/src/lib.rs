//! Tongguan's app services and HTTP edge.
#![forbid(unsafe_code)]

pub mod app;
pub mod config;
pub mod http;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use app::{App, Clock, SystemClock};
use config::Config;
use tongguan_store::Store;

/// A built, listening application (zero2prod's shape: build → port → run).
pub struct Application {
    pub app: Arc<App>,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Store(#[from] tongguan_store::StoreError),
    #[error("cannot start: {0}")]
    App(#[from] app::AppError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

impl Application {
    /// Opens the store named by the config and binds the listener.
    pub async fn build(config: Config) -> Result<Application, StartError> {
        let store = Store::open(&config.effective_database_url(), config.store_options()).await?;
        Self::build_with(config, store, Arc::new(SystemClock)).await
    }

    /// Builds over an opened store and a clock (tests pass their own).
    pub async fn build_with(
        config: Config,
        store: Store,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, StartError> {
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: config.listen.clone(),
            source,
        })?;
        let app = App::start(store, config, clock).await?;
        Ok(Application {
            app,
            listener,
            addr,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until `shutdown` completes, then drains the writer.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let router = http::router(self.app.clone());
        let dispatcher = self
            .app
            .config
            .webhooks
            .enabled
            .then(|| tokio::spawn(app::webhooks::run(self.app.clone())));
        let publisher = self
            .app
            .config
            .nats
            .enabled
            .then(|| tokio::spawn(app::nats::run(self.app.clone())));
        let day_watch = tokio::spawn(app::clock::follow_the_date(self.app.clone()));
        let app = self.app.clone();
        let shutdown = async move {
            shutdown.await;
            app.stop_feeds();
        };
        let result = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        self.app.stop_feeds();
        day_watch.abort();
        if let Some(p) = publisher {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), p).await;
        }
        if let Some(d) = dispatcher {
            // In-flight attempts are abandoned: their deliveries stay pending and are sent
            // again after the restart (at least once).
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), d).await;
        }
        self.app.store.close().await;
        result
    }
}
