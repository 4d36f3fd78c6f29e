//! The decision service's handlers: validate, convert, delegate to the engine, convert back.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use charter_engine::access::{AccessRequest, Decision, RequestError};
use charter_engine::evaluation::evaluate_bytes;
use charter_proto::v1 as pb;
use charter_proto::v1::decision_service_server::DecisionService;
use tonic::{Request, Response, Status};

use super::convert;
use super::decision_log::{self, DecisionLog};
use super::errors;
use super::limits::{Deadline, Limits};
use super::metrics::Metrics;
use super::snapshot::{Snapshot, SnapshotStore};

/// Batches at least this big are decided on a blocking thread, off the async workers
/// (smaller ones cost less than the hand-over).
const BLOCKING_BATCH: usize = 8;

/// The state every call shares.
#[derive(Debug, Clone)]
pub struct Handlers {
    /// The snapshot being served.
    pub store: Arc<SnapshotStore>,
    /// The decision log.
    pub log: Arc<DecisionLog>,
    /// The limits.
    pub limits: Limits,
    /// The metrics.
    pub metrics: Arc<Metrics>,
    /// When the server started.
    pub started: SystemTime,
}

impl Handlers {
    fn finish<T>(
        &self,
        rpc: &'static str,
        started: Instant,
        result: Result<T, Status>,
    ) -> Result<Response<T>, Status> {
        let code = match &result {
            Ok(_) => tonic::Code::Ok,
            Err(status) => status.code(),
        };
        self.metrics.request(rpc, code, started.elapsed());
        result.map(Response::new)
    }

    fn count(&self, decision: &Decision) {
        self.metrics.decision(
            decision.decision.as_str(),
            decision.columns.iter().map(|c| c.effect.as_str()),
        );
    }

    async fn check_access(
        &self,
        message: pb::AccessRequest,
        deadline: Option<Deadline>,
        started: Instant,
    ) -> Result<pb::AccessDecision, Status> {
        let _slot = self.limits.admit()?;
        self.store.check_ready()?;
        Deadline::check(
            deadline,
            "the request was decided (nothing was decided or logged)",
        )?;
        self.log.check().map_err(|e| errors::log(&e))?;
        let mut valid = convert::access_request(message, self.limits.max_columns, "")?;
        let snapshot = self.store.current();
        valid.request.principal = snapshot.directory.resolve(&valid.request.principal);
        let decided = decide(&snapshot, &valid)
            .map_err(|_| errors::panicked("deciding an access request"))?
            .map_err(|e| errors::request(&e))?;
        let mut line = Vec::with_capacity(1024);
        decision_log::write_decision(
            &mut line,
            "CheckAccess",
            &valid.request,
            &decided,
            &snapshot.revision,
            started.elapsed(),
        );
        Deadline::check(
            deadline,
            "its decision was logged (it was neither logged nor returned)",
        )?;
        self.log.record(&line).map_err(|e| errors::log(&e))?;
        self.count(&decided);
        Ok(convert::decision(decided, &snapshot.revision))
    }

    async fn check_access_batch(
        &self,
        message: pb::AccessBatchRequest,
        deadline: Option<Deadline>,
        started: Instant,
    ) -> Result<pb::AccessBatchResponse, Status> {
        let slot = self.limits.admit()?;
        self.store.check_ready()?;
        if message.requests.len() > self.limits.max_batch {
            return Err(errors::invalid(
                "requests",
                format_args!(
                    "{} requests; at most {} per batch",
                    message.requests.len(),
                    self.limits.max_batch
                ),
            ));
        }
        Deadline::check(
            deadline,
            "the batch was decided (nothing was decided or logged)",
        )?;
        self.log.check().map_err(|e| errors::log(&e))?;
        let snapshot = self.store.current();
        let max_columns = self.limits.max_columns;
        let inline = message.requests.len() < BLOCKING_BATCH;
        let decide = {
            let snapshot = Arc::clone(&snapshot);
            // The slot goes with the work: a caller that goes away does not free it while
            // a blocking thread is still deciding its batch.
            move || {
                let decided = decide_batch(&snapshot, message.requests, max_columns, started);
                drop(slot);
                decided
            }
        };
        let (decisions, lines) = if inline {
            decide()
        } else {
            tokio::task::spawn_blocking(decide)
                .await
                .map_err(|_| errors::panicked("deciding a batch"))?
        };
        Deadline::check(
            deadline,
            "its decisions were logged (they were neither logged nor returned)",
        )?;
        self.log.record(&lines).map_err(|e| errors::log(&e))?;
        let decisions = decisions
            .into_iter()
            .map(|decided| match decided {
                Decided::Decision(decision) => {
                    self.count(&decision);
                    convert::decision(decision, &snapshot.revision)
                }
                Decided::Failed(failed) => {
                    self.metrics.decision("deny", std::iter::empty());
                    failed
                }
            })
            .collect();
        Ok(pb::AccessBatchResponse { decisions })
    }

