//! One QuickJS runtime with limits: memory, stack and a wall-clock deadline per call.
//!
//! A sandbox has no I/O (QuickJS's base context has no `std`/`os` modules, no `require`, no
//! `fetch`), and its globals and built-in prototypes are frozen when it is created, so one
//! evaluation cannot leave state behind for the next. Compiled functions are cached by source,
//! so an expression is compiled once per sandbox rather than once per call. After an
//! out-of-memory or interrupted call the runtime is treated as poisoned and must be replaced
//! (reusing a QuickJS context after an allocation failure is not safe).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rquickjs::{CatchResultExt, CaughtError, Context, Ctx, Function, Persistent, Runtime};
use serde_json::Value;

use super::{ExprError, Limits, Scope};

/// The parameters every compiled function takes, in order.
const PARAMS: &str = "$json, $trigger, $node, $vars, $execution, $now";
const PARAM_NAMES: [&str; 6] = ["$json", "$trigger", "$node", "$vars", "$execution", "$now"];

/// Freezes every object reachable from the global object (values, not accessors).
const HARDEN: &str = r#"(function () {
  "use strict";
  const seen = new Set();
  function freeze(o) {
    if (o === null || (typeof o !== "object" && typeof o !== "function") || seen.has(o)) return;
    seen.add(o);
    Object.freeze(o);
    for (const k of Reflect.ownKeys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      if (d && "value" in d) freeze(d.value);
    }
    freeze(Object.getPrototypeOf(o));
  }
  freeze(globalThis);
})();"#;

/// What a compiled function's body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A JavaScript expression; its value is the result.
    Expression,
    /// A function body; `return` gives the result.
    Code,
}

fn wrap(kind: SourceKind, src: &str) -> String {
    match kind {
        SourceKind::Expression => {
            format!("(function ({PARAMS}) {{ \"use strict\"; return (\n{src}\n); }})")
        }
        SourceKind::Code => format!("(function ({PARAMS}) {{ \"use strict\";\n{src}\n}})"),
    }
}

/// Cap on cached functions; the cache is cleared when it is reached.
const CACHE_CAP: usize = 2048;

pub struct Sandbox {
    // Declared first so cached functions are freed before the runtime that owns them.
    cache: HashMap<(SourceKind, String), Persistent<Function<'static>>>,
    ctx: Context,
    rt: Runtime,
    /// Deadline of the running call, in nanoseconds after `epoch`; 0 = none.
    deadline: Arc<AtomicU64>,
    /// Set when the caller gave up on the running call (its step was cancelled).
    abort: Arc<std::sync::Mutex<Option<Arc<AtomicBool>>>>,
    epoch: Instant,
    poisoned: bool,
    calls: u32,
}

/// Calls between explicit cycle collections.
const GC_EVERY: u32 = 64;

impl Sandbox {
    pub fn new(limits: &Limits) -> Result<Self, ExprError> {
        let rt = Runtime::new().map_err(|e| ExprError::Internal(e.to_string()))?;
        rt.set_memory_limit(limits.memory_bytes);
        rt.set_max_stack_size(limits.stack_bytes);
        let deadline = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let watch = deadline.clone();
        let abort: Arc<std::sync::Mutex<Option<Arc<AtomicBool>>>> = Arc::default();
        let aborted = abort.clone();
        rt.set_interrupt_handler(Some(Box::new(move || {
            let d = watch.load(Ordering::Relaxed);
            let late = d != 0 && epoch.elapsed().as_nanos() as u64 > d;
            late || aborted
                .lock()
                .ok()
                .and_then(|a| a.as_ref().map(|f| f.load(Ordering::Relaxed)))
                .unwrap_or(false)
        })));
        let ctx = Context::full(&rt).map_err(|e| ExprError::Internal(e.to_string()))?;
        ctx.with(|c| c.eval::<(), _>(HARDEN))
            .map_err(|e| ExprError::Internal(format!("hardening the sandbox failed: {e}")))?;
        Ok(Self {
            cache: HashMap::new(),
            ctx,
            rt,
            deadline,
            abort,
            epoch,
            poisoned: false,
            calls: 0,
        })
    }

    /// True once a call ran out of memory or time; the sandbox must then be replaced.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Compiles `src` without running it; `Err` carries the syntax error.
    pub fn check(&mut self, kind: SourceKind, src: &str) -> Result<(), ExprError> {
        self.function(kind, src).map(|_| ())
    }

