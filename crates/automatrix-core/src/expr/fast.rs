//! The fast path beyond plain reads: the conditions and choices most workflows write
//! (`$json.score > 50`, `$json.source === "web" && $json.fleet`, `$json.score > 50 ? "hot" :
//! "cold"`) are evaluated here, without a trip to a sandbox thread. The grammar is a small
//! subset of JavaScript: literals (decimal numbers, quoted strings without escapes, `true`,
//! `false`, `null`), plain reads of the scope (see [`super::path`]), parentheses, `!`, `<`,
//! `<=`, `>`, `>=`, `===`, `!==`, `&&`, `||` and `? :`, with JavaScript's precedence and
//! short-circuits.
//!
//! Anything outside the grammar, and every operation whose JavaScript result could differ
//! from the obvious one, declines (`None`) and the sandbox evaluates the expression instead:
//! comparing anything but two numbers or two strings, strict equality involving `null` (a
//! read cannot tell `undefined` from `null`), an object or an array (JavaScript compares
//! those by identity), or a read that itself declines.

use std::cmp::Ordering;

use serde_json::{Number, Value};

use super::{Scope, path, truthy};

/// The value of `expr` when it is in the subset, `None` when the sandbox must evaluate it.
pub(super) fn eval(expr: &str, scope: &Scope) -> Option<Value> {
    // A plain read is by far the most common expression: no parse needed.
    if let Some(v) = path::read(expr, scope) {
        return Some(v);
    }
    let mut p = Parser {
        src: expr,
        at: 0,
        depth: 0,
    };
    let ast = p.conditional()?;
    p.skip_space();
    if p.at != expr.len() {
        return None;
    }
    ast.eval(scope)
}

enum Ast<'a> {
    Literal(Value),
    Read(&'a str),
    Not(Box<Ast<'a>>),
    Compare(Op, Box<Ast<'a>>, Box<Ast<'a>>),
    And(Box<Ast<'a>>, Box<Ast<'a>>),
    Or(Box<Ast<'a>>, Box<Ast<'a>>),
    Choose(Box<Ast<'a>>, Box<Ast<'a>>, Box<Ast<'a>>),
}

#[derive(Clone, Copy)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Ast<'_> {
    fn eval(&self, scope: &Scope) -> Option<Value> {
        Some(match self {
            Ast::Literal(v) => v.clone(),
            Ast::Read(src) => path::read(src, scope)?,
            Ast::Not(x) => Value::Bool(!truthy(&x.eval(scope)?)),
            Ast::And(a, b) => {
                let a = a.eval(scope)?;
                if truthy(&a) { b.eval(scope)? } else { a }
            }
            Ast::Or(a, b) => {
                let a = a.eval(scope)?;
                if truthy(&a) { a } else { b.eval(scope)? }
            }
            Ast::Choose(c, a, b) => {
                if truthy(&c.eval(scope)?) {
                    a.eval(scope)?
                } else {
                    b.eval(scope)?
                }
            }
            Ast::Compare(op, a, b) => Value::Bool(compare(*op, &a.eval(scope)?, &b.eval(scope)?)?),
        })
    }
}

/// `a op b` as JavaScript has it, where that is certain.
fn compare(op: Op, a: &Value, b: &Value) -> Option<bool> {
    if matches!(op, Op::Eq | Op::Ne) {
        let same = match (a, b) {
            (Value::Null, _) | (_, Value::Null) => return None,
            (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => {
                return None;
            }
            (Value::Number(x), Value::Number(y)) => x.as_f64()? == y.as_f64()?,
            (Value::String(x), Value::String(y)) => x == y,
            (Value::Bool(x), Value::Bool(y)) => x == y,
            _ => false, // different types: never strictly equal
        };
        return Some(same == matches!(op, Op::Eq));
    }
    let order = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?)?,
        // JavaScript orders strings by UTF-16 code units.
        (Value::String(x), Value::String(y)) => x.encode_utf16().cmp(y.encode_utf16()),
        _ => return None,
    };
    Some(match op {
        Op::Lt => order == Ordering::Less,
        Op::Le => order != Ordering::Greater,
        Op::Gt => order == Ordering::Greater,
        Op::Ge => order != Ordering::Less,
        Op::Eq | Op::Ne => unreachable!("handled above"),
    })
}

