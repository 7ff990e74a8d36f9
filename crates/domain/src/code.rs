//! Helpers shared by the value types: enums stored as stable codes, newtypes serialised as strings.

/// A stored or submitted code that matches no variant of a domain enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Valeur inconnue pour {what} : « {code} ».")]
pub struct UnknownCode {
    /// What was being read, in French ("l'état du rendez-vous").
    pub what: &'static str,
    /// The code as received.
    pub code: String,
}

/// Declares an enum stored as a stable snake_case code, with a French label.
///
/// Generates `ALL`, `as_str`, `label`, `FromStr` (error [`UnknownCode`]) and serde as the code.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => ($code:literal, $label:literal), )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[ $( Self::$variant, )+ ];

            /// Stable code, used in storage and APIs.
            pub const fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $code, )+ }
            }

            /// French label shown to users.
            pub const fn label(self) -> &'static str {
                match self { $( Self::$variant => $label, )+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::code::UnknownCode;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $( $code => Ok(Self::$variant), )+
                    other => Err($crate::code::UnknownCode { what: $what, code: other.to_owned() }),
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

/// Implements `Display` (the canonical string), `FromStr` (via `parse`), `AsRef<str>` and serde
/// as a string for a newtype that has `fn parse(&str) -> Result<Self, E>` and `fn as_str(&self)`.
macro_rules! string_newtype {
    ($name:ident, $err:ty) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $err;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(
                    deserializer,
                )?;
                Self::parse(&s).map_err(::serde::de::Error::custom)
            }
        }
    };
}
