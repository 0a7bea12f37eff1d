//! Reading an ADF 1.0 lead as lead providers really send it: tags in any case, an
//! `<?ADF VERSION "1.0"?>` before the XML declaration, CDATA, stray `&`, parts missing. What is
//! not an ADF lead at all (not XML, an HTML page, another XML) is an error that says what it is.

use std::borrow::Cow;

use roxmltree::{Document, Node, ParsingOptions};

use super::lead::{
    Address, Customer, Lead, Odometer, Party, Phone, Timeframe, Vehicle, read_whole_number,
};
use crate::datetime::{Written, read_text};
use crate::dealer::phone;

/// A lead is a few kilobytes; this bounds the tree a hostile document can make.
const NODES_LIMIT: u32 = 200_000;

/// Reads `xml` as an ADF lead; phone numbers without a country code are read in
/// `default_country`. The error says why the text is not a lead.
pub fn parse(xml: &str, default_country: &str) -> Result<Lead, String> {
    let text = prepare(xml);
    let text = text.as_ref();
    if text.is_empty() {
        return Err("not an ADF lead: the text is empty".to_owned());
    }
    if !text.starts_with('<') {
        let start: String = text.chars().take(20).collect();
        return Err(format!(
            "not an ADF lead: the text is not XML (it starts with `{start}`)"
        ));
    }
    if declares_entities(text) {
        // roxmltree stops nested expansion (billion laughs) but not one large entity referenced
        // many times; leads never declare entities, so none are expanded at all.
        return Err(
            "not an ADF lead: the document declares XML entities (<!ENTITY>), which leads never do"
                .to_owned(),
        );
    }
    let repaired;
    let doc = match read(text) {
        Ok(doc) => doc,
        Err(e) if looks_like_html(text) => {
            return Err(format!(
                "not an ADF lead: the text is an HTML page, expected <adf> ({e})"
            ));
        }
        Err(e) => {
            // Providers that build XML by pasting strings leave `&` unescaped ("Smith & Sons");
            // read such a document once more with them escaped, and report the first error
            // if that does not help either.
            repaired = escape_stray_ampersands(text);
            match &repaired {
                Cow::Owned(fixed) => read(fixed),
                Cow::Borrowed(_) => Err(e.clone()),
            }
            .map_err(|_| format!("the ADF lead is not well-formed XML: {e}"))?
        }
    };
    let root = doc.root_element();
    if !is(root, "adf") {
        return Err(format!(
            "not an ADF lead: the root element is <{}>, expected <adf>",
            root.tag_name().name()
        ));
    }
    let prospect = child(root, "prospect")
        .ok_or_else(|| "not an ADF lead: <adf> has no <prospect>".to_owned())?;
    Ok(lead(prospect, default_country))
}

fn read(text: &str) -> Result<Document<'_>, roxmltree::Error> {
    let options = ParsingOptions {
        // A `<!DOCTYPE adf SYSTEM "adf.dtd">` is harmless: nothing is fetched.
        allow_dtd: true,
        nodes_limit: NODES_LIMIT,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options)
}

/// The text without a byte-order mark and leading blanks, and without an XML declaration that
/// is not first (`<?ADF VERSION "1.0"?><?xml version="1.0"?>` is common and not XML); the text
/// is already decoded, so what the declaration says is not needed.
fn prepare(xml: &str) -> Cow<'_, str> {
    let text = xml.trim_start_matches('\u{feff}').trim_start();
    let Some(at) = text
        .match_indices("<?xml")
        .map(|(at, _)| at)
        .find(|&at| at > 0 && text[at + 5..].starts_with(char::is_whitespace))
    else {
        return Cow::Borrowed(text);
    };
    if at > prolog_end(text) {
        return Cow::Borrowed(text);
    }
    let Some(len) = text[at..].find("?>") else {
        return Cow::Borrowed(text);
    };
    Cow::Owned(format!("{}{}", &text[..at], &text[at + len + 2..]))
}

/// Where the root element starts: the first `<` followed by a name.
fn prolog_end(text: &str) -> usize {
    text.match_indices('<')
        .map(|(at, _)| at)
        .find(|&at| text[at + 1..].starts_with(|c: char| c.is_alphabetic() || c == '_'))
        .unwrap_or(text.len())
}

fn declares_entities(text: &str) -> bool {
    text[..prolog_end(text)].contains("<!ENTITY")
}

fn looks_like_html(text: &str) -> bool {
    let head = text
        .chars()
        .take(200)
        .collect::<String>()
        .to_ascii_lowercase();
    head.starts_with("<!doctype html") || head.contains("<html")
}

