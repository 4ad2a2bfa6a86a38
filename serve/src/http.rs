//! The HTTP API (`cli-and-runtime.md`, "The daemon"). Every failure is a JSON body
//! `{"error": {"code": ..., "message": ...}}` and changes nothing.

use crate::input_log::Incoming;
use crate::prometheus::Prometheus;
use crate::server::BODY_TIMEOUT;
use crate::store::sqlite::SqliteStore;
use crate::store::{DeadLetter, OutboxCounts, Store};
use crate::writer::{EventResult, Job, Refusal, Shared};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use camp_engine::input::UserLine;
use camp_engine::run_report::{BoardReport, KpiReport, RewardReport, Summary};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};
use std::time::Instant;
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

/// Dead letters listed by `GET /v1/campaign`.
const DEAD_LISTED: usize = 20;
/// The longest id (of an event, user or event type) and key (of `data` or of a
/// user's attributes) taken, in bytes.
pub const MAX_ID: usize = 256;

/// A failed request: status, stable code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// A body that is not JSON, or JSON of the wrong shape.
    fn body(e: &serde_json::Error) -> ApiError {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => ApiError::new(StatusCode::BAD_REQUEST, "bad_shape", e.to_string()),
            _ => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", e.to_string()),
        }
    }

    fn refused(r: Refusal) -> ApiError {
        match r {
            Refusal::BadAttribute(m) => ApiError::new(StatusCode::BAD_REQUEST, "bad_attribute", m),
            Refusal::ClockBackwards(now) => ApiError::new(
                StatusCode::CONFLICT,
                "clock_backwards",
                format!("the clock is at {} and cannot move backwards", text(now)),
            ),
            Refusal::Unavailable(m) => ApiError::unavailable(m),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

fn text(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The parts the routes share.
struct Inner {
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
    metrics: Arc<Prometheus>,
    /// SHA-256 of the token: compared in constant time, whatever the lengths.
    token: Option<[u8; 32]>,
    manual: bool,
    reader: Mutex<SqliteStore>,
    max_body: usize,
    /// What `GET /v1/campaign` publishes of the seed.
    seed_sha256: String,
}

/// What [`App::new`] needs.
pub struct AppParts<'a> {
    /// The engine and state.
    pub shared: Arc<Shared>,
    /// The writer's queue.
    pub jobs: mpsc::Sender<Job>,
    /// Prometheus.
    pub metrics: Arc<Prometheus>,
    /// The bearer token, if routes need one.
    pub token: Option<&'a str>,
    /// Whether `POST /v1/clock` exists.
    pub manual: bool,
    /// A read connection (outbox counts, dead letters).
    pub reader: SqliteStore,
    /// The largest body accepted.
    pub max_body: usize,
}

/// The HTTP application.
#[derive(Clone)]
pub struct App(Arc<Inner>);

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

impl App {
    /// Builds the application.
    pub fn new(parts: AppParts<'_>) -> App {
        App(Arc::new(Inner {
            jobs: parts.jobs,
            metrics: parts.metrics,
            token: parts.token.map(digest),
            manual: parts.manual,
            reader: Mutex::new(parts.reader),
            max_body: parts.max_body,
            seed_sha256: parts.shared.engine.seed().sha256_hex(),
            shared: parts.shared,
        }))
    }

    /// The routes.
    pub fn router(&self) -> Router {
        let mut router = Router::new()
            .route("/v1/events", post(events))
            .route("/v1/users/{id}", put(user))
            .route("/v1/participants/{id}", get(participant))
            .route("/v1/leaderboards/{name}", get(leaderboard))
            .route("/v1/groups/{group}/{key}", get(group))
            .route("/v1/kpis", get(kpis))
            .route("/v1/campaign", get(campaign))
            .route("/healthz", get(healthz))
            .route("/metrics", get(metrics));
        if self.0.manual {
            router = router.route("/v1/clock", post(clock));
        }
        // The last layer added runs first: measure, make every error JSON, check the
        // token, then take the body.
        router
            .fallback(unknown_route)
            .method_not_allowed_fallback(wrong_method)
            .layer(middleware::from_fn_with_state(self.clone(), take_body))
            .layer(DefaultBodyLimit::max(self.0.max_body))
            .layer(middleware::from_fn_with_state(self.clone(), authorize))
            .layer(middleware::from_fn(json_errors))
            .layer(middleware::from_fn_with_state(self.clone(), measure))
            .with_state(self.clone())
    }

    /// Hands a job to the writer and waits for its answer.
    async fn submit<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<Result<T, Refusal>>) -> Job,
    ) -> Result<T, ApiError> {
        let (tx, rx) = oneshot::channel();
        if self.0.jobs.send(job(tx)).is_err() {
            return Err(ApiError::unavailable("the daemon is shutting down"));
        }
        rx.await
            .map_err(|_| ApiError::unavailable("the writer stopped"))?
            .map_err(ApiError::refused)
    }
}

