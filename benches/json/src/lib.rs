//! The shop fixture generated two ways, for the JSON benchmark: `ours` (rs-svc, canonical JSON)
//! and `pbjson` (prost-build + pbjson-build); `DESCRIPTOR_SET` for prost-reflect.

#![allow(clippy::all, missing_docs)]

pub mod ours {
    include!(concat!(env!("OUT_DIR"), "/ours/mod.rs"));
}

pub mod pbjson {
    pub mod acme {
        pub mod shop {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/pbjson/acme.shop.v1.rs"));
                include!(concat!(env!("OUT_DIR"), "/pbjson/acme.shop.v1.serde.rs"));
            }
        }
    }
}

pub mod shapes;

pub const DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor_set.bin"));
