//! The fast path: an expression that only reads a value (`$trigger.body.email`,
//! `$node["crm"].id`, `$json.items[0]`) is looked up in the scope directly instead of taking a
//! trip to a sandbox thread. The lookup gives what the sandbox would give (`undefined` is
//! `null`; numbers as JavaScript has them); whenever it could differ (a property of something
//! that is not an object or array, a member of `Object.prototype`, an integer JavaScript would
//! round) it declines, and the sandbox evaluates the expression as before.

use serde_json::{Map, Number, Value};

use super::Scope;

/// The roots an expression may read, longest first where one prefixes another.
const ROOTS: [&str; 6] = ["$execution", "$trigger", "$json", "$node", "$vars", "$now"];

/// What `Object.prototype` offers every object: reading one of these is left to the sandbox.
const PROTOTYPE: [&str; 12] = [
    "constructor",
    "__proto__",
    "toString",
    "toLocaleString",
    "valueOf",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
];

/// Integers JavaScript holds exactly.
const SAFE_INTEGER: u64 = (1 << 53) - 1;

/// The value of `expr` if it is a plain read of the scope, `None` otherwise.
pub(super) fn read(expr: &str, scope: &Scope) -> Option<Value> {
    let expr = expr.trim();
    let root = ROOTS.iter().find(|r| {
        expr.starts_with(**r)
            && !expr[r.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    })?;
    let mut rest = &expr[root.len()..];
    let nodes;
    let now;
    let mut at: Option<&Value> = Some(match *root {
        "$json" => &scope.json,
        "$trigger" => &scope.trigger,
        "$vars" => &scope.vars,
        "$execution" => &scope.execution,
        "$now" => {
            now = Value::String(scope.now.clone());
            &now
        }
        _ => {
            // `$node` is a map of its own; its first key needs no copy of the map.
            match key(&mut rest)? {
                Some(Key::Name(id)) => {
                    if !scope.nodes.contains_key(id) && PROTOTYPE.contains(&id) {
                        return None;
                    }
                    match scope.nodes.get(id) {
                        Some(v) => v,
                        None => return finish(None, rest),
                    }
                }
                Some(Key::Index(_)) => return None,
                None => {
                    nodes = Value::Object(scope.nodes.clone());
                    &nodes
                }
            }
        }
    });
    while let Some(k) = key(&mut rest)? {
        // Reading a property of `undefined` throws: the sandbox says how.
        let v = at?;
        at = match (v, k) {
            (Value::Object(o), Key::Name(name)) => match o.get(name) {
                Some(x) => Some(x),
                None if PROTOTYPE.contains(&name) => return None,
                None => None,
            },
            (Value::Object(o), Key::Index(i)) => o.get(&i.to_string()),
            (Value::Array(a), Key::Index(i)) => a.get(i),
            _ => return None,
        };
    }
    finish(at, rest)
}

/// The result of a read that ended at `at` with `rest` left over.
fn finish(at: Option<&Value>, rest: &str) -> Option<Value> {
    if !rest.trim().is_empty() {
        return None;
    }
    at.map_or(Some(Value::Null), as_javascript_has_it)
}

enum Key<'a> {
    Name(&'a str),
    Index(usize),
}

/// The next accessor of `rest` (`.name`, `["name"]`, `['name']`, `[3]`), moving past it.
/// `Some(None)`: none left; `None`: something that is not an accessor follows.
fn key<'a>(rest: &mut &'a str) -> Option<Option<Key<'a>>> {
    let s = *rest;
    if let Some(after) = s.strip_prefix('.') {
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
            .unwrap_or(after.len());
        let name = &after[..end];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        *rest = &after[end..];
        return Some(Some(Key::Name(name)));
    }
    let Some(inside) = s.strip_prefix('[') else {
        return if s.trim().is_empty() {
            Some(None)
        } else {
            None
        };
    };
    let close = inside.find(']')?;
    let body = inside[..close].trim();
    *rest = &inside[close + 1..];
    if let Some(quote) = body.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let name = body.strip_prefix(quote)?.strip_suffix(quote)?;
        if name.contains(['\\', '"', '\'']) {
            return None;
        }
        return Some(Some(Key::Name(name)));
    }
    let canonical = body == "0" || (!body.starts_with('0') && !body.is_empty());
    if canonical && body.bytes().all(|b| b.is_ascii_digit()) {
        return body.parse().ok().map(|i| Some(Key::Index(i)));
    }
    None
}