/// Records each request's latency by route and status.
async fn measure(State(app): State<App>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let started = Instant::now();
    let response = next.run(request).await;
    app.0.metrics.request(
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Reads the body whole before the route sees it, within `--max-body` and
/// [`BODY_TIMEOUT`]. A declared `Content-Length` over the limit is answered 413 at once,
/// before any byte of the body is read (so no `100 Continue` is sent).
async fn take_body(State(app): State<App>, request: Request, next: Next) -> Response {
    let max = app.0.max_body;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return closing(too_large(max));
    }
    let (parts, body) = request.into_parts();
    let limited = http_body_util::Limited::new(body, max);
    let read = tokio::time::timeout(BODY_TIMEOUT, http_body_util::BodyExt::collect(limited)).await;
    let bytes = match read {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return closing(too_large(max)),
        Ok(Err(e)) => {
            return closing(ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("the body could not be read: {e}"),
            ))
        }
        Err(_) => {
            return closing(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "the body did not arrive within {} s",
                    BODY_TIMEOUT.as_secs()
                ),
            ))
        }
    };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn too_large(max: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the body is over {max} bytes (--max-body)"),
    )
}

/// An error after which the connection is closed (its body may be left unread).
fn closing(e: ApiError) -> Response {
    let mut r = e.into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Makes every error answer a JSON error: one that is not (a path that does not
/// percent-decode, say, answered by the framework in plain text) is rewritten, its
/// text kept as the message.
async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10)
        .await
        .unwrap_or_default();
    let message = String::from_utf8_lossy(&text).trim().to_string();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if message.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        message
    };
    let mut rewritten = ApiError::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}

/// Every route but `/healthz` needs `Authorization: Bearer <token>` when a token is set.
async fn authorize(State(app): State<App>, request: Request, next: Next) -> Response {
    let Some(expected) = app.0.token else {
        return next.run(request).await;
    };
    if request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(token) if bool::from(digest(token.trim()).ct_eq(&expected)) => next.run(request).await,
        Some(_) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "wrong token").into_response()
        }
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this route needs `Authorization: Bearer <token>`",
        )
        .into_response(),
    }
}

/// The body, or 413 past the limit.
fn body(b: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    b.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.body_text())
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.body_text())
        }
    })
}

/// One event or an array of them.
async fn events(
    State(app): State<App>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let raw = body(raw)?;
    let many = raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let events: Vec<Incoming> = if many {
        serde_json::from_slice(&raw).map_err(|e| ApiError::body(&e))?
    } else {
        vec![serde_json::from_slice(&raw).map_err(|e| ApiError::body(&e))?]
    };
    for e in &events {
        let keys = e.data.keys().map(|k| ("a `data` key", k.as_str()));
        for (what, text) in [
            ("`id`", e.id.as_str()),
            ("`type`", &e.kind),
            ("`user`", &e.user),
        ]
        .into_iter()
        .chain(keys)
        {
            short(what, text)?;
        }
    }
    if events.is_empty() {
        return Ok(Json(Vec::<EventResult>::new()).into_response());
    }
    let mut results = app.submit(|reply| Job::Events { events, reply }).await?;
    Ok(if many {
        Json(results).into_response()
    } else {
        Json(results.pop()).into_response()
    })
}

#[derive(Serialize)]
struct UserAnswer {
    id: String,
    standing: String,
}

/// Creates or updates a user; the body is the bare attributes object.
async fn user(
    State(app): State<App>,
    Path(id): Path<String>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<UserAnswer>, ApiError> {
    let raw = body(raw)?;
    short("the user's id", &id)?;
    let attrs: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&raw).map_err(|e| ApiError::body(&e))?;
    for key in attrs.keys() {
        short("an attribute's name", key)?;
    }
    // A replay user line (`{"id": ..., "attrs": {...}}`) sent as the body would be read
    // as two unknown attributes: a user with none.
    let declared = |name: &str| {
        app.0
            .shared
            .engine
            .plan()
            .attrs
            .iter()
            .any(|a| a.name == name)
    };
    if attrs.get("attrs").is_some_and(serde_json::Value::is_object) && !declared("attrs") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_shape",
            "the body is the bare attributes object, like {\"nickname\": \"Lin\"}, \
             not {\"id\": ..., \"attrs\": {...}}: the id is in the path",
        ));
    }
    let line = UserLine {
        id: id.clone(),
        attrs,
    };
    let standing = app.submit(|reply| Job::User { line, reply }).await?;
    Ok(Json(UserAnswer { id, standing }))
}

async fn participant(State(app): State<App>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let shared = &app.0.shared;
    let report = shared.engine.participant(&shared.read(), &id);
    report
        .map(|r| Json(r).into_response())
        .ok_or_else(|| ApiError::not_found(format!("no user `{id}`")))
}