/// `&` that starts no reference to a character or one of XML's five entities, as `&amp;`
/// (`&nbsp;`, which HTML-minded providers write, as `&#160;`); CDATA and comments untouched.
fn escape_stray_ampersands(text: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find(['&', '<']) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let verbatim = [("<![CDATA[", "]]>"), ("<!--", "-->")]
            .iter()
            .find(|(open, _)| rest.starts_with(open));
        if let Some((_, close)) = verbatim {
            let end = rest.find(close).map_or(rest.len(), |e| e + close.len());
            out.push_str(&rest[..end]);
            rest = &rest[end..];
        } else if rest.starts_with('<') || is_reference(rest) {
            out.push_str(&rest[..1]);
            rest = &rest[1..];
        } else if let Some(after) = rest.strip_prefix("&nbsp;") {
            out.push_str("&#160;");
            rest = after;
            changed = true;
        } else {
            out.push_str("&amp;");
            rest = &rest[1..];
            changed = true;
        }
    }
    out.push_str(rest);
    if changed {
        Cow::Owned(out)
    } else {
        Cow::Borrowed(text)
    }
}

/// Whether `text` (starting at `&`) is `&amp;` (or `&lt;`, `&gt;`, `&quot;`, `&apos;`),
/// `&#123;` or `&#x1F;`.
fn is_reference(text: &str) -> bool {
    let Some(end) = text[1..].find(';').map(|e| e + 1) else {
        return false;
    };
    let body = &text[1..end];
    if let Some(hex) = body.strip_prefix("#x") {
        !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())
    } else if let Some(dec) = body.strip_prefix('#') {
        !dec.is_empty() && dec.chars().all(|c| c.is_ascii_digit())
    } else {
        ["amp", "lt", "gt", "quot", "apos"].contains(&body)
    }
}

fn lead(prospect: Node, default_country: &str) -> Lead {
    // Several <id>s (one per system the lead passed through): the first is the lead's.
    let id = child(prospect, "id");
    let customer = child(prospect, "customer");
    // <timeframe> and <comments> belong in <customer>; some providers put them in <prospect>.
    let in_customer = |name| customer.and_then(|c| child(c, name));
    let timeframe = in_customer("timeframe").or_else(|| child(prospect, "timeframe"));
    Lead {
        id: id.and_then(line),
        source: id.and_then(|id| attr(id, "source")),
        request_date: child_line(prospect, "requestdate").map(|d| date(&d)),
        status: attr(prospect, "status").map(|s| s.to_lowercase()),
        customer: customer
            .map(|c| self::customer(c, default_country))
            .unwrap_or_default(),
        vehicles: children(prospect, "vehicle").map(vehicle).collect(),
        timeframe: timeframe.map(self::timeframe).unwrap_or_default(),
        comments: in_customer("comments")
            .or_else(|| child(prospect, "comments"))
            .and_then(text),
        vendor: Party {
            name: child(prospect, "vendor").and_then(|v| child_line(v, "vendorname")),
        },
        provider: Party {
            name: child(prospect, "provider").and_then(|p| names(p).full),
        },
    }
}

fn customer(customer: Node, default_country: &str) -> Customer {
    // Several contacts: the first is the customer. Some providers leave <contact> out and put
    // its parts right in <customer>.
    let contact = child(customer, "contact").unwrap_or(customer);
    let names = names(contact);
    Customer {
        first_name: names.first,
        last_name: names.last,
        full_name: names.full,
        email: child_line(contact, "email"),
        phones: children(contact, "phone")
            .filter_map(|p| phone(p, default_country))
            .collect(),
        address: child(contact, "address").map(address).unwrap_or_default(),
    }
}

fn phone(phone: Node, default_country: &str) -> Option<Phone> {
    let number = line(phone)?;
    Some(Phone {
        e164: self::phone::normalize(&number, default_country).e164,
        number: Some(number),
        kind: attr(phone, "type").map(|t| t.to_lowercase()),
        time: attr(phone, "time").map(|t| t.to_lowercase()),
    })
}

fn address(address: Node) -> Address {
    // Street lines and the apartment, in document order, on one line.
    let street: Vec<String> = address
        .children()
        .filter(|c| is(*c, "street") || is(*c, "apartment"))
        .filter_map(line)
        .collect();
    Address {
        street: (!street.is_empty()).then(|| street.join(", ")),
        city: child_line(address, "city"),
        region: child_line(address, "regioncode"),
        postal_code: child_line(address, "postalcode"),
        country: child_line(address, "country"),
    }
}

fn vehicle(vehicle: Node) -> Vehicle {
    let odometer = child(vehicle, "odometer");
    Vehicle {
        interest: attr(vehicle, "interest").map(|i| i.to_lowercase()),
        status: attr(vehicle, "status").map(|s| s.to_lowercase()),
        year: child_line(vehicle, "year").and_then(|y| read_whole_number(&y)),
        make: child_line(vehicle, "make"),
        model: child_line(vehicle, "model"),
        trim: child_line(vehicle, "trim"),
        vin: child_line(vehicle, "vin").map(|v| v.to_uppercase()),
        stock: child_line(vehicle, "stock"),
        odometer: Odometer {
            value: odometer.and_then(line).and_then(|v| read_whole_number(&v)),
            units: odometer
                .and_then(|o| attr(o, "units"))
                .map(|u| u.to_lowercase()),
        },
    }
}

