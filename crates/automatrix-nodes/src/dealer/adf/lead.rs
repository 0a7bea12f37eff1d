//! The lead as JSON: what `dealer.adf_parse` outputs and `dealer.adf_build` takes. One model for
//! both, so a parsed lead forwards unchanged. Every field is always present in the output (null,
//! or an empty list), so `{{ $json.customer.address.city }}` never fails on a sparse lead; on
//! input, anything left out or null is empty.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Unknown fields are ignored at the top level only: a workflow adds its own (`score`,
/// `assigned_to`) to the lead it forwards, while inside the parts only typos land.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Lead {
    pub id: Option<String>,
    pub source: Option<String>,
    pub request_date: Option<String>,
    pub status: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub customer: Customer,
    #[serde(deserialize_with = "or_default")]
    pub vehicles: Vec<Vehicle>,
    #[serde(deserialize_with = "or_default")]
    pub timeframe: Timeframe,
    pub comments: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub vendor: Party,
    #[serde(deserialize_with = "or_default")]
    pub provider: Party,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Customer {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub full_name: Option<String>,
    pub email: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub phones: Vec<Phone>,
    #[serde(deserialize_with = "or_default")]
    pub address: Address,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Phone {
    pub number: Option<String>,
    pub e164: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub time: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Vehicle {
    pub interest: Option<String>,
    pub status: Option<String>,
    #[serde(deserialize_with = "whole_number")]
    pub year: Option<u64>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub trim: Option<String>,
    pub vin: Option<String>,
    pub stock: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub odometer: Odometer,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Odometer {
    #[serde(deserialize_with = "whole_number")]
    pub value: Option<u64>,
    pub units: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timeframe {
    pub description: Option<String>,
    pub earliest_date: Option<String>,
    pub latest_date: Option<String>,
}

/// The vendor (the dealership) or the provider (the lead source): only their name is kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Party {
    pub name: Option<String>,
}

/// Null reads as empty: a lead assembled by expressions has nulls where data is missing.
fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A year or a mileage: a number, or text of one as web forms send it (`"2021"`, `"42,180"`).
fn whole_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    match Value::deserialize(deserializer)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("{n} is not a whole number"))),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => read_whole_number(&s)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("`{s}` is not a whole number"))),
        other => Err(D::Error::custom(format!("{other} is not a whole number"))),
    }
}

/// `42,180` or ` 2021 ` as a number; thousands separators and blanks are dropped.
pub fn read_whole_number(text: &str) -> Option<u64> {
    let digits: String = text
        .chars()
        .filter(|c| !(c.is_whitespace() || *c == ','))
        .collect();
    digits.parse().ok()
}
