//! Bearer-token authentication: an interceptor on the decision service (health and
//! reflection stay open for probes and tools). The token file is read again on SIGHUP,
//! so tokens rotate without a restart; a file that cannot be read, or holds no token,
//! keeps the tokens in force (never an open service).

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use anyhow::Context;
use subtle::ConstantTimeEq;
use tonic::{Request, Status};

type Tokens = Arc<Vec<Vec<u8>>>;

/// The accepted tokens; none at all accepts every call (no `--token-file`).
#[derive(Clone, Default)]
pub struct TokenAuth {
    /// The token file, when there is one.
    path: Option<Arc<PathBuf>>,
    tokens: Arc<RwLock<Tokens>>,
}

impl std::fmt::Debug for TokenAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenAuth({} tokens)", self.current().len())
    }
}

impl TokenAuth {
    /// Reads one token a line from `path`, skipping blank lines and `#` comments.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        Ok(Self {
            path: Some(Arc::new(path.to_path_buf())),
            tokens: Arc::new(RwLock::new(read_tokens(path)?)),
        })
    }

    /// Reads the token file again; on failure the tokens in force stay.
    pub fn reload(&self) -> anyhow::Result<usize> {
        let Some(path) = &self.path else {
            return Ok(0);
        };
        let tokens = read_tokens(path)?;
        let count = tokens.len();
        *self.tokens.write().unwrap_or_else(PoisonError::into_inner) = tokens;
        Ok(count)
    }

    /// Reloads the token file on every SIGHUP, forever (nothing to do without one).
    #[cfg(unix)]
    pub async fn on_sighup(self) {
        use tokio::signal::unix::{SignalKind, signal};
        if self.path.is_none() {
            return;
        }
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGHUP; the token file is not reloaded");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            match self.reload() {
                Ok(count) => tracing::info!(tokens = count, "token file reloaded"),
                Err(error) => tracing::error!(
                    error = format!("{error:#}"),
                    "token file not reloaded; the tokens in force stay"
                ),
            }
        }
    }

    fn current(&self) -> Tokens {
        Arc::clone(&self.tokens.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether `presented` is one of the tokens (each compared in constant time).
    fn accepts(tokens: &[Vec<u8>], presented: &[u8]) -> bool {
        let mut found = subtle::Choice::from(0);
        for token in tokens {
            found |= token.as_slice().ct_eq(presented);
        }
        found.into()
    }
}

/// One token a line, skipping blank lines and `#` comments; at least one.
fn read_tokens(path: &Path) -> anyhow::Result<Tokens> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token file `{}`", path.display()))?;
    let tokens: Vec<Vec<u8>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.as_bytes().to_vec())
        .collect();
    anyhow::ensure!(
        !tokens.is_empty(),
        "the token file `{}` holds no token",
        path.display()
    );
    Ok(Arc::new(tokens))
}

impl TokenAuth {
    /// Checks an `authorization` header value (gRPC metadata or HTTP header alike).
    pub fn check(&self, header: Option<&[u8]>) -> Result<(), &'static str> {
        if self.path.is_none() {
            return Ok(());
        }
        let tokens = self.current();
        let header = header.ok_or("authorization: missing bearer token")?;
        let token = header
            .strip_prefix(b"Bearer ")
            .or_else(|| header.strip_prefix(b"bearer "))
            .ok_or("authorization: expected `Bearer <token>`")?;
        if Self::accepts(&tokens, token) {
            Ok(())
        } else {
            Err("authorization: unknown token")
        }
    }
}

impl tonic::service::Interceptor for TokenAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .map(|h| h.as_bytes());
        self.check(header).map_err(Status::unauthenticated)?;
        Ok(request)
    }
}
