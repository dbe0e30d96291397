//! The shape of a Twenty CRM workspace, read from its OpenAPI document.
#![warn(missing_docs)]

pub mod builtin;
pub mod catalog;
pub mod export;
pub mod filter;
pub mod load;
pub mod names;
pub mod openapi;

pub use catalog::{
    Body, Cardinality, Catalog, CompositeKind, Field, FieldType, Method, Object, Operation,
    OperationKind, Param, ParamLocation,
};