    async fn evaluate_contract(
        &self,
        message: pb::EvaluateContractRequest,
        deadline: Option<Deadline>,
    ) -> Result<pb::ContractEvaluation, Status> {
        let slot = self.limits.admit()?;
        self.store.check_ready()?;
        Deadline::check(deadline, "the contract was evaluated")?;
        if message.contract.is_empty() {
            return Err(errors::invalid("contract", "must not be empty"));
        }
        let file = if message.file_name.trim().is_empty() {
            "contract.yaml".to_owned()
        } else if message.file_name.contains('\0') {
            return Err(errors::invalid("file_name", "must not hold NUL characters"));
        } else {
            message.file_name
        };
        let snapshot = self.store.current();
        tokio::task::spawn_blocking(move || {
            let evaluation = evaluate(&snapshot, &file, &message.contract);
            drop(slot);
            evaluation
        })
        .await
        .map_err(|_| errors::panicked("evaluating a contract"))
    }

    fn status(&self) -> pb::Status {
        let snapshot = self.store.current();
        pb::Status {
            revision: snapshot.revision.clone(),
            policies_revision: snapshot.policies_revision.clone(),
            mesh_revision: snapshot.mesh_revision.clone(),
            product_count: snapshot.access.product_count() as u64,
            policy_count: snapshot.policy_count as u64,
            rule_count: snapshot.rule_count as u64,
            unreadable_contracts: snapshot.unreadable.len() as u64,
            loaded_at: convert::timestamp(snapshot.loaded_at),
            last_reload: self.store.last_reload().map(|r| pb::ReloadOutcome {
                ok: r.ok,
                error: r.error.unwrap_or_default(),
                at: convert::timestamp(r.at),
                trigger: r.trigger.to_owned(),
            }),
            uptime_seconds: SystemTime::now()
                .duration_since(self.started)
                .unwrap_or_default()
                .as_secs(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            bundle: self.store.bundle().map(|b| b.to_proto()),
        }
    }
}

/// A batch item: its decision, or the deny that stands for an item that could not be decided.
enum Decided {
    Decision(Decision),
    Failed(pb::AccessDecision),
}

/// Decides (or explains) one validated request; a panic is caught, not spread.
fn decide(
    snapshot: &Snapshot,
    valid: &convert::Validated,
) -> std::thread::Result<Result<Decision, RequestError>> {
    catch_unwind(AssertUnwindSafe(|| {
        if valid.explain {
            snapshot.access.explain(&valid.request)
        } else {
            snapshot.access.decide(&valid.request)
        }
    }))
}

/// Decides every item; an item that fails is a deny with its reason.
fn decide_batch(
    snapshot: &Snapshot,
    requests: Vec<pb::AccessRequest>,
    max_columns: usize,
    started: Instant,
) -> (Vec<Decided>, Vec<u8>) {
    let mut lines = Vec::with_capacity(requests.len() * 1024);
    let mut out = Vec::with_capacity(requests.len());
    for (i, message) in requests.into_iter().enumerate() {
        let prefix = format!("requests[{i}].");
        let mut valid = match convert::access_request(message, max_columns, &prefix) {
            Ok(valid) => valid,
            Err(status) => {
                let message = status.message().to_owned();
                out.push(failed(&mut lines, snapshot, None, message));
                continue;
            }
        };
        valid.request.principal = snapshot.directory.resolve(&valid.request.principal);
        match decide(snapshot, &valid) {
            Ok(Ok(decision)) => {
                decision_log::write_decision(
                    &mut lines,
                    "CheckAccessBatch",
                    &valid.request,
                    &decision,
                    &snapshot.revision,
                    started.elapsed(),
                );
                out.push(Decided::Decision(decision));
            }
            Ok(Err(error)) => {
                let message = format!("{prefix}{error}");
                out.push(failed(&mut lines, snapshot, Some(&valid.request), message));
            }
            Err(_) => {
                tracing::error!(item = i, "deciding a batch item panicked");
                let message = format!("{prefix}internal error while deciding");
                out.push(failed(&mut lines, snapshot, Some(&valid.request), message));
            }
        }
    }
    (out, lines)
}

/// A batch item that could not be decided: logged as such, answered with a deny.
fn failed(
    lines: &mut Vec<u8>,
    snapshot: &Snapshot,
    request: Option<&AccessRequest>,
    message: String,
) -> Decided {
    let id = uuid::Uuid::now_v7().to_string();
    decision_log::write_failure(
        lines,
        "CheckAccessBatch",
        &id,
        request,
        &message,
        &snapshot.revision,
    );
    Decided::Failed(convert::failed_item(id, message, &snapshot.revision))
}

/// Reads and evaluates one contract; an unreadable contract is a `contract/parse` finding.
fn evaluate(snapshot: &Snapshot, file: &str, bytes: &[u8]) -> pb::ContractEvaluation {
    let evaluation = evaluate_bytes(
        file,
        bytes,
        &snapshot.reader,
        &mut snapshot.rules.evaluator(),
    );
    let mut findings: Vec<pb::Finding> = evaluation
        .findings
        .into_iter()
        .map(|f| pb::Finding {
            rule: f.rule,
            severity: convert::severity(f.severity) as i32,
            message: f.message,
            line: f.line,
            path: f.path.unwrap_or_default(),
        })
        .collect();
    findings.sort_by(|a, b| (a.line, &a.rule, &a.message).cmp(&(b.line, &b.rule, &b.message)));
    pb::ContractEvaluation {
        product_id: evaluation
            .contract
            .map(|c| c.product.id)
            .unwrap_or_default(),
        passed: findings
            .iter()
            .all(|f| f.severity != pb::Severity::Error as i32),
        findings,
        revision: snapshot.revision.clone(),
    }
}

#[tonic::async_trait]
impl DecisionService for Handlers {
    async fn check_access(
        &self,
        request: Request<pb::AccessRequest>,
    ) -> Result<Response<pb::AccessDecision>, Status> {
        let started = Instant::now();
        let deadline = request.extensions().get::<Deadline>().copied();
        let result = Handlers::check_access(self, request.into_inner(), deadline, started).await;
        self.finish("CheckAccess", started, result)
    }

    async fn check_access_batch(
        &self,
        request: Request<pb::AccessBatchRequest>,
    ) -> Result<Response<pb::AccessBatchResponse>, Status> {
        let started = Instant::now();
        let deadline = request.extensions().get::<Deadline>().copied();
        let result =
            Handlers::check_access_batch(self, request.into_inner(), deadline, started).await;
        self.finish("CheckAccessBatch", started, result)
    }

    async fn evaluate_contract(
        &self,
        request: Request<pb::EvaluateContractRequest>,
    ) -> Result<Response<pb::ContractEvaluation>, Status> {
        let started = Instant::now();
        let deadline = request.extensions().get::<Deadline>().copied();
        let result = Handlers::evaluate_contract(self, request.into_inner(), deadline).await;
        self.finish("EvaluateContract", started, result)
    }

    async fn get_status(
        &self,
        _request: Request<pb::GetStatusRequest>,
    ) -> Result<Response<pb::Status>, Status> {
        let started = Instant::now();
        let status = self.status();
        self.finish("GetStatus", started, Ok(status))
    }
}
