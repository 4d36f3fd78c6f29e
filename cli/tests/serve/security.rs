//! Bearer tokens and TLS / mutual TLS (certificates made with rcgen).

use charter_proto::v1 as pb;
use charter_proto::v1::decision_service_client::DecisionServiceClient;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tonic::Code;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::harness::{Options, Server, analyst_request, spawn, wait_serving};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_without_a_good_token_are_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.txt");
    std::fs::write(&tokens, "# tokens\nsecret-one\n\nsecret-two\n").unwrap();
    let server = spawn(Options {
        args: vec!["--token-file".into(), tokens.display().to_string()],
        ..Options::default()
    });
    let mut client = server.client().await;
    let status = client.check_access(analyst_request()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    for (header, ok) in [
        ("Bearer wrong", false),
        ("Bearer secret-on", false),
        ("secret-one", false),
        ("Bearer secret-two", true),
    ] {
        let mut call = tonic::Request::new(analyst_request());
        call.metadata_mut()
            .insert("authorization", MetadataValue::try_from(header).unwrap());
        let result = client.check_access(call).await;
        assert_eq!(result.is_ok(), ok, "{header}: {result:?}");
        if let Err(status) = result {
            assert_eq!(status.code(), Code::Unauthenticated);
        }
    }
    // Health stays open for probes.
    let mut health = HealthClient::new(server.channel().await);
    health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();

    // Tokens rotate on SIGHUP: the new one gets in, the old ones no longer do.
    let with = |token: &str| {
        let mut call = tonic::Request::new(analyst_request());
        call.metadata_mut().insert(
            "authorization",
            MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
        );
        call
    };
    std::fs::write(&tokens, "secret-three\n").unwrap();
    server.signal("HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while client.check_access(with("secret-three")).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "{}", server.stderr());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for old in ["secret-one", "secret-two"] {
        let status = client.check_access(with(old)).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{old}");
    }
    // A token file emptied (or unreadable) by mistake keeps the tokens in force: the
    // service never falls open.
    std::fs::write(&tokens, "# nothing\n").unwrap();
    server.signal("HUP");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server.stderr().contains("token file not reloaded") {
        assert!(std::time::Instant::now() < deadline, "{}", server.stderr());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(client.check_access(with("secret-three")).await.is_ok());
    let status = client.check_access(analyst_request()).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
}

struct Pki {
    ca_pem: String,
    server_cert: String,
    server_key: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["client".to_owned()])
        .unwrap()
        .signed_by(&client_key, &issuer)
        .unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

fn tls_server(pki: &Pki, mutual: bool) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let mut args = vec![
        "--tls-cert".to_owned(),
        write("server.pem", &pki.server_cert),
        "--tls-key".to_owned(),
        write("server.key", &pki.server_key),
    ];
    if mutual {
        args.extend(["--client-ca".to_owned(), write("ca.pem", &pki.ca_pem)]);
    }
    let server = spawn(Options {
        args,
        no_wait: true,
        ..Options::default()
    });
    (server, dir)
}

async fn tls_client(
    server: &Server,
    pki: &Pki,
    identity: bool,
) -> Result<DecisionServiceClient<Channel>, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca_pem))
        .domain_name("localhost");
    if identity {
        tls = tls.identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    }
    let channel = Channel::from_shared(format!("https://127.0.0.1:{}", server.port))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(DecisionServiceClient::new(channel))
}

/// Waits (bounded) until the TLS port accepts TCP connections.
async fn wait_port(server: &mut Server) {
    for _ in 0..600 {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("the server exited with {status}:\n{}", server.stderr());
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", server.port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the TLS server never listened:\n{}", server.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_mutual_tls() {
    let pki = pki();

    let (mut server, _files) = tls_server(&pki, false);
    wait_port(&mut server).await;
    let mut client = tls_client(&server, &pki, false).await.unwrap();
    let decision = client
        .check_access(analyst_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision.decision, pb::Outcome::Allow as i32);
    // Plaintext against the TLS port fails.
    let plain = DecisionServiceClient::connect(format!("http://127.0.0.1:{}", server.port)).await;
    if let Ok(mut plain) = plain {
        assert!(plain.check_access(analyst_request()).await.is_err());
    }
    drop(server);

    let (mut server, _files) = tls_server(&pki, true);
    wait_port(&mut server).await;
    match tls_client(&server, &pki, false).await {
        Err(_) => {}
        Ok(mut anonymous) => assert!(
            anonymous.check_access(analyst_request()).await.is_err(),
            "no client certificate"
        ),
    }
    let mut client = tls_client(&server, &pki, true).await.unwrap();
    client.check_access(analyst_request()).await.unwrap();
    let _ = wait_serving;
}

/// One HTTP/1.1 call over TLS (with the client certificate when `identity`); the status,
/// or `None` when the handshake or the call fails.
async fn https_call(port: u16, pki: &Pki, identity: bool, request: String) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto};
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).unwrap())
        .unwrap();
    let builder =
        ClientConfig::builder_with_provider(std::sync::Arc::new(crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let config = if identity {
        builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(pki.client_cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(pki.client_key.as_bytes()).unwrap(),
            )
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .ok()?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut stream = connector.connect(name, tcp).await.ok()?;
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await.ok()?;
    text.split(' ').nth(1)?.parse().ok()
}

/// The HTTP listener under mutual TLS and bearer tokens: health open, decisions need the
/// token, no client certificate no call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_under_mutual_tls_and_tokens() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let http = super::harness::free_port();
    let mut server = spawn(Options {
        args: vec![
            "--tls-cert".to_owned(),
            write("server.pem", &pki.server_cert),
            "--tls-key".to_owned(),
            write("server.key", &pki.server_key),
            "--client-ca".to_owned(),
            write("ca.pem", &pki.ca_pem),
            "--token-file".to_owned(),
            write("tokens.txt", "secret\n"),
            "--http-listen".to_owned(),
            format!("127.0.0.1:{http}"),
        ],
        no_wait: true,
        ..Options::default()
    });
    wait_port(&mut server).await;
    let health = "GET /health HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n".to_owned();
    let mut status = None;
    for _ in 0..100 {
        status = https_call(http, &pki, true, health.clone()).await;
        if status == Some(200) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, Some(200), "{}", server.stderr());
    assert_eq!(https_call(http, &pki, false, health).await, None);
    let body = r#"{"input":{"context":{"identity":{"user":"ana","groups":[]}},"action":{"operation":"ExecuteQuery"}}}"#;
    let post = |token: &str| {
        format!(
            "POST /v1/data/charter/trino/allow HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n{token}\r\n{body}",
            body.len()
        )
    };
    assert_eq!(https_call(http, &pki, true, post("")).await, Some(401));
    let wrong = post("authorization: Bearer wrong\r\n");
    assert_eq!(https_call(http, &pki, true, wrong).await, Some(401));
    let good = post("authorization: Bearer secret\r\n");
    assert_eq!(https_call(http, &pki, true, good).await, Some(200));
}
