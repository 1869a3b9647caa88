//! The platform's closed vocabularies (`VALUE | ENV | ENV_SECRET`, `USER | GROUP | ROLE`, …):
//! each enum has one spelling, declared once with [`vocabulary!`](crate::vocabulary), and
//! every edge (PostgreSQL rows, Mongo documents, the Redis codec, the archive, DTOs) reads
//! and writes it through [`Vocabulary`], `Display` and `FromStr` instead of a table of its
//! own. These are the platform's words, not a wire format, so the domain stays serde-free;
//! serde users go through `Display`/`FromStr` (`serde_with::DisplayFromStr`).

use crate::model::ValidationError;

/// An enum whose variants are spelled as fixed platform words.
pub trait Vocabulary: Sized + Copy + Eq + 'static {
    /// Every variant, in declaration order.
    const ALL: &'static [Self];
    /// The input a parse failure names (`type`, `subjectType`, …).
    const FIELD: &'static str;

    /// The word of this variant.
    fn as_str(self) -> &'static str;

    /// The variant spelled `raw` (exactly, case included).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on [`FIELD`](Self::FIELD) listing the words when none matches.
    fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL.iter().copied().find(|variant| variant.as_str() == raw).ok_or_else(|| {
            let words: Vec<&str> = Self::ALL.iter().map(|variant| variant.as_str()).collect();
            ValidationError::new(Self::FIELD, format!("`{raw}` is not one of {}", words.join(", ")))
        })
    }
}

/// Declares the spelling of a vocabulary enum: inherent `as_str`/`parse` (no import
/// needed at the call site), its [`Vocabulary`] impl, `Display` and `FromStr`.
#[macro_export]
macro_rules! vocabulary {
    ($name:ident, field = $field:literal, { $($variant:ident => $word:literal),+ $(,)? }) => {
        impl $name {
            /// The platform's word for this variant.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word),+
                }
            }

            /// The variant spelled `raw`, exactly.
            ///
            /// # Errors
            ///
            /// A [`ValidationError`]($crate::model::ValidationError) listing the words when
            /// none matches.
            pub fn parse(raw: &str) -> Result<Self, $crate::model::ValidationError> {
                <Self as $crate::model::Vocabulary>::parse(raw)
            }
        }

        impl $crate::model::Vocabulary for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const FIELD: &'static str = $field;

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str($crate::model::Vocabulary::as_str(*self))
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::model::ValidationError;

            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Self::parse(raw)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use crate::model::{
        ApplicationKind, AuditAction, AuditVerb, BuildOrigin, ConfigParamType, EntityKind,
        Platforms, PolicyKind, SubjectType, Vocabulary,
    };

    fn round_trips<T: Vocabulary + std::fmt::Debug>() {
        for variant in T::ALL {
            assert_eq!(T::parse(variant.as_str()), Ok(*variant));
        }
        let err = T::parse("nonsense").unwrap_err();
        assert_eq!(err.field, T::FIELD);
        assert!(err.reason.contains(T::ALL[0].as_str()), "{err}");
    }

    #[test]
    fn every_vocabulary_parses_what_it_writes_and_lists_its_words_when_refusing() {
        round_trips::<ConfigParamType>();
        round_trips::<SubjectType>();
        round_trips::<ApplicationKind>();
        round_trips::<BuildOrigin>();
        round_trips::<Platforms>();
        round_trips::<PolicyKind>();
        round_trips::<AuditAction>();
        round_trips::<AuditVerb>();
        round_trips::<EntityKind>();
        round_trips::<crate::design::model::VersionStatus>();
        round_trips::<crate::design::model::ResourceStatus>();
    }

    #[test]
    fn the_words_are_the_platforms() {
        assert_eq!(ConfigParamType::EnvSecret.to_string(), "ENV_SECRET");
        assert_eq!("GROUP".parse::<SubjectType>(), Ok(SubjectType::Group));
        assert_eq!(ApplicationKind::Library.as_str(), "LIBRARY");
        assert_eq!(BuildOrigin::Imported.as_str(), "IMPORTED");
        assert_eq!(Platforms::Omnichannel.as_str(), "OMNICHANNEL");
        assert!("group".parse::<SubjectType>().is_err(), "words are exact");
    }
}