    fn function(
        &mut self,
        kind: SourceKind,
        src: &str,
    ) -> Result<Persistent<Function<'static>>, ExprError> {
        if let Some(f) = self.cache.get(&(kind, src.to_owned())) {
            return Ok(f.clone());
        }
        let compiled = self.ctx.with(|c| {
            let f = c
                .eval::<Function, _>(wrap(kind, src))
                .catch(&c)
                .map_err(|e| ExprError::Syntax {
                    expr: src.to_owned(),
                    message: caught_message(&e),
                })?;
            Ok::<_, ExprError>(Persistent::save(&c, f))
        })?;
        if self.cache.len() >= CACHE_CAP {
            self.cache.clear();
        }
        self.cache.insert((kind, src.to_owned()), compiled.clone());
        Ok(compiled)
    }

    /// Makes later calls stop early once `flag` is set (until replaced).
    pub fn abort_when(&self, flag: Option<Arc<AtomicBool>>) {
        if let Ok(mut a) = self.abort.lock() {
            *a = flag;
        }
    }

    /// Runs one compiled source against a scope, within `timeout`.
    pub fn call(
        &mut self,
        kind: SourceKind,
        src: &str,
        scope: &Scope,
        timeout: Duration,
    ) -> Result<Value, ExprError> {
        let f = self.function(kind, src)?;
        let args = scope.arguments(src);
        let start = self.epoch.elapsed();
        self.deadline
            .store((start + timeout).as_nanos() as u64, Ordering::Relaxed);
        let result = self.ctx.with(|c| -> Result<Value, ExprError> {
            let f = f
                .restore(&c)
                .map_err(|e| ExprError::Internal(e.to_string()))?;
            let parsed = args
                .iter()
                .map(|a| c.json_parse(a.as_bytes()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ExprError::Internal(format!("passing the scope: {e}")))?;
            let mut it = parsed.into_iter();
            let mut next = || it.next().expect("six arguments");
            let out: rquickjs::Value = f
                .call((next(), next(), next(), next(), next(), next()))
                .catch(&c)
                .map_err(|e| runtime_error(src, &e))?;
            to_json(&c, out).map_err(|m| ExprError::Runtime {
                expr: src.to_owned(),
                message: m,
            })
        });
        self.deadline.store(0, Ordering::Relaxed);
        let result = result.map_err(|e| match e {
            ExprError::Runtime { ref message, .. } if message.contains("interrupted") => {
                ExprError::Timeout(timeout)
            }
            ExprError::Runtime { ref message, .. } if message.contains("out of memory") => {
                ExprError::MemoryLimit
            }
            ExprError::Runtime { ref message, .. } if message.contains("stack overflow") => {
                ExprError::StackOverflow
            }
            other => other,
        });
        if matches!(result, Err(ExprError::Timeout(_) | ExprError::MemoryLimit)) {
            self.poisoned = true;
        } else {
            // Reference counting frees most garbage at once; collect cycles now and then so
            // one call's leftovers do not count against a later call's memory limit.
            self.calls = self.calls.wrapping_add(1);
            if self.calls.is_multiple_of(GC_EVERY) {
                self.rt.run_gc();
            }
        }
        result
    }
}

/// Converts a JS result to JSON; `undefined` and functions become `null`.
fn to_json<'js>(c: &Ctx<'js>, v: rquickjs::Value<'js>) -> Result<Value, String> {
    if v.is_undefined() {
        return Ok(Value::Null);
    }
    let text = c
        .json_stringify(v)
        .catch(c)
        .map_err(|e| caught_message(&e))?;
    match text {
        None => Ok(Value::Null),
        Some(s) => {
            let s = s.to_string().map_err(|e| e.to_string())?;
            serde_json::from_str(&s).map_err(|e| format!("result is not JSON: {e}"))
        }
    }
}

fn runtime_error(src: &str, e: &CaughtError<'_>) -> ExprError {
    ExprError::Runtime {
        expr: src.to_owned(),
        message: caught_message(e),
    }
}

fn caught_message(e: &CaughtError<'_>) -> String {
    match e {
        CaughtError::Exception(ex) => {
            let msg = ex.message().unwrap_or_default();
            let name = ex
                .as_object()
                .get::<_, Option<String>>("name")
                .ok()
                .flatten()
                .unwrap_or_else(|| "Error".to_owned());
            if msg.is_empty() {
                name
            } else {
                format!("{name}: {msg}")
            }
        }
        CaughtError::Value(v) => v
            .as_string()
            .and_then(|s| s.to_string().ok())
            .unwrap_or_else(|| format!("uncaught {}", v.type_name())),
        CaughtError::Error(e) => e.to_string(),
    }
}

impl Scope {
    /// The six arguments as JSON text; parameters the source does not mention are `null`, so
    /// a step does not pay for serializing data it never reads.
    fn arguments(&self, src: &str) -> [String; 6] {
        let used = |name: &str| src.contains(name);
        let pick = |i: usize, v: &dyn erased_json::Json| {
            if used(PARAM_NAMES[i]) {
                v.text()
            } else {
                "null".to_owned()
            }
        };
        [
            pick(0, &self.json),
            pick(1, &self.trigger),
            pick(2, &self.nodes),
            pick(3, &self.vars),
            pick(4, &self.execution),
            pick(5, &self.now),
        ]
    }
}

mod erased_json {
    /// Serializes any scope member to JSON text.
    pub trait Json {
        fn text(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn text(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| "null".to_owned())
        }
    }
}
