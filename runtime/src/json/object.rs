//! Reading a message from a JSON object: the loop over its members lives here, once, and
//! generated code only says what each member name means ([`Object::read_field`]).
//!
//! A generated impl looks like this (docs/reference.md section 3 has the rules it follows):
//!
//! ```ignore
//! impl j::Object<2, 0> for Order {
//!     const NAME: &'static str = "shop.v1.Order";
//!     const FIELDS: [&'static str; 2] = ["id", "orderId"];
//!     const ONEOFS: [&'static str; 0] = [];
//!     fn read_field<'de, A: MapAccess<'de>>(
//!         &mut self,
//!         key: &str,
//!         r: &mut j::Fields<A, Self, 2, 0>,
//!     ) -> Result<(), A::Error> {
//!         match key {
//!             "id" => r.read::<c::Int64, _>(0, &mut self.id),
//!             "orderId" | "order_id" => r.read::<c::Str, _>(1, &mut self.order_id),
//!             _ => r.skip(),
//!         }
//!     }
//! }
//! ```

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess};

use super::{first_time, next_field, oneof_member, unknown_field, Codec, Field, Key};

/// A message read from a JSON object, `N` fields and `K` oneofs. Generated code implements it;
/// [`deserialize`] is the message's `Deserialize::deserialize`.
#[doc(hidden)]
pub trait Object<const N: usize, const K: usize>: Default {
    /// The proto message's full name, for errors.
    const NAME: &'static str;
    /// Each field's JSON name, by the index generated code passes to [`Fields`].
    const FIELDS: [&'static str; N];
    /// Each oneof's proto name, by index.
    const ONEOFS: [&'static str; K];

    /// Reads the value of member `key` into `self` through `r`; a name this message does not
    /// have is [`Fields::skip`]ped or [`Fields::unknown`].
    fn read_field<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        r: &mut Fields<A, Self, N, K>,
    ) -> Result<(), A::Error>;
}

/// The state of reading one JSON object: the map, which fields were seen (a field given twice,
/// under either name, is an error), and which member of each oneof was set.
#[doc(hidden)]
pub struct Fields<A, M, const N: usize, const K: usize> {
    map: A,
    seen: [bool; N],
    oneofs: [Option<&'static str>; K],
    message: PhantomData<M>,
}

impl<A, M: Object<N, K>, const N: usize, const K: usize> Fields<A, M, N, K> {
    /// Marks field `i` as read, an error the second time.
    #[inline]
    fn first_time<'de>(&mut self, i: usize) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
    {
        first_time(&mut self.seen[i], M::FIELDS[i])
    }

    /// Reads field `i` with codec `C` into `field`; JSON `null` (or a value to skip) leaves it
    /// as it is.
    #[inline]
    pub fn read<'de, C: Codec<T>, T>(&mut self, i: usize, field: &mut T) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
    {
        self.first_time(i)?;
        if let Some(value) = next_field::<C, T, A>(&mut self.map)? {
            *field = value;
        }
        Ok(())
    }

    /// Reads field `i`, stored as an `Option` (a message field, a proto3 `optional`), with codec
    /// `C`: JSON `null` clears it.
    #[inline]
    pub fn read_option<'de, C: Codec<T>, T>(
        &mut self,
        i: usize,
        field: &mut Option<T>,
    ) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
    {
        self.first_time(i)?;
        *field = next_field::<C, T, A>(&mut self.map)?;
        Ok(())
    }

    /// Reads field `i` of type `google.protobuf.Value`, for which JSON `null` is a value.
    #[inline]
    pub fn read_value<'de, C: Codec<T>, T>(
        &mut self,
        i: usize,
        field: &mut Option<T>,
    ) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
    {
        self.first_time(i)?;
        *field = self.map.next_value::<Field<C, T>>()?.0;
        Ok(())
    }

    /// Reads field `i`, member `variant` of oneof `o`, into `oneof`: an error if another member
    /// of the oneof was set; JSON `null` sets nothing.
    #[inline]
    pub fn read_oneof<'de, C: Codec<T>, T, O>(
        &mut self,
        i: usize,
        o: usize,
        oneof: &mut Option<O>,
        variant: impl FnOnce(T) -> O,
    ) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
    {
        self.first_time(i)?;
        if let Some(value) = next_field::<C, T, A>(&mut self.map)? {
            oneof_member(&mut self.oneofs[o], M::ONEOFS[o], M::FIELDS[i])?;
            *oneof = Some(variant(value));
        }
        Ok(())
    }

    /// Skips the value of a member this message does not have.
    #[inline]
    pub fn skip<'de>(&mut self) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
    {
        self.map.next_value::<IgnoredAny>().map(|_| ())
    }

    /// The error for a member this message does not have (`json_reject_unknown`).
    pub fn unknown<'de>(&mut self, key: &str) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
    {
        Err(unknown_field(key, M::NAME))
    }
}

/// Reads message `M` from a JSON object; the body of its generated `Deserialize::deserialize`.
#[doc(hidden)]
pub fn deserialize<'de, M, D, const N: usize, const K: usize>(
    deserializer: D,
) -> Result<M, D::Error>
where
    M: Object<N, K>,
    D: Deserializer<'de>,
{
    deserializer.deserialize_map(Visitor::<M, N, K>(PhantomData))
}

struct Visitor<M, const N: usize, const K: usize>(PhantomData<M>);

impl<'de, M: Object<N, K>, const N: usize, const K: usize> de::Visitor<'de> for Visitor<M, N, K> {
    type Value = M;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object ({})", M::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<M, A::Error> {
        let mut message = M::default();
        let mut fields = Fields {
            map,
            seen: [false; N],
            oneofs: [None; K],
            message: PhantomData::<M>,
        };
        while let Some(key) = fields.map.next_key::<Key<'de>>()? {
            message.read_field(&key.0, &mut fields)?;
        }
        Ok(message)
    }
}
