//! Reading an OpenAPI document into a [`Catalog`](crate::Catalog).