#[derive(Serialize)]
struct BoardAnswer {
    #[serde(flatten)]
    board: BoardReport,
    /// How many are ranked.
    ranked: u64,
}

/// Ranks with scores, from the board's ordered index (never a scan of participants).
async fn leaderboard(
    State(app): State<App>,
    Path(name): Path<String>,
    query: axum::extract::RawQuery,
) -> Result<Json<BoardAnswer>, ApiError> {
    let top = top(query.0.as_deref())?;
    let shared = &app.0.shared;
    let plan = shared.engine.plan();
    let index = plan
        .leaderboards
        .iter()
        .position(|l| l.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = plan.leaderboards.iter().map(|l| l.name.as_str()).collect();
            ApiError::not_found(format!(
                "no leaderboard `{name}` (the campaign has: {})",
                known.join(", ")
            ))
        })?;
    let state = shared.read();
    let board = shared
        .engine
        .leaderboard(&state, index, Some(top))
        .ok_or_else(|| ApiError::not_found(format!("no leaderboard `{name}`")))?;
    let ranked = state.ranked(index).unwrap_or(0);
    Ok(Json(BoardAnswer { board, ranked }))
}

/// A group: state, opener, members in join order, opened and expiry instants.
async fn group(
    State(app): State<App>,
    Path((name, key)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let shared = &app.0.shared;
    let plan = shared.engine.plan();
    let kind = plan
        .groups
        .iter()
        .position(|g| g.name == name)
        .ok_or_else(|| {
            let known: Vec<&str> = plan.groups.iter().map(|g| g.name.as_str()).collect();
            ApiError::not_found(if known.is_empty() {
                format!("no group `{name}` (the campaign has no groups)")
            } else {
                format!("no group `{name}` (the campaign has: {})", known.join(", "))
            })
        })?;
    let report = shared.engine.group(&shared.read(), kind, &key);
    report
        .map(|r| Json(r).into_response())
        .ok_or_else(|| ApiError::not_found(format!("no `{name}` group with the key `{key}`")))
}

/// `?top=N` (default 100), percent-decoded; any other parameter, a `top` without a
/// value and a second `top` are errors.
fn top(query: Option<&str>) -> Result<usize, ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", m);
    let mut top = None;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = match pair.split_once('=') {
            Some((k, v)) => (decode(k), Some(decode(v))),
            None => (decode(pair), None),
        };
        let (Some(key), value) = (key, value) else {
            return Err(bad(format!("`{pair}` does not percent-decode to text")));
        };
        if key != "top" {
            return Err(bad(format!("unknown query parameter `{key}`; only `top`")));
        }
        let Some(Some(value)) = value else {
            return Err(bad("`top` needs a value, like ?top=10".into()));
        };
        if top.is_some() {
            return Err(bad("`top` is given twice".into()));
        }
        top = Some(
            value
                .parse()
                .map_err(|_| bad(format!("`top` must be a whole number, not `{value}`")))?,
        );
    }
    Ok(top.unwrap_or(100))
}

/// Percent-decodes a query key or value (`+` is a space); `None` if the bytes are not
/// UTF-8 or an escape is cut short.
fn decode(text: &str) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hi = char::from(bytes.next()?).to_digit(16)?;
                let lo = char::from(bytes.next()?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// An id or key no longer than [`MAX_ID`] bytes, or 400.
fn short(what: &str, text: &str) -> Result<(), ApiError> {
    if text.len() <= MAX_ID {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad_shape",
        format!("{what} is {} bytes long; at most {MAX_ID}", text.len()),
    ))
}

#[derive(Serialize)]
struct KpisAnswer {
    kpis: Vec<KpiReport>,
}

async fn kpis(State(app): State<App>) -> Json<KpisAnswer> {
    let shared = &app.0.shared;
    Json(KpisAnswer {
        kpis: shared.engine.kpis(&shared.read()),
    })
}

#[derive(Serialize)]
struct CampaignAnswer<'a> {
    #[serde(flatten)]
    summary: Summary,
    /// SHA-256 of the campaign's seed (the seed itself is never served).
    seed_sha256: &'a str,
    rewards: Vec<RewardReport>,
    outbox: OutboxCounts,
    dead_letters: Vec<DeadLetter>,
}

