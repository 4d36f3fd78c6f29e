//! The decision service (`charter serve`): tonic gRPC over the engine.
//!
//! One concept a file: [`snapshot`] (what requests are answered with) and [`reload`]
//! (SIGHUP, file changes); [`handlers`] (validate → convert → engine → convert back)
//! with [`convert`] and [`errors`] (what becomes which `Status`); [`auth`] (bearer
//! tokens), [`limits`], [`decision_log`], [`metrics`], [`server`] (services, health,
//! reflection, TLS), [`shutdown`], [`linger`] (closing connections without a reset) and
//! [`logging`].

mod auth;
pub mod bundle_source;
mod config;
pub mod convert;
mod decision_log;
mod errors;
mod handlers;
mod health_detail;
mod http;
mod http_client;
mod limits;
mod linger;
pub mod log_shipper;
pub mod logging;
mod metrics;
mod reload;
mod server;
mod shutdown;
pub mod snapshot;

use std::sync::Arc;
use std::time::SystemTime;

use anyhow::Context;
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::TcpListenerStream;
use tonic_health::ServingStatus;

pub use config::Config;

/// Builds the first snapshot from `--mesh` and `--policies`.
async fn first_snapshot(sources: &snapshot::Sources) -> anyhow::Result<snapshot::Snapshot> {
    let sources = sources.clone();
    let first = tokio::task::spawn_blocking(move || snapshot::build(&sources))
        .await
        .context("the first snapshot build panicked")??;
    tracing::info!(
        revision = %first.revision,
        products = first.access.product_count(),
        policies = first.policy_count,
        rules = first.rule_count,
        "snapshot loaded"
    );
    Ok(first)
}

/// The service's parts, assembled from the flags before anything listens.
struct Service {
    store: Arc<snapshot::SnapshotStore>,
    log: Arc<decision_log::DecisionLog>,
    metrics: Arc<metrics::Metrics>,
    handlers: handlers::Handlers,
    auth: auth::TokenAuth,
    health_reporter: tonic_health::server::HealthReporter,
    bundles: Option<Arc<bundle_source::BundleSource>>,
    shipper: Option<Arc<log_shipper::Shipper>>,
    reloader: Arc<reload::Reloader>,
}

/// What the service listens on.
struct Listeners {
    grpc: tokio::net::TcpListener,
    local: std::net::SocketAddr,
    http: Option<tokio::net::TcpListener>,
    http_tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Tasks that run beside the service until it stops.
type Background = Vec<tokio::task::JoinHandle<()>>;

impl Service {
    /// The first snapshot (or the bundle cache), the decision log and its shipper, the
    /// handlers; health says NOT_SERVING until [`Service::announce_ready`].
    async fn assemble(
        args: &Config,
        health_reporter: tonic_health::server::HealthReporter,
    ) -> anyhow::Result<Self> {
        let started = SystemTime::now();
        let sources = snapshot::Sources {
            mesh: args.mesh.clone().unwrap_or_default(),
            policies: args.policies.clone(),
            limits: args.limits.clone(),
            principals: args.principals.clone(),
        };
        let metrics = Arc::new(metrics::Metrics::new());
        let auth = match &args.token_file {
            Some(path) => auth::TokenAuth::from_file(path)?,
            None => auth::TokenAuth::default(),
        };
        for service in ["", server::SERVICE_NAME] {
            health_reporter
                .set_service_status(service, ServingStatus::NotServing)
                .await;
        }
        let bundles = bundle_source::BundleSource::from_args(
            &args.bundle,
            &args.limits,
            Arc::clone(&metrics),
        )?
        .map(Arc::new);
        let store = Arc::new(match &bundles {
            Some(bundles) => bundles.initial_store().await?,
            None => snapshot::SnapshotStore::new(first_snapshot(&sources).await?),
        });
        let shipper = log_shipper::Shipper::from_args(&args.ship, &metrics)?.map(Arc::new);
        let log = Arc::new(decision_log::DecisionLog::open_with_spool(
            &args.decision_log,
            shipper.as_ref().map(|s| s.spool()),
        )?);
        let handlers = handlers::Handlers {
            store: Arc::clone(&store),
            log: Arc::clone(&log),
            limits: limits::Limits::new(
                args.max_batch,
                args.max_columns,
                args.max_message_bytes,
                args.max_concurrency,
            ),
            metrics: Arc::clone(&metrics),
            started,
        };
        let reloader = Arc::new(reload::Reloader::new(
            sources,
            Arc::clone(&store),
            Arc::clone(&metrics),
        ));
        Ok(Self {
            store,
            log,
            metrics,
            handlers,
            auth,
            health_reporter,
            bundles,
            shipper,
            reloader,
        })
    }

    /// Reloads on SIGHUP and file changes (not when fed by bundles), token files on SIGHUP.
    fn watch_sources(&self, args: &Config) -> Background {
        let mut background = Vec::new();
        #[cfg(unix)]
        if self.bundles.is_none() {
            background.push(tokio::spawn(Arc::clone(&self.reloader).on_sighup()));
        }
        #[cfg(unix)]
        background.push(tokio::spawn(self.auth.clone().on_sighup()));
        if self.bundles.is_none() && !args.watch_interval.is_zero() {
            background.push(tokio::spawn(
                Arc::clone(&self.reloader).watch(args.watch_interval),
            ));
        }
        background
    }

    /// SERVING, unless a bundle-fed server has no bundle yet (it stays NOT_SERVING until
    /// one activates).
    async fn announce_ready(&self) {
        if self.store.is_ready() {
            for service in ["", server::SERVICE_NAME] {
                self.health_reporter
                    .set_service_status(service, ServingStatus::Serving)
                    .await;
            }
        }
    }