/// `v` as the sandbox returns it: numbers pass through JavaScript's doubles, so an integral
/// float becomes an integer; `None` for an integer beyond what a double holds exactly.
fn as_javascript_has_it(v: &Value) -> Option<Value> {
    Some(match v {
        Value::Number(n) => Value::Number(number(n)?),
        Value::Array(a) => Value::Array(a.iter().map(as_javascript_has_it).collect::<Option<_>>()?),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Some((k.clone(), as_javascript_has_it(x)?)))
                .collect::<Option<Map<_, _>>>()?,
        ),
        other => other.clone(),
    })
}

pub(super) fn number(n: &Number) -> Option<Number> {
    if let Some(u) = n.as_u64() {
        return (u <= SAFE_INTEGER).then(|| n.clone());
    }
    if let Some(i) = n.as_i64() {
        return (i.unsigned_abs() <= SAFE_INTEGER).then(|| n.clone());
    }
    let f = n.as_f64()?;
    if f.fract() != 0.0 {
        return Some(n.clone());
    }
    // An integral double prints as an integer (`-0` as `0`).
    (f.abs() <= SAFE_INTEGER as f64).then(|| Number::from(f as i64))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scope() -> Scope {
        let mut nodes = Map::new();
        nodes.insert("crm".into(), json!({"id": 42, "tags": ["vip"]}));
        Scope {
            json: json!({"score": 72, "items": [{"sku": "A1"}, {"sku": "B2"}], "price": 19.5, "whole": 3.0, "huge": 9007199254740993u64, "empty": null}),
            trigger: json!({"body": {"email": "ann@buyer.example", "first name": "Ann"}}),
            nodes,
            vars: json!({"crm_url": "https://crm.example"}),
            execution: json!({"id": "e1", "attempt": 1}),
            now: "2026-11-22T10:00:00.000Z".into(),
        }
    }

    #[test]
    fn plain_reads_are_looked_up() {
        let s = scope();
        let read = |e| read(e, &s);
        assert_eq!(
            read("$trigger.body.email"),
            Some(json!("ann@buyer.example"))
        );
        assert_eq!(read(" $trigger.body['first name'] "), Some(json!("Ann")));
        assert_eq!(read("$json.items[1].sku"), Some(json!("B2")));
        assert_eq!(read("$json[\"score\"]"), Some(json!(72)));
        assert_eq!(read("$node[\"crm\"].tags[0]"), Some(json!("vip")));
        assert_eq!(read("$node.crm.id"), Some(json!(42)));
        assert_eq!(read("$vars.crm_url"), Some(json!("https://crm.example")));
        assert_eq!(read("$execution.attempt"), Some(json!(1)));
        assert_eq!(read("$now"), Some(json!("2026-11-22T10:00:00.000Z")));
        assert_eq!(read("$json.price"), Some(json!(19.5)));
        assert_eq!(
            read("$json.whole"),
            Some(json!(3)),
            "an integral double is an integer"
        );
        // What JavaScript calls undefined is null.
        assert_eq!(read("$json.missing"), Some(Value::Null));
        assert_eq!(read("$json.items[9]"), Some(Value::Null));
        assert_eq!(read("$node.ghost"), Some(Value::Null));
        assert_eq!(read("$json.empty"), Some(Value::Null));
    }

    #[test]
    fn a_read_gives_what_the_sandbox_gives() {
        let s = scope();
        let mut sandbox = super::super::Sandbox::new(&super::super::Limits::default()).unwrap();
        for e in [
            "$trigger.body.email",
            "$trigger.body['first name']",
            "$trigger.body",
            "$json.items",
            "$json.items[1]",
            "$json.price",
            "$json.whole",
            "$json.missing",
            "$json.items[9]",
            "$node.crm",
            "$node.ghost",
            "$node",
            "$vars",
            "$execution",
            "$now",
        ] {
            let fast = read(e, &s).unwrap_or_else(|| panic!("{e} is a plain read"));
            let slow = sandbox
                .call(
                    super::super::SourceKind::Expression,
                    e,
                    &s,
                    std::time::Duration::from_secs(1),
                )
                .unwrap();
            assert_eq!(fast, slow, "{e}");
        }
    }

    #[test]
    fn anything_else_goes_to_the_sandbox() {
        let s = scope();
        for e in [
            "$json.score > 50",
            "$json.items.length",
            "$json.missing.deeper",
            "$json.empty.x",
            "$trigger.body.email.length",
            "$json.toString",
            "$json.constructor",
            "$json.huge",
            "$json",
            "$json.items[01]",
            "$json.items[-1]",
            "$json['a\\'b']",
            "$jsonx",
            "$json.",
            "$json.9a",
            "$trigger?.body",
            "`${$json.score}`",
            "$json.score + 1",
            "Math.max(1, 2)",
            "$node.crm.id()",
        ] {
            assert_eq!(read(e, &s), None, "{e}");
        }
    }
}
