//! `--bundle-url`: the snapshot comes from a policy bundle polled from a bundle server.
//!
//! Every `--bundle-poll-interval` (with ±10% jitter, so replicas spread out) the server is
//! asked with `If-None-Match`; a 304 costs nothing. A new bundle is verified, unpacked and
//! built into a snapshot on a blocking thread, then swapped in atomically. A download
//! error, a bad signature or a pack that does not build keeps the last good snapshot and
//! is shown by GetStatus, the logs and the metrics. With `--bundle-cache` the last good
//! bundle is kept on disk (written through a rename) and served at start when the server
//! cannot be reached; without one, the service answers `UNAVAILABLE` and health says
//! `NOT_SERVING` until a bundle activates.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use bytes::Bytes;
use charter_engine::bundle::{BundleError, VerificationConfig, Verified};
use charter_proto::v1 as pb;
use clap::Args;
use http::{Method, StatusCode};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::convert::timestamp;
use super::decision_log::DecisionLog;
use super::http_client;
use super::metrics::Metrics;
use super::server::SERVICE_NAME;
use super::snapshot::{Snapshot, SnapshotStore, Sources};
use charter_engine::reading::Reading;

/// The largest bundle downloaded (compressed).
const MAX_DOWNLOAD: usize = 256 * 1024 * 1024;
/// How long one download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);
const CACHE_FILE: &str = "bundle.tar.gz";
const CACHE_ETAG: &str = "bundle.etag";

/// Flags of `charter serve` for a bundle-fed server.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Policy bundles (instead of --mesh and --policies)")]
pub struct BundleArgs {
    /// Serve the policy bundle at this http:// or https:// URL (from `charter bundle build`), polled.
    #[arg(long, value_name = "URL", conflicts_with_all = ["mesh", "policies", "watch_interval"])]
    pub bundle_url: Option<String>,
    /// How often to ask the bundle server for a new bundle (±10% jitter).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration, requires = "bundle_url")]
    pub bundle_poll_interval: Duration,
    /// The CA certificate(s) (PEM) an https:// bundle server's certificate is checked against.
    #[arg(long, value_name = "PEM", requires = "bundle_url")]
    pub bundle_ca: Option<PathBuf>,
    /// A file holding the bearer token for the bundle server (read at every poll).
    #[arg(long, value_name = "FILE", requires = "bundle_url")]
    pub bundle_token_file: Option<PathBuf>,
    /// Keep the last good bundle in this folder and serve it at start if the server is unreachable.
    #[arg(long, value_name = "DIR", requires = "bundle_url")]
    pub bundle_cache: Option<PathBuf>,
    /// Bundles must be signed with this key (PEM public key, or an HS256 secret file).
    #[arg(long, value_name = "PEM", requires = "bundle_url")]
    pub bundle_verification_key: Option<PathBuf>,
    /// The key's algorithm [default: from the key: RS256 or ES256 for PEM, else HS256].
    #[arg(long, value_name = "ALG", requires = "bundle_verification_key")]
    pub bundle_verification_alg: Option<String>,
    /// The key's id, used whatever the signature names.
    #[arg(long, value_name = "ID", requires = "bundle_verification_key")]
    pub bundle_verification_key_id: Option<String>,
    /// The scope bundle signatures must carry.
    #[arg(long, value_name = "SCOPE", requires = "bundle_verification_key")]
    pub bundle_verification_scope: Option<String>,
}

/// What GetStatus shows of the bundle source.
#[derive(Debug, Clone, Default)]
pub struct BundleInfo {
    /// The URL polled.
    pub url: String,
    /// The manifest revision being served.
    pub revision: String,
    /// Its ETag.
    pub etag: String,
    /// When it was activated.
    pub activated_at: Option<SystemTime>,
    /// Whether it came from the cache.
    pub from_cache: bool,
    /// Whether its signature was verified.
    pub signed: bool,
    /// The last error.
    pub last_error: Option<String>,
    /// When it happened.
    pub last_error_at: Option<SystemTime>,
    /// When the server was last asked.
    pub last_checked_at: Option<SystemTime>,
}

impl BundleInfo {
    /// As GetStatus carries it.
    pub fn to_proto(&self) -> pb::BundleStatus {
        pb::BundleStatus {
            url: self.url.clone(),
            revision: self.revision.clone(),
            etag: self.etag.clone(),
            activated_at: self.activated_at.map(timestamp).unwrap_or_default(),
            from_cache: self.from_cache,
            signed: self.signed,
            last_error: self.last_error.clone().unwrap_or_default(),
            last_error_at: self.last_error_at.map(timestamp).unwrap_or_default(),
            last_checked_at: self.last_checked_at.map(timestamp).unwrap_or_default(),
        }
    }
}

/// A bundle built into a snapshot, ready to swap in.
struct Activated {
    snapshot: Snapshot,
    revision: String,
    signed: bool,
}

