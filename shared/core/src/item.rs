//! One DynamoDB item, whatever encoding it came in: field names and attribute values. The
//! decoders in [`crate::parse`] make it; [`crate::record`] validates it into a record.

use std::borrow::Cow;

/// One attribute value, whatever the encoding it came in.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr<'a> {
    Str(Cow<'a, str>),
    Num(f64),
    Bool(bool),
    Null,
    Map(Item<'a>),
    List(Vec<Attr<'a>>),
    /// A DynamoDB `N` that is not a number.
    BadNumber,
    /// A DynamoDB attribute value of no known type.
    Invalid,
}

/// One item: field names and values, in input order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Item<'a>(pub Vec<(Cow<'a, str>, Attr<'a>)>);

/// One value as a validator reads it: a scalar by copy or a borrowed string; maps, lists and
/// bad attributes are `Other`. The scanner of flat lines makes these (nothing to drop).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Str(&'a str),
    Num(f64),
    Bool(bool),
    Null,
    Other,
}

impl<'a> Attr<'a> {
    /// This attribute as a validator reads it.
    pub fn value(&self) -> Value<'_> {
        match self {
            Attr::Str(s) => Value::Str(s),
            Attr::Num(n) => Value::Num(*n),
            Attr::Bool(b) => Value::Bool(*b),
            Attr::Null => Value::Null,
            Attr::Map(_) | Attr::List(_) | Attr::BadNumber | Attr::Invalid => Value::Other,
        }
    }
}

/// Named fields a validator reads: an [`Item`], or those a price or TVL row reads, kept
/// apart by [`crate::parse`]'s flat-line path.
pub trait Fields {
    /// The first field of this name.
    fn value(&self, name: &str) -> Option<Value<'_>>;
    /// The fields whose values are numbers, in input order (a flat line's keeps only those
    /// a TVL row may take as chains).
    fn numbers(&self) -> impl Iterator<Item = (&str, f64)>;
}

impl Fields for Item<'_> {
    fn value(&self, name: &str) -> Option<Value<'_>> {
        self.get(name).map(Attr::value)
    }

    fn numbers(&self) -> impl Iterator<Item = (&str, f64)> {
        self.fields().filter_map(|(name, v)| match v {
            Attr::Num(n) => Some((name, *n)),
            _ => None,
        })
    }
}

impl<'a> Item<'a> {
    pub fn get(&self, name: &str) -> Option<&Attr<'a>> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &Attr<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub(crate) fn has_invalid(&self) -> bool {
        self.0.iter().any(|(_, v)| matches!(v, Attr::Invalid))
    }
}
