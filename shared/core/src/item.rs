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

/// Named fields a validator reads: an [`Item`], or those a price or TVL row reads, kept
/// apart by [`crate::parse`]'s flat-line path.
pub trait Fields<'a> {
    /// The first field of this name.
    fn get(&self, name: &str) -> Option<&Attr<'a>>;
    /// The fields in input order (a flat line's keeps only those a TVL row may take as chains).
    fn fields<'s>(&'s self) -> impl Iterator<Item = (&'s str, &'s Attr<'a>)>
    where
        'a: 's;
}

impl<'a> Fields<'a> for Item<'a> {
    fn get(&self, name: &str) -> Option<&Attr<'a>> {
        Item::get(self, name)
    }

    fn fields<'s>(&'s self) -> impl Iterator<Item = (&'s str, &'s Attr<'a>)>
    where
        'a: 's,
    {
        Item::fields(self)
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
