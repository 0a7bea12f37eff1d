//! Expressions (`{{ js }}` in config strings) and code (`code.js` bodies), run in QuickJS
//! sandboxes on a small pool of dedicated threads.
//!
//! QuickJS runtimes are not `Send`, so each pool thread owns one [`Sandbox`] and async callers
//! talk to the pool through a channel. A config with no `{{` never reaches the pool, nor one
//! whose expressions are all plain reads or simple conditions of them (`fast`).

mod fast;
mod path;
mod sandbox;
pub mod template;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::oneshot;

pub use sandbox::{Sandbox, SourceKind};
use template::{Part, Template};

/// Resource limits of one sandbox call.
#[derive(Clone, Debug)]
pub struct Limits {
    pub memory_bytes: usize,
    pub stack_bytes: usize,
    /// Wall-clock limit of one expression.
    pub expression_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 * 1024 * 1024,
            stack_bytes: 1024 * 1024,
            expression_timeout: Duration::from_millis(1000),
        }
    }
}

/// What an expression sees.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Scope {
    /// `$json`: the node's input.
    pub json: Value,
    /// `$trigger`: the execution input.
    pub trigger: Value,
    /// `$node`: outputs of completed nodes, by node id.
    pub nodes: Map<String, Value>,
    /// `$vars`: workflow variables.
    pub vars: Value,
    /// `$execution`: `{id, workflow_id, attempt}`.
    pub execution: Value,
    /// `$now`: ISO-8601 UTC.
    pub now: String,
}

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ExprError {
    #[error("syntax error in `{expr}`: {message}")]
    Syntax { expr: String, message: String },
    #[error("`{expr}` failed: {message}")]
    Runtime { expr: String, message: String },
    #[error("unclosed `{{{{` in `{0}`")]
    Unclosed(String),
    #[error("script ran longer than its limit of {0:?}")]
    Timeout(Duration),
    #[error("script exceeded its memory limit")]
    MemoryLimit,
    #[error("script exceeded its stack limit (too much recursion)")]
    StackOverflow,
    #[error("expression sandbox unavailable: {0}")]
    Internal(String),
}

enum Job {
    Resolve {
        config: Value,
        skip: Vec<String>,
        scope: Arc<Scope>,
        reply: Reply,
        abort: Arc<AtomicBool>,
    },
    Code {
        code: String,
        scope: Arc<Scope>,
        timeout: Duration,
        reply: Reply,
        abort: Arc<AtomicBool>,
    },
}

impl Job {
    fn abort_flag(&self) -> Arc<AtomicBool> {
        match self {
            Self::Resolve { abort, .. } | Self::Code { abort, .. } => abort.clone(),
        }
    }
}

/// Sets the job's abort flag when the caller stops waiting (e.g. its step was cancelled), so
/// the sandbox thread is freed at once instead of at the time limit.
struct AbortOnDrop(Arc<AtomicBool>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

type Reply = oneshot::Sender<Result<Value, ExprError>>;

/// Handle to the sandbox pool; cheap to clone.
#[derive(Clone)]
pub struct Expressions {
    tx: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Expressions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Expressions")
    }
}

impl Expressions {
    /// Starts `threads` sandbox threads. They stop when the last handle is dropped.
    pub fn new(threads: usize, limits: Limits) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let limits = limits.clone();
            std::thread::Builder::new()
                .name(format!("automatrix-js-{i}"))
                .stack_size(16 * 1024 * 1024)
                .spawn(move || worker(&rx, &limits))
                .expect("spawning a sandbox thread");
        }
        Self { tx }
    }

    /// Expands every `{{ }}` template in `config`, leaving top-level fields named in `skip`
    /// untouched (code fields).
    pub async fn resolve(
        &self,
        config: &Value,
        skip: &[&str],
        scope: Arc<Scope>,
    ) -> Result<Value, ExprError> {
        if !contains_template(config, skip) {
            return Ok(config.clone());
        }
        // Plain reads of the scope, and conditions and choices built of them, need no sandbox.
        let read = &mut |e: &str| fast::eval(e, &scope).ok_or(Declined);
        if let Ok(v) = expand(config, skip, true, read) {
            return Ok(v);
        }
        let skip = skip.iter().map(|s| (*s).to_owned()).collect();
        self.ask(|reply, abort| Job::Resolve {
            config: config.clone(),
            skip,
            scope,
            reply,
            abort,
        })
        .await
    }

    /// Runs a function body; its `return` value is the result.
    pub async fn run_code(
        &self,
        code: &str,
        scope: Arc<Scope>,
        timeout: Duration,
    ) -> Result<Value, ExprError> {
        let code = code.to_owned();
        self.ask(|reply, abort| Job::Code {
            code,
            scope,
            timeout,
            reply,
            abort,
        })
        .await
    }

    async fn ask(
        &self,
        job: impl FnOnce(Reply, Arc<AtomicBool>) -> Job,
    ) -> Result<Value, ExprError> {
        let (reply, rx) = oneshot::channel();
        let abort = Arc::new(AtomicBool::new(false));
        let _guard = AbortOnDrop(abort.clone());
        self.tx
            .send(job(reply, abort))
            .map_err(|_| ExprError::Internal("sandbox pool stopped".into()))?;
        rx.await
            .map_err(|_| ExprError::Internal("sandbox thread died".into()))?
    }
}

