//! Registers every service in one place (decision service behind the token interceptor,
//! health, reflection v1 and v1alpha), with TLS and message-size limits (the decision
//! service's answer to an oversized request and the caller's deadline: [`Guarded`]).

use std::path::Path;

use anyhow::Context;
use charter_proto::v1::decision_service_server::DecisionServiceServer;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use super::auth::TokenAuth;
use super::handlers::Handlers;
use super::limits::Guarded;

/// The gRPC name of the decision service, as health checks name it.
pub const SERVICE_NAME: &str = "charter.v1.DecisionService";

/// TLS material, read from PEM files.
#[derive(Debug)]
pub struct Tls {
    config: ServerTlsConfig,
}

impl Tls {
    /// Reads the certificate chain, key and, for mutual TLS, the client CA.
    pub fn load(cert: &Path, key: &Path, client_ca: Option<&Path>) -> anyhow::Result<Self> {
        let read = |path: &Path, what: &str| {
            std::fs::read(path)
                .with_context(|| format!("cannot read the {what} `{}`", path.display()))
        };
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(
            read(cert, "TLS certificate")?,
            read(key, "TLS key")?,
        ));
        if let Some(ca) = client_ca {
            config = config.client_ca_root(Certificate::from_pem(read(ca, "client CA")?));
        }
        Ok(Self { config })
    }
}

/// A server builder with every service registered.
pub fn router(
    handlers: Handlers,
    auth: TokenAuth,
    health: tonic_health::pb::health_server::HealthServer<
        impl tonic_health::pb::health_server::Health,
    >,
    tls: Option<Tls>,
) -> anyhow::Result<tonic::transport::server::Router> {
    let max_message = handlers.limits.max_message_bytes;
    let decisions = DecisionServiceServer::new(handlers)
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message.max(16 * 1024 * 1024));
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(charter_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .context("cannot build the reflection service")?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(charter_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .context("cannot build the reflection service")?;
    let mut builder = Server::builder()
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)));
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls.config)
            .context("the TLS configuration cannot be used")?;
    }
    Ok(builder
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(InterceptedService::new(
            Guarded::new(decisions, max_message),
            auth,
        )))
}
