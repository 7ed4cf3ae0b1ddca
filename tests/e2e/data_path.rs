//! The data path: streaming, upgrades, upstream failures, protocol limits, TLS, HTTP/2 and
//! graceful shutdown.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

#[tokio::test]
async fn websocket_is_tunnelled_after_authentication() {
    let s = Stack::default().await;
    let url = format!("ws://{}/__demo/ws", s.proxy.addr);

    let mut request = url.as_str().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {ADA}").parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), 101);
    let hello = ws.next().await.unwrap().unwrap();
    assert_eq!(
        hello,
        Message::Text("hello ada".into()),
        "upstream saw the injected identity"
    );
    ws.send(Message::Text("ping through the proxy".into()))
        .await
        .unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::Text("ping through the proxy".into())
    );
    ws.close(None).await.unwrap();

    // Without a token the upgrade never happens.
    let err = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(r) => assert_eq!(r.status(), 401),
        other => panic!("expected an HTTP 401, got {other:?}"),
    }
}

#[tokio::test]
async fn request_and_response_bodies_stream_through() {
    let s = Stack::default().await;
    // A chunked request body of unknown length, produced slowly.
    let chunks =
        futures_util::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![7u8; 16 * 1024])));
    let r = s
        .client
        .post(s.url("/__demo/upload"))
        .bearer_auth(ADA)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["bytes"], 64 * 16 * 1024);

    // The same client connection (and so the same upstream connection) goes on serving
    // after a streamed upload and a HEAD whose response has no body.
    let head = s
        .client
        .head(s.url("/after-upload"))
        .bearer_auth(ADA)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    let echo: serde_json::Value = s.get("/last", ADA).await.json().await.unwrap();
    assert_eq!(echo["uri"], "/last");
}

