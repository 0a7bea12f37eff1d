//! Writing a lead as an ADF 1.0 document for a CRM: elements in the order of the ADF DTD,
//! everything escaped, and elements with nothing in them left out.

use super::lead::{Customer, Lead, Vehicle};

/// The ADF document of `lead`.
pub fn build(lead: &Lead) -> String {
    let mut prospect = El::new("prospect").attr("status", lead.status.as_deref());
    if lead.id.is_some() || lead.source.is_some() {
        prospect.push(
            El::new("id")
                .attr("sequence", Some("1"))
                .attr("source", lead.source.as_deref())
                .text(lead.id.as_deref()),
        );
    }
    prospect.push(El::new("requestdate").text(lead.request_date.as_deref()));
    for vehicle in &lead.vehicles {
        prospect.push(self::vehicle(vehicle));
    }
    prospect.push(customer(lead));
    prospect.push(El::new("vendor").child(El::new("vendorname").text(lead.vendor.name.as_deref())));
    prospect.push(
        El::new("provider").child(
            El::new("name")
                .attr("part", Some("full"))
                .text(lead.provider.name.as_deref()),
        ),
    );
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<?ADF VERSION \"1.0\"?>\n");
    El::new("adf").child(prospect).write(&mut out, 0);
    out
}

fn vehicle(vehicle: &Vehicle) -> El {
    let number = |n: Option<u64>| n.map(|n| n.to_string());
    El::new("vehicle")
        .attr("interest", vehicle.interest.as_deref())
        .attr("status", vehicle.status.as_deref())
        .child(El::new("year").text(number(vehicle.year).as_deref()))
        .child(El::new("make").text(vehicle.make.as_deref()))
        .child(El::new("model").text(vehicle.model.as_deref()))
        .child(El::new("vin").text(vehicle.vin.as_deref()))
        .child(El::new("stock").text(vehicle.stock.as_deref()))
        .child(El::new("trim").text(vehicle.trim.as_deref()))
        .child(
            El::new("odometer")
                .attr("units", vehicle.odometer.units.as_deref())
                .text(number(vehicle.odometer.value).as_deref()),
        )
}

fn customer(lead: &Lead) -> El {
    let timeframe = &lead.timeframe;
    El::new("customer")
        .child(contact(&lead.customer))
        .child(
            El::new("timeframe")
                .child(El::new("description").text(timeframe.description.as_deref()))
                .child(El::new("earliestdate").text(timeframe.earliest_date.as_deref()))
                .child(El::new("latestdate").text(timeframe.latest_date.as_deref())),
        )
        .child(El::new("comments").text(lead.comments.as_deref()))
}

fn contact(customer: &Customer) -> El {
    let name = |part: &'static str, text: Option<&str>| {
        El::new("name").attr("part", Some(part)).text(text)
    };
    // The full name only when first and last do not already make it: reading the document
    // back then gives the same three names.
    let joined = [&customer.first_name, &customer.last_name]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let full = customer.full_name.as_ref().filter(|full| **full != joined);
    let mut contact = El::new("contact")
        .child(name("first", customer.first_name.as_deref()))
        .child(name("last", customer.last_name.as_deref()))
        .child(name("full", full.map(String::as_str)))
        .child(El::new("email").text(customer.email.as_deref()));
    for phone in &customer.phones {
        let number = phone.number.as_deref().or(phone.e164.as_deref());
        contact.push(
            El::new("phone")
                .attr("type", phone.kind.as_deref())
                .attr("time", phone.time.as_deref())
                .text(number),
        );
    }
    let address = &customer.address;
    contact.child(
        El::new("address")
            .child(
                El::new("street")
                    .attr("line", Some("1"))
                    .text(address.street.as_deref()),
            )
            .child(El::new("city").text(address.city.as_deref()))
            .child(El::new("regioncode").text(address.region.as_deref()))
            .child(El::new("postalcode").text(address.postal_code.as_deref()))
            .child(El::new("country").text(address.country.as_deref())),
    )
}

/// An element being written: attributes, then text or child elements.
struct El {
    name: &'static str,
    attrs: Vec<(&'static str, String)>,
    text: Option<String>,
    children: Vec<El>,
}

impl El {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            attrs: Vec::new(),
            text: None,
            children: Vec::new(),
        }
    }

    fn attr(mut self, name: &'static str, value: Option<&str>) -> Self {
        if let Some(value) = value.filter(|v| !v.trim().is_empty()) {
            self.attrs.push((name, value.to_owned()));
        }
        self
    }

    fn text(mut self, text: Option<&str>) -> Self {
        self.text = text.filter(|t| !t.trim().is_empty()).map(str::to_owned);
        self
    }

    fn child(mut self, child: El) -> Self {
        self.push(child);
        self
    }

    /// Adds `child` unless it is empty: an `<email/>` would read back as an email.
    fn push(&mut self, child: El) {
        if child.text.is_some() || !child.children.is_empty() || !child.attrs.is_empty() {
            self.children.push(child);
        }
    }

    fn write(&self, out: &mut String, depth: usize) {
        let indent = "  ".repeat(depth);
        out.push_str(&indent);
        out.push('<');
        out.push_str(self.name);
        for (name, value) in &self.attrs {
            out.push_str(&format!(" {name}=\"{}\"", escape(value)));
        }
        match (&self.text, self.children.is_empty()) {
            (Some(text), _) => {
                out.push_str(&format!(">{}</{}>\n", escape(text), self.name));
            }
            (None, true) => out.push_str("/>\n"),
            (None, false) => {
                out.push_str(">\n");
                for child in &self.children {
                    child.write(out, depth + 1);
                }
                out.push_str(&format!("{indent}</{}>\n", self.name));
            }
        }
    }
}

/// Text escaped for element content and attribute values alike. Characters XML 1.0 cannot
/// hold (most control characters) are dropped; `\r` is written as a reference, since a reader
/// turns a literal one into `\n`.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}