fn worker(rx: &Mutex<mpsc::Receiver<Job>>, limits: &Limits) {
    let mut sandbox: Option<Sandbox> = None;
    loop {
        let job = {
            let Ok(rx) = rx.lock() else { return };
            match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        if job.abort_flag().load(Ordering::Relaxed) {
            continue; // nobody is waiting any more
        }
        let sb = match sandbox.take().map_or_else(|| Sandbox::new(limits), Ok) {
            Ok(sb) => sandbox.insert(sb),
            Err(e) => {
                reply_err(job, e);
                continue;
            }
        };
        sb.abort_when(Some(job.abort_flag()));
        match job {
            Job::Resolve {
                config,
                skip,
                scope,
                reply,
                ..
            } => {
                let _ = reply.send(resolve_value(sb, &config, &skip, &scope, limits, true));
            }
            Job::Code {
                code,
                scope,
                timeout,
                reply,
                ..
            } => {
                let _ = reply.send(sb.call(SourceKind::Code, &code, &scope, timeout));
            }
        }
        if sandbox.as_ref().is_some_and(Sandbox::is_poisoned) {
            sandbox = None;
        }
    }
}

fn reply_err(job: Job, e: ExprError) {
    let reply = match job {
        Job::Resolve { reply, .. } | Job::Code { reply, .. } => reply,
    };
    let _ = reply.send(Err(e));
}

/// Whether any string in `v` (outside the top-level `skip` fields) holds a template.
pub fn contains_template(v: &Value, skip: &[&str]) -> bool {
    match v {
        Value::String(s) => template::has_expression(s),
        Value::Array(a) => a.iter().any(|x| contains_template(x, &[])),
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| !skip.contains(&k.as_str()) && contains_template(x, &[])),
        _ => false,
    }
}

fn resolve_value(
    sb: &mut Sandbox,
    v: &Value,
    skip: &[String],
    scope: &Scope,
    limits: &Limits,
    top: bool,
) -> Result<Value, ExprError> {
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    let t = limits.expression_timeout;
    expand(v, &skip, top, &mut |e: &str| {
        sb.call(SourceKind::Expression, e, scope, t)
    })
}

/// A fast-path read that gave up: the sandbox evaluates the config instead.
struct Declined;

/// What expanding a config can fail with besides its expressions.
trait ExpandError {
    fn unclosed(s: &str) -> Self;
}

impl ExpandError for ExprError {
    fn unclosed(s: &str) -> Self {
        ExprError::Unclosed(s.to_owned())
    }
}

impl ExpandError for Declined {
    fn unclosed(_: &str) -> Self {
        Declined
    }
}

/// Expands every template in `v` with `eval`, leaving the `skip` fields of the top level as
/// they are.
fn expand<E: ExpandError>(
    v: &Value,
    skip: &[&str],
    top: bool,
    eval: &mut dyn FnMut(&str) -> Result<Value, E>,
) -> Result<Value, E> {
    Ok(match v {
        Value::String(s) => match template::parse(s).map_err(|_| E::unclosed(s))? {
            Template::Literal => Value::String(s.clone()),
            Template::Whole(e) => eval(&e)?,
            Template::Parts(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        Part::Text(text) => out.push_str(&text),
                        Part::Expr(e) => push_text(&mut out, eval(&e)?),
                    }
                }
                Value::String(out)
            }
        },
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| expand(x, &[], false, eval))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => {
            let mut out = Map::with_capacity(o.len());
            for (k, x) in o {
                let keep = top && skip.contains(&k.as_str());
                let x = if keep {
                    x.clone()
                } else {
                    expand(x, &[], false, eval)?
                };
                out.insert(k.clone(), x);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

/// Interpolation: strings as they are, `null` as nothing, anything else as JSON.
fn push_text(out: &mut String, v: Value) {
    match v {
        Value::String(s) => out.push_str(&s),
        Value::Null => {}
        other => out.push_str(&other.to_string()),
    }
}

/// JavaScript truthiness of a JSON value (`logic.if` conditions).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests;
