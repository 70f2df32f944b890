//! Serde helpers that write a [`Decimal`] as a JSON *number* with exactly its digits
//! (`18759.694`, `73802895.90`), never through a binary float, and read one back from a JSON
//! number or string. Used with `#[serde(with = "…")]` on every decimal of the model.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::str::FromStr;

fn to_number(d: &Decimal) -> Result<serde_json::Number, String> {
    serde_json::Number::from_str(&d.to_string()).map_err(|e| e.to_string())
}

fn from_value(v: serde_json::Value) -> Result<Decimal, String> {
    let text = match v {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s,
        other => return Err(format!("expected a decimal number, found {other}")),
    };
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|e| format!("{text:?} is not a decimal: {e}"))
}

/// A single decimal.
pub mod decimal {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        to_number(d)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        from_value(serde_json::Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An optional decimal (`null` when absent).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => to_number(d)
                .map_err(serde::ser::Error::custom)?
                .serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Null => Ok(None),
            v => from_value(v).map(Some).map_err(serde::de::Error::custom),
        }
    }
}

/// A list of decimals.
pub mod vec {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[Decimal], s: S) -> Result<S::Ok, S::Error> {
        let numbers = v
            .iter()
            .map(to_number)
            .collect::<Result<Vec<_>, _>>()
            .map_err(serde::ser::Error::custom)?;
        numbers.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Decimal>, D::Error> {
        Vec::<serde_json::Value>::deserialize(d)?
            .into_iter()
            .map(from_value)
            .collect::<Result<_, _>>()
            .map_err(serde::de::Error::custom)
    }
}

/// A list of lists of decimals (the decodings of an ambiguous run).
pub mod vec_vec {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[Vec<Decimal>], s: S) -> Result<S::Ok, S::Error> {
        let numbers = v
            .iter()
            .map(|row| row.iter().map(to_number).collect::<Result<Vec<_>, _>>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(serde::ser::Error::custom)?;
        numbers.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<Decimal>>, D::Error> {
        Vec::<Vec<serde_json::Value>>::deserialize(d)?
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(from_value)
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()
            .map_err(serde::de::Error::custom)
    }
}