    /// The log shipper, the bundle poller, and the watch on the decision log.
    fn run_feeds(&self, background: &mut Background) {
        if let Some(shipper) = &self.shipper {
            background.push(tokio::spawn(
                Arc::clone(shipper).run(self.health_reporter.clone(), Arc::clone(&self.store)),
            ));
        }
        if let Some(bundles) = &self.bundles {
            background.push(tokio::spawn(Arc::clone(bundles).poll(
                Arc::clone(&self.store),
                self.health_reporter.clone(),
                Arc::clone(&self.log),
            )));
        }
        // A broken decision log means no decision can be handed out: the decision service
        // says NOT_SERVING so balancers route elsewhere (the server itself, "", stays
        // SERVING).
        background.push(tokio::spawn({
            let (log, health_reporter) = (Arc::clone(&self.log), self.health_reporter.clone());
            async move {
                log.broken().await;
                health_reporter
                    .set_service_status(server::SERVICE_NAME, ServingStatus::NotServing)
                    .await;
            }
        }));
    }

    /// Stops the background tasks, closes the decision log and flushes its shipper.
    async fn stop(self, background: Background, drain_timeout: std::time::Duration) {
        for task in background {
            task.abort();
        }
        self.log.close();
        if let Some(shipper) = self.shipper {
            shipper.flush(drain_timeout).await;
        }
    }
}

impl Listeners {
    async fn bind(args: &Config) -> anyhow::Result<Self> {
        let http = match args.http_listen {
            Some(addr) => Some(http::bind(addr).await?),
            None => None,
        };
        let http_tls = match (&args.tls_cert, &args.tls_key, args.http_listen) {
            (Some(cert), Some(key), Some(_)) => {
                Some(http::acceptor(cert, key, args.client_ca.as_deref())?)
            }
            _ => None,
        };
        let grpc = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let local = grpc
            .local_addr()
            .context("cannot read the listening address")?;
        Ok(Self {
            grpc,
            local,
            http,
            http_tls,
        })
    }
}

/// Loads the first snapshot, serves until SIGTERM/SIGINT, drains and flushes the log.
pub async fn run(args: Config) -> anyhow::Result<()> {
    logging::init(args.log_format);
    let signals = shutdown::Signals::install()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(server::Tls::load(cert, key, args.client_ca.as_deref())?),
        _ => None,
    };
    let (health_reporter, health) = tonic_health::server::health_reporter();
    let service = Service::assemble(&args, health_reporter).await?;
    let mut background = service.watch_sources(&args);
    service.metrics.set_health(health_detail::detail(
        Arc::clone(&service.store),
        Arc::clone(&service.log),
    ));
    if let Some(addr) = args.metrics_listen {
        metrics::serve(addr, Arc::clone(&service.metrics)).await?;
    }
    let listeners = Listeners::bind(&args).await?;
    let http_serving = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let http_state = http::HttpState {
        handlers: service.handlers.clone(),
        auth: service.auth.clone(),
        serving: Arc::clone(&http_serving),
        scheme: if listeners.http_tls.is_some() {
            "https"
        } else {
            "http"
        },
    };
    let router = server::router(service.handlers.clone(), service.auth.clone(), health, tls)?;
    service.announce_ready().await;
    service.run_feeds(&mut background);
    tracing::info!(addr = %listeners.local, "serving charter.v1.DecisionService");

    let draining = shutdown::Drain::new();
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let http_task = listeners.http.map(|listener| {
        http_serving.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut stop = stop.clone();
        tokio::spawn(http::serve(
            listener,
            http_state,
            listeners.http_tls,
            async move {
                let _ = stop.wait_for(|stopping| *stopping).await;
            },
        ))
    });
    let requested = {
        let requested = draining
            .clone()
            .requested(signals, service.health_reporter.clone());
        let http_serving = Arc::clone(&http_serving);
        async move {
            requested.await;
            http_serving.store(false, std::sync::atomic::Ordering::Relaxed);
            let _ = stopping.send(true);
        }
    };
    // `Server::tcp_nodelay` only applies to listeners tonic binds itself: set it on every
    // accepted connection, or Nagle and delayed ACKs add ~5 ms to every call on loopback.
    // Each connection lingers when closed, so a drained call's answer is not reset away.
    let lingering = Arc::new(linger::Lingering::default());
    let incoming = TcpListenerStream::new(listeners.grpc).map({
        let lingering = Arc::clone(&lingering);
        move |stream| {
            stream.map(|stream| {
                let _ = stream.set_nodelay(true);
                lingering.track(stream)
            })
        }
    });
    let serve = router.serve_with_incoming_shutdown(incoming, requested);
    tokio::select! {
        result = serve => result.context("the gRPC server failed")?,
        () = draining.expired(args.drain_timeout) => {
            tracing::warn!(timeout = ?args.drain_timeout, "calls still in flight after the drain timeout; stopping anyway");
        }
    }
    if let Some(task) = http_task {
        drain_http(task, args.drain_timeout).await;
    }
    // Closed connections finish lingering (bounded) before the process exits.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(3), lingering.settled()).await;
    service.stop(background, args.drain_timeout).await;
    tracing::info!("stopped; decision log flushed");
    Ok(())
}

/// Waits (bounded) for the HTTP server to finish its drained calls.
async fn drain_http(
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    drain_timeout: std::time::Duration,
) {
    match tokio::time::timeout(drain_timeout, task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => {
            tracing::error!(error = format!("{error:#}"), "the HTTP server failed")
        }
        Ok(Err(_)) | Err(_) => {
            tracing::warn!("HTTP calls still in flight after the drain timeout; stopping anyway")
        }
    }
}
