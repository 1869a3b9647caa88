//! Resource content between its JSON text (`RawJson`) and a real BSON document, so that
//! other platform services can query inside it.
//!
//! Both directions stream: JSON is read by a serde visitor straight into raw BSON, and raw
//! BSON is written back through `serde_json`'s serializer, never through `serde_json::Value`
//! (which would sort keys) nor through `bson::Document`'s own deserializer (which would turn
//! an object whose first key is `$date`, `$numberLong`, ... into a BSON date or number).
//!
//! Numbers keep their kind: an integer that fits `i32` becomes `Int32`, one that fits `i64`
//! becomes `Int64`, a larger one (up to `u64::MAX`) becomes an integral `Decimal128`, and a
//! number with a fraction or an exponent becomes a `Double`. Reading back gives an integer
//! for each integer kind and a float for a double, so the JSON parsed from the text read back
//! equals the JSON parsed from the text written, key order included.

use std::collections::HashMap;
use std::fmt;

use mongodb::bson::{
    Decimal128, RawArray, RawArrayBuf, RawBson, RawBsonRef, RawDocument, RawDocumentBuf,
};
use serde::de::{self, Deserializer as _, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};

/// Why a content could not be converted.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ContentError {
    #[error("resource content is not valid json: {0}")]
    Json(#[source] serde_json::Error),
    #[error("resource content is a json {0}, not an object")]
    NotAnObject(&'static str),
    #[error("stored resource content cannot be read as json: {0}")]
    Bson(String),
}

/// The BSON document of a JSON object's text.
pub(crate) fn json_to_bson(json: &str) -> Result<RawDocumentBuf, ContentError> {
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let value = deserializer.deserialize_any(BsonVisitor).map_err(ContentError::Json)?;
    deserializer.end().map_err(ContentError::Json)?;
    match value {
        RawBson::Document(document) => Ok(document),
        RawBson::Array(_) => Err(ContentError::NotAnObject("array")),
        RawBson::String(_) => Err(ContentError::NotAnObject("string")),
        RawBson::Boolean(_) => Err(ContentError::NotAnObject("boolean")),
        RawBson::Null => Err(ContentError::NotAnObject("null")),
        _ => Err(ContentError::NotAnObject("number")),
    }
}

/// The compact JSON text of a stored BSON document.
pub(crate) fn bson_to_json(document: &RawDocument) -> Result<String, ContentError> {
    serde_json::to_string(&JsonDocument(document))
        .map_err(|err| ContentError::Bson(err.to_string()))
}

/// Builds raw BSON from whatever `serde_json` reports, in document order.
struct BsonVisitor;

impl<'de> Visitor<'de> for BsonVisitor {
    type Value = RawBson;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any json value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<RawBson, E> {
        Ok(RawBson::Boolean(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawBson, E> {
        Ok(i32::try_from(value).map_or(RawBson::Int64(value), RawBson::Int32))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawBson, E> {
        if let Ok(small) = i32::try_from(value) {
            return Ok(RawBson::Int32(small));
        }
        if let Ok(large) = i64::try_from(value) {
            return Ok(RawBson::Int64(large));
        }
        // Above i64::MAX: BSON's only exact integer type this wide is Decimal128.
        value
            .to_string()
            .parse::<Decimal128>()
            .map(RawBson::Decimal128)
            .map_err(|err| E::custom(format!("integer {value} does not fit decimal128: {err}")))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawBson, E> {
        Ok(RawBson::Double(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawBson, E> {
        Ok(RawBson::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<RawBson, E> {
        Ok(RawBson::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawBson, E> {
        Ok(RawBson::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<RawBson, E> {
        Ok(RawBson::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawBson, A::Error> {
        let mut array = RawArrayBuf::new();
        while let Some(element) = seq.next_element_seed(BsonSeed)? {
            array.push(element);
        }
        Ok(RawBson::Array(array))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawBson, A::Error> {
        let mut entries: Vec<(String, RawBson)> = Vec::new();
        let mut positions: HashMap<String, usize> = HashMap::new();
        while let Some(key) = map.next_key::<String>()? {
            if key.contains('\0') {
                return Err(de::Error::custom(
                    "a key with a NUL character cannot be stored in bson",
                ));
            }
            let value = map.next_value_seed(BsonSeed)?;
            // A repeated key: the last value wins, as in every JSON parser the platform uses,
            // and BSON must not hold the key twice.
            match positions.get(&key) {
                Some(&position) => entries[position].1 = value,
                None => {
                    positions.insert(key.clone(), entries.len());
                    entries.push((key, value));
                }
            }
        }
        let mut document = RawDocumentBuf::new();
        for (key, value) in entries {
            document.append(key, value);
        }
        Ok(RawBson::Document(document))
    }
}

/// [`BsonVisitor`] for nested values.
struct BsonSeed;

impl<'de> de::DeserializeSeed<'de> for BsonSeed {
    type Value = RawBson;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<RawBson, D::Error> {
        deserializer.deserialize_any(BsonVisitor)
    }
}

/// A stored document, serialized as a JSON object.
struct JsonDocument<'a>(&'a RawDocument);

/// A stored array, serialized as a JSON array.
struct JsonArray<'a>(&'a RawArray);

/// One stored value, serialized as JSON.
struct JsonValue<'a>(RawBsonRef<'a>);

impl Serialize for JsonDocument<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for element in self.0 {
            let (key, value) = element.map_err(ser::Error::custom)?;
            map.serialize_entry(key, &JsonValue(value))?;
        }
        map.end()
    }
}

impl Serialize for JsonArray<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for element in self.0 {
            seq.serialize_element(&JsonValue(element.map_err(ser::Error::custom)?))?;
        }
        seq.end()
    }
}

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            RawBsonRef::Document(document) => JsonDocument(document).serialize(serializer),
            RawBsonRef::Array(array) => JsonArray(array).serialize(serializer),
            RawBsonRef::String(text) => serializer.serialize_str(text),
            RawBsonRef::Boolean(flag) => serializer.serialize_bool(flag),
            RawBsonRef::Null | RawBsonRef::Undefined => serializer.serialize_unit(),
            RawBsonRef::Int32(number) => serializer.serialize_i32(number),
            RawBsonRef::Int64(number) => serializer.serialize_i64(number),
            // `serde_json` writes a float so that it reads back as a float (`1.0`, `1e300`);
            // NaN and infinities, which JSON lacks, become null.
            RawBsonRef::Double(number) => serializer.serialize_f64(number),
            RawBsonRef::Decimal128(decimal) => serialize_decimal(decimal, serializer),
            // Types this adapter never writes (another service may have): their relaxed
            // extended JSON, as MongoDB's own tools print them.
            other => {
                let extended = mongodb::bson::Bson::try_from(other.to_raw_bson())
                    .map_err(ser::Error::custom)?
                    .into_relaxed_extjson();
                extended.serialize(serializer)
            }
        }
    }
}

/// An integral `Decimal128` (how this adapter stores integers above `i64::MAX`) becomes that
/// integer again; any other finite decimal becomes a JSON number with its exact digits.
fn serialize_decimal<S: Serializer>(decimal: Decimal128, serializer: S) -> Result<S::Ok, S::Error> {
    let text = decimal.to_string();
    if let Ok(integer) = text.parse::<u64>() {
        return serializer.serialize_u64(integer);
    }
    if let Ok(integer) = text.parse::<i64>() {
        return serializer.serialize_i64(integer);
    }
    match serde_json::value::RawValue::from_string(text.clone()) {
        Ok(number) => number.serialize(serializer),
        // NaN and infinities are not JSON numbers.
        Err(_) => serializer.serialize_str(&text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(json: &str) -> String {
        let document = json_to_bson(json).unwrap();
        bson_to_json(&document).unwrap()
    }

    #[test]
    fn compact_json_reads_back_byte_for_byte() {
        let json = r#"{"z":1,"a":[1,-2,3.5,"x",null,true,{"b":{"c":[]}}],"m":{},"u":"żółw 🐢 \"q\" \\ \n"}"#;
        assert_eq!(round_trip(json), json);
    }

    #[test]
    fn integers_keep_their_kind_and_their_exact_value() {
        let json = r#"{"i32":2147483647,"i64":9223372036854775807,"neg":-9223372036854775808,"u64":18446744073709551615,"one":1.0,"exp":1e300,"tiny":5e-324,"negzero":-0.0}"#;
        let back = round_trip(json);
        let parsed: serde_json::Value = serde_json::from_str(&back).unwrap();
        assert_eq!(parsed, serde_json::from_str::<serde_json::Value>(json).unwrap());
        assert!(parsed["u64"].is_u64() && parsed["i64"].is_i64() && parsed["one"].is_f64());
    }

    #[test]
    fn integers_are_stored_as_the_narrowest_bson_integer() {
        let document =
            json_to_bson(r#"{"a":1,"b":4294967296,"c":18446744073709551615,"d":1.5}"#).unwrap();
        assert_eq!(document.get("a").unwrap(), Some(RawBsonRef::Int32(1)));
        assert_eq!(document.get("b").unwrap(), Some(RawBsonRef::Int64(4_294_967_296)));
        assert!(matches!(document.get("c").unwrap(), Some(RawBsonRef::Decimal128(_))));
        assert_eq!(document.get("d").unwrap(), Some(RawBsonRef::Double(1.5)));
    }

    #[test]
    fn keys_that_look_like_extended_json_stay_plain_keys() {
        let json = r#"{"$date":5,"when":{"$numberLong":"7"},"$oid":"x","a.b":1}"#;
        assert_eq!(round_trip(json), json);
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
        assert_eq!(round_trip(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn whitespace_is_not_kept_but_the_value_is() {
        assert_eq!(round_trip("{ \"a\" : [ 1 , 2 ] }\n"), r#"{"a":[1,2]}"#);
    }

    #[test]
    fn only_a_json_object_is_a_content() {
        assert!(matches!(json_to_bson("[1]"), Err(ContentError::NotAnObject("array"))));
        assert!(matches!(json_to_bson("3"), Err(ContentError::NotAnObject("number"))));
        assert!(matches!(json_to_bson("{} x"), Err(ContentError::Json(_))));
        assert!(matches!(json_to_bson(r#"{"a\u0000":1}"#), Err(ContentError::Json(_))));
    }

    #[test]
    fn a_decimal_written_by_another_service_reads_as_its_exact_number() {
        let mut document = RawDocumentBuf::new();
        document.append("price", RawBson::Decimal128("12.50".parse().unwrap()));
        document.append("nan", RawBson::Decimal128("NaN".parse().unwrap()));
        assert_eq!(bson_to_json(&document).unwrap(), r#"{"price":12.50,"nan":"NaN"}"#);
    }
}
