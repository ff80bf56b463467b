//! Capturing a message's JSON, for `Any`.

use serde::ser::{self, SerializeMap, SerializeSeq, SerializeStruct, Serializer};
use serde::Serialize;

/// JSON as a message's `Serialize` wrote it, kept in order and with the original number types,
/// so `Any` can add `@type` and pass it on to the real serializer unchanged. (`serde_json::Value`
/// would sort the fields and turn `f32`s into `f64`s, which print with more digits.)
pub(super) enum Json {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F32(f32),
    F64(f64),
    Str(String),
    Seq(Vec<Json>),
    Map(Vec<(String, Json)>),
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(v) => s.serialize_bool(*v),
            Json::I64(v) => s.serialize_i64(*v),
            Json::U64(v) => s.serialize_u64(*v),
            Json::F32(v) => s.serialize_f32(*v),
            Json::F64(v) => s.serialize_f64(*v),
            Json::Str(v) => s.serialize_str(v),
            Json::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

/// A serializer that produces [`Json`].
pub(super) struct Capture;

type CaptureError = serde_json::Error;

fn unsupported(what: &str) -> CaptureError {
    ser::Error::custom(format_args!(
        "{what} cannot be packed in google.protobuf.Any"
    ))
}

impl Serializer for Capture {
    type Ok = Json;
    type Error = CaptureError;
    type SerializeSeq = CaptureSeq;
    type SerializeTuple = CaptureSeq;
    type SerializeTupleStruct = CaptureSeq;
    type SerializeTupleVariant = ser::Impossible<Json, CaptureError>;
    type SerializeMap = CaptureMap;
    type SerializeStruct = CaptureMap;
    type SerializeStructVariant = ser::Impossible<Json, CaptureError>;

    fn serialize_bool(self, v: bool) -> Result<Json, CaptureError> {
        Ok(Json::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Json, CaptureError> {
        Ok(Json::I64(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Json, CaptureError> {
        Ok(Json::I64(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Json, CaptureError> {
        Ok(Json::I64(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Json, CaptureError> {
        Ok(Json::I64(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Json, CaptureError> {
        Ok(Json::U64(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Json, CaptureError> {
        Ok(Json::U64(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Json, CaptureError> {
        Ok(Json::U64(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Json, CaptureError> {
        Ok(Json::U64(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Json, CaptureError> {
        Ok(Json::F32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Json, CaptureError> {
        Ok(Json::F64(v))
    }
    fn serialize_char(self, v: char) -> Result<Json, CaptureError> {
        Ok(Json::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Json, CaptureError> {
        Ok(Json::Str(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Json, CaptureError> {
        // As serde_json writes bytes: an array of numbers.
        Ok(Json::Seq(
            v.iter().map(|b| Json::U64((*b).into())).collect(),
        ))
    }
    fn serialize_none(self) -> Result<Json, CaptureError> {
        Ok(Json::Null)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Json, CaptureError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Json, CaptureError> {
        Ok(Json::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Json, CaptureError> {
        Ok(Json::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Json, CaptureError> {
        Ok(Json::Str(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Json, CaptureError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Json, CaptureError> {
        Ok(Json::Map(vec![(
            variant.to_owned(),
            value.serialize(Capture)?,
        )]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<CaptureSeq, CaptureError> {
        Ok(CaptureSeq(Vec::with_capacity(len.unwrap_or(0).min(4096))))
    }
    fn serialize_tuple(self, len: usize) -> Result<CaptureSeq, CaptureError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<CaptureSeq, CaptureError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, CaptureError> {
        Err(unsupported("a tuple variant"))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<CaptureMap, CaptureError> {
        Ok(CaptureMap {
            entries: Vec::with_capacity(len.unwrap_or(0).min(4096)),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<CaptureMap, CaptureError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, CaptureError> {
        Err(unsupported("a struct variant"))
    }
}

pub(super) struct CaptureSeq(Vec<Json>);

impl SerializeSeq for CaptureSeq {
    type Ok = Json;
    type Error = CaptureError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), CaptureError> {
        self.0.push(value.serialize(Capture)?);
        Ok(())
    }
    fn end(self) -> Result<Json, CaptureError> {
        Ok(Json::Seq(self.0))
    }
}

impl ser::SerializeTuple for CaptureSeq {
    type Ok = Json;
    type Error = CaptureError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), CaptureError> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Json, CaptureError> {
        SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for CaptureSeq {
    type Ok = Json;
    type Error = CaptureError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), CaptureError> {
        SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Json, CaptureError> {
        SerializeSeq::end(self)
    }
}

pub(super) struct CaptureMap {
    entries: Vec<(String, Json)>,
    key: Option<String>,
}

impl SerializeMap for CaptureMap {
    type Ok = Json;
    type Error = CaptureError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), CaptureError> {
        match key.serialize(Capture)? {
            Json::Str(key) => {
                self.key = Some(key);
                Ok(())
            }
            _ => Err(unsupported("a map key that is not a string")),
        }
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), CaptureError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| unsupported("a map value without a key"))?;
        self.entries.push((key, value.serialize(Capture)?));
        Ok(())
    }
    fn end(self) -> Result<Json, CaptureError> {
        Ok(Json::Map(self.entries))
    }
}

impl SerializeStruct for CaptureMap {
    type Ok = Json;
    type Error = CaptureError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), CaptureError> {
        self.entries
            .push((key.to_owned(), value.serialize(Capture)?));
        Ok(())
    }
    fn end(self) -> Result<Json, CaptureError> {
        Ok(Json::Map(self.entries))
    }
}
