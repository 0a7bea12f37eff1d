//! PostgreSQL values to JSON, by column type.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::{Map, Value};
use sqlx::postgres::{PgRow, PgValueRef};
use sqlx::{Column, Row, TypeInfo, ValueRef};
use uuid::Uuid;

/// A row as an object, column name to value; `Err` names a column whose type this node does
/// not read.
pub fn row_json(row: &PgRow) -> Result<Value, String> {
    let mut out = Map::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        out.insert(column.name().to_owned(), value(row, i, column.name())?);
    }
    Ok(Value::Object(out))
}

fn value(row: &PgRow, i: usize, name: &str) -> Result<Value, String> {
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let type_name = raw.type_info().name().to_owned();
    let get_err = |e: sqlx::Error| format!("column `{name}`: {e}");
    Ok(match type_name.as_str() {
        "BOOL" => Value::Bool(row.try_get(i).map_err(get_err)?),
        "INT2" => Value::from(row.try_get::<i16, _>(i).map_err(get_err)?),
        "INT4" => Value::from(row.try_get::<i32, _>(i).map_err(get_err)?),
        "INT8" => Value::from(row.try_get::<i64, _>(i).map_err(get_err)?),
        "FLOAT4" => Value::from(row.try_get::<f32, _>(i).map_err(get_err)?),
        "FLOAT8" => Value::from(row.try_get::<f64, _>(i).map_err(get_err)?),
        "NUMERIC" => numeric(raw)
            .and_then(|text| {
                text.parse::<f64>()
                    .ok()
                    .map(Value::from)
                    .or(Some(Value::String(text)))
            })
            .ok_or_else(|| format!("column `{name}`: unreadable numeric"))?,
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" | "UNKNOWN" => {
            Value::String(row.try_get_unchecked::<String, _>(i).map_err(get_err)?)
        }
        "UUID" => Value::String(row.try_get::<Uuid, _>(i).map_err(get_err)?.to_string()),
        "TIMESTAMPTZ" => Value::String(
            row.try_get::<DateTime<Utc>, _>(i)
                .map_err(get_err)?
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        ),
        "TIMESTAMP" => Value::String(
            row.try_get::<NaiveDateTime, _>(i)
                .map_err(get_err)?
                .format("%Y-%m-%dT%H:%M:%S%.f")
                .to_string(),
        ),
        "DATE" => Value::String(row.try_get::<NaiveDate, _>(i).map_err(get_err)?.to_string()),
        "TIME" => Value::String(row.try_get::<NaiveTime, _>(i).map_err(get_err)?.to_string()),
        "JSON" | "JSONB" => {
            row.try_get::<sqlx::types::Json<Value>, _>(i)
                .map_err(get_err)?
                .0
        }
        "TEXT[]" | "VARCHAR[]" => Value::from(row.try_get::<Vec<String>, _>(i).map_err(get_err)?),
        "INT4[]" => Value::from(row.try_get::<Vec<i32>, _>(i).map_err(get_err)?),
        "INT8[]" => Value::from(row.try_get::<Vec<i64>, _>(i).map_err(get_err)?),
        other => {
            return Err(format!(
                "column `{name}` has type {other}, which db.query does not read; cast it in \
                 the query (`{name}::text`)"
            ));
        }
    })
}

/// NUMERIC's binary form (base-10000 digits, weight, sign, display scale) as decimal text;
/// `None` for NaN or damaged bytes.
fn numeric(raw: PgValueRef<'_>) -> Option<String> {
    let bytes = raw.as_bytes().ok()?;
    let word = |at: usize| -> Option<i32> {
        let b = bytes.get(at..at + 2)?;
        Some(i32::from(i16::from_be_bytes([b[0], b[1]])))
    };
    let (ndigits, weight, sign, dscale) = (word(0)?, word(2)?, word(4)? & 0xffff, word(6)?);
    if sign == 0xC000 {
        return None;
    }
    let digits: Vec<i32> = (0..ndigits)
        .map(|k| word(8 + 2 * usize::try_from(k).ok()?))
        .collect::<Option<_>>()?;
    let digit = |pos: i32| -> i32 {
        usize::try_from(pos)
            .ok()
            .and_then(|p| digits.get(p))
            .copied()
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    // Integer part: base-10000 groups 0..=weight.
    if weight < 0 {
        text.push('0');
    } else {
        text.push_str(&digit(0).to_string());
        for pos in 1..=weight {
            text.push_str(&format!("{:04}", digit(pos)));
        }
    }
    if dscale > 0 {
        let mut fraction = String::new();
        let mut pos = weight + 1;
        while i32::try_from(fraction.len()).ok()? < dscale {
            fraction.push_str(&format!("{:04}", digit(pos)));
            pos += 1;
        }
        fraction.truncate(usize::try_from(dscale).ok()?);
        text.push('.');
        text.push_str(&fraction);
    }
    Some(text)
}
