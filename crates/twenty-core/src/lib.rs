//! The shape of a Twenty CRM workspace, read from its OpenAPI document.
//!
//! Twenty generates a REST API for each workspace from its data model and
//! describes it at `GET /rest/open-api/core`. This crate turns that document
//! (or the built-in standard model, when there is none) into a [`Catalog`]
//! of objects, typed fields and classified operations, and holds the
//! grammars every other part of twenty-rs shares: the `filter` and
//! `order_by` query languages and the conversion of user input to field
//! values.
//!
//! ```
//! use twenty_core::{FieldType, OperationKind, builtin};
//!
//! let catalog = builtin::standard();
//! let runs = catalog.object("workflow-runs").expect("a standard object");
//! let update = runs.operation(OperationKind::UpdateOne).expect("every object has it");
//! assert_eq!((update.method.as_str(), update.path.as_str()), ("PATCH", "/workflowRuns/{id}"));
//!
//! let status = runs.field("status").expect("a field of workflow runs");
//! assert!(matches!(&status.kind, FieldType::Enum { values } if values.len() == 4));
//! ```
//!
//! A document from a live server is read with [`load::from_str`], and
//! [`export::to_openapi`] writes a catalog back out in Twenty's style.
#![warn(missing_docs)]

pub mod builtin;
pub mod catalog;
pub mod export;
pub mod filter;
pub mod load;
pub mod names;
pub mod openapi;
pub mod values;

pub use catalog::{
    Body, Cardinality, Catalog, CompositeKind, Field, FieldType, Method, Object, Operation,
    OperationKind, Param, ParamLocation,
};