/// Polls the bundle server and swaps snapshots in.
#[derive(Debug)]
pub struct BundleSource {
    url: http_client::Endpoint,
    info: std::sync::Mutex<BundleInfo>,
    interval: Duration,
    token_file: Option<PathBuf>,
    cache: Option<PathBuf>,
    key: Option<VerificationConfig>,
    limits: Reading,
    metrics: Arc<Metrics>,
}

impl BundleSource {
    /// The source the flags describe; `None` without `--bundle-url`.
    ///
    /// # Errors
    /// A bad URL, an unreadable or unusable key, a cache folder that cannot be created.
    pub fn from_args(
        args: &BundleArgs,
        limits: &Reading,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Option<Self>> {
        let Some(url) = &args.bundle_url else {
            return Ok(None);
        };
        let key = crate::bundle_files::VerifyKeyArgs {
            verification_key: args.bundle_verification_key.clone(),
            verification_alg: args.bundle_verification_alg.clone(),
            verification_key_id: args.bundle_verification_key_id.clone(),
            verification_scope: args.bundle_verification_scope.clone(),
        }
        .config()?;
        if args.bundle_poll_interval.is_zero() {
            anyhow::bail!("--bundle-poll-interval must be more than 0s");
        }
        if let Some(dir) = &args.bundle_cache {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the bundle cache `{}`", dir.display()))?;
        }
        Ok(Some(Self {
            url: http_client::Endpoint::new(url, args.bundle_ca.as_deref(), "--bundle-ca")?,
            info: std::sync::Mutex::new(BundleInfo {
                url: url.clone(),
                ..BundleInfo::default()
            }),
            interval: args.bundle_poll_interval,
            token_file: args.bundle_token_file.clone(),
            cache: args.bundle_cache.clone(),
            key,
            limits: limits.clone(),
            metrics,
        }))
    }

    /// The store to start with: the cached bundle's snapshot when there is a good one;
    /// otherwise one that serves nothing until the first bundle activates.
    ///
    /// # Errors
    /// The placeholder (embedded pack, no contract) cannot be built.
    pub async fn initial_store(&self) -> anyhow::Result<SnapshotStore> {
        if let Some(dir) = &self.cache
            && let Ok(bytes) = std::fs::read(dir.join(CACHE_FILE))
        {
            let etag = std::fs::read_to_string(dir.join(CACHE_ETAG)).unwrap_or_default();
            match self.build(Bytes::from(bytes)).await {
                Ok(activated) => {
                    tracing::info!(revision = %activated.revision, cache = %dir.display(), "serving the cached bundle until the bundle server answers");
                    let store = SnapshotStore::new(activated.snapshot);
                    self.update(&store, |info| {
                        info.revision = activated.revision;
                        info.etag = etag.trim().to_owned();
                        info.activated_at = Some(SystemTime::now());
                        info.from_cache = true;
                        info.signed = activated.signed;
                    });
                    self.metrics
                        .bundle_revision(&store.bundle().unwrap_or_default().revision);
                    return Ok(store);
                }
                Err(error) => {
                    tracing::warn!(%error, cache = %dir.display(), "the cached bundle cannot be used");
                }
            }
        }
        let limits = self.limits.clone();
        let placeholder = tokio::task::spawn_blocking(move || {
            let empty = tempfile::tempdir().context("cannot create a temporary folder")?;
            super::snapshot::build(&Sources {
                mesh: empty.path().to_path_buf(),
                policies: None,
                limits,
                principals: None,
            })
        })
        .await
        .context("building the placeholder snapshot panicked")??;
        let store = SnapshotStore::waiting(placeholder);
        self.update(&store, |_| {});
        Ok(store)
    }

    /// Polls forever (the first poll at once), swapping in every new good bundle.
    pub async fn poll(
        self: Arc<Self>,
        store: Arc<SnapshotStore>,
        health: HealthReporter,
        log: Arc<DecisionLog>,
    ) {
        let mut etag = store.bundle().map(|b| b.etag).unwrap_or_default();
        // Health turns SERVING once, when the first bundle activates (later it is the
        // decision log's and the shutdown's to change, never the poller's).
        let mut announced = store.is_ready();
        loop {
            self.poll_once(&store, &mut etag).await;
            if !announced && store.is_ready() && log.check().is_ok() {
                announced = true;
                health.set_service_status("", ServingStatus::Serving).await;
                health
                    .set_service_status(SERVICE_NAME, ServingStatus::Serving)
                    .await;
            }
            let jitter = 0.9 + 0.2 * fastrand::f64();
            tokio::select! {
                () = tokio::time::sleep(self.interval.mul_f64(jitter)) => {}
                () = hangup() => tracing::info!("SIGHUP: asking the bundle server now"),
            }
        }
    }

    async fn poll_once(&self, store: &SnapshotStore, etag: &mut String) {
        let answer = self.download(etag).await;
        self.update(store, |info| info.last_checked_at = Some(SystemTime::now()));
        let (bytes, new_etag) = match answer {
            Ok(None) => {
                self.metrics.bundle_poll("not_modified");
                return;
            }
            Ok(Some(got)) => got,
            Err(error) => {
                self.metrics.bundle_poll("unreachable");
                self.failed(store, &format!("cannot download the bundle: {error:#}"));
                return;
            }
        };
        // A bundle that fails is not tried again until the server has another one.
        etag.clone_from(&new_etag);
        match self.build(bytes.clone()).await {
            Ok(activated) => {
                tracing::info!(revision = %activated.revision, etag = %new_etag, snapshot = %activated.snapshot.revision, "bundle activated");
                self.metrics.bundle_poll("activated");
                self.metrics.bundle_revision(&activated.revision);
                self.update(store, |info| {
                    info.revision.clone_from(&activated.revision);
                    info.etag.clone_from(&new_etag);
                    info.activated_at = Some(SystemTime::now());
                    info.from_cache = false;
                    info.signed = activated.signed;
                    info.last_error = None;
                    info.last_error_at = None;
                });
                store.swap(activated.snapshot);
                self.save(bytes, new_etag).await;
            }
            Err(error) => {
                self.metrics.bundle_poll("rejected");
                self.failed(store, &format!("{error:#}"));
            }
        }
    }

    /// `None` for 304 Not Modified; the bytes and ETag of a new bundle otherwise.
    async fn download(&self, etag: &str) -> anyhow::Result<Option<(Bytes, String)>> {
        let mut headers = vec![("accept", "application/gzip".to_owned())];
        if !etag.is_empty() {
            headers.push(("if-none-match", etag.to_owned()));
        }
        if let Some(path) = &self.token_file {
            let token = std::fs::read_to_string(path).with_context(|| {
                format!("cannot read the bundle token file `{}`", path.display())
            })?;
            headers.push(("authorization", format!("Bearer {}", token.trim())));
        }
        let answer = http_client::send(
            &self.url,
            Method::GET,
            &headers,
            Bytes::new(),
            DOWNLOAD_TIMEOUT,
            MAX_DOWNLOAD,
        )
        .await?;
        match answer.status {
            StatusCode::NOT_MODIFIED => Ok(None),
            StatusCode::OK => {
                // Without an ETag, the content stands in for one.
                let etag = answer.etag.unwrap_or_else(|| {
                    format!("\"{}\"", &blake3::hash(&answer.body).to_hex()[..32])
                });
                Ok(Some((answer.body, etag)))
            }
            status => anyhow::bail!("the bundle server answered {status}"),
        }
    }

    /// Verifies, unpacks and builds a bundle into a snapshot, off the async workers.
    async fn build(&self, bytes: Bytes) -> anyhow::Result<Activated> {
        let key = self.key.clone();
        let limits = self.limits.clone();
        tokio::task::spawn_blocking(move || activate(&bytes, key.as_ref(), limits))
            .await
            .context("building the bundle's snapshot panicked")?
    }

    fn failed(&self, store: &SnapshotStore, error: &str) {
        let now = SystemTime::now();
        let serving = store.bundle().map(|b| b.revision).unwrap_or_default();
        tracing::error!(%error, serving = %serving, "bundle not activated; still serving the last good one");
        self.metrics.bundle_error_at(
            now.duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        );
        self.update(store, |info| {
            info.last_error = Some(error.to_owned());
            info.last_error_at = Some(now);
        });
    }

    /// Keeps the bundle in the cache (temporary file, then rename).
    async fn save(&self, bytes: Bytes, etag: String) {
        let Some(dir) = self.cache.clone() else {
            return;
        };
        let saved = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            crate::bundle_files::write_atomically(&dir.join(CACHE_FILE), &bytes)?;
            crate::bundle_files::write_atomically(&dir.join(CACHE_ETAG), etag.as_bytes())
        })
        .await;
        match saved {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(error = %format!("{error:#}"), "cannot cache the bundle")
            }
            Err(error) => tracing::warn!(%error, "caching the bundle panicked"),
        }
    }

    fn update(&self, store: &SnapshotStore, change: impl FnOnce(&mut BundleInfo)) {
        let mut info = self
            .info
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut info);
        store.set_bundle(info.clone());
    }
}

/// Completes on the next SIGHUP (never where there are no signals).
async fn hangup() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut hangups) = signal(SignalKind::hangup()) {
            hangups.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await;
}

/// Verifies and unpacks `bytes` into a temporary folder and builds the snapshot from it.
fn activate(
    bytes: &[u8],
    key: Option<&VerificationConfig>,
    limits: Reading,
) -> anyhow::Result<Activated> {
    let (contents, verified) = crate::bundle_files::open(bytes, key)
        .map_err(|e: BundleError| anyhow::anyhow!("the bundle is refused: {e}"))?;
    let dir = tempfile::tempdir().context("cannot create a temporary folder")?;
    let unpacked = contents
        .write_to(dir.path())
        .context("cannot unpack the bundle")?;
    let snapshot = super::snapshot::build(&Sources {
        mesh: unpacked.mesh,
        policies: Some(unpacked.policies),
        limits,
        principals: unpacked.principals,
    })
    .context("the bundle's pack and contracts do not build")?;
    Ok(Activated {
        snapshot,
        revision: contents.revision,
        signed: matches!(verified, Verified::Signed { .. }),
    })
}