async fn campaign(State(app): State<App>) -> Result<Response, ApiError> {
    let (outbox, dead_letters) = {
        let mut reader = app
            .0
            .reader
            .lock()
            .map_err(|_| ApiError::unavailable("the store reader failed"))?;
        let counts = reader
            .outbox_counts()
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        let dead = reader
            .dead_letters(DEAD_LISTED)
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
        (counts, dead)
    };
    let shared = &app.0.shared;
    let state = shared.read();
    Ok(Json(CampaignAnswer {
        summary: shared.engine.summary(&state),
        seed_sha256: &app.0.seed_sha256,
        rewards: shared.engine.rewards(&state),
        outbox,
        dead_letters,
    })
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockFields {
    now: DateTime<chrono::FixedOffset>,
}

struct ClockBody {
    now: DateTime<chrono::FixedOffset>,
}

impl<'de> Deserialize<'de> for ClockBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ClockBody, D::Error> {
        let f: ClockFields =
            crate::input_log::object(d, "an object like {\"now\": \"2027-09-06T10:00:00+08:00\"}")?;
        Ok(ClockBody { now: f.now })
    }
}

#[derive(Serialize)]
struct ClockAnswer {
    now: String,
}

/// Moves the manual clock forward, firing what is due.
async fn clock(
    State(app): State<App>,
    raw: Result<Bytes, BytesRejection>,
) -> Result<Json<ClockAnswer>, ApiError> {
    let raw = body(raw)?;
    let b: ClockBody = serde_json::from_slice(&raw).map_err(|e| ApiError::body(&e))?;
    let to = b.now.with_timezone(&Utc);
    // The log keeps microseconds: a finer instant would not be the same after a restart.
    if !to.timestamp_subsec_nanos().is_multiple_of(1000) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_shape",
            "`now` has more than six decimals of a second: the clock keeps microseconds",
        ));
    }
    let now = app.submit(|reply| Job::Clock { to, reply }).await?;
    Ok(Json(ClockAnswer { now: text(now) }))
}

/// `{"status": "ok"}` while the writer takes jobs and the snapshotter follows the log;
/// 503 once either has stopped (a write would then fail).
async fn healthz(State(app): State<App>) -> Result<Json<serde_json::Value>, ApiError> {
    let shared = &app.0.shared;
    if !shared.writer_running.load(Ordering::Relaxed) {
        return Err(ApiError::unavailable(
            "the writer has stopped: writes cannot be taken",
        ));
    }
    if !shared.snapshotter_running.load(Ordering::Relaxed) {
        return Err(ApiError::unavailable("the snapshotter has stopped"));
    }
    Ok(Json(serde_json::json!({ "status": "ok" })))
}

async fn metrics(State(app): State<App>) -> Response {
    let shared = &app.0.shared;
    let text = app.0.metrics.render(&shared.engine, &shared.read());
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    (headers, text).into_response()
}

async fn unknown_route(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route {} {}",
        request.method(),
        request.uri().path()
    ))
}

async fn wrong_method(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use camp_compiler::{compile_file, MemoryLoader};

    fn app() -> App {
        let src = "campaign c {\n  timezone \"UTC\"\n  start    2027-01-01T00:00\n}\nuser { nickname: string }\nevent checkin {}\nreward p = points 1\nphase main for 3d {\n  task t {\n    on checkin\n    grant p\n  }\n}\n";
        let plan = compile_file(
            &MemoryLoader::with(&[("c.camp", src)]),
            std::path::Path::new("c.camp"),
        )
        .unwrap()
        .plan
        .unwrap();
        let engine = camp_engine::Engine::new(plan).unwrap();
        let state = engine.start();
        let dir = std::env::temp_dir().join(format!("camp-http-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (jobs, _) = mpsc::channel();
        App::new(AppParts {
            shared: Arc::new(Shared::new(engine, state)),
            jobs,
            metrics: Arc::new(Prometheus::new()),
            token: None,
            manual: true,
            reader: SqliteStore::open(&dir.join("camp.db")).unwrap(),
            max_body: 1024,
        })
    }

    #[tokio::test]
    async fn healthz_fails_once_the_writer_or_the_snapshotter_stops() {
        let app = app();
        assert!(healthz(State(app.clone())).await.is_ok());
        app.0
            .shared
            .snapshotter_running
            .store(false, Ordering::Relaxed);
        let e = healthz(State(app.clone())).await.unwrap_err();
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        app.0
            .shared
            .snapshotter_running
            .store(true, Ordering::Relaxed);
        app.0.shared.writer_running.store(false, Ordering::Relaxed);
        let e = healthz(State(app)).await.unwrap_err();
        assert_eq!(e.code, "unavailable");
        assert!(e.message.contains("writer"));
    }

    #[test]
    fn queries_are_percent_decoded_and_strict() {
        assert_eq!(top(None).unwrap(), 100);
        assert_eq!(top(Some("top=%35")).unwrap(), 5);
        assert_eq!(top(Some("%74op=7")).unwrap(), 7);
        for bad in [
            "top",
            "top=",
            "top=1&top=2",
            "top=%F",
            "top=%FF",
            "x=1",
            "top=-1",
        ] {
            assert_eq!(top(Some(bad)).unwrap_err().code, "bad_query", "{bad}");
        }
    }
}
