//! [`Word`]: a domain vocabulary (`VALUE | ENV | ENV_SECRET`, `USER | GROUP | ROLE`, …) as a
//! JSON string, spelled by the domain's `Vocabulary` and described in OpenAPI as an `enum`
//! of those words. Every DTO field of a vocabulary type is a `Word<T>`, so no DTO keeps a
//! mirror enum of its own.

use std::borrow::Cow;
use std::marker::PhantomData;

use domain::model::Vocabulary;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

/// One word of the vocabulary `T`, on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Word<T>(pub(crate) T);

impl<T: Vocabulary> From<T> for Word<T> {
    fn from(word: T) -> Self {
        Self(word)
    }
}

impl<T: Vocabulary> Serialize for Word<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de, T: Vocabulary> Deserialize<'de> for Word<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct WordVisitor<T>(PhantomData<T>);

        impl<T: Vocabulary> Visitor<'_> for WordVisitor<T> {
            type Value = Word<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let words: Vec<&str> = T::ALL.iter().map(|word| word.as_str()).collect();
                write!(f, "one of {}", words.join(", "))
            }

            fn visit_str<E: de::Error>(self, raw: &str) -> Result<Self::Value, E> {
                T::parse(raw).map(Word).map_err(|err| E::custom(err.reason))
            }
        }

        deserializer.deserialize_str(WordVisitor(PhantomData))
    }
}

impl<T: Vocabulary> Word<T> {
    /// The OpenAPI schema: a string, one of the words. Named by fields as
    /// `#[schema(schema_with = Word::<T>::words)]`: utoipa's derive cannot see through a
    /// generic wrapper by itself.
    pub(crate) fn words() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .enum_values(Some(T::ALL.iter().map(|word| word.as_str())))
            .into()
    }
}

impl<T: Vocabulary> PartialSchema for Word<T> {
    fn schema() -> RefOr<Schema> {
        Self::words()
    }
}

impl<T: Vocabulary> ToSchema for Word<T> {
    fn name() -> Cow<'static, str> {
        // The domain type's own name (`ConfigParamType`), the component's name in OpenAPI.
        let full = std::any::type_name::<T>();
        Cow::Borrowed(full.rsplit("::").next().unwrap_or(full))
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Self::name().into_owned(), Self::schema()));
    }
}