fn timeframe(timeframe: Node) -> Timeframe {
    Timeframe {
        description: child(timeframe, "description").and_then(text),
        earliest_date: child_line(timeframe, "earliestdate").map(|d| date(&d)),
        latest_date: child_line(timeframe, "latestdate").map(|d| date(&d)),
    }
}

/// A person's or a company's name.
#[derive(Debug, Default)]
struct Names {
    first: Option<String>,
    last: Option<String>,
    full: Option<String>,
}

/// The `<name>`s of `parent`: `part="first"`, `"middle"`, `"last"`, `"full"` (a name without
/// `part` is full). A full name alone is split into first and last; first, middle and last
/// alone make the full name.
fn names(parent: Node) -> Names {
    let part = |wanted: &str| {
        children(parent, "name")
            .filter(|n| {
                attr(*n, "part").map_or_else(|| "full".to_owned(), |p| p.to_lowercase()) == wanted
            })
            .find_map(line)
    };
    let (first, middle, last) = (part("first"), part("middle"), part("last"));
    let full = part("full");
    let (split_first, split_last) = full.as_deref().map(split_full_name).unwrap_or_default();
    let joined = [&first, &middle, &last]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    Names {
        full: full.or_else(|| (!joined.is_empty()).then_some(joined)),
        first: first.or(split_first),
        last: last.or(split_last),
    }
}

/// Splits a full name: `Last, First` at the comma; otherwise the last word is the last name,
/// with a generational suffix (`Jr.`, `III`) and particles (`van`, `de la`) kept with it.
pub fn split_full_name(full: &str) -> (Option<String>, Option<String>) {
    const SUFFIXES: [&str; 8] = ["jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "v"];
    const PARTICLES: [&str; 9] = ["van", "von", "de", "del", "della", "da", "di", "la", "le"];
    let some = |words: &[&str]| (!words.is_empty()).then(|| words.join(" "));
    if let Some((last, first)) = full.split_once(',') {
        let (first, last) = (first.trim(), last.trim());
        let suffix = SUFFIXES.contains(&first.to_lowercase().as_str());
        if !first.is_empty() && !last.is_empty() && !suffix {
            return (Some(first.to_owned()), Some(last.to_owned()));
        }
    }
    let words: Vec<&str> = full.split_whitespace().collect();
    if words.len() < 2 {
        return (some(&words), None);
    }
    let mut start = words.len() - 1;
    let lower = |w: &str| w.trim_end_matches(',').to_lowercase();
    if start > 1 && SUFFIXES.contains(&lower(words[start]).as_str()) {
        start -= 1;
    }
    while start > 1 && PARTICLES.contains(&lower(words[start - 1]).as_str()) {
        start -= 1;
    }
    (some(&words[..start]), some(&words[start..]))
}

/// A date as ISO 8601 when it can be read (an offset kept when it has one), else as written.
fn date(text: &str) -> String {
    match read_text(text) {
        Some(Written::Zoned(t)) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        Some(Written::Local(t)) => t.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        Some(Written::Date(d)) => d.format("%Y-%m-%d").to_string(),
        None => text.to_owned(),
    }
}

/// Whether `node` is the element `name`, in any case (`<PROSPECT>`, `<Prospect>`).
fn is(node: Node, name: &str) -> bool {
    node.is_element() && node.tag_name().name().eq_ignore_ascii_case(name)
}

fn children<'a, 'input>(
    parent: Node<'a, 'input>,
    name: &'static str,
) -> impl Iterator<Item = Node<'a, 'input>> {
    parent.children().filter(move |c| is(*c, name))
}

fn child<'a, 'input>(parent: Node<'a, 'input>, name: &'static str) -> Option<Node<'a, 'input>> {
    children(parent, name).next()
}

/// The text of the first `name` child that has some, on one line.
fn child_line(parent: Node, name: &'static str) -> Option<String> {
    children(parent, name).find_map(line)
}

/// An attribute in any case, trimmed; blank is absent.
fn attr(node: Node, name: &str) -> Option<String> {
    node.attributes()
        .find(|a| a.name().eq_ignore_ascii_case(name))
        .map(|a| a.value().trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// All the text inside `node` (CDATA included), trimmed; line breaks inside are kept.
fn text(node: Node) -> Option<String> {
    let all: String = node
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    let trimmed = all.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// The text inside `node` with every run of blanks and line breaks as one space.
fn line(node: Node) -> Option<String> {
    text(node).map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
}
