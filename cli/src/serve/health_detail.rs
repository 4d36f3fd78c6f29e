//! `GET /health` on the metrics listener: whether decisions are served and why not, with
//! the snapshot and bundle revisions and the last bundle error (for people and dashboards;
//! probes use `grpc.health.v1`).

use std::sync::Arc;

use serde_json::json;

use super::convert::timestamp;
use super::decision_log::DecisionLog;
use super::metrics::HealthFn;
use super::snapshot::SnapshotStore;

/// The `/health` answer of a server with `store` and `log`.
pub fn detail(store: Arc<SnapshotStore>, log: Arc<DecisionLog>) -> HealthFn {
    Box::new(move || {
        let ready = store.is_ready();
        let log_error = log.check().err().map(|e| e.to_string());
        let serving = ready && log_error.is_none();
        let reason = if !ready {
            Some("no policy bundle has been activated yet".to_owned())
        } else {
            log_error.clone()
        };
        let snapshot = store.current();
        let bundle = store.bundle().map(|b| {
            json!({
                "url": b.url,
                "revision": b.revision,
                "etag": b.etag,
                "activated_at": b.activated_at.map(timestamp),
                "from_cache": b.from_cache,
                "signed": b.signed,
                "last_error": b.last_error,
                "last_error_at": b.last_error_at.map(timestamp),
                "last_checked_at": b.last_checked_at.map(timestamp),
            })
        });
        let body = json!({
            "status": if serving { "SERVING" } else { "NOT_SERVING" },
            "reason": reason,
            "revision": if ready { Some(snapshot.revision.clone()) } else { None },
            "bundle": bundle,
            "decision_log": {"ok": log_error.is_none(), "error": log_error},
        });
        (serving, body.to_string())
    })
}
