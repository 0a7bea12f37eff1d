//! `{{ expression }}` templates inside config strings.
//!
//! A string that is exactly one expression keeps the expression's JSON type; any other string
//! with expressions is interpolated as text. The closing `}}` is the first one at which the
//! braces inside the expression balance, so object literals (`{{ {a: {b: 1}} }}`) work.

/// A parsed template string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Template {
    /// No expression: the string as is.
    Literal,
    /// The whole string is one expression; its result keeps its JSON type.
    Whole(String),
    /// Text with expressions interpolated.
    Parts(Vec<Part>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Text(String),
    Expr(String),
}

/// A `{{` without its `}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unclosed;

/// Whether a string may contain an expression at all (the cheap pre-check).
pub fn has_expression(s: &str) -> bool {
    s.contains("{{")
}

/// Splits a string into text and expressions.
pub fn parse(s: &str) -> Result<Template, Unclosed> {
    if !has_expression(s) {
        return Ok(Template::Literal);
    }
    let mut parts = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_owned()));
        }
        let body = &rest[start + 2..];
        let end = closing(body).ok_or(Unclosed)?;
        parts.push(Part::Expr(body[..end].trim().to_owned()));
        rest = &body[end + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    if let [Part::Expr(e)] = parts.as_slice() {
        return Ok(Template::Whole(e.clone()));
    }
    Ok(Template::Parts(parts))
}

/// Index of the `}}` that closes an expression body, skipping braces in string literals.
fn closing(body: &str) -> Option<usize> {
    let bytes = body.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) => {
                if b == b'\\' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'"' | b'\'' | b'`' => quote = Some(b),
                b'{' => depth += 1,
                b'}' if depth == 0 && bytes.get(i + 1) == Some(&b'}') => return Some(i),
                b'}' => depth = depth.saturating_sub(1),
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Every expression source in a template.
pub fn expressions(t: &Template) -> Vec<&str> {
    match t {
        Template::Literal => Vec::new(),
        Template::Whole(e) => vec![e.as_str()],
        Template::Parts(parts) => parts
            .iter()
            .filter_map(|p| match p {
                Part::Expr(e) => Some(e.as_str()),
                Part::Text(_) => None,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strings_are_literal() {
        assert_eq!(parse("hello").unwrap(), Template::Literal);
    }

    #[test]
    fn a_lone_expression_is_whole() {
        assert_eq!(
            parse("{{ $json.a }}").unwrap(),
            Template::Whole("$json.a".into())
        );
    }

    #[test]
    fn text_around_expressions_is_interpolated() {
        assert_eq!(
            parse("Hi {{ $json.name }}!").unwrap(),
            Template::Parts(vec![
                Part::Text("Hi ".into()),
                Part::Expr("$json.name".into()),
                Part::Text("!".into())
            ])
        );
    }

    #[test]
    fn object_literals_and_strings_with_braces_do_not_close_early() {
        assert_eq!(
            parse("{{ {a: {b: 1}} }}").unwrap(),
            Template::Whole("{a: {b: 1}}".into())
        );
        assert_eq!(
            parse("{{ '}}' + 'x' }}").unwrap(),
            Template::Whole("'}}' + 'x'".into())
        );
    }

    #[test]
    fn an_unclosed_expression_is_an_error() {
        assert_eq!(parse("{{ $json.a "), Err(Unclosed));
    }

    #[test]
    fn two_expressions_are_parts() {
        let t = parse("{{ 1 }}{{ 2 }}").unwrap();
        assert_eq!(expressions(&t), vec!["1", "2"]);
    }
}