/// Nesting deeper than this declines (the sandbox has its own stack limit).
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    src: &'a str,
    at: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.at..]
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    /// Consumes `token` if it comes next (after spaces) and is not the start of a longer
    /// operator (`<` of `<=`, `!` of `!==`, `=` of `==` …).
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        let rest = self.rest();
        if !rest.starts_with(token) {
            return false;
        }
        let next = rest[token.len()..].chars().next();
        let longer = match token {
            "<" | ">" | "!" => next == Some('='),
            "!==" | "===" => next == Some('='),
            "?" => next == Some('?') || next == Some('.'),
            "&&" | "||" => next == Some('='),
            _ => false,
        };
        if longer {
            return false;
        }
        self.at += token.len();
        true
    }

    fn conditional(&mut self) -> Option<Ast<'a>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let cond = self.or()?;
        let out = if self.eat("?") {
            let a = self.conditional()?;
            if !self.eat(":") {
                return None;
            }
            let b = self.conditional()?;
            Ast::Choose(Box::new(cond), Box::new(a), Box::new(b))
        } else {
            cond
        };
        self.depth -= 1;
        Some(out)
    }

    fn or(&mut self) -> Option<Ast<'a>> {
        let mut left = self.and()?;
        while self.eat("||") {
            left = Ast::Or(Box::new(left), Box::new(self.and()?));
        }
        Some(left)
    }

    fn and(&mut self) -> Option<Ast<'a>> {
        let mut left = self.equality()?;
        while self.eat("&&") {
            left = Ast::And(Box::new(left), Box::new(self.equality()?));
        }
        Some(left)
    }

    fn equality(&mut self) -> Option<Ast<'a>> {
        let mut left = self.relational()?;
        loop {
            let op = if self.eat("===") {
                Op::Eq
            } else if self.eat("!==") {
                Op::Ne
            } else {
                return Some(left);
            };
            left = Ast::Compare(op, Box::new(left), Box::new(self.relational()?));
        }
    }

    fn relational(&mut self) -> Option<Ast<'a>> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat("<=") {
                Op::Le
            } else if self.eat(">=") {
                Op::Ge
            } else if self.eat("<") {
                Op::Lt
            } else if self.eat(">") {
                Op::Gt
            } else {
                return Some(left);
            };
            left = Ast::Compare(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Option<Ast<'a>> {
        if self.eat("!") {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return None;
            }
            let x = self.unary()?;
            self.depth -= 1;
            return Some(Ast::Not(Box::new(x)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Option<Ast<'a>> {
        self.skip_space();
        if self.eat("(") {
            let x = self.conditional()?;
            return self.eat(")").then_some(x);
        }
        let rest = self.rest();
        let first = rest.chars().next()?;
        if first == '"' || first == '\'' {
            let end = rest[1..].find(first)? + 1;
            let text = &rest[1..end];
            if text.contains(['\\', '\n', '\r']) {
                return None;
            }
            self.at += end + 1;
            return Some(Ast::Literal(Value::String(text.to_owned())));
        }
        if first.is_ascii_digit() {
            let len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let text = &rest[..len];
            // No legacy octal (`07`), no `1.`, no exponent or identifier glued on.
            let next = rest[len..].chars().next();
            let octal = text.len() > 1 && text.starts_with('0') && !text.starts_with("0.");
            if octal
                || text.ends_with('.')
                || text.matches('.').count() > 1
                || next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            {
                return None;
            }
            self.at += len;
            return Some(Ast::Literal(js_number(text.parse().ok()?)?));
        }
        if first == '$' {
            let len = read_len(rest)?;
            self.at += len;
            return Some(Ast::Read(&rest[..len]));
        }
        for (word, value) in [
            ("true", Value::Bool(true)),
            ("false", Value::Bool(false)),
            ("null", Value::Null),
        ] {
            if let Some(after) = rest.strip_prefix(word)
                && !after
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
            {
                self.at += word.len();
                return Some(Ast::Literal(value));
            }
        }
        None
    }
}

/// The length of the read at the start of `s`: `$root` and its accessors (`.name`, `[...]`).
fn read_len(s: &str) -> Option<usize> {
    let ident = |from: usize| {
        s[from..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
            .map_or(s.len(), |n| from + n)
    };
    let mut at = ident(1);
    loop {
        let rest = &s[at..];
        if rest.starts_with('.') {
            at = ident(at + 1);
        } else if rest.starts_with('[') {
            at += rest.find(']')? + 1;
        } else {
            return Some(at);
        }
    }
}

/// A number literal as the sandbox returns it (integral values as integers, see
/// [`path::number`]); `None` (the sandbox decides) for an integer a double cannot hold.
fn js_number(f: f64) -> Option<Value> {
    Number::from_f64(f)
        .and_then(|n| path::number(&n))
        .map(Value::Number)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Map, json};

    use super::super::{Limits, Sandbox, SourceKind};
    use super::*;

    fn scope() -> Scope {
        let mut nodes = Map::new();
        nodes.insert("crm".into(), json!({"id": 42, "stage": "lead"}));
        Scope {
            json: json!({"score": 72, "source": "web", "fleet": false, "price": 19.5, "name": "Ann",
                         "accent": "é", "astral": "😀", "high": "\u{ff61}", "empty": "", "zero": 0,
                         "none": null, "tags": ["vip"], "lead": {"score": 10}, "huge": 9007199254740993u64}),
            trigger: json!({"body": {"score": 72, "lead": {"email": "ann@buyer.example"}}}),
            nodes,
            vars: json!({"threshold": 50}),
            execution: json!({"id": "e1", "attempt": 1}),
            now: "2026-11-22T10:00:00.000Z".into(),
        }
    }

    /// Every expression here must be evaluated by the fast path, with the sandbox's answer.
    #[test]
    fn the_fast_path_gives_what_the_sandbox_gives() {
        let s = scope();
        let mut sandbox = Sandbox::new(&Limits::default()).unwrap();
        for e in [
            "$json.score > 50",
            "$json.score > 50 ? \"hot\" : \"cold\"",
            "$json.score<50?'cold':'hot'",
            "$trigger.body.score >= $vars.threshold",
            "$json.score <= 72 && $json.score >= 72",
            "$json.price < 20",
            "$json.source === \"web\"",
            "$json.source !== 'web'",
            "$json.source === 'web' && $json.fleet",
            "$json.fleet || $json.source",
            "$json.fleet || $json.zero",
            "$json.empty || 'none given'",
            "!$json.fleet",
            "!!$json.source",
            "!$json.tags",
            "($json.score > 50) === true",
            "$json.score === 72",
            "$json.score === 72.0",
            "$json.score === '72'",
            "$json.fleet === false",
            "$node.crm.stage === 'lead' ? $node.crm.id : 0",
            "$json.name < 'Bob'",
            "$json.accent > 'z'",
            "$json.astral < $json.high",
            "$json.none && $json.none.x",
            "$json.lead.score > 5 ? ($json.score > 90 ? 'hot' : 'warm') : 'cold'",
            "1.5 > 1",
            "0.5",
            "3.0",
            "null",
            "true && 'yes'",
            "$json.missing || 'fallback'",
        ] {
            let fast = eval(e, &s).unwrap_or_else(|| panic!("`{e}` should take the fast path"));
            let slow = sandbox
                .call(SourceKind::Expression, e, &s, Duration::from_secs(1))
                .unwrap();
            assert_eq!(fast, slow, "{e}");
        }
    }

    #[test]
    fn anything_uncertain_goes_to_the_sandbox() {
        let s = scope();
        for e in [
            "$json.score + 1",
            "$json.score > '50'",
            "$json.none === null",
            "$json.missing === null",
            "$json.tags === $json.tags",
            "$json.score == 72",
            "$json.score != 72",
            "$json.none > 1",
            "$json.fleet < true",
            "$json.huge > 1",
            "$json.name.length > 2",
            "$json.name.toUpperCase()",
            "-1 < 0",
            "07 > 6",
            "1e3 > 1",
            "'a\\'b'",
            "`x`",
            "$json.score > 50 ?",
            "($json.score",
            "$json.score > 50 ? 'a'",
            "Math.max(1, 2)",
            "$json?.score > 1",
            "$json.score ?? 1",
            "truex",
            "$json.score >>= 1",
            "$json.score &&= 1",
        ] {
            assert_eq!(eval(e, &s), None, "{e}");
        }
    }

    #[test]
    fn short_circuits_skip_what_would_throw() {
        let s = scope();
        assert_eq!(eval("$json.none && $json.none.x", &s), Some(Value::Null));
        assert_eq!(eval("$json.source || $json.none.x", &s), Some(json!("web")));
        // Evaluated, the right side declines, and so does the whole.
        assert_eq!(eval("$json.source && $json.none.x", &s), None);
    }

    #[test]
    fn deep_nesting_declines() {
        let e = format!("{}1{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(eval(&e, &scope()), None);
        let e = format!("{}true", "!".repeat(40));
        assert_eq!(eval(&e, &scope()), None);
    }
}
