//! Bearer-token authentication: an interceptor on the decision service (health and
//! reflection stay open for probes and tools).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use subtle::ConstantTimeEq;
use tonic::{Request, Status};

/// The accepted tokens; an empty list accepts every call (no `--token-file`).
#[derive(Clone, Default)]
pub struct TokenAuth {
    tokens: Arc<Vec<Vec<u8>>>,
}

impl std::fmt::Debug for TokenAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenAuth({} tokens)", self.tokens.len())
    }
}

impl TokenAuth {
    /// Reads one token a line from `path`, skipping blank lines and `#` comments.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
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
        Ok(Self {
            tokens: Arc::new(tokens),
        })
    }

    /// Whether `presented` is one of the tokens (each compared in constant time).
    fn accepts(&self, presented: &[u8]) -> bool {
        let mut found = subtle::Choice::from(0);
        for token in self.tokens.iter() {
            found |= token.as_slice().ct_eq(presented);
        }
        found.into()
    }
}

impl tonic::service::Interceptor for TokenAuth {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        if self.tokens.is_empty() {
            return Ok(request);
        }
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("authorization: missing bearer token"))?;
        let token = header
            .as_bytes()
            .strip_prefix(b"Bearer ")
            .or_else(|| header.as_bytes().strip_prefix(b"bearer "))
            .ok_or_else(|| Status::unauthenticated("authorization: expected `Bearer <token>`"))?;
        if self.accepts(token) {
            Ok(request)
        } else {
            Err(Status::unauthenticated("authorization: unknown token"))
        }
    }
}