#[tokio::test]
async fn upstream_down_is_502_json() {
    let closed = closed_port().await;
    let s = Stack::start(Opts {
        upstream: Some(format!("http://{closed}")),
        ..Opts::default()
    })
    .await;
    let r = s.get("/x", ADA).await;
    assert_eq!(r.status(), 502);
    assert_eq!(r.headers()["content-type"], "application/json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "bad_gateway");
}

#[tokio::test]
async fn slow_upstream_is_504_json() {
    let s = Stack::start(Opts {
        server: "upstream_timeout = \"300ms\"".into(),
        ..Opts::default()
    })
    .await;
    let started = Instant::now();
    let r = s.get("/__demo/slow?ms=3000", ADA).await;
    assert_eq!(r.status(), 504);
    assert!(started.elapsed() < Duration::from_secs(2));
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"], "gateway_timeout");
    assert_eq!(s.get("/__demo/slow?ms=10", ADA).await.status(), 200);
}

#[tokio::test]
async fn content_length_with_transfer_encoding_is_never_forwarded_as_such() {
    let s = Stack::default().await;
    // The classic CL.TE smuggle: the front end must not let "GET /smuggled" become a
    // second request, and the upstream must never see both framings.
    let smuggle = format!(
        "POST /__demo/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADA}\r\n\
         Content-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n\
         0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    );
    let raw = raw_exchange(s.proxy.addr, smuggle.as_bytes(), Duration::from_secs(3)).await;
    assert_eq!(
        raw.matches("HTTP/1.1 ").count(),
        1,
        "exactly one response: {raw}"
    );
    assert!(!raw.contains("smuggled"), "{raw}");
    // Whatever was forwarded had one framing only: the upstream read an empty chunked body.
    if raw.starts_with("HTTP/1.1 200") {
        assert!(raw.contains("\"bytes\":0"), "{raw}");
    } else {
        assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    }
}

#[tokio::test]
async fn header_block_over_64_kib_is_431() {
    let s = Stack::default().await;
    let big = "a".repeat(70 * 1024);
    let req = format!("GET /x HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let raw = raw_exchange(s.proxy.addr, req.as_bytes(), Duration::from_secs(3)).await;
    assert!(raw.starts_with("HTTP/1.1 431"), "{raw:.200}");
    assert_eq!(s.bink.calls(), 0);
}

#[tokio::test]
async fn slow_loris_is_cut_off_by_the_header_read_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Stack::start(Opts {
        server: "header_read_timeout = \"500ms\"".into(),
        ..Opts::default()
    })
    .await;
    let mut conn = tokio::net::TcpStream::connect(s.proxy.addr).await.unwrap();
    conn.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    // Drip one header byte at a time; the server must hang up anyway.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if conn.write_all(b"X").await.is_err() {
                return;
            }
            if let Ok(Ok(0) | Err(_)) =
                tokio::time::timeout(Duration::from_millis(100), conn.read(&mut buf)).await
            {
                return;
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "connection still open after 5 s");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn http2_cleartext_requests_are_forwarded_as_http1() {
    let s = Stack::default().await;
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = client
        .get(s.url("/h2?x=1"))
        .bearer_auth(BEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    let echo: serde_json::Value = r.json().await.unwrap();
    assert_eq!(echo["uri"], "/h2?x=1");
    assert_eq!(header_values(&echo, "x-auth-request-user"), ["ben"]);
    assert_eq!(header_values(&echo, "host"), [s.proxy.addr.to_string()]);
}

#[tokio::test]
async fn tls_listener_negotiates_h2_and_sets_forwarded_proto() {
    let dir = std::env::temp_dir().join(format!(
        "bink-tls-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let s = Stack::start(Opts {
        server: format!(
            "tls_cert_file = \"{}\"\ntls_key_file = \"{}\"",
            cert_path.display(),
            key_path.display()
        ),
        ..Opts::default()
    })
    .await;
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let r = client
        .get(format!("https://localhost:{}/secure", s.proxy.addr.port()))
        .bearer_auth(ADA)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    let echo: serde_json::Value = r.json().await.unwrap();
    assert_eq!(header_values(&echo, "x-forwarded-proto"), ["https"]);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let s = Stack::default().await;
    assert_eq!(s.get("/warm", ADA).await.status(), 200);
    let client = s.client.clone();
    let url = s.url("/__demo/slow?ms=700");
    let in_flight = tokio::spawn(async move { client.get(url).bearer_auth(ADA).send().await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = s.proxy.addr;
    let started = Instant::now();
    s.proxy.shutdown().await;
    let r = in_flight.await.unwrap().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "slow ok");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "listener closed after shutdown"
    );
}

#[tokio::test]
async fn silent_and_half_preface_connections_are_closed_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = Stack::start(Opts {
        server: "header_read_timeout = \"500ms\"".into(),
        ..Opts::default()
    })
    .await;
    for opening in [&b""[..], b"PRI * HTTP/2.0\r\n"] {
        let mut conn = tokio::net::TcpStream::connect(s.proxy.addr).await.unwrap();
        conn.write_all(opening).await.unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 64];
        let closed = tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf)).await;
        assert!(
            matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
            "{opening:?}: still open"
        );
        assert!(started.elapsed() < Duration::from_secs(3), "{opening:?}");
    }
    // Real clients are unaffected.
    assert_eq!(s.get("/x", ADA).await.status(), 200);
}

/// A bare HTTP/1.1 upstream that answers every request with the number of the connection
/// it came on, and hangs up after answering `/hang-up` (without saying so first).
async fn spawn_counting_upstream() -> std::net::SocketAddr {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let number = connections.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end + 4);
                    let body = number.to_string();
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                    if head.starts_with("GET /hang-up ") {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_client_connection_keeps_one_upstream_connection_and_survives_its_closing() {
    let upstream = spawn_counting_upstream().await;
    let s = Stack::start(Opts {
        upstream: Some(format!("http://{upstream}")),
        ..Opts::default()
    })
    .await;
    // One client connection (reqwest reuses it for sequential requests).
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let get = |path: &'static str| {
        let (client, url) = (client.clone(), s.url(path));
        async move {
            let r = client.get(url).bearer_auth(ADA).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.text().await.unwrap()
        }
    };
    let first = get("/a").await;
    assert_eq!(get("/b").await, first, "same upstream connection");
    assert_eq!(get("/c").await, first, "same upstream connection");

    // The upstream ends keep-alive without a word: the next request opens a new connection
    // instead of failing.
    assert_eq!(get("/hang-up").await, first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = get("/d").await;
    assert_ne!(second, first, "a new upstream connection");
    assert_eq!(get("/e").await, second);

    // Another client connection gets its own.
    let other = reqwest::Client::new()
        .get(s.url("/f"))
        .bearer_auth(ADA)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_ne!(other, second);
    assert_ne!(other, first);
}
